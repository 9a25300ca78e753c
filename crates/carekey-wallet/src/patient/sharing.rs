//! Sharing: reading a provider's request, granting what the patient chose, the key wraps and
//! bundles a provider opens, the grants list, and ending a grant (revocation, and the grant
//! side of an erasure). Ending a grant is one state write holding every ledger write it
//! implies; sending them is the ledger agent's job, outside the wallet lock.

use std::collections::BTreeSet;

use carekey_crypto::AgreementPublic;
use carekey_model::fhir;
use carekey_model::{
    verify_provider, Grant, GrantId, ProviderVerification, RecordId, Scope, Signed,
    SignedDirectory, SignedGrant, SignedRequest, SignedRevocation,
};

use super::link::NodeRef;
use super::records::RecordSummary;
use super::session::PatientSession;
use super::{bundles, ending, nodes, publish, records};
use crate::state::{ByteDoc, GrantEntry, GrantStatus};
use crate::WalletError;

/// Why a sharing operation failed, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// The request names nodes the patient has not pinned and did not confirm.
    #[error("the request names nodes you have not pinned: {0:?}; confirm them to continue")]
    UnconfirmedNodes(Vec<String>),
    /// The patient chose nothing to share.
    #[error("nothing to share: choose records or resource types the request asks for")]
    EmptyShare,
    /// The patient chose something the request does not ask for (a grant never gives more).
    #[error("the request does not ask for {what}")]
    NotRequested {
        /// The record or resource type chosen.
        what: String,
    },
    /// A grant must last some time.
    #[error("duration must be positive")]
    ZeroDuration,
    /// The grant is not active (already revoked or erased).
    #[error("grant {grant} is {status}")]
    GrantNotActive {
        /// The grant id.
        grant: GrantId,
        /// Where it stands.
        status: GrantState,
    },
    /// A directory key is not a public key.
    #[error("{0:?} is not a directory key (64 hex characters)")]
    BadDirectoryKey(String),
}

impl ShareError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            ShareError::UnconfirmedNodes(_) => "unconfirmed_nodes",
            ShareError::EmptyShare => "empty_share",
            ShareError::NotRequested { .. } => "not_requested",
            ShareError::ZeroDuration => "bad_duration",
            ShareError::GrantNotActive { .. } => "grant_not_active",
            ShareError::BadDirectoryKey(_) => "bad_key",
        }
    }
}

