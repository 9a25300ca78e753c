//! The SMART Health Link routes (protocol §7): `PUT`, `DELETE` and `POST /v1/links/<id>`
//! (register or update, end, the manifest request), `GET /v1/links/<id>/files/<n>?t=<token>`,
//! and the CORS preflights of the manifest and file endpoints ([`cors`] adds the headers to
//! every answer of those two endpoints, refusals included).

use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_model::shl::hosting::{LinkId, MAX_REGISTRATION_BYTES};
use carekey_model::shl::MAX_MANIFEST_REQUEST_BYTES;
use serde::Deserialize;

use super::{content_length, content_length_over, read_body, signature_header, AppState, NO_STORE};
use crate::error::ApiError;
use crate::service::link_open::LinkAnswer;

/// The prefix of every link route.
const LINKS: &str = "/v1/links/";

/// Link `text` from a `PUT` or `DELETE` path: a malformed id is a bad request.
fn owned_link_id(text: &str) -> Result<LinkId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::bad_request("bad_link_id", "a link id is 43 base64url characters"))
}

/// Link `text` from a viewer's path: a malformed id is a link the node does not have.
fn viewed_link_id(text: &str) -> Result<LinkId, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found("unknown_link", "no such link"))
}

/// `PUT /v1/links/<id>`: a `LinkRegistration`, `Carekey-Signature` by its link key.
/// `200 {"url": <manifest URL>}`.
pub(super) async fn put_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = owned_link_id(&id)?;
    content_length_over(&headers, MAX_REGISTRATION_BYTES)?;
    let signature = signature_header(&headers)?;
    let declared = content_length(&headers).unwrap_or(MAX_REGISTRATION_BYTES as u64);
    let permits = u32::try_from(declared.div_ceil(1024).max(1)).unwrap_or(u32::MAX);
    let _memory = state
        .uploads
        .acquire_many(permits)
        .await
        .map_err(|_| ApiError::unavailable())?;
    let bytes = read_body(body, MAX_REGISTRATION_BYTES).await?;
    let url = state.node.register_link(id, &bytes, &signature).await?;
    Ok(Json(serde_json::json!({ "url": url })).into_response())
}

/// `DELETE /v1/links/<id>`, signed by the link key. `204`.
pub(super) async fn end_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = owned_link_id(&id)?;
    let signature = signature_header(&headers)?;
    state.node.end_link(id, &signature).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/links/<id>`: the manifest request. `200` manifest, `401 {"remainingAttempts"}`.
pub(super) async fn manifest(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = viewed_link_id(&id)?;
    // An unknown, ended, expired or closed link is 404 whatever the body.
    state.node.live_link(&id, state.clock.now())?;
    content_length_over(&headers, MAX_MANIFEST_REQUEST_BYTES)?;
    let bytes = read_body(body, MAX_MANIFEST_REQUEST_BYTES).await?;
    let answer = state.node.open_link(id, &bytes, state.clock.now()).await?;
    let no_store = [(header::CACHE_CONTROL, NO_STORE)];
    Ok(match answer {
        LinkAnswer::Manifest(m) => (no_store, Json(m)).into_response(),
        LinkAnswer::WrongPasscode(r) => {
            (StatusCode::UNAUTHORIZED, no_store, Json(r)).into_response()
        }
    })
}

/// The query of a file URL.
#[derive(Debug, Deserialize)]
pub(super) struct FileQuery {
    t: Option<String>,
}

/// `GET /v1/links/<id>/files/<n>?t=<token>`: the JWE, `application/jose`.
pub(super) async fn file(
    State(state): State<AppState>,
    Path((id, n)): Path<(String, String)>,
    Query(query): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let gone = || ApiError::not_found("no_file", "no such file, or its location has expired");
    let id = viewed_link_id(&id)?;
    let n: u32 = n.parse().map_err(|_| gone())?;
    let token: [u8; 32] = query
        .t
        .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
        .and_then(|t| t.try_into().ok())
        .ok_or_else(gone)?;
    let file = state.node.link_file(&id, n, &token, state.clock.now())?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/jose"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        file.jwe,
    )
        .into_response())
}

/// `OPTIONS` on the manifest and file endpoints: a CORS preflight (the headers come from
/// [`cors`]).
pub(super) async fn preflight() -> StatusCode {
    StatusCode::NO_CONTENT
}

/// Adds the CORS headers to every answer of the manifest and file endpoints (`GET`, `POST`
/// and `OPTIONS` under `/v1/links/`), refusals, rate limits and timeouts included, so a
/// browser viewer sees the real answer. `PUT` and `DELETE` (the wallet's) get none.
pub(super) async fn cors(req: Request, next: Next) -> Response {
    let viewer = req.uri().path().starts_with(LINKS)
        && matches!(*req.method(), Method::GET | Method::POST | Method::OPTIONS);
    let mut response = next.run(req).await;
    if viewer {
        let h = response.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
    }
    response
}
