//! SMART Health Cards (HL7 "SMART Health Cards and Links" IG, STU1, cards specification):
//! reading a card from its `shc:/` QR text or a `.smart-health-card` file, and verifying its
//! ES256 signature against the issuer's published keys and revocation list.
//!
//! A card is a JWS compact serialization, header `{"zip":"DEF","alg":"ES256","kid":…}`, payload
//! raw DEFLATE of the JWT claims `{iss, nbf, exp?, vc: {type, credentialSubject: {fhirVersion,
//! fhirBundle}, rid?}}`. The `kid` is the RFC 7638 thumbprint of the issuer's P-256 key, found
//! at `<iss>/.well-known/jwks.json`; a key with `crlVersion` has a revocation list at
//! `<iss>/.well-known/crl/<kid>.json`.
//!
//! Nothing here touches the network: [`Card::parse`] reads a card, the caller fetches the
//! issuer's [`Jwks`] (and [`Crl`]) if it trusts the issuer, and [`verify`] decides with `now`
//! passed in.

mod card;
mod keys;
mod qr;

pub use card::{
    check_issuer, Card, CardError, MAX_CARD_FILE_BYTES, MAX_JWS_BYTES, MAX_PAYLOAD_BYTES,
};
pub use keys::{crl_url, jwks_url, Crl, IssuerKey, Jwks, KeysError, MAX_KEYS_BYTES};
pub use qr::{jws_from_qr, jws_from_qr_chunks, jws_to_qr, SHC_QR_PREFIX};

use carekey_crypto::EcSigningKey;

/// The type every health card's `vc.type` lists.
pub const HEALTH_CARD_TYPE: &str = "https://smarthealth.cards#health-card";
/// How far in the future a card's `nbf` may be (issuer clock skew), in seconds.
pub const NBF_CLOCK_SKEW_SECS: u64 = 300;

/// Why a well-formed card did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardRefusal {
    /// The issuer's key set has no key with the card's `kid`.
    #[error("the issuer publishes no key {kid}")]
    UnknownKey {
        /// The card's `kid`.
        kid: String,
    },
    /// The key with the card's `kid` is not a P-256 ES256 signing key (`kty`, `crv`, `use`,
    /// `alg`), has bad coordinates, or publishes its private part `d`.
    #[error("the issuer's key {kid} cannot verify cards: {reason}")]
    UnusableKey {
        /// The card's `kid`.
        kid: String,
        /// What is wrong with the key.
        reason: &'static str,
    },
    /// The key's `kid` is not its RFC 7638 thumbprint, as the spec requires.
    #[error("the key id {kid} is not the key's thumbprint {thumbprint}")]
    KidMismatch {
        /// The `kid`, as written.
        kid: String,
        /// The key's thumbprint.
        thumbprint: String,
    },
    /// The ES256 signature does not verify under the issuer's key: the card was altered or
    /// was not signed by this issuer.
    #[error("the signature does not verify: the card was altered or not made by this issuer")]
    BadSignature,
    /// The card says it is issued after `now` (beyond [`NBF_CLOCK_SKEW_SECS`]).
    #[error("the card is not valid before {nbf} (now {now})")]
    NotYetValid {
        /// The card's `nbf`.
        nbf: u64,
        /// The time asked about.
        now: u64,
    },
    /// The card has expired.
    #[error("the card expired at {exp} (now {now})")]
    Expired {
        /// The card's `exp`.
        exp: u64,
        /// The time asked about.
        now: u64,
    },
    /// The key has `crlVersion`, so its revocation list must be checked, and none was given.
    #[error("the issuer keeps a revocation list for key {kid}; it must be checked")]
    CrlMissing {
        /// The key's `kid`.
        kid: String,
    },
    /// The revocation list given is for another key, or older than the key's `crlVersion`.
    #[error("the revocation list does not match key {kid}: {reason}")]
    CrlMismatch {
        /// The key's `kid`.
        kid: String,
        /// What does not match.
        reason: &'static str,
    },
    /// The issuer revoked this card (its `rid` is on the revocation list).
    #[error("the issuer revoked this card (rid {rid})")]
    Revoked {
        /// The card's `rid`.
        rid: String,
    },
}

/// A card whose signature verified under its issuer's key, not expired and not revoked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCard {
    /// The issuer (`iss`), the URL whose keys verified the card.
    pub issuer: String,
    /// The key that signed it.
    pub kid: String,
    /// When it was issued (`nbf`, unix seconds).
    pub issued_at: u64,
    /// When it expires (`exp`), if it does.
    pub expires_at: Option<u64>,
    /// Its revocation id, if it has one.
    pub rid: Option<String>,
    /// Its `vc.type` list.
    pub types: Vec<String>,
    /// The FHIR version it states, if any.
    pub fhir_version: Option<String>,
    /// The FHIR Bundle it carries.
    pub fhir_bundle: serde_json::Value,
}

