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
    ("aes-gcm", &["carekey-crypto"]),
    ("p256", &["carekey-crypto"]),
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

/// `cargo metadata` of the workspace's own crates.
fn workspace_metadata() -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn crate_edges_only_point_down() {
    let meta = workspace_metadata();
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

/// Crates only binaries link (docs/architecture.md): the app embeds the node's library, never
/// its command line.
const BINARY_ONLY: &[&str] = &["clap", "anyhow", "tracing-subscriber"];

/// The features of package `p` that `enabled` turns on, closed over its feature table; and the
/// optional dependencies and dependency features they turn on.
fn expand_features(
    p: &serde_json::Value,
    enabled: &BTreeSet<String>,
) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    let table = p["features"].as_object().unwrap();
    let mut features = BTreeSet::new();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut todo: Vec<String> = enabled.iter().cloned().collect();
    while let Some(f) = todo.pop() {
        if !features.insert(f.clone()) {
            continue;
        }
        let Some(items) = table.get(&f) else {
            // An optional dependency's implicit feature.
            deps.entry(f).or_default();
            continue;
        };
        for item in items.as_array().unwrap() {
            let item = item.as_str().unwrap();
            if let Some(dep) = item.strip_prefix("dep:") {
                deps.entry(dep.to_owned()).or_default();
            } else if let Some((dep, feature)) = item.split_once('/') {
                let weak = dep.ends_with('?');
                let dep = dep.trim_end_matches('?').to_owned();
                let entry = deps.entry(dep).or_default();
                entry.insert(feature.to_owned());
                if weak {
                    // `dep?/feature` does not enable the dependency by itself.
                    entry.insert("?weak".to_owned());
                }
            } else {
                todo.push(item.to_owned());
            }
        }
    }
    (features, deps)
}

/// Session 5 (issue 9): the app's normal dependency graph, through the workspace's own crates
/// and with the features it actually enables, reaches none of the binary-only crates.
/// (Third-party crates' own dependencies are theirs: tauri depends on anyhow itself.)
#[test]
fn the_app_links_no_binary_only_crate() {
    let meta = workspace_metadata();
    let packages: BTreeMap<String, &serde_json::Value> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p))
        .collect();
    assert!(packages.contains_key("carekey-app") && packages.contains_key("carekey-node"));
    // Features enabled per workspace crate, grown to a fixed point from the app's defaults.
    let mut enabled: BTreeMap<String, BTreeSet<String>> = BTreeMap::from([(
        "carekey-app".to_owned(),
        BTreeSet::from(["default".to_owned()]),
    )]);
    let mut violations = BTreeSet::new();
    let mut visited_edges = 0;
    loop {
        let mut grown = false;
        for (name, features) in enabled.clone() {
            let p = packages[&name];
            let (_, dep_features) = expand_features(p, &features);
            for dep in p["dependencies"].as_array().unwrap() {
                if dep["kind"].as_str().is_some() {
                    continue; // dev- and build-dependencies
                }
                let dep_name = dep["name"].as_str().unwrap();
                let key = dep["rename"].as_str().unwrap_or(dep_name);
                let asked = dep_features.get(key);
                let optional = dep["optional"].as_bool().unwrap_or(false);
                if optional && asked.is_none_or(|f| f.contains("?weak")) {
                    continue; // an optional dependency this build does not enable
                }
                visited_edges += 1;
                if BINARY_ONLY.contains(&dep_name) {
                    violations.insert(format!(
                        "carekey-app reaches {dep_name} through {name} (features {features:?})"
                    ));
                }
                if !packages.contains_key(dep_name) {
                    continue;
                }
                let mut wanted: BTreeSet<String> = dep["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_owned())
                    .collect();
                if dep["uses_default_features"].as_bool().unwrap_or(true) {
                    wanted.insert("default".to_owned());
                }
                if let Some(f) = asked {
                    wanted.extend(f.iter().filter(|f| *f != "?weak").cloned());
                }
                // A feature the dependency does not declare (e.g. "default" of a crate with
                // none) enables nothing.
                let declared = packages[dep_name]["features"].as_object().unwrap();
                wanted.retain(|f| declared.contains_key(f));
                let have = enabled.entry(dep_name.to_owned()).or_default();
                let before = have.len();
                have.extend(wanted);
                grown |= have.len() > before;
            }
        }
        if !grown {
            break;
        }
    }
    assert!(
        enabled.contains_key("carekey-node") && visited_edges > 5,
        "the walk missed the app's dependencies ({visited_edges} edges)"
    );
    assert!(
        violations.is_empty(),
        "the app links binary-only crates:\n{}",
        violations.into_iter().collect::<Vec<_>>().join("\n")
    );
}

