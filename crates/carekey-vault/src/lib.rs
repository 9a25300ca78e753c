//! carekey-vault
#![forbid(unsafe_code)]
