//! A node operator turns hostile. The operator holds the log's signing key, so it can sign any
//! history it likes and serve it over HTTP; witnesses would cosign it too as long as it only
//! appends. What the wallet must still catch, with a real node process producing the genuine
//! history and real `carekey` processes for the patient and the provider:
//!
//! - a withheld entry: the patient's revocation was acknowledged with a receipt, then a
//!   history without it is served;
//! - forged access events: the operator re-logs the provider's genuine fetch request (to make
//!   it look like the provider read the records again) and logs an event whose sealed details
//!   are garbage.

use std::path::Path;

use base64::Engine as _;
use carekey_crypto::SigningKey;
use carekey_ledger::note::{write_note, Checkpoint, NoteKey};
use carekey_ledger::tiles::{decode_bundle, encode_bundle, hash_tile, tiles_for_size};
use carekey_ledger::{leaf_hash, Tree};
use carekey_model::ledger::{AccessEvent, Entry};
use carekey_model::Signed;

use crate::cli::Actor;
use crate::ledger::{free_port, keygen, pin, shared_through, start_node, StaticServer};

#[test]
fn a_node_that_withholds_an_entry_or_forges_access_events_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/hostile");
    let data = root.join("node-data");
    let node = start_node(&data, &key_file, free_port(), &[]);

    // The genuine story: share, one fetch, a verified access, then a revocation.
    // No witnesses: a witness cosigns any history that only appends, so it could not help here;
    // what catches these lies is the wallet's own checks.
    let (patient, doc, grant) = shared_through(root, &node.url, &log_key, "Dr. Genuine");
    doc.run(&["provider", "fetch", &grant, "--node", &node.url]);
    assert!(patient.run(&["sync"]).contains("1 new access event"));
    let verified_list = patient.run(&["node", "list"]);
    patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);

    // The operator reads its own log back and keeps its key.
    let entries = read_log(&data);
    let revocation = entries
        .iter()
        .position(|e| matches!(Entry::from_bytes(e), Ok(Entry::Revocation(_))))
        .expect("the revocation is on the log");
    let genuine = entries
        .iter()
        .find_map(|e| match Entry::from_bytes(e) {
            Ok(Entry::Access(a)) => Some(a.document().clone()),
            _ => None,
        })
        .expect("the provider's access event is on the log");
    let (name, key) = read_key(&key_file);
    let forge = |event: AccessEvent| Signed::sign(event, &key).unwrap().as_bytes().to_vec();
    let garbage = forge(AccessEvent {
        event_id: [0xee; 16],
        sealed: vec![0x5a; 120],
        logged_at: genuine.logged_at + 60,
        ..genuine.clone()
    });
    // The same event id: the sealed details are bound to it (issue 8), so a replay under a
    // new id would not even open; under the same id it opens and is caught by its nonce.
    let replay = forge(AccessEvent {
        logged_at: genuine.logged_at + 3600,
        ..genuine.clone()
    });

    // 1. Withheld: the revocation is replaced, at its acknowledged index, by another entry.
    let mut withheld = entries[..revocation].to_vec();
    withheld.push(garbage.clone());
    let mirror_a = root.join("hostile-a");
    write_log(&mirror_a, &name, &key, &withheld);
    let hostile_a = StaticServer::start(&mirror_a);
    patient.run(&["node", "move", &node.url, &hostile_a.url]);
    let (_, err) = patient.fail(&["sync"]);
    assert!(err.contains("caught lying"), "{err}");
    let out = String::from_utf8_lossy(&patient.try_run(&["sync"]).stdout).into_owned();
    assert!(
        out.contains(&format!(
            "ALERT: entry {revocation} of this wallet is missing from the log"
        )),
        "{out}"
    );
    // Its signed receipt and the checkpoint without the entry are kept; nothing else changed.
    let list = patient.run(&["node", "list"]);
    assert!(
        list.contains("1 piece(s) of evidence of a lying node"),
        "{list}"
    );
    let size = |l: &str| {
        l.split("verified size ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .map(str::to_owned)
    };
    assert_eq!(
        size(&list),
        size(&verified_list),
        "no hostile state was stored"
    );
    assert_eq!(
        patient.json(&["audit", "--json"]).as_array().unwrap().len(),
        1
    );

    // 2. Forged: the whole genuine history, then a replayed request and garbage details.
    let mut forged = entries.clone();
    forged.push(replay);
    forged.push(garbage);
    let mirror_b = root.join("hostile-b");
    write_log(&mirror_b, &name, &key, &forged);
    let hostile_b = StaticServer::start(&mirror_b);
    patient.run(&["node", "move", &hostile_a.url, &hostile_b.url]);
    let out = patient.run(&["sync"]);
    assert!(
        out.contains(&format!("verified, log size {}", forged.len())),
        "the history itself is well-formed and consistent: {out}"
    );
    assert!(out.contains("2 new access event"), "{out}");
    let audit = patient.json(&["audit", "--json"]);
    let verdicts: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verification"].as_str().unwrap())
        .collect();
    assert_eq!(verdicts.len(), 3, "{audit}");
    assert_eq!(verdicts.iter().filter(|v| **v == "verified").count(), 1);
    assert!(
        verdicts
            .iter()
            .any(|v| v.starts_with("FORGED: replays the provider's request already logged")),
        "{verdicts:?}"
    );
    assert!(
        verdicts
            .iter()
            .any(|v| v.starts_with("FORGED: the details do not open")),
        "{verdicts:?}"
    );
    let human = patient.run(&["audit"]);
    assert_eq!(human.matches("FORGED").count(), 2, "{human}");
}

