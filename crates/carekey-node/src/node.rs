//! The node: durable state, the batching writer loop, and the [`Sequencer`] seam.
//!
//! Every append goes through one writer thread, in batches:
//!
//! 1. take up to `batch_size` submissions (waiting at most `batch_delay` for more; the default
//!    is 0: whatever queued while the previous batch was being written);
//! 2. in one SQLite transaction, re-check each submission's stateful policy (grant key unused,
//!    grant committed, not revoked, nonce unused, ...), skip duplicates (same leaf hash: the
//!    submitter gets the existing index), insert the entries and their side effects (and the
//!    previous batch's signed checkpoint into the history table), and append the leaves to the
//!    in-memory tree; commit (`synchronous=FULL`: on disk when the commit returns — the batch's
//!    one fsync);
//! 3. write every hash tile and entry bundle that became full to `<data>/tile/...`, to a
//!    temporary name then renamed, **without fsync**;
//! 4. sign the checkpoint of the new size, push it to the witnesses (concurrently, with a time
//!    limit; a witness that fails is noted and skipped for a while, never waited for), and
//!    publish it with the partial tiles of its size, which handlers serve from memory;
//! 5. when no submission is waiting (and at least every `MAX_MIRROR_LAG`), write those
//!    partial tiles and then the checkpoint to `<data>/checkpoint` (through
//!    [`CheckpointStore::compare_and_swap`]: never a second root for one size), again by
//!    rename without fsync;
//! 6. answer each submitter with its index and a `tlog-proof` receipt.
//!
//! **Why this is as safe as fsyncing every file** (ADR 0011). SQLite is the source of truth;
//! tiles, entry bundles and the checkpoint file are pure functions of committed entries.
//! - *Never sign over data not durably on disk:* a checkpoint of size `n` is signed only after
//!   the commit holding entries `0..n` returned with `synchronous=FULL`. Those entries never
//!   change or go away (indexes are contiguous; nothing deletes an entry), so the root of every
//!   size up to `n` is fixed forever, even across power loss.
//! - *Never two checkpoints of one size:* for the same reason a size can only ever be signed
//!   with one root (Ed25519 is deterministic, so re-signing it after a crash yields the same
//!   note); the history table and the compare-and-swap refuse a second root anyway.
//! - *`kill -9`:* a killed process loses nothing the kernel already accepted: every rename
//!   that returned is visible after the restart, and a half-written temporary file is never
//!   renamed. On restart the node rebuilds the tree from SQLite, rewrites the full tiles past
//!   the checkpoint file's size (a crash between the commit and step 5), signs the current size
//!   and writes its partial tiles and checkpoint.
//! - *Power loss or reboot:* unsynced files may be stale, empty or missing afterwards. The node
//!   records in SQLite the boot id (Linux `boot_id`) under which every tile file was last known
//!   durable; on a start under another boot (or where there is no boot id) it rewrites **every**
//!   tile, bundle and partial tile on disk from SQLite, fsynced with their directories, re-signs
//!   if the checkpoint file is gone or unreadable, and only then records the new boot id and
//!   serves. That start costs a read of the whole log; it happens only after a reboot.
//!
//! Nothing is acknowledged before step 4 (commit and signature), so an acknowledged entry is
//! committed, and a receipt's checkpoint only covers committed entries.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use carekey_ledger::note::{parse_signature_lines, write_note, Checkpoint, NoteVerifier};
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{
    hash_tile, tile_prefix, try_encode_bundle, TileId, TileKind, TILE_HEIGHT, TILE_WIDTH,
};
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::{leaf_hash, Hash, Tree};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::cache::FetchCache;
use crate::checkpoints::{CheckpointStore, FileCheckpointStore, StoredCheckpoint};
use crate::client;
use crate::error::{ApiError, NodeError, StoreError};
use crate::keys::LogKey;
use crate::store::{self, Durability, GrantRow};

/// How long a witness that failed is skipped before the node tries it again.
const WITNESS_BACKOFF: Duration = Duration::from_secs(5);
/// Most submissions waiting for the writer before new ones get `503`.
const MAX_QUEUED: usize = 1 << 16;

/// One entry to append, with the off-log state change the policy attached to it.
#[derive(Debug)]
pub struct Submission {
    entry: Vec<u8>,
    effect: Effect,
}

impl Submission {
    pub(crate) fn new(entry: Vec<u8>, effect: Effect) -> Self {
        Self { entry, effect }
    }

    /// Whether this is an ErasureEntry.
    pub(crate) fn is_erasure(&self) -> bool {
        matches!(self.effect, Effect::Erase { .. })
    }

    /// The entry's leaf hash (its identity in the log).
    pub(crate) fn leaf(&self) -> Hash {
        leaf_hash(&self.entry)
    }

    /// The grant key whose grant this entry ends (a revocation or an erasure), if any.
    pub(crate) fn ended_grant_key(&self) -> Option<[u8; 32]> {
        match &self.effect {
            Effect::Revoke { grant_key } => Some(*grant_key),
            Effect::Erase { erasure_key } => Some(*erasure_key),
            _ => None,
        }
    }
}

/// The stateful part of the policy, checked and applied by the writer atomically with the
/// append.
#[derive(Debug)]
pub(crate) enum Effect {
    /// A GrantCommitment: the grant key and grant id must be unused; stores the grant.
    Commit(GrantRow),
    /// A RevocationEntry: a commitment with this key must exist, not yet revoked.
    Revoke { grant_key: [u8; 32] },
    /// An ErasureEntry: always accepted.
    Erase { erasure_key: [u8; 32] },
    /// An AccessEvent for a fetch: the nonce must be unused, the grant not revoked or erased.
    Access { grant_id: [u8; 16], nonce: [u8; 16] },
}

/// An acknowledged append.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The entry's index in the log.
    pub index: u64,
    /// A C2SP `tlog-proof` receipt for it, against a signed checkpoint whose entries are all
    /// committed.
    pub receipt: String,
}

/// What orders appends. Today one writer thread on one machine ([`Node`]); a replicated
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
pub struct OffLogWrite(OffLog);

#[derive(Debug, Clone)]
enum OffLog {
    /// `DELETE /v1/grants/<id>`: later fetches are refused as erased.
    DeleteBundle { grant_id: [u8; 16] },
}

impl OffLogWrite {
    /// Marks grant `grant_id`'s bundle deleted.
    pub(crate) fn delete_bundle(grant_id: [u8; 16]) -> Self {
        Self(OffLog::DeleteBundle { grant_id })
    }
}

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
struct Health {
    restarts: std::sync::atomic::AtomicU64,
    status: tokio::sync::watch::Sender<WriterStatus>,
}

