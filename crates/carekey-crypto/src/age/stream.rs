//! The age payload: a 16-byte nonce, then STREAM over 64 KiB ChaCha20-Poly1305 chunks.
//!
//! Both directions work on a fixed buffer of [`BATCH_CHUNKS`] sealed chunks
//! (about 2 MiB, whatever the input size), read straight into it, encrypt or
//! decrypt in place, and write out of it. STREAM chunks are independent (the
//! nonce is the chunk counter), so the chunks of one batch are processed on
//! all available cores; output order and error semantics are those of a
//! sequential reader: the plaintext of every chunk before the first bad one
//! is released, nothing after it.

use std::io::{self, Read, Write};

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;

use super::{AgeError, FileKey};
use crate::hkdf_sha256;

/// Plaintext bytes per STREAM chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Bytes of the payload nonce that precedes the chunks.
pub const NONCE_SIZE: usize = 16;
/// Chunks held in memory at once (the streaming buffer is this many sealed chunks).
pub const BATCH_CHUNKS: usize = 32;
const TAG_SIZE: usize = 16;
const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
const PAYLOAD_INFO: &[u8] = b"payload";
/// Upper bound on worker threads per call (the machines we target have 2–8 cores).
const MAX_THREADS: usize = 4;

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

fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS)
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
    encrypt_payload_dyn(file_key, nonce, &mut input, &mut output)
}

// The generic entry points forward to these non-generic functions so that
// the hot loop is compiled here, with this crate's optimisation level, and
// not monomorphised (unoptimised, in debug builds) in every caller.
fn encrypt_payload_dyn(
    file_key: &FileKey,
    nonce: &[u8; NONCE_SIZE],
    mut input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    output.write_all(nonce)?;
    let cipher = payload_cipher(file_key, nonce);
    let threads = threads();
    let mut buf = vec![0u8; BATCH_CHUNKS * SEALED_CHUNK_SIZE];
    let mut counter = 0u64;
    let mut total = 0u64;
    // One byte of look-ahead tells whether a chunk is the last: it is read
    // into the byte after the chunk (where its tag goes) and carried over.
    let mut carry: Option<u8> = None;
    loop {
        // (slot length, is last) of each chunk read into this batch.
        let mut chunks: Vec<(usize, bool)> = Vec::with_capacity(BATCH_CHUNKS);
        for slot in buf.chunks_mut(SEALED_CHUNK_SIZE) {
            let mut filled = 0;
            if let Some(byte) = carry.take() {
                slot[0] = byte;
                filled = 1;
            }
            filled += read_full(&mut input, &mut slot[filled..=CHUNK_SIZE])?;
            let last = filled <= CHUNK_SIZE;
            if !last {
                carry = Some(slot[CHUNK_SIZE]);
            }
            chunks.push((filled.min(CHUNK_SIZE), last));
            if last {
                break;
            }
        }
        let batch_len = chunks.len();
        let mut jobs: Vec<Job<'_, (u64, usize, bool)>> = buf
            .chunks_mut(SEALED_CHUNK_SIZE)
            .zip(chunks.iter().enumerate())
            .map(|(slot, (i, &(len, last)))| (slot, (counter + i as u64, len, last)))
            .collect();
        for_each_parallel(&mut jobs, threads, |slot, &mut (counter, len, last)| {
            let (data, rest) = slot.split_at_mut(len);
            // Only fails beyond 256 GiB per chunk; a 64 KiB chunk cannot.
            if let Ok(tag) =
                cipher.encrypt_in_place_detached(&chunk_nonce(counter, last), b"", data)
            {
                rest[..TAG_SIZE].copy_from_slice(&tag);
            }
        });
        // Every chunk but the last of the file is full, so the batch is contiguous.
        let (last_len, last) = chunks[batch_len - 1];
        let out_len = (batch_len - 1) * SEALED_CHUNK_SIZE + last_len + TAG_SIZE;
        output.write_all(&buf[..out_len])?;
        total += ((batch_len - 1) * CHUNK_SIZE + last_len) as u64;
        counter += batch_len as u64;
        if last {
            break;
        }
    }
    output.flush()?;
    Ok(total)
}

/// How a sealed chunk may be flagged.
#[derive(Clone, Copy)]
enum Expect {
    /// Followed by more data: must open as not-last (or it is a last chunk
    /// followed by trailing data).
    Middle,
    /// A full chunk at the end of what was read: either.
    Either,
    /// The short chunk at the end of the input: must open as last.
    Final,
}

/// The outcome of opening one chunk in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opened {
    Pending,
    NotLast,
    Last,
    Failed,
}

fn open_chunk(
    cipher: &ChaCha20Poly1305,
    counter: u64,
    sealed: &mut [u8],
    expect: Expect,
) -> Opened {
    let len = sealed.len() - TAG_SIZE;
    let (data, tag) = sealed.split_at_mut(len);
    let tag = chacha20poly1305::Tag::from_slice(tag);
    // A failed attempt leaves the buffer untouched (the tag is checked first),
    // so a second flag can be tried.
    let mut try_flag = |last: bool| {
        cipher
            .decrypt_in_place_detached(&chunk_nonce(counter, last), b"", data, tag)
            .is_ok()
    };
    match expect {
        Expect::Final if try_flag(true) => Opened::Last,
        Expect::Middle | Expect::Either if try_flag(false) => Opened::NotLast,
        Expect::Middle | Expect::Either if try_flag(true) => Opened::Last,
        _ => Opened::Failed,
    }
}

