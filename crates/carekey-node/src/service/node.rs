//! The node's handle: [`Node`] owns the read connection, the published checkpoint, the
//! sequencer in front of the writer thread, the off-log stores' counters and the fetch cache.
//! What handlers ask of it lives in sibling modules as `impl Node` blocks, one per job:
//! [`entries`](super::entries), [`bundles`](super::bundles), [`fetch`](super::fetch),
//! [`shares`](super::shares), [`links`](super::links) and [`link_open`](super::link_open),
//! [`reads`](super::reads).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rusqlite::Connection;

use crate::error::{ApiError, NodeError, StoreError};
use crate::keys::LogKey;
use crate::service::cache::FetchCache;
use crate::service::health::{Health, NodeHealth, WriterStatus};
use crate::service::links::LinkLocks;
use crate::service::sequencer::{OffLogWrite, Sequencer};
use crate::service::submission::{Appended, Submission};
use crate::service::writer::{self, Published, WitnessTarget, WriterOptions};
use crate::storage::{db, files, Durability};

/// Everything a node needs to start.
#[derive(Debug)]
pub struct NodeOptions {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The URL fetch requests must name.
    pub public_url: String,
    /// The log key; its name is the origin.
    pub key: LogKey,
    /// Witnesses to push to.
    pub witnesses: Vec<WitnessTarget>,
    /// Most entries per batch.
    pub batch_size: usize,
    /// How long to wait for a batch to fill.
    pub batch_delay: Duration,
    /// How long a witness may take.
    pub witness_timeout: Duration,
    /// fsync policy.
    pub durability: Durability,
    /// Most backup key shares the node keeps (anyone may store one, so the store needs a
    /// bound besides the per-IP rate limit); a store beyond it is refused with `507`.
    pub max_backup_shares: u64,
    /// Most bytes the off-log bundle store holds (each bundle counted at least 4 KiB); an
    /// upload beyond it is refused with `507 bundle_store_full`.
    pub max_bundle_bytes: u64,
}

/// Default for [`NodeOptions::max_bundle_bytes`]: 10 GiB.
pub const DEFAULT_MAX_BUNDLE_BYTES: u64 = 10 << 30;

/// Default for [`NodeOptions::max_backup_shares`]: a million shares are ~64 MB of records (and
/// as many small files).
pub const DEFAULT_MAX_BACKUP_SHARES: u64 = 1_000_000;

impl NodeOptions {
    /// Options with the defaults for everything but the essentials.
    pub fn new(data_dir: PathBuf, public_url: String, key: LogKey) -> Self {
        Self {
            data_dir,
            public_url,
            key,
            witnesses: Vec::new(),
            batch_size: 4096,
            batch_delay: Duration::ZERO,
            witness_timeout: Duration::from_secs(3),
            durability: Durability::Full,
            max_backup_shares: DEFAULT_MAX_BACKUP_SHARES,
            max_bundle_bytes: DEFAULT_MAX_BUNDLE_BYTES,
        }
    }
}

/// A running ledger node: its storage, its writer thread and what handlers share.
#[derive(Debug, Clone)]
pub struct Node {
    inner: Arc<NodeInner>,
}

#[derive(Debug)]
struct NodeInner {
    data: PathBuf,
    public_url: String,
    key: Arc<LogKey>,
    read: Mutex<Connection>,
    published: Arc<RwLock<Arc<Published>>>,
    sequencer: Box<dyn Sequencer>,
    durability: Durability,
    /// Serialises bundle uploads and deletions of the off-log store (and filling the bundle
    /// cache from disk).
    bundles: tokio::sync::Mutex<()>,
    /// Verified grants and bundle bytes for the fetch path.
    cache: FetchCache,
    /// Backup key shares stored now (changed under `bundles`), and the most allowed.
    shares: AtomicU64,
    max_shares: u64,
    /// Bytes of the bundle store (see `files::bundle_footprint`; changed under `bundles`, reserved
    /// before an upload's body is read), and the most allowed.
    bundle_bytes: AtomicU64,
    max_bundle_bytes: u64,
    /// The writer's state.
    health: Arc<Health>,
    /// One turn at a time per hosted link.
    link_locks: LinkLocks,
    /// Passcode checks (Argon2id, 19 MiB each) running at once.
    passcode_checks: tokio::sync::Semaphore,
}

/// Most passcode checks running at once (each holds 19 MiB while it runs).
const MAX_PASSCODE_CHECKS: usize = 4;

