//! SMART Health Links from the wallet (ADR 0016): the patient picks records (or the patient
//! summary), a label, an expiry, an optional passcode and "long-term"; the wallet encrypts the
//! files with a fresh 32-byte key, registers them on a ledger node it pinned, and shows the
//! `shlink:/` link. The key never reaches the node. Every open is logged by the node before it
//! answers; the sync finds those opens with the link's pseudonym key and the patient reads
//! them as "someone who says they are … opened your link" — never as verified.
//!
//! Creating and updating a link is three steps so that the network step holds no wallet lock:
//! [`HealthLinks::draft`] (in memory), [`publish_link`](crate::agent::publish_link) (the node,
//! by the ledger agent), [`HealthLinks::commit`] (one state write). Ending a link is a durable intent in the outbox, retried until the node confirms.

use carekey_crypto::{AgreementSecret, Signature, SigningKey, SymmetricKey};
use carekey_model::shl::hosting::{
    link_delete_message, link_put_message, HostedFile, LinkId, LinkRegistration, PasscodeVerifier,
    MAX_LINK_ATTEMPTS,
};
use carekey_model::shl::{jwe, ContentType, ShlFlags, ShlPayload, MAX_LABEL_CHARS};
use carekey_model::RecordId;
use carekey_sync::OutboxOp;

use super::session::PatientSession;
use super::{nodes, records, summary};
use crate::state::{LinkEntry, SecretBytes};
use crate::WalletError;

/// Wrong passcodes a link allows when the patient does not say.
pub const DEFAULT_LINK_ATTEMPTS: u32 = 10;

/// Why a link operation failed, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthLinkError {
    /// Links are served by a ledger node the patient pinned; there is none.
    #[error("a link is served by a ledger node: pin one first (carekey node add)")]
    NoNode,
    /// Neither records nor the patient summary were chosen.
    #[error("nothing to share: choose records or the patient summary")]
    NothingChosen,
    /// A chosen record is not FHIR JSON (links carry FHIR).
    #[error("record {0} is not a FHIR record; links carry FHIR records only")]
    NotFhir(RecordId),
    /// The label is longer than the spec allows.
    #[error("the label is longer than {MAX_LABEL_CHARS} characters")]
    BadLabel,
    /// The expiry is not in the future.
    #[error("the link must expire in the future")]
    BadExpiry,
    /// The passcode is empty, too long, or the attempts out of range.
    #[error("a passcode is 1 to 256 characters with 1 to {MAX_LINK_ATTEMPTS} attempts")]
    BadPasscode,
    /// The link has ended; it cannot change.
    #[error("this link has ended")]
    Ended,
    /// Only a long-term link's content follows later changes.
    #[error("only a long-term link can be updated; make a new link instead")]
    NotLongTerm,
    /// The node did not store the link.
    #[error("the ledger node {node} did not store the link: {reason}")]
    NotStored {
        /// The node.
        node: String,
        /// Why.
        reason: String,
    },
}

impl HealthLinkError {
    /// A stable, machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            HealthLinkError::NoNode => "no_link_node",
            HealthLinkError::NothingChosen => "empty_share",
            HealthLinkError::NotFhir(_) => "not_a_health_record",
            HealthLinkError::BadLabel => "bad_label",
            HealthLinkError::BadExpiry => "bad_expiry",
            HealthLinkError::BadPasscode => "bad_passcode",
            HealthLinkError::Ended => "link_ended",
            HealthLinkError::NotLongTerm => "not_long_term",
            HealthLinkError::NotStored { .. } => "link_not_stored",
        }
    }
}

