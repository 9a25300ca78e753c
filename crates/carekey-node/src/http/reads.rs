//! The reads: `GET /checkpoint` and `GET /tile/...` (C2SP tlog-tiles), `GET /v1/health`,
//! `GET /v1/openapi.json`.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use carekey_ledger::tiles::TileId;

use super::{AppState, IMMUTABLE, NO_STORE};
use crate::error::ApiError;
use crate::service::WriterStatus;

pub(super) async fn checkpoint(State(state): State<AppState>) -> Response {
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

pub(super) async fn tile(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let id = TileId::parse(&format!("tile/{path}"))
        .map_err(|_| ApiError::not_found("no_tile", "not a tile path"))?;
    let bytes = state.node.tile(&id).await?;
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

pub(super) async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::OPENAPI_JSON,
    )
        .into_response()
}

/// `GET /v1/health`: the writer's state and the bundle store's fill; `503` once the writer
/// failed for good.
pub(super) async fn health(State(state): State<AppState>) -> Response {
    let h = state.node.health();
    let writer = match h.writer {
        WriterStatus::Running => "running",
        WriterStatus::Restarting => "restarting",
        WriterStatus::Failed => "failed",
    };
    let status = if h.writer == WriterStatus::Failed {
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
