//! The patient's wallet: an unlocked session and the services that work on it.
//!
//! [`PatientWallet`] only opens, locks and describes the vault; everything else is a service
//! borrowed from it, each a module with one job and its own error enum:
//!
//! | service | module | what |
//! |---|---|---|
//! | [`Records`] | `records` | import, list, export, re-key |
//! | [`Sharing`] | `sharing` | requests, grants, key wraps, bundles, revocation |
//! | [`Erasure`] | `erasure` (+ `receipt`) | crypto-erasure and its receipt |
//! | [`Backups`] | `backups` | backups and their key shares |
//! | [`Cards`] | `cards` | SMART Health Cards in, the issuers the patient trusts |
//! | [`Overview`] | `overview` (+ `backup_plan`) | the home screen, a grant's page, what needs attention |
//! | [`LedgerLink`] | `link` (+ `publish`, `flush`, `sync`, `access`) | pinned nodes, the outbox, the agent's hand-over |
//! | [`PatientWallet::patient_summary`] | `summary` | the International Patient Summary of the records |
//!
//! None of them talks to a ledger node: they queue ledger writes inside their state write, and
//! the ledger agent ([`crate::agent`]) sends and verifies outside any lock.

use std::path::Path;

use zeroize::Zeroizing;

use carekey_crypto::{
    AgreementPublic, AgreementSecret, KdfParams, PublicKey, RecoverySecret, SigningKey,
};
use carekey_vault::{Passphrase, SecretStore, Vault};

use crate::state::{KeyIndex, PatientState, SecretBytes};
use crate::WalletError;

mod access;
mod backup_plan;
mod backups;
mod bundles;
mod cards;
mod ending;
mod erasure;
mod flush;
mod grants;
mod health_links;
mod link;
mod link_opens;
pub(crate) mod nodes;
mod overview;
mod publish;
mod receipt;
mod records;
mod session;
mod sharing;
mod summary;
mod sync;
#[cfg(test)]
mod tests;

pub use access::{AccessView, MAX_SERVE_DELAY_SECS};
pub use backup_plan::{
    backup_place, BackupPlace, BackupState, ScheduleInfo, DEFAULT_BACKUP_INTERVAL_SECS,
    SCHEDULED_BACKUP_FILE,
};
pub use backups::{BackupError, Backups};
pub(crate) use cards::CardEntry;
pub use cards::{
    check_cards, import_cards, read_cards, CardImportError, CardSource, CardSummary,
    CardVerification, Cards, CheckedCard, TrustedIssuer, CARD_CATEGORY,
};
pub use erasure::Erasure;
pub use grants::{
    DirectoryInfo, GrantEnd, GrantState, GrantSummary, KeyWrap, KeyWraps, RequestInput,
    RequestReview, RevokeOutcome, ShareChoice, ShareError, ShareOutcome, ShortenOutcome,
};
pub use health_links::{
    HealthLinkError, HealthLinks, LinkChoice, LinkDraft, LinkOpenView, LinkState, LinkView,
    DEFAULT_LINK_ATTEMPTS,
};
pub use link::{LedgerLink, LocalNode, NodeRemoval};
pub use nodes::{LinkError, NodeRef, OutboxNode, DEFAULT_MAX_AGE_SECS};
pub use overview::{
    GrantPage, Holder, HolderKind, Home, LatestAccess, LedgerProblem, Overview, EXPIRING_SOON_SECS,
};
pub use receipt::{
    verify_receipt, ErasureReceipt, LedgerProof, ReceiptError, VerifiedReceipt, RECEIPT_FORMAT,
};
pub use records::{RecordError, RecordSummary, Records};
pub use sharing::Sharing;
pub use summary::{PatientSummary, SummaryError, SummaryLine, SummarySection};
pub use sync::{NodeSyncStatus, SyncReport};

use session::PatientSession;

/// What the patient must keep after onboarding: shown once, never stored by the wallet.
#[derive(Debug)]
pub struct RecoveryKit {
    secret: RecoverySecret,
}

impl RecoveryKit {
    /// The 24 recovery words.
    pub fn words(&self) -> Zeroizing<String> {
        self.secret.words()
    }
}

/// An unlocked patient wallet. Dropping it (or [`Self::lock`]) forgets every key.
#[derive(Debug)]
pub struct PatientWallet {
    session: PatientSession,
}

