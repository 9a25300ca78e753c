//! The node's policy (protocol §3). The stateless half ([`check_entry`]): what can be checked
//! from a submission alone, before it is queued. The stateful half ([`apply_effect`]: grant key
//! unused, grant committed, not revoked, nonce unused, link live and within its passcode
//! budget): checked and applied by the writer inside the batch transaction, atomically with
//! the append ([`crate::service::writer`]); and the same for off-log writes
//! ([`apply_off_log`]: a link's key and version).

use carekey_model::ledger::{grant_commitment, Entry, SignedLedgerBinding};
use carekey_model::{DocumentError, SignedGrant};

use rusqlite::Connection;

use crate::error::{ApiError, StoreError};
use crate::service::links::{link_refusal, LinkRefusal};
use crate::service::sequencer::OffLog;
use crate::service::submission::{Effect, Submission};
use crate::storage::db::{self, GrantRow};
use crate::storage::links::{self as link_store, LinkFile, LinkRow, LinkState};

/// The decoded body of `POST /v1/entries`.
#[derive(Debug)]
pub(crate) struct EntrySubmission {
    pub(crate) entry: Vec<u8>,
    pub(crate) grant: Option<Vec<u8>>,
    pub(crate) binding: Option<Vec<u8>>,
    pub(crate) salt: Option<Vec<u8>>,
}

fn entry_error(e: DocumentError) -> ApiError {
    match e {
        DocumentError::BadSignature => {
            ApiError::forbidden("bad_signature", "the entry's signature does not verify")
        }
        DocumentError::TooLarge { .. } => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "entry_too_large",
            "an entry is at most 65,535 bytes",
        ),
        _ => ApiError::bad_request(
            "malformed_entry",
            "the entry is not a well-formed ledger entry",
        ),
    }
}

/// Checks a submission as far as it can be checked without the node's state, and turns it
/// into what the writer appends.
pub(crate) fn check_entry(s: EntrySubmission, now: u64) -> Result<Submission, ApiError> {
    let entry = Entry::from_bytes(&s.entry).map_err(entry_error)?;
    let extras = s.grant.is_some() || s.binding.is_some() || s.salt.is_some();
    let effect = match &entry {
        Entry::Grant(commitment) => {
            let (Some(grant), Some(binding), Some(salt)) = (s.grant, s.binding, s.salt) else {
                return Err(ApiError::bad_request(
                    "missing_fields",
                    "a grant commitment needs grant, binding and salt",
                ));
            };
            let salt: [u8; 32] = salt
                .try_into()
                .map_err(|_| ApiError::bad_request("malformed", "salt is not 32 bytes"))?;
            let grant = SignedGrant::from_bytes(&grant).map_err(|e| match e {
                DocumentError::BadSignature => {
                    ApiError::forbidden("bad_grant", "the grant's signature does not verify")
                }
                _ => ApiError::bad_request("malformed_grant", "the grant is not well formed"),
            })?;
            let binding = SignedLedgerBinding::from_bytes(&binding).map_err(|e| match e {
                DocumentError::BadSignature => {
                    ApiError::forbidden("bad_binding", "the binding's signature does not verify")
                }
                _ => ApiError::bad_request("malformed_binding", "the binding is not well formed"),
            })?;
            let g = grant.document();
            let b = binding.document();
            let c = commitment.document();
            if b.patient_signing != g.patient_signing {
                return Err(ApiError::forbidden(
                    "bad_binding",
                    "the binding is not signed by the grant's patient",
                ));
            }
            if b.grant_hash != grant.hash() || b.grant_key != c.grant_key {
                return Err(ApiError::forbidden(
                    "bad_binding",
                    "the binding names another grant or grant key",
                ));
            }
            if grant_commitment(&salt, &grant) != c.commitment {
                return Err(ApiError::forbidden(
                    "commitment_mismatch",
                    "the commitment does not match salt and grant",
                ));
            }
            if now >= g.not_after {
                return Err(ApiError::forbidden("expired", "the grant has expired"));
            }
            Effect::Commit(GrantRow {
                grant_id: g.grant_id.0,
                grant_key: *c.grant_key.as_bytes(),
                grant_doc: grant.as_bytes().to_vec(),
                binding: binding.as_bytes().to_vec(),
                salt,
            })
        }
        Entry::Revocation(r) => {
            if extras {
                return Err(unexpected_fields());
            }
            Effect::Revoke {
                grant_key: *r.document().grant_key.as_bytes(),
                ends_at: r.document().ends_at,
                now,
            }
        }
        Entry::Erasure(e) => {
            if extras {
                return Err(unexpected_fields());
            }
            Effect::Erase {
                erasure_key: *e.document().erasure_key.as_bytes(),
            }
        }
        Entry::Access(_) | Entry::LinkOpen(_) => {
            return Err(ApiError::forbidden(
                "not_submittable",
                "access and link-open events are appended by the node itself",
            ))
        }
    };
    Ok(Submission::new(s.entry, effect))
}

fn unexpected_fields() -> ApiError {
    ApiError::bad_request(
        "unexpected_fields",
        "grant, binding and salt belong to grant commitments only",
    )
}

