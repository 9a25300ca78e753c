//! Carekey's encrypted wallet on disk.
//!
//! A vault is a directory holding an authenticated header (`vault.ck`: the Argon2id parameters
//! and the random master key sealed under the passphrase), a state file (`state.ck`: the
//! wallet's document and the record key index, both sealed) and a `records/` folder with one
//! file per record version, laid out by [`RecordStore`]. The key index is additionally sealed
//! under an *epoch key* that lives only in a [`SecretStore`] (the OS keyring, or a
//! [`FileStore`] outside the vault directory): rotating the epoch ([`Vault::rotate_epoch`])
//! crypto-erases every older copy of the key index, even one kept in a copy of the directory
//! together with the passphrase. Every write is atomic ([`atomic`]).
//!
//! `carekey-wallet` depends on this crate (it treats the state and key index as opaque bytes);
//! shells should go through the wallet rather than use the vault directly. This crate uses
//! cryptography only through `carekey-crypto`.
//!
//! The design is recorded in `docs/adr/0004-vault-and-key-chain.md`.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod atomic;
mod backup;
mod error;
mod format;
mod records;
mod store;
mod vault;

use std::fmt;

use zeroize::Zeroizing;

pub use backup::{BackupShare, ShareNeeded};
pub use carekey_crypto::KdfParams;
pub use error::{StoreError, VaultError};
pub use format::{parse_header, parse_state_file, Header, StateFile};
pub use records::{NewRecordFile, RecordStore};
pub use store::{default_store, FileStore, OsKeyring, SecretStore};
pub use vault::Vault;

/// A passphrase, wiped from memory when dropped; its `Debug` output is redacted.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps `s` (taking ownership so no unwiped copy stays with the caller).
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// The passphrase text, for key derivation only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase([redacted])")
    }
}
