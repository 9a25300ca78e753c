//! The auditor (`carekey-node verify`): re-derives a log from its entries and replays the part
//! of the policy that needs no off-log data.
//!
//! From a node URL or a mirror directory it reads the checkpoint and opens it with the pinned
//! log key, reads every entry bundle of that size, computes every leaf hash itself, rebuilds the
//! tree and compares every hash tile and the root, and checks each entry: it parses and its
//! signature verifies; a revocation follows a grant commitment with the same grant key and is
//! not a second one; no two commitments share a grant key; an access event is signed by the
//! log key and names a committed, unrevoked, unerased grant key. The first problem is reported
//! with the entry index and the tile it came from.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use carekey_ledger::note::{open_checkpoint_bytes, NoteVerifier};
use carekey_ledger::tiles::{
    decode_bundle, hash_tile, tiles_for_size, TileId, TileKind, TILE_WIDTH,
};
use carekey_ledger::{leaf_hash, Hash, Tree};
use carekey_model::ledger::Entry;
use thiserror::Error;

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
}

/// What a passing audit established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    /// The audited checkpoint's size.
    pub size: u64,
    /// Its root, recomputed from the entries.
    pub root: Hash,
}

/// The first problem found.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum AuditError {
    /// The checkpoint or a tile could not be read.
    #[error("cannot read {path}: {reason}")]
    Read {
        /// What was being read.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// The checkpoint did not open with the pinned log key.
    #[error("checkpoint rejected: {0}")]
    Checkpoint(String),
    /// An entry bundle is malformed.
    #[error("{tile}: malformed entry bundle: {reason}")]
    Bundle {
        /// The bundle's path.
        tile: String,
        /// What was wrong.
        reason: String,
    },
    /// An entry fails to parse or verify, or breaks the policy.
    #[error("entry {index} (in {tile}): {reason}")]
    Entry {
        /// The entry's index in the log.
        index: u64,
        /// The bundle it was read from.
        tile: String,
        /// What was wrong.
        reason: String,
    },
    /// A hash tile differs from the one recomputed from the entries.
    #[error(
        "{tile} does not match the hashes of the entries (first difference at position {position})"
    )]
    Tile {
        /// The tile's path.
        tile: String,
        /// The first hash that differs, as a position in the tile.
        position: usize,
    },
    /// The recomputed root differs from the checkpoint's.
    #[error("the root recomputed from the entries does not match the checkpoint of size {size}")]
    Root {
        /// The checkpoint's size.
        size: u64,
    },
}

trait Reader {
    fn read(&self, path: &str) -> Result<Vec<u8>, AuditError>;
}

struct DirReader(PathBuf);

impl Reader for DirReader {
    fn read(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        std::fs::read(self.0.join(path)).map_err(|e| AuditError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }
}

struct UrlReader {
    base: String,
    runtime: tokio::runtime::Runtime,
}

impl Reader for UrlReader {
    fn read(&self, path: &str) -> Result<Vec<u8>, AuditError> {
        let url = format!("{}/{path}", self.base);
        let err = |reason: String| AuditError::Read {
            path: path.to_owned(),
            reason,
        };
        let reply = self
            .runtime
            .block_on(crate::client::send(
                hyper::Method::GET,
                &url,
                Vec::new(),
                &[],
                Duration::from_secs(30),
                8 << 20,
            ))
            .map_err(|e| err(e.to_string()))?;
        if !reply.status.is_success() {
            return Err(err(format!("HTTP {}", reply.status)));
        }
        Ok(reply.body.to_vec())
    }
}

/// Audits the log at `source` against the pinned `log` verifier key (type 0x01). `now` bounds
/// cosignature timestamps. Must not be called from inside an async runtime (it runs its own
/// for URLs).
pub fn audit(source: &Source, log: &NoteVerifier, now: u64) -> Result<AuditReport, AuditError> {
    let reader: Box<dyn Reader> = match source {
        Source::Dir(d) => Box::new(DirReader(d.clone())),
        Source::Url(u) => Box::new(UrlReader {
            base: u.clone(),
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| AuditError::Read {
                    path: u.clone(),
                    reason: e.to_string(),
                })?,
        }),
    };
    let note = reader.read("checkpoint")?;
    let opened = open_checkpoint_bytes(&note, log, &[], now)
        .map_err(|e| AuditError::Checkpoint(e.to_string()))?;
    let size = opened.checkpoint.size;
    let mut policy = Policy::new(*log.public_key().as_bytes());
    let mut leaves = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let ids = tiles_for_size(size);
    for id in ids.iter().filter(|id| id.kind == TileKind::Entries) {
        let tile = id.path();
        let bytes = reader.read(&tile)?;
        let entries =
            decode_bundle(&bytes, usize::from(id.width)).map_err(|e| AuditError::Bundle {
                tile: tile.clone(),
                reason: e.to_string(),
            })?;
        for (i, entry) in entries.iter().enumerate() {
            let index = id.index * u64::from(TILE_WIDTH) + i as u64;
            policy.check(entry).map_err(|reason| AuditError::Entry {
                index,
                tile: tile.clone(),
                reason,
            })?;
            leaves.push(leaf_hash(entry));
        }
    }
    let tree = Tree::from_leaf_hashes(leaves);
    for id in ids.iter().filter(|id| id.kind != TileKind::Entries) {
        compare_tile(&*reader, &tree, id)?;
    }
    if tree.root() != opened.checkpoint.root {
        return Err(AuditError::Root { size });
    }
    Ok(AuditReport {
        size,
        root: tree.root(),
    })
}

fn compare_tile(reader: &dyn Reader, tree: &Tree, id: &TileId) -> Result<(), AuditError> {
    let tile = id.path();
    let expected = hash_tile(tree, id).map_err(|e| AuditError::Read {
        path: tile.clone(),
        reason: e.to_string(),
    })?;
    let got = reader.read(&tile)?;
    if got != expected {
        let position = got
            .chunks(32)
            .zip(expected.chunks(32))
            .position(|(a, b)| a != b)
            .unwrap_or(expected.len().min(got.len()) / 32);
        return Err(AuditError::Tile { tile, position });
    }
    Ok(())
}

/// The policy rules an auditor can replay from the log alone.
struct Policy {
    log_key: [u8; 32],
    committed: HashSet<[u8; 32]>,
    revoked: HashSet<[u8; 32]>,
    erased: HashSet<[u8; 32]>,
}

impl Policy {
    fn new(log_key: [u8; 32]) -> Self {
        Self {
            log_key,
            committed: HashSet::new(),
            revoked: HashSet::new(),
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
                if !self.revoked.insert(key) {
                    return Err("a second revocation of the same grant key".into());
                }
            }
            Entry::Erasure(e) => {
                self.erased.insert(*e.document().erasure_key.as_bytes());
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
                if self.revoked.contains(&key) {
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
