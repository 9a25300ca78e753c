//! The ledger agent: the wallet's only network work, done outside the wallet.
//!
//! A change to the wallet (a share, a revocation, an erasure) is committed locally, with every
//! ledger write it implies queued in the outbox, under whatever lock the shell holds. The agent
//! then takes a snapshot of what to send or verify ([`FlushWork`], [`SyncWork`]), talks to the
//! nodes with no wallet borrowed, and the results are applied back in a short second step. A
//! slow or dead node therefore never blocks the app's other commands: the wallet lock is held
//! for the snapshot and the apply, never for a request.
//!
//! Runs are serialised within the process (one agent at a time), so a write and the write that
//! supersedes it (a bundle upload and its deletion) reach a node in the order they were queued.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroizing;

use carekey_sync::{
    Flushed, HttpSource, LogState, NodeClient, Outbox, OutboxItem, PinnedLog, SyncError,
    SyncOutcome, Watch,
};

use crate::{PatientWallet, SyncReport, WalletError};

/// One agent run at a time in this process.
static RUNS: Mutex<()> = Mutex::new(());

fn one_run_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    // The guarded value is `()`: a panic in another run leaves nothing inconsistent.
    RUNS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where the agent finds the wallet between its network steps: a wallet the caller owns (the
/// CLI), or one behind the app's lock. `None` when it is gone (locked meanwhile).
pub trait WalletCell {
    /// Runs `f` on the wallet, if it is still there.
    fn with<R>(&mut self, f: impl FnOnce(&mut PatientWallet) -> R) -> Option<R>;
}

impl WalletCell for &mut PatientWallet {
    fn with<R>(&mut self, f: impl FnOnce(&mut PatientWallet) -> R) -> Option<R> {
        Some(f(self))
    }
}

impl WalletCell for &Mutex<Option<PatientWallet>> {
    fn with<R>(&mut self, f: impl FnOnce(&mut PatientWallet) -> R) -> Option<R> {
        let mut slot = self.lock().ok()?;
        slot.as_mut().map(f)
    }
}

/// Sends the outbox's due writes and applies the results. Returns how many writes still wait
/// (`None`: the wallet was locked meanwhile; what was sent is sent, and the writes stay queued
/// in the vault for the next run, which the nodes answer idempotently).
pub fn publish(mut cell: impl WalletCell, now: u64) -> Option<usize> {
    let _run = one_run_at_a_time();
    let work = cell.with(|w| w.ledger().flush_work(now, false))?;
    let done = work.run();
    cell.with(|w| w.ledger().apply_flush(done))
}

/// A full sync: sends every queued write (whatever its backoff: a sync is a request to try
/// now), then verifies every pinned log and applies what it found.
pub fn sync(mut cell: impl WalletCell, now: u64) -> Result<SyncReport, WalletError> {
    let _run = one_run_at_a_time();
    let work = cell
        .with(|w| w.ledger().flush_work(now, true))
        .ok_or(WalletError::Locked)?;
    let done = work.run();
    cell.with(|w| w.ledger().apply_flush(done))
        .ok_or(WalletError::Locked)?;
    let work = cell
        .with(|w| w.ledger().sync_work(now))
        .ok_or(WalletError::Locked)?;
    let done = work.run();
    cell.with(|w| w.ledger().apply_sync(done, now))
        .ok_or(WalletError::Locked)?
}

/// Writes to send: a copy of the outbox, with the backup key share its share uploads need.
pub struct FlushWork {
    items: Vec<OutboxItem>,
    shares: HashMap<[u8; 16], Zeroizing<[u8; 32]>>,
    now: u64,
}

impl std::fmt::Debug for FlushWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushWork")
            .field("items", &self.items.len())
            .field("shares", &"[redacted]")
            .field("now", &self.now)
            .finish()
    }
}

