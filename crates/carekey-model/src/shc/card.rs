//! A card's JWS: parsing the compact serialization and its compressed claims, reading a
//! `.smart-health-card` file, and signing (the issuer side, for tests).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{EcSigningKey, ES256_SIGNATURE_LEN};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::{CardClaims, HEALTH_CARD_TYPE};
use crate::deflate::{self, InflateError};
use crate::shl::{check_web_url, seconds};

/// Longest JWS read, in bytes: 4 MiB (a QR holds about 1,200 characters, a file card more).
pub const MAX_JWS_BYTES: usize = 4 << 20;
/// Largest inflated claims, in bytes: 16 MiB.
pub const MAX_PAYLOAD_BYTES: usize = deflate::MAX_INFLATED_BYTES;
/// Largest `.smart-health-card` file read: 32 MiB.
pub const MAX_CARD_FILE_BYTES: usize = 32 << 20;
/// Longest protected header read, in bytes.
const MAX_HEADER_BYTES: usize = 4096;
/// Longest `rid` the spec allows.
const MAX_RID_CHARS: usize = 24;

/// Why text, a file or a JWS is not a readable health card.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// The input exceeds a documented cap.
    #[error("too large: {what} exceeds {limit} bytes")]
    TooLarge {
        /// Which input.
        what: &'static str,
        /// The cap in bytes.
        limit: usize,
    },
    /// QR text that is not `shc:/` followed by pairs of digits, each at most 77.
    #[error("not a SMART Health Card QR code: {reason}")]
    NotAQrCard {
        /// What is wrong.
        reason: &'static str,
    },
    /// One part of a card split over several QR codes (deprecated by the spec): all parts are
    /// needed, in [`super::jws_from_qr_chunks`].
    #[error("this QR code is part {index} of {total} of one card: scan all {total}")]
    Chunked {
        /// This part's number, from 1.
        index: usize,
        /// How many parts there are.
        total: usize,
    },
    /// A `.smart-health-card` file that is not `{"verifiableCredential": [<JWS>, …]}` with at
    /// least one card.
    #[error("not a .smart-health-card file: {reason}")]
    BadFile {
        /// The JSON error or what is missing.
        reason: String,
    },
    /// Not three base64url parts, or a signature that is not 64 bytes.
    #[error("not a JWS compact serialization: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The header is not `{"alg":"ES256","zip":"DEF","kid":…}` (or has `crit`).
    #[error("bad card header: {reason}")]
    BadHeader {
        /// The JSON error or the member that is wrong.
        reason: String,
    },
    /// The payload does not inflate (not raw DEFLATE, or too large).
    #[error("the card payload does not inflate: {0}")]
    Inflate(#[from] InflateError),
    /// The claims are not what a health card holds: `iss` an https URL without a trailing
    /// `/`, `nbf` and `exp` seconds, `vc.type` listing the health-card type,
    /// `vc.credentialSubject.fhirBundle` a Bundle, `vc.rid` short base64url.
    #[error("bad card claims: {reason}")]
    BadClaims {
        /// The JSON error or the member that is wrong.
        reason: String,
    },
}

impl CardError {
    fn claims(reason: impl Into<String>) -> Self {
        Self::BadClaims {
            reason: reason.into(),
        }
    }
}

/// A health card read from its JWS, not yet verified (see [`super::verify`]): what it claims,
/// and the bytes its signature covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Card {
    jws: String,
    /// Where the payload part ends: `jws[..signing_input_end]` is the signing input.
    signing_input_end: usize,
    signature: [u8; ES256_SIGNATURE_LEN],
    kid: String,
    issuer: String,
    nbf: u64,
    exp: Option<u64>,
    rid: Option<String>,
    types: Vec<String>,
    fhir_version: Option<String>,
    fhir_bundle: Value,
}

#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<Value>,
}

