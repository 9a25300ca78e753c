//! Carekey's cryptographic boundary.
//!
//! This is the only crate in the workspace that touches cryptographic
//! primitives (RustCrypto, dalek), randomness (`rand`), BIP39 and Bech32.
//! Every other crate — the document model, the vault, the wallet use cases,
//! the CLI — calls the small, typed API here instead:
//!
//! - keys: [`SymmetricKey`], Ed25519 [`SigningKey`]/[`PublicKey`]/[`Signature`],
//!   X25519 [`AgreementSecret`]/[`AgreementPublic`], the patient's
//!   [`RecoverySecret`] (24 BIP39 words);
//! - hashing and derivation: [`sha256`], [`Sha256`], [`hkdf_sha256`], [`argon2id`];
//! - authenticated encryption: [`seal`]/[`open`] (XChaCha20-Poly1305), and for JOSE `A256GCM`
//!   (SMART Health Link files) [`a256gcm_encrypt`]/[`a256gcm_decrypt`] (AES-256-GCM);
//! - JOSE `ES256` (SMART Health Card signatures): P-256 [`EcPublicKey`] from a JWK, its RFC 7638
//!   thumbprint, verification, and [`EcSigningKey`] for tests and a future issuer role;
//! - the record format: [`age`], an implementation of age v1 with X25519
//!   recipients that streams in constant memory.
//!
//! Secrets live in newtypes that zeroize on drop and whose `Debug` prints
//! `[redacted]`; bytes are exposed only through explicitly named methods.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod aead;
pub mod age;
mod agreement;
mod error;
mod es256;
mod kdf;
mod recovery;
mod signature;
mod symmetric;

pub use aead::{
    a256gcm_decrypt, a256gcm_encrypt, aes256gcm_open, aes256gcm_seal, chacha20poly1305_open,
    chacha20poly1305_seal, open, seal, xchacha20poly1305_open, xchacha20poly1305_seal,
    A256GcmSealed, A256GCM_IV_LEN, A256GCM_TAG_LEN, SEAL_OVERHEAD,
};
pub use agreement::{AgreementPublic, AgreementSecret, SharedSecret};
pub use error::CryptoError;
pub use es256::{EcPublicKey, EcSigningKey, ES256_SIGNATURE_LEN};
pub use kdf::{argon2id, KdfParams};
pub use recovery::RecoverySecret;
pub use signature::{verify_batch, PublicKey, Signature, SigningKey};
pub use symmetric::{
    ct_eq, hkdf_sha256, hkdf_sha256_expand, random_array, sha256, Sha256, SymmetricKey,
};

/// The OS CSPRNG, the only randomness source of this crate.
pub(crate) fn os_rng() -> rand_core::OsRng {
    rand_core::OsRng
}

/// Parses exactly 32 bytes of hex (either case).
pub(crate) fn parse_hex32(s: &str) -> Result<[u8; 32], CryptoError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|_| CryptoError::InvalidHex)?;
    Ok(out)
}
