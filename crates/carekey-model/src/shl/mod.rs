//! SMART Health Links (HL7 "SMART Health Cards and Links" IG, STU1, links specification): the
//! `shlink:/` payload, the manifest request and response, and the JWE files.
//!
//! A link carries the manifest URL and the 32-byte file key; whoever holds the link can fetch
//! the manifest and decrypt the files. The server that answers the manifest never sees the key.
//! Everything here is a pure function of its input; parsers return typed errors and never panic.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::SymmetricKey;
use serde::{Deserialize, Serialize};

pub mod hosting;
pub mod jwe;
mod manifest;

pub use manifest::{
    FileStatus, Manifest, ManifestError, ManifestFile, ManifestRequest, PasscodeRefused,
    MAX_EMBEDDED_JWE_BYTES, MAX_MANIFEST_BYTES, MAX_MANIFEST_FILES, MAX_MANIFEST_REQUEST_BYTES,
    MAX_PASSCODE_BYTES, MAX_RECIPIENT_CHARS,
};

/// The URI scheme and separator of a bare link.
pub const SHLINK_PREFIX: &str = "shlink:/";
/// Longest manifest URL the spec allows, in characters.
pub const MAX_URL_CHARS: usize = 128;
/// Longest label the spec allows, in characters.
pub const MAX_LABEL_CHARS: usize = 80;
/// Longest link (with a viewer prefix) [`ShlPayload::from_uri`] reads, in bytes.
pub const MAX_SHL_URI_BYTES: usize = 8 * 1024;
/// The only protocol version there is.
pub const SHL_VERSION: u8 = 1;
/// Latest `exp` accepted: 9999-12-31T23:59:59Z, like every other time in Carekey.
const MAX_EXP: u64 = crate::limits::MAX_TIMESTAMP;

/// The content types a link's files may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ContentType {
    /// Any FHIR resource as JSON (for Carekey: a Bundle of the shared records).
    #[serde(rename = "application/fhir+json")]
    FhirJson,
    /// A `.smart-health-card` file: `{"verifiableCredential": [<JWS>, …]}`.
    #[serde(rename = "application/smart-health-card")]
    SmartHealthCard,
    /// A SMART access token response with `aud` (and optional `query`).
    #[serde(rename = "application/smart-api-access")]
    SmartApiAccess,
}

impl ContentType {
    /// The media type string.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::FhirJson => "application/fhir+json",
            Self::SmartHealthCard => "application/smart-health-card",
            Self::SmartApiAccess => "application/smart-api-access",
        }
    }

    /// The content type with this media type, if it is one of the three.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::FhirJson, Self::SmartHealthCard, Self::SmartApiAccess]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The link's flags (the payload's `flag`, letters in alphabetical order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ShlFlags {
    /// `L`: long-term; the manifest's content may change over time.
    pub long_term: bool,
    /// `P`: a passcode is needed to get the manifest.
    pub passcode: bool,
    /// `U`: the `url` answers `GET` with the one encrypted file, no manifest. Never with `P`.
    pub direct_file: bool,
}

impl ShlFlags {
    /// The `flag` string: the set letters in alphabetical order (empty when none is set).
    pub fn as_flag_string(&self) -> String {
        let mut out = String::new();
        for (set, letter) in [
            (self.long_term, 'L'),
            (self.passcode, 'P'),
            (self.direct_file, 'U'),
        ] {
            if set {
                out.push(letter);
            }
        }
        out
    }

    /// Parses a `flag` string: uppercase letters in strictly alphabetical order. Letters this
    /// version does not know are ignored, as the spec requires of receivers.
    fn parse(flag: &str) -> Result<Self, ShlPayloadError> {
        let mut flags = Self::default();
        let mut previous: Option<char> = None;
        for letter in flag.chars() {
            if !letter.is_ascii_uppercase() {
                return Err(ShlPayloadError::BadFlag {
                    reason: "flags are single uppercase letters",
                });
            }
            if previous.is_some_and(|p| p >= letter) {
                return Err(ShlPayloadError::BadFlag {
                    reason: "flags must be in alphabetical order, each at most once",
                });
            }
            previous = Some(letter);
            match letter {
                'L' => flags.long_term = true,
                'P' => flags.passcode = true,
                'U' => flags.direct_file = true,
                _ => {}
            }
        }
        flags.check()?;
        Ok(flags)
    }

