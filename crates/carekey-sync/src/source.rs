//! Where the log is read from: a node or any static mirror over HTTP(S), or a mirror on disk.
//!
//! Sources return bytes exactly as served, only capped in size; nothing they return is trusted
//! until [`crate::sync`] has checked it against a checkpoint signed by the pinned keys.

use std::fs;
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use carekey_ledger::note::MAX_NOTE_LEN;
use carekey_ledger::tiles::{TileId, TileKind, HASH_SIZE, MAX_ENTRY_LEN};
use reqwest::blocking::{Client, Response};
use reqwest::{StatusCode, Url};

use crate::SyncError;

/// How long to wait for a TCP (and TLS) connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole request may take, connection to last body byte.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest checkpoint accepted: the signed-note limit of `carekey-ledger`.
pub const MAX_CHECKPOINT_BYTES: u64 = MAX_NOTE_LEN as u64;

/// Reads a log's checkpoint and tiles (C2SP `tlog-tiles` layout).
///
/// Implementations return what the source holds, verbatim; they may cap sizes but must not
/// interpret or "fix" anything. A missing checkpoint or tile is [`SyncError::NotFound`] (so the
/// verifier can fall back from a partial tile to the full one).
pub trait LogSource {
    /// The current signed checkpoint note (`GET /checkpoint`).
    fn checkpoint(&self) -> Result<String, SyncError>;
    /// The bytes of a hash tile or entry bundle (`GET /tile/…`).
    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, SyncError>;
}

/// The most bytes tile `id` can legitimately have.
pub fn tile_limit(id: &TileId) -> u64 {
    let width = u64::from(id.width);
    match id.kind {
        TileKind::Hash { .. } => width * HASH_SIZE as u64,
        TileKind::Entries => width * (2 + MAX_ENTRY_LEN as u64),
    }
}

/// A node or a static mirror of its tiles, over HTTP or HTTPS: plain `GET`s of `<base>/checkpoint`
/// and `<base>/tile/…`, with a 5 s connect timeout, a 30 s limit per request and size caps.
#[derive(Debug, Clone)]
pub struct HttpSource {
    base: Url,
    client: Client,
}

impl HttpSource {
    /// A source reading under `base_url` (e.g. `https://mirror.example/carekey/log1`).
    pub fn new(base_url: &str) -> Result<Self, SyncError> {
        Self::with_timeouts(base_url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// The same with other timeouts (for slow links, or tests).
    pub fn with_timeouts(
        base_url: &str,
        connect: Duration,
        total: Duration,
    ) -> Result<Self, SyncError> {
        Ok(Self {
            base: base_url_of(base_url)?,
            client: http_client(base_url, connect, total)?,
        })
    }

    fn get(&self, path: &str, limit: u64) -> Result<Vec<u8>, SyncError> {
        let url = join(&self.base, path);
        let response = self
            .client
            .get(url.clone())
            .send()
            .map_err(|e| transport(&url, &e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(SyncError::NotFound {
                url: url.to_string(),
            });
        }
        if !response.status().is_success() {
            return Err(SyncError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
                code: None,
            });
        }
        read_capped(response, &url, limit)
    }
}

impl LogSource for HttpSource {
    fn checkpoint(&self) -> Result<String, SyncError> {
        let bytes = self.get("checkpoint", MAX_CHECKPOINT_BYTES)?;
        // Non-UTF-8 is refused by the checkpoint parser with a precise error; keep the bytes'
        // meaning intact rather than replacing characters here.
        String::from_utf8(bytes)
            .map_err(|_| SyncError::BadCheckpoint(carekey_ledger::NoteError::NotUtf8))
    }

    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, SyncError> {
        self.get(&id.path(), tile_limit(id))
    }
}

/// A mirror of a log on disk: `<dir>/checkpoint` and `<dir>/tile/…`, the layout a node writes
/// and any static web server serves.
#[derive(Debug, Clone)]
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    /// A source reading the mirror in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn read(&self, path: &str, limit: u64) -> Result<Vec<u8>, SyncError> {
        let full = self.dir.join(path);
        let shown = full.display().to_string();
        let file = fs::File::open(&full).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => SyncError::NotFound { url: shown.clone() },
            _ => SyncError::Http {
                url: shown.clone(),
                reason: e.to_string(),
            },
        })?;
        let mut out = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut out)
            .map_err(|e| SyncError::Http {
                url: shown.clone(),
                reason: e.to_string(),
            })?;
        if out.len() as u64 > limit {
            return Err(SyncError::TooLarge { url: shown, limit });
        }
        Ok(out)
    }
}

impl LogSource for DirSource {
    fn checkpoint(&self) -> Result<String, SyncError> {
        let bytes = self.read("checkpoint", MAX_CHECKPOINT_BYTES)?;
        String::from_utf8(bytes)
            .map_err(|_| SyncError::BadCheckpoint(carekey_ledger::NoteError::NotUtf8))
    }

    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, SyncError> {
        self.read(&id.path(), tile_limit(id))
    }
}

/// Parses a base URL, keeping a trailing slash so that joins stay under it.
pub(crate) fn base_url_of(base_url: &str) -> Result<Url, SyncError> {
    let bad = |reason: &str| SyncError::BadUrl {
        url: base_url.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(base_url).map_err(|e| bad(&e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(bad("the scheme is not http or https"));
    }
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(bad("no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("a base URL has no query or fragment"));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// `base` (ending in `/`) followed by a relative path made only of safe characters.
pub(crate) fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let full = format!("{}{}", base.path(), path);
    url.set_path(&full);
    url
}

/// A blocking client with the crate's timeouts and a bounded number of redirects.
pub(crate) fn http_client(
    url: &str,
    connect: Duration,
    total: Duration,
) -> Result<Client, SyncError> {
    Client::builder()
        .connect_timeout(connect)
        .timeout(total)
        .redirect(reqwest::redirect::Policy::limited(5))
        .user_agent(concat!("carekey-sync/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SyncError::BadUrl {
            url: url.to_owned(),
            reason: format!("cannot build an HTTP client: {e}"),
        })
}

/// A transport error, described without the URL twice.
pub(crate) fn transport(url: &Url, e: &reqwest::Error) -> SyncError {
    let reason = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("connection failed: {}", root_cause(e))
    } else {
        root_cause(e)
    };
    SyncError::Http {
        url: url.to_string(),
        reason,
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(next) = last.source() {
        last = next;
    }
    last.to_string()
}

/// Reads a body of at most `limit` bytes (checking `Content-Length` first when present).
pub(crate) fn read_capped(response: Response, url: &Url, limit: u64) -> Result<Vec<u8>, SyncError> {
    let too_large = || SyncError::TooLarge {
        url: url.to_string(),
        limit,
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut out = Vec::new();
    response
        .take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| SyncError::Http {
            url: url.to_string(),
            reason: root_cause(&e),
        })?;
    if out.len() as u64 > limit {
        return Err(too_large());
    }
    Ok(out)
}
