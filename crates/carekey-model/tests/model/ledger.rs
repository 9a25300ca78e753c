//! Ledger entries, bindings, fetch requests and sealed access details.

use carekey_crypto::{AgreementPublic, AgreementSecret, SigningKey};
use carekey_model::ledger::*;
use carekey_model::*;
use proptest::prelude::*;

use crate::fixtures::*;

const MAX_T: u64 = limits::MAX_TIMESTAMP;
const NODE_URL: &str = "https://node.example";

fn grant_key() -> SigningKey {
    SigningKey::from_bytes(&[0x11; 32])
}

fn node_key() -> SigningKey {
    SigningKey::from_bytes(&[0x12; 32])
}

fn event_secret() -> AgreementSecret {
    AgreementSecret::from_bytes([0x13; 32])
}

fn fetch_request(grant: &SignedGrant, nonce: [u8; 16], requested_at: u64) -> SignedFetchRequest {
    Signed::sign(
        FetchRequest {
            provider_signing: provider().public(),
            grant_id: grant.document().grant_id,
            node: NODE_URL.into(),
            nonce,
            requested_at,
        },
        &provider(),
    )
    .unwrap()
}

fn details() -> AccessDetails {
    AccessDetails {
        fetch_request: fetch_request(&signed_grant(), [0x21; 16], NOW),
        served_at: NOW + 1,
    }
}

/// The log the fixture access event is on.
const ORIGIN: &str = "carekey.test/model";

/// What the fixture access event binds its sealed details to.
fn bound() -> AccessBinding {
    AccessBinding::of(ORIGIN, &access_event(Vec::new()))
}

fn access_event(sealed: Vec<u8>) -> AccessEvent {
    AccessEvent {
        node_key: node_key().public(),
        grant_key: grant_key().public(),
        event_id: [0x22; 16],
        sealed,
        logged_at: NOW + 2,
    }
}

/// One entry of each kind about the fixture grant, signed.
fn entries(grant: &SignedGrant, tombstone: &SignedTombstone) -> Vec<Entry> {
    let salt = [0x31; 32];
    let details = AccessDetails {
        fetch_request: fetch_request(grant, [0x21; 16], NOW),
        served_at: NOW + 1,
    };
    let sealed = seal_access_details(&event_secret().public(), &details, &bound()).unwrap();
    vec![
        Signed::sign(
            GrantCommitment {
                grant_key: grant_key().public(),
                commitment: grant_commitment(&salt, grant),
                committed_at: NOW,
            },
            &grant_key(),
        )
        .unwrap()
        .into(),
        Signed::sign(
            RevocationEntry {
                grant_key: grant_key().public(),
                revoked_at: NOW + 60,
                ends_at: None,
            },
            &grant_key(),
        )
        .unwrap()
        .into(),
        Signed::sign(
            ErasureEntry {
                erasure_key: grant_key().public(),
                commitment: tombstone_commitment(&salt, tombstone),
                ciphertext_hashes: tombstone.document().ciphertext_hashes.clone(),
                erased_at: NOW + 120,
            },
            &grant_key(),
        )
        .unwrap()
        .into(),
        Signed::sign(access_event(sealed), &node_key())
            .unwrap()
            .into(),
    ]
}

