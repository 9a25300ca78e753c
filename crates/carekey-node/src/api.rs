//! The HTTP API of docs/protocol.md: static-style reads (`/checkpoint`, `/tile/...`) and the
//! `/v1` write API.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use carekey_crypto::{sha256, PublicKey, Signature};
use carekey_ledger::tiles::{tile_prefix, TileId, TILE_WIDTH};
use carekey_model::ledger::{
    delete_message, upload_message, AccessBinding, AccessDetails, AccessEvent, SignedAccessEvent,
    SignedFetchRequest,
};
use carekey_model::GrantId;
use serde::Deserialize;

use crate::cache::VerifiedGrant;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::limits::{
    client_addr, ErasureLimiter, ErasureLimits, ErasureRefusal, ProxyNet, RateLimiter,
};
use crate::node::{bundle_path, tile_within, Effect, Node, Submission};
use crate::policy::{check_entry, EntrySubmission};
use crate::store;

/// Largest `POST /v1/entries` or fetch body: 1 MiB.
pub const MAX_ENTRY_BODY: usize = 1 << 20;
/// Largest grant bundle upload: 64 MiB.
pub const MAX_BUNDLE_BODY: usize = 64 << 20;
/// How far a fetch request's `requested_at` may be from the node clock, in seconds.
pub const FETCH_SKEW_SECS: u64 = 120;
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
        let dir = self.node.data_dir().join("bundles");
        let names = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<String>> {
            match std::fs::read_dir(&dir) {
                Ok(entries) => entries
                    .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(e) => Err(e),
            }
        })
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(crate::error::StoreError::from)?;
        let now = self.clock.now();
        let mut deleted = 0;
        let mut leftovers = Vec::new();
        for name in names {
            let Some(id) = crate::node::parse_grant_file(&name) else {
                if name.ends_with(".tmp") {
                    leftovers.push(name);
                }
                continue;
            };
            let keep = match self.node.db(|c| store::grant_by_id(c, &id))? {
                None => false,
                Some(g) if g.revoked || g.erased => false,
                Some(_) => verified_grant(self, &GrantId(id))?.not_after > now,
            };
            if !keep {
                remove_bundle(self, &id).await?;
                deleted += 1;
            }
        }
        if !leftovers.is_empty() {
            // Uploads write their temporary file under the bundle lock: none is being written.
            let _guard = self.node.bundle_lock().lock().await;
            let dir = self.node.data_dir().join("bundles");
            for name in leftovers {
                let _ = std::fs::remove_file(dir.join(name));
            }
        }
        if deleted > 0 {
            tracing::info!(deleted, "bundles of ended or expired grants deleted");
        }
        Ok(deleted)
    }
}

/// The client a request is from (the peer, or the address a trusted proxy forwarded).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(pub(crate) IpAddr);

/// The node's router: every route of docs/protocol.md.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .route("/v1/entries", post(post_entry))
        .route("/v1/grants/{id}/bundle", put(put_bundle))
        .route("/v1/grants/{id}/fetch", post(fetch))
        .route("/v1/grants/{id}", axum::routing::delete(delete_grant))
        .route(
            "/v1/backup-shares/{id}",
            put(crate::shares::put_share)
                .get(crate::shares::get_share)
                .delete(crate::shares::delete_share),
        )
        .route("/v1/openapi.json", get(openapi))
        .route("/v1/health", get(health))
        .fallback(|| async { ApiError::not_found("not_found", "no such route") })
        .layer(middleware::from_fn_with_state(
            state.clone(),
            request_timeout,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), rate_limit))
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

