//! Hostile nodes and mirrors: every LEDGER-CHECKS failure must be caught, with evidence where
//! two signed notes contradict each other.

use std::time::{Duration, Instant};

use carekey_crypto::SigningKey;
use carekey_ledger::note::NoteKey;
use carekey_ledger::transport::DirTransport;
use carekey_ledger::NoteError;
use carekey_sync::{
    gossip, gossip_via, sync, HttpTransport, LogState, PinnedLog, SyncError, Watch,
};

use crate::http::{Reply, Server};
use crate::{access_entry, filler, grant_entry, grant_key, FakeLog, NOW};

fn watch_none() -> Watch {
    Watch::default()
}

fn synced(log: &FakeLog) -> LogState {
    sync(
        &log.mirror(),
        &log.pinned("m"),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap()
    .state
}

fn sync_err(log: &FakeLog, mirror: &crate::Mirror, state: &LogState, watch: &Watch) -> SyncError {
    sync(mirror, &log.pinned("m"), state, watch, NOW).unwrap_err()
}

/// A log of 600 entries (two full level-0 tiles and a partial one), one watched grant at 300.
fn big_log() -> (FakeLog, Watch) {
    let mut log = FakeLog::new();
    log.append_fillers(300);
    let mine = grant_key(7);
    let i = log.append(grant_entry(&mine, 1));
    log.append_fillers(299);
    let watch = Watch {
        grant_keys: vec![mine.public()],
        own_entries: vec![(i, log.entries[i as usize].clone())],
    };
    (log, watch)
}

#[test]
fn a_tampered_full_hash_tile_is_caught() {
    let (log, watch) = big_log();
    let mut mirror = log.mirror();
    // The own entry at 300 sits in tile/0/001, a full tile checked against its parent.
    mirror.tile_mut("tile/0/001")[5] ^= 1;
    let err = sync_err(&log, &mirror, &LogState::default(), &watch);
    assert!(
        matches!(&err, SyncError::TamperedTile { path } if path == "tile/0/001"),
        "{err}"
    );
}

#[test]
fn a_tampered_root_tile_is_caught() {
    let (log, watch) = big_log();
    for path in ["tile/1/000.p/2", "tile/0/002.p/88"] {
        let mut mirror = log.mirror();
        mirror.tile_mut(path)[40] ^= 0x80;
        let err = sync_err(&log, &mirror, &LogState::default(), &watch);
        assert!(
            matches!(&err, SyncError::TamperedTile { path: p } if p.contains(path)),
            "{path}: {err}"
        );
    }
}

#[test]
fn a_hash_tile_of_the_wrong_length_is_refused() {
    let (log, watch) = big_log();
    let mut mirror = log.mirror();
    mirror.tile_mut("tile/0/001").pop();
    let err = sync_err(&log, &mirror, &LogState::default(), &watch);
    assert!(
        matches!(&err, SyncError::BadTile { path, .. } if path == "tile/0/001"),
        "{err}"
    );
}

#[test]
fn a_tampered_entry_bundle_is_caught() {
    let (log, watch) = big_log();
    // Flip a byte inside an entry (the length prefixes stay valid).
    let mut mirror = log.mirror();
    mirror.tile_mut("tile/entries/000")[100] ^= 1;
    let err = sync_err(&log, &mirror, &LogState::default(), &watch);
    assert!(
        matches!(&err, SyncError::TamperedTile { path } if path == "tile/entries/000"),
        "{err}"
    );

    // Hide the watched entry by swapping in another valid entry of the same log position.
    let mut mirror = log.mirror();
    let entries: Vec<Vec<u8>> = (256..512)
        .map(|i| {
            if i == 300 {
                filler(9_999)
            } else {
                log.entries[i].clone()
            }
        })
        .collect();
    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
    *mirror.tile_mut("tile/entries/001") = carekey_ledger::tiles::encode_bundle(&refs);
    let no_own = Watch {
        grant_keys: watch.grant_keys.clone(),
        own_entries: Vec::new(),
    };
    let err = sync_err(&log, &mirror, &LogState::default(), &no_own);
    assert!(
        matches!(&err, SyncError::TamperedTile { path } if path == "tile/entries/001"),
        "{err}"
    );

    // A truncated bundle, and one with an extra entry.
    for cut in [true, false] {
        let mut mirror = log.mirror();
        let b = mirror.tile_mut("tile/entries/002.p/88");
        if cut {
            b.truncate(b.len() - 1);
        } else {
            b.extend_from_slice(&[0, 1, 0]);
        }
        let err = sync_err(&log, &mirror, &LogState::default(), &watch);
        assert!(matches!(&err, SyncError::BadTile { .. }), "{err}");
    }
}

#[test]
fn a_rollback_is_refused_with_both_notes_as_evidence() {
    let mut log = FakeLog::new();
    log.append_fillers(10);
    let small = log.mirror();
    log.append_fillers(10);
    let state = synced(&log);
    let err = sync_err(&log, &small, &state, &watch_none());
    let SyncError::Rollback { evidence } = &err else {
        panic!("{err}")
    };
    assert_eq!(evidence.kind, "rollback");
    assert_eq!(
        evidence.notes,
        vec![state.checkpoint.clone().unwrap(), small.checkpoint.clone()]
    );
    assert_eq!(evidence.seen_at, NOW);
    assert_eq!(err.evidence(), Some(evidence));
}

/// A log that agrees with `log` on its first `common` entries, then diverges.
fn fork_of(log: &FakeLog, common: usize, extra: usize) -> FakeLog {
    let mut fork = FakeLog::new();
    for e in &log.entries[..common] {
        fork.append(e.clone());
    }
    for i in 0..extra {
        fork.append(filler(1_000_000 + i as u64));
    }
    fork
}

#[test]
fn a_split_view_is_refused_with_both_notes_as_evidence() {
    let mut log = FakeLog::new();
    log.append_fillers(20);
    let state = synced(&log);
    let fork = fork_of(&log, 15, 5);
    assert_eq!(fork.size(), log.size());
    let forked = fork.mirror();
    let err = sync_err(&log, &forked, &state, &watch_none());
    let SyncError::SplitView { evidence } = err else {
        panic!("{err}")
    };
    assert_eq!(evidence.kind, "split_view");
    assert_eq!(evidence.notes[0], state.checkpoint.unwrap());
    assert_eq!(evidence.notes[1], forked.checkpoint);
    assert!(evidence.detail.contains("size 20"), "{}", evidence.detail);
}

#[test]
fn a_fork_that_grew_is_inconsistent_with_evidence() {
    let mut log = FakeLog::new();
    log.append_fillers(300);
    let state = synced(&log);
    for (common, extra) in [(299, 200), (10, 400), (0, 301)] {
        let fork = fork_of(&log, common, extra);
        let forked = fork.mirror();
        let err = sync_err(&log, &forked, &state, &watch_none());
        let SyncError::Inconsistent { evidence } = &err else {
            panic!("{common}: {err}")
        };
        assert_eq!(evidence.kind, "inconsistent");
        assert_eq!(evidence.notes.len(), 2);
        assert_eq!(evidence.notes[1], forked.checkpoint);
    }
}

#[test]
fn a_fork_shown_to_two_wallets_is_detected_by_gossip() {
    let mut log = FakeLog::new();
    log.append_fillers(30);
    let fork = fork_of(&log, 25, 5);
    let alice = synced(&log);
    let bob = sync(
        &fork.mirror(),
        &log.pinned("m"),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap()
    .state;
    let evidence = gossip(&alice, &bob).expect("same size, different roots");
    assert_eq!(evidence.kind, "split_view");
    assert_eq!(
        evidence.notes,
        vec![
            alice.checkpoint.clone().unwrap(),
            bob.checkpoint.clone().unwrap()
        ]
    );
    assert_eq!(gossip(&alice, &alice), None);
    assert_eq!(gossip(&alice, &LogState::default()), None);
    // Different sizes cannot be compared without a proof: the next sync does that.
    let mut grown = FakeLog::new();
    for e in &log.entries {
        grown.append(e.clone());
    }
    grown.append_fillers(1);
    assert_eq!(gossip(&alice, &synced(&grown)), None);
    // With a mirror of the larger view, views of different sizes are compared by proof.
    let mut longer_fork = fork_of(&log, 25, 9);
    longer_fork.append_fillers(300);
    let dave = sync(
        &longer_fork.mirror(),
        &log.pinned("m"),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap()
    .state;
    let pinned = log.pinned("m");
    let ev = gossip_via(&longer_fork.mirror(), &pinned, &alice, &dave, NOW)
        .unwrap()
        .expect("a fork");
    assert_eq!(ev.kind, "inconsistent");
    assert_eq!(
        ev.notes,
        vec![
            alice.checkpoint.clone().unwrap(),
            dave.checkpoint.clone().unwrap()
        ]
    );
    let honest = synced(&grown);
    assert_eq!(
        gossip_via(&grown.mirror(), &pinned, &honest, &alice, NOW).unwrap(),
        None
    );
    assert!(gossip_via(&grown.mirror(), &pinned, &alice, &bob, NOW)
        .unwrap()
        .is_some());
    // A mirror that does not hold the larger view cannot settle it.
    assert!(gossip_via(&log.mirror(), &pinned, &alice, &dave, NOW).is_err());
    // And a view of the fork fed to Alice's next sync is refused.
    let err = sync(&fork.mirror(), &log.pinned("m"), &alice, &watch_none(), NOW).unwrap_err();
    assert!(matches!(err, SyncError::SplitView { .. }), "{err}");
}

#[test]
fn a_withheld_or_replaced_own_entry_is_caught() {
    let (log, _) = big_log();
    let mirror = log.mirror();
    for (index, bytes) in [
        (300, grant_entry(&grant_key(7), 2)),
        (5, log.entries[6].clone()),
        (600, log.entries[5].clone()),
        (u64::MAX, Vec::new()),
    ] {
        let watch = Watch {
            grant_keys: Vec::new(),
            own_entries: vec![(index, bytes)],
        };
        let err = sync_err(&log, &mirror, &LogState::default(), &watch);
        assert!(
            matches!(&err, SyncError::WithheldEntry { index: i, checkpoint }
                if *i == index && checkpoint.starts_with(crate::ORIGIN)),
            "{index}: {err}"
        );
    }
}

#[test]
fn cosignatures_from_the_future_are_refused() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mut mirror = log.mirror();
    mirror.checkpoint = log.note_of(&log.checkpoint_at(3), &[(0, NOW), (1, NOW + 3600)]);
    let err = sync_err(&log, &mirror, &LogState::default(), &watch_none());
    assert!(
        matches!(
            err,
            SyncError::BadCheckpoint(NoteError::FutureCosignature { .. })
        ),
        "{err}"
    );
}

#[test]
fn a_stale_view_is_refused() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mut mirror = log.mirror();
    mirror.checkpoint = log.note_of(&log.checkpoint_at(3), &[(0, NOW - 7200), (1, NOW - 4000)]);
    let err = sync_err(&log, &mirror, &LogState::default(), &watch_none());
    assert!(
        matches!(
            err,
            SyncError::Stale {
                age: 4000,
                max: 3600
            }
        ),
        "{err}"
    );
    // The same note is fine an hour earlier (the clock is injected).
    sync(
        &mirror,
        &log.pinned("m"),
        &LogState::default(),
        &watch_none(),
        NOW - 3000,
    )
    .unwrap();
}

#[test]
fn without_a_quorum_of_distinct_pinned_witnesses_the_view_is_refused() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let cp = log.checkpoint_at(3);
    for (cosigners, have) in [
        (vec![(0, NOW)], 1),
        (vec![], 0),
        // The rogue witness is not pinned and does not count.
        (vec![(0, NOW), (2, NOW)], 1),
        // One witness twice counts once.
        (vec![(1, NOW), (1, NOW - 5)], 1),
    ] {
        let mut mirror = log.mirror();
        mirror.checkpoint = log.note_of(&cp, &cosigners);
        let err = sync_err(&log, &mirror, &LogState::default(), &watch_none());
        assert!(
            matches!(err, SyncError::NoQuorum { have: h, need: 2 } if h == have),
            "{cosigners:?}: {err}"
        );
    }
    // Unknown witnesses are ignored, not fatal.
    let mut mirror = log.mirror();
    mirror.checkpoint = log.note_of(&cp, &[(2, NOW), (0, NOW), (1, NOW)]);
    sync(
        &mirror,
        &log.pinned("m"),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap();
}

#[test]
fn a_checkpoint_signed_by_another_key_of_the_same_name_is_refused() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mut impostor = FakeLog::with_log_seed(66);
    impostor.append_fillers(3);
    let err = sync_err(
        &log,
        &impostor.mirror(),
        &LogState::default(),
        &watch_none(),
    );
    assert!(matches!(err, SyncError::BadCheckpoint(_)), "{err}");
    // A stored state from another log does not open either.
    let foreign = synced(&impostor);
    let err = sync_err(&log, &log.mirror(), &foreign, &watch_none());
    assert!(matches!(err, SyncError::BadState { .. }), "{err}");
}

