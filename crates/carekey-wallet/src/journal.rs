//! The erasure journal: the ledger writes `erase --all` could not send before it destroyed
//! the vault.
//!
//! Erasing the whole wallet destroys every key, so the revocations, erasure entries and
//! deletions it needs are signed first and sent at once; whatever a node did not acknowledge
//! is kept in this small file beside the (gone) vault directory, `<vault>.erasure-journal`.
//! It holds only those signed messages, never a key: a revocation entry, an erasure entry, a
//! bundle deletion or a backup-share deletion, each signed by its one-purpose key. The CLI and
//! the app keep flushing it (`carekey sync`, the app's sync) until it is empty, and then
//! delete it.

use std::path::{Path, PathBuf};

use carekey_sync::{NodeClient, Outbox, OutboxOp};
use carekey_vault::atomic;
use serde::{Deserialize, Serialize};

use crate::patient::nodes::outbox_nodes;
use crate::{OutboxNode, WalletError};

const FORMAT: &str = "carekey-erasure-journal/v1";

/// The state of an erasure journal after a flush.
#[derive(Clone, Debug, Serialize)]
pub struct JournalReport {
    /// Writes acknowledged (or refused for good) by their node in this flush.
    pub sent: usize,
    /// What still waits, node by node (empty: the journal is done and deleted).
    pub pending: Vec<OutboxNode>,
}

#[derive(Serialize, Deserialize)]
struct JournalFile {
    format: String,
    outbox: Outbox,
}

/// Where the erasure journal of the wallet in `vault_dir` lives: beside it, so destroying the
/// vault directory leaves it.
pub fn journal_path(vault_dir: &Path) -> PathBuf {
    let mut name = vault_dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "carekey".into());
    name.push(".erasure-journal");
    vault_dir.with_file_name(name)
}

/// Keeps only what the journal may hold: signed ledger entries that end or erase something,
/// and deletions. Grant commitments (a node that never got one cannot serve the grant),
/// bundle uploads and backup-share uploads (they carry key material) are dropped.
pub(crate) fn journal_items(outbox: &Outbox) -> Outbox {
    let items = outbox
        .items
        .iter()
        .filter(|i| match &i.op {
            OutboxOp::Submit { grant, .. } => grant.is_none(),
            OutboxOp::Delete { .. } | OutboxOp::DeleteShare { .. } | OutboxOp::EndLink { .. } => {
                true
            }
            OutboxOp::Upload { .. } | OutboxOp::PutShare { .. } => false,
        })
        .cloned()
        .collect();
    Outbox { items }
}

/// Writes the journal (replacing it), or removes it when `outbox` is empty.
pub(crate) fn write(vault_dir: &Path, outbox: &Outbox) -> Result<(), WalletError> {
    let path = journal_path(vault_dir);
    if outbox.items.is_empty() {
        return match atomic::remove(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(WalletError::io("deleting", &path, e))
            }
            _ => Ok(()),
        };
    }
    let file = JournalFile {
        format: FORMAT.to_owned(),
        outbox: outbox.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(|e| WalletError::Journal {
        path: path.clone(),
        reason: format!("encoding: {e}"),
    })?;
    atomic::write(&path, &bytes).map_err(|e| WalletError::io("writing", &path, e))
}

fn read(path: &Path) -> Result<Option<Outbox>, WalletError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(WalletError::io("reading", path, e)),
    };
    let file: JournalFile = serde_json::from_slice(&bytes).map_err(|e| WalletError::Journal {
        path: path.to_owned(),
        reason: format!("damaged ({e}); it is left in place"),
    })?;
    if file.format != FORMAT {
        return Err(WalletError::Journal {
            path: path.to_owned(),
            reason: format!("not a carekey erasure journal ({})", file.format),
        });
    }
    Ok(Some(file.outbox))
}

/// What the journal of the wallet in `vault_dir` still holds, per node (`None`: no journal).
pub fn erasure_journal(vault_dir: &Path) -> Result<Option<Vec<OutboxNode>>, WalletError> {
    Ok(read(&journal_path(vault_dir))?.map(|o| outbox_nodes(&o)))
}

/// Sends what the erasure journal beside `vault_dir` holds; keeps what a node did not
/// acknowledge, deletes the journal once empty. `Ok(None)` when there is no journal.
pub fn flush_erasure_journal(
    vault_dir: &Path,
    now: u64,
) -> Result<Option<JournalReport>, WalletError> {
    let Some(mut outbox) = read(&journal_path(vault_dir))? else {
        return Ok(None);
    };
    // Retry everything now: the patient (or the app's timer) asked for it.
    outbox.retry_now(now);
    let sent = outbox.flush(now, &|url: &str| NodeClient::new(url)).len();
    write(vault_dir, &outbox)?;
    Ok(Some(JournalReport {
        sent,
        pending: outbox_nodes(&outbox),
    }))
}
