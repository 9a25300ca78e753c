//! The patient's recovery secret: 256 bits written down as 24 BIP39 words.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::{hkdf_sha256, AgreementSecret, CryptoError};

/// HKDF info that turns the recovery secret into an X25519 secret.
const RECOVERY_X25519_INFO: &[u8] = b"carekey/v1/recovery-x25519";

/// 256 bits of entropy that the patient sees once, as 24 English BIP39
/// words, and that can rebuild the recovery key on a new device.
///
/// Zeroized on drop; `Debug` prints `[redacted]`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct RecoverySecret([u8; 32]);

impl RecoverySecret {
    /// Fresh entropy from the OS CSPRNG.
    pub fn generate() -> Self {
        Self(crate::random_array())
    }

    /// Parses 24 BIP39 English words, ignoring case and extra whitespace,
    /// and verifies the checksum.
    pub fn from_words(words: &str) -> Result<Self, CryptoError> {
        let mut normalized = Zeroizing::new(String::with_capacity(words.len()));
        for (i, word) in words.split_whitespace().enumerate() {
            if i > 0 {
                normalized.push(' ');
            }
            for c in word.chars() {
                normalized.extend(c.to_lowercase());
            }
        }
        if normalized.split(' ').count() != 24 {
            return Err(CryptoError::InvalidRecoveryPhrase {
                reason: "expected 24 words",
            });
        }
        let mnemonic = bip39::Mnemonic::parse_in_normalized(bip39::Language::English, &normalized)
            .map_err(|e| CryptoError::InvalidRecoveryPhrase {
                reason: match e {
                    bip39::Error::UnknownWord(_) => "unknown word",
                    bip39::Error::InvalidChecksum => {
                        "checksum mismatch (a word is wrong or out of order)"
                    }
                    bip39::Error::BadWordCount(_) => "expected 24 words",
                    _ => "not a BIP39 phrase",
                },
            })?;
        let (mut entropy, len) = mnemonic.to_entropy_array();
        let result = if len == 32 {
            let mut bytes = [0u8; 32];
            bytes.copy_from_slice(&entropy[..32]);
            Ok(Self(bytes))
        } else {
            Err(CryptoError::InvalidRecoveryPhrase {
                reason: "expected 24 words",
            })
        };
        entropy.zeroize();
        result
    }

    /// The 24 words, separated by single spaces.
    pub fn words(&self) -> Zeroizing<String> {
        let mnemonic = match bip39::Mnemonic::from_entropy(&self.0) {
            Ok(m) => m,
            Err(_) => unreachable!("32 bytes is a valid BIP39 entropy length"),
        };
        let mut out = Zeroizing::new(String::with_capacity(24 * 9));
        for (i, word) in mnemonic.words().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(word);
        }
        out
    }

    /// The X25519 recovery secret derived from these words:
    /// HKDF-SHA256(salt = "", ikm = entropy, info = "carekey/v1/recovery-x25519").
    pub fn agreement_secret(&self) -> AgreementSecret {
        let key = hkdf_sha256(b"", &self.0, RECOVERY_X25519_INFO);
        AgreementSecret::from_bytes(*key.expose())
    }
}

impl fmt::Debug for RecoverySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoverySecret([redacted])")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip_tolerantly() {
        let secret = RecoverySecret::generate();
        let words = secret.words();
        assert_eq!(words.split(' ').count(), 24);
        let messy = format!("  {}\n", words.to_uppercase().replace(' ', " \t "));
        let back = RecoverySecret::from_words(&messy).unwrap();
        assert_eq!(back.0, secret.0);
        assert_eq!(
            back.agreement_secret().public(),
            secret.agreement_secret().public()
        );
    }

    #[test]
    fn bip39_reference_vector() {
        // Trezor python-mnemonic vectors: all-zero 256-bit entropy.
        let secret = RecoverySecret([0u8; 32]);
        let expected = "abandon ".repeat(23) + "art";
        assert_eq!(secret.words().as_str(), expected);
        let back = RecoverySecret::from_words(&expected).unwrap();
        assert_eq!(back.0, [0u8; 32]);
    }

    #[test]
    fn rejects_bad_phrases() {
        let words = RecoverySecret::generate().words();
        let list: Vec<&str> = words.split(' ').collect();
        assert!(RecoverySecret::from_words(&list[..23].join(" ")).is_err());
        // 24 x "abandon" has a wrong checksum.
        assert!(RecoverySecret::from_words(&"abandon ".repeat(24)).is_err());
        assert!(RecoverySecret::from_words("notaword ".repeat(24).trim()).is_err());
        let twelve = "abandon ".repeat(11) + "about";
        assert!(RecoverySecret::from_words(&twelve).is_err());
    }
}
