//! The dependency rule of docs/architecture.md, checked against `cargo metadata`.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Internal crates each crate may depend on (normal dependencies), and external crates only
/// one crate may touch.
fn allowed_internal() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("carekey-crypto", &[][..]),
        ("carekey-qr", &[][..]),
        ("carekey-model", &["carekey-crypto"][..]),
        ("carekey-ledger", &["carekey-crypto"][..]),
        (
            "carekey-sync",
            &["carekey-crypto", "carekey-model", "carekey-ledger"][..],
        ),
        ("carekey-vault", &["carekey-crypto"][..]),
        (
            "carekey-wallet",
            &[
                "carekey-crypto",
                "carekey-model",
                "carekey-qr",
                "carekey-vault",
                "carekey-ledger",
                "carekey-sync",
            ][..],
        ),
        ("carekey-cli", &["carekey-wallet"][..]),
        (
            "carekey-node",
            &["carekey-crypto", "carekey-model", "carekey-ledger"][..],
        ),
        ("carekey-app", &["carekey-wallet", "carekey-node"][..]),
    ])
}

/// External crates reserved to their owners.
const RESERVED: &[(&str, &[&str])] = &[
    ("ed25519-dalek", &["carekey-crypto"]),
    ("x25519-dalek", &["carekey-crypto"]),
    ("chacha20poly1305", &["carekey-crypto"]),
    ("argon2", &["carekey-crypto"]),
    ("hkdf", &["carekey-crypto"]),
    ("hmac", &["carekey-crypto"]),
    ("sha2", &["carekey-crypto"]),
    ("rand", &["carekey-crypto"]),
    ("rand_core", &["carekey-crypto"]),
    ("bip39", &["carekey-crypto"]),
    ("keyring", &["carekey-vault"]),
    ("clap", &["carekey-cli", "carekey-node"]),
    ("anyhow", &["carekey-cli", "carekey-node"]),
    ("tauri", &["carekey-app"]),
    ("reqwest", &["carekey-sync"]),
    ("axum", &["carekey-node"]),
    ("tracing-subscriber", &["carekey-node"]),
];

#[test]
fn crate_edges_only_point_down() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = meta["packages"].as_array().unwrap();
    let members: BTreeSet<String> = packages
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect();
    let allowed = allowed_internal();
    let mut violations = Vec::new();
    let mut checked = 0;
    for p in packages {
        let name = p["name"].as_str().unwrap();
        if name == "carekey-tests" {
            continue; // the test harness may reach any layer
        }
        for dep in p["dependencies"].as_array().unwrap() {
            if dep["kind"].as_str().is_some() {
                continue; // dev- and build-dependencies
            }
            let dep_name = dep["name"].as_str().unwrap();
            checked += 1;
            if members.contains(dep_name) {
                let ok = allowed.get(name).is_some_and(|a| a.contains(&dep_name));
                if !ok {
                    violations.push(format!(
                        "{name} → {dep_name} is not an allowed internal edge"
                    ));
                }
            }
            if let Some((_, owners)) = RESERVED.iter().find(|(d, _)| *d == dep_name) {
                if !owners.contains(&name) {
                    violations.push(format!(
                        "{name} depends on {dep_name}, which only {} may use",
                        owners.join(", ")
                    ));
                }
            }
        }
        if !allowed.contains_key(name) && !name.starts_with("carekey-") {
            violations.push(format!("{name} is not a carekey crate"));
        }
    }
    assert!(checked > 20, "metadata looked empty ({checked} edges)");
    assert!(
        violations.is_empty(),
        "layering violations:\n{}",
        violations.join("\n")
    );
}
