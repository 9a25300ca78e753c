//! `POST /v1/entries`: the policy, idempotency, receipts.

use axum::http::{Method, StatusCode};
use carekey_ledger::proof::Receipt;

use crate::support::*;

fn receipt_ok(t: &TestNode, entry: &[u8], json: &serde_json::Value) -> u64 {
    let receipt = Receipt::parse(json["receipt"].as_str().unwrap()).unwrap();
    let opened = receipt.verify(entry, &t.verifier(), &[], NOW).unwrap();
    assert_eq!(receipt.index, json["index"].as_u64().unwrap());
    assert!(opened.checkpoint.size > receipt.index);
    receipt.index
}

#[tokio::test]
async fn grant_commitment_is_appended_with_a_receipt_and_is_idempotent() {
    let t = TestNode::new();
    let f = Fixture::valid();
    let (status, json) = t.post_json("/v1/entries", f.commit_body()).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(receipt_ok(&t, f.commitment.as_bytes(), &json), 0);
    // Same bytes again: same index, still a verifying receipt, no new leaf.
    let (status, again) = t.post_json("/v1/entries", f.commit_body()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(receipt_ok(&t, f.commitment.as_bytes(), &again), 0);
    let e = one_time_erasure(1);
    let (status, json) = t.post_json("/v1/entries", entry_body(e.as_bytes())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(receipt_ok(&t, e.as_bytes(), &json), 1);
}

#[tokio::test]
async fn revocation_needs_a_commitment_and_happens_once() {
    let t = TestNode::new();
    let f = Fixture::valid();
    let rev = f.revocation(NOW);
    let (status, json) = t.post_json("/v1/entries", entry_body(rev.as_bytes())).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("unknown_grant_key"))
    );
    assert_eq!(
        t.post_json("/v1/entries", f.commit_body()).await.0,
        StatusCode::OK
    );
    let (status, json) = t.post_json("/v1/entries", entry_body(rev.as_bytes())).await;
    assert_eq!(status, StatusCode::OK);
    receipt_ok(&t, rev.as_bytes(), &json);
    // A different revocation of the same grant key is refused.
    let rev2 = f.revocation(NOW + 1);
    let (status, json) = t
        .post_json("/v1/entries", entry_body(rev2.as_bytes()))
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("already_revoked"))
    );
}

#[tokio::test]
async fn policy_refusals() {
    let t = TestNode::new();
    let f = Fixture::valid();

    // The commitment does not match salt ‖ grant.
    let mut body = f.commit_body();
    body["salt"] = b64(&[0u8; 32]).into();
    let (status, json) = t.post_json("/v1/entries", body).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("commitment_mismatch"))
    );

    // A binding from another grant (same patient) names another grant hash.
    let other = Fixture::for_keys(f.patient.clone(), f.provider.clone(), NOW - DAY, NOW + DAY);
    let mut body = f.commit_body();
    body["binding"] = b64(other.binding.as_bytes()).into();
    let (status, json) = t.post_json("/v1/entries", body).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_binding"))
    );

    // A binding signed by someone else than the grant's patient.
    let stranger = Fixture::valid();
    let mut body = f.commit_body();
    body["binding"] = b64(stranger.binding.as_bytes()).into();
    let (status, json) = t.post_json("/v1/entries", body).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_binding"))
    );

    // An expired grant.
    let expired = Fixture::new(NOW - 10 * DAY, NOW - DAY);
    let (status, json) = t.post_json("/v1/entries", expired.commit_body()).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("expired"))
    );

    // Missing grant fields.
    let (status, json) = t
        .post_json("/v1/entries", entry_body(f.commitment.as_bytes()))
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("missing_fields"))
    );

    // Extra fields on a revocation.
    let mut body = entry_body(f.revocation(NOW).as_bytes());
    body["salt"] = b64(&[0u8; 32]).into();
    let (status, json) = t.post_json("/v1/entries", body).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("unexpected_fields"))
    );

    // A bad entry signature (last byte of the COSE signature flipped).
    let mut bytes = f.commitment.as_bytes().to_vec();
    *bytes.last_mut().unwrap() ^= 1;
    let mut body = f.commit_body();
    body["entry"] = b64(&bytes).into();
    let (status, json) = t.post_json("/v1/entries", body).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("bad_signature"))
    );

    // The real one goes in; a second commitment reusing its grant key is refused.
    assert_eq!(
        t.post_json("/v1/entries", f.commit_body()).await.0,
        StatusCode::OK
    );
    let reuse = carekey_model::Signed::sign(
        carekey_model::ledger::GrantCommitment {
            grant_key: f.grant_key.public(),
            commitment: carekey_model::ledger::grant_commitment(&other.salt, &other.grant),
            committed_at: NOW + 5,
        },
        &f.grant_key,
    )
    .unwrap();
    let mut body = other.commit_body();
    body["entry"] = b64(reuse.as_bytes()).into();
    // The binding must name the reused key for the stateless checks to pass.
    let binding = carekey_model::Signed::sign(
        carekey_model::ledger::LedgerBinding {
            patient_signing: other.patient.public(),
            grant_hash: other.grant.hash(),
            grant_key: f.grant_key.public(),
            event_key: other.event_secret.public(),
        },
        &other.patient,
    )
    .unwrap();
    body["binding"] = b64(binding.as_bytes()).into();
    let (status, json) = t.post_json("/v1/entries", body).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("grant_key_in_use"))
    );
}