/// Every entry of the log a node's data directory serves, read the way a mirror reader does.
pub(crate) fn read_log(data: &Path) -> Vec<Vec<u8>> {
    let note = std::fs::read_to_string(data.join("checkpoint")).unwrap();
    let body = &note[..note.find("\n\n").unwrap() + 1];
    let size = Checkpoint::parse_body(body).unwrap().size;
    let mut entries = Vec::new();
    for id in tiles_for_size(size) {
        if id.level().is_some() {
            continue;
        }
        let bytes = std::fs::read(data.join(id.path())).unwrap();
        entries.extend(decode_bundle(&bytes, usize::from(id.width)).unwrap());
    }
    assert_eq!(entries.len() as u64, size);
    entries
}

/// The node's key file: `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`.
pub(crate) fn read_key(path: &Path) -> (String, SigningKey) {
    let text = std::fs::read_to_string(path).unwrap();
    let rest = text.trim().strip_prefix("PRIVATE+KEY+").unwrap();
    let mut parts = rest.splitn(3, '+');
    let name = parts.next().unwrap().to_owned();
    let _key_id = parts.next().unwrap();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(parts.next().unwrap())
        .unwrap();
    let seed: [u8; 32] = raw[1..].try_into().unwrap();
    (name, SigningKey::from_bytes(&seed))
}

