//! The age payload: a 16-byte nonce, then STREAM over 64 KiB ChaCha20-Poly1305 chunks.
//!
//! Both directions stream through a window of at most [`BATCH_CHUNKS`] chunk
//! buffers (about 2 MiB, whatever the input size). The calling thread reads
//! each chunk straight into a recycled buffer and seals or opens it in place,
//! either itself (while the data is still in its cache) or, when the helpers'
//! short queue has room, on a helper thread; rather than wait for a helper,
//! it takes queued chunks back and processes them itself. STREAM chunks are
//! independent (the nonce is the chunk counter), so they can be processed in
//! any order; the calling thread writes them strictly in order. The helpers
//! are a small process-wide pool (at most [`MAX_THREADS`] − 1 threads,
//! started on first need, asleep when idle), so no call pays for starting a
//! thread after the first, and a one-chunk record never involves one. Each
//! call has its own queue and its own copy of the cipher; a helper holds it
//! only while it works on that call's chunks.
//!
//! Decryption keeps the error semantics of a sequential reader: a chunk's
//! plaintext is written only after that chunk and every chunk before it
//! authenticated (a chunk that fails is left as ciphertext and never leaves
//! the window), so the plaintext of every chunk before the first bad one is
//! released and nothing from it or after it.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;

use super::{AgeError, FileKey};
use crate::hkdf_sha256;

/// Plaintext bytes per STREAM chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
/// Bytes of the payload nonce that precedes the chunks.
pub const NONCE_SIZE: usize = 16;
/// Chunks held in memory at once (the streaming window is at most this many
/// sealed-chunk buffers).
pub const BATCH_CHUNKS: usize = 32;
const TAG_SIZE: usize = 16;
const SEALED_CHUNK_SIZE: usize = CHUNK_SIZE + TAG_SIZE;
const PAYLOAD_INFO: &[u8] = b"payload";
/// Upper bound on threads per call, the calling thread included (the
/// machines we target have 2–8 cores).
const MAX_THREADS: usize = 4;
/// Chunks always processed on the calling thread, before any is queued for
/// a helper (a one-chunk input never involves another thread).
const SOLO_CHUNKS: u64 = 1;
/// Chunks queued per helper at most: enough that a helper never waits for
/// the calling thread, few enough that the calling thread does its share.
const QUEUE_PER_HELPER: usize = 3;

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

/// Helper threads to use besides the calling one. Asked of the OS once per
/// process: the answer reads cgroup files and costs about half a chunk's
/// work.
fn helper_count() -> usize {
    static HELPERS: OnceLock<usize> = OnceLock::new();
    *HELPERS.get_or_init(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, MAX_THREADS)
            - 1
    })
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
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    output.write_all(nonce)?;
    let mut crew = Crew::new(payload_cipher(file_key, nonce));
    seal_chunks(&mut crew, input, output)
}

fn seal_chunks(
    crew: &mut Crew,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    let mut window = Window::default();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut counter = 0u64;
    let mut total = 0u64;
    let mut ended = false;
    // One byte of look-ahead tells whether a chunk is the last: it is read
    // into the byte after the chunk (where its tag goes) and carried over.
    let mut carry: Option<u8> = None;
    loop {
        crew.gather(&mut window);
        while let Some(chunk) = window.pop_ready() {
            output.write_all(&chunk.buf[..chunk.len + TAG_SIZE])?;
            total += chunk.len as u64;
            if matches!(chunk.work, Work::Sealed { last: true }) {
                output.flush()?;
                return Ok(total);
            }
            spare.push(chunk.buf);
        }
        if !ended && window.len() < BATCH_CHUNKS {
            let mut buf = spare.pop().unwrap_or_else(|| vec![0u8; SEALED_CHUNK_SIZE]);
            let mut filled = 0;
            if let Some(byte) = carry.take() {
                buf[0] = byte;
                filled = 1;
            }
            filled += read_full(input, &mut buf[filled..=CHUNK_SIZE])?;
            let last = filled <= CHUNK_SIZE;
            if last {
                ended = true;
            } else {
                carry = Some(buf[CHUNK_SIZE]);
            }
            let chunk = Chunk {
                counter,
                buf,
                len: filled.min(CHUNK_SIZE),
                work: Work::Seal { last },
            };
            counter += 1;
            crew.dispatch(chunk, &mut window);
            continue;
        }
        // The window is full, or the input ended with chunks still away.
        crew.wait_for_front(&mut window)?;
    }
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
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    let mut nonce = [0u8; NONCE_SIZE];
    if read_full(input, &mut nonce)? < NONCE_SIZE {
        return Err(AgeError::MissingNonce);
    }
    let mut crew = Crew::new(payload_cipher(file_key, &nonce));
    open_chunks(&mut crew, input, output)
}

