//! Hosting a SMART Health Link on a Carekey node (ADR 0016, protocol §7): what the wallet
//! registers (`PUT /v1/links/<id>`), the messages its link key signs, and the passcode
//! verifier the node checks viewers' passcodes against.
//!
//! The node stores only JWE ciphertexts, the link's pseudonym keys and the verifier; the
//! link's file key stays in the wallet and in the `shlink:/` payload.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{AgreementPublic, KdfParams, PublicKey};
use serde::{Deserialize, Serialize};

use super::ContentType;

/// Bytes of randomness in a link id (the last path segment of the manifest URL): 256 bits.
pub const LINK_ID_BYTES: usize = 32;
/// Most wrong passcodes a link may allow before it closes.
pub const MAX_LINK_ATTEMPTS: u32 = 100;
/// Most files one link may hold.
pub const MAX_LINK_FILES: usize = 100;
/// Largest registration body a node reads (all JWE files together): 32 MiB.
pub const MAX_REGISTRATION_BYTES: usize = 32 << 20;
/// How long a file `location` URL handed out in a manifest works: one hour (the spec's limit).
pub const FILE_LOCATION_SECS: u64 = 3600;
/// Argon2id cost of the passcode verifier: OWASP's floor (19 MiB, t = 2, p = 1). A passcode
/// decrypts nothing; the verifier only saves the node from keeping the passcode itself.
pub const PASSCODE_KDF: KdfParams = KdfParams {
    memory_kib: 19 * 1024,
    iterations: 2,
    parallelism: 1,
};

/// Domain separator of [`link_put_message`].
const PUT_DOMAIN: &[u8] = b"carekey/v1/link/put\n";
/// Domain separator of [`link_delete_message`].
const DELETE_DOMAIN: &[u8] = b"carekey/v1/link/delete\n";

/// A link's id: 32 random bytes, written as 43 base64url characters in URLs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub [u8; LINK_ID_BYTES]);

impl LinkId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(carekey_crypto::random_array())
    }
}

impl std::fmt::Display for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl std::fmt::Debug for LinkId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LinkId({self})")
    }
}

impl std::str::FromStr for LinkId {
    type Err = HostingError;

    fn from_str(s: &str) -> Result<Self, HostingError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| HostingError::Malformed("a link id is 43 base64url characters".into()))?;
        Ok(Self(bytes.try_into().map_err(|_| {
            HostingError::Malformed("a link id is 32 bytes".into())
        })?))
    }
}

/// Why a link registration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HostingError {
    /// The body is not a well-formed registration.
    #[error("malformed link registration: {0}")]
    Malformed(String),
    /// The body exceeds [`MAX_REGISTRATION_BYTES`].
    #[error("link registration larger than {limit} bytes")]
    TooLarge {
        /// The cap.
        limit: usize,
    },
}

/// A passcode verifier: Argon2id([`PASSCODE_KDF`]) of the passcode under a random salt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasscodeVerifier {
    /// 16 bytes, base64url.
    pub salt: String,
    /// 32 bytes, base64url.
    pub hash: String,
}

impl PasscodeVerifier {
    /// The verifier of `passcode` under a fresh salt.
    pub fn new(passcode: &str) -> Result<Self, HostingError> {
        let salt: [u8; 16] = carekey_crypto::random_array();
        let hash = derive(passcode, &salt)?;
        Ok(Self {
            salt: URL_SAFE_NO_PAD.encode(salt),
            hash: URL_SAFE_NO_PAD.encode(hash),
        })
    }

    /// Whether `passcode` is the one this verifier was made from (constant-time comparison).
    pub fn matches(&self, passcode: &str) -> Result<bool, HostingError> {
        let salt: [u8; 16] = decode_n(&self.salt, "passcode salt")?;
        let hash: [u8; 32] = decode_n(&self.hash, "passcode hash")?;
        Ok(carekey_crypto::ct_eq(&derive(passcode, &salt)?, &hash))
    }

    fn check(&self) -> Result<(), HostingError> {
        decode_n::<16>(&self.salt, "passcode salt")?;
        decode_n::<32>(&self.hash, "passcode hash")?;
        Ok(())
    }
}

fn derive(passcode: &str, salt: &[u8; 16]) -> Result<[u8; 32], HostingError> {
    carekey_crypto::argon2id(passcode.as_bytes(), salt, &PASSCODE_KDF)
        .map(|k| *k.expose())
        .map_err(|e| HostingError::Malformed(format!("passcode verifier: {e}")))
}

fn decode_n<const N: usize>(text: &str, what: &str) -> Result<[u8; N], HostingError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| HostingError::Malformed(format!("{what} is not {N} bytes of base64url")))
}

/// One file of a hosted link: its content type and the JWE compact serialization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HostedFile {
    /// What the decrypted file is.
    pub content_type: ContentType,
    /// The JWE (`dir` + `A256GCM`), as the wallet made it.
    pub jwe: String,
}

/// The body of `PUT /v1/links/<id>`: register a link, or (with a higher `version`) replace its
/// files. Signed by the link key over [`link_put_message`] in the `Carekey-Signature` header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LinkRegistration {
    /// The link's Ed25519 pseudonym key (32 bytes, base64url): signs registrations and the end.
    pub link_key: String,
    /// The link's X25519 event key (32 bytes, base64url): link opens are sealed to it.
    pub event_key: String,
    /// Starts at 1; a registration with a higher version replaces the files.
    pub version: u64,
    /// When the link stops working (unix seconds), if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// For a `P` link: the verifier of its passcode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<PasscodeVerifier>,
    /// For a `P` link: how many wrong passcodes close it (1 to [`MAX_LINK_ATTEMPTS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// The files, 1 to [`MAX_LINK_FILES`].
    pub files: Vec<HostedFile>,
}

