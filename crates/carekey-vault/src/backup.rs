//! One-file backups, readable only with the recovery secret.
//!
//! Why this module is long: the format's writer and its reader (with every check a hostile
//! file must fail) sit side by side, so a change to one is read against the other.
//!
//! ```text
//! magic "carekey-backup/v1" | version u16 | vault id [16]
//! | recovery public key [32] | ephemeral public key [32]
//! [version 2 only: | key share id [16] | u16 len, node URLs (UTF-8, one per line)]
//!                                                                    (= the backup header)
//! | u16 len, (master key ‖ epoch key ‖ epoch u64) sealed under K_keys  (AAD: header + "keys")
//! | chunks: flag u8 (1 = last) | u32 len | sealed ≤ 64 KiB of the stream under K_stream
//!                                           (AAD: header ‖ chunk counter u64 ‖ flag)
//! stream = u64 len, state.ck bytes
//!        | { 1 | u16 len, record name | u64 len, record file bytes }* | 0
//! ```
//! K_keys and K_stream come from HKDF over the ephemeral-static X25519 secret, salted with both
//! public keys. A version-2 backup also mixes a 32-byte **key share** into that HKDF input: the
//! wallet keeps the share and stores it on its ledger nodes (their deletable store), and
//! erasure replaces it and deletes the old one there, so a backup made before an erasure no
//! longer opens even with the recovery words ([`BackupShare`]). Every chunk is authenticated with its position and the last one is marked, so
//! reordering, dropping, truncating or appending is detected. Memory use is constant: files
//! are streamed chunk by chunk in both directions.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use carekey_crypto::{
    hkdf_sha256, open, seal, AgreementPublic, AgreementSecret, KdfParams, SharedSecret,
    SymmetricKey,
};
use zeroize::Zeroizing;

use crate::atomic::{self, AtomicFile};
use crate::error::VaultError;
use crate::format::{check_kdf, parse_state_file, Reader, HEADER_FILE, MAX_STATE_FILE_LEN};
use crate::records::RECORDS_DIR;
use crate::store::SecretStore;
use crate::vault::{
    check_target, epoch_name, key_from, key_index_key, passphrase_header, state_key, Staging,
};
use crate::{Passphrase, Vault};

const BACKUP_MAGIC: &[u8; 17] = b"carekey-backup/v1";
const BACKUP_VERSION: u16 = 1;
const BACKUP_VERSION_SHARED: u16 = 2;
const HEADER_LEN: usize = 17 + 2 + 16 + 32 + 32;
/// The most node-list bytes a version-2 header carries.
const MAX_SHARE_NODES: usize = 4096;
const CHUNK_LEN: usize = 64 * 1024;
/// A sealed chunk: the plaintext plus nonce and tag.
const MAX_SEALED_CHUNK: usize = CHUNK_LEN + 40;
const MAX_KEYS_BLOB: usize = 256;
/// master key ‖ epoch key ‖ epoch.
const KEYS_LEN: usize = 32 + 32 + 8;
const MAX_RECORD_NAME: usize = 1024;
const ENTRY_END: u8 = 0;
const ENTRY_FILE: u8 = 1;

/// A backup key share: 32 secret bytes mixed into a backup's keys, stored by id on the ledger
/// nodes named here. Without it (deleted on erasure) the backup does not open.
#[derive(Clone)]
pub struct BackupShare {
    /// Names the share on the nodes.
    pub id: [u8; 16],
    /// The share.
    pub secret: Zeroizing<[u8; 32]>,
    /// Where a restore fetches it (one per line in the backup header).
    pub nodes: Vec<String>,
}

impl std::fmt::Debug for BackupShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackupShare")
            .field("id", &hex::encode(self.id))
            .field("secret", &"[redacted]")
            .field("nodes", &self.nodes)
            .finish()
    }
}

/// What a version-2 backup needs before it can be restored: the id of its key share and the
/// nodes that hold it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareNeeded {
    /// The share's id.
    pub id: [u8; 16],
    /// The nodes the wallet stored it on.
    pub nodes: Vec<String>,
}

/// The opening of a backup file.
struct BackupHeader {
    id: [u8; 16],
    recipient: [u8; 32],
    ephemeral: [u8; 32],
    share: Option<ShareNeeded>,
}

