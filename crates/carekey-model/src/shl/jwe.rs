//! SMART Health Link files: JWE compact serialization (RFC 7516 §7.1) with `alg: "dir"` (the
//! link key is the content key), `enc: "A256GCM"`, `cty` the file's content type and,
//! optionally, `zip: "DEF"` (raw DEFLATE before encryption).
//!
//! `BASE64URL(protected header) . (empty encrypted key) . BASE64URL(IV) . BASE64URL(ciphertext)
//! . BASE64URL(tag)`, with the ASCII of the first part as the AES-GCM additional data
//! (RFC 7516 §5.1 step 14). Every encryption draws a fresh random IV, so re-encrypting an
//! updated file under the same key is safe.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{
    a256gcm_decrypt, a256gcm_encrypt, SymmetricKey, A256GCM_IV_LEN, A256GCM_TAG_LEN,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::ContentType;
use crate::deflate::{self, InflateError};

/// Largest JWE [`decrypt`] reads: 64 MiB.
pub const MAX_JWE_BYTES: usize = 64 << 20;
/// Largest plaintext [`decrypt`] returns after inflating a `zip: "DEF"` file: 64 MiB.
pub const MAX_FILE_BYTES: usize = 64 << 20;
/// Longest protected header read, in bytes (ours is under 100).
const MAX_HEADER_BYTES: usize = 4096;

/// Why a JWE could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// The JWE is larger than [`MAX_JWE_BYTES`].
    #[error("the JWE is larger than {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// Not five base64url parts separated by dots, or a part has the wrong length (the
    /// encrypted key must be empty, the IV 12 bytes, the tag 16).
    #[error("not a JWE compact serialization: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// The protected header is not a JSON object with string `alg`, `enc`, `cty` (and `zip`).
    #[error("bad JWE header: {reason}")]
    BadHeader {
        /// The JSON error or the member that is wrong.
        reason: String,
    },
    /// The header asks for something other than `dir` + `A256GCM` (+ `DEF`), or has `crit`
    /// extensions, none of which are understood.
    #[error("unsupported JWE: {what}")]
    Unsupported {
        /// The algorithm, encryption, compression or extension that is not supported.
        what: String,
    },
    /// `cty` is not one of the SMART Health Link content types.
    #[error("unknown content type {cty:?}")]
    UnknownContentType {
        /// The `cty` as written.
        cty: String,
    },
    /// AES-GCM refused: the key is not the link's, or the JWE (header included) was altered.
    #[error("decryption failed: wrong key or altered file")]
    Decryption,
    /// The decrypted data is not valid raw DEFLATE, or inflates past [`MAX_FILE_BYTES`].
    #[error("the decrypted file does not inflate: {0}")]
    Inflate(#[from] InflateError),
}

/// A decrypted link file.
#[derive(Debug)]
pub struct DecryptedFile {
    /// What the file is (from the authenticated `cty`).
    pub content_type: ContentType,
    /// The plaintext (inflated when the JWE said `zip: "DEF"`); zeroized on drop.
    pub plaintext: Zeroizing<Vec<u8>>,
    /// Whether the JWE was compressed.
    pub compressed: bool,
}

/// The members written, in this order.
#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    enc: &'a str,
    cty: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    zip: Option<&'a str>,
}

/// The members read; other members are ignored unless listed in `crit`.
#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    enc: String,
    #[serde(default)]
    cty: Option<String>,
    #[serde(default)]
    zip: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Encrypts `plaintext` as a link file under the link's `key`, compressing it first when
/// `compress` is set. A fresh random IV every call.
pub fn encrypt(
    key: &SymmetricKey,
    content_type: ContentType,
    plaintext: &[u8],
    compress: bool,
) -> String {
    let header = HeaderOut {
        alg: "dir",
        enc: "A256GCM",
        cty: content_type.as_str(),
        zip: compress.then_some("DEF"),
    };
    let header_json = serde_json::to_vec(&header)
        .unwrap_or_else(|_| unreachable!("a struct of strings always serialises"));
    let protected = URL_SAFE_NO_PAD.encode(header_json);
    let compressed;
    let body = if compress {
        compressed = Zeroizing::new(deflate::deflate(plaintext));
        compressed.as_slice()
    } else {
        plaintext
    };
    let sealed = a256gcm_encrypt(key, protected.as_bytes(), body);
    format!(
        "{protected}..{}.{}.{}",
        URL_SAFE_NO_PAD.encode(sealed.iv),
        URL_SAFE_NO_PAD.encode(&sealed.ciphertext),
        URL_SAFE_NO_PAD.encode(sealed.tag)
    )
}

