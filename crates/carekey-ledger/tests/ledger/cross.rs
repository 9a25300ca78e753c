//! Cross-checks against `ct-merkle`, an independent RFC 6962 implementation (with its own
//! SHA-256): roots, inclusion and consistency proofs, in both directions.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2_ct_merkle::Sha256;

use carekey_ledger::{leaf_hash, verify_consistency, verify_inclusion, Hash, Tree};

use crate::{entry, Rng};

type CtTree = MemoryBackedTree<Sha256, Vec<u8>>;

fn flat(proof: &[Hash]) -> Vec<u8> {
    proof.concat()
}

fn hashes(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().unwrap())
        .collect()
}

fn ct_root(ct: &CtTree) -> Hash {
    ct.root().as_bytes().as_slice().try_into().unwrap()
}

/// Inclusion of `index` and consistency from `old` to the current size, both ways.
fn check_proofs(ours: &Tree, ct: &CtTree, index: u64, old: u64) {
    let size = ours.size();
    let root = ours.root();
    let ct_root_hash: RootHash<Sha256> = ct.root();

    let our_incl = ours.inclusion_proof(index, size).unwrap();
    let ct_incl = ct.prove_inclusion(index as usize);
    assert_eq!(
        flat(&our_incl),
        ct_incl.as_bytes(),
        "inclusion {index}/{size}"
    );
    ct_root_hash
        .verify_inclusion(
            &entry(index),
            index,
            &InclusionProof::<Sha256>::from_bytes(flat(&our_incl)),
        )
        .unwrap();
    verify_inclusion(
        &leaf_hash(&entry(index)),
        index,
        size,
        &hashes(ct_incl.as_bytes()),
        &root,
    )
    .unwrap();

    // ct-merkle proves consistency from a non-empty old tree to its own current size.
    if old == 0 || old == size {
        return;
    }
    let old_root = ours.root_at(old).unwrap();
    let our_cons = ours.consistency_proof(old, size).unwrap();
    let ct_cons = ct.prove_consistency((size - old) as usize);
    assert_eq!(
        flat(&our_cons),
        ct_cons.as_bytes(),
        "consistency {old}->{size}"
    );
    let ct_old: RootHash<Sha256> = RootHash::new(old_root.into(), old);
    ct_root_hash
        .verify_consistency(
            &ct_old,
            &ConsistencyProof::<Sha256>::try_from_bytes(flat(&our_cons)).unwrap(),
        )
        .unwrap();
    verify_consistency(old, size, &old_root, &root, &hashes(ct_cons.as_bytes())).unwrap();
}

#[test]
fn every_size_up_to_300() {
    let mut ours = Tree::new();
    let mut ct = CtTree::new();
    for size in 1..=300u64 {
        ct.push(entry(size - 1));
        ours.push(leaf_hash(&entry(size - 1)));
        assert_eq!(ours.root(), ct_root(&ct), "root {size}");
        for index in 0..size {
            // Every index, and every old size (index + 1 runs over 1..=size).
            check_proofs(&ours, &ct, index, index + 1);
        }
    }
}

#[test]
fn random_sizes_up_to_100k() {
    let mut rng = Rng::from_env("random_sizes_up_to_100k");
    let mut sizes: Vec<u64> = (0..2).map(|_| rng.range(301, 100_001)).collect();
    sizes.sort_unstable();
    sizes.push(100_000);
    let mut ours = Tree::new();
    let mut ct = CtTree::new();
    for size in sizes {
        while ours.size() < size {
            let i = ours.size();
            ct.push(entry(i));
            ours.push(leaf_hash(&entry(i)));
        }
        assert_eq!(ours.root(), ct_root(&ct), "root {size}");
        for _ in 0..40 {
            let index = rng.range(0, size);
            let old = rng.range(1, size + 1);
            check_proofs(&ours, &ct, index, old);
        }
        check_proofs(&ours, &ct, size - 1, size - 1);
        check_proofs(&ours, &ct, 0, 1);
    }
}
