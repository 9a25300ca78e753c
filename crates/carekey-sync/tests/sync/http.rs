//! A tiny HTTP/1.1 server on 127.0.0.1:0 for the tests: a static file server (a mirror) or a
//! scripted node answering chosen statuses. One thread per connection, `Connection: close`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use carekey_ledger::transport::DirTransport;
use carekey_sync::{HttpTransport, LogState, Watch};

use crate::{FakeLog, NOW};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Request {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What to answer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
    /// Wait this long before answering.
    pub(crate) delay: Option<Duration>,
    /// Send the body without a Content-Length (until the connection closes).
    pub(crate) no_length: bool,
}

impl Reply {
    pub(crate) fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: body.into(),
            delay: None,
            no_length: false,
        }
    }

    pub(crate) fn json(status: u16, body: &str) -> Self {
        let mut r = Self::new(status, body);
        r.headers
            .push(("Content-Type".into(), "application/json".into()));
        r
    }

    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }
}

type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

/// A running server; its threads end with the test process.
pub(crate) struct Server {
    pub(crate) port: u16,
    pub(crate) requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub(crate) fn start(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let seen = requests.clone();
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = handler.clone();
                let seen = seen.clone();
                thread::spawn(move || serve(stream, &*handler, &seen));
            }
        });
        Self { port, requests }
    }

    /// A static file server over `dir`: `GET /<path>` answers the file or 404.
    pub(crate) fn files(dir: PathBuf) -> Self {
        Self::start(move |req| {
            let rel = req.path.trim_start_matches('/');
            if req.method != "GET" || rel.split('/').any(|p| p == ".." || p.is_empty()) {
                return Reply::new(404, "");
            }
            match std::fs::read(dir.join(rel)) {
                Ok(bytes) => Reply::new(200, bytes),
                Err(_) => Reply::new(404, "not found"),
            }
        })
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub(crate) fn seen(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, handler: &Handler, seen: &Mutex<Vec<Request>>) {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let path = parts.next().unwrap_or("").to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim_end().is_empty() {
            break;
        }
        if let Some((n, v)) = h.trim_end().split_once(':') {
            headers.push((n.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let request = Request {
        method,
        path,
        headers,
        body,
    };
    seen.lock().unwrap().push(request.clone());
    let reply = handler(&request);
    if let Some(d) = reply.delay {
        thread::sleep(d);
    }
    let mut stream = reader.into_inner();
    let mut head = format!(
        "HTTP/1.1 {} Whatever\r\nConnection: close\r\n",
        reply.status
    );
    if !reply.no_length {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    for (n, v) in &reply.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&reply.body);
    let _ = stream.flush();
}

#[test]
fn a_static_http_mirror_and_a_directory_give_the_same_verified_view() {
    let mut log = FakeLog::new();
    log.append_fillers(300);
    let watched = crate::grant_key(7);
    let index = log.append(crate::grant_entry(&watched, 1));
    log.append_fillers(20);
    let dir = tempfile::tempdir().unwrap();
    log.publish(dir.path());
    let server = Server::files(dir.path().to_owned());
    let watch = Watch {
        grant_keys: vec![watched.public()],
        own_entries: vec![(index, log.entries[index as usize].clone())],
    };

    let http = HttpTransport::new(&server.url()).unwrap();
    let over_http = carekey_sync::sync(
        &http,
        &log.pinned(&server.url()),
        &LogState::default(),
        &watch,
        NOW,
    )
    .unwrap();
    let disk = DirTransport::new(dir.path().to_owned());
    let from_disk = carekey_sync::sync(
        &disk,
        &log.pinned("file"),
        &LogState::default(),
        &watch,
        NOW,
    )
    .unwrap();

    assert_eq!(over_http.state, from_disk.state);
    assert_eq!(over_http.state.size, 321);
    assert_eq!(over_http.found.len(), 1);
    assert_eq!(over_http.found[0].index, index);
    assert_eq!(over_http.found, from_disk.found);
    // Plain GETs only, of the checkpoint and tiles.
    let seen = server.seen();
    assert!(seen.iter().all(|r| r.method == "GET"));
    assert!(seen.iter().any(|r| r.path == "/checkpoint"));
    assert!(seen.iter().any(|r| r.path == "/tile/entries/001.p/65"));
}

#[test]
fn a_mirror_under_a_path_prefix_works() {
    let mut log = FakeLog::new();
    log.append_fillers(3);
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("logs").join("one");
    std::fs::create_dir_all(&sub).unwrap();
    log.publish(&sub);
    let server = Server::files(dir.path().to_owned());
    let base = format!("{}logs/one", server.url());
    let source = HttpTransport::new(&base).unwrap();
    let out = carekey_sync::sync(
        &source,
        &log.pinned(&base),
        &LogState::default(),
        &Watch::default(),
        NOW,
    )
    .unwrap();
    assert_eq!(out.state.size, 3);
}
