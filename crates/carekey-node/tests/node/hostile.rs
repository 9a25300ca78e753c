//! Issue 8, holes 9 and 10 through the router: what a client without credentials can make the
//! node hold (bundle bodies, bundle bytes, erasure entries, rate-limit buckets), and what a
//! grant's end leaves on disk.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use carekey_node::{app, ErasureLimits, NodeOptions, RateLimiter};
use tower::ServiceExt as _;

use crate::support::*;

fn bundle_file(t: &TestNode, f: &Fixture) -> std::path::PathBuf {
    t.dir.path().join("bundles").join(hex::encode(f.id().0))
}

async fn commit(t: &TestNode, f: &Fixture) {
    let (status, body) = t.post_json("/v1/entries", f.commit_body()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn upload(t: &TestNode, f: &Fixture, bundle: &[u8]) -> (StatusCode, String) {
    let (status, _, body) = t
        .call(
            Method::PUT,
            &format!("/v1/grants/{}/bundle", f.id()),
            &f.upload_headers(bundle),
            bundle.to_vec(),
        )
        .await;
    (status, error_code(&body))
}

async fn commit_and_upload(t: &TestNode, f: &Fixture, bundle: &[u8]) {
    commit(t, f).await;
    assert_eq!(upload(t, f, bundle).await.0, StatusCode::NO_CONTENT);
}

/// Issue 8, hole 10: a grant that ends on the log (erasure entry, revocation) loses its bundle
/// file at once, not only the right to fetch it.
#[tokio::test]
async fn issue8_erasure_and_revocation_delete_the_bundle_file() {
    let t = TestNode::new();
    for end in ["erasure", "revocation"] {
        let f = Fixture::valid();
        commit_and_upload(&t, &f, b"an encrypted grant bundle").await;
        let file = bundle_file(&t, &f);
        assert!(file.exists());
        let entry = match end {
            "erasure" => f.erasure(NOW).as_bytes().to_vec(),
            _ => f.revocation(NOW).as_bytes().to_vec(),
        };
        let (status, body) = t.post_json("/v1/entries", entry_body(&entry)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(!file.exists(), "the {end} left the bundle file on disk");
    }
}

/// A request body that never arrives.
struct Never;

impl hyper::body::Body for Never {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        Poll::Pending
    }
}

/// `PUT …/bundle` with a body that never comes: the answer must come from the headers alone.
async fn put_without_body(t: &TestNode, f: &Fixture, headers: &[(&str, String)]) -> StatusCode {
    let mut req = Request::builder()
        .method(Method::PUT)
        .uri(format!("/v1/grants/{}/bundle", f.id()))
        .header("content-length", (10u64 << 20).to_string());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let req = req.body(Body::new(Never)).unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), app(t.state.clone()).oneshot(req))
        .await
        .expect("the node waited for the body before checking the grant");
    answer.unwrap().status()
}

