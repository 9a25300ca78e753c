//! Access details: who fetched a grant's bundle and when, sealed to the grant's event key.
//!
//! `sealed = ephemeral X25519 public (32) ‖ seal(key, aad, cbor(details))` where
//! `key = HKDF-SHA256(salt = ephemeral ‖ event key, ikm = X25519(ephemeral, event key),
//! info = "carekey/v1/access-event")`, `aad = "carekey/v1/access-event"` and `seal` is
//! `carekey_crypto::seal` (XChaCha20-Poly1305, `nonce ‖ ciphertext ‖ tag`).

use carekey_crypto::{AgreementPublic, AgreementSecret};

use super::documents::MIN_SEALED_BYTES;
use super::{SignedFetchRequest, MAX_SEALED_BYTES};
use crate::cbor::{self, Cbor, MapBuilder, MapReader};
use crate::error::DocumentError;
use crate::limits::MAX_TIMESTAMP;
use crate::signed::Signed;

/// HKDF info and AEAD associated data of sealed access details.
const ACCESS_EVENT_CONTEXT: &[u8] = b"carekey/v1/access-event";

/// What an [`AccessEvent`](super::AccessEvent) seals for the patient: the provider's signed
/// fetch request, verbatim, and when the node served it.
///
/// Encoded as the deterministic CBOR map `{0: fetch request COSE bytes, 1: served_at}`; not
/// signed itself (the fetch request inside is, by the provider).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessDetails {
    /// 0: the provider's fetch request, as the node received it.
    pub fetch_request: SignedFetchRequest,
    /// 1: when the node served the bundle (unix seconds).
    pub served_at: u64,
}

impl AccessDetails {
    /// The deterministic CBOR encoding (the plaintext that is sealed).
    pub fn to_cbor(&self) -> Vec<u8> {
        MapBuilder::new()
            .put(0, Cbor::Bytes(self.fetch_request.as_bytes().to_vec()))
            .put(1, Cbor::Uint(self.served_at))
            .build()
            .to_vec()
    }

    /// Strictly decodes [`to_cbor`](Self::to_cbor)'s output and verifies the fetch request's
    /// signature (by the provider key it names).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, DocumentError> {
        if bytes.len() > MAX_SEALED_BYTES {
            return Err(DocumentError::TooLarge {
                what: "access details",
                limit: MAX_SEALED_BYTES,
            });
        }
        let mut m = MapReader::new(Cbor::decode(bytes)?, "access details")?;
        let request = cbor::bytes(m.required(0)?, "fetch request", MAX_SEALED_BYTES)?;
        let served_at = cbor::uint(m.required(1)?, "served_at")?;
        m.finish()?;
        if served_at > MAX_TIMESTAMP {
            return Err(DocumentError::malformed("served_at is after the year 9999"));
        }
        let details = Self {
            fetch_request: Signed::from_bytes(&request)?,
            served_at,
        };
        if details.to_cbor() != bytes {
            return Err(DocumentError::NotCanonical);
        }
        Ok(details)
    }
}

/// Seals `details` to a grant's X25519 event key, for an [`AccessEvent`](super::AccessEvent).
///
/// Fails if `event_key` is a low-order point (no secret would be shared) or if the result
/// would exceed [`MAX_SEALED_BYTES`].
pub fn seal_access_details(
    event_key: &AgreementPublic,
    details: &AccessDetails,
) -> Result<Vec<u8>, DocumentError> {
    let ephemeral = AgreementSecret::generate();
    let ephemeral_public = ephemeral.public();
    let shared = ephemeral
        .agree(event_key)
        .map_err(|_| DocumentError::malformed("the event key is a low-order X25519 point"))?;
    let key = carekey_crypto::hkdf_sha256(
        &salt(&ephemeral_public, event_key),
        shared.expose(),
        ACCESS_EVENT_CONTEXT,
    );
    let mut sealed = ephemeral_public.as_bytes().to_vec();
    sealed.extend(carekey_crypto::seal(
        &key,
        ACCESS_EVENT_CONTEXT,
        &details.to_cbor(),
    ));
    if sealed.len() > MAX_SEALED_BYTES {
        return Err(DocumentError::TooLarge {
            what: "sealed access details",
            limit: MAX_SEALED_BYTES,
        });
    }
    Ok(sealed)
}

/// Opens what [`seal_access_details`] sealed, with the grant's event secret, and verifies the
/// provider's signature on the fetch request inside.
///
/// Every failure is a typed error: bytes too short or too long ([`DocumentError::TooLarge`]),
/// a wrong secret or altered bytes ([`DocumentError::Malformed`] "do not open"), details that
/// do not parse, or a fetch request whose signature does not verify
/// ([`DocumentError::BadSignature`]). Whether the request names the right grant, provider
/// and node is the caller's check.
pub fn open_access_details(
    event_secret: &AgreementSecret,
    sealed: &[u8],
) -> Result<AccessDetails, DocumentError> {
    if sealed.len() > MAX_SEALED_BYTES {
        return Err(DocumentError::TooLarge {
            what: "sealed access details",
            limit: MAX_SEALED_BYTES,
        });
    }
    if sealed.len() < MIN_SEALED_BYTES {
        return Err(DocumentError::malformed(
            "sealed access details are too short",
        ));
    }
    let (ephemeral, body) = sealed.split_at(32);
    let mut ephemeral_bytes = [0u8; 32];
    ephemeral_bytes.copy_from_slice(ephemeral);
    let ephemeral = AgreementPublic::from_bytes(ephemeral_bytes);
    let shared = event_secret
        .agree(&ephemeral)
        .map_err(|_| DocumentError::malformed("sealed access details: low-order ephemeral key"))?;
    let key = carekey_crypto::hkdf_sha256(
        &salt(&ephemeral, &event_secret.public()),
        shared.expose(),
        ACCESS_EVENT_CONTEXT,
    );
    let plaintext = carekey_crypto::open(&key, ACCESS_EVENT_CONTEXT, body).map_err(|_| {
        DocumentError::malformed(
            "sealed access details do not open (wrong event key or altered bytes)",
        )
    })?;
    AccessDetails::from_cbor(&plaintext)
}

/// HKDF salt: `ephemeral public ‖ event public`.
fn salt(ephemeral: &AgreementPublic, event_key: &AgreementPublic) -> [u8; 64] {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(ephemeral.as_bytes());
    salt[32..].copy_from_slice(event_key.as_bytes());
    salt
}
