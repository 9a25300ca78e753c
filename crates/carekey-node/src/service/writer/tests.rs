//! The writer under injected faults (issue 8, hole 8).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use carekey_crypto::SigningKey;
use rusqlite::Connection;

use super::test_hooks;
use crate::keys::LogKey;
use crate::service::submission::{Effect, Submission};
use crate::service::{Node, NodeOptions, OffLogWrite, WriterStatus};
use crate::storage::Durability;

fn start(dir: &Path) -> Node {
    let key = LogKey::from_signing("carekey.test/log1", SigningKey::from_bytes(&[7; 32])).unwrap();
    let mut opts = NodeOptions::new(dir.to_owned(), "https://node.test".into(), key);
    opts.durability = Durability::None;
    Node::start(opts).unwrap()
}

/// An entry the writer appends as is (the policy check is the handlers' job).
fn submission(n: u8) -> Submission {
    Submission::new(
        vec![n; 40],
        Effect::Erase {
            erasure_key: carekey_crypto::random_array(),
        },
    )
}

/// Issue 8, hole 8: another connection writes between the batch's first read and its
/// first write. In WAL mode a deferred transaction then cannot upgrade its stale read
/// snapshot (`SQLITE_BUSY_SNAPSHOT`, no busy wait), and the old writer died for good: every
/// later append was `503`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_writer_survives_busy_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path());
    node.append(submission(1)).await.unwrap();
    // The same entry again: a batch that appends nothing, so the next batch has no
    // checkpoint history to write first and starts with a read.
    node.append(submission(1)).await.unwrap();
    let mut db = Some(dir.path().join("node.sqlite3"));
    test_hooks::set(
        dir.path(),
        test_hooks::Point::AfterRead,
        Box::new(move || {
            let Some(db) = db.take() else { return false };
            let (done, wait) = mpsc::channel();
            std::thread::spawn(move || {
                let rogue = Connection::open(&db).unwrap();
                rogue.busy_timeout(Duration::from_secs(10)).unwrap();
                rogue
                    .execute("INSERT OR REPLACE INTO meta VALUES ('rogue', 'x')", [])
                    .unwrap();
                let _ = done.send(());
            });
            // The rogue write either lands now (a deferred transaction) or waits for the
            // writer's commit (a write transaction from the start).
            let _ = wait.recv_timeout(Duration::from_millis(500));
            false
        }),
    );
    let second = node.append(submission(2)).await;
    let third = node.append(submission(3)).await;
    assert_eq!(second.map(|a| a.index).unwrap(), 1);
    assert_eq!(third.map(|a| a.index).unwrap(), 2);
}

/// Issue 8, hole 8: a writer that fails after its commit is reopened from disk and runs
/// the batch again: the submitter gets its receipt (not a `503`), the entry is appended
/// once, and the restart is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_failed_writer_is_reopened_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path());
    node.append(submission(1)).await.unwrap();
    let mut once = true;
    test_hooks::set(
        dir.path(),
        test_hooks::Point::AfterCommit,
        Box::new(move || std::mem::replace(&mut once, false)),
    );
    let appended = node.append(submission(2)).await.unwrap();
    assert_eq!(appended.index, 1);
    let health = node.health();
    assert_eq!(health.writer, WriterStatus::Running);
    assert_eq!(health.writer_restarts, 1);
    assert_eq!(node.append(submission(3)).await.unwrap().index, 2);
    assert_eq!(node.append(submission(2)).await.unwrap().index, 1);
    test_hooks::clear(dir.path(), test_hooks::Point::AfterCommit);
}

/// Issue 8, hole 8: a writer that cannot be reopened marks the node failed: writes are
/// refused with `503 writer_failed` (never queued forever), and `Node::writer_failed`
/// resolves (`serve` then exits non-zero).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_writer_that_cannot_reopen_fails_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path());
    node.append(submission(1)).await.unwrap();
    test_hooks::set(
        dir.path(),
        test_hooks::Point::AfterCommit,
        Box::new(|| true),
    );
    test_hooks::set(dir.path(), test_hooks::Point::Reload, Box::new(|| true));
    let refused = node.append(submission(2)).await.unwrap_err();
    assert_eq!(refused.code, "writer_failed");
    tokio::time::timeout(Duration::from_secs(5), node.writer_failed())
        .await
        .unwrap();
    assert_eq!(node.health().writer, WriterStatus::Failed);
    assert_eq!(
        node.write(OffLogWrite::delete_bundle([1; 16]))
            .await
            .unwrap_err()
            .code,
        "writer_failed"
    );
    test_hooks::clear(dir.path(), test_hooks::Point::AfterCommit);
    test_hooks::clear(dir.path(), test_hooks::Point::Reload);
}

/// Issue 8, hole 8: a writer that reopens but keeps failing (a full disk, say) refuses
/// the batch that failed twice with `503 unavailable` (clients retry) and, after
/// `RESTART_ATTEMPTS` failures in a row, fails the node instead of looping.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_writer_that_keeps_failing_fails_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let node = start(dir.path());
    node.append(submission(1)).await.unwrap();
    test_hooks::set(
        dir.path(),
        test_hooks::Point::AfterCommit,
        Box::new(|| true),
    );
    let mut codes = Vec::new();
    for n in 2..10 {
        let code = node.append(submission(n)).await.unwrap_err().code;
        codes.push(code);
        if code == "writer_failed" {
            break;
        }
    }
    assert_eq!(
        codes,
        ["unavailable", "unavailable", "unavailable", "writer_failed"]
    );
    tokio::time::timeout(Duration::from_secs(5), node.writer_failed())
        .await
        .unwrap();
    assert_eq!(node.health().writer_restarts, 5);
    test_hooks::clear(dir.path(), test_hooks::Point::AfterCommit);
}
