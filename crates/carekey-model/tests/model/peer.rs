//! SMART Health Cards and Links against an independent implementation: the npm package
//! `kill-the-clipboard` (pinned at 1.1.0 in `tests/vectors`). Its `SHCIssuer` makes valid,
//! tampered, expiring, revoked and unknown-key cards with the issuer's JWKS and CRL; its
//! `SHL` and `encryptSHLFile` make a link and files we must read; its `decryptSHLFile` must
//! open the files we make.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use carekey_crypto::SymmetricKey;
use carekey_model::shc::{self, Card, CardError, CardRefusal, Crl, Jwks};
use carekey_model::shl::{jwe, ContentType, ShlPayload};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors");
    assert!(
        dir.join("node_modules/kill-the-clipboard/package.json")
            .is_file(),
        "the peer kill-the-clipboard is missing: run `npm ci --prefix tests/vectors`"
    );
    dir
}

/// The peer's output directory, made once per test binary.
fn peer_out() -> &'static Path {
    static OUT: OnceLock<tempfile::TempDir> = OnceLock::new();
    OUT.get_or_init(|| {
        let out = tempfile::tempdir().unwrap();
        let status = Command::new("node")
            .arg(vectors_dir().join("shc-cards.mjs"))
            .arg(out.path())
            .stdout(Stdio::null())
            .status()
            .expect("`node` must be on PATH to run the peer");
        assert!(status.success(), "shc-cards.mjs failed: {status}");
        out
    })
    .path()
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(peer_out().join(name)).unwrap()
}

fn cards_json() -> Value {
    serde_json::from_slice(&read("cards.json")).unwrap()
}

fn card(case: &str) -> Card {
    let file = cards_json()["cases"][case].as_str().unwrap().to_owned();
    Card::parse(std::str::from_utf8(&read(&file)).unwrap()).unwrap()
}

fn jwks() -> Jwks {
    Jwks::from_json(&read(".well-known/jwks.json")).unwrap()
}

fn crl_b() -> Crl {
    let kid = cards_json()["kidB"].as_str().unwrap().to_owned();
    Crl::from_json(&read(&format!(".well-known/crl/{kid}.json"))).unwrap()
}

/// `now` for a card: one minute after the peer issued it (its `nbf` is its own clock).
fn soon_after(card: &Card) -> u64 {
    card.nbf() + 60
}

#[test]
fn peer_valid_card_verifies_from_jws_file_and_qr() {
    let expected_issuer = cards_json()["issuer"].as_str().unwrap().to_owned();
    let from_jws = card("valid");
    let file = Card::file_cards(&read("valid.smart-health-card")).unwrap();
    assert_eq!(file, vec![from_jws.jws().to_owned()]);
    let qr = String::from_utf8(read("valid.qr.txt")).unwrap();
    assert!(qr.starts_with("shc:/"));
    assert_eq!(shc::jws_from_qr(&qr).unwrap(), from_jws.jws());
    assert_eq!(shc::jws_to_qr(from_jws.jws()).unwrap(), qr);

    let verified = shc::verify(&from_jws, &jwks(), None, soon_after(&from_jws)).unwrap();
    assert_eq!(verified.issuer, expected_issuer);
    assert_eq!(verified.kid, cards_json()["kidA"].as_str().unwrap());
    assert_eq!(verified.fhir_bundle["resourceType"], "Bundle");
    let patient = &verified.fhir_bundle["entry"][0]["resource"];
    assert_eq!(patient["name"][0]["family"], "Brown");
    assert_eq!(
        verified.fhir_bundle["entry"][1]["resource"]["patient"]["reference"],
        "resource:0"
    );
    assert!(verified.types.iter().any(|t| t == shc::HEALTH_CARD_TYPE));
}

#[test]
fn peer_tampered_card_is_a_bad_signature() {
    let tampered = card("tampered");
    assert_eq!(
        tampered.fhir_bundle()["entry"][0]["resource"]["name"][0]["family"],
        "Smith"
    );
    assert_eq!(
        shc::verify(&tampered, &jwks(), None, soon_after(&tampered)),
        Err(CardRefusal::BadSignature)
    );
}

#[test]
fn peer_expiring_card_is_refused_once_expired() {
    let expiring = card("expiring");
    let exp = expiring.exp().unwrap();
    assert_eq!(exp, expiring.nbf() + 3600);
    shc::verify(&expiring, &jwks(), None, soon_after(&expiring)).unwrap();
    assert_eq!(
        shc::verify(&expiring, &jwks(), None, exp),
        Err(CardRefusal::Expired { exp, now: exp })
    );
}

#[test]
fn peer_card_from_an_unpublished_key_is_unknown() {
    let unknown = card("unknown-key");
    assert!(matches!(
        shc::verify(&unknown, &jwks(), None, soon_after(&unknown)),
        Err(CardRefusal::UnknownKey { .. })
    ));
}

