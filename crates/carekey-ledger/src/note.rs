//! C2SP `signed-note`, `tlog-checkpoint` and Ed25519 `tlog-cosignature` (v1).
//!
//! A checkpoint is the text `origin\nsize\nbase64(root)\n` (plus optional extension lines),
//! followed by a blank line and signature lines `— <key name> base64(key id ‖ signature)`.
//! The log signs the text with Ed25519 (signature type 0x01); witnesses add cosignatures
//! (type 0x04) over `cosignature/v1\ntime <t>\n` ‖ text, whose signature bytes are the
//! timestamp (8 bytes, big-endian) followed by the Ed25519 signature.
//!
//! Why this module is long: the three formats share one text layout and one key encoding, and
//! their writers and strict parsers (every check a hostile note must fail) stay side by side.
//!
//! [`open_checkpoint`] is strict: it is what a wallet runs on every checkpoint a node or a
//! mirror hands it.

use std::fmt;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use carekey_crypto::{sha256, PublicKey, Signature, SigningKey};

use crate::Hash;

pub use crate::NoteError;

/// Signature type of an Ed25519 note signature (`signed-note`).
pub const ALG_ED25519: u8 = 0x01;
/// Signature type of a timestamped Ed25519 checkpoint cosignature (`tlog-cosignature`).
pub const ALG_COSIGNATURE_V1: u8 = 0x04;
/// The most signature lines [`open_checkpoint`] accepts (the spec requires at least 16).
pub const MAX_SIGNATURES: usize = 100;
/// The largest note [`open_checkpoint`] accepts, in bytes.
pub const MAX_NOTE_LEN: usize = 1 << 20;
/// How far in the future (seconds after `now`) a cosignature timestamp may be.
pub const MAX_CLOCK_SKEW: u64 = 60;

const EM_DASH_PREFIX: &str = "\u{2014} ";
const COSIGNATURE_HEADER: &str = "cosignature/v1\n";

/// The body of a checkpoint: a log's signed tree head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's identity, e.g. `ledger.example.org/carekey` (equal to the log key's name).
    pub origin: String,
    /// The number of leaves in the tree.
    pub size: u64,
    /// The RFC 6962 root hash of the tree of `size` leaves.
    pub root: Hash,
    /// Optional opaque extension lines (non-empty, no newline), after the root.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// The note text: `origin\nsize\nbase64(root)\n` followed by one line per extension.
    pub fn body(&self) -> String {
        let mut out = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        );
        for ext in &self.extensions {
            out.push_str(ext);
            out.push('\n');
        }
        out
    }

    /// Parses a checkpoint body strictly: at least three newline-terminated lines, a non-empty
    /// origin, a canonical decimal size, a canonical base64 32-byte root, non-empty extension
    /// lines, no control characters.
    pub fn parse_body(text: &str) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedCheckpoint { reason };
        check_text(text)?;
        let lines = text
            .strip_suffix('\n')
            .ok_or(bad("body does not end in a newline"))?;
        let mut lines = lines.split('\n');
        let origin = lines.next().unwrap_or("");
        if origin.is_empty() {
            return Err(bad("empty origin line"));
        }
        let size = lines.next().ok_or(bad("missing size line"))?;
        let size = parse_canonical_u64(size).ok_or(bad("size is not a canonical decimal"))?;
        let root = lines.next().ok_or(bad("missing root hash line"))?;
        let root = decode_hash(root).ok_or(bad("root is not a base64 32-byte hash"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(bad("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// A signer: a key name and an Ed25519 key, for a log (note signatures) or a witness
/// (cosignatures).
pub struct NoteKey {
    name: String,
    key: SigningKey,
    key_id: [u8; 4],
    cosignature_key_id: [u8; 4],
}

impl NoteKey {
    /// A signer named `name` (non-empty; no spaces, `+` or control characters).
    pub fn new(name: &str, key: SigningKey) -> Result<Self, NoteError> {
        check_key_name(name)?;
        let public = key.public();
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, ALG_ED25519, &public),
            cosignature_key_id: key_id(name, ALG_COSIGNATURE_V1, &public),
            key,
        })
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier for this key's note signatures (type 0x01). Use
    /// [`NoteVerifier::for_cosignatures`] for its cosignatures.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.public(),
            key_id: self.key_id,
            alg: ALG_ED25519,
        }
    }

    /// Signs a note text (which must end in a newline and hold no control characters other
    /// than newline, or the note will not open).
    pub fn sign(&self, body: &str) -> SignatureLine {
        SignatureLine {
            name: self.name.clone(),
            key_id: self.key_id,
            signature: self.key.sign(body.as_bytes()).to_bytes().to_vec(),
        }
    }

    /// A `tlog-cosignature` v1 over `checkpoint` at `timestamp` (Unix seconds, at most
    /// 2^63 − 1): the signature bytes are `timestamp (8, big-endian) ‖ Ed25519 signature`.
    pub fn cosign(&self, checkpoint: &Checkpoint, timestamp: u64) -> SignatureLine {
        let message = cosigned_message(&checkpoint.body(), timestamp);
        let mut signature = timestamp.to_be_bytes().to_vec();
        signature.extend_from_slice(&self.key.sign(message.as_bytes()).to_bytes());
        SignatureLine {
            name: self.name.clone(),
            key_id: self.cosignature_key_id,
            signature,
        }
    }
}

