//! The age v1 header: parsing, encoding, X25519 stanzas and the header MAC.

use std::io::{BufRead, Read};

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use super::{AgeError, FileKey, Identity, Recipient};
use crate::{hkdf_sha256, AgreementPublic, AgreementSecret, CryptoError};

const VERSION_LINE: &[u8] = b"age-encryption.org/v1";
const VERSION_PREFIX: &[u8] = b"age-encryption.org/";
const STANZA_PREFIX: &[u8] = b"-> ";
const MAC_PREFIX: &[u8] = b"---";
const X25519_TAG: &str = "X25519";
const SCRYPT_TAG: &str = "scrypt";
const X25519_INFO: &[u8] = b"age-encryption.org/v1/X25519";
const HEADER_MAC_INFO: &[u8] = b"header";
/// Base64 columns per stanza body line.
const BODY_COLUMNS: usize = 64;
const MAC_LEN: usize = 32;
const FILE_KEY_LEN: usize = 16;
const WRAPPED_KEY_LEN: usize = FILE_KEY_LEN + 16;

/// The largest header [`read_header`] accepts (bounds memory on hostile input).
pub const MAX_HEADER_LEN: usize = 1024 * 1024;

/// One recipient stanza: `-> tag args…` and a binary body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stanza {
    tag: String,
    args: Vec<String>,
    body: Vec<u8>,
}

impl Stanza {
    /// The stanza type (`X25519`, `scrypt`, …): the first argument.
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// The arguments after the type.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// The decoded body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

/// A parsed age header: recipient stanzas and MAC, plus the exact bytes it
/// was parsed from (the MAC is checked over those, never over a re-encoding).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    stanzas: Vec<Stanza>,
    mac: [u8; MAC_LEN],
    /// The header bytes, from the version line through the MAC line's newline.
    raw: Vec<u8>,
    /// Length of the MAC'd prefix of `raw` (through `---`).
    mac_input_len: usize,
}

impl Header {
    /// The recipient stanzas, in file order.
    pub fn stanzas(&self) -> &[Stanza] {
        &self.stanzas
    }

    /// The exact bytes this header was parsed from (or written as).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// Encodes the header canonically. For a parsed header this equals
    /// [`Header::raw`], because parsing accepts only canonical encodings.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = encode_without_mac(&self.stanzas);
        out.push(b' ');
        out.extend_from_slice(STANDARD_NO_PAD.encode(self.mac).as_bytes());
        out.push(b'\n');
        out
    }

    /// Finds the file key with the first identity that unwraps an X25519
    /// stanza, then verifies the header MAC with it.
    ///
    /// Every X25519 stanza is checked for well-formedness first; stanzas of
    /// other types are skipped, except that a `scrypt` stanza must be alone.
    pub fn unwrap_file_key(&self, identities: &[Identity]) -> Result<FileKey, AgeError> {
        let mut x25519 = Vec::new();
        for stanza in &self.stanzas {
            match stanza.tag.as_str() {
                X25519_TAG => x25519.push(X25519Stanza::parse(stanza)?),
                SCRYPT_TAG if self.stanzas.len() > 1 => {
                    return Err(AgeError::MalformedHeader {
                        reason: "an scrypt stanza must be the only stanza",
                    })
                }
                _ => {}
            }
        }
        for identity in identities {
            for stanza in &x25519 {
                if let Some(file_key) = stanza.unwrap(identity)? {
                    self.verify_mac(&file_key)?;
                    return Ok(file_key);
                }
            }
        }
        if x25519.is_empty() && self.stanzas.iter().any(|s| s.tag == SCRYPT_TAG) {
            return Err(AgeError::UnsupportedStanza);
        }
        Err(AgeError::NoMatchingIdentity)
    }

    fn verify_mac(&self, file_key: &FileKey) -> Result<(), AgeError> {
        let expected = header_mac(file_key, &self.raw[..self.mac_input_len]);
        if bool::from(expected.ct_eq(&self.mac)) {
            Ok(())
        } else {
            Err(AgeError::HeaderMac)
        }
    }

    /// Builds the header that wraps `file_key` to each recipient.
    pub(crate) fn wrap(file_key: &FileKey, recipients: &[Recipient]) -> Result<Header, AgeError> {
        if recipients.is_empty() {
            return Err(AgeError::NoRecipients);
        }
        let stanzas = recipients
            .iter()
            .map(|r| wrap_x25519(file_key, r))
            .collect::<Result<Vec<_>, _>>()?;
        let mut raw = encode_without_mac(&stanzas);
        let mac_input_len = raw.len();
        let mac = header_mac(file_key, &raw);
        raw.push(b' ');
        raw.extend_from_slice(STANDARD_NO_PAD.encode(mac).as_bytes());
        raw.push(b'\n');
        Ok(Header {
            stanzas,
            mac,
            raw,
            mac_input_len,
        })
    }
}

