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

/// `METHOD /v1/backup-shares/<path id>` with a signature by `signer` over `message`.
async fn signed(
    t: &TestNode,
    method: Method,
    path_id: &str,
    signer: &SigningKey,
    message: &[u8],
    body: Vec<u8>,
) -> StatusCode {
    let sig = b64(&signer.sign(message).to_bytes());
    let uri = format!("/v1/backup-shares/{path_id}");
    t.call(method, &uri, &[("carekey-signature", sig)], body)
        .await
        .0
}

/// A put of `share` owned by `owner`, signed by `signer`.
async fn put(t: &TestNode, share: [u8; 32], owner: &SigningKey, signer: &SigningKey) -> StatusCode {
    let mut body = share.to_vec();
    body.extend_from_slice(owner.public().as_bytes());
    let message = share_put_message(&id(), &share);
    signed(t, Method::PUT, ID, signer, &message, body).await
}

async fn delete(t: &TestNode, signer: &SigningKey) -> StatusCode {
    signed(
        t,
        Method::DELETE,
        ID,
        signer,
        &share_delete_message(&id()),
        vec![],
    )
    .await
}

#[tokio::test]
async fn shares_are_stored_served_and_deleted_only_by_their_owner() {
    let t = TestNode::new();
    let owner = SigningKey::generate();
    let other = SigningKey::generate();
    let share = [7u8; 32];
    let uri = format!("/v1/backup-shares/{ID}");
    let (status, _, _) = t.call(Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A put signed by someone else, a short body, a bad id: refused.
    assert_eq!(put(&t, share, &owner, &other).await, StatusCode::FORBIDDEN);
    let message = share_put_message(&id(), &share);
    let short = signed(&t, Method::PUT, ID, &owner, &message, vec![1; 10]).await;
    assert_eq!(short, StatusCode::BAD_REQUEST);
    let bad_id = signed(&t, Method::PUT, "XYZ", &owner, &message, vec![0; 64]).await;
    assert_eq!(bad_id, StatusCode::BAD_REQUEST);

    // Stored, served, idempotent; another share under the same id is a conflict.
    assert_eq!(put(&t, share, &owner, &owner).await, StatusCode::CREATED);
    assert_eq!(put(&t, share, &owner, &owner).await, StatusCode::NO_CONTENT);
    let (status, _, body) = t.call(Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], &share);
    assert_eq!(put(&t, [9; 32], &other, &other).await, StatusCode::CONFLICT);

    // Only the owner deletes; then it is gone, also after a restart.
    assert_eq!(delete(&t, &other).await, StatusCode::FORBIDDEN);
    assert_eq!(delete(&t, &owner).await, StatusCode::NO_CONTENT);
    let t = t.restart();
    let (status, _, body) = t.call(Method::GET, &uri, &[], vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("deleted by an erasure"));
    assert!(!t.dir.path().join("backup-shares").join(ID).exists());
}
