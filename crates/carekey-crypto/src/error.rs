//! The error type of the non-age primitives.

/// Why a cryptographic operation failed.
///
/// Messages name the failed check only; they never contain key bytes,
/// plaintext or anything else derived from a secret.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// Bytes claimed to be an Ed25519 public key are not a valid point
    /// encoding, or encode a small-order (weak) point.
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
    /// Coordinates claimed to be a P-256 public key are malformed or not a point on the curve.
    #[error("invalid P-256 public key: {reason}")]
    InvalidEcPublicKey {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A signature did not verify (wrong key, altered message, malformed or
    /// non-canonical signature).
    #[error("signature verification failed")]
    BadSignature,
    /// A byte string given as a signature (Ed25519 or ES256 `r || s`) does not have 64 bytes.
    #[error("a signature must be 64 bytes, got {len}")]
    SignatureLength {
        /// The length that was given.
        len: usize,
    },
    /// The slices given to batch verification differ in length.
    #[error("batch verification needs as many messages, signatures and keys ({messages}/{signatures}/{keys})")]
    BatchLengthMismatch {
        /// Number of messages.
        messages: usize,
        /// Number of signatures.
        signatures: usize,
        /// Number of keys.
        keys: usize,
    },
    /// X25519 produced the all-zero shared secret: the peer's public key is a
    /// low-order point, so the result would not depend on our secret.
    #[error("key agreement with a low-order public key")]
    LowOrderPoint,
    /// AEAD decryption failed: wrong key, wrong associated data, or the
    /// ciphertext was altered or truncated.
    #[error("decryption failed: wrong key or corrupted data")]
    Decryption,
    /// A sealed message is shorter than its nonce and tag.
    #[error("sealed data is too short ({len} bytes)")]
    SealedTooShort {
        /// The length that was given.
        len: usize,
    },
    /// HKDF was asked for more output than it can produce (255 × 32 bytes).
    #[error("HKDF output of {len} bytes is too long")]
    KdfOutputLength {
        /// The requested output length.
        len: usize,
    },
    /// Argon2id parameters are outside the accepted bounds.
    #[error("KDF parameters out of bounds: {reason}")]
    KdfParams {
        /// Which bound was violated.
        reason: &'static str,
    },
    /// The Argon2id computation itself failed.
    #[error("Argon2id failed")]
    Kdf,
    /// A hex string could not be parsed as a key.
    #[error("invalid hex key encoding")]
    InvalidHex,
    /// A recovery phrase has an unknown word, the wrong number of words
    /// (24 are needed), or a bad checksum.
    #[error("invalid recovery phrase: {reason}")]
    InvalidRecoveryPhrase {
        /// What is wrong with it (never the words themselves).
        reason: &'static str,
    },
}
