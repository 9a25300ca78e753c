//! The patient ↔ provider story through real `carekey` processes and files.

use std::path::Path;
use std::process::Command;

use crate::cli::{record_id_named, records, Actor};

const BUNDLE: &str = r#"{"resourceType":"Bundle","type":"collection","entry":[
 {"resource":{"resourceType":"AllergyIntolerance","id":"a1","code":{"text":"Penicillin"},"patient":{"reference":"Patient/p"}}},
 {"resource":{"resourceType":"MedicationStatement","id":"m1","status":"active","medicationCodeableConcept":{"text":"Metformin 500 mg"},"subject":{"reference":"Patient/p"}}},
 {"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Glucose"},"subject":{"reference":"Patient/p"},"valueQuantity":{"value":6.3,"unit":"mmol/L"}}}
]}"#;

fn stock_age_decrypts(identities: &Path, file: &Path) -> Option<Vec<u8>> {
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identities)
        .arg(file)
        .output()
        .expect("the stock `age` tool (Debian package age) must be installed by the test command");
    out.status.success().then_some(out.stdout)
}

struct World {
    _tmp: tempfile::TempDir,
    root: std::path::PathBuf,
    patient: Actor,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let patient = Actor::new(&root, "patient");
    patient.run(&["init"]);
    std::fs::write(root.join("summary.json"), BUNDLE).unwrap();
    std::fs::write(
        root.join("scan.bin"),
        (0..200_000u32).map(|i| (i * 7) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    patient.run(&["import", "summary.json", "scan.bin"]);
    World {
        _tmp: tmp,
        root,
        patient,
    }
}

fn provider(w: &World, name: &str, display: &str) -> Actor {
    let p = Actor::new(&w.root, name);
    p.run(&["provider", "init", "--name", display]);
    p
}

fn request(p: &Actor, out: &str, args: &[&str]) {
    let mut all = vec![
        "provider",
        "request",
        "--purpose",
        "care",
        "--duration",
        "7d",
        "--out",
        out,
    ];
    all.extend_from_slice(args);
    p.run(&all);
}

#[test]
fn fhir_bundles_are_split_and_shown_by_type() {
    let w = world();
    let all = records(&w.patient);
    assert_eq!(all.len(), 4, "{all:?}");
    let obs = all
        .iter()
        .find(|r| r["resource_type"] == "Observation")
        .unwrap();
    assert_eq!(obs["category"], "observations");
    assert_eq!(obs["title"], "Glucose");
    assert!(obs["detail"].as_str().unwrap().contains("6.3"), "{obs}");
    let listing = w.patient.run(&["records"]);
    assert!(
        listing.contains("allergies:") && listing.contains("Penicillin"),
        "{listing}"
    );
}

#[test]
fn records_round_trip_and_decrypt_with_stock_age() {
    let w = world();
    let scan = record_id_named(&w.patient, "scan.bin");
    w.patient.run(&["export", &scan, "scan.out"]);
    assert_eq!(
        std::fs::read(w.root.join("scan.out")).unwrap(),
        std::fs::read(w.root.join("scan.bin")).unwrap()
    );
    w.patient.run(&["keys", "export", "--age", "ids.txt"]);
    let path = records(&w.patient)
        .iter()
        .find(|r| r["id"] == scan.as_str())
        .unwrap()["path"]
        .as_str()
        .unwrap()
        .to_owned();
    let plain = stock_age_decrypts(&w.root.join("ids.txt"), Path::new(&path))
        .expect("stock age opens the record");
    assert_eq!(plain, std::fs::read(w.root.join("scan.bin")).unwrap());
}

#[test]
fn share_open_revoke_refuse() {
    let w = world();
    let doc = provider(&w, "doc", "Dr. Ada");
    request(&doc, "req", &["--type", "AllergyIntolerance"]);
    // By QR image, as a phone would scan it.
    let out = w
        .patient
        .run(&["share", "req/request.png", "--yes", "--out", "g.bundle"]);
    assert!(
        out.contains("UNVERIFIED"),
        "no directory pinned, so the provider is unverified:\n{out}"
    );
    let opened = doc.run(&["provider", "open", "g.bundle", "--out", "recv"]);
    assert!(opened.contains("AllergyIntolerance"), "{opened}");
    let files: Vec<_> = std::fs::read_dir(w.root.join("recv")).unwrap().collect();
    assert_eq!(files.len(), 1, "exactly the granted record");
    let json = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(json.contains("Penicillin") && !json.contains("Metformin"));

    let grant = w.patient.json(&["grants", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    w.patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    doc.run(&[
        "provider",
        "revocation",
        &format!("rev/revocation-{grant}.cose"),
    ]);
    let (code, err) = doc.fail(&["provider", "open", "g.bundle"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("revoked"), "{err}");
    // The patient will not issue a new bundle under a revoked grant either.
    let (_, err) = w
        .patient
        .fail(&["grant", "bundle", &grant, "--out", "again.bundle"]);
    assert!(err.contains("revoked"), "{err}");
}

#[test]
fn revoking_one_provider_rekeys_for_the_other() {
    let w = world();
    let p1 = provider(&w, "p1", "Provider One");
    let p2 = provider(&w, "p2", "Provider Two");
    request(&p1, "r1", &["--type", "AllergyIntolerance"]);
    request(&p2, "r2", &["--type", "AllergyIntolerance"]);
    w.patient
        .run(&["share", "r1/request.uri", "--yes", "--out", "b1"]);
    w.patient
        .run(&["share", "r2/request.uri", "--yes", "--out", "b2"]);
    p1.run(&["provider", "open", "b1", "--keys", "p1.keys"]);
    p2.run(&["provider", "open", "b2", "--keys", "p2-v1.keys"]);

    let grants = w.patient.json(&["grants", "--json"]);
    let g1 = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["provider_name"] == "Provider One")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let g2 = grants
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["provider_name"] == "Provider Two")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let revoke = w.patient.run(&["revoke", &g1, "--yes", "--out", "rev"]);
    assert!(revoke.contains("re-keyed 1 record"), "{revoke}");

    // The later version of R, as it now sits in the wallet.
    let r = records(&w.patient)
        .into_iter()
        .find(|r| r["resource_type"] == "AllergyIntolerance")
        .unwrap();
    assert_eq!(r["version"], 2);
    let v2 = Path::new(r["path"].as_str().unwrap()).to_path_buf();
    assert!(
        stock_age_decrypts(&w.root.join("p1.keys"), &v2).is_none(),
        "P1's keys must not open the new version"
    );
    assert!(
        stock_age_decrypts(&w.root.join("p2-v1.keys"), &v2).is_none(),
        "nor P2's old keys"
    );
    // P2 receives a re-issued bundle for the new version and reads it.
    let updated = format!("rev/bundle-{g2}.ckb");
    p2.run(&["provider", "open", &updated, "--keys", "p2-v2.keys"]);
    let plain =
        stock_age_decrypts(&w.root.join("p2-v2.keys"), &v2).expect("P2 reads the later version");
    assert!(String::from_utf8(plain).unwrap().contains("Penicillin"));
    // P1 cannot use P2's bundle.
    let (code, _) = p1.fail(&["provider", "open", &updated]);
    assert_eq!(code, 4);
}

#[test]
fn expired_grants_and_requests_are_refused_with_an_injected_clock() {
    let w = world();
    let t0 = 1_900_000_000u64;
    let mut doc = provider(&w, "doc", "Dr. Clock");
    doc.now = Some(t0);
    request(
        &doc,
        "req",
        &["--type", "Observation", "--valid-for", "10m"],
    );
    let mut patient = w.patient.clone();
    patient.now = Some(t0 + 3600);
    let (code, err) = patient.fail(&["share", "req/request.uri", "--yes", "--out", "late.bundle"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("xpired"), "{err}");
    patient.now = Some(t0 + 60);
    patient.run(&[
        "share",
        "req/request.uri",
        "--yes",
        "--duration",
        "1d",
        "--out",
        "g.bundle",
    ]);
    doc.now = Some(t0 + 120);
    doc.run(&["provider", "open", "g.bundle"]);
    doc.now = Some(t0 + 60 + 86_400);
    let (code, err) = doc.fail(&["provider", "open", "g.bundle"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.to_lowercase().contains("expired"), "{err}");
}

#[test]
fn a_directory_verifies_providers_and_flags_impostors() {
    let w = world();
    let council = Actor::new(&w.root, "council");
    council.run(&["directory", "create", "Medical Council"]);
    let council_key = council.run(&["directory", "key"]).trim().to_owned();
    let real = provider(&w, "real", "Dr. Real");
    let real_key = real.run(&["provider", "key"]).trim().to_owned();
    let impostor = provider(&w, "fake", "Dr. Real");
    council.run(&["directory", "add", "Dr. Real", &real_key]);
    council.run(&["directory", "sign", "--out", "council.dir"]);
    w.patient.run(&["directory", "import", "council.dir"]);

    request(&real, "real-req", &["--type", "Observation"]);
    // Not pinned yet: unverified even though the directory lists it.
    let out = w
        .patient
        .try_run(&["share", "real-req/request.uri", "--out", "x"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("UNVERIFIED"));

    w.patient.run(&["directory", "trust", &council_key]);
    let out = w
        .patient
        .try_run(&["share", "real-req/request.uri", "--out", "x"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("VERIFIED by Medical Council") && !text.contains("UNVERIFIED"),
        "{text}"
    );

    request(&impostor, "fake-req", &["--type", "Observation"]);
    let out = w
        .patient
        .try_run(&["share", "fake-req/request.uri", "--out", "x"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("UNVERIFIED: no pinned directory lists this provider"),
        "{text}"
    );
}

#[test]
fn unpinned_nodes_must_be_confirmed() {
    let w = world();
    let doc = provider(&w, "doc", "Dr. Node");
    request(
        &doc,
        "req",
        &["--type", "Observation", "--node", "http://127.0.0.1:9/"],
    );
    let (code, err) = w
        .patient
        .fail(&["share", "req/request.uri", "--yes", "--out", "g.bundle"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("not pinned"), "{err}");
    assert!(!w.root.join("g.bundle").exists());
    w.patient.run(&[
        "share",
        "req/request.uri",
        "--yes",
        "--confirm-nodes",
        "--out",
        "g.bundle",
    ]);
    assert!(w
        .patient
        .run(&["node", "list"])
        .contains("http://127.0.0.1:9"));
}

#[test]
fn grants_convert_to_fhir_consent() {
    let w = world();
    let doc = provider(&w, "doc", "Dr. Consent");
    request(&doc, "req", &["--type", "MedicationStatement"]);
    w.patient
        .run(&["share", "req/request.uri", "--yes", "--out", "g.bundle"]);
    let grant = w.patient.json(&["grants", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let consent = w.patient.json(&["grant", "show", &grant, "--fhir"]);
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "active");
    assert!(consent.to_string().contains("MedicationStatement"));
}

#[test]
fn bad_input_gets_a_clear_error_and_loses_nothing() {
    let w = world();
    let before = records(&w.patient);
    std::fs::write(
        w.root.join("garbage.png"),
        b"\x89PNG\r\n\x1a\nnot really a png",
    )
    .unwrap();
    let (code, err) = w
        .patient
        .fail(&["share", "garbage.png", "--yes", "--out", "x"]);
    assert_ne!(code, 101, "no panic: {err}");
    assert!(err.contains("error"), "{err}");
    let (_, err) = w
        .patient
        .fail(&["share", "carekey:request/v1/AAAA", "--yes", "--out", "x"]);
    assert!(!err.contains("panicked"), "{err}");
    let mut wrong = w.patient.clone();
    wrong.passphrase = "not the passphrase".into();
    let (code, err) = wrong.fail(&["records"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("passphrase"), "{err}");
    assert_eq!(records(&w.patient), before);
}
