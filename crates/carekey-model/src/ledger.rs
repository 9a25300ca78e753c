//! The documents that go on Carekey's transparency log, and the two that travel beside it.
//!
//! An *entry* ([`Entry`]) is the COSE_Sign1 bytes of a [`GrantCommitment`],
//! [`RevocationEntry`], [`ErasureEntry`] or [`AccessEvent`] (protocol §1). Entries name grants
//! only by per-grant pseudonym keys and salted commitments: none holds a patient's or
//! provider's long-term key, a record id, a name or record content. Access details are sealed
//! to the grant's X25519 event key ([`seal_access_details`]), so only the patient's wallet
//! reads who fetched what.
//!
//! Off the log, a [`LedgerBinding`] (signed by the patient) tells a node that a grant's
//! pseudonyms belong to that grant, and a [`FetchRequest`] (signed by the provider) asks a node
//! for a grant's bundle.
//!
//! Every document follows ADR 0003: an integer-keyed deterministic CBOR map inside a
//! [`Signed`] envelope with its own content type, strict decoding, and caps. Entries are further
//! capped at [`MAX_ENTRY_BYTES`] because an entry bundle prefixes each entry with a `u16`
//! length.

mod access;
mod documents;
mod links;

pub use access::{
    open_access_details, open_v1_access_details, seal_access_details, AccessBinding, AccessDetails,
    AccessSealer,
};
pub use documents::{
    AccessEvent, ErasureEntry, FetchRequest, GrantCommitment, LedgerBinding, LinkOpenEvent,
    RevocationEntry,
};
pub use links::{
    open_link_open, seal_link_open, LinkOpenBinding, LinkOpenDetails, LinkOutcome,
    MAX_RECIPIENT_BYTES,
};

use carekey_crypto::{PublicKey, Sha256};

use crate::cbor::{Cbor, MapReader};
use crate::documents::Document;
use crate::error::DocumentError;
use crate::ids::GrantId;
use crate::signed::{Signed, SignedGrant, SignedTombstone};

/// Largest entry (its COSE_Sign1 bytes): 65,535 bytes, what an entry bundle's big-endian `u16`
/// length prefix can carry (C2SP tlog-tiles).
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;
/// Most ciphertext hashes an [`ErasureEntry`] may list. In practice [`MAX_ENTRY_BYTES`] binds
/// first, at [`ERASURE_HASHES_PER_ENTRY`].
pub const MAX_ERASURE_HASHES: usize = 10_000;
/// Most ciphertext hashes that always fit in one [`ErasureEntry`] within [`MAX_ENTRY_BYTES`]
/// (whatever `erased_at` is). A wallet erasing more ciphertexts publishes several erasure
/// entries with the same commitment, each listing at most this many hashes.
pub const ERASURE_HASHES_PER_ENTRY: usize = 1_921;
/// Largest sealed access details in an [`AccessEvent`], in bytes.
pub const MAX_SEALED_BYTES: usize = 16 * 1024;

/// Domain separator of [`grant_commitment`].
const GRANT_COMMITMENT_DOMAIN: &[u8] = b"carekey/v1/grant-commitment";
/// Domain separator of [`tombstone_commitment`].
const TOMBSTONE_COMMITMENT_DOMAIN: &[u8] = b"carekey/v1/tombstone-commitment";
/// Domain separator of [`upload_message`].
const UPLOAD_DOMAIN: &[u8] = b"carekey/v1/upload\n";
/// Domain separator of [`delete_message`].
const DELETE_DOMAIN: &[u8] = b"carekey/v1/delete\n";
const SHARE_PUT_DOMAIN: &[u8] = b"carekey/v1/backup-share/put\n";
const SHARE_DELETE_DOMAIN: &[u8] = b"carekey/v1/backup-share/delete\n";
/// CBOR tag of a COSE_Sign1 message (RFC 9052 §4.2).
const COSE_SIGN1_TAG: u64 = 18;
/// COSE header label `alg`.
const HEADER_ALG: u64 = 1;
/// COSE header label `content type`.
const HEADER_CONTENT_TYPE: u64 = 3;
/// What [`Entry::from_bytes`] reports as expected when it finds another document kind.
const ENTRY_KINDS: &str =
    "a ledger entry (application/carekey-ledger-{grant,revocation,erasure,access,link-open}+cbor)";

