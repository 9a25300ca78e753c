//! Grant ⇄ FHIR R4 `Consent`, and reading the terms of any R4 Consent.
//!
//! Every grant field maps to a real Consent element; extensions carry only what Consent has no
//! element for (the provider's X25519 key, the request hash, node URLs, the COSE signature):
//!
//! | grant | Consent |
//! |---|---|
//! | grant_id | `identifier` (system `urn:carekey:grant`), also `id` |
//! | patient_signing | `patient.identifier` (system `urn:carekey:ed25519`, lowercase hex) |
//! | issued_at | `dateTime` (RFC 3339 UTC) |
//! | not_before / not_after | `provision.period.start` / `.end` |
//! | provider_signing, provider_name | `provision.actor` (role IRCP), `reference.identifier` / `reference.display` |
//! | provider_agreement | extension `provider-agreement-key` on that actor |
//! | purpose | `provision.purpose` Coding (system `urn:carekey:purpose`, `display`) |
//! | scope.resource_types | `provision.class` (system `http://hl7.org/fhir/resource-types`) |
//! | scope.record_ids | `provision.data` (meaning `instance`, `reference.identifier` system `urn:carekey:record`) |
//! | request_hash, signature | extensions `request-hash`, `cose-signature` |
//! | nodes | complex extension `node` (one each, in order) with `url` (valueUrl) and `logKey` (valueString) |
//!
//! Fixed elements: `status` active, `scope` patient-privacy, `category` LOINC 59284-0,
//! `policyRule` OPTIN (R4 invariant ppc-1), `provision.type` permit, `provision.action` access.
//! Empty strings (no purpose, no provider name) are omitted, as FHIR forbids empty strings.

use std::str::FromStr;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carekey_crypto::{AgreementPublic, PublicKey, Signature};
use serde_json::{json, Value};

use super::FhirError;
use crate::documents::{Grant, Scope};
use crate::ids::{GrantId, RecordId};
use crate::signed::{Signed, SignedGrant};
use crate::time::{format_utc, parse_utc};

/// Prefix of Carekey's FHIR extension URLs.
pub const EXTENSION_BASE: &str = "https://carekey.example/fhir/StructureDefinition/";
/// Identifier system of grant ids.
pub const SYSTEM_GRANT: &str = "urn:carekey:grant";
/// Identifier system of Ed25519 public keys (lowercase hex).
pub const SYSTEM_ED25519: &str = "urn:carekey:ed25519";
/// Identifier system of record ids.
pub const SYSTEM_RECORD: &str = "urn:carekey:record";
const SYSTEM_PURPOSE: &str = "urn:carekey:purpose";
const SYSTEM_RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";
const SYSTEM_CONSENT_SCOPE: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
const SYSTEM_PARTICIPATION: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const SYSTEM_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const SYSTEM_CONSENT_ACTION: &str = "http://terminology.hl7.org/CodeSystem/consentaction";
const EXT_AGREEMENT: &str = "provider-agreement-key";
const EXT_REQUEST_HASH: &str = "request-hash";
const EXT_NODE: &str = "node";
const EXT_SIGNATURE: &str = "cose-signature";
/// How deep [`consent_terms`] follows nested `provision.provision`.
const MAX_PROVISION_DEPTH: usize = 16;

fn ext_url(name: &str) -> String {
    format!("{EXTENSION_BASE}{name}")
}

fn provision_of(g: &Grant) -> Value {
    let mut actor = json!({
        "extension": [{ "url": ext_url(EXT_AGREEMENT), "valueString": g.provider_agreement.to_string() }],
        "role": { "coding": [{ "system": SYSTEM_PARTICIPATION, "code": "IRCP" }] },
        "reference": { "identifier": { "system": SYSTEM_ED25519, "value": g.provider_signing.to_string() } }
    });
    if !g.provider_name.is_empty() {
        actor["reference"]["display"] = json!(g.provider_name);
    }
    let mut provision = json!({
        "type": "permit",
        "period": { "start": format_utc(g.not_before), "end": format_utc(g.not_after) },
        "actor": [actor],
        "action": [{ "coding": [{ "system": SYSTEM_CONSENT_ACTION, "code": "access" }] }],
    });
    if !g.purpose.is_empty() {
        provision["purpose"] = json!([{ "system": SYSTEM_PURPOSE, "display": g.purpose }]);
    }
    if !g.scope.resource_types.is_empty() {
        provision["class"] = g
            .scope
            .resource_types
            .iter()
            .map(|t| json!({ "system": SYSTEM_RESOURCE_TYPES, "code": t }))
            .collect();
    }
    if !g.scope.record_ids.is_empty() {
        provision["data"] = g
            .scope
            .record_ids
            .iter()
            .map(|r| json!({ "meaning": "instance", "reference": { "identifier": { "system": SYSTEM_RECORD, "value": r.to_string() } } }))
            .collect();
    }
    provision
}

