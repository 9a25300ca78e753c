//! Building an IPS document Bundle from the patient's resources.
//!
//! What goes in:
//!
//! * the Patient given, as the `subject` and the `author` (a patient-held summary is written by
//!   the patient); every reference to *a* Patient (any id: the wallet holds one person, seen by
//!   several systems) is rewritten to it, and other Patient resources are left out;
//! * every resource that belongs to a section (see [`Section`]), in the order given;
//! * the resources those reference (Medication, Practitioner, Organization, Specimen…),
//!   transitively, and nothing else: a summary is not an export of the whole wallet;
//! * never a `Composition` or `Bundle` given as input, nor anything `entered-in-error`.
//!
//! References: a relative `Type/id` is resolved among the resources given (when several share
//! it, the one with the same [`IpsResource::origin`] wins, else the first), `#id` stays (it
//! points into `contained`). Every other reference (absolute, or to something not given) is
//! removed from its `Reference`, which keeps its `display` and `identifier` (or gets a `display`
//! saying it is not included), and is reported in [`Ips::dropped`]. So every reference left in
//! the Bundle resolves to an entry.
//!
//! Deterministic: the same input (resources, `now`, `seed`) gives the same Bundle. The only
//! randomness is the seed, from which the document id and every `urn:uuid:` `fullUrl` derive.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use super::{
    codings, has_coding, named_by, summarise, xml_escape, Section, Uuid, LIST_EMPTY_REASON, LOINC,
};
use crate::fhir::reference;
use crate::fhir::MAX_RESOURCES;
use crate::format_utc;
use crate::limits::MAX_TIMESTAMP;

/// The title of the Composition Carekey writes.
pub const IPS_TITLE: &str = "International Patient Summary";

/// `display` of a Reference whose target is not in the summary (and that had no display).
const NOT_INCLUDED: &str = "Not included in this summary";

/// Pregnancy status, outcome and expected-delivery LOINC codes (IPS `Observation-pregnancy-*`).
const PREGNANCY_CODES: &[&str] = &[
    "82810-3", "11636-8", "11637-6", "11638-4", "11639-2", "11640-0", "11612-9", "11613-7",
    "11614-5", "33065-4", "11778-8", "11779-6", "11780-4",
];
/// Tobacco and alcohol use LOINC codes (IPS social history).
const SOCIAL_CODES: &[&str] = &["72166-2", "74013-4"];
/// Consent scope and category codes that make a Consent an advance directive.
const ADVANCE_DIRECTIVE_CODES: &[&str] = &["adr", "acd", "dnr", "polst", "hcd", "75320-2"];

/// One resource offered to [`build`].
#[derive(Debug, Clone, PartialEq)]
pub struct IpsResource {
    /// The FHIR R4 resource.
    pub resource: Value,
    /// Where it came from (e.g. the file it was imported from): when several resources answer
    /// a relative reference, the one from the referring resource's origin is chosen.
    pub origin: Option<String>,
}

/// What [`build`] summarises.
#[derive(Debug, Clone, PartialEq)]
pub struct IpsInput {
    /// The randomness of the document: its identifier and every `fullUrl` derive from it.
    /// Pass [`Uuid::generate`] for a new document.
    pub seed: Uuid,
    /// When the summary is made (unix seconds): `Bundle.timestamp` and `Composition.date`.
    pub now: u64,
    /// The patient: `Composition.subject` and `author`.
    pub patient: IpsResource,
    /// Everything else the patient holds; [`build`] picks what belongs in a summary.
    pub resources: Vec<IpsResource>,
}

/// A built IPS.
#[derive(Debug, Clone, PartialEq)]
pub struct Ips {
    /// The IPS document Bundle.
    pub bundle: Value,
    /// Which of [`IpsInput::resources`] are in the Bundle (indices, in entry order).
    pub included: Vec<usize>,
    /// References removed because they named nothing in the summary.
    pub dropped: Vec<DroppedReference>,
}

/// A reference [`build`] removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroppedReference {
    /// The resource it was in: an index into [`IpsInput::resources`], `None` for the patient.
    pub resource: Option<usize>,
    /// The reference as it was written.
    pub reference: String,
}

