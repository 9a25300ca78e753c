//! Hosted SMART Health Links (protocol §7): registration and updates, manifests with embedded
//! and location files, passcodes and their budget (also under 20 parallel guesses and across a
//! restart), ending and expiry, CORS, malformed input; and that every answered manifest
//! request is on the log as a link-open event the patient can open.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use carekey_crypto::{AgreementSecret, SigningKey};
use carekey_ledger::tiles::{decode_bundle, TileId, TILE_WIDTH};
use carekey_model::ledger::{open_link_open, Entry, LinkOpenBinding, LinkOpenDetails, LinkOutcome};
use carekey_model::shl::hosting::{
    link_delete_message, link_put_message, HostedFile, LinkId, LinkRegistration, PasscodeVerifier,
    FILE_LOCATION_SECS, MAX_REGISTRATION_BYTES,
};
use carekey_model::shl::{ContentType, Manifest, MAX_MANIFEST_REQUEST_BYTES};

use crate::support::{b64, call, error_code, TestNode, NODE_URL, NOW, ORIGIN};

const PASSCODE: &str = "correct horse";

/// A fake JWE of `len` bytes (five parts; the node never looks inside).
fn jwe(tag: char, len: usize) -> String {
    let body: String = std::iter::repeat_n(tag, len - 13).collect();
    let jwe = format!("eyJ.{body}.iv.ct.tg");
    assert_eq!(jwe.len(), len);
    jwe
}

/// A link as the wallet holds it: its id, keys, and what it registers.
struct Link {
    id: LinkId,
    key: SigningKey,
    event: AgreementSecret,
    registration: LinkRegistration,
}

impl Link {
    fn new(files: Vec<HostedFile>) -> Self {
        let key = SigningKey::generate();
        let event = AgreementSecret::generate();
        let registration = LinkRegistration {
            link_key: LinkRegistration::encode_key(key.public().as_bytes()),
            event_key: LinkRegistration::encode_key(event.public().as_bytes()),
            version: 1,
            exp: None,
            passcode: None,
            attempts: None,
            files,
        };
        Self {
            id: LinkId::generate(),
            key,
            event,
            registration,
        }
    }

    /// A link of one small FHIR file.
    fn simple() -> Self {
        Self::new(vec![file(ContentType::FhirJson, jwe('a', 100))])
    }

    /// A link of one small file behind [`PASSCODE`] with `attempts` wrong guesses allowed.
    fn with_passcode(attempts: u32) -> Self {
        let mut link = Self::simple();
        link.registration.passcode = Some(PasscodeVerifier::new(PASSCODE).unwrap());
        link.registration.attempts = Some(attempts);
        link
    }

    fn uri(&self) -> String {
        format!("/v1/links/{}", self.id)
    }

    /// `PUT` of `body` signed by `signer`.
    async fn put_body(
        &self,
        t: &TestNode,
        body: Vec<u8>,
        signer: &SigningKey,
    ) -> (StatusCode, HeaderMap, Bytes) {
        let message = link_put_message(&self.id, &carekey_crypto::sha256(&body));
        let sig = b64(&signer.sign(&message).to_bytes());
        t.call(
            Method::PUT,
            &self.uri(),
            &[
                ("carekey-signature", sig),
                ("content-type", "application/json".into()),
            ],
            body,
        )
        .await
    }

    /// `PUT` of the registration, signed by the link key: the status and error code.
    async fn put(&self, t: &TestNode) -> (StatusCode, String) {
        let (status, _, body) = self
            .put_body(t, self.registration.to_json(), &self.key)
            .await;
        (status, error_code(&body))
    }

    async fn end(&self, t: &TestNode, signer: &SigningKey) -> StatusCode {
        let sig = b64(&signer.sign(&link_delete_message(&self.id)).to_bytes());
        t.call(
            Method::DELETE,
            &self.uri(),
            &[("carekey-signature", sig)],
            vec![],
        )
        .await
        .0
    }

