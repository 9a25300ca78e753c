//! The trust-nothing sync, wallet side: what the ledger agent must verify (each pinned log from
//! the last checkpoint the wallet trusted, this wallet's own entries, its grant keys), and
//! applying what it found: new verified sizes, access events, and evidence of a node that
//! lied (a split view, a rollback, a fork, a withheld entry), which is kept for good.

use carekey_crypto::{PublicKey, SigningKey};
use carekey_model::GrantId;
use carekey_sync::{Evidence, LogState, PinnedLog, SyncError, Watch};

use super::session::PatientSession;
use super::{access, backups, link_opens, nodes};
use crate::agent::work::{LogJob, SyncDone, SyncWork};
use crate::state::Publication;
use crate::WalletError;

/// What one sync found and did, per node.
#[derive(Debug, Default, serde::Serialize)]
pub struct SyncReport {
    /// One line per node: verified size or the problem.
    pub nodes: Vec<NodeSyncStatus>,
    /// Outbox items still waiting (offline nodes).
    pub outbox_pending: usize,
    /// New access events (each entry of a log counted once, whichever of its pinned
    /// addresses served it).
    pub new_access_events: usize,
    /// Known backups that still could not be re-written after an erasure or revocation.
    pub backup_problems: Vec<String>,
}

impl SyncReport {
    /// Whether any node was caught lying (evidence kept) or failed verification: the sync did
    /// not succeed, and a shell must say so (the CLI exits non-zero). A node that could not be
    /// reached is not a failure (offline is normal).
    pub fn failed(&self) -> bool {
        self.nodes.iter().any(|n| n.alarm || n.failed)
    }
}

/// The outcome of syncing with one node.
#[derive(Debug, serde::Serialize)]
pub struct NodeSyncStatus {
    /// Node URL.
    pub url: String,
    /// Verified log size, when the sync passed every check.
    pub verified_size: Option<u64>,
    /// What went wrong, if anything.
    pub problem: Option<String>,
    /// True for a detected split view, rollback, fork (inconsistent log) or withheld entry:
    /// evidence was kept; alert the patient.
    pub alarm: bool,
    /// True when what the node (or mirror) served failed verification (a tampered tile, a bad
    /// checkpoint, too few witnesses, …), as opposed to not answering.
    pub failed: bool,
    /// False when the node is pinned without witnesses: nothing but the node itself vouches
    /// for what it showed, so it could hide events or freeze the wallet in the past.
    pub independently_checked: bool,
    /// The newest time a pinned witness vouched for the verified view (unix seconds); `None`
    /// without witnesses (no freshness is claimed) or when the sync did not verify.
    pub fresh_as_of: Option<u64>,
}

impl NodeSyncStatus {
    /// The words shown wherever the results of a node pinned without witnesses appear.
    pub const NOT_INDEPENDENTLY_CHECKED: &'static str = "not independently checked";

    fn problem(pinned: &PinnedLog, problem: String, alarm: bool, failed: bool) -> Self {
        Self {
            url: pinned.url.clone(),
            verified_size: None,
            problem: Some(problem),
            alarm,
            failed,
            independently_checked: pinned.quorum > 0,
            fresh_as_of: None,
        }
    }
}

/// Every pinned log to verify, from the state the wallet trusts now.
pub(super) fn work(s: &mut PatientSession, now: u64) -> SyncWork {
    let grant_keys: Vec<PublicKey> = watched(s)
        .into_iter()
        .map(|(_, k)| k)
        .chain(link_opens::watched(s).into_iter().map(|(_, k)| k))
        .collect();
    let logs = s
        .state
        .logs
        .iter()
        .map(|l| LogJob {
            pinned: l.pinned.clone(),
            state: l.state.clone(),
            watch: Watch {
                grant_keys: grant_keys.clone(),
                own_entries: own_entries(s, &l.pinned.url),
            },
        })
        .collect();
    SyncWork::new(logs, now)
}

