//! The ledger agent talks to nodes with the wallet lock free: a node that accepts a connection
//! and never answers must not keep the app's other commands (here: listing records, revoking
//! nothing, reading settings) from taking the lock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::sync::Mutex;

use carekey_crypto::SigningKey;
use carekey_ledger::note::NoteKey;
use carekey_wallet::{agent, FileStore, KdfParams, Passphrase, PatientWallet};

const NOW: u64 = 1_750_000_000;

/// A patient with one pinned node at `url` and a backup whose key share is queued for it.
fn wallet_with_queued_share(dir: &std::path::Path, url: &str) -> PatientWallet {
    let (mut wallet, _kit) = PatientWallet::create(
        &dir.join("p"),
        &Passphrase::new("a patient passphrase".into()),
        KdfParams::TEST,
        Box::new(FileStore::new(dir.join("p.device"))),
        NOW,
    )
    .unwrap();
    let log = NoteKey::new("carekey.test/agent", SigningKey::from_bytes(&[3; 32])).unwrap();
    wallet
        .ledger()
        .add_node(url, &log.verifier().to_vkey(), &[], 0)
        .unwrap();
    wallet
        .backups()
        .write(&dir.join("backup.ckb"), NOW)
        .unwrap();
    assert_eq!(wallet.backups().share_pending(), [url.to_owned()]);
    wallet
}

#[test]
fn issue9_a_node_that_never_answers_does_not_hold_the_wallet_lock() {
    let dir = tempfile::tempdir().unwrap();
    // A node that accepts the connection, reads the request, and answers only when told.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (arrived_tx, arrived) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    let node = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf);
        arrived_tx.send(()).unwrap();
        // Hold the request open until the test has used the wallet, then hang up.
        let _ = release_rx.recv();
        drop(stream);
    });

    let cell = Mutex::new(Some(wallet_with_queued_share(dir.path(), &url)));
    std::thread::scope(|scope| {
        let agent_run = scope.spawn(|| agent::publish(&cell, NOW));
        // The agent's request is at the node, unanswered.
        arrived.recv().unwrap();
        // Other commands take the wallet now, without waiting for the node.
        let mut slot = cell
            .try_lock()
            .expect("the wallet lock is free while the agent waits for a node");
        let wallet = slot.as_mut().unwrap();
        assert!(wallet.records().list().is_empty());
        assert_eq!(wallet.ledger().outbox_len(), 1);
        drop(slot);
        release.send(()).unwrap();
        // The node hung up: the write stays queued, with why, for the next run.
        let pending = agent_run.join().unwrap();
        assert_eq!(pending, Some(1));
    });
    node.join().unwrap();
    let mut slot = cell.lock().unwrap();
    let wallet = slot.as_mut().unwrap();
    let waiting = wallet.ledger().outbox();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].url, url);
    assert!(waiting[0].attempts >= 1, "{waiting:?}");
    assert!(waiting[0].last_error.is_some(), "{waiting:?}");
}

#[test]
fn issue9_a_write_queued_while_the_agent_runs_is_kept_and_one_cancelled_is_not_revived() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on this port once the listener is dropped: every send fails fast.
    let url = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut wallet = wallet_with_queued_share(dir.path(), &url);
    // The agent takes its snapshot (the share upload)...
    let work = wallet.ledger().flush_work(NOW, false);
    assert!(!work.is_empty());
    // ...meanwhile the wallet moves the node: the queued upload follows it, so the agent's
    // copy of it (for the old URL) no longer matches any queued write.
    let moved = format!("{url}/moved");
    wallet.ledger().move_node(&url, &moved).unwrap();
    let done = work.run();
    let pending = wallet.ledger().apply_flush(done);
    // The write queued for the new address is still there, untouched by the old result.
    assert_eq!(pending, 1);
    let waiting = wallet.ledger().outbox();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].url, moved);
    assert_eq!(waiting[0].attempts, 0, "{waiting:?}");
}