impl Health {
    fn new() -> Self {
        Self {
            restarts: std::sync::atomic::AtomicU64::new(0),
            status: tokio::sync::watch::Sender::new(WriterStatus::Running),
        }
    }

    fn set(&self, status: WriterStatus) {
        self.status.send_replace(status);
    }

    fn status(&self) -> WriterStatus {
        *self.status.borrow()
    }
}

/// How often a failed writer is reopened before the node gives up (with a doubling pause
/// from [`RESTART_PAUSE`] between attempts).
const RESTART_ATTEMPTS: u32 = 5;
const RESTART_PAUSE: Duration = Duration::from_millis(100);
/// How often a batch whose transaction failed with a transient SQLite error (busy, locked)
/// is tried again before the writer counts as failed.
const TRANSIENT_RETRIES: u32 = 5;

/// The latest published checkpoint, as handlers serve it, with the log's partial tiles at its
/// size (the files on disk may lag behind these by up to [`MAX_MIRROR_LAG`] under load).
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub(crate) size: u64,
    pub(crate) note: String,
    /// The partial hash tile of each level and the partial entry bundle at `size` (a tile
    /// index appears here only while its tile is not full).
    pub(crate) partials: Vec<(TileId, Bytes)>,
}

impl Published {
    /// The first `width` hashes or entries of tile `kind`/`index` if this checkpoint's partial
    /// tile there holds them.
    pub(crate) fn partial(&self, id: &TileId) -> Option<Bytes> {
        let (have, bytes) = self
            .partials
            .iter()
            .find(|(p, _)| p.kind == id.kind && p.index == id.index)?;
        if have.width < id.width {
            return None;
        }
        let prefix = tile_prefix(id.kind, bytes, id.width)?;
        Some(bytes.slice(..prefix.len()))
    }
}

/// How far, under load, the partial tiles and the checkpoint file on disk (the static mirror
/// view of the data directory) may lag behind what the node serves over HTTP. The writer
/// writes them after a batch when no submission is waiting, and at least this often while
/// submissions keep coming (instead of after every batch: rewriting the growing partial entry
/// bundle per batch was most of the writer's CPU at thousands of fetches per second).
pub(crate) const MAX_MIRROR_LAG: Duration = Duration::from_millis(200);

/// A witness the writer pushes checkpoints to.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// Base URL; the node posts to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier (type 0x04).
    pub verifier: NoteVerifier,
}

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
    shares: std::sync::atomic::AtomicU64,
    max_shares: u64,
    /// Bytes of the bundle store (see [`bundle_footprint`]; changed under `bundles`, reserved
    /// before an upload's body is read), and the most allowed.
    bundle_bytes: std::sync::atomic::AtomicU64,
    max_bundle_bytes: u64,
    /// The writer's state.
    health: Arc<Health>,
}

