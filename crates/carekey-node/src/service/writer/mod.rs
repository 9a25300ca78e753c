//! The writer: one thread that owns the database connection that writes, the in-memory tree
//! and the checkpoint file, and appends in batches. Its tile writes are in [`tiles`], its
//! witness pushes in [`witnesses`]; the stateful policy it applies per entry in
//! [`crate::service::policy`]. The handle in front of it is [`crate::service::Node`].
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
//!    `CheckpointStore::compare_and_swap`: never a second root for one size), again by
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

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use carekey_ledger::note::{write_note, Checkpoint};
use carekey_ledger::tiles::TILE_WIDTH;
use carekey_ledger::Tree;
use rusqlite::Connection;

use crate::error::{ApiError, NodeError, StoreError};
use crate::keys::LogKey;
use crate::service::health::{Health, WriterStatus};
use crate::service::sequencer::{Job, LocalSequencer};
use crate::storage::checkpoints::{CheckpointStore, FileCheckpointStore, StoredCheckpoint};
use crate::storage::{db, wal, Durability};

mod batch;
#[cfg(test)]
pub(crate) mod test_hooks;
#[cfg(test)]
mod tests;
mod tiles;
mod witnesses;

use tiles::MAX_MIRROR_LAG;
pub(crate) use tiles::{tile_within, Published};
use witnesses::Witness;
pub use witnesses::WitnessTarget;

/// How often a failed writer is reopened before the node gives up (with a doubling pause
/// from [`RESTART_PAUSE`] between attempts).
const RESTART_ATTEMPTS: u32 = 5;
const RESTART_PAUSE: Duration = Duration::from_millis(100);
/// How often a batch whose transaction failed with a transient SQLite error (busy, locked)
/// is tried again before the writer counts as failed.
const TRANSIENT_RETRIES: u32 = 5;

