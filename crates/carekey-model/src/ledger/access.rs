//! Access details: who fetched a grant's bundle and when, sealed to the grant's event key.
//!
//! `sealed = ephemeral X25519 public (32) ‖ seal(key, aad, cbor(details))` where
//! `key = HKDF-SHA256(salt = ephemeral ‖ event key, ikm = X25519(ephemeral, event key),
//! info = "carekey/v1/access-event")`, `aad = "carekey/v1/access-event"` and `seal` is
//! `carekey_crypto::seal` (XChaCha20-Poly1305, `nonce ‖ ciphertext ‖ tag`).

use carekey_crypto::{AgreementPublic, AgreementSecret, SymmetricKey};

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
/// would exceed [`MAX_SEALED_BYTES`]. One fresh ephemeral key per call; to seal many details
/// to one event key with a single key agreement, use [`AccessSealer`].
pub fn seal_access_details(
    event_key: &AgreementPublic,
    details: &AccessDetails,
) -> Result<Vec<u8>, DocumentError> {
    AccessSealer::new(event_key)?.seal(details)
}

/// Seals many [`AccessDetails`] to one grant's event key with one X25519 agreement.
///
/// Holds one ephemeral public key and the key HKDF derived from it (exactly the derivation of
/// [`seal_access_details`]); every [`seal`](Self::seal) is then one XChaCha20-Poly1305 seal
/// under a fresh random 24-byte nonce. The output format is unchanged
/// (`ephemeral public ‖ nonce ‖ ciphertext ‖ tag`) and opens with [`open_access_details`].
/// Details sealed by one sealer share the ephemeral public key, so they are linkable to each
/// other; the [`AccessEvent`](super::AccessEvent)s that carry them already name the same
/// grant key in clear, so nothing new is revealed. A node keeps one sealer per grant.
#[derive(Clone)]
pub struct AccessSealer {
    event_key: AgreementPublic,
    ephemeral_public: AgreementPublic,
    key: SymmetricKey,
}

impl std::fmt::Debug for AccessSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessSealer")
            .field("event_key", &self.event_key)
            .field("ephemeral_public", &self.ephemeral_public)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl AccessSealer {
    /// Generates an ephemeral key and agrees with `event_key` once.
    ///
    /// Fails if `event_key` is a low-order point (no secret would be shared).
    pub fn new(event_key: &AgreementPublic) -> Result<Self, DocumentError> {
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
        Ok(Self {
            event_key: *event_key,
            ephemeral_public,
            key,
        })
    }

    /// The event key this sealer seals to.
    pub fn event_key(&self) -> &AgreementPublic {
        &self.event_key
    }

    /// Seals `details` (fresh random nonce). Fails if the result would exceed
    /// [`MAX_SEALED_BYTES`].
    pub fn seal(&self, details: &AccessDetails) -> Result<Vec<u8>, DocumentError> {
        let mut sealed = self.ephemeral_public.as_bytes().to_vec();
        sealed.extend(carekey_crypto::seal(
            &self.key,
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use carekey_crypto::SigningKey;

    use super::*;
    use crate::ledger::FetchRequest;
    use crate::GrantId;

    fn details(nonce: u8) -> AccessDetails {
        let provider = SigningKey::generate();
        let request = FetchRequest {
            provider_signing: provider.public(),
            grant_id: GrantId([7; 16]),
            node: "https://node.example".into(),
            nonce: [nonce; 16],
            requested_at: 1_700_000_000,
        };
        AccessDetails {
            fetch_request: Signed::sign(request, &provider).unwrap(),
            served_at: 1_700_000_001,
        }
    }

    #[test]
    fn a_sealer_seals_many_details_that_open_like_single_seals() {
        let event = AgreementSecret::generate();
        let sealer = AccessSealer::new(&event.public()).unwrap();
        assert_eq!(sealer.event_key(), &event.public());
        let (a, b) = (details(1), details(2));
        let sealed_a = sealer.seal(&a).unwrap();
        let sealed_b = sealer.seal(&b).unwrap();
        let sealed_a_again = sealer.seal(&a).unwrap();
        // One ephemeral key for the sealer, a fresh nonce every time.
        assert_eq!(sealed_a[..32], sealed_b[..32]);
        assert_ne!(sealed_a[32..56], sealed_a_again[32..56]);
        assert_eq!(open_access_details(&event, &sealed_a).unwrap(), a);
        assert_eq!(open_access_details(&event, &sealed_b).unwrap(), b);
        assert_eq!(open_access_details(&event, &sealed_a_again).unwrap(), a);
        // The same length as the one-shot function's output; another sealer, another key.
        assert_eq!(
            seal_access_details(&event.public(), &a).unwrap().len(),
            sealed_a.len()
        );
        let other = AccessSealer::new(&event.public())
            .unwrap()
            .seal(&a)
            .unwrap();
        assert_ne!(other[..32], sealed_a[..32]);
        assert!(open_access_details(&AgreementSecret::generate(), &sealed_a).is_err());
        assert!(format!("{sealer:?}").contains("[redacted]"));
    }

    #[test]
    fn a_low_order_event_key_is_refused() {
        assert!(AccessSealer::new(&AgreementPublic::from_bytes([0; 32])).is_err());
    }
}
