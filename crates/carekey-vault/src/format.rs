//! The two vault files, `vault.ck` (header) and `state.ck` (state), as strict binary layouts.
//!
//! All integers are big-endian; variable parts carry a length prefix and are capped; nothing
//! may follow the last field. Parsing never panics: every defect is a typed
//! [`VaultError::Corrupt`].
//!
//! `vault.ck`:
//! ```text
//! magic "carekey-vault/v1" | version u16 | vault id [16]
//! | memory_kib u32 | iterations u32 | parallelism u32 | salt [16]
//! | u16 len, master key sealed under Argon2id(passphrase) (AAD: every field above + "passphrase")
//! | u8 device-unlock flag (0|1) [| u16 len, master key sealed under the device-unlock key]
//! ```
//! `state.ck`:
//! ```text
//! magic "carekey-state/v1" | version u16 | vault id [16] | epoch u64
//! | u32 len, state sealed under HKDF(master, "state")          (AAD: fields above + "state")
//! | u32 len, key index sealed under HKDF(master ‖ epoch key, "key-index/<epoch>")
//!                                                             (AAD: fields above + "key-index")
//! ```

use std::path::Path;

use carekey_crypto::KdfParams;

use crate::error::VaultError;

/// Magic bytes opening `vault.ck`.
pub(crate) const HEADER_MAGIC: &[u8; 16] = b"carekey-vault/v1";
/// Magic bytes opening `state.ck`.
pub(crate) const STATE_MAGIC: &[u8; 16] = b"carekey-state/v1";
/// The only format version this code reads and writes.
pub(crate) const FORMAT_VERSION: u16 = 1;
/// The header file's name inside the vault directory.
pub(crate) const HEADER_FILE: &str = "vault.ck";
/// The state file's name inside the vault directory.
pub(crate) const STATE_FILE: &str = "state.ck";

/// A sealed 32-byte key is 72 bytes (nonce, ciphertext, tag); leave room, but not much.
const MAX_WRAP_LEN: usize = 256;
/// The biggest header we accept.
pub(crate) const MAX_HEADER_LEN: u64 = 1024;
/// The biggest sealed state or key index.
pub(crate) const MAX_SECTION_LEN: usize = 256 * 1024 * 1024;
/// The biggest state file (two sections plus fixed fields).
pub(crate) const MAX_STATE_FILE_LEN: u64 = 2 * MAX_SECTION_LEN as u64 + 1024;
/// Upper bounds on KDF parameters read from a header, so a tampered header cannot make
/// unlock allocate terabytes or run for hours before authentication fails.
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 64;

/// The parsed header of a vault (`vault.ck`). Its secrets stay sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    id: [u8; 16],
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: [u8; 16],
    sealed_master: Vec<u8>,
    device_wrap: Option<Vec<u8>>,
}

impl Header {
    pub(crate) fn new(id: [u8; 16], kdf: &KdfParams, salt: [u8; 16]) -> Self {
        Self {
            id,
            memory_kib: kdf.memory_kib,
            iterations: kdf.iterations,
            parallelism: kdf.parallelism,
            salt,
            sealed_master: Vec::new(),
            device_wrap: None,
        }
    }

    /// The vault's random identifier.
    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    /// The Argon2id parameters of the passphrase wrap.
    pub fn kdf(&self) -> KdfParams {
        KdfParams {
            memory_kib: self.memory_kib,
            iterations: self.iterations,
            parallelism: self.parallelism,
        }
    }

    /// Whether the header carries a device-unlock wrap of the master key.
    pub fn device_unlock_enabled(&self) -> bool {
        self.device_wrap.is_some()
    }

    pub(crate) fn salt(&self) -> &[u8; 16] {
        &self.salt
    }

    pub(crate) fn sealed_master(&self) -> &[u8] {
        &self.sealed_master
    }

    pub(crate) fn device_wrap(&self) -> Option<&[u8]> {
        self.device_wrap.as_deref()
    }

    pub(crate) fn set_sealed_master(&mut self, sealed: Vec<u8>) {
        self.sealed_master = sealed;
    }

