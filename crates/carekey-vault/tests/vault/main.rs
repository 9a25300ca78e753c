//! Integration tests of carekey-vault. Every test uses a `FileStore` in a temporary directory
//! (beside the vault, never inside it), except `os_keyring::os_keyring_holds_the_device_secret`,
//! which uses the real OS keyring. All use `KdfParams::TEST` except
//! `lifecycle::unlock_at_default_kdf`.
#![allow(clippy::unwrap_used)]

mod atomic_and_store;
mod backup;
mod damage;
mod erasure;
mod lifecycle;
mod os_keyring;
mod records;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use carekey_vault::{FileStore, KdfParams, Passphrase, SecretStore, Vault, VaultError};
use tempfile::TempDir;

/// A temporary place for one vault and its file store.
pub(crate) struct Fixture {
    _tmp: TempDir,
    pub(crate) root: PathBuf,
    pub(crate) dir: PathBuf,
    pub(crate) store_dir: PathBuf,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().to_path_buf();
        Self {
            dir: root.join("vault"),
            store_dir: root.join("vault.device"),
            root,
            _tmp: tmp,
        }
    }

    /// A handle on this fixture's file store (all handles see the same files).
    pub(crate) fn store(&self) -> Box<dyn SecretStore> {
        Box::new(FileStore::new(self.store_dir.clone()))
    }

    pub(crate) fn create(&self) -> Vault {
        Vault::create(&self.dir, &passphrase(), KdfParams::TEST, self.store()).unwrap()
    }

    pub(crate) fn unlock(&self) -> Result<Vault, VaultError> {
        Vault::unlock(&self.dir, &passphrase(), self.store())
    }

    /// The names of the secrets in the store (decoded from the file names).
    pub(crate) fn store_entries(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.store_dir) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .map(|n| n.trim_end_matches(".secret").replace("%2F", "/"))
            .collect();
        names.sort();
        names
    }
}

pub(crate) fn passphrase() -> Passphrase {
    Passphrase::new("correct horse battery staple".into())
}

/// Every file under `root` with its bytes, for byte-identical comparisons.
pub(crate) fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                out.insert(path.clone(), Vec::new());
                walk(&path, out);
            } else {
                out.insert(path.clone(), std::fs::read(&path).unwrap());
            }
        }
    }
    walk(root, &mut out);
    out
}

/// Copies a directory tree.
pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

mod roundtrip {
    //! Property: whatever bytes are saved come back after unlock.
    use proptest::prelude::*;

    use crate::Fixture;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn save_then_unlock_returns_the_same_bytes(
            state in proptest::collection::vec(any::<u8>(), 0..4096),
            key_index in proptest::collection::vec(any::<u8>(), 0..4096),
            rotate in any::<bool>(),
        ) {
            let fx = Fixture::new();
            let mut vault = fx.create();
            if rotate {
                vault.rotate_epoch(&state, &key_index).unwrap();
            } else {
                vault.save(&state, &key_index).unwrap();
            }
            drop(vault);
            let vault = fx.unlock().unwrap();
            prop_assert_eq!(&vault.state().unwrap()[..], &state[..]);
            prop_assert_eq!(&vault.key_index().unwrap()[..], &key_index[..]);
        }
    }
}