#[tokio::test]
async fn malformed_garbage_and_oversized_bodies() {
    let t = TestNode::new();
    let (status, _, body) = t
        .call(Method::POST, "/v1/entries", &[], b"{not json".to_vec())
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["code"], "malformed");
    assert!(json["message"].is_string());

    let (status, json) = t
        .post_json("/v1/entries", serde_json::json!({"entry": "!!!"}))
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed"))
    );

    let (status, json) = t
        .post_json(
            "/v1/entries",
            serde_json::json!({"entry": "AAAA", "extra": 1}),
        )
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed"))
    );

    for garbage in [vec![], vec![0xff; 40], b"\xd2\x84\x40\xa0\x40\x40".to_vec()] {
        let (status, json) = t.post_json("/v1/entries", entry_body(&garbage)).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("malformed_entry")),
            "{garbage:?}"
        );
    }

    // A signed grant is a document but not a ledger entry.
    let f = Fixture::valid();
    let (status, json) = t
        .post_json("/v1/entries", entry_body(f.grant.as_bytes()))
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("malformed_entry"))
    );

    // Over 1 MiB: 413 with a JSON error, whether or not a Content-Length is sent.
    let big = vec![b' '; carekey_node::MAX_ENTRY_BODY + 1];
    let (status, _, body) = t.call(Method::POST, "/v1/entries", &[], big.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
        "too_large"
    );
    let (status, _, _) = t
        .call(
            Method::POST,
            "/v1/entries",
            &[("content-length", big.len().to_string())],
            big,
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // An entry over 65,535 bytes cannot go in a bundle.
    let (status, json) = t
        .post_json("/v1/entries", entry_body(&vec![0u8; 70_000]))
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("entry_too_large"))
    );

    // Nothing above reached the log.
    let (_, _, cp) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let opened = carekey_ledger::note::open_checkpoint(
        std::str::from_utf8(&cp).unwrap(),
        &t.verifier(),
        &[],
        NOW,
    )
    .unwrap();
    assert_eq!(opened.checkpoint.size, 0);
}

#[tokio::test]
async fn access_events_cannot_be_submitted() {
    let t = TestNode::new();
    let f = Fixture::valid();
    let node_key = carekey_crypto::SigningKey::generate();
    let event = carekey_model::Signed::sign(
        carekey_model::ledger::AccessEvent {
            node_key: node_key.public(),
            grant_key: f.grant_key.public(),
            event_id: [1; 16],
            sealed: vec![0; 100],
            logged_at: NOW,
        },
        &node_key,
    )
    .unwrap();
    let (status, json) = t
        .post_json("/v1/entries", entry_body(event.as_bytes()))
        .await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("not_submittable"))
    );
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let dir = tempfile::tempdir().unwrap();
    let clock = carekey_node::ManualClock::new(NOW);
    let (_node, state) = start(dir.path(), [3; 32], &clock, 1, 2);
    for _ in 0..2 {
        assert_eq!(
            call(&state, Method::GET, "/checkpoint", &[], vec![])
                .await
                .0,
            StatusCode::OK
        );
    }
    let (status, _, body) = call(&state, Method::GET, "/checkpoint", &[], vec![]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["code"],
        "rate_limited"
    );
    clock.advance(1);
    assert_eq!(
        call(&state, Method::GET, "/checkpoint", &[], vec![])
            .await
            .0,
        StatusCode::OK
    );
}
