//! The grant-bundle routes: `PUT /v1/grants/<id>/bundle`, `DELETE /v1/grants/<id>` and
//! `POST /v1/grants/<id>/fetch`.

use axum::body::{Body, HttpBody};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use carekey_model::ledger::SignedFetchRequest;

use super::{
    content_length, content_length_over, grant_id, read_body, signature_header, AppState,
    ACCESS_EVENT_HEADER, MAX_BUNDLE_BODY, MAX_ENTRY_BODY, NO_STORE,
};
use crate::error::ApiError;

/// `PUT /v1/grants/<id>/bundle`. Everything that needs no body is checked before a byte of
/// it is read: the declared length (required, within [`MAX_BUNDLE_BODY`] and the store's
/// room), the signature header, the grant (committed, not revoked, erased or expired). Bodies
/// in memory are bounded by [`super::MAX_UPLOAD_BYTES_IN_FLIGHT`].
pub(super) async fn put_bundle(
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
    let upload = state
        .node
        .begin_upload(id, declared, state.clock.now())
        .await?;
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
    upload.finish(bytes, &signature).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /v1/grants/<id>`, signed by the grant key.
pub(super) async fn delete_grant(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = grant_id(&id)?;
    let signature = signature_header(&headers)?;
    state.node.delete_grant(id, &signature).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1/grants/<id>/fetch`: a signed fetch request; the bundle, with the index of the
/// access event logged for it in [`ACCESS_EVENT_HEADER`].
pub(super) async fn fetch(
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
    if request.document().grant_id != id {
        return Err(ApiError::bad_request(
            "grant_mismatch",
            "the request names another grant than the URL",
        ));
    }
    let served = state.node.fetch(id, request, state.clock.now()).await?;
    let mut response = (
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, NO_STORE),
        ],
        served.bundle,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&served.access_event.to_string()) {
        response.headers_mut().insert(ACCESS_EVENT_HEADER, v);
    }
    Ok(response)
}