impl fmt::Debug for NoteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteKey")
            .field("name", &self.name)
            .field("key", &"[redacted]")
            .field("key_id", &hex::encode(self.key_id))
            .finish()
    }
}

/// A verifier: key name, Ed25519 public key, signature type and key id, as pinned by a client.
#[derive(Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: PublicKey,
    key_id: [u8; 4],
    alg: u8,
}

impl NoteVerifier {
    /// A verifier for `name`'s key with signature type `alg` (0x01 note signatures, 0x04
    /// cosignatures).
    pub fn new(name: &str, key: PublicKey, alg: u8) -> Result<Self, NoteError> {
        check_key_name(name)?;
        if alg != ALG_ED25519 && alg != ALG_COSIGNATURE_V1 {
            return Err(NoteError::MalformedVerifierKey {
                reason: "unsupported signature type",
            });
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, alg, &key),
            key,
            alg,
        })
    }

    /// Parses a vkey `<name>+<hex key id>+<base64(type ‖ 32-byte public key)>`, checking that
    /// the key id matches the name, type and key.
    pub fn parse(vkey: &str) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedVerifierKey { reason };
        let mut parts = vkey.splitn(3, '+');
        let name = parts.next().unwrap_or("");
        let id_hex = parts.next().ok_or(bad("missing key id"))?;
        let key_b64 = parts.next().ok_or(bad("missing key"))?;
        check_key_name(name)?;
        if id_hex.len() != 8
            || !id_hex
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(bad("key id is not 8 lowercase hex digits"));
        }
        let mut id = [0u8; 4];
        hex::decode_to_slice(id_hex, &mut id).map_err(|_| bad("key id is not hex"))?;
        let raw = B64.decode(key_b64).map_err(|_| bad("key is not base64"))?;
        let (alg, key) = raw.split_first().ok_or(bad("empty key"))?;
        let key: &[u8; 32] = key.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = PublicKey::from_bytes(key).map_err(|_| bad("not a valid Ed25519 public key"))?;
        let verifier = Self::new(name, key, *alg)?;
        if verifier.key_id != id {
            return Err(bad("key id does not match name and key"));
        }
        Ok(verifier)
    }

    /// The vkey string (the inverse of [`NoteVerifier::parse`]).
    pub fn to_vkey(&self) -> String {
        let mut raw = vec![self.alg];
        raw.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            B64.encode(raw)
        )
    }

    /// The key's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The 4-byte key id.
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The signature type (0x01 or 0x04).
    pub fn alg(&self) -> u8 {
        self.alg
    }

    /// The same name and key as a `tlog-cosignature` v1 verifier (type 0x04, its own key id).
    pub fn for_cosignatures(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key,
            key_id: key_id(&self.name, ALG_COSIGNATURE_V1, &self.key),
            alg: ALG_COSIGNATURE_V1,
        }
    }

    fn matches(&self, line: &SignatureLine) -> bool {
        line.name == self.name && line.key_id == self.key_id
    }
}

