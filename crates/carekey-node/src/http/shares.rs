//! The backup key-share routes: `PUT`, `GET` and `DELETE /v1/backup-shares/<id>` (protocol
//! §3.5; the store itself is `crate::service::shares`).

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{read_body, signature_header, AppState};
use crate::error::ApiError;
use crate::service::shares::{ShareStored, SHARE_RECORD_LEN};

fn share_id(text: &str) -> Result<[u8; 16], ApiError> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(text, &mut id)
        .map_err(|_| ApiError::bad_request("bad_id", "a share id is 32 lowercase hex digits"))?;
    if hex::encode(id) != text {
        return Err(ApiError::bad_request(
            "bad_id",
            "a share id is 32 lowercase hex digits",
        ));
    }
    Ok(id)
}

/// `PUT /v1/backup-shares/<id>`: body share ‖ owner key (64 bytes), `Carekey-Signature` by the
/// owner. `201` when stored, `204` when the same share was there already.
pub(super) async fn put_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = share_id(&id)?;
    let signature = signature_header(&headers)?;
    let bytes = read_body(body, SHARE_RECORD_LEN).await?;
    let status = match state.node.store_share(id, &bytes, &signature).await? {
        ShareStored::Created => StatusCode::CREATED,
        ShareStored::Unchanged => StatusCode::NO_CONTENT,
    };
    Ok(status.into_response())
}

/// `GET /v1/backup-shares/<id>`: the 32-byte share; `404` once it was deleted (or never stored).
/// The id is the capability: it is written only inside the backup it belongs to.
pub(super) async fn get_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = share_id(&id)?;
    match state.node.share(id).await? {
        Some(share) => Ok((
            StatusCode::OK,
            [("content-type", "application/octet-stream")],
            share,
        )
            .into_response()),
        None => Err(ApiError::not_found(
            "no_share",
            "no such backup key share (never stored here, or deleted by an erasure)",
        )),
    }
}

/// `DELETE /v1/backup-shares/<id>`: `Carekey-Signature` by the owner. Idempotent.
pub(super) async fn delete_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = share_id(&id)?;
    let signature = signature_header(&headers)?;
    state.node.delete_share(id, &signature).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
