//! C2SP `tlog-tiles`: the static, cacheable read API of the log.
//!
//! A log of size `s` is served as hash tiles `tile/<L>/<N>[.p/<W>]` (256 hashes of one tree
//! level each, 8 tree levels per tile level) and entry bundles `tile/entries/<N>[.p/<W>]`
//! (256 entries, each with a big-endian `u16` length prefix). The node builds them from its
//! [`Tree`] with [`hash_tile`] and [`encode_bundle`]; a wallet or auditor reads them from any
//! mirror through [`crate::reader`], which rebuilds roots and proofs with [`root_from_tiles`],
//! [`inclusion_proof_from_tiles`] and [`consistency_proof_from_tiles`] over verified tiles.
//!
//! Those functions check the *shape* of what they read (a tile is exactly `width × 32` bytes),
//! not its truth: a tampered tile yields a proof that fails. The caller must still compute the
//! leaf hash itself and check the result against a signed, witnessed root with
//! [`crate::verify_inclusion`] / [`crate::verify_consistency`].

use std::collections::HashMap;
use std::fmt;

use crate::merkle::{consistency_path, inclusion_path, range_hash, SubtreeHashes};
use crate::{Hash, ProofError, Tree};

pub use crate::TileError;

/// Tree levels per tile level: a tile holds `2^8 = 256` hashes.
pub const TILE_HEIGHT: u32 = 8;
/// Hashes in a full tile, and entries in a full bundle.
pub const TILE_WIDTH: u16 = 256;
/// Bytes in one hash of a tile.
pub const HASH_SIZE: usize = 32;
/// The highest tile level the spec allows in a path.
pub const MAX_LEVEL: u8 = 63;
/// The longest entry a bundle can carry (its length prefix is a `u16`).
pub const MAX_ENTRY_LEN: usize = u16::MAX as usize;

/// What a tile holds: tree hashes at some tile level, or log entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// A hash tile; level 0 holds leaf hashes, level `l` the roots of full tiles at `l − 1`.
    Hash {
        /// The tile level, `0..=63`.
        level: u8,
    },
    /// An entry bundle (the entries behind the level-0 tile of the same index).
    Entries,
}

/// One tile or entry bundle: its kind, its index within its level, and its width.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileId {
    /// Hash tile (with its level) or entry bundle.
    pub kind: TileKind,
    /// The tile's index within its level (`N` in the path).
    pub index: u64,
    /// Hashes or entries in the tile: 256 for a full tile, `1..=255` for a partial one.
    pub width: u16,
}