/// Everything through the `---` of the MAC line.
fn encode_without_mac(stanzas: &[Stanza]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + stanzas.len() * 128);
    out.extend_from_slice(VERSION_LINE);
    out.push(b'\n');
    for stanza in stanzas {
        out.extend_from_slice(STANZA_PREFIX);
        out.extend_from_slice(stanza.tag.as_bytes());
        for arg in &stanza.args {
            out.push(b' ');
            out.extend_from_slice(arg.as_bytes());
        }
        out.push(b'\n');
        let body = STANDARD_NO_PAD.encode(&stanza.body);
        let mut lines = body.as_bytes().chunks(BODY_COLUMNS);
        for line in lines.by_ref() {
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        // The last body line must be shorter than a full line (maybe empty).
        if body.len() % BODY_COLUMNS == 0 {
            out.push(b'\n');
        }
    }
    out.extend_from_slice(MAC_PREFIX);
    out
}

fn header_mac(file_key: &FileKey, data: &[u8]) -> [u8; MAC_LEN] {
    let key = hkdf_sha256(b"", file_key.expose(), HEADER_MAC_INFO);
    let mut mac = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.expose()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// An X25519 stanza whose share and body have the right shape.
struct X25519Stanza {
    share: [u8; 32],
    body: [u8; WRAPPED_KEY_LEN],
}

impl X25519Stanza {
    fn parse(stanza: &Stanza) -> Result<Self, AgeError> {
        let [share] = stanza.args.as_slice() else {
            return Err(AgeError::MalformedHeader {
                reason: "an X25519 stanza has exactly one argument",
            });
        };
        let share = decode_base64(share.as_bytes())?;
        let share: [u8; 32] = share.try_into().map_err(|_| AgeError::MalformedHeader {
            reason: "an X25519 share is 32 bytes",
        })?;
        let body: [u8; WRAPPED_KEY_LEN] =
            stanza
                .body
                .as_slice()
                .try_into()
                .map_err(|_| AgeError::MalformedHeader {
                    reason: "an X25519 stanza body is 32 bytes",
                })?;
        Ok(Self { share, body })
    }

    /// `Ok(None)` when this stanza is not for `identity`.
    fn unwrap(&self, identity: &Identity) -> Result<Option<FileKey>, AgeError> {
        let shared = identity
            .secret()
            .agree(&AgreementPublic::from_bytes(self.share))
            .map_err(low_order)?;
        let key = wrap_key(
            &self.share,
            identity.recipient().as_bytes(),
            shared.expose(),
        );
        let mut body = self.body;
        let (file_key, tag) = body.split_at_mut(FILE_KEY_LEN);
        let ok = ChaCha20Poly1305::new(key.expose().into())
            .decrypt_in_place_detached(&[0u8; 12].into(), b"", file_key, (&*tag).into())
            .is_ok();
        let result = if ok {
            let mut bytes = [0u8; FILE_KEY_LEN];
            bytes.copy_from_slice(file_key);
            let key = FileKey::from_bytes(bytes);
            zeroize::Zeroize::zeroize(&mut bytes);
            Some(key)
        } else {
            None
        };
        zeroize::Zeroize::zeroize(&mut body);
        Ok(result)
    }
}

fn low_order(_: CryptoError) -> AgeError {
    AgeError::LowOrderPoint
}

fn wrap_key(share: &[u8; 32], recipient: &[u8; 32], shared: &[u8; 32]) -> crate::SymmetricKey {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(share);
    salt[32..].copy_from_slice(recipient);
    hkdf_sha256(&salt, shared, X25519_INFO)
}

fn wrap_x25519(file_key: &FileKey, recipient: &Recipient) -> Result<Stanza, AgeError> {
    let ephemeral = AgreementSecret::generate();
    let share = *ephemeral.public().as_bytes();
    let shared = ephemeral
        .agree(&AgreementPublic::from_bytes(*recipient.as_bytes()))
        .map_err(low_order)?;
    let key = wrap_key(&share, recipient.as_bytes(), shared.expose());
    let mut body = vec![0u8; WRAPPED_KEY_LEN];
    body[..FILE_KEY_LEN].copy_from_slice(file_key.expose());
    let tag = ChaCha20Poly1305::new(key.expose().into())
        .encrypt_in_place_detached(&[0u8; 12].into(), b"", &mut body[..FILE_KEY_LEN])
        .map_err(|_| AgeError::MalformedHeader {
            reason: "file key wrapping failed",
        })?;
    body[FILE_KEY_LEN..].copy_from_slice(&tag);
    Ok(Stanza {
        tag: X25519_TAG.to_owned(),
        args: vec![STANDARD_NO_PAD.encode(share)],
        body,
    })
}

/// Canonical unpadded standard base64 (trailing bits must be zero).
fn decode_base64(s: &[u8]) -> Result<Vec<u8>, AgeError> {
    if !s.iter().all(|&c| is_base64_char(c)) {
        return Err(AgeError::MalformedHeader {
            reason: "invalid base64 character",
        });
    }
    STANDARD_NO_PAD
        .decode(s)
        .map_err(|_| AgeError::MalformedHeader {
            reason: "non-canonical base64",
        })
}

fn is_base64_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// Reads one header from `input`, leaving it positioned at the payload nonce.
///
/// Accepts only canonical encodings (so [`Header::to_bytes`] reproduces the
/// input), and at most [`MAX_HEADER_LEN`] bytes.
pub fn read_header<R: BufRead>(input: &mut R) -> Result<Header, AgeError> {
    let mut reader = HeaderReader {
        input,
        raw: Vec::with_capacity(256),
    };
    let version = reader.line()?;
    if version != VERSION_LINE {
        return Err(if version.starts_with(VERSION_PREFIX) {
            AgeError::UnsupportedVersion
        } else {
            AgeError::MalformedHeader {
                reason: "not an age file (bad version line)",
            }
        });
    }
    let mut stanzas = Vec::new();
    loop {
        let start = reader.raw.len();
        let line = reader.line()?;
        if let Some(rest) = line.strip_prefix(STANZA_PREFIX) {
            let mut args = Vec::new();
            for arg in rest.split(|&c| c == b' ') {
                if arg.is_empty() {
                    return Err(AgeError::MalformedHeader {
                        reason: "empty stanza argument",
                    });
                }
                if !arg.iter().all(|&c| (33..=126).contains(&c)) {
                    return Err(AgeError::MalformedHeader {
                        reason: "invalid character in stanza argument",
                    });
                }
                // Checked above: printable ASCII.
                args.push(String::from_utf8_lossy(arg).into_owned());
            }
            let tag = args.remove(0);
            let body = reader.body()?;
            stanzas.push(Stanza { tag, args, body });
        } else if line.starts_with(MAC_PREFIX) {
            let mac_input_len = start + MAC_PREFIX.len();
            let Some(encoded) = line.strip_prefix(b"--- ") else {
                return Err(AgeError::MalformedHeader {
                    reason: "MAC line must be `--- ` and the MAC",
                });
            };
            let mac: [u8; MAC_LEN] =
                decode_base64(encoded)?
                    .try_into()
                    .map_err(|_| AgeError::MalformedHeader {
                        reason: "the header MAC is 32 bytes",
                    })?;
            if stanzas.is_empty() {
                return Err(AgeError::MalformedHeader {
                    reason: "no recipient stanzas",
                });
            }
            return Ok(Header {
                stanzas,
                mac,
                raw: reader.raw,
                mac_input_len,
            });
        } else {
            return Err(AgeError::MalformedHeader {
                reason: "expected a stanza or the MAC line",
            });
        }
    }
}

struct HeaderReader<'a, R> {
    input: &'a mut R,
    raw: Vec<u8>,
}