fn open_chunks(
    crew: &mut Crew,
    input: &mut dyn Read,
    output: &mut dyn Write,
) -> Result<u64, AgeError> {
    let mut window = Window::default();
    let mut spare: Vec<Vec<u8>> = Vec::new();
    let mut counter = 0u64;
    let mut total = 0u64;
    // The input is exhausted (no more chunks will be read).
    let mut ended = false;
    // It ended with a piece too short to hold a tag (after the last chunk read).
    let mut stub = false;
    loop {
        crew.gather(&mut window);
        // Release, in order, every chunk that is back and authentic; stop at
        // the first that is not back yet, fail at the first that is bad.
        while let Some(chunk) = window.pop_ready() {
            let len = chunk.len - TAG_SIZE;
            let last = match chunk.work {
                Work::Opened(Opened::Last) if len == 0 && chunk.counter > 0 => {
                    return Err(AgeError::EmptyFinalChunk)
                }
                Work::Opened(Opened::NotLast) => false,
                Work::Opened(Opened::Last) => true,
                _ => {
                    return Err(AgeError::PayloadAuthentication {
                        chunk: chunk.counter,
                    })
                }
            };
            output.write_all(&chunk.buf[..len])?;
            total += len as u64;
            if last {
                // The final chunk is authentic, so it is released (as the C2SP
                // vectors expect); the file as a whole is still rejected if
                // anything follows it.
                let mut probe = [0u8; 1];
                if !window.is_empty() || stub || (!ended && read_full(input, &mut probe)? != 0) {
                    return Err(AgeError::TrailingData);
                }
                output.flush()?;
                return Ok(total);
            }
            spare.push(chunk.buf);
        }
        if !ended && window.len() < BATCH_CHUNKS {
            let mut buf = spare.pop().unwrap_or_else(|| vec![0u8; SEALED_CHUNK_SIZE]);
            let filled = read_full(input, &mut buf)?;
            ended = filled < SEALED_CHUNK_SIZE;
            if filled < TAG_SIZE {
                // Nothing, or less than a tag: no chunk can be opened from it.
                stub = filled > 0;
                spare.push(buf);
                continue;
            }
            // Only a short chunk is known to be the last; a full one may be
            // the last or a truncated stream's.
            let expect = if ended { Expect::Final } else { Expect::Either };
            let chunk = Chunk {
                counter,
                buf,
                len: filled,
                work: Work::Open(expect),
            };
            counter += 1;
            crew.dispatch(chunk, &mut window);
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

/// What is to be done, or was done, to a chunk.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Work {
    Seal { last: bool },
    Sealed { last: bool },
    Open(Expect),
    Opened(Opened),
}

/// One chunk in its own buffer (`SEALED_CHUNK_SIZE` bytes, recycled).
/// No `Debug`: the buffer holds plaintext.
struct Chunk {
    counter: u64,
    buf: Vec<u8>,
    /// Plaintext bytes to seal, or sealed bytes (tag included) to open.
    len: usize,
    work: Work,
}

impl Chunk {
    /// Seals or opens the chunk in place.
    fn process(&mut self, cipher: &ChaCha20Poly1305) {
        self.work = match self.work {
            Work::Seal { last } => {
                let (data, rest) = self.buf.split_at_mut(self.len);
                // Only fails beyond 256 GiB per chunk; a 64 KiB chunk cannot.
                if let Ok(tag) =
                    cipher.encrypt_in_place_detached(&chunk_nonce(self.counter, last), b"", data)
                {
                    rest[..TAG_SIZE].copy_from_slice(&tag);
                }
                Work::Sealed { last }
            }
            Work::Open(expect) => Work::Opened(open_chunk(
                cipher,
                self.counter,
                &mut self.buf[..self.len],
                expect,
            )),
            done => done,
        }
    }
}

/// Where a chunk of the window is.
enum Slot {
    /// Processed and back, waiting for its turn to be written.
    Back(Chunk),
    /// Queued for, or being processed by, a helper.
    Away,
}

/// The chunks read and not yet written, in counter order.
#[derive(Default)]
struct Window {
    /// Counter of the first slot.
    front: u64,
    slots: VecDeque<Slot>,
}

impl Window {
    fn len(&self) -> usize {
        self.slots.len()
    }

    fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The first chunk, if it is processed and back.
    fn pop_ready(&mut self) -> Option<Chunk> {
        if !matches!(self.slots.front(), Some(Slot::Back(_))) {
            return None;
        }
        self.front += 1;
        match self.slots.pop_front() {
            Some(Slot::Back(chunk)) => Some(chunk),
            _ => None,
        }
    }

    /// Puts a chunk that came back from a helper into its slot.
    fn put_back(&mut self, chunk: Chunk) {
        let at = chunk
            .counter
            .checked_sub(self.front)
            .and_then(|at| usize::try_from(at).ok())
            .unwrap_or(usize::MAX);
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = Slot::Back(chunk);
        }
    }
}

/// One encryption or decryption as the helpers see it: its cipher, the
/// chunks queued for help (oldest first) and the chunks a helper finished.
struct Call {
    cipher: ChaCha20Poly1305,
    board: Mutex<Board>,
    /// Signalled when a helper finished a chunk (or was lost).
    done: Condvar,
}

#[derive(Default)]
struct Board {
    queue: VecDeque<Chunk>,
    finished: Vec<Chunk>,
    /// Helpers working on this call, or asked to.
    helpers: usize,
    /// A helper panicked (its chunk will never come back).
    lost: bool,
}

impl Call {
    fn board(&self) -> MutexGuard<'_, Board> {
        // The lock is held only to move chunks, which cannot panic; the
        // board stays consistent either way.
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A helper's turn on this call: process the oldest queued chunk and
    /// hand it back, until the queue is empty.
    fn help(&self) {
        let _flag = LostOnPanic(self);
        let mut board = self.board();
        while let Some(mut chunk) = board.queue.pop_front() {
            drop(board);
            chunk.process(&self.cipher);
            board = self.board();
            board.finished.push(chunk);
            self.done.notify_one();
        }
        board.helpers -= 1;
    }
}

/// Tells the calling thread when a helper unwinds, so it never waits for a
/// chunk that will not come back.
struct LostOnPanic<'a>(&'a Call);

