//! Backups, and the backup key shares that make a backup made before an erasure stop opening.
//!
//! Backups are sealed to the recovery kit *and* mixed with a 32-byte key share (a version-2
//! backup, `carekey_vault::BackupShare`). The wallet stores the share on every remote ledger
//! node it pins (their deletable store, protocol §3.5). An erasure replaces the share,
//! re-writes the backups it knows with the new one and deletes the old one from the nodes, so
//! a backup copied by hand before the erasure — even with the recovery words — no longer
//! opens once the nodes have deleted it. A restore fetches the share from any node the backup
//! names. With no remote node pinned, backups carry no share (version 1) and the receipt says
//! what that cannot reach.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use carekey_crypto::{AgreementPublic, SigningKey};
use carekey_model::ledger::{share_delete_message, share_put_message};
use carekey_sync::{NodeClient, OutboxOp};
use carekey_vault::{BackupShare, Vault};

use super::session::PatientSession;
use crate::state::{BackupShareState, SecretBytes};
use crate::{crash, WalletError};

/// Why a backup could not be restored, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// A backup's key share was deleted from every node the backup names: an erasure happened
    /// after the backup was made, so it no longer opens (by design).
    #[error(
        "this backup was made before an erasure: its key share was deleted from {} (every node it names); restore a newer backup",
        nodes.join(", ")
    )]
    ShareGone {
        /// The nodes the backup names.
        nodes: Vec<String>,
    },
    /// No node the backup names answered with its key share.
    #[error(
        "this backup needs its key share from a ledger node, and none answered: {}{}",
        nodes.join("; "),
        if deleted.is_empty() { String::new() } else { format!(" (deleted on {})", deleted.join(", ")) }
    )]
    ShareUnreachable {
        /// The nodes that could not be reached, with why.
        nodes: Vec<String>,
        /// The nodes that answered that the share is gone.
        deleted: Vec<String>,
    },
    /// A schedule interval outside 1–90 days.
    #[error("back up every 1 to 90 days, not {0}")]
    BadInterval(u32),
    /// The backup folder is not there (a drive not plugged in, a folder deleted).
    #[error("the backup folder {} is not there (is the drive plugged in?)", .0.display())]
    FolderMissing(PathBuf),
}

impl BackupError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            BackupError::ShareGone { .. } => "backup_share_gone",
            BackupError::ShareUnreachable { .. } => "backup_share_unreachable",
            BackupError::BadInterval(_) => "bad_interval",
            BackupError::FolderMissing(_) => "backup_folder_missing",
        }
    }
}

/// The wallet's backups. Borrow it with [`PatientWallet::backups`](super::PatientWallet::backups).
#[derive(Debug)]
pub struct Backups<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl<'a> Backups<'a> {
    /// Writes an encrypted backup to `out` (sealed to the recovery kit) and remembers it, so
    /// that later erasures re-write it.
    ///
    /// With a remote ledger node pinned, the backup is also sealed with the wallet's backup key
    /// share (queued for those nodes, replaced and deleted there by every erasure), so a copy of
    /// it stops opening after an erasure. Restoring it needs one of those nodes to have stored
    /// the share: [`Self::share_pending`] lists those that have not yet.
    pub fn write(&mut self, out: &Path, now: u64) -> Result<PathBuf, WalletError> {
        let out = std::path::absolute(out).map_err(|e| WalletError::io("resolving", out, e))?;
        if !self.s.state.backups.contains(&out) {
            self.s.state.backups.push(out.clone());
            self.s.save()?;
        }
        let share = current_share(self.s, now)?;
        self.s
            .vault
            .write_backup_with(&out, &recovery_public(self.s), share.as_ref())?;
        self.s.state.backup_times.insert(out.clone(), now);
        self.s.save()?;
        Ok(out)
    }

    /// Backup files this wallet knows about.
    pub fn list(self) -> &'a [PathBuf] {
        &self.s.state.backups
    }

    /// Nodes that have not yet stored the current backup key share (offline): a backup needs
    /// one of its nodes to hold the share before it can be restored.
    pub fn share_pending(&self) -> Vec<String> {
        self.s
            .state
            .outbox
            .items
            .iter()
            .filter(|i| matches!(i.op, OutboxOp::PutShare { .. }))
            .map(|i| i.node.clone())
            .collect()
    }

    /// The nodes the current backup key share was given to (empty: backups carry no share).
    pub fn share_nodes(&self) -> Vec<String> {
        self.s
            .state
            .backup_share
            .as_ref()
            .map(|s| s.nodes.clone())
            .unwrap_or_default()
    }

    /// Whether backups are sealed with a key share (a remote node is pinned).
    pub fn need_share(&self) -> bool {
        need_share(self.s)
    }
}

fn recovery_public(s: &PatientSession) -> AgreementPublic {
    let mut bytes = [0u8; 32];
    let stored = &s.state.recovery_public;
    bytes.copy_from_slice(&stored[..32.min(stored.len())]);
    AgreementPublic::from_bytes(bytes)
}

