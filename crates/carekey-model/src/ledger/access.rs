//! Access details: who fetched a grant's bundle and when, sealed to the grant's event key.
//!
//! Format v2 (current): `sealed = ephemeral X25519 public (32) ‖ seal(key, aad, cbor(details))`
//! where `key = HKDF-SHA256(salt = ephemeral ‖ event key, ikm = X25519(ephemeral, event key),
//! info = "carekey/v2/access-event")`, `seal` is `carekey_crypto::seal` (XChaCha20-Poly1305,
//! `nonce ‖ ciphertext ‖ tag`) and the associated data binds the details to the one event that
//! carries them ([`AccessBinding::aad`]): `"carekey/v2/access-event" ‖ u16 BE length of the
//! log's origin ‖ origin ‖ node key (32) ‖ grant key (32) ‖ event id (16) ‖ event key (32)`.
//! Sealed details copied into another node's event, another log, another event id or another
//! grant's event no longer open.
//!
//! Format v1 (before issue 8) used `"carekey/v1/access-event"` as both HKDF info and the whole
//! associated data, binding nothing: [`open_v1_access_details`] still reads it, and the wallet
//! shows such an event as unbound rather than verified. The two formats have the same layout
//! and are told apart by which one opens.

use carekey_crypto::{AgreementPublic, AgreementSecret, PublicKey, SymmetricKey};

use super::documents::MIN_SEALED_BYTES;
use super::{SignedFetchRequest, MAX_SEALED_BYTES};
use crate::cbor::{self, Cbor, MapBuilder, MapReader};
use crate::error::DocumentError;
use crate::limits::MAX_TIMESTAMP;
use crate::signed::Signed;

/// HKDF info of sealed access details (format v2), and the start of their associated data.
const ACCESS_EVENT_CONTEXT: &[u8] = b"carekey/v2/access-event";
/// HKDF info and the whole associated data of format v1 (read only).
const ACCESS_EVENT_CONTEXT_V1: &[u8] = b"carekey/v1/access-event";

/// What sealed access details are bound to (format v2): the log that logged them, the node key
/// that signs the event, the grant's pseudonym key and the event id. With the grant's event
/// key (which the seal already uses) these make the AEAD associated data, so the details open
/// only inside the event they were sealed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessBinding {
    /// The log's origin (the name in its note verifier key).
    pub origin: String,
    /// The node's log key, which signs the [`AccessEvent`](super::AccessEvent).
    pub node_key: PublicKey,
    /// The fetched grant's pseudonym key.
    pub grant_key: PublicKey,
    /// The event's id.
    pub event_id: [u8; 16],
}

impl AccessBinding {
    /// The binding of `event`, logged on the log called `origin`.
    pub fn of(origin: &str, event: &super::AccessEvent) -> Self {
        Self {
            origin: origin.to_owned(),
            node_key: event.node_key,
            grant_key: event.grant_key,
            event_id: event.event_id,
        }
    }

    /// The AEAD associated data for details sealed to `event_key` under this binding.
    ///
    /// An origin longer than 65,535 bytes cannot be a note name; it is cut there, which only
    /// makes such a binding fail to match.
    pub fn aad(&self, event_key: &AgreementPublic) -> Vec<u8> {
        let origin = &self.origin.as_bytes()[..self.origin.len().min(usize::from(u16::MAX))];
        let mut aad = Vec::with_capacity(ACCESS_EVENT_CONTEXT.len() + 2 + origin.len() + 112);
        aad.extend_from_slice(ACCESS_EVENT_CONTEXT);
        aad.extend_from_slice(&(origin.len() as u16).to_be_bytes());
        aad.extend_from_slice(origin);
        aad.extend_from_slice(self.node_key.as_bytes());
        aad.extend_from_slice(self.grant_key.as_bytes());
        aad.extend_from_slice(&self.event_id);
        aad.extend_from_slice(event_key.as_bytes());
        aad
    }
}

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