impl BackupHeader {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend_from_slice(BACKUP_MAGIC);
        let version = if self.share.is_some() {
            BACKUP_VERSION_SHARED
        } else {
            BACKUP_VERSION
        };
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&self.recipient);
        out.extend_from_slice(&self.ephemeral);
        if let Some(share) = &self.share {
            out.extend_from_slice(&share.id);
            let nodes = share.nodes.join("\n");
            out.extend_from_slice(&(nodes.len() as u16).to_be_bytes());
            out.extend_from_slice(nodes.as_bytes());
        }
        out
    }

    /// Reads the header from the start of a backup file; returns it with its exact bytes.
    fn read(input: &mut impl Read, path: &Path) -> Result<(Self, Vec<u8>), VaultError> {
        let mut bytes = vec![0u8; HEADER_LEN];
        read_exact(input, &mut bytes, path)?;
        let mut header = Self::parse(&bytes)?;
        if let Some(share) = header.share.as_mut() {
            let mut extra = [0u8; 18];
            read_exact(input, &mut extra, path)?;
            bytes.extend_from_slice(&extra);
            share.id.copy_from_slice(&extra[..16]);
            let len = usize::from(u16::from_be_bytes([extra[16], extra[17]]));
            if len > MAX_SHARE_NODES {
                return Err(VaultError::backup("node list too long"));
            }
            let mut nodes = vec![0u8; len];
            read_exact(input, &mut nodes, path)?;
            bytes.extend_from_slice(&nodes);
            let nodes = String::from_utf8(nodes)
                .map_err(|_| VaultError::backup("node list is not UTF-8"))?;
            share.nodes = nodes
                .split('\n')
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .collect();
        }
        Ok((header, bytes))
    }

    fn parse(bytes: &[u8]) -> Result<Self, VaultError> {
        let mut r = Reader::new(bytes);
        let corrupt = |reason: &str| VaultError::backup(reason);
        if r.take(BACKUP_MAGIC.len()).map_err(corrupt)? != BACKUP_MAGIC {
            return Err(corrupt("not a Carekey backup (bad magic)"));
        }
        let shared = match r.u16().map_err(corrupt)? {
            BACKUP_VERSION => false,
            BACKUP_VERSION_SHARED => true,
            _ => return Err(corrupt("unknown backup version")),
        };
        Ok(Self {
            id: r.array().map_err(corrupt)?,
            recipient: r.array().map_err(corrupt)?,
            ephemeral: r.array().map_err(corrupt)?,
            share: shared.then(|| ShareNeeded {
                id: [0; 16],
                nodes: Vec::new(),
            }),
        })
    }

    /// (K_keys, K_stream) from the agreed secret (and the key share, for version 2), salted
    /// with both public keys.
    fn keys(
        &self,
        shared: &SharedSecret,
        share: Option<&[u8; 32]>,
    ) -> (SymmetricKey, SymmetricKey) {
        let mut salt = [0u8; 64];
        salt[..32].copy_from_slice(&self.ephemeral);
        salt[32..].copy_from_slice(&self.recipient);
        match share {
            None => (
                hkdf_sha256(&salt, shared.expose(), b"carekey/backup/v1/keys"),
                hkdf_sha256(&salt, shared.expose(), b"carekey/backup/v1/stream"),
            ),
            Some(share) => {
                let mut ikm = Zeroizing::new([0u8; 64]);
                ikm[..32].copy_from_slice(shared.expose());
                ikm[32..].copy_from_slice(share);
                (
                    hkdf_sha256(&salt, &ikm[..], b"carekey/backup/v2/keys"),
                    hkdf_sha256(&salt, &ikm[..], b"carekey/backup/v2/stream"),
                )
            }
        }
    }

    fn keys_aad(&self) -> Vec<u8> {
        let mut aad = self.encode();
        aad.extend_from_slice(b"keys");
        aad
    }
}

impl Vault {
    /// Writes a backup of this vault to `out` (one file, written atomically and streamed):
    /// the master key, the current epoch key and epoch sealed to `recovery`, then `state.ck`
    /// and every file under `records/`. Needs the current epoch key.
    pub fn write_backup(&self, out: &Path, recovery: &AgreementPublic) -> Result<(), VaultError> {
        self.write_backup_with(out, recovery, None)
    }

