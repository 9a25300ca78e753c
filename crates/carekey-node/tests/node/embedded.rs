//! `carekey_node::embedded`: a node and a witness served in-process on listeners the caller
//! bound, as the app runs them.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use carekey_crypto::SigningKey;
use carekey_node::client::send;
use carekey_node::embedded::{self, Options};
use carekey_node::witness::WitnessState;
use carekey_node::{LogKey, ManualClock, WitnessTarget};
use hyper::Method;

use crate::processes::get;
use crate::support::*;

fn bind() -> TcpListener {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap()
}

/// The node serves the whole API at the URL of the listener it was given, pushes to its
/// witness (the checkpoint it serves carries the cosignature), and stops when told: the port
/// then refuses connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_node_and_witness_serve_and_stop() {
    let dir = tempfile::tempdir().unwrap();
    let key = log_key([7; 32]);
    let vkey = key.vkey();
    let witness_key =
        LogKey::from_signing("carekey.test/witness", SigningKey::from_bytes(&[9; 32])).unwrap();
    let verifier = witness_key.note.verifier().for_cosignatures();
    let witness = WitnessState::open(
        &dir.path().join("witness"),
        witness_key,
        std::slice::from_ref(&vkey),
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap();
    let witness = embedded::spawn_witness(bind(), witness).unwrap();
    let mut options = Options::new(dir.path().join("node"), key);
    options.witnesses.push(WitnessTarget {
        url: witness.url().to_owned(),
        verifier,
    });
    let listener = bind();
    let addr = listener.local_addr().unwrap();
    // Blocking while the node recovers and signs: off the async workers.
    let node = tokio::task::spawn_blocking(move || embedded::spawn(listener, options))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(node.url(), format!("http://{addr}"));
    assert_eq!(node.port(), addr.port());
    assert_eq!(node.log_key(), vkey);

    let entry = one_time_erasure(1);
    let body = serde_json::to_vec(&entry_body(entry.as_bytes())).unwrap();
    let appended = send(
        Method::POST,
        &format!("{}/v1/entries", node.url()),
        body,
        &[("content-type", "application/json")],
        Duration::from_secs(10),
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(appended.status.as_u16(), 200);
    let checkpoint = get(&format!("{}/checkpoint", node.url())).await;
    assert_eq!(checkpoint.status.as_u16(), 200);
    let note = String::from_utf8(checkpoint.body.to_vec()).unwrap();
    assert!(note.starts_with(&format!("{ORIGIN}\n1\n")), "{note}");
    assert!(
        note.contains("— carekey.test/witness "),
        "no cosignature: {note}"
    );
    assert_eq!(node.node().checkpoint(), note);

    node.stop().await.unwrap();
    witness.stop().await.unwrap();
    let refused = send(
        Method::GET,
        &format!("http://{addr}/checkpoint"),
        vec![],
        &[],
        Duration::from_secs(5),
        1 << 20,
    )
    .await;
    assert!(refused.is_err(), "the stopped node still answered");
}

/// Called outside any async runtime, the node serves on a runtime of its own.
#[test]
fn embedded_node_outside_a_runtime_runs_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let node = embedded::spawn(
        bind(),
        Options::new(dir.path().to_owned(), log_key([7; 32])),
    )
    .unwrap();
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    client.block_on(async {
        let health = get(&format!("{}/v1/health", node.url())).await;
        assert_eq!(health.status.as_u16(), 200);
        node.stop().await.unwrap();
    });
}
