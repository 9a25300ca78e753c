//! What sharing speaks in: a provider's request under review, the patient's choice, a grant
//! as the patient sees it, the results of sharing and revoking, and what can go wrong.

use carekey_crypto::AgreementPublic;
use carekey_model::{
    GrantId, ProviderVerification, RecordId, SignedGrant, SignedRequest, SignedRevocation,
};

use super::records::RecordSummary;
use crate::state::GrantStatus;

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
    /// A shortened grant must end after now and before its current end.
    #[error("the new end must be after now and before the sharing's current end")]
    BadEnd,
    /// A grant can be shortened once; to end it sooner still, end it now.
    #[error("this sharing was already shortened; end it now to stop it sooner")]
    AlreadyShortened,
    /// A directory file is not signed by the key the patient gave for it.
    #[error("this directory file is not signed by the key you gave: check both came from the same source")]
    DirectoryKeyMismatch,
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
            ShareError::DirectoryKeyMismatch => "directory_key_mismatch",
            ShareError::BadEnd => "bad_end",
            ShareError::AlreadyShortened => "already_shortened",
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
        GrantEnd::of(status).map_or(GrantState::Active, GrantState::from)
    }
}

impl From<GrantEnd> for GrantState {
    fn from(end: GrantEnd) -> Self {
        match end {
            GrantEnd::Revoked => GrantState::Revoked,
            GrantEnd::Erased => GrantState::Erased,
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

impl GrantEnd {
    /// How a stored grant ended, if it did.
    pub(super) fn of(status: &GrantStatus) -> Option<Self> {
        match status {
            GrantStatus::Active => None,
            GrantStatus::Revoked { .. } => Some(GrantEnd::Revoked),
            GrantStatus::Erased { .. } => Some(GrantEnd::Erased),
        }
    }
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
    /// End of validity (unix seconds), as signed in the grant.
    pub not_after: u64,
    /// The earlier end the patient chose, once the grant was shortened.
    pub ends_early: Option<u64>,
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

impl GrantSummary {
    /// When the grant stops: its shortened end, or the end signed in it.
    pub fn ends_at(&self) -> u64 {
        self.ends_early
            .map_or(self.not_after, |t| t.min(self.not_after))
    }
}

/// The result of shortening a grant.
#[derive(Debug)]
pub struct ShortenOutcome {
    /// The shortened grant.
    pub grant_id: GrantId,
    /// Its new end (unix seconds).
    pub ends_at: u64,
    /// Nodes that have not yet acknowledged the new end (each keeps serving the grant until
    /// its original end until it does; retried on every sync).
    pub waiting_for: Vec<String>,
    /// Backups that could not be re-written (retried on the next sync).
    pub backup_problems: Vec<String>,
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

/// A provider directory the patient trusts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryInfo {
    /// The directory's key (hex), as pinned.
    pub key: String,
    /// Its name, once a directory signed by the key was imported.
    pub name: Option<String>,
    /// How many providers it lists.
    pub providers: usize,
    /// When the imported edition was issued (unix seconds).
    pub signed_at: Option<u64>,
}
