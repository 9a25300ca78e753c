//! The one error type of the crate: every way a read, a verification or a write can fail.

use carekey_ledger::{NoteError, ProofError};
use carekey_model::DocumentError;
use thiserror::Error;

use crate::verify::Evidence;

/// Why a sync, a receipt check or a write to a node failed.
///
/// Verification failures ([`Rollback`](Self::Rollback), [`SplitView`](Self::SplitView),
/// [`Inconsistent`](Self::Inconsistent)) carry the [`Evidence`] the wallet must keep and show;
/// after any error the caller keeps its previous [`LogState`](crate::LogState).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SyncError {
    /// A node or mirror URL is not an absolute `http` or `https` URL.
    #[error("not a usable node URL {url:?}: {reason}")]
    BadUrl {
        /// The URL as given.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// The request did not get an HTTP answer (connection refused, DNS, TLS, timeout, …), or a
    /// file of a mirror on disk could not be read.
    #[error("could not reach {url}: {reason}")]
    Http {
        /// The URL (or path) asked for.
        url: String,
        /// What went wrong, as the transport reported it.
        reason: String,
    },
    /// The server answered with an error status; `code` is the node's JSON error code
    /// (`"revoked"`, `"expired"`, …) when it sent one.
    #[error("{url} answered {status}{}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The `code` field of the node's JSON error body, if any.
        code: Option<String>,
    },
    /// A checkpoint, tile or bundle is not there (HTTP 404 or a missing file).
    #[error("{url} not found")]
    NotFound {
        /// The URL or path asked for.
        url: String,
    },
    /// A response (or file) is larger than what this kind of resource can legitimately be.
    #[error("{url} is larger than the {limit} bytes allowed")]
    TooLarge {
        /// The URL or path asked for.
        url: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// A node's success response is not what the protocol says (bad JSON, missing field, …).
    #[error("unexpected response from {url}: {reason}")]
    BadResponse {
        /// The URL asked for.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A pinned log or witness key does not parse, or has the wrong type for its role.
    #[error("pinned key rejected: {0}")]
    BadPin(#[source] NoteError),
    /// The checkpoint failed strict parsing or signature checks against the pinned keys
    /// (LEDGER-CHECKS 1–3: no valid log signature, a bad signature by a known key, a control
    /// character, too many signature lines, a cosignature dated in the future, …).
    #[error("checkpoint rejected: {0}")]
    BadCheckpoint(#[source] NoteError),
    /// Fewer distinct pinned witnesses cosigned the checkpoint than the quorum requires.
    #[error("checkpoint cosigned by {have} trusted witnesses, {need} required")]
    NoQuorum {
        /// Distinct pinned witnesses with a valid cosignature.
        have: usize,
        /// The pinned quorum.
        need: usize,
    },
    /// The newest trusted cosignature is older than the pinned freshness bound: the source may
    /// be freezing the wallet in the past.
    #[error("newest witness cosignature is {age} s old, more than the {max} s allowed")]
    Stale {
        /// Seconds between the newest trusted cosignature and now.
        age: u64,
        /// The pinned `max_age_secs`.
        max: u64,
    },
    /// The checkpoint names another log than the one the stored state was built from.
    #[error("checkpoint origin {found:?} is not the stored log {stored:?}")]
    OriginMismatch {
        /// The origin of the stored checkpoint.
        stored: String,
        /// The origin of the new checkpoint.
        found: String,
    },
    /// The stored state does not open under the pinned log key or contradicts itself (it was
    /// not written by [`sync`](crate::sync) for this log).
    #[error("stored log state unusable: {reason}")]
    BadState {
        /// What was wrong.
        reason: &'static str,
    },
    /// The log shows a smaller tree than the wallet already verified.
    #[error("rollback: {}", evidence.detail)]
    Rollback {
        /// Both signed checkpoints, to keep and show.
        evidence: Evidence,
    },
    /// The log shows a different tree of the same size as the one the wallet already verified:
    /// two views of one log, each signed by the pinned key.
    #[error("split view: {}", evidence.detail)]
    SplitView {
        /// Both signed checkpoints, to keep and show.
        evidence: Evidence,
    },
    /// Verified tiles prove the stored checkpoint is not a prefix of the new one (a fork).
    #[error("inconsistent log: {}", evidence.detail)]
    Inconsistent {
        /// Both signed checkpoints, to keep and show.
        evidence: Evidence,
    },
    /// One of the wallet's own entries is not at its index under the signed root.
    #[error("entry {index} of this wallet is missing from the log")]
    WithheldEntry {
        /// The index the entry was acknowledged at.
        index: u64,
        /// The signed checkpoint that leaves it out, verbatim (evidence beside the receipt).
        checkpoint: String,
    },
    /// A hash tile or entry bundle does not match the signed root (the source altered or
    /// substituted it).
    #[error("tile {path} does not match the signed root")]
    TamperedTile {
        /// The tile's path (for the root tiles, all of them, comma-separated).
        path: String,
    },
    /// A hash tile or entry bundle is malformed (wrong length, truncated, wrong entry count).
    #[error("tile {path} is malformed: {reason}")]
    BadTile {
        /// The tile's path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// An entry that names a watched key does not parse or its signature does not verify.
    #[error("log entry {index} rejected: {reason}")]
    BadEntry {
        /// The entry's index.
        index: u64,
        /// Why the model refused it.
        #[source]
        reason: DocumentError,
    },
    /// A queued outbox write cannot be sent as it is (e.g. its signature is not 64 bytes).
    #[error("outbox item cannot be sent: {reason}")]
    InvalidItem {
        /// What was wrong.
        reason: String,
    },
    /// A `tlog-proof` receipt is malformed or does not prove the entry under its checkpoint.
    #[error("receipt rejected: {0}")]
    BadReceipt(#[source] ProofError),
    /// A node acknowledged a submission at one index and sent a receipt for another.
    #[error("receipt rejected: the node acknowledged index {acknowledged} but its receipt proves index {proved}")]
    ReceiptIndex {
        /// The index the node answered.
        acknowledged: u64,
        /// The index the receipt is for.
        proved: u64,
    },
}

impl SyncError {
    /// Whether trying the same request again later may succeed: transport failures, `408`,
    /// `429` and `5xx` statuses, missing resources and garbled answers are transient; other
    /// `4xx` statuses and verification failures are not.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Http { .. }
            | SyncError::NotFound { .. }
            | SyncError::BadResponse { .. }
            | SyncError::TooLarge { .. } => true,
            SyncError::Status { status, .. } => {
                *status == 408 || *status == 429 || *status >= 500 || *status < 400
            }
            _ => false,
        }
    }

    /// The evidence a verification failure carries, if any.
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            SyncError::Rollback { evidence }
            | SyncError::SplitView { evidence }
            | SyncError::Inconsistent { evidence } => Some(evidence),
            _ => None,
        }
    }
}
