//! The state document: exactly one role's body, and its encoding in the vault.
//!
//! In memory a document is a [`StateDocument`], an enum with one variant per role, so it cannot
//! hold a patient and a provider at once nor a role without its body. On disk it stays the CBOR
//! map written since the first vault (`version`, `role`, then one slot per role of which only
//! the role's own is filled, the others `null`): [`Wire`] and [`WireRef`] are that map, so
//! vaults written before and after this enum open with either build. A map whose slots do not
//! match its role is refused with [`WalletError::State`] rather than guessed at.
//!
//! Each role reads and writes its vault through one pair of functions here
//! ([`read_patient`] / [`encode_patient`] and the provider and directory twins); a vault of
//! another role is [`WalletError::WrongRole`].

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use carekey_vault::Vault;

use super::{decode, encode, DirectoryState, KeyIndex, PatientState, ProviderState};
use crate::WalletError;

/// Version of the state encoding; bumped on incompatible changes.
const STATE_VERSION: u32 = 1;

/// Encoded, sealed-to-be bytes; wiped when dropped.
type Secret = Zeroizing<Vec<u8>>;

/// The role a vault was created for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Role {
    Patient,
    Provider,
    Directory,
}

impl Role {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Provider => "provider",
            Role::Directory => "directory",
        }
    }
}

/// Everything a wallet keeps: the body of exactly one role.
// Lives only between decoding and the role's reader taking its body out: boxing the patient
// would buy nothing but an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum StateDocument {
    Patient(PatientState),
    Provider(ProviderState),
    Directory(DirectoryState),
}

impl StateDocument {
    pub(crate) fn role(&self) -> Role {
        match self {
            StateDocument::Patient(_) => Role::Patient,
            StateDocument::Provider(_) => Role::Provider,
            StateDocument::Directory(_) => Role::Directory,
        }
    }

    /// Reads a document from its CBOR encoding: a known version, and exactly the body its role
    /// names.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, WalletError> {
        let wire: Wire = decode(bytes)?;
        if wire.version != STATE_VERSION {
            return Err(WalletError::State(format!(
                "state version {} is not supported (this build reads {STATE_VERSION})",
                wire.version
            )));
        }
        match (wire.role, wire.patient, wire.provider, wire.directory) {
            (Role::Patient, Some(p), None, None) => Ok(StateDocument::Patient(p)),
            (Role::Provider, None, Some(p), None) => Ok(StateDocument::Provider(p)),
            (Role::Directory, None, None, Some(d)) => Ok(StateDocument::Directory(d)),
            (role, patient, provider, directory) => {
                let held: Vec<&str> = [
                    patient.map(|_| Role::Patient),
                    provider.map(|_| Role::Provider),
                    directory.map(|_| Role::Directory),
                ]
                .into_iter()
                .flatten()
                .map(Role::name)
                .collect();
                let held = if held.is_empty() {
                    "no wallet data".to_owned()
                } else {
                    format!("{} wallet data", held.join(" and "))
                };
                Err(WalletError::State(format!(
                    "the state document is marked as a {} wallet but holds {held}",
                    role.name()
                )))
            }
        }
    }

    fn wrong_role(&self, expected: Role) -> WalletError {
        WalletError::WrongRole {
            expected: expected.name(),
            found: self.role().name(),
        }
    }
}

/// A document borrowed for encoding, so no secret is copied to write it.
#[derive(Clone, Copy)]
enum StateRef<'a> {
    Patient(&'a PatientState),
    Provider(&'a ProviderState),
    Directory(&'a DirectoryState),
}

impl StateRef<'_> {
    fn encode(self) -> Result<Secret, WalletError> {
        let mut wire = WireRef {
            version: STATE_VERSION,
            role: Role::Patient,
            patient: None,
            provider: None,
            directory: None,
        };
        match self {
            StateRef::Patient(p) => wire.patient = Some(p),
            StateRef::Provider(p) => {
                wire.role = Role::Provider;
                wire.provider = Some(p);
            }
            StateRef::Directory(d) => {
                wire.role = Role::Directory;
                wire.directory = Some(d);
            }
        }
        encode(&wire)
    }
}

/// The document as it is on disk. Field order and names are the format: do not change them.
#[derive(Deserialize)]
struct Wire {
    version: u32,
    role: Role,
    #[serde(default)]
    patient: Option<PatientState>,
    #[serde(default)]
    provider: Option<ProviderState>,
    #[serde(default)]
    directory: Option<DirectoryState>,
}

/// [`Wire`], borrowed, for encoding. Every slot is written (`null` when empty), as the first
/// vaults were.
#[derive(Serialize)]
struct WireRef<'a> {
    version: u32,
    role: Role,
    patient: Option<&'a PatientState>,
    provider: Option<&'a ProviderState>,
    directory: Option<&'a DirectoryState>,
}

/// The patient's state document and key index as they are in `vault`.
pub(crate) fn read_patient(vault: &Vault) -> Result<(PatientState, KeyIndex), WalletError> {
    let state = match StateDocument::decode(&vault.state()?)? {
        StateDocument::Patient(p) => p,
        other => return Err(other.wrong_role(Role::Patient)),
    };
    let keys: KeyIndex = decode(&vault.key_index()?)?;
    Ok((state, keys))
}

/// The provider's state document in `vault` (a provider keeps no record keys).
pub(crate) fn read_provider(vault: &Vault) -> Result<ProviderState, WalletError> {
    match StateDocument::decode(&vault.state()?)? {
        StateDocument::Provider(p) => Ok(p),
        other => Err(other.wrong_role(Role::Provider)),
    }
}

/// The directory desk's state document in `vault` (a desk keeps no record keys).
pub(crate) fn read_directory(vault: &Vault) -> Result<DirectoryState, WalletError> {
    match StateDocument::decode(&vault.state()?)? {
        StateDocument::Directory(d) => Ok(d),
        other => Err(other.wrong_role(Role::Directory)),
    }
}

/// The state and key index to save for a patient.
pub(crate) fn encode_patient(
    state: &PatientState,
    keys: &KeyIndex,
) -> Result<(Secret, Secret), WalletError> {
    Ok((StateRef::Patient(state).encode()?, encode(keys)?))
}

/// The state and (empty) key index to save for a provider.
pub(crate) fn encode_provider(state: &ProviderState) -> Result<(Secret, Secret), WalletError> {
    Ok((
        StateRef::Provider(state).encode()?,
        encode(&KeyIndex::default())?,
    ))
}

/// The state and (empty) key index to save for a directory desk.
pub(crate) fn encode_directory(state: &DirectoryState) -> Result<(Secret, Secret), WalletError> {
    Ok((
        StateRef::Directory(state).encode()?,
        encode(&KeyIndex::default())?,
    ))
}

#[cfg(test)]
mod tests;
