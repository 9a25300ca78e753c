//! What the wallet publishes, queued in the outbox: a grant's commitment and bundle, a
//! re-issued bundle, the end of a grant, an erasure entry. Only queueing happens here (inside
//! the caller's state write); the ledger agent sends.

use carekey_crypto::{sha256, AgreementSecret, SigningKey};
use carekey_model::ledger::{
    delete_message, grant_commitment, tombstone_commitment, upload_message, ErasureEntry,
    GrantCommitment, LedgerBinding, RevocationEntry,
};
use carekey_model::{GrantId, Signed, SignedTombstone};
use carekey_sync::OutboxOp;

use super::session::PatientSession;
use super::{bundles, nodes};
use crate::state::{ByteDoc, ErasurePublication, GrantLedger, Publication, SecretBytes};
use crate::WalletError;

/// Prepares the per-grant pseudonyms and the commitment entry for a new grant and queues
/// its publication (commitment, then the off-log bundle) on the grant's pinned nodes.
pub(super) fn grant(
    s: &mut PatientSession,
    grant_id: &GrantId,
    now: u64,
) -> Result<(), WalletError> {
    let grant = s.signed_grant(grant_id)?;
    let logs = nodes::grant_logs(s, &grant);
    if logs.is_empty() {
        return Ok(());
    }
    let grant_key = SigningKey::generate();
    let event_key = AgreementSecret::generate();
    let salt: [u8; 32] = carekey_crypto::random_array();
    let binding = Signed::sign(
        LedgerBinding {
            patient_signing: s.public_key(),
            grant_hash: grant.hash(),
            grant_key: grant_key.public(),
            event_key: event_key.public(),
        },
        &s.signing_key(),
    )?;
    let entry = Signed::sign(
        GrantCommitment {
            grant_key: grant_key.public(),
            commitment: grant_commitment(&salt, &grant),
            committed_at: now,
        },
        &grant_key,
    )?;
    let bundle = bundles::grant_bundle(s, grant_id)?;
    let upload_sig = grant_key.sign(&upload_message(grant_id, &sha256(&bundle)));
    for url in &logs {
        s.state.outbox.push(
            url,
            OutboxOp::Submit {
                entry: entry.as_bytes().to_vec(),
                grant: Some(grant.as_bytes().to_vec()),
                binding: Some(binding.as_bytes().to_vec()),
                salt: Some(salt),
            },
            now,
        );
        s.state.outbox.push(
            url,
            OutboxOp::Upload {
                grant_id: *grant_id,
                bundle: bundle.clone(),
                signature: upload_sig.to_bytes().to_vec(),
            },
            now,
        );
    }
    if let Some(g) = s.state.grants.get_mut(grant_id) {
        g.ledger = Some(GrantLedger {
            grant_key: SecretBytes(grant_key.to_bytes()),
            event_key: SecretBytes(event_key.to_bytes()),
            salt: salt.to_vec(),
            binding: ByteDoc(binding.as_bytes().to_vec()),
            entry: ByteDoc(entry.as_bytes().to_vec()),
            pending_revocation: None,
            shortening: None,
            published: Vec::new(),
        });
    }
    Ok(())
}

/// Queues the re-issued bundle of a grant whose records were re-keyed.
pub(super) fn bundle(
    s: &mut PatientSession,
    grant_id: &GrantId,
    now: u64,
) -> Result<(), WalletError> {
    let Some(ledger) = s.state.grants.get(grant_id).and_then(|g| g.ledger.clone()) else {
        return Ok(());
    };
    let grant = s.signed_grant(grant_id)?;
    let bundle = bundles::grant_bundle(s, grant_id)?;
    let key = SigningKey::from_bytes(&ledger.grant_key.0);
    let signature = key.sign(&upload_message(grant_id, &sha256(&bundle)));
    for url in nodes::grant_logs(s, &grant) {
        s.state.outbox.push(
            &url,
            OutboxOp::Upload {
                grant_id: *grant_id,
                bundle: bundle.clone(),
                signature: signature.to_bytes().to_vec(),
            },
            now,
        );
    }
    Ok(())
}

