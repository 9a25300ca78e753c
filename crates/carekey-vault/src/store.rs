//! Where device secrets live: the OS keyring, or a directory of `0600` files.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::atomic;
use crate::error::StoreError;

/// The keyring service name every Carekey entry is filed under.
const KEYRING_SERVICE: &str = "carekey";
/// Secrets are small keys; anything bigger in a store is not ours.
const MAX_SECRET_LEN: u64 = 4096;
const MAX_NAME_LEN: usize = 200;

/// A place for device secrets (epoch keys, device-unlock secrets), kept outside the vault
/// directory so that a copy of the directory does not carry them.
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// Stores `secret` under `name`, replacing any previous value.
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), StoreError>;
    /// The secret stored under `name`, or `None` if there is none.
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError>;
    /// Removes the secret stored under `name`; removing a missing entry is `Ok`.
    fn delete(&self, name: &str) -> Result<(), StoreError>;
    /// A human description of the store, for messages ("OS keyring (Secret Service)").
    fn describe(&self) -> String;
}

impl<S: SecretStore + ?Sized> SecretStore for Box<S> {
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        (**self).put(name, secret)
    }
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        (**self).get(name)
    }
    fn delete(&self, name: &str) -> Result<(), StoreError> {
        (**self).delete(name)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

fn check_name(name: &str) -> Result<(), StoreError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN || name.contains('\0') {
        return Err(StoreError::InvalidName {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// The OS keyring through the `keyring` crate (on Linux: the Secret Service, e.g.
/// gnome-keyring or KWallet), entries filed under the service "carekey".
#[derive(Debug, Default)]
pub struct OsKeyring {
    _private: (),
}

impl OsKeyring {
    /// A handle on the OS keyring; nothing is contacted until first use (see [`Self::probe`]).
    pub fn new() -> Self {
        Self { _private: () }
    }

    /// Checks that the keyring works here: puts, reads back and deletes a random probe entry.
    pub fn probe(&self) -> Result<(), StoreError> {
        let name = format!("probe-{}", hex::encode(carekey_crypto::random_array::<8>()));
        let value = carekey_crypto::random_array::<16>();
        let entry = self.entry(&name)?;
        if entry
            .get_credential()
            .downcast_ref::<keyring::mock::MockCredential>()
            .is_some()
        {
            return Err(StoreError::Unavailable {
                reason: "no OS keyring backend is built in for this platform".into(),
            });
        }
        self.put(&name, &value).map_err(unavailable)?;
        let read = self.get(&name);
        let deleted = self.delete(&name);
        let read = read.map_err(unavailable)?;
        deleted.map_err(unavailable)?;
        match read {
            Some(v) if v.as_slice() == value => Ok(()),
            _ => Err(StoreError::Unavailable {
                reason: "the keyring did not return the probe secret".into(),
            }),
        }
    }

    fn entry(&self, name: &str) -> Result<keyring::Entry, StoreError> {
        check_name(name)?;
        keyring::Entry::new(KEYRING_SERVICE, name).map_err(|source| StoreError::Keyring {
            name: name.to_owned(),
            source,
        })
    }
}

fn unavailable(e: StoreError) -> StoreError {
    StoreError::Unavailable {
        reason: e.to_string(),
    }
}

impl SecretStore for OsKeyring {
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        self.entry(name)?
            .set_secret(secret)
            .map_err(|source| StoreError::Keyring {
                name: name.to_owned(),
                source,
            })
    }

    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        match self.entry(name)?.get_secret() {
            Ok(v) => Ok(Some(Zeroizing::new(v))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(source) => Err(StoreError::Keyring {
                name: name.to_owned(),
                source,
            }),
        }
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        match self.entry(name)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(source) => Err(StoreError::Keyring {
                name: name.to_owned(),
                source,
            }),
        }
    }

    fn describe(&self) -> String {
        if cfg!(any(
            target_os = "linux",
            target_os = "freebsd",
            target_os = "openbsd"
        )) {
            "OS keyring (Secret Service)".into()
        } else {
            "OS keyring".into()
        }
    }
}

/// Secrets as files in one directory: one file per secret, mode `0600`, directory `0700`,
/// written atomically; deleting overwrites the file with zeros first. The fallback when no OS
/// keyring is reachable. Keep the directory OUTSIDE the vault directory, or a copy of the
/// vault carries its own epoch keys and erasure no longer works.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir` (created with mode `0700` on first write).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The file holding `name`: characters other than `[A-Za-z0-9_-]` are escaped as `%XX`,
    /// so names with `/` stay inside the directory.
    fn path(&self, name: &str) -> Result<PathBuf, StoreError> {
        check_name(name)?;
        let mut file = String::with_capacity(name.len() + 8);
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                file.push(char::from(b));
            } else {
                file.push_str(&format!("%{b:02X}"));
            }
        }
        file.push_str(".secret");
        Ok(self.dir.join(file))
    }

    fn io(&self, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    }
}

impl SecretStore for FileStore {
    fn put(&self, name: &str, secret: &[u8]) -> Result<(), StoreError> {
        let path = self.path(name)?;
        atomic::create_private_dir(&self.dir).map_err(self.io(&self.dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
                .map_err(self.io(&self.dir))?;
        }
        atomic::write(&path, secret).map_err(self.io(&path))
    }

    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        let path = self.path(name)?;
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.io(&path)(e)),
        };
        // Reserve up front so the buffer never reallocates (which would leave unwiped copies).
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_SECRET_LEN as usize + 1));
        file.take(MAX_SECRET_LEN + 1)
            .read_to_end(&mut buf)
            .map_err(self.io(&path))?;
        if buf.len() as u64 > MAX_SECRET_LEN {
            return Err(StoreError::Malformed {
                name: name.to_owned(),
            });
        }
        Ok(Some(buf))
    }

    fn delete(&self, name: &str) -> Result<(), StoreError> {
        let path = self.path(name)?;
        atomic::wipe_file(&path).map_err(self.io(&path))
    }

    fn describe(&self) -> String {
        format!("file store at {}", self.dir.display())
    }
}

/// The store for the vault at `vault_dir`: the OS keyring if [`OsKeyring::probe`] succeeds,
/// else a [`FileStore`] in the sibling directory `<vault_dir>.device` (deliberately outside
/// the vault directory, so copying the vault does not copy its epoch keys).
pub fn default_store(vault_dir: &Path) -> Box<dyn SecretStore> {
    let keyring = OsKeyring::new();
    if keyring.probe().is_ok() {
        return Box::new(keyring);
    }
    Box::new(FileStore::new(sibling(vault_dir, ".device")))
}

/// `<dir><suffix>` next to `dir` (so `/a/vault` → `/a/vault.device`).
pub(crate) fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "vault".into());
    name.push(suffix);
    atomic::parent_of(dir).join(name)
}
