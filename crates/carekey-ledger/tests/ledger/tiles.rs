//! tlog-tiles: paths, tile sets, bundles, proofs rebuilt from tiles, tampering.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use carekey_ledger::tiles::{
    self, consistency_proof_from_tiles, decode_bundle, encode_bundle, hash_tile,
    inclusion_proof_from_tiles, root_from_tiles, tiles_for_leaf, tiles_for_size, try_encode_bundle,
    TileError, TileId, TileKind, TileSource,
};
use carekey_ledger::{leaf_hash, verify_consistency, verify_inclusion, Tree};

use crate::{entry, tree_of, Rng};

/// A mirror in memory: every tile a log of `size` serves, by path; records what was read.
struct Mirror {
    files: HashMap<String, Vec<u8>>,
    reads: RefCell<Vec<TileId>>,
}

impl Mirror {
    fn of(tree: &Tree) -> Self {
        let mut files = HashMap::new();
        for id in tiles_for_size(tree.size()) {
            let bytes = match id.kind {
                TileKind::Hash { .. } => hash_tile(tree, &id).unwrap(),
                TileKind::Entries => {
                    let first = id.index * 256;
                    let entries: Vec<Vec<u8>> =
                        (first..first + u64::from(id.width)).map(entry).collect();
                    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    encode_bundle(&refs)
                }
            };
            files.insert(id.path(), bytes);
        }
        Self {
            files,
            reads: RefCell::new(Vec::new()),
        }
    }
}

impl TileSource for Mirror {
    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, TileError> {
        self.reads.borrow_mut().push(*id);
        self.files
            .get(&id.path())
            .cloned()
            .ok_or_else(|| TileError::Unavailable {
                path: id.path(),
                reason: "404".into(),
            })
    }
}

