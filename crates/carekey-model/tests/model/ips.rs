//! International Patient Summary: building, checking, outlining, and importing one back.

use std::collections::{BTreeMap, BTreeSet};

use carekey_model::fhir;
use carekey_model::fhir::ips::{
    self, BuildError, IpsInput, IpsProblem, IpsResource, Section, Uuid,
};
use serde_json::{json, Value};

const NOW: u64 = 1_780_000_000; // 2026-05-28T20:26:40Z

fn res(resource: Value) -> IpsResource {
    IpsResource {
        resource,
        origin: Some("records.json".into()),
    }
}

fn patient() -> Value {
    json!({"resourceType": "Patient", "id": "me", "name": [{"given": ["Ada"], "family": "Lovelace"}],
           "birthDate": "1815-12-10", "generalPractitioner": [{"reference": "Practitioner/gp"}]})
}

/// A wallet's worth of resources, some that belong in a summary and some that do not.
fn resources() -> Vec<IpsResource> {
    vec![
        res(
            json!({"resourceType": "AllergyIntolerance", "id": "a1", "code": {"text": "Penicillin"},
                   "criticality": "high", "patient": {"reference": "Patient/other-system-id"}}),
        ),
        res(
            json!({"resourceType": "Condition", "id": "c1", "code": {"text": "Asthma"},
                   "clinicalStatus": {"coding": [{"code": "active"}]}, "subject": {"reference": "Patient/me"}}),
        ),
        res(
            json!({"resourceType": "Condition", "id": "c2", "code": {"text": "Chickenpox"},
                   "clinicalStatus": {"coding": [{"code": "resolved"}]}, "subject": {"reference": "Patient/me"}}),
        ),
        res(
            json!({"resourceType": "Condition", "id": "c3", "code": {"text": "Typo"},
                   "verificationStatus": {"coding": [{"code": "entered-in-error"}]}}),
        ),
        res(
            json!({"resourceType": "MedicationStatement", "id": "m1", "status": "active",
                   "medicationReference": {"reference": "Medication/med"}, "subject": {"reference": "Patient/me"},
                   "informationSource": {"reference": "Practitioner/gone", "display": "Dr Gone"}}),
        ),
        res(
            json!({"resourceType": "Medication", "id": "med", "code": {"text": "Salbutamol 100 µg"}}),
        ),
        res(
            json!({"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "Glucose"},
                   "valueQuantity": {"value": 6.3, "unit": "mmol/L"}, "subject": {"reference": "Patient/me"},
                   "performer": [{"reference": "https://elsewhere.example/Organization/lab"}]}),
        ),
        res(
            json!({"resourceType": "Observation", "id": "o2", "status": "final",
                   "category": [{"coding": [{"code": "vital-signs"}]}], "code": {"text": "Heart rate"},
                   "valueQuantity": {"value": 61, "unit": "/min"}}),
        ),
        res(
            json!({"resourceType": "Immunization", "id": "i1", "status": "completed",
                   "vaccineCode": {"text": "Tetanus"}, "patient": {"reference": "Patient/me"},
                   "occurrenceDateTime": "2020-01-01"}),
        ),
        res(json!({"resourceType": "Practitioner", "id": "gp", "name": [{"text": "Dr Who"}]})),
        res(json!({"resourceType": "Organization", "id": "unused", "name": "Nobody refers to me"})),
        res(json!({"resourceType": "Composition", "id": "old", "status": "final"})),
        // The same allergy imported twice is one entry.
        res(
            json!({"resourceType": "AllergyIntolerance", "id": "a1", "code": {"text": "Penicillin"},
                   "criticality": "high", "patient": {"reference": "Patient/other-system-id"}}),
        ),
    ]
}

fn input(resources: Vec<IpsResource>) -> IpsInput {
    IpsInput {
        seed: Uuid::from_random([7; 16]),
        now: NOW,
        patient: res(patient()),
        resources,
    }
}

fn entry_types(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["resource"]["resourceType"].as_str().unwrap().to_owned())
        .collect()
}

