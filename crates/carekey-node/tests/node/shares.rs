//! The backup key-share store: put, get, idempotency, owner-signed deletion, bad input, and
//! that a deleted share stays deleted across a restart; the store's bound.

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
    signed_answer(t, method, path_id, signer, message, body)
        .await
        .0
}

/// [`signed`], also returning the answer's error code, if it has one.
async fn signed_answer(
    t: &TestNode,
    method: Method,
    path_id: &str,
    signer: &SigningKey,
    message: &[u8],
    body: Vec<u8>,
) -> (StatusCode, Option<String>) {
    let sig = b64(&signer.sign(message).to_bytes());
    let uri = format!("/v1/backup-shares/{path_id}");
    let (status, _, answer) = t
        .call(method, &uri, &[("carekey-signature", sig)], body)
        .await;
    let code = serde_json::from_slice::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v["code"].as_str().map(str::to_owned));
    (status, code)
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

/// A put of share `[n; 32]` under id `[n; 16]` by its own owner (as any client may make):
/// the status, the answer's error code, the id in hex and the owner.
async fn put_new(t: &TestNode, n: u8) -> (StatusCode, Option<String>, String, SigningKey) {
    let owner = SigningKey::from_bytes(&[n; 32]);
    let id = [n; 16];
    let share = [n; 32];
    let mut body = share.to_vec();
    body.extend_from_slice(owner.public().as_bytes());
    let path_id = hex::encode(id);
    let (status, code) = signed_answer(
        t,
        Method::PUT,
        &path_id,
        &owner,
        &share_put_message(&id, &share),
        body,
    )
    .await;
    (status, code, path_id, owner)
}

#[tokio::test]
async fn the_share_store_is_bounded_and_counts_what_survives_a_restart() {
    let t = TestNode::with_options(|o| o.max_backup_shares = 2);
    assert_eq!(put_new(&t, 1).await.0, StatusCode::CREATED);
    let (status, _, second, owner) = put_new(&t, 2).await;
    assert_eq!(status, StatusCode::CREATED);
    // Full: a third is refused with a clear code; the stored ones are untouched and a
    // repeated store of a stored share is still fine.
    let (status, code, _, _) = put_new(&t, 3).await;
    assert_eq!(status, StatusCode::INSUFFICIENT_STORAGE);
    assert_eq!(code.as_deref(), Some("share_store_full"));
    assert_eq!(put_new(&t, 2).await.0, StatusCode::NO_CONTENT);
    assert_eq!(
        t.call(
            Method::GET,
            &format!("/v1/backup-shares/{second}"),
            &[],
            vec![]
        )
        .await
        .0,
        StatusCode::OK
    );
    // The count survives a restart (a temporary file left by a crash is not a share).
    std::fs::write(
        t.dir.path().join("backup-shares").join(".tmp-leftover"),
        b"x",
    )
    .unwrap();
    let t = t.restart();
    assert_eq!(put_new(&t, 4).await.0, StatusCode::INSUFFICIENT_STORAGE);
    // Deleting one makes room again.
    let message = carekey_model::ledger::share_delete_message(&[2; 16]);
    let deleted = signed(&t, Method::DELETE, &second, &owner, &message, vec![]).await;
    assert_eq!(deleted, StatusCode::NO_CONTENT);
    assert_eq!(put_new(&t, 4).await.0, StatusCode::CREATED);
    assert_eq!(put_new(&t, 5).await.0, StatusCode::INSUFFICIENT_STORAGE);
}
