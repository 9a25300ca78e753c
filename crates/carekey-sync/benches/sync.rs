//! What a wallet pays to verify a log it reads from a mirror on disk (SPEC §6: verifying
//! 100,000 log entries ≤ 2 s on the 2-core reference machine).
//!
//! The log holds 100,000 real, signed `GrantCommitment` entries, each under its own grant key.
//!
//! - `full_100k`: a wallet with no state: checkpoint (log signature, two cosignatures), every
//!   tile the root needs, every entry bundle read, its 100,000 leaf hashes computed here and
//!   checked tile by tile against the signed root, ten own entries proven, the entries naming
//!   ten watched keys parsed and their signatures verified.
//! - `incremental_1k`: the same wallet after 1,000 new entries (consistency proof from 99,000,
//!   the new bundles scanned). Goal ≤ 100 ms.
//! - `all_signatures_100k`: for comparison, what re-verifying every entry's signature would add
//!   (`Entry::from_bytes` on all 100,000, on both cores). `sync` does not do this: it only
//!   parses entries that name a watched key (see ADR 0008).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use carekey_crypto::{sha256, SigningKey};
use carekey_ledger::note::{write_note, Checkpoint, NoteKey};
use carekey_ledger::tiles::{encode_bundle, hash_tile, tiles_for_size, TileKind};
use carekey_ledger::transport::{DirTransport, Transport, CHECKPOINT_PATH};
use carekey_ledger::FetchError;
use carekey_ledger::{leaf_hash, Tree};
use carekey_model::ledger::{Entry, GrantCommitment};
use carekey_model::Signed;
use carekey_sync::{sync, LogState, PinnedLog, Watch};
use criterion::{criterion_group, criterion_main, Criterion};

const ENTRIES: u64 = 100_000;
const OLD: u64 = 99_000;
const NOW: u64 = 1_750_000_000;

struct Log {
    entries: Vec<Vec<u8>>,
    tree: Tree,
    log: NoteKey,
    witnesses: [NoteKey; 2],
}

impl Log {
    fn note(&self, size: u64) -> String {
        let cp = Checkpoint {
            origin: "bench.example/log".into(),
            size,
            root: self.tree.root_at(size).unwrap(),
            extensions: Vec::new(),
        };
        let body = cp.body();
        let lines = vec![
            self.log.sign(&body),
            self.witnesses[0].cosign(&cp, NOW),
            self.witnesses[1].cosign(&cp, NOW),
        ];
        write_note(&body, &lines)
    }

    fn pinned(&self) -> PinnedLog {
        PinnedLog {
            url: "file".into(),
            log_key: self.log.verifier().to_vkey(),
            witness_keys: self
                .witnesses
                .iter()
                .map(|w| w.verifier().for_cosignatures().to_vkey())
                .collect(),
            quorum: 2,
            max_age_secs: 3600,
        }
    }

    /// Writes the tiles of `size` (partial ones included) under `dir`.
    fn write_tiles(&self, dir: &Path, size: u64) {
        for id in tiles_for_size(size) {
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
            let path = dir.join(id.path());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    }
}

fn grant_key(i: u64) -> SigningKey {
    let mut seed = [7u8; 32];
    seed[..8].copy_from_slice(&i.to_be_bytes());
    SigningKey::from_bytes(&seed)
}

fn build() -> Log {
    let entries: Vec<Vec<u8>> = std::thread::scope(|s| {
        let halves: Vec<_> = [0..ENTRIES / 2, ENTRIES / 2..ENTRIES]
            .into_iter()
            .map(|range| {
                s.spawn(move || {
                    range
                        .map(|i| {
                            let key = grant_key(i);
                            let doc = GrantCommitment {
                                grant_key: key.public(),
                                commitment: sha256(&i.to_be_bytes()),
                                committed_at: NOW,
                            };
                            Signed::sign(doc, &key).unwrap().as_bytes().to_vec()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let tree = Tree::from_leaf_hashes(entries.iter().map(|e| leaf_hash(e)).collect());
    Log {
        entries,
        tree,
        log: NoteKey::new("bench.example/log", SigningKey::from_bytes(&[1; 32])).unwrap(),
        witnesses: [
            NoteKey::new("bench.example/w1", SigningKey::from_bytes(&[2; 32])).unwrap(),
            NoteKey::new("bench.example/w2", SigningKey::from_bytes(&[3; 32])).unwrap(),
        ],
    }
}

/// The mirror on disk, showing an older checkpoint.
struct AtSize<'a>(&'a DirTransport, String);

impl Transport for AtSize<'_> {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        if path == CHECKPOINT_PATH {
            return Ok(self.1.clone().into_bytes());
        }
        self.0.fetch(path, limit)
    }
}

fn bench(c: &mut Criterion) {
    let log = build();
    let dir = tempfile::tempdir().unwrap();
    log.write_tiles(dir.path(), OLD);
    log.write_tiles(dir.path(), ENTRIES);
    std::fs::write(dir.path().join("checkpoint"), log.note(ENTRIES)).unwrap();
    let source = DirTransport::new(dir.path().to_owned());
    let pinned = log.pinned();
    let watched: Vec<u64> = (0..10).map(|i| i * 9_973 + 11).collect();
    let watch = Watch {
        grant_keys: watched.iter().map(|i| grant_key(*i).public()).collect(),
        own_entries: watched
            .iter()
            .map(|i| (*i, log.entries[*i as usize].clone()))
            .collect(),
    };

    let full = sync(&source, &pinned, &LogState::default(), &watch, NOW).unwrap();
    assert_eq!(full.found.len(), 10);
    let old = sync(
        &AtSize(&source, log.note(OLD)),
        &pinned,
        &LogState::default(),
        &Watch::default(),
        NOW,
    )
    .unwrap()
    .state;

    let mut g = c.benchmark_group("sync");
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(10));
    g.bench_function("full_100k", |b| {
        b.iter(|| sync(&source, &pinned, &LogState::default(), &watch, NOW).unwrap())
    });
    g.bench_function("incremental_1k", |b| {
        b.iter(|| sync(&source, &pinned, &old, &watch, NOW).unwrap())
    });
    g.bench_function("all_signatures_100k", |b| {
        b.iter(|| {
            std::thread::scope(|s| {
                for half in log.entries.chunks(log.entries.len().div_ceil(2)) {
                    s.spawn(move || {
                        for e in half {
                            Entry::from_bytes(e).unwrap();
                        }
                    });
                }
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
