//! `carekey:` request URIs.

use carekey_model::*;

use crate::fixtures::*;

#[test]
fn request_uri_round_trip() {
    let r = signed_request();
    let uri = r.to_uri();
    assert!(uri.starts_with("carekey:request/v1/"));
    // A typical request fits comfortably in one QR code (level M holds 2,331 bytes).
    assert!((300..700).contains(&uri.len()), "{} characters", uri.len());
    assert!(
        uri[19..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "base64url, no padding"
    );
    assert_eq!(SignedRequest::from_uri(&uri).unwrap(), r);
    assert_eq!(SignedRequest::from_uri(&format!("  {uri}\n")).unwrap(), r);
    assert_eq!(
        SignedRequest::from_uri(&uri.replacen("carekey:", "CareKey:", 1)).unwrap(),
        r
    );
}

#[test]
fn bad_uris_are_refused() {
    let uri = signed_request().to_uri();
    for bad in [
        "",
        "carekey",
        "https://example.org/",
        "carekey:request/v2/AAAA",
        "carekey:grant/v1/AAAA",
        "carekey:request/v1/not base64!",
        "carekey:request/v1/",
        "carékey:request/v1/AAAA",
    ] {
        assert!(
            matches!(
                SignedRequest::from_uri(bad),
                Err(DocumentError::BadUri { .. })
            ),
            "{bad:?}"
        );
    }
    // Padding is not part of the format.
    assert!(SignedRequest::from_uri(&format!("{uri}==")).is_err());
    // Valid base64 of a grant, not a request.
    let grant_uri = format!("carekey:request/v1/{}", {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed_grant().as_bytes())
    });
    assert!(matches!(
        SignedRequest::from_uri(&grant_uri),
        Err(DocumentError::WrongKind { .. })
    ));
    let long = format!("carekey:request/v1/{}", "A".repeat(limits::MAX_URI_BYTES));
    assert!(matches!(
        SignedRequest::from_uri(&long),
        Err(DocumentError::TooLarge { .. })
    ));
}
