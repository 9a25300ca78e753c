//! Signing, strict parsing and validity windows of the five document kinds.

use carekey_crypto::Signature;
use carekey_model::*;

use crate::fixtures::*;

fn revocation_payload(revoked_at: &[u8], extra: &[u8]) -> Vec<u8> {
    let r = revocation();
    let mut out = vec![if extra.is_empty() { 0xa4 } else { 0xa5 }, 0x00];
    out.extend(bstr(&r.grant_id.0));
    out.push(0x01);
    out.extend(bstr(&r.grant_hash));
    out.push(0x02);
    out.extend(bstr(r.patient_signing.as_bytes()));
    out.push(0x03);
    out.extend_from_slice(revoked_at);
    out.extend_from_slice(extra);
    out
}

fn parse_revocation(payload: &[u8]) -> Result<SignedRevocation, DocumentError> {
    Signed::from_bytes(&cose(&protected(Revocation::KIND), payload, &patient()))
}

#[test]
fn every_kind_signs_and_parses_back() {
    fn check<T: Document + Clone + PartialEq + std::fmt::Debug>(
        doc: T,
        key: &carekey_crypto::SigningKey,
    ) {
        let signed = Signed::sign(doc.clone(), key).unwrap();
        let parsed = Signed::<T>::from_bytes(signed.as_bytes()).unwrap();
        assert_eq!(parsed.document(), &doc);
        assert_eq!(parsed, signed);
        assert_eq!(parsed.hash(), carekey_crypto::sha256(signed.as_bytes()));
        assert_eq!(parsed.into_document(), doc);
    }
    check(request(), &provider());
    check(grant(), &patient());
    check(revocation(), &patient());
    check(tombstone(), &patient());
    for subject in [
        ErasureSubject::Grant {
            grant_id: GrantId([1; 16]),
        },
        ErasureSubject::Wallet,
    ] {
        check(
            Tombstone {
                subject,
                ..tombstone()
            },
            &patient(),
        );
    }
    check(
        directory(&directory_key(), &[("A", &provider())]).into_document(),
        &directory_key(),
    );
}

#[test]
fn hand_built_payload_matches_our_encoding() {
    // Our reading of RFC 8949 §4.2.1 for a revocation, written out byte by byte.
    let expected = revocation_payload(&[0x1a, 0x65, 0x53, 0xf1, 0x3c], &[]);
    assert_eq!(1_700_000_060u32.to_be_bytes(), [0x65, 0x53, 0xf1, 0x3c]);
    assert_eq!(revocation().to_cbor(), expected);
    let signed = Signed::sign(revocation(), &patient()).unwrap();
    assert_eq!(
        signed.as_bytes(),
        cose(&protected(Revocation::KIND), &expected, &patient())
    );
    assert_eq!(
        parse_revocation(&expected).unwrap().document(),
        &revocation()
    );
}

#[test]
fn cose_envelope_is_readable_by_coset() {
    use coset::{CborSerializable, TaggedCborSerializable};
    let signed = signed_grant();
    let msg = coset::CoseSign1::from_tagged_slice(signed.as_bytes()).unwrap();
    assert_eq!(
        msg.protected.header.alg,
        Some(coset::RegisteredLabelWithPrivate::Assigned(
            coset::iana::Algorithm::EdDSA
        ))
    );
    assert_eq!(
        msg.protected.header.content_type,
        Some(coset::ContentType::Text(Grant::KIND.into()))
    );
    assert_eq!(msg.payload.as_deref(), Some(grant().to_cbor().as_slice()));
    msg.verify_signature(b"", |sig, data| {
        patient()
            .public()
            .verify(data, &Signature::from_slice(sig).unwrap())
    })
    .unwrap();
    // And a message built by coset with our header and payload is accepted by us.
    let protected = coset::HeaderBuilder::new()
        .algorithm(coset::iana::Algorithm::EdDSA)
        .content_type(Grant::KIND.into())
        .build();
    let built = coset::CoseSign1Builder::new()
        .protected(protected)
        .payload(grant().to_cbor())
        .create_signature(b"", |data| patient().sign(data).to_bytes().to_vec())
        .build()
        .to_tagged_vec()
        .unwrap();
    assert_eq!(
        SignedGrant::from_bytes(&built).unwrap().document(),
        &grant()
    );
    let _ = msg.to_vec();
}

