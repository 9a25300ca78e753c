//! Issue 8: "when I revoke or erase, access ends" under partial failures, with real `carekey`
//! and `carekey-node` processes on 127.0.0.1. Each test reproduces a hole found on main.

use std::path::Path;

use crate::cli::Actor;
use crate::ledger::{free_port, keygen, pin, shared_through, start_node, Proc};

/// A node with no witness on a fixed data dir and port, so it can be stopped and started again.
struct Node {
    data: std::path::PathBuf,
    key_file: std::path::PathBuf,
    key: String,
    port: u16,
    proc: Option<Proc>,
}

impl Node {
    fn new(root: &Path, name: &str) -> Node {
        let (key_file, key) = keygen(root, &format!("carekey.test/{name}"));
        let mut node = Node {
            data: root.join(name),
            key_file,
            key,
            port: free_port(),
            proc: None,
        };
        node.up();
        node
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn up(&mut self) {
        if self.proc.is_none() {
            self.proc = Some(start_node(&self.data, &self.key_file, self.port, &[]));
        }
    }

    fn down(&mut self) {
        self.proc = None;
    }
}

fn grant_json(patient: &Actor, grant: &str) -> serde_json::Value {
    patient
        .json(&["grants", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == grant)
        .cloned()
        .unwrap()
}

/// The provider fetches `grant` through `url`: Ok(()) when it got the bundle.
fn fetch(doc: &Actor, grant: &str, url: &str) -> Result<(), String> {
    let out = doc.try_run(&["provider", "fetch", grant, "--node", url, "--out", "recv"]);
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Hole 1. Before: the grant was saved as revoked, the backup re-write failed and returned
/// early, the revocation was never queued; `grants` showed "revoked", a second revoke was
/// refused, `sync` exited 0 and the provider still fetched the bundle.
#[test]
fn issue8_revoke_with_a_broken_backup_still_ends_the_grant_on_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let node = Node::new(root, "log");
    let (patient, doc, grant) = shared_through(root, &node.url(), &node.key, "Dr. Backup");
    fetch(&doc, &grant, &node.url()).expect("the provider fetches while the grant is active");
    patient.run(&["backup", "wallet.backup"]);
    std::fs::remove_file(root.join("wallet.backup")).unwrap();
    std::fs::create_dir(root.join("wallet.backup")).unwrap();

    let out = patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    assert!(out.contains("could not be re-written"), "{out}");
    let g = grant_json(&patient, &grant);
    assert_eq!(g["status"], "revoked", "{g}");
    let err = fetch(&doc, &grant, &node.url()).expect_err("a revoked grant must not be served");
    assert!(err.contains("revoked"), "{err}");

    // The backup is re-written by a sync once its path works again.
    std::fs::remove_dir(root.join("wallet.backup")).unwrap();
    std::fs::write(root.join("wallet.backup"), b"old").unwrap();
    patient.run(&["sync"]);
    assert_ne!(std::fs::read(root.join("wallet.backup")).unwrap(), b"old");
}

/// Hole 1, the same promise with the node down: the grant shows as "ending" (not "revoked")
/// until the node acknowledges, and a sync with the node back ends it there.
#[test]
fn issue8_a_revoke_while_the_node_is_down_stays_ending_until_the_node_has_it() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut node = Node::new(root, "log");
    let (patient, doc, grant) = shared_through(root, &node.url(), &node.key, "Dr. Offline");
    fetch(&doc, &grant, &node.url()).unwrap();
    node.down();

    let out = patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    assert!(out.contains("waiting for 1 node"), "{out}");
    let g = grant_json(&patient, &grant);
    assert_eq!(g["status"], "ending", "{g}");
    assert_eq!(g["ends_as"], "revoked", "{g}");
    assert_eq!(g["waiting_for"][0], node.url().as_str(), "{g}");
    let (code, err) = patient.fail(&["revoke", &grant, "--yes", "--out", "rev"]);
    assert_eq!(code, 4, "a second revoke is refused: {err}");
    let listed = patient.run(&["grants"]);
    assert!(
        listed.contains("ending (waiting for 1 node(s))"),
        "{listed}"
    );

    node.up();
    patient.run(&["sync"]);
    assert_eq!(grant_json(&patient, &grant)["status"], "revoked");
    let err = fetch(&doc, &grant, &node.url()).expect_err("revoked on the node");
    assert!(err.contains("revoked"), "{err}");
}

/// Hole 2. Before: `erase --all` destroyed the vault without revoking anything, so the provider
/// still fetched and opened the records, and the outbox died with the vault.
#[test]
fn issue8_erase_all_ends_every_grant_and_journals_what_a_node_did_not_get() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut node = Node::new(root, "log");
    let (patient, doc, grant) = shared_through(root, &node.url(), &node.key, "Dr. Erase");
    fetch(&doc, &grant, &node.url()).unwrap();