#[test]
fn peer_revocation_list_is_applied() {
    let jwks = jwks();
    let crl = crl_b();
    let kid_b = cards_json()["kidB"].as_str().unwrap().to_owned();
    assert_eq!(jwks.key(&kid_b).unwrap().crl_version(), Some(1));

    let revoked = card("revoked");
    assert_eq!(
        shc::verify(&revoked, &jwks, Some(&crl), soon_after(&revoked)),
        Err(CardRefusal::Revoked {
            rid: "r3v0ked".into()
        })
    );
    let before = card("revoked-before");
    assert!(matches!(
        shc::verify(&before, &jwks, Some(&crl), soon_after(&before)),
        Err(CardRefusal::Revoked { .. })
    ));
    for case in ["issued-after-revocation", "not-revoked"] {
        let ok = card(case);
        shc::verify(&ok, &jwks, Some(&crl), soon_after(&ok)).unwrap();
        // Key B has crlVersion: without its list no card of it is accepted.
        assert!(matches!(
            shc::verify(&ok, &jwks, None, soon_after(&ok)),
            Err(CardRefusal::CrlMissing { .. })
        ));
    }
}

#[test]
fn peer_qr_text_refuses_damage() {
    let qr = String::from_utf8(read("valid.qr.txt")).unwrap();
    assert!(matches!(
        shc::jws_from_qr(&qr[..qr.len() - 1]),
        Err(CardError::NotAQrCard { .. })
    ));
    // One digit changed inside the payload: still a JWS, no longer the signed one (or not
    // even inflatable); never accepted.
    let mut damaged = qr.clone().into_bytes();
    let at = damaged.len() / 2;
    damaged[at] = if damaged[at] == b'0' { b'1' } else { b'0' };
    let damaged = String::from_utf8(damaged).unwrap();
    let refused = match shc::jws_from_qr(&damaged).and_then(|jws| Card::parse(&jws)) {
        Err(_) => true,
        Ok(card) => shc::verify(&card, &jwks(), None, soon_after(&card)).is_err(),
    };
    assert!(refused);
}

fn peer_shl() -> Value {
    serde_json::from_slice(&read("shl.json")).unwrap()
}

#[test]
fn peer_link_and_files_are_read() {
    let shl = peer_shl();
    let payload = ShlPayload::from_uri(shl["uri"].as_str().unwrap()).unwrap();
    assert_eq!(payload.url(), shl["payload"]["url"].as_str().unwrap());
    assert_eq!(payload.exp(), Some(1_900_000_000));
    assert_eq!(payload.label(), shl["payload"]["label"].as_str());
    assert_eq!(payload.flags().as_flag_string(), "LP");
    let key = shl_key(shl["key"].as_str().unwrap());
    assert_eq!(payload.key().expose(), key.expose());

    let zipped = jwe::decrypt(payload.key(), shl["zipped"].as_str().unwrap()).unwrap();
    assert!(zipped.compressed);
    assert_eq!(zipped.content_type, ContentType::FhirJson);
    assert_eq!(
        zipped.plaintext.as_slice(),
        shl["plaintext"].as_str().unwrap().as_bytes()
    );
    let plain = jwe::decrypt(payload.key(), shl["plain"].as_str().unwrap()).unwrap();
    assert!(!plain.compressed);
    assert_eq!(plain.content_type, ContentType::SmartHealthCard);
    assert_eq!(plain.plaintext.as_slice(), zipped.plaintext.as_slice());
    assert_eq!(
        jwe::decrypt(&SymmetricKey::generate(), shl["plain"].as_str().unwrap()).unwrap_err(),
        jwe::JweError::Decryption
    );
}

fn shl_key(encoded: &str) -> SymmetricKey {
    carekey_model::shl::parse_key(encoded).unwrap()
}

/// Files we encrypt (with and without DEFLATE, each content type) open in the peer, and the
/// peer reads back the same content type.
#[test]
fn our_files_open_in_the_peer() {
    let key = SymmetricKey::generate();
    let key_text = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.expose())
    };
    let bundle = r#"{"resourceType":"Bundle","type":"collection","entry":[]}"#;
    let cases = [
        (ContentType::FhirJson, true),
        (ContentType::FhirJson, false),
        (ContentType::SmartHealthCard, true),
    ];
    let input: Vec<Value> = cases
        .iter()
        .map(|(cty, zip)| {
            serde_json::json!({"key": key_text, "jwe": jwe::encrypt(&key, *cty, bundle.as_bytes(), *zip)})
        })
        .collect();
    let mut child = Command::new("node")
        .arg(vectors_dir().join("shl-decrypt.mjs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("`node` must be on PATH to run the peer");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(&serde_json::to_vec(&input).unwrap())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "shl-decrypt.mjs failed");
    let opened: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(opened.len(), cases.len());
    for ((cty, _), file) in cases.iter().zip(&opened) {
        assert_eq!(file["contentType"], cty.as_str());
        assert_eq!(file["content"], bundle);
    }
}
