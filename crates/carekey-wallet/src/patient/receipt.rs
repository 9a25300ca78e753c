//! The erasure receipt: a typed document the patient keeps, and its verification by anyone
//! holding it (the tombstone's signature, each ledger proof against the keys it names).

use base64::Engine as _;

use carekey_model::ledger::{tombstone_commitment, Entry};
use carekey_model::SignedTombstone;

use crate::WalletError;

/// The receipt format tag.
pub const RECEIPT_FORMAT: &str = "carekey-erasure-receipt/v1";

/// Proof of an erasure, for the patient to keep.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct ErasureReceipt {
    /// Always [`RECEIPT_FORMAT`].
    pub format: String,
    /// What was erased ("record …", "grant …", "wallet").
    pub subject: String,
    /// Unix seconds.
    pub erased_at: u64,
    /// The patient's identity key (hex) that signed the tombstone.
    pub patient_key: String,
    /// The signed tombstone (base64url, COSE_Sign1).
    pub tombstone: String,
    /// SHA-256 of every ciphertext whose key was destroyed (hex).
    pub ciphertext_hashes: Vec<String>,
    /// What the wallet destroyed.
    pub destroyed: Vec<String>,
    /// Inclusion proofs of the erasure entry on each pinned ledger node that accepted it.
    #[serde(default)]
    pub ledger: Vec<LedgerProof>,
    /// Ledger writes still waiting in the outbox when the receipt was made (offline nodes).
    #[serde(default)]
    pub ledger_pending: usize,
    /// What is not done yet, one line per node (and per backup that could not be re-written):
    /// kept queued and retried until it is.
    #[serde(default)]
    pub pending: Vec<String>,
    /// What erasure cannot reach.
    #[serde(default)]
    pub limits: Vec<String>,
    /// What the receipt was made from, so it can be made again once the ledger agent has sent
    /// the erasure's writes (never written to the receipt file).
    #[serde(skip)]
    pub(super) draft: Option<ReceiptDraft>,
}

/// Proof that an erasure entry committing to the receipt's tombstone is in a ledger node's log.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LedgerProof {
    /// The node.
    pub node: String,
    /// The log key the patient pinned for it (C2SP note verifier key).
    pub log_key: String,
    /// The witness keys pinned for it.
    pub witness_keys: Vec<String>,
    /// How many of them must have cosigned.
    pub quorum: usize,
    /// Index of the erasure entry in the log.
    pub index: u64,
    /// The erasure entry (base64url COSE).
    pub entry: String,
    /// The salt of the tombstone commitment (base64url).
    pub salt: String,
    /// The C2SP tlog-proof receipt.
    pub receipt: String,
}

/// Why an erasure receipt does not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiptError {
    /// The file is not a Carekey erasure receipt (not JSON, a field missing, another format).
    #[error("not a carekey erasure receipt: {0}")]
    NotAReceipt(String),
    /// A field is not what its format says (base64url, 32 bytes…).
    #[error("the receipt's {field} is malformed")]
    Malformed {
        /// Which field.
        field: &'static str,
    },
    /// The receipt's own fields disagree with the signed tombstone.
    #[error("the receipt's {field} differs from its tombstone")]
    Mismatch {
        /// Which field.
        field: &'static str,
    },
    /// A ledger proof does not prove the tombstone's erasure entry is in the log.
    #[error("the ledger proof from {node} does not verify: {reason}")]
    BadProof {
        /// The node the proof names.
        node: String,
        /// Why.
        reason: String,
    },
}

impl ReceiptError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            ReceiptError::NotAReceipt(_) => "not_a_receipt",
            ReceiptError::Malformed { .. } => "bad_receipt",
            ReceiptError::Mismatch { .. } => "receipt_mismatch",
            ReceiptError::BadProof { .. } => "bad_ledger_proof",
        }
    }
}

/// What [`verify_receipt`] established.
#[derive(Debug)]
pub struct VerifiedReceipt {
    /// The patient-signed tombstone.
    pub tombstone: SignedTombstone,
    /// Ledger nodes whose inclusion proof verified (with the keys named in the receipt).
    pub ledger_nodes: Vec<String>,
}

fn base64url_decode(field: &'static str, text: &str) -> Result<Vec<u8>, ReceiptError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| ReceiptError::Malformed { field })
}

/// Verifies an erasure receipt: its tombstone's signature, that the receipt's fields match it,
/// and each ledger proof (the entry commits to the tombstone, and the tlog-proof verifies under
/// the log and witness keys the receipt names, at `now`).
pub fn verify_receipt(receipt_json: &[u8], now: u64) -> Result<VerifiedReceipt, WalletError> {
    let receipt: ErasureReceipt = serde_json::from_slice(receipt_json)
        .map_err(|e| ReceiptError::NotAReceipt(e.to_string()))?;
    if receipt.format != RECEIPT_FORMAT {
        return Err(ReceiptError::NotAReceipt(format!("format {:?}", receipt.format)).into());
    }
    let tombstone =
        SignedTombstone::from_bytes(&base64url_decode("tombstone", &receipt.tombstone)?)?;
    let t = tombstone.document();
    if t.patient_signing.to_string() != receipt.patient_key {
        return Err(ReceiptError::Mismatch {
            field: "patient key",
        }
        .into());
    }
    if t.erased_at != receipt.erased_at {
        return Err(ReceiptError::Mismatch { field: "time" }.into());
    }
    let mut ledger_nodes = Vec::new();
    for p in receipt.ledger {
        let entry = base64url_decode("ledger entry", &p.entry)?;
        let salt: [u8; 32] = base64url_decode("salt", &p.salt)?
            .try_into()
            .map_err(|_| ReceiptError::Malformed { field: "salt" })?;
        let bad = |reason: &str| ReceiptError::BadProof {
            node: p.node.clone(),
            reason: reason.to_owned(),
        };
        let Entry::Erasure(erasure) = Entry::from_bytes(&entry)? else {
            return Err(bad("its entry is not an erasure entry").into());
        };
        if erasure.document().commitment != tombstone_commitment(&salt, &tombstone) {
            return Err(bad("its erasure entry does not commit to this tombstone").into());
        }
        let pinned = carekey_sync::PinnedLog {
            url: p.node.clone(),
            log_key: p.log_key.clone(),
            witness_keys: p.witness_keys.clone(),
            quorum: p.quorum,
            max_age_secs: u64::MAX / 2,
        };
        carekey_sync::verify_receipt(&p.receipt, &entry, &pinned, now)
            .map_err(|e| bad(&format!("the inclusion proof: {e}")))?;
        ledger_nodes.push(p.node);
    }
    Ok(VerifiedReceipt {
        tombstone,
        ledger_nodes,
    })
}

/// What a receipt is made from, kept beside it so it can be made again after the ledger agent
/// sent the erasure's writes (the proofs and what is still pending change; nothing else).
#[derive(Clone, Debug)]
pub(crate) struct ReceiptDraft {
    pub(super) tombstone: SignedTombstone,
    pub(super) destroyed: Vec<String>,
    pub(super) share_nodes: Vec<String>,
    pub(super) problems: Vec<String>,
}
