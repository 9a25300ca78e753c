//! An issuer's published keys (`<iss>/.well-known/jwks.json`) and per-key card revocation
//! lists (`<iss>/.well-known/crl/<kid>.json`).

use carekey_crypto::EcPublicKey;
use serde::Deserialize;
use serde_json::{Number, Value};

use super::CardRefusal;

/// Largest key set or revocation list read: 1 MiB.
pub const MAX_KEYS_BYTES: usize = 1 << 20;
/// Most keys in one key set.
const MAX_KEYS: usize = 1000;
/// Most revoked ids in one list.
const MAX_RIDS: usize = 100_000;

/// Why an issuer's key set or revocation list could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// The document exceeds [`MAX_KEYS_BYTES`], or lists too many keys or ids.
    #[error("too large: {what}")]
    TooLarge {
        /// Which cap.
        what: &'static str,
    },
    /// Not the JSON the spec describes.
    #[error("malformed: {reason}")]
    Malformed {
        /// The JSON error or the member that is wrong.
        reason: String,
    },
    /// A revocation list with a method other than `rid`.
    #[error("unsupported revocation method {method:?}")]
    UnsupportedMethod {
        /// The method, as written.
        method: String,
    },
}

/// The URL of an issuer's key set.
pub fn jwks_url(issuer: &str) -> String {
    format!("{issuer}/.well-known/jwks.json")
}

/// The URL of the revocation list of an issuer's key. `kid` comes from a verified key set
/// entry and is a thumbprint (base64url), so it is safe in a path.
pub fn crl_url(issuer: &str, kid: &str) -> String {
    format!("{issuer}/.well-known/crl/{kid}.json")
}

/// One key of an issuer's key set, as published. Only [`super::verify`] decides whether it
/// can verify a card.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuerKey {
    kid: String,
    #[serde(default)]
    kty: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    crv: Option<String>,
    #[serde(default)]
    x: Option<String>,
    #[serde(default)]
    y: Option<String>,
    #[serde(default)]
    d: Option<Value>,
    #[serde(default)]
    crl_version: Option<u64>,
}

impl IssuerKey {
    /// The key's id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The counter of the key's revocation list, when the issuer keeps one.
    pub fn crl_version(&self) -> Option<u64> {
        self.crl_version
    }

    /// The P-256 key, when this entry is an ES256 signing key as the spec requires.
    pub(super) fn verifying_key(&self) -> Result<EcPublicKey, CardRefusal> {
        let unusable = |reason| CardRefusal::UnusableKey {
            kid: self.kid.clone(),
            reason,
        };
        if self.kty.as_deref() != Some("EC") {
            return Err(unusable("kty is not EC"));
        }
        if self.crv.as_deref() != Some("P-256") {
            return Err(unusable("crv is not P-256"));
        }
        if self.key_use.as_deref() != Some("sig") {
            return Err(unusable("use is not sig"));
        }
        if self.alg.as_deref() != Some("ES256") {
            return Err(unusable("alg is not ES256"));
        }
        if self.d.is_some() {
            return Err(unusable("the issuer published its private key (d)"));
        }
        let (Some(x), Some(y)) = (&self.x, &self.y) else {
            return Err(unusable("x or y is missing"));
        };
        EcPublicKey::from_jwk(x, y).map_err(|_| unusable("x and y are not a P-256 point"))
    }
}

/// An issuer's key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwks {
    keys: Vec<IssuerKey>,
}

#[derive(Deserialize)]
struct JwksIn {
    keys: Vec<Value>,
}

impl Jwks {
    /// Reads `jwks.json`. Entries without a string `kid` (keys for other purposes) are
    /// skipped; the rest are kept as published.
    pub fn from_json(body: &[u8]) -> Result<Self, KeysError> {
        if body.len() > MAX_KEYS_BYTES {
            return Err(KeysError::TooLarge {
                what: "the key set exceeds 1 MiB",
            });
        }
        let raw: JwksIn = serde_json::from_slice(body).map_err(|e| KeysError::Malformed {
            reason: e.to_string(),
        })?;
        if raw.keys.len() > MAX_KEYS {
            return Err(KeysError::TooLarge {
                what: "more than 1000 keys",
            });
        }
        let keys = raw
            .keys
            .into_iter()
            .filter(|k| k.get("kid").is_some_and(Value::is_string))
            .map(serde_json::from_value::<IssuerKey>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeysError::Malformed {
                reason: e.to_string(),
            })?;
        Ok(Self { keys })
    }

