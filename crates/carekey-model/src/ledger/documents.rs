//! The six ledger documents and their deterministic CBOR encodings.
//!
//! Same rules as the other documents (ADR 0003): integer-keyed maps in ascending key order,
//! field numbers listed next to each field and never reused, strict decoding that re-encodes
//! and compares bytes.

use carekey_crypto::{AgreementPublic, PublicKey, SEAL_OVERHEAD};

use super::{MAX_ENTRY_BYTES, MAX_ERASURE_HASHES, MAX_SEALED_BYTES};
use crate::cbor::{self, Cbor, MapBuilder, MapReader};
use crate::documents::{hashes, hashes_cbor, key_cbor, public_key, timestamp, Document};
use crate::error::DocumentError;
use crate::ids::GrantId;
use crate::limits::{MAX_DOCUMENT_BYTES, MAX_NODE_URL_BYTES};

/// The shortest sealed access details: an ephemeral X25519 key, then nonce and tag.
pub(super) const MIN_SEALED_BYTES: usize = 32 + SEAL_OVERHEAD;

/// Implements [`Document`] from a type's `encode`/`decode` pair. Log entries (`entry`) are
/// also refused when their COSE_Sign1 envelope would exceed [`MAX_ENTRY_BYTES`], so
/// [`Signed::sign`](crate::Signed::sign) never makes an entry a bundle cannot carry.
macro_rules! ledger_document {
    ($ty:ty, $kind:literal, $cap:ident, |$d:ident| $signer:expr) => {
        impl Document for $ty {
            const KIND: &'static str = $kind;

            fn signer(&self) -> PublicKey {
                let $d = self;
                $signer
            }

            fn to_cbor(&self) -> Vec<u8> {
                self.encode().to_vec()
            }

            fn from_cbor(bytes: &[u8]) -> Result<Self, DocumentError> {
                check_size(Cap::$cap, Self::KIND, bytes.len())?;
                let document = Self::decode(Cbor::decode(bytes)?)?;
                if document.to_cbor() != bytes {
                    return Err(DocumentError::NotCanonical);
                }
                Ok(document)
            }
        }
    };
}

/// Which size cap a document kind has.
#[derive(Debug, Clone, Copy)]
enum Cap {
    /// A log entry: the whole envelope within [`MAX_ENTRY_BYTES`].
    Entry,
    /// An off-log document: the payload within [`MAX_DOCUMENT_BYTES`].
    Document,
}

fn check_size(cap: Cap, kind: &str, payload_len: usize) -> Result<(), DocumentError> {
    match cap {
        Cap::Entry if envelope_len(kind.len(), payload_len) > MAX_ENTRY_BYTES => {
            Err(DocumentError::TooLarge {
                what: "ledger entry",
                limit: MAX_ENTRY_BYTES,
            })
        }
        Cap::Document if payload_len > MAX_DOCUMENT_BYTES => Err(DocumentError::TooLarge {
            what: "document",
            limit: MAX_DOCUMENT_BYTES,
        }),
        _ => Ok(()),
    }
}

/// Length of the canonical COSE_Sign1 envelope (`crate::signed`) of a payload:
/// tag 18, a four-element array, the protected header `{1: -8, 3: kind}` as a byte string,
/// an empty map, the payload as a byte string, and a 64-byte signature as a byte string.
pub(super) fn envelope_len(kind_len: usize, payload_len: usize) -> usize {
    let protected = 4 + head_len(kind_len) + kind_len;
    2 + head_len(protected) + protected + 1 + head_len(payload_len) + payload_len + 2 + 64
}

