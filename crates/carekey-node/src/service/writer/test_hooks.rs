//! Fault injection for the unit tests: a hook per data directory and point of the writer;
//! a hook that returns `true` makes the writer fail there.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Where in the writer a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Point {
    /// Inside a batch's transaction, after the read that precedes a submission's writes.
    AfterRead,
    /// After a batch's commit, before its tiles and checkpoint.
    AfterCommit,
    /// When a failed writer reopens its state.
    Reload,
}

type Hook = Box<dyn FnMut() -> bool + Send>;
type Hooks = HashMap<(PathBuf, Point), Hook>;
static HOOKS: Mutex<Option<Hooks>> = Mutex::new(None);

pub(crate) fn set(data: &Path, point: Point, hook: Hook) {
    let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
    hooks
        .get_or_insert_with(HashMap::new)
        .insert((data.to_owned(), point), hook);
}

/// Runs the hook set for `data` at `point` (outside the hooks' lock), if any.
pub(crate) fn fire(data: &Path, point: Point) -> bool {
    let key = (data.to_owned(), point);
    let hook = HOOKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_mut()
        .and_then(|h| h.remove(&key));
    let Some(mut hook) = hook else { return false };
    let fail = hook();
    HOOKS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get_or_insert_with(HashMap::new)
        .entry(key)
        .or_insert(hook);
    fail
}

/// Removes the hook set for `data` at `point`.
pub(crate) fn clear(data: &Path, point: Point) {
    let mut hooks = HOOKS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(h) = hooks.as_mut() {
        h.remove(&(data.to_owned(), point));
    }
}