#[derive(Deserialize)]
struct ClaimsIn {
    iss: String,
    nbf: Number,
    #[serde(default)]
    exp: Option<Number>,
    vc: VcIn,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VcIn {
    #[serde(rename = "type")]
    types: Vec<String>,
    credential_subject: SubjectIn,
    #[serde(default)]
    rid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectIn {
    #[serde(default)]
    fhir_version: Option<String>,
    fhir_bundle: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileIn {
    verifiable_credential: Vec<String>,
}

impl Card {
    /// Reads a card's JWS compact serialization. Checks the form only; [`super::verify`]
    /// checks the signature.
    pub fn parse(jws: &str) -> Result<Self, CardError> {
        if jws.len() > MAX_JWS_BYTES {
            return Err(CardError::TooLarge {
                what: "the JWS",
                limit: MAX_JWS_BYTES,
            });
        }
        let jws = jws.trim();
        let mut parts = jws.split('.');
        let (Some(header_part), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CardError::Malformed {
                reason: "expected three dot-separated parts",
            });
        };
        if header_part.len() > MAX_HEADER_BYTES {
            return Err(CardError::Malformed {
                reason: "the header is too long",
            });
        }
        let header: HeaderIn =
            serde_json::from_slice(&b64(header_part, "the header is not base64url")?).map_err(
                |e| CardError::BadHeader {
                    reason: e.to_string(),
                },
            )?;
        if header.alg != "ES256" {
            return Err(CardError::BadHeader {
                reason: format!("alg {:?} is not ES256", header.alg),
            });
        }
        if header.zip.as_deref() != Some("DEF") {
            return Err(CardError::BadHeader {
                reason: "zip must be DEF".to_owned(),
            });
        }
        if header.crit.is_some() {
            return Err(CardError::BadHeader {
                reason: "crit extensions are not understood".to_owned(),
            });
        }
        let kid = header
            .kid
            .filter(|k| !k.is_empty())
            .ok_or_else(|| CardError::BadHeader {
                reason: "no kid".to_owned(),
            })?;
        let signature: [u8; ES256_SIGNATURE_LEN] =
            b64(signature, "the signature is not base64url")?
                .as_slice()
                .try_into()
                .map_err(|_| CardError::Malformed {
                    reason: "an ES256 signature is 64 bytes",
                })?;
        let claims = deflate::inflate(
            &b64(payload, "the payload is not base64url")?,
            MAX_PAYLOAD_BYTES,
        )?;
        let claims: ClaimsIn =
            serde_json::from_slice(&claims).map_err(|e| CardError::claims(e.to_string()))?;
        check_issuer(&claims.iss)?;
        let nbf = seconds(&claims.nbf).ok_or_else(|| CardError::claims("bad nbf"))?;
        let exp = claims
            .exp
            .as_ref()
            .map(|n| seconds(n).ok_or_else(|| CardError::claims("bad exp")))
            .transpose()?;
        if !claims.vc.types.iter().any(|t| t == HEALTH_CARD_TYPE) {
            return Err(CardError::claims(
                "vc.type does not list https://smarthealth.cards#health-card",
            ));
        }
        if let Some(rid) = &claims.vc.rid {
            check_rid(rid)?;
        }
        let bundle = claims.vc.credential_subject.fhir_bundle;
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(CardError::claims(
                "vc.credentialSubject.fhirBundle is not a Bundle",
            ));
        }
        Ok(Self {
            signing_input_end: header_part.len() + 1 + payload.len(),
            jws: jws.to_owned(),
            signature,
            kid,
            issuer: claims.iss,
            nbf,
            exp,
            rid: claims.vc.rid,
            types: claims.vc.types,
            fhir_version: claims.vc.credential_subject.fhir_version,
            fhir_bundle: Value::Object(bundle),
        })
    }

    /// The JWS strings of a `.smart-health-card` file, in order (at least one).
    pub fn file_cards(file: &[u8]) -> Result<Vec<String>, CardError> {
        if file.len() > MAX_CARD_FILE_BYTES {
            return Err(CardError::TooLarge {
                what: "the file",
                limit: MAX_CARD_FILE_BYTES,
            });
        }
        let file: FileIn = serde_json::from_slice(file).map_err(|e| CardError::BadFile {
            reason: e.to_string(),
        })?;
        if file.verifiable_credential.is_empty() {
            return Err(CardError::BadFile {
                reason: "verifiableCredential is empty".to_owned(),
            });
        }
        Ok(file.verifiable_credential)
    }

    /// The JWS as read (trimmed).
    pub fn jws(&self) -> &str {
        &self.jws
    }

    /// The bytes the signature covers: `header.payload`, as written.
    pub fn signing_input(&self) -> &str {
        &self.jws[..self.signing_input_end]
    }

    /// The ES256 signature, `r || s`.
    pub fn signature(&self) -> &[u8; ES256_SIGNATURE_LEN] {
        &self.signature
    }

    /// The id of the key that claims to have signed it.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Who claims to have issued it (`iss`); unverified until [`super::verify`] says so.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// When it says it was issued (`nbf`, unix seconds).
    pub fn nbf(&self) -> u64 {
        self.nbf
    }

    /// When it says it expires (`exp`), if it does.
    pub fn exp(&self) -> Option<u64> {
        self.exp
    }

    /// Its revocation id, if any.
    pub fn rid(&self) -> Option<&str> {
        self.rid.as_deref()
    }

    /// Its `vc.type` list.
    pub fn types(&self) -> &[String] {
        &self.types
    }

    /// The FHIR version it states, if any.
    pub fn fhir_version(&self) -> Option<&str> {
        self.fhir_version.as_deref()
    }

    /// The FHIR Bundle it carries.
    pub fn fhir_bundle(&self) -> &Value {
        &self.fhir_bundle
    }
}

fn b64(part: &str, reason: &'static str) -> Result<Vec<u8>, CardError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| CardError::Malformed { reason })
}

/// Checks an issuer URL as a card's `iss` must be: `https://` with a host (plain `http://` only
/// to a loopback host), no trailing `/`, at most 2 KiB.
pub fn check_issuer(iss: &str) -> Result<(), CardError> {
    check_web_url(iss).map_err(|r| CardError::claims(format!("iss {r}")))?;
    if iss.ends_with('/') {
        return Err(CardError::claims("iss must not end with /"));
    }
    if iss.len() > 2048 {
        return Err(CardError::claims("iss is too long"));
    }
    Ok(())
}

/// `rid`: at most 24 characters of the base64url alphabet.
fn check_rid(rid: &str) -> Result<(), CardError> {
    if rid.is_empty()
        || rid.len() > MAX_RID_CHARS
        || !rid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(CardError::claims(
            "vc.rid must be 1 to 24 base64url characters",
        ));
    }
    Ok(())
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    zip: &'a str,
    alg: &'a str,
    kid: &'a str,
}

