//! Carekey's transparency-log maths and formats, shared by the ledger node and the wallet.
//!
//! The ledger is a transparency log in the style of Certificate Transparency, Go's checksum
//! database, Sigstore Rekor v2, Trillian Tessera and Sunlight (see ADR 0006). This crate holds
//! everything both sides must agree on byte for byte, and how a log is read and verified, and
//! nothing else (no network, no clock, no storage, no knowledge of what an entry means; the
//! only I/O is [`transport::DirTransport`]'s `std::fs` reads):
//!
//! - the RFC 6962 / RFC 9162 Merkle tree: [`leaf_hash`], [`node_hash`], [`empty_root`], an
//!   append-only [`Tree`] that produces inclusion and consistency proofs, and the verifiers
//!   [`verify_inclusion`] and [`verify_consistency`];
//! - [`tiles`]: C2SP `tlog-tiles` paths, entry bundles, hash tiles built from a [`Tree`], and
//!   proofs rebuilt from tiles in hand (a [`tiles::TileSource`]);
//! - [`transport`]: the one way a log's raw objects are fetched, a [`transport::Transport`]
//!   (by path, size-capped, trusted for nothing), and [`transport::DirTransport`] for a log on
//!   disk; HTTP transports are injected by the crates that own an HTTP client;
//! - [`reader`]: the one log reader on top of any transport: checkpoints opened under pinned
//!   [`reader::LogKeys`] (log signature, witness quorum, freshness), and a
//!   [`reader::VerifiedTree`] whose tiles, entries, inclusion and consistency proofs are all
//!   verified against the signed root before use (ADR 0014);
//! - [`note`]: C2SP `signed-note`, `tlog-checkpoint` and Ed25519 `tlog-cosignature`, with a
//!   strict [`note::open_checkpoint`];
//! - [`proof`]: C2SP `tlog-proof` receipts, verifiable offline;
//! - [`witness`]: the body of a C2SP `tlog-witness` `add-checkpoint` request.
//!
//! Entries are opaque bytes here. A verifier must always compute leaf hashes itself from the
//! entries it cares about and check them against a root signed by the pinned log key and
//! cosigned by trusted witnesses; hashes handed over by a node or read from tiles are only
//! hints until that check passes.
//!
//! Signatures and SHA-256 come from `carekey-crypto`, the workspace's only crypto crate.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod merkle;
pub mod note;
pub mod proof;
pub mod reader;
pub mod tiles;
pub mod transport;
pub mod witness;

pub use error::{FetchError, NoteError, ProofError, ReadError, TileError};
pub use merkle::{
    empty_root, leaf_hash, node_hash, verify_consistency, verify_inclusion, Hash, Tree,
    MAX_PROOF_HASHES,
};
