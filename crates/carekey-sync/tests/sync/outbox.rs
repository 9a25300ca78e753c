//! NodeClient against a scripted node, and the outbox's persistence, order and backoff.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use carekey_model::ledger::{delete_message, upload_message};
use carekey_model::GrantId;
use carekey_sync::{
    backoff, bundle_hash, NodeClient, Outbox, OutboxOp, Submitted, SyncError, MAX_BACKOFF_SECS,
};

use crate::http::{Reply, Server};
use crate::{grant_entry, grant_key, NOW};

fn grant_id(n: u8) -> GrantId {
    GrantId([n; 16])
}

fn submit_op(n: u64) -> OutboxOp {
    OutboxOp::Submit {
        entry: grant_entry(&grant_key(7), n),
        grant: Some(vec![1, 2, 3]),
        binding: Some(vec![4, 5]),
        salt: Some([9; 32]),
    }
}

#[test]
fn node_client_speaks_the_write_api() {
    let server = Server::start(|req| match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/v1/entries") => Reply::json(
            200,
            r#"{"index": 41, "receipt": "c2sp.org/tlog-proof@v1\n"}"#,
        ),
        ("PUT", p) if p.ends_with("/bundle") => Reply::new(204, ""),
        ("POST", p) if p.starts_with("/v1/grants/0101") => {
            Reply::new(200, "BUNDLE").header("Carekey-Access-Event", "42")
        }
        ("POST", p) if p.starts_with("/v1/grants/0202") => Reply::json(
            403,
            r#"{"code":"revoked","message":"this grant was revoked"}"#,
        ),
        ("DELETE", _) => Reply::new(204, ""),
        _ => Reply::json(404, r#"{"code":"not_found","message":"?"}"#),
    });
    let node = NodeClient::new(&server.url()).unwrap();
    let key = grant_key(7);
    let entry = grant_entry(&key, 1);

    let submitted = node
        .submit(&entry, Some(b"grant"), Some(b"binding"), Some(&[3; 32]))
        .unwrap();
    assert_eq!(
        submitted,
        Submitted {
            index: 41,
            receipt: "c2sp.org/tlog-proof@v1\n".into()
        }
    );
    let bundle = b"the bundle".to_vec();
    let sig = key.sign(&upload_message(&grant_id(1), &bundle_hash(&bundle)));
    node.upload_bundle(&grant_id(1), &bundle, &sig).unwrap();
    let fetched = node.fetch(&grant_id(1), b"request").unwrap();
    assert_eq!(fetched.bundle, b"BUNDLE");
    assert_eq!(fetched.access_event, Some(42));
    let err = node.fetch(&grant_id(2), b"request").unwrap_err();
    assert!(
        matches!(&err, SyncError::Status { status: 403, code: Some(c), .. } if c == "revoked"),
        "{err}"
    );
    assert!(!err.is_transient());
    let del = key.sign(&delete_message(&grant_id(1)));
    node.delete_bundle(&grant_id(1), &del).unwrap();

    let seen = server.seen();
    let body: serde_json::Value = serde_json::from_slice(&seen[0].body).unwrap();
    assert_eq!(body["entry"], B64.encode(&entry));
    assert_eq!(body["grant"], B64.encode(b"grant"));
    assert_eq!(body["binding"], B64.encode(b"binding"));
    assert_eq!(body["salt"], B64.encode([3; 32]));
    assert_eq!(seen[1].path, format!("/v1/grants/{}/bundle", grant_id(1)));
    assert_eq!(seen[1].body, bundle);
    let header = B64
        .decode(seen[1].header("Carekey-Signature").unwrap())
        .unwrap();
    assert_eq!(header, sig.to_bytes());
    assert_eq!(seen[2].body, b"request");
    assert_eq!(seen[4].method, "DELETE");
    assert_eq!(seen[4].path, format!("/v1/grants/{}", grant_id(1)));

    // A revocation entry carries no grant, binding or salt.
    node.submit(&entry, None, None, None).unwrap();
    let body: serde_json::Value = serde_json::from_slice(&server.seen()[5].body).unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1);
}