/// This wallet's grants published on a ledger, with the pseudonymous key their entries use.
fn watched(s: &PatientSession) -> Vec<(GrantId, PublicKey)> {
    s.state
        .grants
        .iter()
        .filter_map(|(id, g)| {
            g.ledger
                .as_ref()
                .map(|l| (*id, SigningKey::from_bytes(&l.grant_key.0).public()))
        })
        .collect()
}

/// The position of the log pinned now as `pinned` was when the agent took its snapshot (a
/// node unpinned or re-keyed meanwhile is skipped).
fn position(s: &PatientSession, pinned: &PinnedLog) -> Option<usize> {
    s.state
        .logs
        .iter()
        .position(|l| l.pinned.url == pinned.url && l.pinned.log_key == pinned.log_key)
}

/// Applies what the agent verified, then retries stale backups and saves.
pub(super) fn apply(
    s: &mut PatientSession,
    done: SyncDone,
    now: u64,
) -> Result<SyncReport, WalletError> {
    let mut report = SyncReport {
        outbox_pending: s.state.outbox.items.len(),
        backup_problems: backups::retry_stale(s, now),
        ..SyncReport::default()
    };
    let watched = watched(s);
    let watched_links = link_opens::watched(s);
    let (results, forks) = done.into_parts();
    for (pinned, result) in results {
        let Some(i) = position(s, &pinned) else {
            continue;
        };
        match result {
            Ok(outcome) => {
                let size = outcome.state.size;
                s.state.logs[i].state = outcome.state;
                for found in outcome.found {
                    if access::note_found(s, &pinned.url, found.index, &found.entry, &watched)
                        || link_opens::note_found(
                            s,
                            &pinned.url,
                            found.index,
                            &found.entry,
                            &watched_links,
                        )
                    {
                        report.new_access_events += 1;
                    }
                }
                report.nodes.push(NodeSyncStatus {
                    url: pinned.url.clone(),
                    verified_size: Some(size),
                    problem: None,
                    alarm: false,
                    failed: false,
                    independently_checked: pinned.quorum > 0,
                    fresh_as_of: outcome.fresh_as_of,
                });
            }
            // A split view, a rollback and a proven fork are the same alarm: both signed
            // checkpoints (and for a fork the failing consistency proof) are kept.
            Err(SyncError::SplitView { evidence })
            | Err(SyncError::Rollback { evidence })
            | Err(SyncError::Inconsistent { evidence }) => {
                let detail = format!("{}: {}", evidence.kind, evidence.detail);
                keep_evidence(&mut s.state.logs[i].state, evidence);
                report
                    .nodes
                    .push(NodeSyncStatus::problem(&pinned, detail, true, true));
            }
            Err(
                ref e @ SyncError::WithheldEntry {
                    index,
                    ref checkpoint,
                },
            ) => {
                let problem = e.to_string();
                // The node's own signed receipt put the entry in its log: with the
                // checkpoint that leaves it out, that is proof the node lied.
                let receipt = receipt_at(s, &pinned.url, index);
                let alarm = receipt.is_some();
                if let Some(receipt) = receipt {
                    let evidence = Evidence {
                        kind: "withheld".to_owned(),
                        detail: format!(
                            "the node acknowledged this wallet's entry {index} with a signed receipt, then signed a checkpoint of a log without it"
                        ),
                        notes: vec![receipt, checkpoint.clone()],
                        seen_at: now,
                        proof: Vec::new(),
                    };
                    keep_evidence(&mut s.state.logs[i].state, evidence);
                }
                report
                    .nodes
                    .push(NodeSyncStatus::problem(&pinned, problem, alarm, true));
            }
            Err(e) => {
                // Not answering is normal (offline); answering what does not verify is not.
                let failed = !e.is_transient();
                report.nodes.push(NodeSyncStatus::problem(
                    &pinned,
                    e.to_string(),
                    false,
                    failed,
                ));
            }
        }
    }
    for (a, b, evidence) in forks {
        apply_split_view(s, &mut report, &a, &b, evidence);
    }
    s.state.last_sync = Some(crate::state::LastSync {
        at: now,
        failed: report.nodes.iter().filter(|n| n.failed).count(),
        unreachable: report
            .nodes
            .iter()
            .filter(|n| n.problem.is_some() && !n.failed)
            .count(),
    });
    s.save()?;
    Ok(report)
}

