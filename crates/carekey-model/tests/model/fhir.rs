//! FHIR: splitting, summaries and the Consent mapping, against HL7's official R4 examples.

use std::path::PathBuf;

use carekey_model::fhir::{self, Category, FhirError};
use carekey_model::*;
use serde_json::{json, Value};

use crate::fixtures::*;

fn examples_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors/node_modules/hl7.fhir.r4.examples");
    assert!(
        dir.join("Consent-consent-example-smartonfhir.json")
            .is_file(),
        "HL7 FHIR R4 examples missing at {}: run `npm ci --prefix tests/vectors`",
        dir.display()
    );
    dir
}

fn example(name: &str) -> Vec<u8> {
    std::fs::read(examples_dir().join(name)).unwrap()
}

fn split_one(name: &str) -> fhir::Resource {
    let mut resources = fhir::split(&example(name)).unwrap().unwrap();
    assert_eq!(resources.len(), 1, "{name}");
    resources.remove(0)
}

fn summary_of(name: &str) -> fhir::Summary {
    fhir::summary(&split_one(name))
}

// ----- split -----

#[test]
fn split_bundles_into_their_resources() {
    let lipids = fhir::split(&example("Bundle-lipids.json"))
        .unwrap()
        .unwrap();
    let ids: Vec<_> = lipids
        .iter()
        .map(|r| (r.resource_type.as_str(), r.id.as_deref().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("DiagnosticReport", "lipids"),
            ("Observation", "cholesterol"),
            ("Observation", "triglyceride"),
            ("Observation", "hdlcholesterol"),
            ("Observation", "ldlcholesterol"),
        ]
    );
    let cholesterol: Value = serde_json::from_slice(&lipids[1].json).unwrap();
    assert_eq!(cholesterol["valueQuantity"]["value"], json!(6.3));
    assert!(
        cholesterol.get("fullUrl").is_none(),
        "the resource, not the entry"
    );

    let search = fhir::split(&example("Bundle-bundle-example.json"))
        .unwrap()
        .unwrap();
    let types: Vec<_> = search.iter().map(|r| r.resource_type.as_str()).collect();
    assert_eq!(types, ["MedicationRequest", "Medication"]);

    // A batch response whose entries are search-set Bundles: flattened.
    let nested = fhir::split(&example("Bundle-bundle-response-medsallergies.json"))
        .unwrap()
        .unwrap();
    assert_eq!(nested[0].resource_type, "Patient");
    assert!(nested.iter().all(|r| r.resource_type != "Bundle"));
}

