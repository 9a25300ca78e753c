//! COSE_Sign1 (RFC 9052) envelopes with EdDSA over deterministic CBOR payloads.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{Signature, SigningKey};

use crate::cbor::{Cbor, MapBuilder, MapReader};
use crate::documents::{AccessRequest, Directory, Document, Grant, Revocation, Tombstone};
use crate::error::DocumentError;
use crate::limits::{MAX_DOCUMENT_BYTES, MAX_URI_BYTES, REQUEST_CLOCK_SKEW_SECS};

/// CBOR tag of a COSE_Sign1 message (RFC 9052 §4.2).
const COSE_SIGN1_TAG: u64 = 18;
/// COSE header label `alg`.
const HEADER_ALG: u64 = 1;
/// COSE header label `content type`.
const HEADER_CONTENT_TYPE: u64 = 3;
/// COSE algorithm EdDSA is -8, encoded as the negative integer `-1 - 7`.
const ALG_EDDSA_NEG: u64 = 7;
/// Scheme and path of a request URI; the COSE bytes follow in unpadded base64url.
pub const REQUEST_URI_PREFIX: &str = "carekey:request/v1/";

/// A document together with the exact COSE_Sign1 bytes that carry and sign it.
///
/// The only ways to get one are [`Signed::sign`] and [`Signed::from_bytes`] (which verifies), so
/// holding a `Signed<T>` means the signature of `document().signer()` was checked over
/// [`as_bytes`](Signed::as_bytes). It says nothing about *who* that signer is: callers compare it
/// to the key they expect (the patient's, a pinned directory key, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed<T> {
    bytes: Vec<u8>,
    document: T,
}

/// A provider's signed access request.
pub type SignedRequest = Signed<AccessRequest>;
/// A patient's signed grant.
pub type SignedGrant = Signed<Grant>;
/// A patient's signed revocation.
pub type SignedRevocation = Signed<Revocation>;
/// A patient's signed erasure tombstone.
pub type SignedTombstone = Signed<Tombstone>;
/// A directory operator's signed provider directory.
pub type SignedDirectory = Signed<Directory>;

/// The protected header: `{1: -8, 3: content type}`, deterministically encoded.
fn protected_header(kind: &str) -> Vec<u8> {
    MapBuilder::new()
        .put(HEADER_ALG, Cbor::Neg(ALG_EDDSA_NEG))
        .put(HEADER_CONTENT_TYPE, Cbor::Text(kind.to_owned()))
        .build()
        .to_vec()
}

/// `Sig_structure = ["Signature1", protected, external_aad = h'', payload]` (RFC 9052 §4.4).
fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    Cbor::Array(vec![
        Cbor::Text("Signature1".to_owned()),
        Cbor::Bytes(protected.to_vec()),
        Cbor::Bytes(Vec::new()),
        Cbor::Bytes(payload.to_vec()),
    ])
    .to_vec()
}

fn envelope(protected: Vec<u8>, payload: Vec<u8>, signature: &Signature) -> Vec<u8> {
    Cbor::Tag(
        COSE_SIGN1_TAG,
        Box::new(Cbor::Array(vec![
            Cbor::Bytes(protected),
            Cbor::Map(Vec::new()),
            Cbor::Bytes(payload),
            Cbor::Bytes(signature.to_bytes().to_vec()),
        ])),
    )
    .to_vec()
}

impl<T: Document> Signed<T> {
    /// Signs `document` with `key`, which must be the document's own signer.
    ///
    /// Fails with [`DocumentError::WrongSigner`] for any other key, and with the same error
    /// [`from_bytes`](Self::from_bytes) would give if the document breaks a [limit](crate::limits).
    pub fn sign(document: T, key: &SigningKey) -> Result<Self, DocumentError> {
        if key.public() != document.signer() {
            return Err(DocumentError::WrongSigner);
        }
        let payload = document.to_cbor();
        // Refuse to sign what no verifier would accept (over-long lists, bad names, ...).
        T::from_cbor(&payload)?;
        let protected = protected_header(T::KIND);
        let signature = key.sign(&sig_structure(&protected, &payload));
        let bytes = envelope(protected, payload, &signature);
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge {
                what: "signed document",
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        Ok(Self { bytes, document })
    }

    /// Parses and verifies a tagged COSE_Sign1 message carrying a `T`.
    ///
    /// Checks, in order: size; CBOR tag 18 and four-element array; protected header exactly
    /// `{1: -8 (EdDSA), 3: T::KIND}`; empty unprotected header; payload is a canonical `T`;
    /// the whole message is the canonical encoding; the signature verifies (strictly) under the
    /// document's own signer over the Sig_structure built from the received bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DocumentError> {
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(DocumentError::TooLarge {
                what: "signed document",
                limit: MAX_DOCUMENT_BYTES,
            });
        }
        let Cbor::Tag(COSE_SIGN1_TAG, message) = Cbor::decode(bytes)? else {
            return Err(DocumentError::malformed("not a tagged COSE_Sign1 message"));
        };
        let Cbor::Array(parts) = *message else {
            return Err(DocumentError::malformed("COSE_Sign1 is not an array"));
        };
        let [Cbor::Bytes(protected), Cbor::Map(unprotected), Cbor::Bytes(payload), Cbor::Bytes(signature)] =
            <[Cbor; 4]>::try_from(parts)
                .map_err(|_| DocumentError::malformed("COSE_Sign1 does not have four elements"))?
        else {
            return Err(DocumentError::malformed(
                "COSE_Sign1 elements have the wrong types",
            ));
        };
        check_protected_header::<T>(&protected)?;
        if !unprotected.is_empty() {
            return Err(DocumentError::malformed("unprotected header is not empty"));
        }
        let signature = <[u8; 64]>::try_from(signature.as_slice())
            .map(|s| Signature::from_bytes(&s))
            .map_err(|_| DocumentError::malformed("signature is not 64 bytes"))?;
        let document = T::from_cbor(&payload)?;
        let to_sign = sig_structure(&protected, &payload);
        if envelope(protected, payload, &signature) != bytes {
            return Err(DocumentError::NotCanonical);
        }
        document
            .signer()
            .verify(&to_sign, &signature)
            .map_err(|_| DocumentError::BadSignature)?;
        Ok(Self {
            bytes: bytes.to_vec(),
            document,
        })
    }

    /// The verified document.
    pub fn document(&self) -> &T {
        &self.document
    }

    /// The verified document, consuming the envelope.
    pub fn into_document(self) -> T {
        self.document
    }

    /// The COSE_Sign1 bytes exactly as signed or received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// SHA-256 of [`as_bytes`](Self::as_bytes): how ledger entries and other documents refer to it.
    pub fn hash(&self) -> [u8; 32] {
        carekey_crypto::sha256(&self.bytes)
    }

    /// The Ed25519 signature inside the envelope.
    pub fn signature(&self) -> Signature {
        // The last 64 bytes of the canonical envelope are the signature (a 64-byte bstr ends it).
        let mut sig = [0u8; 64];
        sig.copy_from_slice(&self.bytes[self.bytes.len() - 64..]);
        Signature::from_bytes(&sig)
    }

    /// Rebuilds the envelope of `document` with a signature made elsewhere, and verifies it.
    /// Used to restore a signed document from another representation (FHIR Consent).
    pub fn from_parts(document: &T, signature: &Signature) -> Result<Self, DocumentError> {
        let bytes = envelope(protected_header(T::KIND), document.to_cbor(), signature);
        Self::from_bytes(&bytes)
    }
}

