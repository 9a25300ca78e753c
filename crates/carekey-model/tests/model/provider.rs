//! Provider verification against pinned directories.

use carekey_model::*;

use crate::fixtures::*;

const NAME: &str = "Dr. Ada Example, Example Clinic";

#[test]
fn all_four_outcomes() {
    let listed = directory(
        &directory_key(),
        &[(NAME, &provider()), ("Someone Else", &stranger())],
    );
    let pinned = [directory_key().public()];
    let key = provider().public();
    assert_eq!(
        verify_provider(std::slice::from_ref(&listed), &pinned, NAME, &key),
        ProviderVerification::Verified {
            directory: "Example Health Register".into()
        }
    );
    assert_eq!(
        verify_provider(
            std::slice::from_ref(&listed),
            &pinned,
            "Dr. Ada Exampel",
            &key
        ),
        ProviderVerification::NameMismatch {
            listed_name: NAME.into(),
            directory: "Example Health Register".into()
        }
    );
    assert_eq!(
        verify_provider(
            std::slice::from_ref(&listed),
            &pinned,
            NAME,
            &patient().public()
        ),
        ProviderVerification::Unlisted
    );
    // Same listing, but signed by a key nobody pinned.
    let unpinned = directory(&stranger(), &[(NAME, &provider())]);
    assert_eq!(
        verify_provider(std::slice::from_ref(&unpinned), &pinned, NAME, &key),
        ProviderVerification::NoTrustedDirectory
    );
    assert_eq!(
        verify_provider(&[], &pinned, NAME, &key),
        ProviderVerification::NoTrustedDirectory
    );
    assert_eq!(
        verify_provider(std::slice::from_ref(&listed), &[], NAME, &key),
        ProviderVerification::NoTrustedDirectory
    );
    // An unpinned directory cannot contradict a pinned one, and a match anywhere wins.
    let other = directory(&patient(), &[("Wrong Name", &provider())]);
    assert_eq!(
        verify_provider(
            &[unpinned, other.clone(), listed.clone()],
            &[directory_key().public(), patient().public()],
            NAME,
            &key
        ),
        ProviderVerification::Verified {
            directory: "Example Health Register".into()
        }
    );
}

#[test]
fn tampered_directory_does_not_parse() {
    let listed = directory(&directory_key(), &[("Honest Clinic", &provider())]);
    let mut bytes = listed.as_bytes().to_vec();
    let at = bytes.windows(6).position(|w| w == b"Honest").unwrap();
    bytes[at..at + 6].copy_from_slice(b"Bogus!");
    assert_eq!(
        SignedDirectory::from_bytes(&bytes).unwrap_err(),
        DocumentError::BadSignature
    );
    assert_eq!(
        SignedDirectory::from_bytes(listed.as_bytes()).unwrap(),
        listed
    );
}

#[test]
fn a_provider_code_is_ten_unambiguous_characters_grouped_4_4_2() {
    let key = carekey_crypto::SigningKey::generate().public();
    let code = carekey_model::provider_code(&key);
    assert_eq!(code.len(), 12, "{code}");
    let parts: Vec<&str> = code.split('-').collect();
    assert_eq!(
        parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
        [4, 4, 2],
        "{code}"
    );
    assert!(
        code.chars()
            .all(|c| c == '-' || "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".contains(c)),
        "{code}"
    );
    // The same key always gives the same code.
    assert_eq!(carekey_model::provider_code(&key), code);
}

#[test]
fn a_provider_code_is_fixed_by_the_key_and_differs_between_keys() {
    // The Ed25519 base point as a key: its code is pinned, so a change of derivation cannot go
    // unnoticed (the provider's CLI and every wallet must compute the same code).
    let key: carekey_crypto::PublicKey =
        "5866666666666666666666666666666666666666666666666666666666666666"
            .parse()
            .expect("a valid key");
    assert_eq!(carekey_model::provider_code(&key), PINNED);
    let mut seen = std::collections::HashSet::new();
    seen.insert(PINNED.to_owned());
    for _ in 0..200 {
        let other = carekey_crypto::SigningKey::generate().public();
        assert!(
            seen.insert(carekey_model::provider_code(&other)),
            "collision among 200 keys"
        );
    }
}

// Computed independently: SHA-256 in Python over the same bytes, first 50 bits, same alphabet.
const PINNED: &str = "DCGY-CAMM-CD";
