//! The one error type of document parsing, signing and validity checks.

use crate::ids::RecordId;

/// Why a signed document, URI or grant bundle was refused.
///
/// Every parser in this crate returns this type; none of them panics on bad input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The bytes are not the expected CBOR/COSE structure (wrong type, missing or unknown field, bad length, trailing bytes...).
    #[error("malformed document: {what}")]
    Malformed {
        /// What was wrong, in protocol terms.
        what: String,
    },
    /// The bytes decode, but are not the one deterministic (RFC 8949 §4.2.1) encoding of what they contain.
    #[error("document is not in canonical deterministic CBOR")]
    NotCanonical,
    /// The COSE content type names a different document kind than the one asked for.
    #[error("wrong document kind: expected {expected}, found {found}")]
    WrongKind {
        /// The content type that was expected.
        expected: &'static str,
        /// The content type found in the protected header.
        found: String,
    },
    /// The Ed25519 signature does not verify (strictly) under the document's own signer key.
    #[error("signature does not verify")]
    BadSignature,
    /// The signing key is not the key the document names as its signer.
    #[error("the signing key is not the document's signer")]
    WrongSigner,
    /// The document is not valid yet at `now`.
    #[error("not valid yet: valid from {not_before}, now is {now}")]
    NotYetValid {
        /// The time asked about (unix seconds).
        now: u64,
        /// The first second the document is valid (unix seconds).
        not_before: u64,
    },
    /// The document has expired at `now`.
    #[error("expired: valid until {not_after}, now is {now}")]
    Expired {
        /// The time asked about (unix seconds).
        now: u64,
        /// The first second the document is no longer valid (unix seconds).
        not_after: u64,
    },
    /// A `carekey:` URI could not be read.
    #[error("not a Carekey request URI: {reason}")]
    BadUri {
        /// Why the URI was refused.
        reason: String,
    },
    /// The input, or one of its lists or strings, exceeds a documented cap.
    #[error("too large: {what} exceeds the limit of {limit}")]
    TooLarge {
        /// Which field or input.
        what: &'static str,
        /// The limit (bytes or items).
        limit: usize,
    },
    /// A record in a grant bundle fails its checks (hash, patient seal or grant scope).
    #[error("bundled record {record_id}: {reason}")]
    BadRecord {
        /// The record concerned.
        record_id: RecordId,
        /// Which check failed.
        reason: &'static str,
    },
}

impl DocumentError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Self::Malformed { what: what.into() }
    }
}