    /// Opens every link-open event about this link on `t`'s log, in log order.
    async fn opens(&self, t: &TestNode) -> Vec<LinkOpenDetails> {
        log_entries(t)
            .await
            .into_iter()
            .filter_map(|e| match e {
                Entry::LinkOpen(o) if o.document().link_key == self.key.public() => {
                    let d = o.document();
                    assert_eq!(d.node_key, t.verifier().public_key().to_owned());
                    let details =
                        open_link_open(&self.event, &d.sealed, &LinkOpenBinding::of(ORIGIN, d))
                            .unwrap();
                    assert_eq!(d.logged_at, details.at);
                    Some(details)
                }
                _ => None,
            })
            .collect()
    }
}

fn file(content_type: ContentType, jwe: String) -> HostedFile {
    HostedFile { content_type, jwe }
}

fn request(recipient: &str, passcode: Option<&str>, max: Option<u64>) -> serde_json::Value {
    let mut r = serde_json::json!({ "recipient": recipient });
    if let Some(p) = passcode {
        r["passcode"] = p.into();
    }
    if let Some(m) = max {
        r["embeddedLengthMax"] = m.into();
    }
    r
}

/// A manifest request: the status, the headers and the JSON answer.
async fn open(
    t: &TestNode,
    link: &Link,
    request: serde_json::Value,
) -> (StatusCode, HeaderMap, serde_json::Value) {
    let (status, headers, body) = t
        .call(
            Method::POST,
            &link.uri(),
            &[("content-type", "application/json".into())],
            request.to_string().into_bytes(),
        )
        .await;
    let json = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

/// The path (under the node) of a manifest's `location` URL.
fn location_path(location: &str) -> String {
    location
        .strip_prefix(NODE_URL)
        .unwrap_or_else(|| panic!("{location} is not on the node"))
        .to_owned()
}

/// Every entry of `t`'s log, read as a client would: the signed checkpoint, then the entry
/// bundles it covers.
async fn log_entries(t: &TestNode) -> Vec<Entry> {
    let (_, _, cp) = t.call(Method::GET, "/checkpoint", &[], vec![]).await;
    let size = carekey_ledger::note::open_checkpoint(
        std::str::from_utf8(&cp).unwrap(),
        &t.verifier(),
        &[],
        u64::MAX / 2,
    )
    .unwrap()
    .checkpoint
    .size;
    let width = u64::from(TILE_WIDTH);
    let mut out = Vec::new();
    for n in 0..size.div_ceil(width) {
        let w = (size - n * width).min(width);
        let path = format!("/{}", TileId::entries(n, w as u16).path());
        let (status, _, bundle) = t.call(Method::GET, &path, &[], vec![]).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for e in decode_bundle(&bundle, w as usize).unwrap() {
            out.push(Entry::from_bytes(&e).unwrap());
        }
    }
    out
}

/// Rows of `table` for link `id` in the node's database.
fn rows(t: &TestNode, table: &str, id: &LinkId) -> i64 {
    let db = rusqlite::Connection::open(t.dir.path().join("node.sqlite3")).unwrap();
    db.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE link_id = ?1"),
        [&id.0[..]],
        |r| r.get(0),
    )
    .unwrap()
}

fn assert_cors(headers: &HeaderMap) {
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert_eq!(
        headers["access-control-allow-methods"],
        "GET, POST, OPTIONS"
    );
    assert_eq!(headers["access-control-allow-headers"], "content-type");
}

