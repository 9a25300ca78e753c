//! The [`Sequencer`] seam, and the local sequencer: a channel to the writer thread.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::service::submission::{Appended, Submission};
use crate::storage::links::{LinkFile, LinkRow};

/// Most submissions waiting for the writer before new ones get `503`.
const MAX_QUEUED: usize = 1 << 16;

/// What orders appends. Today one writer thread on one machine ([`crate::Node`]); a replicated
/// deployment puts leadership and the checkpoint compare-and-swap on etcd behind the same
/// seam (ADR 0007).
pub trait Sequencer: Send + Sync + std::fmt::Debug {
    /// Appends `submission` (or finds it already in the log) and answers once a checkpoint
    /// covering it is signed and durable.
    fn submit(&self, submission: Submission) -> oneshot::Receiver<Result<Appended, ApiError>>;

    /// Applies an off-log state change (no entry) and answers once it is committed. Every
    /// write to the node's database goes through the sequencer: a second writing connection
    /// could make the writer's transaction fail (issue 8).
    fn write(&self, write: OffLogWrite) -> oneshot::Receiver<Result<(), ApiError>>;
}

/// A change to the node's off-log state, made by the writer (see [`Sequencer::write`]).
#[derive(Debug, Clone)]
pub struct OffLogWrite(pub(super) OffLog);

#[derive(Debug, Clone)]
pub(super) enum OffLog {
    /// `DELETE /v1/grants/<id>`: later fetches are refused as erased.
    DeleteBundle { grant_id: [u8; 16] },
    /// `PUT /v1/links/<id>`: registers the link, or replaces it if `row` has the same link
    /// key and a higher version (keeping the attempts left); refused for an ended id.
    PutLink {
        link_id: [u8; 32],
        row: LinkRow,
        files: Vec<LinkFile>,
    },
    /// `DELETE /v1/links/<id>`: deletes the files and tokens, leaves a tombstone.
    EndLink { link_id: [u8; 32] },
    /// Deletes expired file tokens and the files of links expired at `now`.
    SweepLinks { now: u64 },
}

impl OffLogWrite {
    /// Marks grant `grant_id`'s bundle deleted.
    pub(crate) fn delete_bundle(grant_id: [u8; 16]) -> Self {
        Self(OffLog::DeleteBundle { grant_id })
    }

    /// Registers or updates link `link_id`.
    pub(crate) fn put_link(link_id: [u8; 32], row: LinkRow, files: Vec<LinkFile>) -> Self {
        Self(OffLog::PutLink {
            link_id,
            row,
            files,
        })
    }

    /// Ends link `link_id`.
    pub(crate) fn end_link(link_id: [u8; 32]) -> Self {
        Self(OffLog::EndLink { link_id })
    }

    /// Sweeps the link store at `now`.
    pub(crate) fn sweep_links(now: u64) -> Self {
        Self(OffLog::SweepLinks { now })
    }
}

/// A submission or an off-log write on its way to the writer, with where to answer.
pub(super) enum Job {
    Append {
        submission: Submission,
        reply: oneshot::Sender<Result<Appended, ApiError>>,
    },
    OffLog {
        write: OffLog,
        reply: oneshot::Sender<Result<(), ApiError>>,
    },
}

impl Job {
    /// Answers the job with `e` (the writer will not run it).
    pub(super) fn refuse(self, e: ApiError) {
        match self {
            Job::Append { reply, .. } => {
                let _ = reply.send(Err(e));
            }
            Job::OffLog { reply, .. } => {
                let _ = reply.send(Err(e));
            }
        }
    }
}

/// The sequencer of one writer thread on one machine.
#[derive(Debug)]
pub(super) struct LocalSequencer {
    pub(super) tx: Mutex<mpsc::Sender<Job>>,
    /// Submissions sent but not yet taken by the writer (for back-pressure).
    pub(super) queued: Arc<AtomicUsize>,
}

impl LocalSequencer {
    fn send(&self, job: Job) {
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED {
            job.refuse(ApiError::unavailable());
            return;
        }
        // Counted before sending: the writer may take (and uncount) the job at once.
        self.queued.fetch_add(1, Ordering::Relaxed);
        let sent = match self.tx.lock() {
            Ok(tx) => tx.send(job),
            Err(p) => p.into_inner().send(job),
        };
        if let Err(mpsc::SendError(job)) = sent {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            job.refuse(ApiError::unavailable());
        }
    }
}

impl Sequencer for LocalSequencer {
    fn submit(&self, submission: Submission) -> oneshot::Receiver<Result<Appended, ApiError>> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::Append { submission, reply });
        rx
    }

    fn write(&self, write: OffLogWrite) -> oneshot::Receiver<Result<(), ApiError>> {
        let (reply, rx) = oneshot::channel();
        self.send(Job::OffLog {
            write: write.0,
            reply,
        });
        rx
    }
}