impl Drop for LostOnPanic<'_> {
    fn drop(&mut self) {
        if !thread::panicking() {
            return;
        }
        let mut board = self.0.board();
        board.lost = true;
        board.helpers = board.helpers.saturating_sub(1);
        drop(board);
        self.0.done.notify_all();
    }
}

/// The process's helper threads (at most [`MAX_THREADS`] − 1), started on
/// first need and then kept, asleep while no call needs them: starting a
/// thread costs about a chunk's work, so no call pays for it after the first.
struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when a call asks for help.
    wake: Condvar,
}

#[derive(Default)]
struct PoolState {
    calls: VecDeque<Arc<Call>>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| Pool {
        state: Mutex::new(PoolState::default()),
        wake: Condvar::new(),
    })
}

impl Pool {
    fn state(&self) -> MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Asks a helper to work on `call`, starting one if none is idle and
    /// fewer than the limit run. If no thread can be started, the calling
    /// thread processes its queued chunks itself.
    fn post(&'static self, call: Arc<Call>) {
        let mut state = self.state();
        if state.idle == 0 && state.threads < helper_count() {
            let started = thread::Builder::new()
                .name("carekey-stream".into())
                .spawn(move || self.serve());
            if started.is_ok() {
                state.threads += 1;
            }
        }
        if state.threads == 0 {
            // Nobody would ever take it (and it holds the key).
            return;
        }
        state.calls.push_back(call);
        drop(state);
        self.wake.notify_one();
    }

