//! The errors of vault and secret-store operations.

use std::path::PathBuf;

use carekey_crypto::CryptoError;

/// Why a vault operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// There is no vault (no `vault.ck`) in this directory.
    #[error("no vault found at {dir}")]
    NotFound {
        /// The directory that was looked at.
        dir: PathBuf,
    },
    /// A vault already exists in this directory; nothing was written.
    #[error("a vault already exists at {dir}")]
    AlreadyExists {
        /// The directory that holds the vault.
        dir: PathBuf,
    },
    /// The target directory holds other files; a vault is only created in an absent or empty
    /// directory. Nothing was written.
    #[error("{dir} is not empty; choose an empty or new directory for the vault")]
    NotEmpty {
        /// The non-empty directory.
        dir: PathBuf,
    },
    /// The passphrase did not open the header. Authenticated encryption cannot tell a wrong
    /// passphrase from a damaged header, so this may also mean damage.
    #[error("wrong passphrase, or the vault header is damaged")]
    WrongPassphrase,
    /// A vault file is damaged: truncated, bad magic, unknown version, out-of-range fields,
    /// failed authentication, or a file belonging to another vault.
    #[error("vault file {file} is damaged: {reason}")]
    Corrupt {
        /// The damaged file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The epoch key (this device's secret for the vault) is not in the secret store, so the
    /// key index cannot be opened. Either the store lost it, or this directory is an older
    /// copy of a vault whose epoch has since been rotated (the old key index is erased).
    #[error(
        "this device's secret for the vault is missing from {store}; restore from your backup{}",
        newer_note(*.newer_epoch_present)
    )]
    DeviceSecretMissing {
        /// The store that was asked ([`crate::SecretStore::describe`]).
        store: String,
        /// The epoch the state file is at.
        epoch: u64,
        /// Whether the store holds the key of the *next* epoch: then this directory is a stale
        /// copy of a vault that has been re-keyed since.
        newer_epoch_present: bool,
    },
    /// Device unlock was asked for but is not enabled for this vault.
    #[error("device unlock is not enabled for this vault; unlock with the passphrase")]
    DeviceUnlockNotEnabled,
    /// Device unlock is enabled in the header, but its secret is missing from the store.
    #[error(
        "device unlock is enabled but its secret is missing from {store}; unlock with the passphrase and enable device unlock again"
    )]
    DeviceUnlockSecretMissing {
        /// The store that was asked.
        store: String,
    },
    /// The device-unlock secret in the store does not open the header's device wrap (the store
    /// and the vault are out of step, or the header is damaged).
    #[error(
        "device unlock failed: the secret in {store} does not match this vault; unlock with the passphrase and enable device unlock again"
    )]
    DeviceUnlockFailed {
        /// The store that was asked.
        store: String,
    },
    /// The KDF parameters asked for are out of the accepted range.
    #[error("invalid key-derivation parameters: {reason}")]
    InvalidKdf {
        /// What is out of range.
        reason: String,
    },
    /// The vault's key-derivation parameters are below the minimum a real vault may use.
    #[error("this vault's passphrase protection is too weak ({memory_kib} KiB, {iterations} passes; at least 19456 KiB and 2 passes): refusing to open it")]
    WeakKdf {
        /// Memory in KiB.
        memory_kib: u32,
        /// Passes.
        iterations: u32,
    },
    /// Data to save is larger than the vault format allows.
    #[error("{what} is too large ({len} bytes, at most {max})")]
    TooLarge {
        /// Which part ("state" or "key index").
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A file under `records/` has a name a backup cannot carry (not UTF-8, or unusual).
    #[error("record file {path} has a name that cannot be backed up")]
    UnsupportedRecordName {
        /// The offending file.
        path: PathBuf,
    },
    /// A record file the wallet refers to is not in the vault's `records/` folder (it was
    /// removed or moved outside Carekey).
    #[error("record file {path} is missing from the vault")]
    RecordFileMissing {
        /// Where it should be.
        path: PathBuf,
    },
    /// The secret store failed.
    #[error("secret store: {0}")]
    Store(#[from] StoreError),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A cryptographic operation failed unexpectedly.
    #[error("cryptography: {0}")]
    Crypto(#[from] CryptoError),
    /// The backup file is truncated, tampered with or not a Carekey backup.
    #[error("the backup is damaged or not a Carekey backup: {reason}")]
    BackupCorrupt {
        /// What is wrong with it.
        reason: String,
    },
    /// The backup was made for a different recovery key (or its recipient field is damaged).
    #[error("this backup was made for a different recovery key (or its header is damaged)")]
    WrongRecoverySecret,
    /// The backup is sealed with a key share held by ledger nodes, and none was given.
    #[error("this backup needs its key share from a ledger node")]
    BackupShareMissing,
}

fn newer_note(newer: bool) -> &'static str {
    if newer {
        " (this directory is an older copy of a vault that has been re-keyed since; its key index is erased)"
    } else {
        ""
    }
}

impl VaultError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> VaultError {
        let path = path.into();
        move |source| VaultError::Io { path, source }
    }

    pub(crate) fn corrupt(file: impl Into<PathBuf>, reason: impl Into<String>) -> VaultError {
        VaultError::Corrupt {
            file: file.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn backup(reason: impl Into<String>) -> VaultError {
        VaultError::BackupCorrupt {
            reason: reason.into(),
        }
    }
}

/// Why a [`crate::SecretStore`] operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The entry name is empty or too long.
    #[error("invalid secret name {name:?}")]
    InvalidName {
        /// The rejected name.
        name: String,
    },
    /// The store is not usable here (no OS keyring reachable, or the probe round trip failed).
    #[error("secret store unavailable: {reason}")]
    Unavailable {
        /// Why.
        reason: String,
    },
    /// The OS keyring reported an error.
    #[error("OS keyring, entry {name}: {source}")]
    Keyring {
        /// The entry involved.
        name: String,
        /// The keyring crate's error.
        #[source]
        source: keyring::Error,
    },
    /// A file-store operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// An entry holds a value of the wrong shape (for example a key of the wrong length).
    #[error("secret {name} is malformed")]
    Malformed {
        /// The entry involved.
        name: String,
    },
}
