//! Honest logs: incremental syncs, watched keys, own entries, partial-tile fallback.

use carekey_ledger::tiles::TileId;
use carekey_ledger::transport::{DirTransport, Transport};
use carekey_ledger::FetchError;
use carekey_model::ledger::Entry;
use carekey_sync::{sync, LogState, Watch};

use crate::{access_entry, grant_entry, grant_key, revocation_entry, FakeLog, Mirror, NOW};

#[test]
fn incremental_sync_across_three_appends_finds_only_watched_keys() {
    let mut log = FakeLog::new();
    let mine = grant_key(7);
    let also_mine = grant_key(8);
    let theirs = grant_key(9);
    let dir = tempfile::tempdir().unwrap();
    let source = DirTransport::new(dir.path().to_owned());
    let pinned = log.pinned("file");
    let watch = Watch {
        grant_keys: vec![mine.public(), also_mine.public()],
        own_entries: Vec::new(),
    };

    // Append 1: 300 entries, one of them mine, one someone else's.
    log.append_fillers(100);
    let g1 = log.append(grant_entry(&mine, 1));
    log.append(grant_entry(&theirs, 2));
    log.append_fillers(198);
    log.publish(dir.path());
    let first = sync(&source, &pinned, &LogState::default(), &watch, NOW).unwrap();
    assert_eq!(first.state.size, 300);
    assert_eq!(first.state.scanned, 300);
    assert_eq!(first.state.checkpoint.as_deref(), Some(log.note().as_str()));
    assert_eq!(first.checkpoint.checkpoint.size, 300);
    let found: Vec<(u64, &str)> = first
        .found
        .iter()
        .map(|f| (f.index, f.entry.kind()))
        .collect();
    assert_eq!(found, vec![(g1, "grant")]);

    // Append 2: a revocation of mine, an access event on my other grant, more noise.
    log.append_fillers(10);
    let g2 = log.append(grant_entry(&also_mine, 3));
    let rev = log.append(revocation_entry(&mine));
    log.append(revocation_entry(&theirs));
    let node_key = log.log_key.clone();
    let acc = log.append(access_entry(&node_key, also_mine.public(), 1));
    log.append_fillers(250);
    log.publish(dir.path());
    let second = sync(&source, &pinned, &first.state, &watch, NOW + 10).unwrap();
    let found: Vec<(u64, &str)> = second
        .found
        .iter()
        .map(|f| (f.index, f.entry.kind()))
        .collect();
    assert_eq!(
        found,
        vec![(g2, "grant"), (rev, "revocation"), (acc, "access")]
    );
    assert_eq!(second.state.scanned, log.size());
    match &second.found[2].entry {
        Entry::Access(e) => assert_eq!(e.document().grant_key, also_mine.public()),
        other => panic!("{other:?}"),
    }

    // Append 3: nothing of mine.
    log.append_fillers(5);
    log.publish(dir.path());
    let third = sync(&source, &pinned, &second.state, &watch, NOW + 20).unwrap();
    assert!(third.found.is_empty());
    assert_eq!(third.state.size, 569);

    // Syncing again at the same size finds nothing new and keeps the state.
    let again = sync(&source, &pinned, &third.state, &watch, NOW + 30).unwrap();
    assert!(again.found.is_empty());
    assert_eq!(again.state, third.state);

    // A fresh wallet scanning from zero sees everything of mine at once.
    let fresh = sync(&source, &pinned, &LogState::default(), &watch, NOW + 30).unwrap();
    let all: Vec<u64> = fresh.found.iter().map(|f| f.index).collect();
    assert_eq!(all, vec![g1, g2, rev, acc]);
}

#[test]
fn own_entries_are_proven_from_self_computed_leaf_hashes() {
    let mut log = FakeLog::new();
    let mine = grant_key(7);
    log.append_fillers(700);
    let a = log.append(grant_entry(&mine, 1));
    log.append_fillers(40);
    let b = log.append(revocation_entry(&mine));
    let mirror = log.mirror();
    let watch = Watch {
        grant_keys: Vec::new(),
        own_entries: vec![
            (0, log.entries[0].clone()),
            (a, log.entries[a as usize].clone()),
            (b, log.entries[b as usize].clone()),
        ],
    };
    let out = sync(&mirror, &log.pinned("m"), &LogState::default(), &watch, NOW).unwrap();
    assert!(out.found.is_empty(), "no keys watched");
    assert_eq!(out.state.size, 742);
}

