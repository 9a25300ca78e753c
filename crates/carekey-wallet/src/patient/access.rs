//! Access events: what the sync found of providers fetching under this wallet's grants, each
//! opened with the grant's event key and judged (verified, or why it is forged or unbound),
//! and the access history the patient reads.

use carekey_crypto::{AgreementSecret, PublicKey};
use carekey_model::ledger::{open_access_details, open_v1_access_details, AccessBinding, Entry};
use carekey_model::{GrantId, RecordId, SignedGrant};

use super::nodes;
use super::nodes::NodeRef;
use super::session::PatientSession;
use crate::state::AccessRecord;

/// How far apart a provider's signed `requested_at` and the node's `served_at` may be in an
/// access event: nodes refuse requests more than 2 minutes off their clock (protocol), so an
/// event further apart than this was not logged when the provider asked.
pub const MAX_SERVE_DELAY_SECS: u64 = 600;

/// One verified (or suspicious) provider access, as the patient sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AccessView {
    /// When the node served the records (unix seconds).
    pub served_at: u64,
    /// Provider name from the grant.
    pub provider_name: String,
    /// Provider key (hex).
    pub provider_key: String,
    /// The grant used.
    pub grant_id: GrantId,
    /// The records the grant covered at the time.
    pub records: Vec<RecordId>,
    /// The node and log index of the access event.
    pub node: String,
    /// Log index.
    pub index: u64,
    /// "verified" when the provider's own signed request is inside; otherwise why not.
    pub verification: String,
    /// False when the log it was found on is pinned without witnesses (shown as
    /// [`NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED`](super::NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED)).
    pub independently_checked: bool,
}

/// Records an entry the sync found for one of this wallet's grants, on the log served at
/// `node`. Returns true for a new access event: an entry of a log is recorded once,
/// whichever of the log's pinned addresses (node, mirror) served it.
pub(super) fn note_found(
    s: &mut PatientSession,
    node: &str,
    index: u64,
    entry: &Entry,
    watched: &[(GrantId, PublicKey)],
) -> bool {
    let Entry::Access(event) = entry else {
        return false;
    };
    let Some(log_key) = nodes::log_key_of(s, node).map(str::to_owned) else {
        return false;
    };
    if s.state.access_log.iter().any(|a| {
        a.index == index
            && match &a.log_key {
                Some(k) => *k == log_key,
                // Recorded before logs were known by key: by the URL it was read at.
                None => a.node == node || nodes::serves_log(s, &a.node, Some(&log_key)),
            }
    }) {
        return false;
    }
    let Some((grant_id, _)) = watched
        .iter()
        .find(|(_, k)| *k == event.document().grant_key)
    else {
        return false;
    };
    let Some(g) = s.state.grants.get(grant_id) else {
        return false;
    };
    let Some(ledger) = &g.ledger else {
        return false;
    };
    let grant = match SignedGrant::from_bytes(&g.signed.0) {
        Ok(grant) => grant,
        Err(_) => return false,
    };
    let origin = carekey_ledger::note::NoteVerifier::parse(&log_key)
        .map(|v| v.name().to_owned())
        .unwrap_or_default();
    let secret = AgreementSecret::from_bytes(*ledger.event_key.0);
    let binding = AccessBinding::of(&origin, event.document());
    let sealed = &event.document().sealed;
    // Format v2 binds the details to this log, node key, event id and grant; details of
    // format v1 (nodes before issue 8) bind nothing and may have been copied.
    let (opened, bound) = match open_access_details(&secret, sealed, &binding) {
        Ok(details) => (Ok(details), true),
        Err(e) => match open_v1_access_details(&secret, sealed) {
            Ok(details) => (Ok(details), false),
            Err(_) => (Err(e), true),
        },
    };
    let mut request_nonce = None;
    let (served_at, verification) = match opened {
        Ok(details) => {
            let request = details.fetch_request.document();
            let nonce = hex::encode(request.nonce);
            let replayed = s
                .state
                .access_log
                .iter()
                .find(|a| a.grant_id == *grant_id && a.request_nonce.as_ref() == Some(&nonce));
            let addressed = grant_urls_for_log(s, &grant, &log_key);
            let verdict = if request.provider_signing != grant.document().provider_signing {
                "FORGED: the request inside is not signed by the grant's provider".to_owned()
            } else if request.grant_id != *grant_id {
                "FORGED: the request inside names another grant".to_owned()
            } else if !nodes::normalise_node(&request.node).is_ok_and(|n| addressed.contains(&n)) {
                format!(
                    "FORGED: the provider's request was addressed to {}, not to a node of this log the grant names",
                    request.node
                )
            } else if let Some(first) = replayed {
                format!(
                    "FORGED: replays the provider's request already logged at {} index {}",
                    first.node, first.index
                )
            } else if details.served_at.abs_diff(request.requested_at) > MAX_SERVE_DELAY_SECS {
                format!(
                    "FORGED: logged as served {} s away from when the provider signed the request (a node answers within {MAX_SERVE_DELAY_SECS} s)",
                    details.served_at.abs_diff(request.requested_at)
                )
            } else if !bound {
                "UNBOUND: sealed in the v1 format, which does not tie the details to this node's event (it may be a copy)".to_owned()
            } else {
                "verified".to_owned()
            };
            request_nonce = Some(nonce);
            (details.served_at, verdict)
        }
        Err(e) => (
            event.document().logged_at,
            format!("FORGED: the details do not open ({e})"),
        ),
    };
    s.state.access_log.push(AccessRecord {
        node: node.to_owned(),
        index,
        grant_id: *grant_id,
        served_at,
        verification,
        request_nonce,
        log_key: Some(log_key),
    });
    true
}