/// What the patient chose for a new link.
#[derive(Clone, Debug, Default)]
pub struct LinkChoice {
    /// Records to share (FHIR records), as one FHIR Bundle.
    pub records: Vec<RecordId>,
    /// Also (or only) the patient summary (an IPS document).
    pub summary: bool,
    /// Shown to whoever opens it (at most 80 characters).
    pub label: Option<String>,
    /// When the link stops working (unix seconds).
    pub expires_at: Option<u64>,
    /// A passcode the viewer must type (the `P` flag).
    pub passcode: Option<String>,
    /// Wrong passcodes allowed before the link closes (default [`DEFAULT_LINK_ATTEMPTS`]).
    pub attempts: Option<u32>,
    /// Long-term (`L` flag): the content follows later changes ([`HealthLinks::draft_update`]).
    pub long_term: bool,
    /// The pinned node to serve it (default: the first pinned).
    pub node: Option<String>,
}

/// A link prepared in memory, to [`publish_link`](crate::agent::publish_link) and then
/// [`HealthLinks::commit`].
pub struct LinkDraft {
    entry: LinkEntry,
    body: Vec<u8>,
    signature: Signature,
}

impl LinkDraft {
    /// The link's id (the last part of its manifest URL).
    pub fn id(&self) -> &str {
        &self.entry.id
    }

    /// The node asked to serve it.
    pub(crate) fn node(&self) -> &str {
        &self.entry.node
    }

    /// The registration body and the link key's signature over it.
    pub(crate) fn signed_body(&self) -> (&[u8], &Signature) {
        (&self.body, &self.signature)
    }
}

impl std::fmt::Debug for LinkDraft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkDraft")
            .field("id", &self.entry.id)
            .field("node", &self.entry.node)
            .finish_non_exhaustive()
    }
}

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Works.
    Active,
    /// Its expiry passed.
    Expired,
    /// Ended here; the node has not confirmed yet.
    Ending,
    /// Ended, and the node deleted the files.
    Ended,
}

/// A link as the patient sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkView {
    /// The link id (also the last part of its manifest URL).
    pub id: String,
    /// The label.
    pub label: Option<String>,
    /// The node that serves it.
    pub node: String,
    /// When it was made.
    pub created_at: u64,
    /// When it stops working.
    pub expires_at: Option<u64>,
    /// A passcode is needed.
    pub passcode: bool,
    /// Long-term.
    pub long_term: bool,
    /// The records in it.
    pub records: Vec<RecordId>,
    /// The patient summary is in it.
    pub summary: bool,
    /// Where it stands at the time asked.
    pub state: LinkState,
    /// When it ended.
    pub ended_at: Option<u64>,
    /// How many times it was opened (manifest served).
    pub opens: usize,
    /// Wrong passcodes tried.
    pub failed_attempts: usize,
}

/// One logged request for a link's manifest.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LinkOpenView {
    /// The link.
    pub link_id: String,
    /// Its label.
    pub label: Option<String>,
    /// Who the viewer said it is: their own claim, never verified.
    pub recipient: String,
    /// The manifest was served (false: a wrong passcode).
    pub opened: bool,
    /// Attempts left after a wrong passcode.
    pub remaining_attempts: Option<u32>,
    /// When the node received the request.
    pub at: u64,
    /// The node and log index of the event.
    pub node: String,
    /// Log index.
    pub index: u64,
}