impl Node {
    /// Opens (or creates) the node's data directory, recovers after any crash, signs a
    /// checkpoint for everything stored, and starts the writer thread.
    pub fn start(opts: NodeOptions) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&opts.data_dir).map_err(StoreError::from)?;
        let conn = store::open_db(&opts.data_dir, opts.durability)?;
        let read = store::open_db(&opts.data_dir, opts.durability)?;
        // WAL checkpoints (copying the WAL into the database file, with its fsyncs) run on a
        // thread of their own instead of inside every 1,000th page's commit of the writer.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(StoreError::from)?;
        let wal_stop = start_wal_checkpointer(&opts.data_dir, opts.durability)?;
        // Same boot as when every tile file was last known durable: the page cache still holds
        // every write the previous process made, so its files are exactly what it wrote.
        let boot = store::boot_id();
        let same_boot = boot.is_some() && store::meta(&conn, store::TILES_SYNCED_BOOT)? == boot;
        let checkpoint_file = opts.data_dir.join("checkpoint");
        // The checkpoint file is a copy written without fsync (SQLite is the source of truth):
        // after a reboot it may be torn; then it is dropped and the current size signed again.
        let checkpoints = match FileCheckpointStore::open(checkpoint_file.clone(), Durability::None)
        {
            Err(e) if !same_boot && torn(&e) => {
                tracing::warn!(error = %e, "checkpoint file unreadable after a reboot; signing again from the database");
                std::fs::remove_file(&checkpoint_file).map_err(StoreError::from)?;
                FileCheckpointStore::open(checkpoint_file, Durability::None)?
            }
            other => other?,
        };
        let key = Arc::new(opts.key);
        let tree = Tree::from_leaf_hashes(store::load_leaves(&conn)?);
        let tail_start = tree.size() / u64::from(TILE_WIDTH) * u64::from(TILE_WIDTH);
        let tail = store::entries_range(&conn, tail_start, tree.size())?;
        let latest = checkpoints.latest()?;
        if let Some(cp) = &latest {
            if cp.size > tree.size() || tree.root_at(cp.size)? != cp.root {
                return Err(NodeError::CheckpointMismatch { size: cp.size });
            }
        }
        let published = Arc::new(RwLock::new(Arc::new(Published::default())));
        let witnesses = opts
            .witnesses
            .into_iter()
            .map(|w| WitnessState {
                target: w,
                known_size: None,
                down_until: None,
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StoreError::from)?;
        let mut writer = Writer {
            conn,
            data: opts.data_dir.clone(),
            durability: opts.durability,
            tree,
            key: key.clone(),
            checkpoints: Box::new(checkpoints),
            published: published.clone(),
            witnesses,
            witness_timeout: opts.witness_timeout,
            runtime,
            history: Vec::new(),
            queued: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            tail_start,
            tail,
            unflushed: None,
            last_flush: Instant::now(),
            _wal_stop: wal_stop,
        };
        writer.recover(latest, same_boot, boot)?;
        let queued = writer.queued.clone();
        let health = Arc::new(Health::new());
        let (tx, rx) = mpsc::channel::<Job>();
        let batch_size = opts.batch_size.max(1);
        let batch_delay = opts.batch_delay;
        let writer_health = health.clone();
        std::thread::Builder::new()
            .name("carekey-writer".into())
            .spawn(move || writer.run(rx, batch_size, batch_delay, &writer_health))
            .map_err(StoreError::from)?;
        let sequencer = LocalSequencer {
            tx: Mutex::new(tx),
            queued,
        };
        let shares = crate::shares::count(&opts.data_dir)?;
        let bundle_bytes = bundle_store_bytes(&opts.data_dir)?;
        Ok(Self {
            inner: Arc::new(NodeInner {
                data: opts.data_dir,
                public_url: opts.public_url,
                key,
                read: Mutex::new(read),
                published,
                sequencer: Box::new(sequencer),
                durability: opts.durability,
                bundles: tokio::sync::Mutex::new(()),
                cache: FetchCache::default(),
                shares: std::sync::atomic::AtomicU64::new(shares),
                max_shares: opts.max_backup_shares,
                bundle_bytes: std::sync::atomic::AtomicU64::new(bundle_bytes),
                max_bundle_bytes: opts.max_bundle_bytes,
                health,
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

    pub(crate) fn published(&self) -> Arc<Published> {
        match self.inner.published.read() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    pub(crate) fn key(&self) -> &LogKey {
        &self.inner.key
    }

    pub(crate) fn durability(&self) -> Durability {
        self.inner.durability
    }

    /// The count of stored backup key shares and its bound.
    pub(crate) fn share_count(&self) -> (&std::sync::atomic::AtomicU64, u64) {
        (&self.inner.shares, self.inner.max_shares)
    }

    pub(crate) fn bundle_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.bundles
    }

    pub(crate) fn cache(&self) -> &FetchCache {
        &self.inner.cache
    }

    /// Runs `f` on the handlers' database connection.
    pub(crate) fn db<T>(
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
    pub(crate) async fn append(&self, submission: Submission) -> Result<Appended, ApiError> {
        self.writer_alive()?;
        let rx = self.inner.sequencer.submit(submission);
        rx.await.unwrap_or_else(|_| Err(self.gone()))
    }

    /// Applies an off-log write through the sequencer (the only writer of the database).
    pub(crate) async fn write(&self, write: OffLogWrite) -> Result<(), ApiError> {
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
            writer_restarts: self
                .inner
                .health
                .restarts
                .load(std::sync::atomic::Ordering::Relaxed),
            bundle_bytes: self
                .inner
                .bundle_bytes
                .load(std::sync::atomic::Ordering::Relaxed),
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
    pub(crate) fn bundle_bytes(&self) -> (&std::sync::atomic::AtomicU64, u64) {
        (&self.inner.bundle_bytes, self.inner.max_bundle_bytes)
    }
}

/// What a bundle of `len` bytes counts against the store's bound: at least a 4 KiB block, so
/// that many tiny bundles cannot exhaust the file system's inodes under a byte bound.
pub(crate) fn bundle_footprint(len: u64) -> u64 {
    len.div_ceil(4096).max(1) * 4096
}

/// The bytes the bundle store holds now (files named by a grant id; temporary files of an
/// interrupted upload are not counted).
fn bundle_store_bytes(data: &Path) -> Result<u64, StoreError> {
    let dir = match std::fs::read_dir(data.join("bundles")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut total = 0u64;
    for entry in dir {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| parse_grant_file(n).is_some()) {
            total = total.saturating_add(bundle_footprint(entry.metadata()?.len()));
        }
    }
    Ok(total)
}

/// The grant id a bundle file is named by (32 lowercase hex digits), if it is one.
pub(crate) fn parse_grant_file(name: &str) -> Option<[u8; 16]> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(name, &mut id).ok()?;
    (hex::encode(id) == name).then_some(id)
}

// ----- the local sequencer: a channel to the writer thread -----

enum Job {
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
    fn refuse(self, e: ApiError) {
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

#[derive(Debug)]
struct LocalSequencer {
    tx: Mutex<mpsc::Sender<Job>>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl LocalSequencer {
    fn send(&self, job: Job) {
        use std::sync::atomic::Ordering;
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

// ----- the writer -----

#[derive(Debug)]
struct WitnessState {
    target: WitnessTarget,
    known_size: Option<u64>,
    down_until: Option<Instant>,
}

struct Writer {
    conn: Connection,
    data: PathBuf,
    durability: Durability,
    tree: Tree,
    key: Arc<LogKey>,
    checkpoints: Box<dyn CheckpointStore>,
    published: Arc<RwLock<Arc<Published>>>,
    witnesses: Vec<WitnessState>,
    witness_timeout: Duration,
    runtime: tokio::runtime::Runtime,
    /// Signed checkpoints not yet copied into the SQLite history (written with the next
    /// transaction, to save a commit).
    history: Vec<StoredCheckpoint>,
    /// Submissions sent but not yet taken by the writer (for back-pressure).
    queued: Arc<std::sync::atomic::AtomicUsize>,
    /// Index of the first entry of the log's last, incomplete entry bundle.
    tail_start: u64,
    /// The committed entries from `tail_start` on (fewer than a bundle's 256 between batches),
    /// so that rewriting the partial bundle does not read them back from SQLite.
    tail: Vec<Vec<u8>>,
    /// The checkpoint published since the last flush, for the [`CheckpointStore`] (the file
    /// `<data>/checkpoint`), with the partial tiles of its size.
    unflushed: Option<StoredCheckpoint>,
    /// When the partial tiles and the checkpoint were last written to disk.
    last_flush: Instant,
    /// Dropped with the writer: stops the WAL checkpointer.
    _wal_stop: mpsc::Sender<()>,
}

/// Where a submission of the batch stands.
enum Outcome {
    /// New or already present at this index.
    Index(u64),
    /// Refused by the policy or failed.
    Refused(ApiError),
    /// An off-log write, committed.
    Written,
}

impl Writer {
    /// After a restart: under the same boot (a process crash), rewrite the full tiles past the
    /// checkpoint file (entries committed but not yet written out; the partial tiles of the
    /// current size follow with the flush below, those of the file's size were written before
    /// it); after a reboot, rewrite every tile file from SQLite with fsync and then record the
    /// boot. Then sign the current size if the file does not have it, and flush.
    fn recover(
        &mut self,
        latest: Option<StoredCheckpoint>,
        same_boot: bool,
        boot: Option<String>,
    ) -> Result<(), NodeError> {
        let from = latest.as_ref().map_or(0, |c| c.size);
        let size = self.tree.size();
        if same_boot {
            self.write_full_tiles(from, size)?;
        } else {
            let n = self.rewrite_all_tiles()?;
            if let Some(boot) = boot {
                // Committed (synchronous=FULL) only after every tile file and directory above
                // is fsynced.
                store::set_meta(&self.conn, store::TILES_SYNCED_BOOT, &boot)?;
            }
            tracing::info!(
                files = n,
                size,
                "rewrote every tile from the database after a reboot"
            );
        }
        self.trim_tail();
        match latest {
            Some(cp) if cp.size == size => self.set_published(cp.size, cp.note)?,
            _ => self.sign_and_publish()?,
        }
        self.flush()
    }

    /// The writer loop. A batch that fails is not answered: the writer reopens its state from
    /// disk (what [`Node::start`] does after a crash) and runs the batch again (its committed
    /// entries are found by their leaf hash, so nothing is appended twice). Only when the
    /// state cannot be reopened does the writer stop for good, refusing every queued and
    /// later submission with `503 writer_failed` and marking the node failed.
    fn run(
        mut self,
        rx: mpsc::Receiver<Job>,
        batch_size: usize,
        batch_delay: Duration,
        health: &Health,
    ) {
        let mut retry: Vec<Job> = Vec::new();
        // Failed batches since the last one that went through.
        let mut failures = 0u32;
        loop {
            let batch = if retry.is_empty() {
                let Ok(first) = rx.recv() else { break };
                let mut batch = vec![first];
                let deadline = Instant::now() + batch_delay;
                while batch.len() < batch_size {
                    match rx.try_recv() {
                        Ok(job) => batch.push(job),
                        Err(mpsc::TryRecvError::Empty) => {
                            let now = Instant::now();
                            if now >= deadline {
                                break;
                            }
                            match rx.recv_timeout(deadline - now) {
                                Ok(job) => batch.push(job),
                                Err(_) => break,
                            }
                        }
                        Err(mpsc::TryRecvError::Disconnected) => break,
                    }
                }
                self.queued
                    .fetch_sub(batch.len(), std::sync::atomic::Ordering::Relaxed);
                batch
            } else {
                std::mem::take(&mut retry)
            };
            let n = batch.len();
            let Err((e, jobs)) = self.process(batch) else {
                tracing::debug!(entries = n, size = self.tree.size(), "batch done");
                failures = 0;
                continue;
            };
            failures += 1;
            let restarts = health
                .restarts
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                + 1;
            tracing::error!(error = %e, restarts, "writer failed; reopening its state from disk");
            health.set(WriterStatus::Restarting);
            let reopened = if failures >= RESTART_ATTEMPTS {
                // Reopening worked but the writer keeps failing (a full disk, say).
                Err(NodeError::WriterFailing(failures))
            } else {
                self.restart()
            };
            if let Err(e) = reopened {
                tracing::error!(error = %e, "the writer could not be reopened; the node stops accepting writes");
                health.set(WriterStatus::Failed);
                for job in jobs {
                    job.refuse(ApiError::writer_failed());
                }
                // Nothing is appended on an unknown state; whoever still sends is refused
                // until the process exits.
                while let Ok(job) = rx.recv() {
                    job.refuse(ApiError::writer_failed());
                }
                return;
            }
            health.set(WriterStatus::Running);
            if failures == 1 {
                tracing::warn!(restarts, "writer reopened; running the failed batch again");
                retry = jobs;
            } else {
                // The batch failed again after a restart: its submitters retry later (and
                // whatever in it was committed is found by its bytes then).
                tracing::warn!(
                    restarts,
                    "writer reopened; refusing the batch that failed twice"
                );
                for job in jobs {
                    job.refuse(ApiError::unavailable());
                }
            }
        }
        if let Err(e) = self.flush() {
            tracing::error!(error = %e, "writing the partial tiles and checkpoint at shutdown failed");
        }
    }

    /// Reopens the writer's state from disk, with pauses, up to [`RESTART_ATTEMPTS`] times.
    fn restart(&mut self) -> Result<(), NodeError> {
        let mut pause = RESTART_PAUSE;
        let mut attempt = 1;
        loop {
            match self.reload() {
                Ok(()) => return Ok(()),
                Err(e) if attempt >= RESTART_ATTEMPTS => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, attempt, "reopening the writer failed; trying again");
                    std::thread::sleep(pause);
                    pause *= 2;
                    attempt += 1;
                }
            }
        }
    }

    /// What [`Node::start`] does after a crash, in this process (so under the same boot):
    /// reopen the database and the checkpoint file, rebuild the tree from the committed
    /// entries, check it against the stored checkpoint, rewrite the tiles past it, sign and
    /// publish the current size.
    fn reload(&mut self) -> Result<(), NodeError> {
        #[cfg(test)]
        if test_hooks::fire(&self.data, test_hooks::Point::Reload) {
            return Err(StoreError::Corrupt("injected failure (test)").into());
        }
        let conn = store::open_db(&self.data, self.durability)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(StoreError::from)?;
        let checkpoints =
            FileCheckpointStore::open(self.data.join("checkpoint"), Durability::None)?;
        let tree = Tree::from_leaf_hashes(store::load_leaves(&conn)?);
        let latest = checkpoints.latest()?;
        if let Some(cp) = &latest {
            if cp.size > tree.size() || tree.root_at(cp.size)? != cp.root {
                return Err(NodeError::CheckpointMismatch { size: cp.size });
            }
        }
        self.tail_start = tree.size() / u64::from(TILE_WIDTH) * u64::from(TILE_WIDTH);
        self.tail = store::entries_range(&conn, self.tail_start, tree.size())?;
        self.conn = conn;
        self.checkpoints = Box::new(checkpoints);
        self.tree = tree;
        self.unflushed = None;
        self.recover(latest, true, None)
    }

    /// One batch; on failure, the batch's jobs come back unanswered.
    fn process(&mut self, batch: Vec<Job>) -> Result<(), (NodeError, Vec<Job>)> {
        let old_size = self.tree.size();
        let (jobs, outcomes) = self.apply(batch)?;
        let new_size = self.tree.size();
        let result = (|| -> Result<(), NodeError> {
            #[cfg(test)]
            if test_hooks::fire(&self.data, test_hooks::Point::AfterCommit) {
                return Err(StoreError::Corrupt("injected failure (test)").into());
            }
            if new_size > old_size {
                self.write_full_tiles(old_size, new_size)?;
                self.trim_tail();
                self.sign_and_publish()?;
            }
            let idle = self.queued.load(std::sync::atomic::Ordering::Relaxed) == 0;
            if idle || self.last_flush.elapsed() >= MAX_MIRROR_LAG {
                self.flush()?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            return Err((e, jobs));
        }
        let published = self.current_published();
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            match job {
                Job::OffLog { reply, .. } => {
                    let _ = reply.send(match outcome {
                        Outcome::Refused(e) => Err(e),
                        _ => Ok(()),
                    });
                }
                Job::Append { reply, .. } => {
                    let answer = match outcome {
                        Outcome::Refused(e) => Err(e),
                        Outcome::Written => Err(ApiError::internal()),
                        Outcome::Index(index) => self
                            .tree
                            .inclusion_proof(index, published.size)
                            .map(|proof| Appended {
                                index,
                                receipt: Receipt {
                                    index,
                                    proof,
                                    checkpoint: published.note.clone(),
                                    extra: None,
                                }
                                .encode(),
                            })
                            .map_err(|_| ApiError::internal()),
                    };
                    let _ = reply.send(answer);
                }
            }
        }
        Ok(())
    }

    /// Step 2: one transaction for the whole batch, tried again on a transient SQLite error.
    #[allow(clippy::type_complexity)]
    fn apply(
        &mut self,
        batch: Vec<Job>,
    ) -> Result<(Vec<Job>, Vec<Outcome>), (NodeError, Vec<Job>)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(&batch) {
                Ok((outcomes, pushed, appended_jobs)) => {
                    self.history.clear();
                    for leaf in pushed {
                        self.tree.push(leaf);
                    }
                    // Copied, not taken: if a later step of the batch fails, the batch runs
                    // again after the restart and must find its entries by their bytes.
                    for j in appended_jobs {
                        if let Job::Append { submission, .. } = &batch[j] {
                            self.tail.push(submission.entry.clone());
                        }
                    }
                    return Ok((batch, outcomes));
                }
                Err(e) if transient(&e) && attempt < TRANSIENT_RETRIES => {
                    tracing::warn!(error = %e, attempt, "transient database error; running the batch again");
                    std::thread::sleep(Duration::from_millis(10 << attempt));
                }
                Err(e) => return Err((e.into(), batch)),
            }
        }
    }

    /// One try of [`Writer::apply`]: nothing in memory changes; on error the transaction is
    /// rolled back. `BEGIN IMMEDIATE`: the transaction holds the database's write lock from
    /// its first statement, so no other connection can commit between its reads and its
    /// writes (in WAL mode a deferred transaction that read first would then fail at its
    /// first write with `SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits out).
    #[allow(clippy::type_complexity)]
    fn apply_once(
        &self,
        batch: &[Job],
    ) -> Result<(Vec<Outcome>, Vec<Hash>, Vec<usize>), StoreError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut pushed: Vec<Hash> = Vec::new();
        let mut appended_jobs: Vec<usize> = Vec::new();
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        for cp in &self.history {
            store::record_checkpoint(&tx, cp.size, &cp.root, &cp.note)?;
        }
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let base = self.tree.size();
        for (j, job) in batch.iter().enumerate() {
            let submission = match job {
                Job::OffLog { write, .. } => {
                    match write {
                        OffLog::DeleteBundle { grant_id } => {
                            store::mark_bundle_deleted(&tx, grant_id)?;
                        }
                    }
                    outcomes.push(Outcome::Written);
                    continue;
                }
                Job::Append { submission, .. } => submission,
            };
            let leaf = leaf_hash(&submission.entry);
            if let Some(i) = in_batch.get(&leaf) {
                outcomes.push(Outcome::Index(*i));
                continue;
            }
            if let Some(i) = store::entry_index(&tx, &leaf)? {
                outcomes.push(Outcome::Index(i));
                continue;
            }
            #[cfg(test)]
            test_hooks::fire(&self.data, test_hooks::Point::AfterRead);
            let index = base + pushed.len() as u64;
            match apply_effect(&tx, &submission.effect, index)? {
                Ok(()) => {
                    store::insert_entry(&tx, index, &leaf, &submission.entry)?;
                    in_batch.insert(leaf, index);
                    pushed.push(leaf);
                    appended_jobs.push(j);
                    outcomes.push(Outcome::Index(index));
                }
                Err(refusal) => outcomes.push(Outcome::Refused(refusal)),
            }
        }
        tx.commit()?;
        Ok((outcomes, pushed, appended_jobs))
    }

    /// Step 4 of a batch: the tiles and bundles that became full in the growth `old → new`, by
    /// atomic rename, no fsync (see the module doc for why that is enough). The partial ones
    /// are served from memory and written by [`Writer::flush`].
    fn write_full_tiles(&self, old: u64, new: u64) -> Result<(), NodeError> {
        for id in store::changed_tiles(old, new) {
            if id.is_full() {
                let bytes = self.tile_bytes(&id)?;
                store::write_file_unsynced(&store::tile_path(&self.data, &id), &bytes)?;
            }
        }
        Ok(())
    }

    /// Writes the published size's partial tiles, then its checkpoint through the
    /// [`CheckpointStore`], so that the data directory is again a consistent static mirror.
    fn flush(&mut self) -> Result<(), NodeError> {
        let Some(cp) = self.unflushed.take() else {
            return Ok(());
        };
        for (id, bytes) in &self.current_published().partials {
            store::write_file_unsynced(&store::tile_path(&self.data, id), bytes)?;
        }
        let previous = self.checkpoints.latest()?;
        self.checkpoints
            .compare_and_swap(previous.as_ref().map(|c| c.size), &cp)?;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// The content of tile `id` (within the tree): hashes from the tree, entries from the tail
    /// or SQLite.
    fn tile_bytes(&self, id: &TileId) -> Result<Vec<u8>, NodeError> {
        Ok(match id.kind {
            TileKind::Entries => {
                let start = id.index * u64::from(TILE_WIDTH);
                let end = start + u64::from(id.width);
                let tail_end = self.tail_start + self.tail.len() as u64;
                if start >= self.tail_start && end <= tail_end {
                    let from = (start - self.tail_start) as usize;
                    let refs: Vec<&[u8]> = self.tail[from..from + usize::from(id.width)]
                        .iter()
                        .map(Vec::as_slice)
                        .collect();
                    try_encode_bundle(&refs)?
                } else {
                    let entries = store::entries_range(&self.conn, start, end)?;
                    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    try_encode_bundle(&refs)?
                }
            }
            TileKind::Hash { .. } => hash_tile(&self.tree, id)?,
        })
    }

    /// Drops the tail's complete bundles (written by now).
    fn trim_tail(&mut self) {
        let width = u64::from(TILE_WIDTH);
        let full = self.tree.size() / width * width;
        if full > self.tail_start {
            let n = usize::try_from(full - self.tail_start)
                .unwrap_or(usize::MAX)
                .min(self.tail.len());
            self.tail.drain(..n);
            self.tail_start = full;
        }
    }

    /// After a reboot: rewrites every tile and entry bundle of the tree, and every older partial
    /// width still on disk, each fsynced, then fsyncs their directories up to the data
    /// directory. Returns how many files it wrote.
    fn rewrite_all_tiles(&self) -> Result<usize, NodeError> {
        let size = self.tree.size();
        let width = u64::from(TILE_WIDTH);
        let kinds = tile_kinds(size);
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        let mut written = 0usize;
        for (kind, count) in kinds {
            for index in 0..count.div_ceil(width) {
                let have = (count - index * width).min(width) as u16;
                let mut widths = store::partial_widths(&self.data, kind, index)?;
                widths.retain(|w| *w < have);
                widths.push(have);
                for w in widths {
                    let id = TileId {
                        kind,
                        index,
                        width: w,
                    };
                    let path = store::tile_path(&self.data, &id);
                    store::write_file_synced(&path, &self.tile_bytes(&id)?, self.durability)?;
                    written += 1;
                    let mut dir = path.parent();
                    while let Some(d) = dir {
                        if !dirs.insert(d.to_owned()) || d == self.data {
                            break;
                        }
                        dir = d.parent();
                    }
                }
            }
        }
        if self.durability == Durability::Full {
            dirs.insert(self.data.clone());
            for d in dirs {
                store::sync_dir(&d)?;
            }
        }
        Ok(written)
    }

    /// Steps 3 to 5.
    fn sign_and_publish(&mut self) -> Result<(), NodeError> {
        let size = self.tree.size();
        let checkpoint = Checkpoint {
            origin: self.key.note.name().to_owned(),
            size,
            root: self.tree.root(),
            extensions: Vec::new(),
        };
        let body = checkpoint.body();
        let log_line = self.key.note.sign(&body);
        let note = write_note(&body, std::slice::from_ref(&log_line));
        // Never two roots for one size: the stored checkpoint (read back on every start) is
        // checked against the tree before the writer starts, and sizes only grow from there.
        if let Some(stored) = self.checkpoints.latest()? {
            if stored.size > size || (stored.size == size && stored.root != checkpoint.root) {
                return Err(StoreError::Equivocation { size }.into());
            }
        }
        let mut final_note = note.clone();
        if !self.witnesses.is_empty() {
            let cosignatures = self.push_to_witnesses(&note, size);
            if !cosignatures.is_empty() {
                let mut lines = vec![log_line];
                lines.extend(cosignatures);
                final_note = write_note(&body, &lines);
            }
        }
        let stored = StoredCheckpoint {
            size,
            root: checkpoint.root,
            note: final_note.clone(),
        };
        self.history.push(stored.clone());
        self.unflushed = Some(stored);
        self.set_published(size, final_note)
    }

    /// Publishes checkpoint `note` of `size` with the tree's partial tiles at that size.
    fn set_published(&mut self, size: u64, note: String) -> Result<(), NodeError> {
        let mut partials = Vec::new();
        for (kind, count) in tile_kinds(size) {
            let width = count % u64::from(TILE_WIDTH);
            if width > 0 {
                let id = TileId {
                    kind,
                    index: count / u64::from(TILE_WIDTH),
                    width: width as u16,
                };
                partials.push((id, Bytes::from(self.tile_bytes(&id)?)));
            }
        }
        let published = Arc::new(Published {
            size,
            note,
            partials,
        });
        let mut p = match self.published.write() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        *p = published;
        Ok(())
    }

    fn current_published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Pushes the log-signed `note` to every witness not in back-off, concurrently; returns
    /// the verified cosignature lines.
    fn push_to_witnesses(
        &mut self,
        note: &str,
        size: u64,
    ) -> Vec<carekey_ledger::note::SignatureLine> {
        let now = Instant::now();
        let mut requests = Vec::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            if w.down_until.is_some_and(|t| t > now) {
                continue;
            }
            let old = w.known_size.filter(|s| *s <= size).unwrap_or(0);
            let Ok(proof) = self.tree.consistency_proof(old, size) else {
                continue;
            };
            requests.push((i, w.target.clone(), old, proof));
        }
        let timeout = self.witness_timeout;
        let tree = &self.tree;
        let results = self.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, target, old, proof) in requests {
                let note = note.to_owned();
                set.spawn(async move {
                    let r = push_once(&target, &note, old, proof, timeout).await;
                    (i, target, r)
                });
            }
            let mut out = Vec::new();
            while let Some(Ok(r)) = set.join_next().await {
                out.push(r);
            }
            out
        });
        let mut retries = Vec::new();
        let mut lines = Vec::new();
        for (i, target, r) in results {
            match r {
                Ok(PushResult::Cosigned(line)) => {
                    lines.push((i, line));
                }
                Ok(PushResult::Conflict(their)) if their < size => {
                    if let Ok(proof) = tree.consistency_proof(their, size) {
                        retries.push((i, target, their, proof));
                    }
                }
                Ok(PushResult::Conflict(their)) => {
                    tracing::warn!(witness = %target.url, their, size, "witness is ahead of this log");
                    self.witnesses[i].down_until = Some(now + WITNESS_BACKOFF);
                }
                Err(e) => {
                    tracing::warn!(witness = %target.url, error = %e, "witness push failed; serving without its cosignature");
                    self.witnesses[i].down_until = Some(now + WITNESS_BACKOFF);
                }
            }
        }
        if !retries.is_empty() {
            let results = self.runtime.block_on(async {
                let mut out = Vec::new();
                for (i, target, old, proof) in retries {
                    let r = push_once(&target, note, old, proof, timeout).await;
                    out.push((i, target, r));
                }
                out
            });
            for (i, target, r) in results {
                match r {
                    Ok(PushResult::Cosigned(line)) => lines.push((i, line)),
                    other => {
                        tracing::warn!(witness = %target.url, result = ?other.map(|_| ()), "witness refused the checkpoint");
                        self.witnesses[i].down_until = Some(now + WITNESS_BACKOFF);
                    }
                }
            }
        }
        lines.sort_by_key(|(i, _)| *i);
        let mut out = Vec::new();
        for (i, line) in lines {
            self.witnesses[i].known_size = Some(size);
            self.witnesses[i].down_until = None;
            out.push(line);
        }
        out
    }
}

#[derive(Debug)]
enum PushResult {
    Cosigned(carekey_ledger::note::SignatureLine),
    Conflict(u64),
}

#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error("witness answered {0}")]
    Status(u16),
    #[error("witness answer has no valid cosignature")]
    NoCosignature,
}

async fn push_once(
    target: &WitnessTarget,
    note: &str,
    old: u64,
    proof: Vec<Hash>,
    timeout: Duration,
) -> Result<PushResult, PushError> {
    let body = AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: note.to_owned(),
    }
    .encode();
    let url = format!("{}/add-checkpoint", target.url.trim_end_matches('/'));
    let reply = client::send(
        hyper::Method::POST,
        &url,
        body.into_bytes(),
        &[("content-type", "text/plain; charset=utf-8")],
        timeout,
        64 * 1024,
    )
    .await?;
    match reply.status.as_u16() {
        200 => {
            let text = std::str::from_utf8(&reply.body).map_err(|_| PushError::NoCosignature)?;
            let lines = parse_signature_lines(text).map_err(|_| PushError::NoCosignature)?;
            let body_end = note.rfind("\n\n").map_or(note.len(), |i| i + 1);
            let body = &note[..body_end];
            for line in lines {
                if line.name != target.verifier.name() || line.key_id != target.verifier.key_id() {
                    continue;
                }
                // Check the cosignature before serving it.
                let candidate = format!("{body}\n{}", line.to_line());
                if carekey_ledger::note::open_note(
                    &candidate,
                    std::slice::from_ref(&target.verifier),
                )
                .is_ok()
                {
                    return Ok(PushResult::Cosigned(line));
                }
            }
            Err(PushError::NoCosignature)
        }
        409 => {
            let size = std::str::from_utf8(&reply.body)
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or(PushError::Status(409))?;
            Ok(PushResult::Conflict(size))
        }
        s => Err(PushError::Status(s)),
    }
}

/// Checks and applies one submission's stateful policy inside the batch transaction.
/// `Ok(Err(refusal))` leaves the database untouched.
fn apply_effect(
    tx: &Connection,
    effect: &Effect,
    index: u64,
) -> Result<Result<(), ApiError>, StoreError> {
    match effect {
        Effect::Commit(row) => {
            if store::grant_key_known(tx, &row.grant_key)? {
                return Ok(Err(ApiError::forbidden(
                    "grant_key_in_use",
                    "another grant already uses this grant key",
                )));
            }
            if store::grant_id_known(tx, &row.grant_id)? {
                return Ok(Err(ApiError::forbidden(
                    "grant_already_committed",
                    "this grant is already committed under another grant key",
                )));
            }
            store::insert_grant(tx, row, index)?;
        }
        Effect::Revoke { grant_key } => {
            if !store::grant_key_known(tx, grant_key)? {
                return Ok(Err(ApiError::forbidden(
                    "unknown_grant_key",
                    "no grant commitment uses this grant key",
                )));
            }
            if store::revoked(tx, grant_key)? {
                return Ok(Err(ApiError::forbidden(
                    "already_revoked",
                    "this grant is already revoked",
                )));
            }
            store::insert_revocation(tx, grant_key, index)?;
        }
        Effect::Erase { erasure_key } => {
            store::insert_erasure(tx, erasure_key, index)?;
            if let Some(id) = store::grant_id_for_key(tx, erasure_key)? {
                store::mark_bundle_deleted(tx, &id)?;
            }
        }
        Effect::Access { grant_id, nonce } => {
            let Some(grant) = store::grant_by_id(tx, grant_id)? else {
                return Ok(Err(ApiError::not_found("unknown_grant", "no such grant")));
            };
            if grant.erased {
                return Ok(Err(ApiError::forbidden("erased", "the grant was erased")));
            }
            if grant.revoked {
                return Ok(Err(ApiError::forbidden("revoked", "the grant was revoked")));
            }
            if !store::use_nonce(tx, grant_id, nonce)? {
                return Ok(Err(ApiError::forbidden(
                    "replayed",
                    "this request nonce was already used",
                )));
            }
        }
    }
    Ok(Ok(()))
}

/// How often the WAL checkpointer copies committed pages into the database file.
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Starts the thread that checkpoints the WAL (`PRAGMA wal_checkpoint(PASSIVE)`: never blocks
/// the writer; with `synchronous=FULL` SQLite fsyncs the WAL before copying and the database
/// after) until the returned sender is dropped.
fn start_wal_checkpointer(
    data: &Path,
    durability: Durability,
) -> Result<mpsc::Sender<()>, NodeError> {
    let conn = store::open_db(data, durability)?;
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("carekey-wal".into())
        .spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(WAL_CHECKPOINT_EVERY)
            {
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "WAL checkpoint failed; retrying");
                }
            }
        })
        .map_err(StoreError::from)?;
    Ok(stop)
}

