//! The backup key-share store: 32-byte shares that patients' backups are sealed with, kept by
//! id in `<data>/backup-shares/` (protocol §3.5). A share alone opens nothing (a backup also
//! needs the patient's recovery words); deleting it on erasure is what makes a backup made
//! before the erasure unreadable. Each share names an owner key (a per-wallet random key,
//! not the patient's identity) that must sign its storing and its deletion.

use std::path::PathBuf;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use carekey_crypto::{PublicKey, Signature};
use carekey_model::ledger::{share_delete_message, share_put_message};

use crate::error::ApiError;
use crate::service::Node;
use crate::storage::files;

/// A stored share: the share, then its owner's Ed25519 public key.
pub(crate) const SHARE_RECORD_LEN: usize = 64;

/// What storing a share did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ShareStored {
    /// The share is new.
    Created,
    /// The same share was already stored under this id.
    Unchanged,
}

async fn stored(path: PathBuf) -> Result<Option<Vec<u8>>, ApiError> {
    tokio::task::spawn_blocking(move || match std::fs::read(&path) {
        Ok(bytes) if bytes.len() == SHARE_RECORD_LEN => Ok(Some(bytes)),
        Ok(_) => Err(ApiError::internal()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(_) => Err(ApiError::internal()),
    })
    .await
    .map_err(|_| ApiError::internal())?
}

impl Node {
    /// Stores `record` (share ‖ owner key, [`SHARE_RECORD_LEN`] bytes) under `id`, with
    /// `signature` by the owner over [`share_put_message`]. Idempotent; another share under a
    /// taken id is `409`.
    pub(crate) async fn store_share(
        &self,
        id: [u8; 16],
        record: &[u8],
        signature: &Signature,
    ) -> Result<ShareStored, ApiError> {
        if record.len() != SHARE_RECORD_LEN {
            return Err(ApiError::bad_request(
                "bad_share",
                "the body is a 32-byte share followed by its owner's 32-byte Ed25519 key",
            ));
        }
        let mut share = [0u8; 32];
        share.copy_from_slice(&record[..32]);
        let mut owner = [0u8; 32];
        owner.copy_from_slice(&record[32..]);
        let owner = PublicKey::from_bytes(&owner).map_err(|_| {
            ApiError::bad_request("bad_share", "the owner key is not an Ed25519 key")
        })?;
        owner
            .verify(&share_put_message(&id, &share), signature)
            .map_err(|_| {
                ApiError::forbidden("bad_signature", "the share signature does not verify")
            })?;
        let _guard = self.bundle_lock().lock().await;
        let path = files::share_path(self.data_dir(), &id);
        match stored(path.clone()).await? {
            Some(existing) if existing[..] == record[..] => return Ok(ShareStored::Unchanged),
            Some(_) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "share_exists",
                    "another share is stored under this id",
                ))
            }
            None => {}
        }
        let (count, max) = self.share_count();
        if count.load(Ordering::Relaxed) >= max {
            return Err(ApiError::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "share_store_full",
                "this node stores no more backup key shares; use another node",
            ));
        }
        let durability = self.durability();
        let bytes = record.to_vec();
        tokio::task::spawn_blocking(move || files::write_atomic(&path, &bytes, durability))
            .await
            .map_err(|_| ApiError::internal())??;
        count.fetch_add(1, Ordering::Relaxed);
        tracing::info!("backup key share stored");
        Ok(ShareStored::Created)
    }

    /// The 32-byte share stored under `id`, if any.
    pub(crate) async fn share(&self, id: [u8; 16]) -> Result<Option<Vec<u8>>, ApiError> {
        Ok(stored(files::share_path(self.data_dir(), &id))
            .await?
            .map(|mut record| {
                record.truncate(32);
                record
            }))
    }

    /// Deletes the share under `id`, with `signature` by its owner over
    /// [`share_delete_message`]; the file is removed and its directory fsynced. Idempotent.
    pub(crate) async fn delete_share(
        &self,
        id: [u8; 16],
        signature: &Signature,
    ) -> Result<(), ApiError> {
        let _guard = self.bundle_lock().lock().await;
        let path = files::share_path(self.data_dir(), &id);
        let Some(bytes) = stored(path.clone()).await? else {
            return Ok(());
        };
        let mut owner = [0u8; 32];
        owner.copy_from_slice(&bytes[32..]);
        let owner = PublicKey::from_bytes(&owner).map_err(|_| ApiError::internal())?;
        owner
            .verify(&share_delete_message(&id), signature)
            .map_err(|_| {
                ApiError::forbidden("bad_signature", "the delete signature does not verify")
            })?;
        let durability = self.durability();
        tokio::task::spawn_blocking(move || files::remove_durably(&path, durability))
            .await
            .map_err(|_| ApiError::internal())??;
        let (count, _) = self.share_count();
        let _ = count.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        tracing::info!("backup key share deleted");
        Ok(())
    }
}