/// The SMART Health Links service. Borrow it with
/// [`PatientWallet::links`](super::PatientWallet::links).
#[derive(Debug)]
pub struct HealthLinks<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl HealthLinks<'_> {
    /// Prepares a new link in memory: keys, encrypted files, the signed registration.
    pub fn draft(&mut self, choice: &LinkChoice, now: u64) -> Result<LinkDraft, WalletError> {
        if choice.records.is_empty() && !choice.summary {
            return Err(HealthLinkError::NothingChosen.into());
        }
        if choice
            .label
            .as_ref()
            .is_some_and(|l| l.chars().count() > MAX_LABEL_CHARS)
        {
            return Err(HealthLinkError::BadLabel.into());
        }
        if choice.expires_at.is_some_and(|e| e <= now) {
            return Err(HealthLinkError::BadExpiry.into());
        }
        let attempts = choice.attempts.unwrap_or(DEFAULT_LINK_ATTEMPTS);
        let verifier = match &choice.passcode {
            None => None,
            Some(p) if p.is_empty() || p.len() > 256 => {
                return Err(HealthLinkError::BadPasscode.into())
            }
            Some(_) if !(1..=MAX_LINK_ATTEMPTS).contains(&attempts) => {
                return Err(HealthLinkError::BadPasscode.into())
            }
            Some(p) => Some(PasscodeVerifier::new(p).map_err(|_| HealthLinkError::BadPasscode)?),
        };
        let node = match &choice.node {
            Some(n) => nodes::log_of_url(self.s, n)
                .map(|l| l.pinned.url.clone())
                .ok_or(HealthLinkError::NoNode)?,
            None => self
                .s
                .state
                .logs
                .first()
                .map(|l| l.pinned.url.clone())
                .ok_or(HealthLinkError::NoNode)?,
        };
        for id in &choice.records {
            records::entry(self.s, id)?;
        }
        let entry = LinkEntry {
            id: LinkId::generate().to_string(),
            url: String::new(),
            node,
            file_key: SecretBytes(zeroize::Zeroizing::new(carekey_crypto::random_array())),
            link_key: SecretBytes(zeroize::Zeroizing::new(carekey_crypto::random_array())),
            event_key: SecretBytes(zeroize::Zeroizing::new(carekey_crypto::random_array())),
            label: choice.label.clone(),
            exp: choice.expires_at,
            passcode: verifier,
            attempts: choice.passcode.as_ref().map(|_| attempts),
            long_term: choice.long_term,
            records: choice.records.clone(),
            summary: choice.summary,
            version: 1,
            created_at: now,
            ended_at: None,
        };
        draft_of(self.s, entry, now)
    }

    /// Stores a link its node accepted at `url` (one state write) and returns it as of `now`.
    pub fn commit(
        &mut self,
        draft: LinkDraft,
        url: &str,
        now: u64,
    ) -> Result<LinkView, WalletError> {
        let mut entry = draft.entry;
        entry.url = url.to_owned();
        let id = entry.id.clone();
        match self.s.state.links.iter_mut().find(|l| l.id == id) {
            Some(existing) => *existing = entry,
            None => self.s.state.links.push(entry),
        }
        self.s.save()?;
        self.view(&id, now)
    }

    /// A long-term link's files, re-encrypted from the records as they are now (same key,
    /// fresh IVs, version + 1): [`publish_link`](crate::agent::publish_link) it, then
    /// [`Self::commit`].
    pub fn draft_update(&mut self, id: &str, now: u64) -> Result<LinkDraft, WalletError> {
        let entry = self.entry(id)?.clone();
        if entry.ended_at.is_some() {
            return Err(HealthLinkError::Ended.into());
        }
        if !entry.long_term {
            return Err(HealthLinkError::NotLongTerm.into());
        }
        let entry = LinkEntry {
            version: entry.version + 1,
            records: entry
                .records
                .iter()
                .filter(|r| self.s.state.records.contains_key(r))
                .copied()
                .collect(),
            ..entry
        };
        draft_of(self.s, entry, now)
    }

    /// The link itself: `shlink:/…`, or behind `viewer` (a viewer URL ending in `#`).
    pub fn uri(&self, id: &str, viewer: Option<&str>) -> Result<String, WalletError> {
        let e = self.entry(id)?;
        let payload = ShlPayload::new(
            e.url.clone(),
            SymmetricKey::from_bytes(*e.file_key.0),
            e.exp,
            ShlFlags {
                long_term: e.long_term,
                passcode: e.passcode.is_some(),
                direct_file: false,
            },
            e.label.clone(),
        )
        .map_err(|err| HealthLinkError::NotStored {
            node: e.node.clone(),
            reason: err.to_string(),
        })?;
        Ok(match viewer {
            Some(v) => payload.viewer_link(v),
            None => payload.to_uri(),
        })
    }

    /// Every link, newest first, at `now`.
    pub fn list(&self, now: u64) -> Vec<LinkView> {
        let mut out: Vec<LinkView> = self
            .s
            .state
            .links
            .iter()
            .filter_map(|l| self.view(&l.id, now).ok())
            .collect();
        out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
        out
    }

    /// One link at `now`; `id` may be a prefix.
    pub fn get(&self, id: &str, now: u64) -> Result<LinkView, WalletError> {
        let id = self.entry(id)?.id.clone();
        self.view(&id, now)
    }

    /// Ends a link: the node deletes its files (queued until it confirms; one state write).
    /// Whoever already downloaded the files keeps them.
    pub fn end(&mut self, id: &str, now: u64) -> Result<LinkView, WalletError> {
        let id = self.entry(id)?.id.clone();
        end_link(self.s, &id, now)?;
        self.s.save()?;
        self.view(&id, now)
    }

    /// Every logged request for this wallet's links, newest first.
    pub fn opens(&self) -> Vec<LinkOpenView> {
        let mut out: Vec<LinkOpenView> = self
            .s
            .state
            .link_opens
            .iter()
            .map(|o| LinkOpenView {
                link_id: o.link_id.clone(),
                label: self
                    .s
                    .state
                    .links
                    .iter()
                    .find(|l| l.id == o.link_id)
                    .and_then(|l| l.label.clone()),
                recipient: o.recipient.clone(),
                opened: o.opened,
                remaining_attempts: o.remaining,
                at: o.at,
                node: o.node.clone(),
                index: o.index,
            })
            .collect();
        out.sort_by(|a, b| b.at.cmp(&a.at).then(b.index.cmp(&a.index)));
        out
    }

    fn entry(&self, id: &str) -> Result<&LinkEntry, WalletError> {
        // Not `find_by_prefix`: link ids are base64url, so case matters (it lowercases hex).
        let matches: Vec<&LinkEntry> = self
            .s
            .state
            .links
            .iter()
            .filter(|l| l.id.starts_with(id) && !id.is_empty())
            .collect();
        match matches.as_slice() {
            [one] => Ok(one),
            [] => Err(WalletError::NotFound {
                what: "link",
                query: id.to_owned(),
            }),
            _ => Err(WalletError::Ambiguous {
                what: "link",
                query: id.to_owned(),
            }),
        }
    }

    fn view(&self, id: &str, now: u64) -> Result<LinkView, WalletError> {
        let e = self
            .s
            .state
            .links
            .iter()
            .find(|l| l.id == id)
            .ok_or_else(|| WalletError::NotFound {
                what: "link",
                query: id.to_owned(),
            })?;
        let opens = self.s.state.link_opens.iter().filter(|o| o.link_id == id);
        let (opened, failed) = opens.fold(
            (0, 0),
            |(o, f), x| {
                if x.opened {
                    (o + 1, f)
                } else {
                    (o, f + 1)
                }
            },
        );
        let state = match e.ended_at {
            Some(_) if self.ending(id) => LinkState::Ending,
            Some(_) => LinkState::Ended,
            None if e.exp.is_some_and(|x| now >= x) => LinkState::Expired,
            None => LinkState::Active,
        };
        Ok(LinkView {
            id: e.id.clone(),
            label: e.label.clone(),
            node: e.node.clone(),
            created_at: e.created_at,
            expires_at: e.exp,
            passcode: e.passcode.is_some(),
            long_term: e.long_term,
            records: e.records.clone(),
            summary: e.summary,
            state,
            ended_at: e.ended_at,
            opens: opened,
            failed_attempts: failed,
        })
    }

    fn ending(&self, id: &str) -> bool {
        self.s
            .state
            .outbox
            .items
            .iter()
            .any(|i| matches!(&i.op, OutboxOp::EndLink { id: l, .. } if l == id))
    }
}

