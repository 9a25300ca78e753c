//! Issue 11's commands through the mock runtime: SMART Health Cards made by the peer (npm
//! `kill-the-clipboard`, `tests/vectors/shc-cards.mjs`) for an issuer served on 127.0.0.1 by a
//! server that counts its requests, imported from scanned text and from files; the trusted
//! issuers; the patient summary shown, kept as a record and written to a file.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::harness::TestApp;

/// A static file server (GET only) on 127.0.0.1 that counts the requests it gets.
struct CountingServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl CountingServer {
    fn start(dir: &Path) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (dir, count) = (dir.to_path_buf(), requests.clone());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let path = path.trim_start_matches('/');
                let response = match (path.contains(".."), std::fs::read(dir.join(path))) {
                    (false, Ok(body)) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    _ => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&response);
            }
        });
        CountingServer { url, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Runs the peer: cards issued by `issuer`, with its `.well-known` files, into `out`.
fn peer_cards(out: &Path, issuer: &str) {
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    assert!(
        vectors
            .join("node_modules/kill-the-clipboard/package.json")
            .is_file(),
        "the peer kill-the-clipboard is missing: run `npm ci --prefix tests/vectors`"
    );
    let status = Command::new("node")
        .arg(vectors.join("shc-cards.mjs"))
        .arg(out)
        .arg(issuer)
        .stdout(Stdio::null())
        .status()
        .expect("`node` must be on PATH to run the peer");
    assert!(status.success(), "shc-cards.mjs failed: {status}");
}

/// A `.smart-health-card` file holding the peer's card `case`.
fn card_file(served: &Path, case: &str, dir: &Path) -> PathBuf {
    let jws = std::fs::read_to_string(served.join(format!("{case}.jws"))).unwrap();
    let path = dir.join(format!("{case}.smart-health-card"));
    std::fs::write(&path, json!({ "verifiableCredential": [jws] }).to_string()).unwrap();
    path
}

fn cards(app: &TestApp) -> Vec<Value> {
    app.ok("list_cards", json!({})).as_array().unwrap().clone()
}

#[test]
fn issue11_cards_import_verified_from_trusted_issuers_unverified_without_a_request_or_refused() {
    let app = TestApp::new(false);
    app.create_wallet();
    let served = app.path("issuer");
    std::fs::create_dir_all(&served).unwrap();
    let server = CountingServer::start(&served);
    peer_cards(&served, &server.url);
    assert_eq!(app.ok("list_issuers", json!({})), json!([]));

    // Scanned text of an untrusted issuer's card: kept as "not verified", nobody asked.
    let scanned = std::fs::read_to_string(served.join("valid.qr.txt")).unwrap();
    assert!(scanned.starts_with("shc:/"));
    let imported = app.ok("import_card", json!({ "text": scanned }));
    assert_eq!(imported.as_array().unwrap().len(), 1, "{imported}");
    assert_eq!(imported[0]["check"], "not_verified");
    assert_eq!(imported[0]["issuer"], server.url.as_str());
    assert!(imported[0]["keyId"].is_null());
    assert_eq!(imported[0]["title"], "Health card: Immunization");
    assert_eq!(server.requests(), 0, "an untrusted issuer was contacted");
    let record = imported[0]["record"].as_str().unwrap().to_owned();

    // The card is a record, under health cards, holding the card's FHIR Bundle.
    let records = app.ok("list_records", json!({}));
    let listed: Vec<&Value> = records
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["id"] == record.as_str())
        .collect();
    assert_eq!(listed.len(), 1, "{records}");
    assert_eq!(listed[0]["category"], carekey_wallet::CARD_CATEGORY);
    let detail = app.ok("record_detail", json!({ "id": record }));
    let bundle: Value = serde_json::from_str(detail["json"].as_str().unwrap()).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(
        bundle["entry"][1]["resource"]["resourceType"],
        "Immunization"
    );

    // Trusting the issuer (as written, with a trailing slash) and importing the same card as a
    // file: verified after fetching its keys; still one record.
    let added = app.ok("add_issuer", json!({ "url": format!("{}/", server.url) }));
    assert_eq!(added["url"], server.url.as_str());
    assert_eq!(
        app.ok("list_issuers", json!({}))[0]["url"],
        server.url.as_str()
    );
    let imported = app.ok(
        "import_card",
        json!({ "path": served.join("valid.smart-health-card") }),
    );
    assert_eq!(imported[0]["check"], "verified", "{imported}");
    assert_eq!(imported[0]["record"], record.as_str());
    assert!(imported[0]["keyId"].as_str().is_some_and(|k| !k.is_empty()));
    assert!(server.requests() >= 1);
    let all = cards(&app);
    assert_eq!(all.len(), 1);
    assert_eq!(all[0]["check"], "verified");

    // The same card as a picture of its QR code: one record still.
    let png = app.path("valid.png");
    std::fs::write(&png, carekey_wallet::qr::png(&scanned).unwrap()).unwrap();
    let imported = app.ok("import_card", json!({ "path": png }));
    assert_eq!(imported[0]["record"], record.as_str());

    // A tampered card from the trusted issuer is refused, saying why and whose; nothing kept.
    let tampered = card_file(&served, "tampered", app.dir.path());
    let err = app.fails("import_card", json!({ "path": tampered }), "card_refused");
    assert_eq!(err["reason"], "altered", "{err}");
    assert_eq!(err["issuer"], server.url.as_str());
    let revoked = card_file(&served, "revoked", app.dir.path());
    let err = app.fails("import_card", json!({ "path": revoked }), "card_refused");
    assert_eq!(err["reason"], "revoked", "{err}");
    assert_eq!(cards(&app).len(), 1);

    // Not a card; no input; a bad issuer address; removing one twice.
    let err = app.fails("import_card", json!({ "text": "shc:/5676" }), "not_a_card");
    assert!(err.get("reason").is_none(), "{err}");
    app.fails("import_card", json!({}), "bad_input");
    app.fails(
        "add_issuer",
        json!({ "url": "http://issuer.example" }),
        "bad_issuer",
    );
    app.ok("remove_issuer", json!({ "url": server.url }));
    assert_eq!(app.ok("list_issuers", json!({})), json!([]));
    app.fails("remove_issuer", json!({ "url": server.url }), "not_found");

    // Untrusted again: another of its cards is kept unverified without a request.
    let before = server.requests();
    let other = card_file(&served, "not-revoked", app.dir.path());
    let imported = app.ok("import_card", json!({ "path": other }));
    assert_eq!(imported[0]["check"], "not_verified");
    assert_eq!(
        server.requests(),
        before,
        "an untrusted issuer was contacted"
    );
    assert_eq!(cards(&app).len(), 2);

    // Locked: nothing.
    app.ok("lock", json!({}));
    app.fails("list_cards", json!({}), "locked");
    app.fails("import_card", json!({ "text": scanned }), "locked");
}

