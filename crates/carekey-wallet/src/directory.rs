//! A provider directory operator's desk (e.g. a licensing body): keeps a signing key and a list
//! of providers, and publishes it as a signed directory patients can pin.

use std::path::Path;

use carekey_crypto::{KdfParams, PublicKey, SigningKey};
use carekey_model::{Directory, DirectoryEntry, Signed, SignedDirectory};
use carekey_vault::{Passphrase, SecretStore, Vault};

use crate::state::{self, DirectoryState, SecretBytes};
use crate::WalletError;

/// Why a directory-desk operation failed, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// A provider key is not a public key.
    #[error("{0:?} is not a provider key (64 hex characters)")]
    BadProviderKey(String),
}

impl DirectoryError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            DirectoryError::BadProviderKey(_) => "bad_key",
        }
    }
}

/// An unlocked directory desk.
#[derive(Debug)]
pub struct DirectoryDesk {
    vault: Vault,
    state: DirectoryState,
}

impl DirectoryDesk {
    /// Creates a directory with a fresh signing key in `dir`.
    pub fn create(
        dir: &Path,
        name: &str,
        passphrase: &Passphrase,
        kdf: KdfParams,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(crate::ProviderError::BadName { what: "directory" }.into());
        }
        crate::check_passphrase(passphrase)?;
        let mut desk = DirectoryDesk {
            vault: Vault::create(dir, passphrase, kdf, store)?,
            state: DirectoryState {
                name: name.to_owned(),
                identity: SecretBytes(SigningKey::generate().to_bytes()),
                providers: Vec::new(),
            },
        };
        desk.save()?;
        Ok(desk)
    }

    /// Unlocks the directory desk in `dir`.
    pub fn unlock(
        dir: &Path,
        passphrase: &Passphrase,
        store: Box<dyn SecretStore>,
    ) -> Result<Self, WalletError> {
        let vault = Vault::unlock(dir, passphrase, store)?;
        let state = state::read_directory(&vault)?;
        Ok(DirectoryDesk { vault, state })
    }

    fn save(&mut self) -> Result<(), WalletError> {
        let (state, keys) = state::encode_directory(&self.state)?;
        self.vault.save(&state, &keys)?;
        Ok(())
    }

    fn signing_key(&self) -> SigningKey {
        SigningKey::from_bytes(&self.state.identity.0)
    }

    /// The key patients pin (`carekey directory trust KEY`).
    pub fn public_key(&self) -> PublicKey {
        self.signing_key().public()
    }

    /// Lists (or re-lists under a new name) a provider key.
    pub fn add(&mut self, name: &str, key: &str) -> Result<(), WalletError> {
        let key: PublicKey = key.trim().parse().map_err(|_| {
            WalletError::from(crate::DirectoryError::BadProviderKey(key.to_owned()))
        })?;
        let name = name.trim();
        if name.is_empty() || name.len() > 200 {
            return Err(crate::ProviderError::BadName { what: "provider" }.into());
        }
        let hex = key.to_string();
        self.state.providers.retain(|(_, k)| *k != hex);
        self.state.providers.push((name.to_owned(), hex));
        self.save()
    }

    /// Signs the current list.
    pub fn sign(&self, now: u64) -> Result<SignedDirectory, WalletError> {
        let providers = self
            .state
            .providers
            .iter()
            .map(|(name, key)| {
                Ok(DirectoryEntry {
                    name: name.clone(),
                    signing: key.parse().map_err(|_| {
                        WalletError::State("a listed provider key is malformed".into())
                    })?,
                })
            })
            .collect::<Result<Vec<_>, WalletError>>()?;
        Ok(Signed::sign(
            Directory {
                name: self.state.name.clone(),
                directory_key: self.public_key(),
                issued_at: now,
                providers,
            },
            &self.signing_key(),
        )?)
    }
}