    /// [`Vault::write_backup`], with a key share mixed into the backup's keys (a version-2
    /// backup, restorable only with the share: see [`BackupShare`]).
    pub fn write_backup_with(
        &self,
        out: &Path,
        recovery: &AgreementPublic,
        share: Option<&BackupShare>,
    ) -> Result<(), VaultError> {
        if let Some(share) = share {
            let len = share.nodes.iter().map(|n| n.len() + 1).sum::<usize>();
            if len > MAX_SHARE_NODES || share.nodes.iter().any(|n| n.is_empty() || n.contains('\n'))
            {
                return Err(VaultError::backup(
                    "the key share's node list is too long or malformed",
                ));
            }
        }
        let epoch_key = self.current_epoch_key()?;
        let io_out = || VaultError::io(out);
        let records = record_files(&self.records_dir())?;

        let ephemeral = AgreementSecret::generate();
        let header = BackupHeader {
            id: self.id(),
            recipient: *recovery.as_bytes(),
            ephemeral: *ephemeral.public().as_bytes(),
            share: share.map(|s| ShareNeeded {
                id: s.id,
                nodes: s.nodes.clone(),
            }),
        };
        let (keys_key, stream_key) =
            header.keys(&ephemeral.agree(recovery)?, share.map(|s| &*s.secret));
        let mut keys = Zeroizing::new(Vec::with_capacity(KEYS_LEN));
        keys.extend_from_slice(self.master.expose());
        keys.extend_from_slice(epoch_key.expose());
        keys.extend_from_slice(&self.epoch().to_be_bytes());
        let sealed_keys = seal(&keys_key, &header.keys_aad(), &keys);

        let mut file = BufWriter::new(AtomicFile::create(out).map_err(io_out())?);
        let header_bytes = header.encode();
        file.write_all(&header_bytes).map_err(io_out())?;
        write_u16_bytes(&mut file, &sealed_keys).map_err(io_out())?;

        let mut stream = ChunkWriter::new(file, stream_key, header_bytes);
        let state = self.state.encode();
        stream
            .write_all(&(state.len() as u64).to_be_bytes())
            .and_then(|()| stream.write_all(&state))
            .map_err(io_out())?;
        let mut buf = vec![0u8; CHUNK_LEN];
        for (name, path) in &records {
            let mut record = File::open(path).map_err(VaultError::io(path))?;
            let len = record.metadata().map_err(VaultError::io(path))?.len();
            stream.write_all(&[ENTRY_FILE]).map_err(io_out())?;
            write_u16_bytes(&mut stream, name.as_bytes()).map_err(io_out())?;
            stream.write_all(&len.to_be_bytes()).map_err(io_out())?;
            let mut left = len;
            while left > 0 {
                let want = usize::try_from(left.min(CHUNK_LEN as u64)).unwrap_or(CHUNK_LEN);
                let n = record
                    .read(&mut buf[..want])
                    .map_err(VaultError::io(path))?;
                if n == 0 {
                    return Err(VaultError::io(path)(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "record file shrank while being backed up",
                    )));
                }
                stream.write_all(&buf[..n]).map_err(io_out())?;
                left -= n as u64;
            }
        }
        stream.write_all(&[ENTRY_END]).map_err(io_out())?;
        let file = stream.finish().map_err(io_out())?;
        let file = file.into_inner().map_err(|e| io_out()(e.into_error()))?;
        file.commit().map_err(io_out())
    }

    /// Restores a backup into a new vault at `dir` (absent or empty; never touches anything
    /// else). Verifies the whole backup first — a truncated or tampered backup is
    /// [`VaultError::BackupCorrupt`], a backup made for another recovery key is
    /// [`VaultError::WrongRecoverySecret`] — while assembling the vault beside `dir`; then
    /// seals the master key under `passphrase` with `kdf` (device unlock off), puts the epoch
    /// key into `store` and renames the directory into place.
    pub fn restore_backup(
        backup: &Path,
        recovery: &AgreementSecret,
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Vault, VaultError> {
        Self::restore_backup_with(backup, recovery, &[], dir, passphrase, kdf, store)
    }

    /// What a backup needs besides the recovery secret: `Some` for a version-2 backup (the key
    /// share's id and the nodes holding it). Reads only the header.
    pub fn backup_share_needed(backup: &Path) -> Result<Option<ShareNeeded>, VaultError> {
        let file = File::open(backup).map_err(VaultError::io(backup))?;
        let (header, _) = BackupHeader::read(&mut BufReader::new(file), backup)?;
        Ok(header.share)
    }

    /// [`Vault::restore_backup`] for a backup that may need its key share
    /// ([`Vault::backup_share_needed`]): each of `shares` is tried (a node could offer a wrong
    /// one). A version-2 backup with no share given is [`VaultError::BackupShareMissing`];
    /// with only wrong ones [`VaultError::BackupCorrupt`].
    pub fn restore_backup_with(
        backup: &Path,
        recovery: &AgreementSecret,
        shares: &[[u8; 32]],
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Vault, VaultError> {
        check_kdf(&kdf)?;
        check_target(dir)?;
        let file = File::open(backup).map_err(VaultError::io(backup))?;
        let mut input = BufReader::new(file);

        let (header, header_bytes) = BackupHeader::read(&mut input, backup)?;
        if &header.recipient != recovery.public().as_bytes() {
            return Err(VaultError::WrongRecoverySecret);
        }
        if header.share.is_some() && shares.is_empty() {
            return Err(VaultError::BackupShareMissing);
        }
        let shared = recovery
            .agree(&AgreementPublic::from_bytes(header.ephemeral))
            .map_err(|_| VaultError::backup("invalid ephemeral key"))?;
        let mut len = [0u8; 2];
        read_exact(&mut input, &mut len, backup)?;
        let len = usize::from(u16::from_be_bytes(len));
        if len > MAX_KEYS_BLOB {
            return Err(VaultError::backup("key block too long"));
        }
        let mut sealed_keys = vec![0u8; len];
        read_exact(&mut input, &mut sealed_keys, backup)?;
        let candidates: Vec<Option<&[u8; 32]>> = if header.share.is_some() {
            shares.iter().map(Some).collect()
        } else {
            vec![None]
        };
        let (keys, stream_key) = candidates
            .into_iter()
            .find_map(|share| {
                let (keys_key, stream_key) = header.keys(&shared, share);
                open(&keys_key, &header.keys_aad(), &sealed_keys)
                    .ok()
                    .map(|keys| (keys, stream_key))
            })
            .ok_or_else(|| {
                VaultError::backup(if header.share.is_some() {
                    "key block failed authentication (or the key share is not this backup's)"
                } else {
                    "key block failed authentication"
                })
            })?;
        if keys.len() != KEYS_LEN {
            return Err(VaultError::backup("key block has the wrong length"));
        }
        let bad_keys = || VaultError::backup("key block has the wrong length");
        let master = key_from(&keys[..32]).ok_or_else(bad_keys)?;
        let epoch_key = key_from(&keys[32..64]).ok_or_else(bad_keys)?;
        let epoch = u64::from_be_bytes(keys[64..].try_into().map_err(|_| bad_keys())?);

        let mut stream = ChunkReader::new(input, stream_key, header_bytes, backup);
        let state_len = stream.u64()?;
        if state_len > MAX_STATE_FILE_LEN {
            return Err(VaultError::backup("state file too large"));
        }
        let mut state_bytes = vec![0u8; usize::try_from(state_len).unwrap_or(0)];
        stream.read_exact(&mut state_bytes)?;
        let state = parse_state_file(&state_bytes)
            .map_err(|e| VaultError::backup(format!("state file: {e}")))?;
        if state.id() != header.id || state.epoch() != epoch {
            return Err(VaultError::backup(
                "state file does not match the key block",
            ));
        }
        open(
            &state_key(&master, &state),
            &state.state_aad(),
            state.sealed_state(),
        )
        .map_err(|_| VaultError::backup("state failed authentication"))?;
        open(
            &key_index_key(&master, &epoch_key, &state),
            &state.key_index_aad(),
            state.sealed_key_index(),
        )
        .map_err(|_| VaultError::backup("key index failed authentication"))?;

        let staging = Staging::new(dir)?;
        staging.write(crate::format::STATE_FILE, &state_bytes)?;
        let records = staging.path().join(RECORDS_DIR);
        loop {
            match stream.u8()? {
                ENTRY_END => break,
                ENTRY_FILE => {}
                _ => return Err(VaultError::backup("unknown entry")),
            }
            let name_len = usize::from(stream.u16()?);
            if name_len > MAX_RECORD_NAME {
                return Err(VaultError::backup("record name too long"));
            }
            let mut name = vec![0u8; name_len];
            stream.read_exact(&mut name)?;
            let name = String::from_utf8(name)
                .ok()
                .filter(|n| valid_record_name(n))
                .ok_or_else(|| VaultError::backup("invalid record name"))?;
            let len = stream.u64()?;
            let path = records.join(&name);
            let parent = atomic::parent_of(&path);
            atomic::create_private_dir(parent).map_err(VaultError::io(parent))?;
            let mut out = match atomic::create_private(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    return Err(VaultError::backup("duplicate record name"))
                }
                Err(e) => return Err(VaultError::io(&path)(e)),
            };
            stream.copy_to(len, &mut out, &path)?;
            out.sync_all().map_err(VaultError::io(&path))?;
        }
        stream.finish()?;

        let vault_header = passphrase_header(header.id, &master, passphrase, &kdf, None)?;
        staging.write(HEADER_FILE, &vault_header.encode())?;
        store.put(&epoch_name(&header.id, epoch), epoch_key.expose())?;
        staging.commit(dir)?;
        Vault::open_unlocked(dir, vault_header, master, store)
    }
}

