//! Deterministic keys and documents shared by the tests.

use carekey_crypto::{AgreementPublic, SigningKey};
use carekey_model::*;

pub(crate) const NOW: u64 = 1_700_000_000;

pub(crate) fn patient() -> SigningKey {
    SigningKey::from_bytes(&[1; 32])
}

pub(crate) fn provider() -> SigningKey {
    SigningKey::from_bytes(&[2; 32])
}

pub(crate) fn directory_key() -> SigningKey {
    SigningKey::from_bytes(&[3; 32])
}

pub(crate) fn stranger() -> SigningKey {
    SigningKey::from_bytes(&[4; 32])
}

pub(crate) fn record(n: u8) -> RecordId {
    RecordId([n; 16])
}

pub(crate) fn request() -> AccessRequest {
    AccessRequest {
        provider_name: "Dr. Ada Example, Example Clinic".into(),
        provider_signing: provider().public(),
        provider_agreement: AgreementPublic::from_bytes([9; 32]),
        scope: Scope::new(
            vec![],
            vec!["Observation".into(), "AllergyIntolerance".into()],
        ),
        purpose: "Treatment".into(),
        duration_secs: 3600,
        nodes: vec!["http://127.0.0.1:7000".into()],
        nonce: [5; 16],
        created_at: NOW,
        expires_at: NOW + 600,
    }
}

pub(crate) fn signed_request() -> SignedRequest {
    Signed::sign(request(), &provider()).unwrap()
}

pub(crate) fn grant() -> Grant {
    let request = signed_request();
    Grant {
        grant_id: GrantId([7; 16]),
        patient_signing: patient().public(),
        provider_name: request.document().provider_name.clone(),
        provider_signing: provider().public(),
        provider_agreement: request.document().provider_agreement,
        request_hash: request.hash(),
        scope: Scope::new(vec![record(2), record(1)], vec!["Observation".into()]),
        purpose: "Treatment".into(),
        issued_at: NOW,
        not_before: NOW,
        not_after: NOW + 3600,
        nodes: vec![
            "http://127.0.0.1:7000".into(),
            "https://node.example".into(),
        ],
    }
}

pub(crate) fn signed_grant() -> SignedGrant {
    Signed::sign(grant(), &patient()).unwrap()
}

pub(crate) fn revocation() -> Revocation {
    let grant = signed_grant();
    Revocation {
        grant_id: grant.document().grant_id,
        grant_hash: grant.hash(),
        patient_signing: patient().public(),
        revoked_at: NOW + 60,
    }
}

pub(crate) fn tombstone() -> Tombstone {
    Tombstone {
        patient_signing: patient().public(),
        subject: ErasureSubject::Record {
            record_id: record(1),
        },
        ciphertext_hashes: vec![[0xaa; 32], [0xbb; 32]],
        erased_at: NOW + 120,
    }
}

pub(crate) fn directory(key: &SigningKey, entries: &[(&str, &SigningKey)]) -> SignedDirectory {
    let directory = Directory {
        name: "Example Health Register".into(),
        directory_key: key.public(),
        issued_at: NOW,
        providers: entries
            .iter()
            .map(|(name, k)| DirectoryEntry {
                name: (*name).into(),
                signing: k.public(),
            })
            .collect(),
    };
    Signed::sign(directory, key).unwrap()
}

/// Wraps `payload` in a COSE_Sign1 with the given protected header bytes, signed correctly by `key`
/// (so only the property under test can make parsing fail).
pub(crate) fn cose(protected: &[u8], payload: &[u8], key: &SigningKey) -> Vec<u8> {
    let mut sig_structure = vec![0x84, 0x6a];
    sig_structure.extend_from_slice(b"Signature1");
    sig_structure.extend(bstr(protected));
    sig_structure.push(0x40);
    sig_structure.extend(bstr(payload));
    let signature = key.sign(&sig_structure).to_bytes();
    let mut out = vec![0xd2, 0x84];
    out.extend(bstr(protected));
    out.push(0xa0);
    out.extend(bstr(payload));
    out.extend(bstr(&signature));
    out
}

/// A CBOR byte string (shortest head).
pub(crate) fn bstr(bytes: &[u8]) -> Vec<u8> {
    let mut out = head(2, bytes.len() as u64);
    out.extend_from_slice(bytes);
    out
}

pub(crate) fn head(major: u8, n: u64) -> Vec<u8> {
    let m = major << 5;
    match n {
        0..=23 => vec![m | n as u8],
        24..=0xff => vec![m | 24, n as u8],
        0x100..=0xffff => [vec![m | 25], (n as u16).to_be_bytes().to_vec()].concat(),
        0x1_0000..=0xffff_ffff => [vec![m | 26], (n as u32).to_be_bytes().to_vec()].concat(),
        _ => [vec![m | 27], n.to_be_bytes().to_vec()].concat(),
    }
}

/// `{1: -8, 3: kind}`
pub(crate) fn protected(kind: &str) -> Vec<u8> {
    let mut out = vec![0xa2, 0x01, 0x27, 0x03];
    out.extend(head(3, kind.len() as u64));
    out.extend_from_slice(kind.as_bytes());
    out
}
