//! How a log's raw objects are fetched: the [`Transport`] trait, the directory transport, and
//! the size caps every transport applies.
//!
//! A transport knows paths and bytes, nothing else: `checkpoint`, `tile/<L>/<N>[.p/<W>]` and
//! `tile/entries/<N>[.p/<W>]` under a log's prefix (C2SP `tlog-tiles`). It returns bytes
//! exactly as stored, only capped in size; it never interprets or "fixes" them. Whatever it
//! returns is checked by [`crate::reader`] against the pinned keys and the signed tree before
//! anything is believed, so a transport needs no trust and no knowledge of the log.
//!
//! Transports are injected: [`DirTransport`] (here, `std::fs` only) reads a mirror on disk or a
//! node's data directory; the HTTP transport lives with the crate that owns an HTTP client
//! (`carekey-sync` for the wallet, `carekey-node` for its auditor), since this crate does no
//! network I/O.

use std::fs;
use std::io::{ErrorKind, Read};
use std::path::{Component, Path, PathBuf};

use crate::note::MAX_NOTE_LEN;
use crate::tiles::{TileId, TileKind, HASH_SIZE, MAX_ENTRY_LEN};
use crate::FetchError;

/// The path of a log's current checkpoint under its prefix.
pub const CHECKPOINT_PATH: &str = "checkpoint";
/// The largest checkpoint fetched: the signed-note limit.
pub const MAX_CHECKPOINT_BYTES: u64 = MAX_NOTE_LEN as u64;

/// Fetches a log's raw objects by path.
pub trait Transport {
    /// The bytes stored at `path` under the log's prefix (`checkpoint`, `tile/0/000`, …),
    /// verbatim. More than `limit` bytes is [`FetchError::TooLarge`]; a missing object is
    /// [`FetchError::NotFound`] (so a reader can fall back from a partial tile to the full
    /// one).
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError>;
}

impl<T: Transport + ?Sized> Transport for &T {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        (**self).fetch(path, limit)
    }
}

/// The most bytes tile `id` can legitimately have.
pub fn tile_limit(id: &TileId) -> u64 {
    let width = u64::from(id.width);
    match id.kind {
        TileKind::Hash { .. } => width * HASH_SIZE as u64,
        TileKind::Entries => width * (2 + MAX_ENTRY_LEN as u64),
    }
}

/// The current checkpoint note, capped at [`MAX_CHECKPOINT_BYTES`].
pub fn fetch_checkpoint(transport: &dyn Transport) -> Result<Vec<u8>, FetchError> {
    transport.fetch(CHECKPOINT_PATH, MAX_CHECKPOINT_BYTES)
}

/// The bytes of tile `id`, capped at [`tile_limit`].
pub fn fetch_tile(transport: &dyn Transport, id: &TileId) -> Result<Vec<u8>, FetchError> {
    transport.fetch(&id.path(), tile_limit(id))
}

/// Whether `path` stays inside a log's prefix: relative, non-empty, only normal components.
pub fn is_log_path(path: &str) -> bool {
    !path.is_empty()
        && !path.contains('\\')
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && path.split('/').all(|part| !part.is_empty())
}

/// A log on disk: `<dir>/checkpoint` and `<dir>/tile/…`, the layout a node writes in its data
/// directory and any static web server serves.
#[derive(Debug, Clone)]
pub struct DirTransport {
    dir: PathBuf,
}

impl DirTransport {
    /// A transport reading the log in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The directory read.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Transport for DirTransport {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        if !is_log_path(path) {
            return Err(FetchError::BadPath {
                path: path.to_owned(),
            });
        }
        let full = self.dir.join(path);
        let location = full.display().to_string();
        let unreachable = |e: std::io::Error| FetchError::Unreachable {
            location: location.clone(),
            reason: e.to_string(),
        };
        let file = fs::File::open(&full).map_err(|e| match e.kind() {
            ErrorKind::NotFound => FetchError::NotFound {
                location: location.clone(),
            },
            _ => unreachable(e),
        })?;
        let mut out = Vec::new();
        file.take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(unreachable)?;
        if out.len() as u64 > limit {
            return Err(FetchError::TooLarge { location, limit });
        }
        Ok(out)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_inside_the_log_are_read() {
        for good in ["checkpoint", "tile/0/000", "tile/entries/x001/234.p/17"] {
            assert!(is_log_path(good), "{good}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "../checkpoint",
            "tile/../../x",
            "tile//000",
            "./checkpoint",
            "tile\\0",
        ] {
            assert!(!is_log_path(bad), "{bad}");
        }
        let t = DirTransport::new(PathBuf::from("/nonexistent-carekey-dir"));
        assert!(matches!(
            t.fetch("../x", 10),
            Err(FetchError::BadPath { .. })
        ));
        assert!(matches!(
            t.fetch("checkpoint", 10),
            Err(FetchError::NotFound { .. })
        ));
    }

    #[test]
    fn a_file_over_the_limit_is_refused() {
        let dir = std::env::temp_dir().join(format!("carekey-ledger-dir-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("checkpoint"), b"abcdef").unwrap();
        let t = DirTransport::new(dir.clone());
        assert_eq!(t.fetch("checkpoint", 6).unwrap(), b"abcdef");
        assert!(matches!(
            t.fetch("checkpoint", 5),
            Err(FetchError::TooLarge { limit: 5, .. })
        ));
        fs::remove_dir_all(&dir).unwrap();
    }
}
