//! The HTTP transport: a node or any static mirror of its tiles, over HTTP(S), for the one
//! log reader of `carekey-ledger` (ADR 0014).
//!
//! It returns bytes exactly as served, only capped in size; nothing it returns is trusted until
//! [`carekey_ledger::reader`] has checked it against a checkpoint signed by the pinned keys. A
//! mirror on disk is read with [`carekey_ledger::transport::DirTransport`].

use std::io::Read;
use std::time::Duration;

use carekey_ledger::transport::Transport;
use carekey_ledger::{FetchError, ReadError};
use reqwest::blocking::{Client, Response};
use reqwest::{StatusCode, Url};

use crate::SyncError;

/// How long to wait for a TCP (and TLS) connection.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole request may take, connection to last body byte.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A node or a static mirror of its tiles, over HTTP or HTTPS: plain `GET`s of
/// `<base>/checkpoint` and `<base>/tile/…`, with a 5 s connect timeout, a 30 s limit per
/// request and the size caps the reader asks for.
#[derive(Debug, Clone)]
pub struct HttpTransport {
    base: Url,
    client: Client,
}

impl HttpTransport {
    /// A transport reading under `base_url` (e.g. `https://mirror.example/carekey/log1`).
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
}

impl Transport for HttpTransport {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        if !carekey_ledger::transport::is_log_path(path) {
            return Err(FetchError::BadPath {
                path: path.to_owned(),
            });
        }
        let url = join(&self.base, path);
        let response = self
            .client
            .get(url.clone())
            .send()
            .map_err(|e| unreachable(&url, &e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(FetchError::NotFound {
                location: url.to_string(),
            });
        }
        if !response.status().is_success() {
            return Err(FetchError::Status {
                location: url.to_string(),
                status: response.status().as_u16(),
            });
        }
        read_capped(response, &url, limit).map_err(|e| match e {
            SyncError::TooLarge { url, limit } => FetchError::TooLarge {
                location: url,
                limit,
            },
            SyncError::Http { url, reason } => FetchError::Unreachable {
                location: url,
                reason,
            },
            other => FetchError::Unreachable {
                location: url.to_string(),
                reason: other.to_string(),
            },
        })
    }
}

impl From<FetchError> for SyncError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::NotFound { location } => SyncError::NotFound { url: location },
            FetchError::TooLarge { location, limit } => SyncError::TooLarge {
                url: location,
                limit,
            },
            FetchError::Status { location, status } => SyncError::Status {
                url: location,
                status,
                code: None,
            },
            FetchError::Unreachable { location, reason } => SyncError::Http {
                url: location,
                reason,
            },
            FetchError::BadPath { path } => SyncError::Http {
                url: path,
                reason: "not a path inside a log".to_owned(),
            },
            other => SyncError::Http {
                url: String::new(),
                reason: other.to_string(),
            },
        }
    }
}

impl From<ReadError> for SyncError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Fetch(f) => f.into(),
            ReadError::Checkpoint(n) => SyncError::BadCheckpoint(n),
            ReadError::NoQuorum { have, need } => SyncError::NoQuorum { have, need },
            ReadError::Stale { age, max } => SyncError::Stale { age, max },
            ReadError::TamperedTile { path }
            | ReadError::TamperedEntry { path, .. }
            | ReadError::TileMismatch { path, .. } => SyncError::TamperedTile { path },
            ReadError::BadTile { path, reason } => SyncError::BadTile { path, reason },
            other => SyncError::BadTile {
                path: String::new(),
                reason: other.to_string(),
            },
        }
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
    SyncError::Http {
        url: url.to_string(),
        reason: describe(e),
    }
}

/// The same for a log read.
fn unreachable(url: &Url, e: &reqwest::Error) -> FetchError {
    FetchError::Unreachable {
        location: url.to_string(),
        reason: describe(e),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        format!("connection failed: {}", root_cause(e))
    } else {
        root_cause(e)
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
