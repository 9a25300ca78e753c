//! The unlocked vault: the key chain (passphrase → master key; master key + epoch key → key
//! index) and every operation that changes the files on disk.
//!
//! Why this module is long: every write to the vault's files goes through this one type, so the
//! order of writes that crash safety rests on (new file, fsync, rename, then destroy the old
//! epoch key) can be read and reviewed in one place.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use carekey_crypto::{hkdf_sha256, open, random_array, seal, KdfParams, SymmetricKey};
use zeroize::{Zeroize, Zeroizing};

use crate::atomic;
use crate::error::{StoreError, VaultError};
use crate::format::{
    check_kdf, parse_header_at, parse_state_file_at, Header, StateFile, HEADER_FILE,
    MAX_HEADER_LEN, MAX_SECTION_LEN, MAX_STATE_FILE_LEN, STATE_FILE,
};
use crate::records::{RecordStore, RECORDS_DIR};
use crate::store::SecretStore;
use crate::Passphrase;

/// The AEAD adds a 24-byte nonce and a 16-byte tag to what it seals.
const SEAL_OVERHEAD: usize = 40;

/// An unlocked vault. Holds the master key and the current epoch key in memory (both wiped
/// when dropped) and the secret store that keeps the epoch key.
pub struct Vault {
    pub(crate) dir: PathBuf,
    pub(crate) header: Header,
    pub(crate) master: SymmetricKey,
    pub(crate) epoch_key: Option<SymmetricKey>,
    /// When `epoch_key` is missing: whether the store holds the next epoch's key.
    newer_epoch_present: bool,
    pub(crate) state: StateFile,
    pub(crate) store: Box<dyn SecretStore>,
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vault")
            .field("id", &hex::encode(self.header.id()))
            .field("dir", &self.dir)
            .field("epoch", &self.state.epoch())
            .field("store", &self.store.describe())
            .field("keys", &"[redacted]")
            .finish()
    }
}

impl Vault {
    /// Whether `dir` holds a vault (a `vault.ck` file).
    pub fn exists(dir: &Path) -> bool {
        dir.join(HEADER_FILE).is_file()
    }