impl TileId {
    /// A hash tile.
    pub fn hash(level: u8, index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Hash { level },
            index,
            width,
        }
    }

    /// An entry bundle.
    pub fn entries(index: u64, width: u16) -> Self {
        Self {
            kind: TileKind::Entries,
            index,
            width,
        }
    }

    /// The tile level of a hash tile (`None` for an entry bundle).
    pub fn level(&self) -> Option<u8> {
        match self.kind {
            TileKind::Hash { level } => Some(level),
            TileKind::Entries => None,
        }
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        self.width == TILE_WIDTH
    }

    /// The path of the tile under the log prefix, e.g. `tile/0/x001/234.p/17` or
    /// `tile/entries/000`.
    pub fn path(&self) -> String {
        let mut out = String::from("tile/");
        match self.kind {
            TileKind::Hash { level } => out.push_str(&level.to_string()),
            TileKind::Entries => out.push_str("entries"),
        }
        out.push('/');
        push_index(&mut out, self.index);
        if self.width != TILE_WIDTH {
            out.push_str(".p/");
            out.push_str(&self.width.to_string());
        }
        out
    }

    /// Parses a canonical tile path (the exact inverse of [`TileId::path`]). A leading `/` is
    /// not accepted; strip the log prefix first.
    pub fn parse(path: &str) -> Result<Self, TileError> {
        let bad = |reason| TileError::BadPath { reason };
        let rest = path
            .strip_prefix("tile/")
            .ok_or(bad("does not start with tile/"))?;
        let (kind_part, rest) = rest.split_once('/').ok_or(bad("missing tile index"))?;
        let kind = if kind_part == "entries" {
            TileKind::Entries
        } else {
            TileKind::Hash {
                level: parse_decimal(kind_part, u64::from(MAX_LEVEL))
                    .and_then(|l| u8::try_from(l).ok())
                    .ok_or(bad("level is not a decimal between 0 and 63"))?,
            }
        };
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, width_part)) => {
                let width = parse_decimal(width_part, u64::from(TILE_WIDTH) - 1)
                    .filter(|w| *w >= 1)
                    .and_then(|w| u16::try_from(w).ok())
                    .ok_or(bad("partial width is not a decimal between 1 and 255"))?;
                (index_part, width)
            }
            None => (rest, TILE_WIDTH),
        };
        let index = parse_index(index_part).ok_or(bad("index is not canonical x000/…/000 form"))?;
        Ok(Self { kind, index, width })
    }

    /// Tree levels below this tile's hashes: `8 × level` (0 for bundles).
    fn height(&self) -> u32 {
        u32::from(self.level().unwrap_or(0)) * TILE_HEIGHT
    }

    fn check(&self) -> Result<(), TileError> {
        let level = self.level().unwrap_or(0);
        if self.width == 0 || self.width > TILE_WIDTH || level > MAX_LEVEL {
            return Err(TileError::BadTileId {
                width: self.width,
                level,
            });
        }
        Ok(())
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Writes `n` as 3-digit groups, all but the last prefixed with `x` (`1234067` →
/// `x001/x234/067`).
fn push_index(out: &mut String, n: u64) {
    let mut groups = Vec::new();
    let mut rest = n;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    for (i, g) in groups.iter().rev().enumerate() {
        if i + 1 < groups.len() {
            out.push_str(&format!("x{g:03}/"));
        } else {
            out.push_str(&format!("{g:03}"));
        }
    }
}

/// Parses a tile index, accepting only its canonical encoding.
fn parse_index(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split('/').collect();
    // u64::MAX has 20 digits: 7 groups.
    if parts.is_empty() || parts.len() > 7 {
        return None;
    }
    let mut n: u64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let digits = if i + 1 < parts.len() {
            part.strip_prefix('x')?
        } else {
            part
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let g: u64 = digits.parse().ok()?;
        n = n.checked_mul(1000)?.checked_add(g)?;
    }
    // Leading all-zero groups would give one tile two paths.
    let mut canonical = String::new();
    push_index(&mut canonical, n);
    (canonical == s).then_some(n)
}

/// A decimal with no sign, no leading zeroes (except `0` itself) and at most `max`.
fn parse_decimal(s: &str, max: u64) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse::<u64>().ok().filter(|v| *v <= max)
}

/// Hashes at tile level `level` in a tree of `size`: `floor(size / 256^level)`.
fn hashes_at_level(size: u64, level: u32) -> u64 {
    size.checked_shr(level * TILE_HEIGHT).unwrap_or(0)
}

/// The tiles of one level for `count` hashes: full tiles, then the partial one if any.
fn push_level_tiles(out: &mut Vec<TileId>, kind: TileKind, count: u64) {
    let full = count / u64::from(TILE_WIDTH);
    let partial = (count % u64::from(TILE_WIDTH)) as u16;
    out.extend((0..full).map(|index| TileId {
        kind,
        index,
        width: TILE_WIDTH,
    }));
    if partial > 0 {
        out.push(TileId {
            kind,
            index: full,
            width: partial,
        });
    }
}

/// Every hash tile and entry bundle a log of `size` serves (full tiles and each level's final
/// partial tile), level by level, entry bundles last.
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u32;
    loop {
        let count = hashes_at_level(size, level);
        if count == 0 {
            break;
        }
        push_level_tiles(&mut out, TileKind::Hash { level: level as u8 }, count);
        level += 1;
    }
    push_level_tiles(&mut out, TileKind::Entries, size);
    out
}