    pub(crate) fn set_device_wrap(&mut self, wrap: Option<Vec<u8>>) {
        self.device_wrap = wrap;
    }

    /// Every field before the sealed master key; authenticated as AAD of the passphrase wrap,
    /// so a changed KDF parameter or salt fails authentication.
    fn fixed_fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(HEADER_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.memory_kib.to_be_bytes());
        out.extend_from_slice(&self.iterations.to_be_bytes());
        out.extend_from_slice(&self.parallelism.to_be_bytes());
        out.extend_from_slice(&self.salt);
        out
    }

    pub(crate) fn passphrase_aad(&self) -> Vec<u8> {
        let mut aad = self.fixed_fields();
        aad.extend_from_slice(b"passphrase");
        aad
    }

    /// The device wrap binds magic, version and vault id but not the KDF fields, so changing
    /// the passphrase keeps device unlock working.
    pub(crate) fn device_aad(&self) -> Vec<u8> {
        let mut aad = Vec::with_capacity(48);
        aad.extend_from_slice(HEADER_MAGIC);
        aad.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        aad.extend_from_slice(&self.id);
        aad.extend_from_slice(b"device-unlock");
        aad
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = self.fixed_fields();
        put_u16_bytes(&mut out, &self.sealed_master);
        match &self.device_wrap {
            None => out.push(0),
            Some(wrap) => {
                out.push(1);
                put_u16_bytes(&mut out, wrap);
            }
        }
        out
    }
}

fn put_u16_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Wraps are at most MAX_WRAP_LEN long, far below u16::MAX.
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

/// Parses `vault.ck`. Checks structure, magic, version and the ranges of the KDF parameters;
/// the sealed master key is authenticated only when unlocking.
pub fn parse_header(bytes: &[u8]) -> Result<Header, VaultError> {
    parse_header_at(bytes, Path::new(HEADER_FILE))
}

pub(crate) fn parse_header_at(bytes: &[u8], file: &Path) -> Result<Header, VaultError> {
    parse_header_inner(bytes).map_err(|reason| VaultError::corrupt(file, reason))
}

fn parse_header_inner(bytes: &[u8]) -> Result<Header, &'static str> {
    if bytes.len() as u64 > MAX_HEADER_LEN {
        return Err("header too large");
    }
    let mut r = Reader::new(bytes);
    if r.take(HEADER_MAGIC.len())? != HEADER_MAGIC {
        return Err("not a Carekey vault header (bad magic)");
    }
    if r.u16()? != FORMAT_VERSION {
        return Err("unknown vault format version");
    }
    let id = r.array::<16>()?;
    let memory_kib = r.u32()?;
    let iterations = r.u32()?;
    let parallelism = r.u32()?;
    let salt = r.array::<16>()?;
    let sealed_master = r.u16_bytes(MAX_WRAP_LEN)?.to_vec();
    let device_wrap = match r.u8()? {
        0 => None,
        1 => Some(r.u16_bytes(MAX_WRAP_LEN)?.to_vec()),
        _ => return Err("bad device-unlock flag"),
    };
    r.finish()?;
    let header = Header {
        id,
        memory_kib,
        iterations,
        parallelism,
        salt,
        sealed_master,
        device_wrap,
    };
    check_kdf(&header.kdf()).map_err(|_| "KDF parameters out of range")?;
    Ok(header)
}

/// Checks KDF parameters: the crypto crate's rules plus this format's upper bounds.
pub(crate) fn check_kdf(kdf: &KdfParams) -> Result<(), VaultError> {
    if kdf.memory_kib > MAX_MEMORY_KIB
        || kdf.iterations > MAX_ITERATIONS
        || kdf.parallelism > MAX_PARALLELISM
    {
        return Err(VaultError::InvalidKdf {
            reason: format!(
                "at most {MAX_MEMORY_KIB} KiB, {MAX_ITERATIONS} iterations, {MAX_PARALLELISM} lanes"
            ),
        });
    }
    kdf.validate().map_err(|e| VaultError::InvalidKdf {
        reason: e.to_string(),
    })
}

/// The parsed state file of a vault (`state.ck`). Its contents stay sealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFile {
    id: [u8; 16],
    epoch: u64,
    sealed_state: Vec<u8>,
    sealed_key_index: Vec<u8>,
}

