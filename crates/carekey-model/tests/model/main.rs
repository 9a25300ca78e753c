//! Integration tests of carekey-model: documents, COSE, URIs, directories, bundles, FHIR.
#![allow(clippy::unwrap_used)]

mod bundle;
mod documents;
mod fhir;
mod fixtures;
mod ips;
mod ledger;
mod props;
mod provider;
mod uri;