/// The tile (at the width a tree of `size` serves) that holds the complete subtree of
/// `2^height` leaves at `index`, and the subtree's position inside it as a range of that tile's
/// hashes.
fn tile_for_subtree(height: u32, index: u64, size: u64) -> (TileId, u64, u64) {
    let level = height / TILE_HEIGHT;
    let r = height % TILE_HEIGHT;
    // Positions of the subtree's hashes at this tile level.
    let first = index << r;
    let count = 1u64 << r;
    let tile_index = first / u64::from(TILE_WIDTH);
    let in_level = hashes_at_level(size, level);
    let width = (in_level.saturating_sub(tile_index * u64::from(TILE_WIDTH)))
        .min(u64::from(TILE_WIDTH)) as u16;
    let id = TileId::hash(level as u8, tile_index, width);
    (id, first % u64::from(TILE_WIDTH), count)
}

/// The hash tiles a client must fetch to prove inclusion of leaf `index` in a tree of `size`
/// (exactly the ones [`inclusion_proof_from_tiles`] reads), without duplicates. Empty when
/// `index` is not in the tree.
pub fn tiles_for_leaf(index: u64, size: u64) -> Vec<TileId> {
    let mut rec = Recorder {
        size,
        tiles: Vec::new(),
    };
    if index >= size {
        return Vec::new();
    }
    let _ = inclusion_path(&mut rec, index, size);
    rec.tiles
}

/// The hash tiles needed to prove consistency from `old` to `new` leaves (what
/// [`consistency_proof_from_tiles`] reads).
pub fn tiles_for_consistency(old: u64, new: u64) -> Vec<TileId> {
    let mut rec = Recorder {
        size: new,
        tiles: Vec::new(),
    };
    if old == 0 || old >= new {
        return Vec::new();
    }
    let _ = consistency_path(&mut rec, old, new);
    rec.tiles
}

/// The hash tiles needed to compute the root of a tree of `size`.
pub fn tiles_for_root(size: u64) -> Vec<TileId> {
    let mut rec = Recorder {
        size,
        tiles: Vec::new(),
    };
    if size > 0 {
        let _ = range_hash(&mut rec, 0, size);
    }
    rec.tiles
}

/// Records which tiles the proof algorithms touch.
struct Recorder {
    size: u64,
    tiles: Vec<TileId>,
}

impl SubtreeHashes for Recorder {
    type Error = std::convert::Infallible;
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, Self::Error> {
        let (id, _, _) = tile_for_subtree(height, index, self.size);
        if !self.tiles.contains(&id) {
            self.tiles.push(id);
        }
        Ok([0; 32])
    }
}

/// Encodes an entry bundle: each entry with a big-endian `u16` length prefix.
///
/// # Panics
/// Never on valid input; an entry longer than 65,535 bytes cannot be encoded and is a caller
/// bug, so use [`try_encode_bundle`] where entries are not already bounded.
pub fn encode_bundle(entries: &[&[u8]]) -> Vec<u8> {
    match try_encode_bundle(entries) {
        Ok(bytes) => bytes,
        Err(_) => panic!("an entry in a tlog-tiles bundle is limited to 65,535 bytes"),
    }
}

/// Encodes an entry bundle, refusing entries longer than 65,535 bytes.
pub fn try_encode_bundle(entries: &[&[u8]]) -> Result<Vec<u8>, TileError> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.len() + 2).sum());
    for entry in entries {
        let len =
            u16::try_from(entry.len()).map_err(|_| TileError::EntryTooLong { len: entry.len() })?;
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(entry);
    }
    Ok(out)
}

/// Decodes an entry bundle that must hold exactly `expected` entries and nothing after them.
pub fn decode_bundle(bytes: &[u8], expected: usize) -> Result<Vec<Vec<u8>>, TileError> {
    let mut out = Vec::with_capacity(expected.min(usize::from(TILE_WIDTH)));
    let mut rest = bytes;
    while !rest.is_empty() {
        if out.len() == expected {
            return Err(TileError::BundleCount {
                expected,
                got: expected + 1,
            });
        }
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(TileError::BundleTruncated)?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(TileError::BundleTruncated);
        }
        let (entry, tail) = tail.split_at(len);
        out.push(entry.to_vec());
        rest = tail;
    }
    if out.len() != expected {
        return Err(TileError::BundleCount {
            expected,
            got: out.len(),
        });
    }
    Ok(out)
}

