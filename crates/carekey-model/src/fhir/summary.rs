//! One-line summaries of FHIR resources, in the words a patient would use.

use serde_json::Value;

use super::Resource;

/// How the wallet groups records for the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    /// `AllergyIntolerance`.
    Allergy,
    /// `MedicationStatement`, `MedicationRequest`, `MedicationAdministration`, `MedicationDispense`, `Medication`.
    Medication,
    /// `Condition`.
    Condition,
    /// `Observation` (lab results, vital signs).
    Observation,
    /// `Immunization`.
    Immunization,
    /// `Procedure`.
    Procedure,
    /// `DocumentReference`, `DiagnosticReport`, `Composition`.
    Document,
    /// `Patient`.
    Patient,
    /// Anything else.
    Other,
}

impl Category {
    /// The category of a resource type.
    pub fn of(resource_type: &str) -> Self {
        match resource_type {
            "AllergyIntolerance" => Category::Allergy,
            "MedicationStatement"
            | "MedicationRequest"
            | "MedicationAdministration"
            | "MedicationDispense"
            | "Medication" => Category::Medication,
            "Condition" => Category::Condition,
            "Observation" => Category::Observation,
            "Immunization" => Category::Immunization,
            "Procedure" => Category::Procedure,
            "DocumentReference" | "DiagnosticReport" | "Composition" => Category::Document,
            "Patient" => Category::Patient,
            _ => Category::Other,
        }
    }
}

/// What the wallet shows for one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The FHIR resource type.
    pub resource_type: String,
    /// The group it is shown in.
    pub category: Category,
    /// The main line: what it is ("Cashew nuts", "Cholesterol", "Peter James Chalmers").
    pub title: String,
    /// A second line: value, dosage, status, criticality...
    pub detail: Option<String>,
    /// The most relevant date, as written in the resource.
    pub date: Option<String>,
}

/// Summarises a resource; falls back to the resource type as title when nothing better is found.
/// Never fails: unreadable JSON gives the fallback.
pub fn summary(resource: &Resource) -> Summary {
    let value: Value = serde_json::from_slice(&resource.json).unwrap_or(Value::Null);
    let r = &value;
    let category = Category::of(&resource.resource_type);
    let (title, detail, date) = match resource.resource_type.as_str() {
        "AllergyIntolerance" => (
            concept(&r["code"]),
            r["criticality"]
                .as_str()
                .map(|c| format!("criticality {c}")),
            first_str(r, &["recordedDate", "onsetDateTime", "lastOccurrence"]),
        ),
        "MedicationStatement"
        | "MedicationRequest"
        | "MedicationAdministration"
        | "MedicationDispense" => (
            medication(r),
            dosage(r),
            first_str(
                r,
                &[
                    "authoredOn",
                    "effectiveDateTime",
                    "dateAsserted",
                    "whenHandedOver",
                ],
            )
            .or_else(|| text(&r["effectivePeriod"]["start"])),
        ),
        "Medication" => (concept(&r["code"]), None, None),
        "Condition" => (
            concept(&r["code"]),
            concept(&r["clinicalStatus"]),
            first_str(r, &["onsetDateTime", "recordedDate"])
                .or_else(|| text(&r["onsetPeriod"]["start"])),
        ),
        "Observation" => (
            concept(&r["code"]),
            observation_value(r),
            first_str(r, &["effectiveDateTime", "effectiveInstant", "issued"])
                .or_else(|| text(&r["effectivePeriod"]["start"])),
        ),
        "Immunization" => (
            concept(&r["vaccineCode"]),
            text(&r["status"]),
            first_str(r, &["occurrenceDateTime", "recorded"]),
        ),
        "Procedure" => (
            concept(&r["code"]),
            text(&r["status"]),
            text(&r["performedDateTime"]).or_else(|| text(&r["performedPeriod"]["start"])),
        ),
        "DocumentReference" => (
            text(&r["description"]).or_else(|| concept(&r["type"])),
            r["content"][0]["attachment"]["title"]
                .as_str()
                .map(str::to_owned),
            text(&r["date"]),
        ),
        "DiagnosticReport" => (
            concept(&r["code"]),
            text(&r["conclusion"]),
            first_str(r, &["effectiveDateTime", "issued"])
                .or_else(|| text(&r["effectivePeriod"]["start"])),
        ),
        "Composition" => (
            text(&r["title"]).or_else(|| concept(&r["type"])),
            None,
            text(&r["date"]),
        ),
        "Flag" => (
            concept(&r["code"]),
            text(&r["status"]),
            text(&r["period"]["start"]),
        ),
        "CarePlan" => (
            first_str(r, &["title", "description"]).or_else(|| concept(&r["category"][0])),
            text(&r["status"]),
            text(&r["created"]).or_else(|| text(&r["period"]["start"])),
        ),
        "DeviceUseStatement" => (
            text(&r["device"]["display"]),
            text(&r["status"]),
            first_str(r, &["recordedOn", "timingDateTime"])
                .or_else(|| text(&r["timingPeriod"]["start"])),
        ),
        "Device" => (
            text(&r["deviceName"][0]["name"]).or_else(|| concept(&r["type"])),
            None,
            None,
        ),
        "Consent" => (
            concept(&r["category"][0]),
            concept(&r["scope"]),
            text(&r["dateTime"]),
        ),
        "ClinicalImpression" => (
            text(&r["description"]).or_else(|| concept(&r["code"])),
            text(&r["summary"]),
            first_str(r, &["effectiveDateTime", "date"]),
        ),
        "ImmunizationRecommendation" => (
            concept(&r["recommendation"][0]["vaccineCode"][0]),
            concept(&r["recommendation"][0]["forecastStatus"]),
            text(&r["date"]),
        ),
        "Patient" => (
            patient_name(r),
            [
                text(&r["gender"]),
                text(&r["birthDate"]).map(|b| format!("born {b}")),
            ]
            .into_iter()
            .flatten()
            .reduce(|a, b| format!("{a}, {b}")),
            text(&r["birthDate"]),
        ),
        _ => (None, None, None),
    };
    Summary {
        resource_type: resource.resource_type.clone(),
        category,
        title: title.unwrap_or_else(|| resource.resource_type.clone()),
        detail,
        date,
    }
}