/// The FHIR R4 `Consent` for a signed grant. [`consent_to_grant`] gives back the same bytes.
pub fn grant_to_consent(grant: &SignedGrant) -> Value {
    let g = grant.document();
    let mut extension = vec![
        json!({ "url": ext_url(EXT_REQUEST_HASH), "valueString": hex::encode(g.request_hash) }),
    ];
    extension.extend(g.nodes.iter().map(|n| node_extension(n)));
    extension.push(json!({ "url": ext_url(EXT_SIGNATURE), "valueBase64Binary": STANDARD.encode(grant.signature().to_bytes()) }));
    json!({
        "resourceType": "Consent",
        "id": g.grant_id.to_string(),
        "extension": extension,
        "identifier": [{ "system": SYSTEM_GRANT, "value": g.grant_id.to_string() }],
        "status": "active",
        "scope": { "coding": [{ "system": SYSTEM_CONSENT_SCOPE, "code": "patient-privacy" }] },
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }],
        "patient": { "identifier": { "system": SYSTEM_ED25519, "value": g.patient_signing.to_string() } },
        "dateTime": format_utc(g.issued_at),
        "policyRule": { "coding": [{ "system": SYSTEM_ACT_CODE, "code": "OPTIN" }] },
        "provision": provision_of(g),
    })
}

/// A grant's node reference as a complex extension: `url` (valueUrl) and, when the request
/// vouched for one, `logKey` (valueString). A reference that is not exactly `URL` or
/// `URL LOG-KEY` (one space) is kept verbatim as a `text` sub-extension, so the mapping stays
/// lossless and the signature still verifies.
fn node_extension(node: &str) -> Value {
    let parts: Vec<&str> = node.split(' ').collect();
    let fields = match parts.as_slice() {
        [url] if !url.is_empty() && !url.contains(char::is_whitespace) => {
            vec![json!({ "url": "url", "valueUrl": url })]
        }
        [url, key]
            if !url.is_empty()
                && !key.is_empty()
                && !node.contains(|c: char| c.is_whitespace() && c != ' ') =>
        {
            vec![
                json!({ "url": "url", "valueUrl": url }),
                json!({ "url": "logKey", "valueString": key }),
            ]
        }
        _ => vec![json!({ "url": "text", "valueString": node })],
    };
    json!({ "url": ext_url(EXT_NODE), "extension": fields })
}

fn node_of_extension(ext: &Value) -> Result<String, FhirError> {
    let field = |name: &str| -> Option<&Value> {
        ext["extension"]
            .as_array()?
            .iter()
            .find(|f| f["url"] == name)
    };
    if let Some(text) = field("text") {
        return str_at(&text["valueString"], "node text").map(str::to_owned);
    }
    let url = str_at(
        &field("url").ok_or_else(|| missing("node url"))?["valueUrl"],
        "node url",
    )?;
    match field("logKey") {
        Some(key) => Ok(format!(
            "{url} {}",
            str_at(&key["valueString"], "node logKey")?
        )),
        None => Ok(url.to_owned()),
    }
}

fn missing(what: &str) -> FhirError {
    FhirError::NotCarekeyGrant {
        what: what.to_owned(),
    }
}

fn str_at<'a>(v: &'a Value, what: &str) -> Result<&'a str, FhirError> {
    v.as_str().ok_or_else(|| missing(what))
}

fn time_at(v: &Value, what: &str) -> Result<u64, FhirError> {
    parse_utc(str_at(v, what)?)
        .ok_or_else(|| missing(&format!("{what} (RFC 3339 UTC, whole seconds)")))
}

fn key_at(v: &Value, what: &str) -> Result<PublicKey, FhirError> {
    if v["system"] != SYSTEM_ED25519 {
        return Err(missing(what));
    }
    PublicKey::from_str(str_at(&v["value"], what)?).map_err(|_| missing(what))
}

/// Extensions with this Carekey name, in order.
fn extensions<'a>(v: &'a Value, name: &str) -> Vec<&'a Value> {
    let url = ext_url(name);
    v["extension"]
        .as_array()
        .map(|e| e.iter().filter(|x| x["url"] == url.as_str()).collect())
        .unwrap_or_default()
}

