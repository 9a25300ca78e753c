//! The one log reader: verified reads of a log through any [`Transport`].
//!
//! - [`LogKeys`] holds the pinned keys: the checkpoint must carry a valid signature by the log
//!   key and cosignatures by a quorum of distinct pinned witnesses, the newest of them fresh
//!   enough ([`LogKeys::open`], [`read_checkpoint`]).
//! - [`VerifiedTree`] reads the hash tiles and entry bundles of one signed tree. Every hash
//!   tile is verified against the signed root before any of its hashes is used: the tiles the
//!   root is made of are checked together against the checkpoint's root hash, and every other
//!   (full) tile by hashing it up to its parent's entry, as Go's checksum database client does.
//!   Leaf hashes are always computed here from entry bytes. On that ground it answers
//!   inclusion ([`VerifiedTree::includes`]) and consistency ([`VerifiedTree::extends`])
//!   questions and hands out entries ([`VerifiedTree::entries`]) that are in the signed tree.
//!
//! A partial tile a source no longer serves is read from the full tile at the same index and
//! cut to width: a log's hashes and entries never change, so the partial tile is a prefix of
//! the full one.

use std::collections::HashMap;

use crate::note::{open_checkpoint_bytes, Checkpoint, NoteVerifier, OpenedCheckpoint};
use crate::tiles::{
    consistency_proof_from_tiles, decode_bundle, inclusion_proof_from_tiles, root_from_tiles,
    tiles_for_consistency, tiles_for_leaf, tiles_for_root, TileError, TileId, TileKind, TileSource,
    HASH_SIZE, MAX_LEVEL, TILE_HEIGHT, TILE_WIDTH,
};
use crate::transport::{fetch_checkpoint, fetch_tile, Transport};
use crate::{
    leaf_hash, node_hash, verify_consistency, verify_inclusion, FetchError, Hash, ReadError,
};

/// The keys a log is read under, pinned by the reader (never learnt from the log).
#[derive(Debug, Clone)]
pub struct LogKeys {
    log: NoteVerifier,
    witnesses: Vec<NoteVerifier>,
    quorum: usize,
    max_age_secs: u64,
}

impl LogKeys {
    /// The log key alone: no witness required, no freshness bound (an auditor, a local node).
    pub fn log_only(log: NoteVerifier) -> Self {
        Self {
            log,
            witnesses: Vec::new(),
            quorum: 0,
            max_age_secs: 0,
        }
    }

    /// The log key, the witnesses' keys (a type 0x01 key of a witness is used for its
    /// cosignatures; a witness counts once however often it is listed), how many distinct
    /// witnesses must cosign, and how old the newest cosignature may be (0: no bound).
    pub fn new(
        log: NoteVerifier,
        witnesses: &[NoteVerifier],
        quorum: usize,
        max_age_secs: u64,
    ) -> Self {
        let mut distinct: Vec<NoteVerifier> = Vec::new();
        for w in witnesses {
            let w = w.for_cosignatures();
            if !distinct.iter().any(|v| v.name() == w.name()) {
                distinct.push(w);
            }
        }
        Self {
            log,
            witnesses: distinct,
            quorum,
            max_age_secs,
        }
    }

    /// The log's key.
    pub fn log(&self) -> &NoteVerifier {
        &self.log
    }

    /// The witnesses' cosignature keys, each once.
    pub fn witnesses(&self) -> &[NoteVerifier] {
        &self.witnesses
    }

    /// How many distinct pinned witnesses must cosign.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Opens a checkpoint note: strict parse, the log's signature, cosignatures (none dated
    /// more than 60 s after `now`), the quorum, and freshness.
    pub fn open(&self, note: &[u8], now: u64) -> Result<OpenedCheckpoint, ReadError> {
        let opened = open_checkpoint_bytes(note, &self.log, &self.witnesses, now)
            .map_err(ReadError::Checkpoint)?;
        self.check_quorum(&opened)?;
        if self.max_age_secs > 0 {
            if let Some(newest) = newest_cosignature(&opened) {
                let age = now.saturating_sub(newest);
                if age > self.max_age_secs {
                    return Err(ReadError::Stale {
                        age,
                        max: self.max_age_secs,
                    });
                }
            }
        }
        Ok(opened)
    }

    /// Checks that an opened checkpoint carries cosignatures of a quorum of these witnesses.
    pub fn check_quorum(&self, opened: &OpenedCheckpoint) -> Result<(), ReadError> {
        // `open_checkpoint` lists each known witness at most once.
        let have = opened.cosignatures.len();
        if have < self.quorum {
            return Err(ReadError::NoQuorum {
                have,
                need: self.quorum,
            });
        }
        Ok(())
    }

