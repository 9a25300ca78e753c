//! Carekey's ledger node: the server side of docs/protocol.md.
//!
//! A node is a transparency log with a small write API. [`app`] is its axum router:
//! `GET /checkpoint` and `GET /tile/...` (C2SP tlog-tiles, served from files laid out so that
//! the data directory is itself a static mirror), `POST /v1/entries` with the policy check,
//! the off-log grant-bundle store (`PUT /v1/grants/<id>/bundle`, `POST .../fetch` which logs an
//! access event before serving, `DELETE /v1/grants/<id>`), hosted SMART Health Links
//! (`/v1/links/<id>`: a manifest is served only after its link-open event is logged) and
//! `GET /v1/openapi.json`.
//! [`Node`] owns the storage (SQLite in WAL mode with `synchronous=FULL`, tiles and the
//! checkpoint as files) and the single writer thread that batches appends, writes tiles
//! durably, then signs, pushes to witnesses and acknowledges with `tlog-proof` receipts.
//! [`witness`] is the C2SP `tlog-witness` server, [`audit`] the auditor, [`embedded`] a node
//! served in-process (what the app runs).
//!
//! Depended on by the `carekey-node` binary (built with the default `cli` feature, which
//! alone brings clap, anyhow and tracing-subscriber) and by the app (without it) to run a
//! local node. The log maths and formats come from `carekey-ledger`, documents from
//! `carekey-model`, crypto from `carekey-crypto`. Time is read only through an injectable
//! [`Clock`].
//!
//! # Layers
//!
//! Three layers, each a module folder; an arrow is "may import", and there is no arrow up:
//!
//! ```text
//! embedded, config          the entry points: assemble the layers (config: the binary's file)
//!     ↓
//! http/     axum handlers, request parsing, AppState, middleware, the server loop, OpenAPI
//!     ↓
//! service/  the Node handle and its use cases (entries, bundles, fetch, shares, links,
//!           link_open, reads), the policy, limits, the fetch cache, the sequencer and the
//!           writer thread (its tile writes and witness pushes in their own modules)
//!     ↓
//! storage/  SQLite (db, links), the files under the data directory, the checkpoint file,
//!           the WAL checkpointer
//! ```
//!
//! Every layer may import the foundations, which import no layer: `error` (the error types,
//! `ApiError` included: the stable `{code, message}` a refusal carries from the service to the
//! client), `clock`, `keys` and `client` (a small HTTP client, for witness pushes and audits).
//! The witness server ([`witness`]) and the auditor ([`audit`]) are modes of their own built
//! on the foundations only. `tests/tests/e2e/layering.rs` checks these rules on the sources.
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod audit;
pub mod client;
mod clock;
mod config;
pub mod embedded;
mod error;
mod http;
mod keys;
mod service;
mod storage;
pub mod witness;

pub use clock::{Clock, ManualClock, ShiftedClock, SystemClock};
pub use config::{NodeConfig, WitnessConfig, WitnessPeer};
pub use error::{ApiError, NodeError, StoreError};
pub use http::openapi::OPENAPI_JSON;
pub use http::server::{serve, ServeOptions};
pub use http::{
    app, AppState, ACCESS_EVENT_HEADER, DEFAULT_REQUEST_TIMEOUT, MAX_BUNDLE_BODY, MAX_ENTRY_BODY,
    MAX_UPLOAD_BYTES_IN_FLIGHT, SIGNATURE_HEADER,
};
pub use keys::LogKey;
pub use service::limits::{ErasureLimits, ProxyNet, ProxyNetError, RateLimiter};
pub use service::{
    Appended, Node, NodeHealth, NodeOptions, OffLogWrite, Sequencer, Submission, WitnessTarget,
    WriterStatus, DEFAULT_MAX_BACKUP_SHARES, DEFAULT_MAX_BUNDLE_BYTES, FETCH_SKEW_SECS,
};
pub use storage::checkpoints::{CheckpointStore, FileCheckpointStore, StoredCheckpoint};
pub use storage::Durability;
