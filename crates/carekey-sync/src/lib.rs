//! The wallet's ledger client: it reads a Carekey ledger node, or any static mirror of its
//! tiles, and verifies everything it reads, trusting nothing the node or mirror says.
//!
//! Used by `carekey-wallet` (and only there): this is the one crate of the workspace that
//! talks HTTP (`reqwest`, blocking, rustls).
//!
//! - Reads: `carekey-ledger`'s one log reader (ADR 0014) over an injected transport:
//!   [`HttpTransport`] here (a node or any static mirror over HTTP(S)), or
//!   [`carekey_ledger::transport::DirTransport`] for a mirror on disk.
//! - Verification: [`sync`] runs every check of `LEDGER-CHECKS.md` (pinned log key, witness
//!   quorum and freshness, rollback and split-view detection with both signed notes kept as
//!   [`Evidence`], consistency, inclusion of the wallet's own entries from self-computed leaf
//!   hashes, a scan of every new entry bundle against the signed root) and returns the new
//!   [`LogState`] for the caller to store only on success. [`gossip`] and [`gossip_via`] compare two views;
//!   [`verify_receipt`] checks a `tlog-proof` receipt offline, [`verify_submission_receipt`] the
//!   one a node answers to a submission, before the wallet keeps it.
//! - SMART Health Card issuers: [`IssuerClient`] fetches an issuer's key set and revocation
//!   lists, for the wallet to verify a card against (only for issuers the patient trusts).
//! - Writes: [`NodeClient`] speaks the node's write API (protocol §3); [`Outbox`] queues writes
//!   durably (serde), with ordered, idempotent retries and exponential backoff.
//!
//! Time is passed in (`now`, unix seconds); nothing here reads the clock. Signatures and hashes
//! come from `carekey-crypto` through `carekey-ledger` and `carekey-model`.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod issuer;
mod node;
mod outbox;
mod source;
mod verify;

pub use error::SyncError;
pub use issuer::IssuerClient;
pub use node::{
    bundle_hash, Fetched, NodeClient, Submitted, ACCESS_EVENT_HEADER, SIGNATURE_HEADER,
};
pub use outbox::{backoff, Flushed, Outbox, OutboxItem, OutboxOp, ShareLookup, MAX_BACKOFF_SECS};
pub use source::HttpTransport;
pub use verify::{
    gossip, gossip_via, sync, verify_receipt, verify_submission_receipt, Evidence, Found, LogState,
    PinnedLog, SyncOutcome, Watch,
};
