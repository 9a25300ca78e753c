//! The International Patient Summary (HL7 IPS IG 2.0.0): building an IPS document Bundle from
//! the patient's FHIR resources ([`build`]), checking a Bundle against the profiles' required
//! elements ([`check`]), and reading one back as sections in plain words ([`outline`]).
//!
//! The profiles are `Bundle-uv-ips` (`type` `document`, `identifier`, `timestamp`, a
//! `Composition` first and no other, one `Patient`, every entry with a `fullUrl`) and
//! `Composition-uv-ips` (`type` LOINC 60591-5, `subject` the Patient, `date`, `author`, `title`,
//! the Problems, Allergies and Medication summary sections, each with entries or an
//! `emptyReason`, every section with `title`, `code` and narrative `text`).
//!
//! Only what the IG requires is checked; terminology bindings and the profiles of the entries
//! (Condition-uv-ips…) are not: the patient's records come from many sources, and Carekey never
//! rewrites clinical content.

use std::fmt;

use serde_json::Value;

use super::{summary, Resource, Summary};

mod build;
mod check;
mod outline;

pub use build::{build, BuildError, DroppedReference, Ips, IpsInput, IpsResource, IPS_TITLE};
pub use check::{check, IpsProblem};
pub use outline::{outline, Outline, OutlineSection};

/// The LOINC code system.
pub const LOINC: &str = "http://loinc.org";
/// LOINC "Patient summary Document": `Composition.type` of every IPS.
pub const IPS_DOCUMENT_CODE: &str = "60591-5";
/// `Composition.section.emptyReason` codes.
pub const LIST_EMPTY_REASON: &str = "http://terminology.hl7.org/CodeSystem/list-empty-reason";

/// Domain separator of the entry UUIDs [`build`] derives from its seed.
const UUID_DOMAIN: &[u8] = b"carekey/v1/ips-uuid\0";