fn single_extension<'a>(v: &'a Value, name: &str) -> Result<&'a Value, FhirError> {
    match extensions(v, name).as_slice() {
        [one] => Ok(one),
        _ => Err(missing(&format!("exactly one {name} extension"))),
    }
}

fn hex32(text: &str, what: &str) -> Result<[u8; 32], FhirError> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text, &mut out).map_err(|_| missing(what))?;
    Ok(out)
}

/// Rebuilds and verifies the signed grant a Consent was made from ([`grant_to_consent`]).
///
/// Tolerates what FHIR servers add (`meta`, `text`, other identifiers), but the `provision` must
/// be exactly what the signed grant says, so a Consent cannot claim more than was signed.
pub fn consent_to_grant(consent: &Value) -> Result<SignedGrant, FhirError> {
    if consent["resourceType"] != "Consent" {
        return Err(FhirError::NotConsent);
    }
    if consent["status"] != "active" {
        return Err(missing("status active"));
    }
    let grant_id = consent["identifier"]
        .as_array()
        .and_then(|ids| ids.iter().find(|i| i["system"] == SYSTEM_GRANT))
        .ok_or_else(|| missing("identifier with system urn:carekey:grant"))?;
    let grant_id = GrantId::from_str(str_at(&grant_id["value"], "grant id")?)
        .map_err(|_| missing("grant id"))?;
    let patient_signing = key_at(
        &consent["patient"]["identifier"],
        "patient.identifier (Ed25519 key)",
    )?;
    let issued_at = time_at(&consent["dateTime"], "dateTime")?;

    let p = &consent["provision"];
    if p["type"] != "permit" {
        return Err(missing("provision.type permit"));
    }
    let not_before = time_at(&p["period"]["start"], "provision.period.start")?;
    let not_after = time_at(&p["period"]["end"], "provision.period.end")?;
    let actor = match p["actor"].as_array().map(Vec::as_slice) {
        Some([actor]) => actor,
        _ => return Err(missing("exactly one provision.actor")),
    };
    let provider_signing = key_at(
        &actor["reference"]["identifier"],
        "provision.actor (Ed25519 key)",
    )?;
    let provider_name = actor["reference"]["display"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let agreement = single_extension(actor, EXT_AGREEMENT)?;
    let provider_agreement = AgreementPublic::from_bytes(hex32(
        str_at(&agreement["valueString"], "provider agreement key")?,
        "provider agreement key",
    )?);
    let purpose = match p["purpose"].as_array().map(Vec::as_slice) {
        None => String::new(),
        Some([coding]) if coding["system"] == SYSTEM_PURPOSE => {
            str_at(&coding["display"], "purpose")?.to_owned()
        }
        Some(_) => {
            return Err(missing(
                "one provision.purpose coding with system urn:carekey:purpose",
            ))
        }
    };
    let resource_types = p["class"]
        .as_array()
        .map(|classes| {
            classes
                .iter()
                .map(|c| match c["system"] == SYSTEM_RESOURCE_TYPES {
                    true => str_at(&c["code"], "provision.class code").map(str::to_owned),
                    false => Err(missing(
                        "provision.class system http://hl7.org/fhir/resource-types",
                    )),
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let record_ids = p["data"]
        .as_array()
        .map(|data| {
            data.iter()
                .map(|d| {
                    let id = &d["reference"]["identifier"];
                    if id["system"] != SYSTEM_RECORD {
                        return Err(missing(
                            "provision.data identifier system urn:carekey:record",
                        ));
                    }
                    RecordId::from_str(str_at(&id["value"], "record id")?)
                        .map_err(|_| missing("record id"))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let request_hash = hex32(
        str_at(
            &single_extension(consent, EXT_REQUEST_HASH)?["valueString"],
            "request hash",
        )?,
        "request hash",
    )?;
    let nodes = extensions(consent, EXT_NODE)
        .into_iter()
        .map(node_of_extension)
        .collect::<Result<Vec<_>, _>>()?;
    let signature = STANDARD
        .decode(str_at(
            &single_extension(consent, EXT_SIGNATURE)?["valueBase64Binary"],
            "signature",
        )?)
        .map_err(|_| missing("signature (base64)"))?;
    let signature =
        Signature::from_slice(&signature).map_err(|_| missing("signature (64 bytes)"))?;

    let grant = Grant {
        grant_id,
        patient_signing,
        provider_name,
        provider_signing,
        provider_agreement,
        request_hash,
        scope: Scope::new(record_ids, resource_types),
        purpose,
        issued_at,
        not_before,
        not_after,
        nodes,
    };
    let signed = Signed::from_parts(&grant, &signature)?;
    if *p != provision_of(signed.document()) {
        return Err(missing(
            "a provision exactly as signed (it says more or other than the grant)",
        ));
    }
    Ok(signed)
}

/// The terms of any FHIR R4 Consent, as far as Carekey shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentTerms {
    /// `status` (active, inactive, rejected, ...).
    pub status: String,
    /// Whether it permits: the root provision's type is `permit`, or the root has no type and a
    /// nested provision is `permit`.
    pub permit: bool,
    /// Actors of all provisions: reference display, else reference, else identifier value.
    pub actors: Vec<String>,
    /// FHIR resource types of all provisions' `class` (system resource-types, or no system).
    pub resource_types: Vec<String>,
    /// Purposes of all provisions: Coding display, else code.
    pub purposes: Vec<String>,
    /// The root provision's period, else the first nested one: (start, end), "" where open.
    pub period: Option<(String, String)>,
    /// What `provision.data` points at: references, else identifier values.
    pub data_references: Vec<String>,
}

/// Reads the terms of any R4 Consent (Carekey's or anyone's).
pub fn consent_terms(consent: &Value) -> Result<ConsentTerms, FhirError> {
    if consent["resourceType"] != "Consent" {
        return Err(FhirError::NotConsent);
    }
    let status = consent["status"]
        .as_str()
        .ok_or_else(|| FhirError::malformed("Consent.status missing"))?
        .to_owned();
    let mut terms = ConsentTerms {
        status,
        permit: false,
        actors: Vec::new(),
        resource_types: Vec::new(),
        purposes: Vec::new(),
        period: None,
        data_references: Vec::new(),
    };
    let root = &consent["provision"];
    let mut any_nested_permit = false;
    walk(root, 0, &mut terms, &mut any_nested_permit)?;
    terms.permit = match root["type"].as_str() {
        Some("permit") => true,
        Some(_) => false,
        None => any_nested_permit,
    };
    Ok(terms)
}

fn push_unique(list: &mut Vec<String>, item: Option<String>) {
    if let Some(item) = item.filter(|i| !i.is_empty()) {
        if !list.contains(&item) {
            list.push(item);
        }
    }
}

fn owned(v: &Value) -> Option<String> {
    v.as_str().map(str::to_owned)
}

fn walk(
    p: &Value,
    depth: usize,
    terms: &mut ConsentTerms,
    nested_permit: &mut bool,
) -> Result<(), FhirError> {
    if p.is_null() {
        return Ok(());
    }
    if !p.is_object() {
        return Err(FhirError::malformed("provision is not an object"));
    }
    if depth > MAX_PROVISION_DEPTH {
        return Err(FhirError::TooLarge {
            what: "provision nesting",
            limit: MAX_PROVISION_DEPTH,
        });
    }
    if depth > 0 && p["type"] == "permit" {
        *nested_permit = true;
    }
    if terms.period.is_none() && p["period"].is_object() {
        let period = &p["period"];
        terms.period = Some((
            owned(&period["start"]).unwrap_or_default(),
            owned(&period["end"]).unwrap_or_default(),
        ));
    }
    for actor in list(p, "actor")? {
        let r = &actor["reference"];
        push_unique(
            &mut terms.actors,
            owned(&r["display"])
                .or_else(|| owned(&r["reference"]))
                .or_else(|| owned(&r["identifier"]["value"])),
        );
    }
    for class in list(p, "class")? {
        let system = &class["system"];
        if system.is_null() || system == SYSTEM_RESOURCE_TYPES {
            push_unique(&mut terms.resource_types, owned(&class["code"]));
        }
    }
    for purpose in list(p, "purpose")? {
        push_unique(
            &mut terms.purposes,
            owned(&purpose["display"]).or_else(|| owned(&purpose["code"])),
        );
    }
    for data in list(p, "data")? {
        let r = &data["reference"];
        push_unique(
            &mut terms.data_references,
            owned(&r["reference"]).or_else(|| owned(&r["identifier"]["value"])),
        );
    }
    for nested in list(p, "provision")? {
        walk(nested, depth + 1, terms, nested_permit)?;
    }
    Ok(())
}

/// An array element of a provision (absent = empty); anything but an array is malformed.
fn list<'a>(p: &'a Value, key: &str) -> Result<&'a [Value], FhirError> {
    match &p[key] {
        Value::Null => Ok(&[]),
        Value::Array(items) => Ok(items),
        _ => Err(FhirError::malformed(format!(
            "provision.{key} is not an array"
        ))),
    }
}
