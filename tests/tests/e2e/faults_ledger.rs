//! Issue 8, what the wallet believes about logs, with real `carekey-node` processes:
//!
//! - hole 4: a node restarted on a fresh data directory with the same key, grown past the size
//!   the wallet verified, is a proven fork: an alarm with evidence, and `carekey sync` fails;
//! - hole 5: a node and a static mirror of its data directory are one log: one access is
//!   counted once, and a tampered mirror makes `carekey sync` fail;
//! - hole 6: a remote node needs a witness unless the patient opts out, and a node without
//!   witnesses is shown as not independently checked, with no freshness claimed;
//! - hole 7: an access event copied from one node's log into another's is not a verified
//!   access (the sealed details are bound to the event they were sealed for).

use carekey_model::ledger::{AccessEvent, Entry};
use carekey_model::Signed;

use crate::cli::Actor;
use crate::hostile_node::{read_key, read_log, write_log};
use crate::ledger::{
    copy_dir, erase_one, free_port, keygen, pin, shared_through, start_node, walk,
};
use crate::ledger::{patient_with_summary, provider_asking, share, Proc, StaticServer};

/// Runs `carekey sync`, which must fail: (stdout, stderr).
fn failing_sync(patient: &Actor) -> (String, String) {
    let out = patient.try_run(&["sync"]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !out.status.success(),
        "carekey sync should have failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// The verified size `carekey node list` shows on the line of `url`.
fn listed_size(list: &str, url: &str) -> u64 {
    list.lines()
        .find(|l| l.starts_with(url))
        .and_then(|l| l.split("verified size ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size for {url} in {list}"))
}

#[test]
fn issue8_a_node_restarted_empty_with_the_same_key_is_a_fork_alarm() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/restarted");
    let port = free_port();
    let node = start_node(&root.join("data-1"), &key_file, port, &[]);

    // Share, one fetch, sync: the wallet verified the node's log at some size.
    let (patient, doc, grant) = shared_through(root, &node.url, &log_key, "Dr. Fork");
    doc.run(&["provider", "fetch", &grant, "--node", &node.url]);
    assert!(patient.run(&["sync"]).contains("1 new access event"));
    let verified = listed_size(&patient.run(&["node", "list"]), &node.url);
    assert!(verified >= 2, "{verified}");

    // The operator restarts it on a fresh data directory with the same key and address; other
    // wallets' erasures grow the new log past the size this wallet verified.
    drop(node);
    let node = start_node(&root.join("data-2"), &key_file, port, &[]);
    let other = Actor::new(root, "other");
    other.run(&["init"]);
    pin(&other, &node.url, &log_key, None);
    for i in 0..=verified {
        erase_one(&other, &format!("other-{i}.txt"));
    }
    assert!(listed_size(&other.run(&["node", "list"]), &node.url) == 0);
    assert!(other
        .run(&["sync"])
        .contains(&format!("verified, log size {}", verified + 1)));

    // The wallet that verified the old log: an alarm, not a shrug; evidence kept; non-zero.
    let (stdout, stderr) = failing_sync(&patient);
    assert!(
        stdout.contains("ALERT: inconsistent")
            && stdout.contains(&format!("does not extend the tree of size {verified}")),
        "{stdout}"
    );
    assert!(stderr.contains("caught lying"), "{stderr}");
    let list = patient.run(&["node", "list"]);
    assert!(
        list.contains("1 piece(s) of evidence of a lying node"),
        "{list}"
    );
    // The stored view is the one verified before; syncing again raises the same alarm and
    // keeps one piece of evidence, not one per sync.
    assert_eq!(listed_size(&list, &node.url), verified);
    let (stdout, _) = failing_sync(&patient);
    assert!(stdout.contains("ALERT"), "{stdout}");
    assert!(patient
        .run(&["node", "list"])
        .contains("1 piece(s) of evidence of a lying node"));
}

#[test]
fn issue8_a_node_and_its_mirror_are_one_log_and_a_tampered_mirror_fails_the_sync() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/mirrored");
    let data = root.join("node-data");
    let node: Proc = start_node(&data, &key_file, free_port(), &[]);
    let (patient, doc, grant) = shared_through(root, &node.url, &log_key, "Dr. Mirror");
    doc.run(&["provider", "fetch", &grant, "--node", &node.url]);
    assert!(patient.run(&["sync"]).contains("1 new access event"));

    // A static mirror of the node's data directory, pinned beside the node (README).
    let mirror = root.join("mirror");
    copy_dir(&data, &mirror);
    let server = StaticServer::start(&mirror);
    pin(&patient, &server.url, &log_key, None);
    let out = patient.run(&["sync"]);
    assert!(
        out.contains(&format!("{}: verified", server.url)) && out.contains("0 new access event"),
        "{out}"
    );
    let audit = patient.json(&["audit", "--json"]);
    let audit = audit.as_array().unwrap();
    assert_eq!(
        audit.len(),
        1,
        "one access, whichever address served it: {audit:?}"
    );
    assert_eq!(audit[0]["verification"], "verified");

    // A second fetch; the mirror is refreshed, and its entry bundles are tampered with.
    doc.run(&["provider", "fetch", &grant, "--node", &node.url]);
    std::fs::remove_dir_all(&mirror).unwrap();
    copy_dir(&data, &mirror);
    for bundle in walk(&mirror.join("tile/entries")) {
        let mut bytes = std::fs::read(&bundle).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&bundle, bytes).unwrap();
    }
    let (stdout, stderr) = failing_sync(&patient);
    assert!(
        stdout.contains(&format!("{}: not verified", server.url)) && stdout.contains("tile"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{}: verified", node.url)),
        "{stdout}"
    );
    assert!(stdout.contains("1 new access event"), "{stdout}");
    assert!(stderr.contains("failed verification"), "{stderr}");
    let audit = patient.json(&["audit", "--json"]);
    let verdicts: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verification"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts, ["verified"; 2], "{audit}");

    // The mirror, repaired, lags behind the node: the patient's revocation is on the node only.
    // A lag is not a lie: the sync passes, and no evidence is kept against either address.
    std::fs::remove_dir_all(&mirror).unwrap();
    copy_dir(&data, &mirror);
    patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    let out = patient.run(&["sync"]);
    assert!(!out.contains("ALERT"), "{out}");
    assert!(out.contains(&format!("{}: verified", server.url)), "{out}");
    assert!(!patient.run(&["node", "list"]).contains("evidence"));
    // Once the mirror catches up it must show the revocation too; it does.
    std::fs::remove_dir_all(&mirror).unwrap();
    copy_dir(&data, &mirror);
    let out = patient.run(&["sync"]);
    assert!(!out.contains("not verified"), "{out}");

    // A write the node acknowledged is done for the log: the copy queued for the static mirror
    // (which never accepts writes) is dropped, so nothing waits for it and it can be unpinned.
    let record = crate::cli::records(&patient)[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    patient.run(&["erase", &record, "--yes", "--receipt", "receipt.json"]);
    let out = patient.run(&["sync"]);
    assert!(out.contains("0 write(s) waiting"), "{out}");
    patient.run(&["node", "remove", &server.url]);
}

#[test]
fn issue8_a_remote_node_needs_a_witness_and_an_unwitnessed_one_claims_no_freshness() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (_, log_key) = keygen(root, "carekey.test/remote");
    let patient = Actor::new(root, "patient");
    patient.run(&["init"]);
    // 192.0.2.0/24 is TEST-NET-1: nothing is contacted when pinning.
    let remote = "http://192.0.2.1:7000";
    let (code, err) = patient.fail(&["node", "add", remote, &log_key]);
    assert_ne!(code, 0);
    assert!(
        err.contains("--witness") && err.contains("--no-witness"),
        "{err}"
    );
    assert!(!patient.run(&["node", "list"]).contains(remote));
    let out = patient.run(&["node", "add", remote, &log_key, "--no-witness"]);
    assert!(out.contains("not independently checked"), "{out}");
    let list = patient.run(&["node", "list"]);
    assert!(
        list.lines()
            .any(|l| l.starts_with(remote) && l.contains("not independently checked")),
        "{list}"
    );
    patient.run(&["node", "remove", remote]);

    // A loopback node without witnesses verifies, but is shown as not independently checked
    // and with no "up to date as of".
    let (key_file, log_key) = keygen(root, "carekey.test/local");
    let node = start_node(&root.join("local-data"), &key_file, free_port(), &[]);
    let reader = Actor::new(root, "reader");
    reader.run(&["init"]);
    pin(&reader, &node.url, &log_key, None);
    erase_one(&reader, "one.txt");
    let out = reader.run(&["sync"]);
    assert!(
        out.contains("verified, log size 1 (not independently checked)"),
        "{out}"
    );
    assert!(!out.contains("up to date"), "{out}");
}

