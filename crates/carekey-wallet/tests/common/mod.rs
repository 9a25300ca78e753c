//! What the wallet's integration tests share: a patient wallet on test KDF parameters and a
//! file secret store, created at [`NOW`].
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use carekey_wallet::{FileStore, KdfParams, Passphrase, PatientWallet};

/// The tests' clock (unix seconds).
pub(crate) const NOW: u64 = 1_750_000_000;
/// A day in seconds.
pub(crate) const DAY: u64 = 86_400;

/// A new patient wallet in `dir/p` (device secrets in `dir/p.device`).
pub(crate) fn patient(dir: &Path) -> PatientWallet {
    PatientWallet::create(
        &dir.join("p"),
        &Passphrase::new("a patient passphrase".into()),
        KdfParams::TEST,
        Box::new(FileStore::new(dir.join("p.device"))),
        NOW,
    )
    .unwrap()
    .0
}
