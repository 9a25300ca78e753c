//! The wallet's error type: one enum for every use case, with messages a patient can act on.

use std::path::PathBuf;

use carekey_crypto::age::AgeError;
use carekey_crypto::CryptoError;
use carekey_model::fhir::FhirError;
use carekey_model::DocumentError;
use carekey_qr::QrError;
use carekey_vault::VaultError;

/// Why a wallet operation failed. Messages never contain secret material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The vault could not be created, unlocked, read or written.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// A record file could not be encrypted or decrypted.
    #[error("record encryption: {0}")]
    Age(#[from] AgeError),
    /// A cryptographic operation failed (e.g. a key agreement with a low-order point).
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A signed document (request, grant, bundle, directory…) was malformed or did not verify.
    #[error(transparent)]
    Document(#[from] DocumentError),
    /// A FHIR resource or Consent could not be read.
    #[error(transparent)]
    Fhir(#[from] FhirError),
    /// A QR code could not be drawn or read.
    #[error(transparent)]
    Qr(#[from] QrError),
    /// A file could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What the wallet was doing.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The vault holds a wallet of another role (e.g. a provider vault opened as a patient).
    #[error("this vault holds a {found} wallet, not a {expected} wallet")]
    WrongRole {
        /// The role the command needs.
        expected: &'static str,
        /// The role stored in the vault.
        found: &'static str,
    },
    /// The wallet's own state could not be decoded (a bug or a newer format).
    #[error("wallet state is unreadable: {0}")]
    State(String),
    /// No record, grant or request matches what was asked for.
    #[error("no {what} matches {query:?}")]
    NotFound {
        /// Record, grant, request…
        what: &'static str,
        /// What the user typed.
        query: String,
    },
    /// More than one record or grant starts with the prefix the user typed.
    #[error("{query:?} matches more than one {what}; type more characters")]
    Ambiguous {
        /// Record, grant…
        what: &'static str,
        /// What the user typed.
        query: String,
    },
    /// The request names nodes the patient has not pinned and did not confirm.
    #[error("the request names nodes you have not pinned: {0:?}; confirm them to continue")]
    UnconfirmedNodes(Vec<String>),
    /// A request vouches for a different log key than the one the patient pinned for that URL
    /// (a node cannot be re-keyed by a provider's request).
    #[error(
        "the request names node {url} with log key {requested}, but you pinned {pinned} for it; \
         if the node really changed its key, remove it and add it again"
    )]
    NodeKeyMismatch {
        /// The node URL.
        url: String,
        /// The key the request names.
        requested: String,
        /// The key the patient pinned.
        pinned: String,
    },
    /// A node still serves grants the patient has not ended there, or ending work waits for it.
    #[error(
        "{url} may still serve {} grant(s) ({}) and {waiting} ending write(s) wait for it: revoke them and sync first, or remove it with --force if the node is gone for good (a receipt lists what could not be ended)",
        grants.len(),
        grants.iter().map(|g| &g[..12.min(g.len())]).collect::<Vec<_>>().join(", ")
    )]
    NodeInUse {
        /// The node URL.
        url: String,
        /// Grants still live there (hex ids).
        grants: Vec<String>,
        /// Ledger writes that end or erase something, still queued for it.
        waiting: usize,
    },
    /// A backup's key share was deleted from every node the backup names: an erasure happened
    /// after the backup was made, so it no longer opens (by design).
    #[error(
        "this backup was made before an erasure: its key share was deleted from {} (every node it names); restore a newer backup",
        nodes.join(", ")
    )]
    BackupShareGone {
        /// The nodes the backup names.
        nodes: Vec<String>,
    },
    /// No node the backup names answered with its key share.
    #[error(
        "this backup needs its key share from a ledger node, and none answered: {}{}",
        nodes.join("; "),
        if deleted.is_empty() { String::new() } else { format!(" (deleted on {})", deleted.join(", ")) }
    )]
    BackupShareUnreachable {
        /// The nodes that could not be reached, with why.
        nodes: Vec<String>,
        /// The nodes that answered that the share is gone.
        deleted: Vec<String>,
    },
    /// The patient chose nothing to share.
    #[error("nothing to share: choose records or resource types the request asks for")]
    EmptyShare,
    /// A grant bundle was refused by the provider's checks.
    #[error("bundle refused: {0}")]
    Refused(String),
    /// The grant is not active (already revoked or erased).
    #[error("grant {grant} is {status}")]
    GrantNotActive {
        /// The grant id.
        grant: String,
        /// Its current status.
        status: String,
    },
    /// Input was understood but is not acceptable (bad duration, bad URL…).
    #[error("{0}")]
    Invalid(String),
    /// A ledger node could not be reached or answered something the wallet cannot accept.
    #[error("ledger: {0}")]
    Ledger(String),
}

impl WalletError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        WalletError::Io {
            action,
            path: path.into(),
            source,
        }
    }

    /// A stable, machine-readable code for this error, for the app's `{ code, message }` bridge
    /// and for the CLI's exit codes.
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::Vault(VaultError::WrongPassphrase) => "wrong_passphrase",
            WalletError::Vault(VaultError::WeakKdf { .. }) => "weak_kdf",
            WalletError::Vault(VaultError::NotFound { .. }) => "no_wallet",
            WalletError::Vault(VaultError::AlreadyExists { .. }) => "wallet_exists",
            WalletError::Vault(_) => "vault",
            WalletError::Age(_) => "record_crypto",
            WalletError::Crypto(_) => "crypto",
            WalletError::Document(_) => "bad_document",
            WalletError::Fhir(_) => "bad_fhir",
            WalletError::Qr(_) => "bad_qr",
            WalletError::Io { .. } => "io",
            WalletError::WrongRole { .. } => "wrong_role",
            WalletError::State(_) => "state",
            WalletError::NotFound { .. } => "not_found",
            WalletError::Ambiguous { .. } => "ambiguous",
            WalletError::UnconfirmedNodes(_) => "unconfirmed_nodes",
            WalletError::NodeKeyMismatch { .. } => "node_key_mismatch",
            WalletError::NodeInUse { .. } => "node_in_use",
            WalletError::EmptyShare => "empty_share",
            WalletError::BackupShareGone { .. } => "backup_share_gone",
            WalletError::BackupShareUnreachable { .. } => "backup_share_unreachable",
            WalletError::Refused(_) => "refused",
            WalletError::GrantNotActive { .. } => "grant_not_active",
            WalletError::Invalid(_) => "invalid",
            WalletError::Ledger(_) => "ledger",
        }
    }
}