/// Bytes of a shortest-form CBOR head for the argument `n`.
fn head_len(n: usize) -> usize {
    match n {
        0..=23 => 1,
        24..=0xff => 2,
        0x100..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

// ----- field codecs -----

fn node_url(value: Cbor) -> Result<String, DocumentError> {
    let url = cbor::text(value, "node URL", MAX_NODE_URL_BYTES)?;
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() => Ok(url),
        _ => Err(DocumentError::malformed(
            "node URL does not start with http:// or https:// and a host",
        )),
    }
}

// ----- GrantCommitment -----

/// On the log: a grant was published under a per-grant pseudonym key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantCommitment {
    /// 0: the grant's fresh Ed25519 pseudonym key; signs this entry.
    pub grant_key: PublicKey,
    /// 1: [`grant_commitment`](super::grant_commitment) of the salt and the signed grant.
    pub commitment: [u8; 32],
    /// 2: when (unix seconds).
    pub committed_at: u64,
}

impl GrantCommitment {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.grant_key))
            .put(1, Cbor::Bytes(self.commitment.to_vec()))
            .put(2, Cbor::Uint(self.committed_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "grant commitment")?;
        let entry = Self {
            grant_key: public_key(m.required(0)?, "grant key")?,
            commitment: cbor::array_n::<32>(m.required(1)?, "commitment")?,
            committed_at: timestamp(m.required(2)?, "committed_at")?,
        };
        m.finish()?;
        Ok(entry)
    }
}

ledger_document!(
    GrantCommitment,
    "application/carekey-ledger-grant+cbor",
    Entry,
    |d| d.grant_key
);

// ----- RevocationEntry -----

/// On the log: the grant with this pseudonym key is revoked — at once, or from `ends_at` on
/// when the patient shortened it (ended it on a later date than now).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationEntry {
    /// 0: the revoked grant's pseudonym key; signs this entry.
    pub grant_key: PublicKey,
    /// 1: when the patient signed it (unix seconds).
    pub revoked_at: u64,
    /// 2: absent for a revocation that ends the grant when the node appends it; present for a
    /// shortened grant: nodes serve it until this time (unix seconds) and refuse it from then.
    /// A node accepts a later revocation of the same grant only while this time is still
    /// ahead, and only to end the grant earlier.
    pub ends_at: Option<u64>,
}

impl RevocationEntry {
    /// A revocation that ends the grant as soon as a node appends it.
    pub fn now(grant_key: PublicKey, revoked_at: u64) -> Self {
        Self {
            grant_key,
            revoked_at,
            ends_at: None,
        }
    }

    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.grant_key))
            .put(1, Cbor::Uint(self.revoked_at))
            .put_opt(2, self.ends_at.map(Cbor::Uint))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "revocation entry")?;
        let entry = Self {
            grant_key: public_key(m.required(0)?, "grant key")?,
            revoked_at: timestamp(m.required(1)?, "revoked_at")?,
            ends_at: m.optional(2).map(|v| timestamp(v, "ends_at")).transpose()?,
        };
        m.finish()?;
        Ok(entry)
    }
}

ledger_document!(
    RevocationEntry,
    "application/carekey-ledger-revocation+cbor",
    Entry,
    |d| d.grant_key
);

// ----- ErasureEntry -----

/// On the log: some ciphertexts were crypto-erased, as a (salted, committed) tombstone says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErasureEntry {
    /// 0: the grant key for a grant erasure, a fresh one-time key otherwise; signs this entry.
    pub erasure_key: PublicKey,
    /// 1: [`tombstone_commitment`](super::tombstone_commitment) of the salt and the tombstone.
    pub commitment: [u8; 32],
    /// 2: SHA-256 of each ciphertext whose keys were destroyed (at most
    /// [`MAX_ERASURE_HASHES`], and the entry within [`MAX_ENTRY_BYTES`]).
    pub ciphertext_hashes: Vec<[u8; 32]>,
    /// 3: when (unix seconds).
    pub erased_at: u64,
}

impl ErasureEntry {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.erasure_key))
            .put(1, Cbor::Bytes(self.commitment.to_vec()))
            .put(2, hashes_cbor(&self.ciphertext_hashes))
            .put(3, Cbor::Uint(self.erased_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "erasure entry")?;
        let entry = Self {
            erasure_key: public_key(m.required(0)?, "erasure key")?,
            commitment: cbor::array_n::<32>(m.required(1)?, "commitment")?,
            ciphertext_hashes: hashes(m.required(2)?, "ciphertext hashes", MAX_ERASURE_HASHES)?,
            erased_at: timestamp(m.required(3)?, "erased_at")?,
        };
        m.finish()?;
        Ok(entry)
    }
}

