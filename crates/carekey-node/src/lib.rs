//! Carekey's ledger node: the server side of docs/protocol.md.
//!
//! A node is a transparency log with a small write API. [`app`] is its axum router:
//! `GET /checkpoint` and `GET /tile/...` (C2SP tlog-tiles, served from files laid out so that
//! the data directory is itself a static mirror), `POST /v1/entries` with the policy check,
//! the off-log grant-bundle store (`PUT /v1/grants/<id>/bundle`, `POST .../fetch` which logs an
//! access event before serving, `DELETE /v1/grants/<id>`) and `GET /v1/openapi.json`.
//! [`Node`] owns the storage (SQLite in WAL mode with `synchronous=FULL`, tiles and the
//! checkpoint as files) and the single writer thread that batches appends, writes tiles
//! durably, then signs, pushes to witnesses and acknowledges with `tlog-proof` receipts.
//! [`witness`] is the C2SP `tlog-witness` server, [`audit`] the auditor.
//!
//! Depended on by the `carekey-node` binary and, later, by the app to run a local node. The
//! log maths and formats come from `carekey-ledger`, documents from `carekey-model`, crypto
//! from `carekey-crypto`. Time is read only through an injectable [`Clock`].
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod api;
pub mod audit;
mod cache;
mod checkpoints;
pub mod client;
mod clock;
mod config;
mod error;
mod keys;
mod limits;
mod node;
mod openapi;
mod policy;
mod server;
mod shares;
mod store;
pub mod witness;

pub use api::{
    app, AppState, ACCESS_EVENT_HEADER, DEFAULT_REQUEST_TIMEOUT, FETCH_SKEW_SECS, MAX_BUNDLE_BODY,
    MAX_ENTRY_BODY, MAX_UPLOAD_BYTES_IN_FLIGHT, SIGNATURE_HEADER,
};
pub use checkpoints::{CheckpointStore, FileCheckpointStore, StoredCheckpoint};
pub use clock::{Clock, ManualClock, ShiftedClock, SystemClock};
pub use config::{NodeConfig, WitnessConfig, WitnessPeer};
pub use error::{ApiError, NodeError, StoreError};
pub use keys::LogKey;
pub use limits::{ErasureLimits, ProxyNet, ProxyNetError, RateLimiter};
pub use node::{
    Appended, Node, NodeHealth, NodeOptions, OffLogWrite, Sequencer, Submission, WitnessTarget,
    WriterStatus, DEFAULT_MAX_BACKUP_SHARES, DEFAULT_MAX_BUNDLE_BYTES,
};
pub use openapi::OPENAPI_JSON;
pub use server::{serve, ServeOptions};
pub use store::Durability;