    /// The newest time a pinned witness vouched for `opened`, when witnesses are required at
    /// all: with a quorum of 0 nothing independent of the log vouches for freshness.
    pub fn fresh_as_of(&self, opened: &OpenedCheckpoint) -> Option<u64> {
        if self.quorum > 0 {
            newest_cosignature(opened)
        } else {
            None
        }
    }
}

fn newest_cosignature(opened: &OpenedCheckpoint) -> Option<u64> {
    opened.cosignatures.iter().map(|(_, t)| *t).max()
}

/// Fetches the current checkpoint and opens it under `keys` ([`LogKeys::open`]).
pub fn read_checkpoint(
    transport: &dyn Transport,
    keys: &LogKeys,
    now: u64,
) -> Result<OpenedCheckpoint, ReadError> {
    let note = fetch_checkpoint(transport)?;
    keys.open(&note, now)
}

/// Whether the tree read by a [`VerifiedTree`] extends an older signed tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extension {
    /// The consistency proof, rebuilt from verified tiles, leads from the old root to the new.
    Extends,
    /// It does not: the log forked. `proof` is the consistency proof that fails, kept as
    /// evidence anyone can re-check.
    Forks {
        /// The failing consistency proof.
        proof: Vec<Hash>,
    },
}

/// The hash tiles and entry bundles of one signed tree, each verified before use.
pub struct VerifiedTree<'t> {
    transport: &'t dyn Transport,
    size: u64,
    root: Hash,
    verified: HashMap<TileId, Vec<u8>>,
}

impl std::fmt::Debug for VerifiedTree<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTree")
            .field("size", &self.size)
            .field("verified_tiles", &self.verified.len())
            .finish_non_exhaustive()
    }
}

impl<'t> VerifiedTree<'t> {
    /// Reads the tiles the root of `checkpoint` is made of and checks them, together, against
    /// its root hash.
    pub fn open(transport: &'t dyn Transport, checkpoint: &Checkpoint) -> Result<Self, ReadError> {
        let mut tree = Self {
            transport,
            size: checkpoint.size,
            root: checkpoint.root,
            verified: HashMap::new(),
        };
        let spine = tiles_for_root(checkpoint.size);
        let mut candidate = HashMap::new();
        for id in &spine {
            candidate.insert(*id, tree.fetch_hash_tile(id)?);
        }
        let root = root_from_tiles(&MapView(&candidate), checkpoint.size)
            .map_err(|e| tree.tile_error(e))?;
        if root != checkpoint.root {
            let paths: Vec<String> = spine.iter().map(TileId::path).collect();
            return Err(ReadError::TamperedTile {
                path: if paths.is_empty() {
                    "checkpoint".to_owned()
                } else {
                    paths.join(",")
                },
            });
        }
        tree.verified = candidate;
        Ok(tree)
    }

    /// The tree's size.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether `entry` is at `index` in this tree: its leaf hash is computed here and its
    /// inclusion proof rebuilt from verified tiles. `Ok(false)` when `index` is outside the
    /// tree or the entry is not there.
    pub fn includes(&mut self, index: u64, entry: &[u8]) -> Result<bool, ReadError> {
        if index >= self.size {
            return Ok(false);
        }
        for id in tiles_for_leaf(index, self.size) {
            self.ensure(id)?;
        }
        let proof = inclusion_proof_from_tiles(&MapView(&self.verified), index, self.size)
            .map_err(|e| self.tile_error(e))?;
        Ok(verify_inclusion(&leaf_hash(entry), index, self.size, &proof, &self.root).is_ok())
    }

    /// Whether this tree extends the signed tree `old` (of a size up to this one's; an empty
    /// or equal-size tree extends when the roots agree).
    pub fn extends(&mut self, old: &Checkpoint) -> Result<Extension, ReadError> {
        if old.size > self.size {
            return Err(ReadError::BadTile {
                path: format!("tree of size {}", self.size),
                reason: format!("no consistency proof from the larger size {}", old.size),
            });
        }
        if old.size == 0 {
            return Ok(Extension::Extends);
        }
        if old.size == self.size {
            return Ok(if old.root == self.root {
                Extension::Extends
            } else {
                Extension::Forks { proof: Vec::new() }
            });
        }
        for id in tiles_for_consistency(old.size, self.size) {
            self.ensure(id)?;
        }
        let proof = consistency_proof_from_tiles(&MapView(&self.verified), old.size, self.size)
            .map_err(|e| self.tile_error(e))?;
        Ok(
            match verify_consistency(old.size, self.size, &old.root, &self.root, &proof) {
                Ok(()) => Extension::Extends,
                Err(_) => Extension::Forks { proof },
            },
        )
    }