/// A patient's grant commitment, signed by its grant key.
pub type SignedGrantCommitment = Signed<GrantCommitment>;
/// A revocation entry, signed by the grant key.
pub type SignedRevocationEntry = Signed<RevocationEntry>;
/// An erasure entry, signed by its erasure key.
pub type SignedErasureEntry = Signed<ErasureEntry>;
/// An access event, signed by the node's log key.
pub type SignedAccessEvent = Signed<AccessEvent>;
/// A link-open event, signed by the node's log key.
pub type SignedLinkOpenEvent = Signed<LinkOpenEvent>;
/// A patient's ledger binding (off-log), signed by the patient's identity key.
pub type SignedLedgerBinding = Signed<LedgerBinding>;
/// A provider's fetch request (off-log), signed by the provider's identity key.
pub type SignedFetchRequest = Signed<FetchRequest>;

/// A log entry of any kind (what an entry bundle holds), parsed and signature-checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A grant was published.
    Grant(SignedGrantCommitment),
    /// A grant was revoked.
    Revocation(SignedRevocationEntry),
    /// Something was crypto-erased.
    Erasure(SignedErasureEntry),
    /// A provider fetched a grant's bundle.
    Access(SignedAccessEvent),
    /// A viewer asked for a SMART Health Link's manifest.
    LinkOpen(SignedLinkOpenEvent),
}

impl Entry {
    /// Parses an entry of any kind: at most [`MAX_ENTRY_BYTES`], dispatched on the protected
    /// content type, then checked exactly as [`Signed::from_bytes`] checks it (canonical
    /// encoding, signature by the entry's own key).
    ///
    /// Another document kind (a grant, a ledger binding, ...) is refused with
    /// [`DocumentError::WrongKind`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry, DocumentError> {
        if bytes.len() > MAX_ENTRY_BYTES {
            return Err(DocumentError::TooLarge {
                what: "ledger entry",
                limit: MAX_ENTRY_BYTES,
            });
        }
        let kind = content_type(bytes)?;
        match kind.as_str() {
            GrantCommitment::KIND => Signed::from_bytes(bytes).map(Entry::Grant),
            RevocationEntry::KIND => Signed::from_bytes(bytes).map(Entry::Revocation),
            ErasureEntry::KIND => Signed::from_bytes(bytes).map(Entry::Erasure),
            AccessEvent::KIND => Signed::from_bytes(bytes).map(Entry::Access),
            LinkOpenEvent::KIND => Signed::from_bytes(bytes).map(Entry::LinkOpen),
            _ => Err(DocumentError::WrongKind {
                expected: ENTRY_KINDS,
                found: kind,
            }),
        }
    }

    /// The COSE_Sign1 bytes exactly as signed or received (the log leaf is
    /// `SHA-256(0x00 ‖ these bytes)`).
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Entry::Grant(e) => e.as_bytes(),
            Entry::Revocation(e) => e.as_bytes(),
            Entry::Erasure(e) => e.as_bytes(),
            Entry::Access(e) => e.as_bytes(),
            Entry::LinkOpen(e) => e.as_bytes(),
        }
    }

    /// The grant pseudonym key the entry is about: the grant key of a grant commitment,
    /// revocation or access event, the erasure key of an erasure; `None` for a link open (see
    /// [`Entry::link_key`]).
    pub fn grant_key(&self) -> Option<PublicKey> {
        Some(match self {
            Entry::Grant(e) => e.document().grant_key,
            Entry::Revocation(e) => e.document().grant_key,
            Entry::Erasure(e) => e.document().erasure_key,
            Entry::Access(e) => e.document().grant_key,
            Entry::LinkOpen(_) => return None,
        })
    }

    /// The link pseudonym key of a link-open event.
    pub fn link_key(&self) -> Option<PublicKey> {
        match self {
            Entry::LinkOpen(e) => Some(e.document().link_key),
            _ => None,
        }
    }

    /// `"grant"`, `"revocation"`, `"erasure"`, `"access"` or `"link-open"`.
    pub fn kind(&self) -> &'static str {
        match self {
            Entry::Grant(_) => "grant",
            Entry::Revocation(_) => "revocation",
            Entry::Erasure(_) => "erasure",
            Entry::Access(_) => "access",
            Entry::LinkOpen(_) => "link-open",
        }
    }
}

impl From<SignedGrantCommitment> for Entry {
    fn from(entry: SignedGrantCommitment) -> Self {
        Entry::Grant(entry)
    }
}

impl From<SignedRevocationEntry> for Entry {
    fn from(entry: SignedRevocationEntry) -> Self {
        Entry::Revocation(entry)
    }
}

impl From<SignedErasureEntry> for Entry {
    fn from(entry: SignedErasureEntry) -> Self {
        Entry::Erasure(entry)
    }
}

impl From<SignedAccessEvent> for Entry {
    fn from(entry: SignedAccessEvent) -> Self {
        Entry::Access(entry)
    }
}

