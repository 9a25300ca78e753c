//! Checking a Bundle against the required elements of `Bundle-uv-ips` and
//! `Composition-uv-ips` (IPS 2.0.0): what a FHIR validator flags as an error on those two
//! profiles, minus terminology and the entries' own profiles.

use std::collections::HashSet;

use serde_json::Value;

use super::{is_ips_composition, Section};
use crate::fhir::reference::{self, FullUrls};

/// One way a Bundle falls short of an IPS document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IpsProblem {
    /// The JSON is not a FHIR `Bundle`.
    #[error("not a FHIR Bundle")]
    NotABundle,
    /// `Bundle.type` is not `document`.
    #[error("Bundle.type is {found:?}, not \"document\"")]
    NotADocument {
        /// The type found (empty when missing).
        found: String,
    },
    /// `Bundle.identifier` is missing (IPS: 1..1).
    #[error("Bundle.identifier is missing")]
    NoIdentifier,
    /// `Bundle.timestamp` is missing (IPS: 1..1).
    #[error("Bundle.timestamp is missing")]
    NoTimestamp,
    /// An entry has no `fullUrl` (IPS: 1..1).
    #[error("entry {index} has no fullUrl")]
    NoFullUrl {
        /// The entry's position.
        index: usize,
    },
    /// An entry has no `resource`.
    #[error("entry {index} has no resource")]
    NoResource {
        /// The entry's position.
        index: usize,
    },
    /// Two entries share a `fullUrl`.
    #[error("fullUrl {full_url} is used by more than one entry")]
    DuplicateFullUrl {
        /// The shared `fullUrl`.
        full_url: String,
    },
    /// The first entry is not a Composition (a document starts with its Composition).
    #[error("the first entry is not a Composition")]
    CompositionNotFirst,
    /// A Composition other than the first (`bdl-ips-1`).
    #[error("entry {index} is a second Composition")]
    ExtraComposition {
        /// The entry's position.
        index: usize,
    },
    /// The Composition's `type` is not LOINC 60591-5.
    #[error("Composition.type is not LOINC 60591-5 (Patient summary Document)")]
    NotPatientSummary,
    /// A required element of the Composition is missing.
    #[error("Composition.{element} is missing")]
    MissingElement {
        /// `status`, `date`, `author` or `title`.
        element: &'static str,
    },
    /// `Composition.subject` is missing or does not resolve to a Patient in the Bundle.
    #[error("Composition.subject does not name a Patient entry of the Bundle")]
    SubjectNotPatient,
    /// More than one Patient entry (IPS: exactly one).
    #[error("entry {index} is a second Patient")]
    ExtraPatient {
        /// The entry's position.
        index: usize,
    },
    /// A required section (Problems, Allergies, Medications) is missing.
    #[error("the required section {title} (LOINC {code}) is missing")]
    MissingSection {
        /// Its LOINC code.
        code: &'static str,
        /// Its name.
        title: &'static str,
    },
    /// A required section has neither entries nor an `emptyReason` (`ips-comp-1`).
    #[error("the section {title} (LOINC {code}) has neither entries nor an emptyReason")]
    EmptySection {
        /// Its LOINC code.
        code: &'static str,
        /// Its name.
        title: &'static str,
    },
    /// A section has an `emptyReason` and entries (`cmp-2`).
    #[error("section {index} has an emptyReason but also entries")]
    EmptyReasonWithEntries {
        /// The section's position.
        index: usize,
    },
    /// A section lacks `title`, `code` or narrative `text` (IPS: 1..1 each).
    #[error("section {index} has no {element}")]
    SectionIncomplete {
        /// The section's position.
        index: usize,
        /// The missing element.
        element: &'static str,
    },
    /// A section has sub-sections (IPS: 0..0).
    #[error("section {index} has sub-sections, which an IPS section may not have")]
    NestedSection {
        /// The section's position.
        index: usize,
    },
    /// A section code appears twice (each IPS section slice is 0..1).
    #[error("the section with LOINC {code} appears more than once")]
    DuplicateSection {
        /// Its LOINC code.
        code: String,
    },
    /// A section lists an entry of a type it may not hold.
    #[error("section {code} lists a {found}, which it may not hold")]
    SectionEntryType {
        /// The section's LOINC code.
        code: &'static str,
        /// The entry's resource type.
        found: String,
    },
    /// A reference names nothing in the Bundle (every reference in a document must resolve).
    #[error("entry {index} refers to {reference:?}, which is not in the Bundle")]
    UnresolvedReference {
        /// The referring entry's position.
        index: usize,
        /// The reference.
        reference: String,
    },
}

