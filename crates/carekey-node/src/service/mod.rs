//! The service layer: the node's use cases below HTTP. [`Node`] is the handle (in [`node`]);
//! each job it does for the handlers is its own module of `impl Node` blocks: [`entries`]
//! (the policy check, the erasure budget, appends), [`bundles`] (the grant-bundle store),
//! [`fetch`] (serving a bundle after logging the access), [`shares`] (backup key shares),
//! [`links`] (hosted SMART Health Links: registration, end, files) and [`link_open`] (a
//! link's manifest, served after logging the open), [`reads`] (tiles). Appends go through the [`sequencer`] to the [`writer`] thread, which
//! applies the stateful half of the [`policy`]. [`limits`] and [`cache`] are the rate limits
//! and the fetch cache the handlers use.
//!
//! Imports `crate::storage` and the crate's foundations (`error`, `keys`, `clock`, `client`),
//! never `crate::http`. Functions that need the time take `now` (unix seconds) rather than a
//! clock.

pub(crate) mod bundles;
pub(crate) mod cache;
pub(crate) mod entries;
pub(crate) mod fetch;
pub(crate) mod health;
pub(crate) mod limits;
pub(crate) mod link_open;
pub(crate) mod links;
pub(crate) mod node;
pub(crate) mod policy;
pub(crate) mod reads;
pub(crate) mod sequencer;
pub(crate) mod shares;
pub(crate) mod submission;
pub(crate) mod writer;

pub use fetch::FETCH_SKEW_SECS;
pub use health::{NodeHealth, WriterStatus};
pub use node::{Node, NodeOptions, DEFAULT_MAX_BACKUP_SHARES, DEFAULT_MAX_BUNDLE_BYTES};
pub use sequencer::{OffLogWrite, Sequencer};
pub use submission::{Appended, Submission};
pub use writer::WitnessTarget;
