//! `tlog-proof` receipts: verified offline with pinned keys and a self-computed leaf hash.

use carekey_ledger::proof::Receipt;
use carekey_ledger::ProofError;
use carekey_sync::{verify_receipt, verify_submission_receipt, SyncError};

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

/// Issue 8, hole 10: the receipt a node answers to a submission is checked before the wallet
/// keeps it: the pinned log's signature, the pin's witness quorum, the submitted entry's
/// inclusion (leaf hash computed here) and the index the node acknowledged.
#[test]
fn issue8_a_submission_receipt_is_verified_before_it_is_kept() {
    let mut log = FakeLog::new();
    log.append_fillers(40);
    let entry = grant_entry(&grant_key(7), 1);
    let i = log.append(entry.clone());
    log.append_fillers(2);
    let pinned = log.pinned("m");
    let good = receipt_for(&log, i, &[(0, NOW), (1, NOW)]);
    let opened = verify_submission_receipt(&good, &entry, i, &pinned, NOW).unwrap();
    assert_eq!(opened.checkpoint.size, log.size());

    // Acknowledged at one index, proved at another.
    let err = verify_submission_receipt(&good, &entry, i + 1, &pinned, NOW).unwrap_err();
    assert!(
        matches!(err, SyncError::ReceiptIndex { acknowledged, proved } if acknowledged == i + 1 && proved == i),
        "{err}"
    );
    // Not the submitted entry.
    let other = grant_entry(&grant_key(7), 2);
    let err = verify_submission_receipt(&good, &other, i, &pinned, NOW).unwrap_err();
    assert!(matches!(err, SyncError::BadReceipt(_)), "{err}");
    // Fewer cosignatures than the pin requires.
    let thin = receipt_for(&log, i, &[(0, NOW)]);
    let err = verify_submission_receipt(&thin, &entry, i, &pinned, NOW).unwrap_err();
    assert!(
        matches!(err, SyncError::NoQuorum { have: 1, need: 2 }),
        "{err}"
    );
    // Signed by another key of the same name.
    let mut forged_log = FakeLog::with_log_seed(9);
    for e in &log.entries {
        forged_log.append(e.clone());
    }
    let forged = receipt_for(&forged_log, i, &[(0, NOW), (1, NOW)]);
    let err = verify_submission_receipt(&forged, &entry, i, &pinned, NOW).unwrap_err();
    assert!(matches!(err, SyncError::BadCheckpoint(_)), "{err}");
    // Garbage.
    let err = verify_submission_receipt("not a receipt", &entry, i, &pinned, NOW).unwrap_err();
    assert!(matches!(err, SyncError::BadReceipt(_)), "{err}");
}