impl PatientWallet {
    /// Creates a new wallet in `dir`: identity and key-agreement keys, an empty record store,
    /// and a recovery kit to show the patient once.
    pub fn create(
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
        now: u64,
    ) -> Result<(Self, RecoveryKit), WalletError> {
        crate::check_passphrase(passphrase)?;
        let vault = Vault::create(dir, passphrase, kdf, store)?;
        let recovery = RecoverySecret::generate();
        let identity = SigningKey::generate();
        let agreement = AgreementSecret::generate();
        let state = PatientState {
            identity: SecretBytes(identity.to_bytes()),
            agreement: SecretBytes(agreement.to_bytes()),
            recovery_public: recovery.agreement_secret().public().as_bytes().to_vec(),
            created_at: now,
            records: Default::default(),
            grants: Default::default(),
            directories: Vec::new(),
            trusted_directories: Vec::new(),
            pinned_nodes: Vec::new(),
            backups: Vec::new(),
            tombstones: Vec::new(),
            logs: Vec::new(),
            outbox: Default::default(),
            access_log: Vec::new(),
            erasures: Vec::new(),
            witness_policy: Default::default(),
            backup_share: None,
            backups_stale: false,
            backup_times: Default::default(),
            backup_schedule: None,
            accesses_seen: 0,
            last_sync: None,
            card_issuers: Vec::new(),
            cards: Default::default(),
            links: Vec::new(),
            link_opens: Vec::new(),
            link_opens_seen: 0,
        };
        let mut session = PatientSession {
            vault,
            state,
            keys: KeyIndex::default(),
        };
        session.save()?;
        Ok((PatientWallet { session }, RecoveryKit { secret: recovery }))
    }

    /// Unlocks the wallet in `dir` with the passphrase.
    pub fn unlock(
        dir: &Path,
        passphrase: &Passphrase,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        Self::load(Vault::unlock(dir, passphrase, store)?)
    }

    /// Unlocks the wallet in `dir` with this device's keyring secret (no passphrase).
    pub fn unlock_with_device(
        dir: &Path,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        Self::load(Vault::unlock_with_device(dir, store)?)
    }

    /// Restores a wallet from a backup file and the recovery words into `dir`, protected by a
    /// new passphrase. A backup sealed with a key share fetches it from a node it names
    /// (before any wallet is open: no lock is held).
    pub fn recover(
        backup: &Path,
        words: &str,
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        crate::check_passphrase(passphrase)?;
        let secret = RecoverySecret::from_words(words)?;
        let shares = backups::shares_for(backup)?.unwrap_or_default();
        let vault = Vault::restore_backup_with(
            backup,
            &secret.agreement_secret(),
            &shares,
            dir,
            passphrase,
            kdf,
            store,
        )?;
        Self::load(vault)
    }

    fn load(vault: Vault) -> Result<Self, WalletError> {
        Ok(PatientWallet {
            session: PatientSession::load(vault)?,
        })
    }

