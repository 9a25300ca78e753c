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

use std::sync::Mutex;

use crate::{PatientWallet, SyncReport, WalletError};

pub(crate) mod work;

pub use work::{publish_link, FlushDone, FlushWork, LockedNews, LockedWatch, SyncDone, SyncWork};

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
