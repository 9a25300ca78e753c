//! A minimal HTTP/1.1 client over hyper for plain `http://` URLs: witness pushes and the
//! auditor. (TLS is left to a reverse proxy in front of nodes and witnesses.)

use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Why a request failed before an HTTP status came back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL is not `http://host:port/path`.
    #[error("unsupported URL {0}")]
    BadUrl(String),
    /// Connecting, sending or reading failed.
    #[error("{0}")]
    Transport(String),
    /// No answer within the time limit.
    #[error("timed out")]
    Timeout,
}

/// A response: status and body.
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

/// Splits `http://host[:port]/path` into the socket address text, the host header and the
/// path.
fn split_url(url: &str) -> Result<(String, String, String), ClientError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ClientError::BadUrl(url.to_owned()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(ClientError::BadUrl(url.to_owned()));
    }
    let addr = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    Ok((addr, authority.to_owned(), path.to_owned()))
}

/// Sends one request and reads the whole answer (at most `max_body` bytes).
pub async fn send(
    method: Method,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, &str)],
    timeout: Duration,
    max_body: usize,
) -> Result<Reply, ClientError> {
    let fut = async {
        let (addr, host, path) = split_url(url)?;
        let stream = TcpStream::connect(&addr)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let conn_task = tokio::spawn(conn);
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header("host", host);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        let status = resp.status();
        let body = Limited::new(resp.into_body(), max_body)
            .collect()
            .await
            .map_err(|e| ClientError::Transport(e.to_string()))?
            .to_bytes();
        conn_task.abort();
        Ok(Reply { status, body })
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| ClientError::Timeout)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split() {
        let (a, h, p) = split_url("http://127.0.0.1:8080/x/y").unwrap_or_default();
        assert_eq!(
            (a.as_str(), h.as_str(), p.as_str()),
            ("127.0.0.1:8080", "127.0.0.1:8080", "/x/y")
        );
        let (a, _, p) = split_url("http://example.org").unwrap_or_default();
        assert_eq!((a.as_str(), p.as_str()), ("example.org:80", "/"));
        assert!(split_url("https://example.org/").is_err());
    }
}