/// Why an IPS could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The patient given is not a FHIR `Patient` resource.
    #[error("the patient of a summary must be a FHIR Patient resource")]
    NotAPatient,
    /// A resource given is not a JSON object with a `resourceType`.
    #[error("resource {index} is not a FHIR resource (no resourceType)")]
    NotAResource {
        /// Its index in [`IpsInput::resources`].
        index: usize,
    },
    /// `now` is past year 9999.
    #[error("the summary time {now} is out of range")]
    TimeOutOfRange {
        /// The time given.
        now: u64,
    },
    /// More resources than [`MAX_RESOURCES`].
    #[error("too many resources for one summary (limit {limit})")]
    TooMany {
        /// The limit.
        limit: usize,
    },
}

/// What [`build`] does with one input resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Left out whatever references it (Composition, Bundle, entered-in-error, a duplicate).
    Never,
    /// Another Patient: references to it go to the subject.
    Patient,
    /// Included when something included references it.
    Supporting,
    /// An entry of this section.
    Entry(Section),
}

/// Where a reference points.
enum Target {
    Subject,
    Resource(usize),
    Contained,
    Missing,
}

/// Builds the IPS document Bundle. See the module documentation for what it includes.
pub fn build(input: &IpsInput) -> Result<Ips, BuildError> {
    if input.now > MAX_TIMESTAMP {
        return Err(BuildError::TimeOutOfRange { now: input.now });
    }
    if input.resources.len() > MAX_RESOURCES {
        return Err(BuildError::TooMany {
            limit: MAX_RESOURCES,
        });
    }
    if input.patient.resource["resourceType"] != "Patient" {
        return Err(BuildError::NotAPatient);
    }
    let resources = &input.resources;
    let mut roles = Vec::with_capacity(resources.len());
    let mut seen: HashSet<String> = HashSet::new();
    let mut by_type_id: HashMap<(&str, &str), Vec<usize>> = HashMap::new();
    for (index, r) in resources.iter().enumerate() {
        let resource_type = r.resource["resourceType"]
            .as_str()
            .ok_or(BuildError::NotAResource { index })?;
        let mut role = role_of(resource_type, &r.resource);
        if matches!(role, Role::Entry(_) | Role::Supporting) {
            // The same resource imported twice is one entry.
            if !seen.insert(r.resource.to_string()) {
                role = Role::Never;
            }
        }
        if matches!(role, Role::Entry(_) | Role::Supporting) {
            if let Some(id) = r.resource["id"].as_str() {
                by_type_id
                    .entry((resource_type, id))
                    .or_default()
                    .push(index);
            }
        }
        roles.push(role);
    }
    let target = |reference: &str, origin: Option<&str>| -> Target {
        if reference::is_contained(reference) {
            return Target::Contained;
        }
        if reference::type_and_id(reference).is_some_and(|(t, _)| t == "Patient") {
            return Target::Subject;
        }
        let Some(key) = reference::relative(reference) else {
            return Target::Missing;
        };
        let Some(candidates) = by_type_id.get(&key) else {
            return Target::Missing;
        };
        let same_origin = candidates
            .iter()
            .find(|&&i| origin.is_some() && resources[i].origin.as_deref() == origin);
        match same_origin.or(candidates.first()) {
            Some(&i) => Target::Resource(i),
            None => Target::Missing,
        }
    };

    // What is in: the section entries, then whatever they (and the patient) reference.
    let mut included = vec![false; resources.len()];
    let mut queue: Vec<usize> = Vec::new();
    for (i, role) in roles.iter().enumerate() {
        if matches!(role, Role::Entry(_)) {
            included[i] = true;
            queue.push(i);
        }
    }
    let mut follow = |value: &Value, origin: Option<&str>, queue: &mut Vec<usize>| {
        reference::each(value, &mut |r| {
            if let Target::Resource(i) = target(r, origin) {
                if !included[i] {
                    included[i] = true;
                    queue.push(i);
                }
            }
        });
    };
    follow(
        &input.patient.resource,
        input.patient.origin.as_deref(),
        &mut queue,
    );
    while let Some(i) = queue.pop() {
        follow(
            &resources[i].resource,
            resources[i].origin.as_deref(),
            &mut queue,
        );
    }
    let included: Vec<usize> = (0..resources.len()).filter(|&i| included[i]).collect();

    let seed = input.seed;
    let patient_url = seed.derive(b"patient").urn();
    let entry_url = |i: usize| {
        seed.derive(&[b"entry".as_slice(), &(i as u64).to_be_bytes()].concat())
            .urn()
    };
    let mut dropped = Vec::new();
    let mut rewrite = |value: &Value, origin: Option<&str>, from: Option<usize>| -> Value {
        let mut value = value.clone();
        reference::each_mut(&mut value, &mut |r: &mut Map<String, Value>| {
            let Some(Value::String(text)) = r.get("reference") else {
                return;
            };
            let text = text.clone();
            match target(&text, origin) {
                Target::Contained => {}
                Target::Subject => {
                    r.insert("reference".into(), Value::String(patient_url.clone()));
                }
                Target::Resource(i) => {
                    r.insert("reference".into(), Value::String(entry_url(i)));
                }
                Target::Missing => {
                    r.remove("reference");
                    if !r.contains_key("display") && !r.contains_key("identifier") {
                        r.insert("display".into(), Value::String(NOT_INCLUDED.into()));
                    }
                    dropped.push(DroppedReference {
                        resource: from,
                        reference: text,
                    });
                }
            }
        });
        value
    };

    let date = format_utc(input.now);
    let mut entries = Vec::with_capacity(included.len() + 2);
    entries.push(Value::Null); // the Composition, once the sections are known
    entries.push(json!({
        "fullUrl": patient_url,
        "resource": rewrite(&input.patient.resource, input.patient.origin.as_deref(), None),
    }));
    for &i in &included {
        let r = &resources[i];
        entries.push(json!({
            "fullUrl": entry_url(i),
            "resource": rewrite(&r.resource, r.origin.as_deref(), Some(i)),
        }));
    }

    let mut sections = Vec::new();
    for section in Section::ALL {
        let members: Vec<usize> = included
            .iter()
            .copied()
            .filter(|&i| roles[i] == Role::Entry(section))
            .collect();
        if members.is_empty() && !section.is_required() {
            continue;
        }
        let named = |i: usize| -> Option<&Value> {
            let r = &resources[i];
            match target(named_by(&r.resource)?, r.origin.as_deref()) {
                Target::Resource(m) => Some(&resources[m].resource),
                _ => None,
            }
        };
        sections.push(section_json(
            section, &members, resources, &entry_url, &named,
        ));
    }
    let composition_id = seed.derive(b"composition");
    entries[0] = json!({
        "fullUrl": composition_id.urn(),
        "resource": {
            "resourceType": "Composition",
            "id": composition_id.to_string(),
            "status": "final",
            "type": {"coding": [{
                "system": LOINC,
                "code": super::IPS_DOCUMENT_CODE,
                "display": "Patient summary Document",
            }]},
            "subject": {"reference": patient_url},
            "date": date,
            "author": [{"reference": patient_url}],
            "title": IPS_TITLE,
            "section": sections,
        },
    });
    let document = seed.derive(b"document");
    let bundle = json!({
        "resourceType": "Bundle",
        "id": document.to_string(),
        "identifier": {"system": "urn:ietf:rfc:3986", "value": document.urn()},
        "type": "document",
        "timestamp": date,
        "entry": entries,
    });
    Ok(Ips {
        bundle,
        included,
        dropped,
    })
}

