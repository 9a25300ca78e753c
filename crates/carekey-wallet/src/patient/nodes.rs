//! The ledger nodes as the wallet keeps them: URLs normalised, log and witness keys checked,
//! which node serves which log (a log is known by its key, not its address), which nodes a
//! grant was published on and may still serve, and the outbox per node.

use carekey_model::{GrantId, SignedGrant};
use carekey_sync::{LogState, PinnedLog};

use super::session::PatientSession;
use crate::state::LogSettings;
use crate::WalletError;

/// How stale a checkpoint may be before the wallet calls the log frozen (a node could otherwise
/// keep the wallet in the past).
pub const DEFAULT_MAX_AGE_SECS: u64 = 24 * 3600;

/// Why a ledger-link operation failed, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not an http(s) URL a node can have.
    #[error("{0:?} is not an http(s) node URL")]
    BadUrl(String),
    /// A node reference is not `URL [LOG-KEY]`.
    #[error("{0:?}: expected `URL [LOG-KEY]`")]
    BadNodeRef(String),
    /// A log key is not a note verifier key.
    #[error("log key {key:?}: {reason}")]
    BadLogKey {
        /// What was given.
        key: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A witness key is not a note verifier key.
    #[error("witness key {key:?}: {reason}")]
    BadWitnessKey {
        /// What was given.
        key: String,
        /// Why it does not parse.
        reason: String,
    },
    /// The quorum asks for more cosignatures than there are witnesses.
    #[error("a quorum of {0} needs at least {0} witness keys")]
    QuorumTooLarge(usize),
    /// A remote node pinned by hand needs a witness (or the patient's explicit opt-out).
    #[error(
        "{url} is a remote node: pin at least one witness (--witness KEY) so its log is \
         independently checked, or pin it knowingly without witnesses (--no-witness)"
    )]
    NeedsWitness {
        /// The node URL.
        url: String,
    },
    /// A request names a remote node, and the patient requires no witness of such nodes yet.
    #[error(
        "the request names the remote node {url}: set the witnesses you require first \
         (`carekey node witnesses --witness KEY`, Settings in the app), or pin it knowingly \
         without witnesses (`carekey node add URL KEY --no-witness`)"
    )]
    RequestNeedsWitness {
        /// The node URL.
        url: String,
    },
    /// A request vouches for a different log key than the one the patient pinned for that URL
    /// (a node cannot be re-keyed by a provider's request).
    #[error(
        "the request names node {url} with log key {requested}, but you pinned {pinned} for it; \
         if the node really changed its key, remove it and add it again"
    )]
    NodeKeyMismatch {
        /// The node URL.
        url: String,
        /// The key the request names.
        requested: String,
        /// The key the patient pinned.
        pinned: String,
    },
    /// A node still serves grants the patient has not ended there, or ending work waits for it.
    #[error(
        "{url} may still serve {} grant(s) ({}) and {waiting} ending write(s) wait for it: revoke them and sync first, or remove it with --force if the node is gone for good (a receipt lists what could not be ended)",
        grants.len(),
        grants.iter().map(|g| g.to_string()[..12].to_owned()).collect::<Vec<_>>().join(", ")
    )]
    NodeInUse {
        /// The node URL.
        url: String,
        /// Grants still live there.
        grants: Vec<GrantId>,
        /// Ledger writes that end or erase something, still queued for it.
        waiting: usize,
    },
    /// A move would put a node on a URL pinned for another log.
    #[error("{0} is already pinned for another log; remove it first")]
    UrlTaken(String),
}

impl LinkError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            LinkError::BadUrl(_) => "bad_node_url",
            LinkError::BadNodeRef(_) => "bad_node_ref",
            LinkError::BadLogKey { .. } => "bad_log_key",
            LinkError::BadWitnessKey { .. } => "bad_witness_key",
            LinkError::QuorumTooLarge(_) => "bad_quorum",
            LinkError::NeedsWitness { .. } | LinkError::RequestNeedsWitness { .. } => {
                "needs_witness"
            }
            LinkError::NodeKeyMismatch { .. } => "node_key_mismatch",
            LinkError::NodeInUse { .. } => "node_in_use",
            LinkError::UrlTaken(_) => "node_url_taken",
        }
    }
}

/// A node reference as a request names it: `URL` or `URL LOG-KEY`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeRef {
    /// The node's base URL.
    pub url: String,
    /// The node's note verifier key, when the request vouches for one.
    pub log_key: Option<String>,
}

