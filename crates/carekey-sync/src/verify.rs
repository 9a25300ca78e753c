//! One verification pass over a log (LEDGER-CHECKS 1–9), gossip between two views, and
//! receipt checks.
//!
//! Every hash tile is verified against the signed root before any of its hashes is used: the
//! tiles that make up the root are checked together against the checkpoint's root hash, and
//! every other (full) tile by hashing it up to its parent's entry, as Go's checksum database
//! client does. Leaf hashes are always computed here from entry bytes.

use std::collections::{HashMap, HashSet};

use carekey_crypto::PublicKey;
use carekey_ledger::note::{
    open_checkpoint, Checkpoint, NoteVerifier, OpenedCheckpoint, ALG_ED25519,
};
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{
    consistency_proof_from_tiles, decode_bundle, inclusion_proof_from_tiles, root_from_tiles,
    tiles_for_consistency, tiles_for_leaf, tiles_for_root, TileError, TileId, TileKind, TileSource,
    HASH_SIZE, TILE_HEIGHT, TILE_WIDTH,
};
use carekey_ledger::{
    leaf_hash, node_hash, verify_consistency, verify_inclusion, Hash, NoteError, ProofError,
};
use carekey_model::ledger::Entry;
use carekey_model::DocumentError;
use serde::{Deserialize, Serialize};

use crate::{LogSource, SyncError};

/// A log the wallet trusts, as pinned in its settings (never learnt from the node).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedLog {
    /// Where to read it: a node or any static mirror of its tiles.
    pub url: String,
    /// The log's note verifier key (`<origin>+<key id>+<base64>`); its name is the log's origin.
    pub log_key: String,
    /// The witnesses' cosignature verifier keys (type 0x04; a type 0x01 key of the same witness
    /// is accepted and used for cosignatures).
    pub witness_keys: Vec<String>,
    /// How many distinct pinned witnesses must cosign a checkpoint.
    pub quorum: usize,
    /// The oldest the newest trusted cosignature may be, in seconds (0: no freshness check).
    pub max_age_secs: u64,
}

/// What the wallet remembers about a log between syncs. Store it only from a successful
/// [`sync`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogState {
    /// The last verified checkpoint note, verbatim (with its cosignatures).
    pub checkpoint: Option<String>,
    /// Its tree size.
    pub size: u64,
    /// How many entries have been scanned (entries `0..scanned`).
    pub scanned: u64,
    /// Evidence of misbehaviour seen so far, to keep and show.
    pub evidence: Vec<Evidence>,
}

/// Proof that a log (or a source of it) misbehaved: two signed notes that cannot both be true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// `"split_view"`, `"rollback"` or `"inconsistent"`.
    pub kind: String,
    /// A sentence for the patient and for an auditor.
    pub detail: String,
    /// The signed checkpoints involved, verbatim: the one held before, then the new one.
    pub notes: Vec<String>,
    /// When it was seen (unix seconds).
    pub seen_at: u64,
    /// For `"inconsistent"`: the consistency proof (hex hashes, rebuilt from tiles verified
    /// against the newer note's root) that fails to lead from the older note's root to the
    /// newer one. Empty for other kinds and for evidence kept before issue 8.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub proof: Vec<String>,
}

/// What a sync looks for besides the log's own consistency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watch {
    /// The wallet's per-grant (and erasure) keys: entries naming one are returned as [`Found`].
    pub grant_keys: Vec<PublicKey>,
    /// The wallet's own entries and the index each was acknowledged at: each must be in the
    /// log, byte for byte, at that index.
    pub own_entries: Vec<(u64, Vec<u8>)>,
}

/// A scanned entry that names a watched key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The entry's index in the log.
    pub index: u64,
    /// The entry, parsed and its signature verified.
    pub entry: Entry,
}