    /// Creates a vault in `dir`, which must be absent or empty: a random master key sealed
    /// under Argon2id(`passphrase`) with `kdf`, epoch 1 with a fresh epoch key put into
    /// `store`, an empty state and key index, and an empty `records/` folder. The directory
    /// is assembled beside `dir` and renamed into place, so a crash leaves no half vault. If a
    /// vault (or anything else) is already there, nothing is written.
    pub fn create(
        dir: &Path,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Vault, VaultError> {
        check_kdf(&kdf)?;
        check_target(dir)?;
        let id = random_array::<16>();
        let master = SymmetricKey::generate();
        let epoch_key = SymmetricKey::generate();
        let header = passphrase_header(id, &master, passphrase, &kdf, None)?;
        let state = seal_state(&master, &epoch_key, StateFile::new(id, 1), &[], &[])?;

        let staging = Staging::new(dir)?;
        staging.write(HEADER_FILE, &header.encode())?;
        staging.write(STATE_FILE, &state.encode())?;
        let epoch_name = epoch_name(&id, 1);
        store.put(&epoch_name, epoch_key.expose())?;
        if let Err(e) = staging.commit(dir) {
            let _ = store.delete(&epoch_name);
            return Err(e);
        }
        Ok(Vault {
            dir: dir.to_path_buf(),
            header,
            master,
            epoch_key: Some(epoch_key),
            newer_epoch_present: false,
            state,
            store,
        })
    }

    /// Unlocks the vault in `dir` with its passphrase (runs Argon2id with the header's
    /// parameters). Verifies the header, the state and — if the epoch key is in `store` — the
    /// key index. A missing epoch key does not stop the unlock (the state stays readable);
    /// [`Vault::key_index`] then reports [`VaultError::DeviceSecretMissing`]. Nothing is
    /// written unless the unlock succeeds; then stale epoch keys older than the current epoch
    /// (leftovers of a crash during [`Vault::rotate_epoch`]) are deleted from the store.
    pub fn unlock(
        dir: &Path,
        passphrase: &Passphrase,
        store: Box<dyn SecretStore>,
    ) -> Result<Vault, VaultError> {
        let header = read_header(dir)?;
        let kdf = header.kdf();
        // A header's parameters are below the floor only if someone chose the test profile (it
        // is loud: the shells warn) or weakened them on purpose: refuse the latter.
        if !kdf.meets_minimum() && !kdf.is_test() {
            return Err(VaultError::WeakKdf {
                memory_kib: kdf.memory_kib,
                iterations: kdf.iterations,
            });
        }
        let kek = carekey_crypto::argon2id(passphrase.expose().as_bytes(), header.salt(), &kdf)?;
        let master = open(&kek, &header.passphrase_aad(), header.sealed_master())
            .map_err(|_| VaultError::WrongPassphrase)?;
        let master = key_from(&master).ok_or(VaultError::WrongPassphrase)?;
        Vault::open_unlocked(dir, header, master, store)
    }

    /// Unlocks the vault in `dir` with the device-unlock secret from `store` (no Argon2id).
    pub fn unlock_with_device(
        dir: &Path,
        store: Box<dyn SecretStore>,
    ) -> Result<Vault, VaultError> {
        let header = read_header(dir)?;
        let wrap = header
            .device_wrap()
            .ok_or(VaultError::DeviceUnlockNotEnabled)?;
        let secret = store.get(&unlock_name(&header.id()))?.ok_or_else(|| {
            VaultError::DeviceUnlockSecretMissing {
                store: store.describe(),
            }
        })?;
        let failed = || VaultError::DeviceUnlockFailed {
            store: store.describe(),
        };
        let key = device_key(&secret, &header.id());
        let master = open(&key, &header.device_aad(), wrap).map_err(|_| failed())?;
        let master = key_from(&master).ok_or_else(failed)?;
        Vault::open_unlocked(dir, header, master, store)
    }

    /// The second half of every unlock: read and verify the state file, fetch the epoch key,
    /// then tidy stale epoch keys.
    pub(crate) fn open_unlocked(
        dir: &Path,
        header: Header,
        master: SymmetricKey,
        store: Box<dyn SecretStore>,
    ) -> Result<Vault, VaultError> {
        let state_path = dir.join(STATE_FILE);
        let bytes = read_capped(&state_path, MAX_STATE_FILE_LEN)?
            .ok_or_else(|| VaultError::corrupt(&state_path, "missing"))?;
        let state = parse_state_file_at(&bytes, &state_path)?;
        if state.id() != header.id() {
            return Err(VaultError::corrupt(
                &state_path,
                "belongs to a different vault",
            ));
        }
        open(
            &state_key(&master, &state),
            &state.state_aad(),
            state.sealed_state(),
        )
        .map_err(|_| VaultError::corrupt(&state_path, "state failed authentication"))?;
        let id = header.id();
        let epoch = state.epoch();
        let epoch_key = match store.get(&epoch_name(&id, epoch))? {
            Some(bytes) => Some(key_from(&bytes).ok_or_else(|| StoreError::Malformed {
                name: epoch_name(&id, epoch),
            })?),
            None => None,
        };
        let newer_epoch_present = match &epoch_key {
            Some(key) => {
                open(
                    &key_index_key(&master, key, &state),
                    &state.key_index_aad(),
                    state.sealed_key_index(),
                )
                .map_err(|_| VaultError::corrupt(&state_path, "key index failed authentication"))?;
                false
            }
            None => match epoch.checked_add(1) {
                Some(next) => store.get(&epoch_name(&id, next))?.is_some(),
                None => false,
            },
        };
        // Only keys of epochs before the current one are stale; never touch the current one
        // or a newer one (a newer one means this directory is a stale copy).
        if let Some(previous) = epoch.checked_sub(1).filter(|p| *p >= 1) {
            store.delete(&epoch_name(&id, previous))?;
        }
        Ok(Vault {
            dir: dir.to_path_buf(),
            header,
            master,
            epoch_key,
            newer_epoch_present,
            state,
            store,
        })
    }

    /// Lets [`Vault::unlock_with_device`] open this vault: puts a fresh random secret
    /// "`<vault id>/unlock`" into the store and seals the master key under it in the header.
    pub fn enable_device_unlock(&mut self) -> Result<(), VaultError> {
        let secret = Zeroizing::new(random_array::<32>());
        let id = self.header.id();
        let mut header = self.header.clone();
        let wrap = seal(
            &device_key(&secret[..], &id),
            &header.device_aad(),
            self.master.expose(),
        );
        header.set_device_wrap(Some(wrap));
        // Store first: a crash before the header write leaves only an unused store entry.
        self.store.put(&unlock_name(&id), &secret[..])?;
        self.write_header(header)
    }

    /// Turns device unlock off: removes the wrap from the header, then the secret from the
    /// store.
    pub fn disable_device_unlock(&mut self) -> Result<(), VaultError> {
        if self.header.device_unlock_enabled() {
            let mut header = self.header.clone();
            header.set_device_wrap(None);
            self.write_header(header)?;
        }
        self.store.delete(&unlock_name(&self.header.id()))?;
        Ok(())
    }

    /// Whether the header carries a device-unlock wrap.
    pub fn device_unlock_enabled(&self) -> bool {
        self.header.device_unlock_enabled()
    }

    /// Re-seals the master key under a new passphrase with a fresh salt and `kdf`. Nothing
    /// else changes (the state, key index and records stay as they are).
    pub fn change_passphrase(
        &mut self,
        new: &Passphrase,
        kdf: KdfParams,
    ) -> Result<(), VaultError> {
        check_kdf(&kdf)?;
        let device_wrap = self.header.device_wrap().map(<[u8]>::to_vec);
        let header = passphrase_header(self.header.id(), &self.master, new, &kdf, device_wrap)?;
        self.write_header(header)
    }

    /// The vault's random identifier.
    pub fn id(&self) -> [u8; 16] {
        self.header.id()
    }

    /// The vault directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The KDF parameters of the passphrase wrap.
    pub fn kdf(&self) -> KdfParams {
        self.header.kdf()
    }

    /// The current epoch (starts at 1, +1 per [`Vault::rotate_epoch`]).
    pub fn epoch(&self) -> u64 {
        self.state.epoch()
    }

    /// Where the device secrets are kept ([`SecretStore::describe`]).
    pub fn store_description(&self) -> String {
        self.store.describe()
    }

    /// The wallet's document (empty in a new vault), opened with a key derived from the
    /// master key.
    pub fn state(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open(
            &state_key(&self.master, &self.state),
            &self.state.state_aad(),
            self.state.sealed_state(),
        )
        .map_err(|_| VaultError::corrupt(self.dir.join(STATE_FILE), "state failed authentication"))
    }

    /// The record secrets (empty in a new vault), opened with a key derived from the master
    /// key and the current epoch key.
    pub fn key_index(&self) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        let epoch_key = self.current_epoch_key()?;
        open(
            &key_index_key(&self.master, epoch_key, &self.state),
            &self.state.key_index_aad(),
            self.state.sealed_key_index(),
        )
        .map_err(|_| {
            VaultError::corrupt(self.dir.join(STATE_FILE), "key index failed authentication")
        })
    }

