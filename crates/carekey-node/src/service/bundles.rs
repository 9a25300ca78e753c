//! The off-log grant-bundle store (`<data>/bundles/`): uploads with their room reserved before
//! the body is read, deletions (by the grant key, or because the grant ended), the sweep of
//! bundles the node must no longer keep, and the verified grants and bundle bytes the fetch
//! path reads through the cache.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use carekey_crypto::{sha256, PublicKey, Signature};
use carekey_model::ledger::{delete_message, upload_message};
use carekey_model::GrantId;

use crate::error::{ApiError, StoreError};
use crate::service::cache::VerifiedGrant;
use crate::service::sequencer::OffLogWrite;
use crate::service::Node;
use crate::storage::db::{self, GrantRow, GrantState};
use crate::storage::files;

impl Node {
    /// The grant's documents, verified: from the cache, or parsed and verified from SQLite once.
    pub(super) fn verified_grant(&self, id: &GrantId) -> Result<Arc<VerifiedGrant>, ApiError> {
        if let Some(g) = self.cache().grant(&id.0) {
            return Ok(g);
        }
        let grant = self.grant(id)?;
        let verified = Arc::new(VerifiedGrant::from_row(&grant.row)?);
        self.cache().keep_grant(id.0, verified.clone());
        Ok(verified)
    }

    /// The grant's state in SQLite; `404 unknown_grant` if it was never committed.
    fn grant(&self, id: &GrantId) -> Result<GrantState, ApiError> {
        self.db(|c| db::grant_by_id(c, &id.0))?
            .ok_or_else(|| ApiError::not_found("unknown_grant", "no such grant"))
    }

    /// The grant's bundle bytes: from the cache, or read from disk once (under the bundle
    /// lock, so a concurrent deletion cannot be undone by a stale fill). `None` if there is no
    /// bundle file.
    pub(super) async fn bundle(&self, id: &GrantId) -> Result<Option<Bytes>, ApiError> {
        if let Some(b) = self.cache().bundle(&id.0) {
            return Ok(Some(b));
        }
        let _guard = self.bundle_lock().lock().await;
        if let Some(b) = self.cache().bundle(&id.0) {
            return Ok(Some(b));
        }
        let path = files::bundle_path(self.data_dir(), &id.0);
        match tokio::fs::read(&path).await {
            Ok(b) => {
                let b = Bytes::from(b);
                self.cache().keep_bundle(id.0, b.clone());
                Ok(Some(b))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::from(e).into()),
        }
    }