/// Whether opening the checkpoint file failed because its content is torn (not because the
/// file system failed).
fn torn(e: &StoreError) -> bool {
    match e {
        StoreError::Corrupt(_) => true,
        StoreError::Io(io) => io.kind() == std::io::ErrorKind::InvalidData,
        _ => false,
    }
}

/// Whether a failed batch may simply be run again: SQLite was busy or locked (another
/// connection held a lock past the busy timeout).
fn transient(e: &StoreError) -> bool {
    match e {
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
        ),
        _ => false,
    }
}

/// Used by the erase path: the bundle file of a grant.
pub(crate) fn bundle_path(data: &Path, grant_id: &[u8; 16]) -> PathBuf {
    data.join("bundles").join(hex::encode(grant_id))
}

/// Whether tile `id` is part of (a prefix of) the log at `size`: such a tile's content is
/// fixed by committed entries and may be served.
/// Every tile kind of a tree of `size` leaves with how many hashes (or entries) it spans.
fn tile_kinds(size: u64) -> Vec<(TileKind, u64)> {
    let mut kinds = Vec::new();
    let mut level = 0u32;
    loop {
        let count = size.checked_shr(level * TILE_HEIGHT).unwrap_or(0);
        if count == 0 {
            break;
        }
        kinds.push((TileKind::Hash { level: level as u8 }, count));
        level += 1;
    }
    if size > 0 {
        kinds.push((TileKind::Entries, size));
    }
    kinds
}

