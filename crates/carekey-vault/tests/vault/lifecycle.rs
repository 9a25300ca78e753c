//! Create, unlock, passphrase change and device unlock.

use carekey_vault::{FileStore, KdfParams, Passphrase, Vault, VaultError};

use crate::{passphrase, snapshot, Fixture};

#[test]
fn create_then_unlock_round_trips_state_and_key_index() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    assert!(Vault::exists(&fx.dir));
    assert_eq!(vault.epoch(), 1);
    assert!(same_kdf(&vault.kdf(), &KdfParams::TEST));
    assert_eq!(vault.dir(), fx.dir.as_path());
    assert!(vault.records_dir().is_dir());
    assert!(vault.state().unwrap().is_empty());
    assert!(vault.key_index().unwrap().is_empty());
    vault
        .save(b"the wallet document", b"record secrets")
        .unwrap();
    let id = vault.id();
    drop(vault);

    let vault = fx.unlock().unwrap();
    assert_eq!(vault.id(), id);
    assert_eq!(vault.state().unwrap().as_slice(), b"the wallet document");
    assert_eq!(vault.key_index().unwrap().as_slice(), b"record secrets");
    assert!(vault.store_description().contains("file store at"));
    // The epoch key lives in the store, not in the vault directory.
    assert_eq!(fx.store_entries(), vec![format!("{}/epoch-1", hex(id))]);
}

#[test]
fn debug_output_redacts_secrets() {
    let fx = Fixture::new();
    let vault = fx.create();
    let debug = format!("{vault:?}");
    assert!(debug.contains("[redacted]"), "{debug}");
    let pass = Passphrase::new("hunter2".into());
    assert!(!format!("{pass:?}").contains("hunter2"));
    assert_eq!(pass.expose(), "hunter2");
}

#[test]
fn unlock_at_default_kdf() {
    let fx = Fixture::new();
    let vault = Vault::create(&fx.dir, &passphrase(), KdfParams::DEFAULT, fx.store()).unwrap();
    assert!(same_kdf(&vault.kdf(), &KdfParams::DEFAULT));
    drop(vault);
    let vault = fx.unlock().unwrap();
    assert!(same_kdf(&vault.kdf(), &KdfParams::DEFAULT));
    assert!(vault.key_index().unwrap().is_empty());
}

#[test]
fn wrong_passphrase_fails_and_changes_nothing() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"state", b"index").unwrap();
    vault.rotate_epoch(b"state", b"index").unwrap();
    drop(vault);
    let before = (snapshot(&fx.dir), snapshot(&fx.store_dir));

    let err = Vault::unlock(&fx.dir, &Passphrase::new("wrong".into()), fx.store()).unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase), "{err:?}");
    assert!(err
        .to_string()
        .contains("wrong passphrase, or the vault header is damaged"));
    assert_eq!((snapshot(&fx.dir), snapshot(&fx.store_dir)), before);
}

#[test]
fn create_refuses_an_existing_vault_or_a_non_empty_dir() {
    let fx = Fixture::new();
    let vault = fx.create();
    drop(vault);
    let before = snapshot(&fx.root);
    let err = Vault::create(&fx.dir, &passphrase(), KdfParams::TEST, fx.store()).unwrap_err();
    assert!(matches!(err, VaultError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(snapshot(&fx.root), before);

    let other = fx.root.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), b"mine").unwrap();
    let err = Vault::create(&other, &passphrase(), KdfParams::TEST, fx.store()).unwrap_err();
    assert!(matches!(err, VaultError::NotEmpty { .. }), "{err:?}");
    assert_eq!(std::fs::read(other.join("notes.txt")).unwrap(), b"mine");

    // An existing empty directory is fine.
    let empty = fx.root.join("empty");
    std::fs::create_dir(&empty).unwrap();
    Vault::create(&empty, &passphrase(), KdfParams::TEST, fx.store()).unwrap();
    assert!(Vault::exists(&empty));
}

#[test]
fn create_rejects_invalid_kdf_parameters() {
    let fx = Fixture::new();
    let kdf = KdfParams {
        memory_kib: u32::MAX,
        iterations: 1,
        parallelism: 1,
    };
    let err = Vault::create(&fx.dir, &passphrase(), kdf, fx.store()).unwrap_err();
    assert!(matches!(err, VaultError::InvalidKdf { .. }), "{err:?}");
    assert!(!fx.dir.exists());
}

#[test]
fn unlock_of_a_missing_vault_is_not_found() {
    let fx = Fixture::new();
    let err = fx.unlock().unwrap_err();
    assert!(matches!(err, VaultError::NotFound { .. }), "{err:?}");
    assert!(!Vault::exists(&fx.dir));
}

