//! The unlocked patient session: the vault, the state document and the key index, and the one
//! way each change reaches the disk. Every service (records, sharing, erasure, backups, ledger
//! link) works on a `&mut PatientSession`; none holds state of its own.

use std::path::PathBuf;

use zeroize::Zeroizing;

use carekey_crypto::age::Identity;
use carekey_crypto::{AgreementPublic, AgreementSecret, PublicKey, SigningKey};
use carekey_model::{GrantId, RecordId, SignedGrant};
use carekey_vault::{atomic, Vault};

use crate::crash;
use crate::state::{self, GrantEntry, KeyIndex, PatientState};
use crate::WalletError;

/// Encoded state or key index, wiped from memory on drop.
type Secret = Zeroizing<Vec<u8>>;

/// An unlocked patient vault with its decoded state. Dropping it forgets every key.
#[derive(Debug)]
pub(crate) struct PatientSession {
    pub(crate) vault: Vault,
    pub(crate) state: PatientState,
    pub(crate) keys: KeyIndex,
}

impl PatientSession {
    /// Reads the state of an unlocked vault, migrating what older versions left behind.
    pub(crate) fn load(vault: Vault) -> Result<Self, WalletError> {
        let (state, keys) = read_state(&vault)?;
        let mut session = PatientSession { vault, state, keys };
        if migrate_backup_share(&mut session) {
            // Out of the state document for good: a fresh epoch key seals the index that now
            // holds it, and the old state file (with the share in it) is replaced.
            session.save_rotating()?;
        }
        session.remove_orphan_files();
        Ok(session)
    }

    /// Removes record files no committed state refers to: leftovers of an import or re-key that
    /// was interrupted before it was reported done.
    fn remove_orphan_files(&self) {
        let live = self
            .state
            .records
            .iter()
            .map(|(id, r)| (id.as_bytes(), r.version));
        // Best effort: an orphan is unreadable anyway (its key was never committed).
        let _ = self.vault.records().remove_orphans(live);
    }

    /// Commits the state and key index under the current epoch key.
    pub(crate) fn save(&mut self) -> Result<(), WalletError> {
        let (state, keys) = self.encode()?;
        crash::point("state.before-save");
        self.vault.save(&state, &keys)?;
        crash::point("state.saved");
        Ok(())
    }

    /// Commits a change that removed keys: a fresh epoch key seals the new key index, and the old
    /// epoch key is destroyed, so no stale copy of the vault can bring removed keys back.
    pub(crate) fn save_rotating(&mut self) -> Result<(), WalletError> {
        let (state, keys) = self.encode()?;
        crash::point("state.before-save");
        self.vault.rotate_epoch(&state, &keys)?;
        crash::point("state.saved");
        Ok(())
    }

    fn encode(&self) -> Result<(Secret, Secret), WalletError> {
        state::encode_patient(&self.state, &self.keys)
    }

    /// Puts back the state on disk after a change failed half-way in memory. If even that
    /// fails the in-memory session is left as it is; the next unlock reads the disk anyway.
    pub(crate) fn reload_after_failure(&mut self) {
        if let Ok((state, keys)) = read_state(&self.vault) {
            self.state = state;
            self.keys = keys;
        }
    }

    /// Commits a change prepared in memory with one state write (a fresh epoch key), after
    /// the crash point `point`; if preparing or writing failed, puts back what is on disk.
    pub(crate) fn commit_or_reload<T>(
        &mut self,
        prepared: Result<T, WalletError>,
        point: &'static str,
    ) -> Result<T, WalletError> {
        let committed = prepared.and_then(|value| {
            crash::point(point);
            self.save_rotating().map(|()| value)
        });
        if committed.is_err() {
            self.reload_after_failure();
        }
        committed
    }

    pub(crate) fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.state.identity.0)
    }

    pub(crate) fn agreement_secret(&self) -> AgreementSecret {
        AgreementSecret::from_bytes(*self.state.agreement.0)
    }

    pub(crate) fn public_key(&self) -> PublicKey {
        self.signing_key().public()
    }

    pub(crate) fn agreement_public(&self) -> AgreementPublic {
        self.agreement_secret().public()
    }

    /// The current age identity of a record.
    pub(crate) fn record_identity(&self, id: &RecordId) -> Result<Identity, WalletError> {
        let secret = self
            .keys
            .records
            .get(id)
            .ok_or_else(|| WalletError::NotFound {
                what: "record key",
                query: id.to_string(),
            })?;
        Ok(Identity::from_bytes(*secret.0))
    }

    pub(crate) fn grant_entry(&self, grant_id: &GrantId) -> Result<&GrantEntry, WalletError> {
        self.state
            .grants
            .get(grant_id)
            .ok_or_else(|| WalletError::NotFound {
                what: "grant",
                query: grant_id.to_string(),
            })
    }

    pub(crate) fn signed_grant(&self, grant_id: &GrantId) -> Result<SignedGrant, WalletError> {
        Ok(SignedGrant::from_bytes(
            &self.grant_entry(grant_id)?.signed.0,
        )?)
    }

    /// Deletes files whose keys are already gone (best effort: leftovers are unreadable, and
    /// cleaned at the next unlock).
    pub(crate) fn remove_files(&self, paths: &[PathBuf]) {
        for path in paths {
            let _ = atomic::remove(path);
        }
    }
}

/// The patient's state document and key index as they are on disk.
pub(crate) fn read_state(vault: &Vault) -> Result<(PatientState, KeyIndex), WalletError> {
    state::read_patient(vault)
}

/// Moves a backup key share found in the state document (state files written before it
/// lived in the key index) into the key index. Returns whether anything moved.
fn migrate_backup_share(s: &mut PatientSession) -> bool {
    let Some(secret) = s
        .state
        .backup_share
        .as_mut()
        .and_then(|share| share.legacy_secret.take())
    else {
        return false;
    };
    s.keys.backup_share.get_or_insert(secret);
    true
}
