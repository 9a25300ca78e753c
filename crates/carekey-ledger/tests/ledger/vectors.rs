//! Known-answer tests: the RFC 6962 test vectors of the Certificate Transparency reference
//! implementation, as published in transparency-dev/merkle (`testonly/constants.go`,
//! `testonly/reference_test.go`, `proof/verify_test.go`, `rfc6962/rfc6962_test.go`,
//! `compact/range_test.go` TestGetRootHashGolden). Typed in as data.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use carekey_ledger::{
    empty_root, leaf_hash, verify_consistency, verify_inclusion, Hash, ProofError, Tree,
};

use crate::hex32;

/// The eight leaf inputs of the CT test tree (hex).
const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// MTH of the first `n` leaves, n = 0..=8.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (index, size, proof): reference_test.go TestRefInclusionProof (zero-based indexes).
const INCLUSION: &[(u64, u64, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        2,
        &["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"],
    ),
    (
        1,
        2,
        &["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

/// (old, new, proof): the CT reference consistency vectors (proof/verify_test.go).
const CONSISTENCY: &[(u64, u64, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// compact/range_test.go TestGetRootHashGolden: roots of trees whose leaf `i` is the two
/// bytes `[i & 0xff, (i >> 8) & 0xff]`.
const GOLDEN_ROOTS: &[(u64, &str)] = &[
    (10, "VjWMPSYNtCuCNlF/RLnQy6HcwSk6CIipfxm+hettA+4="),
    (15, "j4SulYmocFuxdeyp12xXCIgK6PekBcxzAIj4zbQzNEI="),
    (16, "c+4Uc6BCMOZf/v3NZK1kqTUJe+bBoFtOhP+P3SayKRE="),
    (100, "dUh9hYH88p0CMoHkdr1wC2szbhcLAXOejWpINIooKUY="),
    (255, "SmdsuKUqiod3RX2jyF2M6JnbdE4QuTwwipfAowI4/i0="),
    (256, "qFI0t/tZ1MdOYgyPpPzHFiZVw86koScXy9q3FU5casA="),
    (1000, "RXrgb8xHd55Y48FbfotJwCbV82Kx22LZfEbmBGAvwlQ="),
    (4095, "cWRFdQhPcjn9WyBXE/r1f04ejxIm5lvg40DEpRBVS0w="),
    (4096, "6uU/phfHg1n/GksYT6TO9aN8EauMCCJRl3dIK0HDs2M="),
    (10000, "VZcav65F9haHVRk3wre2axFoBXRNeUh/1d9d5FQfxIg="),
    (65535, "iPuVYJhP6SEE4gUFp8qbafd2rYv9YTCDYqAxCj8HdLM="),
];

fn ct_tree() -> Tree {
    let mut t = Tree::new();
    for l in LEAVES {
        t.push(leaf_hash(&hex::decode(l).unwrap()));
    }
    t
}

fn hashes(v: &[&str]) -> Vec<Hash> {
    v.iter().map(|h| hex32(h)).collect()
}

#[test]
fn hasher_vectors() {
    assert_eq!(empty_root(), hex32(ROOTS[0]));
    assert_eq!(leaf_hash(b""), hex32(ROOTS[1]));
    assert_eq!(
        leaf_hash(b"L123456"),
        hex32("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
    );
}

#[test]
fn roots_of_the_ct_tree() {
    let t = ct_tree();
    for (n, root) in ROOTS.iter().enumerate() {
        assert_eq!(t.root_at(n as u64).unwrap(), hex32(root), "size {n}");
    }
    assert_eq!(t.root(), hex32(ROOTS[8]));
    assert_eq!(
        t.root_at(9),
        Err(ProofError::SizeBeyondTree {
            size: 9,
            tree_size: 8
        })
    );
}

#[test]
fn golden_roots_of_larger_trees() {
    let mut t = Tree::new();
    let mut golden = GOLDEN_ROOTS.iter().peekable();
    for i in 0u64..65535 {
        t.push(leaf_hash(&[(i & 0xff) as u8, ((i >> 8) & 0xff) as u8]));
        if let Some((size, root)) = golden.peek() {
            if *size == i + 1 {
                assert_eq!(B64.encode(t.root()), *root, "size {size}");
                golden.next();
            }
        }
    }
    assert!(golden.next().is_none());
}

#[test]
fn inclusion_vectors() {
    let t = ct_tree();
    for (index, size, proof) in INCLUSION {
        let want = hashes(proof);
        assert_eq!(t.inclusion_proof(*index, *size).unwrap(), want);
        let leaf = t.leaf(*index).unwrap();
        let root = hex32(ROOTS[*size as usize]);
        verify_inclusion(leaf, *index, *size, &want, &root).unwrap();
        for (desc, probe) in corrupt_inclusion(*index, *size, &want, &root, leaf) {
            assert!(
                verify_inclusion(
                    &probe.leaf,
                    probe.index,
                    probe.size,
                    &probe.proof,
                    &probe.root
                )
                .is_err(),
                "{desc} verified for index {index} size {size}"
            );
        }
    }
}

#[test]
fn consistency_vectors() {
    let t = ct_tree();
    for (old, new, proof) in CONSISTENCY {
        let want = hashes(proof);
        assert_eq!(t.consistency_proof(*old, *new).unwrap(), want);
        let (r1, r2) = (hex32(ROOTS[*old as usize]), hex32(ROOTS[*new as usize]));
        verify_consistency(*old, *new, &r1, &r2, &want).unwrap();
        if *old != *new {
            let mut bad = want.clone();
            bad[0][0] ^= 8;
            assert!(verify_consistency(*old, *new, &r1, &r2, &bad).is_err());
            assert!(verify_consistency(*old, *new, &r2, &r1, &want).is_err());
            assert!(verify_consistency(*old, *new, &r1, &r2, &want[1..]).is_err());
            let mut longer = want.clone();
            longer.push(r1);
            assert!(verify_consistency(*old, *new, &r1, &r2, &longer).is_err());
            assert!(verify_consistency(*old + 1, *new, &r1, &r2, &want).is_err());
        }
    }
}

#[test]
fn trivial_consistency() {
    let t = ct_tree();
    assert_eq!(t.consistency_proof(0, 8).unwrap(), Vec::<Hash>::new());
    assert_eq!(t.consistency_proof(8, 8).unwrap(), Vec::<Hash>::new());
    assert_eq!(
        t.consistency_proof(9, 8),
        Err(ProofError::OldLargerThanNew { old: 9, new: 8 })
    );
    let (empty, root) = (empty_root(), t.root());
    verify_consistency(0, 8, &empty, &root, &[]).unwrap();
    verify_consistency(8, 8, &root, &root, &[]).unwrap();
    // Size 0 must come with the empty root; equal sizes with equal roots and no proof.
    assert_eq!(
        verify_consistency(0, 8, &root, &root, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(8, 8, &empty, &root, &[]),
        Err(ProofError::RootMismatch)
    );
    assert_eq!(
        verify_consistency(8, 8, &root, &root, &[root]),
        Err(ProofError::WrongLength { len: 1 })
    );
    assert!(verify_consistency(4, 8, &root, &root, &[]).is_err());
}

#[test]
fn inclusion_outside_the_tree() {
    let t = ct_tree();
    assert_eq!(
        t.inclusion_proof(8, 8),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert!(t.inclusion_proof(0, 9).is_err());
    assert!(t.inclusion_proof(0, 0).is_err());
    let some = [7u8; 32];
    for (index, size) in [(0, 0), (1, 0), (2, 1)] {
        assert!(verify_inclusion(&some, index, size, &[], &empty_root()).is_err());
    }
}

struct Probe {
    leaf: Hash,
    index: u64,
    size: u64,
    proof: Vec<Hash>,
    root: Hash,
}

/// The probes of transparency-dev/merkle `corruptInclusionProof`.
fn corrupt_inclusion(
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
    leaf: &Hash,
) -> Vec<(String, Probe)> {
    let some = hex32("abacaba000000000000000000000000000000000000000000060061e00123456");
    let p = |leaf: Hash, index: u64, size: u64, proof: Vec<Hash>, root: Hash| Probe {
        leaf,
        index,
        size,
        proof,
        root,
    };
    let mut out = vec![
        (
            "index - 1".to_owned(),
            p(*leaf, index.wrapping_sub(1), size, proof.to_vec(), *root),
        ),
        (
            "index + 1".to_owned(),
            p(*leaf, index + 1, size, proof.to_vec(), *root),
        ),
        (
            "index ^ 2".to_owned(),
            p(*leaf, index ^ 2, size, proof.to_vec(), *root),
        ),
        (
            "size * 2".to_owned(),
            p(*leaf, index, size * 2, proof.to_vec(), *root),
        ),
        (
            "size / 2".to_owned(),
            p(*leaf, index, size / 2, proof.to_vec(), *root),
        ),
        (
            "wrong leaf".to_owned(),
            p(leaf_hash(b"WrongLeaf"), index, size, proof.to_vec(), *root),
        ),
        (
            "empty root".to_owned(),
            p(*leaf, index, size, proof.to_vec(), empty_root()),
        ),
        (
            "random root".to_owned(),
            p(*leaf, index, size, proof.to_vec(), some),
        ),
        (
            "trailing root".to_owned(),
            p(*leaf, index, size, [proof, &[*root]].concat(), *root),
        ),
        (
            "preceding root".to_owned(),
            p(*leaf, index, size, [&[*root], proof].concat(), *root),
        ),
    ];
    for i in 0..proof.len() {
        let mut wrong = proof.to_vec();
        wrong[i][0] ^= 8;
        out.push((
            format!("modified proof[{i}]"),
            p(*leaf, index, size, wrong, *root),
        ));
    }
    if !proof.is_empty() {
        out.push((
            "removed component".to_owned(),
            p(*leaf, index, size, proof[..proof.len() - 1].to_vec(), *root),
        ));
    }
    if proof.len() > 1 {
        let wrong = [&[proof[0], some], &proof[1..]].concat();
        out.push((
            "inserted component".to_owned(),
            p(*leaf, index, size, wrong, *root),
        ));
    }
    out
}
