//! Replays the committed `cargo fuzz` corpora (fuzz/corpus/<target>/) through the same parsers
//! the fuzz targets call: every input gets a typed answer, none panics. CI runs this instead of
//! a fuzzing campaign.

use std::path::Path;

use carekey_model::{
    GrantBundle, SignedDirectory, SignedGrant, SignedRequest, SignedRevocation, SignedTombstone,
};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        inputs.len() >= 3,
        "corpus {target} has only {} inputs",
        inputs.len()
    );
    // Also every truncation of the first few seeds: the classic crash sites.
    let seeds: Vec<Vec<u8>> = inputs.iter().take(4).cloned().collect();
    for s in seeds {
        for cut in (0..s.len()).step_by((s.len() / 64).max(1)) {
            inputs.push(s[..cut].to_vec());
        }
    }
    inputs
}

#[test]
fn age_corpus() {
    let id = carekey_crypto::age::Identity::from_bytes([7; 32]);
    for input in corpus("age_header") {
        if let Ok(h) = carekey_crypto::age::read_header(&mut &input[..]) {
            let bytes = h.to_bytes();
            let again = carekey_crypto::age::read_header(&mut &bytes[..]).unwrap();
            assert_eq!(again.to_bytes(), bytes);
        }
        let _ =
            carekey_crypto::age::decrypt(std::slice::from_ref(&id), &input[..], std::io::sink());
    }
}

#[test]
fn cose_corpus() {
    for input in corpus("cose_documents") {
        let _ = SignedRequest::from_bytes(&input);
        let _ = SignedGrant::from_bytes(&input);
        let _ = SignedRevocation::from_bytes(&input);
        let _ = SignedTombstone::from_bytes(&input);
        let _ = SignedDirectory::from_bytes(&input);
    }
}

#[test]
fn uri_corpus() {
    for input in corpus("request_uri") {
        if let Ok(text) = std::str::from_utf8(&input) {
            let _ = SignedRequest::from_uri(text);
        }
    }
}

#[test]
fn bundle_corpus() {
    for input in corpus("grant_bundle") {
        let _ = GrantBundle::from_bytes(&input);
    }
}

#[test]
fn fhir_corpus() {
    for input in corpus("fhir_json") {
        if let Ok(Some(resources)) = carekey_model::fhir::split(&input) {
            for r in &resources {
                let _ = carekey_model::fhir::summary(r);
            }
        }
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&input) {
            let _ = carekey_model::fhir::consent_terms(&value);
            let _ = carekey_model::fhir::consent_to_grant(&value);
            let _ = carekey_model::fhir::ips::check(&value);
            let _ = carekey_model::fhir::ips::outline(&value);
        }
    }
}

#[test]
fn qr_corpus() {
    for input in corpus("qr_image") {
        let _ = carekey_qr::decode(&input);
    }
}

#[test]
fn vault_corpus() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup");
    let mut shares = 0;
    for input in corpus("vault_files") {
        let _ = carekey_vault::parse_header(&input);
        let _ = carekey_vault::parse_state_file(&input);
        std::fs::write(&path, &input).unwrap();
        if let Ok(Some(needed)) = carekey_vault::Vault::backup_share_needed(&path) {
            shares += needed.nodes.len();
        }
    }
    assert!(shares >= 2, "the version-2 backup seed names its nodes");
}

#[test]
fn ledger_notes_corpus() {
    use carekey_ledger::note::{
        open_checkpoint_bytes, parse_signature_lines, Checkpoint, NoteVerifier,
    };
    let log = NoteVerifier::parse(
        "demo.carekey.local/log+59947321+AZ1gQOB3pGeSA3GS2rghlGqTkV4RzfmuYwGOlqOh4Vex",
    )
    .unwrap();
    for input in corpus("ledger_notes") {
        let _ = open_checkpoint_bytes(&input, &log, &[], 1_900_000_000);
        if let Ok(text) = std::str::from_utf8(&input) {
            let _ = Checkpoint::parse_body(text);
            let _ = parse_signature_lines(text);
            let _ = carekey_ledger::proof::Receipt::parse(text);
            let _ = carekey_ledger::witness::AddCheckpoint::parse(text);
            let _ = NoteVerifier::parse(text);
        }
    }
}

