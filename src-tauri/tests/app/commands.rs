//! The patient's story through the commands, and the error codes the UI branches on.

use serde_json::json;

use crate::harness::{allergy_request, provider, write_bundle, TestApp, PASSPHRASE};

#[test]
fn the_patient_story_through_the_commands() {
    let app = TestApp::new(false);

    let status = app.ok("app_status", json!({}));
    assert_eq!(status["walletExists"], false);
    assert_eq!(status["unlocked"], false);
    assert!(status["embeddedNode"].is_null());

    let kit = app.create_wallet();
    assert_eq!(kit["words"].as_array().unwrap().len(), 24);
    assert!(kit["qrSvg"].as_str().unwrap().contains("<svg"));

    let status = app.ok("app_status", json!({}));
    assert_eq!(status["walletExists"], true);
    assert_eq!(status["unlocked"], true);
    assert_eq!(status["keyringUnlock"], false);
    assert!(status["vaultDir"].as_str().unwrap().ends_with("patient"));

    let bundle = app.path("bundle.json");
    write_bundle(&bundle);
    let progress = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = progress.clone();
    tauri::Listener::listen_any(&app.app, carekey_app::IMPORT_PROGRESS, move |event| {
        let p: serde_json::Value = serde_json::from_str(event.payload()).unwrap();
        seen.lock().unwrap().push(p);
    });
    let imported = app.ok("import_files", json!({ "paths": [bundle] }));
    let size = std::fs::metadata(&bundle).unwrap().len();
    let events = progress.lock().unwrap().clone();
    let last = events.last().expect("import-progress events");
    assert_eq!(last["path"], bundle.to_str().unwrap());
    assert_eq!(
        (last["done"].as_u64(), last["total"].as_u64()),
        (Some(size), Some(size))
    );
    assert_eq!(imported.as_array().unwrap().len(), 2, "{imported}");
    let records = app.ok("list_records", json!({}));
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2);
    let allergy = records
        .iter()
        .find(|r| r["resourceType"] == "AllergyIntolerance")
        .unwrap();
    let allergy_id = allergy["id"].as_str().unwrap().to_owned();
    assert_eq!(allergy["version"], 1);

    let detail = app.ok("record_detail", json!({ "id": allergy_id }));
    assert!(detail["json"].as_str().unwrap().contains("Penicillin"));

    let exported = app.path("allergy.json");
    let n = app.ok(
        "export_record",
        json!({ "id": allergy_id, "path": exported }),
    );
    assert_eq!(
        n.as_u64().unwrap(),
        std::fs::metadata(&exported).unwrap().len()
    );

    let mut provider = provider(app.dir.path());
    let uri = allergy_request(&mut provider, &[]);
    let review = app.ok("review_request", json!({ "uri": uri, "imageBase64": null }));
    assert_eq!(review["providerName"], "Dr Alice Example");
    assert_eq!(review["providerKey"], provider.public_key().to_string());
    assert_eq!(review["verification"]["state"], "no_directory");
    assert_eq!(review["resourceTypes"], json!(["AllergyIntolerance"]));
    assert_eq!(review["durationSecs"], 3600);
    let matching = review["matchingRecords"].as_array().unwrap();
    assert_eq!(matching.len(), 1);
    assert_eq!(matching[0]["id"], allergy_id.as_str());

    // The same request as a QR image, the way the UI sends a scanned or dropped picture.
    let png = carekey_wallet::qr::png(&uri).unwrap();
    use base64::Engine as _;
    let image = base64::engine::general_purpose::STANDARD.encode(png);
    let from_image = app.ok(
        "review_request",
        json!({ "imageBase64": format!("data:image/png;base64,{image}") }),
    );
    assert_eq!(from_image["uri"], review["uri"]);

    let shared = app.ok(
        "share",
        json!({
            "uri": review["uri"],
            "recordIds": [],
            "resourceTypes": ["AllergyIntolerance"],
            "durationSecs": 600,
            "confirmNodes": false,
        }),
    );
    assert_eq!(shared["records"], 1);
    assert_eq!(shared["providerName"], "Dr Alice Example");
    let grant_id = shared["grantId"].as_str().unwrap().to_owned();

    let grants = app.ok("list_grants", json!({}));
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(grants[0]["id"], grant_id.as_str());
    assert_eq!(grants[0]["status"], "active");
    assert_eq!(grants[0]["records"], json!([allergy_id]));
    let not_before = grants[0]["notBefore"].as_u64().unwrap();
    assert_eq!(grants[0]["notAfter"].as_u64().unwrap(), not_before + 600);

    let revoked = app.ok("revoke", json!({ "grantId": grant_id }));
    assert_eq!(revoked["rekeyed"], 1);
    let grants = app.ok("list_grants", json!({}));
    assert_eq!(grants[0]["status"], "revoked");
    app.fails("revoke", json!({ "grantId": grant_id }), "grant_not_active");

    let qr = app.ok("my_qr", json!({}));
    assert!(qr["uri"]
        .as_str()
        .unwrap()
        .starts_with("carekey:patient/v1/"));

    let receipt = app.ok("erase_record", json!({ "id": allergy_id }));
    assert!(receipt["subject"].as_str().unwrap().contains(&allergy_id));
    assert!(!receipt["destroyed"].as_array().unwrap().is_empty());
    assert!(!receipt["limits"].as_array().unwrap().is_empty());
    let json: serde_json::Value = serde_json::from_str(receipt["json"].as_str().unwrap()).unwrap();
    assert_eq!(json["format"], carekey_wallet::RECEIPT_FORMAT);
    let verified = carekey_wallet::verify_receipt(
        receipt["json"].as_str().unwrap().as_bytes(),
        crate::harness::now(),
    )
    .unwrap();
    assert!(verified.ledger_nodes.is_empty(), "no ledger in this app");
    assert_eq!(
        app.ok("list_records", json!({})).as_array().unwrap().len(),
        1
    );
    app.fails("record_detail", json!({ "id": allergy_id }), "not_found");

    let saved = app.path("receipt.json");
    app.ok(
        "save_text",
        json!({ "path": saved, "text": receipt["json"] }),
    );
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        receipt["json"].as_str().unwrap()
    );

    let backup = app.ok("backup", json!({ "path": app.path("wallet.backup") }));
    assert!(std::path::Path::new(backup["path"].as_str().unwrap()).is_absolute());
    // No remote node (the embedded one is local): no key share, and the view says so.
    assert_eq!(backup["keyShareNodes"], json!([]));
    assert_eq!(backup["keySharePending"], json!([]));
    let settings = app.ok("settings", json!({}));
    assert_eq!(settings["backups"].as_array().unwrap().len(), 1);
    assert_eq!(settings["kdf"]["memoryKib"], 64);
    assert!(settings["nodes"].as_array().unwrap().is_empty());
}

