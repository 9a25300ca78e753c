//! Ending a grant — by revocation, or as part of an erasure: one state write that re-keys what
//! it shared, sets its status and queues its end on every node it was published on (and the
//! re-issued bundles of other grants), then the backups are re-written. Shortening a grant
//! queues its end now, effective later, and ends it here at the first sync after that.

use std::collections::BTreeSet;
use std::path::PathBuf;

use carekey_model::{
    GrantId, RecordId, Revocation, Signed, SignedGrant, SignedRevocation, SignedTombstone,
};

use super::bundles::grant_bundle;
use super::grants::{GrantState, RevokeOutcome, ShareError, ShortenOutcome};
use super::session::PatientSession;
use super::{publish, records};
use crate::state::{ByteDoc, GrantStatus};
use crate::{crash, WalletError};

/// Grant bundles re-issued because records they cover were re-keyed.
type ReissuedBundles = Vec<(GrantId, Vec<u8>)>;

/// Ends a grant as `status` (revoked or erased) in one state write, then re-writes backups.
pub(super) fn end_grant(
    s: &mut PatientSession,
    grant_id: &GrantId,
    status: GrantStatus,
    tombstone: Option<&SignedTombstone>,
    now: u64,
) -> Result<RevokeOutcome, WalletError> {
    let entry = s.grant_entry(grant_id)?.clone();
    let grant = SignedGrant::from_bytes(&entry.signed.0)?;
    let revoked_at = match status {
        GrantStatus::Revoked { at } | GrantStatus::Erased { at } => at,
        GrantStatus::Active => now,
    };
    let revocation = match (&entry.status, &entry.revocation) {
        (GrantStatus::Active, _) => Signed::sign(
            Revocation {
                grant_id: *grant_id,
                grant_hash: grant.hash(),
                patient_signing: s.public_key(),
                revoked_at,
            },
            &s.signing_key(),
        )?,
        // Erasing a revoked grant keeps its original revocation.
        (GrantStatus::Revoked { .. }, Some(r)) if matches!(status, GrantStatus::Erased { .. }) => {
            SignedRevocation::from_bytes(&r.0)?
        }
        (current, _) => {
            return Err(ShareError::GrantNotActive {
                grant: *grant_id,
                status: GrantState::of_ended(current),
            }
            .into())
        }
    };
    let rekeyed: Vec<RecordId> = entry
        .records
        .iter()
        .filter(|id| s.state.records.contains_key(id))
        .copied()
        .collect();
    // Everything below changes the wallet in memory only, up to the one state write; a
    // failure before it puts back what is on disk, so nothing half-done is ever shown.
    let prepared = prepare_end_of_grant(s, grant_id, &rekeyed, status, &revocation, tombstone, now);
    let (old_versions, updated_bundles) = s.commit_or_reload(prepared, "grant-end.prepared")?;
    crash::point("grant-end.committed");
    s.remove_files(&old_versions);
    let (_, backup_problems) = super::backups::rewrite_or_mark(s, now);
    Ok(RevokeOutcome {
        grant_id: *grant_id,
        revocation,
        rekeyed,
        updated_bundles,
        waiting_for: waiting_for(s, grant_id),
        backup_problems,
    })
}

/// The in-memory half of ending a grant: re-keys its records (new files, old ones returned
/// for deletion after the commit), sets its status, queues its end on every node it was
/// published on and the re-issued bundles of the other grants that share re-keyed records.
fn prepare_end_of_grant(
    s: &mut PatientSession,
    grant_id: &GrantId,
    rekeyed: &[RecordId],
    status: GrantStatus,
    revocation: &SignedRevocation,
    tombstone: Option<&SignedTombstone>,
    now: u64,
) -> Result<(Vec<PathBuf>, ReissuedBundles), WalletError> {
    let old_versions = records::rekey(s, rekeyed)?;
    if let Some(e) = s.state.grants.get_mut(grant_id) {
        e.status = status;
        e.revocation = Some(ByteDoc(revocation.as_bytes().to_vec()));
    }
    publish::end_of_grant(s, grant_id, tombstone, now)?;
    let affected: BTreeSet<RecordId> = rekeyed.iter().copied().collect();
    let others: Vec<GrantId> = s
        .state
        .grants
        .iter()
        .filter(|(id, e)| {
            *id != grant_id
                && e.status == GrantStatus::Active
                && e.records.iter().any(|r| affected.contains(r))
        })
        .map(|(id, _)| *id)
        .collect();
    let mut updated_bundles = Vec::new();
    for other in others {
        updated_bundles.push((other, grant_bundle(s, &other)?));
        // Providers fetching through a node get the re-keyed versions too.
        publish::bundle(s, &other, now)?;
    }
    Ok((old_versions, updated_bundles))
}

