//! A durable queue of writes to nodes that survives restarts and offline periods.
//!
//! The wallet keeps the [`Outbox`] in its vault state (it is plain serde data) and calls
//! [`Outbox::flush`] whenever it is online. Ledger writes to one node (entries, deletions) leave
//! in the order they were queued, so a revocation never overtakes its grant commitment; uploads
//! (bundles, backup key shares) leave after them and never hold them back, so ending a grant
//! never waits behind a large re-upload; an upload never overtakes a ledger write of its node
//! that is still waiting (the commitment it needs). Different nodes do not wait for each other.
//! Every write is idempotent on the node's side, so retrying after a lost answer is safe.

use std::collections::{HashMap, HashSet};

use carekey_crypto::Signature;
use carekey_model::GrantId;
use serde::{Deserialize, Serialize};

use crate::node::{NodeClient, Submitted};
use crate::SyncError;

/// The longest wait between two attempts of one item, in seconds.
pub const MAX_BACKOFF_SECS: u64 = 3600;

/// Queued writes, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outbox {
    /// The queue.
    pub items: Vec<OutboxItem>,
}

/// One queued write to one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// The node's base URL.
    pub node: String,
    /// The write.
    pub op: OutboxOp,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Not to be tried before this time (unix seconds).
    pub next_attempt_at: u64,
    /// The last transient failure, for display.
    pub last_error: Option<String>,
}