#[test]
fn errors_cross_the_bridge_as_codes() {
    let app = TestApp::new(false);
    app.fails("unlock", json!({ "passphrase": PASSPHRASE }), "no_wallet");
    app.fails("list_records", json!({}), "locked");
    app.create_wallet();
    // The wallet's passphrase rule, whatever the UI let through; then the existing wallet.
    app.fails(
        "create_wallet",
        json!({ "passphrase": "x", "keyring": false }),
        "weak_passphrase",
    );
    app.fails(
        "create_wallet",
        json!({ "passphrase": PASSPHRASE, "keyring": false }),
        "wallet_exists",
    );

    app.ok("lock", json!({}));
    assert_eq!(app.ok("app_status", json!({}))["unlocked"], false);
    for cmd in [
        "list_records",
        "list_grants",
        "my_qr",
        "settings",
        "sync",
        "erase_all",
    ] {
        app.fails(cmd, json!({}), "locked");
    }
    app.fails(
        "unlock",
        json!({ "passphrase": "wrong horse" }),
        "wrong_passphrase",
    );
    app.ok("unlock", json!({ "passphrase": PASSPHRASE }));
    assert_eq!(app.ok("list_records", json!({})), json!([]));

    // A PNG with no QR code in it, a truncated PNG, and text that is no image at all.
    use base64::Engine as _;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let mut truncated = carekey_wallet::qr::png("carekey:request/v1/x").unwrap();
    truncated.truncate(40);
    app.fails(
        "review_request",
        json!({ "imageBase64": b64(&truncated) }),
        "bad_qr",
    );
    app.fails(
        "review_request",
        json!({ "imageBase64": b64(b"not an image") }),
        "bad_qr",
    );
    app.fails(
        "review_request",
        json!({ "imageBase64": "%%%" }),
        "bad_input",
    );
    app.fails("review_request", json!({}), "bad_input");
    app.fails(
        "review_request",
        json!({ "uri": "carekey:request/v1/AAAA" }),
        "bad_document",
    );
    app.fails(
        "import_files",
        json!({ "paths": [app.path("missing.json")] }),
        "io",
    );
    app.fails("add_node", json!({ "url": "http://127.0.0.1:1", "logKey": "nonsense", "witnessKeys": [], "quorum": 0 }), "bad_log_key");

    // A request whose records are not in the wallet: nothing to share.
    let mut provider = provider(app.dir.path());
    let uri = allergy_request(&mut provider, &[]);
    app.fails(
        "share",
        json!({ "uri": uri, "recordIds": [], "resourceTypes": ["AllergyIntolerance"], "durationSecs": null, "confirmNodes": false }),
        "empty_share",
    );

    // Erasing everything locks the app and removes the wallet.
    let receipt = app.ok("erase_all", json!({}));
    assert_eq!(receipt["subject"], "wallet");
    let status = app.ok("app_status", json!({}));
    assert_eq!(status["unlocked"], false);
    assert_eq!(status["walletExists"], false);
}

#[test]
fn restore_from_backup_and_words() {
    let app = TestApp::new(false);
    let (kit, backup) = app.wallet_with_a_backup();
    let words = kit["words"].clone();

    let other = TestApp::new(false);
    other
        .fails(
            "restore_wallet",
            json!({ "words": "abandon abandon", "backupPath": backup, "passphrase": "new pass" }),
            "crypto",
        )
        .to_string();
    other.ok(
        "restore_wallet",
        json!({ "words": words, "backupPath": backup, "passphrase": "new pass" }),
    );
    assert_eq!(
        other
            .ok("list_records", json!({}))
            .as_array()
            .unwrap()
            .len(),
        2
    );
    other.ok(
        "change_passphrase",
        json!({ "newPassphrase": "newer pass" }),
    );
    other.ok("lock", json!({}));
    other.fails(
        "unlock",
        json!({ "passphrase": "new pass" }),
        "wrong_passphrase",
    );
    other.ok("unlock", json!({ "passphrase": "newer pass" }));
}