/// A patient, an allergy and a medication, as one FHIR bundle.
fn write_patient_bundle(path: &Path) {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "name": [{"text": "Ada Lovelace"}],
                      "birthDate": "1815-12-10"}},
        {"resource": {"resourceType": "AllergyIntolerance", "id": "a", "code": {"text": "Penicillin"},
                      "patient": {"reference": "Patient/p"}}},
        {"resource": {"resourceType": "MedicationStatement", "id": "m", "status": "active",
                      "medicationCodeableConcept": {"text": "Metformin 500 mg"},
                      "subject": {"reference": "Patient/p"}}}
    ]});
    std::fs::write(path, serde_json::to_vec(&bundle).unwrap()).unwrap();
}

#[test]
fn issue11_the_patient_summary_is_shown_kept_as_a_record_and_written_as_fhir() {
    let app = TestApp::new(false);
    app.create_wallet();
    // No Patient record yet: no summary, said plainly.
    app.fails("patient_summary", json!({}), "no_patient_record");

    let file = app.path("ada.json");
    write_patient_bundle(&file);
    app.ok("import_files", json!({ "paths": [file] }));
    let summary = app.ok("patient_summary", json!({}));
    assert_eq!(summary["patientName"], "Ada Lovelace", "{summary}");
    assert_eq!(summary["passesCheck"], true, "{summary}");
    assert_eq!(summary["problems"], json!([]));
    assert_eq!(summary["included"], 2);
    let sections = summary["sections"].as_array().unwrap();
    let titles: Vec<&str> = sections
        .iter()
        .map(|s| s["title"].as_str().unwrap())
        .collect();
    assert_eq!(
        titles,
        [
            "Problems",
            "Allergies and intolerances",
            "Medication summary"
        ]
    );
    // No problems recorded: the section says so, with no entries.
    assert_eq!(sections[0]["code"], "11450-4");
    assert_eq!(sections[0]["entries"], json!([]));
    assert!(sections[0]["emptyReason"].as_str().is_some());
    assert_eq!(sections[1]["entries"][0]["title"], "Penicillin");
    assert_eq!(
        sections[1]["entries"][0]["resourceType"],
        "AllergyIntolerance"
    );
    assert!(sections[1]["emptyReason"].is_null());
    assert_eq!(sections[2]["entries"][0]["title"], "Metformin 500 mg");

    // Kept as a record: one more, a Bundle under documents.
    let before = app.ok("list_records", json!({})).as_array().unwrap().len();
    let saved = app.ok("save_patient_summary", json!({}));
    assert_eq!(saved["category"], "documents");
    assert_eq!(saved["resourceType"], "Bundle");
    assert_eq!(saved["title"], "International Patient Summary");
    let records = app.ok("list_records", json!({}));
    assert_eq!(records.as_array().unwrap().len(), before + 1);
    assert!(records
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["id"] == saved["id"]));

    // Written as FHIR JSON: an IPS document whose Composition comes first.
    let out = app.path("summary.json");
    let written = app.ok("export_patient_summary", json!({ "path": out }));
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(written, json!(bytes.len()));
    let bundle: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "document");
    assert_eq!(
        bundle["entry"][0]["resource"]["resourceType"],
        "Composition"
    );
    app.fails("export_patient_summary", json!({ "path": "" }), "bad_input");
    let missing = app.path("no/such/dir/summary.json");
    app.fails("export_patient_summary", json!({ "path": missing }), "io");
}
