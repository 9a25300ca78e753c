//! FHIR R4: splitting imported JSON into resources, summarising them in the patient's terms,
//! the International Patient Summary ([`ips`]), and the lossless mapping between a
//! [`SignedGrant`](crate::SignedGrant) and a `Consent`.
//!
//! Nothing here needs a FHIR server or schema: resources are plain `serde_json` values and only
//! the elements Carekey shows or maps are read.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::documents::is_resource_type_name;
use crate::error::DocumentError;

mod consent;
pub mod ips;
mod reference;
mod summary;

pub use consent::{
    consent_terms, consent_to_grant, grant_to_consent, ConsentTerms, EXTENSION_BASE,
    SYSTEM_ED25519, SYSTEM_GRANT, SYSTEM_RECORD,
};
pub use summary::{summary, Category, Summary};

/// Largest JSON input [`split`] will parse: 64 MiB.
pub const MAX_FHIR_BYTES: usize = 64 << 20;
/// How many Bundles deep [`split`] follows `entry[].resource` (nested Bundles are flattened).
pub const MAX_BUNDLE_DEPTH: usize = 8;
/// Most resources [`split`] returns for one input.
pub const MAX_RESOURCES: usize = 100_000;

/// Why FHIR input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The input exceeds a documented cap.
    #[error("FHIR input too large: {what} exceeds the limit of {limit}")]
    TooLarge {
        /// Which input or list.
        what: &'static str,
        /// The limit (bytes or items).
        limit: usize,
    },
    /// The JSON claims to be FHIR but is not well-formed FHIR (e.g. `entry` is not an array).
    #[error("malformed FHIR: {what}")]
    Malformed {
        /// What was wrong.
        what: String,
    },
    /// The resource is not a `Consent`.
    #[error("not a FHIR Consent resource")]
    NotConsent,
    /// The Consent is not one made from a Carekey grant (an element the mapping needs is missing or different).
    #[error("not a Carekey grant Consent: {what}")]
    NotCarekeyGrant {
        /// The element that is missing, invalid or does not match the signed grant.
        what: String,
    },
    /// The grant rebuilt from the Consent does not verify (altered Consent or bad signature).
    #[error("the grant in this Consent does not verify: {0}")]
    Grant(#[from] DocumentError),
}

impl FhirError {
    pub(crate) fn malformed(what: impl Into<String>) -> Self {
        Self::Malformed { what: what.into() }
    }
}

/// One FHIR resource out of an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// Its `resourceType`, e.g. `Observation`.
    pub resource_type: String,
    /// Its `id`, if it has one.
    pub id: Option<String>,
    /// The resource's own JSON (`serde_json::to_vec` of its value).
    pub json: Vec<u8>,
}

impl Resource {
    /// The resource's JSON value.
    pub fn value(&self) -> Result<Value, FhirError> {
        serde_json::from_slice(&self.json)
            .map_err(|e| FhirError::malformed(format!("resource JSON: {e}")))
    }
}

/// Splits an imported file into FHIR resources.
///
/// * `Ok(None)`: not FHIR (not JSON, not a JSON object, or no `resourceType`): an ordinary file.
/// * A `Bundle`: one [`Resource`] per `entry[].resource`, in order; entries without a `resource`
///   (e.g. in transaction responses) are skipped; nested Bundles are flattened (up to
///   [`MAX_BUNDLE_DEPTH`]); a Bundle without entries gives `Ok(Some(vec![]))`.
///   References between the entries outlive the Bundle: one that resolves to another entry
///   (by the R4 rules: `fullUrl`, `urn:uuid:…`, a RESTful base) is rewritten to that entry's
///   `Type/id`, and an entry whose `fullUrl` is `urn:uuid:X` and that has no `id` gets `id` X.
///   (When two entries share a `Type/id`, references to them are left as they were.)
/// * An International Patient Summary ([`ips::is_ips`]): the same, without its Composition,
///   which is the document's table of contents and points at the other entries; the wallet
///   builds a new one from the records ([`ips::build`]).
/// * Any other resource: `vec![it]`.
/// * `Err`: JSON that claims to be FHIR but is malformed (`resourceType` not a type name,
///   `entry` not an array, an entry's `resource` without `resourceType`...), or too large.
///
/// Nesting is bounded by `serde_json`'s recursion limit (128), so hostile input cannot exhaust the stack.
pub fn split(bytes: &[u8]) -> Result<Option<Vec<Resource>>, FhirError> {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    if text.get(start) != Some(&b'{') {
        return Ok(None);
    }
    if bytes.len() > MAX_FHIR_BYTES {
        return Err(FhirError::TooLarge {
            what: "FHIR JSON",
            limit: MAX_FHIR_BYTES,
        });
    }
    let Ok(value) = serde_json::from_slice::<Value>(text) else {
        return Ok(None);
    };
    if value.get("resourceType").is_none() {
        return Ok(None);
    }
    let mut out = Vec::new();
    collect(value, 0, &mut out)?;
    Ok(Some(out))
}