pub(super) fn issue(key: &EcSigningKey, claims: &CardClaims) -> String {
    let kid = key.public().jwk_thumbprint();
    let header = serde_json::to_vec(&HeaderOut {
        zip: "DEF",
        alg: "ES256",
        kid: &kid,
    })
    .unwrap_or_else(|_| unreachable!("strings always serialise"));
    let mut vc = serde_json::json!({
        "type": [HEALTH_CARD_TYPE],
        "credentialSubject": {"fhirVersion": "4.0.1", "fhirBundle": claims.fhir_bundle},
    });
    if let Some(rid) = &claims.rid {
        vc["rid"] = rid.clone().into();
    }
    let mut payload = serde_json::json!({"iss": claims.issuer, "nbf": claims.nbf, "vc": vc});
    if let Some(exp) = claims.exp {
        payload["exp"] = exp.into();
    }
    let payload = serde_json::to_vec(&payload)
        .unwrap_or_else(|_| unreachable!("JSON values always serialise"));
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(deflate::deflate(&payload))
    );
    let signature = key.sign(signing_input.as_bytes());
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn jws_with(header: &str, claims: &str) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(deflate::deflate(claims.as_bytes())),
            URL_SAFE_NO_PAD.encode([7u8; 64])
        )
    }

    const HEADER: &str = r#"{"zip":"DEF","alg":"ES256","kid":"k"}"#;
    const CLAIMS: &str = r#"{"iss":"https://i.example","nbf":1700000000.5,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle"}},"rid":null}}"#;

    #[test]
    fn parses_the_form() {
        let card = Card::parse(&jws_with(HEADER, CLAIMS)).unwrap();
        assert_eq!(card.kid(), "k");
        assert_eq!(card.nbf(), 1_700_000_000);
        assert_eq!(card.rid(), None);
        assert_eq!(card.signature(), &[7u8; 64]);
        assert!(card.jws().starts_with(card.signing_input()));
        assert_eq!(card.signing_input().matches('.').count(), 1);
    }

    #[test]
    fn refusals_are_typed() {
        let header_cases = [
            r#"{"zip":"DEF","alg":"RS256","kid":"k"}"#,
            r#"{"alg":"ES256","kid":"k"}"#,
            r#"{"zip":"DEF","alg":"ES256"}"#,
            r#"{"zip":"DEF","alg":"ES256","kid":"k","crit":["b64"]}"#,
            r#"[]"#,
        ];
        for header in header_cases {
            assert!(
                matches!(
                    Card::parse(&jws_with(header, CLAIMS)),
                    Err(CardError::BadHeader { .. })
                ),
                "{header}"
            );
        }
        let claim_cases = [
            CLAIMS.replace("https://i.example", "https://i.example/"),
            CLAIMS.replace("https://i.example", "http://i.example"),
            CLAIMS.replace("1700000000.5", "-3"),
            CLAIMS.replace("#health-card", "#other"),
            CLAIMS.replace(r#""resourceType":"Bundle""#, r#""resourceType":"Patient""#),
            CLAIMS.replace("null", r#""has space""#),
            CLAIMS.replace("null", &format!("\"{}\"", "a".repeat(25))),
            CLAIMS.replace(r#""nbf":1700000000.5,"#, ""),
            "not json".to_owned(),
        ];
        for claims in claim_cases {
            assert!(
                matches!(
                    Card::parse(&jws_with(HEADER, &claims)),
                    Err(CardError::BadClaims { .. })
                ),
                "{claims}"
            );
        }
        let good = jws_with(HEADER, CLAIMS);
        let (start, sig) = good.rsplit_once('.').unwrap();
        assert!(matches!(
            Card::parse(&format!("{start}.{}", &sig[..80])),
            Err(CardError::Malformed { .. })
        ));
        assert!(matches!(
            Card::parse("a.b"),
            Err(CardError::Malformed { .. })
        ));
        let bad_payload = format!(
            "{}.{}.{sig}",
            URL_SAFE_NO_PAD.encode(HEADER),
            URL_SAFE_NO_PAD.encode([0xffu8; 4])
        );
        assert!(matches!(
            Card::parse(&bad_payload),
            Err(CardError::Inflate(InflateError::Corrupt))
        ));
    }

    #[test]
    fn smart_health_card_files() {
        assert_eq!(
            Card::file_cards(br#"{"verifiableCredential":["a.b.c","d.e.f"]}"#).unwrap(),
            vec!["a.b.c".to_owned(), "d.e.f".to_owned()]
        );
        for bad in [
            &br#"{"verifiableCredential":[]}"#[..],
            br#"{"verifiableCredential":"a.b.c"}"#,
            br#"{"vc":["a"]}"#,
            b"\xff",
        ] {
            assert!(matches!(
                Card::file_cards(bad),
                Err(CardError::BadFile { .. })
            ));
        }
    }
}