impl Node {
    /// Opens (or creates) the node's data directory, recovers after any crash, signs a
    /// checkpoint for everything stored, and starts the writer thread.
    pub fn start(opts: NodeOptions) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&opts.data_dir).map_err(StoreError::from)?;
        let read = db::open_db(&opts.data_dir, opts.durability)?;
        let started = writer::start(WriterOptions {
            data_dir: opts.data_dir.clone(),
            key: opts.key,
            witnesses: opts.witnesses,
            batch_size: opts.batch_size,
            batch_delay: opts.batch_delay,
            witness_timeout: opts.witness_timeout,
            durability: opts.durability,
        })?;
        let shares = files::share_count(&opts.data_dir)?;
        let bundle_bytes = files::bundle_store_bytes(&opts.data_dir)?;
        Ok(Self {
            inner: Arc::new(NodeInner {
                data: opts.data_dir,
                public_url: opts.public_url,
                key: started.key,
                read: Mutex::new(read),
                published: started.published,
                sequencer: Box::new(started.sequencer),
                durability: opts.durability,
                bundles: tokio::sync::Mutex::new(()),
                cache: FetchCache::default(),
                shares: AtomicU64::new(shares),
                max_shares: opts.max_backup_shares,
                bundle_bytes: AtomicU64::new(bundle_bytes),
                max_bundle_bytes: opts.max_bundle_bytes,
                health: started.health,
                link_locks: LinkLocks::default(),
                passcode_checks: tokio::sync::Semaphore::new(MAX_PASSCODE_CHECKS),
            }),
        })
    }

    /// The log's origin (its key's name).
    pub fn origin(&self) -> &str {
        self.inner.key.note.name()
    }

    /// The note verifier key clients pin.
    pub fn vkey(&self) -> String {
        self.inner.key.vkey()
    }

    /// The URL fetch requests must name.
    pub fn public_url(&self) -> &str {
        &self.inner.public_url
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.data
    }

    /// The latest published checkpoint note.
    pub fn checkpoint(&self) -> String {
        self.published().note.clone()
    }

    pub(super) fn published(&self) -> Arc<Published> {
        match self.inner.published.read() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub(super) fn key(&self) -> &LogKey {
        &self.inner.key
    }

    pub(super) fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The count of stored backup key shares and its bound.
    pub(super) fn share_count(&self) -> (&AtomicU64, u64) {
        (&self.inner.shares, self.inner.max_shares)
    }

    pub(super) fn bundle_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.bundles
    }

    pub(super) fn link_locks(&self) -> &LinkLocks {
        &self.inner.link_locks
    }

    pub(super) fn passcode_checks(&self) -> &tokio::sync::Semaphore {
        &self.inner.passcode_checks
    }

    pub(super) fn cache(&self) -> &FetchCache {
        &self.inner.cache
    }

    /// Runs `f` on the handlers' database connection.
    pub(super) fn db<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self
            .inner
            .read
            .lock()
            .map_err(|_| StoreError::Corrupt("database lock poisoned"))?;
        f(&conn)
    }

    /// Appends through the sequencer and waits for the acknowledgement.
    pub(super) async fn append(&self, submission: Submission) -> Result<Appended, ApiError> {
        self.writer_alive()?;
        let rx = self.inner.sequencer.submit(submission);
        rx.await.unwrap_or_else(|_| Err(self.gone()))
    }

    /// Applies an off-log write through the sequencer (the only writer of the database).
    pub(super) async fn write(&self, write: OffLogWrite) -> Result<(), ApiError> {
        self.writer_alive()?;
        let rx = self.inner.sequencer.write(write);
        rx.await.unwrap_or_else(|_| Err(self.gone()))
    }

    fn writer_alive(&self) -> Result<(), ApiError> {
        match self.inner.health.status() {
            WriterStatus::Failed => Err(ApiError::writer_failed()),
            _ => Ok(()),
        }
    }

    fn gone(&self) -> ApiError {
        match self.inner.health.status() {
            WriterStatus::Failed => ApiError::writer_failed(),
            _ => ApiError::unavailable(),
        }
    }

    /// The writer's state and the stores' fill.
    pub fn health(&self) -> NodeHealth {
        NodeHealth {
            writer: self.inner.health.status(),
            writer_restarts: self.inner.health.restarts.load(Ordering::Relaxed),
            bundle_bytes: self.inner.bundle_bytes.load(Ordering::Relaxed),
            max_bundle_bytes: self.inner.max_bundle_bytes,
        }
    }

    /// Resolves once the writer has failed for good (it could not be reopened); `serve`
    /// then exits non-zero rather than run an HTTP server over a dead writer.
    pub async fn writer_failed(&self) {
        let mut rx = self.inner.health.status.subscribe();
        let _ = rx.wait_for(|s| *s == WriterStatus::Failed).await;
    }

    /// The bundle store's byte count and its bound.
    pub(super) fn bundle_bytes(&self) -> (&AtomicU64, u64) {
        (&self.inner.bundle_bytes, self.inner.max_bundle_bytes)
    }
}
