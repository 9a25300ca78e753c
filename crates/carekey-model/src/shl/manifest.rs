//! The manifest request (`POST` to the link's `url`) and the manifest it is answered with.
//!
//! Members this version does not know are ignored, as the spec requires of both sides.

use serde::{Deserialize, Serialize};

use super::{check_web_url, ContentType};

/// Largest manifest request body read: 16 KiB (a recipient, a passcode and a number).
pub const MAX_MANIFEST_REQUEST_BYTES: usize = 16 * 1024;
/// Longest `recipient`, in characters. It is shown to the patient, so it stays short.
pub const MAX_RECIPIENT_CHARS: usize = 256;
/// Longest `passcode`, in bytes.
pub const MAX_PASSCODE_BYTES: usize = 256;
/// Largest manifest read: 64 MiB (embedded files make it big).
pub const MAX_MANIFEST_BYTES: usize = 64 << 20;
/// Most files in one manifest.
pub const MAX_MANIFEST_FILES: usize = 1000;
/// Largest single embedded JWE, in bytes.
pub const MAX_EMBEDDED_JWE_BYTES: usize = 48 << 20;

/// Why a manifest request or a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The body is larger than the cap for its kind.
    #[error("too large: more than {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
    /// The body is not the JSON object the spec describes (a member has the wrong type, or a
    /// required one is missing).
    #[error("malformed: {reason}")]
    Malformed {
        /// The JSON error.
        reason: String,
    },
    /// `recipient` is empty, longer than [`MAX_RECIPIENT_CHARS`], or has control characters
    /// (it is shown to the patient as is).
    #[error("bad recipient: {reason}")]
    BadRecipient {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `passcode` is longer than [`MAX_PASSCODE_BYTES`].
    #[error("the passcode is longer than {limit} bytes")]
    PasscodeTooLong {
        /// The cap in bytes.
        limit: usize,
    },
    /// A file entry is wrong: an unknown content type, neither `embedded` nor `location`, a
    /// location that is not a web URL, or an embedded JWE over the cap.
    #[error("bad file entry {index}: {reason}")]
    BadFile {
        /// The entry's position in `files`.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The manifest has more than [`MAX_MANIFEST_FILES`] files.
    #[error("more than {limit} files")]
    TooManyFiles {
        /// The cap.
        limit: usize,
    },
}

/// The body a receiver `POST`s to a link's manifest URL.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestRequest {
    /// Who says they are asking ("Dr X at Clinic Y"): the receiver's own claim, never verified.
    pub recipient: String,
    /// The passcode, for links with the `P` flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passcode: Option<String>,
    /// The longest `embedded` JWE the receiver wants; longer files come by `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_length_max: Option<u64>,
}

impl std::fmt::Debug for ManifestRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ManifestRequest")
            .field("recipient", &self.recipient)
            .field("passcode", &self.passcode.as_ref().map(|_| "[redacted]"))
            .field("embedded_length_max", &self.embedded_length_max)
            .finish()
    }
}

impl ManifestRequest {
    /// Reads and checks a request body.
    pub fn from_json(body: &[u8]) -> Result<Self, ManifestError> {
        if body.len() > MAX_MANIFEST_REQUEST_BYTES {
            return Err(ManifestError::TooLarge {
                limit: MAX_MANIFEST_REQUEST_BYTES,
            });
        }
        let request: Self = serde_json::from_slice(body).map_err(|e| ManifestError::Malformed {
            reason: e.to_string(),
        })?;
        request.check()?;
        Ok(request)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self)
            .unwrap_or_else(|_| unreachable!("strings and numbers always serialise"))
    }

    fn check(&self) -> Result<(), ManifestError> {
        let recipient = self.recipient.trim();
        if recipient.is_empty() {
            return Err(ManifestError::BadRecipient {
                reason: "it is empty",
            });
        }
        if self.recipient.chars().count() > MAX_RECIPIENT_CHARS {
            return Err(ManifestError::BadRecipient {
                reason: "longer than 256 characters",
            });
        }
        if self.recipient.chars().any(char::is_control) {
            return Err(ManifestError::BadRecipient {
                reason: "it has control characters",
            });
        }
        if self
            .passcode
            .as_ref()
            .is_some_and(|p| p.len() > MAX_PASSCODE_BYTES)
        {
            return Err(ManifestError::PasscodeTooLong {
                limit: MAX_PASSCODE_BYTES,
            });
        }
        Ok(())
    }
}

/// The body of a `401` answer to a wrong passcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasscodeRefused {
    /// Wrong passcodes left before the link is disabled.
    pub remaining_attempts: u32,
}

/// Whether a file may still change (the manifest entry's optional `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileStatus {
    /// It will not change.
    Finalized,
    /// It may change (a long-term link's content).
    CanChange,
    /// It was entered in error.
    EnteredInError,
    /// It is no longer valid.
    NoLongerValid,
    /// It was retracted.
    Retracted,
}

