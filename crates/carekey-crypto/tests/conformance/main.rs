//! Conformance and property tests of carekey-crypto: C2SP CCTV age vectors,
//! Wycheproof, cross-checks with the `age` crate, round trips, constant memory,
//! and redaction of secrets.
#![allow(clippy::unwrap_used)]

mod age_crate;
mod cctv;
mod memory;
mod roundtrip;
mod secrets;
mod stream;
mod wycheproof_vectors;
