//! Carekey's use cases: the one API the shells call.
//!
//! The `carekey` CLI and the Tauri app depend on this crate and nothing below it. A
//! [`PatientWallet`] is an unlocked session with services on it — [`Records`], [`Sharing`],
//! [`Erasure`], [`Backups`], [`LedgerLink`] — each with its own error enum. The [`agent`]
//! does the wallet's network work outside any lock. A [`ProviderWallet`] makes requests and
//! opens bundles. A [`DirectoryDesk`] signs the provider directories patients pin. The rules a
//! shell must not re-invent (the passphrase policy, the default share choice, pinning a node
//! on this device) are here, once.
//!
//! Time is always passed in (`now`, unix seconds) so expiry is testable without sleeping.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod agent;
pub mod crash;
mod directory;
mod error;
mod journal;
mod patient;
mod policy;
mod provider;
mod records;
mod state;
mod wrap;

use std::path::{Path, PathBuf};

pub use carekey_crypto::{KdfParams, PublicKey};
pub use carekey_model::{
    format_utc, provider_code, GrantId, ProviderVerification, RecordId, SignedGrant, SignedRequest,
};
pub use carekey_vault::{default_store, FileStore, OsKeyring, Passphrase, SecretStore, VaultError};
pub use directory::{DirectoryDesk, DirectoryError};
pub use error::WalletError;
pub use journal::{erasure_journal, flush_erasure_journal, journal_path, JournalReport};
pub use patient::*;
pub use policy::{check_passphrase, MIN_PASSPHRASE_CHARS};
pub use provider::{OpenedBundle, OpenedRecord, ProviderError, ProviderWallet, RequestSpec};
pub use state::WitnessPolicy;

pub use carekey_qr as qr;

/// The default vault directory for a role (`patient`, `provider`, `directory`) in the user's
/// data directory.
pub fn default_dir(role: &str) -> Result<PathBuf, WalletError> {
    let dirs =
        directories::ProjectDirs::from("org", "Carekey", "carekey").ok_or(WalletError::NoHome)?;
    Ok(dirs.data_dir().join(role))
}

/// Whether `dir` holds a vault.
pub fn wallet_exists(dir: &Path) -> bool {
    carekey_vault::Vault::exists(dir)
}
