//! The ledger link: which nodes the patient pins (with their log and witness keys), what waits
//! for them in the outbox, and the hand-over to the ledger agent. Nothing here talks to a node:
//! the agent takes a snapshot ([`LedgerLink::flush_work`], [`LedgerLink::sync_work`]), does
//! the network work without the wallet, and the results are applied back
//! ([`LedgerLink::apply_flush`], [`LedgerLink::apply_sync`]).

use carekey_model::{GrantId, SignedGrant};
use carekey_sync::{LogState, OutboxOp, PinnedLog};

use super::access::{self, AccessView};
use super::nodes::{grant_logs, LinkError, OutboxNode};
use super::session::PatientSession;
use super::{ending, flush, nodes, sync};
use crate::agent::work::{FlushDone, FlushWork, SyncDone, SyncWork};
use crate::state::{GrantStatus, WitnessPolicy};
use crate::WalletError;

use super::sync::SyncReport;

/// What removing a pinned node dropped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NodeRemoval {
    /// The node's URL.
    pub url: String,
    /// Outbox writes that were waiting for it and are now dropped.
    pub dropped_outbox: usize,
    /// Grants published on the node that it may still serve: the wallet could not end them
    /// there (only with `force`; otherwise the removal is refused while there are any).
    pub abandoned_grants: Vec<GrantId>,
    /// Deletions of retired backup key shares still queued for the node: they stay queued
    /// (retried by every sync) in case it comes back.
    pub kept_share_deletions: usize,
}

/// A ledger node running on this device (the app's embedded node).
#[derive(Clone, Debug)]
pub struct LocalNode {
    /// Where it listens now.
    pub url: String,
    /// Its log key.
    pub log_key: String,
    /// Its witness's key.
    pub witness_key: String,
}

/// The patient's ledger nodes. Borrow it with [`PatientWallet::ledger`](super::PatientWallet::ledger).
#[derive(Debug)]
pub struct LedgerLink<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl<'a> LedgerLink<'a> {
    /// Pins a ledger node: its log key and the witnesses (and quorum) whose cosignatures the
    /// wallet requires. Keys come from the patient, never from the node.
    ///
    /// A remote node (any host but this machine's loopback) needs a quorum of at least one
    /// witness: without one, nothing but the node vouches for what it shows, and it could
    /// freeze the wallet on an old checkpoint and hide access events. To pin one anyway, the
    /// patient must say so: [`add_unwitnessed_node`](Self::add_unwitnessed_node).
    pub fn add_node(
        &mut self,
        url: &str,
        log_key: &str,
        witness_keys: &[String],
        quorum: usize,
    ) -> Result<(), WalletError> {
        let url = nodes::normalise_node(url)?;
        if quorum == 0 && !nodes::is_loopback(&url) {
            return Err(LinkError::NeedsWitness { url }.into());
        }
        nodes::pin_log(self.s, &url, log_key, witness_keys, quorum)
    }

    /// Pins a ledger node without witnesses, as the patient explicitly asked: its results are
    /// shown as [`NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED`](super::NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED) and no freshness is claimed for it.
    pub fn add_unwitnessed_node(&mut self, url: &str, log_key: &str) -> Result<(), WalletError> {
        let url = nodes::normalise_node(url)?;
        nodes::pin_log(self.s, &url, log_key, &[], 0)
    }

    /// Pins a node running on this device (log key, its witness, quorum 1) unless it is pinned
    /// already; when it came back on another port, the pin moves with it, keeping what the
    /// wallet verified. It is marked local: it gets no backup key share, since losing the
    /// device would lose the share with it.
    pub fn pin_local_node(&mut self, node: &LocalNode) -> Result<(), WalletError> {
        let pinned_here = self
            .s
            .state
            .logs
            .iter()
            .any(|l| l.pinned.url == node.url && l.pinned.log_key == node.log_key);
        if !pinned_here {
            let moved = self
                .s
                .state
                .logs
                .iter()
                .find(|l| l.pinned.log_key == node.log_key)
                .map(|l| l.pinned.url.clone());
            match moved {
                Some(old) => self.move_node(&old, &node.url)?,
                None => self.add_node(
                    &node.url,
                    &node.log_key,
                    std::slice::from_ref(&node.witness_key),
                    1,
                )?,
            }
        }
        self.set_node_local(&node.url, true)
    }