/// The result of a successful [`sync`].
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    /// The state to store (and only now: every check passed).
    pub state: LogState,
    /// Entries since the last scan whose key is watched, in log order.
    pub found: Vec<Found>,
    /// The verified checkpoint.
    pub checkpoint: OpenedCheckpoint,
    /// The newest time a pinned witness vouched for this view (its cosignature's timestamp),
    /// when the pin requires witnesses at all. `None` with a quorum of 0: the log's own
    /// signature says nothing about freshness (a node can keep showing an old checkpoint), so
    /// no "up to date as of" may be claimed.
    pub fresh_as_of: Option<u64>,
}

/// The pinned keys, parsed.
struct Trust {
    log: NoteVerifier,
    witnesses: Vec<NoteVerifier>,
    quorum: usize,
    max_age: u64,
}

impl Trust {
    fn of(pinned: &PinnedLog) -> Result<Self, SyncError> {
        let log = NoteVerifier::parse(&pinned.log_key).map_err(SyncError::BadPin)?;
        if log.alg() != ALG_ED25519 {
            return Err(SyncError::BadPin(NoteError::WrongKeyType {
                name: log.name().to_owned(),
                alg: log.alg(),
                expected: ALG_ED25519,
            }));
        }
        let mut witnesses: Vec<NoteVerifier> = Vec::new();
        for key in &pinned.witness_keys {
            let w = NoteVerifier::parse(key)
                .map_err(SyncError::BadPin)?
                .for_cosignatures();
            // A witness counts once however often it is pinned.
            if !witnesses.iter().any(|v| v.name() == w.name()) {
                witnesses.push(w);
            }
        }
        Ok(Self {
            log,
            witnesses,
            quorum: pinned.quorum,
            max_age: pinned.max_age_secs,
        })
    }

    /// LEDGER-CHECKS 1–3: strict parse, pinned log signature, witness quorum, freshness.
    fn open(&self, note: &str, now: u64) -> Result<OpenedCheckpoint, SyncError> {
        let opened = open_checkpoint(note, &self.log, &self.witnesses, now)
            .map_err(SyncError::BadCheckpoint)?;
        self.check_quorum(&opened)?;
        if self.max_age > 0 {
            if let Some(newest) = opened.cosignatures.iter().map(|(_, t)| *t).max() {
                let age = now.saturating_sub(newest);
                if age > self.max_age {
                    return Err(SyncError::Stale {
                        age,
                        max: self.max_age,
                    });
                }
            }
        }
        Ok(opened)
    }

    fn check_quorum(&self, opened: &OpenedCheckpoint) -> Result<(), SyncError> {
        // `open_checkpoint` lists each pinned witness at most once.
        let have = opened.cosignatures.len();
        if have < self.quorum {
            return Err(SyncError::NoQuorum {
                have,
                need: self.quorum,
            });
        }
        Ok(())
    }

    /// Re-opens a checkpoint this wallet stored earlier: only the log signature matters now.
    fn reopen_stored(&self, note: &str) -> Result<OpenedCheckpoint, SyncError> {
        open_checkpoint(note, &self.log, &[], 0).map_err(|_| SyncError::BadState {
            reason: "the stored checkpoint does not open under the pinned log key",
        })
    }
}