#[test]
fn paths_follow_the_spec() {
    let cases = [
        (TileId::hash(0, 1_234_067, 256), "tile/0/x001/x234/067"),
        (TileId::hash(0, 1234, 17), "tile/0/x001/234.p/17"),
        (TileId::hash(3, 0, 256), "tile/3/000"),
        (TileId::hash(1, 999, 1), "tile/1/999.p/1"),
        (TileId::hash(63, 1000, 255), "tile/63/x001/000.p/255"),
        (TileId::entries(0, 5), "tile/entries/000.p/5"),
        (
            TileId::entries(1_000_000, 256),
            "tile/entries/x001/x000/000",
        ),
        (
            TileId::hash(2, u64::MAX, 256),
            "tile/2/x018/x446/x744/x073/x709/x551/615",
        ),
    ];
    for (id, path) in cases {
        assert_eq!(id.path(), path);
        assert_eq!(TileId::parse(path).unwrap(), id, "{path}");
        assert_eq!(id.to_string(), path);
    }
    for bad in [
        "",
        "tile/",
        "tile/0",
        "tile/0/",
        "/tile/0/000",
        "tiles/0/000",
        "tile/0/1234",
        "tile/0/12",
        "tile/0/x001",
        "tile/0/x001/x234",
        "tile/0/001/234",
        "tile/0/x000/001",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/0/x001/x018/x446/x744/x073/x709/x551/615",
        "tile/64/000",
        "tile/00/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/entry/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/017",
        "tile/0/000.p/",
        "tile/0/000.p/1/",
        "tile/0/000/",
        "tile/0/000.p/1.p/1",
        "tile/0/0a0",
        "tile/0/x0a1/000",
    ] {
        assert!(TileId::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn tiles_for_size_matches_the_spec_examples() {
    assert!(tiles_for_size(0).is_empty());
    // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
    // tile of width 1"; plus its one full entry bundle.
    assert_eq!(
        tiles_for_size(256),
        vec![
            TileId::hash(0, 0, 256),
            TileId::hash(1, 0, 1),
            TileId::entries(0, 256)
        ]
    );
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial level
    // 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17, and one
    // partial level 2 tile of width 1."
    let all = tiles_for_size(70_000);
    let level = |l: u8| -> Vec<TileId> {
        all.iter()
            .copied()
            .filter(|t| t.kind == TileKind::Hash { level: l })
            .collect()
    };
    let l0 = level(0);
    assert_eq!(l0.len(), 274);
    assert!(l0[..273]
        .iter()
        .enumerate()
        .all(|(i, t)| t.index == i as u64 && t.is_full()));
    assert_eq!(l0[273], TileId::hash(0, 273, 112));
    assert_eq!(
        level(1),
        vec![TileId::hash(1, 0, 256), TileId::hash(1, 1, 17)]
    );
    assert_eq!(level(2), vec![TileId::hash(2, 0, 1)]);
    assert!(level(3).is_empty());
    let bundles: Vec<TileId> = all
        .iter()
        .copied()
        .filter(|t| t.kind == TileKind::Entries)
        .collect();
    assert_eq!(bundles.len(), 274);
    assert_eq!(bundles[273], TileId::entries(273, 112));
    assert_eq!(all.len(), 274 + 2 + 1 + 274);
    // Sizes at the top of u64 stop at level 7.
    let top = tiles_for_size(u64::MAX >> 40);
    assert!(top.iter().all(|t| t.level().unwrap_or(0) <= 7));
}

#[test]
fn bundles_round_trip_and_are_checked() {
    let entries: [&[u8]; 4] = [b"", b"a", &[7u8; 300], &[1u8; 65535]];
    let bytes = encode_bundle(&entries);
    assert_eq!(&bytes[..5], &[0, 0, 0, 1, b'a']);
    let back = decode_bundle(&bytes, 4).unwrap();
    assert_eq!(back.iter().map(Vec::as_slice).collect::<Vec<_>>(), entries);
    assert_eq!(
        decode_bundle(&bytes, 3),
        Err(TileError::BundleCount {
            expected: 3,
            got: 4
        })
    );
    assert_eq!(
        decode_bundle(&bytes, 5),
        Err(TileError::BundleCount {
            expected: 5,
            got: 4
        })
    );
    assert_eq!(
        decode_bundle(&bytes[..bytes.len() - 1], 4),
        Err(TileError::BundleTruncated)
    );
    assert_eq!(decode_bundle(&[0], 1), Err(TileError::BundleTruncated));
    assert_eq!(decode_bundle(&[], 0), Ok(vec![]));
    assert_eq!(
        try_encode_bundle(&[&[0u8; 65536]]),
        Err(TileError::EntryTooLong { len: 65536 })
    );
}

#[test]
fn hash_tiles_hold_the_right_hashes() {
    let tree = tree_of(70_000);
    let t0 = hash_tile(&tree, &TileId::hash(0, 1, 256)).unwrap();
    assert_eq!(t0.len(), 256 * 32);
    assert_eq!(&t0[..32], &leaf_hash(&entry(256)));
    // Level 1, hash i = root of full level-0 tile i.
    let t1 = hash_tile(&tree, &TileId::hash(1, 0, 256)).unwrap();
    let sub = Tree::from_leaf_hashes((512..768).map(|i| leaf_hash(&entry(i))).collect());
    assert_eq!(&t1[64..96], &sub.root());
    // Level 2, hash 0 = root of the first 65,536 leaves.
    let t2 = hash_tile(&tree, &TileId::hash(2, 0, 1)).unwrap();
    assert_eq!(t2, tree.root_at(65_536).unwrap());

    for bad in [
        TileId::hash(0, 273, 113),
        TileId::hash(0, 274, 1),
        TileId::hash(1, 1, 18),
        TileId::hash(2, 0, 2),
        TileId::hash(3, 0, 1),
    ] {
        assert!(
            matches!(hash_tile(&tree, &bad), Err(TileError::OutsideTree { .. })),
            "{bad}"
        );
    }
    assert!(matches!(
        hash_tile(&tree, &TileId::entries(0, 256)),
        Err(TileError::NotAHashTile { .. })
    ));
    assert!(hash_tile(&tree, &TileId::hash(0, 0, 0)).is_err());
    assert!(hash_tile(&tree, &TileId::hash(0, 0, 257)).is_err());
    assert!(hash_tile(&tree, &TileId::hash(0, u64::MAX, 256)).is_err());
}

#[test]
fn proofs_from_tiles_equal_the_trees() {
    let mut rng = Rng::from_env("proofs_from_tiles_equal_the_trees");
    let mut sizes: Vec<u64> = vec![
        1, 2, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000,
    ];
    sizes.extend((0..3).map(|_| rng.range(1, 140_000)));
    let big = tree_of(140_000);
    for size in sizes {
        let tree = Tree::from_leaf_hashes((0..size).map(|i| *big.leaf(i).unwrap()).collect());
        let mirror = Mirror::of(&tree);
        assert_eq!(
            root_from_tiles(&mirror, size).unwrap(),
            tree.root(),
            "root {size}"
        );
        let mut indexes = vec![0, size - 1, size / 2];
        indexes.extend((0..8).map(|_| rng.range(0, size)));
        for index in indexes {
            mirror.reads.borrow_mut().clear();
            let proof = inclusion_proof_from_tiles(&mirror, index, size).unwrap();
            assert_eq!(
                proof,
                tree.inclusion_proof(index, size).unwrap(),
                "{index}/{size}"
            );
            verify_inclusion(&leaf_hash(&entry(index)), index, size, &proof, &tree.root()).unwrap();
            let read: BTreeSet<TileId> = mirror.reads.borrow().iter().copied().collect();
            let planned: BTreeSet<TileId> = tiles_for_leaf(index, size).into_iter().collect();
            assert_eq!(read, planned, "tiles for leaf {index} in {size}");
            // Each tile is read once per call.
            assert_eq!(mirror.reads.borrow().len(), read.len());
        }
        let mut olds = vec![0, 1, size, size / 2];
        olds.extend((0..8).map(|_| rng.range(0, size + 1)));
        for old in olds {
            let proof = consistency_proof_from_tiles(&mirror, old, size).unwrap();
            assert_eq!(
                proof,
                tree.consistency_proof(old, size).unwrap(),
                "{old}->{size}"
            );
            let old_root = tree.root_at(old).unwrap();
            verify_consistency(old, size, &old_root, &tree.root(), &proof).unwrap();
        }
        assert!(inclusion_proof_from_tiles(&mirror, size, size).is_err());
        assert!(consistency_proof_from_tiles(&mirror, size + 1, size).is_err());
    }
    assert_eq!(
        root_from_tiles(&Mirror::of(&Tree::new()), 0).unwrap(),
        carekey_ledger::empty_root()
    );
}

#[test]
fn planned_tile_sets() {
    assert_eq!(tiles_for_leaf(0, 1), Vec::<TileId>::new());
    assert_eq!(tiles_for_leaf(1, 2), vec![TileId::hash(0, 0, 2)]);
    assert!(tiles_for_leaf(5, 5).is_empty());
    let set: BTreeSet<TileId> = tiles_for_leaf(300, 70_000).into_iter().collect();
    assert_eq!(
        set,
        BTreeSet::from([
            TileId::hash(0, 1, 256),
            TileId::hash(1, 0, 256),
            TileId::hash(1, 1, 17),
            TileId::hash(0, 273, 112),
        ])
    );
    assert!(tiles::tiles_for_root(256) == vec![TileId::hash(1, 0, 1)]);
    assert!(tiles::tiles_for_consistency(0, 10).is_empty());
    assert!(!tiles::tiles_for_consistency(3, 10).is_empty());
}

/// What a tile reader cannot see, and what the client's own checks catch.
#[test]
fn tampered_tiles_fail_against_the_signed_root() {
    let size = 1000;
    let tree = tree_of(size);
    let signed_root = tree.root();
    let index = 5;
    let my_leaf = leaf_hash(&entry(index));

    // A sibling hash changed inside a full tile: the tile has the right length, so reading it
    // succeeds, and the proof comes out wrong; only verifying against the signed root catches
    // it.
    let mut mirror = Mirror::of(&tree);
    let path = TileId::hash(0, 0, 256).path();
    mirror.files.get_mut(&path).unwrap()[4 * 32] ^= 1;
    let proof = inclusion_proof_from_tiles(&mirror, index, size).unwrap();
    assert_ne!(proof, tree.inclusion_proof(index, size).unwrap());
    assert!(verify_inclusion(&my_leaf, index, size, &proof, &signed_root).is_err());
    // The root is rebuilt from the untouched level-1 tile, so it still matches: tiles that
    // disagree with each other are only exposed by checking a proof against the signed root.
    assert_eq!(root_from_tiles(&mirror, size).unwrap(), signed_root);

    // The leaf's own hash changed in the tile: the proof does not use it and comes out right.
    // A client that took the leaf hash from the tile would be checking a forged leaf; one that
    // computes SHA-256(0x00 ‖ entry) itself proves its genuine entry, and the forged hash
    // fails.
    let mut mirror = Mirror::of(&tree);
    mirror.files.get_mut(&path).unwrap()[5 * 32] ^= 1;
    let proof = inclusion_proof_from_tiles(&mirror, index, size).unwrap();
    assert_eq!(proof, tree.inclusion_proof(index, size).unwrap());
    verify_inclusion(&my_leaf, index, size, &proof, &signed_root).unwrap();
    let tile = tiles::tile_hashes(&TileId::hash(0, 0, 256), &mirror.files[&path]).unwrap();
    assert_ne!(tile[5], my_leaf);
    assert!(verify_inclusion(&tile[5], index, size, &proof, &signed_root).is_err());

    // A tile of the wrong length is rejected by the reader itself.
    let mut mirror = Mirror::of(&tree);
    mirror.files.get_mut(&path).unwrap().push(0);
    assert!(matches!(
        inclusion_proof_from_tiles(&mirror, index, size),
        Err(TileError::WrongTileLength { .. })
    ));
    let mut mirror = Mirror::of(&tree);
    mirror.files.remove(&path);
    assert!(matches!(
        inclusion_proof_from_tiles(&mirror, index, size),
        Err(TileError::Unavailable { .. })
    ));
}
