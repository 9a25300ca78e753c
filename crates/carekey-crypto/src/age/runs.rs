//! Runs: a few consecutive STREAM chunks in one buffer, sealed or opened in
//! place as one unit of work.
//!
//! A run is what the calling thread reads with one `read` and writes with one
//! `write`, and what a helper thread takes at a time: handing over runs of up
//! to [`RUN_CHUNKS`] chunks instead of single chunks cuts the thread hand-offs
//! (and their futex calls) and the `read`/`write` calls by that factor.
//!
//! Layouts, with `n` the chunks the run was read for and `S` a sealed chunk
//! (`CHUNK_SIZE` + 16-byte tag):
//! - sealing: the plaintext is read contiguously at offset `16 n` (plus one
//!   byte of look-ahead at `n S`); each chunk is moved down to `i S` (which
//!   leaves room for its tag after it) and sealed in place, so the sealed run
//!   is contiguous from offset 0;
//! - opening: the sealed chunks are read contiguously from offset 0; each is
//!   opened in place and its plaintext moved down to `i CHUNK_SIZE`, so the
//!   plaintext is contiguous from offset 0.
//!
//! A call may also hash its ciphertext (the wallet seals records by their
//! SHA-256): the thread that seals a run hashes it after sealing, the thread
//! that opens one hashes it before opening, each in stream order through a
//! [`Baton`], so the hashing is spread over the threads with the cipher
//! instead of being done by the thread that reads or writes.

use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::ChaCha20Poly1305;

use crate::Sha256;

/// Plaintext bytes per STREAM chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
pub(super) const TAG_SIZE: usize = 16;
pub(super) const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
/// Chunks per run at most (512 KiB of plaintext).
pub(super) const RUN_CHUNKS: usize = 8;

/// Chunks in the run that starts at chunk `first`: 1, 1, 2, 4, then
/// [`RUN_CHUNKS`]. Short runs first, so that small inputs still spread over
/// the threads and a one-chunk input stays a one-chunk run.
pub(super) fn run_chunks(first: u64) -> usize {
    usize::try_from(first.clamp(1, RUN_CHUNKS as u64)).unwrap_or(RUN_CHUNKS)
}

/// Bytes a buffer needs for a run of `n` chunks (either direction).
pub(super) fn run_capacity(n: usize) -> usize {
    n * SEALED_CHUNK_SIZE + 1
}

/// The STREAM nonce: an 11-byte big-endian chunk counter and the last-chunk flag.
fn chunk_nonce(counter: u64, last: bool) -> chacha20poly1305::Nonce {
    let mut nonce = [0u8; 12];
    nonce[3..11].copy_from_slice(&counter.to_be_bytes());
    nonce[11] = u8::from(last);
    nonce.into()
}

/// What is to be done, or was done, to a run.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Work {
    /// Seal `plain` bytes read at offset `16 n` as chunks; `last`: the run
    /// ends the stream (its final chunk is flagged last).
    Seal { n: usize, plain: usize, last: bool },
    /// Sealed: the first `len` bytes are the sealed chunks.
    Sealed {
        plain: usize,
        len: usize,
        last: bool,
    },
    /// Open the `filled` sealed bytes from offset 0 (the final piece at
    /// least a tag long).
    Open { filled: usize },
    /// Opened: the first `plain` bytes are the plaintext of the chunks that
    /// authenticated, up to `end`.
    Opened { plain: usize, end: RunEnd },
}

/// How an opened run ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum RunEnd {
    /// Every chunk opened as not last.
    More,
    /// Chunk `chunk` opened as the last one. `empty`: it holds no plaintext
    /// although it is not the stream's only chunk; `trailing`: more chunks of
    /// this run follow it.
    Last {
        chunk: u64,
        empty: bool,
        trailing: bool,
    },
    /// Chunk `chunk` failed authentication (nothing of it or after it is in
    /// the plaintext).
    Failed { chunk: u64 },
}

/// A run of chunks in its own buffer (recycled). No `Debug`: the buffer
/// holds plaintext.
pub(super) struct Run {
    /// Position of the run in its stream (0, 1, 2, …).
    pub(super) seq: u64,
    /// Counter of its first chunk.
    pub(super) first: u64,
    pub(super) buf: Vec<u8>,
    pub(super) work: Work,
}

impl Run {
    /// Seals or opens the run in place, hashing its ciphertext into `baton`
    /// (if the call hashes) in its turn.
    pub(super) fn process(&mut self, cipher: &ChaCha20Poly1305, baton: Option<&Baton>) {
        self.work = match self.work {
            Work::Seal { n, plain, last } => {
                let len = seal_run(cipher, self.first, &mut self.buf, n, plain, last);
                if let Some(baton) = baton {
                    baton.absorb(self.seq, &self.buf[..len]);
                }
                Work::Sealed { plain, len, last }
            }
            Work::Open { filled } => {
                if let Some(baton) = baton {
                    baton.absorb(self.seq, &self.buf[..filled]);
                }
                let (plain, end) = open_run(cipher, self.first, &mut self.buf[..filled]);
                Work::Opened { plain, end }
            }
            done => done,
        }
    }
}

