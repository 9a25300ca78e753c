//! The Carekey app in its real window: the `carekey-app` binary (with the embedded `ui/dist`)
//! driven through `tauri-driver` + WebKitWebDriver, against its real embedded ledger node, with
//! a provider using the real `carekey` CLI. One story from onboarding to an erasure receipt,
//! a screenshot of every screen (saved to `docs/screenshots/` when `CAREKEY_SCREENSHOTS=1`),
//! and the app's start-to-first-paint time. Around each action a probe in the page measures
//! how responsive the window stayed (see `window::Responsiveness`); the test prints the table
//! and only checks the window never froze (the speeds are for docs/performance.md, from runs by
//! hand; `CAREKEY_UI_RESPONSIVENESS=1` adds a 50 MiB import, `CAREKEY_FIRST_PAINT_RUNS=N`
//! N more app starts timed to first paint, `CAREKEY_APP_BIN` runs another build of the app).
//!
//! With `CAREKEY_UI_RESPONSIVENESS=1` the measured actions are also clicked and awaited from
//! inside the page, so no WebDriver command runs on the web process's main thread while they
//! are measured (`CAREKEY_UI_RESPONSIVENESS_DRIVEN=1` keeps WebDriver's clicks and polling, to
//! compare), and the main threads of the app and of its web process are sampled from `/proc`
//! to tell each long gap apart: the page's own work, waiting for a CPU, or asleep (module
//! `threads`).
//!
//! A second, short story runs the app on the real Secret Service (gnome-keyring on the rig's
//! own bus) and answers the native file dialogs with `xdotool` (module `keyring`).
//!
//! Needs `tauri-driver` (`cargo install tauri-driver --locked`), `WebKitWebDriver` (apt
//! `webkit2gtk-driver`), and a display (the test starts `Xvfb` when `DISPLAY` is unset, and a
//! private session bus when there is none). Without tauri-driver it prints `SKIPPED: …`,
//! except with `CI=true`, where anything missing fails the test.
#![allow(clippy::unwrap_used)]

mod dialogs;
mod keyring;
mod provider;
mod rig;
mod threads;
#[path = "../common/viewer.rs"]
mod viewer;
mod window;

use std::path::Path;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use crate::dialogs::Xdo;
use crate::provider::Provider;
use crate::rig::{in_ci, Rig, Secrets, Tools};
use crate::window::{heading_xpath, lit, Window};

pub(crate) const PASSPHRASE: &str = "velvet orbit lantern quarry mosaic";
/// The window size of tauri.conf.json, which the screenshots use.
const WIDTH: u32 = 1100;
const HEIGHT: u32 = 760;

#[test]
fn the_patient_story_in_the_real_window() {
    let tools = match Tools::find() {
        Ok(tools) => tools,
        Err(why) if !in_ci() => {
            println!("SKIPPED: {why}");
            return;
        }
        Err(why) => panic!("CI=true, so the window test must run, but: {why}"),
    };
    // The native open dialog is driven when xdotool is there (always in CI).
    let xdotool = match Tools::xdotool() {
        Ok(bin) => Some(bin),
        Err(why) if !in_ci() => {
            println!("the native dialogs are not driven: {why}");
            None
        }
        Err(why) => panic!("CI=true, so the native dialogs must be driven, but: {why}"),
    };
    let started = Instant::now();
    let rig = Rig::start(&tools);
    let xdo = xdotool.map(|bin| Xdo::new(bin, &rig.display));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(runs) = std::env::var("CAREKEY_FIRST_PAINT_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        runtime.block_on(first_paints(&rig, runs));
    }
    runtime.block_on(story(&tools, &rig, xdo));
    println!(
        "window story: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn the_os_keyring_and_the_native_dialogs_in_the_real_window() {
    let found = Tools::find().and_then(|t| Ok((t, Tools::keyring()?)));
    let (tools, keyring) = match found {
        Ok(found) => found,
        Err(why) if !in_ci() => {
            println!("SKIPPED: {why}");
            return;
        }
        Err(why) => panic!("CI=true, so the keyring window test must run, but: {why}"),
    };
    let xdotool = match Tools::xdotool() {
        Ok(bin) => Some(bin),
        Err(why) if !in_ci() => {
            println!("the native dialogs are not driven: {why}");
            None
        }
        Err(why) => panic!("CI=true, so the native dialogs must be driven, but: {why}"),
    };
    let started = Instant::now();
    let rig = Rig::start_with(&tools, &Secrets::Keyring(keyring));
    let xdo = xdotool.map(|bin| Xdo::new(bin, &rig.display));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(keyring::story(&rig, xdo));
    println!(
        "keyring story: {:.1} s in all",
        started.elapsed().as_secs_f64()
    );
}

/// A WebDriver session on the rig's app: this starts the app.
pub(crate) async fn connect(rig: &Rig) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("wry"));
    caps.insert(
        "tauri:options".into(),
        json!({ "application": rig.app_script }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&rig.webdriver)
        .await
        .unwrap_or_else(|e| panic!("no WebDriver session: {e}"))
}

