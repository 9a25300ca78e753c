//! The five signed document kinds and their deterministic CBOR encodings.
//!
//! Each document is a CBOR map with small unsigned-integer keys in ascending order. Field numbers
//! are listed next to each field and never reused; a new field means a new content type.

use carekey_crypto::{AgreementPublic, PublicKey};

use crate::cbor::{self, Cbor, MapBuilder, MapReader};
use crate::error::DocumentError;
use crate::ids::{GrantId, RecordId};
use crate::limits::*;

/// A document kind that can travel inside a [`Signed`](crate::Signed) COSE_Sign1 envelope.
///
/// Implemented by [`AccessRequest`], [`Grant`], [`Revocation`], [`Tombstone`] and [`Directory`].
pub trait Document: Sized {
    /// The COSE content type (protected header label 3) naming this kind, e.g.
    /// `application/carekey-grant+cbor`.
    const KIND: &'static str;

    /// The key that must sign this document (the patient's for grants, revocations and
    /// tombstones; the provider's for requests; the directory's own key for directories).
    fn signer(&self) -> PublicKey;

    /// The deterministic CBOR encoding (RFC 8949 §4.2.1): the COSE payload.
    fn to_cbor(&self) -> Vec<u8>;

    /// Strictly decodes a payload: rejects unknown or duplicate fields, wrong types, values
    /// beyond the [limits](crate::limits), and any encoding other than the canonical one.
    fn from_cbor(bytes: &[u8]) -> Result<Self, DocumentError>;
}

/// Implements [`Document`] from a type's `encode`/`decode` pair.
macro_rules! document {
    ($ty:ty, $kind:literal, |$d:ident| $signer:expr) => {
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
                if bytes.len() > MAX_DOCUMENT_BYTES {
                    return Err(DocumentError::TooLarge {
                        what: "document",
                        limit: MAX_DOCUMENT_BYTES,
                    });
                }
                let document = Self::decode(Cbor::decode(bytes)?)?;
                if document.to_cbor() != bytes {
                    return Err(DocumentError::NotCanonical);
                }
                Ok(document)
            }
        }
    };
}

// ----- Scope -----

/// What a request asks for or a grant allows: explicit records, and/or every record of some
/// FHIR resource types. Both lists are kept sorted and free of duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scope {
    /// Records allowed by id (sorted, no duplicates).
    pub record_ids: Vec<RecordId>,
    /// FHIR resource type names (e.g. `Observation`) whose records are allowed (sorted, no duplicates).
    pub resource_types: Vec<String>,
}

impl Scope {
    /// A scope of these records and resource types, sorted and deduplicated.
    pub fn new(mut record_ids: Vec<RecordId>, mut resource_types: Vec<String>) -> Self {
        record_ids.sort_unstable();
        record_ids.dedup();
        resource_types.sort_unstable();
        resource_types.dedup();
        Self {
            record_ids,
            resource_types,
        }
    }

    /// Whether a record is in scope: its id is listed, or its FHIR resource type is.
    pub fn allows(&self, record_id: &RecordId, resource_type: Option<&str>) -> bool {
        self.record_ids.binary_search(record_id).is_ok()
            || resource_type.is_some_and(|t| self.resource_types.iter().any(|s| s == t))
    }