/// Queues a revocation entry (signed with the grant's pseudonymous key) on the grant's nodes,
/// and for an erasure also an erasure entry and the deletion of the off-log bundle.
pub(super) fn end_of_grant(
    s: &mut PatientSession,
    grant_id: &GrantId,
    tombstone: Option<&SignedTombstone>,
    now: u64,
) -> Result<(), WalletError> {
    let Some(entry) = s.state.grants.get(grant_id) else {
        return Ok(());
    };
    let ends_early = entry.ends_early;
    let Some(ledger) = entry.ledger.clone() else {
        return Ok(());
    };
    let grant = s.signed_grant(grant_id)?;
    let key = SigningKey::from_bytes(&ledger.grant_key.0);
    let revocation = Signed::sign(RevocationEntry::now(key.public(), now), &key)?;
    let logs = nodes::grant_logs(s, &grant);
    // Once queued, the revocation entry stays the one the nodes get (an erasure after a
    // revocation that is still waiting must not queue a second one). A shortened grant whose
    // new end has come needs none either: the nodes refuse it from that end on.
    let shortened_by_now = ledger.shortening.is_some() && ends_early.is_some_and(|t| t <= now);
    let already_revoked = ledger.published.iter().any(|p| p.kind == "revocation")
        || ledger.pending_revocation.is_some()
        || shortened_by_now;
    // A bundle upload still queued would bring the bundle back after its deletion, and is
    // of no use to a provider whose grant ended.
    s.state.outbox.cancel_uploads(grant_id);
    for url in &logs {
        if !already_revoked {
            s.state.outbox.push(url, submit(revocation.as_bytes()), now);
        }
        if let Some(tombstone) = tombstone {
            let erasure = erasure_entry(&key, tombstone, now)?;
            s.state.outbox.push(url, submit(&erasure.entry.0), now);
            s.state.erasures.push(erasure);
            let sig = key.sign(&delete_message(grant_id));
            s.state.outbox.push(
                url,
                OutboxOp::Delete {
                    grant_id: *grant_id,
                    signature: sig.to_bytes().to_vec(),
                },
                now,
            );
        }
    }
    if let Some(l) = s
        .state
        .grants
        .get_mut(grant_id)
        .and_then(|g| g.ledger.as_mut())
    {
        if !already_revoked {
            l.pending_revocation = Some(ByteDoc(revocation.as_bytes().to_vec()));
        }
    }
    Ok(())
}

/// Queues, on every node the grant was published on, a revocation entry (signed with the
/// grant's pseudonymous key) that takes effect at `ends_at`: a shortened grant.
pub(super) fn shortening(
    s: &mut PatientSession,
    grant_id: &GrantId,
    ends_at: u64,
    now: u64,
) -> Result<(), WalletError> {
    let Some(ledger) = s.state.grants.get(grant_id).and_then(|g| g.ledger.clone()) else {
        return Ok(());
    };
    let grant = s.signed_grant(grant_id)?;
    let key = SigningKey::from_bytes(&ledger.grant_key.0);
    let entry = Signed::sign(
        RevocationEntry {
            grant_key: key.public(),
            revoked_at: now,
            ends_at: Some(ends_at),
        },
        &key,
    )?;
    for url in nodes::grant_logs(s, &grant) {
        s.state.outbox.push(&url, submit(entry.as_bytes()), now);
    }
    if let Some(l) = s
        .state
        .grants
        .get_mut(grant_id)
        .and_then(|g| g.ledger.as_mut())
    {
        l.shortening = Some(ByteDoc(entry.as_bytes().to_vec()));
    }
    Ok(())
}

/// Queues an erasure entry for a record tombstone on every pinned node, signed by a
/// one-time key so the entry links to nothing else.
pub(super) fn record_erasure(
    s: &mut PatientSession,
    tombstone: &SignedTombstone,
    now: u64,
) -> Result<(), WalletError> {
    if s.state.logs.is_empty() {
        return Ok(());
    }
    let erasure = erasure_entry(&SigningKey::generate(), tombstone, now)?;
    let urls: Vec<String> = s.state.logs.iter().map(|l| l.pinned.url.clone()).collect();
    for url in urls {
        s.state.outbox.push(&url, submit(&erasure.entry.0), now);
    }
    s.state.erasures.push(erasure);
    Ok(())
}

/// An erasure entry for `tombstone` signed by `key` (the grant's pseudonymous key, or a
/// one-time key), with its fresh commitment salt, not yet published anywhere.
fn erasure_entry(
    key: &SigningKey,
    tombstone: &SignedTombstone,
    now: u64,
) -> Result<ErasurePublication, WalletError> {
    let salt: [u8; 32] = carekey_crypto::random_array();
    let entry = Signed::sign(
        ErasureEntry {
            erasure_key: key.public(),
            commitment: tombstone_commitment(&salt, tombstone),
            ciphertext_hashes: tombstone.document().ciphertext_hashes.clone(),
            erased_at: now,
        },
        key,
    )?;
    Ok(ErasurePublication {
        tombstone: ByteDoc(tombstone.as_bytes().to_vec()),
        salt: salt.to_vec(),
        entry: ByteDoc(entry.as_bytes().to_vec()),
        published: Vec::new(),
    })
}

/// Receipts (C2SP tlog-proof) of an erasure's tombstone, per node, once published.
pub(super) fn erasure_publications(
    s: &PatientSession,
    tombstone: &SignedTombstone,
) -> Vec<(Publication, Vec<u8>, Vec<u8>)> {
    s.state
        .erasures
        .iter()
        .filter(|e| e.tombstone.0 == tombstone.as_bytes())
        .flat_map(|e| {
            e.published
                .iter()
                .map(move |p| (p.clone(), e.entry.0.clone(), e.salt.clone()))
        })
        .collect()
}

/// A plain entry submission (no grant, binding or salt).
pub(super) fn submit(entry: &[u8]) -> OutboxOp {
    OutboxOp::Submit {
        entry: entry.to_vec(),
        grant: None,
        binding: None,
        salt: None,
    }
}