    // A second node that is down at the moment of erasure.
    let mut other = Node::new(root, "other");
    pin(&patient, &other.url(), &other.key, None);
    other.down();

    let out = patient.run(&["erase", "--all", "--yes", "--receipt", "receipt.json"]);
    assert!(out.contains("pending:"), "{out}");
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("receipt.json")).unwrap()).unwrap();
    let pending = receipt["pending"].as_array().unwrap();
    assert!(
        pending
            .iter()
            .any(|p| p.as_str().unwrap().starts_with(&other.url())),
        "{receipt}"
    );
    assert!(
        !pending
            .iter()
            .any(|p| p.as_str().unwrap().starts_with(&node.url())),
        "the reachable node got everything: {receipt}"
    );
    let err = fetch(&doc, &grant, &node.url()).expect_err("an erased wallet's grant is dead");
    assert!(
        err.contains("revoked") || err.contains("not found"),
        "{err}"
    );

    // The journal beside the vault holds signed messages only, and `sync` keeps sending it.
    let journal = root.join("patient.erasure-journal");
    let text = std::fs::read_to_string(&journal).expect("an erasure journal");
    assert!(text.contains(&other.url()), "{text}");
    assert!(
        !text.contains("put_share") && !text.contains("upload"),
        "{text}"
    );
    assert!(!root.join("patient").exists(), "the vault is gone");
    let out = patient.run(&["sync"]);
    assert!(out.contains("still waiting"), "{out}");
    assert!(journal.exists());
    node.up();
    other.up();
    let out = patient.run(&["sync"]);
    assert!(out.contains("journal deleted"), "{out}");
    assert!(!journal.exists());

    // A damaged journal is kept and reported, and does not stop a new wallet's sync.
    std::fs::write(&journal, b"{ not a journal").unwrap();
    patient.run(&["init"]);
    let out = patient.try_run(&["sync"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("erasure journal") && err.contains("damaged"),
        "{err}"
    );
    assert!(journal.exists(), "left in place");
}

/// Hole 3. Before: `node remove N` dropped the grant's publication there, so a later revoke
/// never reached N and the provider kept fetching from it.
#[test]
fn issue8_a_node_serving_live_grants_cannot_be_unpinned_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let node = Node::new(root, "log");
    let (patient, doc, grant) = shared_through(root, &node.url(), &node.key, "Dr. Unpin");
    fetch(&doc, &grant, &node.url()).unwrap();

    let (code, err) = patient.fail(&["node", "remove", &node.url()]);
    assert_eq!(code, 4, "{err}");
    assert!(
        err.contains(&grant[..12]),
        "the refusal names the grant: {err}"
    );
    patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    fetch(&doc, &grant, &node.url()).expect_err("revoked on the node it was published on");
    // Ended there: now it may go.
    let out = patient.run(&["node", "remove", &node.url()]);
    assert!(out.contains("unpinned"), "{out}");

    // A node gone for good: --force removes it and the receipt lists what could not be ended.
    let mut gone = Node::new(root, "gone");
    pin(&patient, &gone.url(), &gone.key, None);
    let named = format!("{} {}", gone.url(), gone.key);
    let doc2 = crate::ledger::provider_asking(
        root,
        "doc2",
        "Dr. Gone",
        &["AllergyIntolerance"],
        "req2",
        &[named],
    );
    patient.run(&["share", "req2/request.uri", "--yes", "--out", "g2.bundle"]);
    let grant2 = patient
        .json(&["grants", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .find(|id| *id != grant)
        .unwrap();
    fetch(&doc2, &grant2, &gone.url()).unwrap();
    gone.down();
    patient.fail(&["node", "remove", &gone.url()]);
    let out = patient.run(&[
        "node",
        "remove",
        &gone.url(),
        "--force",
        "--receipt",
        "removal.json",
    ]);
    assert!(
        out.contains(&format!("grant {grant2} could not be ended")),
        "{out}"
    );
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("removal.json")).unwrap()).unwrap();
    assert_eq!(receipt["grants_not_ended"][0], grant2.as_str(), "{receipt}");
}

