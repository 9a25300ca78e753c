//! Backups: round trip into a fresh directory and store, and every kind of damage.

use std::path::Path;

use carekey_crypto::AgreementSecret;
use carekey_vault::{KdfParams, Passphrase, Vault, VaultError};

use crate::{passphrase, snapshot, Fixture};

/// A vault with state, key index and record files (one spanning several 64 KiB chunks, one
/// in a sub-folder, one empty), plus a temp file that must not be backed up.
fn vault_with_records(fx: &Fixture) -> Vault {
    let mut vault = fx.create();
    vault.rotate_epoch(b"state document", b"key index").unwrap();
    let records = vault.records_dir();
    std::fs::write(records.join("a.age"), b"record a").unwrap();
    let big: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(records.join("big.age"), big).unwrap();
    std::fs::create_dir(records.join("2024")).unwrap();
    std::fs::write(records.join("2024/b.age"), b"record b").unwrap();
    std::fs::write(records.join("empty.age"), b"").unwrap();
    std::fs::write(records.join(".c.age.carekey-tmp.0011223344556677"), b"junk").unwrap();
    vault
}

#[test]
fn backup_restores_into_a_fresh_dir_and_store_byte_identical() {
    let fx = Fixture::new();
    let vault = vault_with_records(&fx);
    let recovery = AgreementSecret::generate();
    let backup = fx.root.join("wallet.ckbackup");
    vault.write_backup(&backup, &recovery.public()).unwrap();
    assert!(backup.is_file());

    let other = Fixture::new();
    let new_pass = Passphrase::new("restored passphrase".into());
    let restored = Vault::restore_backup(
        &backup,
        &recovery,
        &other.dir,
        &new_pass,
        KdfParams::TEST,
        other.store(),
    )
    .unwrap();
    assert_eq!(restored.id(), vault.id());
    assert_eq!(restored.epoch(), 2);
    assert_eq!(restored.state().unwrap().as_slice(), b"state document");
    assert_eq!(restored.key_index().unwrap().as_slice(), b"key index");
    assert!(!restored.device_unlock_enabled());
    assert_eq!(
        std::fs::read(other.dir.join("state.ck")).unwrap(),
        std::fs::read(fx.dir.join("state.ck")).unwrap()
    );
    let mut expected = records_of(&vault.records_dir());
    expected.retain(|name, _| !name.contains("carekey-tmp"));
    assert_eq!(records_of(&restored.records_dir()), expected);
    assert_eq!(expected.len(), 5, "{:?}", expected.keys()); // 4 files + the sub-folder
    drop(restored);

    // The restored vault opens with the new passphrase, not the old one.
    let again = Vault::unlock(&other.dir, &new_pass, other.store()).unwrap();
    assert_eq!(again.key_index().unwrap().as_slice(), b"key index");
    assert!(matches!(
        Vault::unlock(&other.dir, &passphrase(), other.store()).unwrap_err(),
        VaultError::WrongPassphrase
    ));
}

fn records_of(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .map(|(path, bytes)| {
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (name, bytes)
        })
        .collect()
}

/// Restores `bytes` as a backup into a fresh place; returns the error.
fn restore_err(fx: &Fixture, bytes: &[u8], recovery: &AgreementSecret) -> VaultError {
    let path = fx.root.join("damaged.ckbackup");
    std::fs::write(&path, bytes).unwrap();
    let dir = fx.root.join("restored");
    let err = Vault::restore_backup(
        &path,
        recovery,
        &dir,
        &passphrase(),
        KdfParams::TEST,
        fx.store(),
    )
    .unwrap_err();
    assert!(!dir.exists(), "a failed restore left {dir:?}");
    err
}

/// The recipient public key field: bytes 35..67 (after magic, version and vault id).
const RECIPIENT: std::ops::Range<usize> = 35..67;

#[test]
fn every_flipped_or_truncated_backup_byte_is_detected() {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"s", b"i").unwrap();
    std::fs::write(vault.records_dir().join("r.age"), b"record").unwrap();
    let recovery = AgreementSecret::generate();
    let backup = fx.root.join("b.ckbackup");
    vault.write_backup(&backup, &recovery.public()).unwrap();
    let original = std::fs::read(&backup).unwrap();

    let target = Fixture::new();
    for i in 0..original.len() {
        let mut bytes = original.clone();
        bytes[i] ^= 0x01;
        let err = restore_err(&target, &bytes, &recovery);
        if RECIPIENT.contains(&i) {
            assert!(
                matches!(err, VaultError::WrongRecoverySecret),
                "byte {i}: {err:?}"
            );
        } else {
            assert!(
                matches!(err, VaultError::BackupCorrupt { .. }),
                "byte {i}: {err:?}"
            );
        }
    }
    for len in 0..original.len() {
        let err = restore_err(&target, &original[..len], &recovery);
        assert!(
            matches!(err, VaultError::BackupCorrupt { .. }),
            "len {len}: {err:?}"
        );
    }
    let mut longer = original.clone();
    longer.push(0);
    let err = restore_err(&target, &longer, &recovery);
    assert!(matches!(err, VaultError::BackupCorrupt { .. }), "{err:?}");
    // Nothing was ever put into the target's store.
    assert!(target.store_entries().is_empty());
}

