//! carekey-sync against a fake log built from `carekey-ledger`: served from memory, from a
//! directory and over HTTP by a tiny static server, honest and hostile.
#![allow(clippy::unwrap_used)]

mod happy;
mod hostile;
mod http;
mod outbox;
mod props;
mod receipts;

use std::collections::HashMap;
use std::path::Path;

use carekey_crypto::{sha256, PublicKey, SigningKey};
use carekey_ledger::note::{write_note, Checkpoint, NoteKey, SignatureLine};
use carekey_ledger::tiles::{encode_bundle, hash_tile, tiles_for_size, TileKind};
use carekey_ledger::transport::{Transport, CHECKPOINT_PATH};
use carekey_ledger::FetchError;
use carekey_ledger::{leaf_hash, Tree};
use carekey_model::ledger::{AccessEvent, GrantCommitment, RevocationEntry};
use carekey_model::Signed;
use carekey_sync::PinnedLog;

/// The log's origin (its key's name).
pub(crate) const ORIGIN: &str = "carekey.test/log1";
/// "Now" in every test.
pub(crate) const NOW: u64 = 1_750_000_000;

/// A log kept in memory: its entries, its tree, its key and two witnesses.
pub(crate) struct FakeLog {
    pub(crate) entries: Vec<Vec<u8>>,
    pub(crate) tree: Tree,
    pub(crate) log_key: SigningKey,
    pub(crate) log: NoteKey,
    pub(crate) witnesses: Vec<NoteKey>,
}

impl FakeLog {
    pub(crate) fn new() -> Self {
        Self::with_log_seed(1)
    }

    /// A log whose key comes from `seed` (same origin name): another key, same name.
    pub(crate) fn with_log_seed(seed: u8) -> Self {
        let log_key = SigningKey::from_bytes(&[seed; 32]);
        Self {
            entries: Vec::new(),
            tree: Tree::new(),
            log: NoteKey::new(ORIGIN, log_key.clone()).unwrap(),
            log_key,
            witnesses: vec![
                NoteKey::new("witness.test/w1", SigningKey::from_bytes(&[101; 32])).unwrap(),
                NoteKey::new("witness.test/w2", SigningKey::from_bytes(&[102; 32])).unwrap(),
                // Not pinned by the wallets of these tests.
                NoteKey::new("witness.test/rogue", SigningKey::from_bytes(&[103; 32])).unwrap(),
            ],
        }
    }

    pub(crate) fn append(&mut self, entry: Vec<u8>) -> u64 {
        self.tree.push(leaf_hash(&entry));
        self.entries.push(entry);
        self.tree.size() - 1
    }

    /// Appends `n` grant commitments by keys nobody watches.
    pub(crate) fn append_fillers(&mut self, n: usize) {
        for _ in 0..n {
            let i = self.entries.len() as u64;
            self.append(filler(i));
        }
    }

    pub(crate) fn size(&self) -> u64 {
        self.tree.size()
    }

