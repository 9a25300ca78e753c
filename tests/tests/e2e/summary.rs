//! The patient summary (International Patient Summary) through real `carekey` processes and
//! files: HL7's IPS example imported, the wallet's summary exported, printed, saved as a record,
//! shared under a grant, and imported into another wallet.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use carekey_model::fhir::ips;
use serde_json::Value;

use crate::cli::{records, Actor};

/// 2026-05-28T20:26:40Z.
const NOW: u64 = 1_780_000_000;

fn hl7_example(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("vectors/node_modules/hl7.fhir.uv.ips/example")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `npm ci --prefix tests/vectors`",
        path.display()
    );
    path
}

fn patient(root: &Path, name: &str) -> Actor {
    let mut p = Actor::new(root, name);
    p.now = Some(NOW);
    p.run(&["init"]);
    p
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `Type/id` of every resource in a Bundle but its Composition.
fn resources(bundle: &Value) -> BTreeSet<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["resourceType"] != "Composition")
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn an_hl7_ips_goes_in_and_a_patient_summary_comes_out() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ada = patient(root, "ada");
    let example = hl7_example("Bundle-bundle-ips-all-sections.json");
    let original = read_json(&example);
    ada.run(&["import", example.to_str().unwrap()]);
    std::fs::write(root.join("scan.bin"), [7u8; 1000]).unwrap();
    ada.run(&["import", "scan.bin"]);
    // One record per resource of the IPS (its Composition left out), plus the file.
    let all = records(&ada);
    assert_eq!(
        all.len(),
        original["entry"].as_array().unwrap().len() - 1 + 1
    );
    assert!(all.iter().all(|r| r["resource_type"] != "Composition"));

    // Export: a valid IPS as of CAREKEY_NOW, with every resource the example had.
    let out = ada.run(&["summary", "export", "--out", "ips.json"]);
    assert!(
        out.contains("wrote the patient summary to ips.json"),
        "{out}"
    );
    let exported = read_json(&root.join("ips.json"));
    assert_eq!(ips::check(&exported), Ok(()));
    assert_eq!(exported["timestamp"], "2026-05-28T20:26:40Z");
    assert_eq!(resources(&exported), resources(&original));
    let full_urls: Vec<&str> = exported["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert!(
        full_urls.iter().all(|u| u.starts_with("urn:uuid:")),
        "{full_urls:?}"
    );

    // To standard output, the same document (but for its fresh identifiers).
    let piped: Value =
        serde_json::from_str(&ada.run(&["summary", "export", "--out", "-"])).unwrap();
    assert_eq!(ips::check(&piped), Ok(()));
    assert_eq!(resources(&piped), resources(&exported));
    assert_ne!(piped["identifier"], exported["identifier"]);

    // Print: the patient, then each section with its entries in plain words.
    let printed = ada.run(&["summary", "print"]);
    for expected in [
        "International Patient Summary of Patricia JORDANA — female, born 1956-09-30",
        "as of 2026-05-28T20:26:40Z",
        "\nProblems\n  - Essential hypertension — active (2016-05-25)\n",
        "\nAllergies and intolerances\n  - Penicillin\n",
        "\nMedication summary\n  - cilazapril 500 microgram tablet, 90 — Take 1 daily (2023-12-01)\n",
        "\nMedical devices\n  - Hip prosthesis — active\n",
        "\nAdvance directives\n  - Do Not Resuscitate — Treatment (2021-09-01)\n",
        "41 records in the summary",
    ] {
        assert!(printed.contains(expected), "{expected:?} not in:\n{printed}");
    }
    assert!(!printed.contains("scan.bin"), "{printed}");

    // Save: a record of its own, the same IPS inside.
    let saved = ada.run(&["summary", "save"]);
    assert!(
        saved.contains("saved the patient summary as record"),
        "{saved}"
    );
    let record = records(&ada)
        .into_iter()
        .find(|r| r["resource_type"] == "Bundle")
        .expect("the saved summary is a record");
    assert_eq!(record["category"], "documents");
    assert_eq!(record["title"], "International Patient Summary");
    ada.run(&["export", record["id"].as_str().unwrap(), "saved.json"]);
    let stored = read_json(&root.join("saved.json"));
    assert_eq!(ips::check(&stored), Ok(()));
    assert_eq!(resources(&stored), resources(&exported));

    // Shared under a grant like any record: the provider opens exactly the summary.
    let mut doc = Actor::new(root, "doc");
    doc.now = Some(NOW);
    doc.run(&["provider", "init", "--name", "Dr. Ips"]);
    doc.run(&[
        "provider",
        "request",
        "--purpose",
        "care",
        "--duration",
        "7d",
        "--type",
        "Bundle",
        "--out",
        "req",
    ]);
    ada.run(&["share", "req/request.uri", "--yes", "--out", "g.bundle"]);
    doc.run(&["provider", "open", "g.bundle", "--out", "recv"]);
    let received: Vec<PathBuf> = std::fs::read_dir(root.join("recv"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(read_json(&received[0]), stored);

    // The exported IPS imports into another wallet, whose own summary has the same resources.
    let bob = patient(root, "bob");
    bob.run(&["import", "ips.json"]);
    assert_eq!(
        records(&bob).len(),
        exported["entry"].as_array().unwrap().len() - 1
    );
    bob.run(&["summary", "export", "--out", "again.json"]);
    let again = read_json(&root.join("again.json"));
    assert_eq!(ips::check(&again), Ok(()));
    assert_eq!(resources(&again), resources(&exported));
}

#[test]
fn a_wallet_without_a_patient_record_says_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let p = patient(tmp.path(), "p");
    std::fs::write(
        tmp.path().join("allergy.json"),
        r#"{"resourceType":"AllergyIntolerance","code":{"text":"Penicillin"}}"#,
    )
    .unwrap();
    p.run(&["import", "allergy.json"]);
    for args in [
        &["summary", "print"][..],
        &["summary", "save"],
        &["summary", "export", "--out", "x.json"],
    ] {
        let (code, err) = p.fail(args);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("no record is a FHIR Patient resource"),
            "{err}"
        );
    }
    assert!(!tmp.path().join("x.json").exists());
    assert_eq!(records(&p).len(), 1, "nothing saved");
}