/// Shortens an active grant to end at `ends_at`, in one state write, then re-writes backups.
pub(super) fn shorten(
    s: &mut PatientSession,
    grant_id: &GrantId,
    ends_at: u64,
    now: u64,
) -> Result<ShortenOutcome, WalletError> {
    let entry = s.grant_entry(grant_id)?.clone();
    let grant = SignedGrant::from_bytes(&entry.signed.0)?;
    if entry.status != GrantStatus::Active || now >= grant.document().not_after {
        let status = match entry.status {
            GrantStatus::Active => GrantState::Expired,
            ref ended => GrantState::of_ended(ended),
        };
        return Err(ShareError::GrantNotActive {
            grant: *grant_id,
            status,
        }
        .into());
    }
    if entry.ends_early.is_some() {
        return Err(ShareError::AlreadyShortened.into());
    }
    if ends_at <= now || ends_at >= grant.document().not_after {
        return Err(ShareError::BadEnd.into());
    }
    let prepared = (|| {
        publish::shortening(s, grant_id, ends_at, now)?;
        if let Some(e) = s.state.grants.get_mut(grant_id) {
            e.ends_early = Some(ends_at);
        }
        Ok(())
    })();
    // One state write (its own crash points are the state's): before it nothing changed,
    // after it the new end is a durable intent the ledger agent sends until acknowledged.
    let committed = prepared.and_then(|()| s.save_rotating());
    if committed.is_err() {
        s.reload_after_failure();
    }
    committed?;
    let (_, backup_problems) = super::backups::rewrite_or_mark(s, now);
    Ok(ShortenOutcome {
        grant_id: *grant_id,
        ends_at,
        waiting_for: waiting_for(s, grant_id),
        backup_problems,
    })
}

/// Ends (as revoked at their new end) the shortened grants whose new end has come.
pub(super) fn end_shortened(s: &mut PatientSession, now: u64) -> Result<Vec<GrantId>, WalletError> {
    let due: Vec<(GrantId, u64)> = s
        .state
        .grants
        .iter()
        .filter(|(_, e)| e.status == GrantStatus::Active)
        .filter_map(|(id, e)| e.ends_early.filter(|t| *t <= now).map(|t| (*id, t)))
        .collect();
    for (id, at) in &due {
        end_grant(s, id, GrantStatus::Revoked { at: *at }, None, now)?;
    }
    Ok(due.into_iter().map(|(id, _)| id).collect())
}

/// The nodes that have not yet acknowledged the end of a grant: its revocation entry (or the
/// one that shortened it) or the deletion of its bundle is still queued for them.
pub(super) fn waiting_for(s: &PatientSession, grant_id: &GrantId) -> Vec<String> {
    let ledger = s.state.grants.get(grant_id).and_then(|g| g.ledger.as_ref());
    let revocation = ledger.and_then(|l| l.pending_revocation.as_ref());
    let shortening = ledger.and_then(|l| l.shortening.as_ref());
    let mut nodes: Vec<String> = s
        .state
        .outbox
        .items
        .iter()
        .filter(|i| match &i.op {
            carekey_sync::OutboxOp::Delete { grant_id: g, .. } => g == grant_id,
            carekey_sync::OutboxOp::Submit { entry, .. } => {
                revocation.is_some_and(|r| r.0 == *entry)
                    || shortening.is_some_and(|r| r.0 == *entry)
            }
            _ => false,
        })
        .map(|i| i.node.clone())
        .collect();
    nodes.sort();
    nodes.dedup();
    nodes
}
