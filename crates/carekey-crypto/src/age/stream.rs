//! The age payload: a 16-byte nonce, then STREAM over 64 KiB ChaCha20-Poly1305 chunks.
//!
//! Both directions use one buffer of a chunk plus its tag, encrypt and
//! decrypt in place, and read straight into that buffer, so memory stays
//! constant and each byte is copied once on the way in and once on the way out.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;

use super::{AgeError, FileKey};
use crate::hkdf_sha256;

/// Plaintext bytes per STREAM chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Bytes of the payload nonce that precedes the chunks.
pub const NONCE_SIZE: usize = 16;
const TAG_SIZE: usize = 16;
const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
const PAYLOAD_INFO: &[u8] = b"payload";

fn payload_cipher(file_key: &FileKey, nonce: &[u8; NONCE_SIZE]) -> ChaCha20Poly1305 {
    let key = hkdf_sha256(nonce, file_key.expose(), PAYLOAD_INFO);
    ChaCha20Poly1305::new(key.expose().into())
}

/// The STREAM nonce: an 11-byte big-endian chunk counter and the last-chunk flag.
fn chunk_nonce(counter: u64, last: bool) -> chacha20poly1305::Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce.into()
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Writes `nonce` and the STREAM encryption of `input` under `file_key`.
/// Returns the number of plaintext bytes.
///
/// With a fixed nonce this is deterministic, which the C2SP vectors use to
/// check the encoder; real files take a random nonce (see [`super::encrypt`]).
pub fn encrypt_payload<R: Read, W: Write>(
    file_key: &FileKey,
    nonce: &[u8; NONCE_SIZE],
    mut input: R,
    mut output: W,
) -> Result<u64, AgeError> {
    output.write_all(nonce)?;
    let cipher = payload_cipher(file_key, nonce);
    // A chunk and its tag; while reading, the byte after the chunk holds one
    // byte of look-ahead that tells whether this chunk is the last.
    let mut buf = vec![0u8; SEALED_CHUNK_SIZE];
    let mut filled = 0;
    let mut counter = 0u64;
    let mut total = 0u64;
    loop {
        filled += read_full(&mut input, &mut buf[filled..=CHUNK_SIZE])?;
        let last = filled <= CHUNK_SIZE;
        let len = filled.min(CHUNK_SIZE);
        let look_ahead = buf[CHUNK_SIZE];
        let tag = cipher
            .encrypt_in_place_detached(&chunk_nonce(counter, last), b"", &mut buf[..len])
            .map_err(|_| AgeError::PayloadAuthentication { chunk: counter })?;
        buf[len..len + TAG_SIZE].copy_from_slice(&tag);
        output.write_all(&buf[..len + TAG_SIZE])?;
        total += len as u64;
        if last {
            break;
        }
        buf[0] = look_ahead;
        filled = 1;
        counter = counter.checked_add(1).ok_or(AgeError::Truncated)?;
    }
    output.flush()?;
    Ok(total)
}

/// Reads the payload nonce and decrypts the STREAM that follows, writing
/// each chunk's plaintext once it is authenticated. Returns the number of
/// plaintext bytes. Everything up to the end of `input` must be payload.
pub fn decrypt_payload<R: Read, W: Write>(
    file_key: &FileKey,
    mut input: R,
    mut output: W,
) -> Result<u64, AgeError> {
    let mut nonce = [0u8; NONCE_SIZE];
    if read_full(&mut input, &mut nonce)? < NONCE_SIZE {
        return Err(AgeError::MissingNonce);
    }
    let cipher = payload_cipher(file_key, &nonce);
    let mut buf = vec![0u8; SEALED_CHUNK_SIZE];
    let mut counter = 0u64;
    let mut total = 0u64;
    loop {
        let filled = read_full(&mut input, &mut buf)?;
        if filled < TAG_SIZE {
            // No bytes: the previous chunk was not marked last. A few bytes:
            // a chunk cut short before its tag.
            return Err(AgeError::Truncated);
        }
        let len = filled - TAG_SIZE;
        let (data, tag) = buf[..filled].split_at_mut(len);
        let tag = chacha20poly1305::Tag::from_slice(tag);
        // Only a full chunk can be followed by another one; a full chunk
        // that does not open as "not last" may be a full last chunk.
        // Failed attempts leave the buffer untouched (the tag is checked first).
        let mut last = filled < SEALED_CHUNK_SIZE;
        let mut opened = !last
            && cipher
                .decrypt_in_place_detached(&chunk_nonce(counter, false), b"", data, tag)
                .is_ok();
        if !opened {
            last = true;
            opened = cipher
                .decrypt_in_place_detached(&chunk_nonce(counter, true), b"", data, tag)
                .is_ok();
        }
        if !opened {
            return Err(AgeError::PayloadAuthentication { chunk: counter });
        }
        if last && len == 0 && counter > 0 {
            return Err(AgeError::EmptyFinalChunk);
        }
        output.write_all(&buf[..len])?;
        total += len as u64;
        if last {
            // The final chunk is authentic, so it is released (as the C2SP
            // vectors expect); the file as a whole is still rejected.
            let mut probe = [0u8; 1];
            if read_full(&mut input, &mut probe)? != 0 {
                return Err(AgeError::TrailingData);
            }
            break;
        }
        counter = counter.checked_add(1).ok_or(AgeError::Truncated)?;
    }
    output.flush()?;
    Ok(total)
}