#[test]
fn the_empty_log_and_a_one_entry_log_verify() {
    let mut log = FakeLog::new();
    let pinned = log.pinned("m");
    let empty = sync(
        &log.mirror(),
        &pinned,
        &LogState::default(),
        &Watch::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(empty.state.size, 0);
    assert!(empty.state.checkpoint.is_some());
    log.append(grant_entry(&grant_key(7), 1));
    let watch = Watch {
        grant_keys: vec![grant_key(7).public()],
        own_entries: Vec::new(),
    };
    let one = sync(&log.mirror(), &pinned, &empty.state, &watch, NOW).unwrap();
    assert_eq!(one.state.size, 1);
    assert_eq!(one.found.len(), 1);
}

#[test]
fn exact_tile_boundaries_verify() {
    // 256 and 65,536 have no partial tile at the lower levels; 257 has one of width 1.
    let mut log = FakeLog::new();
    let pinned = log.pinned("m");
    let mut state = LogState::default();
    for target in [255u64, 256, 257, 512, 513] {
        log.append_fillers((target - log.size()) as usize);
        let own = vec![(target - 1, log.entries[(target - 1) as usize].clone())];
        let watch = Watch {
            grant_keys: Vec::new(),
            own_entries: own,
        };
        state = sync(&log.mirror(), &pinned, &state, &watch, NOW)
            .unwrap_or_else(|e| panic!("size {target}: {e}"))
            .state;
        assert_eq!(state.size, target);
    }
}

/// A mirror that has dropped partial tiles once the full ones exist.
struct FullTilesOnly(Mirror);

impl Transport for FullTilesOnly {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        if let Ok(id) = TileId::parse(path) {
            let full = TileId { width: 256, ..id };
            if !id.is_full() && self.0.files.contains_key(&full.path()) {
                return Err(FetchError::NotFound {
                    location: id.path(),
                });
            }
        }
        self.0.fetch(path, limit)
    }
}

#[test]
fn a_partial_tile_that_is_gone_is_cut_from_the_full_one() {
    let mut log = FakeLog::new();
    let mine = grant_key(7);
    log.append_fillers(200);
    let g = log.append(grant_entry(&mine, 1));
    log.append_fillers(99);
    // The wallet syncs at size 300 while the mirror already holds the full tiles of 512.
    let old = log.mirror();
    log.append_fillers(212);
    let mut mirror = log.mirror();
    for (path, bytes) in old.files {
        mirror.files.entry(path).or_insert(bytes);
    }
    mirror.checkpoint = old.checkpoint;
    let watch = Watch {
        grant_keys: vec![mine.public()],
        own_entries: vec![(g, log.entries[g as usize].clone())],
    };
    let out = sync(
        &FullTilesOnly(mirror),
        &log.pinned("m"),
        &LogState::default(),
        &watch,
        NOW,
    )
    .unwrap();
    assert_eq!(out.state.size, 300);
    assert_eq!(out.found.len(), 1);
}

#[test]
fn freshness_and_quorum_can_be_relaxed_by_the_pin() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mut pinned = log.pinned("m");
    pinned.quorum = 1;
    pinned.max_age_secs = 0;
    let mut mirror = log.mirror();
    mirror.checkpoint = log.note_of(&log.checkpoint_at(3), &[(1, NOW - 1_000_000)]);
    sync(
        &mirror,
        &pinned,
        &LogState::default(),
        &Watch::default(),
        NOW,
    )
    .unwrap();
    // A log pinned without witnesses (a local node) needs only its own signature.
    pinned.witness_keys.clear();
    pinned.quorum = 0;
    mirror.checkpoint = log.note_of(&log.checkpoint_at(3), &[]);
    sync(
        &mirror,
        &pinned,
        &LogState::default(),
        &Watch::default(),
        NOW,
    )
    .unwrap();
}
