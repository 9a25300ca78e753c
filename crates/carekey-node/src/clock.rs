//! The node's clock, injectable so tests move time without sleeping.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now. The node reads time only through this.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in unix seconds.
    fn now(&self) -> u64;
}

/// The operating system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// The operating system's clock shifted by a fixed number of seconds: a real process that
/// lives at another time (end-to-end tests of validity windows; `CAREKEY_NOW` for `serve`).
#[derive(Debug, Clone, Copy)]
pub struct ShiftedClock {
    offset: i64,
}

impl ShiftedClock {
    /// A clock that reads `now` at this moment and runs on from there.
    pub fn starting_at(now: u64) -> Self {
        let system = i64::try_from(SystemClock.now()).unwrap_or(i64::MAX);
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        Self {
            offset: now.saturating_sub(system),
        }
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> u64 {
        let system = i64::try_from(SystemClock.now()).unwrap_or(i64::MAX);
        u64::try_from(system.saturating_add(self.offset)).unwrap_or(0)
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: u64) -> Self {
        Self(Arc::new(AtomicU64::new(now)))
    }

    /// Sets the time.
    pub fn set(&self, now: u64) {
        self.0.store(now, Ordering::SeqCst);
    }

    /// Moves the time forward by `secs`.
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