fn section<'a>(bundle: &'a Value, code: &str) -> Option<&'a Value> {
    bundle["entry"][0]["resource"]["section"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["code"]["coding"][0]["code"] == code)
}

/// The resource an entry's reference names (exact fullUrl match: our bundles use urn:uuid).
fn target<'a>(bundle: &'a Value, reference: &str) -> &'a Value {
    &bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["fullUrl"] == reference)
        .unwrap_or_else(|| panic!("{reference} not in the bundle"))["resource"]
}

#[test]
fn builds_an_ips_document_that_passes_the_checker() {
    let built = ips::build(&input(resources())).unwrap();
    let b = &built.bundle;
    assert_eq!(ips::check(b), Ok(()));
    assert!(ips::is_ips(b));
    assert_eq!(b["type"], "document");
    assert_eq!(b["timestamp"], "2026-05-28T20:26:40Z");
    assert_eq!(b["identifier"]["system"], "urn:ietf:rfc:3986");
    let c = &b["entry"][0]["resource"];
    assert_eq!(c["resourceType"], "Composition");
    assert_eq!(c["status"], "final");
    assert_eq!(c["type"]["coding"][0]["system"], "http://loinc.org");
    assert_eq!(c["type"]["coding"][0]["code"], "60591-5");
    assert_eq!(c["date"], "2026-05-28T20:26:40Z");
    assert_eq!(c["title"], ips::IPS_TITLE);
    assert_eq!(
        target(b, c["subject"]["reference"].as_str().unwrap())["id"],
        "me"
    );
    assert_eq!(c["author"][0]["reference"], c["subject"]["reference"]);

    // Every fullUrl a urn:uuid, all distinct.
    let urls: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["fullUrl"].as_str().unwrap())
        .collect();
    assert!(
        urls.iter()
            .all(|u| u.starts_with("urn:uuid:") && u.len() == 45),
        "{urls:?}"
    );
    assert_eq!(urls.iter().collect::<BTreeSet<_>>().len(), urls.len());

    // In: the Composition, the patient, the section entries, what they refer to (the
    // Medication, the patient's GP). Out: the unreferenced Organization, the old Composition,
    // the entered-in-error Condition, the duplicate allergy.
    assert_eq!(
        entry_types(b),
        [
            "Composition",
            "Patient",
            "AllergyIntolerance",
            "Condition",
            "Condition",
            "MedicationStatement",
            "Medication",
            "Observation",
            "Observation",
            "Immunization",
            "Practitioner"
        ]
    );
    assert_eq!(built.included, [0, 1, 2, 4, 5, 6, 7, 8, 9]);

    let codes: Vec<&str> = c["section"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["11450-4", "48765-2", "10160-0", "11369-6", "30954-2", "8716-3", "11348-0"]
    );
    let problems = section(b, "11450-4").unwrap();
    assert_eq!(problems["entry"].as_array().unwrap().len(), 1);
    assert_eq!(
        target(b, problems["entry"][0]["reference"].as_str().unwrap())["id"],
        "c1"
    );
    assert!(problems["emptyReason"].is_null());
    let past = section(b, "11348-0").unwrap();
    assert_eq!(
        target(b, past["entry"][0]["reference"].as_str().unwrap())["id"],
        "c2"
    );
    let narrative = section(b, "48765-2").unwrap()["text"]["div"]
        .as_str()
        .unwrap();
    assert!(
        narrative.starts_with("<div xmlns=\"http://www.w3.org/1999/xhtml\">"),
        "{narrative}"
    );
    assert!(
        narrative.contains("<li>Penicillin — criticality high</li>"),
        "{narrative}"
    );

    // References: to a Patient (any id) → the subject; to a resource given → its urn:uuid;
    // to nothing given → removed (display kept, or one added), and reported.
    let subject = c["subject"]["reference"].clone();
    let allergy = target(
        b,
        section(b, "48765-2").unwrap()["entry"][0]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(allergy["patient"]["reference"], subject);
    let statement = target(
        b,
        section(b, "10160-0").unwrap()["entry"][0]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        target(
            b,
            statement["medicationReference"]["reference"]
                .as_str()
                .unwrap()
        )["id"],
        "med"
    );
    assert_eq!(
        statement["informationSource"],
        json!({"display": "Dr Gone"})
    );
    let glucose = target(
        b,
        section(b, "30954-2").unwrap()["entry"][0]["reference"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        glucose["performer"][0],
        json!({"display": "Not included in this summary"})
    );
    let dropped: Vec<(Option<usize>, &str)> = built
        .dropped
        .iter()
        .map(|d| (d.resource, d.reference.as_str()))
        .collect();
    assert_eq!(
        dropped,
        [
            (Some(4), "Practitioner/gone"),
            (Some(6), "https://elsewhere.example/Organization/lab")
        ]
    );
}

#[test]
fn building_is_deterministic_and_the_seed_is_the_only_randomness() {
    let one = ips::build(&input(resources())).unwrap();
    let two = ips::build(&input(resources())).unwrap();
    assert_eq!(one, two);
    assert_eq!(
        serde_json::to_vec(&one.bundle).unwrap(),
        serde_json::to_vec(&two.bundle).unwrap()
    );
    let mut other = input(resources());
    other.seed = Uuid::from_random([8; 16]);
    let three = ips::build(&other).unwrap();
    assert_ne!(three.bundle["identifier"], one.bundle["identifier"]);
    assert_ne!(
        three.bundle["entry"][1]["fullUrl"],
        one.bundle["entry"][1]["fullUrl"]
    );
    assert_eq!(entry_types(&three.bundle), entry_types(&one.bundle));
    assert_eq!(three.included, one.included);
}

#[test]
fn an_empty_wallet_still_makes_the_three_required_sections() {
    let built = ips::build(&input(Vec::new())).unwrap();
    let b = &built.bundle;
    assert_eq!(ips::check(b), Ok(()));
    assert_eq!(entry_types(b), ["Composition", "Patient"]);
    let sections = b["entry"][0]["resource"]["section"].as_array().unwrap();
    assert_eq!(sections.len(), 3);
    for s in sections {
        assert!(s["entry"].is_null());
        assert_eq!(
            s["emptyReason"]["coding"][0]["system"],
            "http://terminology.hl7.org/CodeSystem/list-empty-reason"
        );
        assert_eq!(s["emptyReason"]["coding"][0]["code"], "unavailable");
        assert!(s["text"]["div"]
            .as_str()
            .unwrap()
            .contains("Carekey wallet"));
    }
}

#[test]
fn bad_input_is_refused() {
    let mut not_patient = input(Vec::new());
    not_patient.patient = res(json!({"resourceType": "Practitioner"}));
    assert_eq!(ips::build(&not_patient), Err(BuildError::NotAPatient));
    let junk = input(vec![res(json!(["not", "a", "resource"]))]);
    assert_eq!(
        ips::build(&junk),
        Err(BuildError::NotAResource { index: 0 })
    );
    let mut late = input(Vec::new());
    late.now = u64::MAX;
    assert!(matches!(
        ips::build(&late),
        Err(BuildError::TimeOutOfRange { .. })
    ));
}

// ----- the checker flags what a validator would -----

fn ours() -> Value {
    ips::build(&input(resources())).unwrap().bundle
}

fn problems(bundle: &Value) -> Vec<IpsProblem> {
    ips::check(bundle).expect_err("the checker must flag this bundle")
}

#[test]
fn checker_flags_a_missing_composition() {
    let mut b = ours();
    b["entry"].as_array_mut().unwrap().remove(0);
    let p = problems(&b);
    assert!(p.contains(&IpsProblem::CompositionNotFirst), "{p:?}");
}

#[test]
fn checker_flags_a_composition_not_first_or_twice() {
    let mut b = ours();
    let entries = b["entry"].as_array_mut().unwrap();
    let composition = entries[0].clone();
    entries.swap(0, 1);
    let p = problems(&b);
    assert!(p.contains(&IpsProblem::CompositionNotFirst), "{p:?}");
    assert!(
        p.contains(&IpsProblem::ExtraComposition { index: 1 }),
        "{p:?}"
    );

    let mut b = ours();
    let mut again = composition;
    again["fullUrl"] = json!("urn:uuid:00000000-0000-4000-8000-000000000000");
    b["entry"].as_array_mut().unwrap().push(again);
    let p = problems(&b);
    assert!(
        matches!(p[..], [IpsProblem::ExtraComposition { .. }]),
        "{p:?}"
    );
}

#[test]
fn checker_flags_each_missing_required_section() {
    for section in Section::REQUIRED {
        let mut b = ours();
        b["entry"][0]["resource"]["section"]
            .as_array_mut()
            .unwrap()
            .retain(|s| s["code"]["coding"][0]["code"] != section.code());
        assert_eq!(
            problems(&b),
            [IpsProblem::MissingSection {
                code: section.code(),
                title: section.title()
            }]
        );
    }
}

#[test]
fn checker_flags_an_empty_section_without_reason_and_one_with_both() {
    let mut b = ips::build(&input(Vec::new())).unwrap().bundle;
    b["entry"][0]["resource"]["section"][1]
        .as_object_mut()
        .unwrap()
        .remove("emptyReason");
    assert_eq!(
        problems(&b),
        [IpsProblem::EmptySection {
            code: "48765-2",
            title: "Allergies and intolerances"
        }]
    );

    let mut b = ours();
    b["entry"][0]["resource"]["section"][0]["emptyReason"] = json!({"text": "none"});
    assert_eq!(
        problems(&b),
        [IpsProblem::EmptyReasonWithEntries { index: 0 }]
    );
}

#[test]
fn checker_flags_a_dangling_reference() {
    let mut b = ours();
    b["entry"][2]["resource"]["recorder"] =
        json!({"reference": "urn:uuid:11111111-1111-4111-8111-111111111111"});
    assert_eq!(
        problems(&b),
        [IpsProblem::UnresolvedReference {
            index: 2,
            reference: "urn:uuid:11111111-1111-4111-8111-111111111111".into()
        }]
    );
    // A relative reference under a urn:uuid fullUrl does not resolve inside the Bundle either.
    let mut b = ours();
    b["entry"][2]["resource"]["recorder"] = json!({"reference": "Practitioner/gp"});
    assert!(matches!(
        problems(&b)[..],
        [IpsProblem::UnresolvedReference { index: 2, .. }]
    ));
    // A section entry that names nothing.
    let mut b = ours();
    b["entry"][0]["resource"]["section"][0]["entry"][0]["reference"] = json!("urn:uuid:nope");
    assert!(problems(&b).contains(&IpsProblem::UnresolvedReference {
        index: 0,
        reference: "urn:uuid:nope".into()
    }));
}

#[test]
fn checker_flags_the_bundle_and_composition_elements() {
    let mut b = ours();
    b["type"] = json!("collection");
    b.as_object_mut().unwrap().remove("identifier");
    b.as_object_mut().unwrap().remove("timestamp");
    let url = b["entry"][1]["fullUrl"].clone();
    b["entry"][2]["fullUrl"] = url.clone();
    let not_patient = b["entry"][3]["fullUrl"].clone();
    let c = b["entry"][0]["resource"].as_object_mut().unwrap();
    c.remove("title");
    c.remove("author");
    c["type"] = json!({"coding": [{"system": "http://loinc.org", "code": "34133-9"}]});
    c["subject"] = json!({ "reference": not_patient });
    let p = problems(&b);
    for expected in [
        IpsProblem::NotADocument {
            found: "collection".into(),
        },
        IpsProblem::NoIdentifier,
        IpsProblem::NoTimestamp,
        IpsProblem::DuplicateFullUrl {
            full_url: url.as_str().unwrap().into(),
        },
        IpsProblem::NotPatientSummary,
        IpsProblem::MissingElement { element: "title" },
        IpsProblem::MissingElement { element: "author" },
        IpsProblem::SubjectNotPatient,
    ] {
        assert!(p.contains(&expected), "{expected:?} not in {p:?}");
    }
    assert_eq!(
        ips::check(&json!({"resourceType": "Patient"})),
        Err(vec![IpsProblem::NotABundle])
    );
}

#[test]
fn checker_flags_an_entry_in_the_wrong_section() {
    let mut b = ours();
    let allergies = section(&b, "48765-2").unwrap()["entry"].clone();
    b["entry"][0]["resource"]["section"][0]["entry"] = allergies;
    assert_eq!(
        problems(&b),
        [IpsProblem::SectionEntryType {
            code: "11450-4",
            found: "AllergyIntolerance".into()
        }]
    );
}

// ----- reading it back -----

#[test]
fn outline_reads_sections_in_plain_words() {
    let o = ips::outline(&ours());
    assert_eq!(o.title.as_deref(), Some(ips::IPS_TITLE));
    assert_eq!(o.patient.unwrap().title, "Ada Lovelace");
    let lines: Vec<(Option<Section>, Vec<String>)> = o
        .sections
        .iter()
        .map(|s| {
            (
                s.section,
                s.entries.iter().map(|e| e.title.clone()).collect(),
            )
        })
        .collect();
    assert_eq!(
        lines[0],
        (Some(Section::Problems), vec!["Asthma".to_owned()])
    );
    // A statement naming a Medication resource is shown by the medication's name.
    assert_eq!(
        lines[2],
        (
            Some(Section::Medications),
            vec!["Salbutamol 100 µg".to_owned()]
        )
    );
    let empty = ips::outline(&ips::build(&input(Vec::new())).unwrap().bundle);
    assert_eq!(
        empty.sections[0].empty_reason.as_deref(),
        Some("Unavailable")
    );
    assert!(empty.sections.iter().all(|s| s.entries.is_empty()));
}

// ----- importing an IPS: split keeps the resources linked, drops the Composition -----

/// Splits a bundle and offers the resources back to the builder as a wallet would (the
/// Patient as the subject).
fn reimport(bundle: &Value) -> (Vec<fhir::Resource>, IpsInput) {
    let split = fhir::split(&serde_json::to_vec(bundle).unwrap())
        .unwrap()
        .unwrap();
    let mut patient = None;
    let mut others = Vec::new();
    for r in &split {
        let resource = IpsResource {
            resource: r.value().unwrap(),
            origin: Some("import.json".into()),
        };
        if r.resource_type == "Patient" && patient.is_none() {
            patient = Some(resource);
        } else {
            others.push(resource);
        }
    }
    let input = IpsInput {
        seed: Uuid::from_random([9; 16]),
        now: NOW + 60,
        patient: patient.expect("a Patient in the bundle"),
        resources: others,
    };
    (split, input)
}

/// Every resource of a bundle by `Type/id`, with each reference replaced by the `Type/id` of
/// the entry it resolves to (R4 rules: fullUrl, or a relative reference against a RESTful
/// fullUrl's base), every Patient reference by `Patient`: two bundles hold the same resources
/// exactly when these maps agree.
pub(crate) fn normalised(bundle: &Value) -> BTreeMap<String, Value> {
    let entries = bundle["entry"].as_array().unwrap();
    let by_url: BTreeMap<&str, String> = entries
        .iter()
        .map(|e| {
            let r = &e["resource"];
            (
                e["fullUrl"].as_str().unwrap(),
                format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap(),
                    r["id"].as_str().unwrap()
                ),
            )
        })
        .collect();
    fn walk(v: &mut Value, f: &dyn Fn(&str) -> Option<String>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("reference") {
                    if let Some(label) = f(r) {
                        m.insert("reference".into(), Value::String(label));
                    }
                }
                m.values_mut().for_each(|v| walk(v, f));
            }
            Value::Array(a) => a.iter_mut().for_each(|v| walk(v, f)),
            _ => {}
        }
    }
    entries
        .iter()
        .filter(|e| e["resource"]["resourceType"] != "Composition")
        .map(|e| {
            let full_url = e["fullUrl"].as_str().unwrap();
            let base = full_url
                .starts_with("http")
                .then(|| full_url.rsplitn(3, '/').nth(2).unwrap());
            let resolve = |r: &str| -> Option<String> {
                let absolute = match base {
                    Some(base) if !r.contains(':') => format!("{base}/{r}"),
                    _ => r.to_owned(),
                };
                let label = by_url.get(absolute.as_str())?;
                Some(if label.starts_with("Patient/") {
                    "Patient".into()
                } else {
                    label.clone()
                })
            };
            let mut r = e["resource"].clone();
            walk(&mut r, &resolve);
            (by_url[full_url].clone(), r)
        })
        .collect()
}

