//! The off-log grant store: upload, fetch (with access events), delete.

use axum::http::{Method, StatusCode};
use carekey_ledger::tiles::{decode_bundle, TileId};
use carekey_model::ledger::{open_access_details, AccessBinding, Entry};

use crate::support::*;

const BUNDLE: &[u8] = b"an encrypted grant bundle";

async fn committed_with_bundle(t: &TestNode, f: &Fixture) {
    assert_eq!(
        t.post_json("/v1/entries", f.commit_body()).await.0,
        StatusCode::OK
    );
    assert_eq!(upload(t, f).await, StatusCode::NO_CONTENT);
}

/// Uploads the grant's bundle: the node's answer.
async fn upload(t: &TestNode, f: &Fixture) -> StatusCode {
    t.call(
        Method::PUT,
        &format!("/v1/grants/{}/bundle", f.id()),
        &f.upload_headers(BUNDLE),
        BUNDLE.to_vec(),
    )
    .await
    .0
}

async fn fetch(
    t: &TestNode,
    f: &Fixture,
    body: Vec<u8>,
) -> (StatusCode, axum::http::HeaderMap, axum::body::Bytes) {
    t.call(
        Method::POST,
        &format!("/v1/grants/{}/fetch", f.id()),
        &[],
        body,
    )
    .await
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn upload_checks_signature_grant_and_size() {
    let t = TestNode::new();
    let f = Fixture::valid();
    let uri = format!("/v1/grants/{}/bundle", f.id());
    // Unknown grant.
    let (status, _, body) = t
        .call(
            Method::PUT,
            &uri,
            &f.upload_headers(BUNDLE),
            BUNDLE.to_vec(),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "unknown_grant".into())
    );
    assert_eq!(
        t.post_json("/v1/entries", f.commit_body()).await.0,
        StatusCode::OK
    );
    // No signature.
    let (status, _, body) = t.call(Method::PUT, &uri, &[], BUNDLE.to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "missing_signature".into())
    );
    // Signature over another body.
    let (status, _, body) = t
        .call(
            Method::PUT,
            &uri,
            &f.upload_headers(b"other"),
            BUNDLE.to_vec(),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "bad_signature".into())
    );
    // Bad grant id.
    let (status, _, body) = t
        .call(
            Method::PUT,
            "/v1/grants/xyz/bundle",
            &f.upload_headers(BUNDLE),
            BUNDLE.to_vec(),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "bad_grant_id".into())
    );
    // Too large (declared).
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &[
                (
                    "content-length",
                    (carekey_node::MAX_BUNDLE_BODY + 1).to_string(),
                ),
                f.upload_headers(BUNDLE)[0].clone(),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &f.upload_headers(BUNDLE),
            BUNDLE.to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn fetch_logs_an_access_event_then_serves_the_bundle() {
    let t = TestNode::new();
    let f = Fixture::valid();
    committed_with_bundle(&t, &f).await;
    let request = f.fetch_request(NODE_URL, NOW + 30);
    let (status, headers, body) = fetch(&t, &f, request.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    assert_eq!(&body[..], BUNDLE);
    let index: u64 = headers[carekey_node::ACCESS_EVENT_HEADER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(index, 1);
    // The event is on the log, in a checkpoint already served, and opens for the patient.
    let (_, _, cp) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let opened = carekey_ledger::note::open_checkpoint(
        std::str::from_utf8(&cp).unwrap(),
        &t.verifier(),
        &[],
        NOW,
    )
    .unwrap();
    assert_eq!(opened.checkpoint.size, 2);
    let (status, _, bundle) = t
        .call(
            Method::GET,
            &TileId::entries(0, 2).path().replacen("tile", "/tile", 1),
            &[],
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let entries = decode_bundle(&bundle, 2).unwrap();
    let Entry::Access(event) = Entry::from_bytes(&entries[1]).unwrap() else {
        panic!("entry 1 is not an access event");
    };
    let e = event.document();
    assert_eq!(e.grant_key, f.grant_key.public());
    assert_eq!(e.node_key, t.verifier().public_key().to_owned());
    let details =
        open_access_details(&f.event_secret, &e.sealed, &AccessBinding::of(ORIGIN, e)).unwrap();
    assert_eq!(details.fetch_request, request);
    assert_eq!(details.served_at, NOW);

    // The same request again is a replay.
    let (status, _, body) = fetch(&t, &f, request.as_bytes().to_vec()).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "replayed".into())
    );
}

#[tokio::test]
async fn fetch_refusals() {
    let t = TestNode::new();
    let f = Fixture::valid();
    committed_with_bundle(&t, &f).await;
    let refused = |status: StatusCode, body: &[u8]| (status, code(body));

    // Wrong provider (a validly signed request by another key).
    let other = carekey_crypto::SigningKey::generate();
    let r = f.fetch_request_by(&other, NODE_URL, NOW, [1; 16]);
    let (s, _, b) = fetch(&t, &f, r.as_bytes().to_vec()).await;
    assert_eq!(
        refused(s, &b),
        (StatusCode::FORBIDDEN, "wrong_provider".into())
    );
    // Sent to another node.
    let r = f.fetch_request("https://elsewhere.test", NOW);
    let (s, _, b) = fetch(&t, &f, r.as_bytes().to_vec()).await;
    assert_eq!(refused(s, &b), (StatusCode::FORBIDDEN, "wrong_node".into()));
    // Stale and future requests.
    for at in [NOW - 121, NOW + 121] {
        let r = f.fetch_request(NODE_URL, at);
        let (s, _, b) = fetch(&t, &f, r.as_bytes().to_vec()).await;
        assert_eq!(
            refused(s, &b),
            (StatusCode::FORBIDDEN, "stale_request".into())
        );
    }
    // Malformed body, and a request for another grant than the URL names.
    let (s, _, b) = fetch(&t, &f, b"garbage".to_vec()).await;
    assert_eq!(
        refused(s, &b),
        (StatusCode::BAD_REQUEST, "malformed_request".into())
    );
    let g = Fixture::valid();
    let r = g.fetch_request(NODE_URL, NOW);
    let (s, _, b) = fetch(&t, &f, r.as_bytes().to_vec()).await;
    assert_eq!(
        refused(s, &b),
        (StatusCode::BAD_REQUEST, "grant_mismatch".into())
    );
    // Unknown grant.
    let (s, _, b) = t
        .call(
            Method::POST,
            &format!("/v1/grants/{}/fetch", g.id()),
            &[],
            r.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(
        refused(s, &b),
        (StatusCode::NOT_FOUND, "unknown_grant".into())
    );
    // None of these were logged.
    let (_, _, cp) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    assert!(String::from_utf8_lossy(&cp).contains("\n1\n"));
}

#[tokio::test]
async fn validity_window_is_enforced_on_the_node_clock() {
    let t = TestNode::new();
    let f = Fixture::new(NOW + DAY, NOW + 2 * DAY);
    committed_with_bundle(&t, &f).await;
    let (s, _, b) = fetch(&t, &f, f.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "not_yet_valid".into())
    );
    t.clock.set(NOW + DAY);
    let (s, _, _) = fetch(
        &t,
        &f,
        f.fetch_request(NODE_URL, NOW + DAY).as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    t.clock.set(NOW + 2 * DAY);
    let (s, _, b) = fetch(
        &t,
        &f,
        f.fetch_request(NODE_URL, NOW + 2 * DAY).as_bytes().to_vec(),
    )
    .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "expired".into()));
}

#[tokio::test]
async fn revoked_grants_are_not_served() {
    let t = TestNode::new();
    let f = Fixture::valid();
    committed_with_bundle(&t, &f).await;
    assert_eq!(
        t.post_json("/v1/entries", entry_body(f.revocation(NOW).as_bytes()))
            .await
            .0,
        StatusCode::OK
    );
    let (s, _, b) = fetch(&t, &f, f.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "revoked".into()));
}