#[test]
fn garbage_checkpoints_are_refused_without_panicking() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let good = log.note();
    let cosig_line = good.lines().last().unwrap().to_owned();
    let many = format!("{good}{}", format!("{cosig_line}\n").repeat(10_000));
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("words", "hello world".into()),
        ("bell", good.replacen('\n', "\u{7}\n", 1)),
        ("carriage return", good.replace('\n', "\r\n")),
        ("no signatures", log.checkpoint_at(3).body()),
        ("10,000 signature lines", many),
        ("size not a number", good.replacen("\n3\n", "\n3x\n", 1)),
    ];
    for (what, text) in cases {
        let mut mirror = log.mirror();
        mirror.checkpoint = text;
        let err = sync_err(&log, &mirror, &LogState::default(), &watch_none());
        assert!(matches!(err, SyncError::BadCheckpoint(_)), "{what}: {err}");
    }
    // Non-UTF-8 bytes, from a mirror on disk.
    let dir = tempfile::tempdir().unwrap();
    log.publish(dir.path());
    let mut bytes = good.into_bytes();
    bytes[3] = 0xff;
    std::fs::write(dir.path().join("checkpoint"), bytes).unwrap();
    let err = sync(
        &DirTransport::new(dir.path().to_owned()),
        &log.pinned("d"),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap_err();
    assert!(
        matches!(err, SyncError::BadCheckpoint(NoteError::NotUtf8)),
        "{err}"
    );
}

