//! Named crash points: an injected abort at a step boundary, so a crash test can stop a real
//! `carekey` process exactly between two durable steps and replay that failure from its seed.
//!
//! `CAREKEY_CRASH_AT=<point>` (or `<point>:<n>`, the n-th time the point is reached in this
//! process, counting from 1) makes the wallet abort the process when it reaches that point. The
//! variable is read once per process; unset (the only case outside tests), a point costs one
//! relaxed atomic load.
//!
//! Every point is listed in [`POINTS`], so a test can choose one by its seed and another test can
//! prove each is reachable.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// Every crash point the wallet has, in the order a patient action meets them.
pub const POINTS: &[&str] = &[
    // Around every write of the wallet state (choose the n-th with `point:n`).
    "state.before-save",
    "state.saved",
    // After the outbox was sent to the nodes, before the receipts are saved.
    "outbox.flushed",
    // After each known backup file was re-written.
    "backup.rewritten",
    // Ending a grant (revoke, erase a grant): the change is ready in memory / committed.
    "grant-end.prepared",
    "grant-end.committed",
    // Erasing a record: ready in memory / committed.
    "record-erasure.prepared",
    "record-erasure.committed",
    // `erase --all`: the erasure journal is written (nothing sent yet) / everything signed
    // and sent, right before the vault is destroyed.
    "erase-all.journal-written",
    "erase-all.before-destroy",
];

/// The exit status an injected crash leaves: the process aborts (SIGABRT), and just before that
/// prints this marker on standard error so a test can tell an injected crash from a real one.
pub const MARKER: &str = "carekey: injected crash at";

struct Target {
    point: String,
    nth: u32,
    seen: AtomicU32,
}

fn target() -> Option<&'static Target> {
    static TARGET: OnceLock<Option<Target>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            let value = std::env::var("CAREKEY_CRASH_AT").ok()?;
            let (point, nth) = match value.rsplit_once(':') {
                Some((p, n)) => (p.to_owned(), n.parse().ok()?),
                None => (value, 1),
            };
            Some(Target {
                point,
                nth,
                seen: AtomicU32::new(0),
            })
        })
        .as_ref()
}

/// Marks a step boundary named `name` (one of [`POINTS`]); aborts the process there when
/// `CAREKEY_CRASH_AT` names it.
pub(crate) fn point(name: &'static str) {
    debug_assert!(
        POINTS.contains(&name),
        "crash point {name} is not in POINTS"
    );
    let Some(t) = target() else { return };
    if t.point == name && t.seen.fetch_add(1, Ordering::Relaxed) + 1 == t.nth {
        eprintln!("{MARKER} {name}");
        std::process::abort();
    }
}