/// Hole 11. Before: the backup key share lived in the state document, sealed under the master
/// key only, so a vault copy taken before an erasure plus the passphrase gave it back, and with
/// a backup made before the erasure and the recovery words it reopened the erased key. Now it
/// lives in the key index, under the epoch key the erasure destroys.
#[test]
fn issue8_a_vault_copy_from_before_an_erasure_does_not_give_back_the_backup_share() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let node = Node::new(root, "log");
    let patient = Actor::new(root, "patient");
    patient.run(&["init", "--kit-out", "kit"]);
    std::fs::write(root.join("r.bin"), b"the record to erase".repeat(100)).unwrap();
    patient.run(&["import", "r.bin"]);
    pin(&patient, &node.url(), &node.key, None);
    patient.run(&["backup", "wallet.backup"]);
    patient.run(&["sync"]);
    let backup = root.join("wallet.backup");
    let needed = carekey_vault::Vault::backup_share_needed(&backup)
        .unwrap()
        .expect("a backup with a remote node pinned carries a key share");
    let client = carekey_sync::NodeClient::new(&node.url()).unwrap();
    let share = client
        .backup_share(&needed.id)
        .unwrap()
        .expect("the node holds the share");

    // Everything a thief copies before the erasure: the vault and the backup.
    let stolen = root.join("stolen");
    crate::ledger::copy_dir(&patient.vault, &stolen);
    std::fs::copy(&backup, root.join("old.backup")).unwrap();
    let r = crate::cli::record_id_named(&patient, "r.bin");
    patient.run(&["erase", &r, "--yes", "--receipt", "receipt.json"]);
    patient.run(&["sync"]);

    // The stale vault opens with the passphrase (its state document is readable), but the
    // share is nowhere in it.
    let device = root.join("patient.device");
    let vault = carekey_vault::Vault::unlock(
        &stolen,
        &carekey_vault::Passphrase::new(patient.passphrase.clone()),
        Box::new(carekey_vault::FileStore::new(device)),
    )
    .unwrap();
    let state = vault.state().unwrap();
    assert!(
        !state.windows(32).any(|w| w == share.as_slice()),
        "the stale state document still holds the backup key share"
    );
    assert!(vault.key_index().is_err(), "its epoch key is destroyed");
    // The node deleted it, so the old backup no longer opens with the recovery words.
    assert_eq!(client.backup_share(&needed.id).unwrap(), None);
    let words = std::fs::read_to_string(root.join("kit/recovery-kit.txt")).unwrap();
    let mut thief = Actor::new(root, "thief");
    thief.extra_env = vec![("CAREKEY_RECOVERY_WORDS".into(), words)];
    let (_, err) = thief.fail(&["recover", "--backup", "old.backup"]);
    assert!(err.contains("made before an erasure"), "{err}");
}

/// Issue 8, hole 10: `CAREKEY_KDF` used to replace the vault's key derivation on a passphrase
/// change, silently (a real vault changed with CAREKEY_KDF=test left with the test profile).
#[test]
fn issue8_a_passphrase_change_never_weakens_the_key_derivation_silently() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut patient = Actor::new(root, "patient");
    patient.extra_env = vec![("CAREKEY_KDF".into(), "default".into())];
    patient.run(&["init"]);
    patient.extra_env = vec![(
        "CAREKEY_NEW_PASSPHRASE".into(),
        "a brand new passphrase".into(),
    )];
    let out = patient.run(&["passphrase"]);
    assert!(out.contains("kept the vault's key derivation"), "{out}");
    let vault = carekey_vault::Vault::unlock(
        &patient.vault,
        &carekey_vault::Passphrase::new("a brand new passphrase".into()),
        Box::new(carekey_vault::FileStore::new(root.join("patient.device"))),
    )
    .unwrap();
    assert_eq!(vault.kdf(), carekey_crypto::KdfParams::DEFAULT);
}
