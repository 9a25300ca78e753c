//! Integration tests of carekey-ledger: known answers, cross-checks against `ct-merkle`, tiles,
//! notes, receipts, the log reader and property tests.
#![allow(clippy::unwrap_used)]

mod cross;
mod notes;
mod props;
mod reader;
mod receipts;
mod tiles;
mod vectors;

use carekey_ledger::{leaf_hash, Hash, Tree};

/// splitmix64: a tiny seeded generator, so failures replay from the printed seed.
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from `CAREKEY_TEST_SEED` when set, else a fixed seed; prints it either way.
    pub(crate) fn from_env(test: &str) -> Self {
        let seed = std::env::var("CAREKEY_TEST_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_c0ffee_u64);
        eprintln!("{test}: seed {seed} (set CAREKEY_TEST_SEED to replay)");
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `lo..hi` (`lo < hi`).
    pub(crate) fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The test entry at `i`.
pub(crate) fn entry(i: u64) -> Vec<u8> {
    format!("entry {i}").into_bytes()
}

/// A tree over `entry(0..size)`.
pub(crate) fn tree_of(size: u64) -> Tree {
    Tree::from_leaf_hashes((0..size).map(|i| leaf_hash(&entry(i))).collect())
}

pub(crate) fn hex32(s: &str) -> Hash {
    hex::decode(s).unwrap().try_into().unwrap()
}