/// Seals `details` to a grant's X25519 event key, for the [`AccessEvent`](super::AccessEvent)
/// `binding` describes (format v2).
///
/// Fails if `event_key` is a low-order point (no secret would be shared) or if the result
/// would exceed [`MAX_SEALED_BYTES`]. One fresh ephemeral key per call; to seal many details
/// to one event key with a single key agreement, use [`AccessSealer`].
pub fn seal_access_details(
    event_key: &AgreementPublic,
    details: &AccessDetails,
    binding: &AccessBinding,
) -> Result<Vec<u8>, DocumentError> {
    AccessSealer::new(event_key)?.seal(details, binding)
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

    /// Seals `details` for the event `binding` describes (fresh random nonce). Fails if the
    /// result would exceed [`MAX_SEALED_BYTES`].
    pub fn seal(
        &self,
        details: &AccessDetails,
        binding: &AccessBinding,
    ) -> Result<Vec<u8>, DocumentError> {
        let mut sealed = self.ephemeral_public.as_bytes().to_vec();
        sealed.extend(carekey_crypto::seal(
            &self.key,
            &binding.aad(&self.event_key),
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

/// Opens what [`seal_access_details`] sealed, with the grant's event secret, for the event
/// `binding` describes, and verifies the provider's signature on the fetch request inside.
///
/// Every failure is a typed error: bytes too short or too long ([`DocumentError::TooLarge`]),
/// a wrong secret, altered bytes or another event's binding ([`DocumentError::Malformed`] "do
/// not open"), details that do not parse, or a fetch request whose signature does not verify
/// ([`DocumentError::BadSignature`]). Whether the request names the right grant, provider
/// and node is the caller's check.
pub fn open_access_details(
    event_secret: &AgreementSecret,
    sealed: &[u8],
    binding: &AccessBinding,
) -> Result<AccessDetails, DocumentError> {
    let aad = binding.aad(&event_secret.public());
    open_sealed(event_secret, sealed, ACCESS_EVENT_CONTEXT, &aad)
}

/// Opens details sealed in format v1, which binds them to no event: they may have been copied
/// from another node's event, so a caller must not call them verified.
pub fn open_v1_access_details(
    event_secret: &AgreementSecret,
    sealed: &[u8],
) -> Result<AccessDetails, DocumentError> {
    open_sealed(
        event_secret,
        sealed,
        ACCESS_EVENT_CONTEXT_V1,
        ACCESS_EVENT_CONTEXT_V1,
    )
}

fn open_sealed(
    event_secret: &AgreementSecret,
    sealed: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<AccessDetails, DocumentError> {
    AccessDetails::from_cbor(&open_bytes(event_secret, sealed, info, aad)?)
}

/// Seals `plaintext` to `event_key` with one fresh ephemeral key: `ephemeral public ‖
/// seal(HKDF(shared, salt = ephemeral ‖ event key, info), aad, plaintext)`. Shared by access
/// details and link-open details (which differ in `info` and `aad`).
pub(super) fn seal_bytes(
    event_key: &AgreementPublic,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, DocumentError> {
    let ephemeral = AgreementSecret::generate();
    let ephemeral_public = ephemeral.public();
    let shared = ephemeral
        .agree(event_key)
        .map_err(|_| DocumentError::malformed("the event key is a low-order X25519 point"))?;
    let key =
        carekey_crypto::hkdf_sha256(&salt(&ephemeral_public, event_key), shared.expose(), info);
    let mut sealed = ephemeral_public.as_bytes().to_vec();
    sealed.extend(carekey_crypto::seal(&key, aad, plaintext));
    if sealed.len() > MAX_SEALED_BYTES {
        return Err(DocumentError::TooLarge {
            what: "sealed details",
            limit: MAX_SEALED_BYTES,
        });
    }
    Ok(sealed)
}

/// Opens what [`seal_bytes`] (or an [`AccessSealer`]) sealed: the plaintext bytes.
pub(super) fn open_bytes(
    event_secret: &AgreementSecret,
    sealed: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<Vec<u8>, DocumentError> {
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
        info,
    );
    let plaintext = carekey_crypto::open(&key, aad, body).map_err(|_| {
        DocumentError::malformed(
            "sealed access details do not open (wrong event key or altered bytes)",
        )
    })?;
    Ok(plaintext.to_vec())
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

    fn binding() -> AccessBinding {
        AccessBinding {
            origin: "node.example/log".into(),
            node_key: SigningKey::from_bytes(&[1; 32]).public(),
            grant_key: SigningKey::from_bytes(&[2; 32]).public(),
            event_id: [3; 16],
        }
    }

    #[test]
    fn a_sealer_seals_many_details_that_open_like_single_seals() {
        let event = AgreementSecret::generate();
        let sealer = AccessSealer::new(&event.public()).unwrap();
        assert_eq!(sealer.event_key(), &event.public());
        let (a, b) = (details(1), details(2));
        let bound = binding();
        let sealed_a = sealer.seal(&a, &bound).unwrap();
        let sealed_b = sealer.seal(&b, &bound).unwrap();
        let sealed_a_again = sealer.seal(&a, &bound).unwrap();
        // One ephemeral key for the sealer, a fresh nonce every time.
        assert_eq!(sealed_a[..32], sealed_b[..32]);
        assert_ne!(sealed_a[32..56], sealed_a_again[32..56]);
        assert_eq!(open_access_details(&event, &sealed_a, &bound).unwrap(), a);
        assert_eq!(open_access_details(&event, &sealed_b, &bound).unwrap(), b);
        assert_eq!(
            open_access_details(&event, &sealed_a_again, &bound).unwrap(),
            a
        );
        // The same length as the one-shot function's output; another sealer, another key.
        assert_eq!(
            seal_access_details(&event.public(), &a, &bound)
                .unwrap()
                .len(),
            sealed_a.len()
        );
        let other = AccessSealer::new(&event.public())
            .unwrap()
            .seal(&a, &bound)
            .unwrap();
        assert_ne!(other[..32], sealed_a[..32]);
        assert!(open_access_details(&AgreementSecret::generate(), &sealed_a, &bound).is_err());
        assert!(format!("{sealer:?}").contains("[redacted]"));
    }

    /// Issue 8, hole 7: sealed details open only inside the event they were sealed for, not in
    /// a copy on another node, another log, another event id or another grant's event.
    #[test]
    fn issue8_sealed_details_are_bound_to_their_event() {
        let event = AgreementSecret::generate();
        let bound = binding();
        let sealed = seal_access_details(&event.public(), &details(1), &bound).unwrap();
        assert!(open_access_details(&event, &sealed, &bound).is_ok());
        let other_key = SigningKey::from_bytes(&[9; 32]).public();
        for moved in [
            AccessBinding {
                node_key: other_key,
                ..bound.clone()
            },
            AccessBinding {
                origin: "other.example/log".into(),
                ..bound.clone()
            },
            AccessBinding {
                grant_key: other_key,
                ..bound.clone()
            },
            AccessBinding {
                event_id: [4; 16],
                ..bound.clone()
            },
        ] {
            assert!(
                matches!(
                    open_access_details(&event, &sealed, &moved),
                    Err(DocumentError::Malformed { .. })
                ),
                "{moved:?}"
            );
        }
        // Nor as the unbound v1 format; and v1 details do not pass as bound ones.
        assert!(open_v1_access_details(&event, &sealed).is_err());
        let one = details(1);
        let v1 = seal_v1(&event.public(), &one);
        assert_eq!(open_v1_access_details(&event, &v1).unwrap(), one);
        assert!(open_access_details(&event, &v1, &bound).is_err());
    }

    /// Format v1, as nodes sealed details before issue 8.
    fn seal_v1(event_key: &AgreementPublic, details: &AccessDetails) -> Vec<u8> {
        let ephemeral = AgreementSecret::generate();
        let shared = ephemeral.agree(event_key).unwrap();
        let key = carekey_crypto::hkdf_sha256(
            &salt(&ephemeral.public(), event_key),
            shared.expose(),
            ACCESS_EVENT_CONTEXT_V1,
        );
        let mut sealed = ephemeral.public().as_bytes().to_vec();
        sealed.extend(carekey_crypto::seal(
            &key,
            ACCESS_EVENT_CONTEXT_V1,
            &details.to_cbor(),
        ));
        sealed
    }

    #[test]
    fn a_low_order_event_key_is_refused() {
        assert!(AccessSealer::new(&AgreementPublic::from_bytes([0; 32])).is_err());
    }
}
