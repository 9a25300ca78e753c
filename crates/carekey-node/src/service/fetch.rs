//! Serving a grant bundle to its provider (`POST /v1/grants/<id>/fetch` below the HTTP layer):
//! the request is checked against the grant and the node clock, an access event with the
//! sealed request is appended, and only then is the bundle served.

use axum::body::Bytes;
use carekey_model::ledger::{
    AccessBinding, AccessDetails, AccessEvent, SignedAccessEvent, SignedFetchRequest,
};
use carekey_model::GrantId;

use crate::error::ApiError;
use crate::service::submission::{Effect, Submission};
use crate::service::Node;
use crate::storage::db;

/// How far a fetch request's `requested_at` may be from the node clock, in seconds.
pub const FETCH_SKEW_SECS: u64 = 120;

/// A bundle served, with the index of the access event logged for it.
#[derive(Debug)]
pub(crate) struct Served {
    pub(crate) bundle: Bytes,
    pub(crate) access_event: u64,
}

impl Node {
    /// Serves grant `id`'s bundle for `request` (already checked to name `id`) at `now`.
    pub(crate) async fn fetch(
        &self,
        id: GrantId,
        request: SignedFetchRequest,
        now: u64,
    ) -> Result<Served, ApiError> {
        let r = request.document();
        // The authoritative state, every fetch (the writer checks it again with the append).
        let grant_state = self
            .db(|c| db::fetch_state(c, &id.0, &r.nonce))?
            .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))?;
        let g = self.verified_grant(&id)?;
        if r.provider_signing != g.provider_signing {
            return Err(ApiError::forbidden(
                "wrong_provider",
                "the request is not signed by the grant's provider",
            ));
        }
        if r.node != self.public_url() {
            return Err(ApiError::forbidden(
                "wrong_node",
                "the request is addressed to another node",
            ));
        }
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
        if grant_state.revoked_from.is_some_and(|t| t <= now) {
            return Err(ApiError::forbidden("revoked", "the grant was revoked"));
        }
        if grant_state.erased {
            self.cache().forget_bundle(&id.0);
            return Err(ApiError::forbidden("erased", "the grant was erased"));
        }
        if self.bundle(&id).await?.is_none() {
            return Err(ApiError::not_found(
                "no_bundle",
                "no bundle was uploaded for this grant",
            ));
        }
        let key = self.key();
        // The sealed details are bound to this log, this event and this grant (AEAD associated
        // data), so another node cannot copy them into an event of its own.
        let binding = AccessBinding {
            origin: key.note.name().to_owned(),
            node_key: key.signing.public(),
            grant_key: g.grant_key,
            event_id: carekey_crypto::random_array::<16>(),
        };
        let nonce = r.nonce;
        let sealed = g
            .sealer
            .seal(
                &AccessDetails {
                    fetch_request: request,
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
        let event =
            SignedAccessEvent::sign(event, &key.signing).map_err(|_| ApiError::internal())?;
        let appended = self
            .append(Submission::new(
                event.as_bytes().to_vec(),
                Effect::Access {
                    grant_id: id.0,
                    nonce,
                    at: now,
                },
            ))
            .await?;
        let Some(bundle) = self.bundle(&id).await? else {
            // Deleted between the check and now: the event stays logged, the bundle is gone.
            return Err(ApiError::forbidden("erased", "the grant was erased"));
        };
        tracing::info!(index = appended.index, "bundle served");
        Ok(Served {
            bundle,
            access_event: appended.index,
        })
    }
}
