//! `tlog-proof` receipts: verified offline with pinned keys and a self-computed leaf hash.

use carekey_ledger::proof::Receipt;
use carekey_ledger::ProofError;
use carekey_sync::{verify_receipt, SyncError};

use crate::{grant_entry, grant_key, FakeLog, NOW};

fn receipt_for(log: &FakeLog, index: u64, cosigners: &[(usize, u64)]) -> String {
    let size = log.size();
    Receipt {
        index,
        proof: log.tree.inclusion_proof(index, size).unwrap(),
        checkpoint: log.note_of(&log.checkpoint_at(size), cosigners),
        extra: None,
    }
    .encode()
}

#[test]
fn a_good_receipt_verifies_long_after_it_was_issued() {
    let mut log = FakeLog::new();
    log.append_fillers(40);
    let entry = grant_entry(&grant_key(7), 1);
    let i = log.append(entry.clone());
    log.append_fillers(3);
    let receipt = receipt_for(&log, i, &[(0, NOW), (1, NOW)]);
    let pinned = log.pinned("m");
    verify_receipt(&receipt, &entry, &pinned, NOW).unwrap();
    // Receipts are kept: freshness does not apply to them.
    verify_receipt(&receipt, &entry, &pinned, NOW + 365 * 86_400).unwrap();
}

#[test]
fn a_receipt_for_another_entry_or_index_is_refused() {
    let mut log = FakeLog::new();
    log.append_fillers(40);
    let entry = grant_entry(&grant_key(7), 1);
    let i = log.append(entry.clone());
    let pinned = log.pinned("m");
    let receipt = receipt_for(&log, i, &[(0, NOW), (1, NOW)]);
    let err = verify_receipt(&receipt, &grant_entry(&grant_key(7), 2), &pinned, NOW).unwrap_err();
    assert!(
        matches!(err, SyncError::BadReceipt(ProofError::RootMismatch)),
        "{err}"
    );
    let other = receipt_for(&log, i - 1, &[(0, NOW), (1, NOW)]);
    let err = verify_receipt(&other, &entry, &pinned, NOW).unwrap_err();
    assert!(matches!(err, SyncError::BadReceipt(_)), "{err}");
    let err =
        verify_receipt("c2sp.org/tlog-proof@v1\nindex x\n", &entry, &pinned, NOW).unwrap_err();
    assert!(matches!(err, SyncError::BadReceipt(_)), "{err}");
}

#[test]
fn a_receipt_under_the_wrong_key_or_without_quorum_is_refused() {
    let mut log = FakeLog::new();
    let entry = grant_entry(&grant_key(7), 1);
    let i = log.append(entry.clone());
    let receipt = receipt_for(&log, i, &[(0, NOW), (1, NOW)]);
    let mut impostor = FakeLog::with_log_seed(42);
    impostor.append(entry.clone());
    let err = verify_receipt(&receipt, &entry, &impostor.pinned("m"), NOW).unwrap_err();
    assert!(matches!(err, SyncError::BadCheckpoint(_)), "{err}");
    let thin = receipt_for(&log, i, &[(1, NOW)]);
    let err = verify_receipt(&thin, &entry, &log.pinned("m"), NOW).unwrap_err();
    assert!(
        matches!(err, SyncError::NoQuorum { have: 1, need: 2 }),
        "{err}"
    );
}
