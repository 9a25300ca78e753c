//! The embedded ledger: it starts, the wallet pins it, and a provider fetches through it.

use serde_json::json;

use crate::harness::{allergy_request, now, provider, write_bundle, TestApp, PASSPHRASE};

#[test]
fn a_provider_fetches_through_the_embedded_node() {
    let app = TestApp::new(true);
    let ledger = app.core.ledger().unwrap().clone();
    assert!(
        ledger.url.starts_with("http://127.0.0.1:"),
        "{}",
        ledger.url
    );
    assert!(ledger
        .checkpoint()
        .starts_with(ledger.log_key.split('+').next().unwrap()));

    let status = app.ok("app_status", json!({}));
    assert_eq!(status["embeddedNode"], ledger.url.as_str());
    assert_eq!(status["embeddedLogKey"], ledger.log_key.as_str());

    app.create_wallet();
    let settings = app.ok("settings", json!({}));
    let nodes = settings["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 1, "{settings}");
    assert_eq!(nodes[0]["url"], ledger.url.as_str());
    assert_eq!(nodes[0]["logKey"], ledger.log_key.as_str());
    assert_eq!(nodes[0]["witnessKeys"], json!([ledger.witness_key]));
    assert_eq!(nodes[0]["quorum"], 1);

    let bundle = app.path("bundle.json");
    write_bundle(&bundle);
    app.ok("import_files", json!({ "paths": [bundle] }));

    let mut provider = provider(app.dir.path());
    let uri = allergy_request(&mut provider, std::slice::from_ref(&ledger.url));
    let review = app.ok("review_request", json!({ "uri": uri }));
    assert_eq!(
        review["unpinnedNodes"],
        json!([]),
        "the embedded node is pinned"
    );
    let shared = app.ok(
        "share",
        json!({ "uri": uri, "recordIds": [], "resourceTypes": ["AllergyIntolerance"], "durationSecs": null, "confirmNodes": false }),
    );
    assert_eq!(settings_outbox(&app), 0, "the grant was published");

    let grant_id: carekey_wallet::GrantId = shared["grantId"].as_str().unwrap().parse().unwrap();
    let opened = provider.fetch(&grant_id, &ledger.url, now()).unwrap();
    assert_eq!(opened.records.len(), 1);
    assert!(String::from_utf8_lossy(&opened.records[0].plaintext).contains("Penicillin"));

    let synced = app.ok("sync", json!({}));
    assert_eq!(synced["nodes"][0]["url"], ledger.url.as_str());
    assert!(synced["nodes"][0]["problem"].is_null(), "{synced}");
    assert_eq!(synced["nodes"][0]["alarm"], false);
    assert_eq!(synced["newAccessEvents"], 1, "{synced}");
    let log = app.ok("access_log", json!({}));
    assert_eq!(log.as_array().unwrap().len(), 1);
    assert_eq!(log[0]["providerName"], "Dr Alice Example");
    assert_eq!(log[0]["verification"], "verified");

    // Erasing the grant is logged on the node: the receipt carries its inclusion proof.
    let receipt = app.ok("erase_grant", json!({ "grantId": shared["grantId"] }));
    assert_eq!(receipt["ledgerNodes"], json!([ledger.url]));
    let verified =
        carekey_wallet::verify_receipt(receipt["json"].as_str().unwrap().as_bytes(), now())
            .unwrap();
    assert_eq!(verified.ledger_nodes, vec![ledger.url.clone()]);
    assert!(provider.fetch(&grant_id, &ledger.url, now()).is_err());
}

#[test]
fn the_embedded_ledger_keeps_its_keys_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let first_dir = dir.path().join("first");
    let first = carekey_app::EmbeddedLedger::start(&first_dir).unwrap();
    for key in ["node.key", "witness.key"] {
        let text = std::fs::read_to_string(first_dir.join(key)).unwrap();
        assert!(
            text.starts_with("PRIVATE+KEY+carekey-app.localhost/"),
            "{key}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(first_dir.join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    let port: u16 = std::fs::read_to_string(first_dir.join("node.port"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_eq!(first.url, format!("http://127.0.0.1:{port}"));

    // A restart finds the keys (same log) and asks for the port of the last run first.
    let again = dir.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    for key in ["node.key", "witness.key"] {
        std::fs::copy(first_dir.join(key), again.join(key)).unwrap();
    }
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::write(again.join("node.port"), free.to_string()).unwrap();
    let second = carekey_app::EmbeddedLedger::start(&again).unwrap();
    assert_eq!(second.log_key, first.log_key);
    assert_eq!(second.witness_key, first.witness_key);
    assert_eq!(second.url, format!("http://127.0.0.1:{free}"));

    // A taken port falls back to an ephemeral one.
    let third = dir.path().join("third");
    std::fs::create_dir_all(&third).unwrap();
    std::fs::write(third.join("node.port"), port.to_string()).unwrap();
    let moved = carekey_app::EmbeddedLedger::start(&third).unwrap();
    assert_ne!(moved.url, first.url);
    assert_ne!(
        moved.log_key, first.log_key,
        "a new ledger gets its own key"
    );
}

/// Nodes can be moved, unpinned and given a witness policy from the app; when the embedded
/// log answers at another URL than the one pinned (its old port was taken), unlocking moves
/// the pin back to it and keeps what the wallet verified.
#[test]
fn nodes_are_moved_removed_and_the_embedded_pin_follows_its_log() {
    let app = TestApp::new(true);
    let ledger = app.core.ledger().unwrap().clone();
    app.create_wallet();
    let synced = app.ok("sync", json!({}));
    let size = synced["nodes"][0]["verifiedSize"].as_u64().unwrap();

    // Witness policy for nodes a provider's request names.
    app.fails(
        "set_witness_policy",
        json!({ "witnessKeys": ["nonsense"], "quorum": 1 }),
        "bad_witness_key",
    );
    app.fails(
        "set_witness_policy",
        json!({ "witnessKeys": [ledger.witness_key], "quorum": 2 }),
        "bad_quorum",
    );
    app.ok(
        "set_witness_policy",
        json!({ "witnessKeys": [ledger.witness_key], "quorum": 1 }),
    );
    let settings = app.ok("settings", json!({}));
    assert_eq!(
        settings["witnessPolicy"],
        json!({ "witnessKeys": [ledger.witness_key], "quorum": 1 })
    );

    // Move the embedded pin away (as if the app had run on another port before).
    let old = "http://127.0.0.1:1";
    app.ok("move_node", json!({ "from": ledger.url, "to": old }));
    app.fails(
        "move_node",
        json!({ "from": ledger.url, "to": "http://127.0.0.1:3" }),
        "not_found",
    );
    app.fails(
        "move_node",
        json!({ "from": old, "to": "ftp://x" }),
        "bad_node_url",
    );
    let nodes = app.ok("settings", json!({}))["nodes"].clone();
    assert_eq!(nodes[0]["url"], old);
    assert_eq!(nodes[0]["verifiedSize"], size, "history kept across a move");

    // Unlocking again pins the embedded log where it answers now, history intact.
    app.ok("lock", json!({}));
    app.ok("unlock", json!({ "passphrase": PASSPHRASE }));
    let nodes = app.ok("settings", json!({}))["nodes"].clone();
    assert_eq!(nodes.as_array().unwrap().len(), 1, "{nodes}");
    assert_eq!(nodes[0]["url"], ledger.url.as_str());
    assert_eq!(nodes[0]["verifiedSize"], size);
    let synced = app.ok("sync", json!({}));
    assert!(synced["nodes"][0]["problem"].is_null(), "{synced}");

    // Unpinning: gone from settings; a second removal is not found.
    let removed = app.ok("remove_node", json!({ "url": ledger.url }));
    assert_eq!(removed, json!({ "url": ledger.url, "droppedOutbox": 0 }));
    assert_eq!(app.ok("settings", json!({}))["nodes"], json!([]));
    app.fails("remove_node", json!({ "url": ledger.url }), "not_found");
}

fn settings_outbox(app: &TestApp) -> u64 {
    app.ok("settings", json!({}))["outboxPending"]
        .as_u64()
        .unwrap()
}
