//! SMART Health Links: payloads, links, JWE files, against the examples of the HL7 links
//! specification (STU1).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::SymmetricKey;
use carekey_model::shl::{self, jwe, ContentType, ShlFlags, ShlPayload, ShlPayloadError};

/// The spec's "Example SMART Health Link Generation": the bare link for a payload with
/// `flag: "LP"` (members in the order url, flag, key, label; no `v`).
const SPEC_LINK: &str = "shlink:/eyJ1cmwiOiJodHRwczovL2Voci5leGFtcGxlLm9yZy9xci9ZOXh3a1VkdG1OOXd3b0pvTjNmZkpJaFgyVUd2Q0wxSm5sUFZOTDNrRFdNL20iLCJmbGFnIjoiTFAiLCJrZXkiOiJyeFRnWWxPYUtKUEZ0Y0VkMHFjY2VOOHdFVTRwOTRTcUF3SVdRZTZ1WDdRIiwibGFiZWwiOiJCYWNrLXRvLXNjaG9vbCBpbW11bml6YXRpb25zIGZvciBPbGl2ZXIgQnJvd24ifQ";
const SPEC_KEY: &str = "rxTgYlOaKJPFtcEd0qcceN8wEU4p94SqAwIWQe6uX7Q";

fn key_bytes(encoded: &str) -> [u8; 32] {
    URL_SAFE_NO_PAD.decode(encoded).unwrap().try_into().unwrap()
}

#[test]
fn reads_the_spec_example_link_bare_and_behind_a_viewer() {
    for link in [
        SPEC_LINK.to_owned(),
        format!("https://viewer.example.org#{SPEC_LINK}"),
    ] {
        let payload = ShlPayload::from_uri(&link).unwrap();
        assert_eq!(
            payload.url(),
            "https://ehr.example.org/qr/Y9xwkUdtmN9wwoJoN3ffJIhX2UGvCL1JnlPVNL3kDWM/m"
        );
        assert_eq!(payload.key().expose(), &key_bytes(SPEC_KEY));
        assert_eq!(
            payload.label(),
            Some("Back-to-school immunizations for Oliver Brown")
        );
        let flags = payload.flags();
        assert!(flags.long_term && flags.passcode && !flags.direct_file);
        assert_eq!(payload.exp(), None);
        // Debug never shows the key.
        assert!(!format!("{payload:?}").contains(SPEC_KEY));
    }
}