    /// Whether the scope names nothing at all.
    pub fn is_empty(&self) -> bool {
        self.record_ids.is_empty() && self.resource_types.is_empty()
    }

    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(
                0,
                Cbor::Array(
                    self.record_ids
                        .iter()
                        .map(|r| Cbor::Bytes(r.0.to_vec()))
                        .collect(),
                ),
            )
            .put(
                1,
                Cbor::Array(
                    self.resource_types
                        .iter()
                        .map(|t| Cbor::Text(t.clone()))
                        .collect(),
                ),
            )
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut map = MapReader::new(value, "scope")?;
        let record_ids = cbor::array(map.required(0)?, "scope record ids", MAX_SCOPE_RECORDS)?
            .into_iter()
            .map(|v| cbor::array_n::<16>(v, "record id").map(RecordId))
            .collect::<Result<Vec<_>, _>>()?;
        let resource_types =
            cbor::array(map.required(1)?, "scope resource types", MAX_SCOPE_TYPES)?
                .into_iter()
                .map(|v| cbor::text(v, "resource type", MAX_RESOURCE_TYPE_BYTES))
                .collect::<Result<Vec<_>, _>>()?;
        map.finish()?;
        if !record_ids.windows(2).all(|w| w[0] < w[1])
            || !resource_types.windows(2).all(|w| w[0] < w[1])
        {
            return Err(DocumentError::NotCanonical);
        }
        if let Some(bad) = resource_types.iter().find(|t| !is_resource_type_name(t)) {
            return Err(DocumentError::malformed(format!(
                "not a FHIR resource type name: {bad:?}"
            )));
        }
        Ok(Self {
            record_ids,
            resource_types,
        })
    }
}

/// FHIR resource type names: an ASCII capital letter then ASCII letters (`Observation`).
pub(crate) fn is_resource_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphabetic())
        && name.len() <= MAX_RESOURCE_TYPE_BYTES
}

// ----- shared field codecs (also used by the ledger documents) -----

pub(crate) fn public_key(value: Cbor, what: &'static str) -> Result<PublicKey, DocumentError> {
    PublicKey::from_bytes(&cbor::array_n::<32>(value, what)?)
        .map_err(|_| DocumentError::malformed(format!("{what} is not a valid Ed25519 public key")))
}

/// A list of SHA-256 hashes (ciphertext hashes of tombstones and erasure entries).
pub(crate) fn hashes_cbor(hashes: &[[u8; 32]]) -> Cbor {
    Cbor::Array(hashes.iter().map(|h| Cbor::Bytes(h.to_vec())).collect())
}

pub(crate) fn hashes(
    value: Cbor,
    what: &'static str,
    max: usize,
) -> Result<Vec<[u8; 32]>, DocumentError> {
    cbor::array(value, what, max)?
        .into_iter()
        .map(|v| cbor::array_n::<32>(v, "ciphertext hash"))
        .collect()
}

pub(crate) fn key_cbor(key: &PublicKey) -> Cbor {
    Cbor::Bytes(key.as_bytes().to_vec())
}

fn agreement(value: Cbor, what: &'static str) -> Result<AgreementPublic, DocumentError> {
    Ok(AgreementPublic::from_bytes(cbor::array_n::<32>(
        value, what,
    )?))
}

pub(crate) fn timestamp(value: Cbor, what: &'static str) -> Result<u64, DocumentError> {
    let t = cbor::uint(value, what)?;
    if t > MAX_TIMESTAMP {
        return Err(DocumentError::malformed(format!(
            "{what} is after the year 9999"
        )));
    }
    Ok(t)
}

fn name(value: Cbor, what: &'static str) -> Result<String, DocumentError> {
    cbor::text(value, what, MAX_NAME_BYTES)
}

fn nodes_cbor(nodes: &[String]) -> Cbor {
    Cbor::Array(nodes.iter().map(|n| Cbor::Text(n.clone())).collect())
}

fn nodes(value: Cbor) -> Result<Vec<String>, DocumentError> {
    let nodes = cbor::array(value, "nodes", MAX_NODES)?
        .into_iter()
        .map(|v| cbor::text(v, "node URL", MAX_NODE_URL_BYTES))
        .collect::<Result<Vec<_>, _>>()?;
    if nodes.iter().any(String::is_empty) {
        return Err(DocumentError::malformed("empty node URL"));
    }
    Ok(nodes)
}

// ----- AccessRequest -----

