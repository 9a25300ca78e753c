//! carekey-qr
#![forbid(unsafe_code)]