#[test]
fn an_ips_we_built_imports_and_rebuilds_to_the_same_resources() {
    let first = ips::build(&input(resources())).unwrap().bundle;
    let (split, again) = reimport(&first);
    // No Composition, and references are Type/id: the records stay linked without the Bundle.
    assert!(split.iter().all(|r| r.resource_type != "Composition"));
    assert_eq!(split.len(), first["entry"].as_array().unwrap().len() - 1);
    let statement: Value = split
        .iter()
        .find(|r| r.resource_type == "MedicationStatement")
        .unwrap()
        .value()
        .unwrap();
    assert_eq!(
        statement["medicationReference"]["reference"],
        "Medication/med"
    );
    assert_eq!(statement["subject"]["reference"], "Patient/me");

    let second = ips::build(&again).unwrap();
    assert_eq!(ips::check(&second.bundle), Ok(()));
    assert!(second.dropped.is_empty(), "{:?}", second.dropped);
    assert_eq!(normalised(&second.bundle), normalised(&first));
}

#[test]
fn split_links_urn_uuid_entries_and_gives_them_ids() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:6a0b37a4-2d5b-4f2c-8a43-1a1b2c3d4e5f",
         "resource": {"resourceType": "Medication", "code": {"text": "Aspirin"}}},
        {"fullUrl": "urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201",
         "resource": {"resourceType": "MedicationStatement", "id": "s",
                      "medicationReference": {"reference": "urn:uuid:6a0b37a4-2d5b-4f2c-8a43-1a1b2c3d4e5f"},
                      "subject": {"reference": "urn:uuid:99999999-9999-4999-8999-999999999999"}}},
        {"fullUrl": "https://x.example/fhir/Observation/o",
         "resource": {"resourceType": "Observation", "id": "o",
                      "hasMember": [{"reference": "https://x.example/fhir/Observation/o2"},
                                    {"reference": "Observation/o2"}]}},
        {"fullUrl": "https://x.example/fhir/Observation/o2",
         "resource": {"resourceType": "Observation", "id": "o2"}}
    ]});
    let split = fhir::split(&serde_json::to_vec(&bundle).unwrap())
        .unwrap()
        .unwrap();
    let values: Vec<Value> = split.iter().map(|r| r.value().unwrap()).collect();
    assert_eq!(
        split[0].id.as_deref(),
        Some("6a0b37a4-2d5b-4f2c-8a43-1a1b2c3d4e5f")
    );
    assert_eq!(
        values[1]["medicationReference"]["reference"],
        "Medication/6a0b37a4-2d5b-4f2c-8a43-1a1b2c3d4e5f"
    );
    // Not in the bundle: left as written.
    assert_eq!(
        values[1]["subject"]["reference"],
        "urn:uuid:99999999-9999-4999-8999-999999999999"
    );
    assert_eq!(values[2]["hasMember"][0]["reference"], "Observation/o2");
    assert_eq!(values[2]["hasMember"][1]["reference"], "Observation/o2");
}