/// A UUID, written `8-4-4-4-12` lowercase hex; `fullUrl`s are `urn:uuid:` + this.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// A random (version 4) UUID from 16 random bytes: the version and variant bits are set.
    pub fn from_random(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        Uuid(bytes)
    }

    /// A fresh random UUID (from the operating system's generator, through `carekey-crypto`).
    pub fn generate() -> Self {
        Self::from_random(carekey_crypto::random_array::<16>())
    }

    /// A UUID derived from this one and a label: SHA-256 of both, shaped as a version 4 UUID
    /// (indistinguishable from random to anyone without this seed).
    pub(crate) fn derive(&self, label: &[u8]) -> Uuid {
        let mut input = Vec::with_capacity(UUID_DOMAIN.len() + 16 + label.len());
        input.extend_from_slice(UUID_DOMAIN);
        input.extend_from_slice(&self.0);
        input.extend_from_slice(label);
        let hash = carekey_crypto::sha256(&input);
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&hash[..16]);
        Uuid::from_random(bytes)
    }

    /// `urn:uuid:…`.
    pub fn urn(&self) -> String {
        format!("urn:uuid:{self}")
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let h = hex::encode(self.0);
        write!(
            f,
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

/// The sections of an IPS Composition (IPS 2.0.0 `Composition-uv-ips` slices), in the order
/// [`build`] writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Section {
    /// Problem list (required): `Condition`s that are not resolved.
    Problems,
    /// Allergies and intolerances (required).
    Allergies,
    /// Medication summary (required).
    Medications,
    /// Immunizations.
    Immunizations,
    /// Results: laboratory, pathology and imaging `Observation`s, `DiagnosticReport`s.
    Results,
    /// History of procedures.
    Procedures,
    /// Medical devices (`DeviceUseStatement`).
    MedicalDevices,
    /// Vital signs (`Observation`s of category `vital-signs`).
    VitalSigns,
    /// History of past problems: resolved, inactive or remitted `Condition`s.
    PastProblems,
    /// Functional status (`ClinicalImpression`).
    FunctionalStatus,
    /// History of pregnancy (pregnancy status and outcome `Observation`s).
    Pregnancy,
    /// Social history (`Observation`s of category `social-history`: tobacco, alcohol…).
    SocialHistory,
    /// Plan of care (`CarePlan`, `ImmunizationRecommendation`).
    PlanOfCare,
    /// Alerts (`Flag`).
    Alerts,
    /// Advance directives (`Consent`s that are advance directives).
    AdvanceDirectives,
    /// Patient story (narrative; Carekey does not write it).
    PatientStory,
}

impl Section {
    /// Every section, required ones first.
    pub const ALL: [Section; 16] = [
        Section::Problems,
        Section::Allergies,
        Section::Medications,
        Section::Immunizations,
        Section::Results,
        Section::Procedures,
        Section::MedicalDevices,
        Section::VitalSigns,
        Section::PastProblems,
        Section::FunctionalStatus,
        Section::Pregnancy,
        Section::SocialHistory,
        Section::PlanOfCare,
        Section::Alerts,
        Section::AdvanceDirectives,
        Section::PatientStory,
    ];

    /// The three sections every IPS must have.
    pub const REQUIRED: [Section; 3] =
        [Section::Problems, Section::Allergies, Section::Medications];

    /// Its LOINC code (`Composition.section.code`).
    pub fn code(self) -> &'static str {
        self.spec().0
    }

    /// Its LOINC display.
    pub fn display(self) -> &'static str {
        self.spec().1
    }

    /// The title Carekey writes (`Composition.section.title`).
    pub fn title(self) -> &'static str {
        self.spec().2
    }

    /// Whether every IPS must have it.
    pub fn is_required(self) -> bool {
        Self::REQUIRED.contains(&self)
    }

    /// The section a LOINC code names.
    pub fn from_code(code: &str) -> Option<Section> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The resource types its entries may be (`DocumentReference` is allowed everywhere);
    /// `None`: any.
    pub(crate) fn entry_types(self) -> Option<&'static [&'static str]> {
        Some(match self {
            Section::Problems | Section::PastProblems => &["Condition", "DocumentReference"],
            Section::Allergies => &["AllergyIntolerance", "DocumentReference"],
            Section::Medications => &[
                "MedicationStatement",
                "MedicationRequest",
                "MedicationAdministration",
                "MedicationDispense",
                "DocumentReference",
            ],
            Section::Immunizations => &["Immunization", "DocumentReference"],
            Section::Results => &["Observation", "DiagnosticReport", "DocumentReference"],
            Section::Procedures => &["Procedure", "DocumentReference"],
            Section::MedicalDevices => &["DeviceUseStatement", "DocumentReference"],
            Section::VitalSigns | Section::Pregnancy | Section::SocialHistory => {
                &["Observation", "DocumentReference"]
            }
            Section::FunctionalStatus => &["Condition", "ClinicalImpression", "DocumentReference"],
            Section::PlanOfCare => &[
                "CarePlan",
                "ImmunizationRecommendation",
                "DocumentReference",
            ],
            Section::Alerts => &["Flag", "DocumentReference"],
            Section::AdvanceDirectives => &["Consent", "DocumentReference"],
            Section::PatientStory => return None,
        })
    }

    /// What the empty section's narrative says.
    pub(crate) fn empty_text(self) -> &'static str {
        match self {
            Section::Problems => "No problems are recorded in the patient's Carekey wallet.",
            Section::Allergies => {
                "No allergies or intolerances are recorded in the patient's Carekey wallet."
            }
            Section::Medications => "No medications are recorded in the patient's Carekey wallet.",
            _ => "Nothing is recorded in the patient's Carekey wallet.",
        }
    }

    fn spec(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Section::Problems => ("11450-4", "Problem list - Reported", "Problems"),
            Section::Allergies => (
                "48765-2",
                "Allergies and adverse reactions Document",
                "Allergies and intolerances",
            ),
            Section::Medications => (
                "10160-0",
                "History of Medication use Narrative",
                "Medication summary",
            ),
            Section::Immunizations => ("11369-6", "History of Immunization note", "Immunizations"),
            Section::Results => (
                "30954-2",
                "Relevant diagnostic tests/laboratory data note",
                "Results",
            ),
            Section::Procedures => ("47519-4", "History of Procedures Document", "Procedures"),
            Section::MedicalDevices => (
                "46264-8",
                "History of medical device use",
                "Medical devices",
            ),
            Section::VitalSigns => ("8716-3", "Vital signs note", "Vital signs"),
            Section::PastProblems => ("11348-0", "History of Past illness note", "Past problems"),
            Section::FunctionalStatus => (
                "47420-5",
                "Functional status assessment note",
                "Functional status",
            ),
            Section::Pregnancy => (
                "10162-6",
                "History of pregnancies Narrative",
                "Pregnancy history",
            ),
            Section::SocialHistory => ("29762-2", "Social history note", "Social history"),
            Section::PlanOfCare => ("18776-5", "Plan of care note", "Plan of care"),
            Section::Alerts => ("104605-1", "Alert", "Alerts"),
            Section::AdvanceDirectives => (
                "42348-3",
                "Advance healthcare directives",
                "Advance directives",
            ),
            Section::PatientStory => (
                "81338-6",
                "Patient Goals, preferences, and priorities for care experience",
                "Patient story",
            ),
        }
    }
}