impl LinkRegistration {
    /// Reads and checks a registration body.
    pub fn from_json(body: &[u8]) -> Result<Self, HostingError> {
        if body.len() > MAX_REGISTRATION_BYTES {
            return Err(HostingError::TooLarge {
                limit: MAX_REGISTRATION_BYTES,
            });
        }
        let r: Self =
            serde_json::from_slice(body).map_err(|e| HostingError::Malformed(e.to_string()))?;
        r.link_key()?;
        r.event_key()?;
        if r.version == 0 {
            return Err(HostingError::Malformed("version starts at 1".into()));
        }
        if r.files.is_empty() || r.files.len() > MAX_LINK_FILES {
            return Err(HostingError::Malformed(format!(
                "a link holds 1 to {MAX_LINK_FILES} files"
            )));
        }
        if r.files.iter().any(|f| f.jwe.split('.').count() != 5) {
            return Err(HostingError::Malformed(
                "each file is a JWE compact serialization (five parts)".into(),
            ));
        }
        match (&r.passcode, r.attempts) {
            (None, None) => {}
            (Some(p), Some(n)) if (1..=MAX_LINK_ATTEMPTS).contains(&n) => p.check()?,
            _ => {
                return Err(HostingError::Malformed(format!(
                    "a passcode comes with 1 to {MAX_LINK_ATTEMPTS} attempts, and attempts only with a passcode"
                )))
            }
        }
        Ok(r)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// The link key.
    pub fn link_key(&self) -> Result<PublicKey, HostingError> {
        PublicKey::from_bytes(&decode_n::<32>(&self.link_key, "link key")?)
            .map_err(|_| HostingError::Malformed("link key is not an Ed25519 key".into()))
    }

    /// The event key.
    pub fn event_key(&self) -> Result<AgreementPublic, HostingError> {
        Ok(AgreementPublic::from_bytes(decode_n::<32>(
            &self.event_key,
            "event key",
        )?))
    }

    /// Base64url of 32 key bytes, as the registration writes keys.
    pub fn encode_key(bytes: &[u8; 32]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }
}

/// What the link key signs to register or update link `id` with a body whose SHA-256 is
/// `body_hash`: `"carekey/v1/link/put\n" ‖ id (43 chars) ‖ "\n" ‖ body_hash`.
pub fn link_put_message(id: &LinkId, body_hash: &[u8; 32]) -> Vec<u8> {
    let id = id.to_string();
    let mut m = Vec::with_capacity(PUT_DOMAIN.len() + id.len() + 33);
    m.extend_from_slice(PUT_DOMAIN);
    m.extend_from_slice(id.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body_hash);
    m
}

/// What the link key signs to end link `id`: `"carekey/v1/link/delete\n" ‖ id (43 chars)`.
pub fn link_delete_message(id: &LinkId) -> Vec<u8> {
    let mut m = DELETE_DOMAIN.to_vec();
    m.extend_from_slice(id.to_string().as_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passcode_verifier_matches_only_its_passcode() {
        let v = PasscodeVerifier::new("1234").unwrap();
        assert!(v.matches("1234").unwrap());
        assert!(!v.matches("1235").unwrap());
        assert!(!v.matches("").unwrap());
    }

    #[test]
    fn registrations_are_checked() {
        let key = carekey_crypto::SigningKey::generate();
        let good = LinkRegistration {
            link_key: LinkRegistration::encode_key(key.public().as_bytes()),
            event_key: LinkRegistration::encode_key(&[9; 32]),
            version: 1,
            exp: None,
            passcode: None,
            attempts: None,
            files: vec![HostedFile {
                content_type: ContentType::FhirJson,
                jwe: "a.b.c.d.e".into(),
            }],
        };
        assert_eq!(LinkRegistration::from_json(&good.to_json()).unwrap(), good);
        let bad = [
            LinkRegistration {
                version: 0,
                ..good.clone()
            },
            LinkRegistration {
                files: vec![],
                ..good.clone()
            },
            LinkRegistration {
                attempts: Some(3),
                ..good.clone()
            },
            LinkRegistration {
                link_key: "short".into(),
                ..good.clone()
            },
            LinkRegistration {
                files: vec![HostedFile {
                    content_type: ContentType::FhirJson,
                    jwe: "a.b".into(),
                }],
                ..good.clone()
            },
        ];
        for b in bad {
            assert!(LinkRegistration::from_json(&b.to_json()).is_err(), "{b:?}");
        }
        let mut extra: serde_json::Value = serde_json::from_slice(&good.to_json()).unwrap();
        extra["key"] = "the file key must never reach a node".into();
        assert!(LinkRegistration::from_json(extra.to_string().as_bytes()).is_err());
        let mut inside: serde_json::Value = serde_json::from_slice(&good.to_json()).unwrap();
        inside["files"][0]["key"] = "nor inside a file".into();
        assert!(LinkRegistration::from_json(inside.to_string().as_bytes()).is_err());
        let id = LinkId([7; 32]);
        assert_eq!(id.to_string().len(), 43);
        assert_eq!(id.to_string().parse::<LinkId>().unwrap(), id);
        assert!(link_put_message(&id, &[0; 32]).starts_with(b"carekey/v1/link/put\n"));
        assert!(link_delete_message(&id).ends_with(id.to_string().as_bytes()));
    }
}
