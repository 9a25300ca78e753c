//! Issue 10's commands through the mock runtime and the real embedded node: the home screen
//! and a grant's page after a provider's access, the unseen mark, the locked watch that says
//! only that something new happened, a restore that replaces a wallet without losing it,
//! backup places and schedules, provider directories.

use serde_json::json;

use crate::harness::{allergy_request, now, provider, write_bundle, TestApp, PASSPHRASE};

/// A wallet with the bundle imported and the allergy shared with a provider through the
/// embedded node; returns the app, the provider, the node's URL and the grant id.
fn shared() -> (
    TestApp,
    carekey_wallet::ProviderWallet,
    String,
    carekey_wallet::GrantId,
) {
    let app = TestApp::new(true);
    let url = app.core.ledger().unwrap().url.clone();
    app.create_wallet();
    let bundle = app.path("bundle.json");
    write_bundle(&bundle);
    app.ok("import_files", json!({ "paths": [bundle] }));
    let mut provider = provider(app.dir.path());
    let uri = allergy_request(&mut provider, std::slice::from_ref(&url));
    let review = app.ok("review_request", json!({ "uri": uri }));
    assert_eq!(
        review["providerCode"],
        carekey_wallet::provider_code(&provider.public_key()).as_str(),
        "the code the provider's desk shows"
    );
    let shared = app.ok(
        "share",
        json!({ "uri": uri, "recordIds": [], "resourceTypes": ["AllergyIntolerance"], "durationSecs": null, "confirmNodes": false }),
    );
    let grant = shared["grantId"].as_str().unwrap().parse().unwrap();
    (app, provider, url, grant)
}

#[test]
fn issue10_a_providers_access_reaches_home_and_the_grant_page_by_a_check() {
    let (app, provider, url, grant) = shared();
    let home = app.ok("home", json!({}));
    assert_eq!(home["holders"].as_array().unwrap().len(), 1, "{home}");
    assert_eq!(home["holders"][0]["who"], "Dr Alice Example");
    assert_eq!(home["holders"][0]["kind"], "grant");
    assert_eq!(home["holders"][0]["accesses"], 0);
    assert!(home["latestAccess"].is_null());
    assert_eq!(home["backup"]["due"], true, "no backup yet");

    provider.fetch(&grant, &url, now()).unwrap();
    // The background check (here asked for, as the window does on focus) finds it.
    let status = app.ok("check_now", json!({}));
    assert_eq!(status["locked"], false, "{status}");
    assert_eq!(status["unseenAccesses"], 1, "{status}");
    assert!(status["checkedAt"].as_u64().is_some(), "{status}");
    assert!(status["problem"].is_null(), "{status}");

    let home = app.ok("home", json!({}));
    assert_eq!(home["holders"][0]["accesses"], 1, "{home}");
    assert!(home["holders"][0]["lastAccessAt"].as_u64().is_some());
    assert_eq!(home["latestAccess"]["who"], "Dr Alice Example");
    assert_eq!(home["latestAccess"]["genuine"], true);
    assert_eq!(home["ledger"]["unseenAccesses"], 1);

    let page = app.ok("grant_detail", json!({ "grantId": grant.to_string() }));
    assert_eq!(page["accesses"].as_array().unwrap().len(), 1, "{page}");
    assert_eq!(page["records"].as_array().unwrap().len(), 1);
    assert_eq!(page["verification"]["state"], "no_directory");
    assert!(page["endedAt"].is_null());

    app.ok("mark_accesses_seen", json!({}));
    assert_eq!(app.ok("ledger_status", json!({}))["unseenAccesses"], 0);

    app.ok("revoke", json!({ "grantId": grant.to_string() }));
    assert!(app.ok("home", json!({}))["holders"]
        .as_array()
        .unwrap()
        .is_empty());
    let page = app.ok("grant_detail", json!({ "grantId": grant.to_string() }));
    assert!(page["endedAt"].as_u64().is_some(), "{page}");
    app.fails("grant_detail", json!({ "grantId": "zz" }), "bad_input");
}