/// Reads the content type from a COSE_Sign1 message's protected header, without checking
/// anything else ([`Signed::from_bytes`] checks the rest).
fn content_type(bytes: &[u8]) -> Result<String, DocumentError> {
    let Cbor::Tag(COSE_SIGN1_TAG, message) = Cbor::decode(bytes)? else {
        return Err(DocumentError::malformed("not a tagged COSE_Sign1 message"));
    };
    let Cbor::Array(parts) = *message else {
        return Err(DocumentError::malformed("COSE_Sign1 is not an array"));
    };
    let Some(Cbor::Bytes(protected)) = parts.into_iter().next() else {
        return Err(DocumentError::malformed(
            "COSE_Sign1 has no protected header",
        ));
    };
    // Only the label is read here; Signed::from_bytes refuses any other header shape.
    let mut header = MapReader::new(Cbor::decode(&protected)?, "protected header")?;
    let _ = header.optional(HEADER_ALG);
    match header.required(HEADER_CONTENT_TYPE)? {
        Cbor::Text(kind) => Ok(kind),
        _ => Err(DocumentError::malformed("content type is not text")),
    }
}

/// The commitment a [`GrantCommitment`] publishes:
/// `SHA-256("carekey/v1/grant-commitment" ‖ salt ‖ signed grant bytes)`.
///
/// The random 32-byte salt (kept off-log, handed to the node with the grant) stops anyone
/// from confirming a guessed grant against the log.
pub fn grant_commitment(salt: &[u8; 32], grant: &SignedGrant) -> [u8; 32] {
    commitment(GRANT_COMMITMENT_DOMAIN, salt, grant.as_bytes())
}

/// The commitment an [`ErasureEntry`] publishes:
/// `SHA-256("carekey/v1/tombstone-commitment" ‖ salt ‖ signed tombstone bytes)`.
pub fn tombstone_commitment(salt: &[u8; 32], tombstone: &SignedTombstone) -> [u8; 32] {
    commitment(TOMBSTONE_COMMITMENT_DOMAIN, salt, tombstone.as_bytes())
}

fn commitment(domain: &[u8], salt: &[u8; 32], document: &[u8]) -> [u8; 32] {
    // The domain and the salt have fixed lengths, so the concatenation is unambiguous.
    let mut hash = Sha256::new();
    hash.update(domain);
    hash.update(salt);
    hash.update(document);
    hash.finalize()
}

/// What the grant key signs to upload a grant bundle (`PUT /v1/grants/<id>/bundle`):
/// `"carekey/v1/upload\n" ‖ grant id (32 lowercase hex) ‖ "\n" ‖ SHA-256 of the body (32 bytes)`.
pub fn upload_message(grant_id: &GrantId, body_hash: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(UPLOAD_DOMAIN.len() + 32 + 1 + 32);
    message.extend_from_slice(UPLOAD_DOMAIN);
    message.extend_from_slice(grant_id.to_string().as_bytes());
    message.push(b'\n');
    message.extend_from_slice(body_hash);
    message
}

/// What a backup key share's owner key signs to store it (`PUT /v1/backup-shares/<id>`):
/// `"carekey/v1/backup-share/put\n" ‖ id (32 lowercase hex) ‖ "\n" ‖ share (32 bytes)`.
pub fn share_put_message(id: &[u8; 16], share: &[u8; 32]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SHARE_PUT_DOMAIN.len() + 32 + 1 + 32);
    message.extend_from_slice(SHARE_PUT_DOMAIN);
    message.extend_from_slice(hex::encode(id).as_bytes());
    message.push(b'\n');
    message.extend_from_slice(share);
    message
}

/// What a backup key share's owner key signs to delete it (`DELETE /v1/backup-shares/<id>`):
/// `"carekey/v1/backup-share/delete\n" ‖ id (32 lowercase hex)`.
pub fn share_delete_message(id: &[u8; 16]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SHARE_DELETE_DOMAIN.len() + 32);
    message.extend_from_slice(SHARE_DELETE_DOMAIN);
    message.extend_from_slice(hex::encode(id).as_bytes());
    message
}

/// What the grant key signs to erase a grant's off-log copy (`DELETE /v1/grants/<id>`):
/// `"carekey/v1/delete\n" ‖ grant id (32 lowercase hex)`.
pub fn delete_message(grant_id: &GrantId) -> Vec<u8> {
    let mut message = Vec::with_capacity(DELETE_DOMAIN.len() + 32);
    message.extend_from_slice(DELETE_DOMAIN);
    message.extend_from_slice(grant_id.to_string().as_bytes());
    message
}