    /// Replaces state and key index with one atomic write of `state.ck` (same epoch).
    pub fn save(&mut self, state: &[u8], key_index: &[u8]) -> Result<(), VaultError> {
        let epoch_key = self.current_epoch_key()?;
        let file = seal_state(
            &self.master,
            epoch_key,
            StateFile::new(self.id(), self.epoch()),
            state,
            key_index,
        )?;
        let path = self.dir.join(STATE_FILE);
        atomic::write(&path, &file.encode()).map_err(VaultError::io(&path))?;
        self.state = file;
        Ok(())
    }

    /// Re-keys the key index under a fresh epoch key (the erasure step), saving `state` and
    /// `key_index` with it. Crash-safe order: put "`<id>/epoch-(n+1)`" into the store →
    /// atomically write `state.ck` sealed under it → delete "`<id>/epoch-n`" (and the stale
    /// "`epoch-(n-1)`") from the store. After it returns `Ok`, the old epoch key exists
    /// neither in memory nor in the store, so every older copy of the key index is unreadable.
    /// If only the final deletion fails, the vault is already at the new epoch and the error
    /// is returned; the next unlock deletes the stale key.
    pub fn rotate_epoch(&mut self, state: &[u8], key_index: &[u8]) -> Result<(), VaultError> {
        // Refuse without the current key: this directory may be a stale copy, and putting
        // "epoch-(n+1)" would overwrite the live vault's key.
        self.current_epoch_key()?;
        let id = self.id();
        let old = self.epoch();
        let path = self.dir.join(STATE_FILE);
        let next = old
            .checked_add(1)
            .ok_or_else(|| VaultError::corrupt(&path, "epoch counter exhausted"))?;
        let new_key = SymmetricKey::generate();
        let file = seal_state(
            &self.master,
            &new_key,
            StateFile::new(id, next),
            state,
            key_index,
        )?;
        self.store.put(&epoch_name(&id, next), new_key.expose())?;
        // On failure the new store entry stays: if the rename did happen (only the directory
        // fsync failed), the file needs it; if not, it is an unused entry the next rotation
        // overwrites.
        atomic::write(&path, &file.encode()).map_err(VaultError::io(&path))?;
        self.state = file;
        // Dropping the old key wipes it from memory.
        self.epoch_key = Some(new_key);
        self.newer_epoch_present = false;
        self.store.delete(&epoch_name(&id, old))?;
        if let Some(stale) = old.checked_sub(1).filter(|p| *p >= 1) {
            self.store.delete(&epoch_name(&id, stale))?;
        }
        Ok(())
    }

