//! The auditor (`carekey-node verify`): reads a whole log through `carekey-ledger`'s one log
//! reader (ADR 0014) and replays the part of the policy that needs no off-log data.
//!
//! From a node URL or a mirror directory (a node's data directory is one) it reads the
//! checkpoint and opens it with the pinned log key; it verifies the tiles the root is made of
//! against the signed root, reads every entry bundle of that size and checks each entry's leaf
//! hash (computed here) against the signed tree, then reads every hash tile the log serves and
//! compares it with the verified one. Each entry, once verified, must parse and its signature
//! verify; a revocation follows a grant commitment with the same grant key and is not a second
//! one; no two commitments share a grant key; an access event is signed by the log key and
//! names a committed, unrevoked, unerased grant key. The first problem is reported with the
//! entry index and the tile it came from.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use carekey_ledger::note::NoteVerifier;
use carekey_ledger::reader::{read_checkpoint, LogKeys, VerifiedTree};
use carekey_ledger::tiles::{tiles_for_size, TileKind, TILE_WIDTH};
use carekey_ledger::transport::{DirTransport, Transport};
use carekey_ledger::{FetchError, Hash, ReadError};
use carekey_model::ledger::Entry;
use thiserror::Error;

use crate::client::HttpTransport;

/// Where the auditor reads the log from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A node or HTTP mirror: `http://host:port[/prefix]`.
    Url(String),
    /// A mirror directory holding `checkpoint` and `tile/`.
    Dir(PathBuf),
}

impl Source {
    /// `http://...` is a URL, anything else a directory.
    pub fn parse(s: &str) -> Self {
        if s.starts_with("http://") || s.starts_with("https://") {
            Self::Url(s.trim_end_matches('/').to_owned())
        } else {
            Self::Dir(PathBuf::from(s))
        }
    }

    /// The transport that reads it.
    fn transport(&self) -> Result<Box<dyn Transport>, AuditError> {
        Ok(match self {
            Self::Dir(dir) => Box::new(DirTransport::new(dir.clone())),
            Self::Url(url) => Box::new(HttpTransport::new(url).map_err(|e| AuditError::Read {
                path: url.clone(),
                reason: e.to_string(),
            })?),
        })
    }
}

/// What a passing audit established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The audited checkpoint's size.
    pub size: u64,
    /// Its root, which every entry and tile was verified against.
    pub root: Hash,
}

/// The first problem found.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The checkpoint or a tile could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// What was being read (its URL or file path).
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// The checkpoint did not open with the pinned log key.
    #[error("checkpoint rejected: {0}")]
    Checkpoint(String),
    /// A hash tile or entry bundle is malformed (wrong length, truncated, wrong entry count).
    #[error("{tile}: malformed: {reason}")]
    Malformed {
        /// The tile's path.
        tile: String,
        /// What was wrong.
        reason: String,
    },
    /// An entry is not the one the signed tree holds, fails to parse or verify, or breaks the
    /// policy.
    #[error("entry {index} (in {tile}): {reason}")]
    Entry {
        /// The entry's index in the log.
        index: u64,
        /// The bundle it was read from.
        tile: String,
        /// What was wrong.
        reason: String,
    },
    /// A hash tile served differs from the one verified against the signed root.
    #[error("{tile} does not match the signed tree (first difference at position {position})")]
    Tile {
        /// The tile's path.
        tile: String,
        /// The first hash that differs, as a position in the tile.
        position: usize,
    },
    /// Tiles or an entry bundle do not match the signed root (for the tiles the root is made
    /// of, all of them, comma-separated).
    #[error("{tile} does not match the root of the checkpoint")]
    Tampered {
        /// The tile's path, or paths.
        tile: String,
    },
}

impl From<ReadError> for AuditError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Fetch(f) => fetch_error(f),
            ReadError::Checkpoint(n) => AuditError::Checkpoint(n.to_string()),
            ReadError::TamperedEntry { path, index } => AuditError::Entry {
                index,
                tile: path,
                reason: "not the entry the signed tree holds".to_owned(),
            },
            ReadError::TileMismatch { path, position } => AuditError::Tile {
                tile: path,
                position,
            },
            ReadError::TamperedTile { path } => AuditError::Tampered { tile: path },
            ReadError::BadTile { path, reason } => AuditError::Malformed { tile: path, reason },
            other => AuditError::Checkpoint(other.to_string()),
        }
    }
}