/// `GET /v1/health`: the writer's state and the bundle store's fill; `503` once the writer
/// failed for good.
async fn health(State(state): State<AppState>) -> Response {
    let h = state.node.health();
    let writer = match h.writer {
        crate::node::WriterStatus::Running => "running",
        crate::node::WriterStatus::Restarting => "restarting",
        crate::node::WriterStatus::Failed => "failed",
    };
    let status = if h.writer == crate::node::WriterStatus::Failed {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        status,
        [(header::CACHE_CONTROL, NO_STORE)],
        Json(serde_json::json!({
            "writer": writer,
            "writer_restarts": h.writer_restarts,
            "bundle_bytes": h.bundle_bytes,
            "max_bundle_bytes": h.max_bundle_bytes,
        })),
    )
        .into_response()
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

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

fn content_length_over(headers: &HeaderMap, limit: usize) -> Result<(), ApiError> {
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

fn b64(field: &'static str, s: &str) -> Result<Vec<u8>, ApiError> {
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| ApiError::bad_request("malformed", format!("{field} is not base64url")))
}

fn grant_id(s: &str) -> Result<GrantId, ApiError> {
    s.parse()
        .map_err(|_| ApiError::bad_request("bad_grant_id", "the grant id is not 32 hex characters"))
}

// ----- reads -----

async fn checkpoint(State(state): State<AppState>) -> Response {
    let note = state.node.checkpoint();
    (
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        note,
    )
        .into_response()
}

async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let id = TileId::parse(&format!("tile/{path}"))
        .map_err(|_| ApiError::not_found("no_tile", "not a tile path"))?;
    let published = state.node.published();
    if !tile_within(&id, published.size) {
        return Err(ApiError::not_found(
            "no_tile",
            "the log has no such tile yet",
        ));
    }
    let bytes = match published.partial(&id) {
        Some(bytes) => bytes,
        None => tile_from_disk(state.node.data_dir(), &id, published.size).await?,
    };
    let cache = if id.is_full() { IMMUTABLE } else { NO_STORE };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

/// A published tile the writer has on disk: full tiles as written; a partial width of a tile
/// that is full by now as the prefix of the full tile (the log grew past that width, possibly
/// within one batch, so its own file may never have been written); older partial widths of
/// the current partial tile as the files written for them.
async fn tile_from_disk(data: &std::path::Path, id: &TileId, size: u64) -> Result<Bytes, ApiError> {
    let read = |id: TileId| {
        let file = store::tile_path(data, &id);
        async move {
            tokio::fs::read(&file).await.map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound && !id.is_full() {
                    return ApiError::not_found("no_tile", "the log has no such tile");
                }
                tracing::error!(tile = %id, error = %e, "published tile missing on disk");
                ApiError::internal()
            })
        }
    };
    if id.is_full() {
        return Ok(Bytes::from(read(*id).await?));
    }
    let full = TileId {
        width: TILE_WIDTH,
        ..*id
    };
    if tile_within(&full, size) {
        let bytes = read(full).await?;
        let prefix = tile_prefix(id.kind, &bytes, id.width).ok_or_else(|| {
            tracing::error!(tile = %full, "published full tile on disk is malformed");
            ApiError::internal()
        })?;
        return Ok(Bytes::copy_from_slice(prefix));
    }
    Ok(Bytes::from(read(*id).await?))
}

async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::OPENAPI_JSON,
    )
        .into_response()
}

// ----- POST /v1/entries -----

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    entry: String,
    grant: Option<String>,
    binding: Option<String>,
    salt: Option<String>,
}

async fn post_entry(
    State(state): State<AppState>,
    client: Option<Extension<ClientAddr>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    content_length_over(&headers, MAX_ENTRY_BODY)?;
    let bytes = read_body(body, MAX_ENTRY_BODY).await?;
    let parsed: EntryBody = serde_json::from_slice(&bytes)
        .map_err(|_| ApiError::bad_request("malformed", "the body is not the expected JSON"))?;
    let submission = EntrySubmission {
        entry: b64("entry", &parsed.entry)?,
        grant: parsed
            .grant
            .as_deref()
            .map(|s| b64("grant", s))
            .transpose()?,
        binding: parsed
            .binding
            .as_deref()
            .map(|s| b64("binding", s))
            .transpose()?,
        salt: parsed.salt.as_deref().map(|s| b64("salt", s)).transpose()?,
    };
    let submission = check_entry(submission, state.clock.now())?;
    if submission.is_erasure() {
        let source = client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0 .0);
        // The budget first (in memory); only a refused entry is looked up in the log, so an
        // entry already there (a retry after a lost answer) is never refused. A retry that
        // fits the budget uses up one unit: rare, and cheaper than a lookup per erasure.
        let budget = state.erasures.take(source, state.clock.now());
        let refused = match budget {
            Ok(()) => None,
            Err(refusal) => {
                let logged = state
                    .node
                    .db(|c| store::entry_index(c, &submission.leaf()))?
                    .is_some();
                (!logged).then_some(refusal)
            }
        };
        if let Some(refusal) = refused {
            match refusal {
                ErasureRefusal::Source => {
                    return Err(ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "erasure_rate_limited",
                        "too many erasure entries from this client; try again later",
                    ))
                }
                ErasureRefusal::Global => {
                    return Err(ApiError::storage_full(
                        "erasure_cap_reached",
                        "this node takes no more erasure entries today; try again later",
                    ))
                }
            }
        }
    }
    let ends = submission.ended_grant_key();
    let appended = state.node.append(submission).await?;
    tracing::info!(index = appended.index, "entry appended");
    // A revoked or erased grant's bundle is never served again: delete the file now (the
    // bundle sweep catches one a crash left behind).
    if let Some(key) = ends {
        if let Some(id) = state.node.db(|c| store::grant_id_for_key(c, &key))? {
            if let Err(e) = remove_bundle(&state, &id).await {
                // The entry is appended; the sweep deletes the file later.
                tracing::warn!(error = %e, "deleting an ended grant's bundle failed");
            }
        }
    }
    Ok(
        Json(serde_json::json!({ "index": appended.index, "receipt": appended.receipt }))
            .into_response(),
    )
}

