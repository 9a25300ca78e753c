//! age keys: the file key, X25519 identities and recipients, Bech32.

use std::fmt;

use bech32::{Bech32, Hrp};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::AgeError;
use crate::AgreementSecret;

const IDENTITY_HRP: &str = "age-secret-key-";
const RECIPIENT_HRP: &str = "age";

/// The 16-byte symmetric key of one age file. Zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct FileKey([u8; 16]);

impl FileKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(crate::random_array())
    }

    /// Wraps 16 key bytes.
    pub fn from_bytes(b: [u8; 16]) -> Self {
        Self(b)
    }

    /// The key bytes.
    pub fn expose(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for FileKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FileKey([redacted])")
    }
}

/// An age X25519 identity (the secret that opens a record).
/// Zeroized on drop; `Debug` prints `[redacted]` and the recipient.
#[derive(Clone)]
pub struct Identity(AgreementSecret);

impl Identity {
    /// A fresh identity from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(AgreementSecret::generate())
    }

    /// Wraps 32 secret bytes.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(AgreementSecret::from_bytes(b))
    }

    /// The 32 secret bytes.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        self.0.to_bytes()
    }

    /// `AGE-SECRET-KEY-1…`, upper case, as `age-keygen` writes it (and
    /// `age -i`/`rage -i` read it).
    pub fn to_bech32(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(80));
        let bytes = self.to_bytes();
        if bech32::encode_upper_to_fmt::<Bech32, _>(&mut *out, hrp(IDENTITY_HRP), bytes.as_ref())
            .is_err()
        {
            unreachable!("a 32-byte age identity fits in a Bech32 string");
        }
        out
    }

    /// Parses `AGE-SECRET-KEY-1…` (either case, not mixed).
    pub fn from_bech32(s: &str) -> Result<Self, AgeError> {
        let mut bytes = decode_bech32(s, IDENTITY_HRP)?;
        let identity = Self::from_bytes(*bytes);
        bytes.zeroize();
        Ok(identity)
    }

    /// The matching recipient (public key).
    pub fn recipient(&self) -> Recipient {
        Recipient(*self.0.public().as_bytes())
    }

    pub(crate) fn secret(&self) -> &AgreementSecret {
        &self.0
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("secret", &"[redacted]")
            .field("recipient", &self.recipient())
            .finish()
    }
}

/// An age X25519 recipient (`age1…`).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Recipient([u8; 32]);

impl Recipient {
    /// `age1…`, lower case.
    pub fn to_bech32(&self) -> String {
        let mut out = String::with_capacity(64);
        if bech32::encode_lower_to_fmt::<Bech32, _>(&mut out, hrp(RECIPIENT_HRP), &self.0).is_err()
        {
            unreachable!("a 32-byte age recipient fits in a Bech32 string");
        }
        out
    }

    /// Parses `age1…`.
    pub fn from_bech32(s: &str) -> Result<Self, AgeError> {
        Ok(Self(*decode_bech32(s, RECIPIENT_HRP)?))
    }

    /// Wraps 32 bytes of X25519 public key.
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Self(b)
    }

    /// The X25519 public key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient({})", self.to_bech32())
    }
}

fn hrp(s: &str) -> Hrp {
    match Hrp::parse(s) {
        Ok(h) => h,
        Err(_) => unreachable!("age's human-readable parts are valid"),
    }
}

fn decode_bech32(s: &str, expected_hrp: &str) -> Result<Zeroizing<[u8; 32]>, AgeError> {
    let checked =
        bech32::primitives::decode::CheckedHrpstring::new::<Bech32>(s.trim()).map_err(|_| {
            AgeError::InvalidKey {
                reason: "not a valid Bech32 string",
            }
        })?;
    if !checked.hrp().as_str().eq_ignore_ascii_case(expected_hrp) {
        return Err(AgeError::InvalidKey {
            reason: "wrong Bech32 prefix",
        });
    }
    let mut out = Zeroizing::new([0u8; 32]);
    let mut n = 0;
    for byte in checked.byte_iter() {
        if n == 32 {
            return Err(AgeError::InvalidKey {
                reason: "key must be 32 bytes",
            });
        }
        out[n] = byte;
        n += 1;
    }
    if n != 32 {
        return Err(AgeError::InvalidKey {
            reason: "key must be 32 bytes",
        });
    }
    Ok(out)
}