/// A provider's signed request for access, shown as a `carekey:` URI / QR code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRequest {
    /// 0: the provider's name as the provider states it (checked against directories).
    pub provider_name: String,
    /// 1: the provider's Ed25519 key; signs this request.
    pub provider_signing: PublicKey,
    /// 2: the provider's X25519 key; granted file keys are wrapped to it.
    pub provider_agreement: AgreementPublic,
    /// 3: what the provider asks for.
    pub scope: Scope,
    /// 4: why, in the provider's words.
    pub purpose: String,
    /// 5: how long the provider asks access for, in seconds.
    pub duration_secs: u64,
    /// 6: ledger node URLs the provider uses.
    pub nodes: Vec<String>,
    /// 7: random, makes every request unique.
    pub nonce: [u8; 16],
    /// 8: when the request was made (unix seconds).
    pub created_at: u64,
    /// 9: the request cannot be answered from this second on (unix seconds); after `created_at`.
    pub expires_at: u64,
}

impl AccessRequest {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, Cbor::Text(self.provider_name.clone()))
            .put(1, key_cbor(&self.provider_signing))
            .put(2, Cbor::Bytes(self.provider_agreement.as_bytes().to_vec()))
            .put(3, self.scope.encode())
            .put(4, Cbor::Text(self.purpose.clone()))
            .put(5, Cbor::Uint(self.duration_secs))
            .put(6, nodes_cbor(&self.nodes))
            .put(7, Cbor::Bytes(self.nonce.to_vec()))
            .put(8, Cbor::Uint(self.created_at))
            .put(9, Cbor::Uint(self.expires_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "access request")?;
        let request = Self {
            provider_name: name(m.required(0)?, "provider name")?,
            provider_signing: public_key(m.required(1)?, "provider signing key")?,
            provider_agreement: agreement(m.required(2)?, "provider agreement key")?,
            scope: Scope::decode(m.required(3)?)?,
            purpose: cbor::text(m.required(4)?, "purpose", MAX_PURPOSE_BYTES)?,
            duration_secs: cbor::uint(m.required(5)?, "duration")?,
            nodes: nodes(m.required(6)?)?,
            nonce: cbor::array_n::<16>(m.required(7)?, "nonce")?,
            created_at: timestamp(m.required(8)?, "created_at")?,
            expires_at: timestamp(m.required(9)?, "expires_at")?,
        };
        m.finish()?;
        if request.expires_at <= request.created_at {
            return Err(DocumentError::malformed(
                "request expires before it is created",
            ));
        }
        Ok(request)
    }
}

document!(AccessRequest, "application/carekey-request+cbor", |d| d
    .provider_signing);

// ----- Grant -----

/// A patient's signed permission for one provider to read some records for a while.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// 0: random id of this grant.
    pub grant_id: GrantId,
    /// 1: the patient's Ed25519 key; signs this grant.
    pub patient_signing: PublicKey,
    /// 2: the provider's name, as shown to the patient when approving.
    pub provider_name: String,
    /// 3: the provider's Ed25519 key (authenticates its fetches).
    pub provider_signing: PublicKey,
    /// 4: the provider's X25519 key (file keys are wrapped to it).
    pub provider_agreement: AgreementPublic,
    /// 5: SHA-256 of the signed access request this grant answers (its COSE bytes).
    pub request_hash: [u8; 32],
    /// 6: what the provider may read.
    pub scope: Scope,
    /// 7: why, as approved by the patient.
    pub purpose: String,
    /// 8: when the patient signed (unix seconds).
    pub issued_at: u64,
    /// 9: first second of validity (unix seconds).
    pub not_before: u64,
    /// 10: first second after validity (unix seconds); after `not_before`.
    pub not_after: u64,
    /// 11: ledger node URLs where the grant is published and records are served.
    pub nodes: Vec<String>,
}