// ----- grant bundles -----

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

fn grant_key_of(row: &store::GrantRow) -> Result<PublicKey, ApiError> {
    PublicKey::from_bytes(&row.grant_key).map_err(|_| ApiError::internal())
}

/// `PUT /v1/grants/<id>/bundle`. Everything that needs no body is checked before a byte of
/// it is read: the declared length (required, within [`MAX_BUNDLE_BODY`] and the store's
/// room), the signature header, the grant (committed, not revoked, erased or expired). Bodies
/// in memory are bounded by [`MAX_UPLOAD_BYTES_IN_FLIGHT`].
async fn put_bundle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = grant_id(&id)?;
    content_length_over(&headers, MAX_BUNDLE_BODY)?;
    // Without a Content-Length (a chunked upload), room and memory for the largest bundle
    // are taken.
    let exact = content_length(&headers).or_else(|| HttpBody::size_hint(&body).exact());
    let declared = exact.unwrap_or(MAX_BUNDLE_BODY as u64);
    let signature = signature_header(&headers)?;
    let grant = state
        .node
        .db(|c| store::grant_by_id(c, &id.0))?
        .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))?;
    refuse_ended(&grant)?;
    if state.clock.now() >= verified_grant(&state, &id)?.not_after {
        return Err(ApiError::forbidden("expired", "the grant has expired"));
    }
    let path = bundle_path(state.node.data_dir(), &id.0);
    let reservation = Reservation::take(&state, &path, declared).await?;
    let permits = u32::try_from(declared.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
    let _memory = state
        .uploads
        .acquire_many(permits)
        .await
        .map_err(|_| ApiError::unavailable())?;
    let bytes = read_body(body, MAX_BUNDLE_BODY).await?;
    if exact.is_some_and(|n| n != bytes.len() as u64) {
        return Err(ApiError::bad_request(
            "bad_body",
            "the body is not as long as its Content-Length",
        ));
    }
    let key = grant_key_of(&grant.row)?;
    key.verify(&upload_message(&id, &sha256(&bytes)), &signature)
        .map_err(|_| {
            ApiError::forbidden("bad_signature", "the upload signature does not verify")
        })?;
    let _guard = state.node.bundle_lock().lock().await;
    // Ended while the body was on its way?
    let grant = state
        .node
        .db(|c| store::grant_by_id(c, &id.0))?
        .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))?;
    refuse_ended(&grant)?;
    let old = file_footprint(&path).await;
    let written = crate::node::bundle_footprint(bytes.len() as u64);
    let durability = state.node.durability();
    let kept = bytes.clone();
    let file = path.clone();
    tokio::task::spawn_blocking(move || store::write_atomic(&file, &bytes, durability))
        .await
        .map_err(|_| ApiError::internal())??;
    reservation.settle(written, old);
    state.node.cache().keep_bundle(id.0, kept);
    tracing::info!("grant bundle stored");
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn refuse_ended(grant: &store::GrantState) -> Result<(), ApiError> {
    if grant.erased {
        return Err(ApiError::forbidden("erased", "the grant was erased"));
    }
    if grant.revoked {
        return Err(ApiError::forbidden("revoked", "the grant was revoked"));
    }
    Ok(())
}

/// What the file at `path` counts against the bundle store (0 if there is none).
async fn file_footprint(path: &std::path::Path) -> u64 {
    tokio::fs::metadata(path)
        .await
        .map_or(0, |m| crate::node::bundle_footprint(m.len()))
}