/// Checks `bundle` against the IPS document's required elements; `Err` lists every problem
/// found (in document order).
pub fn check(bundle: &Value) -> Result<(), Vec<IpsProblem>> {
    let mut problems = Vec::new();
    if bundle["resourceType"] != "Bundle" {
        return Err(vec![IpsProblem::NotABundle]);
    }
    if bundle["type"] != "document" {
        problems.push(IpsProblem::NotADocument {
            found: bundle["type"].as_str().unwrap_or_default().to_owned(),
        });
    }
    if !bundle["identifier"].is_object() {
        problems.push(IpsProblem::NoIdentifier);
    }
    if !is_text(&bundle["timestamp"]) {
        problems.push(IpsProblem::NoTimestamp);
    }
    let entries: &[Value] = bundle["entry"].as_array().map_or(&[], Vec::as_slice);
    let mut seen = HashSet::new();
    for (index, e) in entries.iter().enumerate() {
        match e["fullUrl"].as_str() {
            None => problems.push(IpsProblem::NoFullUrl { index }),
            Some(url) if !seen.insert(url) => problems.push(IpsProblem::DuplicateFullUrl {
                full_url: url.to_owned(),
            }),
            Some(_) => {}
        }
        if !e["resource"].is_object() {
            problems.push(IpsProblem::NoResource { index });
        }
    }
    let urls = FullUrls::new(entries.iter().map(|e| e["fullUrl"].as_str()));
    let resource_type = |i: usize| entries[i]["resource"]["resourceType"].as_str();

    let mut patients = (0..entries.len()).filter(|&i| resource_type(i) == Some("Patient"));
    patients.next();
    problems.extend(patients.map(|index| IpsProblem::ExtraPatient { index }));
    problems.extend(
        (1..entries.len())
            .filter(|&i| resource_type(i) == Some("Composition"))
            .map(|index| IpsProblem::ExtraComposition { index }),
    );

    match entries.first().map(|e| &e["resource"]) {
        Some(c) if c["resourceType"] == "Composition" => {
            let full_url = entries[0]["fullUrl"].as_str();
            check_composition(c, full_url, &urls, entries, &mut problems);
        }
        _ => problems.push(IpsProblem::CompositionNotFirst),
    }

    for (index, e) in entries.iter().enumerate() {
        let full_url = e["fullUrl"].as_str();
        reference::each(&e["resource"], &mut |r| {
            if !reference::is_contained(r) && urls.resolve(r, full_url).is_none() {
                problems.push(IpsProblem::UnresolvedReference {
                    index,
                    reference: r.to_owned(),
                });
            }
        });
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn check_composition(
    c: &Value,
    full_url: Option<&str>,
    urls: &FullUrls,
    entries: &[Value],
    problems: &mut Vec<IpsProblem>,
) {
    if !is_ips_composition(c) {
        problems.push(IpsProblem::NotPatientSummary);
    }
    for element in ["status", "date", "title"] {
        if !is_text(&c[element]) {
            problems.push(IpsProblem::MissingElement { element });
        }
    }
    if c["author"].as_array().is_none_or(Vec::is_empty) {
        problems.push(IpsProblem::MissingElement { element: "author" });
    }
    let target_type = |r: &Value| {
        let i = urls.resolve(r["reference"].as_str()?, full_url)?;
        entries[i]["resource"]["resourceType"].as_str()
    };
    if target_type(&c["subject"]) != Some("Patient") {
        problems.push(IpsProblem::SubjectNotPatient);
    }

    let sections: &[Value] = c["section"].as_array().map_or(&[], Vec::as_slice);
    let mut codes = HashSet::new();
    for (index, s) in sections.iter().enumerate() {
        if !is_text(&s["title"]) {
            problems.push(IpsProblem::SectionIncomplete {
                index,
                element: "title",
            });
        }
        if !is_text(&s["text"]["div"]) {
            problems.push(IpsProblem::SectionIncomplete {
                index,
                element: "text",
            });
        }
        let known = super::codings(&s["code"]).find_map(|(system, code)| {
            (system == Some(super::LOINC)).then(|| Section::from_code(code))?
        });
        if super::codings(&s["code"]).next().is_none() {
            problems.push(IpsProblem::SectionIncomplete {
                index,
                element: "code",
            });
        }
        let entries_here: &[Value] = s["entry"].as_array().map_or(&[], Vec::as_slice);
        if !entries_here.is_empty() && !s["emptyReason"].is_null() {
            problems.push(IpsProblem::EmptyReasonWithEntries { index });
        }
        if !s["section"].is_null() {
            problems.push(IpsProblem::NestedSection { index });
        }
        let Some(section) = known else { continue };
        if !codes.insert(section) {
            problems.push(IpsProblem::DuplicateSection {
                code: section.code().to_owned(),
            });
        }
        if section.is_required() && entries_here.is_empty() && s["emptyReason"].is_null() {
            problems.push(IpsProblem::EmptySection {
                code: section.code(),
                title: section.title(),
            });
        }
        if let Some(allowed) = section.entry_types() {
            for found in entries_here.iter().filter_map(target_type) {
                if !allowed.contains(&found) {
                    problems.push(IpsProblem::SectionEntryType {
                        code: section.code(),
                        found: found.to_owned(),
                    });
                }
            }
        }
    }
    for section in Section::REQUIRED {
        if !codes.contains(&section) {
            problems.push(IpsProblem::MissingSection {
                code: section.code(),
                title: section.title(),
            });
        }
    }
}

fn is_text(v: &Value) -> bool {
    v.as_str().is_some_and(|s| !s.trim().is_empty())
}