/// Record names: `/`-separated relative paths of plain components.
fn valid_record_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_RECORD_NAME
        && !name.contains(atomic::TEMP_MARKER)
        && name.split('/').all(|part| {
            !part.is_empty() && part != "." && part != ".." && !part.contains(['\\', '\0'])
        })
}

/// Every regular file under `records/`, as (relative name, path), sorted by name. Temporary
/// files of interrupted atomic writes are left out.
fn record_files(records: &Path) -> Result<Vec<(String, PathBuf)>, VaultError> {
    let mut out = Vec::new();
    collect(records, "", &mut out)?;
    out.sort();
    Ok(out)
}

fn collect(dir: &Path, prefix: &str, out: &mut Vec<(String, PathBuf)>) -> Result<(), VaultError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound && prefix.is_empty() => return Ok(()),
        Err(e) => return Err(VaultError::io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(VaultError::io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(VaultError::io(&path))?;
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            return Err(VaultError::UnsupportedRecordName { path });
        };
        if file_name.contains(atomic::TEMP_MARKER) {
            continue;
        }
        let name = format!("{prefix}{file_name}");
        if kind.is_dir() {
            collect(&path, &format!("{name}/"), out)?;
        } else if kind.is_file() {
            if !valid_record_name(&name) {
                return Err(VaultError::UnsupportedRecordName { path });
            }
            out.push((name, path));
        }
        // Symbolic links and special files are not records and are not backed up.
    }
    Ok(())
}

