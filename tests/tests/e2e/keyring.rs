//! The real OS keyring (Secret Service via gnome-keyring), driven through the CLI.
//!
//! Runs against the real Secret Service that `scripts/with-keyring.sh` starts (it sets
//! CAREKEY_SECRET_SERVICE=1). Without one: fails under CI=true or CAREKEY_SECRET_SERVICE=1,
//! otherwise prints SKIPPED (a developer running `cargo test` outside the script).

use std::process::Command;

use crate::cli::Actor;

fn secret_service_required() -> bool {
    let reachable = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
        && Command::new("secret-tool")
            .args(["search", "--all", "service", "carekey-probe"])
            .output()
            .is_ok();
    let demanded = std::env::var("CAREKEY_SECRET_SERVICE").as_deref() == Ok("1")
        || std::env::var("CI").as_deref() == Ok("true");
    if !reachable && demanded {
        panic!("no Secret Service reachable, but CI=true or CAREKEY_SECRET_SERVICE=1: run under scripts/with-keyring.sh");
    }
    if !reachable {
        println!("SKIPPED: no Secret Service (run under scripts/with-keyring.sh)");
    }
    reachable
}

/// Number of carekey entries the real keyring holds (via the reference client, not our code).
fn keyring_entries() -> usize {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", "carekey"])
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    text.lines().filter(|l| l.starts_with("[/")).count()
}

#[test]
fn keyring_unlock_and_erasure_use_the_real_secret_service() {
    if !secret_service_required() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut patient = Actor::new(tmp.path(), "patient");
    patient.extra_env = vec![("CAREKEY_SECRET_STORE".into(), "keyring".into())];
    let before = keyring_entries();
    let out = patient.run(&["init", "--keyring"]);
    assert!(out.contains("OS keyring"), "{out}");
    assert!(
        keyring_entries() >= before + 2,
        "the epoch key and the unlock secret live in the real keyring"
    );
    std::fs::write(tmp.path().join("x.bin"), b"keyring record").unwrap();
    patient.run(&["import", "x.bin"]);

    // No passphrase anywhere: the device secret in the keyring unlocks the wallet.
    let mut cmd = patient.command(&["records", "--json"]);
    cmd.env_remove("CAREKEY_PASSPHRASE");
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("x.bin"));

    patient.run(&["keyring", "disable"]);
    let mut cmd = patient.command(&["records"]);
    cmd.env_remove("CAREKEY_PASSPHRASE");
    assert!(
        !cmd.output().unwrap().status.success(),
        "without the unlock secret a passphrase is needed"
    );

    patient.run(&["erase", "--all", "--yes", "--receipt", "all.json"]);
    assert_eq!(
        keyring_entries(),
        before,
        "erase --all removes every keyring entry of the wallet"
    );
    assert!(!patient.vault.exists());
    patient.run(&["receipt", "verify", "all.json"]);
}
