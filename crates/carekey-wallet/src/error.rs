//! The wallet's error type. Causes every operation shares (the vault, a file, a malformed
//! document) are variants here; what can go wrong in one service has that service's own enum
//! (`RecordError`, `ShareError`, `LinkError`, `BackupError`, `ReceiptError`, `SummaryError`,
//! `ProviderError`, `DirectoryError`, `CardImportError`), wrapped here so a shell needs one
//! type. Every variant maps to one stable code ([`WalletError::code`]) that the app and the CLI
//! explain.

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
    /// A records operation failed.
    #[error(transparent)]
    Record(#[from] crate::RecordError),
    /// A sharing operation (request, grant, revocation) failed.
    #[error(transparent)]
    Share(#[from] crate::ShareError),
    /// A ledger-node setting was refused.
    #[error(transparent)]
    Link(#[from] crate::LinkError),
    /// A backup could not be restored.
    #[error(transparent)]
    Backup(#[from] crate::BackupError),
    /// An erasure receipt does not verify.
    #[error(transparent)]
    Receipt(#[from] crate::ReceiptError),
    /// The patient summary could not be made.
    #[error(transparent)]
    Summary(#[from] crate::SummaryError),
    /// A provider-side operation was refused.
    #[error(transparent)]
    Provider(#[from] crate::ProviderError),
    /// A directory-desk operation was refused.
    #[error(transparent)]
    Directory(#[from] crate::DirectoryError),
    /// A health card was not imported, or a card issuer not added or removed.
    #[error(transparent)]
    Card(#[from] crate::CardImportError),
    /// A SMART Health Link operation failed.
    #[error(transparent)]
    HealthLink(#[from] crate::HealthLinkError),
    /// The erasure journal beside the vault could not be written or read.
    #[error("erasure journal {}: {reason}", path.display())]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A new passphrase does not meet the wallet's policy.
    #[error("{0}")]
    WeakPassphrase(String),
    /// No home directory to keep the vault in.
    #[error("no home directory: pass --vault DIR or set CAREKEY_HOME")]
    NoHome,
    /// The wallet was locked while a ledger run was under way (what was sent is sent; the
    /// rest stays queued for the next run).
    #[error("the wallet is locked: unlock it first (what a ledger run already sent stays sent; the rest stays queued)")]
    Locked,
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
            WalletError::Record(e) => e.code(),
            WalletError::Share(e) => e.code(),
            WalletError::Link(e) => e.code(),
            WalletError::Backup(e) => e.code(),
            WalletError::Receipt(e) => e.code(),
            WalletError::Summary(e) => e.code(),
            WalletError::Provider(e) => e.code(),
            WalletError::Directory(e) => e.code(),
            WalletError::Card(e) => e.code(),
            WalletError::HealthLink(e) => e.code(),
            WalletError::Journal { .. } => "bad_journal",
            WalletError::NoHome => "no_home",
            WalletError::WeakPassphrase(_) => "weak_passphrase",
            WalletError::Locked => "locked",
        }
    }
}