#[test]
fn wrong_signer_is_refused() {
    assert_eq!(
        Signed::sign(grant(), &provider()).unwrap_err(),
        DocumentError::WrongSigner
    );
    assert_eq!(
        Signed::sign(request(), &patient()).unwrap_err(),
        DocumentError::WrongSigner
    );
    // A correctly shaped message signed by someone else than the grant's patient.
    let forged = cose(&protected(Grant::KIND), &grant().to_cbor(), &stranger());
    assert_eq!(
        SignedGrant::from_bytes(&forged).unwrap_err(),
        DocumentError::BadSignature
    );
    let sig = stranger().sign(b"whatever");
    assert_eq!(
        Signed::from_parts(&grant(), &sig).unwrap_err(),
        DocumentError::BadSignature
    );
}

#[test]
fn tampered_payload_is_refused() {
    let mut g = grant();
    g.not_after += 86_400 * 365;
    // Same signature, longer validity.
    let original = signed_grant();
    let tampered = Signed::from_parts(&g, &original.signature());
    assert_eq!(tampered.unwrap_err(), DocumentError::BadSignature);
}

#[test]
fn wrong_kind_is_refused() {
    let bytes = Signed::sign(revocation(), &patient()).unwrap();
    match SignedGrant::from_bytes(bytes.as_bytes()).unwrap_err() {
        DocumentError::WrongKind { expected, found } => {
            assert_eq!(expected, "application/carekey-grant+cbor");
            assert_eq!(found, "application/carekey-revocation+cbor");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn non_canonical_cbor_is_refused() {
    // Non-shortest integer (revoked_at in 8 bytes).
    let long_int = revocation_payload(
        &[&[0x1b][..], &1_700_000_060u64.to_be_bytes()].concat(),
        &[],
    );
    assert_eq!(
        parse_revocation(&long_int).unwrap_err(),
        DocumentError::NotCanonical
    );
    // Re-ordered map: key 3 before key 2.
    let r = revocation();
    let mut reordered = vec![0xa4, 0x00];
    reordered.extend(bstr(&r.grant_id.0));
    reordered.push(0x01);
    reordered.extend(bstr(&r.grant_hash));
    reordered.extend([0x03, 0x1a, 0x65, 0x53, 0xf1, 0x3c, 0x02]);
    reordered.extend(bstr(r.patient_signing.as_bytes()));
    assert_eq!(
        parse_revocation(&reordered).unwrap_err(),
        DocumentError::NotCanonical
    );
    // Indefinite-length map.
    let mut indefinite = revocation_payload(&[0x1a, 0x65, 0x53, 0xf1, 0x3c], &[]);
    indefinite[0] = 0xbf;
    indefinite.push(0xff);
    assert_eq!(
        parse_revocation(&indefinite).unwrap_err(),
        DocumentError::NotCanonical
    );
    // Non-shortest length of a byte string (grant id length 16 written as 0x58 0x10).
    let mut long_len = vec![0xa4, 0x00, 0x58, 0x10];
    long_len.extend_from_slice(&r.grant_id.0);
    long_len.extend_from_slice(&revocation_payload(&[0x1a, 0x65, 0x53, 0xf1, 0x3c], &[])[19..]);
    assert_eq!(
        parse_revocation(&long_len).unwrap_err(),
        DocumentError::NotCanonical
    );
    // Scope lists out of order (the fields are public, so a caller can skip Scope::new).
    let mut g = grant();
    g.scope.record_ids.reverse();
    assert_eq!(
        Signed::sign(g, &patient()).unwrap_err(),
        DocumentError::NotCanonical
    );
}

#[test]
fn unknown_duplicate_missing_and_mistyped_fields_are_refused() {
    let ok_time = [0x1a, 0x65, 0x53, 0xf1, 0x3c];
    let unknown = revocation_payload(&ok_time, &[0x04, 0x00]);
    assert!(
        matches!(parse_revocation(&unknown).unwrap_err(), DocumentError::Malformed { what } if what.contains("unknown field 4"))
    );
    let duplicate = revocation_payload(&ok_time, &[0x03, 0x00]);
    assert!(
        matches!(parse_revocation(&duplicate).unwrap_err(), DocumentError::Malformed { what } if what.contains("duplicate"))
    );
    let mut missing = revocation_payload(&ok_time, &[]);
    missing.truncate(missing.len() - 6);
    missing[0] = 0xa3;
    assert!(
        matches!(parse_revocation(&missing).unwrap_err(), DocumentError::Malformed { what } if what.contains("missing field 3"))
    );
    let text_time = revocation_payload(&[0x61, b'5'], &[]);
    assert!(matches!(
        parse_revocation(&text_time).unwrap_err(),
        DocumentError::Malformed { .. }
    ));
    let float_time = revocation_payload(&[0xf9, 0x3c, 0x00], &[]);
    assert!(matches!(
        parse_revocation(&float_time).unwrap_err(),
        DocumentError::Malformed { .. }
    ));
    let trailing = [revocation_payload(&ok_time, &[]), vec![0x00]].concat();
    assert!(matches!(
        parse_revocation(&trailing).unwrap_err(),
        DocumentError::Malformed { .. }
    ));
    let far_future = revocation_payload(&[&[0x1b][..], &u64::MAX.to_be_bytes()].concat(), &[]);
    assert!(matches!(
        parse_revocation(&far_future).unwrap_err(),
        DocumentError::Malformed { .. }
    ));
}

#[test]
fn envelope_variations_are_refused() {
    let payload = revocation().to_cbor();
    let good = cose(&protected(Revocation::KIND), &payload, &patient());
    assert!(SignedRevocation::from_bytes(&good).is_ok());
    // Untagged.
    assert!(matches!(
        SignedRevocation::from_bytes(&good[1..]),
        Err(DocumentError::Malformed { .. })
    ));
    // Non-empty unprotected header {4: h''} (kid).
    let mut unprotected = good.clone();
    let at = 2 + bstr(&protected(Revocation::KIND)).len();
    assert_eq!(unprotected[at], 0xa0);
    unprotected.splice(at..=at, [0xa1, 0x04, 0x40]);
    assert!(matches!(
        SignedRevocation::from_bytes(&unprotected),
        Err(DocumentError::Malformed { .. })
    ));
    // Algorithm ES256 (-7) instead of EdDSA.
    let mut es256 = protected(Revocation::KIND);
    es256[2] = 0x26;
    let bytes = cose(&es256, &payload, &patient());
    assert!(
        matches!(SignedRevocation::from_bytes(&bytes), Err(DocumentError::Malformed { what }) if what.contains("EdDSA"))
    );
    // Extra protected header field.
    let mut extra = protected(Revocation::KIND);
    extra[0] = 0xa3;
    extra.extend([0x04, 0x40]);
    assert!(matches!(
        SignedRevocation::from_bytes(&cose(&extra, &payload, &patient())),
        Err(DocumentError::Malformed { .. })
    ));
    // Detached payload (nil).
    let mut detached = vec![0xd2, 0x84];
    detached.extend(bstr(&protected(Revocation::KIND)));
    detached.extend([0xa0, 0xf6]);
    detached.extend(bstr(&[0; 64]));
    assert!(SignedRevocation::from_bytes(&detached).is_err());
    // Short signature.
    let mut short = good.clone();
    let len = short.len();
    short.truncate(len - 66);
    short.extend(bstr(&[0; 63]));
    assert!(matches!(
        SignedRevocation::from_bytes(&short),
        Err(DocumentError::Malformed { .. })
    ));
    // A byte string claiming 2^64-1 bytes must not allocate or panic.
    assert!(SignedRevocation::from_bytes(&[
        0xd2, 0x84, 0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
    ])
    .is_err());
    // Deep nesting.
    let deep = [vec![0x81; 10_000], vec![0x00]].concat();
    assert!(SignedRevocation::from_bytes(&deep).is_err());
    assert!(matches!(
        SignedRevocation::from_bytes(&vec![0; limits::MAX_DOCUMENT_BYTES + 1]),
        Err(DocumentError::TooLarge { .. })
    ));
}

#[test]
fn every_flipped_byte_is_refused() {
    let signed = Signed::sign(revocation(), &patient()).unwrap();
    for i in 0..signed.as_bytes().len() {
        for bit in [0x01, 0x80] {
            let mut bytes = signed.as_bytes().to_vec();
            bytes[i] ^= bit;
            assert!(
                SignedRevocation::from_bytes(&bytes).is_err(),
                "byte {i} bit {bit:#x}"
            );
        }
    }
}

#[test]
fn caps_are_enforced_when_signing() {
    let mut g = grant();
    g.scope = Scope::new(
        (0..=limits::MAX_SCOPE_RECORDS as u32)
            .map(|i| {
                let mut id = [0; 16];
                id[..4].copy_from_slice(&i.to_be_bytes());
                RecordId(id)
            })
            .collect(),
        vec![],
    );
    assert!(matches!(
        Signed::sign(g, &patient()),
        Err(DocumentError::TooLarge {
            what: "scope record ids",
            ..
        })
    ));
    let mut g = grant();
    g.provider_name = "x".repeat(limits::MAX_NAME_BYTES + 1);
    assert!(matches!(
        Signed::sign(g, &patient()),
        Err(DocumentError::TooLarge { .. })
    ));
    let mut g = grant();
    g.scope = Scope::new(vec![], vec!["not a type".into()]);
    assert!(matches!(
        Signed::sign(g, &patient()),
        Err(DocumentError::Malformed { .. })
    ));
    let mut g = grant();
    g.not_after = g.not_before;
    assert!(matches!(
        Signed::sign(g, &patient()),
        Err(DocumentError::Malformed { .. })
    ));
    // A thousand records (the product's benchmark case) is fine.
    let mut g = grant();
    g.scope = Scope::new(
        (0..1000u32)
            .map(|i| {
                let mut id = [0; 16];
                id[..4].copy_from_slice(&i.to_be_bytes());
                RecordId(id)
            })
            .collect(),
        vec![],
    );
    let signed = Signed::sign(g.clone(), &patient()).unwrap();
    assert_eq!(
        SignedGrant::from_bytes(signed.as_bytes())
            .unwrap()
            .document(),
        &g
    );
}

#[test]
fn grant_validity_window() {
    let g = signed_grant();
    assert_eq!(
        g.check_valid_at(NOW - 1),
        Err(DocumentError::NotYetValid {
            now: NOW - 1,
            not_before: NOW
        })
    );
    assert_eq!(g.check_valid_at(NOW), Ok(()));
    assert_eq!(g.check_valid_at(NOW + 3599), Ok(()));
    assert_eq!(
        g.check_valid_at(NOW + 3600),
        Err(DocumentError::Expired {
            now: NOW + 3600,
            not_after: NOW + 3600
        })
    );
}

#[test]
fn request_freshness() {
    let r = signed_request();
    assert_eq!(
        r.check_fresh(NOW - 300),
        Ok(()),
        "five minutes of clock skew are tolerated"
    );
    assert_eq!(
        r.check_fresh(NOW - 301),
        Err(DocumentError::NotYetValid {
            now: NOW - 301,
            not_before: NOW
        })
    );
    assert_eq!(r.check_fresh(NOW + 599), Ok(()));
    assert_eq!(
        r.check_fresh(NOW + 600),
        Err(DocumentError::Expired {
            now: NOW + 600,
            not_after: NOW + 600
        })
    );
    assert!(r.check_fresh(0).is_err());
}

#[test]
fn scope_sorts_dedups_and_allows() {
    let s = Scope::new(
        vec![record(3), record(1), record(3)],
        vec![
            "Observation".into(),
            "Condition".into(),
            "Observation".into(),
        ],
    );
    assert_eq!(s.record_ids, vec![record(1), record(3)]);
    assert_eq!(
        s.resource_types,
        vec!["Condition".to_string(), "Observation".to_string()]
    );
    assert!(s.allows(&record(1), None));
    assert!(s.allows(&record(9), Some("Observation")));
    assert!(!s.allows(&record(9), Some("AllergyIntolerance")));
    assert!(!s.allows(&record(9), None));
    assert!(Scope::default().is_empty());
}

#[test]
fn ids_print_parse_and_serialise_as_hex() {
    let id = RecordId([0xab; 16]);
    assert_eq!(id.to_string(), "ab".repeat(16));
    assert_eq!("AB".repeat(16).parse::<RecordId>().unwrap(), id);
    assert_eq!(
        "ab".parse::<RecordId>(),
        Err(ParseIdError::WrongLength { found: 2 })
    );
    assert_eq!(
        "zz".repeat(16).parse::<GrantId>(),
        Err(ParseIdError::NotHex)
    );
    assert_eq!(
        serde_json::to_string(&id).unwrap(),
        format!("\"{}\"", "ab".repeat(16))
    );
    assert_eq!(
        serde_json::from_str::<RecordId>(&format!("\"{}\"", "ab".repeat(16))).unwrap(),
        id
    );
    assert!(serde_json::from_str::<GrantId>("\"nope\"")
        .unwrap_err()
        .to_string()
        .contains("32 hex"));
    assert_ne!(GrantId::generate(), GrantId::generate());
}

#[test]
fn record_seal_message_layout() {
    let m = record_seal_message(&RecordId([1; 16]), 0x0102_0304, &[9; 32]);
    assert_eq!(&m[..23], b"carekey/v1/record-seal\0");
    assert_eq!(&m[23..39], &[1; 16]);
    assert_eq!(&m[39..43], &[1, 2, 3, 4]);
    assert_eq!(&m[43..], &[9; 32]);
}