/// Checks and applies one submission's stateful policy inside the batch transaction.
/// `Ok(Err(refusal))` leaves the database untouched.
pub(crate) fn apply_effect(
    tx: &Connection,
    effect: &Effect,
    index: u64,
) -> Result<Result<(), ApiError>, StoreError> {
    match effect {
        Effect::Commit(row) => {
            if db::grant_key_known(tx, &row.grant_key)? {
                return Ok(Err(ApiError::forbidden(
                    "grant_key_in_use",
                    "another grant already uses this grant key",
                )));
            }
            if db::grant_id_known(tx, &row.grant_id)? {
                return Ok(Err(ApiError::forbidden(
                    "grant_already_committed",
                    "this grant is already committed under another grant key",
                )));
            }
            db::insert_grant(tx, row, index)?;
        }
        Effect::Revoke {
            grant_key,
            ends_at,
            now,
        } => {
            if !db::grant_key_known(tx, grant_key)? {
                return Ok(Err(ApiError::forbidden(
                    "unknown_grant_key",
                    "no grant commitment uses this grant key",
                )));
            }
            let ends_at = ends_at.unwrap_or(0);
            match db::revoked_from(tx, grant_key)? {
                // Ending a shortened grant sooner, before its end.
                Some(from) if from > *now && ends_at < from => {}
                Some(_) => {
                    return Ok(Err(ApiError::forbidden(
                        "already_revoked",
                        "this grant is already revoked",
                    )))
                }
                None => {}
            }
            db::insert_revocation(tx, grant_key, index, ends_at)?;
        }
        Effect::Erase { erasure_key } => {
            db::insert_erasure(tx, erasure_key, index)?;
            if let Some(id) = db::grant_id_for_key(tx, erasure_key)? {
                db::mark_bundle_deleted(tx, &id)?;
            }
        }
        Effect::Access {
            grant_id,
            nonce,
            at,
        } => {
            let Some(grant) = db::grant_by_id(tx, grant_id)? else {
                return Ok(Err(ApiError::not_found("unknown_grant", "no such grant")));
            };
            if grant.erased {
                return Ok(Err(ApiError::forbidden("erased", "the grant was erased")));
            }
            if grant.revoked(*at) {
                return Ok(Err(ApiError::forbidden("revoked", "the grant was revoked")));
            }
            if !db::use_nonce(tx, grant_id, nonce)? {
                return Ok(Err(ApiError::forbidden(
                    "replayed",
                    "this request nonce was already used",
                )));
            }
        }
        Effect::LinkOpen {
            link_id,
            wrong_passcode,
            attempts_left,
            at,
            tokens,
        } => {
            let row = match link_store::link(tx, link_id)? {
                None => return Ok(Err(LinkRefusal::Unknown.into())),
                Some(state) => match link_refusal(&state, *at) {
                    Some(refusal) => return Ok(Err(refusal.into())),
                    None => match state {
                        LinkState::Live(row) => row,
                        LinkState::Ended { .. } => return Ok(Err(LinkRefusal::Ended.into())),
                    },
                },
            };
            let left = row.passcode.as_ref().map(|p| p.attempts_left);
            if left != *attempts_left {
                // Requests for one link are serialised, so this does not happen; if it did,
                // the sealed count would be wrong, so nothing is logged.
                return Ok(Err(ApiError::unavailable()));
            }
            if *wrong_passcode {
                let Some(left) = left else {
                    return Ok(Err(ApiError::internal()));
                };
                link_store::set_attempts_left(tx, link_id, left.saturating_sub(1))?;
            }
            link_store::insert_tokens(tx, link_id, tokens, *at)?;
        }
    }
    Ok(Ok(()))
}

/// Whether `row` with `files` is the registration stored as `old` (attempts left aside).
fn same_registration(
    tx: &Connection,
    link_id: &[u8; 32],
    old: &LinkRow,
    row: &LinkRow,
    files: &[LinkFile],
) -> Result<bool, StoreError> {
    let verifier = |r: &LinkRow| r.passcode.as_ref().map(|p| (p.salt, p.hash));
    Ok(old.version == row.version
        && old.event_key == row.event_key
        && old.exp == row.exp
        && verifier(old) == verifier(row)
        && link_store::link_files(tx, link_id)? == files)
}

/// Checks and applies an off-log write inside the batch transaction. `Ok(Err(refusal))`
/// leaves the database untouched.
pub(super) fn apply_off_log(
    tx: &Connection,
    write: &OffLog,
) -> Result<Result<(), ApiError>, StoreError> {
    match write {
        OffLog::DeleteBundle { grant_id } => db::mark_bundle_deleted(tx, grant_id)?,
        OffLog::PutLink {
            link_id,
            row,
            files,
        } => {
            let mut row = row.clone();
            match link_store::link(tx, link_id)? {
                None => {}
                Some(LinkState::Ended { .. }) => return Ok(Err(LinkRefusal::Ended.into())),
                Some(LinkState::Live(old)) => {
                    if old.link_key != row.link_key {
                        return Ok(Err(ApiError::forbidden(
                            "link_key_mismatch",
                            "this link is registered under another link key",
                        )));
                    }
                    if same_registration(tx, link_id, &old, &row, files)? {
                        // A retry of the registration that is stored (its answer was lost),
                        // or this batch running again after a failure past its commit.
                        return Ok(Ok(()));
                    }
                    if row.version <= old.version {
                        return Ok(Err(ApiError::new(
                            axum::http::StatusCode::CONFLICT,
                            "stale_version",
                            "the link already has this version or a later one",
                        )));
                    }
                    // The budget left survives an update: a new version does not give a
                    // guesser new attempts.
                    if let (Some(new), Some(old)) = (row.passcode.as_mut(), old.passcode) {
                        new.attempts_left = old.attempts_left;
                    }
                }
            }
            link_store::put_link(tx, link_id, &row, files)?;
        }
        OffLog::EndLink { link_id } => link_store::end_link(tx, link_id)?,
        OffLog::SweepLinks { now } => {
            let swept = link_store::sweep_links(tx, *now)?;
            if swept > 0 {
                tracing::info!(links = swept, "files of expired links deleted");
            }
        }
    }
    Ok(Ok(()))
}
