//! The backup key-share store: 32-byte shares that patients' backups are sealed with, kept by
//! id in `<data>/backup-shares/` (protocol §3.5). A share alone opens nothing (a backup also
//! needs the patient's recovery words); deleting it on erasure is what makes a backup made
//! before the erasure unreadable. Each share names an owner key (a per-wallet random key,
//! not the patient's identity) that must sign its storing and its deletion.

use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use carekey_crypto::PublicKey;
use carekey_model::ledger::{share_delete_message, share_put_message};

use crate::api::{read_body, remove_durably, signature_header, AppState};
use crate::error::{ApiError, StoreError};
use crate::store;

/// A stored share: the share, then its owner's Ed25519 public key.
const RECORD_LEN: usize = 64;

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

fn share_path(data: &FsPath, id: &[u8; 16]) -> PathBuf {
    data.join("backup-shares").join(hex::encode(id))
}

/// How many shares `<data>/backup-shares/` holds (files named by a share id; the temporary
/// files of an interrupted store are not shares).
pub(crate) fn count(data: &FsPath) -> Result<u64, StoreError> {
    let dir = match std::fs::read_dir(data.join("backup-shares")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut n = 0;
    for entry in dir {
        let name = entry?.file_name();
        if name.to_str().is_some_and(|n| share_id(n).is_ok()) {
            n += 1;
        }
    }
    Ok(n)
}

async fn stored(path: PathBuf) -> Result<Option<Vec<u8>>, ApiError> {
    tokio::task::spawn_blocking(move || match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == RECORD_LEN => Ok(Some(bytes)),
        Ok(_) => Err(ApiError::internal()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => Err(ApiError::internal()),
    })
    .await
    .map_err(|_| ApiError::internal())?
}

/// `PUT /v1/backup-shares/<id>`: body share ‖ owner key (64 bytes), `Carekey-Signature` by the
/// owner over [`share_put_message`]. Idempotent; another share under a taken id is `409`.
pub(crate) async fn put_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let id = share_id(&id)?;
    let signature = signature_header(&headers)?;
    let bytes = read_body(body, RECORD_LEN).await?;
    if bytes.len() != RECORD_LEN {
        return Err(ApiError::bad_request(
            "bad_share",
            "the body is a 32-byte share followed by its owner's 32-byte Ed25519 key",
        ));
    }
    let mut share = [0u8; 32];
    share.copy_from_slice(&bytes[..32]);
    let mut owner = [0u8; 32];
    owner.copy_from_slice(&bytes[32..]);
    let owner = PublicKey::from_bytes(&owner)
        .map_err(|_| ApiError::bad_request("bad_share", "the owner key is not an Ed25519 key"))?;
    owner
        .verify(&share_put_message(&id, &share), &signature)
        .map_err(|_| ApiError::forbidden("bad_signature", "the share signature does not verify"))?;
    let _guard = state.node.bundle_lock().lock().await;
    let path = share_path(state.node.data_dir(), &id);
    match stored(path.clone()).await? {
        Some(existing) if existing[..] == bytes[..] => {
            return Ok(StatusCode::NO_CONTENT.into_response())
        }
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "share_exists",
                "another share is stored under this id",
            ))
        }
        None => {}
    }
    let (count, max) = state.node.share_count();
    if count.load(Ordering::Relaxed) >= max {
        return Err(ApiError::new(
            StatusCode::INSUFFICIENT_STORAGE,
            "share_store_full",
            "this node stores no more backup key shares; use another node",
        ));
    }
    let durability = state.node.durability();
    tokio::task::spawn_blocking(move || store::write_atomic(&path, &bytes, durability))
        .await
        .map_err(|_| ApiError::internal())??;
    count.fetch_add(1, Ordering::Relaxed);
    tracing::info!("backup key share stored");
    Ok(StatusCode::CREATED.into_response())
}

/// `GET /v1/backup-shares/<id>`: the 32-byte share; `404` once it was deleted (or never stored).
/// The id is the capability: it is written only inside the backup it belongs to.
pub(crate) async fn get_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = share_id(&id)?;
    match stored(share_path(state.node.data_dir(), &id)).await? {
        Some(bytes) => Ok((
            StatusCode::OK,
            [("content-type", "application/octet-stream")],
            bytes[..32].to_vec(),
        )
            .into_response()),
        None => Err(ApiError::not_found(
            "no_share",
            "no such backup key share (never stored here, or deleted by an erasure)",
        )),
    }
}

/// `DELETE /v1/backup-shares/<id>`: `Carekey-Signature` by the owner over
/// [`share_delete_message`]; the file is removed and its directory fsynced. Idempotent.
pub(crate) async fn delete_share(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let id = share_id(&id)?;
    let signature = signature_header(&headers)?;
    let _guard = state.node.bundle_lock().lock().await;
    let path = share_path(state.node.data_dir(), &id);
    let Some(bytes) = stored(path.clone()).await? else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let mut owner = [0u8; 32];
    owner.copy_from_slice(&bytes[32..]);
    let owner = PublicKey::from_bytes(&owner).map_err(|_| ApiError::internal())?;
    owner
        .verify(&share_delete_message(&id), &signature)
        .map_err(|_| {
            ApiError::forbidden("bad_signature", "the delete signature does not verify")
        })?;
    let durability = state.node.durability();
    tokio::task::spawn_blocking(move || remove_durably(&path, durability))
        .await
        .map_err(|_| ApiError::internal())??;
    let (count, _) = state.node.share_count();
    let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
    tracing::info!("backup key share deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}
