//! The agent's network work on a snapshot: sending the outbox, verifying the pinned logs. Nothing
//! here sees the wallet; the snapshot comes in, the results go out.

use std::collections::HashMap;

use zeroize::Zeroizing;

use carekey_sync::{
    Flushed, HttpTransport, LogState, NodeClient, Outbox, OutboxItem, PinnedLog, SyncError,
    SyncOutcome, Watch,
};

/// Writes to send: a copy of the outbox, with the backup key share its share uploads need.
pub struct FlushWork {
    items: Vec<OutboxItem>,
    shares: HashMap<[u8; 16], Zeroizing<[u8; 32]>>,
    now: u64,
}

impl std::fmt::Debug for FlushWork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushWork")
            .field("items", &self.items.len())
            .field("shares", &"[redacted]")
            .field("now", &self.now)
            .finish()
    }
}

impl FlushWork {
    pub(crate) fn new(
        items: Vec<OutboxItem>,
        shares: Vec<([u8; 16], Zeroizing<[u8; 32]>)>,
        now: u64,
    ) -> Self {
        FlushWork {
            items,
            shares: shares.into_iter().collect(),
            now,
        }
    }

    /// Whether there is nothing to send.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sends what is due (ledger writes before uploads, per node in order; a node that fails
    /// is not tried again in this run). Blocking network work: never call it holding a lock.
    pub fn run(self) -> FlushDone {
        if self.items.is_empty() {
            return FlushDone::default();
        }
        let mut outbox = Outbox { items: self.items };
        let shares = &self.shares;
        let finished =
            outbox.flush_with_shares(self.now, &|url: &str| NodeClient::new(url), &|id| {
                shares.get(id).map(|s| **s)
            });
        FlushDone {
            finished,
            remaining: outbox.items,
        }
    }
}

/// What a flush did: the writes that are done (acknowledged, or refused for good), and the
/// others with their attempts and last error.
#[derive(Debug, Default)]
pub struct FlushDone {
    finished: Vec<Flushed>,
    remaining: Vec<OutboxItem>,
}

impl FlushDone {
    pub(crate) fn is_empty(&self) -> bool {
        self.finished.is_empty() && self.remaining.is_empty()
    }

    pub(crate) fn into_parts(self) -> (Vec<Flushed>, Vec<OutboxItem>) {
        (self.finished, self.remaining)
    }
}

/// One pinned log to verify.
#[derive(Clone, Debug)]
pub(crate) struct LogJob {
    pub(crate) pinned: PinnedLog,
    pub(crate) state: LogState,
    pub(crate) watch: Watch,
}

/// Logs to verify, from the state the wallet trusted when the snapshot was taken.
#[derive(Debug)]
pub struct SyncWork {
    logs: Vec<LogJob>,
    now: u64,
}

impl SyncWork {
    pub(crate) fn new(logs: Vec<LogJob>, now: u64) -> Self {
        SyncWork { logs, now }
    }

    /// Verifies every log (LEDGER-CHECKS), then compares the views of addresses that serve
    /// the same log. Blocking network work: never call it holding a lock.
    pub fn run(self) -> SyncDone {
        let mut results = Vec::with_capacity(self.logs.len());
        let mut views: Vec<(PinnedLog, LogState)> = Vec::with_capacity(self.logs.len());
        for job in self.logs {
            let result = HttpTransport::new(&job.pinned.url).and_then(|source| {
                carekey_sync::sync(&source, &job.pinned, &job.state, &job.watch, self.now)
            });
            let view = match &result {
                Ok(outcome) => outcome.state.clone(),
                Err(_) => job.state,
            };
            views.push((job.pinned.clone(), view));
            results.push((job.pinned, result));
        }
        let forks = split_views(&views, self.now);
        SyncDone { results, forks }
    }
}