/// Queues the end of link `id` and marks it ended (no save).
pub(super) fn end_link(s: &mut PatientSession, id: &str, now: u64) -> Result<(), WalletError> {
    let Some(e) = s.state.links.iter_mut().find(|l| l.id == id) else {
        return Ok(());
    };
    if e.ended_at.is_some() {
        return Ok(());
    }
    let link_id: LinkId =
        e.id.parse()
            .map_err(|_| WalletError::State("bad link id".into()))?;
    let key = SigningKey::from_bytes(&e.link_key.0);
    let signature = key.sign(&link_delete_message(&link_id));
    e.ended_at = Some(now);
    let node = e.node.clone();
    s.state.outbox.push(
        &node,
        OutboxOp::EndLink {
            id: id.to_owned(),
            signature: signature.to_bytes().to_vec(),
        },
        now,
    );
    Ok(())
}

/// Ends every link that carries `record`, or a patient summary (made from every record): an
/// erased record must not stay readable through a link. Returns how many it ended.
pub(super) fn end_links_with(s: &mut PatientSession, record: &RecordId, now: u64) -> usize {
    let ids: Vec<String> = s
        .state
        .links
        .iter()
        .filter(|l| l.ended_at.is_none() && (l.summary || l.records.contains(record)))
        .map(|l| l.id.clone())
        .collect();
    for id in &ids {
        let _ = end_link(s, id, now);
    }
    ids.len()
}