/// One verification pass (LEDGER-CHECKS 1–9, in order) against `source`, from `state`.
///
/// 1–3: the checkpoint is parsed strictly and must carry a valid signature by the pinned log
/// key, cosignatures by at least `quorum` distinct pinned witnesses (none dated more than 60 s
/// after `now`), the newest of them at most `max_age_secs` old. 4: its origin is the stored
/// one; a smaller size is a [`SyncError::Rollback`], the same size with another root a
/// [`SyncError::SplitView`] (both with evidence). 5: the consistency proof from the stored
/// checkpoint is rebuilt from verified tiles and checked. 6: each own entry's leaf hash is
/// computed here and its inclusion at its index checked against the new root. 7: every entry
/// bundle from `state.scanned` to the new size is read, its leaf hashes computed here and
/// checked against the signed root, and entries naming a watched key are parsed (signature
/// verified) and returned. 9: the new state is returned, never stored here.
pub fn sync(
    source: &dyn LogSource,
    pinned: &PinnedLog,
    state: &LogState,
    watch: &Watch,
    now: u64,
) -> Result<SyncOutcome, SyncError> {
    let trust = Trust::of(pinned)?;
    let note = source.checkpoint()?;
    let new = trust.open(&note, now)?;
    let size = new.checkpoint.size;

    // 4. Origin, rollback, split view against what this wallet verified before.
    let old = match &state.checkpoint {
        Some(stored) => {
            let old = trust.reopen_stored(stored)?;
            if old.checkpoint.size != state.size {
                return Err(SyncError::BadState {
                    reason: "the stored size is not the stored checkpoint's size",
                });
            }
            Some(old)
        }
        None if state.size != 0 => {
            return Err(SyncError::BadState {
                reason: "a size is stored without its checkpoint",
            })
        }
        None => None,
    };
    if state.scanned > state.size {
        return Err(SyncError::BadState {
            reason: "more entries scanned than the stored size",
        });
    }
    if let Some(old) = &old {
        if old.checkpoint.origin != new.checkpoint.origin {
            return Err(SyncError::OriginMismatch {
                stored: old.checkpoint.origin.clone(),
                found: new.checkpoint.origin.clone(),
            });
        }
        if size < old.checkpoint.size {
            return Err(SyncError::Rollback {
                evidence: evidence(
                    "rollback",
                    format!(
                        "the log {} showed size {} after size {} was verified",
                        new.checkpoint.origin, size, old.checkpoint.size
                    ),
                    &old.raw,
                    &new.raw,
                    now,
                ),
            });
        }
        if size == old.checkpoint.size && new.checkpoint.root != old.checkpoint.root {
            return Err(SyncError::SplitView {
                evidence: evidence(
                    "split_view",
                    format!(
                        "the log {} signed two different trees of size {}",
                        new.checkpoint.origin, size
                    ),
                    &old.raw,
                    &new.raw,
                    now,
                ),
            });
        }
    }

    let mut tiles = VerifiedTiles::new(source, &new.checkpoint)?;

    // 5. Consistency from the stored checkpoint.
    if let Some(old) = &old {
        let old_size = old.checkpoint.size;
        if old_size > 0 && old_size < size {
            for id in tiles_for_consistency(old_size, size) {
                tiles.ensure(id)?;
            }
            let proof = consistency_proof_from_tiles(&tiles.view(), old_size, size)
                .map_err(|e| tiles.tile_error(e))?;
            if verify_consistency(
                old_size,
                size,
                &old.checkpoint.root,
                &new.checkpoint.root,
                &proof,
            )
            .is_err()
            {
                let mut evidence = evidence(
                    "inconsistent",
                    format!(
                        "the log {} at size {} does not extend the tree of size {} it signed before",
                        new.checkpoint.origin, size, old_size
                    ),
                    &old.raw,
                    &new.raw,
                    now,
                );
                evidence.proof = proof.iter().map(hex::encode).collect();
                return Err(SyncError::Inconsistent { evidence });
            }
        }
    }

    // 6. The wallet's own entries, from self-computed leaf hashes.
    for (index, bytes) in &watch.own_entries {
        let index = *index;
        if index >= size {
            return Err(SyncError::WithheldEntry {
                index,
                checkpoint: new.raw.clone(),
            });
        }
        for id in tiles_for_leaf(index, size) {
            tiles.ensure(id)?;
        }
        let proof = inclusion_proof_from_tiles(&tiles.view(), index, size)
            .map_err(|e| tiles.tile_error(e))?;
        verify_inclusion(&leaf_hash(bytes), index, size, &proof, &new.checkpoint.root).map_err(
            |_| SyncError::WithheldEntry {
                index,
                checkpoint: new.raw.clone(),
            },
        )?;
    }

    // 7. Scan every new entry.
    let watched = KeyFilter::new(&watch.grant_keys);
    let mut found = Vec::new();
    let width = u64::from(TILE_WIDTH);
    let mut bundle = state.scanned / width;
    while bundle * width < size {
        let first = bundle * width;
        let id = TileId::entries(bundle, level_width(size, 0, bundle));
        let entries = tiles.bundle(id)?;
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        tiles.check_leaves(&id, &leaves)?;
        for (offset, entry) in entries.iter().enumerate() {
            let index = first + offset as u64;
            if index < state.scanned || !watched.may_name(entry) {
                continue;
            }
            let parsed =
                Entry::from_bytes(entry).map_err(|reason| SyncError::BadEntry { index, reason })?;
            if !parsed.grant_key().is_some_and(|k| watched.contains(&k)) {
                continue;
            }
            // 8. An access event is the node's word: it must be signed by the pinned log key.
            if let Entry::Access(event) = &parsed {
                if event.document().node_key != *trust.log.public_key() {
                    return Err(SyncError::BadEntry {
                        index,
                        reason: DocumentError::WrongSigner,
                    });
                }
            }
            found.push(Found {
                index,
                entry: parsed,
            });
        }
        bundle += 1;
    }

    let fresh_as_of = if trust.quorum > 0 {
        new.cosignatures.iter().map(|(_, t)| *t).max()
    } else {
        None
    };
    Ok(SyncOutcome {
        state: LogState {
            checkpoint: Some(note),
            size,
            scanned: size,
            evidence: state.evidence.clone(),
        },
        found,
        checkpoint: new,
        fresh_as_of,
    })
}

