//! Storage, the bottom layer: the SQLite database ([`db`], with the hosted SMART Health Links
//! in [`links`]), the files under the data directory ([`files`]), the checkpoint file
//! ([`checkpoints`]) and the thread that checkpoints SQLite's WAL ([`wal`]). Imports nothing from `crate::service` or `crate::http`.

pub(crate) mod checkpoints;
pub(crate) mod db;
pub(crate) mod files;
pub(crate) mod links;
pub(crate) mod wal;

/// How hard the node pushes data to stable storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// SQLite `synchronous=FULL`, every file and directory fsynced (production).
    #[default]
    Full,
    /// No fsync at all and SQLite `synchronous=OFF`: the same code path, for measuring the
    /// ceiling the disk imposes. Never for a real log.
    None,
}
