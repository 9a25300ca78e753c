//! The node: durable state, the batching writer loop, and the [`Sequencer`] seam.
//!
//! Every append goes through one writer thread, in batches:
//!
//! 1. take up to `batch_size` submissions (waiting at most `batch_delay` for more);
//! 2. in one SQLite transaction, re-check each submission's stateful policy (grant key unused,
//!    grant committed, not revoked, nonce unused, ...), skip duplicates (same leaf hash: the
//!    submitter gets the existing index), insert the entries and their side effects, and
//!    append the leaves to the in-memory tree; commit (`synchronous=FULL`: on disk);
//! 3. write every new or grown hash tile and entry bundle to `<data>/tile/...`, fsync the files
//!    and their directories;
//! 4. only then sign the checkpoint, and store it through [`CheckpointStore::compare_and_swap`]
//!    (`<data>/checkpoint`, atomic; never a second root for one size);
//! 5. push it to the witnesses (concurrently, with a time limit; a witness that fails is noted
//!    and skipped for a while, never waited for), re-store it with the cosignatures;
//! 6. answer each submitter with its index and a `tlog-proof` receipt.
//!
//! Entries are committed to SQLite *before* tiles are written so that a tile file, once
//! written, is a function of committed entries only and never changes content: after a crash
//! the node rebuilds the tree from SQLite, rewrites the tiles past the last checkpoint, and
//! signs again. Nothing is acknowledged before step 4, so an acknowledged entry is durable.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use carekey_ledger::note::{parse_signature_lines, write_note, Checkpoint, NoteVerifier};
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{hash_tile, try_encode_bundle, TileId, TileKind, TILE_WIDTH};
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::{leaf_hash, Hash, Tree};
use rusqlite::Connection;
use tokio::sync::oneshot;

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
    /// A C2SP `tlog-proof` receipt for it, against a checkpoint already on disk.
    pub receipt: String,
}

/// What orders appends. Today one writer thread on one machine ([`Node`]); a replicated
/// deployment puts leadership and the checkpoint compare-and-swap on etcd behind the same
/// seam (ADR 0007).
pub trait Sequencer: Send + Sync + std::fmt::Debug {
    /// Appends `submission` (or finds it already in the log) and answers once a checkpoint
    /// covering it is signed and durable.
    fn submit(&self, submission: Submission) -> oneshot::Receiver<Result<Appended, ApiError>>;
}

/// The latest published checkpoint, as handlers serve it.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) size: u64,
    pub(crate) note: String,
}

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
}

