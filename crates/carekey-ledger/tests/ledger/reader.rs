//! The one log reader: checkpoints under pinned keys, verified tiles and entries, proofs from
//! verified tiles only, over an in-memory transport and the directory transport.

use std::collections::HashMap;

use carekey_crypto::SigningKey;
use carekey_ledger::note::{write_note, Checkpoint, NoteKey};
use carekey_ledger::reader::{read_checkpoint, Extension, LogKeys, VerifiedTree};
use carekey_ledger::tiles::{encode_bundle, hash_tile, tiles_for_size, TileId, TileKind};
use carekey_ledger::transport::{DirTransport, Transport, CHECKPOINT_PATH};
use carekey_ledger::{FetchError, NoteError, ReadError, Tree};

use crate::{entry, tree_of};

const NOW: u64 = 1_750_000_000;
const ORIGIN: &str = "reader.test/log";

/// A log of `entry(0..size)` served from memory, signed by one log key and two witnesses.
struct Log {
    tree: Tree,
    log: NoteKey,
    witnesses: [NoteKey; 2],
    files: HashMap<String, Vec<u8>>,
}

impl Log {
    fn new(size: u64) -> Self {
        let tree = tree_of(size);
        let mut log = Self {
            tree,
            log: NoteKey::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).unwrap(),
            witnesses: [
                NoteKey::new("reader.test/w1", SigningKey::from_bytes(&[2; 32])).unwrap(),
                NoteKey::new("reader.test/w2", SigningKey::from_bytes(&[3; 32])).unwrap(),
            ],
            files: HashMap::new(),
        };
        log.files = log.tiles();
        log.files.insert(
            CHECKPOINT_PATH.to_owned(),
            log.note(&[(0, NOW), (1, NOW)]).into_bytes(),
        );
        log
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            origin: ORIGIN.to_owned(),
            size: self.tree.size(),
            root: self.tree.root(),
            extensions: Vec::new(),
        }
    }

    fn note(&self, cosigners: &[(usize, u64)]) -> String {
        let cp = self.checkpoint();
        let body = cp.body();
        let mut lines = vec![self.log.sign(&body)];
        for (i, t) in cosigners {
            lines.push(self.witnesses[*i].cosign(&cp, *t));
        }
        write_note(&body, &lines)
    }

    fn tiles(&self) -> HashMap<String, Vec<u8>> {
        let mut files = HashMap::new();
        for id in tiles_for_size(self.tree.size()) {
            let bytes = match id.kind {
                TileKind::Hash { .. } => hash_tile(&self.tree, &id).unwrap(),
                TileKind::Entries => {
                    let first = id.index * 256;
                    let entries: Vec<Vec<u8>> =
                        (first..first + u64::from(id.width)).map(entry).collect();
                    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    encode_bundle(&refs)
                }
            };
            files.insert(id.path(), bytes);
        }
        files
    }

    fn keys(&self, quorum: usize, max_age_secs: u64) -> LogKeys {
        let witnesses: Vec<_> = self.witnesses.iter().map(NoteKey::verifier).collect();
        LogKeys::new(self.log.verifier(), &witnesses, quorum, max_age_secs)
    }

    fn tamper(&mut self, path: &str, at: usize) {
        self.files.get_mut(path).unwrap()[at] ^= 1;
    }
}

impl Transport for Log {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        let bytes = self
            .files
            .get(path)
            .cloned()
            .ok_or_else(|| FetchError::NotFound {
                location: path.to_owned(),
            })?;
        if bytes.len() as u64 > limit {
            return Err(FetchError::TooLarge {
                location: path.to_owned(),
                limit,
            });
        }
        Ok(bytes)
    }
}