fn binding(grant: &SignedGrant) -> SignedLedgerBinding {
    Signed::sign(
        LedgerBinding {
            patient_signing: patient().public(),
            grant_hash: grant.hash(),
            grant_key: grant_key().public(),
            event_key: event_secret().public(),
        },
        &patient(),
    )
    .unwrap()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An independent implementation of the sealing format (protocol §1), so the test does not
/// trust `seal_access_details` to define it.
fn seal_by_hand(event_key: &AgreementPublic, plaintext: &[u8]) -> Vec<u8> {
    let ephemeral = AgreementSecret::from_bytes([0x41; 32]);
    let shared = ephemeral.agree(event_key).unwrap();
    let salt = [
        ephemeral.public().as_bytes().as_slice(),
        event_key.as_bytes(),
    ]
    .concat();
    let key = carekey_crypto::hkdf_sha256(&salt, shared.expose(), b"carekey/v2/access-event");
    let nonce = [0x42; 24];
    // Format v2's associated data: context, origin (u16 BE length first), node key, grant key,
    // event id, event key.
    let aad = [
        b"carekey/v2/access-event".as_slice(),
        &(ORIGIN.len() as u16).to_be_bytes(),
        ORIGIN.as_bytes(),
        node_key().public().as_bytes(),
        grant_key().public().as_bytes(),
        &[0x22; 16],
        event_key.as_bytes(),
    ]
    .concat();
    let body = carekey_crypto::xchacha20poly1305_seal(key.expose(), &nonce, &aad, plaintext);
    [ephemeral.public().as_bytes().as_slice(), &nonce, &body].concat()
}

/// `{0: bstr, 1: uint}` — access details built by hand.
fn details_cbor(fetch_request: &[u8], served_at: u64) -> Vec<u8> {
    [
        vec![0xa2, 0x00],
        bstr(fetch_request),
        vec![0x01],
        head(0, served_at),
    ]
    .concat()
}

#[test]
fn entry_dispatches_each_kind() {
    let grant = signed_grant();
    let tombstone = Signed::sign(tombstone(), &patient()).unwrap();
    let expected = [
        ("grant", grant_key()),
        ("revocation", grant_key()),
        ("erasure", grant_key()),
        ("access", grant_key()),
    ];
    for (entry, (kind, key)) in entries(&grant, &tombstone).into_iter().zip(expected) {
        let parsed = Entry::from_bytes(entry.as_bytes()).unwrap();
        assert_eq!(parsed, entry);
        assert_eq!(parsed.kind(), kind);
        assert_eq!(parsed.grant_key(), Some(key.public()));
        assert!(entry.as_bytes().len() <= MAX_ENTRY_BYTES);
    }
    // The erasure key is what an erasure reports, even when it is a one-time key.
    let one_time = SigningKey::from_bytes(&[0x51; 32]);
    let erasure = Signed::sign(
        ErasureEntry {
            erasure_key: one_time.public(),
            commitment: [0; 32],
            ciphertext_hashes: vec![],
            erased_at: NOW,
        },
        &one_time,
    )
    .unwrap();
    let parsed = Entry::from_bytes(erasure.as_bytes()).unwrap();
    assert_eq!(parsed, Entry::Erasure(erasure));
    assert_eq!(parsed.grant_key(), Some(one_time.public()));
}

#[test]
fn entry_refuses_documents_that_are_not_entries() {
    let grant = signed_grant();
    let fetch = fetch_request(&grant, [0; 16], NOW);
    for (bytes, found) in [
        (grant.as_bytes().to_vec(), "application/carekey-grant+cbor"),
        (
            binding(&grant).as_bytes().to_vec(),
            "application/carekey-ledger-binding+cbor",
        ),
        (
            fetch.as_bytes().to_vec(),
            "application/carekey-fetch-request+cbor",
        ),
    ] {
        match Entry::from_bytes(&bytes) {
            Err(DocumentError::WrongKind { found: f, expected }) => {
                assert_eq!(f, found);
                assert!(expected.contains("ledger entry"), "{expected}");
            }
            other => panic!("{found}: {other:?}"),
        }
    }
    // A well-signed COSE message with an unknown content type is not an entry either.
    let odd = cose(
        &protected("application/carekey-ledger-other+cbor"),
        &[0xa0],
        &grant_key(),
    );
    assert!(matches!(
        Entry::from_bytes(&odd),
        Err(DocumentError::WrongKind { .. })
    ));
    // And typed parsers refuse each other's kinds.
    let tombstone = Signed::sign(tombstone(), &patient()).unwrap();
    let all = entries(&grant, &tombstone);
    assert!(matches!(
        SignedRevocationEntry::from_bytes(all[0].as_bytes()),
        Err(DocumentError::WrongKind { .. })
    ));
    assert!(matches!(
        SignedGrant::from_bytes(all[3].as_bytes()),
        Err(DocumentError::WrongKind { .. })
    ));
}

#[test]
fn entries_are_signed_by_their_own_key() {
    let entry = RevocationEntry {
        grant_key: grant_key().public(),
        revoked_at: NOW,
        ends_at: None,
    };
    assert_eq!(
        Signed::sign(entry.clone(), &patient()),
        Err(DocumentError::WrongSigner)
    );
    // Claiming the grant key but signed by someone else.
    let forged = cose(
        &protected(RevocationEntry::KIND),
        &entry.to_cbor(),
        &stranger(),
    );
    assert_eq!(Entry::from_bytes(&forged), Err(DocumentError::BadSignature));
    // An access event is signed by the node, not by the grant key.
    let event = access_event(vec![0; 72]);
    assert_eq!(
        Signed::sign(event.clone(), &grant_key()),
        Err(DocumentError::WrongSigner)
    );
    assert!(Signed::sign(event, &node_key()).is_ok());
}

#[test]
fn hand_built_payloads_match_our_encoding() {
    let key = grant_key().public();
    let k = bstr(key.as_bytes());
    let commitment = GrantCommitment {
        grant_key: key,
        commitment: [0xcc; 32],
        committed_at: 1_700_000_000,
    };
    let by_hand = [
        vec![0xa3, 0x00],
        k.clone(),
        vec![0x01],
        bstr(&[0xcc; 32]),
        vec![0x02, 0x1a],
        1_700_000_000u32.to_be_bytes().to_vec(),
    ]
    .concat();
    assert_eq!(commitment.to_cbor(), by_hand);
    let revocation = RevocationEntry {
        grant_key: key,
        revoked_at: 5,
        ends_at: None,
    };
    assert_eq!(
        revocation.to_cbor(),
        [vec![0xa2, 0x00], k.clone(), vec![0x01, 0x05]].concat()
    );
    // A shortened grant's revocation: field 2, the time from which nodes refuse the grant.
    let scheduled = RevocationEntry {
        ends_at: Some(100),
        ..revocation
    };
    assert_eq!(
        scheduled.to_cbor(),
        [
            vec![0xa3, 0x00],
            k.clone(),
            vec![0x01, 0x05, 0x02, 0x18, 0x64]
        ]
        .concat()
    );
    let erasure = ErasureEntry {
        erasure_key: key,
        commitment: [0xdd; 32],
        ciphertext_hashes: vec![[0xee; 32]],
        erased_at: 6,
    };
    assert_eq!(
        erasure.to_cbor(),
        [
            vec![0xa4, 0x00],
            k.clone(),
            vec![0x01],
            bstr(&[0xdd; 32]),
            vec![0x02, 0x81],
            bstr(&[0xee; 32]),
            vec![0x03, 0x06]
        ]
        .concat()
    );
    let node = node_key().public();
    let event = access_event(vec![0xab; 72]);
    assert_eq!(
        event.to_cbor(),
        [
            vec![0xa5, 0x00],
            bstr(node.as_bytes()),
            vec![0x01],
            k.clone(),
            vec![0x02],
            bstr(&[0x22; 16]),
            vec![0x03],
            bstr(&[0xab; 72]),
            vec![0x04],
            head(0, NOW + 2)
        ]
        .concat()
    );
    let binding = LedgerBinding {
        patient_signing: patient().public(),
        grant_hash: [0x01; 32],
        grant_key: key,
        event_key: AgreementPublic::from_bytes([0x02; 32]),
    };
    assert_eq!(
        binding.to_cbor(),
        [
            vec![0xa4, 0x00],
            bstr(patient().public().as_bytes()),
            vec![0x01],
            bstr(&[0x01; 32]),
            vec![0x02],
            k,
            vec![0x03],
            bstr(&[0x02; 32])
        ]
        .concat()
    );
    let fetch = FetchRequest {
        provider_signing: provider().public(),
        grant_id: GrantId([0x07; 16]),
        node: "http://a".into(),
        nonce: [0x08; 16],
        requested_at: 9,
    };
    assert_eq!(
        fetch.to_cbor(),
        [
            vec![0xa5, 0x00],
            bstr(provider().public().as_bytes()),
            vec![0x01],
            bstr(&[0x07; 16]),
            vec![0x02, 0x68],
            b"http://a".to_vec(),
            vec![0x03],
            bstr(&[0x08; 16]),
            vec![0x04, 0x09]
        ]
        .concat()
    );
}

#[test]
fn strict_decoding_refuses_unknown_and_non_canonical_fields() {
    let key = grant_key().public();
    let k = bstr(key.as_bytes());
    let good = [vec![0xa2, 0x00], k.clone(), vec![0x01, 0x05]].concat();
    assert!(Entry::from_bytes(&cose(
        &protected(RevocationEntry::KIND),
        &good,
        &grant_key()
    ))
    .is_ok());
    for (payload, why) in [
        (
            [vec![0xa3, 0x00], k.clone(), vec![0x01, 0x05, 0x03, 0x00]].concat(),
            "unknown field",
        ),
        (
            [vec![0xa3, 0x00], k.clone(), vec![0x01, 0x05, 0x02, 0x40]].concat(),
            "an end time that is not a number",
        ),
        ([vec![0xa1, 0x00], k.clone()].concat(), "missing field"),
        (
            [vec![0xa2, 0x00], k.clone(), vec![0x01, 0x18, 0x05]].concat(),
            "long integer head",
        ),
        (
            [vec![0xa2, 0x01, 0x05, 0x00], k.clone()].concat(),
            "keys out of order",
        ),
        (
            [
                vec![0xa2, 0x00],
                k.clone(),
                vec![0x01, 0x1b],
                (MAX_T + 1).to_be_bytes().to_vec(),
            ]
            .concat(),
            "timestamp after 9999",
        ),
    ] {
        let bytes = cose(&protected(RevocationEntry::KIND), &payload, &grant_key());
        assert!(Entry::from_bytes(&bytes).is_err(), "{why}");
    }
}

#[test]
fn caps_are_enforced() {
    let key = grant_key();
    let erasure = |n: usize, erased_at: u64| ErasureEntry {
        erasure_key: key.public(),
        commitment: [0; 32],
        ciphertext_hashes: vec![[0x5a; 32]; n],
        erased_at,
    };
    // The documented per-entry count always fits, and one more never does.
    let full = Signed::sign(erasure(ERASURE_HASHES_PER_ENTRY, MAX_T), &key).unwrap();
    assert!(full.as_bytes().len() <= MAX_ENTRY_BYTES);
    assert!(Entry::from_bytes(full.as_bytes()).is_ok());
    let too_large = DocumentError::TooLarge {
        what: "ledger entry",
        limit: MAX_ENTRY_BYTES,
    };
    assert_eq!(
        Signed::sign(erasure(ERASURE_HASHES_PER_ENTRY + 1, 0), &key),
        Err(too_large.clone())
    );
    // An over-long entry is refused before anything is parsed, and by the typed parser too.
    let payload = erasure(ERASURE_HASHES_PER_ENTRY + 1, 0).to_cbor();
    let long = cose(&protected(ErasureEntry::KIND), &payload, &key);
    assert_eq!(Entry::from_bytes(&long), Err(too_large.clone()));
    assert_eq!(SignedErasureEntry::from_bytes(&long), Err(too_large));

    // Sealed access details: 72 bytes at least, 16 KiB at most.
    let node = node_key();
    assert!(Signed::sign(access_event(vec![0; MAX_SEALED_BYTES]), &node).is_ok());
    assert!(matches!(
        Signed::sign(access_event(vec![0; MAX_SEALED_BYTES + 1]), &node),
        Err(DocumentError::TooLarge { .. })
    ));
    assert!(matches!(
        Signed::sign(access_event(vec![0; 71]), &node),
        Err(DocumentError::Malformed { .. })
    ));

    // Fetch request node URLs: http(s), at most 2,048 bytes.
    let fetch = |node: String| FetchRequest {
        provider_signing: provider().public(),
        grant_id: GrantId([1; 16]),
        node,
        nonce: [0; 16],
        requested_at: NOW,
    };
    let longest = format!("https://{}", "a".repeat(limits::MAX_NODE_URL_BYTES - 8));
    assert!(Signed::sign(fetch(longest.clone()), &provider()).is_ok());
    assert!(matches!(
        Signed::sign(fetch(format!("{longest}a")), &provider()),
        Err(DocumentError::TooLarge { .. })
    ));
    for bad in [
        "",
        "https://",
        "ftp://node.example",
        "node.example",
        "HTTPS://node.example",
    ] {
        assert!(
            matches!(
                Signed::sign(fetch(bad.into()), &provider()),
                Err(DocumentError::Malformed { .. })
            ),
            "{bad:?}"
        );
    }
    assert!(Signed::sign(fetch("http://127.0.0.1:7000".into()), &provider()).is_ok());
}

#[test]
fn commitments_and_signed_messages_have_the_documented_layout() {
    let grant = signed_grant();
    let tombstone = Signed::sign(tombstone(), &patient()).unwrap();
    let salt = [0x61; 32];
    let expected = carekey_crypto::sha256(
        &[
            b"carekey/v1/grant-commitment".as_slice(),
            &salt,
            grant.as_bytes(),
        ]
        .concat(),
    );
    assert_eq!(grant_commitment(&salt, &grant), expected);
    let expected = carekey_crypto::sha256(
        &[
            b"carekey/v1/tombstone-commitment".as_slice(),
            &salt,
            tombstone.as_bytes(),
        ]
        .concat(),
    );
    assert_eq!(tombstone_commitment(&salt, &tombstone), expected);
    // The salt matters, and the two domains differ.
    assert_ne!(
        grant_commitment(&[0x62; 32], &grant),
        grant_commitment(&salt, &grant)
    );

    let id = GrantId([0xab; 16]);
    let mut upload = b"carekey/v1/upload\nabababababababababababababababab\n".to_vec();
    upload.extend_from_slice(&[0x77; 32]);
    assert_eq!(upload_message(&id, &[0x77; 32]), upload);
    assert_eq!(
        delete_message(&id),
        b"carekey/v1/delete\nabababababababababababababababab".to_vec()
    );
}

#[test]
fn access_details_seal_and_open() {
    let details = details();
    let sealed = seal_access_details(&event_secret().public(), &details, &bound()).unwrap();
    assert_eq!(
        open_access_details(&event_secret(), &sealed, &bound()).unwrap(),
        details
    );
    // Fresh ephemeral key and nonce every time.
    assert_ne!(
        seal_access_details(&event_secret().public(), &details, &bound()).unwrap(),
        sealed
    );
    // What an independent implementation of the format seals opens too.
    let by_hand = seal_by_hand(&event_secret().public(), &details.to_cbor());
    assert_eq!(
        open_access_details(&event_secret(), &by_hand, &bound()).unwrap(),
        details
    );
    // The sealed plaintext is the documented CBOR map.
    assert_eq!(
        details.to_cbor(),
        details_cbor(details.fetch_request.as_bytes(), details.served_at)
    );
    assert_eq!(
        AccessDetails::from_cbor(&details.to_cbor()).unwrap(),
        details
    );
}

#[test]
fn access_details_refuse_wrong_secret_truncation_and_tampering() {
    let sealed = seal_access_details(&event_secret().public(), &details(), &bound()).unwrap();
    let wrong = AgreementSecret::from_bytes([0x14; 32]);
    assert!(matches!(
        open_access_details(&wrong, &sealed, &bound()),
        Err(DocumentError::Malformed { .. })
    ));
    for len in 0..sealed.len() {
        assert!(
            open_access_details(&event_secret(), &sealed[..len], &bound()).is_err(),
            "truncated to {len}"
        );
    }
    let mut longer = sealed.clone();
    longer.push(0);
    assert!(open_access_details(&event_secret(), &longer, &bound()).is_err());
    assert!(matches!(
        open_access_details(&event_secret(), &vec![0; MAX_SEALED_BYTES + 1], &bound()),
        Err(DocumentError::TooLarge { .. })
    ));
    // A low-order ephemeral key is refused, not used.
    let mut low_order = sealed.clone();
    low_order[..32].fill(0);
    assert!(matches!(
        open_access_details(&event_secret(), &low_order, &bound()),
        Err(DocumentError::Malformed { .. })
    ));
    assert!(matches!(
        seal_access_details(&AgreementPublic::from_bytes([0; 32]), &details(), &bound()),
        Err(DocumentError::Malformed { .. })
    ));
}

#[test]
fn access_details_with_a_forged_fetch_request_are_refused() {
    let request = fetch_request(&signed_grant(), [0x23; 16], NOW);
    // Same claims (the provider's key inside), signed by someone else.
    let forged = cose(
        &protected(FetchRequest::KIND),
        &request.document().to_cbor(),
        &stranger(),
    );
    assert_eq!(
        SignedFetchRequest::from_bytes(&forged),
        Err(DocumentError::BadSignature)
    );
    let sealed = seal_by_hand(&event_secret().public(), &details_cbor(&forged, NOW));
    assert_eq!(
        open_access_details(&event_secret(), &sealed, &bound()),
        Err(DocumentError::BadSignature)
    );
    // The genuine request sealed the same way opens, so only the signature made the difference.
    let sealed = seal_by_hand(
        &event_secret().public(),
        &details_cbor(request.as_bytes(), NOW),
    );
    assert!(open_access_details(&event_secret(), &sealed, &bound()).is_ok());
    // Something other than a fetch request inside is refused as well.
    let sealed = seal_by_hand(
        &event_secret().public(),
        &details_cbor(signed_grant().as_bytes(), NOW),
    );
    assert!(matches!(
        open_access_details(&event_secret(), &sealed, &bound()),
        Err(DocumentError::WrongKind { .. })
    ));
}

#[test]
fn entries_name_no_patient_provider_or_record() {
    let records = [
        RecordId::generate(),
        RecordId::generate(),
        RecordId::generate(),
    ];
    let mut grant = grant();
    grant.grant_id = GrantId::generate();
    grant.scope = Scope::new(records.to_vec(), vec!["Observation".into()]);
    let grant = Signed::sign(grant, &patient()).unwrap();
    let tombstone = Signed::sign(
        Tombstone {
            patient_signing: patient().public(),
            subject: ErasureSubject::Grant {
                grant_id: grant.document().grant_id,
            },
            ciphertext_hashes: vec![[0xaa; 32], [0xbb; 32]],
            erased_at: NOW + 120,
        },
        &patient(),
    )
    .unwrap();
    let entries = entries(&grant, &tombstone);
    assert_eq!(entries.len(), 4);
    let patient_key = patient().public();
    let provider_key = provider().public();
    let g = grant.document();
    let mut secrets: Vec<(&str, &[u8])> = vec![
        ("patient key", patient_key.as_bytes()),
        ("provider key", provider_key.as_bytes()),
        ("provider agreement key", g.provider_agreement.as_bytes()),
        ("grant id", g.grant_id.as_bytes()),
    ];
    for r in &records {
        secrets.push(("record id", r.as_bytes()));
    }
    for entry in &entries {
        for (what, bytes) in &secrets {
            assert!(
                !contains(entry.as_bytes(), bytes),
                "{} entry contains the {what}",
                entry.kind()
            );
        }
    }
    // The check can fail: the off-log documents do name them.
    assert!(contains(binding(&grant).as_bytes(), patient_key.as_bytes()));
    assert!(contains(
        fetch_request(&grant, [0; 16], NOW).as_bytes(),
        provider_key.as_bytes()
    ));
}

fn round_trip<T: Document + Clone + PartialEq + std::fmt::Debug>(
    doc: T,
    key: &SigningKey,
) -> Result<Signed<T>, TestCaseError> {
    let signed = Signed::sign(doc.clone(), key).unwrap();
    let parsed = Signed::<T>::from_bytes(signed.as_bytes()).unwrap();
    prop_assert_eq!(parsed.document(), &doc);
    prop_assert_eq!(parsed.as_bytes(), signed.as_bytes());
    Ok(signed)
}

fn node_url() -> impl Strategy<Value = String> {
    "https?://[a-z0-9.-]{1,40}(:[0-9]{1,5})?(/[a-z0-9/]{0,20})?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_document_round_trips(
        h in any::<[u8; 32]>(), t in 0..=MAX_T, id in any::<[u8; 16]>(),
        hashes in proptest::collection::vec(any::<[u8; 32]>(), 0..6),
        sealed in proptest::collection::vec(any::<u8>(), 72..300),
        node in node_url(), key_seed in any::<[u8; 32]>(),
    ) {
        let key = SigningKey::from_bytes(&key_seed);
        let e = round_trip(GrantCommitment { grant_key: key.public(), commitment: h, committed_at: t }, &key)?;
        prop_assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), Entry::Grant(e));
        let e = round_trip(RevocationEntry { grant_key: key.public(), revoked_at: t, ends_at: None }, &key)?;
        prop_assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), Entry::Revocation(e));
        let e = round_trip(RevocationEntry { grant_key: key.public(), revoked_at: t, ends_at: Some(t / 2) }, &key)?;
        prop_assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), Entry::Revocation(e));
        let e = round_trip(ErasureEntry { erasure_key: key.public(), commitment: h, ciphertext_hashes: hashes, erased_at: t }, &key)?;
        prop_assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), Entry::Erasure(e));
        let e = round_trip(AccessEvent { node_key: key.public(), grant_key: grant_key().public(), event_id: id, sealed, logged_at: t }, &key)?;
        prop_assert_eq!(Entry::from_bytes(e.as_bytes()).unwrap(), Entry::Access(e));
        round_trip(LedgerBinding { patient_signing: key.public(), grant_hash: h, grant_key: grant_key().public(), event_key: AgreementPublic::from_bytes(h) }, &key)?;
        round_trip(FetchRequest { provider_signing: key.public(), grant_id: GrantId(id), node, nonce: id, requested_at: t }, &key)?;
    }

    #[test]
    fn access_details_round_trip(nonce in any::<[u8; 16]>(), at in 0..=MAX_T, served in 0..=MAX_T, secret in any::<[u8; 32]>()) {
        let secret = AgreementSecret::from_bytes(secret);
        let details = AccessDetails { fetch_request: fetch_request(&signed_grant(), nonce, at), served_at: served };
        let sealed = seal_access_details(&secret.public(), &details, &bound()).unwrap();
        prop_assert!(sealed.len() <= MAX_SEALED_BYTES);
        prop_assert_eq!(open_access_details(&secret, &sealed, &bound()).unwrap(), details);
    }

    #[test]
    fn flipping_any_byte_of_an_entry_fails(which in 0usize..4, i in any::<prop::sample::Index>(), bit in 0u8..8) {
        let grant = signed_grant();
        let tombstone = Signed::sign(tombstone(), &patient()).unwrap();
        let entry = &entries(&grant, &tombstone)[which];
        let mut bytes = entry.as_bytes().to_vec();
        let at = i.index(bytes.len());
        bytes[at] ^= 1 << bit;
        prop_assert!(Entry::from_bytes(&bytes).is_err());
    }

    #[test]
    fn flipping_any_byte_of_sealed_details_fails(i in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut sealed = seal_access_details(&event_secret().public(), &details(), &bound()).unwrap();
        let at = i.index(sealed.len());
        sealed[at] ^= 1 << bit;
        prop_assert!(open_access_details(&event_secret(), &sealed, &bound()).is_err());
    }

    #[test]
    fn flipping_any_byte_of_a_binding_or_fetch_request_fails(i in any::<prop::sample::Index>(), bit in 0u8..8) {
        let grant = signed_grant();
        let mut bytes = binding(&grant).as_bytes().to_vec();
        let at = i.index(bytes.len());
        bytes[at] ^= 1 << bit;
        prop_assert!(SignedLedgerBinding::from_bytes(&bytes).is_err());
        let mut bytes = fetch_request(&grant, [0; 16], NOW).as_bytes().to_vec();
        let at = i.index(bytes.len());
        bytes[at] ^= 1 << bit;
        prop_assert!(SignedFetchRequest::from_bytes(&bytes).is_err());
    }

    #[test]
    fn ledger_parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = Entry::from_bytes(&bytes);
        let _ = open_access_details(&event_secret(), &bytes, &bound());
        let _ = AccessDetails::from_cbor(&bytes);
        let _ = SignedLedgerBinding::from_bytes(&bytes);
        let _ = SignedFetchRequest::from_bytes(&bytes);
        let _ = SignedErasureEntry::from_bytes(&bytes);
    }

    #[test]
    fn ledger_parsers_never_panic_on_mutated_entries(which in 0usize..4, i in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let grant = signed_grant();
        let tombstone = Signed::sign(tombstone(), &patient()).unwrap();
        let mut bytes = entries(&grant, &tombstone)[which].as_bytes().to_vec();
        let at = i.index(bytes.len());
        bytes[at] = byte;
        bytes.truncate(cut.index(bytes.len()) + 1);
        let _ = Entry::from_bytes(&bytes);
        let mut sealed = seal_access_details(&event_secret().public(), &details(), &bound()).unwrap();
        let at = i.index(sealed.len());
        sealed[at] = byte;
        sealed.truncate(cut.index(sealed.len()) + 1);
        let _ = open_access_details(&event_secret(), &sealed, &bound());
    }
}