/// Where a request came from: a `carekey:` link, a QR image, or a file holding either.
#[derive(Debug)]
pub enum RequestInput<'a> {
    /// A `carekey:` URI (pasted or scanned).
    Uri(&'a str),
    /// Raw bytes: a PNG/JPEG QR image, a text file with the URI, or the COSE bytes.
    Bytes(&'a [u8]),
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

impl ShareChoice {
    /// Whether this choice shares `record` (chosen one by one, or by its resource type).
    pub fn covers(&self, record: &RecordSummary) -> bool {
        self.record_ids.contains(&record.id)
            || record
                .resource_type
                .as_ref()
                .is_some_and(|t| self.resource_types.contains(t))
    }

    /// Whether the patient picked nothing one by one (then [`Self::everything_asked`] applies).
    pub fn is_empty(&self) -> bool {
        self.record_ids.is_empty() && self.resource_types.is_empty()
    }

    /// The default answer to a request, when the patient picks nothing one by one: every
    /// resource type the request asks for, and every record it names that the wallet holds
    /// (the grant never covers more than the request asks).
    pub fn everything_asked(review: &RequestReview) -> Self {
        let scope = &review.request.document().scope;
        ShareChoice {
            record_ids: scope
                .record_ids
                .iter()
                .filter(|id| review.matching_records.iter().any(|r| r.id == **id))
                .copied()
                .collect(),
            resource_types: scope.resource_types.clone(),
            duration_secs: None,
            confirm_nodes: false,
        }
    }
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

/// Where a grant stands, as the patient sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantState {
    /// In force.
    Active,
    /// Past its end date.
    Expired,
    /// Ended here, not yet acknowledged by every node it was published on.
    Ending,
    /// Revoked, and every node it was published on has the revocation.
    Revoked,
    /// Erased, and every node it was published on has the erasure.
    Erased,
}

impl GrantState {
    /// The word shown to the patient (also the JSON form).
    pub fn as_str(self) -> &'static str {
        match self {
            GrantState::Active => "active",
            GrantState::Expired => "expired",
            GrantState::Ending => "ending",
            GrantState::Revoked => "revoked",
            GrantState::Erased => "erased",
        }
    }
}

impl GrantState {
    /// The state of a grant by its stored status alone (no clock, no outbox).
    pub(super) fn of_ended(status: &GrantStatus) -> Self {
        match status {
            GrantStatus::Active => GrantState::Active,
            GrantStatus::Revoked { .. } => GrantState::Revoked,
            GrantStatus::Erased { .. } => GrantState::Erased,
        }
    }
}

impl std::fmt::Display for GrantState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an ending grant ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantEnd {
    /// By a revocation.
    Revoked,
    /// By an erasure.
    Erased,
}

/// A grant as the patient sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct GrantSummary {
    /// Grant id.
    pub id: GrantId,
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
    /// Where it stands at the time asked.
    pub status: GrantState,
    /// For an ending grant: what it ends as.
    pub ends_as: Option<GrantEnd>,
    /// For an ending grant: the nodes that have not yet acknowledged its end (they may still
    /// serve it to the provider until they do).
    pub waiting_for: Vec<String>,
    /// Records shared under the grant.
    pub records: Vec<RecordId>,
    /// Resource types shared under the grant.
    pub resource_types: Vec<String>,
}

/// The result of a revocation.
#[derive(Debug)]
pub struct RevokeOutcome {
    /// The revoked grant.
    pub grant_id: GrantId,
    /// The signed revocation (to publish, or hand to the provider).
    pub revocation: SignedRevocation,
    /// Records re-keyed so later versions are unreadable to the revoked provider.
    pub rekeyed: Vec<RecordId>,
    /// Fresh bundles for the other active grants that cover re-keyed records.
    pub updated_bundles: Vec<(GrantId, Vec<u8>)>,
    /// Nodes that have not yet acknowledged the end of the grant (kept queued and retried on
    /// every sync; empty when every node has). Right after the revocation this is every node
    /// the grant was published on; [`Sharing::waiting_for`] tells it again after the ledger
    /// agent has sent the writes.
    pub waiting_for: Vec<String>,
    /// Backups that could not be re-written (retried on the next sync).
    pub backup_problems: Vec<String>,
}

