//! X25519 key agreement (grants to providers, record wrapping).

use std::fmt;
use std::str::FromStr;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

/// An X25519 secret key. Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone)]
pub struct AgreementSecret(x25519_dalek::StaticSecret);

impl AgreementSecret {
    /// A fresh secret from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(x25519_dalek::StaticSecret::random_from_rng(crate::os_rng()))
    }

    /// Wraps 32 secret bytes (clamped when used, as RFC 7748 says).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(x25519_dalek::StaticSecret::from(bytes))
    }

    /// The 32 secret bytes, for storing in the vault.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> AgreementPublic {
        AgreementPublic(x25519_dalek::PublicKey::from(&self.0).to_bytes())
    }

    /// X25519 with `peer`. Fails if the result is all zeros (the peer sent a
    /// low-order point); the check runs in constant time.
    pub fn agree(&self, peer: &AgreementPublic) -> Result<SharedSecret, CryptoError> {
        let shared = self
            .0
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer.0));
        if !shared.was_contributory() {
            return Err(CryptoError::LowOrderPoint);
        }
        Ok(SharedSecret(shared.to_bytes()))
    }
}

impl fmt::Debug for AgreementSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AgreementSecret([redacted])")
    }
}

/// An X25519 public key (any 32 bytes; low-order points are caught by
/// [`AgreementSecret::agree`]). `Debug`/`Display` print lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AgreementPublic([u8; 32]);

impl AgreementPublic {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for AgreementPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for AgreementPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AgreementPublic({self})")
    }
}

impl FromStr for AgreementPublic {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(crate::parse_hex32(s)?))
    }
}

/// The raw X25519 output. Feed it to [`crate::hkdf_sha256`], never use it as a key directly.
/// Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SharedSecret([u8; 32]);

impl SharedSecret {
    /// The 32 shared bytes.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret([redacted])")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn both_sides_agree() {
        let a = AgreementSecret::generate();
        let b = AgreementSecret::generate();
        let ab = a.agree(&b.public()).unwrap();
        let ba = b.agree(&a.public()).unwrap();
        assert_eq!(ab.expose(), ba.expose());
        let a2 = AgreementSecret::from_bytes(*a.to_bytes());
        assert_eq!(a2.public(), a.public());
        assert_eq!(
            a.public().to_string().parse::<AgreementPublic>().unwrap(),
            a.public()
        );
    }

    #[test]
    fn rejects_low_order_peer() {
        let a = AgreementSecret::generate();
        let zero = AgreementPublic::from_bytes([0u8; 32]);
        assert_eq!(a.agree(&zero).unwrap_err(), CryptoError::LowOrderPoint);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(a.agree(&AgreementPublic::from_bytes(one)).is_err());
    }
}
