//! Fixtures: keys, grants, entries, a node on a temporary directory, and a oneshot caller.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{AgreementSecret, SigningKey};
use carekey_ledger::note::NoteVerifier;
use carekey_model::ledger::*;
use carekey_model::*;
use carekey_node::{app, AppState, LogKey, ManualClock, Node, NodeOptions};
use tower::ServiceExt as _;

pub const NOW: u64 = 1_750_000_000;
pub const ORIGIN: &str = "carekey.test/log1";
pub const NODE_URL: &str = "https://node.test";
pub const DAY: u64 = 86_400;

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A node with a manual clock on a fresh directory.
pub struct TestNode {
    pub dir: tempfile::TempDir,
    pub node: Node,
    pub state: AppState,
    pub clock: ManualClock,
    pub seed: [u8; 32],
    /// Applied to the node's options at every start.
    pub options: fn(&mut NodeOptions),
}

pub fn log_key(seed: [u8; 32]) -> LogKey {
    LogKey::from_signing(ORIGIN, SigningKey::from_bytes(&seed)).unwrap()
}

impl TestNode {
    pub fn new() -> Self {
        Self::with_options(|_| {})
    }

    /// A node whose options `options` changes (at this start and every restart).
    pub fn with_options(options: fn(&mut NodeOptions)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let seed = [7u8; 32];
        let clock = ManualClock::new(NOW);
        let (node, state) = start_with(dir.path(), seed, &clock, 10_000, 10_000, options);
        Self {
            dir,
            node,
            state,
            clock,
            seed,
            options,
        }
    }

    /// Stops this node's handlers and starts a new node on the same directory.
    pub fn restart(self) -> Self {
        let TestNode {
            dir,
            node,
            state,
            clock,
            seed,
            options,
        } = self;
        drop(state);
        drop(node);
        let (node, state) = start_with(dir.path(), seed, &clock, 10_000, 10_000, options);
        Self {
            dir,
            node,
            state,
            clock,
            seed,
            options,
        }
    }

    pub fn verifier(&self) -> NoteVerifier {
        log_key(self.seed).note.verifier()
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> (StatusCode, HeaderMap, Bytes) {
        call(&self.state, method, uri, headers, body).await
    }

    pub async fn post_json(
        &self,
        uri: &str,
        json: serde_json::Value,
    ) -> (StatusCode, serde_json::Value) {
        let (status, _, body) = self
            .call(
                Method::POST,
                uri,
                &[("content-type", "application/json".into())],
                json.to_string().into_bytes(),
            )
            .await;
        (
            status,
            serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        )
    }
}

pub fn start(
    dir: &std::path::Path,
    seed: [u8; 32],
    clock: &ManualClock,
    per_sec: u32,
    burst: u32,
) -> (Node, AppState) {
    start_with(dir, seed, clock, per_sec, burst, |_| {})
}

pub fn start_with(
    dir: &std::path::Path,
    seed: [u8; 32],
    clock: &ManualClock,
    per_sec: u32,
    burst: u32,
    options: fn(&mut NodeOptions),
) -> (Node, AppState) {
    let mut opts = NodeOptions::new(dir.to_owned(), NODE_URL.into(), log_key(seed));
    opts.batch_delay = Duration::from_millis(1);
    options(&mut opts);
    let node = Node::start(opts).unwrap();
    let state = AppState::new(node.clone(), Arc::new(clock.clone()), per_sec, burst);
    (node, state)
}

pub async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Bytes) {
    send(state, None, method, uri, headers, body).await
}

/// A patient, a provider, and one grant with its ledger pseudonyms.
pub struct Fixture {
    pub patient: SigningKey,
    pub provider: SigningKey,
    pub grant: SignedGrant,
    pub grant_key: SigningKey,
    pub event_secret: AgreementSecret,
    pub salt: [u8; 32],
    pub binding: SignedLedgerBinding,
    pub commitment: SignedGrantCommitment,
}

impl Fixture {
    pub fn new(not_before: u64, not_after: u64) -> Self {
        let patient = SigningKey::generate();
        let provider = SigningKey::generate();
        Self::for_keys(patient, provider, not_before, not_after)
    }

