//! `RecordStore`: the record file layout, atomic creation, durable removal, orphans — with
//! hostile names in the folder and without the folder.

use std::io::{Read, Write};
use std::path::PathBuf;

use carekey_vault::VaultError;

use crate::Fixture;

const A: [u8; 16] = [0xab; 16];
const B: [u8; 16] = [0x01; 16];

fn write_version(fx: &Fixture, id: &[u8; 16], version: u32, bytes: &[u8]) -> PathBuf {
    let vault = fx.unlock().unwrap();
    let mut file = vault.records().create(id, version).unwrap();
    file.write_all(bytes).unwrap();
    let path = file.path().to_path_buf();
    file.commit().unwrap();
    path
}

fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_version_lives_at_id_dot_version_dot_age_in_records() {
    let fx = Fixture::new();
    let vault = fx.create();
    let records = vault.records();
    assert_eq!(records.dir(), vault.records_dir());
    assert_eq!(records.dir(), fx.dir.join("records"));
    assert_eq!(
        records.path(&A, 3),
        fx.dir
            .join("records")
            .join("abababababababababababababababab.3.age")
    );
    assert_eq!(
        records.path(&B, u32::MAX),
        fx.dir
            .join("records")
            .join("01010101010101010101010101010101.4294967295.age")
    );
}

#[test]
fn a_version_appears_only_when_committed_and_reads_back() {
    let fx = Fixture::new();
    let vault = fx.create();
    let records = vault.records();

    let mut file = records.create(&A, 1).unwrap();
    file.write_all(b"first").unwrap();
    assert!(!records.path(&A, 1).exists());
    drop(file);
    assert!(
        names(records.dir()).is_empty(),
        "an uncommitted write left a file"
    );

    let mut file = records.create(&A, 1).unwrap();
    file.write_all(b"ciphertext").unwrap();
    assert_eq!(file.path(), records.path(&A, 1));
    file.commit().unwrap();
    let mut read = Vec::new();
    records.open(&A, 1).unwrap().read_to_end(&mut read).unwrap();
    assert_eq!(read, b"ciphertext");
    assert_eq!(
        names(records.dir()),
        ["abababababababababababababababab.1.age"]
    );
}

#[test]
fn opening_a_missing_version_names_the_file() {
    let fx = Fixture::new();
    let vault = fx.create();
    match vault.records().open(&A, 2) {
        Err(VaultError::RecordFileMissing { path }) => {
            assert_eq!(path, vault.records().path(&A, 2));
        }
        other => panic!("expected RecordFileMissing, got {other:?}"),
    }
}

#[test]
fn removing_a_version_leaves_the_others_and_a_missing_one_is_fine() {
    let fx = Fixture::new();
    drop(fx.create());
    write_version(&fx, &A, 1, b"one");
    write_version(&fx, &A, 2, b"two");
    let vault = fx.unlock().unwrap();
    let records = vault.records();
    records.remove(&A, 1).unwrap();
    assert!(!records.path(&A, 1).exists());
    assert!(records.path(&A, 2).exists());
    records.remove(&A, 1).unwrap();
    records.remove(&B, 7).unwrap();
}

#[test]
fn orphans_are_the_files_no_live_version_names() {
    let fx = Fixture::new();
    drop(fx.create());
    let live_a = write_version(&fx, &A, 2, b"a2");
    let old_a = write_version(&fx, &A, 1, b"a1");
    let live_b = write_version(&fx, &B, 5, b"b5");
    let vault = fx.unlock().unwrap();
    let records = vault.records();
    let dir = records.dir().to_path_buf();

    // Names a careless parser would take for a live version, and leftovers of a crash.
    let lookalikes = [
        "ABABABABABABABABABABABABABABABAB.2.age",
        "abababababababababababababababab.02.age",
        "abababababababababababababababab.2.age.bak",
        "abababababababababababababababab.2",
        ".abababababababababababababababab.2.age.carekey-tmp.0011223344556677",
        "line\nbreak.age",
        " abababababababababababababababab.2.age",
    ];
    for name in lookalikes {
        std::fs::write(dir.join(name), b"x").unwrap();
    }
    let mut expected: Vec<PathBuf> = lookalikes.iter().map(|n| dir.join(n)).collect();
    expected.push(old_a.clone());

    #[cfg(unix)]
    let outside = {
        use std::os::unix::ffi::OsStrExt;
        // A name that is not UTF-8, and a link out of the vault.
        let raw = dir.join(std::ffi::OsStr::from_bytes(b"\xff\xfe.age"));
        std::fs::write(&raw, b"x").unwrap();
        expected.push(raw);
        let outside = fx.root.join("outside.txt");
        std::fs::write(&outside, b"not the vault's").unwrap();
        let link = dir.join("link.age");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        expected.push(link);
        outside
    };
    // A folder is not a record file: neither listed nor touched.
    std::fs::create_dir(dir.join("2024")).unwrap();
    std::fs::write(dir.join("2024").join("kept.age"), b"x").unwrap();
    expected.sort();

    let live = [(&A, 2), (&B, 5)];
    assert_eq!(records.orphans(live).unwrap(), expected);

    let removed = records.remove_orphans(live).unwrap();
    assert_eq!(removed, expected);
    assert!(live_a.exists() && live_b.exists());
    assert!(!old_a.exists());
    assert!(dir.join("2024").join("kept.age").exists());
    #[cfg(unix)]
    assert_eq!(std::fs::read(&outside).unwrap(), b"not the vault's");
    assert!(records.orphans(live).unwrap().is_empty());
    assert_eq!(
        names(&dir),
        [
            "01010101010101010101010101010101.5.age",
            "2024",
            "abababababababababababababababab.2.age"
        ]
    );

    // With nothing live, every file is an orphan.
    assert_eq!(records.orphans([]).unwrap(), vec![live_b, live_a]);
}

#[test]
fn a_missing_records_folder_has_no_orphans_and_clear_errors() {
    let fx = Fixture::new();
    let vault = fx.create();
    let records = vault.records();
    std::fs::remove_dir(records.dir()).unwrap();

    assert!(records.orphans([(&A, 1)]).unwrap().is_empty());
    assert!(records.remove_orphans([]).unwrap().is_empty());
    records.remove(&A, 1).unwrap();
    assert!(matches!(
        records.open(&A, 1),
        Err(VaultError::RecordFileMissing { .. })
    ));
    match records.create(&A, 1) {
        Err(VaultError::Io { path, .. }) => assert_eq!(path, records.path(&A, 1)),
        other => panic!("expected an I/O error naming the file, got {other:?}"),
    }
}

#[test]
fn a_restored_backup_opens_the_versions_at_the_same_paths() {
    let fx = Fixture::new();
    drop(fx.create());
    write_version(&fx, &A, 1, b"backed up");
    let vault = fx.unlock().unwrap();
    let recovery = carekey_crypto::AgreementSecret::generate();
    let backup = fx.root.join("wallet.ckbackup");
    vault.write_backup(&backup, &recovery.public()).unwrap();

    let other = Fixture::new();
    let restored = carekey_vault::Vault::restore_backup(
        &backup,
        &recovery,
        &other.dir,
        &crate::passphrase(),
        carekey_vault::KdfParams::TEST,
        other.store(),
    )
    .unwrap();
    let mut read = Vec::new();
    restored
        .records()
        .open(&A, 1)
        .unwrap()
        .read_to_end(&mut read)
        .unwrap();
    assert_eq!(read, b"backed up");
    assert!(restored.records().orphans([(&A, 1)]).unwrap().is_empty());
}