/// Session 5 (issue 9): inside the node, `storage` imports no higher layer and `service` does
/// not import `http`; the foundations and the witness and audit modes import no layer
/// (crates/carekey-node/src/lib.rs, "Layers").
#[test]
fn the_node_layers_only_import_downwards() {
    let src = std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/carekey-node/src"
    ));
    let above = |layer: &str| -> &'static [&'static str] {
        match layer {
            "storage" => &[
                "crate::service",
                "crate::http",
                "crate::embedded",
                "crate::config",
            ],
            "service" => &["crate::http", "crate::embedded", "crate::config"],
            _ => &[
                "crate::storage",
                "crate::service",
                "crate::http",
                "crate::embedded",
                "crate::config",
            ],
        }
    };
    let mut files = Vec::new();
    let mut dirs = vec![src.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut violations = Vec::new();
    let mut checked = 0;
    for file in &files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let layer = match first {
            "storage" | "service" => first,
            "error.rs" | "clock.rs" | "keys.rs" | "client.rs" | "witness.rs" | "audit.rs" => {
                "foundation"
            }
            _ => continue, // http/, embedded, config, lib.rs, main.rs: the top may import all
        };
        checked += 1;
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for bad in above(layer) {
                if code.contains(bad) || code.contains("super::super") {
                    violations.push(format!("{}:{}: {}", rel.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(checked >= 20, "found only {checked} layered node modules");
    violations.dedup();
    assert!(
        violations.is_empty(),
        "node modules importing a higher layer:\n{}",
        violations.join("\n")
    );
}

/// The line a long module must carry near its top (within its first 20 lines) to say why it is
/// not split: a module should be small enough to hold in one's head.
const LONG_MODULE_REASON: &str = "Why this module is long:";

/// Modules over this many lines need a written reason.
const MODULE_LINE_LIMIT: usize = 600;

/// Every `.rs` file under `dir`, skipping test code (`tests/` folders, `tests.rs` files), benches
/// and fuzz targets.
fn source_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "tests" | "benches" | "fuzz" | "target") {
                source_files(&path, out);
            }
        } else if name.ends_with(".rs") && name != "tests.rs" {
            out.push(path);
        }
    }
}

#[test]
fn no_module_over_600_lines_without_a_reason() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let mut files = Vec::new();
    for dir in ["crates", "src-tauri/src"] {
        source_files(&root.join(dir), &mut files);
    }
    assert!(
        files.len() > 50,
        "found only {} source files: wrong root?",
        files.len()
    );
    let mut unexplained = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Inline unit tests at the end of a module do not count.
        let lines = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .count();
        let explained = text
            .lines()
            .take(20)
            .any(|l| l.contains(LONG_MODULE_REASON));
        if lines > MODULE_LINE_LIMIT && !explained {
            unexplained.push(format!(
                "{} ({lines} lines)",
                file.strip_prefix(root).unwrap_or(file).display()
            ));
        }
    }
    assert!(
        unexplained.is_empty(),
        "modules over {MODULE_LINE_LIMIT} lines need splitting or a `{LONG_MODULE_REASON}` line \
         at their top:\n  {}",
        unexplained.join("\n  ")
    );
}

/// No network under the wallet lock (ADR 0012): inside the wallet, only the ledger agent's run
/// talks to nodes, plus the places where no wallet is open (a restore fetching its backup key
/// share, the erasure journal of a wallet that is gone, the provider's fetch).
#[test]
fn only_the_ledger_agent_talks_to_nodes() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let src = root.join("crates/carekey-wallet/src");
    let allowed = [
        "agent/work.rs",
        "patient/backups.rs", // `shares_for`: a restore, before any wallet is open
        "journal.rs",         // the erasure journal: the wallet is already destroyed
        "provider.rs",        // the provider's fetch: no patient wallet involved
    ];
    let mut files = Vec::new();
    source_files(&src, &mut files);
    assert!(files.len() > 20, "found only {} wallet files", files.len());
    let mut offenders = Vec::new();
    for file in &files {
        let rel = file
            .strip_prefix(&src)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(file).unwrap();
        let code: String = text
            .lines()
            .take_while(|l| !l.starts_with("#[cfg(test)]"))
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let talks = ["NodeClient", "HttpTransport", "reqwest"]
            .iter()
            .any(|name| code.contains(name));
        if talks && !allowed.contains(&rel.as_str()) {
            offenders.push(rel);
        }
    }
    assert!(
        offenders.is_empty(),
        "these wallet modules reach a node directly; hand the work to the ledger agent: {offenders:?}"
    );
}