impl NodeRef {
    /// Parses `URL` or `URL LOG-KEY` (the URL normalised, the key checked as a note verifier
    /// key and kept exactly: base64 may end in `/`).
    pub fn parse(text: &str) -> Result<Self, WalletError> {
        let mut parts = text.split_whitespace();
        let url = normalise_node(parts.next().unwrap_or_default())?;
        let log_key = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return Err(LinkError::BadNodeRef(text.to_owned()).into());
        }
        if let Some(key) = &log_key {
            check_log_key(key)?;
        }
        Ok(NodeRef { url, log_key })
    }
}

impl std::fmt::Display for NodeRef {
    /// `URL` or `URL LOG-KEY`, as a request names the node.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.log_key {
            Some(key) => write!(f, "{} {key}", self.url),
            None => f.write_str(&self.url),
        }
    }
}

/// The outbox writes waiting for one node.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct OutboxNode {
    /// The node's URL.
    pub url: String,
    /// Writes waiting.
    pub pending: usize,
    /// The most failed attempts of any of them.
    pub attempts: u32,
    /// The earliest next attempt (unix seconds).
    pub next_attempt_at: u64,
    /// The last failure, for display.
    pub last_error: Option<String>,
}

/// Pins the nodes a reviewed request names, as the patient confirmed them: a node the
/// request names with its log key is pinned with that key and the patient's witness
/// policy; a bare URL is remembered but cannot be published to until its key is pinned.
pub(super) fn pin_request_nodes(
    s: &mut PatientSession,
    nodes: &[String],
) -> Result<(), WalletError> {
    for node in nodes {
        let node = NodeRef::parse(node)?;
        if log_of_url(s, &node.url).is_some() {
            continue;
        }
        if let Some(key) = &node.log_key {
            let policy = &s.state.witness_policy;
            // The same rule as pinning by hand: a remote node needs a witness.
            if policy.quorum == 0 && !is_loopback(&node.url) {
                return Err(LinkError::RequestNeedsWitness { url: node.url }.into());
            }
            let pinned = pinned_log(&node.url, key, &policy.witness_keys, policy.quorum)?;
            s.state.logs.push(LogSettings {
                pinned,
                state: LogState::default(),
                former_urls: Vec::new(),
                local: false,
            });
        }
        if !s.state.pinned_nodes.contains(&node.url) {
            s.state.pinned_nodes.push(node.url);
        }
    }
    Ok(())
}

/// Refuses a request that vouches for another key than the one pinned for a node's URL.
pub(super) fn check_request_node(s: &PatientSession, node: &NodeRef) -> Result<(), WalletError> {
    match (&node.log_key, log_of_url(s, &node.url)) {
        (Some(requested), Some(log)) if *requested != log.pinned.log_key => {
            Err(LinkError::NodeKeyMismatch {
                url: node.url.clone(),
                requested: requested.clone(),
                pinned: log.pinned.log_key.clone(),
            }
            .into())
        }
        _ => Ok(()),
    }
}

/// The pinned log served at `url` now or before a move.
pub(super) fn log_of_url<'s>(s: &'s PatientSession, url: &str) -> Option<&'s LogSettings> {
    s.state
        .logs
        .iter()
        .find(|l| l.pinned.url == url || l.former_urls.iter().any(|u| u == url))
}

/// The log key pinned for `url` (now or before a move).
pub(super) fn log_key_of<'s>(s: &'s PatientSession, url: &str) -> Option<&'s str> {
    log_of_url(s, url).map(|l| l.pinned.log_key.as_str())
}

/// Whether `node` (a publication's or access record's URL) serves the log `log_key`: a
/// log is known by its key (origin and public key), not by the address it was read at.
pub(super) fn serves_log(s: &PatientSession, node: &str, log_key: Option<&str>) -> bool {
    match (log_key, log_key_of(s, node)) {
        (Some(want), Some(have)) => want == have,
        _ => false,
    }
}

/// The ledger nodes a grant is published on: those it names that the patient pinned.
pub(super) fn grant_logs(s: &PatientSession, grant: &SignedGrant) -> Vec<String> {
    grant
        .document()
        .nodes
        .iter()
        .filter_map(|n| NodeRef::parse(n).ok())
        .filter_map(|n| log_of_url(s, &n.url))
        .map(|l| l.pinned.url.clone())
        .collect()
}

pub(super) fn pin_log(
    s: &mut PatientSession,
    url: &str,
    log_key: &str,
    witness_keys: &[String],
    quorum: usize,
) -> Result<(), WalletError> {
    let url = url.to_owned();
    let pinned = pinned_log(&url, log_key, witness_keys, quorum)?;
    let former_urls = match s.state.logs.iter().position(|l| l.pinned.url == url) {
        // Same log re-pinned (e.g. new witnesses): keep what the wallet verified so far.
        Some(i) if s.state.logs[i].pinned.log_key == log_key => {
            s.state.logs[i].pinned = pinned;
            return s.save();
        }
        Some(i) => s.state.logs.remove(i).former_urls,
        None => Vec::new(),
    };
    s.state.logs.push(LogSettings {
        pinned,
        state: LogState::default(),
        former_urls,
        local: false,
    });
    if !s.state.pinned_nodes.contains(&url) {
        s.state.pinned_nodes.push(url);
    }
    s.save()
}