    /// A helper thread's life: take a call that asked for help, help it,
    /// sleep when there is none.
    fn serve(&self) {
        let _count = Leaving(self);
        let mut state = self.state();
        loop {
            if let Some(call) = state.calls.pop_front() {
                drop(state);
                call.help();
                drop(call);
                state = self.state();
            } else {
                state.idle += 1;
                state = self
                    .wake
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
                state.idle -= 1;
            }
        }
    }
}

/// Keeps the pool's thread count right if a helper unwinds.
struct Leaving<'a>(&'a Pool);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.threads = state.threads.saturating_sub(1);
    }
}

/// The calling thread's side of one encryption or decryption: it queues
/// chunks for the pool's helpers, and takes queued chunks back to process
/// itself rather than wait (so no thread idles at the end of the input, or
/// while a helper is descheduled or busy with another call).
struct Crew {
    call: Arc<Call>,
    /// Chunks queued or being processed by helpers.
    away: usize,
}

impl std::fmt::Debug for Crew {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crew")
            .field("away", &self.away)
            .finish_non_exhaustive()
    }
}

impl Drop for Crew {
    fn drop(&mut self) {
        // After an error nothing queued is wanted any more; helpers see the
        // empty queue and leave.
        self.call.board().queue.clear();
    }
}

impl Crew {
    fn new(cipher: ChaCha20Poly1305) -> Self {
        Crew {
            call: Arc::new(Call {
                cipher,
                board: Mutex::new(Board::default()),
                done: Condvar::new(),
            }),
            away: 0,
        }
    }

    /// Appends `chunk` to the window, queueing it for the helpers if their
    /// queue has room (and asking the pool for a helper if this call has
    /// none, or a backlog and room for another), or else processing it on
    /// this thread. The first [`SOLO_CHUNKS`] chunks are always processed
    /// here, so a one-chunk input never involves another thread.
    fn dispatch(&mut self, mut chunk: Chunk, window: &mut Window) {
        let max = if chunk.counter >= SOLO_CHUNKS {
            helper_count()
        } else {
            0
        };
        if max > 0 {
            let mut board = self.call.board();
            if board.queue.len() < QUEUE_PER_HELPER * max {
                board.queue.push_back(chunk);
                let ask = board.helpers < max && (board.helpers == 0 || board.queue.len() > 1);
                if ask {
                    board.helpers += 1;
                }
                drop(board);
                if ask {
                    pool().post(Arc::clone(&self.call));
                }
                self.away += 1;
                window.slots.push_back(Slot::Away);
                return;
            }
        }
        chunk.process(&self.call.cipher);
        window.slots.push_back(Slot::Back(chunk));
    }

    /// Moves every chunk the helpers have finished back into the window,
    /// without waiting.
    fn gather(&mut self, window: &mut Window) {
        if self.away == 0 {
            return;
        }
        let mut board = self.call.board();
        for chunk in board.finished.drain(..) {
            self.away -= 1;
            window.put_back(chunk);
        }
    }

    /// Makes the first chunk of the window come back: processes queued
    /// chunks on this thread (oldest first) while any are left, and waits
    /// for the helpers only for chunks they already started.
    fn wait_for_front(&mut self, window: &mut Window) -> Result<(), AgeError> {
        let mut board = self.call.board();
        while matches!(window.slots.front(), Some(Slot::Away)) {
            for chunk in board.finished.drain(..) {
                self.away -= 1;
                window.put_back(chunk);
            }
            if !matches!(window.slots.front(), Some(Slot::Away)) {
                break;
            }
            if let Some(mut chunk) = board.queue.pop_front() {
                drop(board);
                chunk.process(&self.call.cipher);
                self.away -= 1;
                window.put_back(chunk);
                board = self.call.board();
            } else if board.lost {
                return Err(helper_lost());
            } else {
                board = self
                    .call
                    .done
                    .wait(board)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        }
        Ok(())
    }
}

/// A helper thread stopped before handing a chunk back (only if it
/// panicked: the caller gets this error instead of waiting forever).
fn helper_lost() -> AgeError {
    AgeError::Io(io::Error::other("a STREAM helper thread stopped"))
}