/// A SHA-256 that runs are absorbed into strictly in stream order, by
/// whichever thread processes them: a thread whose run's turn has not come
/// waits for the runs before it (each of which some thread is already
/// processing: runs are taken oldest first).
pub(super) struct Baton {
    turn: Mutex<Turn>,
    /// Signalled when a turn ends while some thread waits for its own.
    next: Condvar,
}

struct Turn {
    /// The run whose turn it is.
    seq: u64,
    hasher: Option<Sha256>,
    waiting: bool,
}

impl Baton {
    /// A baton whose hash already holds what precedes the runs.
    pub(super) fn new(hasher: Sha256) -> Self {
        Baton {
            turn: Mutex::new(Turn {
                seq: 0,
                hasher: Some(hasher),
                waiting: false,
            }),
            next: Condvar::new(),
        }
    }

    fn turn(&self) -> MutexGuard<'_, Turn> {
        self.turn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Absorbs run `seq`'s bytes once every earlier run's are absorbed.
    fn absorb(&self, seq: u64, bytes: &[u8]) {
        let mut turn = self.turn();
        // A broken baton (`hasher` gone) never moves on: stop waiting.
        while turn.seq != seq && turn.hasher.is_some() {
            turn.waiting = true;
            turn = self.next.wait(turn).unwrap_or_else(PoisonError::into_inner);
        }
        let Some(hasher) = turn.hasher.as_mut() else {
            return;
        };
        hasher.update(bytes);
        turn.seq += 1;
        if std::mem::take(&mut turn.waiting) {
            self.next.notify_all();
        }
    }

    /// Breaks the chain (a thread holding a run died): nobody waits for a
    /// turn any more, and there is no hash.
    pub(super) fn break_chain(&self) {
        self.turn().hasher = None;
        self.next.notify_all();
    }

    /// The hash of everything absorbed, once every run is.
    pub(super) fn finish(&self) -> Option<[u8; 32]> {
        self.turn().hasher.take().map(Sha256::finalize)
    }
}

/// Seals the chunks of a run read for `n` chunks; returns the sealed length.
fn seal_run(
    cipher: &ChaCha20Poly1305,
    first: u64,
    buf: &mut [u8],
    n: usize,
    plain: usize,
    last: bool,
) -> usize {
    // An empty stream is one empty final chunk; otherwise every chunk but
    // the stream's final one is full.
    let chunks = plain.div_ceil(CHUNK_SIZE).max(1);
    let base = n * TAG_SIZE;
    let mut end = 0;
    for i in 0..chunks {
        let len = (plain - i * CHUNK_SIZE).min(CHUNK_SIZE);
        let at = i * SEALED_CHUNK_SIZE;
        let from = base + i * CHUNK_SIZE;
        // Moves down by 16 (n − i) bytes: never over a chunk not yet moved.
        buf.copy_within(from..from + len, at);
        let (data, rest) = buf[at..].split_at_mut(len);
        let flag = last && i + 1 == chunks;
        // Only fails beyond 256 GiB per chunk; a 64 KiB chunk cannot.
        if let Ok(tag) =
            cipher.encrypt_in_place_detached(&chunk_nonce(first + i as u64, flag), b"", data)
        {
            rest[..TAG_SIZE].copy_from_slice(&tag);
        }
        end = at + len + TAG_SIZE;
    }
    end
}

/// How a sealed chunk may be flagged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Expect {
    /// A full chunk: not last if more data follows, else last (or truncated).
    /// Which one is only known once the input after it has been read, so
    /// both flags are tried and the writer checks what follows.
    Either,
    /// The short chunk at the end of the input: must open as last.
    Final,
}

/// The outcome of opening one chunk in place.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Opened {
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
        Expect::Either if try_flag(false) => Opened::NotLast,
        Expect::Either if try_flag(true) => Opened::Last,
        _ => Opened::Failed,
    }
}

/// Opens the sealed chunks in `sealed` (every piece but the final one a full
/// sealed chunk, the final one at least a tag long), moving each plaintext
/// down so it is contiguous; stops at the first chunk that fails or is last.
fn open_run(cipher: &ChaCha20Poly1305, first: u64, sealed: &mut [u8]) -> (usize, RunEnd) {
    let pieces = sealed.len().div_ceil(SEALED_CHUNK_SIZE);
    let mut plain = 0;
    for i in 0..pieces {
        let at = i * SEALED_CHUNK_SIZE;
        let len = (sealed.len() - at).min(SEALED_CHUNK_SIZE);
        let chunk = first + i as u64;
        // Only a short chunk is known to be the last; a full one may be the
        // last or a truncated stream's.
        let expect = if len < SEALED_CHUNK_SIZE {
            Expect::Final
        } else {
            Expect::Either
        };
        let opened = open_chunk(cipher, chunk, &mut sealed[at..at + len], expect);
        if opened == Opened::Failed {
            return (plain, RunEnd::Failed { chunk });
        }
        let data = len - TAG_SIZE;
        sealed.copy_within(at..at + data, plain);
        plain += data;
        if opened == Opened::Last {
            let end = RunEnd::Last {
                chunk,
                empty: data == 0 && chunk > 0,
                trailing: i + 1 < pieces,
            };
            return (plain, end);
        }
    }
    (plain, RunEnd::More)
}
