//! End-to-end tests: real `carekey` processes on real files, and the workspace's layering rule.
#![allow(clippy::unwrap_used)]

mod big_file;
mod cards;
mod cli;
mod crash;
mod erasure;
mod faults;
mod faults_ledger;
mod fuzz_replay;
mod hostile_node;
mod hostile_requests;
mod invariants;
mod keyring;
mod layering;
mod ledger;
mod links;
mod story;
mod summary;
