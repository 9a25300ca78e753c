//! The age payload: a 16-byte nonce, then STREAM over 64 KiB ChaCha20-Poly1305 chunks.
//!
//! Both directions stream through a window of at most [`BATCH_CHUNKS`] chunks
//! (about 3 MiB, whatever the input size), in runs of up to 8 chunks
//! (`runs.rs`). The calling thread reads each run with one read into a
//! recycled buffer, hands it to the crew (`crew.rs`: a helper thread, or
//! itself when the helpers are busy) to be sealed or opened in place, and
//! writes the runs strictly in order with one write each. STREAM chunks are
//! independent (the nonce is the chunk counter), so runs can be processed in
//! any order and on any thread.
//!
//! Decryption keeps the error semantics of a sequential reader: a chunk's
//! plaintext is written only after that chunk and every chunk before it
//! authenticated (a chunk that fails is left as ciphertext and never leaves
//! the window), so the plaintext of every chunk before the first bad one is
//! released and nothing from it or after it.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::KeyInit;
use chacha20poly1305::ChaCha20Poly1305;

use super::crew::{Crew, Window};
use super::runs::{run_capacity, run_chunks, Run, RunEnd, Work, SEALED_CHUNK_SIZE, TAG_SIZE};
use super::{AgeError, FileKey};
use crate::{hkdf_sha256, Sha256};

pub use super::runs::CHUNK_SIZE;
/// Bytes of the payload nonce that precedes the chunks.
pub const NONCE_SIZE: usize = 16;
/// Chunks held in memory at once (the streaming window is at most this many
/// sealed chunks, in runs).
pub const BATCH_CHUNKS: usize = 48;
const PAYLOAD_INFO: &[u8] = b"payload";