impl NodeOptions {
    /// Options with the defaults for everything but the essentials.
    pub fn new(data_dir: PathBuf, public_url: String, key: LogKey) -> Self {
        Self {
            data_dir,
            public_url,
            key,
            witnesses: Vec::new(),
            batch_size: 4096,
            batch_delay: Duration::from_millis(2),
            witness_timeout: Duration::from_secs(3),
            durability: Durability::Full,
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
    published: Arc<RwLock<Published>>,
    sequencer: Box<dyn Sequencer>,
    durability: Durability,
    /// Serialises bundle uploads and deletions of the off-log store.
    bundles: tokio::sync::Mutex<()>,
}

impl Node {
    /// Opens (or creates) the node's data directory, recovers after any crash, signs a
    /// checkpoint for everything stored, and starts the writer thread.
    pub fn start(opts: NodeOptions) -> Result<Self, NodeError> {
        std::fs::create_dir_all(&opts.data_dir).map_err(StoreError::from)?;
        let conn = store::open_db(&opts.data_dir, opts.durability)?;
        let read = store::open_db(&opts.data_dir, opts.durability)?;
        let checkpoints =
            FileCheckpointStore::open(opts.data_dir.join("checkpoint"), opts.durability)?;
        let key = Arc::new(opts.key);
        let tree = Tree::from_leaf_hashes(store::load_leaves(&conn)?);
        let latest = checkpoints.latest()?;
        if let Some(cp) = &latest {
            if cp.size > tree.size() || tree.root_at(cp.size)? != cp.root {
                return Err(NodeError::CheckpointMismatch { size: cp.size });
            }
        }
        let published = Arc::new(RwLock::new(Published {
            size: 0,
            note: String::new(),
        }));
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
        };
        writer.recover(latest)?;
        let queued = writer.queued.clone();
        let (tx, rx) = mpsc::channel::<Job>();
        let batch_size = opts.batch_size.max(1);
        let batch_delay = opts.batch_delay;
        std::thread::Builder::new()
            .name("carekey-writer".into())
            .spawn(move || writer.run(rx, batch_size, batch_delay))
            .map_err(StoreError::from)?;
        let sequencer = LocalSequencer {
            tx: Mutex::new(tx),
            queued,
        };
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
        self.published().note
    }

    pub(crate) fn published(&self) -> Published {
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

    pub(crate) fn bundle_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.bundles
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
        let rx = self.inner.sequencer.submit(submission);
        rx.await.unwrap_or_else(|_| Err(ApiError::unavailable()))
    }
}

// ----- the local sequencer: a channel to the writer thread -----

struct Job {
    submission: Submission,
    reply: oneshot::Sender<Result<Appended, ApiError>>,
}

#[derive(Debug)]
struct LocalSequencer {
    tx: Mutex<mpsc::Sender<Job>>,
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

impl Sequencer for LocalSequencer {
    fn submit(&self, submission: Submission) -> oneshot::Receiver<Result<Appended, ApiError>> {
        use std::sync::atomic::Ordering;
        let (reply, rx) = oneshot::channel();
        if self.queued.load(Ordering::Relaxed) >= MAX_QUEUED {
            let _ = reply.send(Err(ApiError::unavailable()));
            return rx;
        }
        let job = Job { submission, reply };
        // Counted before sending: the writer may take (and uncount) the job at once.
        self.queued.fetch_add(1, Ordering::Relaxed);
        let sent = match self.tx.lock() {
            Ok(tx) => tx.send(job),
            Err(p) => p.into_inner().send(job),
        };
        if let Err(mpsc::SendError(job)) = sent {
            self.queued.fetch_sub(1, Ordering::Relaxed);
            let _ = job.reply.send(Err(ApiError::unavailable()));
        }
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
    published: Arc<RwLock<Published>>,
    witnesses: Vec<WitnessState>,
    witness_timeout: Duration,
    runtime: tokio::runtime::Runtime,
    /// Signed checkpoints not yet copied into the SQLite history (written with the next
    /// transaction, to save a commit).
    history: Vec<StoredCheckpoint>,
    /// Submissions sent but not yet taken by the writer (for back-pressure).
    queued: Arc<std::sync::atomic::AtomicUsize>,
}

/// Where a submission of the batch stands.
enum Outcome {
    /// New or already present at this index.
    Index(u64),
    /// Refused by the policy or failed.
    Refused(ApiError),
}

impl Writer {
    /// After a restart: rewrite the tiles past the last checkpoint (entries committed but not
    /// yet signed) and sign the current size.
    fn recover(&mut self, latest: Option<StoredCheckpoint>) -> Result<(), NodeError> {
        let from = latest.as_ref().map_or(0, |c| c.size);
        let size = self.tree.size();
        self.write_tiles(from, size)?;
        match latest {
            Some(cp) if cp.size == size => {
                self.set_published(cp.size, cp.note);
                Ok(())
            }
            _ => {
                self.sign_and_publish()?;
                Ok(())
            }
        }
    }

    fn run(mut self, rx: mpsc::Receiver<Job>, batch_size: usize, batch_delay: Duration) {
        while let Ok(first) = rx.recv() {
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
            let n = batch.len();
            self.queued
                .fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
            if let Err(e) = self.process(batch) {
                tracing::error!(error = %e, "writer failed; the node stops accepting writes");
                // Drain and refuse everything still queued: an unknown state must not be
                // extended. A restart recovers from disk.
                while let Ok(job) = rx.try_recv() {
                    let _ = job.reply.send(Err(ApiError::unavailable()));
                }
                return;
            }
            tracing::debug!(entries = n, size = self.tree.size(), "batch done");
        }
    }