    /// The entries of bundle `index` (entries `256·index ..`), each checked to be in this
    /// tree: their leaf hashes are computed here and checked against the signed root.
    pub fn entries(&mut self, index: u64) -> Result<Vec<Vec<u8>>, ReadError> {
        let id = TileId::entries(index, level_width(self.size, 0, index));
        if id.width == 0 {
            return Err(ReadError::BadTile {
                path: id.path(),
                reason: format!("no such bundle in a tree of size {}", self.size),
            });
        }
        let entries = self.fetch_bundle(id)?;
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        self.check_leaves(&id, &leaves)?;
        Ok(entries)
    }

    /// Reads hash tile `id` (at this tree's width) once more and compares it with the verified
    /// one, naming the first hash that differs: what an auditor does with every tile a log
    /// serves.
    pub fn check_served(&mut self, id: TileId) -> Result<(), ReadError> {
        if !self.verified.contains_key(&id) {
            // Reading it to verify it against its parent is reading what is served.
            return self.ensure(id);
        }
        let served = self.fetch_hash_tile(&id)?;
        let verified = self.verified.get(&id).map_or(&[][..], Vec::as_slice);
        if served != verified {
            let position = served
                .chunks(HASH_SIZE)
                .zip(verified.chunks(HASH_SIZE))
                .position(|(a, b)| a != b)
                .unwrap_or(served.len().min(verified.len()) / HASH_SIZE);
            return Err(ReadError::TileMismatch {
                path: id.path(),
                position,
            });
        }
        Ok(())
    }

    /// Reads a hash tile, falling back to the full tile (cut to width) when a partial one is
    /// gone, and checks its length.
    fn fetch_hash_tile(&self, id: &TileId) -> Result<Vec<u8>, ReadError> {
        let expected = usize::from(id.width) * HASH_SIZE;
        let bytes = match fetch_tile(self.transport, id) {
            Err(FetchError::NotFound { .. }) if !id.is_full() => {
                let full = TileId {
                    width: TILE_WIDTH,
                    ..*id
                };
                let mut bytes = fetch_tile(self.transport, &full)?;
                if bytes.len() != usize::from(TILE_WIDTH) * HASH_SIZE {
                    return Err(bad_length(&full, bytes.len()));
                }
                bytes.truncate(expected);
                bytes
            }
            other => other?,
        };
        if bytes.len() != expected {
            return Err(bad_length(id, bytes.len()));
        }
        Ok(bytes)
    }

    /// Makes sure hash tile `id` (at this size's width) is read and verified.
    fn ensure(&mut self, id: TileId) -> Result<(), ReadError> {
        if self.verified.contains_key(&id) {
            return Ok(());
        }
        let TileKind::Hash { level } = id.kind else {
            return Err(ReadError::BadTile {
                path: id.path(),
                reason: "an entry bundle where a hash tile was expected".to_owned(),
            });
        };
        if !id.is_full() {
            // Every partial tile of this size is part of the root, verified in `open`.
            return Err(ReadError::BadTile {
                path: id.path(),
                reason: "a partial tile outside the tree's right edge".to_owned(),
            });
        }
        let bytes = self.fetch_hash_tile(&id)?;
        let parent = self.hash_at(level + 1, id.index)?;
        if tile_root(&bytes) != parent {
            return Err(ReadError::TamperedTile { path: id.path() });
        }
        self.verified.insert(id, bytes);
        Ok(())
    }

    /// The verified hash at position `pos` of tile level `level`.
    fn hash_at(&mut self, level: u8, pos: u64) -> Result<Hash, ReadError> {
        let width = u64::from(TILE_WIDTH);
        let index = pos / width;
        let id = TileId::hash(level, index, level_width(self.size, level, index));
        if id.width == 0 || level > MAX_LEVEL {
            return Err(ReadError::BadTile {
                path: id.path(),
                reason: "no such hash in this tree".to_owned(),
            });
        }
        self.ensure(id)?;
        let offset = (pos % width) as usize * HASH_SIZE;
        self.verified
            .get(&id)
            .and_then(|t| t.get(offset..offset + HASH_SIZE))
            .and_then(|h| <Hash>::try_from(h).ok())
            .ok_or_else(|| ReadError::BadTile {
                path: id.path(),
                reason: "no such hash in this tile".to_owned(),
            })
    }