fn fetch_error(e: FetchError) -> AuditError {
    let (path, reason) = match e {
        FetchError::NotFound { location } => (location, "not found".to_owned()),
        FetchError::TooLarge { location, limit } => {
            (location, format!("larger than the {limit} bytes allowed"))
        }
        FetchError::Status { location, status } => (location, format!("HTTP {status}")),
        FetchError::Unreachable { location, reason } => (location, reason),
        FetchError::BadPath { path } => (path, "not a path inside a log".to_owned()),
        other => (String::new(), other.to_string()),
    };
    AuditError::Read { path, reason }
}

/// Audits the log at `source` against the pinned `log` verifier key (type 0x01). `now` bounds
/// cosignature timestamps. Must not be called from inside an async runtime (it runs its own
/// for URLs).
pub fn audit(source: &Source, log: &NoteVerifier, now: u64) -> Result<AuditReport, AuditError> {
    let transport = source.transport()?;
    let keys = LogKeys::log_only(log.clone());
    let opened = read_checkpoint(&*transport, &keys, now)?;
    let size = opened.checkpoint.size;
    let mut tree = VerifiedTree::open(&*transport, &opened.checkpoint)?;
    let mut policy = Policy::new(*log.public_key().as_bytes());
    let ids = tiles_for_size(size);
    for id in ids.iter().filter(|id| id.kind == TileKind::Entries) {
        let entries = tree.entries(id.index)?;
        for (i, entry) in entries.iter().enumerate() {
            let index = id.index * u64::from(TILE_WIDTH) + i as u64;
            policy.check(entry).map_err(|reason| AuditError::Entry {
                index,
                tile: id.path(),
                reason,
            })?;
        }
    }
    for id in ids.iter().filter(|id| id.kind != TileKind::Entries) {
        tree.check_served(*id)?;
    }
    Ok(AuditReport {
        size,
        root: opened.checkpoint.root,
    })
}

/// The policy rules an auditor can replay from the log alone.
struct Policy {
    log_key: [u8; 32],
    committed: HashSet<[u8; 32]>,
    /// Grant key → from when it is revoked: 0 at once, a later time for a shortened grant.
    revoked: HashMap<[u8; 32], u64>,
    erased: HashSet<[u8; 32]>,
}

impl Policy {
    fn new(log_key: [u8; 32]) -> Self {
        Self {
            log_key,
            committed: HashSet::new(),
            revoked: HashMap::new(),
            erased: HashSet::new(),
        }
    }

    fn check(&mut self, bytes: &[u8]) -> Result<(), String> {
        let entry = Entry::from_bytes(bytes).map_err(|e| format!("not a valid entry: {e}"))?;
        match &entry {
            Entry::Grant(c) => {
                let key = *c.document().grant_key.as_bytes();
                if !self.committed.insert(key) {
                    return Err("a second grant commitment with the same grant key".into());
                }
            }
            Entry::Revocation(r) => {
                let key = *r.document().grant_key.as_bytes();
                if !self.committed.contains(&key) {
                    return Err("revocation of a grant key with no earlier grant commitment".into());
                }
                // A second revocation may only end a shortened grant sooner (the node also
                // checks that the first had not taken effect yet, against its own clock).
                let ends_at = r.document().ends_at.unwrap_or(0);
                match self.revoked.get(&key) {
                    Some(&from) if from == 0 || ends_at >= from => {
                        return Err("a second revocation of the same grant key".into());
                    }
                    _ => {
                        self.revoked.insert(key, ends_at);
                    }
                }
            }
            Entry::Erasure(e) => {
                self.erased.insert(*e.document().erasure_key.as_bytes());
            }
            Entry::LinkOpen(o) => {
                // Who opened which link is the patient's to know (sealed); the auditor checks
                // only that the node itself vouches for the event.
                if o.document().node_key.as_bytes() != &self.log_key {
                    return Err("link-open event not signed by the log key".into());
                }
            }
            Entry::Access(a) => {
                let d = a.document();
                let key = *d.grant_key.as_bytes();
                if d.node_key.as_bytes() != &self.log_key {
                    return Err("access event not signed by the log key".into());
                }
                if !self.committed.contains(&key) {
                    return Err(
                        "access event for a grant key with no earlier grant commitment".into(),
                    );
                }
                if self
                    .revoked
                    .get(&key)
                    .is_some_and(|&from| from <= d.logged_at)
                {
                    return Err("access event after the grant's revocation".into());
                }
                if self.erased.contains(&key) {
                    return Err("access event after the grant's erasure".into());
                }
            }
        }
        Ok(())
    }
}