/// Writes a complete C2SP tlog-tiles log of `entries` under `dir`, signed with the log's key.
pub(crate) fn write_log(dir: &Path, name: &str, key: &SigningKey, entries: &[Vec<u8>]) {
    let mut tree = Tree::new();
    for e in entries {
        tree.push(leaf_hash(e));
    }
    let size = tree.size();
    for id in tiles_for_size(size) {
        let bytes = match id.level() {
            Some(_) => hash_tile(&tree, &id).unwrap(),
            None => {
                let first = usize::try_from(id.index).unwrap() * 256;
                let slice: Vec<&[u8]> = entries[first..first + usize::from(id.width)]
                    .iter()
                    .map(Vec::as_slice)
                    .collect();
                encode_bundle(&slice)
            }
        };
        let path = dir.join(id.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    let checkpoint = Checkpoint {
        origin: name.to_owned(),
        size,
        root: tree.root(),
        extensions: Vec::new(),
    };
    let body = checkpoint.body();
    let signer = NoteKey::new(name, key.clone()).unwrap();
    std::fs::write(
        dir.join("checkpoint"),
        write_note(&body, &[signer.sign(&body)]),
    )
    .unwrap();
}

/// SPEC §2.7: the recovery kit plus a backup made before an erasure must not bring an erased
/// key back. Backups are sealed with a key share kept on the ledger node; erasing deletes it
/// there, so a copy of the old backup — with the right words — no longer opens, while the
/// backup the wallet re-wrote restores everything that was not erased.
#[test]
fn a_backup_copied_before_an_erasure_no_longer_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/backups");
    let data = root.join("node-data");
    let port = free_port();
    let node = start_node(&data, &key_file, port, &[]);
    let patient = Actor::new(root, "patient");
    patient.run(&["init", "--kit-out", "kit"]);
    pin(&patient, &node.url, &log_key, None);
    std::fs::write(root.join("keep.txt"), b"keep me").unwrap();
    std::fs::write(root.join("forget.txt"), b"erase me").unwrap();
    patient.run(&["import", "keep.txt", "forget.txt"]);
    let out = patient.run(&["backup", "b.backup"]);
    assert!(out.contains("sealed with a key share"), "{out}");
    assert!(!out.contains("warning"), "{out}");
    std::fs::copy(root.join("b.backup"), root.join("hand-copy.backup")).unwrap();

    let forget = crate::cli::record_id_named(&patient, "forget.txt");
    patient.run(&["erase", &forget, "--yes", "--receipt", "r.json"]);
    let receipt = std::fs::read_to_string(root.join("r.json")).unwrap();
    assert!(
        receipt.contains(&format!("the backup key share on {}", node.url)),
        "{receipt}"
    );
    let share_files = |dir: &Path| {
        std::fs::read_dir(dir.join("backup-shares"))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    assert_eq!(
        share_files(&data),
        1,
        "the old share is gone, the new one is there"
    );

    let words = std::fs::read_to_string(root.join("kit/recovery-kit.txt")).unwrap();
    let fresh = |name: &str| {
        let home = root.join(format!("{name}-home"));
        std::fs::create_dir_all(&home).unwrap();
        let mut a = Actor::new(root, name);
        a.extra_env = vec![
            ("HOME".into(), home.display().to_string()),
            (
                "XDG_DATA_HOME".into(),
                home.join("data").display().to_string(),
            ),
            ("CAREKEY_RECOVERY_WORDS".into(), words.clone()),
        ];
        a
    };

    // The hand copy, with the right words: refused, nothing created.
    let thief = fresh("thief");
    let (_, err) = thief.fail(&["recover", "--backup", "hand-copy.backup"]);
    assert!(err.contains("made before an erasure"), "{err}");
    assert!(!thief.vault.join("state.ck").exists());

    // The re-written backup restores what was kept, and not what was erased.
    let restored = fresh("restored");
    restored.run(&["recover", "--backup", "b.backup"]);
    let names: Vec<String> = crate::cli::records(&restored)
        .iter()
        .map(|r| r["title"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["keep.txt"], "{names:?}");

    // The node moves to another port: the share follows the pin, and the next erasure
    // deletes it at the new address (nothing left waiting for the old one).
    drop(node);
    let node = start_node(&data, &key_file, free_port(), &[]);
    patient.run(&[
        "node",
        "move",
        &format!("http://127.0.0.1:{port}"),
        &node.url,
    ]);
    let keep = crate::cli::record_id_named(&patient, "keep.txt");
    patient.run(&["erase", &keep, "--yes", "--receipt", "r2.json"]);
    let receipt = std::fs::read_to_string(root.join("r2.json")).unwrap();
    assert!(
        receipt.contains(&format!("the backup key share on {} (so", node.url)),
        "{receipt}"
    );
    assert!(!receipt.contains("deletion queued"), "{receipt}");
    let sync = patient.run(&["sync"]);
    assert!(sync.contains("0 write(s) waiting"), "{sync}");

    // Restoring needs the node: with it down, a clear error and nothing created.
    drop(node);
    let offline = fresh("offline");
    let (_, err) = offline.fail(&["recover", "--backup", "b.backup"]);
    assert!(err.contains("none answered"), "{err}");
    assert!(!offline.vault.join("state.ck").exists());
}
