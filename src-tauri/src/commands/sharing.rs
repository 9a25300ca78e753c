//! Sharing: reviewing a request, granting, the patient's QR, grants, revocation.

use base64::Engine as _;
use tauri::State;

use carekey_wallet::{
    qr, GrantSummary, ProviderVerification, RequestInput, RequestReview, ShareChoice, WalletError,
};

use super::records::record_view;
use super::{blocking, on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{
    AppError, GrantView, MyQr, RequestView, RevokeResult, ShareResult, VerificationState,
    VerificationView,
};

/// The provider check as the UI shows it.
pub(super) fn verification_view(provider: ProviderVerification) -> VerificationView {
    match provider {
        ProviderVerification::Verified { directory } => VerificationView {
            state: VerificationState::Verified,
            directory: Some(directory),
            listed_name: None,
        },
        ProviderVerification::NameMismatch {
            listed_name,
            directory,
        } => VerificationView {
            state: VerificationState::NameMismatch,
            directory: Some(directory),
            listed_name: Some(listed_name),
        },
        ProviderVerification::Unlisted => VerificationView {
            state: VerificationState::Unlisted,
            directory: None,
            listed_name: None,
        },
        ProviderVerification::NoTrustedDirectory => VerificationView {
            state: VerificationState::NoDirectory,
            directory: None,
            listed_name: None,
        },
    }
}

/// A grant as the UI shows it.
pub(super) fn grant_view(g: GrantSummary) -> GrantView {
    GrantView {
        id: g.id.to_string(),
        provider_name: g.provider_name,
        provider_key: g.provider_key,
        purpose: g.purpose,
        not_before: g.not_before,
        not_after: g.not_after,
        status: g.status.into(),
        ends_as: g.ends_as.map(Into::into),
        ends_early: g.ends_early,
        waiting_for: g.waiting_for,
        records: g.records.iter().map(ToString::to_string).collect(),
        resource_types: g.resource_types,
    }
}

fn request_view(review: RequestReview) -> RequestView {
    let r = review.request.document();
    let verification = verification_view(review.provider);
    RequestView {
        uri: review.request.to_uri(),
        provider_name: r.provider_name.clone(),
        provider_key: r.provider_signing.to_string(),
        provider_code: carekey_wallet::provider_code(&r.provider_signing),
        verification,
        purpose: r.purpose.clone(),
        resource_types: r.scope.resource_types.clone(),
        record_ids: r.scope.record_ids.iter().map(|id| id.to_string()).collect(),
        duration_secs: r.duration_secs,
        expires_at: r.expires_at,
        unpinned_nodes: review.unpinned_nodes,
        matching_records: review
            .matching_records
            .into_iter()
            .map(record_view)
            .collect(),
    }
}

/// A QR image from the UI: base64, optionally as a `data:` URL.
pub(super) fn decode_image(text: &str) -> Result<Vec<u8>> {
    let b64 = match text.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => text,
    };
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| AppError::bad_input("the QR image is not base64"))
}

#[tauri::command]
pub(crate) async fn review_request(
    core: State<'_, Core>,
    uri: Option<String>,
    image_base64: Option<String>,
) -> Result<RequestView> {
    let now = now()?;
    let uri = match (uri, image_base64) {
        (Some(uri), _) => uri,
        // Decoded here so any unreadable image is `bad_qr`, whatever its format.
        (None, Some(image)) => qr::decode(&decode_image(&image)?).map_err(WalletError::from)?,
        (None, None) => return Err(AppError::bad_input("give a request link or a QR image")),
    };
    on_wallet(&core, move |w| {
        w.sharing()
            .review_request(RequestInput::Uri(&uri), now)
            .map(request_view)
    })
    .await
}

#[tauri::command]
pub(crate) async fn share(
    core: State<'_, Core>,
    uri: String,
    record_ids: Vec<String>,
    resource_types: Vec<String>,
    duration_secs: Option<u64>,
    confirm_nodes: bool,
) -> Result<ShareResult> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let result = core.with_wallet(|w| {
            let review = w.sharing().review_request(RequestInput::Uri(&uri), now)?;
            let choice = ShareChoice {
                record_ids: record_ids
                    .iter()
                    .map(|id| w.records().find(id))
                    .collect::<std::result::Result<_, _>>()?,
                resource_types,
                duration_secs,
                confirm_nodes,
            };
            let outcome = w.sharing().share(&review, &choice, now)?;
            let g = outcome.grant.document();
            Ok(ShareResult {
                grant_id: g.grant_id.to_string(),
                provider_name: g.provider_name.clone(),
                not_after: g.not_after,
                records: u32::try_from(outcome.records.len()).unwrap_or(u32::MAX),
            })
        })?;
        // Published with the wallet free: a slow node holds up this answer, never another
        // command.
        core.publish(now);
        Ok(result)
    })
    .await
}

#[tauri::command]
pub(crate) async fn my_qr(core: State<'_, Core>) -> Result<MyQr> {
    on_wallet(&core, |w| {
        let uri = w.public_uri();
        let svg = qr::svg(&uri)?;
        Ok(MyQr { uri, svg })
    })
    .await
}

#[tauri::command]
pub(crate) async fn list_grants(core: State<'_, Core>) -> Result<Vec<GrantView>> {
    let now = now()?;
    on_wallet(&core, move |w| {
        Ok(w.sharing().list(now).into_iter().map(grant_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn revoke(core: State<'_, Core>, grant_id: String) -> Result<RevokeResult> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let outcome = core.with_wallet(|w| {
            let id = w.sharing().find(&grant_id)?;
            w.sharing().revoke(&id, now)
        })?;
        // Committed; the nodes hear of it with the wallet lock free.
        core.publish(now);
        let waiting_for = core
            .if_unlocked(|w| w.sharing().waiting_for(&outcome.grant_id))
            .unwrap_or(outcome.waiting_for);
        Ok(RevokeResult {
            rekeyed: u32::try_from(outcome.rekeyed.len()).unwrap_or(u32::MAX),
            waiting_for,
            backup_problems: outcome.backup_problems,
        })
    })
    .await
}