    fn check(&self) -> Result<(), ShlPayloadError> {
        if self.passcode && self.direct_file {
            return Err(ShlPayloadError::BadFlag {
                reason: "U (direct file) cannot be combined with P (passcode)",
            });
        }
        Ok(())
    }
}

/// Why a SMART Health Link payload was refused (when reading a link or making one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShlPayloadError {
    /// The text is not `shlink:/…` nor a viewer URL ending in `#shlink:/…`.
    #[error("not a SMART Health Link: {reason}")]
    NotALink {
        /// What was expected.
        reason: &'static str,
    },
    /// The link is longer than [`MAX_SHL_URI_BYTES`].
    #[error("the link is longer than {limit} bytes")]
    TooLong {
        /// The cap in bytes.
        limit: usize,
    },
    /// The part after `shlink:/` is not unpadded base64url.
    #[error("the link payload is not base64url")]
    NotBase64,
    /// The decoded payload is not the JSON object the spec describes.
    #[error("malformed link payload: {reason}")]
    Malformed {
        /// The JSON error or the member that is wrong.
        reason: String,
    },
    /// `url` is not an `https://` URL (plain `http://` is allowed for loopback hosts only) or
    /// is longer than [`MAX_URL_CHARS`].
    #[error("bad manifest URL: {reason}")]
    BadUrl {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `key` is not 43 characters of base64url encoding 32 bytes.
    #[error("the key must be 32 bytes as 43 base64url characters")]
    BadKey,
    /// `exp` is not a non-negative number of seconds up to year 9999.
    #[error("bad expiry time")]
    BadExpiry,
    /// `flag` has something other than uppercase letters in alphabetical order, or both `P`
    /// and `U`.
    #[error("bad flags: {reason}")]
    BadFlag {
        /// What is wrong with them.
        reason: &'static str,
    },
    /// `label` is longer than [`MAX_LABEL_CHARS`] characters.
    #[error("the label is longer than {limit} characters")]
    LabelTooLong {
        /// The cap in characters.
        limit: usize,
    },
    /// `v` names a protocol version other than 1; the spec says not to go on with it.
    #[error("unsupported SMART Health Links version {version}")]
    UnsupportedVersion {
        /// The version the link claims (as written).
        version: String,
    },
}

/// A SMART Health Link's payload: where the manifest is and the key to its files.
///
/// The key is secret (anyone with it reads the files): it zeroizes on drop and `Debug`
/// redacts it.
#[derive(Debug, Clone)]
pub struct ShlPayload {
    url: String,
    key: SymmetricKey,
    exp: Option<u64>,
    flags: ShlFlags,
    label: Option<String>,
}

/// The JSON members, in the spec's order (which is also the order they are written in).
#[derive(Serialize)]
struct PayloadOut<'a> {
    url: &'a str,
    key: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    flag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label: Option<&'a str>,
    v: u8,
}

/// What a payload may hold; unknown members are ignored, as the spec requires.
#[derive(Deserialize)]
struct PayloadIn {
    url: String,
    key: String,
    #[serde(default)]
    exp: Option<serde_json::Number>,
    #[serde(default)]
    flag: Option<String>,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    v: Option<serde_json::Number>,
}

impl ShlPayload {
    /// A payload for a new link. The same checks apply as when reading one.
    pub fn new(
        url: impl Into<String>,
        key: SymmetricKey,
        exp: Option<u64>,
        flags: ShlFlags,
        label: Option<String>,
    ) -> Result<Self, ShlPayloadError> {
        let url = url.into();
        check_url(&url)?;
        if exp.is_some_and(|e| e > MAX_EXP) {
            return Err(ShlPayloadError::BadExpiry);
        }
        flags.check()?;
        if let Some(label) = &label {
            check_label(label)?;
        }
        Ok(Self {
            url,
            key,
            exp,
            flags,
            label,
        })
    }