/// `runs` app starts, each timed from the session request to the first heading (as the story
/// times its start), the app stopped between them.
async fn first_paints(rig: &Rig, runs: usize) {
    let mut ms = Vec::new();
    for _ in 0..runs {
        let t0 = Instant::now();
        let w = Window::new(connect(rig).await);
        w.wait("//main//h1").await;
        ms.push(t0.elapsed().as_millis());
        let pid = rig.app_pid();
        w.c.close().await.unwrap();
        rig.wait_app_gone(pid, Duration::from_secs(20));
    }
    println!("first paints (ms, in order): {ms:?}");
    ms.sort_unstable();
    if let (Some(min), Some(max)) = (ms.first(), ms.last()) {
        println!(
            "first paint over {runs} starts: min {min} ms, median {} ms, max {max} ms",
            ms[ms.len() / 2]
        );
    }
}

/// A FHIR R4 bundle of a patient summary: one record per type, two results.
pub(crate) fn write_bundle(path: &Path) {
    let bundle = json!({
      "resourceType": "Bundle",
      "type": "collection",
      "entry": [
        { "resource": {
          "resourceType": "AllergyIntolerance", "id": "penicillin",
          "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active" }] },
          "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "764146007", "display": "Penicillin" }], "text": "Penicillin" },
          "patient": { "reference": "Patient/alex" },
          "recordedDate": "2019-03-01",
          "reaction": [{ "manifestation": [{ "text": "Hives" }] }]
        }},
        { "resource": {
          "resourceType": "MedicationStatement", "id": "metformin", "status": "active",
          "medicationCodeableConcept": { "text": "Metformin 500 mg tablet" },
          "subject": { "reference": "Patient/alex" },
          "effectivePeriod": { "start": "2021-06-15" },
          "dosage": [{ "text": "One tablet twice a day with meals" }]
        }},
        { "resource": {
          "resourceType": "Condition", "id": "t2d",
          "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "44054006", "display": "Type 2 diabetes mellitus" }], "text": "Type 2 diabetes mellitus" },
          "subject": { "reference": "Patient/alex" },
          "onsetDateTime": "2021-06-01"
        }},
        { "resource": {
          "resourceType": "Observation", "id": "hba1c", "status": "final",
          "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory" }] }],
          "code": { "coding": [{ "system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c" }], "text": "HbA1c" },
          "subject": { "reference": "Patient/alex" },
          "effectiveDateTime": "2024-05-02",
          "valueQuantity": { "value": 6.9, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%" }
        }},
        { "resource": {
          "resourceType": "Observation", "id": "weight", "status": "final",
          "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs" }] }],
          "code": { "coding": [{ "system": "http://loinc.org", "code": "29463-7", "display": "Body weight" }], "text": "Body weight" },
          "subject": { "reference": "Patient/alex" },
          "effectiveDateTime": "2024-05-02",
          "valueQuantity": { "value": 82, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg" }
        }},
        { "resource": {
          "resourceType": "Immunization", "id": "flu", "status": "completed",
          "vaccineCode": { "text": "Influenza vaccine 2023/24" },
          "patient": { "reference": "Patient/alex" },
          "occurrenceDateTime": "2023-10-12"
        }}
      ]
    });
    std::fs::write(path, serde_json::to_vec_pretty(&bundle).unwrap()).unwrap();
}