    /// Checks leaf hashes computed here from entry bundle `bundle` against the signed root,
    /// and keeps them as the verified level-0 tile.
    fn check_leaves(&mut self, bundle: &TileId, leaves: &[Hash]) -> Result<(), ReadError> {
        let id = TileId::hash(0, bundle.index, bundle.width);
        let bytes: Vec<u8> = leaves.iter().flatten().copied().collect();
        let ok = match self.verified.get(&id) {
            Some(known) => *known == bytes,
            None if id.is_full() => tile_root(&bytes) == self.hash_at(1, id.index)?,
            // A partial level-0 tile is part of the root and always verified already.
            None => false,
        };
        if ok {
            self.verified.insert(id, bytes);
            return Ok(());
        }
        // Name the first entry that differs, when the verified leaf hashes can be had.
        let first = bundle.index * u64::from(TILE_WIDTH);
        let differs = match self.ensure(id) {
            Ok(()) => self.verified.get(&id).and_then(|known| {
                known
                    .chunks(HASH_SIZE)
                    .zip(leaves)
                    .position(|(k, l)| k != l)
            }),
            Err(_) => None,
        };
        Err(match differs {
            Some(offset) => ReadError::TamperedEntry {
                path: bundle.path(),
                index: first + offset as u64,
            },
            None => ReadError::TamperedTile {
                path: bundle.path(),
            },
        })
    }

    /// The entries of bundle `id`, falling back to the full bundle (cut to width) when a
    /// partial one is gone. Not yet verified: the caller hashes them and calls
    /// [`Self::check_leaves`].
    fn fetch_bundle(&self, id: TileId) -> Result<Vec<Vec<u8>>, ReadError> {
        let width = usize::from(id.width);
        let malformed = |id: &TileId, e: TileError| ReadError::BadTile {
            path: id.path(),
            reason: e.to_string(),
        };
        match fetch_tile(self.transport, &id) {
            Err(FetchError::NotFound { .. }) if !id.is_full() => {
                let full = TileId {
                    width: TILE_WIDTH,
                    ..id
                };
                let bytes = fetch_tile(self.transport, &full)?;
                let mut entries = decode_bundle(&bytes, usize::from(TILE_WIDTH))
                    .map_err(|e| malformed(&full, e))?;
                entries.truncate(width);
                Ok(entries)
            }
            other => decode_bundle(&other?, width).map_err(|e| malformed(&id, e)),
        }
    }

    /// A tile error from the proof builders over verified tiles.
    fn tile_error(&self, e: TileError) -> ReadError {
        match e {
            TileError::WrongTileLength { path, got, .. } => ReadError::BadTile {
                path,
                reason: format!("{got} bytes"),
            },
            other => ReadError::BadTile {
                path: format!("tree of size {}", self.size),
                reason: other.to_string(),
            },
        }
    }
}

/// Hashes at tile level `level` in a tree of `size`.
fn hashes_at_level(size: u64, level: u8) -> u64 {
    size.checked_shr(u32::from(level) * TILE_HEIGHT)
        .unwrap_or(0)
}

/// The width a tree of `size` serves tile `index` of `level` at (0 if it has no such tile).
fn level_width(size: u64, level: u8, index: u64) -> u16 {
    let count = hashes_at_level(size, level);
    let start = index.saturating_mul(u64::from(TILE_WIDTH));
    count.saturating_sub(start).min(u64::from(TILE_WIDTH)) as u16
}

/// The root of the complete subtree over the 256 hashes of a full tile.
fn tile_root(hashes: &[u8]) -> Hash {
    let mut level: Vec<Hash> = hashes
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect();
    while level.len() > 1 {
        level = level
            .chunks_exact(2)
            .map(|p| node_hash(&p[0], &p[1]))
            .collect();
    }
    level.first().copied().unwrap_or([0; 32])
}

fn bad_length(id: &TileId, got: usize) -> ReadError {
    ReadError::BadTile {
        path: id.path(),
        reason: format!(
            "{got} bytes, expected {}",
            usize::from(id.width) * HASH_SIZE
        ),
    }
}

/// Tiles in hand, as a [`TileSource`] for the proof builders.
struct MapView<'a>(&'a HashMap<TileId, Vec<u8>>);

impl TileSource for MapView<'_> {
    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, TileError> {
        self.0
            .get(id)
            .cloned()
            .ok_or_else(|| TileError::Unavailable {
                path: id.path(),
                reason: "not verified".to_owned(),
            })
    }
}
