//! What a wallet or auditor pays to verify the log.
//!
//! - `full_audit_100k`: 100,000 signed entries, as a full audit sees them: batch-verify the
//!   100,000 Ed25519 signatures (`carekey_crypto::verify_batch`, batches of 1,024), compute the
//!   100,000 leaf hashes, rebuild the root and check it against a signed checkpoint. Goal
//!   (SPEC §6): ≤ 2 s on the 2-core reference machine. Measured on one thread and on two.
//! - `incremental_1k`: the step of a sync that finds 1,000 new entries: their leaf hashes, the
//!   new checkpoint opened, and the consistency proof from the old size verified.
#![allow(clippy::unwrap_used)]

use criterion::{criterion_group, criterion_main, Criterion};

use carekey_crypto::{verify_batch, PublicKey, Signature, SigningKey};
use carekey_ledger::note::{open_checkpoint, write_note, Checkpoint, NoteKey};
use carekey_ledger::{leaf_hash, verify_consistency, Hash, Tree};

const ENTRIES: usize = 100_000;
const BATCH: usize = 1_024;
const SIGNERS: usize = 64;
const NOW: u64 = 1_700_000_000;

/// One log entry as the audit sees it: an opaque payload signed by a patient or provider key.
struct Entry {
    bytes: Vec<u8>,
    signed_len: usize,
    signature: Signature,
    key: PublicKey,
}

fn entries() -> Vec<Entry> {
    let keys: Vec<SigningKey> = (0..SIGNERS)
        .map(|i| SigningKey::from_bytes(&[i as u8 + 1; 32]))
        .collect();
    (0..ENTRIES)
        .map(|i| {
            // ~120 bytes of payload (a commitment, a pseudonymous tag, a time), then the
            // signature, so the leaf hash covers both.
            let mut bytes = format!("carekey/v1 grant {i:08} ").into_bytes();
            bytes.extend_from_slice(&carekey_crypto::sha256(&(i as u64).to_be_bytes()));
            bytes.extend_from_slice(&[0x5a; 64]);
            let signed_len = bytes.len();
            let key = &keys[i % SIGNERS];
            let signature = key.sign(&bytes);
            bytes.extend_from_slice(&signature.to_bytes());
            Entry {
                bytes,
                signed_len,
                signature,
                key: key.public(),
            }
        })
        .collect()
}

fn verify_signatures(entries: &[Entry]) {
    for chunk in entries.chunks(BATCH) {
        let messages: Vec<&[u8]> = chunk.iter().map(|e| &e.bytes[..e.signed_len]).collect();
        let signatures: Vec<Signature> = chunk.iter().map(|e| e.signature).collect();
        let keys: Vec<PublicKey> = chunk.iter().map(|e| e.key).collect();
        verify_batch(&messages, &signatures, &keys).unwrap();
    }
}

fn leaf_hashes(entries: &[Entry]) -> Vec<Hash> {
    entries.iter().map(|e| leaf_hash(&e.bytes)).collect()
}

fn audit(entries: &[Entry], note: &str, log: &NoteKey, threads: usize) {
    let cp = open_checkpoint(note, &log.verifier(), &[], NOW).unwrap();
    let per = entries.len().div_ceil(threads);
    let leaves: Vec<Hash> = std::thread::scope(|s| {
        let handles: Vec<_> = entries
            .chunks(per)
            .map(|part| {
                s.spawn(move || {
                    verify_signatures(part);
                    leaf_hashes(part)
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let tree = Tree::from_leaf_hashes(leaves);
    assert_eq!(tree.size(), cp.checkpoint.size);
    assert_eq!(tree.root(), cp.checkpoint.root);
}

fn signed_checkpoint(log: &NoteKey, tree: &Tree) -> String {
    let cp = Checkpoint {
        origin: log.name().to_owned(),
        size: tree.size(),
        root: tree.root(),
        extensions: vec![],
    };
    let body = cp.body();
    write_note(&body, &[log.sign(&body)])
}

fn bench(c: &mut Criterion) {
    let log = NoteKey::new(
        "ledger.example.org/carekey",
        SigningKey::from_bytes(&[9; 32]),
    )
    .unwrap();
    let entries = entries();
    let tree = Tree::from_leaf_hashes(leaf_hashes(&entries));
    let note = signed_checkpoint(&log, &tree);

    let mut g = c.benchmark_group("ledger");
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(12));
    g.bench_function("full_audit_100k_1_thread", |b| {
        b.iter(|| audit(&entries, &note, &log, 1))
    });
    g.bench_function("full_audit_100k_2_threads", |b| {
        b.iter(|| audit(&entries, &note, &log, 2))
    });
    g.bench_function("batch_verify_100k_signatures", |b| {
        b.iter(|| verify_signatures(&entries))
    });
    g.bench_function("leaf_hashes_and_root_100k", |b| {
        b.iter(|| Tree::from_leaf_hashes(leaf_hashes(&entries)).root())
    });

    // Incremental sync: the wallet held a checkpoint at 99,000 and now sees 100,000.
    let old = ENTRIES as u64 - 1_000;
    let old_root = tree.root_at(old).unwrap();
    let proof = tree.consistency_proof(old, ENTRIES as u64).unwrap();
    let new_entries = &entries[old as usize..];
    g.sample_size(50);
    g.measurement_time(std::time::Duration::from_secs(5));
    g.bench_function("incremental_1k", |b| {
        b.iter(|| {
            let cp = open_checkpoint(&note, &log.verifier(), &[], NOW).unwrap();
            let new_leaves = leaf_hashes(new_entries);
            verify_consistency(
                old,
                cp.checkpoint.size,
                &old_root,
                &cp.checkpoint.root,
                &proof,
            )
            .unwrap();
            new_leaves
        })
    });
    g.bench_function("incremental_1k_with_signatures", |b| {
        b.iter(|| {
            let cp = open_checkpoint(&note, &log.verifier(), &[], NOW).unwrap();
            verify_signatures(new_entries);
            let new_leaves = leaf_hashes(new_entries);
            verify_consistency(
                old,
                cp.checkpoint.size,
                &old_root,
                &cp.checkpoint.root,
                &proof,
            )
            .unwrap();
            new_leaves
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
