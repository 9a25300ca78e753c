//! carekey-crypto
#![forbid(unsafe_code)]
