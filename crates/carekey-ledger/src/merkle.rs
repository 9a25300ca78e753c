//! The RFC 6962 / RFC 9162 Merkle tree: hashing, an append-only tree, proofs and verifiers.
//!
//! The proof algorithms are written once, over [`SubtreeHashes`] (the hash of any complete,
//! aligned subtree), so the in-memory [`Tree`] and the tile reader of [`crate::tiles`] build
//! exactly the same proofs.

use std::fmt;

use carekey_crypto::{sha256, Sha256};

use crate::ProofError;

/// A SHA-256 hash: a leaf hash, an interior node hash or a root.
pub type Hash = [u8; 32];

/// The most hashes a proof can need for a tree of up to 2^64 leaves. Longer proofs are rejected
/// before any hashing.
pub const MAX_PROOF_HASHES: usize = 64;

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The hash of one log entry: `SHA-256(0x00 ‖ entry)` (RFC 6962 §2.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(&[LEAF_PREFIX]);
    h.update(entry);
    h.finalize()
}

/// The hash of an interior node: `SHA-256(0x01 ‖ left ‖ right)` (RFC 6962 §2.1).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut buf = [0u8; 65];
    buf[0] = NODE_PREFIX;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256(&buf)
}

/// The root of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    sha256(&[])
}