/// A non-empty string value.
fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn first_str(r: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(&r[*k]))
}

/// A CodeableConcept in words: its text, else the first coding's display, else its code.
fn concept(v: &Value) -> Option<String> {
    text(&v["text"]).or_else(|| {
        let codings = v["coding"].as_array()?;
        codings
            .iter()
            .find_map(|c| text(&c["display"]))
            .or_else(|| codings.iter().find_map(|c| text(&c["code"])))
    })
}

/// The medication's name: an inline concept, or the referenced (possibly contained) Medication.
fn medication(r: &Value) -> Option<String> {
    concept(&r["medicationCodeableConcept"]).or_else(|| {
        let reference = &r["medicationReference"];
        let contained = reference["reference"]
            .as_str()
            .and_then(|s| s.strip_prefix('#'))
            .and_then(|id| {
                r["contained"]
                    .as_array()?
                    .iter()
                    .find(|c| c["id"].as_str() == Some(id))
                    .and_then(|m| concept(&m["code"]))
            });
        contained.or_else(|| text(&reference["display"]))
    })
}

fn dosage(r: &Value) -> Option<String> {
    ["dosageInstruction", "dosage"].iter().find_map(|k| {
        let texts: Vec<String> = r[*k]
            .as_array()?
            .iter()
            .filter_map(|d| text(&d["text"]))
            .collect();
        (!texts.is_empty()).then(|| texts.join("; "))
    })
}

fn number(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn quantity(q: &Value) -> Option<(String, Option<String>)> {
    let value = number(&q["value"])?;
    let value = match q["comparator"].as_str() {
        Some(c) => format!("{c}{value}"),
        None => value,
    };
    Some((value, text(&q["unit"]).or_else(|| text(&q["code"]))))
}

fn with_unit((value, unit): (String, Option<String>)) -> String {
    match unit {
        Some(u) => format!("{value} {u}"),
        None => value,
    }
}

/// `value[x]` of an Observation or component, in words.
fn value_x(v: &Value) -> Option<String> {
    if let Some(q) = quantity(&v["valueQuantity"]) {
        return Some(with_unit(q));
    }
    if let Some(c) = concept(&v["valueCodeableConcept"]) {
        return Some(c);
    }
    if let Some(b) = v["valueBoolean"].as_bool() {
        return Some(if b { "yes" } else { "no" }.to_owned());
    }
    if let Some(n) = number(&v["valueInteger"]) {
        return Some(n);
    }
    let range = &v["valueRange"];
    if let (Some(low), Some(high)) = (quantity(&range["low"]), quantity(&range["high"])) {
        return Some(format!("{}–{}", low.0, with_unit(high)));
    }
    let ratio = &v["valueRatio"];
    if let (Some(n), Some(d)) = (
        quantity(&ratio["numerator"]),
        quantity(&ratio["denominator"]),
    ) {
        return Some(format!("{} / {}", with_unit(n), with_unit(d)));
    }
    first_str(v, &["valueString", "valueDateTime", "valueTime"])
}

/// An Observation's value, or its components' (blood pressure "120/80 mmHg").
fn observation_value(r: &Value) -> Option<String> {
    if let Some(v) = value_x(r) {
        return Some(v);
    }
    let components = r["component"].as_array()?;
    let quantities: Option<Vec<_>> = components
        .iter()
        .map(|c| quantity(&c["valueQuantity"]))
        .collect();
    if let Some(quantities) = quantities.filter(|q| q.len() > 1) {
        let unit = &quantities[0].1;
        if unit.is_some() && quantities.iter().all(|q| &q.1 == unit) {
            let values: Vec<&str> = quantities.iter().map(|q| q.0.as_str()).collect();
            return Some(with_unit((values.join("/"), unit.clone())));
        }
    }
    let parts: Vec<String> = components
        .iter()
        .filter_map(|c| {
            let value = value_x(c)?;
            Some(match concept(&c["code"]) {
                Some(name) => format!("{name}: {value}"),
                None => value,
            })
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join(", "))
}

/// A Patient's name: the official (else first) HumanName, as text or given + family.
fn patient_name(r: &Value) -> Option<String> {
    let names = r["name"].as_array()?;
    let name = names
        .iter()
        .find(|n| n["use"] == "official")
        .or_else(|| names.first())?;
    text(&name["text"]).or_else(|| {
        let mut parts: Vec<String> = name["given"]
            .as_array()
            .map(|g| g.iter().filter_map(text).collect())
            .unwrap_or_default();
        parts.extend(text(&name["family"]));
        (!parts.is_empty()).then(|| parts.join(" "))
    })
}
