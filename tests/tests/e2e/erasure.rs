//! Crypto-erasure's guarantee, attacked with everything a thief could copy beforehand, and
//! recovery on a fresh device.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::{record_id_named, records, Actor};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn age_opens(identities: &Path, file: &Path) -> bool {
    Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identities)
        .arg(file)
        .output()
        .expect("stock `age` must be installed")
        .status
        .success()
}

fn path_of(patient: &Actor, id: &str) -> PathBuf {
    let r = records(patient)
        .into_iter()
        .find(|r| r["id"] == id)
        .unwrap();
    PathBuf::from(r["path"].as_str().unwrap())
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

#[test]
fn an_erased_record_stays_unreadable_from_every_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let patient = Actor::new(root, "patient");
    let init = patient.run(&["init", "--kit-out", "kit"]);
    assert!(init.contains("RECOVERY KIT"));
    std::fs::write(root.join("r.bin"), b"the record to erase".repeat(1000)).unwrap();
    std::fs::write(root.join("s.bin"), b"the record to keep".repeat(1000)).unwrap();
    patient.run(&["import", "r.bin", "s.bin"]);
    let r = record_id_named(&patient, "r.bin");
    let s = record_id_named(&patient, "s.bin");
    patient.run(&["backup", "wallet.backup"]);

    // Everything a thief could copy before the erasure.
    let stolen = root.join("stolen");
    std::fs::create_dir_all(&stolen).unwrap();
    std::fs::copy(path_of(&patient, &r), stolen.join("r.age")).unwrap();
    copy_dir(&patient.vault, &stolen.join("vault"));
    std::fs::copy(root.join("wallet.backup"), stolen.join("wallet.backup")).unwrap();
    patient.run(&["keys", "export", "--age", "before.keys"]);
    assert!(
        age_opens(&root.join("before.keys"), &stolen.join("r.age")),
        "sanity: before erasure the copy opens"
    );

    let out = patient.run(&["erase", &r, "--yes", "--receipt", "receipt.json"]);
    assert!(
        out.contains("re-written"),
        "the known backup is re-written: {out}"
    );
    patient.run(&["receipt", "verify", "receipt.json"]);

    // 1. The current vault + passphrase + device secrets: no key opens the copy.
    patient.run(&["keys", "export", "--age", "after.keys"]);
    assert!(!age_opens(&root.join("after.keys"), &stolen.join("r.age")));
    assert!(
        age_opens(&root.join("after.keys"), &path_of(&patient, &s)),
        "the surviving record still opens"
    );
    let (code, _) = patient.fail(&["export", &r, "x.out"]);
    assert_eq!(code, 5);

    // 2. The stale copy of the vault directory + passphrase + today's device secrets.
    let mut thief = patient.clone();
    thief.vault = stolen.join("vault");
    copy_dir(
        &sibling(&patient.vault, ".device"),
        &sibling(&thief.vault, ".device"),
    );
    let (_, err) = thief.fail(&["keys", "export", "--age", "stale.keys"]);
    assert!(err.contains("device") || err.contains("secret"), "{err}");
    assert!(!root.join("stale.keys").exists());

    // 3. A recovery-kit restore on a fresh device, from the backup the wallet re-wrote.
    let words = std::fs::read_to_string(root.join("kit/recovery-kit.txt")).unwrap();
    let fresh_home = root.join("fresh-home");
    std::fs::create_dir_all(&fresh_home).unwrap();
    let mut restored = Actor::new(root, "restored");
    restored.extra_env = vec![
        ("HOME".into(), fresh_home.display().to_string()),
        (
            "XDG_DATA_HOME".into(),
            fresh_home.join("data").display().to_string(),
        ),
        ("CAREKEY_RECOVERY_WORDS".into(), words),
    ];
    restored.run(&[
        "recover",
        "--backup",
        root.join("wallet.backup").to_str().unwrap(),
    ]);
    restored.run(&["keys", "export", "--age", "restored.keys"]);
    assert!(!age_opens(
        &root.join("restored.keys"),
        &stolen.join("r.age")
    ));
    let (code, _) = restored.fail(&["export", &r, "x.out"]);
    assert_eq!(code, 5);
    restored.run(&["export", &s, "s.restored"]);
    assert_eq!(
        std::fs::read(root.join("s.restored")).unwrap(),
        std::fs::read(root.join("s.bin")).unwrap()
    );
}