#[test]
fn change_passphrase_keeps_state_and_rejects_the_old_one() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"state", b"index").unwrap();
    let old_header = std::fs::read(fx.dir.join("vault.ck")).unwrap();
    let new = Passphrase::new("a much better passphrase".into());
    let kdf = || KdfParams::MIN;
    vault.change_passphrase(&new, kdf()).unwrap();
    assert!(same_kdf(&vault.kdf(), &kdf()));
    drop(vault);
    let new_header = std::fs::read(fx.dir.join("vault.ck")).unwrap();
    // Fresh salt: the salt field (bytes 46..62) changed.
    assert_ne!(old_header[46..62], new_header[46..62]);

    let err = fx.unlock().unwrap_err();
    assert!(matches!(err, VaultError::WrongPassphrase), "{err:?}");
    let vault = Vault::unlock(&fx.dir, &new, fx.store()).unwrap();
    assert!(same_kdf(&vault.kdf(), &kdf()));
    assert_eq!(vault.state().unwrap().as_slice(), b"state");
    assert_eq!(vault.key_index().unwrap().as_slice(), b"index");
}

#[test]
fn device_unlock_enable_unlock_disable() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"state", b"index").unwrap();
    assert!(!vault.device_unlock_enabled());
    let id = vault.id();
    drop(vault);
    let err = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap_err();
    assert!(matches!(err, VaultError::DeviceUnlockNotEnabled), "{err:?}");

    let mut vault = fx.unlock().unwrap();
    vault.enable_device_unlock().unwrap();
    assert!(vault.device_unlock_enabled());
    assert!(fx.store_entries().contains(&format!("{}/unlock", hex(id))));
    drop(vault);

    let mut vault = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap();
    assert!(vault.device_unlock_enabled());
    assert_eq!(vault.state().unwrap().as_slice(), b"state");
    assert_eq!(vault.key_index().unwrap().as_slice(), b"index");

    // A passphrase change keeps device unlock working.
    vault
        .change_passphrase(&Passphrase::new("new".into()), KdfParams::TEST)
        .unwrap();
    drop(vault);
    let mut vault = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap();
    vault.disable_device_unlock().unwrap();
    assert!(!vault.device_unlock_enabled());
    assert!(!fx.store_entries().contains(&format!("{}/unlock", hex(id))));
    drop(vault);
    let err = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap_err();
    assert!(matches!(err, VaultError::DeviceUnlockNotEnabled), "{err:?}");
}

#[test]
fn device_unlock_reports_a_missing_or_wrong_secret() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.enable_device_unlock().unwrap();
    let name = format!("{}/unlock", hex(vault.id()));
    drop(vault);

    let store = FileStore::new(fx.store_dir.clone());
    carekey_vault::SecretStore::put(&store, &name, &[7u8; 32]).unwrap();
    let err = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap_err();
    assert!(
        matches!(err, VaultError::DeviceUnlockFailed { .. }),
        "{err:?}"
    );

    carekey_vault::SecretStore::delete(&store, &name).unwrap();
    let err = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap_err();
    assert!(
        matches!(err, VaultError::DeviceUnlockSecretMissing { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("file store at"), "{err}");
    // The passphrase still works.
    fx.unlock().unwrap();
}

pub(crate) fn hex(id: [u8; 16]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn same_kdf(a: &KdfParams, b: &KdfParams) -> bool {
    (a.memory_kib, a.iterations, a.parallelism) == (b.memory_kib, b.iterations, b.parallelism)
}

/// Issue 8, hole 10: a vault whose key derivation is below the minimum opened before, whatever
/// its parameters. Only the (loud) test profile may be weaker than the floor.
#[test]
fn issue8_a_vault_below_the_kdf_minimum_does_not_open() {
    let fx = Fixture::new();
    let weak = KdfParams {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    };
    drop(Vault::create(&fx.dir, &passphrase(), weak, fx.store()).unwrap());
    let err = fx.unlock().unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::WeakKdf {
                memory_kib: 1024,
                iterations: 1
            }
        ),
        "{err}"
    );

    let fx = Fixture::new();
    drop(Vault::create(&fx.dir, &passphrase(), KdfParams::MIN, fx.store()).unwrap());
    assert!(fx.unlock().is_ok(), "the minimum itself opens");
    assert!(KdfParams::DEFAULT.meets_minimum());
    assert!(!KdfParams::TEST.meets_minimum() && KdfParams::TEST.is_test());
}
