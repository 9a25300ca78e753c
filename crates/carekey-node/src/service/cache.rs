//! In-memory caches of the fetch path (`POST /v1/grants/<id>/fetch`).
//!
//! - **Verified grants.** A committed grant's documents never change (a grant id is committed
//!   once), so the node parses and verifies the stored `SignedGrant` and `SignedLedgerBinding`
//!   once per grant per run and keeps what a fetch reads from them, plus an [`AccessSealer`]
//!   (one X25519 agreement with the grant's event key per grant per run; each access event is
//!   then one XChaCha20-Poly1305 seal with a fresh nonce).
//! - **Grant bundles.** The bytes of `<data>/bundles/<id>`, filled on upload and on the first
//!   fetch, replaced on re-upload, dropped on deletion and when a fetch finds the grant erased.
//!
//! Neither cache decides anything stateful: revocation, erasure and nonce use are read from
//! SQLite on every fetch, and checked again by the writer atomically with the access event.
//! Both are bounded; when full they are emptied (cheap to refill, and a node serves far fewer
//! grants than the bounds at once).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use carekey_crypto::PublicKey;
use carekey_model::ledger::{AccessSealer, SignedLedgerBinding};
use carekey_model::SignedGrant;

use crate::error::ApiError;
use crate::storage::db::GrantRow;

/// Most grants kept verified in memory.
const MAX_GRANTS: usize = 65_536;
/// Most bundle bytes kept in memory.
const MAX_BUNDLE_BYTES: usize = 256 << 20;

/// What a fetch needs from a committed grant's documents, verified once.
#[derive(Debug)]
pub(crate) struct VerifiedGrant {
    /// The grant's provider identity key: fetch requests must be signed by it.
    pub(crate) provider_signing: PublicKey,
    /// Validity window (unix seconds).
    pub(crate) not_before: u64,
    pub(crate) not_after: u64,
    /// The binding's grant key (named by every access event).
    pub(crate) grant_key: PublicKey,
    /// Seals access details to the binding's event key.
    pub(crate) sealer: AccessSealer,
}

impl VerifiedGrant {
    /// Parses and verifies a stored grant row (grant and binding signatures, event key).
    pub(crate) fn from_row(row: &GrantRow) -> Result<Self, ApiError> {
        // Stored grants were verified on submission; a failure here is a corrupt store.
        let grant = SignedGrant::from_bytes(&row.grant_doc).map_err(|_| ApiError::internal())?;
        let binding =
            SignedLedgerBinding::from_bytes(&row.binding).map_err(|_| ApiError::internal())?;
        let g = grant.document();
        let b = binding.document();
        Ok(Self {
            provider_signing: g.provider_signing,
            not_before: g.not_before,
            not_after: g.not_after,
            grant_key: b.grant_key,
            sealer: AccessSealer::new(&b.event_key).map_err(|_| ApiError::internal())?,
        })
    }
}

/// The fetch path's caches (see the module doc).
#[derive(Debug)]
pub(crate) struct FetchCache {
    grants: Mutex<HashMap<[u8; 16], Arc<VerifiedGrant>>>,
    bundles: Mutex<Bundles>,
    max_grants: usize,
    /// Most bundle bytes kept; a bundle over an eighth of this is never kept.
    max_bundle_bytes: usize,
}

impl Default for FetchCache {
    fn default() -> Self {
        Self::with_limits(MAX_GRANTS, MAX_BUNDLE_BYTES)
    }
}

#[derive(Debug, Default)]
struct Bundles {
    map: HashMap<[u8; 16], Bytes>,
    bytes: usize,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

impl FetchCache {
    fn with_limits(max_grants: usize, max_bundle_bytes: usize) -> Self {
        Self {
            grants: Mutex::default(),
            bundles: Mutex::default(),
            max_grants,
            max_bundle_bytes,
        }
    }

    /// The verified grant `id`, if cached.
    pub(crate) fn grant(&self, id: &[u8; 16]) -> Option<Arc<VerifiedGrant>> {
        lock(&self.grants).get(id).cloned()
    }

    /// Keeps a verified grant.
    pub(crate) fn keep_grant(&self, id: [u8; 16], grant: Arc<VerifiedGrant>) {
        let mut grants = lock(&self.grants);
        if grants.len() >= self.max_grants {
            grants.clear();
        }
        grants.insert(id, grant);
    }

    /// The bundle of grant `id`, if cached.
    pub(crate) fn bundle(&self, id: &[u8; 16]) -> Option<Bytes> {
        lock(&self.bundles).map.get(id).cloned()
    }

    /// Keeps (or replaces) the bundle of grant `id`. Callers hold the node's bundle lock, so
    /// this never races an upload or a deletion.
    pub(crate) fn keep_bundle(&self, id: [u8; 16], bytes: Bytes) {
        let mut b = lock(&self.bundles);
        if let Some(old) = b.map.remove(&id) {
            b.bytes -= old.len();
        }
        if bytes.len() > self.max_bundle_bytes / 8 {
            return;
        }
        if b.bytes + bytes.len() > self.max_bundle_bytes {
            b.map.clear();
            b.bytes = 0;
        }
        b.bytes += bytes.len();
        b.map.insert(id, bytes);
    }

    /// Forgets the bundle of grant `id` (deleted or erased).
    pub(crate) fn forget_bundle(&self, id: &[u8; 16]) {
        let mut b = lock(&self.bundles);
        if let Some(old) = b.map.remove(id) {
            b.bytes -= old.len();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_bounded_and_replaced() {
        let cache = FetchCache::with_limits(4, 800);
        cache.keep_bundle([1; 16], Bytes::from(vec![1u8; 10]));
        cache.keep_bundle([1; 16], Bytes::from(vec![2u8; 20]));
        assert_eq!(cache.bundle(&[1; 16]).unwrap().len(), 20);
        assert_eq!(lock(&cache.bundles).bytes, 20);
        // Too large to keep: the old copy goes too.
        cache.keep_bundle([1; 16], Bytes::from(vec![0u8; 101]));
        assert!(cache.bundle(&[1; 16]).is_none());
        assert_eq!(lock(&cache.bundles).bytes, 0);
        for i in 0..=8u8 {
            cache.keep_bundle([i; 16], Bytes::from(vec![i; 100]));
            assert!(lock(&cache.bundles).bytes <= 800);
        }
        assert_eq!(cache.bundle(&[8; 16]).unwrap()[0], 8);
        cache.forget_bundle(&[8; 16]);
        assert!(cache.bundle(&[8; 16]).is_none());
        cache.forget_bundle(&[8; 16]);
    }
}
