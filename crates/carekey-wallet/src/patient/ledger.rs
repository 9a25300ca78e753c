//! The patient's side of the ledger: publishing grants, revocations and erasures through the
//! outbox, and the trust-nothing sync that finds revocations and access events.

use carekey_crypto::{sha256, AgreementSecret, PublicKey, SigningKey};
use carekey_model::ledger::{
    delete_message, grant_commitment, open_access_details, open_v1_access_details,
    tombstone_commitment, upload_message, AccessBinding, Entry, ErasureEntry, GrantCommitment,
    LedgerBinding, RevocationEntry,
};
use carekey_model::{GrantId, Signed, SignedGrant, SignedTombstone};
use carekey_sync::{
    HttpSource, LogState, NodeClient, OutboxItem, OutboxOp, PinnedLog, Submitted, SyncError, Watch,
};

use super::PatientWallet;
use crate::crash;
use crate::state::{
    AccessRecord, ByteDoc, ErasurePublication, GrantLedger, GrantStatus, LogSettings, Publication,
    SecretBytes,
};
use crate::WalletError;

/// How stale a checkpoint may be before the wallet calls the log frozen (a node could otherwise
/// keep the wallet in the past).
pub const DEFAULT_MAX_AGE_SECS: u64 = 24 * 3600;

/// How far apart a provider's signed `requested_at` and the node's `served_at` may be in an
/// access event: nodes refuse requests more than 2 minutes off their clock (protocol), so an
/// event further apart than this was not logged when the provider asked.
pub const MAX_SERVE_DELAY_SECS: u64 = 600;

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
        let url = super::normalise_node(parts.next().unwrap_or_default())?;
        let log_key = parts.next().map(str::to_owned);
        if parts.next().is_some() {
            return Err(WalletError::Invalid(format!(
                "{text:?}: expected `URL [LOG-KEY]`"
            )));
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

/// One verified (or suspicious) provider access, as the patient sees it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AccessView {
    /// When the node served the records (unix seconds).
    pub served_at: u64,
    /// Provider name from the grant.
    pub provider_name: String,
    /// Provider key (hex).
    pub provider_key: String,
    /// The grant used (hex).
    pub grant_id: String,
    /// The records the grant covered at the time.
    pub records: Vec<String>,
    /// The node and log index of the access event.
    pub node: String,
    /// Log index.
    pub index: u64,
    /// "verified" when the provider's own signed request is inside; otherwise why not.
    pub verification: String,
    /// False when the log it was found on is pinned without witnesses (shown as
    /// [`NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED`]).
    pub independently_checked: bool,
}

/// The witnesses whose cosignatures the patient requires of a ledger node confirmed from a
/// provider's request (a request can name a node and its log key, never its witnesses).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WitnessPolicy {
    /// Witness cosignature verifier keys.
    pub witness_keys: Vec<String>,
    /// How many of them must cosign each checkpoint.
    pub quorum: usize,
}

/// What removing a pinned node dropped.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct NodeRemoval {
    /// The node's URL.
    pub url: String,
    /// Outbox writes that were waiting for it and are now dropped.
    pub dropped_outbox: usize,
    /// Grants published on the node that it may still serve: the wallet could not end them
    /// there (only with `force`; otherwise the removal is refused while there are any).
    pub abandoned_grants: Vec<String>,
    /// Deletions of retired backup key shares still queued for the node: they stay queued
    /// (retried by every sync) in case it comes back.
    pub kept_share_deletions: usize,
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