/// Verifies `card` against its issuer's key set `jwks` and, when the key has `crlVersion`,
/// the key's revocation list `crl`, at time `now` (unix seconds).
///
/// The checks run in this order: the key (found by `kid`, usable, `kid` is its thumbprint),
/// the signature, the validity period, the revocation list. So a tampered card is always
/// "bad signature", whatever its dates say.
pub fn verify(
    card: &Card,
    jwks: &Jwks,
    crl: Option<&Crl>,
    now: u64,
) -> Result<VerifiedCard, CardRefusal> {
    let kid = card.kid();
    let key = jwks.key(kid).ok_or_else(|| CardRefusal::UnknownKey {
        kid: kid.to_owned(),
    })?;
    let public = key.verifying_key()?;
    let thumbprint = public.jwk_thumbprint();
    if thumbprint != kid {
        return Err(CardRefusal::KidMismatch {
            kid: kid.to_owned(),
            thumbprint,
        });
    }
    public
        .verify(card.signing_input().as_bytes(), card.signature())
        .map_err(|_| CardRefusal::BadSignature)?;
    if card.nbf() > now.saturating_add(NBF_CLOCK_SKEW_SECS) {
        return Err(CardRefusal::NotYetValid {
            nbf: card.nbf(),
            now,
        });
    }
    if let Some(exp) = card.exp() {
        if now >= exp {
            return Err(CardRefusal::Expired { exp, now });
        }
    }
    if let Some(version) = key.crl_version() {
        let crl = crl.ok_or_else(|| CardRefusal::CrlMissing {
            kid: kid.to_owned(),
        })?;
        if crl.kid() != kid {
            return Err(CardRefusal::CrlMismatch {
                kid: kid.to_owned(),
                reason: "it is for another key",
            });
        }
        if crl.ctr() < version {
            return Err(CardRefusal::CrlMismatch {
                kid: kid.to_owned(),
                reason: "it is older than the key's crlVersion",
            });
        }
        if let Some(rid) = card.rid() {
            if crl.revokes(rid, card.nbf()) {
                return Err(CardRefusal::Revoked {
                    rid: rid.to_owned(),
                });
            }
        }
    }
    Ok(VerifiedCard {
        issuer: card.issuer().to_owned(),
        kid: kid.to_owned(),
        issued_at: card.nbf(),
        expires_at: card.exp(),
        rid: card.rid().map(str::to_owned),
        types: card.types().to_vec(),
        fhir_version: card.fhir_version().map(str::to_owned),
        fhir_bundle: card.fhir_bundle().clone(),
    })
}

/// What a new card says, for [`issue`].
#[derive(Debug, Clone, PartialEq)]
pub struct CardClaims {
    /// The issuer URL (`https://…`, no trailing `/`).
    pub issuer: String,
    /// Issued at (unix seconds).
    pub nbf: u64,
    /// Expires at, if it does.
    pub exp: Option<u64>,
    /// A revocation id (base64url alphabet, at most 24 characters).
    pub rid: Option<String>,
    /// The FHIR Bundle.
    pub fhir_bundle: serde_json::Value,
}