/// Width and height of a PNG, from its header.
fn png_size(png: &[u8]) -> (u32, u32) {
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    (be(&png[16..20]), be(&png[20..24]))
}

/// Clicks the theme button until it reads `Theme: <want>`.
async fn theme(w: &Window, want: &str) {
    for _ in 0..3 {
        let btn = w.wait("//button[@id='theme-toggle']").await;
        if btn.text().await.unwrap().trim() == format!("Theme: {want}") {
            return;
        }
        btn.click().await.unwrap();
    }
    panic!("the theme button never offered {want}");
}

async fn story(tools: &Tools, rig: &Rig, xdo: Option<Xdo>) {
    let root = rig.dir.path();
    // The session spawns the app; its first paint is the first heading in the main area.
    let t0 = Instant::now();
    let client = connect(rig).await;
    let session = t0.elapsed();
    let mut w = Window::new(client);
    w.wait("//main//h1").await;
    let paint = t0.elapsed();
    println!(
        "app start to first paint: {} ms (WebDriver session up after {} ms)",
        paint.as_millis(),
        session.as_millis()
    );
    let (node_url, log_key) = rig.embedded_node(Duration::from_secs(20));
    println!("embedded ledger node: {node_url} {log_key}");

    w.c.set_window_size(WIDTH, HEIGHT).await.unwrap();
    let png = w.c.screenshot().await.unwrap();
    println!("screenshot size: {:?}", png_size(&png));
    theme(&w, "Light").await;
    if std::env::var("CAREKEY_UI_RESPONSIVENESS").as_deref() == Ok("1") {
        w.watch(rig.app_pid());
    }

    // 1. Onboarding as a new patient does it, following the primary buttons: a passphrase,
    //    the 24 recovery words once, the first backup to a folder off this disk.
    let mut actions = 0;
    w.heading("Welcome to Carekey").await;
    w.shot("01-welcome").await;
    w.click("//a[contains(., 'Create a new wallet')]").await;
    actions += 1;
    w.heading("Create your wallet").await;
    w.type_into("Passphrase", PASSPHRASE).await;
    w.type_into("Repeat the passphrase", PASSPHRASE).await;
    actions += 2;
    w.text_in("//p[contains(@class,'strength-text')]", "Strength:")
        .await;
    w.shot("02-create-wallet").await;
    let create = w.button("Create wallet").await;
    w.act(
        "onboard (create wallet)",
        create,
        &heading_xpath("Your recovery kit"),
    )
    .await;
    actions += 1;
    let mut words = Vec::new();
    for word in w.all("//ol[contains(@class,'words')]/li").await {
        let t = word.text().await.unwrap();
        let t = t
            .trim()
            .rsplit(|c: char| !c.is_ascii_lowercase())
            .next()
            .unwrap_or("")
            .to_owned();
        assert!(!t.is_empty(), "a recovery word is empty");
        words.push(t);
    }
    assert_eq!(words.len(), 24, "the recovery kit shows 24 words");
    w.shot("03-recovery-kit").await;
    w.click_button("I have written them down").await;
    actions += 1;
    w.heading("Make your first backup").await;
    let drive = backup_drive(root);
    type_backup_folder(&w, drive.path()).await;
    actions += 2; // open "More", type the folder
    w.shot("04-first-backup").await;
    first_backup(&mut w, drive.path()).await;
    actions += 1; // "Back up now": onboarding ends on Home
    println!("onboarding (passphrase, kit, first backup): {actions} patient actions");
    w.text_in("//main", "Nobody can see your records").await;
    w.shot("05-home-empty").await;

    // Lock, then unlock with the passphrase: Home again.
    w.click("//button[@id='lock']").await;
    w.heading("Unlock your wallet").await;
    w.wait("//a[contains(., 'Forgot passphrase?')]").await;
    w.shot("06-unlock").await;
    w.type_into("Passphrase", PASSPHRASE).await;
    let unlock = w.button("Unlock").await;
    w.act(
        "unlock (passphrase)",
        unlock,
        &heading_xpath("Who can see my records"),
    )
    .await;

    // 2. Import a FHIR bundle by its path; records appear grouped by type.
    let onboarded = actions;
    let bundle = root.join("patient-summary.json");
    write_bundle(&bundle);
    // The empty Home offers "Add records": the native open dialog (typed under "More" on
    // the records screen when no xdotool drives the dialog).
    if let Some(xdo) = &xdo {
        w.probe().await;
        w.click("//button[@id='home-add-records']").await;
        xdo.answer("Add records to Carekey", dialogs::Mode::Open, &bundle)
            .await;
        actions += 2; // "Add records", the file in the dialog
        w.heading("Records").await;
        w.wait("//section[contains(@class,'group')]").await;
        w.probed("import a FHIR bundle (6 records, native dialog)")
            .await;
    } else {
        w.nav("Records", "Records").await;
        type_record_path(&w, &bundle).await;
        let add = w.button("Add").await;
        w.act(
            "import a FHIR bundle (6 records)",
            add,
            "//p[contains(@class,'notice')][contains(normalize-space(.), 'Added 6 records')]",
        )
        .await;
        actions += 4; // "Records", open "More", type, "Add"
    }
    for group in [
        "Allergies & intolerances",
        "Medications",
        "Conditions",
        "Results & measurements",
        "Vaccinations",
    ] {
        w.wait(&format!(
            "//section[contains(@class,'group')]/h2[starts-with(normalize-space(), {})]",
            lit(group)
        ))
        .await;
    }
    let results = w
        .all("//section[contains(@class,'group')][h2[starts-with(normalize-space(), 'Results')]]//li")
        .await;
    assert_eq!(results.len(), 2, "two results under one heading");
    w.shot("07-records").await;

    // The record's page: plain words first, its FHIR JSON under "Technical details".
    w.click("//a[contains(@class,'record-link')][contains(., 'HbA1c')]")
        .await;
    w.wait("//main//h1[contains(., 'HbA1c')]").await;
    w.click("//main//details/summary[normalize-space()='Technical details']")
        .await;
    w.text_in("//pre[contains(@class,'json')]", "4548-4").await;
    w.shot("08-record-detail").await;

    // 3. The provider asks, naming the app's node; the patient opens the request's QR image
    //    and compares the provider's short code with the one the desk shows.
    let provider = Provider::init(&tools.carekey, root);
    let node_arg = format!("{node_url} {log_key}");
    let asked = provider.run(&[
        "provider",
        "request",
        "--type",
        "AllergyIntolerance",
        "--type",
        "MedicationStatement",
        "--purpose",
        "Pre-operative assessment",
        "--duration",
        "30d",
        "--node",
        &node_arg,
        "--out",
        "req",
    ]);
    let qr = root.join("req").join("request.png");
    assert!(qr.is_file(), "the provider wrote no request.png");
    let desk_code = std::fs::read_to_string(root.join("req").join("request.code"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        asked.contains(&desk_code),
        "the provider CLI prints its code: {asked}"
    );

    w.nav("Share", "Share with a provider").await;
    actions += 1;
    w.shot("09-share").await;
    let file = w.wait("//input[@type='file' and @accept='image/*']").await;
    file.send_keys(qr.to_str().unwrap()).await.unwrap();
    actions += 1;
    w.heading("Review the request").await;
    w.text_in("//main", provider::NAME).await;
    w.text_in("//main", "Pre-operative assessment").await;
    w.wait("//h2[normalize-space()='Check that the desk shows this code']")
        .await;
    let shown = w
        .wait("//*[contains(@class,'provider-code')]")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        shown.split_whitespace().collect::<String>(),
        desk_code,
        "the wallet shows the code the provider's desk shows"
    );
    w.tick("The codes match").await;
    actions += 1;
    let unpinned = w
        .all("//label[contains(., 'I agree to keep my shared records there')]")
        .await;
    if !unpinned.is_empty() {
        w.tick("I agree to keep my shared records there").await;
        actions += 1;
    }
    w.shot("10-share-review").await;
    let share = w
        .wait("//form//button[@type='submit' and normalize-space()='Share']")
        .await;
    w.act(
        "share (2 records, grant on the node)",
        share,
        &format!(
            "//*[@id='home-flash'][contains(normalize-space(.), {})]",
            lit(&format!("You shared 2 records with {}", provider::NAME))
        ),
    )
    .await;
    actions += 1;
    w.shot("11-shared-home").await;
    println!(
        "first import and first share: {} patient actions; with onboarding {actions} in all",
        actions - onboarded
    );
    w.heading("Who can see my records").await;
    w.text_in("//main", "Has not opened anything yet").await;
    let grants = w.invoke("list_grants", json!({})).await;
    assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");
    let grant = grants[0]["id"].as_str().unwrap().to_owned();

    // 4. The provider fetches through the app's node. Nobody clicks "Check now" or "Sync":
    //    the app's background check finds the access and the home screen shows it.
    w.probe().await;
    let fetched = provider.run(&[
        "provider", "fetch", &grant, "--node", &node_url, "--out", "recv",
    ]);
    assert!(fetched.contains("2 record(s)"), "{fetched}");
    let got: String = std::fs::read_dir(root.join("recv"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        got.contains("Penicillin") && got.contains("Metformin"),
        "{got}"
    );
    let seen_at = Instant::now();
    w.text_in("//main//li[contains(@class,'holder')]", "Read 2 records")
        .await;
    w.probed("background check surfaces the access (no click)")
        .await;
    println!(
        "the background check surfaced the access {} ms after the fetch",
        seen_at.elapsed().as_millis()
    );
    // The unseen badge on Activity, and an OS notification without names.
    w.wait("//nav//a[.//span[contains(@class,'nav-label')][normalize-space()='Activity']][contains(normalize-space(.), '1')]")
        .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !rig
        .log("app.stderr")
        .contains("notification: New access to your records")
    {
        assert!(
            Instant::now() < deadline,
            "no notification of the new access: {}",
            rig.log("app.stderr")
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        !rig.log("app.stderr").contains(&format!(
            "notification: New access to your records: {}",
            provider::NAME
        )),
        "a notification names the provider"
    );
    w.shot("12-home").await;

    // The grant's page: what was shared, with whom (the code compared), and its access.
    w.click("//main//li[contains(@class,'holder')]//a[normalize-space()='See details']")
        .await;
    w.heading(provider::NAME).await;
    w.text_in("//main", &desk_code[..4]).await;
    w.shot("13-grant").await;

    // 5. Settings: the backup (scheduled), a sync, the node under "Technical details".
    w.nav("Settings", "Settings").await;
    w.text_in("//section[@id='backup']", "Last backup").await;
    w.click("//details[@id='technical']/summary").await;
    w.text_in("//ul[contains(@class,'nodes')]", &node_url).await;
    let sync = w.button("Sync now").await;
    w.act(
        "sync (1 node)",
        sync,
        "//p[contains(@class,'notice')][contains(normalize-space(.), 'Sync complete')]",
    )
    .await;
    w.shot("14-settings").await;

    // Activity: the provider's read, checked on the ledger; opening it clears the badge.
    w.nav("Activity", "Activity").await;
    let event = w
        .text_in("//li[contains(@class,'event')]", provider::NAME)
        .await;
    let text = event.text().await.unwrap();
    assert!(text.contains("Checked on the ledger"), "{text}");
    w.shot("15-activity").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let status = w.invoke("ledger_status", json!({})).await;
        if status["unseenAccesses"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still unseen: {status}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // 6. Stop sharing from the grant's page, confirming; the provider's next fetch is refused.
    w.nav("Home", "Who can see my records").await;
    w.click("//main//li[contains(@class,'holder')]//a[normalize-space()='See details']")
        .await;
    w.heading(provider::NAME).await;
    w.click("//button[@id='stop-sharing']").await;
    w.wait("//dialog[@open]//h2[starts-with(normalize-space(), 'Stop sharing with')]")
        .await;
    w.shot("16-stop-confirm").await;
    let stop = w
        .wait("//dialog[@open]//button[normalize-space()='Stop sharing']")
        .await;
    w.act(
        "stop sharing (revoke)",
        stop,
        &format!(
            "//main//*[contains(normalize-space(.), {})]",
            lit(&format!(
                "{} can no longer open your records",
                provider::NAME
            ))
        ),
    )
    .await;
    w.shot("17-stopped").await;
    let (code, err) = provider.fail(&["provider", "fetch", &grant, "--node", &node_url]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("revoked"), "{err}");

    // 7. Delete one record from its page; the receipt names the ledger and the honest limits.
    w.nav("Records", "Records").await;
    let record_id = delete_record(&mut w, "Body weight").await;
    let receipt_text = w.main_text().await;
    assert!(
        receipt_text.contains("What erasure cannot reach"),
        "{receipt_text}"
    );
    assert!(
        receipt_text.contains("kept on 1 ledger node"),
        "the receipt is not logged on the node: {receipt_text}"
    );
    w.shot("18-erase-receipt").await;
    // The full receipt under "Technical details": the erasure entry's place in the node's log.
    w.click("//main//details[.//pre[contains(@class,'json')]]/summary")
        .await;
    let json_text = w
        .wait("//pre[contains(@class,'json')]")
        .await
        .text()
        .await
        .unwrap();
    let full: serde_json::Value = serde_json::from_str(&json_text).unwrap();
    let ledger = full["ledger"].as_array().unwrap();
    assert_eq!(
        ledger.len(),
        1,
        "one inclusion, on the embedded node: {full}"
    );
    assert_eq!(ledger[0]["node"], node_url.as_str(), "{full}");
    assert_eq!(ledger[0]["log_key"], log_key.as_str(), "{full}");
    assert!(
        ledger[0]["receipt"].as_str().is_some_and(|r| !r.is_empty()),
        "no inclusion proof: {full}"
    );
    let left = w.invoke("list_records", json!({})).await;
    assert_eq!(left.as_array().unwrap().len(), 5, "{left}");
    assert!(
        left.as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != record_id.as_str()),
        "{left}"
    );

    // My QR code, from the share screen.
    w.nav("Share", "Share with a provider").await;
    w.click("//a[@id='show-my-code']").await;
    w.heading("My QR code").await;
    w.wait("//img[@alt='Your Carekey QR code']").await;
    w.shot("19-my-qr").await;

    // 8. Share as a link, for a clinic without Carekey (issue 11): a record and a passcode; a
    // viewer's request (plain HTTP to the embedded node, as any viewer sends it) reaches the
    // link's page as the viewer's own claim, and the link ends.
    w.nav("Records", "Records").await;
    w.click("//*[@id='records-share-link']").await;
    w.heading("Share as a link").await;
    w.click("(//fieldset[@id='link-what']//input[@type='checkbox'][not(@id='link-summary')])[1]")
        .await;
    let create = w.button("Create link").await;
    w.act("share as a link", create, "//*[@id='created-passcode']")
        .await;
    let passcode = w
        .wait("//*[@id='created-passcode']")
        .await
        .text()
        .await
        .unwrap();
    w.wait("//main//*[local-name()='svg' or self::img]").await;
    w.shot("22-link-created").await;
    let links = w.invoke("list_links", json!({})).await;
    let link = &links[0];
    let manifest = format!(
        "{}/v1/links/{}",
        link["node"].as_str().unwrap(),
        link["id"].as_str().unwrap()
    );
    let body = json!({ "recipient": "Dr Window at Clinic Glass", "passcode": passcode.trim() });
    assert_eq!(
        viewer::post_json(&manifest, &body.to_string()),
        200,
        "{manifest}"
    );
    w.invoke("check_now", json!({})).await;
    w.click("//a[@id='created-page']").await;
    w.text_in(
        "//main",
        "Someone who says they are Dr Window at Clinic Glass opened it",
    )
    .await;
    w.shot("23-link-page").await;
    w.click("//button[@id='end-link']").await;
    let end = w
        .wait("//dialog[@open]//button[normalize-space()='End link']")
        .await;
    w.act(
        "end the link",
        end,
        "//main//*[contains(normalize-space(.), 'keep what they downloaded')]",
    )
    .await;
    assert_eq!(
        viewer::post_json(&manifest, &body.to_string()),
        404,
        "an ended link"
    );

    // Dark mode, and a phone-width window.
    w.nav("Home", "Who can see my records").await;
    theme(&w, "Dark").await;
    w.shot("20-home-dark").await;
    theme(&w, "Light").await;
    w.c.set_window_size(390, HEIGHT).await.unwrap();
    w.shot("21-home-390px").await;
    w.c.set_window_size(WIDTH, HEIGHT).await.unwrap();

    let main = w.main_text().await;
    assert!(main.contains("Who can see my records"), "{main}");
    println!("screenshots: {}", w.taken.join(", "));

    if std::env::var("CAREKEY_UI_RESPONSIVENESS").as_deref() == Ok("1") {
        large_import(&mut w, root).await;
    }
    responsiveness(&w);
    w.c.close().await.unwrap();

    // The backup the onboarding made (re-written by the erasure) restores on a fresh profile
    // after this wallet and its device secrets are gone.
    restores_on_a_fresh_profile(tools, rig, drive.path(), &words);
}

/// A folder for backups off the wallet's disk: under /dev/shm (a different file system from
/// the run's temp dir), else beside the run (the same disk: the patient is then warned).
pub(crate) fn backup_drive(root: &Path) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("carekey-drive-")
        .tempdir_in("/dev/shm")
        .or_else(|_| tempfile::tempdir_in(root))
        .unwrap()
}

/// Types the backup folder under "More" (the path a native folder dialog would give).
pub(crate) async fn type_backup_folder(w: &Window, folder: &Path) {
    w.click("//details[contains(@class,'more')]/summary").await;
    w.type_into("Folder for the backup", folder.to_str().unwrap())
        .await;
    // Leaving the field asks the wallet about the folder; its verdict moves the buttons.
    w.labelled("Folder for the backup")
        .await
        .send_keys(&char::from(fantoccini::key::Key::Tab).to_string())
        .await
        .unwrap();
    w.wait("//main//*[contains(@class,'place-ok') or contains(@class,'same-disk') or contains(@class,'place-info')]")
        .await;
}

/// "Back up now" on the first-backup step (accepting the same disk if the wallet says so),
/// ending on Home, which says so; the backup file is there.
pub(crate) async fn first_backup(w: &mut Window, folder: &Path) {
    let done = "//*[@id='home-flash'][contains(normalize-space(.), 'Your first backup is done')]";
    let same_disk = "//button[normalize-space()='Use it anyway (it is a synced folder)']";
    let either = format!("{done} | {same_disk}");
    let run = w.button("Back up now").await;
    w.act("first backup (onboarding)", run, &either).await;
    let first = w.wait(&either).await;
    if first.text().await.unwrap().starts_with("Use it anyway") {
        first.click().await.unwrap();
        w.click_button("Back up now").await;
        w.wait(done).await;
    }
    let file = folder.join("carekey-backup.ckb");
    assert!(
        std::fs::metadata(&file).is_ok_and(|m| m.len() > 0),
        "no backup at {}",
        file.display()
    );
    // Onboarding ends on Home, which says the backup is done.
    w.heading("Who can see my records").await;
}

/// Types a record file's path under "More" on the records screen (the native dialog's answer).
pub(crate) async fn type_record_path(w: &Window, file: &Path) {
    w.click("//main//details[contains(@class,'more')]/summary")
        .await;
    w.type_into("File path on this computer", file.to_str().unwrap())
        .await;
}

/// Deletes the record titled `title` from its page, confirming; returns its id. Ends on the
/// receipt page.
pub(crate) async fn delete_record(w: &mut Window, title: &str) -> String {
    let link = w
        .wait(&format!(
            "//a[contains(@class,'record-link')][contains(., {})]",
            lit(title)
        ))
        .await;
    let href = link.attr("href").await.unwrap().unwrap_or_default();
    let id = href.rsplit('/').next().unwrap_or_default().to_owned();
    link.click().await.unwrap();
    w.wait(&format!("//main//h1[contains(., {})]", lit(title)))
        .await;
    w.click("//button[@id='delete-record']").await;
    w.wait(&format!("//dialog[@open]//h2[contains(., {})]", lit(title)))
        .await;
    let delete = w
        .wait("//dialog[@open]//button[normalize-space()='Delete record']")
        .await;
    w.act(
        "delete one record (rotates the epoch, re-writes the backup)",
        delete,
        &heading_xpath("Erasure receipt"),
    )
    .await;
    id
}

/// Deletes the app's wallet and its device secrets, then restores the backup with the 24
/// words on a fresh profile (the CLI, the same wallet library): the records come back.
fn restores_on_a_fresh_profile(tools: &Tools, rig: &Rig, drive: &Path, words: &[String]) {
    let home = rig.dir.path().join("home");
    rig.wait_app_gone(rig.app_pid(), Duration::from_secs(20));
    std::fs::remove_dir_all(home.join("patient")).unwrap();
    let _ = std::fs::remove_file(home.join("patient.device"));
    let fresh = rig.dir.path().join("fresh-profile");
    let out = std::process::Command::new(&tools.carekey)
        .env("CAREKEY_HOME", &fresh)
        .args(["recover", "--backup"])
        .arg(drive.join("carekey-backup.ckb"))
        .env("CAREKEY_RECOVERY_WORDS", words.join(" "))
        .env("CAREKEY_PASSPHRASE", "a fresh profile passphrase")
        .env("CAREKEY_KDF", "test")
        .env("CAREKEY_SECRET_STORE", "file")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "the backup did not restore: {said}");
    assert!(said.contains("5 record(s)"), "{said}");
    println!(
        "the first backup restored on a fresh profile: {}",
        said.trim()
    );
}

