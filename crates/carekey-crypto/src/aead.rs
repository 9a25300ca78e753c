//! Authenticated encryption: XChaCha20-Poly1305 for key wraps and vault files, AES-256-GCM for
//! JOSE `A256GCM` (SMART Health Link files).

use aes_gcm::Aes256Gcm;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, XChaCha20Poly1305};
use zeroize::Zeroizing;

use crate::{random_array, CryptoError, SymmetricKey};

const XNONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;

/// Bytes [`seal`] adds to the plaintext: a 24-byte nonce and a 16-byte tag.
pub const SEAL_OVERHEAD: usize = XNONCE_LEN + TAG_LEN;

/// XChaCha20-Poly1305 with a fresh random 24-byte nonce, returned as
/// `nonce || ciphertext || tag`. `aad` is authenticated but not encrypted
/// (bind the context here: file name, record id, header bytes).
pub fn seal(key: &SymmetricKey, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let nonce: [u8; XNONCE_LEN] = random_array();
    let body = xchacha20poly1305_seal(key.expose(), &nonce, aad, plaintext);
    let mut out = Vec::with_capacity(XNONCE_LEN + body.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&body);
    out
}

/// Opens what [`seal`] produced with the same key and `aad`.
pub fn open(
    key: &SymmetricKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(CryptoError::SealedTooShort { len: sealed.len() });
    }
    let (nonce, body) = sealed.split_at(XNONCE_LEN);
    let nonce: &[u8; XNONCE_LEN] = nonce
        .try_into()
        .map_err(|_| CryptoError::SealedTooShort { len: sealed.len() })?;
    xchacha20poly1305_open(key.expose(), nonce, aad, body).map(Zeroizing::new)
}

/// Raw XChaCha20-Poly1305 with an explicit nonce: `ciphertext || tag`.
/// Never reuse a nonce with the same key; prefer [`seal`].
pub fn xchacha20poly1305_seal(
    key: &[u8; 32],
    nonce: &[u8; 24],
    aad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    XChaCha20Poly1305::new(key.into())
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 encryption only fails beyond 256 GiB"))
}

/// Raw XChaCha20-Poly1305 decryption of `ciphertext || tag`.
pub fn xchacha20poly1305_open(
    key: &[u8; 32],
    nonce: &[u8; 24],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    XChaCha20Poly1305::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext_and_tag,
                aad,
            },
        )
        .map_err(|_| CryptoError::Decryption)
}

/// Raw IETF ChaCha20-Poly1305 (RFC 8439) with an explicit 12-byte nonce:
/// `ciphertext || tag`. Used for conformance tests and as the benchmark
/// baseline; records use [`crate::age`], keys and files use [`seal`].
pub fn chacha20poly1305_seal(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    ChaCha20Poly1305::new(key.into())
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_else(|_| unreachable!("ChaCha20-Poly1305 encryption only fails beyond 256 GiB"))
}

/// Raw IETF ChaCha20-Poly1305 decryption of `ciphertext || tag`.
pub fn chacha20poly1305_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    ChaCha20Poly1305::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext_and_tag,
                aad,
            },
        )
        .map_err(|_| CryptoError::Decryption)
}

/// AES-GCM IV length used by JOSE `A256GCM` (RFC 7518 §5.3): 96 bits.
pub const A256GCM_IV_LEN: usize = 12;
/// AES-GCM authentication tag length used by JOSE `A256GCM`: 128 bits.
pub const A256GCM_TAG_LEN: usize = 16;

/// The output of [`a256gcm_encrypt`]: the parts a JWE carries separately.
#[derive(Clone, PartialEq, Eq)]
pub struct A256GcmSealed {
    /// The fresh random IV.
    pub iv: [u8; A256GCM_IV_LEN],
    /// The ciphertext, as long as the plaintext.
    pub ciphertext: Vec<u8>,
    /// The authentication tag.
    pub tag: [u8; A256GCM_TAG_LEN],
}