impl PatientWallet {
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
        let url = super::normalise_node(url)?;
        if quorum == 0 && !is_loopback(&url) {
            return Err(WalletError::Invalid(format!(
                "{url} is a remote node: pin at least one witness (--witness KEY) so its log is \
                 independently checked, or pin it knowingly without witnesses (--no-witness)"
            )));
        }
        self.pin_log(&url, log_key, witness_keys, quorum)
    }

    /// Pins a ledger node without witnesses, as the patient explicitly asked: its results are
    /// shown as [`NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED`] and no freshness is claimed for it.
    pub fn add_unwitnessed_node(&mut self, url: &str, log_key: &str) -> Result<(), WalletError> {
        let url = super::normalise_node(url)?;
        self.pin_log(&url, log_key, &[], 0)
    }

    fn pin_log(
        &mut self,
        url: &str,
        log_key: &str,
        witness_keys: &[String],
        quorum: usize,
    ) -> Result<(), WalletError> {
        let url = url.to_owned();
        let pinned = pinned_log(&url, log_key, witness_keys, quorum)?;
        let former_urls = match self.state.logs.iter().position(|l| l.pinned.url == url) {
            // Same log re-pinned (e.g. new witnesses): keep what the wallet verified so far.
            Some(i) if self.state.logs[i].pinned.log_key == log_key => {
                let l = &mut self.state.logs[i];
                l.pinned = pinned;
                return self.save();
            }
            Some(i) => self.state.logs.remove(i).former_urls,
            None => Vec::new(),
        };
        self.state.logs.push(LogSettings {
            pinned,
            state: LogState::default(),
            former_urls,
            local: false,
        });
        if !self.state.pinned_nodes.contains(&url) {
            self.state.pinned_nodes.push(url);
        }
        self.save()
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
        let url = super::normalise_node(url)?;
        let known = self.state.logs.iter().any(|l| l.pinned.url == url)
            || self.state.pinned_nodes.contains(&url);
        if !known {
            return Err(WalletError::NotFound {
                what: "pinned node",
                query: url,
            });
        }
        let live = self.grants_live_on(&url, now);
        let ending_work = self
            .state
            .outbox
            .items
            .iter()
            .filter(|i| i.node == url && !i.op.is_upload())
            .count();
        if !force && (!live.is_empty() || ending_work > 0) {
            return Err(WalletError::NodeInUse {
                url,
                grants: live.iter().map(|g| g.to_string()).collect(),
                waiting: ending_work,
            });
        }
        self.state.logs.retain(|l| l.pinned.url != url);
        self.state.pinned_nodes.retain(|u| *u != url);
        let before = self.state.outbox.items.len();
        // The deletion of a retired backup key share stays queued, unpinned or not: should the
        // node come back, a backup made before an erasure must not open with its old share.
        self.state
            .outbox
            .items
            .retain(|i| i.node != url || matches!(i.op, OutboxOp::DeleteShare { .. }));
        let kept_share_deletions = self
            .state
            .outbox
            .items
            .iter()
            .filter(|i| i.node == url)
            .count();
        let dropped_outbox = before - self.state.outbox.items.len() - kept_share_deletions;
        self.save()?;
        Ok(NodeRemoval {
            url,
            dropped_outbox,
            abandoned_grants: live.iter().map(|g| g.to_string()).collect(),
            kept_share_deletions,
        })
    }

    /// Grants published on the node at `url` that it may still serve: active and unexpired, or
    /// ended here with the end still queued for that node.
    fn grants_live_on(&self, url: &str, now: u64) -> Vec<GrantId> {
        self.state
            .grants
            .iter()
            .filter(|(_, g)| g.ledger.is_some())
            .filter(|(id, g)| {
                let Ok(signed) = SignedGrant::from_bytes(&g.signed.0) else {
                    return false;
                };
                if !self.grant_logs(&signed).iter().any(|u| u == url) {
                    return false;
                }
                match g.status {
                    GrantStatus::Active => now < signed.document().not_after,
                    _ => self.grant_end_waiting_for(id).iter().any(|u| u == url),
                }
            })
            .map(|(id, _)| *id)
            .collect()
    }

    /// Moves a pinned node to a new URL (same log, same key: e.g. the node changed host or
    /// port). What the wallet verified so far is kept, so rollback and split-view detection
    /// continue across the move; waiting writes follow the node. The old URL stays known so
    /// grants signed before the move still map to this log.
    pub fn move_node(&mut self, from: &str, to: &str) -> Result<(), WalletError> {
        let from = super::normalise_node(from)?;
        let to = super::normalise_node(to)?;
        if from == to {
            return Ok(());
        }
        if self.state.logs.iter().any(|l| l.pinned.url == to) {
            return Err(WalletError::Invalid(format!(
                "{to} is already pinned for another log; remove it first"
            )));
        }
        let log = self
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
        self.state.pinned_nodes.iter_mut().for_each(rename);
        for item in &mut self.state.outbox.items {
            if item.node == from {
                item.next_attempt_at = 0;
            }
            rename(&mut item.node);
        }
        let publications = self
            .state
            .grants
            .values_mut()
            .filter_map(|g| g.ledger.as_mut())
            .flat_map(|l| l.published.iter_mut())
            .chain(
                self.state
                    .erasures
                    .iter_mut()
                    .flat_map(|e| e.published.iter_mut()),
            );
        publications.for_each(|p| rename(&mut p.node));
        self.state
            .access_log
            .iter_mut()
            .for_each(|a| rename(&mut a.node));
        if let Some(share) = self.state.backup_share.as_mut() {
            share.nodes.iter_mut().for_each(rename);
            share.nodes.dedup();
        }
        self.save()
    }

    /// Sets the witnesses (and quorum) required of nodes the patient confirms from a request.
    pub fn set_witness_policy(&mut self, policy: WitnessPolicy) -> Result<(), WalletError> {
        check_witnesses(&policy.witness_keys, policy.quorum)?;
        self.state.witness_policy = policy;
        self.save()
    }

    /// The witnesses (and quorum) required of nodes confirmed from a request.
    pub fn witness_policy(&self) -> &WitnessPolicy {
        &self.state.witness_policy
    }

    /// The outbox per node: how many writes wait, and why the last attempt failed.
    pub fn outbox(&self) -> Vec<OutboxNode> {
        outbox_nodes(&self.state.outbox)
    }

    /// Pins the nodes a reviewed request names, as the patient confirmed them: a node the
    /// request names with its log key is pinned with that key and the patient's witness
    /// policy; a bare URL is remembered but cannot be published to until its key is pinned.
    pub(super) fn pin_request_nodes(&mut self, nodes: &[String]) -> Result<(), WalletError> {
        for node in nodes {
            let node = NodeRef::parse(node)?;
            if self.log_of_url(&node.url).is_some() {
                continue;
            }
            if let Some(key) = &node.log_key {
                let policy = &self.state.witness_policy;
                // The same rule as pinning by hand: a remote node needs a witness.
                if policy.quorum == 0 && !is_loopback(&node.url) {
                    return Err(WalletError::Invalid(format!(
                        "the request names the remote node {}: set the witnesses you require \
                         first (`carekey node witnesses --witness KEY`, Settings in the app), \
                         or pin it knowingly without witnesses (`carekey node add URL KEY \
                         --no-witness`)",
                        node.url
                    )));
                }
                let pinned = pinned_log(&node.url, key, &policy.witness_keys, policy.quorum)?;
                self.state.logs.push(LogSettings {
                    pinned,
                    state: LogState::default(),
                    former_urls: Vec::new(),
                    local: false,
                });
            }
            if !self.state.pinned_nodes.contains(&node.url) {
                self.state.pinned_nodes.push(node.url);
            }
        }
        Ok(())
    }

    /// Refuses a request that vouches for another key than the one pinned for a node's URL.
    pub(super) fn check_request_node(&self, node: &NodeRef) -> Result<(), WalletError> {
        match (&node.log_key, self.log_of_url(&node.url)) {
            (Some(requested), Some(log)) if *requested != log.pinned.log_key => {
                Err(WalletError::NodeKeyMismatch {
                    url: node.url.clone(),
                    requested: requested.clone(),
                    pinned: log.pinned.log_key.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The pinned log served at `url` now or before a move.
    pub(super) fn log_of_url(&self, url: &str) -> Option<&LogSettings> {
        self.state
            .logs
            .iter()
            .find(|l| l.pinned.url == url || l.former_urls.iter().any(|u| u == url))
    }

    /// Pinned ledger nodes with their verification state.
    pub fn nodes(&self) -> Vec<(PinnedLog, LogState)> {
        self.state
            .logs
            .iter()
            .map(|l| (l.pinned.clone(), l.state.clone()))
            .collect()
    }

    /// Outbox items waiting for a node.
    pub fn outbox_len(&self) -> usize {
        self.state.outbox.items.len()
    }

    /// The ledger nodes a grant is published on: those it names that the patient pinned.
    fn grant_logs(&self, grant: &SignedGrant) -> Vec<String> {
        grant
            .document()
            .nodes
            .iter()
            .filter_map(|n| NodeRef::parse(n).ok())
            .filter_map(|n| self.log_of_url(&n.url))
            .map(|l| l.pinned.url.clone())
            .collect()
    }

    /// Prepares the per-grant pseudonyms and the commitment entry for a new grant and queues
    /// its publication (commitment, then the off-log bundle) on the grant's pinned nodes.
    pub(super) fn publish_grant(
        &mut self,
        grant_id: &GrantId,
        now: u64,
    ) -> Result<(), WalletError> {
        let grant = self.signed_grant(grant_id)?;
        let logs = self.grant_logs(&grant);
        if logs.is_empty() {
            return Ok(());
        }
        let grant_key = SigningKey::generate();
        let event_key = AgreementSecret::generate();
        let salt: [u8; 32] = carekey_crypto::random_array();
        let binding = Signed::sign(
            LedgerBinding {
                patient_signing: self.public_key(),
                grant_hash: grant.hash(),
                grant_key: grant_key.public(),
                event_key: event_key.public(),
            },
            &self.signing_key(),
        )?;
        let entry = Signed::sign(
            GrantCommitment {
                grant_key: grant_key.public(),
                commitment: grant_commitment(&salt, &grant),
                committed_at: now,
            },
            &grant_key,
        )?;
        let bundle = self.grant_bundle(grant_id)?;
        let upload_sig = grant_key.sign(&upload_message(grant_id, &sha256(&bundle)));
        for url in &logs {
            self.state.outbox.push(
                url,
                OutboxOp::Submit {
                    entry: entry.as_bytes().to_vec(),
                    grant: Some(grant.as_bytes().to_vec()),
                    binding: Some(binding.as_bytes().to_vec()),
                    salt: Some(salt),
                },
                now,
            );
            self.state.outbox.push(
                url,
                OutboxOp::Upload {
                    grant_id: *grant_id,
                    bundle: bundle.clone(),
                    signature: upload_sig.to_bytes().to_vec(),
                },
                now,
            );
        }
        if let Some(g) = self.state.grants.get_mut(grant_id) {
            g.ledger = Some(GrantLedger {
                grant_key: SecretBytes(grant_key.to_bytes()),
                event_key: SecretBytes(event_key.to_bytes()),
                salt: salt.to_vec(),
                binding: ByteDoc(binding.as_bytes().to_vec()),
                entry: ByteDoc(entry.as_bytes().to_vec()),
                pending_revocation: None,
                published: Vec::new(),
            });
        }
        self.save()?;
        self.flush_outbox(now);
        Ok(())
    }

    /// Queues the re-issued bundle of a grant whose records were re-keyed.
    pub(super) fn republish_bundle(
        &mut self,
        grant_id: &GrantId,
        now: u64,
    ) -> Result<(), WalletError> {
        let Some(ledger) = self
            .state
            .grants
            .get(grant_id)
            .and_then(|g| g.ledger.clone())
        else {
            return Ok(());
        };
        let grant = self.signed_grant(grant_id)?;
        let bundle = self.grant_bundle(grant_id)?;
        let key = SigningKey::from_bytes(&ledger.grant_key.0);
        let signature = key.sign(&upload_message(grant_id, &sha256(&bundle)));
        for url in self.grant_logs(&grant) {
            self.state.outbox.push(
                &url,
                OutboxOp::Upload {
                    grant_id: *grant_id,
                    bundle: bundle.clone(),
                    signature: signature.to_bytes().to_vec(),
                },
                now,
            );
        }
        Ok(())
    }

    /// Queues a revocation entry (signed with the grant's pseudonymous key) on the grant's nodes,
    /// and for an erasure also an erasure entry and the deletion of the off-log bundle.
    pub(super) fn publish_end_of_grant(
        &mut self,
        grant_id: &GrantId,
        tombstone: Option<&SignedTombstone>,
        now: u64,
    ) -> Result<(), WalletError> {
        let Some(ledger) = self
            .state
            .grants
            .get(grant_id)
            .and_then(|g| g.ledger.clone())
        else {
            return Ok(());
        };
        let grant = self.signed_grant(grant_id)?;
        let key = SigningKey::from_bytes(&ledger.grant_key.0);
        let revocation = Signed::sign(
            RevocationEntry {
                grant_key: key.public(),
                revoked_at: now,
            },
            &key,
        )?;
        let logs = self.grant_logs(&grant);
        // Once queued, the revocation entry stays the one the nodes get (an erasure after a
        // revocation that is still waiting must not queue a second one).
        let already_revoked = ledger.published.iter().any(|p| p.kind == "revocation")
            || ledger.pending_revocation.is_some();
        // A bundle upload still queued would bring the bundle back after its deletion, and is
        // of no use to a provider whose grant ended.
        self.state.outbox.cancel_uploads(grant_id);
        for url in &logs {
            if !already_revoked {
                self.state
                    .outbox
                    .push(url, submit(revocation.as_bytes()), now);
            }
            if let Some(tombstone) = tombstone {
                let salt: [u8; 32] = carekey_crypto::random_array();
                let erasure = Signed::sign(
                    ErasureEntry {
                        erasure_key: key.public(),
                        commitment: tombstone_commitment(&salt, tombstone),
                        ciphertext_hashes: tombstone.document().ciphertext_hashes.clone(),
                        erased_at: now,
                    },
                    &key,
                )?;
                self.state.outbox.push(url, submit(erasure.as_bytes()), now);
                self.state.erasures.push(ErasurePublication {
                    tombstone: ByteDoc(tombstone.as_bytes().to_vec()),
                    salt: salt.to_vec(),
                    entry: ByteDoc(erasure.as_bytes().to_vec()),
                    published: Vec::new(),
                });
                let sig = key.sign(&delete_message(grant_id));
                self.state.outbox.push(
                    url,
                    OutboxOp::Delete {
                        grant_id: *grant_id,
                        signature: sig.to_bytes().to_vec(),
                    },
                    now,
                );
            }
        }
        if let Some(g) = self.state.grants.get_mut(grant_id) {
            if let Some(l) = g.ledger.as_mut() {
                if !already_revoked {
                    l.pending_revocation = Some(ByteDoc(revocation.as_bytes().to_vec()));
                }
            }
        }
        Ok(())
    }

    /// Queues an erasure entry for a record tombstone on every pinned node, signed by a
    /// one-time key so the entry links to nothing else.
    pub(super) fn publish_record_erasure(
        &mut self,
        tombstone: &SignedTombstone,
        now: u64,
    ) -> Result<(), WalletError> {
        if self.state.logs.is_empty() {
            return Ok(());
        }
        let key = SigningKey::generate();
        let salt: [u8; 32] = carekey_crypto::random_array();
        let entry = Signed::sign(
            ErasureEntry {
                erasure_key: key.public(),
                commitment: tombstone_commitment(&salt, tombstone),
                ciphertext_hashes: tombstone.document().ciphertext_hashes.clone(),
                erased_at: now,
            },
            &key,
        )?;
        let urls: Vec<String> = self
            .state
            .logs
            .iter()
            .map(|l| l.pinned.url.clone())
            .collect();
        for url in urls {
            self.state.outbox.push(&url, submit(entry.as_bytes()), now);
        }
        self.state.erasures.push(ErasurePublication {
            tombstone: ByteDoc(tombstone.as_bytes().to_vec()),
            salt: salt.to_vec(),
            entry: ByteDoc(entry.as_bytes().to_vec()),
            published: Vec::new(),
        });
        Ok(())
    }

    /// Sends what the outbox holds to every reachable node, records the receipts, and keeps the
    /// rest for later (offline is normal). Returns how many items are still waiting.
    pub fn flush_outbox(&mut self, now: u64) -> usize {
        if self.state.outbox.items.is_empty() {
            return 0;
        }
        let mut outbox = std::mem::take(&mut self.state.outbox);
        let results = outbox.flush_with_shares(now, &|url: &str| NodeClient::new(url), &|id| {
            self.share_secret(id)
        });
        self.state.outbox = outbox;
        for carekey_sync::Flushed { node, op, result } in results {
            if result.is_ok() {
                self.drop_copies_for_the_same_log(&node, &op);
            }
            if let (OutboxOp::Submit { entry, .. }, Ok(Some(submitted))) = (op, result) {
                // The receipt's checkpoint names the log; map it back to the pinned node.
                if let Some(node) = self.node_of_receipt(&submitted.receipt) {
                    self.record_publication(&node, &entry, &submitted);
                }
            }
        }
        crash::point("outbox.flushed");
        // Losing a receipt would only cost a re-submission (idempotent), so a failed save here
        // is reported by the next operation rather than failing this one.
        let _ = self.save();
        self.state.outbox.items.len()
    }

    /// One log may be pinned at several addresses (a node and a static mirror of it, or the
    /// node at an old and a new address): a write one address acknowledged is done for the
    /// log, so the same write queued for its other addresses is dropped (a static mirror
    /// never accepts writes, and would otherwise hold them, and a node removal, forever).
    fn drop_copies_for_the_same_log(&mut self, done_at: &str, op: &OutboxOp) {
        let Some(key) = self.log_of_url(done_at).map(|l| l.pinned.log_key.clone()) else {
            return;
        };
        let same_log: Vec<String> = self
            .state
            .logs
            .iter()
            .filter(|l| l.pinned.log_key == key && l.pinned.url != done_at)
            .map(|l| l.pinned.url.clone())
            .collect();
        self.state
            .outbox
            .items
            .retain(|i| !(i.op == *op && same_log.contains(&i.node)));
    }

    /// The pinned node whose log signed `receipt`'s checkpoint: the origin must match and the
    /// signature verify under the pinned key (two logs may share a name, never a key).
    fn node_of_receipt(&self, receipt: &str) -> Option<String> {
        let receipt = carekey_ledger::proof::Receipt::parse(receipt).ok()?;
        let origin = receipt.checkpoint.lines().next()?.to_owned();
        self.state
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
    fn record_publication(&mut self, node: &str, entry: &[u8], submitted: &Submitted) {
        let Some(pinned) = self.log_of_url(node).map(|l| l.pinned.clone()) else {
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
            if let Some(op) = self.submission_of(entry) {
                if !self.state.outbox.items.iter().any(|i| i.op == op) {
                    self.state.outbox.items.push(OutboxItem {
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
        for g in self.state.grants.values_mut() {
            if let Some(l) = g.ledger.as_mut() {
                if l.entry.0 == entry {
                    l.published.push(publication("grant"));
                    return;
                }
                if l.pending_revocation.as_ref().is_some_and(|r| r.0 == entry) {
                    l.published.push(publication("revocation"));
                    return;
                }
            }
        }
        for e in &mut self.state.erasures {
            if e.entry.0 == entry {
                e.published.push(publication("erasure"));
                return;
            }
        }
    }

    /// The submission that publishes `entry` (with its grant, binding and salt for a grant
    /// commitment), rebuilt from what the wallet keeps.
    fn submission_of(&self, entry: &[u8]) -> Option<OutboxOp> {
        for g in self.state.grants.values() {
            if let Some(l) = &g.ledger {
                if l.entry.0 == entry {
                    return Some(OutboxOp::Submit {
                        entry: entry.to_vec(),
                        grant: Some(g.signed.0.clone()),
                        binding: Some(l.binding.0.clone()),
                        salt: <[u8; 32]>::try_from(l.salt.as_slice()).ok(),
                    });
                }
                if l.pending_revocation.as_ref().is_some_and(|r| r.0 == entry) {
                    return Some(submit(entry));
                }
            }
        }
        self.state
            .erasures
            .iter()
            .any(|e| e.entry.0 == entry)
            .then(|| submit(entry))
    }

    /// Receipts (C2SP tlog-proof) of an erasure's tombstone, per node, once published.
    pub(super) fn erasure_publications(
        &self,
        tombstone: &SignedTombstone,
    ) -> Vec<(Publication, Vec<u8>, Vec<u8>)> {
        self.state
            .erasures
            .iter()
            .filter(|e| e.tombstone.0 == tombstone.as_bytes())
            .flat_map(|e| {
                e.published
                    .iter()
                    .map(move |p| (p.clone(), e.entry.0.clone(), e.salt.clone()))
            })
            .collect()
    }

    /// Syncs with every pinned node: flushes the outbox, then verifies each log from the last
    /// checkpoint the wallet trusted (LEDGER-CHECKS) and scans new entries for this wallet's
    /// grants. A split view or rollback keeps both signed checkpoints as evidence and stops
    /// trusting that node.
    pub fn sync(&mut self, now: u64) -> Result<SyncReport, WalletError> {
        // A sync is a request to try now: the backoff only spaces the flushes that every other
        // operation makes on its way.
        self.state.outbox.retry_now(now);
        let pending = self.flush_outbox(now);
        let mut report = SyncReport {
            outbox_pending: pending,
            backup_problems: self.retry_stale_backups(now),
            ..SyncReport::default()
        };
        let watched: Vec<(GrantId, PublicKey)> = self
            .state
            .grants
            .iter()
            .filter_map(|(id, g)| {
                g.ledger
                    .as_ref()
                    .map(|l| (*id, SigningKey::from_bytes(&l.grant_key.0).public()))
            })
            .collect();
        for i in 0..self.state.logs.len() {
            let pinned = self.state.logs[i].pinned.clone();
            let own_entries = self.own_entries(&pinned.url);
            let watch = Watch {
                grant_keys: watched.iter().map(|(_, k)| *k).collect(),
                own_entries,
            };
            let result = HttpSource::new(&pinned.url).and_then(|source| {
                carekey_sync::sync(&source, &pinned, &self.state.logs[i].state, &watch, now)
            });
            match result {
                Ok(outcome) => {
                    let size = outcome.state.size;
                    self.state.logs[i].state = outcome.state;
                    for found in outcome.found {
                        if self.note_found(&pinned.url, found.index, &found.entry, &watched) {
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
                    keep_evidence(&mut self.state.logs[i].state, evidence);
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
                    let receipt = self.receipt_at(&pinned.url, index);
                    let alarm = receipt.is_some();
                    if let Some(receipt) = receipt {
                        let evidence = carekey_sync::Evidence {
                            kind: "withheld".to_owned(),
                            detail: format!(
                                "the node acknowledged this wallet's entry {index} with a signed receipt, then signed a checkpoint of a log without it"
                            ),
                            notes: vec![receipt, checkpoint.clone()],
                            seen_at: now,
                            proof: Vec::new(),
                        };
                        keep_evidence(&mut self.state.logs[i].state, evidence);
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
        self.gossip(&mut report, now);
        self.save()?;
        Ok(report)
    }

    /// LEDGER-CHECKS 11: compares the views of every pair of pinned nodes that serve the same
    /// log (same log key — mirrors, or a node and its copy). Any disagreement is a split view:
    /// both signed checkpoints are kept as evidence on both nodes and the patient is alerted.
    fn gossip(&mut self, report: &mut SyncReport, now: u64) {
        let n = self.state.logs.len();
        for i in 0..n {
            for j in (i + 1)..n {
                let (a, b) = (&self.state.logs[i], &self.state.logs[j]);
                if a.pinned.log_key != b.pinned.log_key {
                    continue;
                }
                // Prove the smaller view is a prefix of the larger one, using the larger node's
                // tiles (verified against its signed root); same size: compare roots.
                let (small, large) = if a.state.size <= b.state.size {
                    (a, b)
                } else {
                    (b, a)
                };
                let evidence = match HttpSource::new(&large.pinned.url) {
                    Ok(source) => carekey_sync::gossip_via(
                        &source,
                        &large.pinned,
                        &small.state,
                        &large.state,
                        now,
                    )
                    .unwrap_or_else(|_| carekey_sync::gossip(&a.state, &b.state)),
                    Err(_) => carekey_sync::gossip(&a.state, &b.state),
                };
                let Some(evidence) = evidence else { continue };
                let detail = format!(
                    "{}: {} (between {} and {})",
                    evidence.kind, evidence.detail, a.pinned.url, b.pinned.url
                );
                let pins = [a.pinned.clone(), b.pinned.clone()];
                for k in [i, j] {
                    keep_evidence(&mut self.state.logs[k].state, evidence.clone());
                }
                for pinned in pins {
                    match report.nodes.iter_mut().find(|s| s.url == pinned.url) {
                        Some(status) => {
                            status.alarm = true;
                            status.failed = true;
                            status.verified_size = None;
                            status.fresh_as_of = None;
                            status.problem = Some(detail.clone());
                        }
                        None => report.nodes.push(NodeSyncStatus::problem(
                            &pinned,
                            detail.clone(),
                            true,
                            true,
                        )),
                    }
                }
            }
        }
    }

    /// The log key pinned for `url` (now or before a move).
    fn log_key_of(&self, url: &str) -> Option<&str> {
        self.log_of_url(url).map(|l| l.pinned.log_key.as_str())
    }

    /// Whether `node` (a publication's or access record's URL) serves the log `log_key`: a
    /// log is known by its key (origin and public key), not by the address it was read at.
    fn serves_log(&self, node: &str, log_key: Option<&str>) -> bool {
        match (log_key, self.log_key_of(node)) {
            (Some(want), Some(have)) => want == have,
            _ => false,
        }
    }

    /// The wallet's own entries on the log served at `url`, with the index each was
    /// acknowledged at. An entry acknowledged at another address of the same log (a mirror of
    /// the node, or the node behind a mirror) is required once this address has shown a tree
    /// at least as large as the receipt's: a mirror may lag behind the node, and a lag is not
    /// a lie.
    fn own_entries(&self, url: &str) -> Vec<(u64, Vec<u8>)> {
        let log = self.log_of_url(url);
        let log_key = log.map(|l| l.pinned.log_key.as_str());
        let verified = log.map_or(0, |l| l.state.size);
        let on_log = |p: &&Publication| {
            p.node == url
                || (self.serves_log(&p.node, log_key)
                    && receipt_size(&p.receipt).is_some_and(|size| size <= verified))
        };
        let mut own = Vec::new();
        for g in self.state.grants.values() {
            if let Some(l) = &g.ledger {
                for p in l.published.iter().filter(on_log) {
                    let bytes = match p.kind.as_str() {
                        "grant" => Some(l.entry.0.clone()),
                        "revocation" => l.pending_revocation.as_ref().map(|r| r.0.clone()),
                        _ => None,
                    };
                    if let Some(bytes) = bytes {
                        own.push((p.index, bytes));
                    }
                }
            }
        }
        for e in &self.state.erasures {
            for p in e.published.iter().filter(on_log) {
                own.push((p.index, e.entry.0.clone()));
            }
        }
        own.sort();
        own.dedup();
        own
    }

    /// The signed checkpoint of the receipt a node gave for this wallet's entry at `index`.
    fn receipt_at(&self, node: &str, index: u64) -> Option<String> {
        let publications = self
            .state
            .grants
            .values()
            .filter_map(|g| g.ledger.as_ref())
            .flat_map(|l| l.published.iter())
            .chain(self.state.erasures.iter().flat_map(|e| e.published.iter()));
        let log_key = self.log_key_of(node);
        publications
            .filter(|p| (p.node == node || self.serves_log(&p.node, log_key)) && p.index == index)
            .find_map(|p| carekey_ledger::proof::Receipt::parse(&p.receipt).ok())
            .map(|r| r.checkpoint)
    }

    /// Records an entry the sync found for one of this wallet's grants, on the log served at
    /// `node`. Returns true for a new access event: an entry of a log is recorded once,
    /// whichever of the log's pinned addresses (node, mirror) served it.
    fn note_found(
        &mut self,
        node: &str,
        index: u64,
        entry: &Entry,
        watched: &[(GrantId, PublicKey)],
    ) -> bool {
        let Entry::Access(event) = entry else {
            return false;
        };
        let Some(log_key) = self.log_key_of(node).map(str::to_owned) else {
            return false;
        };
        if self.state.access_log.iter().any(|a| {
            a.index == index
                && match &a.log_key {
                    Some(k) => *k == log_key,
                    // Recorded before logs were known by key: by the URL it was read at.
                    None => a.node == node || self.serves_log(&a.node, Some(&log_key)),
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
        let Some(g) = self.state.grants.get(grant_id) else {
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
                let replayed =
                    self.state.access_log.iter().find(|a| {
                        a.grant_id == *grant_id && a.request_nonce.as_ref() == Some(&nonce)
                    });
                let addressed = self.grant_urls_for_log(&grant, &log_key);
                let verdict = if request.provider_signing != grant.document().provider_signing {
                    "FORGED: the request inside is not signed by the grant's provider".to_owned()
                } else if request.grant_id != *grant_id {
                    "FORGED: the request inside names another grant".to_owned()
                } else if !super::normalise_node(&request.node)
                    .is_ok_and(|n| addressed.contains(&n))
                {
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
        self.state.access_log.push(AccessRecord {
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
    fn grant_urls_for_log(&self, grant: &SignedGrant, log_key: &str) -> Vec<String> {
        grant
            .document()
            .nodes
            .iter()
            .filter_map(|n| NodeRef::parse(n).ok())
            .filter(|n| match &n.log_key {
                Some(k) => k == log_key,
                None => self.serves_log(&n.url, Some(log_key)),
            })
            .map(|n| n.url)
            .collect()
    }

    /// The access history: every access event the sync found for this wallet's grants, newest
    /// first, with its verification state.
    pub fn access_log(&self) -> Vec<AccessView> {
        let mut out: Vec<AccessView> =
            self.state
                .access_log
                .iter()
                .map(|a| {
                    let (provider_name, provider_key) = self
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
                    let records = self
                        .state
                        .grants
                        .get(&a.grant_id)
                        .map(|g| g.records.iter().map(|r| r.to_string()).collect())
                        .unwrap_or_default();
                    let log_key = a.log_key.as_deref().or_else(|| self.log_key_of(&a.node));
                    let independently_checked =
                        self.state.logs.iter().any(|l| {
                            Some(l.pinned.log_key.as_str()) == log_key && l.pinned.quorum > 0
                        });
                    AccessView {
                        served_at: a.served_at,
                        provider_name,
                        provider_key,
                        grant_id: a.grant_id.to_string(),
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

fn submit(entry: &[u8]) -> OutboxOp {
    OutboxOp::Submit {
        entry: entry.to_vec(),
        grant: None,
        binding: None,
        salt: None,
    }
}

/// The tree size of a receipt's checkpoint (its second line), if it parses.
fn receipt_size(receipt: &str) -> Option<u64> {
    let receipt = carekey_ledger::proof::Receipt::parse(receipt).ok()?;
    receipt.checkpoint.lines().nth(1)?.parse().ok()
}

/// Keeps `evidence` unless the same signed notes are already held (a fork stays a fork: the
/// next sync finds it again).
fn keep_evidence(state: &mut LogState, evidence: carekey_sync::Evidence) {
    if !state.evidence.iter().any(|e| e.notes == evidence.notes) {
        state.evidence.push(evidence);
    }
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

fn check_log_key(key: &str) -> Result<(), WalletError> {
    carekey_ledger::note::NoteVerifier::parse(key)
        .map(drop)
        .map_err(|e| WalletError::Invalid(format!("log key {key:?}: {e}")))
}

fn check_witnesses(witness_keys: &[String], quorum: usize) -> Result<(), WalletError> {
    for w in witness_keys {
        carekey_ledger::note::NoteVerifier::parse(w)
            .map_err(|e| WalletError::Invalid(format!("witness key {w:?}: {e}")))?;
    }
    if quorum > witness_keys.len() {
        return Err(WalletError::Invalid(format!(
            "a quorum of {quorum} needs at least {quorum} witness keys"
        )));
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
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::NodeRef;

    /// A log key whose base64 ends in `/` survives a request (it once lost the slash to the
    /// URL normalisation, and the patient then saw a key mismatch).
    #[test]
    fn node_references_keep_their_log_key_exactly() {
        let key = (0..10_000)
            .map(|_| {
                let k = carekey_crypto::SigningKey::generate();
                carekey_ledger::note::NoteKey::new("log.example/a", k)
                    .unwrap()
                    .verifier()
                    .to_vkey()
            })
            .find(|v| v.ends_with('/'))
            .unwrap();
        let r = NodeRef::parse(&format!(" http://127.0.0.1:7000/  {key} ")).unwrap();
        assert_eq!(r.url, "http://127.0.0.1:7000");
        assert_eq!(r.log_key.as_deref(), Some(key.as_str()));
        assert_eq!(r.to_string(), format!("http://127.0.0.1:7000 {key}"));
        assert_eq!(NodeRef::parse(&r.to_string()).unwrap(), r);
        assert!(NodeRef::parse("http://n.example not-a-key").is_err());
        assert!(NodeRef::parse("ftp://n.example").is_err());
        assert!(NodeRef::parse(&format!("http://a {key} extra")).is_err());

        // Through a provider's signed request, too.
        let dir = tempfile::tempdir().unwrap();
        let mut provider = crate::ProviderWallet::create(
            &dir.path().join("p"),
            "Dr. Slash",
            &crate::Passphrase::new("a provider passphrase".into()),
            crate::KdfParams::TEST,
            Box::new(crate::FileStore::new(dir.path().join("p.device"))),
        )
        .unwrap();
        let spec = crate::RequestSpec {
            record_ids: Vec::new(),
            resource_types: vec!["Observation".into()],
            purpose: "care".into(),
            duration_secs: 3600,
            nodes: vec![format!("http://127.0.0.1:7000/ {key}")],
            valid_for_secs: 600,
        };
        let request = provider.request(&spec, 1_750_000_000).unwrap();
        assert_eq!(
            request.document().nodes,
            [format!("http://127.0.0.1:7000 {key}")]
        );
    }

    mod issue8 {
        use carekey_crypto::{AgreementSecret, SigningKey};
        use carekey_ledger::note::{write_note, Checkpoint, NoteKey};
        use carekey_ledger::proof::Receipt;
        use carekey_ledger::{leaf_hash, Tree};
        use carekey_model::ledger::{
            seal_access_details, AccessBinding, AccessDetails, AccessEvent, Entry, FetchRequest,
        };
        use carekey_model::{AccessRequest, GrantId, Scope, Signed};
        use carekey_sync::Submitted;

        use crate::patient::ledger::is_loopback;
        use crate::{FileStore, KdfParams, Passphrase, PatientWallet, RequestInput, ShareChoice};

        const NOW: u64 = 1_750_000_000;
        /// Nothing listens there: every write stays in the outbox.
        const NODE_A: &str = "http://127.0.0.1:9";
        const NODE_B: &str = "http://127.0.0.1:10";
        const MIRROR_A: &str = "http://127.0.0.1:11";

        struct Fixture {
            _dir: tempfile::TempDir,
            wallet: PatientWallet,
            provider: SigningKey,
            log_a: NoteKey,
            log_b: NoteKey,
            grant: GrantId,
        }

        fn log_key(name: &str, seed: u8) -> NoteKey {
            NoteKey::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
        }

        /// A patient who pinned node A (and its mirror) and node B, and shared an observation
        /// with a provider whose request names node A only.
        fn fixture() -> Fixture {
            let dir = tempfile::tempdir().unwrap();
            let (mut wallet, _) = PatientWallet::create(
                &dir.path().join("p"),
                &Passphrase::new("a patient passphrase".into()),
                KdfParams::TEST,
                Box::new(FileStore::new(dir.path().join("p.device"))),
                NOW,
            )
            .unwrap();
            let file = dir.path().join("obs.json");
            std::fs::write(
                &file,
                r#"{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Glucose"}}"#,
            )
            .unwrap();
            wallet.import(&file, NOW, &mut |_, _| {}).unwrap();
            let (log_a, log_b) = (log_key("carekey.test/a", 1), log_key("carekey.test/b", 2));
            let (vkey_a, vkey_b) = (log_a.verifier().to_vkey(), log_b.verifier().to_vkey());
            wallet.add_node(NODE_A, &vkey_a, &[], 0).unwrap();
            wallet.add_node(NODE_B, &vkey_b, &[], 0).unwrap();
            wallet.add_node(MIRROR_A, &vkey_a, &[], 0).unwrap();
            let provider = SigningKey::from_bytes(&[7; 32]);
            let request = Signed::sign(
                AccessRequest {
                    provider_name: "Dr. Bound".into(),
                    provider_signing: provider.public(),
                    provider_agreement: AgreementSecret::from_bytes([8; 32]).public(),
                    scope: Scope::new(Vec::new(), vec!["Observation".into()]),
                    purpose: "care".into(),
                    duration_secs: 86_400,
                    nodes: vec![format!("{NODE_A} {vkey_a}")],
                    nonce: [9; 16],
                    created_at: NOW,
                    expires_at: NOW + 600,
                },
                &provider,
            )
            .unwrap();
            let review = wallet
                .review_request(RequestInput::Bytes(request.as_bytes()), NOW)
                .unwrap();
            let choice = ShareChoice {
                resource_types: vec!["Observation".into()],
                ..ShareChoice::default()
            };
            let grant = wallet
                .share(&review, &choice, NOW)
                .unwrap()
                .grant
                .document()
                .grant_id;
            Fixture {
                _dir: dir,
                wallet,
                provider,
                log_a,
                log_b,
                grant,
            }
        }

        impl Fixture {
            fn grant_key(&self) -> SigningKey {
                let l = self.wallet.state.grants[&self.grant]
                    .ledger
                    .clone()
                    .unwrap();
                SigningKey::from_bytes(&l.grant_key.0)
            }

            fn event_key(&self) -> carekey_crypto::AgreementPublic {
                let l = self.wallet.state.grants[&self.grant]
                    .ledger
                    .clone()
                    .unwrap();
                AgreementSecret::from_bytes(*l.event_key.0).public()
            }

            fn watched(&self) -> Vec<(GrantId, carekey_crypto::PublicKey)> {
                vec![(self.grant, self.grant_key().public())]
            }

            /// An access event signed by `log`'s key for a fetch addressed to `to`, its
            /// details sealed for the event `sealed_for` describes (the event itself if None).
            fn event(
                &self,
                log: &NoteKey,
                signer: &SigningKey,
                to: &str,
                nonce: u8,
                sealed_for: Option<AccessBinding>,
            ) -> Entry {
                let request = Signed::sign(
                    FetchRequest {
                        provider_signing: self.provider.public(),
                        grant_id: self.grant,
                        node: to.into(),
                        nonce: [nonce; 16],
                        requested_at: NOW,
                    },
                    &self.provider,
                )
                .unwrap();
                let mut event = AccessEvent {
                    node_key: signer.public(),
                    grant_key: self.grant_key().public(),
                    event_id: [nonce; 16],
                    sealed: Vec::new(),
                    logged_at: NOW,
                };
                let binding = sealed_for.unwrap_or_else(|| AccessBinding::of(log.name(), &event));
                event.sealed = seal_access_details(
                    &self.event_key(),
                    &AccessDetails {
                        fetch_request: request,
                        served_at: NOW,
                    },
                    &binding,
                )
                .unwrap();
                Entry::Access(Signed::sign(event, signer).unwrap())
            }

            fn verdict(&self, node: &str, index: u64) -> String {
                self.wallet
                    .access_log()
                    .into_iter()
                    .find(|a| a.node == node && a.index == index)
                    .map(|a| a.verification)
                    .unwrap_or_default()
            }
        }

        /// Hole 7: details are bound to the event they were sealed for, and the request
        /// inside must be addressed to a node of the log it is logged on (a mirror of that
        /// log is fine); hole 5: an entry is counted once whichever address served it.
        #[test]
        fn issue8_access_events_are_bound_to_their_log_and_counted_once() {
            let mut f = fixture();
            let watched = f.watched();
            let key_a = SigningKey::from_bytes(&[1; 32]);
            let key_b = SigningKey::from_bytes(&[2; 32]);

            // The genuine access on A, then the same entry read again from A's mirror.
            let genuine = f.event(&f.log_a, &key_a, NODE_A, 1, None);
            assert!(f.wallet.note_found(NODE_A, 0, &genuine, &watched));
            assert_eq!(f.verdict(NODE_A, 0), "verified");
            assert!(!f.wallet.note_found(MIRROR_A, 0, &genuine, &watched));
            assert_eq!(f.wallet.access_log().len(), 1);
            // A later entry first seen through the mirror is A's too, and verified.
            let later = f.event(&f.log_a, &key_a, NODE_A, 2, None);
            assert!(f.wallet.note_found(MIRROR_A, 1, &later, &watched));
            assert_eq!(f.verdict(MIRROR_A, 1), "verified");
            assert!(!f.wallet.note_found(NODE_A, 1, &later, &watched));

            // B copies A's sealed details into an event it signs: they no longer open.
            let Entry::Access(a) = &genuine else {
                unreachable!()
            };
            let copy = Entry::Access(
                Signed::sign(
                    AccessEvent {
                        node_key: key_b.public(),
                        ..a.document().clone()
                    },
                    &key_b,
                )
                .unwrap(),
            );
            assert!(f.wallet.note_found(NODE_B, 0, &copy, &watched));
            assert!(
                f.verdict(NODE_B, 0)
                    .starts_with("FORGED: the details do not open"),
                "{}",
                f.verdict(NODE_B, 0)
            );

            // B seals a request addressed to A for an event of its own (an operator of both):
            // the grant names no node of B's log.
            let moved = f.event(&f.log_b, &key_b, NODE_A, 3, None);
            assert!(f.wallet.note_found(NODE_B, 1, &moved, &watched));
            assert!(
                f.verdict(NODE_B, 1)
                    .starts_with("FORGED: the provider's request was addressed to"),
                "{}",
                f.verdict(NODE_B, 1)
            );

            // Details sealed for another event id of the same log do not open either.
            let Entry::Access(g) = &genuine else {
                unreachable!()
            };
            let other_id = AccessBinding {
                event_id: [0xee; 16],
                ..AccessBinding::of(f.log_a.name(), g.document())
            };
            let rebound = f.event(&f.log_a, &key_a, NODE_A, 4, Some(other_id));
            assert!(f.wallet.note_found(NODE_A, 2, &rebound, &watched));
            assert!(f
                .verdict(NODE_A, 2)
                .starts_with("FORGED: the details do not open"));

            // Every result of these unwitnessed logs says so.
            assert!(f
                .wallet
                .access_log()
                .iter()
                .all(|a| !a.independently_checked));
        }

        /// Hole 6: a remote node is pinned only with a witness, or with the explicit opt-out.
        #[test]
        fn issue8_debug_output_never_shows_the_backup_share() {
            let mut f = fixture();
            // NODE_A is not local, so backups carry a share, queued to it (nothing listens).
            let share = f
                .wallet
                .backup_share(NOW)
                .unwrap()
                .expect("a remote node is pinned");
            let printed = format!("{:?}", f.wallet);
            let bytes = format!("{:?}", share.secret.as_slice());
            let inner = bytes.trim_matches(|c| c == '[' || c == ']');
            assert!(!printed.contains(inner), "the share is in: {printed}");
            assert!(!printed.contains(&hex::encode(*share.secret)));
            assert!(f.wallet.backup_share_pending().contains(&NODE_A.to_owned()));
        }

        #[test]
        fn issue8_a_remote_node_needs_a_witness_unless_the_patient_opts_out() {
            let mut f = fixture();
            let vkey = log_key("carekey.test/remote", 3).verifier().to_vkey();
            let err = f
                .wallet
                .add_node("https://ledger.example", &vkey, &[], 0)
                .unwrap_err();
            assert!(err.to_string().contains("--no-witness"), "{err}");
            let witness = log_key("witness.test/w", 4).verifier().to_vkey();
            let err = f
                .wallet
                .add_node(
                    "https://ledger.example",
                    &vkey,
                    std::slice::from_ref(&witness),
                    0,
                )
                .unwrap_err();
            assert!(err.to_string().contains("witness"), "{err}");
            f.wallet
                .add_node("https://ledger.example", &vkey, &[witness], 1)
                .unwrap();
            f.wallet
                .add_unwitnessed_node("https://other.example", &vkey)
                .unwrap();
            for url in [
                "http://127.0.0.1:7000",
                "http://localhost:1",
                "http://[::1]:80",
            ] {
                assert!(is_loopback(url), "{url}");
            }
            for url in [
                "https://ledger.example",
                "http://10.0.0.1:7000",
                "http://127.0.0.1.example",
                "http://user@192.0.2.1",
            ] {
                assert!(!is_loopback(url), "{url}");
            }
            // A remote node a request names is not pinned with no witness either.
            let err = f
                .wallet
                .pin_request_nodes(&[format!("https://third.example {vkey}")])
                .unwrap_err();
            assert!(err.to_string().contains("node witnesses"), "{err}");
            assert!(
                !err.to_string().contains("  "),
                "one line of plain words: {err}"
            );
            f.wallet
                .pin_request_nodes(&[format!("http://127.0.0.1:7001 {vkey}")])
                .unwrap();
        }

        /// A receipt from node A's log for `entry`, with the entry at `index` of a log of
        /// `size` entries (the others filler), signed by `log`.
        fn receipt(log: &NoteKey, entry: &[u8], index: u64, size: u64) -> String {
            let mut tree = Tree::new();
            for i in 0..size {
                if i == index {
                    tree.push(leaf_hash(entry));
                } else {
                    tree.push(leaf_hash(&i.to_be_bytes()));
                }
            }
            let checkpoint = Checkpoint {
                origin: log.name().to_owned(),
                size,
                root: tree.root(),
                extensions: Vec::new(),
            };
            let body = checkpoint.body();
            Receipt {
                index,
                proof: tree.inclusion_proof(index, size).unwrap(),
                checkpoint: write_note(&body, &[log.sign(&body)]),
                extra: None,
            }
            .encode()
        }

        /// Hole 10: a receipt is kept only once verified; a bad one goes back to the outbox
        /// with the reason, and nothing is recorded as published.
        #[test]
        fn issue8_a_receipt_is_verified_before_it_is_stored() {
            let mut f = fixture();
            let entry = f.wallet.state.grants[&f.grant]
                .ledger
                .clone()
                .unwrap()
                .entry
                .0;
            let published = |f: &Fixture| {
                f.wallet.state.grants[&f.grant]
                    .ledger
                    .as_ref()
                    .unwrap()
                    .published
                    .len()
            };
            f.wallet.state.outbox.items.clear();
            let impostor = log_key("carekey.test/a", 5);
            for bad in [
                // Acknowledged at 3, proved at 2.
                Submitted {
                    index: 3,
                    receipt: receipt(&f.log_a, &entry, 2, 5),
                },
                // Another entry.
                Submitted {
                    index: 2,
                    receipt: receipt(&f.log_a, b"something else", 2, 5),
                },
                // Another key with A's name.
                Submitted {
                    index: 2,
                    receipt: receipt(&impostor, &entry, 2, 5),
                },
                Submitted {
                    index: 2,
                    receipt: "garbage".into(),
                },
            ] {
                f.wallet.record_publication(NODE_A, &entry, &bad);
                assert_eq!(published(&f), 0, "{}", bad.receipt);
            }
            // The submission is queued again (once), with why.
            let queued: Vec<_> = f.wallet.state.outbox.items.iter().collect();
            assert_eq!(queued.len(), 1);
            assert_eq!(queued[0].node, NODE_A);
            assert!(queued[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.starts_with("receipt rejected")));
            let good = Submitted {
                index: 2,
                receipt: receipt(&f.log_a, &entry, 2, 5),
            };
            f.wallet.record_publication(NODE_A, &entry, &good);
            assert_eq!(published(&f), 1);
            // The receipt maps to the log whose key signed it, not to a namesake.
            assert_eq!(
                f.wallet.node_of_receipt(&good.receipt).as_deref(),
                Some(NODE_A)
            );
            assert_eq!(
                f.wallet.node_of_receipt(&receipt(&impostor, &entry, 2, 5)),
                None
            );
        }
    }
}