#[test]
fn ledger_tiles_corpus() {
    let mut entries_seen = 0;
    for input in corpus("ledger_tiles") {
        if let Ok(path) = std::str::from_utf8(&input) {
            let _ = carekey_ledger::tiles::TileId::parse(path);
        }
        for width in 1..=4u16 {
            // The node serves partial tiles as prefixes of wider ones: a prefix it finds is
            // itself a bundle of exactly that many entries.
            let kind = carekey_ledger::tiles::TileKind::Entries;
            if let Some(prefix) = carekey_ledger::tiles::tile_prefix(kind, &input, width) {
                carekey_ledger::tiles::decode_bundle(prefix, usize::from(width)).unwrap();
            }
            let width = usize::from(width);
            if let Ok(entries) = carekey_ledger::tiles::decode_bundle(&input, width) {
                for e in entries {
                    entries_seen +=
                        usize::from(carekey_model::ledger::Entry::from_bytes(&e).is_ok());
                }
            }
        }
        let _ = carekey_model::ledger::Entry::from_bytes(&input);
    }
    assert!(entries_seen > 0, "the seed bundles hold real entries");
}

#[test]
fn shl_payload_corpus() {
    use carekey_model::shl::ShlPayload;
    let mut links = 0;
    for input in corpus("shl_payload") {
        if let Ok(text) = std::str::from_utf8(&input) {
            if let Ok(payload) = ShlPayload::from_uri(text) {
                let uri = payload.to_uri();
                assert_eq!(ShlPayload::from_uri(&uri).unwrap().to_uri(), uri);
                links += 1;
            }
        }
        let _ = ShlPayload::from_json(&input);
    }
    assert!(links >= 3, "the seed links parse ({links})");
}

#[test]
fn shl_manifest_corpus() {
    use carekey_model::shl::{Manifest, ManifestRequest};
    let mut parsed = 0;
    for input in corpus("shl_manifest") {
        if let Ok(request) = ManifestRequest::from_json(&input) {
            assert_eq!(
                ManifestRequest::from_json(&request.to_json()).unwrap(),
                request
            );
            parsed += 1;
        }
        if let Ok(manifest) = Manifest::from_json(&input) {
            assert_eq!(Manifest::from_json(&manifest.to_json()).unwrap(), manifest);
            parsed += 1;
        }
    }
    assert!(
        parsed >= 3,
        "the seed requests and manifest parse ({parsed})"
    );
}

#[test]
fn shl_jwe_corpus() {
    let key = carekey_crypto::SymmetricKey::from_bytes([7; 32]);
    let mut opened = 0;
    for input in corpus("shl_jwe") {
        if let Ok(text) = std::str::from_utf8(&input) {
            opened += usize::from(carekey_model::shl::jwe::decrypt(&key, text).is_ok());
        }
    }
    assert!(
        opened >= 3,
        "the seed files decrypt under the fixed key ({opened})"
    );
}

#[test]
fn shc_card_corpus() {
    use carekey_model::shc::{self, Card, Crl, Jwks};
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/shc_card");
    let jwks = Jwks::from_json(&std::fs::read(seeds.join("jwks.json")).unwrap()).unwrap();
    let crl = Crl::from_json(&std::fs::read(seeds.join("crl.json")).unwrap()).unwrap();
    let (mut verified, mut refused) = (0, 0);
    for input in corpus("shc_card") {
        let mut jws = Vec::new();
        if let Ok(text) = std::str::from_utf8(&input) {
            if let Ok(from_qr) = shc::jws_from_qr(text) {
                jws.push(from_qr);
            }
            jws.push(text.to_owned());
        }
        if let Ok(cards) = Card::file_cards(&input) {
            jws.extend(cards);
        }
        for jws in jws {
            if let Ok(card) = Card::parse(&jws) {
                match shc::verify(&card, &jwks, Some(&crl), card.nbf()) {
                    Ok(_) => verified += 1,
                    Err(_) => refused += 1,
                }
            }
        }
        let _ = Jwks::from_json(&input);
        let _ = Crl::from_json(&input);
    }
    // valid.jws, not-revoked.jws, expiring.jws, and the valid card's QR text and file verify;
    // tampered.jws and revoked.jws do not.
    assert!(verified >= 5 && refused >= 2, "{verified} {refused}");
}