#[tokio::test]
async fn a_manifest_serves_files_embedded_or_by_location_after_logging_the_open() {
    let t = TestNode::new();
    let small = jwe('s', 120);
    let large = jwe('L', 5000);
    let link = Link::new(vec![
        file(ContentType::FhirJson, small.clone()),
        file(ContentType::SmartHealthCard, large.clone()),
    ]);
    let (status, _, body) = link
        .put_body(&t, link.registration.to_json(), &link.key)
        .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let answer: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(answer["url"], format!("{NODE_URL}/v1/links/{}", link.id));

    // Without embeddedLengthMax every file is embedded.
    let (status, headers, json) = open(&t, &link, request("Dr X at Clinic Y", None, None)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_cors(&headers);
    let manifest = Manifest::from_json(json.to_string().as_bytes()).unwrap();
    assert_eq!(manifest.files.len(), 2);
    assert_eq!(manifest.files[0].content_type, ContentType::FhirJson);
    assert_eq!(manifest.files[0].embedded.as_deref(), Some(&small[..]));
    assert_eq!(manifest.files[1].content_type, ContentType::SmartHealthCard);
    assert_eq!(manifest.files[1].embedded.as_deref(), Some(&large[..]));

    // With it, the large file comes by a location that lives one hour on the node clock.
    t.clock.advance(10);
    let (status, _, json) = open(&t, &link, request("Nurse Z", None, Some(1000))).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let manifest = Manifest::from_json(json.to_string().as_bytes()).unwrap();
    assert_eq!(manifest.files[0].embedded.as_deref(), Some(&small[..]));
    assert!(manifest.files[1].embedded.is_none());
    let location = manifest.files[1].location.clone().unwrap();
    let prefix = format!("{NODE_URL}/v1/links/{}/files/1?t=", link.id);
    assert!(location.starts_with(&prefix), "{location}");
    let path = location_path(&location);
    let (status, headers, body) = t.call(Method::GET, &path, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/jose");
    assert_cors(&headers);
    assert_eq!(&body[..], large.as_bytes());

    // A wrong token, a token for another file, no token: 404.
    let token = location.rsplit_once("t=").unwrap().1.to_owned();
    for wrong in [
        format!("/v1/links/{}/files/1?t={}", link.id, b64(&[1; 32])),
        format!("/v1/links/{}/files/0?t={token}", link.id),
        format!("/v1/links/{}/files/1", link.id),
        format!("/v1/links/{}/files/1?t={token}", LinkId::generate()),
    ] {
        let (status, headers, _) = t.call(Method::GET, &wrong, &[], vec![]).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong}");
        assert_cors(&headers);
    }
    t.clock.advance(FILE_LOCATION_SECS - 1);
    assert_eq!(
        t.call(Method::GET, &path, &[], vec![]).await.0,
        StatusCode::OK
    );
    t.clock.advance(1);
    assert_eq!(
        t.call(Method::GET, &path, &[], vec![]).await.0,
        StatusCode::NOT_FOUND
    );

    // Both opens are on the log, sealed to the link's event key.
    assert_eq!(
        link.opens(&t).await,
        vec![
            LinkOpenDetails {
                recipient: "Dr X at Clinic Y".into(),
                outcome: LinkOutcome::Opened,
                at: NOW,
            },
            LinkOpenDetails {
                recipient: "Nurse Z".into(),
                outcome: LinkOutcome::Opened,
                at: NOW + 10,
            },
        ]
    );
}

/// The remaining attempts of a `401` answer.
fn remaining(status: StatusCode, json: &serde_json::Value) -> u64 {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{json}");
    assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
    json["remainingAttempts"].as_u64().unwrap()
}

fn wrong(remaining: u32) -> LinkOutcome {
    LinkOutcome::WrongPasscode { remaining }
}

#[tokio::test]
async fn wrong_passcodes_count_down_across_a_restart_then_the_link_closes() {
    let t = TestNode::new();
    let link = Link::with_passcode(3);
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    let (status, headers, json) = open(&t, &link, request("Dr X", Some("1234"), None)).await;
    assert_eq!(remaining(status, &json), 2);
    assert_cors(&headers);

    // The count is in SQLite: a restart keeps it.
    let t = t.restart();
    // No passcode at all is a wrong one.
    let (status, _, json) = open(&t, &link, request("Dr X", None, None)).await;
    assert_eq!(remaining(status, &json), 1);
    // The right passcode is served and leaves the budget as it is.
    let (status, _, json) = open(&t, &link, request("Dr Y", Some(PASSCODE), None)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["files"][0]["embedded"], link.registration.files[0].jwe);
    let (status, _, json) = open(&t, &link, request("Dr Z", Some("12345"), None)).await;
    assert_eq!(remaining(status, &json), 0);

    // Out of attempts: 404 for everyone, the right passcode too, and nothing more is logged.
    let mut t = t;
    for restart in [false, true] {
        if restart {
            t = t.restart();
        }
        let (status, _, json) = open(&t, &link, request("Dr Y", Some(PASSCODE), None)).await;
        assert_eq!(
            (status, json["code"].as_str()),
            (StatusCode::NOT_FOUND, Some("link_exhausted"))
        );
    }
    let opens: Vec<(String, LinkOutcome)> = link
        .opens(&t)
        .await
        .into_iter()
        .map(|d| (d.recipient, d.outcome))
        .collect();
    assert_eq!(
        opens,
        vec![
            ("Dr X".into(), wrong(2)),
            ("Dr X".into(), wrong(1)),
            ("Dr Y".into(), LinkOutcome::Opened),
            ("Dr Z".into(), wrong(0)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_parallel_wrong_passcodes_never_overspend_the_budget() {
    let t = TestNode::new();
    let link = Link::with_passcode(5);
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let state = t.state.clone();
            let uri = link.uri();
            let recipient = format!("guesser {i}");
            let body = request(&recipient, Some(&format!("guess {i}")), None)
                .to_string()
                .into_bytes();
            tokio::spawn(async move {
                let headers = [("content-type", "application/json".to_owned())];
                let (status, _, body) = call(&state, Method::POST, &uri, &headers, body).await;
                (recipient, status, body)
            })
        })
        .collect();
    let mut refused = std::collections::BTreeMap::new();
    let mut closed = 0;
    for task in tasks {
        let (recipient, status, body) = task.await.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => {
                let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
                let left = u32::try_from(remaining(status, &json)).unwrap();
                refused.insert(recipient, left);
            }
            StatusCode::NOT_FOUND => {
                assert_eq!(error_code(&body), "link_exhausted");
                closed += 1;
            }
            other => panic!("{other}: {}", String::from_utf8_lossy(&body)),
        }
    }
    assert_eq!((refused.len(), closed), (5, 15));
    let mut counts: Vec<u32> = refused.values().copied().collect();
    counts.sort_unstable();
    assert_eq!(counts, [0, 1, 2, 3, 4]);

    // Exactly one event per 401, in log order counting down, each saying what its answer said.
    let opens = link.opens(&t).await;
    assert_eq!(opens.len(), 5);
    for (expected, open) in (0..5).rev().zip(&opens) {
        assert_eq!(open.outcome, wrong(expected));
        assert_eq!(refused[&open.recipient], expected, "{}", open.recipient);
        assert_eq!(open.at, NOW);
    }
    // The budget is spent: the right passcode gets 404 too.
    let (status, _, _) = open(&t, &link, request("Dr Y", Some(PASSCODE), None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_ended_link_is_gone_for_good_with_its_files() {
    let t = TestNode::new();
    let link = Link::new(vec![
        file(ContentType::FhirJson, jwe('a', 100)),
        file(ContentType::FhirJson, jwe('b', 3000)),
    ]);
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    let (status, _, json) = open(&t, &link, request("Dr X", None, Some(1000))).await;
    assert_eq!(status, StatusCode::OK);
    let path = location_path(json["files"][1]["location"].as_str().unwrap());
    assert_eq!(
        (
            rows(&t, "link_files", &link.id),
            rows(&t, "link_tokens", &link.id)
        ),
        (2, 1)
    );

    // Only the link key ends it.
    let other = SigningKey::generate();
    assert_eq!(link.end(&t, &other).await, StatusCode::FORBIDDEN);
    assert_eq!(link.end(&t, &link.key).await, StatusCode::NO_CONTENT);
    let (status, headers, json) = open(&t, &link, request("Dr X", None, None)).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("link_ended"))
    );
    assert_cors(&headers);
    assert_eq!(
        t.call(Method::GET, &path, &[], vec![]).await.0,
        StatusCode::NOT_FOUND
    );
    // The files and tokens are gone from SQLite; a tombstone keeps the id taken.
    assert_eq!(
        (
            rows(&t, "link_files", &link.id),
            rows(&t, "link_tokens", &link.id)
        ),
        (0, 0)
    );
    let db = rusqlite::Connection::open(t.dir.path().join("node.sqlite3")).unwrap();
    let (ended, event_key): (bool, Option<Vec<u8>>) = db
        .query_row(
            "SELECT ended, event_key FROM links WHERE link_id = ?1",
            [&link.id.0[..]],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(ended);
    assert_eq!(event_key, None);

    // Ending again is fine; the id is never registered again, also after a restart.
    assert_eq!(link.end(&t, &link.key).await, StatusCode::NO_CONTENT);
    let t = t.restart();
    let mut again = Link::simple();
    again.id = link.id;
    again.key = SigningKey::from_bytes(&link.key.to_bytes());
    again.registration.link_key = link.registration.link_key.clone();
    again.registration.version = 2;
    assert_eq!(
        again.put(&t).await,
        (StatusCode::NOT_FOUND, "link_ended".into())
    );
    let (status, _, _) = open(&t, &link, request("Dr X", None, None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Ending a link never registered is 404.
    assert_eq!(
        Link::simple().end(&t, &link.key).await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(link.opens(&t).await.len(), 1);
}

#[tokio::test]
async fn an_expired_link_is_404_and_its_files_are_swept() {
    let t = TestNode::new();
    let mut link = Link::simple();
    link.registration.exp = Some(NOW + 100);
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    t.clock.advance(99);
    let (status, _, _) = open(&t, &link, request("Dr X", None, None)).await;
    assert_eq!(status, StatusCode::OK);
    // The sweep keeps the files of a link still live.
    t.state.sweep_links().await.unwrap();
    assert_eq!(rows(&t, "link_files", &link.id), 1);
    t.clock.advance(1);
    let (status, _, json) = open(&t, &link, request("Dr X", None, None)).await;
    assert_eq!(
        (status, json["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("link_expired"))
    );
    t.state.sweep_links().await.unwrap();
    assert_eq!(rows(&t, "link_files", &link.id), 0);
    assert_eq!(rows(&t, "links", &link.id), 1);
    assert_eq!(link.opens(&t).await.len(), 1);
}

#[tokio::test]
async fn updates_need_the_link_key_and_a_higher_version_and_keep_the_budget() {
    let t = TestNode::new();
    let mut link = Link::with_passcode(4);
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    let (status, _, json) = open(&t, &link, request("Dr X", Some("nope"), None)).await;
    assert_eq!(remaining(status, &json), 3);
    let (status, _, json) = open(&t, &link, request("Dr X", Some(PASSCODE), Some(10))).await;
    assert_eq!(status, StatusCode::OK);
    let old_path = location_path(json["files"][0]["location"].as_str().unwrap());

    // Version 2 replaces the files (an L-flag update) and keeps the attempts left.
    let new_file = jwe('z', 150);
    link.registration.version = 2;
    link.registration.files = vec![file(ContentType::FhirJson, new_file.clone())];
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    assert_eq!(
        t.call(Method::GET, &old_path, &[], vec![]).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _, json) = open(&t, &link, request("Dr X", Some(PASSCODE), None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["files"][0]["embedded"], new_file);
    let (status, _, json) = open(&t, &link, request("Dr X", Some("nope"), None)).await;
    assert_eq!(remaining(status, &json), 2);

    // The same version with other files, or an older one: 409. The same registration again
    // (a retry whose answer was lost) is fine.
    let mut stale = link.registration.clone();
    stale.files = vec![file(ContentType::FhirJson, jwe('q', 150))];
    for version in [2, 1] {
        stale.version = version;
        let (status, _, body) = link.put_body(&t, stale.to_json(), &link.key).await;
        assert_eq!(
            (status, error_code(&body)),
            (StatusCode::CONFLICT, "stale_version".into())
        );
    }
    assert_eq!(link.put(&t).await.0, StatusCode::OK);

    // Another key, consistently signed: the id is bound to the first key.
    let other = SigningKey::generate();
    let mut hijack = link.registration.clone();
    hijack.link_key = LinkRegistration::encode_key(other.public().as_bytes());
    hijack.version = 9;
    let (status, _, body) = link.put_body(&t, hijack.to_json(), &other).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "link_key_mismatch".into())
    );
    // The link key in the body, another key's signature: bad signature.
    let mut next = link.registration.clone();
    next.version = 3;
    let (status, _, body) = link.put_body(&t, next.to_json(), &other).await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "bad_signature".into())
    );
    // The link key's signature over another body: bad signature too.
    let message = link_put_message(&link.id, &carekey_crypto::sha256(b"another body"));
    let sig = b64(&link.key.sign(&message).to_bytes());
    let (status, _, body) = t
        .call(
            Method::PUT,
            &link.uri(),
            &[("carekey-signature", sig)],
            next.to_json(),
        )
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::FORBIDDEN, "bad_signature".into())
    );
    // Still version 2.
    let (status, _, json) = open(&t, &link, request("Dr X", Some(PASSCODE), None)).await;
    assert_eq!(
        (status, &json["files"][0]["embedded"]),
        (StatusCode::OK, &new_file.into())
    );

    // A new passcode: the old one is wrong from now on; the budget left stays.
    link.registration.version = 4;
    link.registration.passcode = Some(PasscodeVerifier::new("new passcode").unwrap());
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    let (status, _, json) = open(&t, &link, request("Dr X", Some(PASSCODE), None)).await;
    assert_eq!(remaining(status, &json), 1);
    let (status, _, _) = open(&t, &link, request("Dr X", Some("new passcode"), None)).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn viewer_endpoints_send_cors_headers_and_the_wallets_do_not() {
    let t = TestNode::new();
    let link = Link::simple();
    for path in [link.uri(), format!("{}/files/0", link.uri())] {
        let (status, headers, _) = t
            .call(
                Method::OPTIONS,
                &path,
                &[
                    ("origin", "https://viewer.example".into()),
                    ("access-control-request-method", "POST".into()),
                    ("access-control-request-headers", "content-type".into()),
                ],
                vec![],
            )
            .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
        assert_cors(&headers);
    }
    // A refusal carries them too, so a browser viewer sees the 404.
    let (status, headers, _) = open(&t, &link, request("Dr X", None, None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_cors(&headers);
    // The wallet's PUT and DELETE are not for browsers.
    let (status, headers, _) = link
        .put_body(&t, link.registration.to_json(), &link.key)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!headers.contains_key("access-control-allow-origin"));
    let sig = b64(&link.key.sign(&link_delete_message(&link.id)).to_bytes());
    let (status, headers, _) = t
        .call(
            Method::DELETE,
            &link.uri(),
            &[("carekey-signature", sig)],
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(!headers.contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn malformed_requests_are_refused_and_nothing_is_logged() {
    let t = TestNode::new();
    let link = Link::simple();
    let put_code = |(status, _, body): (StatusCode, HeaderMap, Bytes)| (status, error_code(&body));

    // Registration: not JSON; an unknown member (a file key must never reach a node); no
    // signature; a malformed id; too large.
    let answer = link.put_body(&t, b"{not json".to_vec(), &link.key).await;
    assert_eq!(
        put_code(answer),
        (StatusCode::BAD_REQUEST, "malformed".into())
    );
    let mut with_key: serde_json::Value =
        serde_json::from_slice(&link.registration.to_json()).unwrap();
    with_key["key"] = b64(&[9; 32]).into();
    let answer = link
        .put_body(&t, with_key.to_string().into_bytes(), &link.key)
        .await;
    assert_eq!(
        put_code(answer),
        (StatusCode::BAD_REQUEST, "malformed".into())
    );
    let answer = t
        .call(Method::PUT, &link.uri(), &[], link.registration.to_json())
        .await;
    assert_eq!(
        put_code(answer),
        (StatusCode::BAD_REQUEST, "missing_signature".into())
    );
    let sig = b64(&link.key.sign(b"x").to_bytes());
    let answer = t
        .call(
            Method::PUT,
            "/v1/links/not-an-id",
            &[("carekey-signature", sig.clone())],
            link.registration.to_json(),
        )
        .await;
    assert_eq!(
        put_code(answer),
        (StatusCode::BAD_REQUEST, "bad_link_id".into())
    );
    let answer = t
        .call(
            Method::PUT,
            &link.uri(),
            &[
                ("carekey-signature", sig),
                ("content-length", (MAX_REGISTRATION_BYTES + 1).to_string()),
            ],
            vec![],
        )
        .await;
    assert_eq!(answer.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rows(&t, "links", &link.id), 0);

    // A manifest request for an unknown link is 404 whatever its body.
    let (status, _, body) = t
        .call(Method::POST, &link.uri(), &[], b"{not json".to_vec())
        .await;
    assert_eq!(
        (status, error_code(&body)),
        (StatusCode::NOT_FOUND, "unknown_link".into())
    );
    let (status, _, _) = t
        .call(Method::POST, "/v1/links/short", &[], b"{}".to_vec())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // For a live link: 400 for what does not parse, 413 for too much.
    assert_eq!(link.put(&t).await.0, StatusCode::OK);
    let euros = "€".repeat(256);
    for body in [
        b"{not json".to_vec(),
        br#"{"passcode":"1"}"#.to_vec(),
        br#"{"recipient":" "}"#.to_vec(),
        br#"{"recipient":"a\u0007b"}"#.to_vec(),
        br#"{"recipient":"x","embeddedLengthMax":-1}"#.to_vec(),
        // 256 characters, but more bytes than a link-open event carries.
        serde_json::json!({ "recipient": euros })
            .to_string()
            .into_bytes(),
    ] {
        let (status, headers, answer) = t.call(Method::POST, &link.uri(), &[], body.clone()).await;
        assert_eq!(
            (status, error_code(&answer)),
            (StatusCode::BAD_REQUEST, "malformed_request".into()),
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_cors(&headers);
    }
    let big = serde_json::json!({ "recipient": "x".repeat(MAX_MANIFEST_REQUEST_BYTES) });
    let (status, _, _) = t
        .call(Method::POST, &link.uri(), &[], big.to_string().into_bytes())
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(log_entries(&t).await.is_empty());

    // A good request after all that is the first thing logged.
    let (status, _, _) = open(&t, &link, request(&"é".repeat(256), None, None)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log_entries(&t).await.len(), 1);
}

/// One request to a real node process.
async fn send_to(
    method: Method,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
) -> carekey_node::client::Reply {
    carekey_node::client::send(
        method,
        url,
        body,
        headers,
        std::time::Duration::from_secs(10),
        1 << 20,
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_opens_over_real_http_from_a_node_process() {
    use crate::processes::{keygen, Proc, BIN};

    let dir = tempfile::tempdir().unwrap();
    let (key, vkey) = keygen(dir.path(), ORIGIN);
    // The node's public URL is the one it serves on, so a viewer can follow its locations.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let public_url = format!("http://127.0.0.1:{port}");
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"{public_url}\"\ndata_dir = \"{}\"\nkey_file = \"{}\"\nbatch_delay_ms = 2\n",
            dir.path().join("data").display(),
            key.display()
        ),
    )
    .unwrap();
    let node = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    assert_eq!(node.url, public_url);
    link_over_http(&node.url, &vkey).await;

    // The auditor accepts link opens signed by the log key.
    let source = node.url.clone();
    let o = tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN)
            .args(["verify", &source, "--log-key", &vkey])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// The app's embedded node serves links the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_node_serves_links() {
    let dir = tempfile::tempdir().unwrap();
    let key = crate::support::log_key([7; 32]);
    let vkey = key.vkey();
    let options = carekey_node::embedded::Options::new(dir.path().to_owned(), key);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let node =
        tokio::task::spawn_blocking(move || carekey_node::embedded::spawn(listener, options))
            .await
            .unwrap()
            .unwrap();
    link_over_http(node.url(), &vkey).await;
    node.stop().await.unwrap();
}

/// Over real HTTP on the node at `base` (an empty log signed by `vkey`): registers a P-flag
/// link, guesses wrong once, opens it and follows a location, ends it; then reads both
/// link-open events back from the served log.
async fn link_over_http(base: &str, vkey: &str) {
    use crate::processes::HttpTiles;

    let large = jwe('L', 4000);
    let mut link = Link::new(vec![
        file(ContentType::FhirJson, jwe('s', 200)),
        file(ContentType::SmartHealthCard, large.clone()),
    ]);
    link.registration.passcode = Some(PasscodeVerifier::new(PASSCODE).unwrap());
    link.registration.attempts = Some(3);
    let body = link.registration.to_json();
    let message = link_put_message(&link.id, &carekey_crypto::sha256(&body));
    let sig = b64(&link.key.sign(&message).to_bytes());
    let url = format!("{base}/v1/links/{}", link.id);
    let json = [("content-type", "application/json")];
    let reply = send_to(
        Method::PUT,
        &url,
        body,
        &[("carekey-signature", &sig), json[0]],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let answer: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(answer["url"], url);

    let ask = |passcode: &str, max: Option<u64>| {
        request("Dr X at Clinic Y", Some(passcode), max)
            .to_string()
            .into_bytes()
    };
    let reply = send_to(Method::POST, &url, ask("0000", None), &json).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(&reply.body[..], br#"{"remainingAttempts":2}"#);
    let reply = send_to(Method::POST, &url, ask(PASSCODE, Some(1000)), &json).await;
    assert_eq!(reply.status, StatusCode::OK);
    let manifest = Manifest::from_json(&reply.body).unwrap();
    assert_eq!(manifest.files[1].content_type, ContentType::SmartHealthCard);
    let location = manifest.files[1].location.as_deref().unwrap();
    assert!(
        location.starts_with(&format!("{url}/files/1?t=")),
        "{location}"
    );
    let reply = send_to(Method::GET, location, vec![], &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(&reply.body[..], large.as_bytes());

    // Ended: 404 from then on.
    let sig = b64(&link.key.sign(&link_delete_message(&link.id)).to_bytes());
    let reply = send_to(Method::DELETE, &url, vec![], &[("carekey-signature", &sig)]).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    let reply = send_to(Method::POST, &url, ask(PASSCODE, None), &json).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);

    // The two answered requests are on the served log, and open for the patient.
    let reply = send_to(Method::GET, &format!("{base}/checkpoint"), vec![], &[]).await;
    let verifier = carekey_ledger::note::NoteVerifier::parse(vkey).unwrap();
    let size = carekey_ledger::note::open_checkpoint(
        std::str::from_utf8(&reply.body).unwrap(),
        &verifier,
        &[],
        u64::MAX / 2,
    )
    .unwrap()
    .checkpoint
    .size;
    assert_eq!(size, 2);
    let tiles = HttpTiles::fetch(base, size).await;
    let outcomes: Vec<LinkOutcome> = (0..size)
        .map(|i| {
            let Entry::LinkOpen(event) = Entry::from_bytes(&tiles.entry(i, size)).unwrap() else {
                panic!("entry {i} is not a link open");
            };
            let e = event.document();
            assert_eq!(e.link_key, link.key.public());
            let details =
                open_link_open(&link.event, &e.sealed, &LinkOpenBinding::of(ORIGIN, e)).unwrap();
            assert_eq!(details.recipient, "Dr X at Clinic Y");
            details.outcome
        })
        .collect();
    assert_eq!(outcomes, [wrong(2), LinkOutcome::Opened]);
}