fn evidence(kind: &str, detail: String, old: &str, new: &str, now: u64) -> Evidence {
    Evidence {
        kind: kind.to_owned(),
        detail,
        notes: vec![old.to_owned(), new.to_owned()],
        seen_at: now,
        proof: Vec::new(),
    }
}

/// Compares two views of a log (this wallet's, another node's copy, a mirror's, a witness's,
/// another device's): the same origin and size with different roots is a split view.
///
/// It compares the notes only and checks no signature: feed it states [`sync`] produced, or
/// notes opened with the pinned keys. Views of different sizes need a consistency proof, which
/// [`sync`] checks when the larger one is fetched from a source; they give `None` here, as do
/// views of different logs or an empty state.
pub fn gossip(a: &LogState, b: &LogState) -> Option<Evidence> {
    let (note_a, note_b) = (a.checkpoint.as_deref()?, b.checkpoint.as_deref()?);
    let (ca, cb) = (body_of(note_a)?, body_of(note_b)?);
    if ca.origin != cb.origin || ca.size != cb.size || ca.root == cb.root {
        return None;
    }
    let seen_at = a
        .evidence
        .iter()
        .chain(&b.evidence)
        .map(|e| e.seen_at)
        .max()
        .unwrap_or(0);
    Some(Evidence {
        kind: "split_view".to_owned(),
        detail: format!(
            "two views of the log {} show different trees of size {}",
            ca.origin, ca.size
        ),
        notes: vec![note_a.to_owned(), note_b.to_owned()],
        seen_at,
        proof: Vec::new(),
    })
}