impl Grant {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, Cbor::Bytes(self.grant_id.0.to_vec()))
            .put(1, key_cbor(&self.patient_signing))
            .put(2, Cbor::Text(self.provider_name.clone()))
            .put(3, key_cbor(&self.provider_signing))
            .put(4, Cbor::Bytes(self.provider_agreement.as_bytes().to_vec()))
            .put(5, Cbor::Bytes(self.request_hash.to_vec()))
            .put(6, self.scope.encode())
            .put(7, Cbor::Text(self.purpose.clone()))
            .put(8, Cbor::Uint(self.issued_at))
            .put(9, Cbor::Uint(self.not_before))
            .put(10, Cbor::Uint(self.not_after))
            .put(11, nodes_cbor(&self.nodes))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "grant")?;
        let grant = Self {
            grant_id: GrantId(cbor::array_n::<16>(m.required(0)?, "grant id")?),
            patient_signing: public_key(m.required(1)?, "patient signing key")?,
            provider_name: name(m.required(2)?, "provider name")?,
            provider_signing: public_key(m.required(3)?, "provider signing key")?,
            provider_agreement: agreement(m.required(4)?, "provider agreement key")?,
            request_hash: cbor::array_n::<32>(m.required(5)?, "request hash")?,
            scope: Scope::decode(m.required(6)?)?,
            purpose: cbor::text(m.required(7)?, "purpose", MAX_PURPOSE_BYTES)?,
            issued_at: timestamp(m.required(8)?, "issued_at")?,
            not_before: timestamp(m.required(9)?, "not_before")?,
            not_after: timestamp(m.required(10)?, "not_after")?,
            nodes: nodes(m.required(11)?)?,
        };
        m.finish()?;
        if grant.not_after <= grant.not_before {
            return Err(DocumentError::malformed("grant ends before it starts"));
        }
        Ok(grant)
    }
}

document!(Grant, "application/carekey-grant+cbor", |d| d
    .patient_signing);

// ----- Revocation -----

/// A patient's signed withdrawal of a grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// 0: the grant withdrawn.
    pub grant_id: GrantId,
    /// 1: SHA-256 of that signed grant's COSE bytes.
    pub grant_hash: [u8; 32],
    /// 2: the patient's Ed25519 key; must be the grant's `patient_signing`.
    pub patient_signing: PublicKey,
    /// 3: when (unix seconds).
    pub revoked_at: u64,
}

impl Revocation {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, Cbor::Bytes(self.grant_id.0.to_vec()))
            .put(1, Cbor::Bytes(self.grant_hash.to_vec()))
            .put(2, key_cbor(&self.patient_signing))
            .put(3, Cbor::Uint(self.revoked_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "revocation")?;
        let revocation = Self {
            grant_id: GrantId(cbor::array_n::<16>(m.required(0)?, "grant id")?),
            grant_hash: cbor::array_n::<32>(m.required(1)?, "grant hash")?,
            patient_signing: public_key(m.required(2)?, "patient signing key")?,
            revoked_at: timestamp(m.required(3)?, "revoked_at")?,
        };
        m.finish()?;
        Ok(revocation)
    }
}

document!(Revocation, "application/carekey-revocation+cbor", |d| d
    .patient_signing);

// ----- Tombstone -----

/// What an erasure tombstone says was erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErasureSubject {
    /// One record (all its versions). Encoded `{0: 0, 1: record id}`.
    Record {
        /// The erased record.
        record_id: RecordId,
    },
    /// One grant's share (its key wraps). Encoded `{0: 1, 1: grant id}`.
    Grant {
        /// The grant whose share was erased.
        grant_id: GrantId,
    },
    /// The whole wallet. Encoded `{0: 2}`.
    Wallet,
}

impl ErasureSubject {
    fn encode(&self) -> Cbor {
        match self {
            ErasureSubject::Record { record_id } => MapBuilder::new()
                .put(0, Cbor::Uint(0))
                .put(1, Cbor::Bytes(record_id.0.to_vec()))
                .build(),
            ErasureSubject::Grant { grant_id } => MapBuilder::new()
                .put(0, Cbor::Uint(1))
                .put(1, Cbor::Bytes(grant_id.0.to_vec()))
                .build(),
            ErasureSubject::Wallet => MapBuilder::new().put(0, Cbor::Uint(2)).build(),
        }
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "erasure subject")?;
        let subject = match cbor::uint(m.required(0)?, "erasure subject kind")? {
            0 => ErasureSubject::Record {
                record_id: RecordId(cbor::array_n(m.required(1)?, "record id")?),
            },
            1 => ErasureSubject::Grant {
                grant_id: GrantId(cbor::array_n(m.required(1)?, "grant id")?),
            },
            2 => ErasureSubject::Wallet,
            other => {
                return Err(DocumentError::malformed(format!(
                    "unknown erasure subject kind {other}"
                )))
            }
        };
        m.finish()?;
        Ok(subject)
    }
}

