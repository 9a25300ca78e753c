//! carekey-wallet
#![forbid(unsafe_code)]