impl fmt::Debug for NoteVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoteVerifier({})", self.to_vkey())
    }
}

/// One signature line of a note: key name, key id and the signature bytes after the key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub key_id: [u8; 4],
    /// The signature (64 bytes for Ed25519; 72 for a cosignature: timestamp ‖ signature).
    pub signature: Vec<u8>,
}

impl SignatureLine {
    /// The line `— <name> base64(key id ‖ signature)\n`.
    pub fn to_line(&self) -> String {
        let mut raw = self.key_id.to_vec();
        raw.extend_from_slice(&self.signature);
        format!("{EM_DASH_PREFIX}{} {}\n", self.name, B64.encode(raw))
    }

    /// Parses one line (without its newline).
    pub fn parse(line: &str) -> Result<Self, NoteError> {
        Self::parse_numbered(line, 1)
    }

    fn parse_numbered(line: &str, n: usize) -> Result<Self, NoteError> {
        let bad = |reason| NoteError::MalformedSignatureLine { line: n, reason };
        let rest = line
            .strip_prefix(EM_DASH_PREFIX)
            .ok_or(bad("does not start with an em dash and a space"))?;
        let (name, sig) = rest.split_once(' ').ok_or(bad("missing signature"))?;
        check_key_name(name).map_err(|_| bad("invalid key name"))?;
        let raw = B64
            .decode(sig)
            .map_err(|_| bad("signature is not base64"))?;
        if raw.len() < 5 {
            return Err(bad("signature shorter than key id plus one byte"));
        }
        let (id, signature) = raw.split_at(4);
        let mut key_id = [0u8; 4];
        key_id.copy_from_slice(id);
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signature: signature.to_vec(),
        })
    }
}

/// Parses a block of signature lines (each ending in a newline), such as a `tlog-witness`
/// `add-checkpoint` response, with the same limits as [`open_checkpoint`].
pub fn parse_signature_lines(text: &str) -> Result<Vec<SignatureLine>, NoteError> {
    check_text(text)?;
    let block = text.strip_suffix('\n').ok_or(NoteError::MissingBlankLine)?;
    let lines: Vec<&str> = block.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count: lines.len() });
    }
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| SignatureLine::parse_numbered(l, i + 1))
        .collect()
}

/// A signed note: `body`, a blank line, then the signature lines.
pub fn write_note(body: &str, signatures: &[SignatureLine]) -> String {
    let mut out = String::with_capacity(body.len() + 1 + signatures.len() * 110);
    out.push_str(body);
    out.push('\n');
    for s in signatures {
        out.push_str(&s.to_line());
    }
    out
}

/// A verified signature of an opened note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    /// The signer's key name.
    pub name: String,
    /// The signer's key id.
    pub key_id: [u8; 4],
    /// The signature type (0x01 note signature, 0x04 cosignature).
    pub alg: u8,
    /// The cosignature's timestamp (type 0x04 only).
    pub timestamp: Option<u64>,
}

/// A note that passed [`open_note`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The note text (ending in a newline, without the blank line).
    pub body: String,
    /// Every signature line by a known key, each verified, in note order.
    pub signatures: Vec<VerifiedSignature>,
}