#[test]
fn recovery_on_a_fresh_device_restores_records_and_active_grants() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let patient = Actor::new(root, "patient");
    patient.run(&["init", "--kit-out", "kit"]);
    std::fs::write(
        root.join("a.json"),
        r#"{"resourceType":"AllergyIntolerance","id":"x","code":{"text":"Latex"},"patient":{"reference":"Patient/p"}}"#,
    )
    .unwrap();
    std::fs::write(root.join("big.bin"), vec![42u8; 3 * 65_536 + 5]).unwrap();
    patient.run(&["import", "a.json", "big.bin"]);
    let doc = Actor::new(root, "doc");
    doc.run(&["provider", "init", "--name", "Dr. Restore"]);
    doc.run(&[
        "provider",
        "request",
        "--type",
        "AllergyIntolerance",
        "--purpose",
        "care",
        "--out",
        "req",
    ]);
    patient.run(&["share", "req/request.uri", "--yes", "--out", "g.bundle"]);
    patient.run(&["backup", "b.backup"]);
    let before = records(&patient);

    let words = std::fs::read_to_string(root.join("kit/recovery-kit.txt")).unwrap();
    let fresh_home = root.join("fresh-home");
    std::fs::create_dir_all(&fresh_home).unwrap();
    let mut restored = Actor::new(root, "restored");
    restored.passphrase = "a brand new passphrase".into();
    restored.extra_env = vec![
        ("HOME".into(), fresh_home.display().to_string()),
        (
            "XDG_DATA_HOME".into(),
            fresh_home.join("data").display().to_string(),
        ),
        ("CAREKEY_RECOVERY_WORDS".into(), words.clone()),
    ];
    restored.run(&["recover", "--backup", "b.backup"]);
    for r in &before {
        let id = r["id"].as_str().unwrap();
        restored.run(&["export", id, "out.bin"]);
        patient.run(&["export", id, "orig.bin"]);
        assert_eq!(
            std::fs::read(root.join("out.bin")).unwrap(),
            std::fs::read(root.join("orig.bin")).unwrap()
        );
    }
    let grants = restored.json(&["grants", "--json"]);
    assert_eq!(grants[0]["status"], "active");
    let g = grants[0]["id"].as_str().unwrap();
    restored.run(&["grant", "bundle", g, "--out", "again.bundle"]);
    doc.run(&["provider", "open", "again.bundle"]);

    // Wrong words: a clear error, nothing created.
    let mut wrong = restored.clone();
    wrong.vault = root.join("wrong");
    let mut bad = words.split_whitespace().collect::<Vec<_>>();
    bad.swap(0, 1);
    wrong.extra_env[2].1 = bad.join(" ");
    let (_, err) = wrong.fail(&["recover", "--backup", "b.backup"]);
    assert!(
        err.to_lowercase().contains("recovery") || err.contains("words"),
        "{err}"
    );
}

#[test]
fn erasing_a_grant_rekeys_its_records_and_erasing_all_leaves_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let patient = Actor::new(root, "patient");
    patient.run(&["init"]);
    std::fs::write(
        root.join("a.json"),
        r#"{"resourceType":"AllergyIntolerance","id":"x","code":{"text":"Latex"},"patient":{"reference":"Patient/p"}}"#,
    )
    .unwrap();
    patient.run(&["import", "a.json"]);
    patient.run(&["backup", "b.backup"]);
    let doc = Actor::new(root, "doc");
    doc.run(&["provider", "init", "--name", "Dr. Erase"]);
    doc.run(&[
        "provider",
        "request",
        "--type",
        "AllergyIntolerance",
        "--purpose",
        "care",
        "--out",
        "req",
    ]);
    patient.run(&["share", "req/request.uri", "--yes", "--out", "g.bundle"]);
    doc.run(&["provider", "open", "g.bundle", "--keys", "doc.keys"]);
    let grant = patient.json(&["grants", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let out = patient.run(&[
        "erase",
        "--grant",
        &grant,
        "--yes",
        "--receipt",
        "grant-receipt.json",
    ]);
    assert!(out.contains("erased grant"), "{out}");
    patient.run(&["receipt", "verify", "grant-receipt.json"]);
    assert_eq!(patient.json(&["grants", "--json"])[0]["status"], "erased");
    let path = records(&patient)[0]["path"].as_str().unwrap().to_owned();
    assert!(
        !age_opens(&root.join("doc.keys"), Path::new(&path)),
        "the provider's keys no longer open the record"
    );

    let out = patient.run(&["erase", "--all", "--yes", "--receipt", "all.json"]);
    assert!(out.contains("erased wallet"), "{out}");
    assert!(!patient.vault.exists(), "the vault directory is gone");
    assert!(!root.join("b.backup").exists(), "known backups are deleted");
    patient.run(&["receipt", "verify", "all.json"]);
    let (code, _) = patient.fail(&["records"]);
    assert_eq!(code, 5);
}

#[test]
fn changing_the_passphrase_rewraps_only() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut patient = Actor::new(root, "patient");
    patient.run(&["init"]);
    std::fs::write(root.join("r.bin"), b"keep me").unwrap();
    patient.run(&["import", "r.bin"]);
    let id = record_id_named(&patient, "r.bin");
    let state_before = std::fs::read(patient.vault.join("state.ck")).unwrap();
    std::fs::write(root.join("new.pass"), "a much better passphrase\n").unwrap();
    patient.run(&["passphrase", "--new-passphrase-file", "new.pass"]);
    assert_eq!(
        std::fs::read(patient.vault.join("state.ck")).unwrap(),
        state_before,
        "records and keys untouched"
    );
    let (code, _) = patient.fail(&["records"]);
    assert_eq!(code, 3, "the old passphrase no longer opens the wallet");
    patient.passphrase = "a much better passphrase".into();
    patient.run(&["export", &id, "r.out"]);
    assert_eq!(std::fs::read(root.join("r.out")).unwrap(), b"keep me");
}