    /// The folder for record files, `<dir>/records`.
    pub fn records_dir(&self) -> PathBuf {
        self.records().dir().to_path_buf()
    }

    /// The record files: their paths, writing, reading and removing a version, and the files
    /// no record refers to.
    pub fn records(&self) -> RecordStore {
        RecordStore::new(&self.dir)
    }

    /// Erases the vault: deletes its store entries (epoch keys, device-unlock secret) — which
    /// alone makes every copy of the key index unreadable — then overwrites with zeros and
    /// deletes every file in the directory (records included) and removes the directory.
    pub fn destroy(self) -> Result<(), VaultError> {
        let id = self.id();
        let epoch = self.epoch();
        let mut names = vec![epoch_name(&id, epoch), unlock_name(&id)];
        names.extend(epoch.checked_add(1).map(|n| epoch_name(&id, n)));
        names.extend(
            epoch
                .checked_sub(1)
                .filter(|p| *p >= 1)
                .map(|n| epoch_name(&id, n)),
        );
        for name in &names {
            self.store.delete(name)?;
        }
        wipe_dir(&self.dir).map_err(VaultError::io(&self.dir))?;
        atomic::sync_dir(atomic::parent_of(&self.dir)).map_err(VaultError::io(&self.dir))
    }

    pub(crate) fn current_epoch_key(&self) -> Result<&SymmetricKey, VaultError> {
        self.epoch_key
            .as_ref()
            .ok_or_else(|| VaultError::DeviceSecretMissing {
                store: self.store.describe(),
                epoch: self.epoch(),
                newer_epoch_present: self.newer_epoch_present,
            })
    }

    fn write_header(&mut self, header: Header) -> Result<(), VaultError> {
        let path = self.dir.join(HEADER_FILE);
        atomic::write(&path, &header.encode()).map_err(VaultError::io(&path))?;
        self.header = header;
        Ok(())
    }
}

/// The store entry of an epoch key: "`<vault-id-hex>/epoch-<n>`".
pub(crate) fn epoch_name(id: &[u8; 16], epoch: u64) -> String {
    format!("{}/epoch-{epoch}", hex::encode(id))
}

/// The store entry of the device-unlock secret: "`<vault-id-hex>/unlock`".
pub(crate) fn unlock_name(id: &[u8; 16]) -> String {
    format!("{}/unlock", hex::encode(id))
}

/// A header whose master key is sealed under Argon2id(`passphrase`) with a fresh salt.
pub(crate) fn passphrase_header(
    id: [u8; 16],
    master: &SymmetricKey,
    passphrase: &Passphrase,
    kdf: &KdfParams,
    device_wrap: Option<Vec<u8>>,
) -> Result<Header, VaultError> {
    let salt = random_array::<16>();
    let mut header = Header::new(id, kdf, salt);
    header.set_device_wrap(device_wrap);
    let kek = carekey_crypto::argon2id(passphrase.expose().as_bytes(), &salt, kdf)?;
    header.set_sealed_master(seal(&kek, &header.passphrase_aad(), master.expose()));
    Ok(header)
}

pub(crate) fn state_key(master: &SymmetricKey, state: &StateFile) -> SymmetricKey {
    hkdf_sha256(&state.id(), master.expose(), b"carekey/vault/v1/state")
}

pub(crate) fn key_index_key(
    master: &SymmetricKey,
    epoch_key: &SymmetricKey,
    state: &StateFile,
) -> SymmetricKey {
    let mut ikm = Zeroizing::new([0u8; 64]);
    ikm[..32].copy_from_slice(master.expose());
    ikm[32..].copy_from_slice(epoch_key.expose());
    let info = format!("carekey/vault/v1/key-index/{}", state.epoch());
    hkdf_sha256(&state.id(), &ikm[..], info.as_bytes())
}

fn device_key(secret: &[u8], id: &[u8; 16]) -> SymmetricKey {
    hkdf_sha256(id, secret, b"carekey/vault/v1/device-unlock")
}