/// "End on an earlier date" through the command (an hour-long grant now ends in 30 minutes): the embedded node gets the new end (nothing
/// waits), Home and the page show it, a second shortening and a bad date are refused.
#[test]
fn issue10_shorten_grant_moves_the_end_on_the_node_and_on_home() {
    let (app, _provider, _url, grant) = shared();
    let id = grant.to_string();
    let t = now();
    app.fails(
        "shorten_grant",
        json!({ "grantId": id, "endsAt": t - 10 }),
        "bad_end",
    );
    let out = app.ok(
        "shorten_grant",
        json!({ "grantId": id, "endsAt": t + 1800 }),
    );
    assert_eq!(out["endsAt"], t + 1800);
    assert_eq!(
        out["waitingFor"].as_array().unwrap().len(),
        0,
        "the embedded node has the new end: {out}"
    );
    let home = app.ok("home", json!({}));
    assert_eq!(home["holders"][0]["notAfter"], t + 1800, "{home}");
    assert_eq!(home["holders"][0]["shortened"], true);
    assert_eq!(home["nextExpiry"], t + 1800);
    let page = app.ok("grant_detail", json!({ "grantId": id }));
    assert_eq!(page["grant"]["endsEarly"], t + 1800, "{page}");
    assert_eq!(page["grant"]["status"], "active");
    app.fails(
        "shorten_grant",
        json!({ "grantId": id, "endsAt": t + 600 }),
        "already_shortened",
    );
}

#[test]
fn issue10_while_locked_a_check_says_only_that_something_new_happened() {
    let (app, provider, url, grant) = shared();
    app.ok("check_now", json!({}));
    app.ok("lock", json!({}));
    let status = app.ok("check_now", json!({}));
    assert_eq!(status["locked"], true);
    assert_eq!(status["newWhileLocked"], false, "nothing new yet: {status}");

    provider.fetch(&grant, &url, now()).unwrap();
    let status = app.ok("check_now", json!({}));
    assert_eq!(status["locked"], true, "{status}");
    assert_eq!(status["newWhileLocked"], true, "{status}");
    // No details while locked.
    assert_eq!(status["unseenAccesses"], 0);
    assert!(status["problem"].is_null());
    app.fails("home", json!({}), "locked");

    app.ok("unlock", json!({ "passphrase": PASSPHRASE }));
    let status = app.ok("check_now", json!({}));
    assert_eq!(status["locked"], false);
    assert_eq!(status["newWhileLocked"], false);
    assert_eq!(status["unseenAccesses"], 1, "{status}");
}

#[test]
fn issue10_forgot_passphrase_restore_replaces_the_wallet_and_keeps_the_old_one_aside() {
    let app = TestApp::new(false);
    let (kit, backup) = app.wallet_with_a_backup();
    app.ok("lock", json!({}));

    // Without saying so, a restore never replaces a wallet.
    app.fails(
        "restore_wallet",
        json!({ "words": kit["words"], "backupPath": backup, "passphrase": "a new passphrase" }),
        "wallet_exists",
    );
    // Wrong words: refused, and the wallet here is exactly as it was.
    app.fails(
        "restore_wallet",
        json!({ "words": "abandon abandon", "backupPath": backup, "passphrase": "a new passphrase", "replaceExisting": true }),
        "crypto",
    );
    app.ok("unlock", json!({ "passphrase": PASSPHRASE }));
    app.ok("lock", json!({}));

    app.ok(
        "restore_wallet",
        json!({ "words": kit["words"], "backupPath": backup, "passphrase": "a new passphrase", "replaceExisting": true }),
    );
    assert_eq!(
        app.ok("list_records", json!({})).as_array().unwrap().len(),
        2
    );
    let home = app.path("home");
    let aside: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("patient.before-restore-"))
        .collect();
    assert_eq!(
        aside.len(),
        2,
        "the old wallet and its device file: {aside:?}"
    );
    app.ok("lock", json!({}));
    app.fails(
        "unlock",
        json!({ "passphrase": PASSPHRASE }),
        "wrong_passphrase",
    );
    app.ok("unlock", json!({ "passphrase": "a new passphrase" }));
}

