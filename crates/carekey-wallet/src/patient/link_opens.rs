//! Link opens found on the ledger (ADR 0016): the sync watches every link key this wallet
//! made, and each link-open event it finds is opened with that link's event key and kept as
//! the viewer's own claim of who it is.

use carekey_crypto::{AgreementSecret, SigningKey};
use carekey_model::ledger::{open_link_open, Entry, LinkOpenBinding, LinkOutcome};

use super::nodes;
use super::session::PatientSession;
use crate::state::LinkOpenRecord;

/// The link keys the sync watches (ended links too: a node could still log opens).
pub(super) fn watched(s: &PatientSession) -> Vec<(String, carekey_crypto::PublicKey)> {
    s.state
        .links
        .iter()
        .map(|l| (l.id.clone(), SigningKey::from_bytes(&l.link_key.0).public()))
        .collect()
}

/// Records a link-open event the sync found on the log served at `node`. Returns true when it
/// is new and opens with one of this wallet's link event keys.
pub(super) fn note_found(
    s: &mut PatientSession,
    node: &str,
    index: u64,
    entry: &Entry,
    watched: &[(String, carekey_crypto::PublicKey)],
) -> bool {
    let Entry::LinkOpen(event) = entry else {
        return false;
    };
    let Some(log_key) = nodes::log_key_of(s, node).map(str::to_owned) else {
        return false;
    };
    if s.state
        .link_opens
        .iter()
        .any(|o| o.index == index && o.log_key == log_key)
    {
        return false;
    }
    let Some((link_id, _)) = watched
        .iter()
        .find(|(_, k)| *k == event.document().link_key)
    else {
        return false;
    };
    let Some(link) = s.state.links.iter().find(|l| &l.id == link_id) else {
        return false;
    };
    let origin = carekey_ledger::note::NoteVerifier::parse(&log_key)
        .map(|v| v.name().to_owned())
        .unwrap_or_default();
    let secret = AgreementSecret::from_bytes(*link.event_key.0);
    let binding = LinkOpenBinding::of(&origin, event.document());
    // Details that do not open under this event were not sealed for it: not recorded.
    let Ok(details) = open_link_open(&secret, &event.document().sealed, &binding) else {
        return false;
    };
    let (opened, remaining) = match details.outcome {
        LinkOutcome::Opened => (true, None),
        LinkOutcome::WrongPasscode { remaining } => (false, Some(remaining)),
    };
    s.state.link_opens.push(LinkOpenRecord {
        link_id: link_id.clone(),
        log_key,
        node: node.to_owned(),
        index,
        recipient: details.recipient,
        opened,
        remaining,
        at: details.at,
    });
    true
}