/// Opens any signed note against the known `verifiers` (signed-note rules, strictly).
///
/// The note must be at most 1 MiB with no control characters except newline; the text must
/// end in a newline and be followed by a blank line and 1 to 100 well-formed signature lines.
/// A line whose name and key id match a known verifier must verify (type 0x01 over the text;
/// type 0x04 as a `tlog-cosignature` v1 over the text), else the whole note is rejected; lines
/// by unknown keys are ignored; at least one known signature is required.
pub fn open_note(text: &str, verifiers: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
    if text.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge { len: text.len() });
    }
    check_text(text)?;
    let split = text.rfind("\n\n").ok_or(NoteError::MissingBlankLine)?;
    let body = &text[..=split];
    let block = text[split + 2..]
        .strip_suffix('\n')
        .ok_or(NoteError::MissingBlankLine)?;
    if block.is_empty() {
        return Err(NoteError::MissingBlankLine);
    }
    let lines: Vec<&str> = block.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(NoteError::TooManySignatures { count: lines.len() });
    }
    let mut signatures = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let sig = SignatureLine::parse_numbered(line, i + 1)?;
        let Some(v) = verifiers.iter().find(|v| v.matches(&sig)) else {
            continue;
        };
        let bad = || NoteError::BadSignature {
            name: sig.name.clone(),
        };
        let timestamp = if v.alg == ALG_COSIGNATURE_V1 {
            Some(verify_cosignature(v, body, &sig.signature)?)
        } else {
            let signature = Signature::from_slice(&sig.signature).map_err(|_| bad())?;
            v.key
                .verify(body.as_bytes(), &signature)
                .map_err(|_| bad())?;
            None
        };
        signatures.push(VerifiedSignature {
            name: sig.name,
            key_id: sig.key_id,
            alg: v.alg,
            timestamp,
        });
    }
    if signatures.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(OpenedNote {
        body: body.to_owned(),
        signatures,
    })
}

/// A checkpoint that passed [`open_checkpoint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedCheckpoint {
    /// The parsed body.
    pub checkpoint: Checkpoint,
    /// The body text exactly as signed.
    pub body: String,
    /// Always `true`: a checkpoint without a valid log signature does not open.
    pub log_signature_valid: bool,
    /// One `(witness name, timestamp)` per distinct trusted witness with a valid cosignature,
    /// in the order the witnesses were given.
    pub cosignatures: Vec<(String, u64)>,
    /// The whole note as received (keep it as evidence, e.g. of a split view).
    pub raw: String,
}

/// Opens a checkpoint note signed by `log` and cosigned by any of `witnesses`.
///
/// Strict, as a wallet needs: everything [`open_note`] checks (UTF-8, no control characters
/// except newline, at most 1 MiB and 100 signature lines, a blank line before well-formed
/// signature lines, every line by a known key verifies, unknown keys ignored), plus: a valid
/// signature by `log` is required, the body is a well-formed checkpoint whose origin equals the
/// log key's name, and cosignatures by `witnesses` dated after `now + 60` are rejected.
/// Counting a quorum of the returned cosignatures, and freshness, is the caller's policy.
///
/// `log` must be a type 0x01 verifier and every witness a type 0x04 one
/// ([`NoteVerifier::for_cosignatures`]).
pub fn open_checkpoint(
    text: &str,
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
    now: u64,
) -> Result<OpenedCheckpoint, NoteError> {
    if log.alg != ALG_ED25519 {
        return Err(NoteError::WrongKeyType {
            name: log.name.clone(),
            alg: log.alg,
            expected: ALG_ED25519,
        });
    }
    if let Some(w) = witnesses.iter().find(|w| w.alg != ALG_COSIGNATURE_V1) {
        return Err(NoteError::WrongKeyType {
            name: w.name.clone(),
            alg: w.alg,
            expected: ALG_COSIGNATURE_V1,
        });
    }
    let mut known = Vec::with_capacity(witnesses.len() + 1);
    known.push(log.clone());
    known.extend_from_slice(witnesses);
    let opened = match open_note(text, &known) {
        Err(NoteError::NoKnownSignature) => {
            return Err(NoteError::MissingLogSignature {
                name: log.name.clone(),
            })
        }
        other => other?,
    };
    let log_ok = opened
        .signatures
        .iter()
        .any(|s| s.alg == ALG_ED25519 && s.name == log.name && s.key_id == log.key_id);
    if !log_ok {
        return Err(NoteError::MissingLogSignature {
            name: log.name.clone(),
        });
    }
    let checkpoint = Checkpoint::parse_body(&opened.body)?;
    if checkpoint.origin != log.name {
        return Err(NoteError::OriginMismatch {
            origin: checkpoint.origin,
            expected: log.name.clone(),
        });
    }
    let mut cosignatures: Vec<(String, u64)> = Vec::new();
    for s in &opened.signatures {
        let Some(timestamp) = s.timestamp else {
            continue;
        };
        if timestamp > now.saturating_add(MAX_CLOCK_SKEW) {
            return Err(NoteError::FutureCosignature {
                name: s.name.clone(),
                timestamp,
                now,
            });
        }
    }
    for w in witnesses {
        let first = opened
            .signatures
            .iter()
            .find(|s| s.alg == ALG_COSIGNATURE_V1 && s.name == w.name && s.key_id == w.key_id);
        if let Some(ts) = first.and_then(|s| s.timestamp) {
            if !cosignatures.iter().any(|(n, _)| n == &w.name) {
                cosignatures.push((w.name.clone(), ts));
            }
        }
    }
    Ok(OpenedCheckpoint {
        checkpoint,
        body: opened.body,
        log_signature_valid: true,
        cosignatures,
        raw: text.to_owned(),
    })
}

