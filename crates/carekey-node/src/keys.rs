//! Key files: a note signer key in the `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`
//! form Go's `golang.org/x/mod/sumdb/note` uses, written with mode 0600.

use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use carekey_crypto::SigningKey;
use carekey_ledger::note::{NoteKey, ALG_ED25519};
use zeroize::Zeroizing;

use crate::error::NodeError;

const PREFIX: &str = "PRIVATE+KEY+";

/// A log's or witness's signing key with its name.
#[derive(Debug)]
pub struct LogKey {
    /// The note signer (checkpoints, cosignatures).
    pub note: NoteKey,
    /// The same Ed25519 key, for COSE documents the node signs (access events).
    pub signing: SigningKey,
}

impl LogKey {
    /// A new random key named `name` (the log's origin, or the witness's name).
    pub fn generate(name: &str) -> Result<Self, NodeError> {
        Self::from_signing(name, SigningKey::generate())
    }

    /// Wraps an existing key.
    pub fn from_signing(name: &str, signing: SigningKey) -> Result<Self, NodeError> {
        let note =
            NoteKey::new(name, signing.clone()).map_err(|e| NodeError::Key(e.to_string()))?;
        Ok(Self { note, signing })
    }

    /// The key file text (a secret).
    pub fn encode(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new(vec![ALG_ED25519]);
        raw.extend_from_slice(&self.signing.to_bytes()[..]);
        Zeroizing::new(format!(
            "{PREFIX}{}+{}+{}\n",
            self.note.name(),
            hex::encode(self.note.verifier().key_id()),
            B64.encode(&raw[..])
        ))
    }

    /// Parses a key file's text.
    pub fn parse(text: &str) -> Result<Self, NodeError> {
        let bad = |m: &str| NodeError::Key(m.to_owned());
        let rest = text
            .trim_end()
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("does not start with PRIVATE+KEY+"))?;
        let mut parts = rest.splitn(3, '+');
        let name = parts.next().unwrap_or("");
        let id = parts.next().ok_or_else(|| bad("missing key id"))?;
        let key = parts.next().ok_or_else(|| bad("missing key"))?;
        let raw = Zeroizing::new(B64.decode(key).map_err(|_| bad("key is not base64"))?);
        let (alg, seed) = raw.split_first().ok_or_else(|| bad("empty key"))?;
        if *alg != ALG_ED25519 {
            return Err(bad("not an Ed25519 key"));
        }
        let seed: &[u8; 32] = seed.try_into().map_err(|_| bad("key is not 32 bytes"))?;
        let key = Self::from_signing(name, SigningKey::from_bytes(seed))?;
        if hex::encode(key.note.verifier().key_id()) != id {
            return Err(bad("key id does not match name and key"));
        }
        Ok(key)
    }

    /// Reads a key file.
    pub fn read(path: &Path) -> Result<Self, NodeError> {
        let text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| NodeError::Key(format!("{}: {e}", path.display())))?,
        );
        Self::parse(&text)
    }

    /// Writes the key file with mode 0600, refusing to overwrite an existing file.
    pub fn write(&self, path: &Path) -> Result<(), NodeError> {
        use std::io::Write as _;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600);
        }
        let mut f = opts
            .open(path)
            .map_err(|e| NodeError::Key(format!("{}: {e}", path.display())))?;
        f.write_all(self.encode().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|e| NodeError::Key(format!("{}: {e}", path.display())))
    }

    /// The note verifier key (`name+keyid+base64`) clients pin.
    pub fn vkey(&self) -> String {
        self.note.verifier().to_vkey()
    }
}
