//! SMART Health Links out, end to end (issue 11, ADR 0016): the real `carekey` binary makes a
//! link served by a real `carekey-node` on 127.0.0.1, and a stock viewer — npm
//! `kill-the-clipboard` 1.1.0, `SHLViewer.resolveSHL` — opens it. Every open (and every wrong
//! passcode) is logged before it is answered and reaches the patient's audit as the viewer's
//! own claim; 20 wrong passcodes at once never exceed the budget, a restart loses no attempt,
//! an L-flag update reaches the viewer under new IVs, and ended or expired links are gone.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::{records, Actor};
use crate::ledger::{free_port, keygen, pin, start_node, Proc};

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    assert!(
        dir.join("node_modules/kill-the-clipboard/package.json")
            .is_file(),
        "the peer kill-the-clipboard is missing: run `npm ci --prefix tests/vectors`"
    );
    dir
}

/// The peer viewer resolves `uri` as `recipient` (with `passcode`): its JSON answer.
fn resolve(uri: &str, recipient: &str, passcode: Option<&str>) -> serde_json::Value {
    let mut c = Command::new("node");
    c.arg(vectors_dir().join("shl-resolve.mjs"))
        .arg(uri)
        .arg(recipient);
    if let Some(p) = passcode {
        c.arg(p);
    }
    let out = c.output().expect("`node` must be on PATH to run the peer");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `n` wrong passcodes at once against `manifest`: the sorted HTTP statuses.
fn hammer(manifest: &str, n: usize) -> Vec<u64> {
    let out = Command::new("node")
        .arg(vectors_dir().join("shl-hammer.mjs"))
        .arg(manifest)
        .arg(n.to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice::<Vec<u64>>(&out.stdout).unwrap()
}

/// The manifest URL inside a `shlink:/` link.
fn manifest_url(uri: &str) -> String {
    carekey_model::shl::ShlPayload::from_uri(uri)
        .unwrap()
        .url()
        .to_owned()
}

fn patient_on_node(root: &Path, url: &str, log_key: &str) -> Actor {
    let patient = crate::ledger::patient_with_summary(root);
    pin(&patient, url, log_key, None);
    patient
}

fn allergy(patient: &Actor) -> (String, serde_json::Value) {
    let r = records(patient)
        .into_iter()
        .find(|r| r["resource_type"] == "AllergyIntolerance")
        .unwrap();
    let id = r["id"].as_str().unwrap().to_owned();
    patient.run(&["export", &id, "allergy.json"]);
    let json = std::fs::read(patient.cwd.join("allergy.json")).unwrap();
    (id, serde_json::from_slice(&json).unwrap())
}

#[test]
fn a_stock_viewer_opens_a_carekey_link_and_the_patient_sees_every_open() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/links");
    let data = root.join("node");
    let port = free_port();
    let mut node = start_node(&data, &key_file, port, &[]);
    let patient = patient_on_node(root, &node.url, &log_key);
    let (allergy_id, allergy_json) = allergy(&patient);
    std::fs::write(root.join("pc.txt"), "4711\n").unwrap();
    let out = patient.run(&[
        "link",
        "create",
        "--record",
        &allergy_id,
        "--label",
        "Allergy for the clinic",
        "--passcode-file",
        "pc.txt",
        "--attempts",
        "5",
        "--long-term",
        "--out",
        "link",
    ]);
    assert!(
        out.contains("passcode (shown once, not kept): 4711"),
        "{out}"
    );
    assert!(out.contains("keeps what they downloaded"), "{out}");
    let uri = std::fs::read_to_string(root.join("link/link.txt"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(uri.starts_with("shlink:/"), "{uri}");
    let manifest = manifest_url(&uri);
    assert!(manifest.starts_with(&node.url), "{manifest}");

    // A wrong passcode: refused with the attempts left, and logged.
    let wrong = resolve(&uri, "Dr X at Clinic Y", Some("0000"));
    assert_eq!(wrong["ok"], false, "{wrong}");
    assert_eq!(wrong["status"], 401, "{wrong}");
    // The right one: the viewer gets exactly the record the wallet holds, as one Bundle.
    let first = resolve(&uri, "Dr X at Clinic Y", Some("4711"));
    assert_eq!(first["ok"], true, "{first}");
    assert_eq!(
        first["resources"],
        serde_json::json!([{
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{ "resource": allergy_json }],
        }]),
        "the viewer got exactly the exported record"
    );

    // The patient's next sync finds both requests, as the viewer's own claim.
    patient.run(&["sync"]);
    let audit = patient.json(&["audit", "--json"]);
    let opens: Vec<&serde_json::Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "link_open")
        .collect();
    assert_eq!(opens.len(), 2, "{audit}");
    assert!(opens.iter().all(|o| o["recipient"] == "Dr X at Clinic Y"));
    assert_eq!(opens.iter().filter(|o| o["opened"] == true).count(), 1);
    let human = patient.run(&["audit"]);
    assert!(
        human.contains("someone who says they are \"Dr X at Clinic Y\" opened your link"),
        "{human}"
    );
    assert!(!human.contains("FORGED"), "{human}");

    // A restart loses no attempt: 3 left of 5 after a second wrong one, across the restart.
    assert_eq!(resolve(&uri, "A", Some("1"))["status"], 401);
    drop(node);
    node = start_node(&data, &key_file, port, &[]);
    // 20 wrong passcodes at once: exactly the 3 attempts left get a 401, the rest 404.
    let statuses = hammer(&manifest, 20);
    assert_eq!(
        statuses.iter().filter(|s| **s == 401).count(),
        3,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 404).count(),
        17,
        "{statuses:?}"
    );
    // Out of attempts: even the right passcode gets nothing now.
    let closed = resolve(&uri, "Dr X at Clinic Y", Some("4711"));
    assert_eq!(closed["ok"], false, "{closed}");
    assert_eq!(closed["status"], 404, "{closed}");
    patient.run(&["sync"]);
    let wrongs = patient
        .json(&["link", "opens", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["opened"] == false)
        .count();
    assert_eq!(
        wrongs, 5,
        "one logged event per wrong passcode answered, no more"
    );
    drop(node);
}

#[test]
fn a_long_term_link_follows_updates_and_an_ended_or_expired_link_is_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/links2");
    let data = root.join("node");
    let port = free_port();
    let node = start_node(&data, &key_file, port, &[]);
    let patient = patient_on_node(root, &node.url, &log_key);
    let (allergy_id, _) = allergy(&patient);
    patient.run(&[
        "link",
        "create",
        "--record",
        &allergy_id,
        "--long-term",
        "--out",
        "l1",
    ]);
    let uri = std::fs::read_to_string(root.join("l1/link.txt"))
        .unwrap()
        .trim()
        .to_owned();
    let first = resolve(&uri, "Clinic", None);
    assert_eq!(first["ok"], true, "{first}");
    let link_id = patient.json(&["link", "list", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = patient.run(&["link", "update", &link_id]);
    assert!(out.contains("updated"), "{out}");
    let second = resolve(&uri, "Clinic", None);
    assert_eq!(second["ok"], true, "{second}");
    assert_eq!(first["resources"], second["resources"]);
    assert_ne!(
        first["ivs"], second["ivs"],
        "an update re-encrypts under new IVs"
    );

    // Ended: the node deletes the files; the viewer gets a 404.
    let out = patient.run(&["link", "end", &link_id, "--yes"]);
    assert!(out.contains("the node deleted its files"), "{out}");
    let gone = resolve(&uri, "Clinic", None);
    assert_eq!(
        (gone["ok"].clone(), gone["status"].clone()),
        (false.into(), 404.into()),
        "{gone}"
    );

    // Expired: a link for one hour, the node restarted two hours later.
    patient.run(&[
        "link",
        "create",
        "--record",
        &allergy_id,
        "--expires-in",
        "1h",
        "--out",
        "l2",
    ]);
    let short = std::fs::read_to_string(root.join("l2/link.txt"))
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(resolve(&short, "Clinic", None)["ok"], true);
    drop(node);
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2 * 3600;
    let config = data.with_extension("toml");
    let _node = Proc::start_with_env(
        &["serve", "--config", config.to_str().unwrap()],
        Some(("CAREKEY_NOW", later.to_string())),
    );
    let expired = resolve(&short, "Clinic", None);
    assert_eq!(expired["status"], 404, "{expired}");

    // Erasing a record ends the links that carry it.
    patient.run(&[
        "link",
        "create",
        "--record",
        &allergy_id,
        "--no-expiry",
        "--out",
        "l3",
    ]);
    crate::ledger::erase_one(&patient, "unrelated.txt");
    assert_eq!(
        patient.json(&["link", "list", "--json"])[0]["state"],
        "active",
        "an unrelated erasure ends nothing"
    );
    patient.run(&["erase", &allergy_id, "--yes", "--receipt", "r.json"]);
    let listed = patient.json(&["link", "list", "--json"]);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|l| l["state"] != "active"),
        "{listed}"
    );
}