/// The first `width` hashes or entries of a tile of `kind` held in `bytes`: a partial tile of
/// that width is exactly this prefix of any wider tile (or the full tile) at the same index,
/// because a log's hashes and entries never change. `None` when `bytes` holds fewer than
/// `width` (or, for an entry bundle, is malformed before reaching it).
pub fn tile_prefix(kind: TileKind, bytes: &[u8], width: u16) -> Option<&[u8]> {
    let width = usize::from(width);
    match kind {
        TileKind::Hash { .. } => bytes.get(..width.checked_mul(HASH_SIZE)?),
        TileKind::Entries => {
            let mut at = 0usize;
            for _ in 0..width {
                let len = bytes.get(at..at.checked_add(2)?)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                at = at.checked_add(2)?.checked_add(len)?;
                if at > bytes.len() {
                    return None;
                }
            }
            bytes.get(..at)
        }
    }
}

/// The bytes of hash tile `id`, built from the node's tree: `width` hashes of 32 bytes.
///
/// Fails for entry bundles, and for tiles the tree cannot fill yet.
pub fn hash_tile(tree: &Tree, id: &TileId) -> Result<Vec<u8>, TileError> {
    id.check()?;
    if id.kind == TileKind::Entries {
        return Err(TileError::NotAHashTile { path: id.path() });
    }
    let outside = || TileError::OutsideTree {
        path: id.path(),
        size: tree.size(),
    };
    let height = id.height();
    let first = id
        .index
        .checked_mul(u64::from(TILE_WIDTH))
        .ok_or_else(outside)?;
    let mut out = Vec::with_capacity(usize::from(id.width) * HASH_SIZE);
    for i in 0..u64::from(id.width) {
        let hash = tree.subtree(height, first + i).ok_or_else(outside)?;
        out.extend_from_slice(hash);
    }
    Ok(out)
}

/// Tiles in hand, by id: the input of the proof builders below ([`root_from_tiles`],
/// [`inclusion_proof_from_tiles`], [`consistency_proof_from_tiles`]).
///
/// This is not a way to read a log from elsewhere: that is a [`crate::transport::Transport`]
/// under a [`crate::reader::VerifiedTree`], which fetches, caps and verifies tiles and builds
/// proofs only from verified ones. A `TileSource` is a map of tiles already held (verified, or
/// a node's own), returning exactly the bytes of [`TileId::path`] at the id's width.
pub trait TileSource {
    /// The bytes of tile `id`.
    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, TileError>;
}

/// Reads subtree hashes from tiles of a tree of `size`, each tile at most once per call.
struct TileHashes<'a> {
    src: &'a dyn TileSource,
    size: u64,
    cache: HashMap<TileId, Vec<u8>>,
}

impl TileHashes<'_> {
    fn tile(&mut self, id: TileId) -> Result<&[u8], TileError> {
        if !self.cache.contains_key(&id) {
            let bytes = self.src.read_tile(&id)?;
            let expected = usize::from(id.width) * HASH_SIZE;
            if bytes.len() != expected {
                return Err(TileError::WrongTileLength {
                    path: id.path(),
                    expected,
                    got: bytes.len(),
                });
            }
            self.cache.insert(id, bytes);
        }
        Ok(self.cache.get(&id).map_or(&[][..], Vec::as_slice))
    }
}