/// Ends every link (erasing the whole wallet).
pub(super) fn end_all(s: &mut PatientSession, now: u64) {
    let ids: Vec<String> = s.state.links.iter().map(|l| l.id.clone()).collect();
    for id in &ids {
        let _ = end_link(s, id, now);
    }
}

/// Encrypts the link's content under its key and signs the registration.
fn draft_of(s: &PatientSession, entry: LinkEntry, now: u64) -> Result<LinkDraft, WalletError> {
    let key = SymmetricKey::from_bytes(*entry.file_key.0);
    let mut files = Vec::new();
    if !entry.records.is_empty() {
        let bundle = records_bundle(s, &entry.records)?;
        files.push(HostedFile {
            content_type: ContentType::FhirJson,
            jwe: jwe::encrypt(&key, ContentType::FhirJson, &bundle, true),
        });
    }
    if entry.summary {
        let ips = summary::build(s, now)?;
        files.push(HostedFile {
            content_type: ContentType::FhirJson,
            jwe: jwe::encrypt(&key, ContentType::FhirJson, &ips.json, true),
        });
    }
    let link_key = SigningKey::from_bytes(&entry.link_key.0);
    let event_public = AgreementSecret::from_bytes(*entry.event_key.0).public();
    let registration = LinkRegistration {
        link_key: LinkRegistration::encode_key(link_key.public().as_bytes()),
        event_key: LinkRegistration::encode_key(event_public.as_bytes()),
        version: entry.version,
        exp: entry.exp,
        passcode: entry.passcode.clone(),
        attempts: entry.attempts,
        files,
    };
    let body = registration.to_json();
    let id: LinkId = entry
        .id
        .parse()
        .map_err(|_| WalletError::State("bad link id".into()))?;
    let signature = link_key.sign(&link_put_message(&id, &carekey_crypto::sha256(&body)));
    Ok(LinkDraft {
        entry,
        body,
        signature,
    })
}

/// The chosen records as one FHIR `collection` Bundle.
fn records_bundle(s: &PatientSession, ids: &[RecordId]) -> Result<Vec<u8>, WalletError> {
    let mut entries = Vec::new();
    for id in ids {
        let mut bytes = Vec::new();
        records::decrypt(s, id, &mut bytes)?;
        let resource: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|_| HealthLinkError::NotFhir(*id))?;
        if resource
            .get("resourceType")
            .and_then(|t| t.as_str())
            .is_none()
        {
            return Err(HealthLinkError::NotFhir(*id).into());
        }
        entries.push(serde_json::json!({ "resource": resource }));
    }
    serde_json::to_vec(&serde_json::json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": entries,
    }))
    .map_err(|e| WalletError::State(e.to_string()))
}
