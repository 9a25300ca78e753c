//! The outbox's two ends in the wallet: the snapshot the ledger agent sends from, and taking
//! its results back — acknowledged writes leave the outbox, receipts are verified before they
//! are kept, failures stay queued with their backoff.

use carekey_sync::{Flushed, OutboxItem, OutboxOp, Submitted};

use super::session::PatientSession;
use super::{backups, nodes, publish};
use crate::agent::work::{FlushDone, FlushWork};
use crate::crash;
use crate::state::Publication;

/// The writes due at `now` (all of them with `retry_now`), with the backup key share their
/// uploads need.
pub(super) fn work(s: &mut PatientSession, now: u64, retry_now: bool) -> FlushWork {
    if retry_now {
        s.state.outbox.retry_now(now);
    }
    let items = s.state.outbox.items.clone();
    let shares = items
        .iter()
        .filter_map(|i| match &i.op {
            OutboxOp::PutShare { id, .. } => {
                backups::share_secret(s, id).map(|secret| (*id, secret))
            }
            _ => None,
        })
        .collect();
    FlushWork::new(items, shares, now)
}

/// Applies what the agent sent. Writes queued while it ran are left as they are; a write the
/// wallet dropped meanwhile (a cancelled upload) is not brought back. Returns how many writes
/// still wait.
pub(super) fn apply(s: &mut PatientSession, done: FlushDone) -> usize {
    if done.is_empty() {
        return s.state.outbox.items.len();
    }
    let (finished, remaining) = done.into_parts();
    for item in remaining {
        if let Some(current) = s
            .state
            .outbox
            .items
            .iter_mut()
            .find(|i| i.node == item.node && i.op == item.op)
        {
            current.attempts = item.attempts;
            current.next_attempt_at = item.next_attempt_at;
            current.last_error = item.last_error;
        }
    }
    for Flushed { node, op, result } in finished {
        if let Some(at) = s
            .state
            .outbox
            .items
            .iter()
            .position(|i| i.node == node && i.op == op)
        {
            s.state.outbox.items.remove(at);
        }
        if result.is_ok() {
            drop_copies_for_the_same_log(s, &node, &op);
        }
        if let (OutboxOp::Submit { entry, .. }, Ok(Some(submitted))) = (op, result) {
            // The receipt's checkpoint names the log; map it back to the pinned node.
            if let Some(node) = node_of_receipt(s, &submitted.receipt) {
                record_publication(s, &node, &entry, &submitted);
            }
        }
    }
    crash::point("outbox.flushed");
    // Losing a receipt would only cost a re-submission (idempotent), so a failed save here
    // is reported by the next operation rather than failing this one.
    let _ = s.save();
    s.state.outbox.items.len()
}

/// One log may be pinned at several addresses (a node and a static mirror of it, or the
/// node at an old and a new address): a write one address acknowledged is done for the
/// log, so the same write queued for its other addresses is dropped (a static mirror
/// never accepts writes, and would otherwise hold them, and a node removal, forever).
fn drop_copies_for_the_same_log(s: &mut PatientSession, done_at: &str, op: &OutboxOp) {
    let Some(key) = nodes::log_key_of(s, done_at).map(str::to_owned) else {
        return;
    };
    let same_log: Vec<String> = s
        .state
        .logs
        .iter()
        .filter(|l| l.pinned.log_key == key && l.pinned.url != done_at)
        .map(|l| l.pinned.url.clone())
        .collect();
    s.state
        .outbox
        .items
        .retain(|i| !(i.op == *op && same_log.contains(&i.node)));
}