/// One `Composition.section`: its entries, or an `emptyReason`, and a narrative either way.
fn section_json<'a>(
    section: Section,
    members: &[usize],
    resources: &'a [IpsResource],
    entry_url: &dyn Fn(usize) -> String,
    named: &dyn Fn(usize) -> Option<&'a Value>,
) -> Value {
    let mut s = json!({
        "title": section.title(),
        "code": {"coding": [{"system": LOINC, "code": section.code(), "display": section.display()}]},
    });
    if members.is_empty() {
        s["text"] = narrative(&format!("<p>{}</p>", xml_escape(section.empty_text())));
        s["emptyReason"] = json!({
            "coding": [{"system": LIST_EMPTY_REASON, "code": "unavailable", "display": "Unavailable"}],
        });
        return s;
    }
    let items: String = members
        .iter()
        .map(|&i| {
            format!(
                "<li>{}</li>",
                xml_escape(&line(&resources[i].resource, named(i)))
            )
        })
        .collect();
    s["text"] = narrative(&format!("<ul>{items}</ul>"));
    s["entry"] = members
        .iter()
        .map(|&i| json!({"reference": entry_url(i)}))
        .collect();
    s
}

fn narrative(xhtml: &str) -> Value {
    json!({
        "status": "generated",
        "div": format!("<div xmlns=\"http://www.w3.org/1999/xhtml\">{xhtml}</div>"),
    })
}

