//! The threads that seal and open runs: the window of runs in flight, the
//! process-wide pool of helper threads, and the calling thread's side of it.
//!
//! The calling thread queues runs for the helpers (a short queue) and, rather
//! than wait for a helper, takes queued runs back and processes them itself,
//! so neither core idles while work is queued. Helpers are a small
//! process-wide pool (at most [`MAX_THREADS`] − 1 threads, started on first
//! need, asleep when idle), so no call pays for starting a thread after the
//! first. Each call has its own queue and its own copy of the cipher; a
//! helper holds it only while it works on that call's runs. Condition
//! variables are signalled only when someone sleeps on them (every signal is
//! a system call).

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::thread;

use chacha20poly1305::ChaCha20Poly1305;

use super::runs::{Baton, Run};
use super::AgeError;
use crate::Sha256;

/// Upper bound on threads per call, the calling thread included (the
/// machines we target have 2–8 cores).
const MAX_THREADS: usize = 4;
/// Runs always processed on the calling thread, before any is queued for a
/// helper (a one-chunk input never involves another thread).
const SOLO_RUNS: u64 = 1;
/// Runs queued per helper at most: enough that a helper never waits for the
/// calling thread, few enough that the calling thread does its share.
const QUEUE_PER_HELPER: usize = 2;

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

/// Where a run of the window is.
enum Slot {
    /// Processed and back, waiting for its turn to be written.
    Back(Run),
    /// Queued for, or being processed by, a helper.
    Away,
}

/// The runs read and not yet written, in stream order.
#[derive(Default)]
pub(super) struct Window {
    /// Sequence number of the first slot.
    front: u64,
    slots: VecDeque<Slot>,
}

impl Window {
    pub(super) fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The first run, if it is processed and back.
    pub(super) fn pop_ready(&mut self) -> Option<Run> {
        if !matches!(self.slots.front(), Some(Slot::Back(_))) {
            return None;
        }
        self.front += 1;
        match self.slots.pop_front() {
            Some(Slot::Back(run)) => Some(run),
            _ => None,
        }
    }

    /// Puts a run that came back from a helper into its slot.
    fn put_back(&mut self, run: Run) {
        let at = run
            .seq
            .checked_sub(self.front)
            .and_then(|at| usize::try_from(at).ok())
            .unwrap_or(usize::MAX);
        if let Some(slot) = self.slots.get_mut(at) {
            *slot = Slot::Back(run);
        }
    }

    fn front_away(&self) -> bool {
        matches!(self.slots.front(), Some(Slot::Away))
    }
}

/// One encryption or decryption as the helpers see it: its cipher, the runs
/// queued for help (oldest first) and the runs a helper finished.
struct Call {
    cipher: ChaCha20Poly1305,
    /// The hash of the ciphertext, if the call wants it.
    baton: Option<Baton>,
    board: Mutex<Board>,
    /// Signalled when a helper finished a run (or was lost) while the
    /// calling thread waits.
    done: Condvar,
}

#[derive(Default)]
struct Board {
    queue: VecDeque<Run>,
    finished: Vec<Run>,
    /// Helpers working on this call, or asked to.
    helpers: usize,
    /// The calling thread sleeps on `done`.
    waiting: bool,
    /// A helper panicked (its run will never come back).
    lost: bool,
}

impl Call {
    fn board(&self) -> MutexGuard<'_, Board> {
        // The lock is held only to move runs, which cannot panic; the board
        // stays consistent either way.
        self.board.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A helper's turn on this call: process the oldest queued run and hand
    /// it back, until the queue is empty.
    fn help(&self) {
        let _flag = LostOnPanic(self);
        let mut board = self.board();
        while let Some(mut run) = board.queue.pop_front() {
            drop(board);
            run.process(&self.cipher, self.baton.as_ref());
            board = self.board();
            board.finished.push(run);
            if board.waiting {
                self.done.notify_one();
            }
        }
        board.helpers -= 1;
    }
}

/// Tells the calling thread when a helper unwinds, so it never waits for a
/// run that will not come back.
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
        if let Some(baton) = &self.0.baton {
            baton.break_chain();
        }
    }
}