/// Decrypts a link file with the link's `key`.
pub fn decrypt(key: &SymmetricKey, jwe: &str) -> Result<DecryptedFile, JweError> {
    if jwe.len() > MAX_JWE_BYTES {
        return Err(JweError::TooLarge {
            limit: MAX_JWE_BYTES,
        });
    }
    let parts: Vec<&str> = jwe.split('.').collect();
    let [protected, encrypted_key, iv, ciphertext, tag] = parts[..] else {
        return Err(JweError::Malformed {
            reason: "expected five dot-separated parts",
        });
    };
    if !encrypted_key.is_empty() {
        return Err(JweError::Malformed {
            reason: "the encrypted key must be empty with alg dir",
        });
    }
    if protected.len() > MAX_HEADER_BYTES {
        return Err(JweError::Malformed {
            reason: "the protected header is too long",
        });
    }
    let header_json = b64(protected, "the protected header is not base64url")?;
    let header: HeaderIn =
        serde_json::from_slice(&header_json).map_err(|e| JweError::BadHeader {
            reason: e.to_string(),
        })?;
    if header.alg != "dir" {
        return Err(JweError::Unsupported {
            what: format!("alg {:?}", header.alg),
        });
    }
    if header.enc != "A256GCM" {
        return Err(JweError::Unsupported {
            what: format!("enc {:?}", header.enc),
        });
    }
    if let Some(crit) = &header.crit {
        return Err(JweError::Unsupported {
            what: format!("crit {crit}"),
        });
    }
    let compressed = match header.zip.as_deref() {
        None => false,
        Some("DEF") => true,
        Some(other) => {
            return Err(JweError::Unsupported {
                what: format!("zip {other:?}"),
            })
        }
    };
    let cty = header.cty.ok_or(JweError::BadHeader {
        reason: "no cty".to_owned(),
    })?;
    let content_type =
        ContentType::parse(&cty).ok_or(JweError::UnknownContentType { cty: cty.clone() })?;
    let iv: [u8; A256GCM_IV_LEN] = b64(iv, "the IV is not base64url")?
        .as_slice()
        .try_into()
        .map_err(|_| JweError::Malformed {
            reason: "the IV must be 12 bytes",
        })?;
    let tag: [u8; A256GCM_TAG_LEN] = b64(tag, "the tag is not base64url")?
        .as_slice()
        .try_into()
        .map_err(|_| JweError::Malformed {
            reason: "the tag must be 16 bytes",
        })?;
    let ciphertext = b64(ciphertext, "the ciphertext is not base64url")?;
    let opened = a256gcm_decrypt(key, &iv, protected.as_bytes(), &ciphertext, &tag)
        .map_err(|_| JweError::Decryption)?;
    let plaintext = if compressed {
        Zeroizing::new(deflate::inflate(&opened, MAX_FILE_BYTES)?)
    } else {
        opened
    };
    Ok(DecryptedFile {
        content_type,
        plaintext,
        compressed,
    })
}

