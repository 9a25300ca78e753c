//! `sync` never panics, whatever bytes a source serves.

use proptest::prelude::*;

use carekey_sync::{sync, LogState, Watch};

use crate::{grant_key, FakeLog, NOW};

fn log_of(size: usize) -> FakeLog {
    let mut log = FakeLog::new();
    for i in 0..size {
        // Opaque entries keep the log cheap; one of them names the watched key.
        if i == 3 {
            log.append(crate::grant_entry(&grant_key(7), 1));
        } else {
            log.append(format!("entry {i}").into_bytes());
        }
    }
    log
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_tile_bytes_never_panic(
        size in 1usize..700,
        pick in any::<prop::sample::Index>(),
        bytes in prop::collection::vec(any::<u8>(), 0..9000),
        own in any::<bool>(),
    ) {
        let log = log_of(size);
        let mut mirror = log.mirror();
        let mut paths: Vec<String> = mirror.files.keys().cloned().collect();
        paths.sort();
        let path = pick.get(&paths).clone();
        *mirror.tile_mut(&path) = bytes.clone();
        let watch = Watch {
            grant_keys: vec![grant_key(7).public()],
            own_entries: if own { vec![(0, log.entries[0].clone())] } else { Vec::new() },
        };
        let result = sync(&mirror, &log.pinned("m"), &LogState::default(), &watch, NOW);
        // Every bundle is read from a fresh state: only the exact bytes the log serves pass.
        if path.starts_with("tile/entries/") && bytes != log.mirror().files[&path] {
            prop_assert!(result.is_err(), "{path} accepted with other bytes");
        }
    }

    #[test]
    fn random_checkpoints_never_panic(text in ".{0,400}", raw in prop::collection::vec(any::<u8>(), 0..400)) {
        let log = log_of(5);
        let mut mirror = log.mirror();
        for note in [text, String::from_utf8_lossy(&raw).into_owned()] {
            mirror.checkpoint = note;
            prop_assert!(sync(&mirror, &log.pinned("m"), &LogState::default(), &Watch::default(), NOW).is_err());
        }
    }
}