    /// Reads a link: either `shlink:/<payload>` or a viewer URL `https://…#shlink:/<payload>`.
    pub fn from_uri(link: &str) -> Result<Self, ShlPayloadError> {
        if link.len() > MAX_SHL_URI_BYTES {
            return Err(ShlPayloadError::TooLong {
                limit: MAX_SHL_URI_BYTES,
            });
        }
        let encoded = match link.strip_prefix(SHLINK_PREFIX) {
            Some(rest) => rest,
            None => {
                let (viewer, fragment) = link.split_once('#').ok_or(ShlPayloadError::NotALink {
                    reason: "expected shlink:/… or a viewer URL ending in #shlink:/…",
                })?;
                if !(viewer.starts_with("https://") || viewer.starts_with("http://")) {
                    return Err(ShlPayloadError::NotALink {
                        reason: "a viewer prefix must be an http(s) URL",
                    });
                }
                fragment
                    .strip_prefix(SHLINK_PREFIX)
                    .ok_or(ShlPayloadError::NotALink {
                        reason: "the viewer URL's fragment must start with shlink:/",
                    })?
            }
        };
        let json = URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| ShlPayloadError::NotBase64)?;
        Self::from_json(&json)
    }

    /// Reads the decoded payload JSON.
    pub fn from_json(json: &[u8]) -> Result<Self, ShlPayloadError> {
        let raw: PayloadIn =
            serde_json::from_slice(json).map_err(|e| ShlPayloadError::Malformed {
                reason: e.to_string(),
            })?;
        if let Some(v) = &raw.v {
            if v.as_u64() != Some(u64::from(SHL_VERSION)) {
                return Err(ShlPayloadError::UnsupportedVersion {
                    version: v.to_string(),
                });
            }
        }
        let key = parse_key(&raw.key)?;
        let exp = raw
            .exp
            .as_ref()
            .map(|n| seconds(n).ok_or(ShlPayloadError::BadExpiry))
            .transpose()?;
        let flags = match &raw.flag {
            Some(flag) => ShlFlags::parse(flag)?,
            None => ShlFlags::default(),
        };
        Self::new(raw.url, key, exp, flags, raw.label)
    }

    /// The bare link: `shlink:/` and the minified payload JSON in base64url.
    pub fn to_uri(&self) -> String {
        let key = URL_SAFE_NO_PAD.encode(self.key.expose());
        let flag = self.flags.as_flag_string();
        let out = PayloadOut {
            url: &self.url,
            key: &key,
            exp: self.exp,
            flag: (!flag.is_empty()).then_some(flag.as_str()),
            label: self.label.as_deref(),
            v: SHL_VERSION,
        };
        let json = serde_json::to_vec(&out)
            .unwrap_or_else(|_| unreachable!("a struct of strings and numbers always serialises"));
        format!("{SHLINK_PREFIX}{}", URL_SAFE_NO_PAD.encode(json))
    }

    /// The link behind a viewer URL (`https://viewer.example/#shlink:/…`), which opens in any
    /// browser; the fragment never reaches the viewer's server. A `#` is added to the prefix
    /// when it has none at its end.
    pub fn viewer_link(&self, viewer_prefix: &str) -> String {
        let separator = if viewer_prefix.ends_with('#') {
            ""
        } else {
            "#"
        };
        format!("{viewer_prefix}{separator}{}", self.to_uri())
    }

    /// The manifest URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The file key.
    pub fn key(&self) -> &SymmetricKey {
        &self.key
    }

    /// When the link says it stops working (unix seconds), a hint for the receiver.
    pub fn exp(&self) -> Option<u64> {
        self.exp
    }

    /// The flags.
    pub fn flags(&self) -> ShlFlags {
        self.flags
    }

    /// The short description shown to the receiver.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// Whether the link has expired at `now` (unix seconds).
    pub fn is_expired(&self, now: u64) -> bool {
        self.exp.is_some_and(|exp| now >= exp)
    }
}

