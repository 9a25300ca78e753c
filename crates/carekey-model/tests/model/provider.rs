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
