//! age v1 (C2SP age.md), the format of Carekey's encrypted medical records.
//!
//! Only X25519 recipients are supported: each record gets its own identity,
//! and the file key is wrapped to it (and, through grants, to providers).
//! Other stanza types in a header are skipped, as the spec says; a `scrypt`
//! stanza must be alone in its header.
//!
//! The implementation is our own, on `chacha20poly1305`, `x25519-dalek`,
//! `hkdf`, `hmac` and `sha2`; the `age` crate is used only in tests and
//! benchmarks as a cross-check. Encryption and decryption stream in constant
//! memory (a window of at most [`BATCH_CHUNKS`] chunks, in recycled buffers
//! of runs of up to 8 chunks), work in place, and spread the runs over the
//! available cores (a small pool of helper threads kept for the process;
//! one-chunk records stay on the calling thread).
//!
//! Modules: `format` (header), `keys` (X25519 identities, file keys),
//! `stream` (the payload: reading, writing, the window), `runs` (sealing and
//! opening a run of chunks in place), `crew` (the helper threads).
//!
//! ```
//! use carekey_crypto::age;
//! let identity = age::Identity::generate();
//! let mut file = Vec::new();
//! age::encrypt(&[identity.recipient()], &b"lab result"[..], &mut file).unwrap();
//! let mut plain = Vec::new();
//! age::decrypt(&[identity], &file[..], &mut plain).unwrap();
//! assert_eq!(plain, b"lab result");
//! ```

mod crew;
mod format;
mod keys;
mod runs;
mod stream;

use std::io::{self, BufReader, Read, Write};

use crate::Sha256;

pub use format::{read_header, Header, Stanza, MAX_HEADER_LEN};
pub use keys::{FileKey, Identity, Recipient};
pub use stream::{decrypt_payload, encrypt_payload, BATCH_CHUNKS, CHUNK_SIZE, NONCE_SIZE};

/// Why reading or writing an age file failed.
///
/// The variants follow the failure classes of the C2SP test vectors:
/// header (`MalformedHeader`, `UnsupportedVersion`, `LowOrderPoint`,
/// `MissingNonce`), no match (`NoMatchingIdentity`), MAC (`HeaderMac`) and
/// payload (`PayloadAuthentication`, `Truncated`, `EmptyFinalChunk`, `TrailingData`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgeError {
    /// Reading the input or writing the output failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// The header does not follow the age v1 grammar (or a known stanza is malformed).
    #[error("malformed age header: {reason}")]
    MalformedHeader {
        /// Which rule the header broke.
        reason: &'static str,
    },
    /// The header is larger than [`MAX_HEADER_LEN`].
    #[error("age header is longer than {MAX_HEADER_LEN} bytes")]
    HeaderTooLarge,
    /// The file starts with an age version line other than v1.
    #[error("unsupported age version")]
    UnsupportedVersion,
    /// A `scrypt` (passphrase) stanza is the only way to open this file;
    /// Carekey only uses X25519.
    #[error("passphrase-encrypted (scrypt) age files are not supported")]
    UnsupportedStanza,
    /// None of the given identities can unwrap any recipient stanza.
    #[error("no identity matches any recipient of this file")]
    NoMatchingIdentity,
    /// The header MAC does not match: the header was altered.
    #[error("age header MAC mismatch")]
    HeaderMac,
    /// An X25519 share (or a recipient) is a low-order point.
    #[error("X25519 low-order point")]
    LowOrderPoint,
    /// The file ends before the 16-byte payload nonce.
    #[error("age file ends before the payload nonce")]
    MissingNonce,
    /// A payload chunk failed authentication: wrong key or corrupted data.
    #[error("payload chunk {chunk} failed authentication")]
    PayloadAuthentication {
        /// Index of the chunk, from 0.
        chunk: u64,
    },
    /// The payload ends without a final chunk.
    #[error("age payload is truncated")]
    Truncated,
    /// The final chunk is empty although it is not the only chunk.
    #[error("age payload ends with an empty chunk")]
    EmptyFinalChunk,
    /// Bytes follow the final chunk.
    #[error("trailing data after the end of the age payload")]
    TrailingData,
    /// `encrypt` was called without any recipient.
    #[error("no recipients")]
    NoRecipients,
    /// A Bech32 key string is malformed, has the wrong prefix or length.
    #[error("invalid age key encoding: {reason}")]
    InvalidKey {
        /// What is wrong with it (never the key itself).
        reason: &'static str,
    },
}