#[test]
fn split_leaves_references_to_entries_that_share_a_type_and_id() {
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
         "resource": {"resourceType": "Observation", "id": "same"}},
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000002",
         "resource": {"resourceType": "Observation", "id": "same"}},
        {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000003",
         "resource": {"resourceType": "DiagnosticReport", "id": "r",
                      "result": [{"reference": "urn:uuid:00000000-0000-4000-8000-000000000002"}]}}
    ]});
    let split = fhir::split(&serde_json::to_vec(&bundle).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(
        split[2].value().unwrap()["result"][0]["reference"],
        "urn:uuid:00000000-0000-4000-8000-000000000002"
    );
}

#[test]
fn a_document_that_is_not_an_ips_keeps_its_composition() {
    let mut b = ours();
    b["entry"][0]["resource"]["type"] =
        json!({"coding": [{"system": "http://loinc.org", "code": "18842-5"}]});
    assert!(!ips::is_ips(&b));
    let split = fhir::split(&serde_json::to_vec(&b).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(split[0].resource_type, "Composition");
}

// ----- HL7's IPS 2.0.0 examples (npm hl7.fhir.uv.ips, pinned in tests/vectors) -----

/// Every example IPS document Bundle of the IPS 2.0.0 package, by file name.
fn hl7_ips_examples() -> Vec<(String, Value)> {
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/vectors/node_modules/hl7.fhir.uv.ips/example");
    assert!(
        dir.join("Bundle-bundle-minimal.json").is_file(),
        "the HL7 IPS 2.0.0 examples are missing at {}: run `npm ci --prefix tests/vectors`",
        dir.display()
    );
    let mut examples: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("Bundle-") && name.ends_with(".json")
        })
        .map(|p| {
            let value: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            (p.file_name().unwrap().to_string_lossy().into_owned(), value)
        })
        .filter(|(_, v)| v["type"] == "document")
        .collect();
    examples.sort_by(|a, b| a.0.cmp(&b.0));
    // The five IPS documents 2.0.0 ships; a different count means a different package.
    assert_eq!(
        examples.len(),
        5,
        "{:?}",
        examples.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    examples
}