impl<R: BufRead> HeaderReader<'_, R> {
    /// The next line without its `\n` (a copy, appended to `raw`).
    fn line(&mut self) -> Result<Vec<u8>, AgeError> {
        let start = self.raw.len();
        let budget = (MAX_HEADER_LEN - start) as u64;
        let n = (&mut *self.input)
            .take(budget)
            .read_until(b'\n', &mut self.raw)?;
        if n == 0 || self.raw.last() != Some(&b'\n') {
            return Err(if n as u64 == budget {
                AgeError::HeaderTooLarge
            } else {
                AgeError::MalformedHeader {
                    reason: "unexpected end of header",
                }
            });
        }
        Ok(self.raw[start..self.raw.len() - 1].to_vec())
    }

    /// Body lines: full 64-column lines, then one shorter (maybe empty) line.
    fn body(&mut self) -> Result<Vec<u8>, AgeError> {
        let mut encoded = Vec::new();
        loop {
            let line = self.line()?;
            if line.len() > BODY_COLUMNS {
                return Err(AgeError::MalformedHeader {
                    reason: "stanza body line longer than 64 columns",
                });
            }
            encoded.extend_from_slice(&line);
            if line.len() < BODY_COLUMNS {
                return decode_base64(&encoded);
            }
        }
    }
}
