//! Hosting SMART Health Links (protocol §7, ADR 0016), below the HTTP layer: registering and
//! updating a link (`PUT /v1/links/<id>`, signed by its link key), ending it (`DELETE`), the
//! files handed out by `location` tokens, the sweep of expired files, and the per-link locks
//! that make manifest requests for one link take their turns. The manifest request itself is
//! in [`super::link_open`].
//!
//! The node keeps the JWE files, the link's pseudonym keys and the passcode verifier, never
//! the file key: it cannot read what it serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{sha256, PublicKey, Signature};
use carekey_model::shl::hosting::{
    link_delete_message, link_put_message, HostingError, LinkId, LinkRegistration,
};

use crate::error::ApiError;
use crate::service::sequencer::OffLogWrite;
use crate::service::Node;
use crate::storage::links::{self as store, LinkFile, LinkPasscode, LinkRow, LinkState};

/// Per-link locks kept before the map is pruned of locks nobody holds.
const MAX_IDLE_LOCKS: usize = 1024;

/// Why a link is answered `404` (nothing is logged for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkRefusal {
    /// Never registered here.
    Unknown,
    /// Ended by its owner.
    Ended,
    /// Past its `exp`.
    Expired,
    /// Out of passcode attempts.
    Exhausted,
}

impl From<LinkRefusal> for ApiError {
    fn from(r: LinkRefusal) -> Self {
        match r {
            LinkRefusal::Unknown => ApiError::not_found("unknown_link", "no such link"),
            LinkRefusal::Ended => ApiError::not_found("link_ended", "the link was ended"),
            LinkRefusal::Expired => ApiError::not_found("link_expired", "the link has expired"),
            LinkRefusal::Exhausted => ApiError::not_found(
                "link_exhausted",
                "the link is closed: too many wrong passcodes",
            ),
        }
    }
}

/// Why link `state` is not served at `now`, if it is not.
pub(crate) fn link_refusal(state: &LinkState, now: u64) -> Option<LinkRefusal> {
    match state {
        LinkState::Ended { .. } => Some(LinkRefusal::Ended),
        LinkState::Live(row) if row.expired(now) => Some(LinkRefusal::Expired),
        LinkState::Live(row) if row.passcode.as_ref().is_some_and(|p| p.attempts_left == 0) => {
            Some(LinkRefusal::Exhausted)
        }
        LinkState::Live(_) => None,
    }
}

/// One async lock per link id with a request in flight: a link's registration, end and
/// manifest requests take their turns, so the attempts left read before sealing a link-open
/// event are the attempts left when it is appended.
#[derive(Debug, Default)]
pub(crate) struct LinkLocks(Mutex<HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>>);

impl LinkLocks {
    fn map(&self) -> MutexGuard<'_, HashMap<[u8; 32], Arc<tokio::sync::Mutex<()>>>> {
        match self.0.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        }
    }

    /// Waits for link `id`'s turn.
    pub(crate) async fn lock(&self, id: &LinkId) -> LinkGuard<'_> {
        let lock = {
            let mut map = self.map();
            if map.len() >= MAX_IDLE_LOCKS {
                // Locks left behind by cancelled requests.
                map.retain(|_, l| Arc::strong_count(l) > 1);
            }
            map.entry(id.0).or_default().clone()
        };
        let mut guard = LinkGuard {
            locks: self,
            id: id.0,
            lock: lock.clone(),
            held: None,
        };
        guard.held = Some(lock.lock_owned().await);
        guard
    }
}

/// A link's turn; the lock is forgotten when nobody else waits for it.
#[derive(Debug)]
pub(crate) struct LinkGuard<'a> {
    locks: &'a LinkLocks,
    id: [u8; 32],
    lock: Arc<tokio::sync::Mutex<()>>,
    held: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for LinkGuard<'_> {
    fn drop(&mut self) {
        self.held.take();
        let mut map = self.locks.map();
        // The map's reference and ours: nobody else holds or waits for it.
        if Arc::strong_count(&self.lock) == 2 {
            map.remove(&self.id);
        }
    }
}

fn malformed(e: HostingError) -> ApiError {
    match e {
        HostingError::TooLarge { limit } => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than {limit} bytes"),
        ),
        e => ApiError::bad_request("malformed", e.to_string()),
    }
}

fn decode<const N: usize>(text: &str) -> Result<[u8; N], ApiError> {
    URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::bad_request("malformed", "a key or verifier is malformed"))
}

