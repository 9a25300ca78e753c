//! `POST /v1/entries`: a JSON body with the entry (and, for a grant commitment, the grant,
//! its binding and the salt), each base64url.

use std::net::{IpAddr, Ipv4Addr};

use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use super::{b64, content_length_over, read_body, AppState, ClientAddr, MAX_ENTRY_BODY};
use crate::error::ApiError;
use crate::service::policy::EntrySubmission;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryBody {
    entry: String,
    grant: Option<String>,
    binding: Option<String>,
    salt: Option<String>,
}

pub(super) async fn post_entry(
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
    let source = client.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0 .0);
    let appended = state
        .node
        .submit_entry(submission, source, &state.erasures, state.clock.now())
        .await?;
    Ok(
        Json(serde_json::json!({ "index": appended.index, "receipt": appended.receipt }))
            .into_response(),
    )
}
