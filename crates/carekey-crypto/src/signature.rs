//! Ed25519: identity keys and document signatures.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer, Verifier as _};
use zeroize::Zeroizing;

use crate::CryptoError;

/// An Ed25519 signing key (a patient's or provider's identity).
///
/// Zeroized on drop; `Debug` prints `[redacted]` and the public key.
#[derive(Clone)]
pub struct SigningKey(ed25519_dalek::SigningKey);

impl SigningKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(ed25519_dalek::SigningKey::generate(&mut crate::os_rng()))
    }

    /// The key with this 32-byte secret seed.
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(secret))
    }

    /// The 32-byte secret seed, for storing in the vault.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// Signs `message` (deterministic Ed25519, RFC 8032).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("secret", &"[redacted]")
            .field("public", &self.public())
            .finish()
    }
}

/// An Ed25519 public key. Always a valid, non-weak point.
///
/// `Debug` and `Display` print lowercase hex; `FromStr` parses hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey(ed25519_dalek::VerifyingKey);

impl PublicKey {
    /// Parses a compressed point, rejecting invalid encodings and
    /// small-order (weak) keys, for which a signature proves nothing.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes)
            .map_err(|_| CryptoError::InvalidPublicKey)?;
        if key.is_weak() {
            return Err(CryptoError::InvalidPublicKey);
        }
        Ok(Self(key))
    }

    /// The 32-byte compressed encoding.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Verifies with `verify_strict`: rejects non-canonical and small-order
    /// signature components as well as wrong signatures.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        self.0
            .verify_strict(message, &signature.0)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Plain RFC 8032 verification (cofactorless, no strictness extras).
    /// Only for comparison with other implementations; use [`PublicKey::verify`].
    pub fn verify_lenient(&self, message: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        self.0
            .verify(message, &signature.0)
            .map_err(|_| CryptoError::BadSignature)
    }
}

impl PartialOrd for PublicKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PublicKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = CryptoError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_bytes(&crate::parse_hex32(s)?)
    }
}

/// An Ed25519 signature (64 bytes). `Debug` prints hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature(ed25519_dalek::Signature);

impl Signature {
    /// Wraps 64 signature bytes (checked only when verifying).
    pub fn from_bytes(bytes: &[u8; 64]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// Wraps a slice that must be exactly 64 bytes.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: &[u8; 64] = bytes
            .try_into()
            .map_err(|_| CryptoError::SignatureLength { len: bytes.len() })?;
        Ok(Self::from_bytes(array))
    }

    /// The 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0.to_bytes()
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.to_bytes()))
    }
}

/// Verifies many signatures at once (ed25519-dalek batch verification).
///
/// All three slices must have the same length. Succeeds only if every
/// signature is valid. Batch verification is cofactored, so it is slightly
/// more lenient than [`PublicKey::verify`] on signatures with small-order
/// components; the keys themselves are never weak (see [`PublicKey::from_bytes`]).
pub fn verify_batch(
    messages: &[&[u8]],
    signatures: &[Signature],
    keys: &[PublicKey],
) -> Result<(), CryptoError> {
    if messages.len() != signatures.len() || messages.len() != keys.len() {
        return Err(CryptoError::BatchLengthMismatch {
            messages: messages.len(),
            signatures: signatures.len(),
            keys: keys.len(),
        });
    }
    let signatures: Vec<ed25519_dalek::Signature> = signatures.iter().map(|s| s.0).collect();
    let keys: Vec<ed25519_dalek::VerifyingKey> = keys.iter().map(|k| k.0).collect();
    ed25519_dalek::verify_batch(messages, &signatures, &keys).map_err(|_| CryptoError::BadSignature)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_round_trip() {
        let key = SigningKey::generate();
        let sig = key.sign(b"grant");
        key.public().verify(b"grant", &sig).unwrap();
        assert_eq!(
            key.public().verify(b"grunt", &sig),
            Err(CryptoError::BadSignature)
        );
        let again = SigningKey::from_bytes(&key.to_bytes());
        assert_eq!(again.public(), key.public());
    }

    #[test]
    fn hex_round_trip_and_weak_keys() {
        let key = SigningKey::generate().public();
        assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
        assert_eq!(format!("{key:?}"), format!("PublicKey({key})"));
        // The identity point (0, 1) is small-order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            PublicKey::from_bytes(&identity),
            Err(CryptoError::InvalidPublicKey)
        );
        assert!("zz".parse::<PublicKey>().is_err());
    }

    #[test]
    fn batch() {
        let keys: Vec<SigningKey> = (0..4).map(|_| SigningKey::generate()).collect();
        let msgs: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 10]).collect();
        let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
        let sigs: Vec<Signature> = keys.iter().zip(&msgs).map(|(k, m)| k.sign(m)).collect();
        let pubs: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
        verify_batch(&refs, &sigs, &pubs).unwrap();
        let mut bad = sigs.clone();
        bad.swap(0, 1);
        assert!(verify_batch(&refs, &bad, &pubs).is_err());
        assert!(verify_batch(&refs[..3], &sigs, &pubs).is_err());
        assert_eq!(Signature::from_slice(&sigs[0].to_bytes()).unwrap(), sigs[0]);
        assert!(Signature::from_slice(&[0u8; 63]).is_err());
    }
}