impl FlushWork {
    pub(crate) fn new(
        items: Vec<OutboxItem>,
        shares: Vec<([u8; 16], Zeroizing<[u8; 32]>)>,
        now: u64,
    ) -> Self {
        FlushWork {
            items,
            shares: shares.into_iter().collect(),
            now,
        }
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sends what is due (ledger writes before uploads, per node in order; a node that fails
    /// is not tried again in this run). Blocking network work: never call it holding a lock.
    pub fn run(self) -> FlushDone {
        if self.items.is_empty() {
            return FlushDone::default();
        }
        let mut outbox = Outbox { items: self.items };
        let shares = &self.shares;
        let finished =
            outbox.flush_with_shares(self.now, &|url: &str| NodeClient::new(url), &|id| {
                shares.get(id).map(|s| **s)
            });
        FlushDone {
            finished,
            remaining: outbox.items,
        }
    }
}

/// What a flush did: the writes that are done (acknowledged, or refused for good), and the
/// others with their attempts and last error.
#[derive(Debug, Default)]
pub struct FlushDone {
    finished: Vec<Flushed>,
    remaining: Vec<OutboxItem>,
}

impl FlushDone {
    pub(crate) fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.remaining.is_empty()
    }

    pub(crate) fn into_parts(self) -> (Vec<Flushed>, Vec<OutboxItem>) {
        (self.finished, self.remaining)
    }
}

/// One pinned log to verify.
#[derive(Debug)]
pub(crate) struct LogJob {
    pub(crate) pinned: PinnedLog,
    pub(crate) state: LogState,
    pub(crate) watch: Watch,
}

/// Logs to verify, from the state the wallet trusted when the snapshot was taken.
#[derive(Debug)]
pub struct SyncWork {
    logs: Vec<LogJob>,
    now: u64,
}

impl SyncWork {
    pub(crate) fn new(logs: Vec<LogJob>, now: u64) -> Self {
        SyncWork { logs, now }
    }

    /// Verifies every log (LEDGER-CHECKS), then compares the views of addresses that serve
    /// the same log. Blocking network work: never call it holding a lock.
    pub fn run(self) -> SyncDone {
        let mut results = Vec::with_capacity(self.logs.len());
        let mut views: Vec<(PinnedLog, LogState)> = Vec::with_capacity(self.logs.len());
        for job in self.logs {
            let result = HttpSource::new(&job.pinned.url).and_then(|source| {
                carekey_sync::sync(&source, &job.pinned, &job.state, &job.watch, self.now)
            });
            let view = match &result {
                Ok(outcome) => outcome.state.clone(),
                Err(_) => job.state,
            };
            views.push((job.pinned.clone(), view));
            results.push((job.pinned, result));
        }
        let forks = split_views(&views, self.now);
        SyncDone { results, forks }
    }
}

/// LEDGER-CHECKS 11: for every pair of pinned addresses that serve the same log (same log
/// key), proves the smaller view is a prefix of the larger one using the larger node's tiles
/// (verified against its signed root); same size: compares roots. Any disagreement is
/// evidence of a split view.
fn split_views(
    views: &[(PinnedLog, LogState)],
    now: u64,
) -> Vec<(PinnedLog, PinnedLog, carekey_sync::Evidence)> {
    let mut forks = Vec::new();
    for i in 0..views.len() {
        for j in (i + 1)..views.len() {
            let ((pa, a), (pb, b)) = (&views[i], &views[j]);
            if pa.log_key != pb.log_key {
                continue;
            }
            let (small, (large_pin, large)) = if a.size <= b.size {
                (a, (pb, b))
            } else {
                (b, (pa, a))
            };
            let evidence = match HttpSource::new(&large_pin.url) {
                Ok(source) => carekey_sync::gossip_via(&source, large_pin, small, large, now)
                    .unwrap_or_else(|_| carekey_sync::gossip(a, b)),
                Err(_) => carekey_sync::gossip(a, b),
            };
            if let Some(evidence) = evidence {
                forks.push((pa.clone(), pb.clone(), evidence));
            }
        }
    }
    forks
}

/// What a sync found: per log, the verified outcome or why not; and split views between
/// addresses of the same log.
#[derive(Debug)]
pub struct SyncDone {
    results: Vec<(PinnedLog, Result<SyncOutcome, SyncError>)>,
    forks: Vec<(PinnedLog, PinnedLog, carekey_sync::Evidence)>,
}

/// One log's result, as the wallet applies it.
pub(crate) type LogResult = (PinnedLog, Result<SyncOutcome, SyncError>);

/// A split view between two addresses of one log.
pub(crate) type Fork = (PinnedLog, PinnedLog, carekey_sync::Evidence);

impl SyncDone {
    pub(crate) fn into_parts(self) -> (Vec<LogResult>, Vec<Fork>) {
        (self.results, self.forks)
    }
}