#[test]
fn every_hl7_example_passes_the_checker() {
    for (name, bundle) in hl7_ips_examples() {
        assert!(ips::is_ips(&bundle), "{name}");
        assert_eq!(ips::check(&bundle), Ok(()), "{name}");
    }
}

#[test]
fn every_hl7_example_imports_and_rebuilds_with_the_same_clinical_resources() {
    for (name, original) in hl7_ips_examples() {
        let (split, again) = reimport(&original);
        let entries = original["entry"].as_array().unwrap();
        // One record per resource, the Composition left out.
        assert_eq!(split.len(), entries.len() - 1, "{name}");
        assert!(
            split.iter().all(|r| r.resource_type != "Composition"),
            "{name}"
        );

        let rebuilt = ips::build(&again).unwrap();
        assert_eq!(ips::check(&rebuilt.bundle), Ok(()), "{name}");
        assert!(rebuilt.dropped.is_empty(), "{name}: {:?}", rebuilt.dropped);

        let before = normalised(&original);
        let after = normalised(&rebuilt.bundle);
        // Every resource of the summary is one of the original's, unchanged (references
        // compared by what they point to)…
        for (key, resource) in &after {
            assert_eq!(before.get(key), Some(resource), "{name}: {key}");
        }
        // …and every resource the original listed in a section is in it.
        let composition = &entries[0];
        let base = composition["fullUrl"]
            .as_str()
            .unwrap()
            .starts_with("http")
            .then(|| {
                composition["fullUrl"]
                    .as_str()
                    .unwrap()
                    .rsplitn(3, '/')
                    .nth(2)
                    .unwrap()
            });
        let listed: Vec<String> = composition["resource"]["section"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["entry"].as_array().cloned().unwrap_or_default())
            .map(|e| {
                let r = e["reference"].as_str().unwrap();
                let url = match base {
                    Some(base) if !r.contains(':') => format!("{base}/{r}"),
                    _ => r.to_owned(),
                };
                let target = entries
                    .iter()
                    .find(|e| e["fullUrl"] == url.as_str())
                    .unwrap();
                format!(
                    "{}/{}",
                    target["resource"]["resourceType"].as_str().unwrap(),
                    target["resource"]["id"].as_str().unwrap()
                )
            })
            .collect();
        assert!(!listed.is_empty(), "{name}");
        for key in listed {
            assert!(
                after.contains_key(&key),
                "{name}: {key} is missing from the rebuilt IPS"
            );
        }
        // The patient is the same one.
        let patient = |b: &Value| {
            b["entry"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["resource"]["resourceType"] == "Patient")
                .unwrap()["resource"]["id"]
                .clone()
        };
        assert_eq!(patient(&rebuilt.bundle), patient(&original), "{name}");
    }
}

