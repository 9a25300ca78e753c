//! Crypto-erasure: of one record, of what one grant shared, of the whole wallet. Each is one
//! state write with a fresh epoch key (the old one destroyed) holding every ledger write the
//! erasure implies; the receipt says what was destroyed and what is still on its way.

use carekey_model::{ErasureSubject, GrantId, RecordId, Signed, SignedTombstone, Tombstone};
use carekey_vault::atomic;

use super::grants::RevokeOutcome;
use super::receipt::{ErasureReceipt, LedgerProof, ReceiptDraft, RECEIPT_FORMAT};
use super::session::PatientSession;
use super::{backups, ending, flush, health_links, nodes, publish, records};
use crate::records::record_path;
use crate::state::{ByteDoc, GrantStatus};
use crate::{crash, journal, WalletError};

/// Erasure of records and grants. Borrow it with
/// [`PatientWallet::erasure`](super::PatientWallet::erasure); erasing the whole wallet is
/// [`PatientWallet::erase_all`](super::PatientWallet::erase_all), since it consumes it.
#[derive(Debug)]
pub struct Erasure<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl Erasure<'_> {
    /// Crypto-erases one record: its key leaves the key index, the epoch key that sealed the old
    /// index is destroyed, the ciphertext is deleted, known backups are re-written.
    pub fn erase_record(&mut self, id: &RecordId, now: u64) -> Result<ErasureReceipt, WalletError> {
        let s = &mut *self.s;
        let entry = records::entry(s, id)?.clone();
        let tombstone = Signed::sign(
            Tombstone {
                patient_signing: s.public_key(),
                subject: ErasureSubject::Record { record_id: *id },
                ciphertext_hashes: vec![super::hash32(&entry.ciphertext_hash)?],
                erased_at: now,
            },
            &s.signing_key(),
        )?;
        let old_epoch = s.vault.epoch();
        // In memory up to the one state write that commits the erasure with all the ledger
        // work it implies; a failure before it puts back what is on disk.
        let prepared = prepare_record_erasure(s, id, &tombstone, now);
        let share_nodes = s.commit_or_reload(prepared, "record-erasure.prepared")?;
        crash::point("record-erasure.committed");
        let file = record_path(&s.vault.records_dir(), id, entry.version);
        s.remove_files(std::slice::from_ref(&file));
        let (rewritten, backup_problems) = backups::rewrite_or_mark(s, now);
        let mut destroyed = vec![
            format!(
                "the record key in the key index (sealed anew under epoch {})",
                s.vault.epoch()
            ),
            format!(
                "the epoch {old_epoch} device secret in {}",
                s.vault.store_description()
            ),
            format!("the ciphertext file {}", file.display()),
        ];
        destroyed.extend(
            rewritten
                .iter()
                .map(|b| format!("the record key in backup {} (re-written)", b.display())),
        );
        let draft = ReceiptDraft {
            tombstone,
            destroyed,
            share_nodes,
            problems: backup_problems,
        };
        Ok(receipt(s, format!("record {id} ({})", entry.title), draft))
    }

    /// Erases what was shared under one grant: ends the grant and re-keys every record it
    /// covered, so the key wraps the provider holds open nothing the wallet still keeps. Like a
    /// revocation, the erasure and every ledger write it implies are one state write.
    pub fn erase_grant(
        &mut self,
        grant_id: &GrantId,
        now: u64,
    ) -> Result<(ErasureReceipt, RevokeOutcome), WalletError> {
        let s = &mut *self.s;
        let entry = s.grant_entry(grant_id)?.clone();
        let hashes: Vec<[u8; 32]> = entry
            .records
            .iter()
            .filter_map(|id| s.state.records.get(id))
            .map(|r| super::hash32(&r.ciphertext_hash))
            .collect::<Result<_, _>>()?;
        let old_epoch = s.vault.epoch();
        let tombstone = Signed::sign(
            Tombstone {
                patient_signing: s.public_key(),
                subject: ErasureSubject::Grant {
                    grant_id: *grant_id,
                },
                ciphertext_hashes: hashes,
                erased_at: now,
            },
            &s.signing_key(),
        )?;
        s.state
            .tombstones
            .push(ByteDoc(tombstone.as_bytes().to_vec()));
        let share_nodes = backups::retire_share(s, now);
        let outcome = match ending::end_grant(
            s,
            grant_id,
            GrantStatus::Erased { at: now },
            Some(&tombstone),
            now,
        ) {
            Ok(outcome) => outcome,
            Err(e) => {
                s.reload_after_failure();
                return Err(e);
            }
        };
        let destroyed = vec![
            format!(
                "the keys of the {} record version(s) shared under the grant (re-keyed)",
                outcome.rekeyed.len()
            ),
            format!(
                "the epoch {old_epoch} device secret in {}",
                s.vault.store_description()
            ),
            "the ciphertext versions the provider received".to_owned(),
        ];
        let draft = ReceiptDraft {
            tombstone,
            destroyed,
            share_nodes,
            problems: outcome.backup_problems.clone(),
        };
        Ok((receipt(s, format!("grant {grant_id}"), draft), outcome))
    }

    /// Makes `receipt` again from what the wallet knows now: after the ledger agent sent the
    /// erasure's writes, it carries the nodes' inclusion proofs and lists only what is still
    /// pending. A receipt read back from a file (no draft) is left as it is.
    pub fn refresh(&self, receipt: &mut ErasureReceipt) {
        if let Some(draft) = receipt.draft.take() {
            *receipt = self::receipt(self.s, receipt.subject.clone(), draft);
        }
    }

    /// Signed tombstones of every erasure so far.
    pub fn tombstones(&self) -> Vec<SignedTombstone> {
        self.s
            .state
            .tombstones
            .iter()
            .filter_map(|t| SignedTombstone::from_bytes(&t.0).ok())
            .collect()
    }
}

