//! The backup key-share store: put, get, idempotency, owner-signed deletion, bad input, and
//! that a deleted share stays deleted across a restart.

use axum::http::{Method, StatusCode};
use carekey_crypto::SigningKey;
use carekey_model::ledger::{share_delete_message, share_put_message};

use crate::support::{b64, TestNode};

const ID: &str = "00112233445566778899aabbccddeeff";

fn id() -> [u8; 16] {
    let mut id = [0u8; 16];
    hex::decode_to_slice(ID, &mut id).unwrap();
    id
}

fn put_body(share: &[u8; 32], owner: &SigningKey) -> Vec<u8> {
    let mut body = share.to_vec();
    body.extend_from_slice(owner.public().as_bytes());
    body
}

#[tokio::test]
async fn shares_are_stored_served_and_deleted_only_by_their_owner() {
    let t = TestNode::new();
    let owner = SigningKey::generate();
    let share = [7u8; 32];
    let uri = format!("/v1/backup-shares/{ID}");
    let sig = |m: &[u8], k: &SigningKey| b64(&k.sign(m).to_bytes());

    let (status, _, _) = t.call(Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A put signed by someone else, a short body, a bad id: refused.
    let other = SigningKey::generate();
    let put_sig = sig(&share_put_message(&id(), &share), &owner);
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &[(
                "carekey-signature",
                sig(&share_put_message(&id(), &share), &other),
            )],
            put_body(&share, &owner),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &[("carekey-signature", put_sig.clone())],
            vec![1; 10],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = t
        .call(
            Method::PUT,
            "/v1/backup-shares/XYZ",
            &[("carekey-signature", put_sig.clone())],
            put_body(&share, &owner),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Stored, served, idempotent; another share under the same id is a conflict.
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &[("carekey-signature", put_sig.clone())],
            put_body(&share, &owner),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &[("carekey-signature", put_sig)],
            put_body(&share, &owner),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, body) = t.call(Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], &share);
    let other_share = [9u8; 32];
    let (status, _, _) = t
        .call(
            Method::PUT,
            &uri,
            &[(
                "carekey-signature",
                sig(&share_put_message(&id(), &other_share), &other),
            )],
            put_body(&other_share, &other),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Only the owner deletes; then it is gone, also after a restart.
    let (status, _, _) = t
        .call(
            Method::DELETE,
            &uri,
            &[(
                "carekey-signature",
                sig(&share_delete_message(&id()), &other),
            )],
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = t
        .call(
            Method::DELETE,
            &uri,
            &[(
                "carekey-signature",
                sig(&share_delete_message(&id()), &owner),
            )],
            vec![],
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let t = t.restart();
    let (status, _, body) = t.call(Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("deleted by an erasure"));
    let share_file = t.dir.path().join("backup-shares").join(ID);
    assert!(!share_file.exists());
}