    /// Marks a pinned node as running on this device (or not).
    pub fn set_node_local(&mut self, url: &str, local: bool) -> Result<(), WalletError> {
        let url = nodes::normalise_node(url)?;
        let log = self
            .s
            .state
            .logs
            .iter_mut()
            .find(|l| l.pinned.url == url)
            .ok_or_else(|| WalletError::NotFound {
                what: "pinned node",
                query: url,
            })?;
        if log.local == local {
            return Ok(());
        }
        log.local = local;
        self.s.save()
    }

    /// Pins a ledger node URL without a key (it cannot be published to until its key is
    /// pinned).
    pub fn pin_node(&mut self, url: &str) -> Result<(), WalletError> {
        let url = nodes::normalise_node(url)?;
        if !self.s.state.pinned_nodes.contains(&url) {
            self.s.state.pinned_nodes.push(url);
            self.s.save()?;
        }
        Ok(())
    }

    /// Pinned ledger node URLs.
    pub fn pinned_nodes(self) -> &'a [String] {
        &self.s.state.pinned_nodes
    }

    /// Unpins a ledger node (by its URL): the wallet stops publishing to and verifying it.
    ///
    /// A grant's nodes are where it was published, not what is pinned today: while a grant
    /// published there is still live (active and unexpired, or ending with its end still
    /// queued for that node) or any other ending work waits for the node, the removal is
    /// refused, naming the grants. `force` is for a node that is gone for good: it is removed
    /// anyway, its waiting writes are dropped, and the result lists the grants it could not end
    /// there (the CLI writes them into a removal receipt).
    pub fn remove_node(
        &mut self,
        url: &str,
        force: bool,
        now: u64,
    ) -> Result<NodeRemoval, WalletError> {
        let s = &mut *self.s;
        let url = nodes::normalise_node(url)?;
        let known =
            s.state.logs.iter().any(|l| l.pinned.url == url) || s.state.pinned_nodes.contains(&url);
        if !known {
            return Err(WalletError::NotFound {
                what: "pinned node",
                query: url,
            });
        }
        let live = grants_live_on(s, &url, now);
        let ending_work = s
            .state
            .outbox
            .items
            .iter()
            .filter(|i| i.node == url && !i.op.is_upload())
            .count();
        if !force && (!live.is_empty() || ending_work > 0) {
            return Err(LinkError::NodeInUse {
                url,
                grants: live,
                waiting: ending_work,
            }
            .into());
        }
        s.state.logs.retain(|l| l.pinned.url != url);
        s.state.pinned_nodes.retain(|u| *u != url);
        let before = s.state.outbox.items.len();
        // The deletion of a retired backup key share stays queued, unpinned or not: should the
        // node come back, a backup made before an erasure must not open with its old share.
        s.state
            .outbox
            .items
            .retain(|i| i.node != url || matches!(i.op, OutboxOp::DeleteShare { .. }));
        let kept_share_deletions = s
            .state
            .outbox
            .items
            .iter()
            .filter(|i| i.node == url)
            .count();
        let dropped_outbox = before - s.state.outbox.items.len() - kept_share_deletions;
        s.save()?;
        Ok(NodeRemoval {
            url,
            dropped_outbox,
            abandoned_grants: live,
            kept_share_deletions,
        })
    }

    /// Moves a pinned node to a new URL (same log, same key: e.g. the node changed host or
    /// port). What the wallet verified so far is kept, so rollback and split-view detection
    /// continue across the move; waiting writes follow the node. The old URL stays known so
    /// grants signed before the move still map to this log.
    pub fn move_node(&mut self, from: &str, to: &str) -> Result<(), WalletError> {
        let s = &mut *self.s;
        let from = nodes::normalise_node(from)?;
        let to = nodes::normalise_node(to)?;
        if from == to {
            return Ok(());
        }
        if s.state.logs.iter().any(|l| l.pinned.url == to) {
            return Err(LinkError::UrlTaken(to).into());
        }
        let log = s
            .state
            .logs
            .iter_mut()
            .find(|l| l.pinned.url == from)
            .ok_or_else(|| WalletError::NotFound {
                what: "pinned node",
                query: from.clone(),
            })?;
        log.pinned.url = to.clone();
        log.former_urls.retain(|u| *u != to);
        log.former_urls.push(from.clone());
        // Every other place that names the node by its URL follows it.
        let rename = |u: &mut String| {
            if *u == from {
                u.clone_from(&to);
            }
        };
        s.state.pinned_nodes.iter_mut().for_each(rename);
        for item in &mut s.state.outbox.items {
            if item.node == from {
                item.next_attempt_at = 0;
            }
            rename(&mut item.node);
        }
        let publications = s
            .state
            .grants
            .values_mut()
            .filter_map(|g| g.ledger.as_mut())
            .flat_map(|l| l.published.iter_mut())
            .chain(
                s.state
                    .erasures
                    .iter_mut()
                    .flat_map(|e| e.published.iter_mut()),
            );
        publications.for_each(|p| rename(&mut p.node));
        s.state
            .access_log
            .iter_mut()
            .for_each(|a| rename(&mut a.node));
        if let Some(share) = s.state.backup_share.as_mut() {
            share.nodes.iter_mut().for_each(rename);
            share.nodes.dedup();
        }
        s.save()
    }

    /// Sets the witnesses (and quorum) required of nodes the patient confirms from a request.
    pub fn set_witness_policy(&mut self, policy: WitnessPolicy) -> Result<(), WalletError> {
        nodes::check_witnesses(&policy.witness_keys, policy.quorum)?;
        self.s.state.witness_policy = policy;
        self.s.save()
    }

    /// The witnesses (and quorum) required of nodes confirmed from a request.
    pub fn witness_policy(self) -> &'a WitnessPolicy {
        &self.s.state.witness_policy
    }

    /// The outbox per node: how many writes wait, and why the last attempt failed.
    pub fn outbox(&self) -> Vec<OutboxNode> {
        nodes::outbox_nodes(&self.s.state.outbox)
    }

    /// Outbox items waiting for a node.
    pub fn outbox_len(&self) -> usize {
        self.s.state.outbox.items.len()
    }

    /// The public half of a sync, for a shell to keep checking while the wallet is locked
    /// ([`LockedWatch`](crate::agent::LockedWatch)).
    pub fn locked_watch(&mut self, now: u64) -> crate::agent::LockedWatch {
        crate::agent::LockedWatch::new(self.sync_work(now))
    }

    /// Pinned ledger nodes with their verification state.
    pub fn nodes(&self) -> Vec<(PinnedLog, LogState)> {
        self.s
            .state
            .logs
            .iter()
            .map(|l| (l.pinned.clone(), l.state.clone()))
            .collect()
    }

    /// The access history: every access event the sync found for this wallet's grants, newest
    /// first, with its verification state.
    pub fn access_log(&self) -> Vec<AccessView> {
        access::views(self.s)
    }

    /// What the ledger agent should send now: the writes due at `now` (with `retry_now`, every
    /// write, whatever its backoff: a sync is a request to try now).
    pub fn flush_work(&mut self, now: u64, retry_now: bool) -> FlushWork {
        flush::work(self.s, now, retry_now)
    }

    /// Takes back what the agent sent: acknowledged writes leave the outbox, their receipts are
    /// verified and kept, failures are remembered for the backoff. Returns how many writes
    /// still wait.
    pub fn apply_flush(&mut self, done: FlushDone) -> usize {
        flush::apply(self.s, done)
    }

    /// What the ledger agent should verify: every pinned log from the last checkpoint the
    /// wallet trusted, with this wallet's own entries and grant keys to look for.
    pub fn sync_work(&mut self, now: u64) -> SyncWork {
        sync::work(self.s, now)
    }

    /// Takes back what the agent verified: new log states, access events, evidence of a lying
    /// node. Also retries backups an earlier erasure could not re-write.
    pub fn apply_sync(&mut self, done: SyncDone, now: u64) -> Result<SyncReport, WalletError> {
        let report = sync::apply(self.s, done, now)?;
        // A shortened grant whose new end has come: re-key what it shared, as a revocation does.
        ending::end_shortened(self.s, now)?;
        Ok(report)
    }
}

/// Grants published on the node at `url` that it may still serve: active and unexpired, or
/// ended here with the end still queued for that node.
pub(super) fn grants_live_on(s: &PatientSession, url: &str, now: u64) -> Vec<GrantId> {
    s.state
        .grants
        .iter()
        .filter(|(_, g)| g.ledger.is_some())
        .filter(|(id, g)| {
            let Ok(signed) = SignedGrant::from_bytes(&g.signed.0) else {
                return false;
            };
            if !grant_logs(s, &signed).iter().any(|u| u == url) {
                return false;
            }
            match g.status {
                GrantStatus::Active => {
                    now < signed
                        .document()
                        .not_after
                        .min(g.ends_early.unwrap_or(u64::MAX))
                        || ending::waiting_for(s, id).iter().any(|u| u == url)
                }
                _ => ending::waiting_for(s, id).iter().any(|u| u == url),
            }
        })
        .map(|(id, _)| *id)
        .collect()
}