#[test]
fn an_honest_log_reads_and_proves() {
    let log = Log::new(600);
    let opened = read_checkpoint(&log, &log.keys(2, 3600), NOW).unwrap();
    assert_eq!(opened.checkpoint.size, 600);
    let mut tree = VerifiedTree::open(&log, &opened.checkpoint).unwrap();
    for bundle in 0..3 {
        let entries = tree.entries(bundle).unwrap();
        assert_eq!(entries[0], entry(bundle * 256));
    }
    assert!(tree.includes(300, &entry(300)).unwrap());
    assert!(!tree.includes(300, &entry(301)).unwrap());
    assert!(!tree.includes(600, &entry(600)).unwrap());
    for id in tiles_for_size(600) {
        if id.kind != TileKind::Entries {
            tree.check_served(id).unwrap();
        }
    }
    let older = Log::new(300);
    assert_eq!(
        tree.extends(&older.checkpoint()).unwrap(),
        Extension::Extends
    );
    assert_eq!(tree.extends(&log.checkpoint()).unwrap(), Extension::Extends);
    assert!(tree.extends(&Log::new(601).checkpoint()).is_err());
}

#[test]
fn a_fork_is_answered_with_the_failing_proof() {
    let log = Log::new(600);
    let mut tree = VerifiedTree::open(&log, &log.checkpoint()).unwrap();
    let mut other = log.checkpoint();
    other.size = 300;
    other.root = [7; 32];
    let Extension::Forks { proof } = tree.extends(&other).unwrap() else {
        panic!("a different root of size 300 is a fork")
    };
    assert_eq!(proof, log.tree.consistency_proof(300, 600).unwrap());
    other.size = 600;
    assert_eq!(
        tree.extends(&other).unwrap(),
        Extension::Forks { proof: Vec::new() }
    );
}

#[test]
fn tampering_is_named_by_tile_entry_and_position() {
    // A byte of entry 3: three entries of 2 + 7 bytes in, past its length prefix.
    let mut log = Log::new(600);
    log.tamper("tile/entries/000", 30);
    let mut tree = VerifiedTree::open(&log, &log.checkpoint()).unwrap();
    let err = tree.entries(0).unwrap_err();
    assert_eq!(
        err,
        ReadError::TamperedEntry {
            path: "tile/entries/000".into(),
            index: 3
        }
    );

    // A full hash tile read for a proof is checked against its parent.
    let mut log = Log::new(600);
    log.tamper("tile/0/001", 5);
    let mut tree = VerifiedTree::open(&log, &log.checkpoint()).unwrap();
    let err = tree.includes(300, &entry(300)).unwrap_err();
    assert_eq!(
        err,
        ReadError::TamperedTile {
            path: "tile/0/001".into()
        }
    );

    // The entries are honest, the level-0 tile served beside them is not: an auditor's
    // second look names the hash.
    let mut log = Log::new(600);
    log.tamper("tile/0/000", 32 * 7);
    let mut tree = VerifiedTree::open(&log, &log.checkpoint()).unwrap();
    tree.entries(0).unwrap();
    let err = tree.check_served(TileId::hash(0, 0, 256)).unwrap_err();
    assert_eq!(
        err,
        ReadError::TileMismatch {
            path: "tile/0/000".into(),
            position: 7
        }
    );

    // A tile the root is made of.
    let mut log = Log::new(600);
    log.tamper("tile/0/002.p/88", 0);
    let err = VerifiedTree::open(&log, &log.checkpoint()).unwrap_err();
    assert!(
        matches!(&err, ReadError::TamperedTile { path } if path.contains("tile/0/002.p/88")),
        "{err}"
    );

    // Wrong lengths and malformed bundles are malformed, not tampered.
    let mut log = Log::new(600);
    log.files.get_mut("tile/0/001").unwrap().pop();
    let mut tree = VerifiedTree::open(&log, &log.checkpoint()).unwrap();
    let err = tree.includes(300, &entry(300)).unwrap_err();
    assert!(
        matches!(&err, ReadError::BadTile { path, .. } if path == "tile/0/001"),
        "{err}"
    );
    let mut log = Log::new(600);
    log.files
        .get_mut("tile/entries/002.p/88")
        .unwrap()
        .extend_from_slice(&[0, 1, 0]);
    let mut tree = VerifiedTree::open(&log, &log.checkpoint()).unwrap();
    assert!(matches!(
        tree.entries(2).unwrap_err(),
        ReadError::BadTile { .. }
    ));
    assert!(matches!(
        tree.entries(3).unwrap_err(),
        ReadError::BadTile { .. }
    ));
}

