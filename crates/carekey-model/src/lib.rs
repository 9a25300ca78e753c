//! Carekey's signed documents and the formats they travel in.
//!
//! Access requests (provider → patient, as a `carekey:` URI or QR code), grants, revocations,
//! erasure tombstones and provider directories are deterministic CBOR maps signed as
//! COSE_Sign1 / EdDSA ([`Signed`]); grants convert losslessly to and from FHIR R4 `Consent`
//! ([`fhir`]), and FHIR bundles are split and summarised for the patient, or gathered into an
//! International Patient Summary ([`fhir::ips`]). A [`GrantBundle`] is the offline file a
//! patient can hand a provider.
//!
//! [`shl`] and [`shc`] hold the HL7 SMART Health Links and Cards formats (link payloads,
//! manifests, JWE files; card QR codes, files and ES256 JWS verification against an issuer's
//! keys and revocation list), so any clinic's SHL viewer can read what the patient shares and
//! the wallet can import cards issued elsewhere.
//!
//! Depended on by the wallet (use cases), the CLI and the ledger node. All parsers
//! ([`Signed::from_bytes`], [`SignedRequest::from_uri`], [`GrantBundle::from_bytes`],
//! [`fhir::split`], [`fhir::consent_to_grant`], [`fhir::ips::check`]) return typed errors on any
//! input and never panic;
//! they are the fuzzing entry points. Time is always passed in as unix seconds.
//! Cryptography (Ed25519, SHA-256, randomness) comes from `carekey-crypto` only.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod bundle;
mod cbor;
pub mod deflate;
mod documents;
mod error;
pub mod fhir;
mod ids;
pub mod ledger;
mod provider;
pub mod shc;
pub mod shl;
mod signed;
mod time;

pub use carekey_crypto::{AgreementPublic, PublicKey, Signature};

pub use bundle::{BundledRecord, GrantBundle, BUNDLE_MAGIC};
pub use documents::{
    AccessRequest, Directory, DirectoryEntry, Document, ErasureSubject, Grant, Revocation, Scope,
    Tombstone,
};
pub use error::DocumentError;
pub use ids::{GrantId, ParseIdError, RecordId};
pub use provider::{provider_code, verify_provider, ProviderVerification};
pub use signed::{
    Signed, SignedDirectory, SignedGrant, SignedRequest, SignedRevocation, SignedTombstone,
    REQUEST_URI_PREFIX,
};
pub use time::format_utc;

pub mod limits {
    //! Caps on every input, so hostile documents cannot exhaust memory or time.
    //!
    //! Sized for real use: the product must grant 1,000 records at once, so a scope may list
    //! [`MAX_SCOPE_RECORDS`] ids (17 bytes each in CBOR), which is why a document may reach
    //! [`MAX_DOCUMENT_BYTES`] rather than a few KiB. Access requests meant for QR codes stay far
    //! smaller in practice (a QR code holds at most 2,953 bytes).

    /// Largest COSE_Sign1 message (and payload) accepted: 1 MiB.
    pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;
    /// Most record ids in one scope.
    pub const MAX_SCOPE_RECORDS: usize = 10_000;
    /// Most resource types in one scope.
    pub const MAX_SCOPE_TYPES: usize = 64;
    /// Longest resource type name, in bytes.
    pub const MAX_RESOURCE_TYPE_BYTES: usize = 64;
    /// Longest provider, directory or record name, in bytes.
    pub const MAX_NAME_BYTES: usize = 256;
    /// Longest purpose text, in bytes.
    pub const MAX_PURPOSE_BYTES: usize = 1024;
    /// Most node URLs in a request or grant.
    pub const MAX_NODES: usize = 16;
    /// Longest node URL, in bytes.
    pub const MAX_NODE_URL_BYTES: usize = 2048;
    /// Most ciphertext hashes in one tombstone.
    pub const MAX_TOMBSTONE_HASHES: usize = 20_000;
    /// Most providers in one directory.
    pub const MAX_DIRECTORY_PROVIDERS: usize = 2_000;
    /// Latest timestamp accepted: 9999-12-31T23:59:59Z (so every time has an RFC 3339 form).
    pub const MAX_TIMESTAMP: u64 = 253_402_300_799;
    /// Longest `carekey:` URI, in bytes.
    pub const MAX_URI_BYTES: usize = 16 * 1024;
    /// How far in the future an access request's `created_at` may be (clock skew), in seconds.
    pub const REQUEST_CLOCK_SKEW_SECS: u64 = 300;
    /// Largest grant bundle file: 256 MiB.
    pub const MAX_BUNDLE_BYTES: usize = 256 << 20;
    /// Most records in one grant bundle.
    pub const MAX_BUNDLE_RECORDS: usize = 10_000;
    /// Largest wrapped identity in a grant bundle, in bytes.
    pub const MAX_WRAPPED_IDENTITY_BYTES: usize = 4096;
}

/// Domain separator of [`record_seal_message`].
const RECORD_SEAL_DOMAIN: &[u8] = b"carekey/v1/record-seal\0";

/// The bytes a patient signs for each record ciphertext (age has no sender authentication):
/// `"carekey/v1/record-seal\0" || record id (16) || version (u32 big-endian) || SHA-256 of the ciphertext (32)`.
/// Every field has a fixed length, so the encoding is unambiguous.
pub fn record_seal_message(
    record_id: &RecordId,
    version: u32,
    ciphertext_hash: &[u8; 32],
) -> Vec<u8> {
    let mut message = Vec::with_capacity(RECORD_SEAL_DOMAIN.len() + 16 + 4 + 32);
    message.extend_from_slice(RECORD_SEAL_DOMAIN);
    message.extend_from_slice(&record_id.0);
    message.extend_from_slice(&version.to_be_bytes());
    message.extend_from_slice(ciphertext_hash);
    message
}