/// Compares two views of a log of different sizes too: both notes must open under the pinned
/// log key; the same size with different roots is a split view; otherwise the consistency proof
/// from the smaller to the larger is rebuilt from `source`'s tiles (verified against the larger
/// view's root first) and checked, and a failure is `inconsistent` evidence.
///
/// `source` must serve the tiles of the larger view (a mirror of the log that showed it).
/// `Ok(None)` means the views agree (or one is empty); `Err` means the comparison could not
/// be made.
pub fn gossip_via(
    source: &dyn LogSource,
    pinned: &PinnedLog,
    a: &LogState,
    b: &LogState,
    now: u64,
) -> Result<Option<Evidence>, SyncError> {
    let trust = Trust::of(pinned)?;
    let (Some(note_a), Some(note_b)) = (a.checkpoint.as_deref(), b.checkpoint.as_deref()) else {
        return Ok(None);
    };
    let open =
        |note: &str| open_checkpoint(note, &trust.log, &[], now).map_err(SyncError::BadCheckpoint);
    let (va, vb) = (open(note_a)?, open(note_b)?);
    let (small, big) = if va.checkpoint.size <= vb.checkpoint.size {
        (&va, &vb)
    } else {
        (&vb, &va)
    };
    let (old, new) = (&small.checkpoint, &big.checkpoint);
    if old.size == new.size {
        return Ok((old.root != new.root).then(|| {
            evidence(
                "split_view",
                format!(
                    "two views of the log {} show different trees of size {}",
                    new.origin, new.size
                ),
                note_a,
                note_b,
                now,
            )
        }));
    }
    if old.size == 0 {
        return Ok(None);
    }
    let mut tiles = VerifiedTiles::new(source, new)?;
    for id in tiles_for_consistency(old.size, new.size) {
        tiles.ensure(id)?;
    }
    let proof = consistency_proof_from_tiles(&tiles.view(), old.size, new.size)
        .map_err(|e| tiles.tile_error(e))?;
    if verify_consistency(old.size, new.size, &old.root, &new.root, &proof).is_ok() {
        return Ok(None);
    }
    let mut found = evidence(
        "inconsistent",
        format!(
            "the log {} at size {} does not extend its tree of size {}",
            new.origin, new.size, old.size
        ),
        &small.raw,
        &big.raw,
        now,
    );
    found.proof = proof.iter().map(hex::encode).collect();
    Ok(Some(found))
}

/// The checkpoint body of a note (everything before the last blank line), parsed strictly.
fn body_of(note: &str) -> Option<Checkpoint> {
    let split = note.rfind("\n\n")?;
    Checkpoint::parse_body(&note[..=split]).ok()
}

/// Verifies a `tlog-proof` receipt for `entry` (LEDGER-CHECKS 10): the checkpoint opens under
/// the pinned log key with a quorum of pinned witnesses, and the inclusion proof leads from the
/// leaf hash computed here to its root. Freshness is not required: receipts are kept and
/// re-checked long after they were issued.
pub fn verify_receipt(
    receipt_text: &str,
    entry: &[u8],
    pinned: &PinnedLog,
    now: u64,
) -> Result<(), SyncError> {
    let trust = Trust::of(pinned)?;
    let receipt = Receipt::parse(receipt_text).map_err(SyncError::BadReceipt)?;
    let opened = receipt
        .verify(entry, &trust.log, &trust.witnesses, now)
        .map_err(|e| match e {
            ProofError::Checkpoint(n) => SyncError::BadCheckpoint(n),
            other => SyncError::BadReceipt(other),
        })?;
    trust.check_quorum(&opened)
}

/// Verifies the receipt a node answered to a submission before the wallet keeps it
/// (LEDGER-CHECKS 10): [`verify_receipt`]'s checks (the pinned log's signature, the pin's
/// witness quorum, the inclusion of `entry` computed here), and that the receipt proves the
/// index the node acknowledged. Returns the receipt's opened checkpoint.
pub fn verify_submission_receipt(
    receipt_text: &str,
    entry: &[u8],
    index: u64,
    pinned: &PinnedLog,
    now: u64,
) -> Result<OpenedCheckpoint, SyncError> {
    let trust = Trust::of(pinned)?;
    let receipt = Receipt::parse(receipt_text).map_err(SyncError::BadReceipt)?;
    if receipt.index != index {
        return Err(SyncError::ReceiptIndex {
            acknowledged: index,
            proved: receipt.index,
        });
    }
    let opened = receipt
        .verify(entry, &trust.log, &trust.witnesses, now)
        .map_err(|e| match e {
            ProofError::Checkpoint(n) => SyncError::BadCheckpoint(n),
            other => SyncError::BadReceipt(other),
        })?;
    trust.check_quorum(&opened)?;
    Ok(opened)
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

/// Hash tiles of one tree size, each verified against the signed root before use.
struct VerifiedTiles<'a> {
    source: &'a dyn LogSource,
    size: u64,
    verified: HashMap<TileId, Vec<u8>>,
}

