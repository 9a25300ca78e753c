//! Property tests: parsers never panic on arbitrary input; proofs verify for random shapes.

use carekey_crypto::SigningKey;
use carekey_ledger::note::{self, Checkpoint, NoteKey, NoteVerifier, SignatureLine};
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{decode_bundle, TileId};
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::{leaf_hash, verify_consistency, verify_inclusion, Hash, Tree};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(64)
}

/// Strings built from the characters notes, receipts and paths are made of, so the parsers get
/// past their first checks.
fn note_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("\n".to_owned()),
            Just("\u{2014} ".to_owned()),
            Just("tile/".to_owned()),
            Just("x001/".to_owned()),
            Just(".p/".to_owned()),
            Just("index ".to_owned()),
            Just("old ".to_owned()),
            Just("extra ".to_owned()),
            Just("c2sp.org/tlog-proof@v1\n".to_owned()),
            Just("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()),
            "[a-z0-9+/=. ]{0,6}",
            any::<char>().prop_map(String::from),
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

fn log() -> NoteVerifier {
    NoteKey::new("log.example", SigningKey::from_bytes(&[1; 32]))
        .unwrap()
        .verifier()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsers_never_panic(s in prop_oneof![any::<String>(), note_like()]) {
        let _ = TileId::parse(&s);
        let _ = Checkpoint::parse_body(&s);
        let _ = note::open_checkpoint(&s, &log(), &[log().for_cosignatures()], 0);
        let _ = note::open_note(&s, &[log()]);
        let _ = note::parse_signature_lines(&s);
        let _ = SignatureLine::parse(&s);
        let _ = NoteVerifier::parse(&s);
        let _ = Receipt::parse(&s);
        let _ = AddCheckpoint::parse(&s);
    }

    #[test]
    fn byte_parsers_never_panic(b in proptest::collection::vec(any::<u8>(), 0..600), n in 0usize..300) {
        let _ = decode_bundle(&b, n);
        let _ = note::open_checkpoint_bytes(&b, &log(), &[], 0);
    }

    #[test]
    fn verifiers_never_panic(
        index in any::<u64>(), size in any::<u64>(), old in any::<u64>(),
        proof in proptest::collection::vec(any::<[u8; 32]>(), 0..70),
        a in any::<[u8; 32]>(), b in any::<[u8; 32]>(),
    ) {
        prop_assert!(verify_inclusion(&a, index, size, &proof, &b).is_err() || proof.len() <= 64);
        let _ = verify_consistency(old, size, &a, &b, &proof);
    }

    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256, entries in any::<bool>()) {
        let id = if entries { TileId::entries(index, width) } else { TileId::hash(level, index, width) };
        prop_assert_eq!(TileId::parse(&id.path()), Ok(id));
    }

    #[test]
    fn tree_proofs_verify(size in 1u64..3000, i in any::<u64>(), o in any::<u64>()) {
        let tree = Tree::from_leaf_hashes((0..size).map(|n| leaf_hash(&n.to_le_bytes())).collect());
        let index = i % size;
        let old = o % (size + 1);
        let proof = tree.inclusion_proof(index, size).unwrap();
        verify_inclusion(&leaf_hash(&index.to_le_bytes()), index, size, &proof, &tree.root()).unwrap();
        prop_assert!(verify_inclusion(&leaf_hash(b"other"), index, size, &proof, &tree.root()).is_err());
        let cons = tree.consistency_proof(old, size).unwrap();
        let old_root: Hash = tree.root_at(old).unwrap();
        verify_consistency(old, size, &old_root, &tree.root(), &cons).unwrap();
        if old > 0 && old < size {
            let mut bad = cons.clone();
            bad[0][0] ^= 1;
            prop_assert!(verify_consistency(old, size, &old_root, &tree.root(), &bad).is_err());
        }
    }
}
