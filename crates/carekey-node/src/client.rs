//! A minimal HTTP/1.1 client over hyper for plain `http://` URLs: witness pushes, and
//! [`HttpTransport`], the auditor's transport for `carekey-ledger`'s one log reader (ADR
//! 0014). (TLS is left to a reverse proxy in front of nodes and witnesses.)

use std::time::Duration;

use axum::body::Bytes;
use carekey_ledger::transport::{is_log_path, Transport};
use carekey_ledger::FetchError;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// How long one read of a log object may take, connection to last body byte.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The answer's body is larger than the caller allows.
    #[error("the answer is larger than the {limit} bytes allowed")]
    TooLarge {
        /// The cap, in bytes.
        limit: usize,
    },
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
            .map_err(|e| {
                if e.downcast_ref::<LengthLimitError>().is_some() {
                    ClientError::TooLarge { limit: max_body }
                } else {
                    ClientError::Transport(e.to_string())
                }
            })?
            .to_bytes();
        conn_task.abort();
        Ok(Reply { status, body })
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| ClientError::Timeout)?
}

/// A node or static mirror over plain HTTP, as a log transport: blocking `GET`s of
/// `<base>/checkpoint` and `<base>/tile/…` on a runtime of its own, so it must not be used from
/// inside an async runtime.
#[derive(Debug)]
pub struct HttpTransport {
    base: String,
    runtime: tokio::runtime::Runtime,
}

impl HttpTransport {
    /// A transport reading under `base` (`http://host:port[/prefix]`).
    pub fn new(base: &str) -> Result<Self, ClientError> {
        let base = base.trim_end_matches('/').to_owned();
        split_url(&format!("{base}/"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Transport(e.to_string()))?;
        Ok(Self { base, runtime })
    }
}

impl Transport for HttpTransport {
    fn fetch(&self, path: &str, limit: u64) -> Result<Vec<u8>, FetchError> {
        if !is_log_path(path) {
            return Err(FetchError::BadPath {
                path: path.to_owned(),
            });
        }
        let location = format!("{}/{path}", self.base);
        let max_body = usize::try_from(limit).unwrap_or(usize::MAX);
        let reply = self
            .runtime
            .block_on(send(
                Method::GET,
                &location,
                Vec::new(),
                &[],
                READ_TIMEOUT,
                max_body,
            ))
            .map_err(|e| match e {
                ClientError::TooLarge { .. } => FetchError::TooLarge {
                    location: location.clone(),
                    limit,
                },
                other => FetchError::Unreachable {
                    location: location.clone(),
                    reason: other.to_string(),
                },
            })?;
        if reply.status == StatusCode::NOT_FOUND {
            return Err(FetchError::NotFound { location });
        }
        if !reply.status.is_success() {
            return Err(FetchError::Status {
                location,
                status: reply.status.as_u16(),
            });
        }
        Ok(reply.body.to_vec())
    }
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

    /// A one-thread server on 127.0.0.1 answering each request by its path, then closing.
    fn serve(answers: Vec<(&'static str, &'static str, Vec<u8>)>) -> String {
        use std::io::{BufRead as _, BufReader, Write as _};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind on loopback");
        let addr = listener
            .local_addr()
            .expect("a bound listener has an address");
        std::thread::spawn(move || {
            for stream in listener.incoming().take(answers.len()) {
                let Ok(stream) = stream else { continue };
                let mut reader = BufReader::new(stream);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).map_or(true, |n| n == 0) || header == "\r\n" {
                        break;
                    }
                }
                let (status, body) = answers
                    .iter()
                    .find(|(p, _, _)| *p == path)
                    .map_or(("404 Not Found", &[][..]), |(_, s, b)| (*s, b.as_slice()));
                let mut stream = reader.into_inner();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(body);
            }
        });
        format!("http://{addr}/log")
    }

    #[test]
    fn the_log_transport_caps_and_names_what_it_reads() {
        let base = serve(vec![
            ("/log/checkpoint", "200 OK", b"note".to_vec()),
            ("/log/tile/0/000", "200 OK", vec![0; 64]),
            ("/log/tile/0/001", "500 Internal Server Error", Vec::new()),
            ("/log/tile/0/002", "404 Not Found", Vec::new()),
        ]);
        let t = HttpTransport::new(&base).expect("a plain http URL");
        assert_eq!(t.fetch("checkpoint", 4).ok(), Some(b"note".to_vec()));
        assert!(matches!(
            t.fetch("tile/0/000", 32),
            Err(FetchError::TooLarge { limit: 32, .. })
        ));
        assert!(matches!(
            t.fetch("tile/0/001", 32),
            Err(FetchError::Status { status: 500, .. })
        ));
        let missing = t.fetch("tile/0/002", 32);
        assert!(
            matches!(&missing, Err(FetchError::NotFound { location }) if location == &format!("{base}/tile/0/002")),
            "{missing:?}"
        );
        assert!(matches!(
            t.fetch("../secret", 32),
            Err(FetchError::BadPath { .. })
        ));
        assert!(HttpTransport::new("https://example.org/").is_err());
    }
}