impl<'a> VerifiedTiles<'a> {
    /// Reads the tiles the root is made of and checks them, together, against `checkpoint`.
    fn new(source: &'a dyn LogSource, checkpoint: &Checkpoint) -> Result<Self, SyncError> {
        let mut tiles = Self {
            source,
            size: checkpoint.size,
            verified: HashMap::new(),
        };
        let spine = tiles_for_root(checkpoint.size);
        let mut candidate = HashMap::new();
        for id in &spine {
            candidate.insert(*id, tiles.fetch_hash_tile(id)?);
        }
        let root = root_from_tiles(&MapView(&candidate), checkpoint.size)
            .map_err(|e| tiles.tile_error(e))?;
        if root != checkpoint.root {
            let paths: Vec<String> = spine.iter().map(TileId::path).collect();
            return Err(SyncError::TamperedTile {
                path: if paths.is_empty() {
                    "checkpoint".to_owned()
                } else {
                    paths.join(",")
                },
            });
        }
        tiles.verified = candidate;
        Ok(tiles)
    }

    fn view(&self) -> MapView<'_> {
        MapView(&self.verified)
    }

    /// Reads a hash tile, falling back to the full tile (cut to width) when a partial one is
    /// gone, and checks its length.
    fn fetch_hash_tile(&self, id: &TileId) -> Result<Vec<u8>, SyncError> {
        let expected = usize::from(id.width) * HASH_SIZE;
        let bytes = match self.source.read_tile(id) {
            Err(SyncError::NotFound { .. }) if !id.is_full() => {
                let full = TileId {
                    width: TILE_WIDTH,
                    ..*id
                };
                let mut bytes = self.source.read_tile(&full)?;
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
    fn ensure(&mut self, id: TileId) -> Result<(), SyncError> {
        if self.verified.contains_key(&id) {
            return Ok(());
        }
        let TileKind::Hash { level } = id.kind else {
            return Err(SyncError::BadTile {
                path: id.path(),
                reason: "an entry bundle where a hash tile was expected".to_owned(),
            });
        };
        if !id.is_full() {
            // Every partial tile of this size is part of the root, verified in `new`.
            return Err(SyncError::BadTile {
                path: id.path(),
                reason: "a partial tile outside the tree's right edge".to_owned(),
            });
        }
        let bytes = self.fetch_hash_tile(&id)?;
        let parent = self.hash_at(level + 1, id.index)?;
        if tile_root(&bytes) != parent {
            return Err(SyncError::TamperedTile { path: id.path() });
        }
        self.verified.insert(id, bytes);
        Ok(())
    }

    /// The verified hash at position `pos` of tile level `level`.
    fn hash_at(&mut self, level: u8, pos: u64) -> Result<Hash, SyncError> {
        let width = u64::from(TILE_WIDTH);
        let index = pos / width;
        let id = TileId::hash(level, index, level_width(self.size, level, index));
        if id.width == 0 || level > 63 {
            return Err(SyncError::BadTile {
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
            .ok_or_else(|| SyncError::BadTile {
                path: id.path(),
                reason: "no such hash in this tile".to_owned(),
            })
    }

    /// Checks leaf hashes computed here from entry bundle `bundle` against the signed root,
    /// and keeps them as the verified level-0 tile.
    fn check_leaves(&mut self, bundle: &TileId, leaves: &[Hash]) -> Result<(), SyncError> {
        let id = TileId::hash(0, bundle.index, bundle.width);
        let bytes: Vec<u8> = leaves.iter().flatten().copied().collect();
        let ok = match self.verified.get(&id) {
            Some(known) => *known == bytes,
            None if id.is_full() => tile_root(&bytes) == self.hash_at(1, id.index)?,
            // A partial level-0 tile is part of the root and always verified already.
            None => false,
        };
        if !ok {
            return Err(SyncError::TamperedTile {
                path: bundle.path(),
            });
        }
        self.verified.insert(id, bytes);
        Ok(())
    }

    /// The entries of bundle `id`, falling back to the full bundle (cut to width) when a
    /// partial one is gone. Not yet verified: the caller hashes them and calls
    /// [`Self::check_leaves`].
    fn bundle(&self, id: TileId) -> Result<Vec<Vec<u8>>, SyncError> {
        let width = usize::from(id.width);
        let malformed = |id: &TileId, e: TileError| SyncError::BadTile {
            path: id.path(),
            reason: e.to_string(),
        };
        match self.source.read_tile(&id) {
            Err(SyncError::NotFound { .. }) if !id.is_full() => {
                let full = TileId {
                    width: TILE_WIDTH,
                    ..id
                };
                let bytes = self.source.read_tile(&full)?;
                let mut entries = decode_bundle(&bytes, usize::from(TILE_WIDTH))
                    .map_err(|e| malformed(&full, e))?;
                entries.truncate(width);
                Ok(entries)
            }
            other => decode_bundle(&other?, width).map_err(|e| malformed(&id, e)),
        }
    }

    /// A tile error from the ledger's proof builders over verified tiles.
    fn tile_error(&self, e: TileError) -> SyncError {
        match e {
            TileError::WrongTileLength { path, got, .. } => SyncError::BadTile {
                path,
                reason: format!("{got} bytes"),
            },
            other => SyncError::BadTile {
                path: format!("tree of size {}", self.size),
                reason: other.to_string(),
            },
        }
    }
}

fn bad_length(id: &TileId, got: usize) -> SyncError {
    SyncError::BadTile {
        path: id.path(),
        reason: format!(
            "{got} bytes, expected {}",
            usize::from(id.width) * HASH_SIZE
        ),
    }
}

/// Tiles in memory, as a [`TileSource`] for the ledger's proof builders.
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

/// Which entries may name a watched key: an entry names a key only if the key's 32 bytes
/// appear in it verbatim (canonical CBOR carries a key as a byte string), so entries without
/// any watched key's bytes need no parsing or signature check.
struct KeyFilter {
    keys: HashSet<[u8; 32]>,
    /// Bit `i` set when some key starts with the two bytes `i` (big-endian).
    prefixes: Vec<u64>,
}

impl KeyFilter {
    fn new(keys: &[PublicKey]) -> Self {
        let mut prefixes = vec![0u64; 1 << 10];
        let keys: HashSet<[u8; 32]> = keys.iter().map(|k| *k.as_bytes()).collect();
        for k in &keys {
            let p = usize::from(u16::from_be_bytes([k[0], k[1]]));
            prefixes[p >> 6] |= 1 << (p & 63);
        }
        Self { keys, prefixes }
    }

    fn contains(&self, key: &PublicKey) -> bool {
        self.keys.contains(key.as_bytes())
    }

    fn may_name(&self, entry: &[u8]) -> bool {
        if self.keys.is_empty() {
            return false;
        }
        entry.windows(32).any(|w| {
            let p = usize::from(u16::from_be_bytes([w[0], w[1]]));
            self.prefixes[p >> 6] & (1 << (p & 63)) != 0
                && <[u8; 32]>::try_from(w).is_ok_and(|k| self.keys.contains(&k))
        })
    }
}