pub(crate) fn tile_within(id: &TileId, size: u64) -> bool {
    let count = match id.kind {
        TileKind::Entries => size,
        TileKind::Hash { level } => size.checked_shr(u32::from(level) * 8).unwrap_or(0),
    };
    id.index
        .checked_mul(u64::from(TILE_WIDTH))
        .and_then(|s| s.checked_add(u64::from(id.width)))
        .is_some_and(|end| end <= count)
}

/// Fault injection for the unit tests: a hook per data directory and point of the writer;
/// a hook that returns `true` makes the writer fail there.
#[cfg(test)]
pub(crate) mod test_hooks {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::Mutex;

    /// Where in the writer a hook runs.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub(crate) enum Point {
        /// Inside a batch's transaction, after the read that precedes a submission's writes.
        AfterRead,
        /// After a batch's commit, before its tiles and checkpoint.
        AfterCommit,
        /// When a failed writer reopens its state.
        Reload,
    }

    type Hook = Box<dyn FnMut() -> bool + Send>;
    type Hooks = HashMap<(PathBuf, Point), Hook>;
    static HOOKS: Mutex<Option<Hooks>> = Mutex::new(None);

    pub(crate) fn set(data: &Path, point: Point, hook: Hook) {
        let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
        hooks
            .get_or_insert_with(HashMap::new)
            .insert((data.to_owned(), point), hook);
    }

    /// Runs the hook set for `data` at `point` (outside the hooks' lock), if any.
    pub(crate) fn fire(data: &Path, point: Point) -> bool {
        let key = (data.to_owned(), point);
        let hook = HOOKS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
            .and_then(|h| h.remove(&key));
        let Some(mut hook) = hook else { return false };
        let fail = hook();
        HOOKS
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(HashMap::new)
            .entry(key)
            .or_insert(hook);
        fail
    }

    /// Removes the hook set for `data` at `point`.
    pub(crate) fn clear(data: &Path, point: Point) {
        let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = hooks.as_mut() {
            h.remove(&(data.to_owned(), point));
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Duration;

    use carekey_crypto::SigningKey;

    use super::*;

    fn start(dir: &Path) -> Node {
        let key =
            LogKey::from_signing("carekey.test/log1", SigningKey::from_bytes(&[7; 32])).unwrap();
        let mut opts = NodeOptions::new(dir.to_owned(), "https://node.test".into(), key);
        opts.durability = Durability::None;
        Node::start(opts).unwrap()
    }

    /// An entry the writer appends as is (the policy check is the handlers' job).
    fn submission(n: u8) -> Submission {
        Submission::new(
            vec![n; 40],
            Effect::Erase {
                erasure_key: carekey_crypto::random_array(),
            },
        )
    }

    /// Issue 8, hole 8: another connection writes between the batch's first read and its
    /// first write. In WAL mode a deferred transaction then cannot upgrade its stale read
    /// snapshot (`SQLITE_BUSY_SNAPSHOT`, no busy wait), and the old writer died for good: every
    /// later append was `503`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue8_writer_survives_busy_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let node = start(dir.path());
        node.append(submission(1)).await.unwrap();
        // The same entry again: a batch that appends nothing, so the next batch has no
        // checkpoint history to write first and starts with a read.
        node.append(submission(1)).await.unwrap();
        let mut db = Some(dir.path().join("node.sqlite3"));
        test_hooks::set(
            dir.path(),
            test_hooks::Point::AfterRead,
            Box::new(move || {
                let Some(db) = db.take() else { return false };
                let (done, wait) = mpsc::channel();
                std::thread::spawn(move || {
                    let rogue = Connection::open(&db).unwrap();
                    rogue.busy_timeout(Duration::from_secs(10)).unwrap();
                    rogue
                        .execute("INSERT OR REPLACE INTO meta VALUES ('rogue', 'x')", [])
                        .unwrap();
                    let _ = done.send(());
                });
                // The rogue write either lands now (a deferred transaction) or waits for the
                // writer's commit (a write transaction from the start).
                let _ = wait.recv_timeout(Duration::from_millis(500));
                false
            }),
        );
        let second = node.append(submission(2)).await;
        let third = node.append(submission(3)).await;
        assert_eq!(second.map(|a| a.index).unwrap(), 1);
        assert_eq!(third.map(|a| a.index).unwrap(), 2);
    }

    /// Issue 8, hole 8: a writer that fails after its commit is reopened from disk and runs
    /// the batch again: the submitter gets its receipt (not a `503`), the entry is appended
    /// once, and the restart is reported.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue8_failed_writer_is_reopened_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let node = start(dir.path());
        node.append(submission(1)).await.unwrap();
        let mut once = true;
        test_hooks::set(
            dir.path(),
            test_hooks::Point::AfterCommit,
            Box::new(move || std::mem::replace(&mut once, false)),
        );
        let appended = node.append(submission(2)).await.unwrap();
        assert_eq!(appended.index, 1);
        let health = node.health();
        assert_eq!(health.writer, WriterStatus::Running);
        assert_eq!(health.writer_restarts, 1);
        assert_eq!(node.append(submission(3)).await.unwrap().index, 2);
        assert_eq!(node.append(submission(2)).await.unwrap().index, 1);
        test_hooks::clear(dir.path(), test_hooks::Point::AfterCommit);
    }

    /// Issue 8, hole 8: a writer that cannot be reopened marks the node failed: writes are
    /// refused with `503 writer_failed` (never queued forever), and [`Node::writer_failed`]
    /// resolves (`serve` then exits non-zero).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue8_writer_that_cannot_reopen_fails_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let node = start(dir.path());
        node.append(submission(1)).await.unwrap();
        test_hooks::set(
            dir.path(),
            test_hooks::Point::AfterCommit,
            Box::new(|| true),
        );
        test_hooks::set(dir.path(), test_hooks::Point::Reload, Box::new(|| true));
        let refused = node.append(submission(2)).await.unwrap_err();
        assert_eq!(refused.code, "writer_failed");
        tokio::time::timeout(Duration::from_secs(5), node.writer_failed())
            .await
            .unwrap();
        assert_eq!(node.health().writer, WriterStatus::Failed);
        assert_eq!(
            node.write(OffLogWrite::delete_bundle([1; 16]))
                .await
                .unwrap_err()
                .code,
            "writer_failed"
        );
        test_hooks::clear(dir.path(), test_hooks::Point::AfterCommit);
        test_hooks::clear(dir.path(), test_hooks::Point::Reload);
    }

    /// Issue 8, hole 8: a writer that reopens but keeps failing (a full disk, say) refuses
    /// the batch that failed twice with `503 unavailable` (clients retry) and, after
    /// [`RESTART_ATTEMPTS`] failures in a row, fails the node instead of looping.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn issue8_writer_that_keeps_failing_fails_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let node = start(dir.path());
        node.append(submission(1)).await.unwrap();
        test_hooks::set(
            dir.path(),
            test_hooks::Point::AfterCommit,
            Box::new(|| true),
        );
        let mut codes = Vec::new();
        for n in 2..10 {
            let code = node.append(submission(n)).await.unwrap_err().code;
            codes.push(code);
            if code == "writer_failed" {
                break;
            }
        }
        assert_eq!(
            codes,
            ["unavailable", "unavailable", "unavailable", "writer_failed"]
        );
        tokio::time::timeout(Duration::from_secs(5), node.writer_failed())
            .await
            .unwrap();
        assert_eq!(node.health().writer_restarts, 5);
        test_hooks::clear(dir.path(), test_hooks::Point::AfterCommit);
    }
}