/// The writer thread's state.
struct Writer {
    conn: Connection,
    data: PathBuf,
    durability: Durability,
    tree: Tree,
    key: Arc<LogKey>,
    checkpoints: Box<dyn CheckpointStore>,
    published: Arc<RwLock<Arc<Published>>>,
    witnesses: Vec<Witness>,
    witness_timeout: Duration,
    runtime: tokio::runtime::Runtime,
    /// Signed checkpoints not yet copied into the SQLite history (written with the next
    /// transaction, to save a commit).
    history: Vec<StoredCheckpoint>,
    /// Submissions sent but not yet taken by the writer (for back-pressure).
    queued: Arc<AtomicUsize>,
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

/// A started writer: what the node's handle shares with it.
pub(super) struct Started {
    pub(super) key: Arc<LogKey>,
    pub(super) published: Arc<RwLock<Arc<Published>>>,
    pub(super) sequencer: LocalSequencer,
    pub(super) health: Arc<Health>,
}

/// What the writer needs to start.
pub(super) struct WriterOptions {
    pub(super) data_dir: PathBuf,
    pub(super) key: LogKey,
    pub(super) witnesses: Vec<WitnessTarget>,
    pub(super) batch_size: usize,
    pub(super) batch_delay: Duration,
    pub(super) witness_timeout: Duration,
    pub(super) durability: Durability,
}

/// Opens the database and the checkpoint file, recovers after any crash (or reboot), signs a
/// checkpoint for everything stored, and starts the writer thread.
pub(super) fn start(opts: WriterOptions) -> Result<Started, NodeError> {
    let conn = db::open_db(&opts.data_dir, opts.durability)?;
    // WAL checkpoints (copying the WAL into the database file, with its fsyncs) run on a
    // thread of their own instead of inside every 1,000th page's commit of the writer.
    conn.pragma_update(None, "wal_autocheckpoint", 0)
        .map_err(StoreError::from)?;
    let wal_stop = wal::start_checkpointer(&opts.data_dir, opts.durability)?;
    // Same boot as when every tile file was last known durable: the page cache still holds
    // every write the previous process made, so its files are exactly what it wrote.
    let boot = db::boot_id();
    let same_boot = boot.is_some() && db::meta(&conn, db::TILES_SYNCED_BOOT)? == boot;
    let checkpoint_file = opts.data_dir.join("checkpoint");
    // The checkpoint file is a copy written without fsync (SQLite is the source of truth):
    // after a reboot it may be torn; then it is dropped and the current size signed again.
    let checkpoints = match FileCheckpointStore::open(checkpoint_file.clone(), Durability::None) {
        Err(e) if !same_boot && torn(&e) => {
            tracing::warn!(error = %e, "checkpoint file unreadable after a reboot; signing again from the database");
            std::fs::remove_file(&checkpoint_file).map_err(StoreError::from)?;
            FileCheckpointStore::open(checkpoint_file, Durability::None)?
        }
        other => other?,
    };
    let key = Arc::new(opts.key);
    let tree = Tree::from_leaf_hashes(db::load_leaves(&conn)?);
    let tail_start = tree.size() / u64::from(TILE_WIDTH) * u64::from(TILE_WIDTH);
    let tail = db::entries_range(&conn, tail_start, tree.size())?;
    let latest = checkpoints.latest()?;
    if let Some(cp) = &latest {
        if cp.size > tree.size() || tree.root_at(cp.size)? != cp.root {
            return Err(NodeError::CheckpointMismatch { size: cp.size });
        }
    }
    let published = Arc::new(RwLock::new(Arc::new(Published::default())));
    let witnesses = opts.witnesses.into_iter().map(Witness::new).collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(StoreError::from)?;
    let mut writer = Writer {
        conn,
        data: opts.data_dir,
        durability: opts.durability,
        tree,
        key: key.clone(),
        checkpoints: Box::new(checkpoints),
        published: published.clone(),
        witnesses,
        witness_timeout: opts.witness_timeout,
        runtime,
        history: Vec::new(),
        queued: Arc::new(AtomicUsize::new(0)),
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
    Ok(Started {
        key,
        published,
        sequencer: LocalSequencer {
            tx: Mutex::new(tx),
            queued,
        },
        health,
    })
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
                db::set_meta(&self.conn, db::TILES_SYNCED_BOOT, &boot)?;
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
                self.queued.fetch_sub(batch.len(), Ordering::Relaxed);
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
            let restarts = health.restarts.fetch_add(1, Ordering::Relaxed) + 1;
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

    /// What `Node::start` does after a crash, in this process (so under the same boot):
    /// reopen the database and the checkpoint file, rebuild the tree from the committed
    /// entries, check it against the stored checkpoint, rewrite the tiles past it, sign and
    /// publish the current size.
    fn reload(&mut self) -> Result<(), NodeError> {
        #[cfg(test)]
        if test_hooks::fire(&self.data, test_hooks::Point::Reload) {
            return Err(StoreError::Corrupt("injected failure (test)").into());
        }
        let conn = db::open_db(&self.data, self.durability)?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(StoreError::from)?;
        let checkpoints =
            FileCheckpointStore::open(self.data.join("checkpoint"), Durability::None)?;
        let tree = Tree::from_leaf_hashes(db::load_leaves(&conn)?);
        let latest = checkpoints.latest()?;
        if let Some(cp) = &latest {
            if cp.size > tree.size() || tree.root_at(cp.size)? != cp.root {
                return Err(NodeError::CheckpointMismatch { size: cp.size });
            }
        }
        self.tail_start = tree.size() / u64::from(TILE_WIDTH) * u64::from(TILE_WIDTH);
        self.tail = db::entries_range(&conn, self.tail_start, tree.size())?;
        self.conn = conn;
        self.checkpoints = Box::new(checkpoints);
        self.tree = tree;
        self.unflushed = None;
        self.recover(latest, true, None)
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