/// A patient's signed statement that some data was crypto-erased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    /// 0: the patient's Ed25519 key; signs this tombstone.
    pub patient_signing: PublicKey,
    /// 1: what was erased.
    pub subject: ErasureSubject,
    /// 2: SHA-256 of every ciphertext whose keys were destroyed.
    pub ciphertext_hashes: Vec<[u8; 32]>,
    /// 3: when (unix seconds).
    pub erased_at: u64,
}

impl Tombstone {
    fn encode(&self) -> Cbor {
        MapBuilder::new()
            .put(0, key_cbor(&self.patient_signing))
            .put(1, self.subject.encode())
            .put(2, hashes_cbor(&self.ciphertext_hashes))
            .put(3, Cbor::Uint(self.erased_at))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "tombstone")?;
        let tombstone = Self {
            patient_signing: public_key(m.required(0)?, "patient signing key")?,
            subject: ErasureSubject::decode(m.required(1)?)?,
            ciphertext_hashes: hashes(m.required(2)?, "ciphertext hashes", MAX_TOMBSTONE_HASHES)?,
            erased_at: timestamp(m.required(3)?, "erased_at")?,
        };
        m.finish()?;
        Ok(tombstone)
    }
}

document!(Tombstone, "application/carekey-tombstone+cbor", |d| d
    .patient_signing);

// ----- Directory -----

/// A signed list of known providers, published by someone patients choose to trust (pin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    /// 0: the directory's name (e.g. a national register).
    pub name: String,
    /// 1: the directory's Ed25519 key; signs the directory and is what patients pin.
    pub directory_key: PublicKey,
    /// 2: when this edition was issued (unix seconds).
    pub issued_at: u64,
    /// 3: the providers listed.
    pub providers: Vec<DirectoryEntry>,
}

/// One provider in a [`Directory`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// 0: the provider's name.
    pub name: String,
    /// 1: the provider's Ed25519 key.
    pub signing: PublicKey,
}

impl Directory {
    fn encode(&self) -> Cbor {
        let providers = self
            .providers
            .iter()
            .map(|p| {
                MapBuilder::new()
                    .put(0, Cbor::Text(p.name.clone()))
                    .put(1, key_cbor(&p.signing))
                    .build()
            })
            .collect();
        MapBuilder::new()
            .put(0, Cbor::Text(self.name.clone()))
            .put(1, key_cbor(&self.directory_key))
            .put(2, Cbor::Uint(self.issued_at))
            .put(3, Cbor::Array(providers))
            .build()
    }

    fn decode(value: Cbor) -> Result<Self, DocumentError> {
        let mut m = MapReader::new(value, "directory")?;
        let name_ = name(m.required(0)?, "directory name")?;
        let directory_key = public_key(m.required(1)?, "directory key")?;
        let issued_at = timestamp(m.required(2)?, "issued_at")?;
        let providers = cbor::array(
            m.required(3)?,
            "directory providers",
            MAX_DIRECTORY_PROVIDERS,
        )?
        .into_iter()
        .map(|v| {
            let mut e = MapReader::new(v, "directory entry")?;
            let entry = DirectoryEntry {
                name: name(e.required(0)?, "provider name")?,
                signing: public_key(e.required(1)?, "provider signing key")?,
            };
            e.finish()?;
            Ok(entry)
        })
        .collect::<Result<_, DocumentError>>()?;
        m.finish()?;
        Ok(Self {
            name: name_,
            directory_key,
            issued_at,
            providers,
        })
    }
}

document!(Directory, "application/carekey-directory+cbor", |d| d
    .directory_key);
