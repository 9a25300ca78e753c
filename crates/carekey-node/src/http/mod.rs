//! The HTTP layer, the top of the node: the API of docs/protocol.md — static-style reads
//! (`/checkpoint`, `/tile/...`, in [`reads`]) and the `/v1` write API ([`entries`],
//! [`grants`], [`shares`], the SMART Health Links in [`links`]) — plus the shared [`AppState`], the rate-limit and timeout
//! middleware, request parsing, the connection loop ([`server`]) and the OpenAPI document.
//!
//! Handlers parse the request, call one operation of `crate::service`, and turn its result
//! into a response. This layer imports `crate::service` and the foundations (`error`,
//! `clock`), never `crate::storage`.

mod entries;
mod grants;
mod links;
pub(crate) mod openapi;
mod reads;
pub(crate) mod server;
mod shares;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use carekey_crypto::Signature;
use carekey_model::GrantId;

use crate::clock::Clock;
use crate::error::ApiError;
use crate::service::limits::{client_addr, ErasureLimiter, ErasureLimits, ProxyNet, RateLimiter};
use crate::service::Node;

/// Largest `POST /v1/entries` or fetch body: 1 MiB.
pub const MAX_ENTRY_BODY: usize = 1 << 20;
/// Largest grant bundle upload: 64 MiB.
pub const MAX_BUNDLE_BODY: usize = 64 << 20;
/// The header naming the access event's index on a served bundle.
pub const ACCESS_EVENT_HEADER: &str = "carekey-access-event";
/// The header carrying a grant key's signature on uploads and deletions.
pub const SIGNATURE_HEADER: &str = "carekey-signature";

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_STORE: &str = "no-store";

/// Most bytes of upload bodies held in memory at once (uploads beyond it wait their turn).
pub const MAX_UPLOAD_BYTES_IN_FLIGHT: usize = 256 << 20;
/// Default for [`AppState::with_request_timeout`]: a whole request, body included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The node.
    pub node: Node,
    /// The node clock (injectable).
    pub clock: Arc<dyn Clock>,
    /// Per-client request budget.
    pub limiter: Arc<RateLimiter>,
    erasures: Arc<ErasureLimiter>,
    proxies: Arc<[ProxyNet]>,
    request_timeout: Duration,
    /// Upload bodies in memory, in KiB.
    uploads: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    /// State for `node` with `clock` and a rate limit of `per_sec` requests per second per
    /// client IP, bursts of `burst`; default erasure limits, no trusted proxy, the default
    /// request timeout.
    pub fn new(node: Node, clock: Arc<dyn Clock>, per_sec: u32, burst: u32) -> Self {
        Self {
            node,
            clock,
            limiter: Arc::new(RateLimiter::new(per_sec, burst)),
            erasures: Arc::new(ErasureLimiter::new(ErasureLimits::default())),
            proxies: Arc::from(Vec::new()),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            uploads: Arc::new(tokio::sync::Semaphore::new(
                MAX_UPLOAD_BYTES_IN_FLIGHT >> 10,
            )),
        }
    }

    /// The same with these erasure-entry limits.
    pub fn with_erasure_limits(mut self, limits: ErasureLimits) -> Self {
        self.erasures = Arc::new(ErasureLimiter::new(limits));
        self
    }

    /// The same, trusting `X-Forwarded-For` / `Forwarded` from peers in `proxies` only.
    pub fn with_trusted_proxies(mut self, proxies: Vec<ProxyNet>) -> Self {
        self.proxies = Arc::from(proxies);
        self
    }

    /// The same with `timeout` for a whole request (reading the body included); past it the
    /// answer is `408 request_timeout`.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Deletes the bundle files the node must no longer keep: of grants expired on the node
    /// clock, revoked, erased or deleted (a crash can leave a file behind after the entry
    /// that ended its grant), or unknown; and temporary files of interrupted uploads. Returns
    /// how many bundles it deleted. `serve` runs it at start and then periodically.
    pub async fn sweep_bundles(&self) -> Result<usize, ApiError> {
        self.node.sweep_bundles(self.clock.now()).await
    }

    /// Deletes the expired file tokens of hosted links and the files of links expired on the
    /// node clock (their ids stay taken). `serve` runs it with the bundle sweep.
    pub async fn sweep_links(&self) -> Result<(), ApiError> {
        self.node.sweep_links(self.clock.now()).await
    }
}

/// The client a request is from (the peer, or the address a trusted proxy forwarded).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

/// The node's router: every route of docs/protocol.md.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/checkpoint", get(reads::checkpoint))
        .route("/tile/{*path}", get(reads::tile))
        .route("/v1/entries", post(entries::post_entry))
        .route("/v1/grants/{id}/bundle", put(grants::put_bundle))
        .route("/v1/grants/{id}/fetch", post(grants::fetch))
        .route(
            "/v1/grants/{id}",
            axum::routing::delete(grants::delete_grant),
        )
        .route(
            "/v1/backup-shares/{id}",
            put(shares::put_share)
                .get(shares::get_share)
                .delete(shares::delete_share),
        )
        .route(
            "/v1/links/{id}",
            put(links::put_link)
                .delete(links::end_link)
                .post(links::manifest)
                .options(links::preflight),
        )
        .route(
            "/v1/links/{id}/files/{n}",
            get(links::file).options(links::preflight),
        )
        .route("/v1/openapi.json", get(reads::openapi))
        .route("/v1/health", get(reads::health))
        .fallback(|| async { ApiError::not_found("not_found", "no such route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
        // Outermost: a viewer's answers carry CORS headers even when rate limited.
        .layer(middleware::from_fn(links::cors))
        .with_state(state)
}

async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    let ip = client_addr(peer, req.headers(), &state.proxies);
    if !state.limiter.allow(ip, state.clock.now()) {
        return ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "too many requests; slow down",
        )
        .into_response();
    }
    req.extensions_mut().insert(ClientAddr(ip));
    next.run(req).await
}

/// A whole request (body included) gets [`AppState::with_request_timeout`]: a client that
/// sends its body a byte at a time cannot hold a connection and a buffer for long.
async fn request_timeout(State(state): State<AppState>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(state.request_timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "the request took too long",
        )
        .into_response(),
    }
}

pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let too_large = std::error::Error::source(&e)
            .is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
            || e.to_string().contains("length limit");
        if too_large {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the body is larger than {limit} bytes"),
            )
        } else {
            ApiError::bad_request("bad_body", "the request body could not be read")
        }
    })
}

pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

pub(crate) fn content_length_over(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
    let len = content_length(headers);
    if len.is_some_and(|l| l > limit as u64) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes"),
        ));
    }
    Ok(())
}

pub(crate) fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, ApiError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| ApiError::bad_request("malformed", format!("{field} is not base64url")))
}

pub(crate) fn grant_id(s: &str) -> Result<GrantId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("bad_grant_id", "the grant id is not 32 hex characters"))
}

pub(crate) fn signature_header(headers: &HeaderMap) -> Result<Signature, ApiError> {
    let missing = || {
        ApiError::bad_request(
            "missing_signature",
            "the Carekey-Signature header is missing or not a base64 Ed25519 signature",
        )
    };
    let text = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(missing)?
        .trim();
    let raw = URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| STANDARD.decode(text))
        .map_err(|_| missing())?;
    Signature::from_slice(&raw).map_err(|_| missing())
}