/// Re-writes every known backup that still exists, so none holds a destroyed key (with the
/// current backup key share: a new one after an erasure retired the old). Returns the
/// backups re-written and, one line each, those that could not be; while any could not,
/// the wallet remembers it and every sync tries again.
pub(super) fn rewrite_or_mark(s: &mut PatientSession, now: u64) -> (Vec<PathBuf>, Vec<String>) {
    let existing: Vec<PathBuf> = s
        .state
        .backups
        .iter()
        .filter(|b| b.exists())
        .cloned()
        .collect();
    let mut written = Vec::new();
    let mut problems = Vec::new();
    if !existing.is_empty() {
        match current_share(s, now) {
            Ok(share) => {
                for backup in existing {
                    match s
                        .vault
                        .write_backup_with(&backup, &recovery_public(s), share.as_ref())
                    {
                        Ok(()) => written.push(backup),
                        Err(e) => problems.push(format!(
                            "backup {} could not be re-written ({e}); retried on the next sync",
                            backup.display()
                        )),
                    }
                    crash::point("backup.rewritten");
                }
            }
            Err(e) => problems.push(format!(
                "backups could not be re-written ({e}); retried on the next sync"
            )),
        }
    }
    let stale = !problems.is_empty();
    if s.state.backups_stale != stale {
        s.state.backups_stale = stale;
        // Only a hint for the next sync; the erasure itself is already committed.
        let _ = s.save();
    }
    (written, problems)
}

/// Re-writes the known backups if an earlier re-write failed; returns what still fails.
pub(super) fn retry_stale(s: &mut PatientSession, now: u64) -> Vec<String> {
    if !s.state.backups_stale {
        return Vec::new();
    }
    rewrite_or_mark(s, now).1
}

/// Receipt lines for a retired backup key share: deleted on which nodes, still queued for
/// which.
pub(super) fn share_deletion(s: &PatientSession, nodes: &[String]) -> Vec<String> {
    let (pending, done): (Vec<&String>, Vec<&String>) = nodes.iter().partition(|url| {
        s.state
            .outbox
            .items
            .iter()
            .any(|i| &i.node == *url && matches!(i.op, OutboxOp::DeleteShare { .. }))
    });
    let join = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    let mut lines = Vec::new();
    if !done.is_empty() {
        lines.push(format!(
            "the backup key share on {} (so backups made before now no longer open)",
            join(&done)
        ));
    }
    if !pending.is_empty() {
        lines.push(format!(
            "the backup key share on {}: deletion queued (node unreachable; retried on the next sync)",
            join(&pending)
        ));
    }
    lines
}

/// The remote nodes that hold backup key shares.
fn share_holders(s: &PatientSession) -> Vec<String> {
    s.state
        .logs
        .iter()
        .filter(|l| !l.local)
        .map(|l| l.pinned.url.clone())
        .collect()
}

pub(super) fn need_share(s: &PatientSession) -> bool {
    !share_holders(s).is_empty()
}

/// The share new backups are sealed with: the current one (also queued to remote nodes
/// pinned since), or a new one when there is none yet. `None` with no remote node.
pub(super) fn current_share(
    s: &mut PatientSession,
    now: u64,
) -> Result<Option<BackupShare>, WalletError> {
    let nodes = share_holders(s);
    if nodes.is_empty() {
        return Ok(None);
    }
    let (mut share, secret) = match (s.state.backup_share.take(), &s.keys.backup_share) {
        (Some(share), Some(secret)) => (share, secret.0.clone()),
        _ => {
            let secret = Zeroizing::new(carekey_crypto::random_array());
            s.keys.backup_share = Some(SecretBytes(secret.clone()));
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
            s.state.outbox.push(
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
    s.state.backup_share = Some(share);
    // Only a new share, or one queued to new nodes, needs saving (the ledger agent sends it).
    if changed {
        s.save()?;
    }
    Ok(Some(vault_share))
}

/// For an erasure: queues the deletion of the current share on its nodes and forgets it;
/// the next backup makes a new one. Returns the nodes the old share is being deleted from.
pub(super) fn retire_share(s: &mut PatientSession, now: u64) -> Vec<String> {
    let Some(old) = s.state.backup_share.take() else {
        return Vec::new();
    };
    s.keys.backup_share = None;
    // A share still waiting to be stored must not reach a node after its deletion.
    s.state.outbox.cancel_share(&old.id);
    let owner = SigningKey::from_bytes(&old.owner.0);
    let signature = owner
        .sign(&share_delete_message(&old.id))
        .to_bytes()
        .to_vec();
    for url in &old.nodes {
        s.state.outbox.push(
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
pub(super) fn share_secret(s: &PatientSession, id: &[u8; 16]) -> Option<Zeroizing<[u8; 32]>> {
    let share = s.state.backup_share.as_ref()?;
    let secret = s.keys.backup_share.as_ref()?;
    (share.id == *id).then(|| secret.0.clone())
}

/// The key share a version-2 backup needs, fetched from the nodes its header names; every
/// share a node offers is tried (a node could answer with a wrong one). `Ok(None)` for a
/// backup without a share. Restoring happens before any wallet is open: no lock is held.
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
        return Err(BackupError::ShareGone {
            nodes: needed.nodes,
        }
        .into());
    }
    Err(BackupError::ShareUnreachable {
        nodes: unreachable,
        deleted,
    }
    .into())
}