#[test]
fn bad_pins_and_inconsistent_states_are_refused() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mut pinned = log.pinned("m");
    pinned.log_key = "not a key".into();
    let err = sync(
        &log.mirror(),
        &pinned,
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::BadPin(_)), "{err}");
    let mut pinned = log.pinned("m");
    pinned.log_key = log.witnesses[0].verifier().for_cosignatures().to_vkey();
    let err = sync(
        &log.mirror(),
        &pinned,
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::BadPin(_)), "{err}");

    let good = synced(&log);
    for state in [
        LogState {
            size: 2,
            ..good.clone()
        },
        LogState {
            scanned: 4,
            size: 3,
            ..good.clone()
        },
        LogState {
            checkpoint: None,
            ..good.clone()
        },
    ] {
        let err = sync_err(&log, &log.mirror(), &state, &watch_none());
        assert!(
            matches!(err, SyncError::BadState { .. }),
            "{state:?}: {err}"
        );
    }
}

#[test]
fn a_bad_entry_naming_a_watched_key_stops_the_scan() {
    let mut log = FakeLog::new();
    let mine = grant_key(7);
    log.append_fillers(5);
    // The log itself holds an entry whose signature does not verify.
    let mut bad = grant_entry(&mine, 1);
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let i = log.append(bad);
    let watch = Watch {
        grant_keys: vec![mine.public()],
        own_entries: Vec::new(),
    };
    let err = sync_err(&log, &log.mirror(), &LogState::default(), &watch);
    assert!(
        matches!(err, SyncError::BadEntry { index, .. } if index == i),
        "{err}"
    );
}