    fn process(&mut self, batch: Vec<Job>) -> Result<(), NodeError> {
        let old_size = self.tree.size();
        let (jobs, outcomes) = match self.apply(batch) {
            Ok(v) => v,
            Err((jobs, e)) => {
                for job in jobs {
                    let _ = job.reply.send(Err(ApiError::unavailable()));
                }
                return Err(e);
            }
        };
        let new_size = self.tree.size();
        let result = (|| -> Result<(), NodeError> {
            if new_size > old_size {
                self.write_tiles(old_size, new_size)?;
                self.sign_and_publish()?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            for job in jobs {
                let _ = job.reply.send(Err(ApiError::unavailable()));
            }
            return Err(e);
        }
        let published = self.current_published();
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            let answer = match outcome {
                Outcome::Refused(e) => Err(e),
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
            let _ = job.reply.send(answer);
        }
        Ok(())
    }

    /// Step 2: one transaction for the whole batch.
    #[allow(clippy::type_complexity)]
    fn apply(
        &mut self,
        batch: Vec<Job>,
    ) -> Result<(Vec<Job>, Vec<Outcome>), (Vec<Job>, NodeError)> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut pushed: Vec<Hash> = Vec::new();
        let res = (|| -> Result<(), StoreError> {
            let tx = self.conn.unchecked_transaction()?;
            for cp in self.history.drain(..) {
                store::record_checkpoint(&tx, cp.size, &cp.root, &cp.note)?;
            }
            let mut in_batch: HashMap<Hash, u64> = HashMap::new();
            let base = self.tree.size();
            for job in &batch {
                let leaf = leaf_hash(&job.submission.entry);
                if let Some(i) = in_batch.get(&leaf) {
                    outcomes.push(Outcome::Index(*i));
                    continue;
                }
                if let Some(i) = store::entry_index(&tx, &leaf)? {
                    outcomes.push(Outcome::Index(i));
                    continue;
                }
                let index = base + pushed.len() as u64;
                match apply_effect(&tx, &job.submission.effect, index)? {
                    Ok(()) => {
                        store::insert_entry(&tx, index, &leaf, &job.submission.entry)?;
                        in_batch.insert(leaf, index);
                        pushed.push(leaf);
                        outcomes.push(Outcome::Index(index));
                    }
                    Err(refusal) => outcomes.push(Outcome::Refused(refusal)),
                }
            }
            tx.commit()?;
            Ok(())
        })();
        match res {
            Ok(()) => {
                for leaf in pushed {
                    self.tree.push(leaf);
                }
                Ok((batch, outcomes))
            }
            Err(e) => Err((batch, e.into())),
        }
    }

    /// Step 3: tiles and bundles for the growth `old → new`, durable before any signature.
    fn write_tiles(&self, old: u64, new: u64) -> Result<(), NodeError> {
        if new <= old {
            return Ok(());
        }
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        for id in store::changed_tiles(old, new) {
            let bytes = match id.kind {
                TileKind::Entries => {
                    let start = id.index * u64::from(TILE_WIDTH);
                    let entries =
                        store::entries_range(&self.conn, start, start + u64::from(id.width))?;
                    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    try_encode_bundle(&refs)?
                }
                TileKind::Hash { .. } => hash_tile(&self.tree, &id)?,
            };
            let path = store::tile_path(&self.data, &id);
            self.note_new_dirs(&path, &mut dirs);
            store::write_file_synced(&path, &bytes, self.durability)?;
            if let Some(parent) = path.parent() {
                dirs.insert(parent.to_owned());
            }
        }
        if self.durability == Durability::Full {
            for d in dirs {
                store::sync_dir(&d)?;
            }
        }
        Ok(())
    }

    /// Directories `write_file_synced` is about to create: their parents need an fsync too.
    fn note_new_dirs(&self, path: &Path, dirs: &mut BTreeSet<PathBuf>) {
        let mut dir = path.parent();
        while let Some(d) = dir {
            if d == self.data || d.exists() {
                break;
            }
            if let Some(p) = d.parent() {
                dirs.insert(p.to_owned());
            }
            dir = d.parent();
        }
    }

    /// Steps 4 and 5.
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
        let previous = self.checkpoints.latest()?;
        let stored = StoredCheckpoint {
            size,
            root: checkpoint.root,
            note: note.clone(),
        };
        self.checkpoints
            .compare_and_swap(previous.as_ref().map(|c| c.size), &stored)?;
        let mut final_note = note.clone();
        if !self.witnesses.is_empty() {
            let cosignatures = self.push_to_witnesses(&note, size);
            if !cosignatures.is_empty() {
                let mut lines = vec![log_line];
                lines.extend(cosignatures);
                final_note = write_note(&body, &lines);
                let cosigned = StoredCheckpoint {
                    note: final_note.clone(),
                    ..stored.clone()
                };
                self.checkpoints.compare_and_swap(Some(size), &cosigned)?;
            }
        }
        self.history.push(StoredCheckpoint {
            note: final_note.clone(),
            ..stored
        });
        self.set_published(size, final_note);
        Ok(())
    }

    fn set_published(&self, size: u64, note: String) {
        let mut p = match self.published.write() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        *p = Published { size, note };
    }

    fn current_published(&self) -> Published {
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

/// Used by the erase path: the bundle file of a grant.
pub(crate) fn bundle_path(data: &Path, grant_id: &[u8; 16]) -> PathBuf {
    data.join("bundles").join(hex::encode(grant_id))
}

/// Whether tile `id` is part of (a prefix of) the log at `size`: such a tile's content is
/// fixed by committed entries and may be served.
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
