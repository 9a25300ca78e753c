//! Property tests: round trips and no panics on arbitrary input.

use carekey_crypto::AgreementPublic;
use carekey_model::*;
use proptest::prelude::*;

use crate::fixtures::*;

const MAX_T: u64 = limits::MAX_TIMESTAMP;

fn id16() -> impl Strategy<Value = [u8; 16]> {
    any::<[u8; 16]>()
}

fn hash() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn name() -> impl Strategy<Value = String> {
    "\\PC{0,40}"
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        proptest::collection::vec(id16().prop_map(RecordId), 0..8),
        proptest::collection::vec("[A-Z][a-zA-Z]{0,20}", 0..4),
    )
        .prop_map(|(r, t)| Scope::new(r, t))
}

fn nodes() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("https?://[a-z0-9.]{1,20}(:[0-9]{1,5})?", 0..3)
}

fn window() -> impl Strategy<Value = (u64, u64)> {
    (0..MAX_T).prop_flat_map(|start| (Just(start), start + 1..=MAX_T))
}

fn grant_doc() -> impl Strategy<Value = Grant> {
    (
        id16(),
        name(),
        hash(),
        hash(),
        scope(),
        name(),
        0..=MAX_T,
        window(),
        nodes(),
    )
        .prop_map(
            |(
                id,
                provider_name,
                agreement,
                request_hash,
                scope,
                purpose,
                issued_at,
                (nb, na),
                nodes,
            )| Grant {
                grant_id: GrantId(id),
                patient_signing: patient().public(),
                provider_name,
                provider_signing: provider().public(),
                provider_agreement: AgreementPublic::from_bytes(agreement),
                request_hash,
                scope,
                purpose,
                issued_at,
                not_before: nb,
                not_after: na,
                nodes,
            },
        )
}

fn request_doc() -> impl Strategy<Value = AccessRequest> {
    (
        name(),
        hash(),
        scope(),
        name(),
        any::<u64>(),
        nodes(),
        id16(),
        window(),
    )
        .prop_map(
            |(
                provider_name,
                agreement,
                scope,
                purpose,
                duration_secs,
                nodes,
                nonce,
                (created_at, expires_at),
            )| {
                AccessRequest {
                    provider_name,
                    provider_signing: provider().public(),
                    provider_agreement: AgreementPublic::from_bytes(agreement),
                    scope,
                    purpose,
                    duration_secs,
                    nodes,
                    nonce,
                    created_at,
                    expires_at,
                }
            },
        )
}

fn subject() -> impl Strategy<Value = ErasureSubject> {
    prop_oneof![
        id16().prop_map(|r| ErasureSubject::Record {
            record_id: RecordId(r)
        }),
        id16().prop_map(|g| ErasureSubject::Grant {
            grant_id: GrantId(g)
        }),
        Just(ErasureSubject::Wallet),
    ]
}