ledger_document!(
    ErasureEntry,
    "application/carekey-ledger-erasure+cbor",
    Entry,
    |d| d.erasure_key
);

// ----- AccessEvent -----

/// On the log: a node served a grant's bundle to a provider. Who and when is sealed to the
/// grant's event key ([`seal_access_details`](super::seal_access_details)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    /// 0: the node's log key; signs this entry.
    pub node_key: PublicKey,
    /// 1: the fetched grant's pseudonym key.
    pub grant_key: PublicKey,
    /// 2: 16 random bytes, unique per event.
    pub event_id: [u8; 16],
    /// 3: the sealed [`AccessDetails`](super::AccessDetails) (72 to [`MAX_SEALED_BYTES`] bytes).
    pub sealed: Vec<u8>,
    /// 4: when the node logged it (unix seconds).
    pub logged_at: u64,
}

impl AccessEvent {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.node_key))
            .put(1, key_cbor(&self.grant_key))
            .put(2, Cbor::Bytes(self.event_id.to_vec()))
            .put(3, Cbor::Bytes(self.sealed.clone()))
            .put(4, Cbor::Uint(self.logged_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "access event")?;
        let entry = Self {
            node_key: public_key(m.required(0)?, "node key")?,
            grant_key: public_key(m.required(1)?, "grant key")?,
            event_id: cbor::array_n::<16>(m.required(2)?, "event id")?,
            sealed: cbor::bytes(m.required(3)?, "sealed access details", MAX_SEALED_BYTES)?,
            logged_at: timestamp(m.required(4)?, "logged_at")?,
        };
        m.finish()?;
        if entry.sealed.len() < MIN_SEALED_BYTES {
            return Err(DocumentError::malformed(
                "sealed access details are too short",
            ));
        }
        Ok(entry)
    }
}

ledger_document!(
    AccessEvent,
    "application/carekey-ledger-access+cbor",
    Entry,
    |d| d.node_key
);

// ----- LinkOpenEvent -----

/// On the log: a viewer asked a node for a SMART Health Link's manifest (opened it, or tried a
/// wrong passcode). What happened is sealed to the link's event key
/// ([`seal_link_open`](super::seal_link_open)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOpenEvent {
    /// 0: the node's log key; signs this entry.
    pub node_key: PublicKey,
    /// 1: the link's pseudonym key.
    pub link_key: PublicKey,
    /// 2: 16 random bytes, unique per event.
    pub event_id: [u8; 16],
    /// 3: the sealed [`LinkOpenDetails`](super::LinkOpenDetails).
    pub sealed: Vec<u8>,
    /// 4: when the node logged it (unix seconds).
    pub logged_at: u64,
}

impl LinkOpenEvent {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.node_key))
            .put(1, key_cbor(&self.link_key))
            .put(2, Cbor::Bytes(self.event_id.to_vec()))
            .put(3, Cbor::Bytes(self.sealed.clone()))
            .put(4, Cbor::Uint(self.logged_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "link-open event")?;
        let entry = Self {
            node_key: public_key(m.required(0)?, "node key")?,
            link_key: public_key(m.required(1)?, "link key")?,
            event_id: cbor::array_n::<16>(m.required(2)?, "event id")?,
            sealed: cbor::bytes(m.required(3)?, "sealed link-open details", MAX_SEALED_BYTES)?,
            logged_at: timestamp(m.required(4)?, "logged_at")?,
        };
        m.finish()?;
        if entry.sealed.len() < MIN_SEALED_BYTES {
            return Err(DocumentError::malformed(
                "sealed link-open details are too short",
            ));
        }
        Ok(entry)
    }
}

ledger_document!(
    LinkOpenEvent,
    "application/carekey-ledger-link-open+cbor",
    Entry,
    |d| d.node_key
);