/// Room in the bundle store taken for an upload before its body is read; given back if the
/// upload fails, settled against the file it replaces if it succeeds.
struct Reservation<'a> {
    state: &'a AppState,
    /// What was added to the store's count for it.
    reserved: u64,
    settled: bool,
}

impl<'a> Reservation<'a> {
    async fn take(
        state: &'a AppState,
        path: &std::path::Path,
        declared: u64,
    ) -> Result<Reservation<'a>, ApiError> {
        let (used, max) = state.node.bundle_bytes();
        let new = crate::node::bundle_footprint(declared);
        // A re-upload needs only the difference (settled exactly under the lock later).
        let reserved = new.saturating_sub(file_footprint(path).await);
        used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
            u.checked_add(reserved).filter(|n| *n <= max)
        })
        .map_err(|_| {
            ApiError::storage_full(
                "bundle_store_full",
                "this node stores no more grant bundles; try again later or use another node",
            )
        })?;
        Ok(Reservation {
            state,
            reserved,
            settled: false,
        })
    }

    /// A file counting `written` was written, replacing one that counted `old`: the store's
    /// count changes by `written - old` in all, of which `reserved` was added already.
    fn settle(mut self, written: u64, old: u64) {
        let (used, _) = self.state.node.bundle_bytes();
        let change = i128::from(written) - i128::from(old) - i128::from(self.reserved);
        let _ = used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
            Some(u64::try_from((i128::from(u) + change).max(0)).unwrap_or(u64::MAX))
        });
        self.settled = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.settled {
            let (used, _) = self.state.node.bundle_bytes();
            let _ = used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(self.reserved))
            });
        }
    }
}

/// Deletes grant `id`'s bundle file (if any) under the bundle lock, forgets it in the cache,
/// and gives its room back to the store.
pub(crate) async fn remove_bundle(state: &AppState, id: &[u8; 16]) -> Result<(), ApiError> {
    let _guard = state.node.bundle_lock().lock().await;
    remove_bundle_locked(state, id).await
}

async fn remove_bundle_locked(state: &AppState, id: &[u8; 16]) -> Result<(), ApiError> {
    state.node.cache().forget_bundle(id);
    let path = bundle_path(state.node.data_dir(), id);
    let freed = file_footprint(&path).await;
    let durability = state.node.durability();
    let removed = tokio::task::spawn_blocking(move || remove_durably(&path, durability))
        .await
        .map_err(|_| ApiError::internal())?;
    removed?;
    let (used, _) = state.node.bundle_bytes();
    let _ = used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
        Some(u.saturating_sub(freed))
    });
    Ok(())
}

async fn delete_grant(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = grant_id(&id)?;
    let signature = signature_header(&headers)?;
    let _guard = state.node.bundle_lock().lock().await;
    let grant = state
        .node
        .db(|c| store::grant_by_id(c, &id.0))?
        .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))?;
    let key = grant_key_of(&grant.row)?;
    key.verify(&delete_message(&id), &signature).map_err(|_| {
        ApiError::forbidden("bad_signature", "the delete signature does not verify")
    })?;
    // Through the writer: it is the database's only writer.
    state
        .node
        .write(crate::node::OffLogWrite::delete_bundle(id.0))
        .await?;
    remove_bundle_locked(&state, &id.0).await?;
    tracing::info!("grant bundle erased");
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(crate) fn remove_durably(
    path: &std::path::Path,
    durability: store::Durability,
) -> Result<(), ApiError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::error::StoreError::from(e).into()),
    }
    if durability == store::Durability::Full {
        if let Some(dir) = path.parent() {
            store::sync_dir(dir)?;
        }
    }
    Ok(())
}

// ----- POST /v1/grants/<id>/fetch -----

/// The grant's documents, verified: from the cache, or parsed and verified from SQLite once.
fn verified_grant(state: &AppState, id: &GrantId) -> Result<Arc<VerifiedGrant>, ApiError> {
    if let Some(g) = state.node.cache().grant(&id.0) {
        return Ok(g);
    }
    let grant = state
        .node
        .db(|c| store::grant_by_id(c, &id.0))?
        .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))?;
    let verified = Arc::new(VerifiedGrant::from_row(&grant.row)?);
    state.node.cache().keep_grant(id.0, verified.clone());
    Ok(verified)
}