/// A shortened grant (a revocation with an end time) is served until that time and refused
/// from it on, across a restart; it can only be ended sooner, never extended, and never
/// changed once it has ended.
#[tokio::test]
async fn shortened_grants_are_served_until_their_new_end() {
    let mut t = TestNode::new();
    let f = Fixture::valid();
    committed_with_bundle(&t, &f).await;
    let ends = NOW + 3 * DAY;
    assert_eq!(
        t.post_json(
            "/v1/entries",
            entry_body(f.shortening(NOW, ends).as_bytes())
        )
        .await
        .0,
        StatusCode::OK
    );
    // Still served before the new end, and the bundle can still be replaced.
    t.clock.set(ends - 1);
    let (s, _, _) = fetch(
        &t,
        &f,
        f.fetch_request(NODE_URL, ends - 1).as_bytes().to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let s = upload(&t, &f).await;
    assert!(s.is_success(), "upload before the new end: {s}");
    // A later end is not an extension the node accepts.
    let (s, b) = t
        .post_json(
            "/v1/entries",
            entry_body(f.shortening(NOW, ends + DAY).as_bytes()),
        )
        .await;
    assert_eq!(
        (s, b["code"].as_str().unwrap_or_default().to_owned()),
        (StatusCode::FORBIDDEN, "already_revoked".into())
    );
    // Restart: the end time is on disk, not only in memory.
    t = t.restart();
    t.clock.set(ends);
    let (s, _, b) = fetch(&t, &f, f.fetch_request(NODE_URL, ends).as_bytes().to_vec()).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "revoked".into()));
    // Once ended, not even an immediate revocation is taken again.
    let (s, b) = t
        .post_json("/v1/entries", entry_body(f.revocation(ends).as_bytes()))
        .await;
    assert_eq!(
        (s, b["code"].as_str().unwrap_or_default().to_owned()),
        (StatusCode::FORBIDDEN, "already_revoked".into())
    );
    // The sweep deletes the bundle once the grant has ended.
    let bundle = t.dir.path().join("bundles").join(f.id().to_string());
    assert!(bundle.exists());
    assert_eq!(t.state.sweep_bundles().await.unwrap(), 1);
    assert!(!bundle.exists());
}