#[test]
fn the_checker_flags_hl7_examples_broken_on_purpose() {
    for (name, original) in hl7_ips_examples() {
        // The Composition removed.
        let mut b = original.clone();
        b["entry"].as_array_mut().unwrap().remove(0);
        let p = problems(&b);
        assert!(
            p.contains(&IpsProblem::CompositionNotFirst),
            "{name}: {p:?}"
        );

        // Each required section removed.
        for section in Section::REQUIRED {
            let mut b = original.clone();
            b["entry"][0]["resource"]["section"]
                .as_array_mut()
                .unwrap()
                .retain(|s| s["code"]["coding"][0]["code"] != section.code());
            assert_eq!(
                problems(&b),
                [IpsProblem::MissingSection {
                    code: section.code(),
                    title: section.title()
                }],
                "{name}"
            );
        }

        // A dangling reference: the Patient's entry removed (the subject and every resource
        // about the patient now point nowhere).
        let mut b = original.clone();
        let entries = b["entry"].as_array_mut().unwrap();
        let at = entries
            .iter()
            .position(|e| e["resource"]["resourceType"] == "Patient")
            .unwrap();
        entries.remove(at);
        let p = problems(&b);
        assert!(p.contains(&IpsProblem::SubjectNotPatient), "{name}: {p:?}");
        assert!(
            p.iter()
                .any(|p| matches!(p, IpsProblem::UnresolvedReference { index: 0, .. })),
            "{name}: {p:?}"
        );

        // One reference in a clinical resource changed to point nowhere.
        let mut b = original.clone();
        b["entry"][2]["resource"]["note"] = json!([{"authorReference": {"reference": "urn:uuid:00000000-0000-4000-8000-00000000dead"}, "text": "x"}]);
        assert_eq!(
            problems(&b),
            [IpsProblem::UnresolvedReference {
                index: 2,
                reference: "urn:uuid:00000000-0000-4000-8000-00000000dead".into()
            }],
            "{name}"
        );
    }
}