/// LEDGER-CHECKS 11: for every pair of pinned addresses that serve the same log (same log
/// key), proves the smaller view is a prefix of the larger one using the larger node's tiles
/// (verified against its signed root); same size: compares roots. Any disagreement is
/// evidence of a split view.
fn split_views(
    views: &[(PinnedLog, LogState)],
    now: u64,
) -> Vec<(PinnedLog, PinnedLog, carekey_sync::Evidence)> {
    let mut forks = Vec::new();
    for i in 0..views.len() {
        for j in (i + 1)..views.len() {
            let ((pa, a), (pb, b)) = (&views[i], &views[j]);
            if pa.log_key != pb.log_key {
                continue;
            }
            let (small, (large_pin, large)) = if a.size <= b.size {
                (a, (pb, b))
            } else {
                (b, (pa, a))
            };
            let evidence = match HttpTransport::new(&large_pin.url) {
                Ok(source) => carekey_sync::gossip_via(&source, large_pin, small, large, now)
                    .unwrap_or_else(|_| carekey_sync::gossip(a, b)),
                Err(_) => carekey_sync::gossip(a, b),
            };
            if let Some(evidence) = evidence {
                forks.push((pa.clone(), pb.clone(), evidence));
            }
        }
    }
    forks
}

/// What a sync found: per log, the verified outcome or why not; and split views between
/// addresses of the same log.
#[derive(Debug)]
pub struct SyncDone {
    results: Vec<(PinnedLog, Result<SyncOutcome, SyncError>)>,
    forks: Vec<(PinnedLog, PinnedLog, carekey_sync::Evidence)>,
}

/// One log's result, as the wallet applies it.
pub(crate) type LogResult = (PinnedLog, Result<SyncOutcome, SyncError>);

/// A split view between two addresses of one log.
pub(crate) type Fork = (PinnedLog, PinnedLog, carekey_sync::Evidence);

impl SyncDone {
    pub(crate) fn into_parts(self) -> (Vec<LogResult>, Vec<Fork>) {
        (self.results, self.forks)
    }
}

/// What a shell keeps while the wallet is locked: the public half of a sync — the pinned logs,
/// the state verified last, this wallet's grant pseudonyms (which are on the public log
/// anyway) — and no key. With it the shell still verifies the logs and notices that a new
/// access event names one of this wallet's grants, and can say "something new happened,
/// unlock to see" without being able to say what.
#[derive(Clone, Debug)]
pub struct LockedWatch {
    logs: Vec<LogJob>,
}

/// What a locked check found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LockedNews {
    /// New access events for this wallet's grants since the last check.
    pub new_accesses: usize,
    /// A node was caught lying, or served what does not verify (the next unlocked sync keeps
    /// the evidence).
    pub alarm: bool,
    /// How many logs answered and verified.
    pub verified: usize,
}

impl LockedWatch {
    pub(crate) fn new(work: SyncWork) -> Self {
        LockedWatch { logs: work.logs }
    }

    /// Verifies every log from where the last check left it and counts new access events for
    /// this wallet. Blocking network work: never call it holding a lock.
    pub fn check(&mut self, now: u64) -> LockedNews {
        let mut news = LockedNews::default();
        for job in &mut self.logs {
            let result = HttpTransport::new(&job.pinned.url).and_then(|source| {
                carekey_sync::sync(&source, &job.pinned, &job.state, &job.watch, now)
            });
            match result {
                Ok(outcome) => {
                    news.verified += 1;
                    news.new_accesses += outcome
                        .found
                        .iter()
                        .filter(|f| matches!(f.entry, carekey_model::ledger::Entry::Access(_)))
                        .count();
                    // The wallet's own entries were checked once; later checks scan on.
                    job.state = outcome.state;
                }
                Err(e) if !e.is_transient() => news.alarm = true,
                Err(_) => {}
            }
        }
        news
    }
}

/// Sends a draft to its node (`PUT /v1/links/<id>`): the manifest URL the node serves it at.
/// Holds no wallet lock.
pub fn publish_link(draft: &crate::LinkDraft) -> Result<String, crate::WalletError> {
    let not_stored = |reason: String| crate::HealthLinkError::NotStored {
        node: draft.node().to_owned(),
        reason,
    };
    let client = NodeClient::new(draft.node()).map_err(|e| not_stored(e.to_string()))?;
    let (body, signature) = draft.signed_body();
    let url = client
        .put_link(draft.id(), body, signature)
        .map_err(|e| not_stored(e.to_string()))?;
    // The URL goes into the link: it must be the node we chose, at this link's id.
    if !url.ends_with(&format!("/v1/links/{}", draft.id())) {
        return Err(not_stored(format!("the node answered an unexpected URL {url:?}")).into());
    }
    Ok(url)
}
