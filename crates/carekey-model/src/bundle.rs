//! The grant bundle: the offline file a patient hands a provider (grant, key wraps, ciphertexts).
//!
//! Format: the magic line [`BUNDLE_MAGIC`] followed by one deterministic CBOR map
//! `{0: grant COSE bytes, 1: ephemeral X25519 key, 2: [record, ...]}`, each record
//! `{0: record id, 1: version, 2: resource type (absent if none), 3: name, 4: ciphertext SHA-256,
//! 5: patient seal, 6: wrapped identity, 7: ciphertext}`.

use carekey_crypto::{AgreementPublic, Signature};

use crate::cbor::{self, Cbor, MapBuilder, MapReader};
use crate::documents::is_resource_type_name;
use crate::error::DocumentError;
use crate::ids::RecordId;
use crate::limits::{
    MAX_BUNDLE_BYTES, MAX_BUNDLE_RECORDS, MAX_DOCUMENT_BYTES, MAX_NAME_BYTES,
    MAX_RESOURCE_TYPE_BYTES, MAX_WRAPPED_IDENTITY_BYTES,
};
use crate::signed::SignedGrant;

/// First bytes of every grant bundle file.
pub const BUNDLE_MAGIC: &[u8] = b"carekey-bundle/v1\n";

/// What a patient hands a provider for one grant, when not going through a node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantBundle {
    /// The signed grant.
    pub grant: SignedGrant,
    /// The ephemeral X25519 key the record identities were wrapped with.
    pub ephemeral: AgreementPublic,
    /// The granted records.
    pub records: Vec<BundledRecord>,
}

/// One record version inside a [`GrantBundle`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledRecord {
    /// The record.
    pub record_id: RecordId,
    /// Its version.
    pub version: u32,
    /// Its FHIR resource type, if it is a FHIR resource.
    pub resource_type: Option<String>,
    /// A display name (file name or FHIR summary title).
    pub name: String,
    /// SHA-256 of `ciphertext`.
    pub ciphertext_hash: [u8; 32],
    /// The patient's signature over [`record_seal_message`](crate::record_seal_message).
    pub seal: Signature,
    /// The record's age identity, wrapped to the provider's X25519 key.
    pub wrapped_identity: Vec<u8>,
    /// The age ciphertext.
    pub ciphertext: Vec<u8>,
}

impl GrantBundle {
    /// The bundle file: [`BUNDLE_MAGIC`] then deterministic CBOR.
    pub fn to_bytes(&self) -> Vec<u8> {
        let records = self
            .records
            .iter()
            .map(|r| {
                MapBuilder::new()
                    .put(0, Cbor::Bytes(r.record_id.0.to_vec()))
                    .put(1, Cbor::Uint(u64::from(r.version)))
                    .put_opt(2, r.resource_type.clone().map(Cbor::Text))
                    .put(3, Cbor::Text(r.name.clone()))
                    .put(4, Cbor::Bytes(r.ciphertext_hash.to_vec()))
                    .put(5, Cbor::Bytes(r.seal.to_bytes().to_vec()))
                    .put(6, Cbor::Bytes(r.wrapped_identity.clone()))
                    .put(7, Cbor::Bytes(r.ciphertext.clone()))
                    .build()
            })
            .collect();
        let body = MapBuilder::new()
            .put(0, Cbor::Bytes(self.grant.as_bytes().to_vec()))
            .put(1, Cbor::Bytes(self.ephemeral.as_bytes().to_vec()))
            .put(2, Cbor::Array(records))
            .build();
        let mut out = BUNDLE_MAGIC.to_vec();
        out.extend_from_slice(&body.to_vec());
        out
    }

    /// Parses a bundle file and checks it: the grant verifies ([`SignedGrant::from_bytes`]), and
    /// every record's hash matches its ciphertext, its seal verifies under the grant's patient
    /// key, and the grant's scope allows it.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DocumentError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(DocumentError::TooLarge {
                what: "grant bundle",
                limit: MAX_BUNDLE_BYTES,
            });
        }
        let body = bytes
            .strip_prefix(BUNDLE_MAGIC)
            .ok_or_else(|| DocumentError::malformed("not a Carekey grant bundle (bad magic)"))?;
        let mut m = MapReader::new(Cbor::decode(body)?, "grant bundle")?;
        let grant =
            SignedGrant::from_bytes(&cbor::bytes(m.required(0)?, "grant", MAX_DOCUMENT_BYTES)?)?;
        let ephemeral =
            AgreementPublic::from_bytes(cbor::array_n::<32>(m.required(1)?, "ephemeral key")?);
        let records = cbor::array(m.required(2)?, "bundled records", MAX_BUNDLE_RECORDS)?
            .into_iter()
            .map(decode_record)
            .collect::<Result<Vec<_>, _>>()?;
        m.finish()?;
        let bundle = Self {
            grant,
            ephemeral,
            records,
        };
        if bundle.to_bytes() != bytes {
            return Err(DocumentError::NotCanonical);
        }
        let g = bundle.grant.document();
        for r in &bundle.records {
            let bad = |reason| DocumentError::BadRecord {
                record_id: r.record_id,
                reason,
            };
            if carekey_crypto::sha256(&r.ciphertext) != r.ciphertext_hash {
                return Err(bad("ciphertext does not match its hash"));
            }
            let seal = crate::record_seal_message(&r.record_id, r.version, &r.ciphertext_hash);
            if g.patient_signing.verify(&seal, &r.seal).is_err() {
                return Err(bad("patient seal does not verify"));
            }
            if !g.scope.allows(&r.record_id, r.resource_type.as_deref()) {
                return Err(bad("not in the grant's scope"));
            }
        }
        Ok(bundle)
    }
}

fn decode_record(value: Cbor) -> Result<BundledRecord, DocumentError> {
    let mut m = MapReader::new(value, "bundled record")?;
    let record = BundledRecord {
        record_id: RecordId(cbor::array_n(m.required(0)?, "record id")?),
        version: cbor::uint32(m.required(1)?, "record version")?,
        resource_type: m
            .optional(2)
            .map(|v| cbor::text(v, "resource type", MAX_RESOURCE_TYPE_BYTES))
            .transpose()?,
        name: cbor::text(m.required(3)?, "record name", MAX_NAME_BYTES)?,
        ciphertext_hash: cbor::array_n(m.required(4)?, "ciphertext hash")?,
        seal: Signature::from_bytes(&cbor::array_n::<64>(m.required(5)?, "record seal")?),
        wrapped_identity: cbor::bytes(
            m.required(6)?,
            "wrapped identity",
            MAX_WRAPPED_IDENTITY_BYTES,
        )?,
        ciphertext: cbor::bytes(m.required(7)?, "ciphertext", MAX_BUNDLE_BYTES)?,
    };
    m.finish()?;
    if let Some(t) = &record.resource_type {
        if !is_resource_type_name(t) {
            return Err(DocumentError::malformed(format!(
                "not a FHIR resource type name: {t:?}"
            )));
        }
    }
    Ok(record)
}
