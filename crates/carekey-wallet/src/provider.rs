//! The provider's side: an identity, signed access requests, opening grant bundles.

use std::path::Path;

use carekey_crypto::age;
use carekey_crypto::{sha256, AgreementSecret, KdfParams, PublicKey, SigningKey};
use carekey_model::{
    record_seal_message, AccessRequest, GrantBundle, GrantId, RecordId, Scope, Signed, SignedGrant,
    SignedRequest, SignedRevocation,
};
use carekey_vault::{Passphrase, SecretStore, Vault};

use crate::state::{self, ByteDoc, ProviderState, SecretBytes};
use crate::wrap::Unwrapper;
use crate::WalletError;

/// Longest request lifetime a provider may ask for: a QR code on a screen is short-lived.
const MAX_REQUEST_VALIDITY: u64 = 7 * 24 * 3600;

/// Why a provider operation failed, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProviderError {
    /// A provider (or directory) needs a name of 1 to 200 characters.
    #[error("a {what} name of 1 to 200 characters is required")]
    BadName {
        /// "provider" or "directory".
        what: &'static str,
    },
    /// A request must ask for something.
    #[error("ask for at least one record or resource type")]
    EmptyRequest,
    /// A requested grant must last some time.
    #[error("the requested duration must be positive")]
    ZeroDuration,
    /// A request's own lifetime is out of bounds.
    #[error("a request may be valid for 1 s to {max_days} days")]
    BadValidity {
        /// The longest lifetime, in days.
        max_days: u64,
    },
    /// A grant bundle (or a node's answer) was refused by the provider's checks.
    #[error("bundle refused: {0}")]
    Refused(String),
    /// The node could not be reached or answered something unusable.
    #[error("ledger: {0}")]
    Unreachable(String),
}

impl ProviderError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::BadName { .. } => "bad_name",
            ProviderError::EmptyRequest => "empty_request",
            ProviderError::ZeroDuration => "bad_duration",
            ProviderError::BadValidity { .. } => "bad_validity",
            ProviderError::Refused(_) => "refused",
            ProviderError::Unreachable(_) => "ledger",
        }
    }
}

/// What a provider asks for.
#[derive(Clone, Debug, Default)]
pub struct RequestSpec {
    /// Specific records (ids the patient told the provider about).
    pub record_ids: Vec<RecordId>,
    /// FHIR resource types, e.g. `AllergyIntolerance`.
    pub resource_types: Vec<String>,
    /// Purpose of use, shown to the patient.
    pub purpose: String,
    /// How long access should last, in seconds.
    pub duration_secs: u64,
    /// Ledger nodes the provider uses (may be empty offline).
    pub nodes: Vec<String>,
    /// How long the request itself may be answered, in seconds.
    pub valid_for_secs: u64,
}

/// One record a provider decrypted from a bundle.
#[derive(Debug)]
pub struct OpenedRecord {
    /// Record id.
    pub record_id: RecordId,
    /// Key version.
    pub version: u32,
    /// File name at the patient's side.
    pub name: String,
    /// FHIR resource type, if any.
    pub resource_type: Option<String>,
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The record's age identity, as the provider received it (`AGE-SECRET-KEY-1…`), so the
    /// provider can also use stock `age -d -i` on this version of the record.
    pub identity: zeroize::Zeroizing<String>,
}

/// A bundle the provider opened: the verified grant and exactly the granted records.
#[derive(Debug)]
pub struct OpenedBundle {
    /// The verified grant.
    pub grant: SignedGrant,
    /// The decrypted records.
    pub records: Vec<OpenedRecord>,
}

/// An unlocked provider wallet.
#[derive(Debug)]
pub struct ProviderWallet {
    vault: Vault,
    state: ProviderState,
    revoked: Vec<GrantId>,
}

