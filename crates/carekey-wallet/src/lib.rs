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

pub mod crash;
mod directory;
mod error;
mod journal;
mod patient;
mod provider;
mod records;
mod state;
mod wrap;

use std::path::{Path, PathBuf};

pub use carekey_crypto::{KdfParams, PublicKey};
pub use carekey_model::{
    format_utc, GrantId, ProviderVerification, RecordId, SignedGrant, SignedRequest,
};
pub use carekey_vault::{default_store, FileStore, OsKeyring, Passphrase, SecretStore, VaultError};
pub use directory::DirectoryDesk;
pub use error::WalletError;
pub use journal::{erasure_journal, flush_erasure_journal, journal_path, JournalReport};
pub use patient::{
    AccessView, ErasureReceipt, GrantSummary, KeyWrap, KeyWraps, LedgerProof, NodeRef, NodeRemoval,
    NodeSyncStatus, OutboxNode, PatientWallet, RecordSummary, RecoveryKit, RequestInput,
    RequestReview, RevokeOutcome, ShareChoice, ShareOutcome, SyncReport, WitnessPolicy,
    DEFAULT_MAX_AGE_SECS, MAX_SERVE_DELAY_SECS, RECEIPT_FORMAT,
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

/// What an offline check of an erasure receipt established.
#[derive(Debug)]
pub struct VerifiedReceipt {
    /// The patient-signed tombstone.
    pub tombstone: carekey_model::SignedTombstone,
    /// Ledger nodes whose inclusion proof verified (with the keys named in the receipt).
    pub ledger_nodes: Vec<String>,
}

/// Verifies an erasure receipt offline: the tombstone inside must be a valid signature by the
/// patient key the receipt names, its fields must match the receipt's, and every ledger proof
/// must show an erasure entry committing to that tombstone in a log signed by the named key and
/// cosigned by the named witness quorum (leaf hash computed here).
pub fn verify_receipt(receipt_json: &[u8], now: u64) -> Result<VerifiedReceipt, WalletError> {
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
    let proofs: Vec<LedgerProof> = match value.get("ledger") {
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            WalletError::Invalid(format!("the receipt's ledger proofs are malformed: {e}"))
        })?,
        None => Vec::new(),
    };
    let b64 = |what: &str, text: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| WalletError::Invalid(format!("the receipt's {what} is not base64url")))
    };
    let mut ledger_nodes = Vec::new();
    for p in proofs {
        let entry = b64("ledger entry", &p.entry)?;
        let salt: [u8; 32] = b64("salt", &p.salt)?
            .try_into()
            .map_err(|_| WalletError::Invalid("the receipt's salt is not 32 bytes".into()))?;
        let carekey_model::ledger::Entry::Erasure(erasure) =
            carekey_model::ledger::Entry::from_bytes(&entry)?
        else {
            return Err(WalletError::Invalid(format!(
                "the ledger entry for {} is not an erasure entry",
                p.node
            )));
        };
        if erasure.document().commitment
            != carekey_model::ledger::tombstone_commitment(&salt, &tombstone)
        {
            return Err(WalletError::Invalid(format!(
                "the erasure entry on {} does not commit to this tombstone",
                p.node
            )));
        }
        let pinned = carekey_sync::PinnedLog {
            url: p.node.clone(),
            log_key: p.log_key.clone(),
            witness_keys: p.witness_keys.clone(),
            quorum: p.quorum,
            max_age_secs: u64::MAX / 2,
        };
        carekey_sync::verify_receipt(&p.receipt, &entry, &pinned, now).map_err(|e| {
            WalletError::Invalid(format!(
                "the inclusion proof from {} does not verify: {e}",
                p.node
            ))
        })?;
        ledger_nodes.push(p.node);
    }
    Ok(VerifiedReceipt {
        tombstone,
        ledger_nodes,
    })
}

/// Whether `dir` holds a vault.
pub fn wallet_exists(dir: &Path) -> bool {
    carekey_vault::Vault::exists(dir)
}