/// The pinned node whose log signed `receipt`'s checkpoint: the origin must match and the
/// signature verify under the pinned key (two logs may share a name, never a key).
pub(super) fn node_of_receipt(s: &PatientSession, receipt: &str) -> Option<String> {
    let receipt = carekey_ledger::proof::Receipt::parse(receipt).ok()?;
    let origin = receipt.checkpoint.lines().next()?.to_owned();
    s.state
        .logs
        .iter()
        .find(|l| {
            carekey_ledger::note::NoteVerifier::parse(&l.pinned.log_key).is_ok_and(|v| {
                v.name() == origin
                    && carekey_ledger::note::open_checkpoint(&receipt.checkpoint, &v, &[], 0)
                        .is_ok()
            })
        })
        .map(|l| l.pinned.url.clone())
}

/// Keeps the receipt a node answered for this wallet's `entry`, once verified
/// (LEDGER-CHECKS 10: the pinned log's signature, the pin's witness quorum, the entry's
/// inclusion at the acknowledged index). A receipt that fails is not kept: the failure is
/// recorded on the submission, which goes back to the outbox (the node answers the same
/// entry idempotently), so a receipt is asked for again and the entry is never taken as
/// acknowledged on the node's word alone.
pub(super) fn record_publication(
    s: &mut PatientSession,
    node: &str,
    entry: &[u8],
    submitted: &Submitted,
) {
    let Some(pinned) = nodes::log_of_url(s, node).map(|l| l.pinned.clone()) else {
        return;
    };
    // Freshness is not asked of a receipt (it is kept and re-checked for years), and
    // this path has no clock: cosignature dates are judged by the next sync instead.
    if let Err(e) = carekey_sync::verify_submission_receipt(
        &submitted.receipt,
        entry,
        submitted.index,
        &pinned,
        u64::MAX / 2,
    ) {
        if let Some(op) = submission_of(s, entry) {
            if !s.state.outbox.items.iter().any(|i| i.op == op) {
                s.state.outbox.items.push(OutboxItem {
                    node: pinned.url.clone(),
                    op,
                    attempts: 1,
                    next_attempt_at: 0,
                    last_error: Some(e.to_string()),
                });
            }
        }
        return;
    }
    let publication = |kind: &str| Publication {
        node: node.to_owned(),
        kind: kind.to_owned(),
        index: submitted.index,
        receipt: submitted.receipt.clone(),
    };
    for g in s.state.grants.values_mut() {
        if let Some(l) = g.ledger.as_mut() {
            if l.entry.0 == entry {
                l.published.push(publication("grant"));
                return;
            }
            if l.pending_revocation.as_ref().is_some_and(|r| r.0 == entry) {
                l.published.push(publication("revocation"));
                return;
            }
            if l.shortening.as_ref().is_some_and(|r| r.0 == entry) {
                l.published.push(publication("shortening"));
                return;
            }
        }
    }
    for e in &mut s.state.erasures {
        if e.entry.0 == entry {
            e.published.push(publication("erasure"));
            return;
        }
    }
}

/// The submission that publishes `entry` (with its grant, binding and salt for a grant
/// commitment), rebuilt from what the wallet keeps.
fn submission_of(s: &PatientSession, entry: &[u8]) -> Option<OutboxOp> {
    for g in s.state.grants.values() {
        if let Some(l) = &g.ledger {
            if l.entry.0 == entry {
                return Some(OutboxOp::Submit {
                    entry: entry.to_vec(),
                    grant: Some(g.signed.0.clone()),
                    binding: Some(l.binding.0.clone()),
                    salt: <[u8; 32]>::try_from(l.salt.as_slice()).ok(),
                });
            }
            if l.pending_revocation.as_ref().is_some_and(|r| r.0 == entry)
                || l.shortening.as_ref().is_some_and(|r| r.0 == entry)
            {
                return Some(publish::submit(entry));
            }
        }
    }
    s.state
        .erasures
        .iter()
        .any(|e| e.entry.0 == entry)
        .then(|| publish::submit(entry))
}

/// Sends what the outbox holds right away, from a session no one else can reach (the CLI's,
/// or one being erased).
pub(super) fn flush_now(s: &mut PatientSession, now: u64) -> usize {
    let work = work(s, now, false);
    apply(s, work.run())
}