fn link_binding() -> LinkOpenBinding {
    LinkOpenBinding {
        origin: "carekey.test/log".into(),
        node_key: node_key().public(),
        link_key: grant_key().public(),
        event_id: [0x42; 16],
    }
}

/// Link opens (ADR 0016): details seal to the link's event key and open only under the event
/// they were sealed for; access details and link-open details never open as each other; the
/// entry round-trips, is signed by the node and names nobody.
#[test]
fn link_open_details_seal_open_and_stay_in_their_event() {
    let link = LinkOpenDetails {
        recipient: "Dr X at Clinic Y".into(),
        outcome: LinkOutcome::WrongPasscode { remaining: 4 },
        at: NOW,
    };
    let sealed = seal_link_open(&event_secret().public(), &link, &link_binding()).unwrap();
    assert_eq!(
        open_link_open(&event_secret(), &sealed, &link_binding()).unwrap(),
        link
    );
    // Another event id, another node or another link: it does not open.
    for other in [
        LinkOpenBinding {
            event_id: [0x43; 16],
            ..link_binding()
        },
        LinkOpenBinding {
            node_key: grant_key().public(),
            ..link_binding()
        },
        LinkOpenBinding {
            origin: "carekey.test/other".into(),
            ..link_binding()
        },
    ] {
        assert!(open_link_open(&event_secret(), &sealed, &other).is_err());
    }
    // Access details under the same keys do not open as link-open details, nor the reverse.
    let access = seal_access_details(&event_secret().public(), &details(), &bound()).unwrap();
    assert!(open_link_open(&event_secret(), &access, &link_binding()).is_err());
    assert!(open_access_details(&event_secret(), &sealed, &bound()).is_err());
    // Strict details: an unknown outcome, attempts on an open, non-canonical bytes.
    let opened = LinkOpenDetails {
        outcome: LinkOutcome::Opened,
        ..link.clone()
    };
    assert_eq!(
        LinkOpenDetails::from_cbor(&opened.to_cbor()).unwrap(),
        opened
    );
    let mut bad = link.to_cbor();
    let code = bad.iter().position(|b| *b == 0x01).unwrap();
    bad[code + 1] = 0x07;
    assert!(LinkOpenDetails::from_cbor(&bad).is_err());

    let event = LinkOpenEvent {
        node_key: node_key().public(),
        link_key: grant_key().public(),
        event_id: [0x42; 16],
        sealed,
        logged_at: NOW,
    };
    let signed = Signed::sign(event.clone(), &node_key()).unwrap();
    let entry = Entry::from_bytes(signed.as_bytes()).unwrap();
    assert_eq!(entry.kind(), "link-open");
    assert_eq!(entry.link_key(), Some(grant_key().public()));
    assert_eq!(entry.grant_key(), None);
    assert_eq!(
        Signed::sign(event, &grant_key()),
        Err(DocumentError::WrongSigner)
    );
}