fn write_u16_bytes(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u16::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "field too long"))?;
    out.write_all(&len.to_be_bytes())?;
    out.write_all(bytes)
}

/// Reads exactly `buf.len()` bytes; a short file is a truncated backup.
fn read_exact(input: &mut impl Read, buf: &mut [u8], path: &Path) -> Result<(), VaultError> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            VaultError::backup("truncated")
        } else {
            VaultError::io(path)(e)
        }
    })
}

fn chunk_aad(prefix: &[u8], counter: u64, last: bool) -> Vec<u8> {
    let mut aad = Vec::with_capacity(prefix.len() + 9);
    aad.extend_from_slice(prefix);
    aad.extend_from_slice(&counter.to_be_bytes());
    aad.push(u8::from(last));
    aad
}

/// Seals a byte stream as numbered chunks, the last one marked.
struct ChunkWriter<W: Write> {
    out: W,
    key: SymmetricKey,
    aad_prefix: Vec<u8>,
    buf: Vec<u8>,
    counter: u64,
}

impl<W: Write> ChunkWriter<W> {
    fn new(out: W, key: SymmetricKey, aad_prefix: Vec<u8>) -> Self {
        Self {
            out,
            key,
            aad_prefix,
            buf: Vec::with_capacity(CHUNK_LEN),
            counter: 0,
        }
    }

    fn emit(&mut self, last: bool) -> io::Result<()> {
        let aad = chunk_aad(&self.aad_prefix, self.counter, last);
        let sealed = seal(&self.key, &aad, &self.buf);
        self.out.write_all(&[u8::from(last)])?;
        let len =
            u32::try_from(sealed.len()).map_err(|_| io::Error::other("sealed chunk too large"))?;
        self.out.write_all(&len.to_be_bytes())?;
        self.out.write_all(&sealed)?;
        self.buf.clear();
        self.counter += 1;
        Ok(())
    }

