//! The patient's wallet: records, sharing by request, revocation, crypto-erasure, backups.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use carekey_crypto::age::Identity;
use carekey_crypto::{
    AgreementPublic, AgreementSecret, KdfParams, PublicKey, RecoverySecret, SigningKey,
};
use carekey_model::fhir;
use carekey_model::{
    verify_provider, BundledRecord, ErasureSubject, Grant, GrantBundle, GrantId,
    ProviderVerification, RecordId, Revocation, Scope, Signed, SignedDirectory, SignedGrant,
    SignedRequest, SignedRevocation, SignedTombstone, Tombstone,
};
use carekey_vault::{atomic, Passphrase, SecretStore, Vault};

use crate::{crash, journal};

use crate::records::{decrypt_record, encrypt_record, record_path};
use crate::state::{
    self, ByteDoc, GrantEntry, GrantStatus, KeyIndex, PatientState, RecordEntry, SecretBytes,
};
use crate::wrap;
use crate::WalletError;

mod backup_share;
mod ledger;

pub(crate) use ledger::outbox_nodes;
pub use ledger::{
    AccessView, NodeRef, NodeRemoval, NodeSyncStatus, OutboxNode, SyncReport, WitnessPolicy,
    DEFAULT_MAX_AGE_SECS, MAX_SERVE_DELAY_SECS,
};

/// Encoded state or key index, wiped from memory on drop.
type Secret = Zeroizing<Vec<u8>>;

/// Files at least this large are imported as one opaque record without looking for FHIR.
const FHIR_SNIFF_LIMIT: u64 = 32 * 1024 * 1024;

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

/// A record as the patient sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordSummary {
    /// Record id (hex).
    pub id: String,
    /// Source file name.
    pub name: String,
    /// FHIR resource type, if the record is a FHIR resource.
    pub resource_type: Option<String>,
    /// Allergies, medications, conditions… (or "file").
    pub category: String,
    /// Human title, e.g. "Penicillin allergy" or "Glucose".
    pub title: String,
    /// Human detail, e.g. "6.3 mmol/L".
    pub detail: Option<String>,
    /// Clinical date, if the resource has one.
    pub date: Option<String>,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Key version: bumped each time the record is re-keyed.
    pub version: u32,
    /// SHA-256 of the current ciphertext (hex).
    pub ciphertext_hash: String,
    /// Where the ciphertext lives.
    pub path: PathBuf,
}

/// An access request the patient is looking at, before approving it.
#[derive(Debug)]
pub struct RequestReview {
    /// The verified request.
    pub request: SignedRequest,
    /// Whether a pinned directory vouches for the provider's name and key.
    pub provider: ProviderVerification,
    /// Nodes the request names that the patient has not pinned.
    pub unpinned_nodes: Vec<String>,
    /// The patient's records the request's scope covers.
    pub matching_records: Vec<RecordSummary>,
}

/// What the patient decided to share in answer to a request.
#[derive(Clone, Debug, Default)]
pub struct ShareChoice {
    /// Records chosen one by one.
    pub record_ids: Vec<RecordId>,
    /// FHIR resource types chosen as a whole.
    pub resource_types: Vec<String>,
    /// Shorter duration than requested, in seconds (never longer).
    pub duration_secs: Option<u64>,
    /// The patient confirmed the unpinned nodes the request names.
    pub confirm_nodes: bool,
}

/// The result of approving a request.
#[derive(Debug)]
pub struct ShareOutcome {
    /// The signed grant.
    pub grant: SignedGrant,
    /// The records the grant covers.
    pub records: Vec<RecordId>,
}

/// The record keys of one grant, wrapped to the provider with one key agreement.
#[derive(Debug)]
pub struct KeyWraps {
    /// The patient's ephemeral X25519 key for this set of wraps.
    pub ephemeral: AgreementPublic,
    /// One wrap per current record version the grant covers.
    pub wraps: Vec<KeyWrap>,
}

/// One record key wrapped to a provider.
#[derive(Debug)]
pub struct KeyWrap {
    /// The record.
    pub record_id: RecordId,
    /// Its key version.
    pub version: u32,
    /// SHA-256 of that version's ciphertext (bound into the wrap).
    pub ciphertext_hash: [u8; 32],
    /// The sealed record identity.
    pub wrapped: Vec<u8>,
}

/// A grant as the patient sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GrantSummary {
    /// Grant id (hex).
    pub id: String,
    /// Provider name as stated in the request.
    pub provider_name: String,
    /// Provider key (hex).
    pub provider_key: String,
    /// Purpose of use.
    pub purpose: String,
    /// Start of validity (unix seconds).
    pub not_before: u64,
    /// End of validity (unix seconds).
    pub not_after: u64,
    /// "active", "expired", "ending" (ended here, not yet acknowledged by every node it was
    /// published on), "revoked" or "erased".
    pub status: String,
    /// For an "ending" grant: what it ends as ("revoked" or "erased").
    pub ends_as: Option<String>,
    /// For an "ending" grant: the nodes that have not yet acknowledged its end (they may still
    /// serve it to the provider until they do).
    pub waiting_for: Vec<String>,
    /// Records shared under the grant.
    pub records: Vec<String>,
    /// Resource types shared under the grant.
    pub resource_types: Vec<String>,
}

/// The result of a revocation.
#[derive(Debug)]
pub struct RevokeOutcome {
    /// The signed revocation (to publish, or hand to the provider).
    pub revocation: SignedRevocation,
    /// Records re-keyed so later versions are unreadable to the revoked provider.
    pub rekeyed: Vec<RecordId>,
    /// Fresh bundles for the other active grants that cover re-keyed records.
    pub updated_bundles: Vec<(GrantId, Vec<u8>)>,
    /// Nodes that have not yet acknowledged the end of the grant (kept queued and retried on
    /// every sync; empty when every node has).
    pub waiting_for: Vec<String>,
    /// Backups that could not be re-written (retried on the next sync).
    pub backup_problems: Vec<String>,
}

/// Proof of an erasure, for the patient to keep.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ErasureReceipt {
    /// Always "carekey-erasure-receipt/v1".
    pub format: String,
    /// What was erased ("record …", "grant …", "wallet").
    pub subject: String,
    /// Unix seconds.
    pub erased_at: u64,
    /// The patient's identity key (hex) that signed the tombstone.
    pub patient_key: String,
    /// The signed tombstone (base64url, COSE_Sign1).
    pub tombstone: String,
    /// SHA-256 of every ciphertext whose key was destroyed (hex).
    pub ciphertext_hashes: Vec<String>,
    /// What the wallet destroyed.
    pub destroyed: Vec<String>,
    /// Inclusion proofs of the erasure entry on each pinned ledger node that accepted it.
    pub ledger: Vec<LedgerProof>,
    /// Ledger writes still waiting in the outbox when the receipt was made (offline nodes).
    pub ledger_pending: usize,
    /// What is not done yet, one line per node (and per backup that could not be re-written):
    /// kept queued and retried until it is.
    pub pending: Vec<String>,
    /// What erasure cannot reach.
    pub limits: Vec<String>,
}

