//! The crate's error types: one per family of operations (proofs and receipts, tiles, notes).

use thiserror::Error;

/// Why a Merkle proof could not be produced or did not verify, or why a receipt was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the tree of the given size.
    #[error("leaf index {index} is outside a tree of size {size}")]
    IndexOutOfRange {
        /// The requested leaf index.
        index: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A proof or root was asked for a size the tree has not reached.
    #[error("tree size {size} is beyond the {tree_size} leaves this tree holds")]
    SizeBeyondTree {
        /// The requested size.
        size: u64,
        /// The number of leaves in the tree.
        tree_size: u64,
    },
    /// A consistency proof was asked for, or checked, from a larger size to a smaller one.
    #[error("old tree size {old} is larger than new tree size {new}")]
    OldLargerThanNew {
        /// The old size.
        old: u64,
        /// The new size.
        new: u64,
    },
    /// The proof has the wrong number of hashes for these sizes (too many, too few, or any
    /// hash at all where none is allowed).
    #[error("the proof has the wrong number of hashes ({len})")]
    WrongLength {
        /// The number of hashes in the proof.
        len: usize,
    },
    /// The proof is well formed but does not lead to the expected root hash(es).
    #[error("the proof does not match the root hash")]
    RootMismatch,
    /// A receipt (`c2sp.org/tlog-proof@v1`) is not well formed.
    #[error("malformed tlog-proof receipt (line {line}): {reason}")]
    MalformedReceipt {
        /// The 1-based line where parsing stopped.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A `tlog-witness` `add-checkpoint` request body is not well formed.
    #[error("malformed add-checkpoint request (line {line}): {reason}")]
    MalformedWitnessRequest {
        /// The 1-based line where parsing stopped.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// The receipt's checkpoint did not open (bad or missing signatures, bad syntax, …).
    #[error("receipt checkpoint rejected: {0}")]
    Checkpoint(#[from] NoteError),
}

/// Why a tile path, a tile, or an entry bundle was rejected, or why tiles could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TileError {
    /// The path is not a canonical `tlog-tiles` tile or entry bundle path.
    #[error("not a canonical tlog-tiles path: {reason}")]
    BadPath {
        /// What was wrong.
        reason: &'static str,
    },
    /// A tile id has a width outside `1..=256` or a level outside `0..=63`.
    #[error("tile width {width} or level {level} out of range")]
    BadTileId {
        /// The width.
        width: u16,
        /// The level (entry bundles report 0).
        level: u8,
    },
    /// The tile or bundle is not part of a tree of the size in question.
    #[error("tile {path} lies outside a tree of size {size}")]
    OutsideTree {
        /// The tile's path.
        path: String,
        /// The tree size.
        size: u64,
    },
    /// A hash tile was asked for an entry bundle id (the tree holds no entries).
    #[error("{path} is an entry bundle, not a hash tile")]
    NotAHashTile {
        /// The bundle's path.
        path: String,
    },
    /// A hash tile read from a source has the wrong length (must be `width × 32` bytes).
    #[error("tile {path} is {got} bytes, expected {expected}")]
    WrongTileLength {
        /// The tile's path.
        path: String,
        /// `width × 32`.
        expected: usize,
        /// The length read.
        got: usize,
    },
    /// An entry bundle is cut short (a length prefix or an entry runs past the end).
    #[error("entry bundle truncated")]
    BundleTruncated,
    /// An entry bundle holds a different number of entries than its width says.
    #[error("entry bundle holds {got} entries, expected {expected}")]
    BundleCount {
        /// The width of the bundle.
        expected: usize,
        /// The number of entries found (counting stops one past `expected`).
        got: usize,
    },
    /// An entry is longer than the 65,535 bytes a bundle's `u16` length prefix allows.
    #[error("entry of {len} bytes does not fit a bundle's 16-bit length prefix")]
    EntryTooLong {
        /// The entry's length.
        len: usize,
    },
    /// The tile source could not deliver a tile (HTTP error, missing file, …).
    #[error("could not read {path}: {reason}")]
    Unavailable {
        /// The tile's path.
        path: String,
        /// What the source reported.
        reason: String,
    },
    /// The requested proof or root is not defined for these sizes or this index.
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Why a signed note, a checkpoint, a key or a cosignature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is larger than the 1 MiB this implementation accepts.
    #[error("note of {len} bytes exceeds the 1 MiB limit")]
    TooLarge {
        /// The note's length in bytes.
        len: usize,
    },
    /// The note is not valid UTF-8.
    #[error("note is not valid UTF-8")]
    NotUtf8,
    /// The note contains an ASCII control character other than newline.
    #[error("note contains control character U+{0:04X}")]
    ControlCharacter(u32),
    /// The note has no blank line separating the text from the signatures, or the text or the
    /// signature block does not end in a newline.
    #[error("note text and signatures are not separated by a blank line")]
    MissingBlankLine,
    /// The note carries more signature lines than the limit (100).
    #[error("note carries {count} signature lines, more than the limit of 100")]
    TooManySignatures {
        /// The number of signature lines.
        count: usize,
    },
    /// A signature line is not `— <name> <base64(key id ‖ signature)>`.
    #[error("malformed signature line {line}: {reason}")]
    MalformedSignatureLine {
        /// The 1-based index of the signature line.
        line: usize,
        /// What was wrong.
        reason: &'static str,
    },
    /// A signature from a known key (name and key id match) failed to verify.
    #[error("signature by known key {name} does not verify")]
    BadSignature {
        /// The key's name.
        name: String,
    },
    /// No signature line of the note is by a known key.
    #[error("no signature by a known key")]
    NoKnownSignature,
    /// No valid signature from the log's key was found.
    #[error("no valid signature from the log key {name}")]
    MissingLogSignature {
        /// The log key's name.
        name: String,
    },
    /// A witness cosignature carries a timestamp too far in the future.
    #[error("cosignature by {name} is dated {timestamp}, after now ({now}) plus 60 s")]
    FutureCosignature {
        /// The witness's name.
        name: String,
        /// The cosignature's timestamp (Unix seconds).
        timestamp: u64,
        /// The caller's current time (Unix seconds).
        now: u64,
    },
    /// A cosignature is not `timestamp (8 bytes) ‖ Ed25519 signature (64 bytes)`, or its
    /// timestamp exceeds 2^63 − 1.
    #[error("malformed cosignature by {name}")]
    MalformedCosignature {
        /// The witness's name.
        name: String,
    },
    /// The checkpoint body is not `origin\nsize\nbase64(root)\n[extensions…]`.
    #[error("malformed checkpoint: {reason}")]
    MalformedCheckpoint {
        /// What was wrong.
        reason: &'static str,
    },
    /// The checkpoint's origin is not the pinned log's name.
    #[error("checkpoint origin {origin:?} is not the log {expected:?}")]
    OriginMismatch {
        /// The origin line found.
        origin: String,
        /// The log key's name, which must equal the origin.
        expected: String,
    },
    /// A key name is empty or contains a space, a `+` or a control character.
    #[error("invalid key name {0:?}")]
    BadKeyName(String),
    /// A verifier key string is not `<name>+<hex key id>+<base64(type ‖ public key)>`, or its
    /// key id does not match the name and key.
    #[error("malformed verifier key: {reason}")]
    MalformedVerifierKey {
        /// What was wrong.
        reason: &'static str,
    },
    /// A verifier has the wrong signature type for its role: the log key must be an Ed25519
    /// note key (type 0x01) and witnesses must be Ed25519 cosigners (type 0x04).
    #[error("key {name} has signature type {alg:#04x}, this role needs {expected:#04x}")]
    WrongKeyType {
        /// The key's name.
        name: String,
        /// Its signature type.
        alg: u8,
        /// The type this role requires.
        expected: u8,
    },
}

/// Why a transport could not deliver a log object (a checkpoint, a tile, an entry bundle).
///
/// Every variant names the `location` asked for as the transport shows it (a URL, a file
/// path), so an error read by a person points at the place that failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The object is not there (HTTP 404, a missing file). A reader may fall back from a
    /// partial tile to the full one on this error, and only on this one.
    #[error("{location} not found")]
    NotFound {
        /// The URL or path asked for.
        location: String,
    },
    /// The object is larger than this kind of object can legitimately be.
    #[error("{location} is larger than the {limit} bytes allowed")]
    TooLarge {
        /// The URL or path asked for.
        location: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// The server answered with an error status other than 404.
    #[error("{location} answered {status}")]
    Status {
        /// The URL asked for.
        location: String,
        /// The HTTP status code.
        status: u16,
    },
    /// No answer: connection refused, DNS, TLS, timeout, or a file that could not be read.
    #[error("could not reach {location}: {reason}")]
    Unreachable {
        /// The URL or path asked for.
        location: String,
        /// What went wrong, as the transport reported it.
        reason: String,
    },
    /// The path is not one a log serves (absolute, empty, or with `.` or `..` components): a
    /// transport never reads outside the log's prefix.
    #[error("{path:?} is not a path inside a log")]
    BadPath {
        /// The path as asked for.
        path: String,
    },
}

/// Why a verified read of a log failed: the transport failed, or what it delivered does not
/// verify against the pinned keys and the signed tree.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The transport could not deliver an object.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The checkpoint failed strict parsing or the signature checks against the pinned keys.
    #[error("checkpoint rejected: {0}")]
    Checkpoint(#[source] NoteError),
    /// Fewer distinct pinned witnesses cosigned the checkpoint than the quorum requires.
    #[error("checkpoint cosigned by {have} trusted witnesses, {need} required")]
    NoQuorum {
        /// Distinct pinned witnesses with a valid cosignature.
        have: usize,
        /// The pinned quorum.
        need: usize,
    },
    /// The newest trusted cosignature is older than the pinned freshness bound.
    #[error("newest witness cosignature is {age} s old, more than the {max} s allowed")]
    Stale {
        /// Seconds between the newest trusted cosignature and now.
        age: u64,
        /// The pinned bound.
        max: u64,
    },
    /// A hash tile or entry bundle does not match the signed root (altered or substituted).
    #[error("tile {path} does not match the signed root")]
    TamperedTile {
        /// The tile's path (for the tiles the root is made of, all of them, comma-separated).
        path: String,
    },
    /// An entry bundle does not match the signed root, and the verified leaf hashes show the
    /// first entry that differs.
    #[error("entry {index} (in {path}) is not the entry the signed tree holds")]
    TamperedEntry {
        /// The bundle's path.
        path: String,
        /// The index in the log of the first entry that differs.
        index: u64,
    },
    /// A hash tile served differs from the verified one (read once more by an auditor).
    #[error("{path} does not match the signed tree (first difference at position {position})")]
    TileMismatch {
        /// The tile's path.
        path: String,
        /// The first hash that differs, as a position in the tile.
        position: usize,
    },
    /// A hash tile or entry bundle is malformed (wrong length, truncated, wrong entry count),
    /// or asked for outside the tree.
    #[error("tile {path} is malformed: {reason}")]
    BadTile {
        /// The tile's path.
        path: String,
        /// What was wrong.
        reason: String,
    },
}