    pub fn for_keys(
        patient: SigningKey,
        provider: SigningKey,
        not_before: u64,
        not_after: u64,
    ) -> Self {
        let grant = Signed::sign(
            Grant {
                grant_id: GrantId::generate(),
                patient_signing: patient.public(),
                provider_name: "Dr Test".into(),
                provider_signing: provider.public(),
                provider_agreement: AgreementSecret::generate().public(),
                request_hash: [1; 32],
                scope: Scope::new(vec![], vec!["Observation".into()]),
                purpose: "care".into(),
                issued_at: not_before,
                not_before,
                not_after,
                nodes: vec![NODE_URL.into()],
            },
            &patient,
        )
        .unwrap();
        let grant_key = SigningKey::generate();
        let event_secret = AgreementSecret::generate();
        let salt = carekey_crypto::random_array::<32>();
        let binding = Signed::sign(
            LedgerBinding {
                patient_signing: patient.public(),
                grant_hash: grant.hash(),
                grant_key: grant_key.public(),
                event_key: event_secret.public(),
            },
            &patient,
        )
        .unwrap();
        let commitment = Signed::sign(
            GrantCommitment {
                grant_key: grant_key.public(),
                commitment: grant_commitment(&salt, &grant),
                committed_at: NOW,
            },
            &grant_key,
        )
        .unwrap();
        Self {
            patient,
            provider,
            grant,
            grant_key,
            event_secret,
            salt,
            binding,
            commitment,
        }
    }

    pub fn valid() -> Self {
        Self::new(NOW - DAY, NOW + 30 * DAY)
    }

    pub fn id(&self) -> GrantId {
        self.grant.document().grant_id
    }

    pub fn commit_body(&self) -> serde_json::Value {
        serde_json::json!({
            "entry": b64(self.commitment.as_bytes()),
            "grant": b64(self.grant.as_bytes()),
            "binding": b64(self.binding.as_bytes()),
            "salt": b64(&self.salt),
        })
    }

    pub fn revocation(&self, at: u64) -> SignedRevocationEntry {
        Signed::sign(
            RevocationEntry {
                grant_key: self.grant_key.public(),
                revoked_at: at,
                ends_at: None,
            },
            &self.grant_key,
        )
        .unwrap()
    }

    /// A revocation signed at `at` that ends the grant at `ends_at` (a shortened grant).
    pub fn shortening(&self, at: u64, ends_at: u64) -> SignedRevocationEntry {
        Signed::sign(
            RevocationEntry {
                grant_key: self.grant_key.public(),
                revoked_at: at,
                ends_at: Some(ends_at),
            },
            &self.grant_key,
        )
        .unwrap()
    }

    pub fn erasure(&self, at: u64) -> SignedErasureEntry {
        Signed::sign(
            ErasureEntry {
                erasure_key: self.grant_key.public(),
                commitment: [9; 32],
                ciphertext_hashes: vec![[8; 32]],
                erased_at: at,
            },
            &self.grant_key,
        )
        .unwrap()
    }

    pub fn fetch_request(&self, node: &str, requested_at: u64) -> SignedFetchRequest {
        self.fetch_request_by(
            &self.provider,
            node,
            requested_at,
            carekey_crypto::random_array(),
        )
    }

    pub fn fetch_request_by(
        &self,
        key: &SigningKey,
        node: &str,
        requested_at: u64,
        nonce: [u8; 16],
    ) -> SignedFetchRequest {
        Signed::sign(
            FetchRequest {
                provider_signing: key.public(),
                grant_id: self.id(),
                node: node.into(),
                nonce,
                requested_at,
            },
            key,
        )
        .unwrap()
    }

    pub fn upload_headers(&self, body: &[u8]) -> Vec<(&'static str, String)> {
        let sig = self
            .grant_key
            .sign(&upload_message(&self.id(), &carekey_crypto::sha256(body)));
        vec![("carekey-signature", b64(&sig.to_bytes()))]
    }

    pub fn delete_headers(&self) -> Vec<(&'static str, String)> {
        let sig = self.grant_key.sign(&delete_message(&self.id()));
        vec![("carekey-signature", b64(&sig.to_bytes()))]
    }
}

/// A standalone erasure entry with a fresh one-time key (always accepted).
pub fn one_time_erasure(n: u64) -> SignedErasureEntry {
    let key = SigningKey::generate();
    Signed::sign(
        ErasureEntry {
            erasure_key: key.public(),
            commitment: carekey_crypto::sha256(&n.to_be_bytes()),
            ciphertext_hashes: vec![[7; 32]],
            erased_at: NOW,
        },
        &key,
    )
    .unwrap()
}

pub fn entry_body(entry: &[u8]) -> serde_json::Value {
    serde_json::json!({ "entry": b64(entry) })
}

/// Like [`call`], as if the request came from `peer` over TCP (the router reads the peer
/// address from `ConnectInfo`).
pub async fn call_from(
    state: &AppState,
    peer: std::net::SocketAddr,
    method: Method,
    uri: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Bytes) {
    send(state, Some(peer), method, uri, headers, body).await
}

/// One request through the router, from `peer` when given, with the whole answer.
async fn send(
    state: &AppState,
    peer: Option<std::net::SocketAddr>,
    method: Method,
    uri: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    if let Some(peer) = peer {
        req.extensions_mut()
            .insert(axum::extract::ConnectInfo(peer));
    }
    let resp = app(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, body)
}

/// The stable error code of an error answer (empty if there is none).
pub fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned))
        .unwrap_or_default()
}