#[test]
fn an_access_event_not_signed_by_the_log_key_is_refused() {
    let mut log = FakeLog::new();
    let mine = grant_key(7);
    let stranger = SigningKey::from_bytes(&[55; 32]);
    let i = log.append(access_entry(&stranger, mine.public(), 1));
    let watch = Watch {
        grant_keys: vec![mine.public()],
        own_entries: Vec::new(),
    };
    let err = sync_err(&log, &log.mirror(), &LogState::default(), &watch);
    assert!(
        matches!(err, SyncError::BadEntry { index, .. } if index == i),
        "{err}"
    );
}

#[test]
fn oversized_responses_are_cut_off() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let dir = tempfile::tempdir().unwrap();
    log.publish(dir.path());
    let files = Server::files(dir.path().to_owned());
    let big_tile = log.mirror().files["tile/0/000.p/3"].repeat(2);
    let server = Server::start(move |req| match req.path.as_str() {
        "/huge/checkpoint" => Reply::new(200, vec![b'a'; 2 << 20]),
        "/streamed/checkpoint" => {
            let mut r = Reply::new(200, vec![b'a'; 2 << 20]);
            r.no_length = true;
            r
        }
        "/tile/checkpoint" => Reply::new(200, reqwest_get(&format!("{}checkpoint", files.url()))),
        "/tile/tile/0/000.p/3" => Reply::new(200, big_tile.clone()),
        _ => Reply::new(404, ""),
    });
    for (prefix, want) in [
        ("huge", "checkpoint"),
        ("streamed", "checkpoint"),
        ("tile", "tile/0/000.p/3"),
    ] {
        let base = format!("{}{prefix}/", server.url());
        let err = sync(
            &HttpTransport::new(&base).unwrap(),
            &log.pinned(&base),
            &LogState::default(),
            &watch_none(),
            NOW,
        )
        .unwrap_err();
        assert!(
            matches!(&err, SyncError::TooLarge { url, .. } if url.ends_with(want)),
            "{prefix}: {err}"
        );
    }
    // The same cap on disk.
    std::fs::write(dir.path().join("checkpoint"), vec![b'a'; 2 << 20]).unwrap();
    let err = sync(
        &DirTransport::new(dir.path().to_owned()),
        &log.pinned("d"),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::TooLarge { .. }), "{err}");
}