    /// The first half of `PUT /v1/grants/<id>/bundle`, before a byte of the body is read: the
    /// grant is committed, not revoked, erased or expired at `now`, and the store has room
    /// for `declared` bytes (taken now; given back if the upload does not finish).
    pub(crate) async fn begin_upload(
        &self,
        id: GrantId,
        declared: u64,
        now: u64,
    ) -> Result<Upload<'_>, ApiError> {
        let grant = self.grant(&id)?;
        refuse_ended(&grant, now)?;
        if now >= self.verified_grant(&id)?.not_after {
            return Err(ApiError::forbidden("expired", "the grant has expired"));
        }
        let path = files::bundle_path(self.data_dir(), &id.0);
        let reservation = Reservation::take(self, &path, declared).await?;
        Ok(Upload {
            node: self,
            id,
            grant: grant.row,
            path,
            reservation,
            now,
        })
    }

    /// Deletes grant `id`'s bundle file (if any) under the bundle lock, forgets it in the
    /// cache, and gives its room back to the store.
    pub(super) async fn remove_bundle(&self, id: &[u8; 16]) -> Result<(), ApiError> {
        let _guard = self.bundle_lock().lock().await;
        self.remove_bundle_locked(id).await
    }

    async fn remove_bundle_locked(&self, id: &[u8; 16]) -> Result<(), ApiError> {
        self.cache().forget_bundle(id);
        let path = files::bundle_path(self.data_dir(), id);
        let freed = file_footprint(&path).await;
        let durability = self.durability();
        tokio::task::spawn_blocking(move || files::remove_durably(&path, durability))
            .await
            .map_err(|_| ApiError::internal())??;
        let (used, _) = self.bundle_bytes();
        let _ = used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
            Some(u.saturating_sub(freed))
        });
        Ok(())
    }

    /// `DELETE /v1/grants/<id>`: `signature` by the grant key over [`delete_message`]; later
    /// fetches are refused as erased, and the file is removed.
    pub(crate) async fn delete_grant(
        &self,
        id: GrantId,
        signature: &Signature,
    ) -> Result<(), ApiError> {
        let _guard = self.bundle_lock().lock().await;
        let grant = self.grant(&id)?;
        let key = grant_key_of(&grant.row)?;
        key.verify(&delete_message(&id), signature).map_err(|_| {
            ApiError::forbidden("bad_signature", "the delete signature does not verify")
        })?;
        // Through the writer: it is the database's only writer.
        self.write(OffLogWrite::delete_bundle(id.0)).await?;
        self.remove_bundle_locked(&id.0).await?;
        tracing::info!("grant bundle erased");
        Ok(())
    }

    /// Deletes the bundle files the node must no longer keep: of grants expired at `now`,
    /// revoked, erased or deleted (a crash can leave a file behind after the entry that ended
    /// its grant), or unknown; and temporary files of interrupted uploads. Returns how many
    /// bundles it deleted.
    pub(crate) async fn sweep_bundles(&self, now: u64) -> Result<usize, ApiError> {
        let data = self.data_dir().to_owned();
        let names = tokio::task::spawn_blocking(move || files::bundle_file_names(&data))
            .await
            .map_err(|_| ApiError::internal())??;
        let mut deleted = 0;
        let mut leftovers = Vec::new();
        for name in names {
            let Some(id) = files::parse_grant_file(&name) else {
                if name.ends_with(".tmp") {
                    leftovers.push(name);
                }
                continue;
            };
            let keep = match self.db(|c| db::grant_by_id(c, &id))? {
                None => false,
                Some(g) if g.revoked(now) || g.erased => false,
                Some(_) => self.verified_grant(&GrantId(id))?.not_after > now,
            };
            if !keep {
                self.remove_bundle(&id).await?;
                deleted += 1;
            }
        }
        if !leftovers.is_empty() {
            // Uploads write their temporary file under the bundle lock: none is being written.
            let _guard = self.bundle_lock().lock().await;
            let dir = self.data_dir().join("bundles");
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

/// An upload whose grant was checked and whose room is reserved; [`Upload::finish`] stores
/// the body.
#[derive(Debug)]
pub(crate) struct Upload<'a> {
    node: &'a Node,
    id: GrantId,
    grant: GrantRow,
    path: PathBuf,
    reservation: Reservation<'a>,
    /// The node's clock when the upload began.
    now: u64,
}

impl Upload<'_> {
    /// Checks `signature` by the grant key over the body's hash ([`upload_message`]), checks
    /// again that the grant did not end while the body was on its way, and writes the bundle
    /// durably.
    pub(crate) async fn finish(self, bytes: Bytes, signature: &Signature) -> Result<(), ApiError> {
        let Upload {
            node,
            id,
            grant,
            path,
            reservation,
            now,
        } = self;
        let key = grant_key_of(&grant)?;
        key.verify(&upload_message(&id, &sha256(&bytes)), signature)
            .map_err(|_| {
                ApiError::forbidden("bad_signature", "the upload signature does not verify")
            })?;
        let _guard = node.bundle_lock().lock().await;
        // Ended while the body was on its way?
        refuse_ended(&node.grant(&id)?, now)?;
        let old = file_footprint(&path).await;
        let written = files::bundle_footprint(bytes.len() as u64);
        let durability = node.durability();
        let kept = bytes.clone();
        tokio::task::spawn_blocking(move || files::write_atomic(&path, &bytes, durability))
            .await
            .map_err(|_| ApiError::internal())??;
        reservation.settle(written, old);
        node.cache().keep_bundle(id.0, kept);
        tracing::info!("grant bundle stored");
        Ok(())
    }
}

fn grant_key_of(row: &GrantRow) -> Result<PublicKey, ApiError> {
    PublicKey::from_bytes(&row.grant_key).map_err(|_| ApiError::internal())
}

fn refuse_ended(grant: &GrantState, now: u64) -> Result<(), ApiError> {
    if grant.erased {
        return Err(ApiError::forbidden("erased", "the grant was erased"));
    }
    if grant.revoked(now) {
        return Err(ApiError::forbidden("revoked", "the grant was revoked"));
    }
    Ok(())
}

/// What the file at `path` counts against the bundle store (0 if there is none).
async fn file_footprint(path: &Path) -> u64 {
    tokio::fs::metadata(path)
        .await
        .map_or(0, |m| files::bundle_footprint(m.len()))
}

/// Room in the bundle store taken for an upload before its body is read; given back if the
/// upload fails, settled against the file it replaces if it succeeds.
#[derive(Debug)]
struct Reservation<'a> {
    node: &'a Node,
    /// What was added to the store's count for it.
    reserved: u64,
    settled: bool,
}

impl<'a> Reservation<'a> {
    async fn take(node: &'a Node, path: &Path, declared: u64) -> Result<Reservation<'a>, ApiError> {
        let (used, max) = node.bundle_bytes();
        let new = files::bundle_footprint(declared);
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
            node,
            reserved,
            settled: false,
        })
    }

    /// A file counting `written` was written, replacing one that counted `old`: the store's
    /// count changes by `written - old` in all, of which `reserved` was added already.
    fn settle(mut self, written: u64, old: u64) {
        let (used, _) = self.node.bundle_bytes();
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
            let (used, _) = self.node.bundle_bytes();
            let _ = used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| {
                Some(u.saturating_sub(self.reserved))
            });
        }
    }
}
