//! The app's commands driven through Tauri's mock runtime (no window, no display), the
//! embedded ledger, and the TypeScript bindings drift check.
#![allow(clippy::unwrap_used)]

mod bindings;
mod cards_summary;
mod commands;
mod harness;
mod home;
mod ledger;
#[path = "../common/viewer.rs"]
mod viewer;