fn round_trip<T: Document + Clone + PartialEq + std::fmt::Debug>(
    doc: T,
    key: &carekey_crypto::SigningKey,
) -> Result<(), TestCaseError> {
    let signed = Signed::sign(doc.clone(), key).unwrap();
    let parsed = Signed::<T>::from_bytes(signed.as_bytes()).unwrap();
    prop_assert_eq!(parsed.document(), &doc);
    prop_assert_eq!(parsed.as_bytes(), signed.as_bytes());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn grants_round_trip(g in grant_doc()) {
        round_trip(g.clone(), &patient())?;
        let signed = Signed::sign(g, &patient()).unwrap();
        let consent = fhir::grant_to_consent(&signed);
        let back = fhir::consent_to_grant(&consent).unwrap();
        prop_assert_eq!(back.as_bytes(), signed.as_bytes());
    }

    #[test]
    fn requests_round_trip_also_as_uris(r in request_doc()) {
        round_trip(r.clone(), &provider())?;
        let signed = Signed::sign(r, &provider()).unwrap();
        prop_assert_eq!(SignedRequest::from_uri(&signed.to_uri()).unwrap(), signed);
    }

    #[test]
    fn revocations_tombstones_directories_round_trip(
        gid in id16(), h in hash(), t in 0..=MAX_T, subject in subject(),
        hashes in proptest::collection::vec(hash(), 0..5),
        entries in proptest::collection::vec((name(), 0u8..4), 0..5),
    ) {
        round_trip(Revocation { grant_id: GrantId(gid), grant_hash: h, patient_signing: patient().public(), revoked_at: t }, &patient())?;
        round_trip(Tombstone { patient_signing: patient().public(), subject, ciphertext_hashes: hashes, erased_at: t }, &patient())?;
        let keys = [patient(), provider(), stranger(), directory_key()];
        round_trip(Directory {
            name: "Register".into(),
            directory_key: directory_key().public(),
            issued_at: t,
            providers: entries.into_iter().map(|(name, k)| DirectoryEntry { name, signing: keys[k as usize].public() }).collect(),
        }, &directory_key())?;
    }

    #[test]
    fn bundles_round_trip(g in grant_doc(), eph in hash(), blobs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4)) {
        let grant = Signed::sign(g, &patient()).unwrap();
        let records = blobs.iter().enumerate().map(|(i, blob)| {
            let record_id = RecordId([i as u8; 16]);
            let mut r = crate::bundle::bundled(record_id, Some("Observation"), blob);
            r.name = format!("record {i}");
            r
        }).collect::<Vec<_>>();
        // Only records the scope allows make a valid bundle.
        let allowed = records.iter().all(|r| grant.document().scope.allows(&r.record_id, r.resource_type.as_deref()));
        let bundle = GrantBundle { grant, ephemeral: AgreementPublic::from_bytes(eph), records };
        let parsed = GrantBundle::from_bytes(&bundle.to_bytes());
        if allowed {
            prop_assert_eq!(parsed.unwrap(), bundle);
        } else {
            let refused = matches!(parsed, Err(DocumentError::BadRecord { .. }));
            prop_assert!(refused);
        }
    }

    #[test]
    fn flipping_any_byte_of_a_grant_fails(i in any::<prop::sample::Index>(), bit in 0u8..8) {
        let signed = signed_grant();
        let mut bytes = signed.as_bytes().to_vec();
        let at = i.index(bytes.len());
        bytes[at] ^= 1 << bit;
        prop_assert!(SignedGrant::from_bytes(&bytes).is_err());
    }

    #[test]
    fn parsers_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = SignedGrant::from_bytes(&bytes);
        let _ = SignedRequest::from_bytes(&bytes);
        let _ = SignedDirectory::from_bytes(&bytes);
        let _ = GrantBundle::from_bytes(&bytes);
        let _ = GrantBundle::from_bytes(&[BUNDLE_MAGIC, &bytes].concat());
        let _ = fhir::split(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = SignedRequest::from_uri(&text);
        let _ = SignedRequest::from_uri(&format!("carekey:request/v1/{text}"));
    }

    #[test]
    fn parsers_never_panic_on_mutated_documents(i in any::<prop::sample::Index>(), byte in any::<u8>(), cut in any::<prop::sample::Index>()) {
        let bytes = signed_grant().as_bytes().to_vec();
        let mut mutated = bytes.clone();
        let at = i.index(mutated.len());
        mutated[at] = byte;
        mutated.truncate(cut.index(mutated.len()) + 1);
        let _ = SignedGrant::from_bytes(&mutated);
        let _ = fhir::split(&mutated);
    }

    #[test]
    fn split_never_panics_on_json_shaped_input(s in "\\{\"resourceType\": ?\"(Bundle|Patient)\"(, ?\"(entry|id|resource)\": ?(\\[|\\{|\"|[0-9]|null|true|,|\\]|\\}|\"resourceType\"|:){0,30})?\\}?") {
        let _ = fhir::split(s.as_bytes());
    }
}