/// The in-memory half of erasing a record: forgets it and its key, keeps the tombstone,
/// queues the erasure entry on every pinned node, retires the backup key share and queues
/// the bundles of active grants that shared it again without it (so the nodes' off-log
/// copy of its ciphertext and key wrap goes too).
fn prepare_record_erasure(
    s: &mut PatientSession,
    id: &RecordId,
    tombstone: &SignedTombstone,
    now: u64,
) -> Result<Vec<String>, WalletError> {
    s.state.records.remove(id);
    s.keys.records.remove(id);
    // A card's issuer and dates go with its record.
    s.state.cards.remove(id);
    s.state
        .tombstones
        .push(ByteDoc(tombstone.as_bytes().to_vec()));
    publish::record_erasure(s, tombstone, now)?;
    // A link that carries the record (or a summary made from it) must not keep serving it.
    health_links::end_links_with(s, id, now);
    let share_nodes = backups::retire_share(s, now);
    let sharing: Vec<GrantId> = s
        .state
        .grants
        .iter()
        .filter(|(_, g)| g.status == GrantStatus::Active && g.records.contains(id))
        .map(|(grant_id, _)| *grant_id)
        .collect();
    for grant_id in &sharing {
        publish::bundle(s, grant_id, now)?;
    }
    Ok(share_nodes)
}

