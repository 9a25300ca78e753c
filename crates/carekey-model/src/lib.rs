//! carekey-model
#![forbid(unsafe_code)]