/// Decodes a link key: 43 characters of unpadded base64url, 32 bytes.
pub fn parse_key(encoded: &str) -> Result<SymmetricKey, ShlPayloadError> {
    if encoded.len() != 43 {
        return Err(ShlPayloadError::BadKey);
    }
    let bytes = zeroize::Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(encoded)
            .map_err(|_| ShlPayloadError::BadKey)?,
    );
    let array: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| ShlPayloadError::BadKey)?;
    Ok(SymmetricKey::from_bytes(array))
}

/// A JSON number of seconds: a non-negative integer, or a non-negative finite float (JWT
/// `NumericDate` may have a fraction, which is dropped), at most year 9999.
pub(crate) fn seconds(number: &serde_json::Number) -> Option<u64> {
    let secs = match (number.as_u64(), number.as_f64()) {
        (Some(secs), _) => secs,
        // The range check makes the cast exact (no saturation) and drops only the fraction.
        (None, Some(f)) if f.is_finite() && f >= 0.0 && f <= MAX_EXP as f64 => f.trunc() as u64,
        _ => return None,
    };
    (secs <= MAX_EXP).then_some(secs)
}

fn check_label(label: &str) -> Result<(), ShlPayloadError> {
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(ShlPayloadError::LabelTooLong {
            limit: MAX_LABEL_CHARS,
        });
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), ShlPayloadError> {
    if url.chars().count() > MAX_URL_CHARS {
        return Err(ShlPayloadError::BadUrl {
            reason: "longer than 128 characters",
        });
    }
    check_web_url(url).map_err(|reason| ShlPayloadError::BadUrl { reason })
}

/// The rule for every URL a link or card points at: `https://` with a host, or `http://` to a
/// loopback host (a node or issuer on the same machine, as in tests). No whitespace, no
/// control characters, no user info.
pub(crate) fn check_web_url(url: &str) -> Result<(), &'static str> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("contains whitespace or control characters");
    }
    let (rest, secure) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, true)
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, false)
    } else {
        return Err("must start with https://");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("has no host");
    }
    if authority.contains('@') {
        return Err("must not carry user information");
    }
    if !secure {
        let host = match authority.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or_default(),
            None => authority.split(':').next().unwrap_or_default(),
        };
        if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
            return Err("plain http:// is only allowed to a loopback host");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn web_urls() {
        for good in [
            "https://shl.example.org/m/abc",
            "https://h",
            "http://127.0.0.1:8080/m",
            "http://localhost/m",
            "http://[::1]:9/m",
        ] {
            assert_eq!(check_web_url(good), Ok(()), "{good}");
        }
        for bad in [
            "ftp://x",
            "https://",
            "https:///path",
            "http://example.org/m",
            "http://127.0.0.1.example.org/m",
            "https://user@host/m",
            "https://host/a b",
            "https://host/\u{7}",
        ] {
            assert!(check_web_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flags_in_order() {
        assert_eq!(ShlFlags::parse("").unwrap(), ShlFlags::default());
        let lp = ShlFlags::parse("LP").unwrap();
        assert!(lp.long_term && lp.passcode && !lp.direct_file);
        assert_eq!(lp.as_flag_string(), "LP");
        // Unknown letters are ignored, order still matters.
        assert_eq!(ShlFlags::parse("LPZ").unwrap(), lp);
        assert!(ShlFlags::parse("PL").is_err());
        assert!(ShlFlags::parse("LL").is_err());
        assert!(ShlFlags::parse("l").is_err());
        assert!(ShlFlags::parse("PU").is_err());
    }

    #[test]
    fn seconds_accepts_integers_and_fractions() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(seconds(&n("1700000000")), Some(1_700_000_000));
        assert_eq!(seconds(&n("1700000000.75")), Some(1_700_000_000));
        assert_eq!(seconds(&n("-1")), None);
        assert_eq!(seconds(&n("1e300")), None);
        assert_eq!(seconds(&n("253402300800")), None);
    }
}