#[test]
fn a_partial_tile_that_is_gone_is_cut_from_the_full_one() {
    // The checkpoint is of size 300; the source has moved on to 512 and dropped partials.
    let old = Log::new(300);
    let mut log = Log::new(512);
    log.files.retain(|path, _| !path.contains(".p/"));
    // The one level-1 hash of size 300 is no full tile's prefix yet.
    let level1 = "tile/1/000.p/1";
    log.files.insert(level1.into(), old.files[level1].clone());
    let mut tree = VerifiedTree::open(&log, &old.checkpoint()).unwrap();
    assert_eq!(tree.entries(1).unwrap().len(), 44);
    assert!(tree.includes(299, &entry(299)).unwrap());
}

#[test]
fn checkpoints_need_the_pinned_keys_a_quorum_and_freshness() {
    let mut log = Log::new(5);
    assert!(read_checkpoint(&log, &log.keys(2, 3600), NOW).is_ok());
    log.files.insert(
        CHECKPOINT_PATH.into(),
        log.note(&[(0, NOW - 4000)]).into_bytes(),
    );
    assert_eq!(
        read_checkpoint(&log, &log.keys(2, 3600), NOW).unwrap_err(),
        ReadError::NoQuorum { have: 1, need: 2 }
    );
    assert_eq!(
        read_checkpoint(&log, &log.keys(1, 3600), NOW).unwrap_err(),
        ReadError::Stale {
            age: 4000,
            max: 3600
        }
    );
    let keys = log.keys(1, 0);
    let opened = read_checkpoint(&log, &keys, NOW).unwrap();
    assert_eq!(keys.fresh_as_of(&opened), Some(NOW - 4000));
    let log_only = LogKeys::log_only(log.log.verifier());
    let opened = read_checkpoint(&log, &log_only, NOW).unwrap();
    assert_eq!(log_only.fresh_as_of(&opened), None);
    // Another key of the same name.
    let impostor = NoteKey::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).unwrap();
    let err = read_checkpoint(&log, &LogKeys::log_only(impostor.verifier()), NOW).unwrap_err();
    assert!(matches!(err, ReadError::Checkpoint(_)), "{err}");
    log.files
        .insert(CHECKPOINT_PATH.into(), vec![0xff, b'\n', b'\n']);
    assert_eq!(
        read_checkpoint(&log, &log_only, NOW).unwrap_err(),
        ReadError::Checkpoint(NoteError::NotUtf8)
    );
    log.files.remove(CHECKPOINT_PATH);
    assert!(matches!(
        read_checkpoint(&log, &log_only, NOW).unwrap_err(),
        ReadError::Fetch(FetchError::NotFound { .. })
    ));
}

#[test]
fn a_directory_transport_reads_the_same_log() {
    let log = Log::new(300);
    let dir = std::env::temp_dir().join(format!("carekey-ledger-reader-{}", std::process::id()));
    for (path, bytes) in &log.files {
        let full = dir.join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }
    let disk = DirTransport::new(dir.clone());
    let keys = log.keys(2, 3600);
    let opened = read_checkpoint(&disk, &keys, NOW).unwrap();
    assert_eq!(opened, read_checkpoint(&log, &keys, NOW).unwrap());
    let mut tree = VerifiedTree::open(&disk, &opened.checkpoint).unwrap();
    assert_eq!(tree.entries(1).unwrap()[43], entry(299));
    // A checkpoint over the note limit is refused before it is read whole.
    std::fs::write(dir.join(CHECKPOINT_PATH), vec![b'a'; (1 << 20) + 1]).unwrap();
    assert!(matches!(
        read_checkpoint(&disk, &keys, NOW).unwrap_err(),
        ReadError::Fetch(FetchError::TooLarge { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