impl StateFile {
    pub(crate) fn new(id: [u8; 16], epoch: u64) -> Self {
        Self {
            id,
            epoch,
            sealed_state: Vec::new(),
            sealed_key_index: Vec::new(),
        }
    }

    /// The identifier of the vault this file belongs to.
    pub fn id(&self) -> [u8; 16] {
        self.id
    }

    /// The epoch whose key seals the key index.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    pub(crate) fn sealed_state(&self) -> &[u8] {
        &self.sealed_state
    }

    pub(crate) fn sealed_key_index(&self) -> &[u8] {
        &self.sealed_key_index
    }

    pub(crate) fn set_sealed(&mut self, state: Vec<u8>, key_index: Vec<u8>) {
        self.sealed_state = state;
        self.sealed_key_index = key_index;
    }

    fn fixed_fields(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(48);
        out.extend_from_slice(STATE_MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out
    }

    /// AAD of the sealed state: binds vault id and epoch.
    pub(crate) fn state_aad(&self) -> Vec<u8> {
        let mut aad = self.fixed_fields();
        aad.extend_from_slice(b"state");
        aad
    }

    /// AAD of the sealed key index: binds vault id and epoch.
    pub(crate) fn key_index_aad(&self) -> Vec<u8> {
        let mut aad = self.fixed_fields();
        aad.extend_from_slice(b"key-index");
        aad
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = self.fixed_fields();
        out.reserve(8 + self.sealed_state.len() + self.sealed_key_index.len());
        for section in [&self.sealed_state, &self.sealed_key_index] {
            // Sections are capped at MAX_SECTION_LEN when sealed, far below u32::MAX.
            let len = u32::try_from(section.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(section);
        }
        out
    }
}

/// Parses `state.ck`. Checks structure, magic, version and sizes; the sections are
/// authenticated only when opened.
pub fn parse_state_file(bytes: &[u8]) -> Result<StateFile, VaultError> {
    parse_state_file_at(bytes, Path::new(STATE_FILE))
}

pub(crate) fn parse_state_file_at(bytes: &[u8], file: &Path) -> Result<StateFile, VaultError> {
    parse_state_inner(bytes).map_err(|reason| VaultError::corrupt(file, reason))
}

fn parse_state_inner(bytes: &[u8]) -> Result<StateFile, &'static str> {
    let mut r = Reader::new(bytes);
    if r.take(STATE_MAGIC.len())? != STATE_MAGIC {
        return Err("not a Carekey state file (bad magic)");
    }
    if r.u16()? != FORMAT_VERSION {
        return Err("unknown state format version");
    }
    let id = r.array::<16>()?;
    let epoch = r.u64()?;
    if epoch == 0 {
        return Err("epoch 0 is never used");
    }
    let sealed_state = r.u32_bytes(MAX_SECTION_LEN)?.to_vec();
    let sealed_key_index = r.u32_bytes(MAX_SECTION_LEN)?.to_vec();
    r.finish()?;
    Ok(StateFile {
        id,
        epoch,
        sealed_state,
        sealed_key_index,
    })
}

/// A bounds-checked cursor; every read is a `Result`, never a panic.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        let end = self.pos.checked_add(n).ok_or("truncated")?;
        let slice = self.bytes.get(self.pos..end).ok_or("truncated")?;
        self.pos = end;
        Ok(slice)
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.array::<1>()?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    pub(crate) fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn u16_bytes(&mut self, max: usize) -> Result<&'a [u8], &'static str> {
        let len = usize::from(self.u16()?);
        if len > max {
            return Err("field too long");
        }
        self.take(len)
    }

    fn u32_bytes(&mut self, max: usize) -> Result<&'a [u8], &'static str> {
        let len = usize::try_from(self.u32()?).map_err(|_| "field too long")?;
        if len > max {
            return Err("field too long");
        }
        self.take(len)
    }

    pub(crate) fn finish(&self) -> Result<(), &'static str> {
        if self.pos == self.bytes.len() {
            Ok(())
        } else {
            Err("trailing bytes")
        }
    }
}