/// The URLs (normalised) that `grant` names for the log `log_key`: a node it names with
/// that key, or by a URL pinned (now or before a move) for that log.
fn grant_urls_for_log(s: &PatientSession, grant: &SignedGrant, log_key: &str) -> Vec<String> {
    grant
        .document()
        .nodes
        .iter()
        .filter_map(|n| NodeRef::parse(n).ok())
        .filter(|n| match &n.log_key {
            Some(k) => k == log_key,
            None => nodes::serves_log(s, &n.url, Some(log_key)),
        })
        .map(|n| n.url)
        .collect()
}

/// The access history: every access event the sync found for this wallet's grants, newest
/// first, with its verification state.
pub(super) fn views(s: &PatientSession) -> Vec<AccessView> {
    let mut out: Vec<AccessView> = s
        .state
        .access_log
        .iter()
        .map(|a| {
            let (provider_name, provider_key) = s
                .state
                .grants
                .get(&a.grant_id)
                .and_then(|g| SignedGrant::from_bytes(&g.signed.0).ok())
                .map(|g| {
                    (
                        g.document().provider_name.clone(),
                        g.document().provider_signing.to_string(),
                    )
                })
                .unwrap_or_default();
            let records = s
                .state
                .grants
                .get(&a.grant_id)
                .map(|g| g.records.clone())
                .unwrap_or_default();
            let log_key = a
                .log_key
                .as_deref()
                .or_else(|| nodes::log_key_of(s, &a.node));
            let independently_checked = s
                .state
                .logs
                .iter()
                .any(|l| Some(l.pinned.log_key.as_str()) == log_key && l.pinned.quorum > 0);
            AccessView {
                served_at: a.served_at,
                provider_name,
                provider_key,
                grant_id: a.grant_id,
                records,
                node: a.node.clone(),
                index: a.index,
                verification: a.verification.clone(),
                independently_checked,
            }
        })
        .collect();
    out.sort_by(|a, b| b.served_at.cmp(&a.served_at).then(a.index.cmp(&b.index)));
    out
}