fn payload_cipher(file_key: &FileKey, nonce: &[u8; NONCE_SIZE]) -> ChaCha20Poly1305 {
    let key = hkdf_sha256(nonce, file_key.expose(), PAYLOAD_INFO);
    ChaCha20Poly1305::new(key.expose().into())
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_full<R: Read + ?Sized>(input: &mut R, buf: &mut [u8]) -> io::Result<usize> {
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

/// A recycled buffer big enough for a run of `n` chunks.
fn buffer(spare: &mut Vec<Vec<u8>>, n: usize) -> Vec<u8> {
    let mut buf = spare.pop().unwrap_or_default();
    if buf.len() < run_capacity(n) {
        buf.resize(run_capacity(n), 0);
    }
    buf
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
    encrypt_payload_dyn(file_key, nonce, &mut input, &mut output, None).map(|(n, _)| n)
}

// The generic entry points forward to these non-generic functions so that
// the hot loop is compiled here, with this crate's optimisation level, and
// not monomorphised (unoptimised, in debug builds) in every caller.
//
// With `hasher` (holding what was written before), also returns the SHA-256
// of everything written.
pub(super) fn encrypt_payload_dyn(
    file_key: &FileKey,
    nonce: &[u8; NONCE_SIZE],
    input: &mut dyn Read,
    output: &mut dyn Write,
    mut hasher: Option<Sha256>,
) -> Result<(u64, Option<[u8; 32]>), AgeError> {
    output.write_all(nonce)?;
    if let Some(hasher) = hasher.as_mut() {
        hasher.update(nonce);
    }
    let mut crew = Crew::new(payload_cipher(file_key, nonce), hasher);
    let total = seal_chunks(&mut crew, input, output)?;
    Ok((total, crew.hash()))
}

fn seal_chunks(
    crew: &mut Crew,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    let mut window = Window::default();
    // Chunks in the window.
    let mut held = 0;
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut seq = 0u64;
    let mut counter = 0u64;
    let mut total = 0u64;
    let mut ended = false;
    // One byte of look-ahead tells whether a run ends the stream: it is read
    // into the byte after the run and carried over to the next one.
    let mut carry: Option<u8> = None;
    loop {
        crew.gather(&mut window);
        while let Some(run) = window.pop_ready() {
            let Work::Sealed { plain, len, last } = run.work else {
                return Err(lost_run());
            };
            output.write_all(&run.buf[..len])?;
            total += plain as u64;
            held -= run_chunks(run.first);
            if last {
                output.flush()?;
                return Ok(total);
            }
            spare.push(run.buf);
        }
        let n = run_chunks(counter);
        if !ended && held + n <= BATCH_CHUNKS {
            let mut buf = buffer(&mut spare, n);
            let base = n * TAG_SIZE;
            let want = n * CHUNK_SIZE;
            let mut filled = 0;
            if let Some(byte) = carry.take() {
                buf[base] = byte;
                filled = 1;
            }
            filled += read_full(input, &mut buf[base + filled..=base + want])?;
            let last = filled <= want;
            if last {
                ended = true;
            } else {
                carry = Some(buf[base + want]);
            }
            let plain = filled.min(want);
            let run = Run {
                seq,
                first: counter,
                buf,
                work: Work::Seal { n, plain, last },
            };
            seq += 1;
            counter += n as u64;
            held += n;
            crew.dispatch(run, &mut window);
            continue;
        }
        // The window is full, or the input ended with runs still away.
        crew.wait_for_front(&mut window)?;
    }
}

/// A run came back from the crew unprocessed (cannot happen: every run is
/// processed before it is put back).
fn lost_run() -> AgeError {
    AgeError::Io(io::Error::other("a STREAM run came back unprocessed"))
}

/// Reads the payload nonce and decrypts the STREAM that follows, writing
/// each chunk's plaintext once it is authenticated. Returns the number of
/// plaintext bytes. Everything up to the end of `input` must be payload.
pub fn decrypt_payload<R: Read, W: Write>(
    file_key: &FileKey,
    mut input: R,
    mut output: W,
) -> Result<u64, AgeError> {
    decrypt_payload_dyn(file_key, &mut input, &mut output, None).map(|(n, _)| n)
}

/// With `hasher` (holding what was read before), also returns the SHA-256
/// of everything read.
pub(super) fn decrypt_payload_dyn(
    file_key: &FileKey,
    input: &mut dyn Read,
    output: &mut dyn Write,
    mut hasher: Option<Sha256>,
) -> Result<(u64, Option<[u8; 32]>), AgeError> {
    let mut nonce = [0u8; NONCE_SIZE];
    if read_full(input, &mut nonce)? < NONCE_SIZE {
        return Err(AgeError::MissingNonce);
    }
    if let Some(hasher) = hasher.as_mut() {
        hasher.update(&nonce);
    }
    let mut crew = Crew::new(payload_cipher(file_key, &nonce), hasher);
    let total = open_chunks(&mut crew, input, output)?;
    Ok((total, crew.hash()))
}

fn open_chunks(
    crew: &mut Crew,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    let mut window = Window::default();
    // Chunks in the window.
    let mut held = 0;
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut seq = 0u64;
    let mut counter = 0u64;
    let mut total = 0u64;
    // The input is exhausted (no more runs will be read).
    let mut ended = false;
    // It ended with a piece too short to hold a tag (after the last chunk read).
    let mut stub = false;
    loop {
        crew.gather(&mut window);
        // Release, in order, every run that is back, up to its first chunk
        // that is bad; stop at the first run not back yet.
        while let Some(run) = window.pop_ready() {
            let Work::Opened { plain, end } = run.work else {
                return Err(lost_run());
            };
            output.write_all(&run.buf[..plain])?;
            total += plain as u64;
            held -= run_chunks(run.first);
            match end {
                RunEnd::More => spare.push(run.buf),
                RunEnd::Failed { chunk } => return Err(AgeError::PayloadAuthentication { chunk }),
                RunEnd::Last { empty: true, .. } => return Err(AgeError::EmptyFinalChunk),
                RunEnd::Last { trailing, .. } => {
                    // The final chunk is authentic, so it is released (as the
                    // C2SP vectors expect); the file as a whole is still
                    // rejected if anything follows it.
                    let mut probe = [0u8; 1];
                    if trailing
                        || !window.is_empty()
                        || stub
                        || (!ended && read_full(input, &mut probe)? != 0)
                    {
                        return Err(AgeError::TrailingData);
                    }
                    output.flush()?;
                    return Ok(total);
                }
            }
        }
        let n = run_chunks(counter);
        if !ended && held + n <= BATCH_CHUNKS {
            let mut buf = buffer(&mut spare, n);
            let want = n * SEALED_CHUNK_SIZE;
            let mut filled = read_full(input, &mut buf[..want])?;
            ended = filled < want;
            // A final piece shorter than a tag cannot be opened.
            let piece = filled % SEALED_CHUNK_SIZE;
            if piece > 0 && piece < TAG_SIZE {
                stub = true;
                filled -= piece;
            }
            if filled == 0 {
                spare.push(buf);
                continue;
            }
            let run = Run {
                seq,
                first: counter,
                buf,
                work: Work::Open { filled },
            };
            seq += 1;
            counter += n as u64;
            held += n;
            crew.dispatch(run, &mut window);
            continue;
        }
        if window.is_empty() {
            // The input ended after a chunk not marked last (or inside a tag,
            // or before any chunk).
            return Err(AgeError::Truncated);
        }
        crew.wait_for_front(&mut window)?;
    }
}
