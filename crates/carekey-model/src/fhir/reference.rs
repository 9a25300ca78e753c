//! FHIR `Reference`s inside a Bundle: finding them in a resource, and resolving them to an entry
//! the way FHIR R4 says (<https://hl7.org/fhir/R4/bundle.html#references>, §2.36.4.1).
//!
//! A reference is any JSON object with a string `reference` (a `Reference` wherever it appears:
//! `subject`, `valueReference`, `section.entry`…). Resolution rules, R4:
//!
//! * an absolute reference (`urn:uuid:…`, `https://…/Patient/1`) matches an entry's `fullUrl`;
//! * a relative `Type/id` is made absolute against the base of the referring entry's RESTful
//!   `fullUrl` (`https://x/fhir/Observation/2` → `https://x/fhir/Patient/1`), and matches that;
//!   under a `urn:` `fullUrl` it does not resolve inside the Bundle;
//! * `…/_history/n` is matched without its version; `#id` points into `contained`, not the Bundle.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::documents::is_resource_type_name;

/// Calls `f` on every `reference` string in `value`, in document order.
pub(crate) fn each(value: &Value, f: &mut dyn FnMut(&str)) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("reference") {
                f(r);
            }
            for v in map.values() {
                each(v, f);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| each(v, f)),
        _ => {}
    }
}

/// Calls `f` on every `Reference` object (one with a string `reference`) in `value`, so it can
/// rewrite or remove the reference.
pub(crate) fn each_mut(value: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            if matches!(map.get("reference"), Some(Value::String(_))) {
                f(map);
            }
            for v in map.values_mut() {
                each_mut(v, f);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| each_mut(v, f)),
        _ => {}
    }
}

/// A reference into `contained` (`#id`): it never names a Bundle entry.
pub(crate) fn is_contained(reference: &str) -> bool {
    reference.starts_with('#')
}

/// `reference` without a `/_history/…` version.
fn unversioned(reference: &str) -> &str {
    match reference.find("/_history/") {
        Some(at) => &reference[..at],
        None => reference,
    }
}

/// Whether the text starts with a URI scheme (`urn:`, `https:`…).
fn is_absolute(reference: &str) -> bool {
    match reference.find(':') {
        Some(colon) if colon > 0 => {
            let scheme = &reference[..colon];
            scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        _ => false,
    }
}

/// `(Type, id)` when `reference` is a relative `Type/id`.
pub(crate) fn relative(reference: &str) -> Option<(&str, &str)> {
    let reference = unversioned(reference);
    if is_absolute(reference) {
        return None;
    }
    let (resource_type, id) = reference.split_once('/')?;
    (is_resource_type_name(resource_type) && is_id(id)).then_some((resource_type, id))
}

/// `(Type, id)` at the end of any reference, relative or absolute (`…/Patient/1`).
pub(crate) fn type_and_id(reference: &str) -> Option<(&str, &str)> {
    let reference = unversioned(reference);
    let (rest, id) = reference.rsplit_once('/')?;
    let resource_type = rest.rsplit('/').next()?;
    (is_resource_type_name(resource_type) && is_id(id)).then_some((resource_type, id))
}

/// A FHIR `id`: 1–64 of `A-Z a-z 0-9 - .`.
pub(crate) fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// The entries of one Bundle, by `fullUrl`.
#[derive(Debug, Default)]
pub(crate) struct FullUrls {
    index: HashMap<String, usize>,
}

impl FullUrls {
    /// Indexes the entries' `fullUrl`s (position in `entry`); the first of duplicates wins.
    pub(crate) fn new<'a>(full_urls: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut index = HashMap::new();
        for (i, url) in full_urls.into_iter().enumerate() {
            if let Some(url) = url {
                index.entry(url.to_owned()).or_insert(i);
            }
        }
        FullUrls { index }
    }

    /// The entry `reference`, written in the entry whose `fullUrl` is `referrer`, names.
    pub(crate) fn resolve(&self, reference: &str, referrer: Option<&str>) -> Option<usize> {
        if is_contained(reference) {
            return None;
        }
        let reference = unversioned(reference);
        if is_absolute(reference) {
            return self.index.get(reference).copied();
        }
        relative(reference)?;
        let base = restful_base(referrer?)?;
        self.index.get(&format!("{base}/{reference}")).copied()
    }
}

/// The service base of a RESTful `fullUrl` (`https://x/fhir/Patient/1` → `https://x/fhir`).
fn restful_base(full_url: &str) -> Option<&str> {
    if !(full_url.starts_with("http://") || full_url.starts_with("https://")) {
        return None;
    }
    let (rest, id) = full_url.rsplit_once('/')?;
    let (base, resource_type) = rest.rsplit_once('/')?;
    (is_resource_type_name(resource_type) && is_id(id) && base.contains("://")).then_some(base)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resolves_by_the_r4_rules() {
        let urls = FullUrls::new([
            Some("urn:uuid:0d1e6c1a-1111-4b4b-8c8c-000000000001"),
            Some("https://x.example/fhir/Patient/p1"),
            None,
        ]);
        let uuid = "urn:uuid:0d1e6c1a-1111-4b4b-8c8c-000000000001";
        assert_eq!(urls.resolve(uuid, None), Some(0));
        assert_eq!(
            urls.resolve("Patient/p1", Some("https://x.example/fhir/Observation/o")),
            Some(1)
        );
        assert_eq!(
            urls.resolve(
                "Patient/p1/_history/3",
                Some("https://x.example/fhir/Observation/o")
            ),
            Some(1)
        );
        // A relative reference under a urn fullUrl has no base: not in the Bundle.
        assert_eq!(urls.resolve("Patient/p1", Some(uuid)), None);
        assert_eq!(urls.resolve("Patient/p1", None), None);
        assert_eq!(urls.resolve("#med", Some(uuid)), None);
        assert_eq!(urls.resolve("https://other.example/Patient/p1", None), None);
    }

    #[test]
    fn splits_type_and_id() {
        assert_eq!(relative("Patient/1"), Some(("Patient", "1")));
        assert_eq!(relative("https://x/Patient/1"), None);
        assert_eq!(relative("patient/1"), None);
        assert_eq!(
            type_and_id("https://x/fhir/Patient/1/_history/2"),
            Some(("Patient", "1"))
        );
        assert_eq!(type_and_id("urn:uuid:abc"), None);
    }
}