/// The body of a plain GET, read with std only.
fn reqwest_get(url: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(
        s,
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let at = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    out.split_off(at + 4)
}

#[test]
fn server_errors_missing_files_and_timeouts_are_reported() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let server = Server::start(|req| match req.path.as_str() {
        "/broken/checkpoint" => Reply::json(500, r#"{"code":"internal","message":"x"}"#),
        "/slow/checkpoint" => {
            let mut r = Reply::new(200, "late");
            r.delay = Some(Duration::from_secs(3));
            r
        }
        _ => Reply::new(404, ""),
    });
    let run = |prefix: &str| {
        let base = format!("{}{prefix}/", server.url());
        let source =
            HttpTransport::with_timeouts(&base, Duration::from_secs(1), Duration::from_secs(1))
                .unwrap();
        sync(
            &source,
            &log.pinned(&base),
            &LogState::default(),
            &watch_none(),
            NOW,
        )
        .unwrap_err()
    };
    let err = run("broken");
    assert!(
        matches!(err, SyncError::Status { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_transient());
    let err = run("missing");
    assert!(matches!(err, SyncError::NotFound { .. }), "{err}");
    let started = Instant::now();
    let err = run("slow");
    assert!(
        matches!(&err, SyncError::Http { reason, .. } if reason.contains("timed out")),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    // Nobody listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let base = format!("http://127.0.0.1:{port}/");
    let err = sync(
        &HttpTransport::new(&base).unwrap(),
        &log.pinned(&base),
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap_err();
    assert!(matches!(err, SyncError::Http { .. }), "{err}");
    for bad in ["ftp://x/", "not a url", "http://", "https://h/?q=1"] {
        assert!(
            matches!(HttpTransport::new(bad), Err(SyncError::BadUrl { .. })),
            "{bad}"
        );
    }
}

#[test]
fn the_log_key_is_never_learnt_from_the_source() {
    // A node that serves a checkpoint signed by a key it picked itself gets nowhere, even
    // with the pinned witnesses' names on fake cosignature lines.
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mut rogue = FakeLog::with_log_seed(9);
    rogue.witnesses[0] =
        NoteKey::new("witness.test/w1", SigningKey::from_bytes(&[77; 32])).unwrap();
    rogue.append_fillers(3);
    let err = sync_err(&log, &rogue.mirror(), &LogState::default(), &watch_none());
    assert!(matches!(err, SyncError::BadCheckpoint(_)), "{err}");
}

/// Issue 8, hole 4: a proven fork keeps both signed checkpoints and the consistency proof that
/// fails (rebuilt from tiles verified against the newer root), so anyone can re-check it.
#[test]
fn issue8_a_fork_keeps_both_checkpoints_and_the_failing_proof() {
    let mut log = FakeLog::new();
    log.append_fillers(300);
    let state = synced(&log);
    let fork = fork_of(&log, 10, 400);
    let forked = fork.mirror();
    let err = sync_err(&log, &forked, &state, &watch_none());
    let SyncError::Inconsistent { evidence } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        evidence.notes,
        vec![state.checkpoint.clone().unwrap(), forked.checkpoint.clone()]
    );
    let proof: Vec<[u8; 32]> = evidence
        .proof
        .iter()
        .map(|h| hex::decode(h).unwrap().try_into().unwrap())
        .collect();
    assert!(!proof.is_empty());
    // The proof is the fork's own consistency proof, and it does not lead from the old root.
    assert_eq!(
        proof,
        fork.tree.consistency_proof(300, fork.size()).unwrap()
    );
    let (old, new) = (log.checkpoint_at(300), fork.checkpoint_at(fork.size()));
    assert!(
        carekey_ledger::verify_consistency(300, new.size, &old.root, &new.root, &proof).is_err()
    );
    // Kept across a serde round trip (the wallet stores it), and older evidence still loads.
    let json = serde_json::to_string(evidence).unwrap();
    assert_eq!(
        &serde_json::from_str::<carekey_sync::Evidence>(&json).unwrap(),
        evidence
    );
    let old_json = r#"{"kind":"split_view","detail":"d","notes":[],"seen_at":1}"#;
    assert!(serde_json::from_str::<carekey_sync::Evidence>(old_json)
        .unwrap()
        .proof
        .is_empty());
}

/// Issue 8, hole 6: freshness comes only from witnesses. Without a quorum the sync claims no
/// "up to date as of"; with one, it is the newest pinned cosignature's time.
#[test]
fn issue8_no_freshness_is_claimed_without_witnesses() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let mirror = log.mirror();
    let witnessed = log.pinned("m");
    let outcome = sync(
        &mirror,
        &witnessed,
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap();
    assert_eq!(outcome.fresh_as_of, Some(NOW));
    let unwitnessed = PinnedLog {
        witness_keys: Vec::new(),
        quorum: 0,
        ..witnessed.clone()
    };
    let outcome = sync(
        &mirror,
        &unwitnessed,
        &LogState::default(),
        &watch_none(),
        NOW,
    )
    .unwrap();
    assert_eq!(outcome.fresh_as_of, None);
    // Witnesses pinned but none required: still nothing independent vouches for the view.
    let optional = PinnedLog {
        quorum: 0,
        ..witnessed
    };
    let outcome = sync(&mirror, &optional, &LogState::default(), &watch_none(), NOW).unwrap();
    assert_eq!(outcome.fresh_as_of, None);
}