#[test]
fn dropping_or_swapping_chunks_of_a_large_backup_is_detected() {
    let fx = Fixture::new();
    let vault = vault_with_records(&fx);
    let recovery = AgreementSecret::generate();
    let backup = fx.root.join("b.ckbackup");
    vault.write_backup(&backup, &recovery.public()).unwrap();
    let original = std::fs::read(&backup).unwrap();

    // Split into header, key block and chunks.
    let key_block_len = u16::from_be_bytes([original[99], original[100]]) as usize;
    let mut pos = 101 + key_block_len;
    let head = original[..pos].to_vec();
    let mut chunks = Vec::new();
    while pos < original.len() {
        let len = u32::from_be_bytes(original[pos + 1..pos + 5].try_into().unwrap()) as usize;
        chunks.push(original[pos..pos + 5 + len].to_vec());
        pos += 5 + len;
    }
    assert!(chunks.len() >= 4, "{}", chunks.len());
    let join = |chunks: &[Vec<u8>]| {
        let mut out = head.clone();
        for c in chunks {
            out.extend_from_slice(c);
        }
        out
    };
    let target = Fixture::new();
    let mut swapped = chunks.clone();
    swapped.swap(0, 1);
    let mut dropped = chunks.clone();
    dropped.remove(1);
    let without_last = chunks[..chunks.len() - 1].to_vec();
    for bytes in [join(&swapped), join(&dropped), join(&without_last)] {
        let err = restore_err(&target, &bytes, &recovery);
        assert!(matches!(err, VaultError::BackupCorrupt { .. }), "{err:?}");
    }
    // Sanity: the unmodified split restores.
    let path = target.root.join("ok.ckbackup");
    std::fs::write(&path, join(&chunks)).unwrap();
    Vault::restore_backup(
        &path,
        &recovery,
        &target.dir,
        &passphrase(),
        KdfParams::TEST,
        target.store(),
    )
    .unwrap();
}

#[test]
fn wrong_recovery_secret_is_refused() {
    let fx = Fixture::new();
    let vault = fx.create();
    let recovery = AgreementSecret::generate();
    let backup = fx.root.join("b.ckbackup");
    vault.write_backup(&backup, &recovery.public()).unwrap();
    let bytes = std::fs::read(&backup).unwrap();
    let err = restore_err(&Fixture::new(), &bytes, &AgreementSecret::generate());
    assert!(matches!(err, VaultError::WrongRecoverySecret), "{err:?}");
}

#[test]
fn restore_never_touches_a_non_empty_dir() {
    let fx = Fixture::new();
    let vault = fx.create();
    let recovery = AgreementSecret::generate();
    let backup = fx.root.join("b.ckbackup");
    vault.write_backup(&backup, &recovery.public()).unwrap();
    let before = snapshot(&fx.dir);
    // Restoring over the live vault itself is refused.
    let err = Vault::restore_backup(
        &backup,
        &recovery,
        &fx.dir,
        &passphrase(),
        KdfParams::TEST,
        fx.store(),
    )
    .unwrap_err();
    assert!(matches!(err, VaultError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(snapshot(&fx.dir), before);
}

#[test]
fn a_failed_backup_write_leaves_no_file() {
    let fx = Fixture::new();
    let vault = fx.create();
    let out = fx.root.join("no-such-dir").join("b.ckbackup");
    let err = vault
        .write_backup(&out, &AgreementSecret::generate().public())
        .unwrap_err();
    assert!(matches!(err, VaultError::Io { .. }), "{err:?}");
    assert!(!out.exists());
}

#[test]
fn a_backup_sealed_with_a_key_share_needs_exactly_that_share() {
    let fx = Fixture::new();
    let vault = vault_with_records(&fx);
    let recovery = AgreementSecret::generate();
    let share = carekey_vault::BackupShare {
        id: [3; 16],
        secret: zeroize::Zeroizing::new([42; 32]),
        nodes: vec![
            "http://127.0.0.1:7000".into(),
            "https://node.example".into(),
        ],
    };
    assert!(
        !format!("{share:?}").contains("42"),
        "the share is redacted"
    );
    let backup = fx.root.join("shared.ckbackup");
    vault
        .write_backup_with(&backup, &recovery.public(), Some(&share))
        .unwrap();
    let needed = Vault::backup_share_needed(&backup).unwrap().unwrap();
    assert_eq!(needed.id, [3; 16]);
    assert_eq!(needed.nodes, share.nodes);

    let restore = |secrets: &[[u8; 32]]| {
        let other = Fixture::new();
        Vault::restore_backup_with(
            &backup,
            &recovery,
            secrets,
            &other.dir,
            &Passphrase::new("restored passphrase".into()),
            KdfParams::TEST,
            other.store(),
        )
        .map(|v| v.key_index().unwrap().to_vec())
    };
    assert!(matches!(restore(&[]), Err(VaultError::BackupShareMissing)));
    assert!(matches!(
        restore(&[[41; 32]]),
        Err(VaultError::BackupCorrupt { .. })
    ));
    assert_eq!(restore(&[[42; 32]]).unwrap(), b"key index");
    // A wrong share offered by one node does not hide the right one from another.
    assert_eq!(restore(&[[41; 32], [42; 32]]).unwrap(), b"key index");

    // A backup without a share needs none, and says so.
    let plain = fx.root.join("plain.ckbackup");
    vault.write_backup(&plain, &recovery.public()).unwrap();
    assert_eq!(Vault::backup_share_needed(&plain).unwrap(), None);
}
