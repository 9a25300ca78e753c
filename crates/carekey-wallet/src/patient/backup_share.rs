//! Backup key shares: what makes a backup made before an erasure stop opening.
//!
//! Backups are sealed to the recovery kit *and* mixed with a 32-byte key share (a version-2
//! backup, `carekey_vault::BackupShare`). The wallet stores the share on every remote ledger
//! node it pins (their deletable store, protocol §3.5). An erasure replaces the share,
//! re-writes the backups it knows with the new one and deletes the old one from the nodes, so
//! a backup copied by hand before the erasure — even with the recovery words — no longer
//! opens once the nodes have deleted it. A restore fetches the share from any node the backup
//! names. With no remote node pinned, backups carry no share (version 1) and the receipt says
//! what that cannot reach.

use std::path::Path;

use carekey_crypto::SigningKey;
use carekey_model::ledger::{share_delete_message, share_put_message};
use carekey_sync::{NodeClient, OutboxOp};
use carekey_vault::{BackupShare, Vault};
use zeroize::Zeroizing;

use super::PatientWallet;
use crate::state::{BackupShareState, SecretBytes};
use crate::WalletError;

impl PatientWallet {
    /// Marks a pinned node as running on this device (the app's embedded node): it gets no
    /// backup key share, since losing the device would lose the share with it.
    pub fn set_node_local(&mut self, url: &str, local: bool) -> Result<(), WalletError> {
        let url = super::normalise_node(url)?;
        let log = self
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
        self.save()
    }

    /// The remote nodes that hold backup key shares.
    fn share_nodes(&self) -> Vec<String> {
        self.state
            .logs
            .iter()
            .filter(|l| !l.local)
            .map(|l| l.pinned.url.clone())
            .collect()
    }

    /// The share new backups are sealed with: the current one (also queued to remote nodes
    /// pinned since), or a new one when there is none yet. `None` with no remote node.
    pub(super) fn backup_share(&mut self, now: u64) -> Result<Option<BackupShare>, WalletError> {
        let nodes = self.share_nodes();
        if nodes.is_empty() {
            return Ok(None);
        }
        let (mut share, secret) = match (self.state.backup_share.take(), &self.keys.backup_share) {
            (Some(share), Some(secret)) => (share, secret.0.clone()),
            _ => {
                let secret = Zeroizing::new(carekey_crypto::random_array());
                self.keys.backup_share = Some(SecretBytes(secret.clone()));
                let share = BackupShareState {
                    id: carekey_crypto::random_array(),
                    legacy_secret: None,
                    owner: SecretBytes(Zeroizing::new(carekey_crypto::random_array())),
                    nodes: Vec::new(),
                };
                (share, secret)
            }
        };
        let missing: Vec<String> = nodes
            .into_iter()
            .filter(|u| !share.nodes.contains(u))
            .collect();
        let changed = !missing.is_empty();
        if changed {
            let owner = SigningKey::from_bytes(&share.owner.0);
            let signature = owner
                .sign(&share_put_message(&share.id, &secret))
                .to_bytes()
                .to_vec();
            for url in missing {
                self.state.outbox.push(
                    &url,
                    OutboxOp::PutShare {
                        id: share.id,
                        owner: *owner.public().as_bytes(),
                        signature: signature.clone(),
                    },
                    now,
                );
                share.nodes.push(url);
            }
        }
        let vault_share = BackupShare {
            id: share.id,
            secret,
            nodes: share.nodes.clone(),
        };
        self.state.backup_share = Some(share);
        // Only a new share, or one queued to new nodes, needs saving and sending.
        if changed {
            self.save()?;
            self.flush_outbox(now);
        }
        Ok(Some(vault_share))
    }

    /// For an erasure: queues the deletion of the current share on its nodes and forgets it;
    /// the next [`Self::backup_share`] makes a new one. Returns the nodes the old share is
    /// being deleted from.
    pub(super) fn retire_backup_share(&mut self, now: u64) -> Vec<String> {
        let Some(old) = self.state.backup_share.take() else {
            return Vec::new();
        };
        self.keys.backup_share = None;
        // A share still waiting to be stored must not reach a node after its deletion.
        self.state.outbox.cancel_share(&old.id);
        let owner = SigningKey::from_bytes(&old.owner.0);
        let signature = owner
            .sign(&share_delete_message(&old.id))
            .to_bytes()
            .to_vec();
        for url in &old.nodes {
            self.state.outbox.push(
                url,
                OutboxOp::DeleteShare {
                    id: old.id,
                    signature: signature.clone(),
                },
                now,
            );
        }
        old.nodes
    }

    /// The current backup key share, for the outbox's share uploads (`None` for any other id:
    /// a retired share is gone for good).
    pub(super) fn share_secret(&self, id: &[u8; 16]) -> Option<[u8; 32]> {
        let share = self.state.backup_share.as_ref()?;
        let secret = self.keys.backup_share.as_ref()?;
        (share.id == *id).then(|| *secret.0)
    }

    /// Moves a backup key share found in the state document (state files written before it
    /// lived in the key index) into the key index. Returns whether anything moved.
    pub(super) fn migrate_backup_share(&mut self) -> bool {
        let Some(secret) = self
            .state
            .backup_share
            .as_mut()
            .and_then(|s| s.legacy_secret.take())
        else {
            return false;
        };
        self.keys.backup_share.get_or_insert(secret);
        true
    }

    /// Nodes that have not yet stored the current backup key share (offline): a backup needs
    /// one of its nodes to hold the share before it can be restored.
    pub fn backup_share_pending(&self) -> Vec<String> {
        self.state
            .outbox
            .items
            .iter()
            .filter(|i| matches!(i.op, OutboxOp::PutShare { .. }))
            .map(|i| i.node.clone())
            .collect()
    }

    /// The nodes the current backup key share was given to (empty: backups carry no share).
    pub fn backup_share_nodes(&self) -> Vec<String> {
        self.state
            .backup_share
            .as_ref()
            .map(|s| s.nodes.clone())
            .unwrap_or_default()
    }

    /// Whether backups are sealed with a key share (a remote node is pinned).
    pub fn backups_need_share(&self) -> bool {
        !self.share_nodes().is_empty()
    }
}

/// The key share a version-2 backup needs, fetched from the nodes its header names; every
/// share a node offers is tried (a node could answer with a wrong one). `Ok(None)` for a
/// backup without a share.
pub(super) fn shares_for(backup: &Path) -> Result<Option<Vec<[u8; 32]>>, WalletError> {
    let Some(needed) = Vault::backup_share_needed(backup)? else {
        return Ok(None);
    };
    let mut shares = Vec::new();
    let mut unreachable = Vec::new();
    let mut deleted = Vec::new();
    for url in &needed.nodes {
        match NodeClient::new(url).and_then(|c| c.backup_share(&needed.id)) {
            Ok(Some(share)) => {
                if !shares.contains(&share) {
                    shares.push(share);
                }
            }
            Ok(None) => deleted.push(url.clone()),
            Err(e) => unreachable.push(format!("{url} ({e})")),
        }
    }
    if !shares.is_empty() {
        return Ok(Some(shares));
    }
    if unreachable.is_empty() {
        return Err(WalletError::BackupShareGone {
            nodes: needed.nodes,
        });
    }
    Err(WalletError::BackupShareUnreachable {
        nodes: unreachable,
        deleted,
    })
}