#[test]
fn split_every_hl7_bundle_without_error() {
    let mut bundles = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("Bundle-") && name.ends_with(".json") {
            let resources = fhir::split(&std::fs::read(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            for r in resources.unwrap() {
                let _ = fhir::summary(&r);
            }
            bundles += 1;
        }
    }
    assert!(bundles >= 40, "found only {bundles} HL7 example Bundles");
}

#[test]
fn split_single_resources_and_ordinary_files() {
    let patient = split_one("Patient-example.json");
    assert_eq!(patient.resource_type, "Patient");
    assert_eq!(patient.id.as_deref(), Some("example"));
    assert_eq!(fhir::split(b"%PDF-1.7 ...").unwrap(), None);
    assert_eq!(fhir::split(b"{\"hello\": 1}").unwrap(), None);
    assert_eq!(fhir::split(b"[1,2,3]").unwrap(), None);
    assert_eq!(fhir::split(b"{not json").unwrap(), None);
    assert_eq!(fhir::split(b"").unwrap(), None);
    assert_eq!(
        fhir::split(b"{\"resourceType\":\"Bundle\",\"type\":\"collection\"}").unwrap(),
        Some(vec![])
    );
    assert_eq!(
        fhir::split(b"{\"resourceType\":\"Bundle\",\"entry\":[]}").unwrap(),
        Some(vec![])
    );
}

#[test]
fn split_refuses_malformed_fhir() {
    for bad in [
        &b"{\"resourceType\":\"Bundle\",\"entry\":{}}"[..],
        b"{\"resourceType\":\"Bundle\",\"entry\":[1]}",
        b"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{\"id\":\"x\"}}]}",
        b"{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":[]}]}",
        b"{\"resourceType\":7}",
        b"{\"resourceType\":\"not a type\"}",
        b"{\"resourceType\":\"Patient\",\"id\":5}",
    ] {
        assert!(
            matches!(fhir::split(bad), Err(FhirError::Malformed { .. })),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // Deeply nested Bundles stop at the cap instead of recursing.
    let mut deep = String::from("{\"resourceType\":\"Patient\"}");
    for _ in 0..20 {
        deep = format!("{{\"resourceType\":\"Bundle\",\"entry\":[{{\"resource\":{deep}}}]}}");
    }
    assert!(matches!(
        fhir::split(deep.as_bytes()),
        Err(FhirError::TooLarge { .. })
    ));
    // Hostile JSON nesting is refused by the parser's depth limit, not the stack.
    let hostile = format!(
        "{{\"resourceType\":\"Patient\",\"x\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    assert!(!matches!(fhir::split(hostile.as_bytes()), Ok(Some(_))));
}

// ----- summary -----

#[test]
fn summaries_of_hl7_examples() {
    let allergy = summary_of("AllergyIntolerance-example.json");
    assert_eq!(allergy.category, Category::Allergy);
    assert_eq!(allergy.title, "Cashew nuts");
    assert_eq!(allergy.detail.as_deref(), Some("criticality high"));
    assert_eq!(allergy.date.as_deref(), Some("2014-10-09T14:58:00+11:00"));

    let condition = summary_of("Condition-example.json");
    assert_eq!(condition.category, Category::Condition);
    assert_eq!(condition.title, "Burnt Ear");
    assert_eq!(condition.detail.as_deref(), Some("active"));
    assert_eq!(condition.date.as_deref(), Some("2012-05-24"));

    let bp = summary_of("Observation-blood-pressure.json");
    assert_eq!(bp.category, Category::Observation);
    assert_eq!(bp.title, "Blood pressure systolic & diastolic");
    assert_eq!(bp.detail.as_deref(), Some("107/60 mmHg"));
    assert_eq!(bp.date.as_deref(), Some("2012-09-17"));

    let lipids = fhir::split(&example("Bundle-lipids.json"))
        .unwrap()
        .unwrap();
    let cholesterol = fhir::summary(&lipids[1]);
    assert_eq!(
        (cholesterol.title.as_str(), cholesterol.detail.as_deref()),
        ("Cholesterol", Some("6.3 mmol/L"))
    );
    let report = fhir::summary(&lipids[0]);
    assert_eq!(
        (report.category, report.title.as_str()),
        (Category::Document, "Lipid Panel")
    );

    let vicodin = summary_of("MedicationRequest-medrx0308.json");
    assert_eq!(vicodin.category, Category::Medication);
    assert_eq!(vicodin.title, "Vicodin 5/500 Oral Tablet");
    assert_eq!(
        vicodin.detail.as_deref(),
        Some("1 tablet every four hours as needed for pain")
    );
    // medicationReference to a contained Medication.
    let oxycodone = summary_of("MedicationRequest-medrx0301.json");
    assert_eq!(oxycodone.title, "Oral Form Oxycodone (product)");
    assert_eq!(
        oxycodone.detail.as_deref(),
        Some("one to two tablets every 4-6 hours as needed for rib pain")
    );
    let statement = summary_of("MedicationStatement-example001.json");
    assert_eq!(statement.title, "Tylenol PM");
    assert_eq!(
        statement.detail.as_deref(),
        Some("1-2 tablets once daily at bedtime as needed for restless legs")
    );

    let flu = summary_of("Immunization-example.json");
    assert_eq!(
        (flu.category, flu.title.as_str()),
        (Category::Immunization, "Fluvax (Influenza)")
    );
    assert_eq!(flu.date.as_deref(), Some("2013-01-10"));

    let appendix = summary_of("Procedure-example.json");
    assert_eq!(
        (appendix.category, appendix.title.as_str()),
        (Category::Procedure, "Appendectomy")
    );

    let doc = summary_of("DocumentReference-example.json");
    assert_eq!(
        (doc.category, doc.title.as_str()),
        (Category::Document, "Physical")
    );

    let patient = summary_of("Patient-example.json");
    assert_eq!(
        (patient.category, patient.title.as_str()),
        (Category::Patient, "Peter James Chalmers")
    );
    assert_eq!(patient.detail.as_deref(), Some("male, born 1974-12-25"));

    let other = fhir::summary(&fhir::Resource {
        resource_type: "Basic".into(),
        id: None,
        json: b"{}".to_vec(),
    });
    assert_eq!(
        (other.category, other.title.as_str(), other.detail),
        (Category::Other, "Basic", None)
    );
}

#[test]
fn observation_value_forms() {
    let obs = |value: Value| {
        let mut r = json!({"resourceType": "Observation", "code": {"text": "Thing"}});
        r.as_object_mut()
            .unwrap()
            .extend(value.as_object().unwrap().clone());
        fhir::summary(&fhir::Resource {
            resource_type: "Observation".into(),
            id: None,
            json: serde_json::to_vec(&r).unwrap(),
        })
        .detail
    };
    assert_eq!(
        obs(json!({"valueString": "negative"})).as_deref(),
        Some("negative")
    );
    assert_eq!(
        obs(json!({"valueQuantity": {"value": 5, "comparator": "<", "code": "mg"}})).as_deref(),
        Some("<5 mg")
    );
    assert_eq!(
        obs(json!({"valueCodeableConcept": {"coding": [{"code": "POS", "display": "Positive"}]}}))
            .as_deref(),
        Some("Positive")
    );
    assert_eq!(obs(json!({"valueBoolean": true})).as_deref(), Some("yes"));
    assert_eq!(
        obs(json!({"component": [
            {"code": {"text": "Eye"}, "valueInteger": 4},
            {"code": {"text": "Verbal"}, "valueString": "confused"}
        ]}))
        .as_deref(),
        Some("Eye: 4, Verbal: confused")
    );
    assert_eq!(obs(json!({})), None);
}

// ----- Consent -----

#[test]
fn every_hl7_consent_example_has_readable_terms() {
    let mut count = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("Consent-") && name.ends_with(".json") {
            let value: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let terms = fhir::consent_terms(&value).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(terms.status, "active", "{name}");
            // None of HL7's examples is a Carekey grant.
            assert!(fhir::consent_to_grant(&value).is_err(), "{name}");
            count += 1;
        }
    }
    assert_eq!(count, 12);
}

#[test]
fn hl7_consent_terms() {
    let read =
        |name: &str| fhir::consent_terms(&serde_json::from_slice(&example(name)).unwrap()).unwrap();
    let smart = read("Consent-consent-example-smartonfhir.json");
    assert!(smart.permit);
    assert_eq!(smart.resource_types, ["MedicationRequest"]);
    assert_eq!(
        smart.period,
        Some((
            "2016-06-23T17:02:33+10:00".to_string(),
            "2016-06-23T17:32:33+10:00".to_string()
        ))
    );
    let not_org = read("Consent-consent-example-notOrg.json");
    assert!(!not_org.permit);
    assert_eq!(not_org.actors, ["Organization/f001"]);
    let not_this = read("Consent-consent-example-notThis.json");
    assert_eq!(not_this.data_references, ["Task/example3"]);
    let emergency = read("Consent-consent-example-Emergency.json");
    assert!(!emergency.permit, "its only typed provision denies");
    assert_eq!(emergency.purposes, ["ETREAT"]);
    let not_them = read("Consent-consent-example-notThem.json");
    assert_eq!(not_them.actors, ["Fictive Nurse"]);
    let signature = read("Consent-consent-example-signature.json");
    assert!(
        signature.resource_types.is_empty(),
        "its class is a MIME type, not a resource type"
    );
    assert_eq!(
        signature.period,
        Some(("2015-10-10".into(), "2016-10-10".into()))
    );
    assert!(matches!(
        fhir::consent_terms(&json!({"resourceType": "Patient"})),
        Err(FhirError::NotConsent)
    ));
    assert!(fhir::consent_terms(&json!({"resourceType": "Consent"})).is_err());
}

#[test]
fn grant_to_consent_is_lossless_and_uses_real_elements() {
    let g = signed_grant();
    let consent = fhir::grant_to_consent(&g);
    let back = fhir::consent_to_grant(&consent).unwrap();
    assert_eq!(back.as_bytes(), g.as_bytes());
    // Through JSON text too, as a FHIR server would store it.
    let text = serde_json::to_string_pretty(&consent).unwrap();
    let reparsed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        fhir::consent_to_grant(&reparsed).unwrap().as_bytes(),
        g.as_bytes()
    );

    let d = g.document();
    assert_eq!(consent["resourceType"], "Consent");
    assert_eq!(consent["status"], "active");
    assert_eq!(consent["identifier"][0]["system"], "urn:carekey:grant");
    assert_eq!(consent["identifier"][0]["value"], d.grant_id.to_string());
    assert_eq!(consent["scope"]["coding"][0]["code"], "patient-privacy");
    assert_eq!(consent["category"][0]["coding"][0]["code"], "59284-0");
    assert_eq!(
        consent["patient"]["identifier"]["system"],
        "urn:carekey:ed25519"
    );
    assert_eq!(
        consent["patient"]["identifier"]["value"],
        patient().public().to_string()
    );
    assert_eq!(consent["dateTime"], "2023-11-14T22:13:20Z");
    let p = &consent["provision"];
    assert_eq!(p["type"], "permit");
    assert_eq!(
        p["period"],
        json!({"start": "2023-11-14T22:13:20Z", "end": "2023-11-14T23:13:20Z"})
    );
    assert_eq!(p["actor"][0]["role"]["coding"][0]["code"], "IRCP");
    assert_eq!(
        p["actor"][0]["reference"]["identifier"]["value"],
        provider().public().to_string()
    );
    assert_eq!(p["actor"][0]["reference"]["display"], d.provider_name);
    assert_eq!(p["purpose"][0]["display"], "Treatment");
    assert_eq!(
        p["class"],
        json!([{"system": "http://hl7.org/fhir/resource-types", "code": "Observation"}])
    );
    assert_eq!(p["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        p["data"][0]["reference"]["identifier"]["value"],
        record(1).to_string()
    );
    // Extensions only for what Consent has no element for; no embedded grant.
    let urls: Vec<&str> = consent["extension"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls.len(),
        4,
        "request hash, two nodes, signature: {urls:?}"
    );
    assert!(urls
        .iter()
        .all(|u| u.starts_with("https://carekey.example/fhir/StructureDefinition/")));
    assert!(!text.contains("attachment") && !text.contains("sourceAttachment"));
    assert!(text.len() < 4000);
    // Any R4 reader sees the same terms.
    let terms = fhir::consent_terms(&consent).unwrap();
    assert!(terms.permit);
    assert_eq!(terms.actors, std::slice::from_ref(&d.provider_name));
    assert_eq!(terms.resource_types, ["Observation"]);
    assert_eq!(terms.purposes, ["Treatment"]);
    assert_eq!(
        terms.data_references,
        [record(1).to_string(), record(2).to_string()]
    );
}

#[test]
fn consent_round_trip_with_empty_optional_parts() {
    let mut g = grant();
    g.purpose = String::new();
    g.provider_name = String::new();
    g.scope = Scope::new(vec![], vec![]);
    g.nodes = vec![];
    let signed = Signed::sign(g, &patient()).unwrap();
    let consent = fhir::grant_to_consent(&signed);
    assert!(consent["provision"].get("purpose").is_none());
    assert_eq!(
        fhir::consent_to_grant(&consent).unwrap().as_bytes(),
        signed.as_bytes()
    );
}

#[test]
fn altered_consents_are_refused() {
    let consent = fhir::grant_to_consent(&signed_grant());
    let mut later = consent.clone();
    later["provision"]["period"]["end"] = json!("2030-01-01T00:00:00Z");
    assert!(matches!(
        fhir::consent_to_grant(&later),
        Err(FhirError::Grant(DocumentError::BadSignature))
    ));
    let mut more = consent.clone();
    more["provision"]["class"]
        .as_array_mut()
        .unwrap()
        .push(json!({"system": "http://hl7.org/fhir/resource-types", "code": "Condition"}));
    assert!(matches!(
        fhir::consent_to_grant(&more),
        Err(FhirError::Grant(DocumentError::BadSignature))
    ));
    let mut extra_actor = consent.clone();
    let actor = extra_actor["provision"]["actor"][0].clone();
    extra_actor["provision"]["actor"]
        .as_array_mut()
        .unwrap()
        .push(actor);
    assert!(matches!(
        fhir::consent_to_grant(&extra_actor),
        Err(FhirError::NotCarekeyGrant { .. })
    ));
    let mut nested = consent.clone();
    nested["provision"]["provision"] =
        json!([{"type": "permit", "class": [{"code": "Condition"}]}]);
    assert!(matches!(
        fhir::consent_to_grant(&nested),
        Err(FhirError::NotCarekeyGrant { .. })
    ));
    let mut inactive = consent.clone();
    inactive["status"] = json!("inactive");
    assert!(matches!(
        fhir::consent_to_grant(&inactive),
        Err(FhirError::NotCarekeyGrant { .. })
    ));
    let mut no_sig = consent.clone();
    no_sig["extension"].as_array_mut().unwrap().pop();
    assert!(matches!(
        fhir::consent_to_grant(&no_sig),
        Err(FhirError::NotCarekeyGrant { .. })
    ));
    let mut local_time = consent.clone();
    local_time["dateTime"] = json!("2023-11-15T00:13:20+02:00");
    assert!(matches!(
        fhir::consent_to_grant(&local_time),
        Err(FhirError::NotCarekeyGrant { .. })
    ));
    assert!(matches!(
        fhir::consent_to_grant(&json!({"resourceType": "Patient"})),
        Err(FhirError::NotConsent)
    ));
    // What FHIR servers add is tolerated.
    let mut stored = consent.clone();
    stored["meta"] = json!({"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"});
    stored["text"] = json!({"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">grant</div>"});
    assert_eq!(
        fhir::consent_to_grant(&stored).unwrap().as_bytes(),
        signed_grant().as_bytes()
    );
}

#[test]
fn consent_nodes_carry_url_and_log_key_as_separate_fields() {
    let key = "log.example+0a1b2c3d+AQm7qJ2Xh4kQ0wTfQd1N3xJx4j1b5c8d9e0f1a2b3c4d5e6f";
    let mut g = grant();
    g.nodes = vec![
        "http://127.0.0.1:7000".into(),
        format!("https://node.example {key}"),
        "odd  spacing\tkept".into(),
    ];
    let signed = Signed::sign(g, &patient()).unwrap();
    let consent = fhir::grant_to_consent(&signed);
    let nodes: Vec<&Value> = consent["extension"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["url"] == "https://carekey.example/fhir/StructureDefinition/node")
        .collect();
    assert_eq!(
        nodes[0]["extension"],
        json!([{ "url": "url", "valueUrl": "http://127.0.0.1:7000" }])
    );
    assert_eq!(
        nodes[1]["extension"],
        json!([
            { "url": "url", "valueUrl": "https://node.example" },
            { "url": "logKey", "valueString": key },
        ])
    );
    assert_eq!(
        nodes[2]["extension"],
        json!([{ "url": "text", "valueString": "odd  spacing\tkept" }])
    );
    // FHIR ext-1: an extension has a value or sub-extensions, never both.
    assert!(nodes.iter().all(|n| n.get("valueUrl").is_none()));
    assert_eq!(
        fhir::consent_to_grant(&consent).unwrap().as_bytes(),
        signed.as_bytes()
    );
    // A changed key is a changed grant.
    let mut rekeyed = consent.clone();
    let ext = rekeyed["extension"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|e| e["extension"][1]["url"] == "logKey")
        .unwrap();
    ext["extension"][1]["valueString"] = json!("other.example+00000000+AAAA");
    assert!(matches!(
        fhir::consent_to_grant(&rekeyed),
        Err(FhirError::Grant(DocumentError::BadSignature))
    ));
}