/// What the node keeps of a registration: the row (with the full attempt budget; an update
/// keeps what is left instead) and the files.
fn to_row(r: &LinkRegistration) -> Result<(LinkRow, Vec<LinkFile>), ApiError> {
    let link_key = *r.link_key().map_err(malformed)?.as_bytes();
    let event_key = *r.event_key().map_err(malformed)?.as_bytes();
    if i64::try_from(r.version).is_err() {
        return Err(ApiError::bad_request(
            "malformed",
            "version is out of range",
        ));
    }
    let passcode = match (&r.passcode, r.attempts) {
        (Some(v), Some(attempts)) => Some(LinkPasscode {
            salt: decode(&v.salt)?,
            hash: decode(&v.hash)?,
            attempts_left: attempts,
        }),
        _ => None,
    };
    let files = r
        .files
        .iter()
        .map(|f| LinkFile {
            content_type: f.content_type.as_str().to_owned(),
            jwe: f.jwe.clone(),
        })
        .collect();
    Ok((
        LinkRow {
            link_key,
            event_key,
            version: r.version,
            exp: r.exp,
            passcode,
        },
        files,
    ))
}

impl Node {
    /// The manifest URL of link `id`.
    pub(crate) fn link_url(&self, id: &LinkId) -> String {
        format!("{}/v1/links/{id}", self.public_url().trim_end_matches('/'))
    }

    pub(super) fn link_state(&self, id: &LinkId) -> Result<Option<LinkState>, ApiError> {
        Ok(self.db(|c| store::link(c, &id.0))?)
    }

    /// `PUT /v1/links/<id>`: registers the link in `body` (a [`LinkRegistration`]) with
    /// `signature` by its link key over [`link_put_message`], or replaces its files. Returns
    /// the manifest URL.
    pub(crate) async fn register_link(
        &self,
        id: LinkId,
        body: &[u8],
        signature: &Signature,
    ) -> Result<String, ApiError> {
        let registration = LinkRegistration::from_json(body).map_err(malformed)?;
        let (row, files) = to_row(&registration)?;
        let key = PublicKey::from_bytes(&row.link_key).map_err(|_| ApiError::internal())?;
        key.verify(&link_put_message(&id, &sha256(body)), signature)
            .map_err(|_| {
                ApiError::forbidden("bad_signature", "the link signature does not verify")
            })?;
        let _turn = self.link_locks().lock(&id).await;
        // The writer checks the stored key and version in its transaction.
        self.write(OffLogWrite::put_link(id.0, row, files)).await?;
        tracing::info!("link registered");
        Ok(self.link_url(&id))
    }

    /// `DELETE /v1/links/<id>`: with `signature` by the link key over
    /// [`link_delete_message`], deletes the files and tokens; later requests get `404`.
    /// Ending an ended link is fine; an id never registered is `404`.
    pub(crate) async fn end_link(&self, id: LinkId, signature: &Signature) -> Result<(), ApiError> {
        let _turn = self.link_locks().lock(&id).await;
        let state = self.link_state(&id)?.ok_or(LinkRefusal::Unknown)?;
        let key = PublicKey::from_bytes(state.link_key()).map_err(|_| ApiError::internal())?;
        key.verify(&link_delete_message(&id), signature)
            .map_err(|_| {
                ApiError::forbidden("bad_signature", "the end signature does not verify")
            })?;
        if let LinkState::Live(_) = state {
            self.write(OffLogWrite::end_link(id.0)).await?;
            tracing::info!("link ended");
        }
        Ok(())
    }

    /// `GET /v1/links/<id>/files/<n>?t=<token>`: the file, while `token` (handed out for it
    /// by a manifest) lives at `now` and the link is not ended.
    pub(crate) fn link_file(
        &self,
        id: &LinkId,
        n: u32,
        token: &[u8; 32],
        now: u64,
    ) -> Result<LinkFile, ApiError> {
        self.db(|c| store::file_by_token(c, &id.0, n, token, now))?
            .ok_or_else(|| {
                ApiError::not_found(
                    "no_file",
                    "no such file, or its location has expired (ask for the manifest again)",
                )
            })
    }

    /// Deletes the expired file tokens and the files of links expired at `now`.
    pub(crate) async fn sweep_links(&self, now: u64) -> Result<(), ApiError> {
        self.write(OffLogWrite::sweep_links(now)).await
    }
}