    /// The key with this `kid`. With several (the spec allows one per certificate chain),
    /// the first usable one.
    pub fn key(&self, kid: &str) -> Option<&IssuerKey> {
        let mut matching = self.keys.iter().filter(|k| k.kid == kid);
        let first = matching.clone().next();
        matching.find(|k| k.verifying_key().is_ok()).or(first)
    }

    /// All keys, as published.
    pub fn keys(&self) -> &[IssuerKey] {
        &self.keys
    }
}

/// A key's card revocation list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crl {
    kid: String,
    ctr: u64,
    /// Each revoked id and, if given, the time before which its cards are revoked.
    rids: Vec<(String, Option<u64>)>,
}

#[derive(Deserialize)]
struct CrlIn {
    kid: String,
    method: String,
    ctr: Value,
    rids: Vec<String>,
}

impl Crl {
    /// Reads a revocation list. `ctr` may be a number or a string of digits (the spec's
    /// example writes it as a string).
    pub fn from_json(body: &[u8]) -> Result<Self, KeysError> {
        if body.len() > MAX_KEYS_BYTES {
            return Err(KeysError::TooLarge {
                what: "the revocation list exceeds 1 MiB",
            });
        }
        let raw: CrlIn = serde_json::from_slice(body).map_err(|e| KeysError::Malformed {
            reason: e.to_string(),
        })?;
        if raw.method != "rid" {
            return Err(KeysError::UnsupportedMethod { method: raw.method });
        }
        let malformed = |reason: &str| KeysError::Malformed {
            reason: reason.to_owned(),
        };
        let ctr = match &raw.ctr {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        }
        .ok_or_else(|| malformed("ctr is not a counter"))?;
        if raw.rids.len() > MAX_RIDS {
            return Err(KeysError::TooLarge {
                what: "more than 100000 revoked ids",
            });
        }
        let rids = raw
            .rids
            .iter()
            .map(|entry| match entry.split_once('.') {
                None => Ok((entry.clone(), None)),
                Some((rid, time)) => time
                    .parse::<Number>()
                    .ok()
                    .and_then(|n| crate::shl::seconds(&n))
                    .map(|t| (rid.to_owned(), Some(t)))
                    .ok_or_else(|| malformed("a rid's timestamp is not a number of seconds")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            kid: raw.kid,
            ctr,
            rids,
        })
    }

    /// The key this list is for.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// How many times the list was updated.
    pub fn ctr(&self) -> u64 {
        self.ctr
    }

    /// Whether a card with this `rid`, issued at `nbf`, is revoked: its `rid` is listed
    /// without a time, or with a time after `nbf`.
    pub fn revokes(&self, rid: &str, nbf: u64) -> bool {
        self.rids
            .iter()
            .any(|(listed, before)| listed == rid && before.is_none_or(|t| nbf < t))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn crl_forms() {
        let crl = Crl::from_json(
            br#"{"kid":"k","method":"rid","ctr":"3","rids":["AQPCj4wwk6Mt","lHKzqFUMjhs.1636977600"]}"#,
        )
        .unwrap();
        assert_eq!(crl.ctr(), 3);
        assert!(crl.revokes("AQPCj4wwk6Mt", 0));
        assert!(crl.revokes("lHKzqFUMjhs", 1_636_977_599));
        assert!(!crl.revokes("lHKzqFUMjhs", 1_636_977_600));
        assert!(!crl.revokes("other", 0));
        for bad in [
            &br#"{"kid":"k","method":"hash","ctr":1,"rids":[]}"#[..],
            br#"{"kid":"k","method":"rid","ctr":-1,"rids":[]}"#,
            br#"{"kid":"k","method":"rid","ctr":1,"rids":["a.soon"]}"#,
            br#"{"kid":"k","method":"rid","ctr":1}"#,
        ] {
            assert!(
                Crl::from_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn jwks_skips_keys_without_kid() {
        let jwks = Jwks::from_json(
            br#"{"keys":[{"kty":"RSA","n":"x","e":"AQAB"},{"kid":"a","kty":"EC","crlVersion":2}]}"#,
        )
        .unwrap();
        assert_eq!(jwks.keys().len(), 1);
        assert_eq!(jwks.key("a").unwrap().crl_version(), Some(2));
        assert!(jwks.key("b").is_none());
        assert!(Jwks::from_json(br#"{"keys":[{"kid":"a","crlVersion":"2"}]}"#).is_err());
        assert!(Jwks::from_json(br#"{"nokeys":[]}"#).is_err());
        assert_eq!(
            jwks_url("https://i.example"),
            "https://i.example/.well-known/jwks.json"
        );
        assert_eq!(
            crl_url("https://i.example", "a"),
            "https://i.example/.well-known/crl/a.json"
        );
    }
}