/// LEDGER-CHECKS 11: two pinned addresses of the same log (same log key — mirrors, or a node
/// and its copy) disagreed. Both signed checkpoints are kept as evidence on both, and both
/// are reported as an alarm.
fn apply_split_view(
    s: &mut PatientSession,
    report: &mut SyncReport,
    a: &PinnedLog,
    b: &PinnedLog,
    evidence: Evidence,
) {
    let detail = format!(
        "{}: {} (between {} and {})",
        evidence.kind, evidence.detail, a.url, b.url
    );
    for pinned in [a, b] {
        if let Some(k) = position(s, pinned) {
            keep_evidence(&mut s.state.logs[k].state, evidence.clone());
        }
        match report.nodes.iter_mut().find(|st| st.url == pinned.url) {
            Some(status) => {
                status.alarm = true;
                status.failed = true;
                status.verified_size = None;
                status.fresh_as_of = None;
                status.problem = Some(detail.clone());
            }
            None => report
                .nodes
                .push(NodeSyncStatus::problem(pinned, detail.clone(), true, true)),
        }
    }
}

/// The wallet's own entries on the log served at `url`, with the index each was
/// acknowledged at. An entry acknowledged at another address of the same log (a mirror of
/// the node, or the node behind a mirror) is required once this address has shown a tree
/// at least as large as the receipt's: a mirror may lag behind the node, and a lag is not
/// a lie.
fn own_entries(s: &PatientSession, url: &str) -> Vec<(u64, Vec<u8>)> {
    let log = nodes::log_of_url(s, url);
    let log_key = log.map(|l| l.pinned.log_key.as_str());
    let verified = log.map_or(0, |l| l.state.size);
    let on_log = |p: &&Publication| {
        p.node == url
            || (nodes::serves_log(s, &p.node, log_key)
                && receipt_size(&p.receipt).is_some_and(|size| size <= verified))
    };
    let mut own = Vec::new();
    for g in s.state.grants.values() {
        if let Some(l) = &g.ledger {
            for p in l.published.iter().filter(on_log) {
                let bytes = match p.kind.as_str() {
                    "grant" => Some(l.entry.0.clone()),
                    "revocation" => l.pending_revocation.as_ref().map(|r| r.0.clone()),
                    "shortening" => l.shortening.as_ref().map(|r| r.0.clone()),
                    _ => None,
                };
                if let Some(bytes) = bytes {
                    own.push((p.index, bytes));
                }
            }
        }
    }
    for e in &s.state.erasures {
        for p in e.published.iter().filter(on_log) {
            own.push((p.index, e.entry.0.clone()));
        }
    }
    own.sort();
    own.dedup();
    own
}

/// The signed checkpoint of the receipt a node gave for this wallet's entry at `index`.
fn receipt_at(s: &PatientSession, node: &str, index: u64) -> Option<String> {
    let publications = s
        .state
        .grants
        .values()
        .filter_map(|g| g.ledger.as_ref())
        .flat_map(|l| l.published.iter())
        .chain(s.state.erasures.iter().flat_map(|e| e.published.iter()));
    let log_key = nodes::log_key_of(s, node);
    publications
        .filter(|p| (p.node == node || nodes::serves_log(s, &p.node, log_key)) && p.index == index)
        .find_map(|p| carekey_ledger::proof::Receipt::parse(&p.receipt).ok())
        .map(|r| r.checkpoint)
}

/// The tree size of a receipt's checkpoint (its second line), if it parses.
fn receipt_size(receipt: &str) -> Option<u64> {
    let receipt = carekey_ledger::proof::Receipt::parse(receipt).ok()?;
    receipt.checkpoint.lines().nth(1)?.parse().ok()
}

/// Keeps `evidence` unless the same signed notes are already held (a fork stays a fork: the
/// next sync finds it again).
fn keep_evidence(state: &mut LogState, evidence: Evidence) {
    if !state.evidence.iter().any(|e| e.notes == evidence.notes) {
        state.evidence.push(evidence);
    }
}