/// `CAREKEY_UI_RESPONSIVENESS_MIB` (default 50): the size of the large import.
fn large_import_mib() -> u64 {
    std::env::var("CAREKEY_UI_RESPONSIVENESS_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

/// Imports one large file (pseudo-random bytes, so nothing compresses) by its path and
/// checks its progress bar ends full and the record is listed.
async fn large_import(w: &mut Window, root: &Path) {
    let mib = large_import_mib();
    let path = root.join(format!("scan-{mib}mib.pdf"));
    {
        use std::io::Write as _;
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut chunk = vec![0u8; 1 << 20];
        for _ in 0..mib {
            for b in chunk.chunks_mut(8) {
                // xorshift64
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b.copy_from_slice(&x.to_le_bytes()[..b.len()]);
            }
            f.write_all(&chunk).unwrap();
        }
        f.flush().unwrap();
    }
    w.nav("Records", "Records").await;
    type_record_path(w, &path).await;
    let import = w.button("Add").await;
    let r = w
        .act(
            &format!("import a {mib} MiB file"),
            import,
            "//p[contains(@class,'notice')][contains(normalize-space(.), 'Added 1 record')]",
        )
        .await;
    let bar = w
        .wait(&format!(
            "//progress[@aria-label={}]",
            lit(&format!(
                "Adding {}",
                path.file_name().unwrap().to_string_lossy()
            ))
        ))
        .await;
    let v =
        w.c.execute(
            "return [arguments[0].value, arguments[0].max];",
            vec![serde_json::to_value(&bar).unwrap()],
        )
        .await
        .unwrap();
    let (value, max) = (v[0].as_f64(), v[1].as_f64());
    assert_eq!(value, max, "the progress bar did not end full");
    assert_eq!(
        max,
        Some((mib << 20) as f64),
        "the progress bar's total is not the file's size"
    );
    println!("large import: {mib} MiB in {:.1} s", r.span_ms / 1000.0);
}

/// Prints what the probes measured and checks only that the window never froze outright:
/// the speeds go to docs/performance.md from runs by hand, not into a timed test.
fn responsiveness(w: &Window) {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "responsiveness (load average {}):\n{}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        w.responsiveness_table()
    );
    assert!(
        w.measured.len() >= 8,
        "{} actions measured",
        w.measured.len()
    );
    for r in &w.measured {
        assert!(
            r.errors.is_empty(),
            "{}: the pings failed: {:?}",
            r.action,
            r.errors
        );
        assert!(
            r.ticks > 0 && r.ipc_calls > 0 && r.status_calls > 0,
            "{}: the probe did not run: {r:?}",
            r.action
        );
        assert!(
            r.max_gap_ms < 2000.0,
            "{}: the page froze for {:.0} ms",
            r.action,
            r.max_gap_ms
        );
        assert!(
            r.max_ipc_ms < 5000.0,
            "{}: a trivial command waited {:.0} ms for the app's main thread",
            r.action,
            r.max_ipc_ms
        );
    }
}