/// Issue 8, hole 9: an upload for an unknown, revoked or erased grant, or without a signature,
/// is refused before the node reads (and holds) a byte of its body.
#[tokio::test]
async fn issue8_upload_checks_the_grant_before_reading_the_body() {
    let t = TestNode::new();
    let f = Fixture::valid();
    let signed = f.upload_headers(b"whatever");
    assert_eq!(
        put_without_body(&t, &f, &signed).await,
        StatusCode::NOT_FOUND
    );
    commit(&t, &f).await;
    assert_eq!(put_without_body(&t, &f, &[]).await, StatusCode::BAD_REQUEST);
    let (status, body) = t
        .post_json("/v1/entries", entry_body(f.revocation(NOW).as_bytes()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        put_without_body(&t, &f, &signed).await,
        StatusCode::FORBIDDEN
    );
}

fn small_bundle_store(o: &mut NodeOptions) {
    o.max_bundle_bytes = 100_000;
}

/// Issue 8, hole 9: the off-log bundle store has a bound; past it an upload is `507
/// bundle_store_full` (a wallet retries it like a node that is down), decided from the
/// declared length before the body is read; deleting a bundle frees its room.
#[tokio::test]
async fn issue8_bundle_store_is_bounded() {
    let t = TestNode::with_options(small_bundle_store);
    let (a, b) = (Fixture::valid(), Fixture::valid());
    commit_and_upload(&t, &a, &[1; 60_000]).await;
    let (status, _, health) = t.call(Method::GET, "/v1/health", &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    let health: serde_json::Value = serde_json::from_slice(&health).unwrap();
    assert_eq!(health["writer"], "running");
    assert_eq!(
        health["bundle_bytes"], 61_440,
        "60,000 bytes in 4 KiB blocks"
    );
    assert_eq!(health["max_bundle_bytes"], 100_000);
    commit(&t, &b).await;
    assert_eq!(
        upload(&t, &b, &[2; 60_000]).await,
        (StatusCode::INSUFFICIENT_STORAGE, "bundle_store_full".into())
    );
    // Replacing a bundle needs only the difference.
    assert_eq!(upload(&t, &a, &[3; 61_000]).await.0, StatusCode::NO_CONTENT);
    let (status, _, _) = t
        .call(
            Method::DELETE,
            &format!("/v1/grants/{}", a.id()),
            &a.delete_headers(),
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(upload(&t, &b, &[2; 60_000]).await.0, StatusCode::NO_CONTENT);
    // The count survives a restart (it is read back from the directory).
    let t = t.restart();
    let c = Fixture::valid();
    commit(&t, &c).await;
    assert_eq!(
        upload(&t, &c, &[4; 60_000]).await.0,
        StatusCode::INSUFFICIENT_STORAGE
    );
}

/// Issue 8, holes 9 and 10: the sweep (on the node's clock) deletes the bundles of expired
/// grants, and of ended grants whose file a crash left behind.
#[tokio::test]
async fn issue8_sweep_deletes_bundles_of_expired_and_ended_grants() {
    let t = TestNode::new();
    let short = Fixture::new(NOW - DAY, NOW + DAY);
    let long = Fixture::valid();
    let erased = Fixture::valid();
    for f in [&short, &long, &erased] {
        commit_and_upload(&t, f, b"bundle").await;
    }
    let (status, body) = t
        .post_json("/v1/entries", entry_body(erased.erasure(NOW).as_bytes()))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // As if the process died between the erasure's commit and the file's removal.
    std::fs::write(bundle_file(&t, &erased), b"bundle").unwrap();
    assert_eq!(t.state.sweep_bundles().await.unwrap(), 1);
    assert!(!bundle_file(&t, &erased).exists());
    assert!(bundle_file(&t, &short).exists());
    t.clock.set(NOW + DAY);
    assert_eq!(t.state.sweep_bundles().await.unwrap(), 1);
    assert!(!bundle_file(&t, &short).exists());
    assert!(bundle_file(&t, &long).exists());
    // A fetch of the remaining grant still works.
    let request = long.fetch_request(NODE_URL, NOW + DAY);
    let (status, _, _) = t
        .call(
            Method::POST,
            &format!("/v1/grants/{}/fetch", long.id()),
            &[],
            request.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

fn peer(ip: &str) -> SocketAddr {
    SocketAddr::new(ip.parse().unwrap(), 40_000)
}

async fn erase_from(state: &carekey_node::AppState, from: &str, n: u64) -> (StatusCode, String) {
    let body = entry_body(one_time_erasure(n).as_bytes()).to_string();
    let (status, _, body) = call_from(
        state,
        peer(from),
        Method::POST,
        "/v1/entries",
        &[("content-type", "application/json".into())],
        body.into_bytes(),
    )
    .await;
    (status, error_code(&body))
}

/// Issue 8, hole 9: erasure entries signed by throwaway keys cost every wallet a download
/// forever; they are limited per source (`429 erasure_rate_limited`) and by a global daily
/// cap (`507 erasure_cap_reached`), both retried by a wallet — never silently dropped.
#[tokio::test]
async fn issue8_throwaway_erasures_are_limited_per_source_with_a_global_cap() {
    let t = TestNode::new();
    let state = t.state.clone().with_erasure_limits(ErasureLimits {
        per_source_burst: 3,
        per_source_per_hour: 1,
        global_per_day: 5,
    });
    for n in 0..3 {
        assert_eq!(erase_from(&state, "10.0.0.1", n).await.0, StatusCode::OK);
    }
    assert_eq!(
        erase_from(&state, "10.0.0.1", 3).await,
        (StatusCode::TOO_MANY_REQUESTS, "erasure_rate_limited".into())
    );
    for n in 10..12 {
        assert_eq!(erase_from(&state, "10.0.0.2", n).await.0, StatusCode::OK);
    }
    assert_eq!(
        erase_from(&state, "10.0.0.3", 20).await,
        (
            StatusCode::INSUFFICIENT_STORAGE,
            "erasure_cap_reached".into()
        )
    );
    // A day later the cap has room again, and the first source's budget refilled.
    t.clock.advance(DAY);
    assert_eq!(erase_from(&state, "10.0.0.1", 30).await.0, StatusCode::OK);
    // Other entries are not counted against the erasure budget.
    let f = Fixture::valid();
    let (status, _, _) = call_from(
        &state,
        peer("10.0.0.1"),
        Method::POST,
        "/v1/entries",
        &[("content-type", "application/json".into())],
        f.commit_body().to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

async fn checkpoint_via(
    state: &carekey_node::AppState,
    from: &str,
    headers: &[(&str, String)],
) -> StatusCode {
    call_from(
        state,
        peer(from),
        Method::GET,
        "/checkpoint",
        headers,
        vec![],
    )
    .await
    .0
}

/// Issue 8, hole 9: `X-Forwarded-For` / `Forwarded` name the client only when the peer is a
/// configured proxy; a client cannot pick its own bucket, and clients behind one proxy get
/// one bucket each.
#[tokio::test]
async fn issue8_forwarded_addresses_are_trusted_only_from_configured_proxies() {
    let t = TestNode::new();
    let clock = std::sync::Arc::new(t.clock.clone());
    let direct = carekey_node::AppState::new(t.node.clone(), clock.clone(), 1, 2);
    for i in 0..2 {
        let spoof = [("x-forwarded-for", format!("203.0.113.{i}"))];
        assert_eq!(
            checkpoint_via(&direct, "10.9.9.9", &spoof).await,
            StatusCode::OK
        );
    }
    let spoof = [("x-forwarded-for", "203.0.113.7".to_owned())];
    assert_eq!(
        checkpoint_via(&direct, "10.9.9.9", &spoof).await,
        StatusCode::TOO_MANY_REQUESTS,
        "a spoofed X-Forwarded-For from an untrusted peer bought a new bucket"
    );
    let proxied = carekey_node::AppState::new(t.node.clone(), clock, 1, 2)
        .with_trusted_proxies(vec!["10.9.9.0/24".parse().unwrap()]);
    for i in 0..50 {
        let xff = [("x-forwarded-for", format!("198.51.100.{i}"))];
        assert_eq!(
            checkpoint_via(&proxied, "10.9.9.9", &xff).await,
            StatusCode::OK
        );
        let fwd = [(
            "forwarded",
            format!("for=\"[2001:db8::{i:x}]:443\";proto=https"),
        )];
        assert_eq!(
            checkpoint_via(&proxied, "10.9.9.9", &fwd).await,
            StatusCode::OK
        );
    }
    // The proxy appends the peer it saw: a client's own header in front does not count.
    for _ in 0..2 {
        let xff = [("x-forwarded-for", "1.1.1.1, 198.51.100.200".to_owned())];
        assert_eq!(
            checkpoint_via(&proxied, "10.9.9.9", &xff).await,
            StatusCode::OK
        );
    }
    let xff = [("x-forwarded-for", "2.2.2.2, 198.51.100.200".to_owned())];
    assert_eq!(
        checkpoint_via(&proxied, "10.9.9.9", &xff).await,
        StatusCode::TOO_MANY_REQUESTS
    );
}

/// Issue 8, hole 9: the per-IP limiter's memory is bounded without a scan under its lock
/// (the old map scanned all its entries on every request past 100,000 clients).
#[test]
fn issue8_rate_limiter_stays_fast_and_bounded_with_many_clients() {
    let limiter = RateLimiter::new(1, 1);
    let start = Instant::now();
    for i in 0..400_000u32 {
        limiter.allow(IpAddr::V4(i.into()), NOW);
    }
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "400,000 clients took {took:?}"
    );
    // A client that keeps coming is still limited.
    let me = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    assert!(limiter.allow(me, NOW));
    assert!(!limiter.allow(me, NOW));
}