fn check_protected_header<T: Document>(protected: &[u8]) -> Result<(), DocumentError> {
    let mut header = MapReader::new(Cbor::decode(protected)?, "protected header")?;
    match header.required(HEADER_ALG)? {
        Cbor::Neg(ALG_EDDSA_NEG) => {}
        _ => return Err(DocumentError::malformed("algorithm is not EdDSA (-8)")),
    }
    let found = match header.required(HEADER_CONTENT_TYPE)? {
        Cbor::Text(t) => t,
        _ => return Err(DocumentError::malformed("content type is not text")),
    };
    header.finish()?;
    if found != T::KIND {
        return Err(DocumentError::WrongKind {
            expected: T::KIND,
            found,
        });
    }
    if protected != protected_header(T::KIND).as_slice() {
        return Err(DocumentError::NotCanonical);
    }
    Ok(())
}

impl SignedRequest {
    /// `carekey:request/v1/` followed by the COSE bytes in unpadded base64url.
    pub fn to_uri(&self) -> String {
        format!(
            "{REQUEST_URI_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(&self.bytes)
        )
    }

    /// Parses and verifies a request URI (surrounding whitespace ignored; the scheme is
    /// case-insensitive as RFC 3986 says, the rest is not).
    pub fn from_uri(uri: &str) -> Result<Self, DocumentError> {
        let uri = uri.trim();
        if uri.len() > MAX_URI_BYTES {
            return Err(DocumentError::TooLarge {
                what: "request URI",
                limit: MAX_URI_BYTES,
            });
        }
        let scheme_len = "carekey:".len();
        let (scheme, rest) = (uri.get(..scheme_len), uri.get(scheme_len..));
        let (Some(scheme), Some(rest)) = (scheme, rest) else {
            return Err(DocumentError::BadUri {
                reason: "does not start with carekey:".into(),
            });
        };
        if !scheme.eq_ignore_ascii_case("carekey:") {
            return Err(DocumentError::BadUri {
                reason: "does not start with carekey:".into(),
            });
        }
        let Some(encoded) = rest.strip_prefix(&REQUEST_URI_PREFIX[scheme_len..]) else {
            return Err(DocumentError::BadUri {
                reason: "not a version 1 access request".into(),
            });
        };
        if encoded.is_empty() {
            return Err(DocumentError::BadUri {
                reason: "no request after the prefix".into(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|e| DocumentError::BadUri {
                reason: format!("bad base64url: {e}"),
            })?;
        Self::from_bytes(&bytes)
    }

    /// Whether the request may be answered at `now`: created no later than
    /// [`REQUEST_CLOCK_SKEW_SECS`] in the future, and not yet expired.
    pub fn check_fresh(&self, now: u64) -> Result<(), DocumentError> {
        let r = &self.document;
        if r.created_at > now.saturating_add(REQUEST_CLOCK_SKEW_SECS) {
            return Err(DocumentError::NotYetValid {
                now,
                not_before: r.created_at,
            });
        }
        if now >= r.expires_at {
            return Err(DocumentError::Expired {
                now,
                not_after: r.expires_at,
            });
        }
        Ok(())
    }
}

impl SignedGrant {
    /// Whether the grant's window contains `now`: `not_before <= now < not_after`.
    /// (Revocation is checked against the ledger, not here.)
    pub fn check_valid_at(&self, now: u64) -> Result<(), DocumentError> {
        let g = &self.document;
        if now < g.not_before {
            return Err(DocumentError::NotYetValid {
                now,
                not_before: g.not_before,
            });
        }
        if now >= g.not_after {
            return Err(DocumentError::Expired {
                now,
                not_after: g.not_after,
            });
        }
        Ok(())
    }
}
