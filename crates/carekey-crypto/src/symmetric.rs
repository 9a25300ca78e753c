//! Symmetric keys, hashing, HKDF and randomness.

use std::fmt;

use rand_core::RngCore;
use sha2::Digest;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::CryptoError;

/// A 256-bit symmetric key (AEAD key, KDF output, master key).
///
/// Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SymmetricKey([u8; 32]);

impl SymmetricKey {
    /// A fresh key from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(random_array())
    }

    /// Wraps existing key bytes (for example read from a vault).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The key bytes. Callers must not copy them into non-zeroizing storage.
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for SymmetricKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SymmetricKey([redacted])")
    }
}

/// `N` bytes from the OS CSPRNG.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    crate::os_rng().fill_bytes(&mut out);
    out
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha2::Sha256::digest(data).into()
}

/// Incremental SHA-256 (for hashing ciphertexts while they stream).
///
/// Also implements [`std::io::Write`], so `std::io::copy(&mut file, &mut hasher)` works.
#[derive(Clone, Default)]
pub struct Sha256(sha2::Sha256);

impl Sha256 {
    /// An empty hash state.
    pub fn new() -> Self {
        Self(sha2::Sha256::new())
    }

    /// Absorbs `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything absorbed.
    pub fn finalize(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sha256")
    }
}

impl std::io::Write for Sha256 {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// HKDF-SHA256 (RFC 5869) with a 32-byte output, returned as a key.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8]) -> SymmetricKey {
    let mut key = SymmetricKey([0u8; 32]);
    // 32 bytes is far below HKDF-SHA256's limit of 255 * 32 bytes, so this cannot fail.
    if hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm)
        .expand(info, &mut key.0)
        .is_err()
    {
        unreachable!("32 bytes is a valid HKDF-SHA256 output length");
    }
    key
}

/// HKDF-SHA256 (RFC 5869) into `out`, of any length up to 8160 bytes.
///
/// An empty `salt` is the same as no salt (RFC 5869 §2.2: a string of zeros).
pub fn hkdf_sha256_expand(
    salt: &[u8],
    ikm: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm)
        .expand(info, out)
        .map_err(|_| CryptoError::KdfOutputLength { len: out.len() })
}

/// Whether two byte strings are equal, in time that depends only on their lengths (for
/// comparing secrets such as passcode verifiers).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn rfc5869_case_1() {
        let ikm = [0x0b; 22];
        let salt: Vec<u8> = (0u8..=0x0c).collect();
        let info: Vec<u8> = (0xf0u8..=0xf9).collect();
        let mut okm = [0u8; 42];
        hkdf_sha256_expand(&salt, &ikm, &info, &mut okm).unwrap();
        assert_eq!(
            hex::encode(okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
        );
        assert_eq!(hkdf_sha256(&salt, &ikm, &info).expose()[..], okm[..32]);
    }

    #[test]
    fn hkdf_rejects_overlong_output() {
        let mut out = vec![0u8; 255 * 32 + 1];
        assert!(hkdf_sha256_expand(b"", b"k", b"", &mut out).is_err());
    }

    #[test]
    fn sha256_streaming_matches_one_shot() {
        let mut h = Sha256::new();
        h.update(b"a");
        std::io::Write::write_all(&mut h, b"bc").unwrap();
        assert_eq!(
            hex::encode(h.finalize()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(h_once(), sha256(b"abc"));
    }

    fn h_once() -> [u8; 32] {
        let mut h = Sha256::default();
        h.update(b"abc");
        h.finalize()
    }

    #[test]
    fn random_arrays_differ() {
        assert_ne!(random_array::<32>(), random_array::<32>());
    }
}