/// A write to a node (protocol §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OutboxOp {
    /// `POST /v1/entries`.
    Submit {
        /// The entry's COSE bytes.
        #[serde(with = "b64")]
        entry: Vec<u8>,
        /// The signed grant (grant commitments only).
        #[serde(with = "b64_opt", default)]
        grant: Option<Vec<u8>>,
        /// The ledger binding (grant commitments only).
        #[serde(with = "b64_opt", default)]
        binding: Option<Vec<u8>>,
        /// The commitment's salt (grant commitments only).
        #[serde(default)]
        salt: Option<[u8; 32]>,
    },
    /// `PUT /v1/grants/<id>/bundle`.
    Upload {
        /// The grant.
        grant_id: GrantId,
        /// The grant bundle bytes.
        #[serde(with = "b64")]
        bundle: Vec<u8>,
        /// The grant key's 64-byte signature over the upload message.
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
    /// `DELETE /v1/grants/<id>`.
    Delete {
        /// The grant.
        grant_id: GrantId,
        /// The grant key's 64-byte signature over the delete message.
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
    /// `PUT /v1/backup-shares/<id>`. The share itself is not in the queue (the queue is kept
    /// where an erasure cannot reach it): the flush asks the wallet for it by id.
    PutShare {
        /// The share's id.
        id: [u8; 16],
        /// The owner's Ed25519 public key.
        owner: [u8; 32],
        /// The owner's 64-byte signature over the put message.
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
    /// `DELETE /v1/backup-shares/<id>`.
    DeleteShare {
        /// The share's id.
        id: [u8; 16],
        /// The owner's 64-byte signature over the delete message.
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
    /// `DELETE /v1/links/<id>`: end a SMART Health Link.
    EndLink {
        /// The link id (43 base64url characters).
        id: String,
        /// The link key's 64-byte signature over the link delete message.
        #[serde(with = "b64")]
        signature: Vec<u8>,
    },
}

/// One write that left the queue in a [`Outbox::flush`].
#[derive(Debug)]
pub struct Flushed {
    /// The node it was for.
    pub node: String,
    /// The write.
    pub op: OutboxOp,
    /// Done (`Ok`, with the node's answer for a submission) or dropped after a permanent
    /// refusal (`Err`).
    pub result: Result<Option<Submitted>, SyncError>,
}

/// Looks up a backup key share by its id (`None`: it no longer exists).
pub type ShareLookup<'a> = &'a dyn Fn(&[u8; 16]) -> Option<[u8; 32]>;

impl OutboxOp {
    /// Whether this write carries data up (a bundle, a backup key share) rather than a ledger
    /// entry or a deletion: uploads go after the ledger writes of their node.
    pub fn is_upload(&self) -> bool {
        matches!(self, OutboxOp::Upload { .. } | OutboxOp::PutShare { .. })
    }

    /// Performs the write against `client`.
    pub fn send(
        &self,
        client: &NodeClient,
        shares: ShareLookup<'_>,
    ) -> Result<Option<Submitted>, SyncError> {
        match self {
            OutboxOp::Submit {
                entry,
                grant,
                binding,
                salt,
            } => client
                .submit(entry, grant.as_deref(), binding.as_deref(), salt.as_ref())
                .map(Some),
            OutboxOp::Upload {
                grant_id,
                bundle,
                signature,
            } => client
                .upload_bundle(grant_id, bundle, &signature_of(signature)?)
                .map(|()| None),
            OutboxOp::Delete {
                grant_id,
                signature,
            } => client
                .delete_bundle(grant_id, &signature_of(signature)?)
                .map(|()| None),
            OutboxOp::PutShare {
                id,
                owner,
                signature,
            } => {
                let share =
                    zeroize::Zeroizing::new(shares(id).ok_or_else(|| SyncError::InvalidItem {
                        reason: "the backup key share to store no longer exists".to_owned(),
                    })?);
                client
                    .put_backup_share(id, &share, owner, &signature_of(signature)?)
                    .map(|()| None)
            }
            OutboxOp::DeleteShare { id, signature } => client
                .delete_backup_share(id, &signature_of(signature)?)
                .map(|()| None),
            OutboxOp::EndLink { id, signature } => client
                .end_link(id, &signature_of(signature)?)
                .map(|()| None),
        }
    }
}

fn signature_of(bytes: &[u8]) -> Result<Signature, SyncError> {
    Signature::from_slice(bytes).map_err(|_| SyncError::InvalidItem {
        reason: "the queued signature is not 64 bytes".to_owned(),
    })
}

/// The wait after `attempts` failures: `2^attempts` seconds, at most [`MAX_BACKOFF_SECS`].
pub fn backoff(attempts: u32) -> u64 {
    1u64.checked_shl(attempts)
        .unwrap_or(u64::MAX)
        .min(MAX_BACKOFF_SECS)
}

impl Outbox {
    /// Queues a write to `node`, due at once. The same write to the same node is queued once.
    pub fn push(&mut self, node: &str, op: OutboxOp, now: u64) {
        if self.items.iter().any(|i| i.node == node && i.op == op) {
            return;
        }
        self.items.push(OutboxItem {
            node: node.to_owned(),
            op,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
        });
    }

    /// The positions of the items due at `now`.
    pub fn due(&self, now: u64) -> Vec<usize> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.next_attempt_at <= now)
            .map(|(n, _)| n)
            .collect()
    }

    /// Makes every waiting write due at `now`: the patient (or a timer) asked to try again, so
    /// the backoff of earlier failures is not waited out.
    pub fn retry_now(&mut self, now: u64) {
        for item in &mut self.items {
            item.next_attempt_at = item.next_attempt_at.min(now);
        }
    }

    /// Drops the queued uploads of a grant's bundle (on every node): the grant is ending, and a
    /// bundle uploaded after its deletion would bring it back.
    pub fn cancel_uploads(&mut self, grant: &GrantId) {
        self.items
            .retain(|i| !matches!(&i.op, OutboxOp::Upload { grant_id, .. } if grant_id == grant));
    }

    /// Drops the queued storing of backup key share `share_id`: it is being deleted.
    pub fn cancel_share(&mut self, share_id: &[u8; 16]) {
        self.items
            .retain(|i| !matches!(&i.op, OutboxOp::PutShare { id, .. } if id == share_id));
    }

    /// Tries the due writes and returns the ones that left the queue: done or dropped after a
    /// permanent refusal (a 4xx status other than 408/429, or a malformed item).
    ///
    /// Ledger writes go first, in queue order per node; then uploads, in queue order per node.
    /// A transient failure (no connection, timeout, 408, 429, 5xx, garbled answer) keeps the
    /// item, records the error, backs off by [`backoff`] and holds back the node's later items
    /// of the same class until it goes through, as does an earlier item that is not yet due; a
    /// ledger write that waits also holds back the node's uploads (an upload may need the grant
    /// commitment before it), but a waiting upload never holds back a ledger write.
    pub fn flush(
        &mut self,
        now: u64,
        connect: &dyn Fn(&str) -> Result<NodeClient, SyncError>,
    ) -> Vec<Flushed> {
        self.flush_with_shares(now, connect, &|_| None)
    }

    /// [`Outbox::flush`], with the backup key shares its share uploads need.
    pub fn flush_with_shares(
        &mut self,
        now: u64,
        connect: &dyn Fn(&str) -> Result<NodeClient, SyncError>,
        shares: ShareLookup<'_>,
    ) -> Vec<Flushed> {
        let mut held_ledger: HashSet<String> = HashSet::new();
        let mut held_uploads: HashSet<String> = HashSet::new();
        let mut clients: HashMap<String, NodeClient> = HashMap::new();
        let mut finished = Vec::new();
        let mut items: Vec<Option<OutboxItem>> = std::mem::take(&mut self.items)
            .into_iter()
            .map(Some)
            .collect();
        for uploads in [false, true] {
            for slot in items.iter_mut() {
                let Some(item) = slot.as_mut() else { continue };
                if item.op.is_upload() != uploads {
                    continue;
                }
                let ledger_waits = uploads && held_ledger.contains(&item.node);
                let held = if uploads {
                    &mut held_uploads
                } else {
                    &mut held_ledger
                };
                if ledger_waits || held.contains(&item.node) || item.next_attempt_at > now {
                    held.insert(item.node.clone());
                    continue;
                }
                let client = match clients.get(&item.node) {
                    Some(c) => Ok(c),
                    None => match connect(&item.node) {
                        Ok(c) => Ok(&*clients.entry(item.node.clone()).or_insert(c)),
                        Err(e) => Err(e),
                    },
                };
                match client.and_then(|c| item.op.send(c, shares)) {
                    // A node we cannot even address keeps its writes: the setting may be fixed.
                    Err(e) if e.is_transient() || !clients.contains_key(&item.node) => {
                        item.attempts = item.attempts.saturating_add(1);
                        item.next_attempt_at = now.saturating_add(backoff(item.attempts));
                        item.last_error = Some(e.to_string());
                        held.insert(item.node.clone());
                    }
                    result => {
                        let item = slot.take().expect("matched as Some above");
                        finished.push(Flushed {
                            node: item.node,
                            op: item.op,
                            result,
                        });
                    }
                }
            }
        }
        self.items = items.into_iter().flatten().collect();
        finished
    }
}

/// Bytes as unpadded base64url strings, so the vault's JSON stays compact.
mod b64 {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&B64.encode(bytes))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        B64.decode(text).map_err(serde::de::Error::custom)
    }
}

mod b64_opt {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(
        bytes: &Option<Vec<u8>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&B64.encode(b)),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|t| B64.decode(t).map_err(serde::de::Error::custom))
            .transpose()
    }
}
