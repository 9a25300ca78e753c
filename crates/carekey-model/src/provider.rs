//! Checking a provider's stated name and key against pinned provider directories.

use carekey_crypto::PublicKey;

use crate::signed::SignedDirectory;

/// What pinned directories say about a provider (shown to the patient before approving).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProviderVerification {
    /// A trusted directory lists this key under exactly this name.
    Verified {
        /// The name of the directory that lists it.
        directory: String,
    },
    /// A trusted directory lists this key, but under another name: the request's name is not to be believed.
    NameMismatch {
        /// The name the directory lists for the key.
        listed_name: String,
        /// The directory's name.
        directory: String,
    },
    /// No trusted directory lists this key.
    Unlisted,
    /// None of the given directories is signed by a pinned key, so nothing can be said.
    NoTrustedDirectory,
}

/// Looks `key` up in every directory whose `directory_key` is in `pinned`; the others are ignored.
///
/// Names are compared exactly. A listing under the same name wins over a listing under another
/// name in a second directory.
pub fn verify_provider(
    directories: &[SignedDirectory],
    pinned: &[PublicKey],
    name: &str,
    key: &PublicKey,
) -> ProviderVerification {
    let trusted: Vec<_> = directories
        .iter()
        .map(|d| d.document())
        .filter(|d| pinned.contains(&d.directory_key))
        .collect();
    if trusted.is_empty() {
        return ProviderVerification::NoTrustedDirectory;
    }
    let mut mismatch = None;
    for directory in trusted {
        for entry in directory.providers.iter().filter(|e| e.signing == *key) {
            if entry.name == name {
                return ProviderVerification::Verified {
                    directory: directory.name.clone(),
                };
            }
            mismatch.get_or_insert_with(|| ProviderVerification::NameMismatch {
                listed_name: entry.name.clone(),
                directory: directory.name.clone(),
            });
        }
    }
    mismatch.unwrap_or(ProviderVerification::Unlisted)
}