/// Proof that an erasure entry committing to the receipt's tombstone is in a ledger node's log.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LedgerProof {
    /// The node.
    pub node: String,
    /// The log key the patient pinned for it (C2SP note verifier key).
    pub log_key: String,
    /// The witness keys pinned for it.
    pub witness_keys: Vec<String>,
    /// How many of them must have cosigned.
    pub quorum: usize,
    /// Index of the erasure entry in the log.
    pub index: u64,
    /// The erasure entry (base64url COSE).
    pub entry: String,
    /// The salt of the tombstone commitment (base64url).
    pub salt: String,
    /// The C2SP tlog-proof receipt.
    pub receipt: String,
}

/// Where a request came from: a `carekey:` link, a QR image, or a file holding either.
#[derive(Debug)]
pub enum RequestInput<'a> {
    /// A `carekey:` URI (pasted or scanned).
    Uri(&'a str),
    /// Raw bytes: a PNG/JPEG QR image, a text file with the URI, or the COSE bytes.
    Bytes(&'a [u8]),
}

/// An unlocked patient wallet.
#[derive(Debug)]
pub struct PatientWallet {
    vault: Vault,
    state: PatientState,
    keys: KeyIndex,
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
        };
        let mut wallet = PatientWallet {
            vault,
            state,
            keys: KeyIndex::default(),
        };
        wallet.save()?;
        Ok((wallet, RecoveryKit { secret: recovery }))
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
    /// new passphrase.
    pub fn recover(
        backup: &Path,
        words: &str,
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        let secret = RecoverySecret::from_words(words)?;
        let shares = backup_share::shares_for(backup)?.unwrap_or_default();
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
        let (state, keys) = read_state(&vault)?;
        let mut wallet = PatientWallet { vault, state, keys };
        if wallet.migrate_backup_share() {
            // Out of the state document for good: a fresh epoch key seals the index that now
            // holds it, and the old state file (with the share in it) is replaced.
            wallet.save_rotating()?;
        }
        wallet.remove_orphan_files();
        Ok(wallet)
    }

    /// Removes record files no committed state refers to: leftovers of an import or re-key that
    /// was interrupted before it was reported done.
    fn remove_orphan_files(&self) {
        let Ok(entries) = std::fs::read_dir(self.vault.records_dir()) else {
            return;
        };
        let live: BTreeSet<PathBuf> = self
            .state
            .records
            .iter()
            .map(|(id, r)| record_path(&self.vault.records_dir(), id, r.version))
            .collect();
        for entry in entries.flatten() {
            let path = entry.path();
            if !live.contains(&path) {
                // Best effort: an orphan is unreadable anyway (its key was never committed).
                let _ = atomic::remove(&path);
            }
        }
    }

    fn save(&mut self) -> Result<(), WalletError> {
        let (state, keys) = self.encode()?;
        crash::point("state.before-save");
        self.vault.save(&state, &keys)?;
        crash::point("state.saved");
        Ok(())
    }

    /// Commits a change that removed keys: a fresh epoch key seals the new key index, and the old
    /// epoch key is destroyed, so no stale copy of the vault can bring removed keys back.
    fn save_rotating(&mut self) -> Result<(), WalletError> {
        let (state, keys) = self.encode()?;
        crash::point("state.before-save");
        self.vault.rotate_epoch(&state, &keys)?;
        crash::point("state.saved");
        Ok(())
    }

    fn encode(&self) -> Result<(Secret, Secret), WalletError> {
        state::encode_patient(&self.state, &self.keys)
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.state.identity.0)
    }

    fn agreement_secret(&self) -> AgreementSecret {
        AgreementSecret::from_bytes(*self.state.agreement.0)
    }

    /// The patient's identity key.
    pub fn public_key(&self) -> PublicKey {
        self.signing_key().public()
    }

    /// The patient's key-agreement key.
    pub fn agreement_public(&self) -> AgreementPublic {
        self.agreement_secret().public()
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
        self.vault.dir()
    }

    /// A description of where the device secret lives (OS keyring or file store).
    pub fn secret_store(&self) -> String {
        self.vault.store_description()
    }

    /// The vault's current KDF parameters.
    pub fn kdf(&self) -> KdfParams {
        self.vault.kdf()
    }

    /// The current erasure epoch (how many times keys were destroyed).
    pub fn epoch(&self) -> u64 {
        self.vault.epoch()
    }

    /// Forgets every in-memory key. Equivalent to dropping the wallet.
    pub fn lock(self) {}

    /// Changes the passphrase (re-wraps the master key only).
    ///
    /// The key derivation never gets weaker silently: `requested` is used only if it costs at
    /// least as much as the vault's current parameters, otherwise they are kept. Returns the
    /// parameters the new passphrase is protected with.
    pub fn change_passphrase(
        &mut self,
        new: &Passphrase,
        requested: KdfParams,
    ) -> Result<KdfParams, WalletError> {
        let current = self.vault.kdf();
        let kdf = if requested.is_at_least(&current) {
            requested
        } else {
            current
        };
        self.vault.change_passphrase(new, kdf)?;
        Ok(kdf)
    }

    /// Lets this device unlock the wallet without the passphrase (secret in the OS keyring).
    pub fn enable_device_unlock(&mut self) -> Result<(), WalletError> {
        Ok(self.vault.enable_device_unlock()?)
    }

    /// Removes the keyring unlock secret.
    pub fn disable_device_unlock(&mut self) -> Result<(), WalletError> {
        Ok(self.vault.disable_device_unlock()?)
    }

    /// Whether keyring unlock is on.
    pub fn device_unlock_enabled(&self) -> bool {
        self.vault.device_unlock_enabled()
    }

    // ---------------------------------------------------------------- records

    /// Imports one file. FHIR R4 JSON resources and Bundles become one record per resource;
    /// anything else becomes one record. `progress(done, total)` is called as bytes are read.
    pub fn import(
        &mut self,
        path: &Path,
        now: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<RecordSummary>, WalletError> {
        let meta = std::fs::metadata(path).map_err(|e| WalletError::io("reading", path, e))?;
        if !meta.is_file() {
            return Err(WalletError::Invalid(format!(
                "{} is not a file",
                path.display()
            )));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "record".to_owned());
        let total = meta.len();
        let mut imported = Vec::new();
        let resources = if total <= FHIR_SNIFF_LIMIT {
            let bytes = std::fs::read(path).map_err(|e| WalletError::io("reading", path, e))?;
            fhir::split(&bytes)?.filter(|r| !r.is_empty())
        } else {
            None
        };
        match resources {
            Some(resources) => {
                let count = resources.len();
                for (i, resource) in resources.into_iter().enumerate() {
                    let summary = fhir::summary(&resource);
                    let label = if count > 1 {
                        format!("{name}#{}", i + 1)
                    } else {
                        name.clone()
                    };
                    let meta = RecordMeta {
                        name: label,
                        resource_type: Some(resource.resource_type.clone()),
                        fhir_id: resource.id.clone(),
                        category: category_name(&summary.category).to_owned(),
                        title: summary.title,
                        detail: summary.detail,
                        date: summary.date,
                    };
                    imported.push(self.add_record(meta, &resource.json[..], now)?);
                }
                progress(total, total);
            }
            None => {
                let file = File::open(path).map_err(|e| WalletError::io("opening", path, e))?;
                let reader = ProgressReader {
                    inner: BufReader::with_capacity(256 * 1024, file),
                    done: 0,
                    total,
                    report: progress,
                };
                let meta = RecordMeta {
                    name: name.clone(),
                    resource_type: None,
                    fhir_id: None,
                    category: "file".to_owned(),
                    title: name,
                    detail: None,
                    date: None,
                };
                imported.push(self.add_record(meta, reader, now)?);
            }
        }
        // One atomic commit per file: the records are reported imported only after this.
        self.save()?;
        imported.iter().map(|id| self.summary(id)).collect()
    }

    fn add_record(
        &mut self,
        meta: RecordMeta,
        input: impl Read,
        now: u64,
    ) -> Result<RecordId, WalletError> {
        let id = RecordId::generate();
        let identity = Identity::generate();
        let sealed = encrypt_record(
            &self.vault.records_dir(),
            &id,
            1,
            &identity,
            &self.signing_key(),
            input,
        )?;
        self.keys
            .records
            .insert(id, SecretBytes(identity.to_bytes()));
        self.state.records.insert(
            id,
            RecordEntry {
                name: meta.name,
                resource_type: meta.resource_type,
                fhir_id: meta.fhir_id,
                category: meta.category,
                title: meta.title,
                detail: meta.detail,
                date: meta.date,
                size: sealed.size,
                version: 1,
                ciphertext_hash: sealed.ciphertext_hash.to_vec(),
                seal: sealed.seal.to_vec(),
                imported_at: now,
            },
        );
        Ok(id)
    }

    /// Every record, grouped by category then title.
    pub fn records(&self) -> Vec<RecordSummary> {
        let mut all: Vec<RecordSummary> = self
            .state
            .records
            .iter()
            .map(|(id, r)| self.summary_of(id, r))
            .collect();
        all.sort_by(|a, b| (&a.category, &a.title, &a.id).cmp(&(&b.category, &b.title, &b.id)));
        all
    }

    fn summary(&self, id: &RecordId) -> Result<RecordSummary, WalletError> {
        let entry = self
            .state
            .records
            .get(id)
            .ok_or_else(|| WalletError::NotFound {
                what: "record",
                query: id.to_string(),
            })?;
        Ok(self.summary_of(id, entry))
    }

    fn summary_of(&self, id: &RecordId, r: &RecordEntry) -> RecordSummary {
        RecordSummary {
            id: id.to_string(),
            name: r.name.clone(),
            resource_type: r.resource_type.clone(),
            category: r.category.clone(),
            title: r.title.clone(),
            detail: r.detail.clone(),
            date: r.date.clone(),
            size: r.size,
            version: r.version,
            ciphertext_hash: hex::encode(&r.ciphertext_hash),
            path: record_path(&self.vault.records_dir(), id, r.version),
        }
    }

    /// Finds a record by its id or an unambiguous prefix of it.
    pub fn find_record(&self, query: &str) -> Result<RecordId, WalletError> {
        find_by_prefix(self.state.records.keys(), query, "record")
    }

    /// Finds a grant by its id or an unambiguous prefix of it.
    pub fn find_grant(&self, query: &str) -> Result<GrantId, WalletError> {
        find_by_prefix(self.state.grants.keys(), query, "grant")
    }

    /// Describes one record.
    pub fn record(&self, id: &RecordId) -> Result<RecordSummary, WalletError> {
        self.summary(id)
    }

    /// Decrypts a record into `output` (streaming, constant memory). On error the caller must
    /// discard what was written.
    pub fn export_record(&self, id: &RecordId, output: impl Write) -> Result<u64, WalletError> {
        let entry = self
            .state
            .records
            .get(id)
            .ok_or_else(|| WalletError::NotFound {
                what: "record",
                query: id.to_string(),
            })?;
        let identity = self.record_identity(id)?;
        decrypt_record(
            &self.vault.records_dir(),
            id,
            entry.version,
            &identity,
            &entry.ciphertext_hash,
            output,
        )
    }

    /// Decrypts a record to the file `out`, atomically: `out` appears only if the whole record
    /// decrypted and matched its seal.
    pub fn export_record_to(&self, id: &RecordId, out: &Path) -> Result<u64, WalletError> {
        let file =
            atomic::AtomicFile::create(out).map_err(|e| WalletError::io("creating", out, e))?;
        let mut writer = std::io::BufWriter::with_capacity(256 * 1024, file);
        let n = self.export_record(id, &mut writer)?;
        let file = writer
            .into_inner()
            .map_err(|e| WalletError::io("writing", out, e.into_error()))?;
        file.commit()
            .map_err(|e| WalletError::io("writing", out, e))?;
        Ok(n)
    }

    fn record_identity(&self, id: &RecordId) -> Result<Identity, WalletError> {
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

    /// The age identities of every current record, one per line with a comment naming the
    /// record, readable by stock `age -d -i FILE` / `rage -d -i FILE`.
    pub fn age_identities(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for (id, entry) in &self.state.records {
            if let Some(secret) = self.keys.records.get(id) {
                let identity = Identity::from_bytes(*secret.0);
                out.push_str(&format!(
                    "# record {id} v{} ({})\n{}\n",
                    entry.version,
                    entry.title.replace('\n', " "),
                    identity.to_bech32().as_str()
                ));
            }
        }
        out
    }

    // ---------------------------------------------------------------- directories and nodes

    /// Pins a provider directory's key: only directories signed by pinned keys verify providers.
    pub fn trust_directory(&mut self, key: &str) -> Result<PublicKey, WalletError> {
        let key: PublicKey = key.trim().parse().map_err(|_| {
            WalletError::Invalid(format!(
                "{key:?} is not a directory key (64 hex characters)"
            ))
        })?;
        let hex = key.to_string();
        if !self.state.trusted_directories.contains(&hex) {
            self.state.trusted_directories.push(hex);
            self.save()?;
        }
        Ok(key)
    }

    /// Imports a signed provider directory (verifies its signature; trust comes from pinning).
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<SignedDirectory, WalletError> {
        let directory = SignedDirectory::from_bytes(bytes)?;
        let key = directory.document().directory_key;
        // Keep only the newest directory per key.
        self.state.directories.retain(|d| {
            SignedDirectory::from_bytes(&d.0)
                .map(|old| old.document().directory_key != key)
                .unwrap_or(false)
        });
        self.state.directories.push(ByteDoc(bytes.to_vec()));
        self.save()?;
        Ok(directory)
    }

    fn pinned_directory_keys(&self) -> Vec<PublicKey> {
        self.state
            .trusted_directories
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect()
    }

    fn directories(&self) -> Vec<SignedDirectory> {
        self.state
            .directories
            .iter()
            .filter_map(|d| SignedDirectory::from_bytes(&d.0).ok())
            .collect()
    }

    /// Pins a ledger node URL.
    pub fn pin_node(&mut self, url: &str) -> Result<(), WalletError> {
        let url = normalise_node(url)?;
        if !self.state.pinned_nodes.contains(&url) {
            self.state.pinned_nodes.push(url);
            self.save()?;
        }
        Ok(())
    }

    /// Pinned ledger node URLs.
    pub fn pinned_nodes(&self) -> &[String] {
        &self.state.pinned_nodes
    }

    // ---------------------------------------------------------------- sharing

    /// Reads and verifies a provider's access request and prepares what the patient must see.
    pub fn review_request(
        &self,
        input: RequestInput<'_>,
        now: u64,
    ) -> Result<RequestReview, WalletError> {
        let request = parse_request(input)?;
        request.check_fresh(now)?;
        let r = request.document();
        let provider = verify_provider(
            &self.directories(),
            &self.pinned_directory_keys(),
            &r.provider_name,
            &r.provider_signing,
        );
        let mut unpinned_nodes = Vec::new();
        for n in &r.nodes {
            let node = NodeRef::parse(n)?;
            self.check_request_node(&node)?;
            if self.log_of_url(&node.url).is_none() && !self.state.pinned_nodes.contains(&node.url)
            {
                unpinned_nodes.push(n.clone());
            }
        }
        let matching_records = self
            .state
            .records
            .iter()
            .filter(|(id, e)| r.scope.allows(id, e.resource_type.as_deref()))
            .map(|(id, e)| self.summary_of(id, e))
            .collect();
        Ok(RequestReview {
            request,
            provider,
            unpinned_nodes,
            matching_records,
        })
    }

    /// Approves a reviewed request: signs a grant for what the patient chose (never more than
    /// the request asks for) and builds the bundle for the provider.
    pub fn share(
        &mut self,
        review: &RequestReview,
        choice: &ShareChoice,
        now: u64,
    ) -> Result<ShareOutcome, WalletError> {
        let request = review.request.document();
        review.request.check_fresh(now)?;
        if !review.unpinned_nodes.is_empty() && !choice.confirm_nodes {
            return Err(WalletError::UnconfirmedNodes(review.unpinned_nodes.clone()));
        }
        for t in &choice.resource_types {
            if !request.scope.resource_types.iter().any(|r| r == t) {
                return Err(WalletError::Invalid(format!(
                    "the request does not ask for {t} resources"
                )));
            }
        }
        let mut records: BTreeSet<RecordId> = BTreeSet::new();
        for id in &choice.record_ids {
            let entry = self
                .state
                .records
                .get(id)
                .ok_or_else(|| WalletError::NotFound {
                    what: "record",
                    query: id.to_string(),
                })?;
            if !request.scope.allows(id, entry.resource_type.as_deref()) {
                return Err(WalletError::Invalid(format!(
                    "the request does not ask for record {id} ({})",
                    entry.title
                )));
            }
            records.insert(*id);
        }
        for (id, entry) in &self.state.records {
            if let Some(t) = &entry.resource_type {
                if choice.resource_types.contains(t) {
                    records.insert(*id);
                }
            }
        }
        if records.is_empty() {
            return Err(WalletError::EmptyShare);
        }
        let duration = match choice.duration_secs {
            Some(0) => return Err(WalletError::Invalid("duration must be positive".into())),
            Some(d) => d.min(request.duration_secs),
            None => request.duration_secs,
        };
        let grant = Grant {
            grant_id: GrantId::generate(),
            patient_signing: self.public_key(),
            provider_name: request.provider_name.clone(),
            provider_signing: request.provider_signing,
            provider_agreement: request.provider_agreement,
            request_hash: review.request.hash(),
            scope: Scope::new(choice.record_ids.clone(), choice.resource_types.clone()),
            purpose: request.purpose.clone(),
            issued_at: now,
            not_before: now,
            not_after: now.saturating_add(duration),
            nodes: request.nodes.clone(),
        };
        let grant = Signed::sign(grant, &self.signing_key())?;
        self.pin_request_nodes(&request.nodes)?;
        let grant_id = grant.document().grant_id;
        let records: Vec<RecordId> = records.into_iter().collect();
        self.state.grants.insert(
            grant_id,
            GrantEntry {
                signed: ByteDoc(grant.as_bytes().to_vec()),
                status: GrantStatus::Active,
                records: records.clone(),
                revocation: None,
                ledger: None,
            },
        );
        self.save()?;
        self.publish_grant(&grant_id, now)?;
        Ok(ShareOutcome { grant, records })
    }

    /// Wraps the current key of every record an active grant covers to the provider's X25519
    /// key, with one key agreement for the whole set.
    pub fn wrap_keys(&self, grant_id: &GrantId) -> Result<KeyWraps, WalletError> {
        let (grant, entry) = self.active_grant(grant_id)?;
        let wrapper = wrap::Wrapper::new(&grant)?;
        let mut wraps = Vec::with_capacity(entry.records.len());
        for id in &entry.records {
            // Records erased since the grant was issued are simply no longer shared.
            let Some(record) = self.state.records.get(id) else {
                continue;
            };
            let ciphertext_hash = hash32(&record.ciphertext_hash)?;
            wraps.push(KeyWrap {
                record_id: *id,
                version: record.version,
                ciphertext_hash,
                wrapped: wrapper.wrap(
                    id,
                    record.version,
                    &ciphertext_hash,
                    &self.record_identity(id)?,
                ),
            });
        }
        Ok(KeyWraps {
            ephemeral: wrapper.ephemeral(),
            wraps,
        })
    }

    /// Builds a bundle for an active grant — the grant, the key wraps and the current
    /// ciphertexts — for a provider reached offline (a file, a USB stick).
    pub fn grant_bundle(&self, grant_id: &GrantId) -> Result<Vec<u8>, WalletError> {
        let (grant, _) = self.active_grant(grant_id)?;
        let keys = self.wrap_keys(grant_id)?;
        let mut records = Vec::with_capacity(keys.wraps.len());
        for w in keys.wraps {
            let record =
                self.state
                    .records
                    .get(&w.record_id)
                    .ok_or_else(|| WalletError::NotFound {
                        what: "record",
                        query: w.record_id.to_string(),
                    })?;
            let path = record_path(&self.vault.records_dir(), &w.record_id, w.version);
            let ciphertext =
                std::fs::read(&path).map_err(|e| WalletError::io("reading", &path, e))?;
            records.push(BundledRecord {
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
            records,
        }
        .to_bytes())
    }

    fn active_grant(&self, grant_id: &GrantId) -> Result<(SignedGrant, &GrantEntry), WalletError> {
        let entry = self.grant_entry(grant_id)?;
        if entry.status != GrantStatus::Active {
            return Err(WalletError::GrantNotActive {
                grant: grant_id.to_string(),
                status: status_name(&entry.status).to_owned(),
            });
        }
        Ok((SignedGrant::from_bytes(&entry.signed.0)?, entry))
    }

    fn grant_entry(&self, grant_id: &GrantId) -> Result<&GrantEntry, WalletError> {
        self.state
            .grants
            .get(grant_id)
            .ok_or_else(|| WalletError::NotFound {
                what: "grant",
                query: grant_id.to_string(),
            })
    }

    /// Every grant, newest first, with its status at `now`.
    pub fn grants(&self, now: u64) -> Vec<GrantSummary> {
        let mut out: Vec<(u64, GrantSummary)> = self
            .state
            .grants
            .iter()
            .filter_map(|(id, e)| {
                let signed = SignedGrant::from_bytes(&e.signed.0).ok()?;
                let g = signed.document();
                // Only an ended grant can wait for nodes (one pass over the outbox each).
                let waiting_for = match e.status {
                    GrantStatus::Active => Vec::new(),
                    _ => self.grant_end_waiting_for(id),
                };
                let (status, ends_as) = match e.status {
                    GrantStatus::Active if now >= g.not_after => ("expired", None),
                    ref s if !waiting_for.is_empty() => ("ending", Some(status_name(s).to_owned())),
                    ref s => (status_name(s), None),
                };
                Some((
                    g.issued_at,
                    GrantSummary {
                        id: id.to_string(),
                        provider_name: g.provider_name.clone(),
                        provider_key: g.provider_signing.to_string(),
                        purpose: g.purpose.clone(),
                        not_before: g.not_before,
                        not_after: g.not_after,
                        status: status.to_owned(),
                        ends_as,
                        waiting_for,
                        records: e.records.iter().map(|r| r.to_string()).collect(),
                        resource_types: g.scope.resource_types.clone(),
                    },
                ))
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// The signed grant, verbatim.
    pub fn signed_grant(&self, grant_id: &GrantId) -> Result<SignedGrant, WalletError> {
        Ok(SignedGrant::from_bytes(
            &self.grant_entry(grant_id)?.signed.0,
        )?)
    }

    /// The grant as a FHIR R4 Consent resource.
    pub fn grant_consent(&self, grant_id: &GrantId) -> Result<serde_json::Value, WalletError> {
        Ok(fhir::grant_to_consent(&self.signed_grant(grant_id)?))
    }

    /// Revokes a grant: signs a revocation, re-keys every record it covered (so later versions
    /// are unreadable to that provider) and re-issues bundles for the other active grants that
    /// cover re-keyed records.
    ///
    /// The new status and every ledger write it implies (the revocation entry on each node the
    /// grant was published on, the re-issued bundles) are committed in one state write: after
    /// it, the revocation is a durable intent that every flush and sync retries until each node
    /// has acknowledged it, whatever happens to backups or the network. Until then the grant
    /// shows as "ending".
    pub fn revoke(&mut self, grant_id: &GrantId, now: u64) -> Result<RevokeOutcome, WalletError> {
        self.end_grant(grant_id, GrantStatus::Revoked { at: now }, None, now)
    }

    fn end_grant(
        &mut self,
        grant_id: &GrantId,
        status: GrantStatus,
        tombstone: Option<&SignedTombstone>,
        now: u64,
    ) -> Result<RevokeOutcome, WalletError> {
        let entry = self.grant_entry(grant_id)?.clone();
        let grant = SignedGrant::from_bytes(&entry.signed.0)?;
        let revocation = match (&entry.status, &entry.revocation) {
            (GrantStatus::Active, _) => Signed::sign(
                Revocation {
                    grant_id: *grant_id,
                    grant_hash: grant.hash(),
                    patient_signing: self.public_key(),
                    revoked_at: now,
                },
                &self.signing_key(),
            )?,
            // Erasing a revoked grant keeps its original revocation.
            (GrantStatus::Revoked { .. }, Some(r))
                if matches!(status, GrantStatus::Erased { .. }) =>
            {
                SignedRevocation::from_bytes(&r.0)?
            }
            (s, _) => {
                return Err(WalletError::GrantNotActive {
                    grant: grant_id.to_string(),
                    status: status_name(s).to_owned(),
                })
            }
        };
        let rekeyed: Vec<RecordId> = entry
            .records
            .iter()
            .filter(|id| self.state.records.contains_key(id))
            .copied()
            .collect();
        // Everything below changes the wallet in memory only, up to the one state write; a
        // failure before it puts back what is on disk, so nothing half-done is ever shown.
        let prepared =
            self.prepare_end_of_grant(grant_id, &rekeyed, status, &revocation, tombstone, now);
        let (old_versions, updated_bundles) =
            self.commit_or_reload(prepared, "grant-end.prepared")?;
        crash::point("grant-end.committed");
        self.remove_files(&old_versions);
        self.flush_outbox(now);
        let (_, backup_problems) = self.rewrite_backups_or_mark(now);
        Ok(RevokeOutcome {
            revocation,
            rekeyed,
            updated_bundles,
            waiting_for: self.grant_end_waiting_for(grant_id),
            backup_problems,
        })
    }

    /// The in-memory half of ending a grant: re-keys its records (new files, old ones returned
    /// for deletion after the commit), sets its status, queues its end on every node it was
    /// published on and the re-issued bundles of the other grants that share re-keyed records.
    fn prepare_end_of_grant(
        &mut self,
        grant_id: &GrantId,
        rekeyed: &[RecordId],
        status: GrantStatus,
        revocation: &SignedRevocation,
        tombstone: Option<&SignedTombstone>,
        now: u64,
    ) -> Result<(Vec<PathBuf>, ReissuedBundles), WalletError> {
        let old_versions = self.rekey(rekeyed)?;
        if let Some(e) = self.state.grants.get_mut(grant_id) {
            e.status = status;
            e.revocation = Some(ByteDoc(revocation.as_bytes().to_vec()));
        }
        self.publish_end_of_grant(grant_id, tombstone, now)?;
        let affected: BTreeSet<RecordId> = rekeyed.iter().copied().collect();
        let others: Vec<GrantId> = self
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
            updated_bundles.push((other, self.grant_bundle(&other)?));
            // Providers fetching through a node get the re-keyed versions too.
            self.republish_bundle(&other, now)?;
        }
        Ok((old_versions, updated_bundles))
    }

    /// Puts back the state on disk after a change failed half-way in memory. If even that
    /// fails the in-memory wallet is left as it is; the next unlock reads the disk anyway.
    fn reload_after_failure(&mut self) {
        if let Ok((state, keys)) = read_state(&self.vault) {
            self.state = state;
            self.keys = keys;
        }
    }

    /// Commits a change prepared in memory with one state write (a fresh epoch key), after
    /// the crash point `point`; if preparing or writing failed, puts back what is on disk.
    fn commit_or_reload<T>(
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

    /// The nodes that have not yet acknowledged the end of a grant: its revocation entry or
    /// the deletion of its bundle is still queued for them.
    pub(crate) fn grant_end_waiting_for(&self, grant_id: &GrantId) -> Vec<String> {
        let revocation = self
            .state
            .grants
            .get(grant_id)
            .and_then(|g| g.ledger.as_ref())
            .and_then(|l| l.pending_revocation.as_ref());
        let mut nodes: Vec<String> = self
            .state
            .outbox
            .items
            .iter()
            .filter(|i| match &i.op {
                carekey_sync::OutboxOp::Delete { grant_id: g, .. } => g == grant_id,
                carekey_sync::OutboxOp::Submit { entry, .. } => {
                    revocation.is_some_and(|r| r.0 == *entry)
                }
                _ => false,
            })
            .map(|i| i.node.clone())
            .collect();
        nodes.sort();
        nodes.dedup();
        nodes
    }

    /// Re-encrypts each record under a fresh identity as a new version (new file). Returns the
    /// paths of the old versions, to delete once the new keys are committed.
    fn rekey(&mut self, ids: &[RecordId]) -> Result<Vec<PathBuf>, WalletError> {
        let dir = self.vault.records_dir();
        let signer = self.signing_key();
        let mut old = Vec::new();
        for id in ids {
            let entry =
                self.state
                    .records
                    .get(id)
                    .cloned()
                    .ok_or_else(|| WalletError::NotFound {
                        what: "record",
                        query: id.to_string(),
                    })?;
            let old_identity = self.record_identity(id)?;
            let new_identity = Identity::generate();
            let new_version = entry.version + 1;
            let sealed = reencrypt(
                &dir,
                id,
                &entry,
                &old_identity,
                &new_identity,
                new_version,
                &signer,
            )?;
            self.keys
                .records
                .insert(*id, SecretBytes(new_identity.to_bytes()));
            let e = self.state.records.get_mut(id).expect("checked above");
            e.version = new_version;
            e.ciphertext_hash = sealed.ciphertext_hash.to_vec();
            e.seal = sealed.seal.to_vec();
            old.push(record_path(&dir, id, entry.version));
        }
        Ok(old)
    }

    fn remove_files(&self, paths: &[PathBuf]) {
        for path in paths {
            // Already unreadable: its key is gone. Leftovers are cleaned at the next unlock.
            let _ = atomic::remove(path);
        }
    }

    // ---------------------------------------------------------------- erasure

    /// Crypto-erases one record: its key leaves the key index, the epoch key that sealed the old
    /// index is destroyed, the ciphertext is deleted, known backups are re-written.
    pub fn erase_record(&mut self, id: &RecordId, now: u64) -> Result<ErasureReceipt, WalletError> {
        let entry = self
            .state
            .records
            .get(id)
            .cloned()
            .ok_or_else(|| WalletError::NotFound {
                what: "record",
                query: id.to_string(),
            })?;
        let tombstone = Signed::sign(
            Tombstone {
                patient_signing: self.public_key(),
                subject: ErasureSubject::Record { record_id: *id },
                ciphertext_hashes: vec![hash32(&entry.ciphertext_hash)?],
                erased_at: now,
            },
            &self.signing_key(),
        )?;
        let old_epoch = self.vault.epoch();
        // In memory up to the one state write that commits the erasure with all the ledger
        // work it implies; a failure before it puts back what is on disk.
        let prepared = self.prepare_record_erasure(id, &tombstone, now);
        let share_nodes = self.commit_or_reload(prepared, "record-erasure.prepared")?;
        crash::point("record-erasure.committed");
        self.remove_files(&[record_path(&self.vault.records_dir(), id, entry.version)]);
        self.flush_outbox(now);
        let (backups, backup_problems) = self.rewrite_backups_or_mark(now);
        let mut destroyed = vec![
            format!(
                "the record key in the key index (sealed anew under epoch {})",
                self.vault.epoch()
            ),
            format!(
                "the epoch {old_epoch} device secret in {}",
                self.vault.store_description()
            ),
            format!(
                "the ciphertext file {}",
                record_path(&self.vault.records_dir(), id, entry.version).display()
            ),
        ];
        destroyed.extend(
            backups
                .iter()
                .map(|b| format!("the record key in backup {} (re-written)", b.display())),
        );
        destroyed.extend(self.share_deletion(&share_nodes));
        Ok(self.receipt(
            &tombstone,
            format!("record {id} ({})", entry.title),
            destroyed,
            backup_problems,
        ))
    }

    /// The in-memory half of erasing a record: forgets it and its key, keeps the tombstone,
    /// queues the erasure entry on every pinned node, retires the backup key share and queues
    /// the bundles of active grants that shared it again without it (so the nodes' off-log
    /// copy of its ciphertext and key wrap goes too).
    fn prepare_record_erasure(
        &mut self,
        id: &RecordId,
        tombstone: &SignedTombstone,
        now: u64,
    ) -> Result<Vec<String>, WalletError> {
        self.state.records.remove(id);
        self.keys.records.remove(id);
        self.state
            .tombstones
            .push(ByteDoc(tombstone.as_bytes().to_vec()));
        self.publish_record_erasure(tombstone, now)?;
        let share_nodes = self.retire_backup_share(now);
        let sharing: Vec<GrantId> = self
            .state
            .grants
            .iter()
            .filter(|(_, g)| g.status == GrantStatus::Active && g.records.contains(id))
            .map(|(grant_id, _)| *grant_id)
            .collect();
        for grant_id in &sharing {
            self.republish_bundle(grant_id, now)?;
        }
        Ok(share_nodes)
    }

    /// Erases what was shared under one grant: ends the grant and re-keys every record it
    /// covered, so the key wraps the provider holds open nothing the wallet still keeps. Like a
    /// revocation, the erasure and every ledger write it implies are one state write.
    pub fn erase_grant(
        &mut self,
        grant_id: &GrantId,
        now: u64,
    ) -> Result<(ErasureReceipt, RevokeOutcome), WalletError> {
        let entry = self.grant_entry(grant_id)?.clone();
        let hashes: Vec<[u8; 32]> = entry
            .records
            .iter()
            .filter_map(|id| self.state.records.get(id))
            .map(|r| hash32(&r.ciphertext_hash))
            .collect::<Result<_, _>>()?;
        let old_epoch = self.vault.epoch();
        let tombstone = Signed::sign(
            Tombstone {
                patient_signing: self.public_key(),
                subject: ErasureSubject::Grant {
                    grant_id: *grant_id,
                },
                ciphertext_hashes: hashes,
                erased_at: now,
            },
            &self.signing_key(),
        )?;
        self.state
            .tombstones
            .push(ByteDoc(tombstone.as_bytes().to_vec()));
        let share_nodes = self.retire_backup_share(now);
        let outcome = match self.end_grant(
            grant_id,
            GrantStatus::Erased { at: now },
            Some(&tombstone),
            now,
        ) {
            Ok(outcome) => outcome,
            Err(e) => {
                self.reload_after_failure();
                return Err(e);
            }
        };
        let mut destroyed = vec![
            format!(
                "the keys of the {} record version(s) shared under the grant (re-keyed)",
                outcome.rekeyed.len()
            ),
            format!(
                "the epoch {old_epoch} device secret in {}",
                self.vault.store_description()
            ),
            "the ciphertext versions the provider received".to_owned(),
        ];
        destroyed.extend(self.share_deletion(&share_nodes));
        let problems = outcome.backup_problems.clone();
        Ok((
            self.receipt(&tombstone, format!("grant {grant_id}"), destroyed, problems),
            outcome,
        ))
    }

    /// Erases the whole wallet: every key, every record, every known backup, the device secrets.
    /// Returns the receipt; the wallet is gone afterwards.
    ///
    /// Before the last keys go, it signs every ledger write the erasure needs: the end of each
    /// grant still live on a node (its revocation, an erasure entry, the deletion of its
    /// bundle), the wallet's erasure entry on every pinned node, the deletion of the backup key
    /// share, plus the ending work already queued. It sends them at once; what a node did not
    /// acknowledge is kept in the erasure journal beside the vault (signed messages only, no
    /// keys), which `carekey sync` and the app keep flushing. The receipt lists it node by node.
    pub fn erase_all(mut self, now: u64) -> Result<ErasureReceipt, WalletError> {
        let hashes: Vec<[u8; 32]> = self
            .state
            .records
            .values()
            .map(|r| hash32(&r.ciphertext_hash))
            .collect::<Result<_, _>>()?;
        let tombstone = Signed::sign(
            Tombstone {
                patient_signing: self.public_key(),
                subject: ErasureSubject::Wallet,
                ciphertext_hashes: hashes,
                erased_at: now,
            },
            &self.signing_key(),
        )?;
        // Every grant a node may still serve: active, expired (the node may not have swept it
        // yet) or revoked (its bundle may still be stored).
        let live: Vec<GrantId> = self
            .state
            .grants
            .iter()
            .filter(|(_, g)| !matches!(g.status, GrantStatus::Erased { .. }))
            .map(|(id, _)| *id)
            .collect();
        for grant_id in &live {
            self.publish_end_of_grant(grant_id, Some(&tombstone), now)?;
            if let Some(g) = self.state.grants.get_mut(grant_id) {
                g.status = GrantStatus::Erased { at: now };
            }
        }
        self.publish_record_erasure(&tombstone, now)?;
        // The backup key share is deleted while it can still be signed for.
        let share_nodes = self.retire_backup_share(now);
        self.state.outbox = journal::journal_items(&self.state.outbox);
        let vault_dir = self.vault.dir().to_path_buf();
        journal::write(&vault_dir, &self.state.outbox)?;
        crash::point("erase-all.journal-written");
        self.flush_outbox(now);
        journal::write(&vault_dir, &self.state.outbox)?;
        let mut destroyed = vec![
            format!(
                "{} record keys and the identity keys",
                self.state.records.len()
            ),
            format!(
                "every device secret of the wallet in {}",
                self.vault.store_description()
            ),
            format!("the vault directory {}", self.vault.dir().display()),
        ];
        let mut problems = Vec::new();
        for backup in std::mem::take(&mut self.state.backups) {
            if backup.exists() {
                match atomic::remove(&backup) {
                    Ok(()) => destroyed.push(format!("backup {}", backup.display())),
                    Err(e) => problems.push(format!(
                        "backup {} could not be deleted ({e}): delete it yourself",
                        backup.display()
                    )),
                }
            }
        }
        destroyed.extend(self.share_deletion(&share_nodes));
        if !live.is_empty() {
            destroyed.push(format!(
                "{} grant(s) ended on their ledger nodes (revoked, bundles deleted)",
                live.len()
            ));
        }
        let mut receipt = self.receipt(&tombstone, "wallet".to_owned(), destroyed, problems);
        if !self.state.outbox.items.is_empty() {
            receipt.pending.push(format!(
                "kept in the erasure journal {} (signed messages only, no keys) and sent by every `carekey sync` until each node has them",
                journal::journal_path(&vault_dir).display()
            ));
        }
        crash::point("erase-all.before-destroy");
        let PatientWallet { vault, .. } = self;
        vault.destroy()?;
        Ok(receipt)
    }

    fn receipt(
        &self,
        tombstone: &SignedTombstone,
        subject: String,
        destroyed: Vec<String>,
        mut pending: Vec<String>,
    ) -> ErasureReceipt {
        let t = tombstone.document();
        pending.extend(self.outbox().into_iter().map(|n| {
            format!(
                "{}: {} ledger write(s) still queued ({}); retried on every sync",
                n.url,
                n.pending,
                n.last_error.as_deref().unwrap_or("not sent yet")
            )
        }));
        ErasureReceipt {
            format: RECEIPT_FORMAT.to_owned(),
            subject,
            erased_at: t.erased_at,
            patient_key: t.patient_signing.to_string(),
            tombstone: base64url(tombstone.as_bytes()),
            ciphertext_hashes: t.ciphertext_hashes.iter().map(hex::encode).collect(),
            destroyed,
            ledger: self
                .erasure_publications(tombstone)
                .into_iter()
                .filter_map(|(p, entry, salt)| {
                    let log = self.state.logs.iter().find(|l| l.pinned.url == p.node)?;
                    Some(LedgerProof {
                        node: p.node,
                        log_key: log.pinned.log_key.clone(),
                        witness_keys: log.pinned.witness_keys.clone(),
                        quorum: log.pinned.quorum,
                        index: p.index,
                        entry: base64url(&entry),
                        salt: base64url(&salt),
                        receipt: p.receipt,
                    })
                })
                .collect(),
            ledger_pending: self.state.outbox.items.len(),
            pending,
            limits: vec![
                "Copies a provider already decrypted, or printed, are out of the wallet's reach."
                    .to_owned(),
                "Plaintext or key files you exported yourself are not tracked.".to_owned(),
                if self.backups_need_share() {
                    "A backup made before this erasure — even one copied by hand — stops opening once the ledger nodes have deleted its key share; a node that keeps data it was asked to delete could still open it together with that backup and the recovery words.".to_owned()
                } else {
                    "A backup copied by hand to a place the wallet does not know, together with the recovery words, still holds the keys as they were when it was written (pin a remote ledger node so backups carry a key share that erasure deletes).".to_owned()
                },
            ],
        }
    }

    /// Signed tombstones of every erasure so far.
    pub fn tombstones(&self) -> Vec<SignedTombstone> {
        self.state
            .tombstones
            .iter()
            .filter_map(|t| SignedTombstone::from_bytes(&t.0).ok())
            .collect()
    }

    // ---------------------------------------------------------------- backups

    /// Writes an encrypted backup to `out` (sealed to the recovery kit) and remembers it, so
    /// that later erasures re-write it.
    ///
    /// With a remote ledger node pinned, the backup is also sealed with the wallet's backup key
    /// share (stored on those nodes, replaced and deleted there by every erasure), so a copy of
    /// it stops opening after an erasure. Restoring it needs one of those nodes.
    pub fn backup(&mut self, out: &Path, now: u64) -> Result<PathBuf, WalletError> {
        let out = absolute(out)?;
        if !self.state.backups.contains(&out) {
            self.state.backups.push(out.clone());
            self.save()?;
        }
        let share = self.backup_share(now)?;
        self.vault
            .write_backup_with(&out, &self.recovery_public(), share.as_ref())?;
        Ok(out)
    }

    fn recovery_public(&self) -> AgreementPublic {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(
            &self.state.recovery_public[..32.min(self.state.recovery_public.len())],
        );
        AgreementPublic::from_bytes(bytes)
    }

    /// Re-writes every known backup that still exists, so none holds a destroyed key (with the
    /// current backup key share: a new one after an erasure retired the old). Returns the
    /// backups re-written and, one line each, those that could not be; while any could not,
    /// the wallet remembers it and every sync tries again.
    fn rewrite_backups_or_mark(&mut self, now: u64) -> (Vec<PathBuf>, Vec<String>) {
        let existing: Vec<PathBuf> = self
            .state
            .backups
            .iter()
            .filter(|b| b.exists())
            .cloned()
            .collect();
        let mut written = Vec::new();
        let mut problems = Vec::new();
        if !existing.is_empty() {
            match self.backup_share(now) {
                Ok(share) => {
                    for backup in existing {
                        match self.vault.write_backup_with(
                            &backup,
                            &self.recovery_public(),
                            share.as_ref(),
                        ) {
                            Ok(()) => written.push(backup),
                            Err(e) => problems.push(format!(
                                "backup {} could not be re-written ({e}); retried on the next sync",
                                backup.display()
                            )),
                        }
                        crash::point("backup.rewritten");
                    }
                }
                Err(e) => problems.push(format!(
                    "backups could not be re-written ({e}); retried on the next sync"
                )),
            }
        }
        let stale = !problems.is_empty();
        if self.state.backups_stale != stale {
            self.state.backups_stale = stale;
            // Only a hint for the next sync; the erasure itself is already committed.
            let _ = self.save();
        }
        (written, problems)
    }

    /// Re-writes the known backups if an earlier re-write failed; returns what still fails.
    pub(crate) fn retry_stale_backups(&mut self, now: u64) -> Vec<String> {
        if !self.state.backups_stale {
            return Vec::new();
        }
        self.rewrite_backups_or_mark(now).1
    }

    /// Receipt lines for a retired backup key share: deleted on which nodes, still queued for
    /// which.
    fn share_deletion(&self, nodes: &[String]) -> Vec<String> {
        let (pending, done): (Vec<&String>, Vec<&String>) = nodes.iter().partition(|url| {
            self.state.outbox.items.iter().any(|i| {
                &i.node == *url && matches!(i.op, carekey_sync::OutboxOp::DeleteShare { .. })
            })
        });
        let mut lines = Vec::new();
        if !done.is_empty() {
            lines.push(format!(
                "the backup key share on {} (so backups made before now no longer open)",
                done.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if !pending.is_empty() {
            lines.push(format!(
                "the backup key share on {}: deletion queued (node unreachable; retried on the next sync)",
                pending.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        lines
    }

    /// Backup files this wallet knows about.
    pub fn backups(&self) -> &[PathBuf] {
        &self.state.backups
    }
}

/// The patient's state document and key index as they are on disk.
fn read_state(vault: &Vault) -> Result<(PatientState, KeyIndex), WalletError> {
    state::read_patient(vault)
}

/// Grant bundles re-issued because records they cover were re-keyed.
type ReissuedBundles = Vec<(GrantId, Vec<u8>)>;

/// The receipt format tag.
pub const RECEIPT_FORMAT: &str = "carekey-erasure-receipt/v1";

struct RecordMeta {
    name: String,
    resource_type: Option<String>,
    fhir_id: Option<String>,
    category: String,
    title: String,
    detail: Option<String>,
    date: Option<String>,
}

struct ProgressReader<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    report: &'a mut dyn FnMut(u64, u64),
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let before = self.done >> 20;
        self.done += n as u64;
        // Report every MiB and at the end (a progress bar that moves; ~3,000 reports for 3 GiB).
        if self.done >> 20 != before || n == 0 {
            (self.report)(self.done, self.total);
        }
        Ok(n)
    }
}

/// Re-encrypts one record version under a new identity without writing plaintext to disk:
/// a reader thread decrypts into a bounded in-memory pipe that the encryptor consumes.
fn reencrypt(
    dir: &Path,
    id: &RecordId,
    entry: &RecordEntry,
    old: &Identity,
    new: &Identity,
    new_version: u32,
    signer: &SigningKey,
) -> Result<crate::records::Sealed, WalletError> {
    let (mut reader, writer) = pipe::pipe();
    let dir_owned = dir.to_path_buf();
    let id_owned = *id;
    let old = old.clone();
    let version = entry.version;
    let expected = entry.ciphertext_hash.clone();
    let decryptor = std::thread::spawn(move || {
        decrypt_record(&dir_owned, &id_owned, version, &old, &expected, writer)
    });
    let sealed = encrypt_record(dir, id, new_version, new, signer, &mut reader);
    drop(reader);
    let decrypted = decryptor
        .join()
        .map_err(|_| WalletError::Invalid("re-key worker stopped unexpectedly".into()))?;
    match (decrypted, sealed) {
        (Ok(_), Ok(sealed)) => Ok(sealed),
        (Err(e), Ok(_)) => {
            let _ = atomic::remove(&record_path(dir, id, new_version));
            Err(e)
        }
        (_, Err(e)) => Err(e),
    }
}

mod pipe {
    //! A bounded in-memory byte pipe between two threads.
    use std::io::{self, Read, Write};
    use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

    pub(super) struct PipeReader {
        rx: Receiver<Vec<u8>>,
        buf: Vec<u8>,
        pos: usize,
    }

    pub(super) struct PipeWriter {
        tx: SyncSender<Vec<u8>>,
    }

    pub(super) fn pipe() -> (PipeReader, PipeWriter) {
        let (tx, rx) = sync_channel(4);
        (
            PipeReader {
                rx,
                buf: Vec::new(),
                pos: 0,
            },
            PipeWriter { tx },
        )
    }

    impl Read for PipeReader {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            while self.pos == self.buf.len() {
                match self.rx.recv() {
                    Ok(chunk) => {
                        self.buf = chunk;
                        self.pos = 0;
                    }
                    Err(_) => return Ok(0),
                }
            }
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Write for PipeWriter {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.tx
                .send(data.to_vec())
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "re-key reader stopped"))?;
            Ok(data.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

fn parse_request(input: RequestInput<'_>) -> Result<SignedRequest, WalletError> {
    match input {
        RequestInput::Uri(uri) => Ok(SignedRequest::from_uri(uri.trim())?),
        RequestInput::Bytes(bytes) => {
            let is_image = bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
            if is_image {
                let text = carekey_qr::decode(bytes)?;
                return Ok(SignedRequest::from_uri(text.trim())?);
            }
            match std::str::from_utf8(bytes) {
                Ok(text) if text.trim_start().starts_with("carekey:") => {
                    Ok(SignedRequest::from_uri(text.trim())?)
                }
                _ => Ok(SignedRequest::from_bytes(bytes)?),
            }
        }
    }
}

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

fn status_name(status: &GrantStatus) -> &'static str {
    match status {
        GrantStatus::Active => "active",
        GrantStatus::Revoked { .. } => "revoked",
        GrantStatus::Erased { .. } => "erased",
    }
}

fn category_name(c: &fhir::Category) -> &'static str {
    match c {
        fhir::Category::Allergy => "allergies",
        fhir::Category::Medication => "medications",
        fhir::Category::Condition => "conditions",
        fhir::Category::Observation => "observations",
        fhir::Category::Immunization => "immunizations",
        fhir::Category::Procedure => "procedures",
        fhir::Category::Document => "documents",
        fhir::Category::Patient => "patient",
        _ => "other",
    }
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

fn absolute(path: &Path) -> Result<PathBuf, WalletError> {
    std::path::absolute(path).map_err(|e| WalletError::io("resolving", path, e))
}

pub(crate) fn normalise_node(url: &str) -> Result<String, WalletError> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2048 {
        return Err(WalletError::Invalid(format!(
            "{url:?} is not an http(s) node URL"
        )));
    }
    Ok(url.to_owned())
}