/// Seals `state` and `key_index` into `file` (whose id and epoch are set).
pub(crate) fn seal_state(
    master: &SymmetricKey,
    epoch_key: &SymmetricKey,
    mut file: StateFile,
    state: &[u8],
    key_index: &[u8],
) -> Result<StateFile, VaultError> {
    let max = MAX_SECTION_LEN - SEAL_OVERHEAD;
    for (what, len) in [("state", state.len()), ("key index", key_index.len())] {
        if len > max {
            return Err(VaultError::TooLarge { what, len, max });
        }
    }
    let sealed_state = seal(&state_key(master, &file), &file.state_aad(), state);
    let sealed_index = seal(
        &key_index_key(master, epoch_key, &file),
        &file.key_index_aad(),
        key_index,
    );
    file.set_sealed(sealed_state, sealed_index);
    Ok(file)
}

/// A 32-byte key from opened bytes (`None` for any other length).
pub(crate) fn key_from(bytes: &[u8]) -> Option<SymmetricKey> {
    let mut array: [u8; 32] = bytes.try_into().ok()?;
    let key = SymmetricKey::from_bytes(array);
    array.zeroize();
    Some(key)
}

fn read_header(dir: &Path) -> Result<Header, VaultError> {
    let path = dir.join(HEADER_FILE);
    let bytes = read_capped(&path, MAX_HEADER_LEN)?.ok_or_else(|| VaultError::NotFound {
        dir: dir.to_path_buf(),
    })?;
    parse_header_at(&bytes, &path)
}

/// Reads a whole file of at most `max` bytes; `None` if it does not exist.
pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Option<Vec<u8>>, VaultError> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VaultError::io(path)(e)),
    };
    let mut bytes = Vec::new();
    file.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(VaultError::io(path))?;
    if bytes.len() as u64 > max {
        return Err(VaultError::corrupt(path, "file too large"));
    }
    Ok(Some(bytes))
}

/// Fails unless `dir` is absent or an empty directory.
pub(crate) fn check_target(dir: &Path) -> Result<(), VaultError> {
    match std::fs::read_dir(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotADirectory => Err(VaultError::NotEmpty {
            dir: dir.to_path_buf(),
        }),
        Err(e) => Err(VaultError::io(dir)(e)),
        Ok(mut entries) => {
            if Vault::exists(dir) {
                Err(VaultError::AlreadyExists {
                    dir: dir.to_path_buf(),
                })
            } else if entries.next().is_some() {
                Err(VaultError::NotEmpty {
                    dir: dir.to_path_buf(),
                })
            } else {
                Ok(())
            }
        }
    }
}

/// A vault directory being assembled beside its final place
/// (`.<name>.carekey-tmp.<random>`), renamed into place by [`Staging::commit`] and removed if
/// dropped before.
pub(crate) struct Staging {
    path: PathBuf,
    committed: bool,
}

impl Staging {
    pub(crate) fn new(dir: &Path) -> Result<Self, VaultError> {
        let parent = atomic::parent_of(dir);
        atomic::create_private_dir(parent).map_err(VaultError::io(parent))?;
        let name = dir.file_name().ok_or_else(|| VaultError::NotEmpty {
            dir: dir.to_path_buf(),
        })?;
        let mut temp = std::ffi::OsString::from(".");
        temp.push(name);
        temp.push(atomic::TEMP_MARKER);
        temp.push(hex::encode(random_array::<8>()));
        let path = parent.join(temp);
        atomic::create_private_dir(&path.join(RECORDS_DIR)).map_err(VaultError::io(&path))?;
        Ok(Self {
            path,
            committed: false,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn write(&self, name: &str, bytes: &[u8]) -> Result<(), VaultError> {
        let path = self.path.join(name);
        atomic::write(&path, bytes).map_err(VaultError::io(&path))
    }

    /// Makes everything durable, then renames the directory onto `dir` (absent or empty).
    pub(crate) fn commit(mut self, dir: &Path) -> Result<(), VaultError> {
        let io = VaultError::io(&self.path);
        sync_tree(&self.path).map_err(io)?;
        // Re-check right before the rename: a vault may have appeared meanwhile.
        check_target(dir)?;
        std::fs::rename(&self.path, dir).map_err(VaultError::io(dir))?;
        self.committed = true;
        let parent = atomic::parent_of(dir);
        atomic::sync_dir(parent).map_err(VaultError::io(parent))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Fsyncs every directory in a tree (files are fsynced as they are written).
fn sync_tree(dir: &Path) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            sync_tree(&entry.path())?;
        }
    }
    atomic::sync_dir(dir)
}

/// Overwrites and deletes every file under `dir`, then removes the directories.
fn wipe_dir(dir: &Path) -> io::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            wipe_dir(&path)?;
        } else if kind.is_file() {
            atomic::wipe_file(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    std::fs::remove_dir(dir)
}