#[test]
fn hl7_examples_outline_with_their_sections() {
    for (name, bundle) in hl7_ips_examples() {
        let o = ips::outline(&bundle);
        assert!(o.patient.is_some(), "{name}");
        let sections = bundle["entry"][0]["resource"]["section"]
            .as_array()
            .unwrap();
        assert_eq!(o.sections.len(), sections.len(), "{name}");
        for (s, json) in o.sections.iter().zip(sections) {
            // Every entry of every section resolved and summarised.
            assert_eq!(
                s.entries.len(),
                json["entry"].as_array().map_or(0, Vec::len),
                "{name}: {}",
                s.title
            );
            // …each by a name, not by its resource type (a device use by its Device's name).
            for e in &s.entries {
                assert_ne!(e.title, e.resource_type, "{name}: {}", s.title);
            }
        }
    }
}

#[test]
fn a_device_use_is_shown_by_the_name_of_its_device() {
    let built = ips::build(&input(vec![
        res(
            json!({"resourceType": "DeviceUseStatement", "id": "d", "status": "active",
                   "device": {"reference": "Device/hip"}}),
        ),
        res(json!({"resourceType": "Device", "id": "hip",
                   "type": {"coding": [{"display": "Hip prosthesis"}]}})),
    ]))
    .unwrap();
    assert_eq!(ips::check(&built.bundle), Ok(()));
    let devices = section(&built.bundle, "46264-8").unwrap();
    assert!(devices["text"]["div"]
        .as_str()
        .unwrap()
        .contains("<li>Hip prosthesis — active</li>"));
    let o = ips::outline(&built.bundle);
    let s = o
        .sections
        .iter()
        .find(|s| s.section == Some(Section::MedicalDevices))
        .unwrap();
    assert_eq!(s.entries[0].title, "Hip prosthesis");
}

#[test]
fn the_fuzz_seed_is_a_valid_ips() {
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/fhir_json/ips.json");
    let value: Value = serde_json::from_slice(&std::fs::read(seed).unwrap()).unwrap();
    assert_eq!(ips::check(&value), Ok(()));
    assert_eq!(
        ips::outline(&value).sections[2].entries[0].title,
        "Aspirin 100 mg"
    );
}