/// Requests, grants and their ends. Borrow it with
/// [`PatientWallet::sharing`](super::PatientWallet::sharing).
#[derive(Debug)]
pub struct Sharing<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl Sharing<'_> {
    /// Pins a provider directory's key: only directories signed by pinned keys verify providers.
    pub fn trust_directory(&mut self, key: &str) -> Result<carekey_crypto::PublicKey, WalletError> {
        let key: carekey_crypto::PublicKey = key
            .trim()
            .parse()
            .map_err(|_| ShareError::BadDirectoryKey(key.to_owned()))?;
        let hex = key.to_string();
        if !self.s.state.trusted_directories.contains(&hex) {
            self.s.state.trusted_directories.push(hex);
            self.s.save()?;
        }
        Ok(key)
    }

    /// Imports a signed provider directory (verifies its signature; trust comes from pinning).
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<SignedDirectory, WalletError> {
        let directory = SignedDirectory::from_bytes(bytes)?;
        let key = directory.document().directory_key;
        // Keep only the newest directory per key.
        self.s.state.directories.retain(|d| {
            SignedDirectory::from_bytes(&d.0)
                .map(|old| old.document().directory_key != key)
                .unwrap_or(false)
        });
        self.s.state.directories.push(ByteDoc(bytes.to_vec()));
        self.s.save()?;
        Ok(directory)
    }

    /// Reads and verifies a provider's access request and prepares what the patient must see.
    pub fn review_request(
        &self,
        input: RequestInput<'_>,
        now: u64,
    ) -> Result<RequestReview, WalletError> {
        let request = parse_request(input)?;
        request.check_fresh(now)?;
        let r = request.document();
        let directories: Vec<SignedDirectory> = self
            .s
            .state
            .directories
            .iter()
            .filter_map(|d| SignedDirectory::from_bytes(&d.0).ok())
            .collect();
        let pinned_keys: Vec<carekey_crypto::PublicKey> = self
            .s
            .state
            .trusted_directories
            .iter()
            .filter_map(|k| k.parse().ok())
            .collect();
        let provider = verify_provider(
            &directories,
            &pinned_keys,
            &r.provider_name,
            &r.provider_signing,
        );
        let mut unpinned_nodes = Vec::new();
        for n in &r.nodes {
            let node = NodeRef::parse(n)?;
            nodes::check_request_node(self.s, &node)?;
            if nodes::log_of_url(self.s, &node.url).is_none()
                && !self.s.state.pinned_nodes.contains(&node.url)
            {
                unpinned_nodes.push(n.clone());
            }
        }
        let matching_records = self
            .s
            .state
            .records
            .iter()
            .filter(|(id, e)| r.scope.allows(id, e.resource_type.as_deref()))
            .map(|(id, e)| records::summary_of(self.s, id, e))
            .collect();
        Ok(RequestReview {
            request,
            provider,
            unpinned_nodes,
            matching_records,
        })
    }

    /// Approves a reviewed request: signs a grant for what the patient chose (never more than
    /// the request asks for), builds the bundle for the provider and queues its publication on
    /// the grant's nodes (sent by the ledger agent).
    pub fn share(
        &mut self,
        review: &RequestReview,
        choice: &ShareChoice,
        now: u64,
    ) -> Result<ShareOutcome, WalletError> {
        let request = review.request.document();
        review.request.check_fresh(now)?;
        if !review.unpinned_nodes.is_empty() && !choice.confirm_nodes {
            return Err(ShareError::UnconfirmedNodes(review.unpinned_nodes.clone()).into());
        }
        for t in &choice.resource_types {
            if !request.scope.resource_types.iter().any(|r| r == t) {
                return Err(ShareError::NotRequested {
                    what: format!("{t} resources"),
                }
                .into());
            }
        }
        let mut chosen: BTreeSet<RecordId> = BTreeSet::new();
        for id in &choice.record_ids {
            let entry = records::entry(self.s, id)?;
            if !request.scope.allows(id, entry.resource_type.as_deref()) {
                return Err(ShareError::NotRequested {
                    what: format!("record {id} ({})", entry.title),
                }
                .into());
            }
            chosen.insert(*id);
        }
        for (id, entry) in &self.s.state.records {
            if let Some(t) = &entry.resource_type {
                if choice.resource_types.contains(t) {
                    chosen.insert(*id);
                }
            }
        }
        if chosen.is_empty() {
            return Err(ShareError::EmptyShare.into());
        }
        let duration = match choice.duration_secs {
            Some(0) => return Err(ShareError::ZeroDuration.into()),
            Some(d) => d.min(request.duration_secs),
            None => request.duration_secs,
        };
        let grant = Grant {
            grant_id: GrantId::generate(),
            patient_signing: self.s.public_key(),
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
        let grant = Signed::sign(grant, &self.s.signing_key())?;
        nodes::pin_request_nodes(self.s, &request.nodes)?;
        let grant_id = grant.document().grant_id;
        let records: Vec<RecordId> = chosen.into_iter().collect();
        self.s.state.grants.insert(
            grant_id,
            GrantEntry {
                signed: ByteDoc(grant.as_bytes().to_vec()),
                status: GrantStatus::Active,
                records: records.clone(),
                revocation: None,
                ledger: None,
            },
        );
        publish::grant(self.s, &grant_id, now)?;
        self.s.save()?;
        Ok(ShareOutcome { grant, records })
    }

    /// Wraps the current key of every record an active grant covers to the provider's X25519
    /// key, with one key agreement for the whole set.
    pub fn wrap_keys(&self, grant_id: &GrantId) -> Result<KeyWraps, WalletError> {
        bundles::wrap_keys(self.s, grant_id)
    }

    /// Builds a bundle for an active grant — the grant, the key wraps and the current
    /// ciphertexts — for a provider reached offline (a file, a USB stick).
    pub fn grant_bundle(&self, grant_id: &GrantId) -> Result<Vec<u8>, WalletError> {
        bundles::grant_bundle(self.s, grant_id)
    }

    /// Finds a grant by its id or an unambiguous prefix of it.
    pub fn find(&self, query: &str) -> Result<GrantId, WalletError> {
        super::find_by_prefix(self.s.state.grants.keys(), query, "grant")
    }

    /// Every grant, newest first, with its status at `now`.
    pub fn list(&self, now: u64) -> Vec<GrantSummary> {
        let mut out: Vec<(u64, GrantSummary)> = self
            .s
            .state
            .grants
            .iter()
            .filter_map(|(id, e)| {
                let signed = SignedGrant::from_bytes(&e.signed.0).ok()?;
                let g = signed.document();
                // Only an ended grant can wait for nodes (one pass over the outbox each).
                let waiting_for = match e.status {
                    GrantStatus::Active => Vec::new(),
                    _ => ending::waiting_for(self.s, id),
                };
                let ended = match e.status {
                    GrantStatus::Active => None,
                    GrantStatus::Revoked { .. } => Some(GrantEnd::Revoked),
                    GrantStatus::Erased { .. } => Some(GrantEnd::Erased),
                };
                let (status, ends_as) = match ended {
                    None if now >= g.not_after => (GrantState::Expired, None),
                    None => (GrantState::Active, None),
                    Some(end) if !waiting_for.is_empty() => (GrantState::Ending, Some(end)),
                    Some(GrantEnd::Revoked) => (GrantState::Revoked, None),
                    Some(GrantEnd::Erased) => (GrantState::Erased, None),
                };
                Some((
                    g.issued_at,
                    GrantSummary {
                        id: *id,
                        provider_name: g.provider_name.clone(),
                        provider_key: g.provider_signing.to_string(),
                        purpose: g.purpose.clone(),
                        not_before: g.not_before,
                        not_after: g.not_after,
                        status,
                        ends_as,
                        waiting_for,
                        records: e.records.clone(),
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
        self.s.signed_grant(grant_id)
    }

    /// The grant as a FHIR R4 Consent resource.
    pub fn consent(&self, grant_id: &GrantId) -> Result<serde_json::Value, WalletError> {
        Ok(fhir::grant_to_consent(&self.s.signed_grant(grant_id)?))
    }

    /// The nodes that have not yet acknowledged the end of a grant.
    pub fn waiting_for(&self, grant_id: &GrantId) -> Vec<String> {
        ending::waiting_for(self.s, grant_id)
    }

    /// Revokes a grant: signs a revocation, re-keys every record it covered (so later versions
    /// are unreadable to that provider) and re-issues bundles for the other active grants that
    /// cover re-keyed records.
    ///
    /// The new status and every ledger write it implies (the revocation entry on each node the
    /// grant was published on, the re-issued bundles) are committed in one state write: after
    /// it, the revocation is a durable intent that the ledger agent retries until each node
    /// has acknowledged it, whatever happens to backups or the network. Until then the grant
    /// shows as "ending".
    pub fn revoke(&mut self, grant_id: &GrantId, now: u64) -> Result<RevokeOutcome, WalletError> {
        ending::end_grant(
            self.s,
            grant_id,
            GrantStatus::Revoked { at: now },
            None,
            now,
        )
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
