//! Where the latest signed checkpoint lives, behind a compare-and-swap.
//!
//! On one machine that is the file `<data>/checkpoint`, replaced atomically. With several
//! replicas (ADR 0007) it becomes a key in etcd updated with a transaction comparing the
//! previous size, so that only the leader that extended the last checkpoint can publish the
//! next one, and no two checkpoints of one size can ever both be published.

use std::path::PathBuf;

use carekey_ledger::note::Checkpoint;
use carekey_ledger::Hash;

use crate::error::StoreError;
use crate::storage::files;
use crate::storage::Durability;

/// A signed checkpoint as stored: size, root, and the note (log signature first, then any
/// cosignatures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The whole signed note.
    pub note: String,
}

impl StoredCheckpoint {
    /// Parses a note's body (the text before the last blank line).
    pub fn from_note(note: &str) -> Result<Self, StoreError> {
        let split = note.rfind("\n\n").ok_or(StoreError::Corrupt(
            "stored checkpoint has no signature block",
        ))?;
        let body = Checkpoint::parse_body(&note[..=split])
            .map_err(|_| StoreError::Corrupt("stored checkpoint body is malformed"))?;
        Ok(Self {
            size: body.size,
            root: body.root,
            note: note.to_owned(),
        })
    }
}

/// The durable home of the latest checkpoint.
pub trait CheckpointStore: Send + std::fmt::Debug {
    /// The latest stored checkpoint, if any.
    fn latest(&self) -> Result<Option<StoredCheckpoint>, StoreError>;

    /// Stores `new` if the latest checkpoint still has size `old_size` (`None`: no checkpoint
    /// yet). Refuses a smaller size, and a different root at the same size
    /// ([`StoreError::Equivocation`]); the same size and root may be stored again (to add
    /// cosignatures).
    fn compare_and_swap(
        &mut self,
        old_size: Option<u64>,
        new: &StoredCheckpoint,
    ) -> Result<(), StoreError>;
}

/// [`CheckpointStore`] on the file `<data>/checkpoint`, replaced atomically: with
/// [`Durability::Full`] by a fsynced temporary file, rename and directory fsync; with
/// [`Durability::None`] by writing `<data>/checkpoint.next` and exchanging the two names, no
/// fsync. The node uses the latter: its checkpoints are re-derivable from SQLite, which holds
/// every entry they cover durably before they are signed (see ADR 0011).
#[derive(Debug)]
pub struct FileCheckpointStore {
    path: PathBuf,
    durability: Durability,
    current: Option<StoredCheckpoint>,
}

impl FileCheckpointStore {
    /// Opens the store, reading the current file if there is one. A torn file is an error
    /// ([`StoreError::Corrupt`], or [`StoreError::Io`] for bytes that are not UTF-8).
    pub fn open(path: PathBuf, durability: Durability) -> Result<Self, StoreError> {
        let current = match std::fs::read_to_string(&path) {
            Ok(note) => Some(StoredCheckpoint::from_note(&note)?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            path,
            durability,
            current,
        })
    }
}

impl CheckpointStore for FileCheckpointStore {
    fn latest(&self) -> Result<Option<StoredCheckpoint>, StoreError> {
        Ok(self.current.clone())
    }

    fn compare_and_swap(
        &mut self,
        old_size: Option<u64>,
        new: &StoredCheckpoint,
    ) -> Result<(), StoreError> {
        let current = self.current.as_ref();
        if current.map(|c| c.size) != old_size {
            return Err(StoreError::Corrupt(
                "checkpoint compare-and-swap lost: the stored size changed",
            ));
        }
        if let Some(c) = current {
            if new.size < c.size {
                return Err(StoreError::Corrupt(
                    "refusing to store a smaller checkpoint",
                ));
            }
            if new.size == c.size && new.root != c.root {
                return Err(StoreError::Equivocation { size: new.size });
            }
        }
        match self.durability {
            Durability::Full => {
                files::write_atomic(&self.path, new.note.as_bytes(), self.durability)?
            }
            Durability::None => files::write_swapped(&self.path, new.note.as_bytes())?,
        }
        self.current = Some(new.clone());
        Ok(())
    }
}
