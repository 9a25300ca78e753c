//! Atomic writes and the file store.

use std::io::Write;

use carekey_vault::atomic::{self, AtomicFile};
use carekey_vault::{default_store, FileStore, SecretStore, StoreError};

fn names_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn atomic_file_dropped_without_commit_leaves_no_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.ck");
    let mut file = AtomicFile::create(&path).unwrap();
    file.write_all(b"half written").unwrap();
    assert_eq!(names_in(tmp.path()).len(), 1); // the temp file
    drop(file);
    assert!(names_in(tmp.path()).is_empty());

    // Over an existing file: the old content survives.
    atomic::write(&path, b"old").unwrap();
    let mut file = AtomicFile::create(&path).unwrap();
    file.write_all(b"new").unwrap();
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(names_in(tmp.path()), vec!["f.ck".to_owned()]);
}

#[test]
fn atomic_write_commit_and_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("f.ck");
    let mut file = AtomicFile::create(&path).unwrap();
    file.write_all(b"one").unwrap();
    file.commit().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"one");
    atomic::write(&path, b"two").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"two");
    assert_eq!(names_in(tmp.path()), vec!["f.ck".to_owned()]);
    atomic::remove(&path).unwrap();
    assert!(!path.exists());
    atomic::remove(&path).unwrap(); // missing is fine
}

#[cfg(unix)]
#[test]
fn file_store_files_are_0600_in_a_0700_dir() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = FileStore::new(dir.clone());
    store.put("abc/epoch-1", &[9u8; 32]).unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir), 0o700);
    let files = names_in(&dir);
    assert_eq!(files, vec!["abc%2Fepoch-1.secret".to_owned()]);
    assert_eq!(mode(&dir.join(&files[0])), 0o600);
}

#[test]
fn file_store_put_get_delete() {
    let tmp = tempfile::tempdir().unwrap();
    let store = FileStore::new(tmp.path().join("store"));
    assert!(store.get("x/unlock").unwrap().is_none());
    store.delete("x/unlock").unwrap(); // deleting a missing entry is Ok
    store.put("x/unlock", b"first").unwrap();
    store.put("x/unlock", b"second").unwrap();
    assert_eq!(
        store.get("x/unlock").unwrap().unwrap().as_slice(),
        b"second"
    );
    // Names that look like paths stay inside the directory.
    store.put("../escape", b"z").unwrap();
    assert!(!tmp.path().join("escape").exists());
    assert_eq!(store.get("../escape").unwrap().unwrap().as_slice(), b"z");
    store.delete("x/unlock").unwrap();
    assert!(store.get("x/unlock").unwrap().is_none());
    assert!(matches!(
        store.put("", b"z").unwrap_err(),
        StoreError::InvalidName { .. }
    ));
    assert!(store.describe().starts_with("file store at "));
}

#[test]
fn default_store_falls_back_to_a_sibling_file_store() {
    // Whatever the machine offers, the store is usable; when it is a file store it sits
    // beside the vault directory, not inside it.
    let tmp = tempfile::tempdir().unwrap();
    let vault_dir = tmp.path().join("vault");
    let store = default_store(&vault_dir);
    let description = store.describe();
    if description.starts_with("file store at ") {
        assert_eq!(
            description,
            format!(
                "file store at {}",
                tmp.path().join("vault.device").display()
            )
        );
    } else {
        assert!(description.starts_with("OS keyring"), "{description}");
    }
}