#[test]
fn issue8_an_access_event_copied_to_another_nodes_log_is_not_a_verified_access() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_a, log_a) = keygen(root, "carekey.test/a");
    let (key_b, log_b) = keygen(root, "carekey.test/b");
    let data_a = root.join("node-a");
    let node_a = start_node(&data_a, &key_a, free_port(), &[]);
    // Node B's operator serves whatever log it likes; it is pinned (first) by the patient.
    let dir_b = root.join("node-b");
    std::fs::create_dir_all(&dir_b).unwrap();
    let node_b = StaticServer::start(&dir_b);
    let patient = patient_with_summary(root);
    pin(&patient, &node_b.url, &log_b, None);
    pin(&patient, &node_a.url, &log_a, None);
    let named = format!("{} {log_a}", node_a.url);
    let doc = provider_asking(
        root,
        "doc",
        "Dr. Copy",
        &["AllergyIntolerance"],
        "req",
        &[named],
    );
    let grant = share(&patient, "req");
    doc.run(&["provider", "fetch", &grant, "--node", &node_a.url]);

    // B copies A's access event (its sealed details verbatim) into an event it signs itself.
    let genuine = read_log(&data_a)
        .iter()
        .find_map(|e| match Entry::from_bytes(e) {
            Ok(Entry::Access(a)) => Some(a.document().clone()),
            _ => None,
        })
        .expect("the provider's access event is on A's log");
    let (name_b, signing_b) = read_key(&key_b);
    let copy = Signed::sign(
        AccessEvent {
            node_key: signing_b.public(),
            ..genuine
        },
        &signing_b,
    )
    .unwrap();
    write_log(&dir_b, &name_b, &signing_b, &[copy.as_bytes().to_vec()]);

    let out = patient.run(&["sync"]);
    assert!(
        out.contains(&format!("{}: verified, log size 1", node_b.url)),
        "{out}"
    );
    let audit = patient.json(&["audit", "--json"]);
    let verdict = |url: &str| {
        audit
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["node"] == url)
            .and_then(|a| a["verification"].as_str())
            .unwrap_or_else(|| panic!("no access on {url}: {audit}"))
            .to_owned()
    };
    assert!(
        verdict(&node_b.url).starts_with("FORGED: the details do not open"),
        "{audit}"
    );
    assert_eq!(verdict(&node_a.url), "verified", "{audit}");
    drop(node_a);
}