/// "End now" after a shortening: the immediate revocation is accepted before the scheduled
/// end, and the grant is refused at once.
#[tokio::test]
async fn a_shortened_grant_can_be_ended_sooner() {
    let t = TestNode::new();
    let f = Fixture::valid();
    committed_with_bundle(&t, &f).await;
    let first = t
        .post_json(
            "/v1/entries",
            entry_body(f.shortening(NOW, NOW + 10 * DAY).as_bytes()),
        )
        .await;
    assert_eq!(first.0, StatusCode::OK);
    let sooner = t
        .post_json(
            "/v1/entries",
            entry_body(f.shortening(NOW, NOW + 2 * DAY).as_bytes()),
        )
        .await;
    assert_eq!(sooner.0, StatusCode::OK);
    let (s, _, _) = fetch(&t, &f, f.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!(s, StatusCode::OK);
    let now = t
        .post_json("/v1/entries", entry_body(f.revocation(NOW).as_bytes()))
        .await;
    assert_eq!(now.0, StatusCode::OK);
    let (s, _, b) = fetch(&t, &f, f.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "revoked".into()));
    // The immediate revocation deleted the bundle file right away.
    assert!(!t
        .dir
        .path()
        .join("bundles")
        .join(f.id().to_string())
        .exists());
}

#[tokio::test]
async fn deleted_and_erased_grants_are_not_served() {
    let t = TestNode::new();
    // DELETE of the off-log copy.
    let f = Fixture::valid();
    committed_with_bundle(&t, &f).await;
    let uri = format!("/v1/grants/{}", f.id());
    let (s, _, b) = t.call(Method::DELETE, &uri, &[], vec![]).await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::BAD_REQUEST, "missing_signature".into())
    );
    let other = Fixture::valid();
    let (s, _, b) = t
        .call(Method::DELETE, &uri, &other.delete_headers(), vec![])
        .await;
    assert_eq!(
        (s, code(&b)),
        (StatusCode::FORBIDDEN, "bad_signature".into())
    );
    let (s, _, _) = t
        .call(Method::DELETE, &uri, &f.delete_headers(), vec![])
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(!t
        .dir
        .path()
        .join("bundles")
        .join(f.id().to_string())
        .exists());
    let (s, _, b) = fetch(&t, &f, f.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "erased".into()));
    // A re-upload after erasure is refused.
    let (s, _, b) = t
        .call(
            Method::PUT,
            &format!("/v1/grants/{}/bundle", f.id()),
            &f.upload_headers(BUNDLE),
            BUNDLE.to_vec(),
        )
        .await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "erased".into()));

    // An ErasureEntry on the log under the grant key.
    let g = Fixture::valid();
    committed_with_bundle(&t, &g).await;
    assert_eq!(
        t.post_json("/v1/entries", entry_body(g.erasure(NOW).as_bytes()))
            .await
            .0,
        StatusCode::OK
    );
    let (s, _, b) = fetch(&t, &g, g.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!((s, code(&b)), (StatusCode::FORBIDDEN, "erased".into()));
}

#[tokio::test]
async fn fetch_without_a_bundle_is_404() {
    let t = TestNode::new();
    let f = Fixture::valid();
    assert_eq!(
        t.post_json("/v1/entries", f.commit_body()).await.0,
        StatusCode::OK
    );
    let (s, _, b) = fetch(&t, &f, f.fetch_request(NODE_URL, NOW).as_bytes().to_vec()).await;
    assert_eq!((s, code(&b)), (StatusCode::NOT_FOUND, "no_bundle".into()));
}