/// One file of a manifest: its content type and the JWE itself or where to `GET` it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManifestFile {
    /// What the decrypted file is.
    pub content_type: ContentType,
    /// The JWE compact serialization, when embedded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded: Option<String>,
    /// A short-lived (at most one hour) URL that answers `GET` with the JWE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// When the file last changed (ISO 8601), if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<String>,
    /// Whether the file may change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<FileStatus>,
    /// The FHIR version of FHIR content (receivers assume 4.0.1 without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fhir_version: Option<String>,
}

/// The manifest a link's URL answers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The files, at least one.
    pub files: Vec<ManifestFile>,
    /// An optional FHIR `List` with metadata about the files, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<serde_json::Value>,
}

impl Manifest {
    /// Reads and checks a manifest.
    pub fn from_json(body: &[u8]) -> Result<Self, ManifestError> {
        if body.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let manifest: Self =
            serde_json::from_slice(body).map_err(|e| ManifestError::Malformed {
                reason: e.to_string(),
            })?;
        manifest.check()?;
        Ok(manifest)
    }

    /// The JSON body.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self)
            .unwrap_or_else(|_| unreachable!("strings, numbers and JSON values always serialise"))
    }

    fn check(&self) -> Result<(), ManifestError> {
        if self.files.len() > MAX_MANIFEST_FILES {
            return Err(ManifestError::TooManyFiles {
                limit: MAX_MANIFEST_FILES,
            });
        }
        for (index, file) in self.files.iter().enumerate() {
            let bad = |reason: &str| ManifestError::BadFile {
                index,
                reason: reason.to_owned(),
            };
            if file.embedded.is_none() && file.location.is_none() {
                return Err(bad("neither embedded nor location"));
            }
            if let Some(location) = &file.location {
                check_web_url(location).map_err(|r| bad(&format!("location {r}")))?;
            }
            if file
                .embedded
                .as_ref()
                .is_some_and(|e| e.len() > MAX_EMBEDDED_JWE_BYTES)
            {
                return Err(bad("embedded JWE too large"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trip_and_refusals() {
        let request = ManifestRequest::from_json(
            br#"{"recipient":"Dr X at Clinic Y","passcode":"1234","embeddedLengthMax":5000,"extra":true}"#,
        )
        .unwrap();
        assert_eq!(request.recipient, "Dr X at Clinic Y");
        assert_eq!(request.passcode.as_deref(), Some("1234"));
        assert_eq!(request.embedded_length_max, Some(5000));
        assert_eq!(
            ManifestRequest::from_json(&request.to_json()).unwrap(),
            request
        );
        assert!(!format!("{request:?}").contains("1234"));

        for (body, expected) in [
            (&br#"{"passcode":"1"}"#[..], "malformed"),
            (br#"{"recipient":"  "}"#, "bad recipient"),
            (br#"{"recipient":"a\u0007b"}"#, "bad recipient"),
            (br#"{"recipient":"x","embeddedLengthMax":-1}"#, "malformed"),
            (br#"{"recipient":"x","recipient":"y"}"#, "malformed"),
            (br#"[]"#, "malformed"),
        ] {
            let err = ManifestRequest::from_json(body).unwrap_err();
            assert!(err.to_string().starts_with(expected), "{err}");
        }
        let long = format!(r#"{{"recipient":"{}"}}"#, "a".repeat(257));
        assert!(matches!(
            ManifestRequest::from_json(long.as_bytes()),
            Err(ManifestError::BadRecipient { .. })
        ));
        let big = vec![b' '; MAX_MANIFEST_REQUEST_BYTES + 1];
        assert!(matches!(
            ManifestRequest::from_json(&big),
            Err(ManifestError::TooLarge { .. })
        ));
    }

    #[test]
    fn manifest_round_trip_and_refusals() {
        let manifest = Manifest::from_json(
            br#"{"files":[
                {"contentType":"application/smart-health-card","location":"https://b.example/f1"},
                {"contentType":"application/fhir+json","embedded":"a..b.c.d","status":"can-change",
                 "lastUpdated":"2025-03-09T15:29:46Z","fhirVersion":"4.0.1"}]}"#,
        )
        .unwrap();
        assert_eq!(manifest.files.len(), 2);
        assert_eq!(manifest.files[1].status, Some(FileStatus::CanChange));
        assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);

        for body in [
            &br#"{"files":[{"contentType":"application/fhir+json"}]}"#[..],
            br#"{"files":[{"contentType":"text/plain","embedded":"x"}]}"#,
            br#"{"files":[{"contentType":"application/fhir+json","location":"http://evil.example/x"}]}"#,
            br#"{"files":[{"contentType":"application/fhir+json","embedded":"x","status":"gone"}]}"#,
            br#"{"nofiles":[]}"#,
        ] {
            assert!(Manifest::from_json(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        assert_eq!(
            serde_json::to_string(&PasscodeRefused {
                remaining_attempts: 3
            })
            .unwrap(),
            r#"{"remainingAttempts":3}"#
        );
    }
}