fn b64(part: &str, reason: &'static str) -> Result<Vec<u8>, JweError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JweError::Malformed { reason })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parts(jwe: &str) -> Vec<String> {
        jwe.split('.').map(str::to_owned).collect()
    }

    #[test]
    fn round_trip_with_and_without_zip() {
        let key = SymmetricKey::generate();
        let bundle = br#"{"resourceType":"Bundle","type":"collection"}"#.repeat(20);
        for compress in [false, true] {
            let jwe = encrypt(&key, ContentType::FhirJson, &bundle, compress);
            let header = URL_SAFE_NO_PAD.decode(&parts(&jwe)[0]).unwrap();
            let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
            assert_eq!(header["alg"], "dir");
            assert_eq!(header["enc"], "A256GCM");
            assert_eq!(header["cty"], "application/fhir+json");
            assert_eq!(header.get("zip").is_some(), compress);
            let file = decrypt(&key, &jwe).unwrap();
            assert_eq!(file.plaintext.as_slice(), bundle.as_slice());
            assert_eq!(file.content_type, ContentType::FhirJson);
            assert_eq!(file.compressed, compress);
        }
    }

    #[test]
    fn fresh_iv_every_time() {
        let key = SymmetricKey::generate();
        let one = parts(&encrypt(&key, ContentType::SmartHealthCard, b"same", false));
        let two = parts(&encrypt(&key, ContentType::SmartHealthCard, b"same", false));
        assert_eq!(one[0], two[0]);
        assert_ne!(one[2], two[2]);
        assert_ne!(one[3], two[3]);
    }

    #[test]
    fn header_is_authenticated_and_refusals_are_typed() {
        let key = SymmetricKey::generate();
        let jwe = encrypt(&key, ContentType::FhirJson, b"{}", false);
        let p = parts(&jwe);
        assert_eq!(
            decrypt(&SymmetricKey::generate(), &jwe).unwrap_err(),
            JweError::Decryption
        );
        // Same meaning, different bytes: the header is the AAD as written, so it must fail.
        let respaced = URL_SAFE_NO_PAD
            .encode(br#"{"alg":"dir", "enc":"A256GCM","cty":"application/fhir+json"}"#);
        let altered = format!("{respaced}..{}.{}.{}", p[2], p[3], p[4]);
        assert_eq!(decrypt(&key, &altered).unwrap_err(), JweError::Decryption);
        let with_key = format!("{}.AAAA.{}.{}.{}", p[0], p[2], p[3], p[4]);
        assert!(matches!(
            decrypt(&key, &with_key),
            Err(JweError::Malformed { .. })
        ));
        let short_iv = format!("{}..AAAA.{}.{}", p[0], p[3], p[4]);
        assert!(matches!(
            decrypt(&key, &short_iv),
            Err(JweError::Malformed { .. })
        ));
        assert!(matches!(
            decrypt(&key, "a.b.c"),
            Err(JweError::Malformed { .. })
        ));
        for (header, expected) in [
            (
                r#"{"alg":"A256KW","enc":"A256GCM","cty":"application/fhir+json"}"#,
                "unsupported",
            ),
            (
                r#"{"alg":"dir","enc":"A128GCM","cty":"application/fhir+json"}"#,
                "unsupported",
            ),
            (
                r#"{"alg":"dir","enc":"A256GCM","cty":"application/fhir+json","zip":"GZ"}"#,
                "unsupported",
            ),
            (
                r#"{"alg":"dir","enc":"A256GCM","cty":"application/fhir+json","crit":["x"]}"#,
                "unsupported",
            ),
            (
                r#"{"alg":"dir","enc":"A256GCM","cty":"text/plain"}"#,
                "unknown content type",
            ),
            (r#"{"alg":"dir","enc":"A256GCM"}"#, "bad JWE header"),
            (r#"{"alg":1}"#, "bad JWE header"),
        ] {
            let forged = format!(
                "{}..{}.{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                p[2],
                p[3],
                p[4]
            );
            let err = decrypt(&key, &forged).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{header}: {err}");
        }
    }

    /// A file whose DEFLATE stream is corrupt, but correctly encrypted, is an inflate error,
    /// not a decryption error.
    #[test]
    fn corrupt_deflate_inside() {
        let key = SymmetricKey::generate();
        let protected = URL_SAFE_NO_PAD
            .encode(br#"{"alg":"dir","enc":"A256GCM","cty":"application/fhir+json","zip":"DEF"}"#);
        let sealed = a256gcm_encrypt(&key, protected.as_bytes(), &[0xff, 0xff, 0xff]);
        let jwe = format!(
            "{protected}..{}.{}.{}",
            URL_SAFE_NO_PAD.encode(sealed.iv),
            URL_SAFE_NO_PAD.encode(&sealed.ciphertext),
            URL_SAFE_NO_PAD.encode(sealed.tag)
        );
        assert_eq!(
            decrypt(&key, &jwe).unwrap_err(),
            JweError::Inflate(InflateError::Corrupt)
        );
    }
}