/// Reads the payload nonce and decrypts the STREAM that follows, writing
/// each chunk's plaintext once it is authenticated. Returns the number of
/// plaintext bytes. Everything up to the end of `input` must be payload.
pub fn decrypt_payload<R: Read, W: Write>(
    file_key: &FileKey,
    mut input: R,
    mut output: W,
) -> Result<u64, AgeError> {
    decrypt_payload_dyn(file_key, &mut input, &mut output)
}

pub(super) fn decrypt_payload_dyn(
    file_key: &FileKey,
    mut input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    let mut nonce = [0u8; NONCE_SIZE];
    if read_full(&mut input, &mut nonce)? < NONCE_SIZE {
        return Err(AgeError::MissingNonce);
    }
    let cipher = payload_cipher(file_key, &nonce);
    let threads = threads();
    let mut buf = vec![0u8; BATCH_CHUNKS * SEALED_CHUNK_SIZE];
    let mut counter = 0u64;
    let mut total = 0u64;
    loop {
        let filled = read_full(&mut input, &mut buf)?;
        if filled == 0 {
            // The previous chunk was full and not marked last.
            return Err(AgeError::Truncated);
        }
        let at_end = filled < buf.len();
        let slots = filled.div_ceil(SEALED_CHUNK_SIZE);
        let mut jobs: Vec<Job<'_, (u64, Expect, Opened)>> = buf[..filled]
            .chunks_mut(SEALED_CHUNK_SIZE)
            .enumerate()
            .map(|(i, slot)| {
                // Only a short chunk is known to be the last; a full one at
                // the end may be the last or a truncated stream's.
                let expect = if i + 1 < slots {
                    Expect::Middle
                } else if slot.len() == SEALED_CHUNK_SIZE {
                    Expect::Either
                } else {
                    Expect::Final
                };
                (slot, (counter + i as u64, expect, Opened::Pending))
            })
            .collect();
        // A final chunk shorter than its tag cannot be opened.
        let short_final = jobs.last().is_some_and(|(slot, _)| slot.len() < TAG_SIZE);
        if short_final {
            jobs.pop();
        }
        for_each_parallel(&mut jobs, threads, |slot, job| {
            job.2 = open_chunk(&cipher, job.0, slot, job.1);
        });
        let outcomes: Vec<(usize, Opened)> =
            jobs.iter().map(|(slot, job)| (slot.len(), job.2)).collect();
        drop(jobs);
        for (i, &(sealed_len, opened)) in outcomes.iter().enumerate() {
            let chunk = counter + i as u64;
            let len = sealed_len - TAG_SIZE;
            match opened {
                Opened::Failed | Opened::Pending => {
                    return Err(AgeError::PayloadAuthentication { chunk })
                }
                Opened::Last if len == 0 && chunk > 0 => return Err(AgeError::EmptyFinalChunk),
                Opened::NotLast | Opened::Last => {}
            }
            let start = i * SEALED_CHUNK_SIZE;
            output.write_all(&buf[start..start + len])?;
            total += len as u64;
            if opened == Opened::Last {
                // The final chunk is authentic, so it is released (as the C2SP
                // vectors expect); the file as a whole is still rejected if
                // anything follows it.
                let more_in_batch = i + 1 < slots;
                let mut probe = [0u8; 1];
                if more_in_batch || (!at_end && read_full(&mut input, &mut probe)? != 0) {
                    return Err(AgeError::TrailingData);
                }
                output.flush()?;
                return Ok(total);
            }
        }
        if short_final || at_end {
            // The input ended after a chunk not marked last, or inside a tag.
            return Err(AgeError::Truncated);
        }
        counter += slots as u64;
    }
}

/// One chunk's slot in the batch buffer and what to do with it.
type Job<'a, J> = (&'a mut [u8], J);

/// Runs `work` on every `(slot, job)` pair, spread over up to `threads`
/// threads in contiguous groups (the calling thread takes the first group).
fn for_each_parallel<J: Send, F>(jobs: &mut [Job<'_, J>], threads: usize, work: F)
where
    F: Fn(&mut [u8], &mut J) + Sync,
{
    if threads <= 1 || jobs.len() < 2 {
        for (slot, job) in jobs.iter_mut() {
            work(slot, job);
        }
        return;
    }
    let per_thread = jobs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let mut groups = jobs.chunks_mut(per_thread);
        let first = groups.next();
        for group in groups {
            let work = &work;
            scope.spawn(move || {
                for (slot, job) in group {
                    work(slot, job);
                }
            });
        }
        for (slot, job) in first.into_iter().flatten() {
            work(slot, job);
        }
    });
}