    pub(crate) fn checkpoint_at(&self, size: u64) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root: self.tree.root_at(size).unwrap(),
            extensions: Vec::new(),
        }
    }

    /// The note for `checkpoint`, signed by the log and cosigned by witnesses `(i, time)`.
    pub(crate) fn note_of(&self, checkpoint: &Checkpoint, cosigners: &[(usize, u64)]) -> String {
        let body = checkpoint.body();
        let mut lines: Vec<SignatureLine> = vec![self.log.sign(&body)];
        for (i, t) in cosigners {
            lines.push(self.witnesses[*i].cosign(checkpoint, *t));
        }
        write_note(&body, &lines)
    }

    /// The current checkpoint, cosigned by both pinned witnesses at `NOW`.
    pub(crate) fn note(&self) -> String {
        self.note_of(&self.checkpoint_at(self.size()), &[(0, NOW), (1, NOW)])
    }

    pub(crate) fn pinned(&self, url: &str) -> PinnedLog {
        PinnedLog {
            url: url.to_owned(),
            log_key: self.log.verifier().to_vkey(),
            witness_keys: self.witnesses[..2]
                .iter()
                .map(|w| w.verifier().for_cosignatures().to_vkey())
                .collect(),
            quorum: 2,
            max_age_secs: 3600,
        }
    }

    /// Every tile and bundle the log serves at its current size, by path.
    pub(crate) fn tiles(&self) -> HashMap<String, Vec<u8>> {
        let mut files = HashMap::new();
        for id in tiles_for_size(self.size()) {
            let bytes = match id.kind {
                TileKind::Hash { .. } => hash_tile(&self.tree, &id).unwrap(),
                TileKind::Entries => {
                    let first = (id.index * 256) as usize;
                    let refs: Vec<&[u8]> = self.entries[first..first + usize::from(id.width)]
                        .iter()
                        .map(Vec::as_slice)
                        .collect();
                    encode_bundle(&refs)
                }
            };
            files.insert(id.path(), bytes);
        }
        files
    }

    /// A mirror in memory at the current size.
    pub(crate) fn mirror(&self) -> Mirror {
        Mirror {
            checkpoint: self.note(),
            files: self.tiles(),
        }
    }

    /// Writes the mirror layout (`checkpoint`, `tile/…`) under `dir`.
    pub(crate) fn publish(&self, dir: &Path) {
        self.mirror().write(dir);
    }
}

/// A static mirror in memory, easy to tamper with.
#[derive(Clone)]
pub(crate) struct Mirror {
    pub(crate) checkpoint: String,
    pub(crate) files: HashMap<String, Vec<u8>>,
}

impl Mirror {
    pub(crate) fn write(&self, dir: &Path) {
        std::fs::write(dir.join("checkpoint"), &self.checkpoint).unwrap();
        for (path, bytes) in &self.files {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
    }

    pub(crate) fn tile_mut(&mut self, path: &str) -> &mut Vec<u8> {
        self.files
            .get_mut(path)
            .unwrap_or_else(|| panic!("the mirror has no {path}"))
    }
}

/// Serves the checkpoint and tiles verbatim, uncapped: a hostile source need not respect the
/// reader's limits (the checkpoint parser and tile checks must).
impl Transport for Mirror {
    fn fetch(&self, path: &str, _limit: u64) -> Result<Vec<u8>, FetchError> {
        if path == CHECKPOINT_PATH {
            return Ok(self.checkpoint.clone().into_bytes());
        }
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| FetchError::NotFound {
                location: path.to_owned(),
            })
    }
}

/// A grant key owned by a test wallet.
pub(crate) fn grant_key(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n; 32])
}

/// A real, signed grant commitment entry.
pub(crate) fn grant_entry(key: &SigningKey, salt: u64) -> Vec<u8> {
    let doc = GrantCommitment {
        grant_key: key.public(),
        commitment: sha256(&salt.to_be_bytes()),
        committed_at: NOW,
    };
    Signed::sign(doc, key).unwrap().as_bytes().to_vec()
}

/// A real, signed revocation entry.
pub(crate) fn revocation_entry(key: &SigningKey) -> Vec<u8> {
    let doc = RevocationEntry {
        grant_key: key.public(),
        revoked_at: NOW,
        ends_at: None,
    };
    Signed::sign(doc, key).unwrap().as_bytes().to_vec()
}

/// A real access event for `grant`, signed by `node`.
pub(crate) fn access_entry(node: &SigningKey, grant: PublicKey, id: u8) -> Vec<u8> {
    let doc = AccessEvent {
        node_key: node.public(),
        grant_key: grant,
        event_id: [id; 16],
        sealed: vec![7; 100],
        logged_at: NOW,
    };
    Signed::sign(doc, node).unwrap().as_bytes().to_vec()
}

/// Someone else's grant commitment (keys derived from the index; cheap enough for tests).
pub(crate) fn filler(i: u64) -> Vec<u8> {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&i.to_be_bytes());
    seed[31] = 0xee;
    grant_entry(&SigningKey::from_bytes(&seed), i)
}