impl SubtreeHashes for TileHashes<'_> {
    type Error = TileError;
    fn subtree(&mut self, height: u32, index: u64) -> Result<Hash, TileError> {
        let size = self.size;
        let (id, offset, count) = tile_for_subtree(height, index, size);
        let tile = self.tile(id)?;
        let start = offset as usize * HASH_SIZE;
        let end = (offset + count) as usize * HASH_SIZE;
        let bytes = tile.get(start..end).ok_or_else(|| TileError::OutsideTree {
            path: id.path(),
            size,
        })?;
        // The tree levels between two tile levels are not stored: rebuild them.
        let mut hashes: Vec<Hash> = bytes
            .chunks_exact(HASH_SIZE)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        while hashes.len() > 1 {
            hashes = hashes
                .chunks_exact(2)
                .map(|p| crate::node_hash(&p[0], &p[1]))
                .collect();
        }
        Ok(hashes.first().copied().unwrap_or([0; 32]))
    }
}

fn reader(src: &dyn TileSource, size: u64) -> TileHashes<'_> {
    TileHashes {
        src,
        size,
        cache: HashMap::new(),
    }
}

/// The inclusion proof of leaf `index` in the tree of `size`, rebuilt from hash tiles.
pub fn inclusion_proof_from_tiles(
    src: &dyn TileSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, TileError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size }.into());
    }
    inclusion_path(&mut reader(src, size), index, size)
}

/// The consistency proof from `old` to `new` leaves, rebuilt from hash tiles of the tree of
/// `new`. Empty when `old` is 0 or equals `new`.
pub fn consistency_proof_from_tiles(
    src: &dyn TileSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, TileError> {
    if old > new {
        return Err(ProofError::OldLargerThanNew { old, new }.into());
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    consistency_path(&mut reader(src, new), old, new)
}

/// The root hash of the tree of `size`, rebuilt from hash tiles (a client compares it with the
/// signed checkpoint's root).
pub fn root_from_tiles(src: &dyn TileSource, size: u64) -> Result<Hash, TileError> {
    if size == 0 {
        return Ok(crate::empty_root());
    }
    range_hash(&mut reader(src, size), 0, size)
}

/// The leaf hashes of a level-0 hash tile, checked for length.
pub fn tile_hashes(id: &TileId, bytes: &[u8]) -> Result<Vec<Hash>, TileError> {
    let expected = usize::from(id.width) * HASH_SIZE;
    if bytes.len() != expected {
        return Err(TileError::WrongTileLength {
            path: id.path(),
            expected,
            got: bytes.len(),
        });
    }
    Ok(bytes
        .chunks_exact(HASH_SIZE)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            h
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {

    #[test]
    fn a_partial_tile_is_a_prefix_of_any_wider_one() {
        let entries: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; usize::from(i) * 7]).collect();
        let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
        let full = encode_bundle(&refs);
        for w in 0..=10u16 {
            let want = encode_bundle(&refs[..usize::from(w)]);
            assert_eq!(
                tile_prefix(TileKind::Entries, &full, w),
                Some(&want[..]),
                "width {w}"
            );
        }
        assert_eq!(tile_prefix(TileKind::Entries, &full, 11), None);
        assert_eq!(
            tile_prefix(TileKind::Entries, &full[..full.len() - 1], 10),
            None
        );
        let hashes: Vec<u8> = (0..=255u8).cycle().take(5 * HASH_SIZE).collect();
        let kind = TileKind::Hash { level: 0 };
        assert_eq!(
            tile_prefix(kind, &hashes, 3),
            Some(&hashes[..3 * HASH_SIZE])
        );
        assert_eq!(tile_prefix(kind, &hashes, 6), None);
    }

    use super::*;

    #[test]
    fn index_encoding_examples() {
        let mut s = String::new();
        push_index(&mut s, 1_234_067);
        assert_eq!(s, "x001/x234/067");
        assert_eq!(parse_index("x001/x234/067"), Some(1_234_067));
        assert_eq!(parse_index("x000/001"), None);
        assert_eq!(parse_index("000"), Some(0));
        assert_eq!(parse_index("18446744073709551615"), None);
        let mut max = String::new();
        push_index(&mut max, u64::MAX);
        assert_eq!(parse_index(&max), Some(u64::MAX));
    }
}