// ----- LedgerBinding -----

/// Off the log: the patient tells a node that these pseudonym keys belong to this grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerBinding {
    /// 0: the patient's identity key (the grant's `patient_signing`); signs this binding.
    pub patient_signing: PublicKey,
    /// 1: SHA-256 of the signed grant's COSE bytes.
    pub grant_hash: [u8; 32],
    /// 2: the grant's pseudonym key on the log.
    pub grant_key: PublicKey,
    /// 3: the grant's X25519 key that access details are sealed to.
    pub event_key: AgreementPublic,
}

impl LedgerBinding {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.patient_signing))
            .put(1, Cbor::Bytes(self.grant_hash.to_vec()))
            .put(2, key_cbor(&self.grant_key))
            .put(3, Cbor::Bytes(self.event_key.as_bytes().to_vec()))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "ledger binding")?;
        let binding = Self {
            patient_signing: public_key(m.required(0)?, "patient signing key")?,
            grant_hash: cbor::array_n::<32>(m.required(1)?, "grant hash")?,
            grant_key: public_key(m.required(2)?, "grant key")?,
            event_key: AgreementPublic::from_bytes(cbor::array_n::<32>(
                m.required(3)?,
                "event key",
            )?),
        };
        m.finish()?;
        Ok(binding)
    }
}

ledger_document!(
    LedgerBinding,
    "application/carekey-ledger-binding+cbor",
    Document,
    |d| d.patient_signing
);

// ----- FetchRequest -----

/// Off the log: a provider asks a node for a grant's bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    /// 0: the provider's identity key (the grant's `provider_signing`); signs this request.
    pub provider_signing: PublicKey,
    /// 1: the grant asked for.
    pub grant_id: GrantId,
    /// 2: the node URL the request is sent to (`http://` or `https://`, at most 2,048 bytes).
    pub node: String,
    /// 3: 16 random bytes; a node refuses a nonce it has seen for this grant.
    pub nonce: [u8; 16],
    /// 4: when the provider made the request (unix seconds).
    pub requested_at: u64,
}

impl FetchRequest {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.provider_signing))
            .put(1, Cbor::Bytes(self.grant_id.0.to_vec()))
            .put(2, Cbor::Text(self.node.clone()))
            .put(3, Cbor::Bytes(self.nonce.to_vec()))
            .put(4, Cbor::Uint(self.requested_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "fetch request")?;
        let request = Self {
            provider_signing: public_key(m.required(0)?, "provider signing key")?,
            grant_id: GrantId(cbor::array_n::<16>(m.required(1)?, "grant id")?),
            node: node_url(m.required(2)?)?,
            nonce: cbor::array_n::<16>(m.required(3)?, "nonce")?,
            requested_at: timestamp(m.required(4)?, "requested_at")?,
        };
        m.finish()?;
        Ok(request)
    }
}

ledger_document!(
    FetchRequest,
    "application/carekey-fetch-request+cbor",
    Document,
    |d| d.provider_signing
);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use carekey_crypto::SigningKey;

    use super::*;
    use crate::limits::MAX_TIMESTAMP;
    use crate::Signed;

    #[test]
    fn envelope_len_matches_signed_bytes() {
        let key = SigningKey::from_bytes(&[1; 32]);
        for n in [
            0,
            1,
            5,
            6,
            100,
            1_000,
            super::super::ERASURE_HASHES_PER_ENTRY,
        ] {
            for erased_at in [0, 23, 1_700_000_000, MAX_TIMESTAMP] {
                let entry = ErasureEntry {
                    erasure_key: key.public(),
                    commitment: [7; 32],
                    ciphertext_hashes: vec![[9; 32]; n],
                    erased_at,
                };
                let payload_len = entry.to_cbor().len();
                let signed = Signed::sign(entry, &key).unwrap();
                assert_eq!(
                    envelope_len(ErasureEntry::KIND.len(), payload_len),
                    signed.as_bytes().len()
                );
            }
        }
    }
}
