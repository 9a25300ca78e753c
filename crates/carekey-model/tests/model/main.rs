//! Integration tests of carekey-model: documents, COSE, URIs, directories, bundles, FHIR, SMART
//! Health Links and Cards.
#![allow(clippy::unwrap_used)]

mod bundle;
mod documents;
mod fhir;
mod fixtures;
mod ips;
mod ledger;
mod peer;
mod props;
mod provider;
mod shl;
mod uri;