#[test]
fn issue10_backup_places_schedules_and_directories_through_the_commands() {
    let app = TestApp::new(false);
    app.create_wallet();
    let beside = app.path("backups");
    std::fs::create_dir_all(&beside).unwrap();
    let place = app.ok("backup_place", json!({ "path": beside }));
    assert_eq!(place["writable"], true);
    assert_eq!(place["sameDiskAsWallet"], true, "{place}");
    app.fails("backup_place", json!({ "path": " " }), "bad_input");

    app.fails(
        "set_backup_schedule",
        json!({ "folder": app.path("nowhere"), "everyDays": 7 }),
        "backup_folder_missing",
    );
    app.ok(
        "set_backup_schedule",
        json!({ "folder": beside, "everyDays": 7 }),
    );
    let home = app.ok("home", json!({}));
    assert_eq!(home["backup"]["schedule"]["everyDays"], 7, "{home}");
    app.ok(
        "set_backup_schedule",
        json!({ "folder": null, "everyDays": 7 }),
    );
    assert!(app.ok("home", json!({}))["backup"]["schedule"].is_null());

    assert_eq!(app.ok("list_directories", json!({})), json!([]));
    app.fails(
        "add_directory",
        json!({ "path": app.path("missing.dir"), "key": "ab" }),
        "io",
    );
    app.fails(
        "remove_directory",
        json!({ "key": "ab".repeat(32) }),
        "not_found",
    );
}

/// "Share as a link" through the commands (issue 11): the embedded node stores the link, the
/// page shows its QR while it works, Home lists it, and ending it is confirmed by the node.
/// (A stock viewer opening a link is tests/tests/e2e/links.rs.)
#[test]
fn issue11_a_link_made_in_the_app_is_served_by_the_embedded_node_and_ends() {
    let app = TestApp::new(true);
    app.create_wallet();
    let bundle = app.path("bundle.json");
    write_bundle(&bundle);
    app.ok("import_files", json!({ "paths": [bundle] }));
    let records = app.ok("list_records", json!({}));
    let allergy = records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resourceType"] == "AllergyIntolerance")
        .unwrap_or_else(|| panic!("{records}"))["id"]
        .clone();
    app.fails(
        "create_link",
        json!({ "args": { "recordIds": [], "summary": false, "label": null, "expiresAt": null, "passcode": null, "attempts": null, "longTerm": false } }),
        "empty_share",
    );
    let made = app.ok(
        "create_link",
        json!({ "args": { "recordIds": [allergy], "summary": false, "label": "For the clinic", "expiresAt": now() + 86_400, "passcode": "4711", "attempts": 5, "longTerm": false } }),
    );
    assert!(
        made["uri"].as_str().unwrap().starts_with("shlink:/"),
        "{made}"
    );
    assert!(made["qrSvg"].as_str().unwrap().contains("<svg"));
    assert_eq!(made["passcode"], "4711", "shown this once");
    let id = made["link"]["id"].as_str().unwrap().to_owned();
    let page = app.ok("link_detail", json!({ "linkId": id }));
    assert_eq!(page["link"]["state"], "active", "{page}");
    assert!(page["qrSvg"].is_string());
    assert!(page["opens"].as_array().unwrap().is_empty());
    let home = app.ok("home", json!({}));
    assert_eq!(home["links"].as_array().unwrap().len(), 1, "{home}");

    // A viewer opens it (a plain HTTP request, as any viewer sends): the next check counts it
    // as unseen, and the access log having been looked at clears it.
    let node = made["link"]["node"].as_str().unwrap();
    let status = crate::viewer::post_json(
        &format!("{node}/v1/links/{id}"),
        r#"{"recipient":"Dr X at Clinic Y","passcode":"4711"}"#,
    );
    assert_eq!(status, 200);
    let status = app.ok("check_now", json!({}));
    assert_eq!(status["unseenAccesses"], 1, "{status}");
    let opens = app.ok("link_opens", json!({}));
    assert_eq!(opens[0]["recipient"], "Dr X at Clinic Y", "{opens}");
    assert_eq!(opens[0]["opened"], true);
    app.ok("mark_accesses_seen", json!({}));
    assert_eq!(app.ok("ledger_status", json!({}))["unseenAccesses"], 0);
    assert_eq!(
        app.ok("home", json!({}))["latestLinkOpen"]["recipient"],
        "Dr X at Clinic Y"
    );

    let ended = app.ok("end_link", json!({ "linkId": id }));
    assert_eq!(
        ended["state"], "ended",
        "the embedded node confirmed: {ended}"
    );
    let page = app.ok("link_detail", json!({ "linkId": id }));
    assert!(page["qrSvg"].is_null(), "no QR for an ended link");
    assert!(app.ok("home", json!({}))["links"]
        .as_array()
        .unwrap()
        .is_empty());
}
