//! The ledger node: every route through `tower::ServiceExt::oneshot`, then real processes
//! (crash and restart, witnesses, the auditor).
#![allow(clippy::unwrap_used, unreachable_pub)]

mod embedded;
mod entries;
mod faults;
mod grants;
mod hostile;
mod links;
mod processes;
mod reads;
mod shares;
mod support;