/// Writes waiting in `outbox`, per node, in the order the nodes first appear.
pub(crate) fn outbox_nodes(outbox: &carekey_sync::Outbox) -> Vec<OutboxNode> {
    let mut nodes: Vec<OutboxNode> = Vec::new();
    for item in &outbox.items {
        match nodes.iter_mut().find(|n| n.url == item.node) {
            Some(n) => {
                n.pending += 1;
                n.attempts = n.attempts.max(item.attempts);
                n.next_attempt_at = n.next_attempt_at.min(item.next_attempt_at);
                if item.last_error.is_some() {
                    n.last_error.clone_from(&item.last_error);
                }
            }
            None => nodes.push(OutboxNode {
                url: item.node.clone(),
                pending: 1,
                attempts: item.attempts,
                next_attempt_at: item.next_attempt_at,
                last_error: item.last_error.clone(),
            }),
        }
    }
    nodes
}

/// A node URL as the wallet keeps it: http(s), no trailing slash.
pub(crate) fn normalise_node(url: &str) -> Result<String, WalletError> {
    let url = url.trim().trim_end_matches('/');
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() > 2048 {
        return Err(LinkError::BadUrl(url.to_owned()).into());
    }
    Ok(url.to_owned())
}

/// Whether a node URL (normalised) names this machine: `localhost`, or a loopback address.
pub(crate) fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host_port.split(':').next().unwrap_or_default(),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

pub(super) fn check_log_key(key: &str) -> Result<(), WalletError> {
    carekey_ledger::note::NoteVerifier::parse(key)
        .map(drop)
        .map_err(|e| {
            LinkError::BadLogKey {
                key: key.to_owned(),
                reason: e.to_string(),
            }
            .into()
        })
}

pub(super) fn check_witnesses(witness_keys: &[String], quorum: usize) -> Result<(), WalletError> {
    for w in witness_keys {
        carekey_ledger::note::NoteVerifier::parse(w).map_err(|e| LinkError::BadWitnessKey {
            key: w.clone(),
            reason: e.to_string(),
        })?;
    }
    if quorum > witness_keys.len() {
        return Err(LinkError::QuorumTooLarge(quorum).into());
    }
    Ok(())
}

fn pinned_log(
    url: &str,
    log_key: &str,
    witness_keys: &[String],
    quorum: usize,
) -> Result<PinnedLog, WalletError> {
    check_log_key(log_key)?;
    check_witnesses(witness_keys, quorum)?;
    Ok(PinnedLog {
        url: url.to_owned(),
        log_key: log_key.to_owned(),
        witness_keys: witness_keys.to_vec(),
        quorum,
        max_age_secs: DEFAULT_MAX_AGE_SECS,
    })
}

#[cfg(test)]
pub(super) mod tests {
    #![allow(clippy::unwrap_used)]

    use super::NodeRef;

    /// A note verifier key whose base64 ends in `/` (about one key in 64).
    pub(in crate::patient) fn log_key_ending_in_slash() -> String {
        (0..10_000)
            .map(|_| {
                let k = carekey_crypto::SigningKey::generate();
                carekey_ledger::note::NoteKey::new("log.example/a", k)
                    .unwrap()
                    .verifier()
                    .to_vkey()
            })
            .find(|v| v.ends_with('/'))
            .unwrap()
    }

    /// A log key whose base64 ends in `/` survives a request (it once lost the slash to the
    /// URL normalisation, and the patient then saw a key mismatch).
    #[test]
    fn node_references_keep_their_log_key_exactly() {
        let key = log_key_ending_in_slash();
        let r = NodeRef::parse(&format!(" http://127.0.0.1:7000/  {key} ")).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:7000");
        assert_eq!(r.log_key.as_deref(), Some(key.as_str()));
        assert_eq!(r.to_string(), format!("http://127.0.0.1:7000 {key}"));
        assert_eq!(NodeRef::parse(&r.to_string()).unwrap(), r);
        assert!(NodeRef::parse("http://n.example not-a-key").is_err());
        assert!(NodeRef::parse("ftp://n.example").is_err());
        assert!(NodeRef::parse(&format!("http://a {key} extra")).is_err());
    }
}