/// [`open_checkpoint`] on raw bytes (rejects non-UTF-8 first).
pub fn open_checkpoint_bytes(
    bytes: &[u8],
    log: &NoteVerifier,
    witnesses: &[NoteVerifier],
    now: u64,
) -> Result<OpenedCheckpoint, NoteError> {
    if bytes.len() > MAX_NOTE_LEN {
        return Err(NoteError::TooLarge { len: bytes.len() });
    }
    let text = std::str::from_utf8(bytes).map_err(|_| NoteError::NotUtf8)?;
    open_checkpoint(text, log, witnesses, now)
}

/// Verifies a v1 cosignature's bytes over `body`; returns its timestamp.
fn verify_cosignature(w: &NoteVerifier, body: &str, sig: &[u8]) -> Result<u64, NoteError> {
    let malformed = || NoteError::MalformedCosignature {
        name: w.name.clone(),
    };
    let (ts, signature) = sig.split_first_chunk::<8>().ok_or_else(malformed)?;
    let timestamp = u64::from_be_bytes(*ts);
    if timestamp > i64::MAX as u64 {
        return Err(malformed());
    }
    let signature = Signature::from_slice(signature).map_err(|_| malformed())?;
    w.key
        .verify(cosigned_message(body, timestamp).as_bytes(), &signature)
        .map_err(|_| NoteError::BadSignature {
            name: w.name.clone(),
        })?;
    Ok(timestamp)
}

fn cosigned_message(body: &str, timestamp: u64) -> String {
    format!("{COSIGNATURE_HEADER}time {timestamp}\n{body}")
}

/// `SHA-256(name ‖ "\n" ‖ type ‖ public key)[:4]` (signed-note, tlog-cosignature).
fn key_id(name: &str, alg: u8, key: &PublicKey) -> [u8; 4] {
    let mut msg = Vec::with_capacity(name.len() + 34);
    msg.extend_from_slice(name.as_bytes());
    msg.push(b'\n');
    msg.push(alg);
    msg.extend_from_slice(key.as_bytes());
    let h = sha256(&msg);
    [h[0], h[1], h[2], h[3]]
}

fn check_key_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
    {
        return Err(NoteError::BadKeyName(name.to_owned()));
    }
    Ok(())
}

/// No ASCII control characters other than newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    match text.bytes().find(|b| *b < 0x20 && *b != b'\n') {
        Some(b) => Err(NoteError::ControlCharacter(u32::from(b))),
        None => Ok(()),
    }
}

/// A decimal with no sign and no leading zeroes (except `0`).
pub(crate) fn parse_canonical_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A canonical standard-base64 encoding of exactly 32 bytes.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    let raw = B64.decode(s).ok()?;
    let hash: Hash = raw.try_into().ok()?;
    // The base64 engine rejects non-zero trailing bits, so this encoding is the only one.
    Some(hash)
}
