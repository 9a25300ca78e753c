//! Epoch rotation and crypto-erasure: old key indexes become unreadable, even from a copy of
//! the vault directory opened with the right passphrase.

use carekey_vault::{SecretStore, Vault, VaultError};

use crate::lifecycle::hex;
use crate::{copy_tree, snapshot, Fixture};

#[test]
fn a_stale_copy_cannot_open_the_old_key_index_after_rotation() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault
        .save(b"state v1", b"secrets of records A and B")
        .unwrap();

    let copy = fx.root.join("stale-copy");
    copy_tree(&fx.dir, &copy);

    vault
        .rotate_epoch(b"state v2", b"secrets of record B")
        .unwrap();
    assert_eq!(vault.epoch(), 2);
    assert_eq!(
        vault.key_index().unwrap().as_slice(),
        b"secrets of record B"
    );
    let id = vault.id();
    drop(vault);
    assert_eq!(fx.store_entries(), vec![format!("{}/epoch-2", hex(id))]);

    // The copy still opens with the passphrase and the same store: the state is readable...
    let stale = Vault::unlock(&copy, &crate::passphrase(), fx.store()).unwrap();
    assert_eq!(stale.epoch(), 1);
    assert_eq!(stale.state().unwrap().as_slice(), b"state v1");
    // ...but its key index is gone for good.
    let err = stale.key_index().unwrap_err();
    match &err {
        VaultError::DeviceSecretMissing {
            epoch,
            newer_epoch_present,
            ..
        } => {
            assert_eq!(*epoch, 1);
            assert!(newer_epoch_present);
        }
        other => panic!("{other:?}"),
    }
    let message = err.to_string();
    assert!(message.contains("missing from file store at"), "{message}");
    assert!(message.contains("restore from your backup"), "{message}");
    assert!(message.contains("older copy"), "{message}");

    // A stale copy must not overwrite the live vault's key by rotating or saving.
    let mut stale = stale;
    assert!(matches!(
        stale.rotate_epoch(b"x", b"y").unwrap_err(),
        VaultError::DeviceSecretMissing { .. }
    ));
    assert!(matches!(
        stale.save(b"x", b"y").unwrap_err(),
        VaultError::DeviceSecretMissing { .. }
    ));
    drop(stale);

    // The live vault is unharmed.
    let vault = fx.unlock().unwrap();
    assert_eq!(
        vault.key_index().unwrap().as_slice(),
        b"secrets of record B"
    );
}

#[test]
fn rotation_keeps_only_the_current_epoch_key() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    let id = vault.id();
    for n in 2..=5u64 {
        vault
            .rotate_epoch(
                format!("state {n}").as_bytes(),
                format!("index {n}").as_bytes(),
            )
            .unwrap();
        assert_eq!(vault.epoch(), n);
        assert_eq!(fx.store_entries(), vec![format!("{}/epoch-{n}", hex(id))]);
    }
    drop(vault);
    let vault = fx.unlock().unwrap();
    assert_eq!(vault.epoch(), 5);
    assert_eq!(vault.state().unwrap().as_slice(), b"state 5");
    assert_eq!(vault.key_index().unwrap().as_slice(), b"index 5");
}

#[test]
fn unlock_deletes_a_stale_epoch_key_left_by_a_crash_but_never_the_current_one() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    let id = vault.id();
    vault.rotate_epoch(b"s", b"i").unwrap();
    drop(vault);
    // Simulate a crash after the state write but before the old key's deletion.
    let store = fx.store();
    store
        .put(&format!("{}/epoch-1", hex(id)), &[1u8; 32])
        .unwrap();
    assert_eq!(fx.store_entries().len(), 2);

    let vault = fx.unlock().unwrap();
    assert_eq!(fx.store_entries(), vec![format!("{}/epoch-2", hex(id))]);
    assert_eq!(vault.key_index().unwrap().as_slice(), b"i");
}

#[test]
fn a_missing_epoch_key_is_reported_clearly() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"s", b"i").unwrap();
    let id = vault.id();
    drop(vault);
    fx.store().delete(&format!("{}/epoch-1", hex(id))).unwrap();
    let vault = fx.unlock().unwrap();
    assert_eq!(vault.state().unwrap().as_slice(), b"s");
    let err = vault.key_index().unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::DeviceSecretMissing {
                newer_epoch_present: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("older copy"));
}

#[test]
fn a_failed_unlock_writes_nothing_to_the_store() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    let id = vault.id();
    vault.rotate_epoch(b"s", b"i").unwrap();
    drop(vault);
    fx.store()
        .put(&format!("{}/epoch-1", hex(id)), &[1u8; 32])
        .unwrap();
    let before = snapshot(&fx.store_dir);
    let err = Vault::unlock(
        &fx.dir,
        &carekey_vault::Passphrase::new("nope".into()),
        fx.store(),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase));
    assert_eq!(snapshot(&fx.store_dir), before);
}

#[test]
fn destroy_removes_files_and_store_entries() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"s", b"i").unwrap();
    vault.enable_device_unlock().unwrap();
    std::fs::create_dir_all(vault.records_dir().join("2024")).unwrap();
    std::fs::write(vault.records_dir().join("2024/r1.age"), vec![5u8; 100_000]).unwrap();
    vault.rotate_epoch(b"s", b"i").unwrap();
    assert_eq!(fx.store_entries().len(), 2);

    vault.destroy().unwrap();
    assert!(!fx.dir.exists());
    assert!(fx.store_entries().is_empty(), "{:?}", fx.store_entries());
    assert!(!Vault::exists(&fx.dir));
    assert!(matches!(
        fx.unlock().unwrap_err(),
        VaultError::NotFound { .. }
    ));
}