/// Whether `bundle` is an IPS document: a `document` Bundle whose first entry is a Composition
/// with `type` LOINC 60591-5. (Whether it is a *valid* one is [`check`]'s question.)
pub fn is_ips(bundle: &Value) -> bool {
    bundle["resourceType"] == "Bundle"
        && bundle["type"] == "document"
        && is_ips_composition(&bundle["entry"][0]["resource"])
}

pub(crate) fn is_ips_composition(resource: &Value) -> bool {
    resource["resourceType"] == "Composition"
        && has_coding(&resource["type"], LOINC, IPS_DOCUMENT_CODE)
}

/// Whether a CodeableConcept has a coding `system|code`.
pub(crate) fn has_coding(concept: &Value, system: &str, code: &str) -> bool {
    codings(concept).any(|(s, c)| s == Some(system) && c == code)
}

/// `(system, code)` of every coding with a code in a CodeableConcept.
pub(crate) fn codings(concept: &Value) -> impl Iterator<Item = (Option<&str>, &str)> {
    concept["coding"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["system"].as_str(), c["code"].as_str()?)))
}

/// The reference that names what a resource is about when it does not say it itself: the
/// Medication of a medication statement or request, the Device of a device use statement.
pub(crate) fn named_by(resource: &Value) -> Option<&str> {
    resource["medicationReference"]["reference"]
        .as_str()
        .or_else(|| match resource["resourceType"].as_str() {
            Some("DeviceUseStatement") => resource["device"]["reference"].as_str(),
            _ => None,
        })
}

/// A resource's one-line [`Summary`]; one that names its subject matter by reference (see
/// [`named_by`]) is shown by the name of the resource it names (`named`, when resolved).
pub(crate) fn summarise(resource: &Value, named: Option<&Value>) -> Summary {
    let mut resource = resource.clone();
    if let (Some(n), Value::Object(r)) = (named, &mut resource) {
        if n["resourceType"] == "Medication"
            && !r.contains_key("medicationCodeableConcept")
            && n["code"].is_object()
        {
            r.insert("medicationCodeableConcept".into(), n["code"].clone());
        }
        if n["resourceType"] == "Device" && r["device"]["display"].is_null() {
            let name = summary(&Resource {
                resource_type: "Device".into(),
                id: None,
                json: serde_json::to_vec(n).unwrap_or_default(),
            })
            .title;
            if let Some(Value::Object(device)) = r.get_mut("device") {
                device.insert("display".into(), Value::String(name));
            }
        }
    }
    summary(&Resource {
        resource_type: resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        id: resource["id"].as_str().map(str::to_owned),
        json: serde_json::to_vec(&resource).unwrap_or_default(),
    })
}

/// Escapes text for XHTML narrative.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_derivation_is_stable() {
        let u = Uuid::from_random([0xff; 16]);
        assert_eq!(u.to_string(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(u.urn(), "urn:uuid:ffffffff-ffff-4fff-bfff-ffffffffffff");
        let seed = Uuid::from_random([1; 16]);
        assert_eq!(seed.derive(b"a"), seed.derive(b"a"));
        assert_ne!(seed.derive(b"a"), seed.derive(b"b"));
        assert_ne!(seed.derive(b"a"), Uuid::from_random([2; 16]).derive(b"a"));
        assert_eq!(seed.derive(b"a").to_string().as_bytes()[14], b'4');
    }

    #[test]
    fn section_codes_round_trip() {
        for s in Section::ALL {
            assert_eq!(Section::from_code(s.code()), Some(s));
        }
        assert_eq!(Section::from_code("60591-5"), None);
        assert_eq!(Section::ALL.iter().filter(|s| s.is_required()).count(), 3);
    }

    #[test]
    fn escapes_narrative() {
        assert_eq!(
            xml_escape("a<b & \"c\"\u{1}"),
            "a&lt;b &amp; &quot;c&quot; "
        );
    }
}