/// The largest power of two strictly below `n` (`n ≥ 2`): RFC 6962's split point `k`.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A source of complete-subtree hashes: the hash of the `2^height` leaves starting at leaf
/// `index << height`.
pub(crate) trait SubtreeHashes {
    type Error;
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// MTH(D[start .. start + n]) for `n ≥ 1`, where `start` is a multiple of the largest power of
/// two not above `n` (true of every range the RFC's recursions visit).
pub(crate) fn range_hash<S: SubtreeHashes>(
    src: &mut S,
    start: u64,
    n: u64,
) -> Result<Hash, S::Error> {
    // RFC 6962 splits at the largest power of two below n, so the range is a run of complete
    // subtrees of decreasing size, hashed together from the right.
    let mut parts = Vec::with_capacity(n.count_ones() as usize);
    let mut pos = start;
    let mut rest = n;
    while rest > 0 {
        let height = 63 - rest.leading_zeros();
        parts.push(src.subtree(height, pos >> height)?);
        pos += 1 << height;
        rest -= 1 << height;
    }
    let mut acc = parts.pop().unwrap_or_else(empty_root);
    while let Some(left) = parts.pop() {
        acc = node_hash(&left, &acc);
    }
    Ok(acc)
}

/// RFC 9162 §2.1.3.1 PATH(index, D[0:size]) for `index < size`.
pub(crate) fn inclusion_path<S: SubtreeHashes>(
    src: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut top_down = Vec::new();
    let (mut start, mut n, mut m) = (0u64, size, index);
    while n > 1 {
        let k = split(n);
        if m < k {
            top_down.push(range_hash(src, start + k, n - k)?);
            n = k;
        } else {
            top_down.push(range_hash(src, start, k)?);
            start += k;
            m -= k;
            n -= k;
        }
    }
    top_down.reverse();
    Ok(top_down)
}

/// RFC 9162 §2.1.4.1 PROOF(old, D[0:new]) for `0 < old < new`.
pub(crate) fn consistency_path<S: SubtreeHashes>(
    src: &mut S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut top_down = Vec::new();
    let (mut start, mut n, mut m, mut whole) = (0u64, new, old, true);
    while m != n {
        let k = split(n);
        if m <= k {
            top_down.push(range_hash(src, start + k, n - k)?);
            n = k;
        } else {
            top_down.push(range_hash(src, start, k)?);
            start += k;
            m -= k;
            n -= k;
            whole = false;
        }
    }
    if !whole {
        top_down.push(range_hash(src, start, n)?);
    }
    top_down.reverse();
    Ok(top_down)
}

/// An append-only in-memory Merkle tree over leaf hashes.
///
/// It keeps every complete subtree hash (all leaf hashes plus one hash per interior node of a
/// complete subtree, about 64 bytes per leaf), so appends cost O(1) amortised (O(log n) at
/// worst), roots at any past size O(log n), and proofs O(log² n) at worst, without rehashing
/// leaves. This is what the node keeps in memory and what [`crate::tiles::hash_tile`] reads.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// `levels[h][i]` is the hash of the complete subtree of `2^h` leaves starting at `i << h`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree over these leaf hashes, in order.
    pub fn from_leaf_hashes(v: Vec<Hash>) -> Self {
        let mut levels = vec![v];
        loop {
            let below = &levels[levels.len() - 1];
            if below.len() < 2 {
                break;
            }
            let above: Vec<Hash> = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// Appends a leaf hash; returns its index.
    pub fn push(&mut self, leaf: Hash) -> u64 {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let index = self.levels[0].len() as u64 - 1;
        let mut h = 0;
        while self.levels[h].len() % 2 == 0 {
            let len = self.levels[h].len();
            let parent = node_hash(&self.levels[h][len - 2], &self.levels[h][len - 1]);
            if self.levels.len() == h + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[h + 1].push(parent);
            h += 1;
        }
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// The leaf hash at `index`, if the tree has it.
    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.levels.first()?.get(usize::try_from(index).ok()?)
    }

    /// The root hash of the whole tree.
    pub fn root(&self) -> Hash {
        // The tree's own size is always within range.
        self.root_at(self.size()).unwrap_or_else(|_| empty_root())
    }

    /// The root hash the tree had when it held `size` leaves.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        self.check_size(size)?;
        if size == 0 {
            return Ok(empty_root());
        }
        range_hash(&mut TreeHashes(self), 0, size)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(size)?;
        if index >= size {
            return Err(ProofError::IndexOutOfRange { index, size });
        }
        inclusion_path(&mut TreeHashes(self), index, size)
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves
    /// (RFC 9162 §2.1.4.1). Empty when `old` is 0 or equals `new`.
    pub fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError> {
        self.check_size(new)?;
        if old > new {
            return Err(ProofError::OldLargerThanNew { old, new });
        }
        if old == 0 || old == new {
            return Ok(Vec::new());
        }
        consistency_path(&mut TreeHashes(self), old, new)
    }

    /// The hash of the complete subtree of `2^height` leaves starting at leaf `index << height`.
    pub(crate) fn subtree(&self, height: u32, index: u64) -> Option<&Hash> {
        self.levels
            .get(usize::try_from(height).ok()?)?
            .get(usize::try_from(index).ok()?)
    }

    fn check_size(&self, size: u64) -> Result<(), ProofError> {
        if size > self.size() {
            return Err(ProofError::SizeBeyondTree {
                size,
                tree_size: self.size(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tree")
            .field("size", &self.size())
            .field("root", &hex::encode(self.root()))
            .finish()
    }
}

struct TreeHashes<'a>(&'a Tree);

impl SubtreeHashes for TreeHashes<'_> {
    type Error = ProofError;
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, ProofError> {
        // The proof algorithms only visit subtrees inside a size already checked against the
        // tree, so a miss would be a bug here, reported rather than panicking.
        self.0
            .subtree(height, index)
            .copied()
            .ok_or(ProofError::SizeBeyondTree {
                size: (index + 1) << height,
                tree_size: self.0.size(),
            })
    }
}

/// Verifies that `leaf` (a leaf hash the caller computed itself) is at `index` in the tree of
/// `size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2).
///
/// When `old_size` is 0 the proof must be empty and `old_root` must be [`empty_root`]; when the
/// sizes are equal the proof must be empty and the roots equal.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::OldLargerThanNew {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == 0 || old_size == new_size {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        let expected_old = if old_size == 0 {
            empty_root()
        } else {
            *new_root
        };
        if *old_root != expected_old {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() || proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    // Step 1: a power-of-two old tree is itself a node of the new tree, so it starts the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (&proof[0], &proof[1..])
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return Err(ProofError::WrongLength { len: proof.len() });
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(ProofError::WrongLength { len: proof.len() });
    }
    if fr != *old_root || sr != *new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 6962 MTH straight from the definition, over leaf hashes.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_match_the_definition() {
        let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut tree = Tree::new();
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(tree.push(*l), i as u64);
            assert_eq!(tree.root(), mth(&leaves[..=i]));
        }
        for size in 0..=70 {
            assert_eq!(tree.root_at(size).unwrap(), mth(&leaves[..size as usize]));
        }
        assert_eq!(Tree::from_leaf_hashes(leaves), tree);
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(u64::MAX), 1 << 63);
    }
}
