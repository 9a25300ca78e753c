//! The writer's state, shared between the writer thread and the handlers (`GET /v1/health`).

use std::sync::atomic::AtomicU64;

/// The writer's state as the node reports it (`GET /v1/health`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriterStatus {
    /// Appending.
    Running,
    /// Failed; being reopened from disk. Submissions wait (they are not refused).
    Restarting,
    /// Failed and could not be reopened: every write is refused with `503 writer_failed`, and
    /// `carekey-node serve` exits non-zero so that its supervisor restarts it.
    Failed,
}

/// A snapshot of the node's health (`GET /v1/health`).
#[derive(Debug, Clone, Copy)]
pub struct NodeHealth {
    /// The writer's state.
    pub writer: WriterStatus,
    /// How often the writer failed and was reopened since the node started.
    pub writer_restarts: u64,
    /// Bytes the off-log bundle store holds (each file counted at least 4 KiB), and its bound.
    pub bundle_bytes: u64,
    /// The bound of [`NodeHealth::bundle_bytes`].
    pub max_bundle_bytes: u64,
}

/// Shared between the writer and the handlers.
#[derive(Debug)]
pub(super) struct Health {
    pub(super) restarts: AtomicU64,
    pub(super) status: tokio::sync::watch::Sender<WriterStatus>,
}

impl Health {
    pub(super) fn new() -> Self {
        Self {
            restarts: AtomicU64::new(0),
            status: tokio::sync::watch::Sender::new(WriterStatus::Running),
        }
    }

    pub(super) fn set(&self, status: WriterStatus) {
        self.status.send_replace(status);
    }

    pub(super) fn status(&self) -> WriterStatus {
        *self.status.borrow()
    }
}