/// Signs a card as an issuer would: ES256, `zip: "DEF"`, `kid` the key's thumbprint. For tests
/// and a future issuer role; the wallet only reads and verifies cards.
pub fn issue(key: &EcSigningKey, claims: &CardClaims) -> String {
    card::issue(key, claims)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bundle() -> serde_json::Value {
        serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"fullUrl": "resource:0", "resource": {"resourceType": "Patient", "name": [{"family": "Brown"}]}}
        ]})
    }

    fn claims(rid: Option<&str>, exp: Option<u64>) -> CardClaims {
        CardClaims {
            issuer: "https://issuer.example/shc".into(),
            nbf: 1_700_000_000,
            exp,
            rid: rid.map(str::to_owned),
            fhir_bundle: bundle(),
        }
    }

    fn jwks_for(key: &EcSigningKey, crl_version: Option<u64>) -> Jwks {
        let public = key.public();
        let mut jwk = serde_json::json!({
            "kty": "EC", "kid": public.jwk_thumbprint(), "use": "sig", "alg": "ES256",
            "crv": "P-256", "x": public.jwk_x(), "y": public.jwk_y()
        });
        if let Some(v) = crl_version {
            jwk["crlVersion"] = v.into();
        }
        Jwks::from_json(&serde_json::to_vec(&serde_json::json!({"keys": [jwk]})).unwrap()).unwrap()
    }

    const NOW: u64 = 1_700_000_100;

    #[test]
    fn issue_then_verify() {
        let key = EcSigningKey::generate();
        let jws = issue(&key, &claims(Some("abc"), Some(NOW + 10)));
        let card = Card::parse(&jws).unwrap();
        assert_eq!(card.issuer(), "https://issuer.example/shc");
        let verified = verify(&card, &jwks_for(&key, None), None, NOW).unwrap();
        assert_eq!(verified.issued_at, 1_700_000_000);
        assert_eq!(verified.fhir_bundle, bundle());
        assert_eq!(verified.rid.as_deref(), Some("abc"));
        assert_eq!(verified.types, vec![HEALTH_CARD_TYPE.to_owned()]);

        assert_eq!(
            verify(&card, &jwks_for(&key, None), None, NOW + 10),
            Err(CardRefusal::Expired {
                exp: NOW + 10,
                now: NOW + 10
            })
        );
        assert!(matches!(
            verify(&card, &jwks_for(&key, None), None, 1_699_999_000),
            Err(CardRefusal::NotYetValid { .. })
        ));
        let other = EcSigningKey::generate();
        assert!(matches!(
            verify(&card, &jwks_for(&other, None), None, NOW),
            Err(CardRefusal::UnknownKey { .. })
        ));
    }

    #[test]
    fn revocation_list() {
        let key = EcSigningKey::generate();
        let kid = key.public().jwk_thumbprint();
        let jwks = jwks_for(&key, Some(2));
        let card = Card::parse(&issue(&key, &claims(Some("abc"), None))).unwrap();
        let crl = |ctr: u64, rids: &[&str], kid: &str| {
            Crl::from_json(
                serde_json::json!({"kid": kid, "method": "rid", "ctr": ctr, "rids": rids})
                    .to_string()
                    .as_bytes(),
            )
            .unwrap()
        };
        assert!(matches!(
            verify(&card, &jwks, None, NOW),
            Err(CardRefusal::CrlMissing { .. })
        ));
        verify(&card, &jwks, Some(&crl(2, &["other"], &kid)), NOW).unwrap();
        assert!(matches!(
            verify(&card, &jwks, Some(&crl(1, &[], &kid)), NOW),
            Err(CardRefusal::CrlMismatch { .. })
        ));
        assert!(matches!(
            verify(&card, &jwks, Some(&crl(2, &[], "someoneelse")), NOW),
            Err(CardRefusal::CrlMismatch { .. })
        ));
        assert_eq!(
            verify(&card, &jwks, Some(&crl(3, &["abc"], &kid)), NOW),
            Err(CardRefusal::Revoked { rid: "abc".into() })
        );
        // With a timestamp: only cards issued before it are revoked.
        assert!(matches!(
            verify(&card, &jwks, Some(&crl(2, &["abc.1700000001"], &kid)), NOW),
            Err(CardRefusal::Revoked { .. })
        ));
        verify(&card, &jwks, Some(&crl(2, &["abc.1700000000"], &kid)), NOW).unwrap();
        // A card without rid cannot be listed.
        let plain = Card::parse(&issue(&key, &claims(None, None))).unwrap();
        verify(&plain, &jwks, Some(&crl(2, &["abc"], &kid)), NOW).unwrap();
    }

    #[test]
    fn kid_must_be_the_thumbprint() {
        let key = EcSigningKey::generate();
        let public = key.public();
        let card = Card::parse(&issue(&key, &claims(None, None))).unwrap();
        // A JWKS listing the right key under the card's kid... and a different key under it.
        let other = EcSigningKey::generate().public();
        let jwks = Jwks::from_json(
            serde_json::json!({"keys": [{
                "kty": "EC", "kid": public.jwk_thumbprint(), "use": "sig", "alg": "ES256",
                "crv": "P-256", "x": other.jwk_x(), "y": other.jwk_y()
            }]})
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        assert!(matches!(
            verify(&card, &jwks, None, NOW),
            Err(CardRefusal::KidMismatch { .. })
        ));
        for (member, value) in [
            ("use", "enc"),
            ("alg", "ES384"),
            ("crv", "P-384"),
            ("kty", "RSA"),
            ("d", "AAAA"),
        ] {
            let mut jwk = serde_json::json!({
                "kty": "EC", "kid": public.jwk_thumbprint(), "use": "sig", "alg": "ES256",
                "crv": "P-256", "x": public.jwk_x(), "y": public.jwk_y()
            });
            jwk[member] = value.into();
            let jwks =
                Jwks::from_json(serde_json::json!({"keys": [jwk]}).to_string().as_bytes()).unwrap();
            assert!(
                matches!(
                    verify(&card, &jwks, None, NOW),
                    Err(CardRefusal::UnusableKey { .. })
                ),
                "{member}"
            );
        }
    }
}