/// Erases the whole wallet (see [`PatientWallet::erase_all`](super::PatientWallet::erase_all)).
pub(super) fn erase_all(mut s: PatientSession, now: u64) -> Result<ErasureReceipt, WalletError> {
    let hashes: Vec<[u8; 32]> = s
        .state
        .records
        .values()
        .map(|r| super::hash32(&r.ciphertext_hash))
        .collect::<Result<_, _>>()?;
    let tombstone = Signed::sign(
        Tombstone {
            patient_signing: s.public_key(),
            subject: ErasureSubject::Wallet,
            ciphertext_hashes: hashes,
            erased_at: now,
        },
        &s.signing_key(),
    )?;
    // Every grant a node may still serve: active, expired (the node may not have swept it
    // yet) or revoked (its bundle may still be stored).
    let live: Vec<GrantId> = s
        .state
        .grants
        .iter()
        .filter(|(_, g)| !matches!(g.status, GrantStatus::Erased { .. }))
        .map(|(id, _)| *id)
        .collect();
    for grant_id in &live {
        publish::end_of_grant(&mut s, grant_id, Some(&tombstone), now)?;
        if let Some(g) = s.state.grants.get_mut(grant_id) {
            g.status = GrantStatus::Erased { at: now };
        }
    }
    publish::record_erasure(&mut s, &tombstone, now)?;
    health_links::end_all(&mut s, now);
    // The backup key share is deleted while it can still be signed for.
    let share_nodes = backups::retire_share(&mut s, now);
    s.state.outbox = journal::journal_items(&s.state.outbox);
    let vault_dir = s.vault.dir().to_path_buf();
    journal::write(&vault_dir, &s.state.outbox)?;
    crash::point("erase-all.journal-written");
    // The wallet is no longer shared with anyone (it was consumed), so sending here holds no
    // lock: the signed writes go out while the receipt can still carry their proofs.
    flush::flush_now(&mut s, now);
    journal::write(&vault_dir, &s.state.outbox)?;
    let mut destroyed = vec![
        format!(
            "{} record keys and the identity keys",
            s.state.records.len()
        ),
        format!(
            "every device secret of the wallet in {}",
            s.vault.store_description()
        ),
        format!("the vault directory {}", s.vault.dir().display()),
    ];
    let mut problems = Vec::new();
    for backup in std::mem::take(&mut s.state.backups) {
        if backup.exists() {
            match atomic::remove(&backup) {
                Ok(()) => destroyed.push(format!("backup {}", backup.display())),
                Err(e) => problems.push(format!(
                    "backup {} could not be deleted ({e}): delete it yourself",
                    backup.display()
                )),
            }
        }
    }
    if !live.is_empty() {
        destroyed.push(format!(
            "{} grant(s) ended on their ledger nodes (revoked, bundles deleted)",
            live.len()
        ));
    }
    let draft = ReceiptDraft {
        tombstone,
        destroyed,
        share_nodes,
        problems,
    };
    let mut receipt = receipt(&s, "wallet".to_owned(), draft);
    // Nothing is left to refresh it from.
    receipt.draft = None;
    if !s.state.outbox.items.is_empty() {
        receipt.pending.push(format!(
            "kept in the erasure journal {} (signed messages only, no keys) and sent by every `carekey sync` until each node has them",
            journal::journal_path(&vault_dir).display()
        ));
    }
    crash::point("erase-all.before-destroy");
    s.vault.destroy()?;
    Ok(receipt)
}

fn receipt(s: &PatientSession, subject: String, draft: ReceiptDraft) -> ErasureReceipt {
    let t = draft.tombstone.document();
    let mut destroyed = draft.destroyed.clone();
    destroyed.extend(backups::share_deletion(s, &draft.share_nodes));
    let mut pending = draft.problems.clone();
    pending.extend(nodes::outbox_nodes(&s.state.outbox).into_iter().map(|n| {
        format!(
            "{}: {} ledger write(s) still queued ({}); retried on every sync",
            n.url,
            n.pending,
            n.last_error.as_deref().unwrap_or("not sent yet")
        )
    }));
    ErasureReceipt {
        format: RECEIPT_FORMAT.to_owned(),
        subject,
        erased_at: t.erased_at,
        patient_key: t.patient_signing.to_string(),
        tombstone: super::base64url(draft.tombstone.as_bytes()),
        ciphertext_hashes: t.ciphertext_hashes.iter().map(hex::encode).collect(),
        destroyed,
        ledger: publish::erasure_publications(s, &draft.tombstone)
            .into_iter()
            .filter_map(|(p, entry, salt)| {
                let log = s.state.logs.iter().find(|l| l.pinned.url == p.node)?;
                Some(LedgerProof {
                    node: p.node,
                    log_key: log.pinned.log_key.clone(),
                    witness_keys: log.pinned.witness_keys.clone(),
                    quorum: log.pinned.quorum,
                    index: p.index,
                    entry: super::base64url(&entry),
                    salt: super::base64url(&salt),
                    receipt: p.receipt,
                })
            })
            .collect(),
        ledger_pending: s.state.outbox.items.len(),
        pending,
        limits: vec![
            "Copies a provider already decrypted, or printed, are out of the wallet's reach."
                .to_owned(),
            "Plaintext or key files you exported yourself are not tracked.".to_owned(),
            if backups::need_share(s) {
                "A backup made before this erasure — even one copied by hand — stops opening once the ledger nodes have deleted its key share; a node that keeps data it was asked to delete could still open it together with that backup and the recovery words.".to_owned()
            } else {
                "A backup copied by hand to a place the wallet does not know, together with the recovery words, still holds the keys as they were when it was written (pin a remote ledger node so backups carry a key share that erasure deletes).".to_owned()
            },
        ],
        draft: Some(draft),
    }
}
