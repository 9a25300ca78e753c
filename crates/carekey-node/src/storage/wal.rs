//! The thread that checkpoints SQLite's WAL: copying committed pages into the database file
//! (with its fsyncs) runs here instead of inside every 1,000th page's commit of the writer.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use crate::error::StoreError;
use crate::storage::{db, Durability};

/// How often the WAL checkpointer copies committed pages into the database file.
const WAL_CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Starts the thread that checkpoints the WAL (`PRAGMA wal_checkpoint(PASSIVE)`: never blocks
/// the writer; with `synchronous=FULL` SQLite fsyncs the WAL before copying and the database
/// after) until the returned sender is dropped. The writer's connection turns its own
/// automatic checkpoints off.
pub(crate) fn start_checkpointer(
    data: &Path,
    durability: Durability,
) -> Result<mpsc::Sender<()>, StoreError> {
    let conn = db::open_db(data, durability)?;
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
        })?;
    Ok(stop)
}
