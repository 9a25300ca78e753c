//! What a provider opens: the record keys of a grant wrapped to the provider's key, and the
//! bundle (grant, wraps, current ciphertexts) handed over offline or stored on a node.

use carekey_model::{BundledRecord, GrantBundle, GrantId, SignedGrant};

use super::grants::{GrantState, KeyWrap, KeyWraps, ShareError};
use super::records;
use super::session::PatientSession;
use crate::records::record_path;
use crate::state::{GrantEntry, GrantStatus};
use crate::{wrap, WalletError};

fn active_grant<'s>(
    s: &'s PatientSession,
    grant_id: &GrantId,
) -> Result<(SignedGrant, &'s GrantEntry), WalletError> {
    let entry = s.grant_entry(grant_id)?;
    if entry.status != GrantStatus::Active {
        return Err(ShareError::GrantNotActive {
            grant: *grant_id,
            status: GrantState::of_ended(&entry.status),
        }
        .into());
    }
    Ok((SignedGrant::from_bytes(&entry.signed.0)?, entry))
}

pub(super) fn wrap_keys(s: &PatientSession, grant_id: &GrantId) -> Result<KeyWraps, WalletError> {
    let (grant, entry) = active_grant(s, grant_id)?;
    let wrapper = wrap::Wrapper::new(&grant)?;
    let mut wraps = Vec::with_capacity(entry.records.len());
    for id in &entry.records {
        // Records erased since the grant was issued are simply no longer shared.
        let Some(record) = s.state.records.get(id) else {
            continue;
        };
        let ciphertext_hash = super::hash32(&record.ciphertext_hash)?;
        wraps.push(KeyWrap {
            record_id: *id,
            version: record.version,
            ciphertext_hash,
            wrapped: wrapper.wrap(
                id,
                record.version,
                &ciphertext_hash,
                &s.record_identity(id)?,
            ),
        });
    }
    Ok(KeyWraps {
        ephemeral: wrapper.ephemeral(),
        wraps,
    })
}

pub(super) fn grant_bundle(s: &PatientSession, grant_id: &GrantId) -> Result<Vec<u8>, WalletError> {
    let (grant, _) = active_grant(s, grant_id)?;
    let keys = wrap_keys(s, grant_id)?;
    let mut bundled = Vec::with_capacity(keys.wraps.len());
    for w in keys.wraps {
        let record = records::entry(s, &w.record_id)?;
        let path = record_path(&s.vault.records_dir(), &w.record_id, w.version);
        let ciphertext = std::fs::read(&path).map_err(|e| WalletError::io("reading", &path, e))?;
        bundled.push(BundledRecord {
            record_id: w.record_id,
            version: w.version,
            resource_type: record.resource_type.clone(),
            name: record.name.clone(),
            ciphertext_hash: w.ciphertext_hash,
            seal: carekey_crypto::Signature::from_slice(&record.seal)?,
            wrapped_identity: w.wrapped,
            ciphertext,
        });
    }
    Ok(GrantBundle {
        grant,
        ephemeral: keys.ephemeral,
        records: bundled,
    }
    .to_bytes())
}