fn resource_type_of(value: &Value) -> Result<String, FhirError> {
    match value.get("resourceType") {
        Some(Value::String(t)) if is_resource_type_name(t) => Ok(t.clone()),
        Some(Value::String(t)) => Err(FhirError::malformed(format!(
            "not a resource type name: {t:?}"
        ))),
        Some(_) => Err(FhirError::malformed("resourceType is not a string")),
        None => Err(FhirError::malformed("resource without resourceType")),
    }
}

fn collect(mut value: Value, depth: usize, out: &mut Vec<Resource>) -> Result<(), FhirError> {
    if !value.is_object() {
        return Err(FhirError::malformed("a resource is not a JSON object"));
    }
    let resource_type = resource_type_of(&value)?;
    if resource_type == "Bundle" {
        if depth >= MAX_BUNDLE_DEPTH {
            return Err(FhirError::TooLarge {
                what: "Bundle nesting",
                limit: MAX_BUNDLE_DEPTH,
            });
        }
        let is_ips = ips::is_ips(&value);
        let entries = match value.get_mut("entry").map(Value::take) {
            None | Some(Value::Null) => return Ok(()),
            Some(Value::Array(entries)) => entries,
            Some(_) => return Err(FhirError::malformed("Bundle.entry is not an array")),
        };
        let mut entries = entries
            .into_iter()
            .map(|entry| match entry {
                Value::Object(entry) => Ok(entry),
                _ => Err(FhirError::malformed("Bundle.entry item is not an object")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        link_entries(&mut entries);
        for (i, mut entry) in entries.into_iter().enumerate() {
            if is_ips && i == 0 {
                continue;
            }
            if let Some(resource) = entry.remove("resource") {
                collect(resource, depth + 1, out)?;
            }
        }
        return Ok(());
    }
    if out.len() >= MAX_RESOURCES {
        return Err(FhirError::TooLarge {
            what: "resources in one file",
            limit: MAX_RESOURCES,
        });
    }
    let id = match value.get("id") {
        None => None,
        Some(Value::String(id)) => Some(id.clone()),
        Some(_) => return Err(FhirError::malformed("resource id is not a string")),
    };
    let json = serde_json::to_vec(&value)
        .map_err(|e| FhirError::malformed(format!("re-serialising: {e}")))?;
    out.push(Resource {
        resource_type,
        id,
        json,
    });
    Ok(())
}

/// Rewrites the references between a Bundle's entries to `Type/id`, so they still resolve once
/// each resource is a record of its own (see [`split`]).
fn link_entries(entries: &mut [Map<String, Value>]) {
    let full_urls: Vec<Option<String>> = entries
        .iter()
        .map(|e| e.get("fullUrl").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let mut labels: Vec<Option<String>> = Vec::with_capacity(entries.len());
    for (entry, full_url) in entries.iter_mut().zip(&full_urls) {
        let Some(Value::Object(resource)) = entry.get_mut("resource") else {
            labels.push(None);
            continue;
        };
        let uuid = full_url
            .as_deref()
            .and_then(|u| u.strip_prefix("urn:uuid:"))
            .filter(|u| reference::is_id(u));
        if let (None, Some(uuid)) = (resource.get("id"), uuid) {
            resource.insert("id".into(), Value::String(uuid.to_owned()));
        }
        labels.push(match (resource.get("resourceType"), resource.get("id")) {
            (Some(Value::String(t)), Some(Value::String(id)))
                if is_resource_type_name(t) && reference::is_id(id) =>
            {
                Some(format!("{t}/{id}"))
            }
            _ => None,
        });
    }
    let mut count: HashMap<&str, usize> = HashMap::new();
    for label in labels.iter().flatten() {
        *count.entry(label).or_default() += 1;
    }
    let unique: Vec<Option<String>> = labels
        .iter()
        .map(|l| l.clone().filter(|l| count.get(l.as_str()) == Some(&1)))
        .collect();
    let urls = reference::FullUrls::new(full_urls.iter().map(Option::as_deref));
    for (entry, full_url) in entries.iter_mut().zip(&full_urls) {
        let Some(resource) = entry.get_mut("resource") else {
            continue;
        };
        reference::each_mut(resource, &mut |r| {
            let Some(Value::String(text)) = r.get("reference") else {
                return;
            };
            let label = urls
                .resolve(text, full_url.as_deref())
                .and_then(|t| unique[t].clone());
            if let Some(label) = label {
                r.insert("reference".into(), Value::String(label));
            }
        });
    }
}