/// One resource in plain words: "Title — detail (date)".
fn line(resource: &Value, named: Option<&Value>) -> String {
    let s = summarise(resource, named);
    let mut text = s.title;
    if let Some(detail) = s.detail {
        text.push_str(" — ");
        text.push_str(&detail);
    }
    if let Some(date) = s.date {
        text.push_str(&format!(" ({date})"));
    }
    text
}

fn role_of(resource_type: &str, r: &Value) -> Role {
    if r["status"] == "entered-in-error"
        || codings(&r["verificationStatus"]).any(|(_, c)| c == "entered-in-error")
    {
        return Role::Never;
    }
    match resource_type {
        "Composition" | "Bundle" => Role::Never,
        "Patient" => Role::Patient,
        _ => section_of(resource_type, r).map_or(Role::Supporting, Role::Entry),
    }
}

/// The section a resource is listed in, if any.
fn section_of(resource_type: &str, r: &Value) -> Option<Section> {
    Some(match resource_type {
        "Condition" => {
            let past = codings(&r["clinicalStatus"])
                .any(|(_, c)| matches!(c, "inactive" | "resolved" | "remission"));
            if past {
                Section::PastProblems
            } else {
                Section::Problems
            }
        }
        "AllergyIntolerance" => Section::Allergies,
        "MedicationStatement"
        | "MedicationRequest"
        | "MedicationAdministration"
        | "MedicationDispense" => Section::Medications,
        "Immunization" => Section::Immunizations,
        "Observation" => observation_section(r),
        "DiagnosticReport" => Section::Results,
        "Procedure" => Section::Procedures,
        "DeviceUseStatement" => Section::MedicalDevices,
        "ClinicalImpression" => Section::FunctionalStatus,
        "CarePlan" | "ImmunizationRecommendation" => Section::PlanOfCare,
        "Flag" => Section::Alerts,
        "Consent" => {
            let directive = codings(&r["scope"])
                .chain(concepts(&r["category"]).flat_map(codings))
                .any(|(_, c)| ADVANCE_DIRECTIVE_CODES.contains(&c));
            if !directive {
                return None;
            }
            Section::AdvanceDirectives
        }
        _ => return None,
    })
}

fn observation_section(r: &Value) -> Section {
    let loinc = |codes: &[&str]| codes.iter().any(|c| has_coding(&r["code"], LOINC, c));
    let category =
        |code: &str| concepts(&r["category"]).any(|c| codings(c).any(|(_, k)| k == code));
    if loinc(PREGNANCY_CODES) {
        Section::Pregnancy
    } else if category("vital-signs") {
        Section::VitalSigns
    } else if category("social-history") || loinc(SOCIAL_CODES) {
        Section::SocialHistory
    } else {
        Section::Results
    }
}

/// A CodeableConcept or a list of them.
fn concepts(v: &Value) -> impl Iterator<Item = &Value> {
    match v {
        Value::Array(items) => items.iter().collect::<Vec<_>>(),
        Value::Object(_) => vec![v],
        _ => Vec::new(),
    }
    .into_iter()
}