#[test]
fn garbled_success_answers_are_errors_not_panics() {
    let server = Server::start(|req| match req.path.as_str() {
        "/v1/entries" => Reply::json(200, r#"{"index": "x"}"#),
        _ => Reply::new(200, "x").header("Carekey-Access-Event", "minus one"),
    });
    let node = NodeClient::new(&server.url()).unwrap();
    let err = node.submit(b"e", None, None, None).unwrap_err();
    assert!(matches!(err, SyncError::BadResponse { .. }), "{err}");
    let err = node.fetch(&grant_id(1), b"r").unwrap_err();
    assert!(matches!(err, SyncError::BadResponse { .. }), "{err}");
}

#[test]
fn the_outbox_survives_a_serde_round_trip() {
    let mut outbox = Outbox::default();
    outbox.push("https://a.example/", submit_op(1), NOW);
    outbox.push(
        "https://a.example/",
        OutboxOp::Upload {
            grant_id: grant_id(1),
            bundle: vec![0; 100],
            signature: vec![7; 64],
        },
        NOW,
    );
    outbox.push(
        "https://b.example/",
        OutboxOp::Delete {
            grant_id: grant_id(2),
            signature: vec![8; 64],
        },
        NOW + 5,
    );
    outbox.push(
        "https://b.example/",
        OutboxOp::Submit {
            entry: vec![1],
            grant: None,
            binding: None,
            salt: None,
        },
        NOW,
    );
    outbox.items[1].attempts = 3;
    outbox.items[1].last_error = Some("timed out".into());
    let json = serde_json::to_string(&outbox).unwrap();
    let back: Outbox = serde_json::from_str(&json).unwrap();
    assert_eq!(back, outbox);
    assert!(json.contains(r#""op":"upload""#), "{json}");
    // Pushing the same write again does not queue it twice.
    let mut again = back.clone();
    again.push("https://a.example/", submit_op(1), NOW + 100);
    assert_eq!(again, outbox);
    assert_eq!(outbox.due(NOW), vec![0, 1, 3]);
    assert_eq!(outbox.due(NOW + 5), vec![0, 1, 2, 3]);
}

#[test]
fn backoff_doubles_up_to_an_hour() {
    let schedule: Vec<u64> = (0..14).map(backoff).collect();
    assert_eq!(
        schedule,
        vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]
    );
    assert_eq!(backoff(u32::MAX), MAX_BACKOFF_SECS);
}

#[test]
fn flush_retries_transient_failures_drops_permanent_ones_and_keeps_order_per_node() {
    // Node A: the first submission fails twice with 503, then works. Node B: 429, then a
    // permanent 400 for its submission and success for its delete.
    let a_calls = Arc::new(AtomicUsize::new(0));
    let a_seen = a_calls.clone();
    let node_a = Server::start(move |req| match req.path.as_str() {
        "/v1/entries" => {
            if a_seen.fetch_add(1, Ordering::SeqCst) < 2 {
                Reply::json(503, r#"{"code":"unavailable","message":"later"}"#)
            } else {
                Reply::json(200, r#"{"index": 7, "receipt": "r"}"#)
            }
        }
        _ => Reply::new(204, ""),
    });
    let b_calls = Arc::new(AtomicUsize::new(0));
    let b_seen = b_calls.clone();
    let node_b = Server::start(move |req| {
        if b_seen.fetch_add(1, Ordering::SeqCst) == 0 {
            return Reply::json(429, r#"{"code":"rate_limited","message":"slow down"}"#);
        }
        match req.method.as_str() {
            "POST" => Reply::json(400, r#"{"code":"malformed","message":"bad entry"}"#),
            _ => Reply::new(204, ""),
        }
    });
    let (a, b) = (node_a.url(), node_b.url());
    let mut outbox = Outbox::default();
    outbox.push(&a, submit_op(1), NOW);
    outbox.push(
        &a,
        OutboxOp::Upload {
            grant_id: grant_id(1),
            bundle: vec![1; 10],
            signature: vec![2; 64],
        },
        NOW,
    );
    outbox.push(&b, submit_op(2), NOW);
    outbox.push(
        &b,
        OutboxOp::Delete {
            grant_id: grant_id(3),
            signature: vec![2; 64],
        },
        NOW,
    );
    let connect = |url: &str| NodeClient::new(url);

    // Round 1: A's submit fails (503) so A's upload waits; B's submit gets 429.
    let done = outbox.flush(NOW, &connect);
    assert!(done.is_empty(), "{done:?}");
    assert_eq!(outbox.items.len(), 4);
    assert_eq!(outbox.items[0].attempts, 1);
    assert_eq!(outbox.items[0].next_attempt_at, NOW + 2);
    assert!(outbox.items[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("503"));
    assert_eq!(outbox.items[1].attempts, 0, "held back, not tried");
    assert_eq!(outbox.items[2].attempts, 1);
    assert_eq!(node_a.seen().len(), 1);
    assert_eq!(node_b.seen().len(), 1);

    // Nothing is due one second later.
    assert!(outbox.flush(NOW + 1, &connect).is_empty());
    // Items held back behind a failing one are due but wait for it.
    assert_eq!(outbox.due(NOW + 1), vec![1, 3]);
    assert_eq!(node_a.seen().len(), 1);

    // Round 2: A fails again (backoff 4 s); B's submit is refused for good and dropped, its
    // delete goes through.
    let done = outbox.flush(NOW + 2, &connect);
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(done[0].op, submit_op(2));
    assert!(matches!(
        &done[0].result,
        Err(SyncError::Status { status: 400, code: Some(c), .. }) if c == "malformed"
    ));
    assert_eq!(done[0].node, b);
    assert!(matches!(done[1].op, OutboxOp::Delete { .. }));
    assert!(matches!(done[1].result, Ok(None)));
    assert_eq!(outbox.items.len(), 2);
    assert_eq!(outbox.items[0].attempts, 2);
    assert_eq!(outbox.items[0].next_attempt_at, NOW + 2 + 4);

    // Round 3: A's submit goes through, then its upload, in order.
    let done = outbox.flush(NOW + 6, &connect);
    assert_eq!(done.len(), 2);
    assert!(matches!(&done[0].result, Ok(Some(s)) if s.index == 7));
    assert!(matches!(done[1].op, OutboxOp::Upload { .. }));
    assert!(outbox.items.is_empty());
    let paths: Vec<String> = node_a.seen().iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        paths.last().unwrap(),
        &format!("/v1/grants/{}/bundle", grant_id(1))
    );
}

#[test]
fn unreachable_nodes_and_bad_urls_keep_their_writes() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/", closed.local_addr().unwrap().port());
    drop(closed);
    let mut outbox = Outbox::default();
    outbox.push(&url, submit_op(1), NOW);
    outbox.push("not a url", submit_op(2), NOW);
    let connect = |url: &str| NodeClient::new(url);
    let done = outbox.flush(NOW, &connect);
    assert!(done.is_empty());
    assert_eq!(outbox.items.len(), 2);
    assert!(outbox
        .items
        .iter()
        .all(|i| i.attempts == 1 && i.last_error.is_some()));
}

#[test]
fn a_malformed_queued_signature_is_dropped() {
    let server = Server::start(|_| Reply::new(204, ""));
    let mut outbox = Outbox::default();
    outbox.push(
        &server.url(),
        OutboxOp::Delete {
            grant_id: grant_id(1),
            signature: vec![1; 63],
        },
        NOW,
    );
    let done = outbox.flush(NOW, &|u: &str| NodeClient::new(u));
    assert!(matches!(done[0].result, Err(SyncError::InvalidItem { .. })));
    assert!(outbox.items.is_empty());
    assert!(server.seen().is_empty());
    // 408 is transient like 429 and 5xx; other 4xx are not.
    for (status, transient) in [
        (408, true),
        (429, true),
        (500, true),
        (404, false),
        (413, false),
    ] {
        let err = SyncError::Status {
            url: String::new(),
            status,
            code: None,
        };
        assert_eq!(err.is_transient(), transient, "{status}");
    }
}

/// Issue 8, hole 10: a revocation queued after a large re-upload used to wait for it (and
/// behind every retry of it). Ledger writes now leave first and a failing upload never holds
/// them back; an upload still waits for a ledger write of its node that fails.
#[test]
fn issue8_ending_work_never_waits_behind_an_upload() {
    let server = Server::start(|req| match req.method.as_str() {
        "PUT" => Reply::json(503, r#"{"code":"busy","message":"try later"}"#),
        "POST" => Reply::json(200, r#"{"index": 3, "receipt": "r"}"#),
        _ => Reply::new(204, ""),
    });
    let url = server.url();
    let mut outbox = Outbox::default();
    let upload = |n: u8| OutboxOp::Upload {
        grant_id: grant_id(n),
        bundle: vec![n; 4096],
        signature: vec![2; 64],
    };
    outbox.push(&url, upload(1), NOW);
    outbox.push(&url, submit_op(5), NOW);
    outbox.push(
        &url,
        OutboxOp::Delete {
            grant_id: grant_id(2),
            signature: vec![2; 64],
        },
        NOW,
    );
    let done = outbox.flush(NOW, &|u: &str| NodeClient::new(u));
    let kinds: Vec<&str> = server
        .seen()
        .iter()
        .map(|r| r.method.as_str())
        .map(|m| match m {
            "POST" => "submit",
            "DELETE" => "delete",
            _ => "upload",
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    assert_eq!(kinds, ["submit", "delete", "upload"], "ledger writes first");
    assert_eq!(done.len(), 2, "{done:?}");
    assert_eq!(outbox.items.len(), 1);
    assert!(outbox.items[0].op.is_upload());

    // Cancelling a grant's uploads (it is ending) leaves the others.
    outbox.push(&url, upload(2), NOW);
    outbox.cancel_uploads(&grant_id(1));
    assert_eq!(outbox.items.len(), 1);
    assert!(
        matches!(&outbox.items[0].op, OutboxOp::Upload { grant_id: g, .. } if *g == grant_id(2))
    );

    // A ledger write that fails holds back the node's uploads (they may need it).
    let failing = Server::start(|_| Reply::json(503, r#"{"code":"busy","message":"later"}"#));
    let mut outbox = Outbox::default();
    outbox.push(&failing.url(), submit_op(6), NOW);
    outbox.push(&failing.url(), upload(3), NOW);
    assert!(outbox.flush(NOW, &|u: &str| NodeClient::new(u)).is_empty());
    assert_eq!(failing.seen().len(), 1, "the upload was not tried");
}

/// Issue 8, hole 11: the queue never holds a backup key share (it is kept where erasure
/// cannot reach it); the flush asks for it by id and drops the upload of a share that is gone.
#[test]
fn issue8_a_queued_share_upload_carries_no_share() {
    let server = Server::start(|_| Reply::new(204, ""));
    let mut outbox = Outbox::default();
    for id in [[1; 16], [2; 16]] {
        outbox.push(
            &server.url(),
            OutboxOp::PutShare {
                id,
                owner: [3; 32],
                signature: vec![4; 64],
            },
            NOW,
        );
    }
    let stored = serde_json::to_string(&outbox).unwrap();
    assert!(!stored.contains("\"share\""), "{stored}");
    let done = outbox.flush_with_shares(NOW, &|u: &str| NodeClient::new(u), &|id| {
        (*id == [1; 16]).then_some([0xab; 32])
    });
    assert!(matches!(done[0].result, Ok(None)), "{done:?}");
    assert!(
        matches!(done[1].result, Err(SyncError::InvalidItem { .. })),
        "{done:?}"
    );
    assert_eq!(server.seen().len(), 1);
    assert_eq!(server.seen()[0].body[..32], [0xab; 32]);
}