#[test]
fn writes_what_it_reads() {
    let key = SymmetricKey::generate();
    let flags = ShlFlags {
        long_term: true,
        passcode: true,
        direct_file: false,
    };
    let payload = ShlPayload::new(
        "https://node.example/shl/I91rhba3VsuGXGchcnr6VHlQFKxfE28kuZ0ssbEuxno",
        key.clone(),
        Some(1_900_000_000),
        flags,
        Some("Allergies for Dr Lee — été".to_owned()),
    )
    .unwrap();
    let uri = payload.to_uri();
    assert!(uri.starts_with("shlink:/"));
    let json = URL_SAFE_NO_PAD.decode(&uri["shlink:/".len()..]).unwrap();
    // Minified, members in the spec's order, v = 1.
    let text = String::from_utf8(json).unwrap();
    let members: Vec<String> =
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text)
            .unwrap()
            .keys()
            .cloned()
            .collect();
    assert_eq!(members.len(), 6, "{text}");
    assert!(
        text.starts_with(r#"{"url":"https://node.example/shl/"#),
        "{text}"
    );
    assert!(
        text.contains(r#""exp":1900000000,"flag":"LP","label":"#),
        "{text}"
    );
    assert!(text.ends_with(r#","v":1}"#), "{text}");

    let again = ShlPayload::from_uri(&uri).unwrap();
    assert_eq!(again.to_uri(), uri);
    assert_eq!(again.key().expose(), key.expose());
    assert!(again.is_expired(1_900_000_000) && !again.is_expired(1_899_999_999));

    let viewer = payload.viewer_link("https://viewer.example/");
    assert_eq!(viewer, format!("https://viewer.example/#{uri}"));
    assert_eq!(payload.viewer_link("https://viewer.example/#"), viewer);
    assert_eq!(ShlPayload::from_uri(&viewer).unwrap().to_uri(), uri);
}

fn encode(json: &str) -> String {
    format!("shlink:/{}", URL_SAFE_NO_PAD.encode(json))
}

#[test]
fn refuses_bad_links_with_a_reason() {
    let ok_url = "https://h.example/m/abc";
    type Expect = fn(&ShlPayloadError) -> bool;
    let cases: Vec<(String, Expect)> = vec![
        ("shlink:/!!!".into(), |e| {
            matches!(e, ShlPayloadError::NotBase64)
        }),
        ("shlink:/eyJ1cmwiOiJ4In0=".into(), |e| {
            matches!(e, ShlPayloadError::NotBase64)
        }),
        ("https://viewer.example/".into(), |e| {
            matches!(e, ShlPayloadError::NotALink { .. })
        }),
        ("javascript:x#shlink:/e30".into(), |e| {
            matches!(e, ShlPayloadError::NotALink { .. })
        }),
        ("https://v.example/#shc:/123".into(), |e| {
            matches!(e, ShlPayloadError::NotALink { .. })
        }),
        (encode("[]"), |e| {
            matches!(e, ShlPayloadError::Malformed { .. })
        }),
        (encode(&format!(r#"{{"url":"{ok_url}"}}"#)), |e| {
            matches!(e, ShlPayloadError::Malformed { .. })
        }),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","key":"{SPEC_KEY}"}}"#
            )),
            |e| matches!(e, ShlPayloadError::Malformed { .. }),
        ),
        (
            encode(&format!(
                r#"{{"url":"http://h.example/m","key":"{SPEC_KEY}"}}"#
            )),
            |e| matches!(e, ShlPayloadError::BadUrl { .. }),
        ),
        (
            encode(&format!(
                r#"{{"url":"https://h.example/{}","key":"{SPEC_KEY}"}}"#,
                "a".repeat(120)
            )),
            |e| matches!(e, ShlPayloadError::BadUrl { .. }),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{}"}}"#,
                &SPEC_KEY[..42]
            )),
            |e| matches!(e, ShlPayloadError::BadKey),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{}="}}"#,
                &SPEC_KEY[..42]
            )),
            |e| matches!(e, ShlPayloadError::BadKey),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","exp":-5}}"#
            )),
            |e| matches!(e, ShlPayloadError::BadExpiry),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","exp":"soon"}}"#
            )),
            |e| matches!(e, ShlPayloadError::Malformed { .. }),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","flag":"PL"}}"#
            )),
            |e| matches!(e, ShlPayloadError::BadFlag { .. }),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","flag":"PU"}}"#
            )),
            |e| matches!(e, ShlPayloadError::BadFlag { .. }),
        ),
        (
            encode(&format!(
                r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","label":"{}"}}"#,
                "é".repeat(81)
            )),
            |e| matches!(e, ShlPayloadError::LabelTooLong { limit: 80 }),
        ),
        (
            encode(&format!(r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","v":2}}"#)),
            |e| matches!(e, ShlPayloadError::UnsupportedVersion { .. }),
        ),
        (format!("shlink:/{}", "A".repeat(9000)), |e| {
            matches!(e, ShlPayloadError::TooLong { .. })
        }),
    ];
    for (link, expected) in cases {
        let err = ShlPayload::from_uri(&link).unwrap_err();
        assert!(expected(&err), "{link}: {err:?}");
    }
    // Unknown members and unknown flag letters are ignored; an 80-character label is fine.
    let lenient = encode(&format!(
        r#"{{"url":"{ok_url}","key":"{SPEC_KEY}","flag":"LX","label":"{}","_ext":1,"v":1}}"#,
        "é".repeat(80)
    ));
    let payload = ShlPayload::from_uri(&lenient).unwrap();
    assert!(payload.flags().long_term);
    // Making a link applies the same rules.
    assert!(ShlPayload::new(
        "ftp://x",
        SymmetricKey::generate(),
        None,
        ShlFlags::default(),
        None
    )
    .is_err());
    assert!(ShlPayload::new(
        ok_url,
        SymmetricKey::generate(),
        None,
        ShlFlags {
            passcode: true,
            direct_file: true,
            long_term: false
        },
        None
    )
    .is_err());
}

/// The spec's "Example Encryption": a `.smart-health-card` file encrypted under the example
/// link's key by `jose`. We must decrypt it and find the example card inside.
#[test]
fn decrypts_the_spec_example_file() {
    let jwe = include_str!("data/shl-spec-example.jwe").trim();
    let key = SymmetricKey::from_bytes(key_bytes(SPEC_KEY));
    let file = jwe::decrypt(&key, jwe).unwrap();
    assert_eq!(file.content_type, ContentType::SmartHealthCard);
    assert!(!file.compressed);
    let json: serde_json::Value = serde_json::from_slice(&file.plaintext).unwrap();
    let card = json["verifiableCredential"][0].as_str().unwrap();
    let header = URL_SAFE_NO_PAD
        .decode(card.split('.').next().unwrap())
        .unwrap();
    let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["zip"], "DEF");
    assert_eq!(header["kid"], "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s");
    // One flipped ciphertext character is refused.
    let mut tampered = jwe.to_owned();
    let at = tampered.len() - 40;
    let flipped = if &tampered[at..=at] == "A" { "B" } else { "A" };
    tampered.replace_range(at..=at, flipped);
    assert_eq!(
        jwe::decrypt(&key, &tampered).unwrap_err(),
        jwe::JweError::Decryption
    );
    assert_eq!(shl::MAX_LABEL_CHARS, 80);
}