/// The grant's bundle bytes: from the cache, or read from disk once (under the bundle lock, so
/// a concurrent deletion cannot be undone by a stale fill). `None` if there is no bundle file.
async fn bundle_bytes(state: &AppState, id: &GrantId) -> Result<Option<Bytes>, ApiError> {
    if let Some(b) = state.node.cache().bundle(&id.0) {
        return Ok(Some(b));
    }
    let _guard = state.node.bundle_lock().lock().await;
    if let Some(b) = state.node.cache().bundle(&id.0) {
        return Ok(Some(b));
    }
    let path = bundle_path(state.node.data_dir(), &id.0);
    match tokio::fs::read(&path).await {
        Ok(b) => {
            let b = Bytes::from(b);
            state.node.cache().keep_bundle(id.0, b.clone());
            Ok(Some(b))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(crate::error::StoreError::from(e).into()),
    }
}

async fn fetch(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = grant_id(&id)?;
    content_length_over(&headers, MAX_ENTRY_BODY)?;
    let bytes = read_body(body, MAX_ENTRY_BODY).await?;
    let request = SignedFetchRequest::from_bytes(&bytes).map_err(|_| {
        ApiError::bad_request(
            "malformed_request",
            "the body is not a validly signed fetch request",
        )
    })?;
    let r = request.document();
    if r.grant_id != id {
        return Err(ApiError::bad_request(
            "grant_mismatch",
            "the request names another grant than the URL",
        ));
    }
    // The authoritative state, every fetch (the writer checks it again with the append).
    let grant_state = state
        .node
        .db(|c| store::fetch_state(c, &id.0, &r.nonce))?
        .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))?;
    let g = verified_grant(&state, &id)?;
    if r.provider_signing != g.provider_signing {
        return Err(ApiError::forbidden(
            "wrong_provider",
            "the request is not signed by the grant's provider",
        ));
    }
    if r.node != state.node.public_url() {
        return Err(ApiError::forbidden(
            "wrong_node",
            "the request is addressed to another node",
        ));
    }
    let now = state.clock.now();
    if r.requested_at.abs_diff(now) > FETCH_SKEW_SECS {
        return Err(ApiError::forbidden(
            "stale_request",
            "the request time is too far from the node's clock",
        ));
    }
    if grant_state.nonce_used {
        return Err(ApiError::forbidden(
            "replayed",
            "this request nonce was already used",
        ));
    }
    if now < g.not_before {
        return Err(ApiError::forbidden(
            "not_yet_valid",
            "the grant is not valid yet",
        ));
    }
    if now >= g.not_after {
        return Err(ApiError::forbidden("expired", "the grant has expired"));
    }
    if grant_state.revoked {
        return Err(ApiError::forbidden("revoked", "the grant was revoked"));
    }
    if grant_state.erased {
        state.node.cache().forget_bundle(&id.0);
        return Err(ApiError::forbidden("erased", "the grant was erased"));
    }
    if bundle_bytes(&state, &id).await?.is_none() {
        return Err(ApiError::not_found(
            "no_bundle",
            "no bundle was uploaded for this grant",
        ));
    }
    let key = state.node.key();
    // The sealed details are bound to this log, this event and this grant (AEAD associated
    // data), so another node cannot copy them into an event of its own.
    let binding = AccessBinding {
        origin: key.note.name().to_owned(),
        node_key: key.signing.public(),
        grant_key: g.grant_key,
        event_id: carekey_crypto::random_array::<16>(),
    };
    let sealed = g
        .sealer
        .seal(
            &AccessDetails {
                fetch_request: request.clone(),
                served_at: now,
            },
            &binding,
        )
        .map_err(|_| ApiError::internal())?;
    let event = AccessEvent {
        node_key: binding.node_key,
        grant_key: binding.grant_key,
        event_id: binding.event_id,
        sealed,
        logged_at: now,
    };
    let event = SignedAccessEvent::sign(event, &key.signing).map_err(|_| ApiError::internal())?;
    let appended = state
        .node
        .append(Submission::new(
            event.as_bytes().to_vec(),
            Effect::Access {
                grant_id: id.0,
                nonce: r.nonce,
            },
        ))
        .await?;
    let Some(bundle) = bundle_bytes(&state, &id).await? else {
        // Deleted between the check and now: the event stays logged, the bundle is gone.
        return Err(ApiError::forbidden("erased", "the grant was erased"));
    };
    tracing::info!(index = appended.index, "bundle served");
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        bundle,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&appended.index.to_string()) {
        response.headers_mut().insert(ACCESS_EVENT_HEADER, v);
    }
    Ok(response)
}