/// The process's helper threads (at most [`MAX_THREADS`] − 1), started on
/// first need and then kept, asleep while no call needs them: starting a
/// thread costs about a chunk's work, so no call pays for it after the first.
struct Pool {
    state: Mutex<PoolState>,
    /// Signalled when a call asks for help and a helper sleeps.
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
    /// thread processes its queued runs itself.
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
        // A busy helper looks at the calls before it sleeps again.
        let wake = state.idle > 0;
        drop(state);
        if wake {
            self.wake.notify_one();
        }
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

/// The calling thread's side of one encryption or decryption: it queues runs
/// for the pool's helpers, and takes queued runs back to process itself
/// rather than wait (so no thread idles at the end of the input, or while a
/// helper is descheduled or busy with another call).
pub(super) struct Crew {
    call: Arc<Call>,
    /// Runs queued or being processed by helpers.
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
    /// A crew for one call; with `hasher` (holding what precedes the
    /// payload's runs), it also hashes the runs' ciphertext.
    pub(super) fn new(cipher: ChaCha20Poly1305, hasher: Option<Sha256>) -> Self {
        Crew {
            call: Arc::new(Call {
                cipher,
                baton: hasher.map(Baton::new),
                board: Mutex::new(Board::default()),
                done: Condvar::new(),
            }),
            away: 0,
        }
    }

    /// Appends `run` to the window and queues it for the helpers (asking
    /// the pool for a helper if this call has none, or a backlog and room
    /// for another). If the queue is then longer than its limit, this thread
    /// takes the *oldest* queued run back and processes it: runs are always
    /// taken oldest first, so the run whose turn to be hashed comes next is
    /// never left waiting behind a newer one (and no thread waits for a turn
    /// that nobody holds). The first [`SOLO_RUNS`] runs are processed here,
    /// so a one-chunk input never involves another thread.
    pub(super) fn dispatch(&mut self, mut run: Run, window: &mut Window) {
        let max = if run.seq >= SOLO_RUNS {
            helper_count()
        } else {
            0
        };
        if max == 0 {
            run.process(&self.call.cipher, self.call.baton.as_ref());
            window.slots.push_back(Slot::Back(run));
            return;
        }
        let mut board = self.call.board();
        board.queue.push_back(run);
        self.away += 1;
        window.slots.push_back(Slot::Away);
        let ask = board.helpers < max && (board.helpers == 0 || board.queue.len() > 1);
        if ask {
            board.helpers += 1;
        }
        let oldest = if board.queue.len() > QUEUE_PER_HELPER * max {
            board.queue.pop_front()
        } else {
            None
        };
        drop(board);
        if ask {
            pool().post(Arc::clone(&self.call));
        }
        if let Some(mut oldest) = oldest {
            oldest.process(&self.call.cipher, self.call.baton.as_ref());
            self.away -= 1;
            window.put_back(oldest);
        }
    }

    /// Moves every run the helpers have finished back into the window,
    /// without waiting.
    pub(super) fn gather(&mut self, window: &mut Window) {
        if self.away == 0 {
            return;
        }
        let mut board = self.call.board();
        for run in board.finished.drain(..) {
            self.away -= 1;
            window.put_back(run);
        }
    }

    /// Makes the first run of the window come back: processes queued runs
    /// on this thread (oldest first) while any are left, and waits for the
    /// helpers only for runs they already started.
    pub(super) fn wait_for_front(&mut self, window: &mut Window) -> Result<(), AgeError> {
        let mut board = self.call.board();
        while window.front_away() {
            for run in board.finished.drain(..) {
                self.away -= 1;
                window.put_back(run);
            }
            if !window.front_away() {
                break;
            }
            if let Some(mut run) = board.queue.pop_front() {
                drop(board);
                run.process(&self.call.cipher, self.call.baton.as_ref());
                self.away -= 1;
                window.put_back(run);
                board = self.call.board();
            } else if board.lost {
                return Err(helper_lost());
            } else {
                board.waiting = true;
                board = self
                    .call
                    .done
                    .wait(board)
                    .unwrap_or_else(PoisonError::into_inner);
                board.waiting = false;
            }
        }
        Ok(())
    }

    /// The hash of the ciphertext, once every run is processed (`None` if
    /// the call does not hash).
    pub(super) fn hash(&self) -> Option<[u8; 32]> {
        self.call.baton.as_ref().and_then(Baton::finish)
    }
}

/// A helper thread stopped before handing a run back (only if it panicked:
/// the caller gets this error instead of waiting forever).
fn helper_lost() -> AgeError {
    AgeError::Io(io::Error::other("a STREAM helper thread stopped"))
}