impl ProviderWallet {
    /// Creates a provider identity (name, Ed25519 and X25519 keys) in `dir`.
    pub fn create(
        dir: &Path,
        name: &str,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(ProviderError::BadName { what: "provider" }.into());
        }
        crate::check_passphrase(passphrase)?;
        let vault = Vault::create(dir, passphrase, kdf, store)?;
        let mut wallet = ProviderWallet {
            vault,
            state: ProviderState {
                name: name.to_owned(),
                identity: SecretBytes(SigningKey::generate().to_bytes()),
                agreement: SecretBytes(AgreementSecret::generate().to_bytes()),
                requests: Vec::new(),
                revocations: Vec::new(),
            },
            revoked: Vec::new(),
        };
        wallet.save()?;
        Ok(wallet)
    }

    /// Unlocks the provider wallet in `dir`.
    pub fn unlock(
        dir: &Path,
        passphrase: &Passphrase,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        Self::load(Vault::unlock(dir, passphrase, store)?)
    }

    /// Unlocks with this device's keyring secret.
    pub fn unlock_with_device(
        dir: &Path,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        Self::load(Vault::unlock_with_device(dir, store)?)
    }

    fn load(vault: Vault) -> Result<Self, WalletError> {
        let state = state::read_provider(&vault)?;
        let revoked = state
            .revocations
            .iter()
            .filter_map(|r| SignedRevocation::from_bytes(&r.0).ok())
            .map(|r| r.document().grant_id)
            .collect();
        Ok(ProviderWallet {
            vault,
            state,
            revoked,
        })
    }

    fn save(&mut self) -> Result<(), WalletError> {
        let (state, keys) = state::encode_provider(&self.state)?;
        self.vault.save(&state, &keys)?;
        Ok(())
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.state.identity.0)
    }

    fn agreement_secret(&self) -> AgreementSecret {
        AgreementSecret::from_bytes(*self.state.agreement.0)
    }

    /// The provider's name.
    pub fn name(&self) -> &str {
        &self.state.name
    }

    /// The provider's identity key (what a directory lists).
    pub fn public_key(&self) -> PublicKey {
        self.signing_key().public()
    }

    /// Signs an access request and remembers it so a bundle can be matched to it.
    pub fn request(&mut self, spec: &RequestSpec, now: u64) -> Result<SignedRequest, WalletError> {
        if spec.record_ids.is_empty() && spec.resource_types.is_empty() {
            return Err(ProviderError::EmptyRequest.into());
        }
        if spec.duration_secs == 0 {
            return Err(ProviderError::ZeroDuration.into());
        }
        if spec.valid_for_secs == 0 || spec.valid_for_secs > MAX_REQUEST_VALIDITY {
            return Err(ProviderError::BadValidity {
                max_days: MAX_REQUEST_VALIDITY / 86400,
            }
            .into());
        }
        let nodes = spec
            .nodes
            .iter()
            .map(|n| crate::NodeRef::parse(n).map(|r| r.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        let request = AccessRequest {
            provider_name: self.state.name.clone(),
            provider_signing: self.public_key(),
            provider_agreement: self.agreement_secret().public(),
            scope: Scope::new(spec.record_ids.clone(), spec.resource_types.clone()),
            purpose: spec.purpose.clone(),
            duration_secs: spec.duration_secs,
            nodes,
            nonce: carekey_crypto::random_array(),
            created_at: now,
            expires_at: now.saturating_add(spec.valid_for_secs),
        };
        let signed = Signed::sign(request, &self.signing_key())?;
        self.state
            .requests
            .push(ByteDoc(signed.as_bytes().to_vec()));
        self.save()?;
        Ok(signed)
    }

    /// Records a patient's signed revocation (as a ledger node would deliver it): bundles under
    /// that grant are refused from then on.
    pub fn accept_revocation(&mut self, bytes: &[u8]) -> Result<SignedRevocation, WalletError> {
        let revocation = SignedRevocation::from_bytes(bytes)?;
        let grant_id = revocation.document().grant_id;
        if !self.revoked.contains(&grant_id) {
            self.revoked.push(grant_id);
            self.state.revocations.push(ByteDoc(bytes.to_vec()));
            self.save()?;
        }
        Ok(revocation)
    }

    /// Fetches the records of a grant through a ledger node: signs a fresh, single-use fetch
    /// request (the node logs an access event for it), then verifies and decrypts the bundle
    /// the node returns exactly as [`ProviderWallet::open`] does — the node is not trusted.
    pub fn fetch(
        &self,
        grant_id: &GrantId,
        node_url: &str,
        now: u64,
    ) -> Result<OpenedBundle, WalletError> {
        let node = crate::patient::nodes::normalise_node(node_url)?;
        let request = Signed::sign(
            carekey_model::ledger::FetchRequest {
                provider_signing: self.public_key(),
                grant_id: *grant_id,
                node: node.clone(),
                nonce: carekey_crypto::random_array(),
                requested_at: now,
            },
            &self.signing_key(),
        )?;
        let client = carekey_sync::NodeClient::new(&node)
            .map_err(|e| ProviderError::Unreachable(e.to_string()))?;
        let fetched = client
            .fetch(grant_id, request.as_bytes())
            .map_err(|e| match e {
                carekey_sync::SyncError::Status {
                    code: Some(code), ..
                } => ProviderError::Refused(format!("the node refused the fetch: {code}")),
                other => ProviderError::Unreachable(other.to_string()),
            })?;
        self.open(&fetched.bundle, now)
    }

    /// Verifies a grant bundle and decrypts exactly the granted records. Anything else — a
    /// grant for another provider or no request of ours, outside its validity window, revoked,
    /// a record outside the scope, a ciphertext that does not match the patient's seal — is
    /// refused with the reason, and nothing is decrypted.
    pub fn open(&self, bundle: &[u8], now: u64) -> Result<OpenedBundle, WalletError> {
        let bundle = GrantBundle::from_bytes(bundle)?;
        let grant = bundle.grant.document();
        if grant.provider_signing != self.public_key() {
            return Err(refused("the grant is addressed to another provider"));
        }
        if grant.provider_agreement != self.agreement_secret().public() {
            return Err(refused("the grant names another key-agreement key"));
        }
        let answered = self
            .state
            .requests
            .iter()
            .any(|r| sha256(&r.0) == grant.request_hash);
        if !answered {
            return Err(refused("the grant answers no request this provider made"));
        }
        bundle
            .grant
            .check_valid_at(now)
            .map_err(|e| ProviderError::Refused(e.to_string()))?;
        if self.revoked.contains(&grant.grant_id) {
            return Err(refused(format!(
                "grant {} was revoked by the patient",
                grant.grant_id
            )));
        }
        let unwrapper = Unwrapper::new(&self.agreement_secret(), &bundle.ephemeral, &bundle.grant)?;
        let mut records = Vec::with_capacity(bundle.records.len());
        for r in &bundle.records {
            if !grant.scope.allows(&r.record_id, r.resource_type.as_deref()) {
                return Err(refused(format!(
                    "record {} is outside the grant's scope",
                    r.record_id
                )));
            }
            if sha256(&r.ciphertext) != r.ciphertext_hash {
                return Err(refused(format!(
                    "record {} does not match its hash",
                    r.record_id
                )));
            }
            grant
                .patient_signing
                .verify(
                    &record_seal_message(&r.record_id, r.version, &r.ciphertext_hash),
                    &r.seal,
                )
                .map_err(|_| {
                    ProviderError::Refused(format!(
                        "record {} is not sealed by the patient",
                        r.record_id
                    ))
                })?;
            let identity = unwrapper.unwrap(
                &r.record_id,
                r.version,
                &r.ciphertext_hash,
                &r.wrapped_identity,
            )?;
            let mut plaintext = Vec::new();
            age::decrypt(
                std::slice::from_ref(&identity),
                &r.ciphertext[..],
                &mut plaintext,
            )?;
            records.push(OpenedRecord {
                record_id: r.record_id,
                version: r.version,
                name: r.name.clone(),
                resource_type: r.resource_type.clone(),
                plaintext,
                identity: identity.to_bech32(),
            });
        }
        Ok(OpenedBundle {
            grant: bundle.grant,
            records,
        })
    }
}

fn refused(why: impl Into<String>) -> WalletError {
    ProviderError::Refused(why.into()).into()
}
