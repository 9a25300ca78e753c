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

/// The alphabet of [`provider_code`]: 32 letters and digits without the look-alikes 0/O and
/// 1/I, so a code read aloud or off a screen is not misread.
const CODE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A provider's short code: 50 bits of `SHA-256("carekey/v1/provider-code" ‖ key)` as ten
/// characters, grouped `XXXX-XXXX-XX`. When no directory vouches for a provider, the patient
/// compares the code the wallet shows with the one the provider's desk shows: a substituted key
/// matches by chance once in 2^50, and finding a key that matches a given code takes about 2^50
/// key generations.
pub fn provider_code(key: &PublicKey) -> String {
    let mut input = b"carekey/v1/provider-code".to_vec();
    input.extend_from_slice(key.as_bytes());
    let digest = carekey_crypto::sha256(&input);
    // The first 50 bits, five at a time.
    let bits = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) >> 14;
    let mut code = String::with_capacity(12);
    for i in 0..10 {
        if i == 4 || i == 8 {
            code.push('-');
        }
        let index = (bits >> (45 - 5 * i)) & 0x1f;
        code.push(char::from(CODE_ALPHABET[index as usize]));
    }
    code
}
