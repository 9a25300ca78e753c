//! Grant bundles: the offline file from patient to provider.

use carekey_crypto::{sha256, AgreementPublic};
use carekey_model::*;

use crate::fixtures::*;

pub(crate) fn bundled(
    record_id: RecordId,
    resource_type: Option<&str>,
    ciphertext: &[u8],
) -> BundledRecord {
    let ciphertext_hash = sha256(ciphertext);
    BundledRecord {
        record_id,
        version: 3,
        resource_type: resource_type.map(str::to_owned),
        name: "Lipid panel".into(),
        ciphertext_hash,
        seal: patient().sign(&record_seal_message(&record_id, 3, &ciphertext_hash)),
        wrapped_identity: b"wrapped".to_vec(),
        ciphertext: ciphertext.to_vec(),
    }
}

pub(crate) fn bundle() -> GrantBundle {
    GrantBundle {
        grant: signed_grant(),
        ephemeral: AgreementPublic::from_bytes([8; 32]),
        records: vec![
            bundled(record(1), None, b"age-encryption.org/v1 ..."),
            bundled(record(42), Some("Observation"), &[0u8; 1000]),
        ],
    }
}

#[test]
fn bundle_round_trip() {
    let b = bundle();
    let bytes = b.to_bytes();
    assert!(bytes.starts_with(b"carekey-bundle/v1\n"));
    assert_eq!(GrantBundle::from_bytes(&bytes).unwrap(), b);
    let empty = GrantBundle {
        records: vec![],
        ..bundle()
    };
    assert_eq!(GrantBundle::from_bytes(&empty.to_bytes()).unwrap(), empty);
}

#[test]
fn bundle_checks_every_record() {
    let mut b = bundle();
    b.records[0].ciphertext.push(0);
    assert!(
        matches!(GrantBundle::from_bytes(&b.to_bytes()), Err(DocumentError::BadRecord { reason, .. }) if reason.contains("hash"))
    );
    let mut b = bundle();
    b.records[1].version = 4;
    assert!(
        matches!(GrantBundle::from_bytes(&b.to_bytes()), Err(DocumentError::BadRecord { reason, .. }) if reason.contains("seal"))
    );
    let mut b = bundle();
    b.records.push(bundled(record(5), Some("Condition"), b"x"));
    assert!(
        matches!(GrantBundle::from_bytes(&b.to_bytes()), Err(DocumentError::BadRecord { reason, .. }) if reason.contains("scope"))
    );
}

#[test]
fn bad_bundles_are_refused() {
    let bytes = bundle().to_bytes();
    assert!(GrantBundle::from_bytes(&bytes[1..]).is_err());
    assert!(GrantBundle::from_bytes(b"carekey-bundle/v2\n\xa0").is_err());
    assert!(GrantBundle::from_bytes(&bytes[..bytes.len() - 1]).is_err());
    assert!(GrantBundle::from_bytes(&[bytes.clone(), vec![0]].concat()).is_err());
    // A grant with a flipped signature byte inside the bundle.
    let mut b = bundle().to_bytes();
    let grant = signed_grant();
    let at = b
        .windows(grant.as_bytes().len())
        .position(|w| w == grant.as_bytes())
        .unwrap();
    b[at + grant.as_bytes().len() - 1] ^= 1;
    assert_eq!(
        GrantBundle::from_bytes(&b).unwrap_err(),
        DocumentError::BadSignature
    );
}