/// Encrypts `input` to `recipients` with a fresh file key.
/// Returns the number of plaintext bytes.
pub fn encrypt<R: Read, W: Write>(
    recipients: &[Recipient],
    input: R,
    output: W,
) -> Result<u64, AgeError> {
    encrypt_with_file_key(&FileKey::generate(), recipients, input, output)
}

/// Encrypts `input` to `recipients` under a given file key (which must be
/// fresh and random: reusing one across files is only safe because the
/// payload nonce is random). Returns the number of plaintext bytes.
pub fn encrypt_with_file_key<R: Read, W: Write>(
    file_key: &FileKey,
    recipients: &[Recipient],
    mut input: R,
    mut output: W,
) -> Result<u64, AgeError> {
    encrypt_dyn(file_key, recipients, &mut input, &mut output, false).map(|(n, _)| n)
}

/// Encrypts like [`encrypt`] and also returns the SHA-256 of the whole age
/// file written (header and payload). The hashing is done run by run on the
/// threads that encrypt, so it costs the caller's thread nothing.
/// Returns the number of plaintext bytes and the hash.
pub fn encrypt_and_hash<R: Read, W: Write>(
    recipients: &[Recipient],
    mut input: R,
    mut output: W,
) -> Result<(u64, [u8; 32]), AgeError> {
    let key = FileKey::generate();
    let (n, hash) = encrypt_dyn(&key, recipients, &mut input, &mut output, true)?;
    Ok((n, hash.ok_or_else(unhashed)?))
}

fn encrypt_dyn(
    file_key: &FileKey,
    recipients: &[Recipient],
    input: &mut dyn Read,
    output: &mut dyn Write,
    hash: bool,
) -> Result<(u64, Option<[u8; 32]>), AgeError> {
    let header = Header::wrap(file_key, recipients)?.to_bytes();
    output.write_all(&header)?;
    let hasher = hash.then(|| {
        let mut hasher = Sha256::new();
        hasher.update(&header);
        hasher
    });
    let nonce: [u8; NONCE_SIZE] = crate::random_array();
    stream::encrypt_payload_dyn(file_key, &nonce, input, output, hasher)
}

/// Decrypts an age file with the first identity that matches, writing the
/// plaintext chunk by chunk as each is authenticated. On a payload error,
/// the chunks before the bad one have already been written: callers that
/// must not see partial plaintext write to a temporary place first.
/// Returns the number of plaintext bytes.
pub fn decrypt<R: Read, W: Write>(
    identities: &[Identity],
    mut input: R,
    mut output: W,
) -> Result<u64, AgeError> {
    decrypt_dyn(identities, &mut input, &mut output, false).map(|(n, _)| n)
}

/// Decrypts like [`decrypt`] and also returns the SHA-256 of the whole
/// input (a successful decryption reads all of it), hashed run by run on the
/// threads that decrypt. Returns the number of plaintext bytes and the hash.
pub fn decrypt_and_hash<R: Read, W: Write>(
    identities: &[Identity],
    mut input: R,
    mut output: W,
) -> Result<(u64, [u8; 32]), AgeError> {
    let (n, hash) = decrypt_dyn(identities, &mut input, &mut output, true)?;
    Ok((n, hash.ok_or_else(unhashed)?))
}

/// Non-generic, so it is compiled (optimised) in this crate, not in each caller.
fn decrypt_dyn(
    identities: &[Identity],
    input: &mut dyn Read,
    output: &mut dyn Write,
    hash: bool,
) -> Result<(u64, Option<[u8; 32]>), AgeError> {
    // Small enough that the payload's reads bypass it (no extra copy).
    let mut input = BufReader::with_capacity(8 * 1024, input);
    let header = read_header(&mut input)?;
    let file_key = header.unwrap_file_key(identities)?;
    // Parsing accepts only canonical headers: `raw` is exactly what was read.
    let hasher = hash.then(|| {
        let mut hasher = Sha256::new();
        hasher.update(header.raw());
        hasher
    });
    stream::decrypt_payload_dyn(&file_key, &mut input, output, hasher)
}

/// The pipeline lost its hash (only if a helper thread died).
fn unhashed() -> AgeError {
    AgeError::Io(io::Error::other("a STREAM helper thread stopped"))
}