    fn finish(mut self) -> io::Result<W> {
        self.emit(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for ChunkWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = (CHUNK_LEN - self.buf.len()).min(data.len());
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == CHUNK_LEN {
            self.emit(false)?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Opens a stream written by [`ChunkWriter`], chunk by chunk.
struct ChunkReader<'p, R: Read> {
    input: R,
    key: SymmetricKey,
    aad_prefix: Vec<u8>,
    buf: Zeroizing<Vec<u8>>,
    pos: usize,
    counter: u64,
    done: bool,
    path: &'p Path,
}

impl<'p, R: Read> ChunkReader<'p, R> {
    fn new(input: R, key: SymmetricKey, aad_prefix: Vec<u8>, path: &'p Path) -> Self {
        Self {
            input,
            key,
            aad_prefix,
            buf: Zeroizing::new(Vec::new()),
            pos: 0,
            counter: 0,
            done: false,
            path,
        }
    }

    fn next_chunk(&mut self) -> Result<(), VaultError> {
        if self.done {
            return Err(VaultError::backup("truncated (stream ended early)"));
        }
        let mut head = [0u8; 5];
        read_exact(&mut self.input, &mut head, self.path)?;
        let last = match head[0] {
            0 => false,
            1 => true,
            _ => return Err(VaultError::backup("bad chunk flag")),
        };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        if len > MAX_SEALED_CHUNK {
            return Err(VaultError::backup("chunk too long"));
        }
        let mut sealed = vec![0u8; len];
        read_exact(&mut self.input, &mut sealed, self.path)?;
        let aad = chunk_aad(&self.aad_prefix, self.counter, last);
        self.buf = open(&self.key, &aad, &sealed).map_err(|_| {
            VaultError::backup(format!("chunk {} failed authentication", self.counter))
        })?;
        self.pos = 0;
        self.counter += 1;
        self.done = last;
        Ok(())
    }

    /// The next up to `max` bytes of the stream (at least one).
    fn next_slice(&mut self, max: usize) -> Result<&[u8], VaultError> {
        while self.pos == self.buf.len() {
            self.next_chunk()?;
        }
        let end = self.buf.len().min(self.pos + max);
        let start = self.pos;
        self.pos = end;
        Ok(&self.buf[start..end])
    }

    fn read_exact(&mut self, out: &mut [u8]) -> Result<(), VaultError> {
        let mut filled = 0;
        while filled < out.len() {
            let slice = self.next_slice(out.len() - filled)?;
            out[filled..filled + slice.len()].copy_from_slice(slice);
            filled += slice.len();
        }
        Ok(())
    }

    fn u8(&mut self) -> Result<u8, VaultError> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn u16(&mut self) -> Result<u16, VaultError> {
        let mut b = [0u8; 2];
        self.read_exact(&mut b)?;
        Ok(u16::from_be_bytes(b))
    }

    fn u64(&mut self) -> Result<u64, VaultError> {
        let mut b = [0u8; 8];
        self.read_exact(&mut b)?;
        Ok(u64::from_be_bytes(b))
    }

    /// Streams the next `len` bytes into `out`.
    fn copy_to(&mut self, len: u64, out: &mut impl Write, path: &Path) -> Result<(), VaultError> {
        let mut left = len;
        while left > 0 {
            let max = usize::try_from(left.min(CHUNK_LEN as u64)).unwrap_or(CHUNK_LEN);
            let slice = self.next_slice(max)?;
            out.write_all(slice).map_err(VaultError::io(path))?;
            left -= slice.len() as u64;
        }
        Ok(())
    }

    /// The stream must end exactly here: last chunk read and consumed, nothing after it.
    fn finish(mut self) -> Result<(), VaultError> {
        if !self.done || self.pos != self.buf.len() {
            return Err(VaultError::backup("data after the end marker"));
        }
        let mut extra = [0u8; 1];
        match self.input.read(&mut extra) {
            Ok(0) => Ok(()),
            Ok(_) => Err(VaultError::backup("trailing bytes after the last chunk")),
            Err(e) => Err(VaultError::io(self.path)(e)),
        }
    }
}