    /// The records service.
    pub fn records(&mut self) -> Records<'_> {
        Records {
            s: &mut self.session,
        }
    }

    /// The sharing service: requests, grants, revocation.
    pub fn sharing(&mut self) -> Sharing<'_> {
        Sharing {
            s: &mut self.session,
        }
    }

    /// The erasure service (records and grants; the whole wallet is [`Self::erase_all`]).
    pub fn erasure(&mut self) -> Erasure<'_> {
        Erasure {
            s: &mut self.session,
        }
    }

    /// The backups service.
    pub fn backups(&mut self) -> Backups<'_> {
        Backups {
            s: &mut self.session,
        }
    }

    /// SMART Health Links: make, list, update and end links, and see who opened them.
    pub fn links(&mut self) -> HealthLinks<'_> {
        HealthLinks {
            s: &mut self.session,
        }
    }

    /// Health cards and the issuers the patient trusts.
    pub fn cards(&mut self) -> Cards<'_> {
        Cards {
            s: &mut self.session,
        }
    }

    /// The overview: the home screen, a grant's page, the unseen accesses.
    pub fn overview(&mut self) -> Overview<'_> {
        Overview {
            s: &mut self.session,
        }
    }

    /// The ledger link: pinned nodes, the outbox, the ledger agent's hand-over.
    pub fn ledger(&mut self) -> LedgerLink<'_> {
        LedgerLink {
            s: &mut self.session,
        }
    }

    /// The patient summary as of `now`: an International Patient Summary (IPS 2.0.0 document
    /// Bundle) of every current record, about the Patient record imported last. Nothing is
    /// stored; see [`Self::save_patient_summary`].
    pub fn patient_summary(&mut self, now: u64) -> Result<PatientSummary, WalletError> {
        summary::build(&self.session, now)
    }

    /// Makes the patient summary and keeps it as a record of its own (a FHIR Bundle, under
    /// documents), so it can be shared like any record. It is a copy as of `now`.
    pub fn save_patient_summary(&mut self, now: u64) -> Result<RecordSummary, WalletError> {
        summary::save(&mut self.session, now)
    }

    /// Erases the whole wallet: every key, every record, every known backup, the device secrets.
    /// Returns the receipt; the wallet is gone afterwards.
    ///
    /// Before the last keys go, it signs every ledger write the erasure needs: the end of each
    /// grant still live on a node (its revocation, an erasure entry, the deletion of its
    /// bundle), the wallet's erasure entry on every pinned node, the deletion of the backup key
    /// share, plus the ending work already queued. It sends them at once (the wallet is
    /// consumed, so no one waits on it); what a node did not acknowledge is kept in the erasure
    /// journal beside the vault (signed messages only, no keys), which `carekey sync` and the
    /// app keep flushing. The receipt lists it node by node.
    pub fn erase_all(self, now: u64) -> Result<ErasureReceipt, WalletError> {
        erasure::erase_all(self.session, now)
    }

    /// The patient's identity key.
    pub fn public_key(&self) -> PublicKey {
        self.session.public_key()
    }

    /// The patient's key-agreement key.
    pub fn agreement_public(&self) -> AgreementPublic {
        self.session.agreement_public()
    }

    /// The public code the patient can show ("My QR"): `carekey:patient/v1/<sign>/<agree>`.
    pub fn public_uri(&self) -> String {
        format!(
            "carekey:patient/v1/{}/{}",
            self.public_key(),
            self.agreement_public()
        )
    }

    /// Where the vault lives.
    pub fn dir(&self) -> &Path {
        self.session.vault.dir()
    }

    /// A description of where the device secret lives (OS keyring or file store).
    pub fn secret_store(&self) -> String {
        self.session.vault.store_description()
    }

    /// The vault's current KDF parameters.
    pub fn kdf(&self) -> KdfParams {
        self.session.vault.kdf()
    }

    /// The current erasure epoch (how many times keys were destroyed).
    pub fn epoch(&self) -> u64 {
        self.session.vault.epoch()
    }

    /// Forgets every in-memory key. Equivalent to dropping the wallet.
    pub fn lock(self) {}

    /// Changes the passphrase (re-wraps the master key only).
    ///
    /// The passphrase must pass the wallet's policy ([`crate::check_passphrase`]), and the key
    /// derivation never gets weaker silently: `requested` is used only if it costs at least as
    /// much as the vault's current parameters, otherwise they are kept. Returns the parameters
    /// the new passphrase is protected with.
    pub fn change_passphrase(
        &mut self,
        new: &Passphrase,
        requested: KdfParams,
    ) -> Result<KdfParams, WalletError> {
        crate::check_passphrase(new)?;
        let current = self.session.vault.kdf();
        let kdf = if requested.is_at_least(&current) {
            requested
        } else {
            current
        };
        self.session.vault.change_passphrase(new, kdf)?;
        Ok(kdf)
    }

    /// Lets this device unlock the wallet without the passphrase (secret in the OS keyring).
    pub fn enable_device_unlock(&mut self) -> Result<(), WalletError> {
        Ok(self.session.vault.enable_device_unlock()?)
    }

    /// Removes the keyring unlock secret.
    pub fn disable_device_unlock(&mut self) -> Result<(), WalletError> {
        Ok(self.session.vault.disable_device_unlock()?)
    }

    /// Whether keyring unlock is on.
    pub fn device_unlock_enabled(&self) -> bool {
        self.session.vault.device_unlock_enabled()
    }
}

/// Finds an id by its hex form or an unambiguous prefix of it.
fn find_by_prefix<'a, T>(
    ids: impl Iterator<Item = &'a T>,
    query: &str,
    what: &'static str,
) -> Result<T, WalletError>
where
    T: std::fmt::Display + Copy + 'a,
{
    let q = query.trim().to_ascii_lowercase();
    if q.is_empty() {
        return Err(WalletError::NotFound {
            what,
            query: query.to_owned(),
        });
    }
    let mut found = None;
    for id in ids {
        if id.to_string().starts_with(&q) {
            if found.is_some() {
                return Err(WalletError::Ambiguous {
                    what,
                    query: query.to_owned(),
                });
            }
            found = Some(*id);
        }
    }
    found.ok_or_else(|| WalletError::NotFound {
        what,
        query: query.to_owned(),
    })
}

fn hash32(bytes: &[u8]) -> Result<[u8; 32], WalletError> {
    bytes
        .try_into()
        .map_err(|_| WalletError::State("a ciphertext hash is not 32 bytes".into()))
}

pub(crate) fn base64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
