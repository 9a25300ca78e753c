//! One verification pass over a log (LEDGER-CHECKS 1–9), gossip between two views, and
//! receipt checks.
//!
//! The reading and verifying of the log itself is `carekey-ledger`'s one log reader (ADR 0014):
//! checkpoints opened under [`LogKeys`] (pinned log key, witness quorum, freshness), and a
//! [`VerifiedTree`] whose hash tiles are verified against the signed root before use, whose
//! proofs are rebuilt from verified tiles only, and whose entries are checked by leaf hashes
//! computed from their bytes. What is the wallet's own lives here: the pin, the stored state,
//! rollback and split-view evidence, its own entries, and the scan for watched keys.

use std::collections::HashSet;

use carekey_crypto::PublicKey;
use carekey_ledger::note::{
    open_checkpoint, Checkpoint, NoteVerifier, OpenedCheckpoint, ALG_ED25519,
};
use carekey_ledger::proof::Receipt;
use carekey_ledger::reader::{Extension, LogKeys, VerifiedTree};
use carekey_ledger::tiles::TILE_WIDTH;
use carekey_ledger::transport::{fetch_checkpoint, Transport};
use carekey_ledger::{NoteError, ProofError};
use carekey_model::ledger::Entry;
use carekey_model::DocumentError;
use serde::{Deserialize, Serialize};

use crate::SyncError;

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
    /// The wallet's per-grant, erasure and link keys: entries naming one are returned as
    /// [`Found`].
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
fn keys_of(pinned: &PinnedLog) -> Result<LogKeys, SyncError> {
    let log = NoteVerifier::parse(&pinned.log_key).map_err(SyncError::BadPin)?;
    if log.alg() != ALG_ED25519 {
        return Err(SyncError::BadPin(NoteError::WrongKeyType {
            name: log.name().to_owned(),
            alg: log.alg(),
            expected: ALG_ED25519,
        }));
    }
    let witnesses = pinned
        .witness_keys
        .iter()
        .map(|key| NoteVerifier::parse(key).map_err(SyncError::BadPin))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LogKeys::new(
        log,
        &witnesses,
        pinned.quorum,
        pinned.max_age_secs,
    ))
}

/// Re-opens a checkpoint this wallet stored earlier: only the log signature matters now.
fn reopen_stored(keys: &LogKeys, note: &str) -> Result<OpenedCheckpoint, SyncError> {
    open_checkpoint(note, keys.log(), &[], 0).map_err(|_| SyncError::BadState {
        reason: "the stored checkpoint does not open under the pinned log key",
    })
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
    source: &dyn Transport,
    pinned: &PinnedLog,
    state: &LogState,
    watch: &Watch,
    now: u64,
) -> Result<SyncOutcome, SyncError> {
    let keys = keys_of(pinned)?;
    let note = fetch_checkpoint(source)?;
    let new = keys.open(&note, now)?;
    let size = new.checkpoint.size;

    // 4. Origin, rollback, split view against what this wallet verified before.
    let old = match &state.checkpoint {
        Some(stored) => {
            let old = reopen_stored(&keys, stored)?;
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

    let mut tree = VerifiedTree::open(source, &new.checkpoint)?;

    // 5. Consistency from the stored checkpoint.
    if let Some(old) = &old {
        let old_size = old.checkpoint.size;
        if old_size > 0 && old_size < size {
            if let Extension::Forks { proof } = tree.extends(&old.checkpoint)? {
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
        // `includes` is false for an index outside the tree too.
        if !tree.includes(index, bytes)? {
            return Err(SyncError::WithheldEntry {
                index,
                checkpoint: new.raw.clone(),
            });
        }
    }

    // 7. Scan every new entry.
    let watched = KeyFilter::new(&watch.grant_keys);
    let mut found = Vec::new();
    let width = u64::from(TILE_WIDTH);
    let mut bundle = state.scanned / width;
    while bundle * width < size {
        let first = bundle * width;
        let entries = tree.entries(bundle)?;
        for (offset, entry) in entries.iter().enumerate() {
            let index = first + offset as u64;
            if index < state.scanned || !watched.may_name(entry) {
                continue;
            }
            let parsed =
                Entry::from_bytes(entry).map_err(|reason| SyncError::BadEntry { index, reason })?;
            if !parsed
                .grant_key()
                .or_else(|| parsed.link_key())
                .is_some_and(|k| watched.contains(&k))
            {
                continue;
            }
            // 8. An access or link-open event is the node's word: it must be signed by the
            // pinned log key.
            let node_key = match &parsed {
                Entry::Access(event) => Some(event.document().node_key),
                Entry::LinkOpen(event) => Some(event.document().node_key),
                _ => None,
            };
            if node_key.is_some_and(|k| k != *keys.log().public_key()) {
                return Err(SyncError::BadEntry {
                    index,
                    reason: DocumentError::WrongSigner,
                });
            }
            found.push(Found {
                index,
                entry: parsed,
            });
        }
        bundle += 1;
    }

    let fresh_as_of = keys.fresh_as_of(&new);
    Ok(SyncOutcome {
        state: LogState {
            checkpoint: Some(new.raw.clone()),
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
    source: &dyn Transport,
    pinned: &PinnedLog,
    a: &LogState,
    b: &LogState,
    now: u64,
) -> Result<Option<Evidence>, SyncError> {
    let keys = keys_of(pinned)?;
    let (Some(note_a), Some(note_b)) = (a.checkpoint.as_deref(), b.checkpoint.as_deref()) else {
        return Ok(None);
    };
    let open =
        |note: &str| open_checkpoint(note, keys.log(), &[], now).map_err(SyncError::BadCheckpoint);
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
    let proof = match VerifiedTree::open(source, new)?.extends(old)? {
        Extension::Extends => return Ok(None),
        Extension::Forks { proof } => proof,
    };
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
    let keys = keys_of(pinned)?;
    let receipt = Receipt::parse(receipt_text).map_err(SyncError::BadReceipt)?;
    let opened = receipt
        .verify(entry, keys.log(), keys.witnesses(), now)
        .map_err(|e| match e {
            ProofError::Checkpoint(n) => SyncError::BadCheckpoint(n),
            other => SyncError::BadReceipt(other),
        })?;
    Ok(keys.check_quorum(&opened)?)
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
    let keys = keys_of(pinned)?;
    let receipt = Receipt::parse(receipt_text).map_err(SyncError::BadReceipt)?;
    if receipt.index != index {
        return Err(SyncError::ReceiptIndex {
            acknowledged: index,
            proved: receipt.index,
        });
    }
    let opened = receipt
        .verify(entry, keys.log(), keys.witnesses(), now)
        .map_err(|e| match e {
            ProofError::Checkpoint(n) => SyncError::BadCheckpoint(n),
            other => SyncError::BadReceipt(other),
        })?;
    keys.check_quorum(&opened)?;
    Ok(opened)
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
