//! Carekey's use cases: the one API the shells call.
//!
//! The `carekey` CLI and the Tauri app depend on this crate and nothing below it. A
//! [`PatientWallet`] imports and encrypts records, answers a provider's signed
//! [`carekey_model::AccessRequest`] with a signed grant and a bundle of key wraps, revokes,
//! crypto-erases and backs up. A [`ProviderWallet`] makes requests and opens bundles. A
//! [`DirectoryDesk`] signs the provider directories patients pin.
//!
//! Time is always passed in (`now`, unix seconds) so expiry is testable without sleeping.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod directory;
mod error;
mod patient;
mod provider;
mod records;
mod state;
mod wrap;

use std::path::{Path, PathBuf};

pub use carekey_crypto::{KdfParams, PublicKey};
pub use carekey_model::{GrantId, ProviderVerification, RecordId, SignedGrant, SignedRequest};
pub use carekey_vault::{default_store, FileStore, OsKeyring, Passphrase, SecretStore, VaultError};
pub use directory::DirectoryDesk;
pub use error::WalletError;
pub use patient::{
    ErasureReceipt, GrantSummary, KeyWrap, KeyWraps, PatientWallet, RecordSummary, RecoveryKit,
    RequestInput, RequestReview, RevokeOutcome, ShareChoice, ShareOutcome, RECEIPT_FORMAT,
};
pub use provider::{OpenedBundle, OpenedRecord, ProviderWallet, RequestSpec};

/// Re-exported so shells can draw and read QR codes without another dependency.
pub use carekey_qr as qr;

/// The default place for a wallet of `role` ("patient", "provider", "directory"): the platform
/// data directory (e.g. `~/.local/share/carekey/patient` on Linux).
pub fn default_dir(role: &str) -> Result<PathBuf, WalletError> {
    let dirs = directories::ProjectDirs::from("org", "Carekey", "carekey").ok_or_else(|| {
        WalletError::Invalid("no home directory: pass --vault DIR or set CAREKEY_HOME".into())
    })?;
    Ok(dirs.data_dir().join(role))
}

/// Verifies an erasure receipt offline: the tombstone inside must be a valid signature by the
/// patient key the receipt names, and its fields must match the receipt's.
pub fn verify_receipt(receipt_json: &[u8]) -> Result<carekey_model::SignedTombstone, WalletError> {
    use base64::Engine as _;
    let value: serde_json::Value = serde_json::from_slice(receipt_json)
        .map_err(|e| WalletError::Invalid(format!("not an erasure receipt: {e}")))?;
    let field = |name: &str| {
        value
            .get(name)
            .and_then(|v| v.as_str())
            .ok_or_else(|| WalletError::Invalid(format!("erasure receipt has no {name}")))
    };
    if field("format")? != RECEIPT_FORMAT {
        return Err(WalletError::Invalid("not a carekey erasure receipt".into()));
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(field("tombstone")?)
        .map_err(|_| WalletError::Invalid("the receipt's tombstone is not base64url".into()))?;
    let tombstone = carekey_model::SignedTombstone::from_bytes(&bytes)?;
    let t = tombstone.document();
    if t.patient_signing.to_string() != field("patient_key")? {
        return Err(WalletError::Invalid(
            "the receipt names another patient key than its tombstone".into(),
        ));
    }
    if value.get("erased_at").and_then(|v| v.as_u64()) != Some(t.erased_at) {
        return Err(WalletError::Invalid(
            "the receipt's time differs from its tombstone".into(),
        ));
    }
    Ok(tombstone)
}

/// Whether `dir` holds a vault.
pub fn wallet_exists(dir: &Path) -> bool {
    carekey_vault::Vault::exists(dir)
}
