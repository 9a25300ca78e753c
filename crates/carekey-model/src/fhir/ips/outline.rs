//! An IPS read back for a person: the patient, the date, and each section with its entries in
//! plain words (the same one-line [`Summary`] the wallet shows for a record).

use serde_json::Value;

use super::{named_by, summarise, Section};
use crate::fhir::reference::FullUrls;
use crate::fhir::Summary;

/// An IPS document in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outline {
    /// The Composition's title.
    pub title: Option<String>,
    /// The Composition's date, as written.
    pub date: Option<String>,
    /// The subject.
    pub patient: Option<Summary>,
    /// The sections, in the document's order.
    pub sections: Vec<OutlineSection>,
}

/// One section of an [`Outline`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutlineSection {
    /// The IPS section its LOINC code names, if it is one.
    pub section: Option<Section>,
    /// Its title as written.
    pub title: String,
    /// Its entries that resolve in the Bundle, in plain words.
    pub entries: Vec<Summary>,
    /// Why it is empty (`emptyReason` text, display or code), when it says.
    pub empty_reason: Option<String>,
}

/// Reads an IPS document Bundle as an [`Outline`]. Lenient (it shows what it can; use
/// [`check`](super::check) to know whether the document is valid): a Bundle without a
/// Composition first gives an outline without sections.
pub fn outline(bundle: &Value) -> Outline {
    let entries: &[Value] = bundle["entry"].as_array().map_or(&[], Vec::as_slice);
    let urls = FullUrls::new(entries.iter().map(|e| e["fullUrl"].as_str()));
    let composition = entries
        .first()
        .map(|e| &e["resource"])
        .filter(|c| c["resourceType"] == "Composition");
    let Some(c) = composition else {
        return Outline {
            title: None,
            date: None,
            patient: None,
            sections: Vec::new(),
        };
    };
    let full_url = entries[0]["fullUrl"].as_str();
    let resolve = |r: &Value| -> Option<Summary> {
        let i = urls.resolve(r["reference"].as_str()?, full_url)?;
        let resource = &entries[i]["resource"];
        resource["resourceType"].as_str()?;
        let named = named_by(resource)
            .and_then(|n| urls.resolve(n, entries[i]["fullUrl"].as_str()))
            .map(|n| &entries[n]["resource"]);
        Some(summarise(resource, named))
    };
    let sections = c["section"]
        .as_array()
        .map_or(&[][..], Vec::as_slice)
        .iter()
        .map(|s| {
            let section = super::codings(&s["code"]).find_map(|(system, code)| {
                (system == Some(super::LOINC)).then(|| Section::from_code(code))?
            });
            let reason = &s["emptyReason"];
            OutlineSection {
                section,
                title: text(&s["title"])
                    .or_else(|| section.map(|s| s.title().to_owned()))
                    .unwrap_or_else(|| "Section".to_owned()),
                entries: s["entry"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice)
                    .iter()
                    .filter_map(resolve)
                    .collect(),
                empty_reason: text(&reason["text"]).or_else(|| {
                    let coding = reason["coding"].as_array()?.first()?;
                    text(&coding["display"]).or_else(|| text(&coding["code"]))
                }),
            }
        })
        .collect();
    Outline {
        title: text(&c["title"]),
        date: text(&c["date"]),
        patient: resolve(&c["subject"]),
        sections,
    }
}

fn text(v: &Value) -> Option<String> {
    v.as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}
