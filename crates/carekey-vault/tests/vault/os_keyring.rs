//! The real OS keyring.

use std::process::Command;

use carekey_vault::{KdfParams, OsKeyring, Vault};

use crate::lifecycle::hex;
use crate::{passphrase, Fixture};

/// What `secret-tool search --all service carekey` shows (attributes go to stderr, secrets to
/// stdout, depending on the version: both are kept).
fn secret_tool_listing() -> String {
    let out = Command::new("secret-tool")
        .args(["search", "--all", "service", "carekey"])
        .output()
        .expect("secret-tool must be installed to check the real keyring");
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Uses the REAL OS keyring: `OsKeyring`, i.e. the Secret Service over D-Bus through the
/// keyring crate's sync-secret-service backend (gnome-keyring under
/// `scripts/with-keyring.sh`), not a `FileStore`. Checks with `secret-tool` that the real
/// store holds, then no longer holds, the vault's entries. Without a reachable Secret Service
/// it fails when `CAREKEY_SECRET_SERVICE=1` or `CI=true`, and is skipped (with a message)
/// otherwise.
#[test]
fn os_keyring_holds_the_device_secret() {
    let keyring = OsKeyring::new();
    if let Err(e) = keyring.probe() {
        let required = std::env::var("CAREKEY_SECRET_SERVICE").is_ok_and(|v| v == "1")
            || std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !required,
            "a Secret Service is required here (CAREKEY_SECRET_SERVICE=1 or CI=true) but is not reachable: {e}"
        );
        println!("SKIPPED: no Secret Service (run under scripts/with-keyring.sh)");
        return;
    }
    // Only the vault directory lives in the fixture; the secrets go to the OS keyring.
    let fx = Fixture::new();
    let mut vault = Vault::create(
        &fx.dir,
        &passphrase(),
        KdfParams::TEST,
        Box::new(OsKeyring::new()),
    )
    .unwrap();
    assert_eq!(vault.store_description(), "OS keyring (Secret Service)");
    let id = hex(vault.id());
    vault.save(b"state", b"index").unwrap();
    vault.enable_device_unlock().unwrap();
    let listing = secret_tool_listing();
    assert!(listing.contains(&format!("{id}/epoch-1")), "{listing}");
    assert!(listing.contains(&format!("{id}/unlock")), "{listing}");
    assert!(fx.store_entries().is_empty());
    drop(vault);

    let mut vault = Vault::unlock_with_device(&fx.dir, Box::new(OsKeyring::new())).unwrap();
    assert_eq!(vault.key_index().unwrap().as_slice(), b"index");
    vault.rotate_epoch(b"state 2", b"index 2").unwrap();
    let listing = secret_tool_listing();
    assert!(listing.contains(&format!("{id}/epoch-2")), "{listing}");
    assert!(!listing.contains(&format!("{id}/epoch-1")), "{listing}");
    drop(vault);

    let vault = Vault::unlock(&fx.dir, &passphrase(), Box::new(OsKeyring::new())).unwrap();
    assert_eq!(vault.key_index().unwrap().as_slice(), b"index 2");
    vault.destroy().unwrap();
    let listing = secret_tool_listing();
    assert!(!listing.contains(&id), "{listing}");
    assert!(!fx.dir.exists());
}