impl std::fmt::Debug for A256GcmSealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("A256GcmSealed")
            .field("iv", &hex::encode(self.iv))
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// AES-256-GCM with a fresh random 96-bit IV on every call (JOSE `A256GCM`): a random IV per
/// encryption is what keeps re-encrypting under the same key (an SHL file update) safe.
pub fn a256gcm_encrypt(key: &SymmetricKey, aad: &[u8], plaintext: &[u8]) -> A256GcmSealed {
    let iv: [u8; A256GCM_IV_LEN] = random_array();
    let mut ciphertext = aes256gcm_seal(key.expose(), &iv, aad, plaintext);
    let tag_bytes = ciphertext.split_off(ciphertext.len() - A256GCM_TAG_LEN);
    let mut tag = [0u8; A256GCM_TAG_LEN];
    tag.copy_from_slice(&tag_bytes);
    A256GcmSealed {
        iv,
        ciphertext,
        tag,
    }
}

/// Opens the parts [`a256gcm_encrypt`] (or any JOSE `A256GCM` encrypter) produced.
pub fn a256gcm_decrypt(
    key: &SymmetricKey,
    iv: &[u8; A256GCM_IV_LEN],
    aad: &[u8],
    ciphertext: &[u8],
    tag: &[u8; A256GCM_TAG_LEN],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut sealed = Vec::with_capacity(ciphertext.len() + A256GCM_TAG_LEN);
    sealed.extend_from_slice(ciphertext);
    sealed.extend_from_slice(tag);
    aes256gcm_open(key.expose(), iv, aad, &sealed).map(Zeroizing::new)
}

/// Raw AES-256-GCM with an explicit 96-bit nonce: `ciphertext || tag`.
/// Never reuse a nonce with the same key; prefer [`a256gcm_encrypt`].
pub fn aes256gcm_seal(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    Aes256Gcm::new(key.into())
        .encrypt(
            nonce.into(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .unwrap_or_else(|_| unreachable!("AES-GCM encryption only fails beyond 64 GiB"))
}

/// Raw AES-256-GCM decryption of `ciphertext || tag`.
pub fn aes256gcm_open(
    key: &[u8; 32],
    nonce: &[u8; 12],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    Aes256Gcm::new(key.into())
        .decrypt(
            nonce.into(),
            Payload {
                msg: ciphertext_and_tag,
                aad,
            },
        )
        .map_err(|_| CryptoError::Decryption)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn seal_open() {
        let key = SymmetricKey::generate();
        let sealed = seal(&key, b"vault", b"master key");
        assert_eq!(sealed.len(), 10 + SEAL_OVERHEAD);
        assert_eq!(
            open(&key, b"vault", &sealed).unwrap().as_slice(),
            b"master key"
        );
        assert_eq!(
            open(&key, b"other", &sealed).unwrap_err(),
            CryptoError::Decryption
        );
        assert!(open(&SymmetricKey::generate(), b"vault", &sealed).is_err());
        assert!(matches!(
            open(&key, b"vault", &sealed[..39]),
            Err(CryptoError::SealedTooShort { len: 39 })
        ));
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert!(open(&key, b"vault", &flipped).is_err());
    }

    #[test]
    fn a256gcm_fresh_iv_and_tamper() {
        let key = SymmetricKey::generate();
        let one = a256gcm_encrypt(&key, b"header", b"bundle");
        let two = a256gcm_encrypt(&key, b"header", b"bundle");
        assert_ne!(one.iv, two.iv);
        assert_ne!(one.ciphertext, two.ciphertext);
        assert_eq!(one.ciphertext.len(), 6);
        let opened = a256gcm_decrypt(&key, &one.iv, b"header", &one.ciphertext, &one.tag).unwrap();
        assert_eq!(opened.as_slice(), b"bundle");
        assert!(a256gcm_decrypt(&key, &one.iv, b"other", &one.ciphertext, &one.tag).is_err());
        assert!(a256gcm_decrypt(&key, &two.iv, b"header", &one.ciphertext, &one.tag).is_err());
        let mut tag = one.tag;
        tag[0] ^= 1;
        assert!(a256gcm_decrypt(&key, &one.iv, b"header", &one.ciphertext, &tag).is_err());
    }
}
