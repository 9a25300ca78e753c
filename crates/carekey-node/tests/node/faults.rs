//! Issue 8 against real `carekey-node serve` processes on 127.0.0.1: the writer under fetch
//! load with concurrent deletions and erasures (hole 8), and hostile clients (hole 9), with the
//! node's peak memory.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use carekey_ledger::note::{open_checkpoint, NoteVerifier};
use carekey_model::ledger::Entry;
use carekey_node::client::send;
use hyper::Method;
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpSocket, TcpStream};

use crate::processes::{
    get, keygen, node_config_with, post_entry, unix_now, HttpTiles, Proc, PUBLIC_URL,
};
use crate::support::*;

/// An acknowledged entry and its index.
type Acked = (Vec<u8>, u64);

/// Statuses seen, by request kind.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<(&'static str, u16), u64>>);

impl Tally {
    fn add(&self, kind: &'static str, status: u16) {
        *self.0.lock().unwrap().entry((kind, status)).or_insert(0) += 1;
    }

    fn count(&self, kind: &'static str, status: u16) -> u64 {
        self.0
            .lock()
            .unwrap()
            .get(&(kind, status))
            .copied()
            .unwrap_or(0)
    }

    fn any_status(&self, status: u16) -> u64 {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|((_, s), _)| *s == status)
            .map(|(_, n)| n)
            .sum()
    }
}

async fn request(
    method: Method,
    url: &str,
    body: Vec<u8>,
    headers: &[(&str, String)],
) -> (u16, Vec<u8>) {
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let reply = send(
        method,
        url,
        body,
        &headers,
        Duration::from_secs(30),
        1 << 20,
    )
    .await
    .unwrap();
    (reply.status.as_u16(), reply.body.to_vec())
}

async fn commit(url: &str, f: &Fixture) -> u16 {
    let body = f.commit_body().to_string().into_bytes();
    let headers = [("content-type", "application/json".to_owned())];
    request(Method::POST, &format!("{url}/v1/entries"), body, &headers)
        .await
        .0
}

async fn upload(url: &str, f: &Fixture, bundle: &[u8]) -> u16 {
    let uri = format!("{url}/v1/grants/{}/bundle", f.id());
    request(
        Method::PUT,
        &uri,
        bundle.to_vec(),
        &f.upload_headers(bundle),
    )
    .await
    .0
}

async fn fetch_once(url: &str, f: &Fixture) -> (u16, Vec<u8>) {
    let r = f.fetch_request(PUBLIC_URL, unix_now());
    let uri = format!("{url}/v1/grants/{}/fetch", f.id());
    request(Method::POST, &uri, r.as_bytes().to_vec(), &[]).await
}

/// Peak resident memory (`VmHWM`) of process `pid`, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Issue 8, hole 8: provider fetches, grant deletions (`DELETE /v1/grants/<id>`), grant
/// erasures and standalone erasure entries, all at once against one real node for
/// `CAREKEY_LOAD_SECS` seconds (default 10): not one `503` (nor any other unexpected answer);
/// then `kill -9`, restart, and every acknowledged entry is at its index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_fetches_with_deletions_and_erasures_then_sigkill() {
    let secs: u64 = std::env::var("CAREKEY_LOAD_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let dir = tempfile::tempdir().unwrap();
    let (key, vkey) = keygen(dir.path(), ORIGIN);
    let log = NoteVerifier::parse(&vkey).unwrap();
    let config = node_config_with(
        dir.path(),
        &key,
        &[],
        "erasure_burst = 1000000\nerasure_per_hour = 1000000000\nerasure_cap_per_day = 1000000000\n",
    );
    let config_arg = config.to_str().unwrap().to_owned();
    let node = Proc::start(&["serve", "--config", &config_arg]);
    let url = node.url.clone();
    let now = unix_now();
    let stable: Vec<Arc<(Fixture, Vec<u8>)>> = (0..4u8)
        .map(|i| {
            let bundle: Vec<u8> = (0..20_000u32).map(|b| (b as u8) ^ i).collect();
            Arc::new((Fixture::new(now - DAY, now + 30 * DAY), bundle))
        })
        .collect();
    for g in &stable {
        assert_eq!(commit(&url, &g.0).await, 200);
        assert_eq!(upload(&url, &g.0, &g.1).await, 204);
    }
    let tally: Arc<Tally> = Arc::default();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let unexpected: Arc<Mutex<Vec<String>>> = Arc::default();
    let served = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    // Providers fetching the stable grants.
    for g in &stable {
        let (g, url, tally, unexpected, served) = (
            g.clone(),
            url.clone(),
            tally.clone(),
            unexpected.clone(),
            served.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let (status, body) = fetch_once(&url, &g.0).await;
                tally.add("fetch", status);
                if status == 200 && body == g.1 {
                    served.fetch_add(1, Ordering::Relaxed);
                } else {
                    unexpected.lock().unwrap().push(format!(
                        "fetch: {status} {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
        }));
    }
    // Patients sharing, then ending grants: half by DELETE, half by an erasure entry.
    let ended: Arc<Mutex<Vec<Fixture>>> = Arc::default();
    for worker in 0..2u64 {
        let (url, tally, unexpected, acked, ended) = (
            url.clone(),
            tally.clone(),
            unexpected.clone(),
            acked.clone(),
            ended.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = worker;
            while Instant::now() < deadline {
                n += 2;
                let f = Fixture::new(now - DAY, now + 30 * DAY);
                let bundle = n.to_be_bytes().repeat(64);
                let expect = |kind: &'static str, status: u16, want: u16| {
                    tally.add(kind, status);
                    if status != want {
                        unexpected
                            .lock()
                            .unwrap()
                            .push(format!("{kind}: {status}, expected {want}"));
                    }
                };
                expect("commit", commit(&url, &f).await, 200);
                expect("upload", upload(&url, &f, &bundle).await, 204);
                expect("fetch", fetch_once(&url, &f).await.0, 200);
                if n % 4 < 2 {
                    let uri = format!("{url}/v1/grants/{}", f.id());
                    let (status, _) =
                        request(Method::DELETE, &uri, vec![], &f.delete_headers()).await;
                    expect("delete", status, 204);
                } else {
                    let entry = f.erasure(now).as_bytes().to_vec();
                    match post_entry(&url, &entry).await {
                        Ok((index, _)) => {
                            tally.add("erase_grant", 200);
                            acked.lock().unwrap().push((entry, index));
                        }
                        Err(e) => expect("erase_grant", e[..3].parse().unwrap_or(0), 200),
                    }
                }
                let (status, body) = fetch_once(&url, &f).await;
                expect("fetch_ended", status, 403);
                if error_code(&body) != "erased" {
                    unexpected
                        .lock()
                        .unwrap()
                        .push(format!("fetch_ended: {}", String::from_utf8_lossy(&body)));
                }
                ended.lock().unwrap().push(f);
            }
        }));
    }
    // Standalone erasure entries (records erased by patients).
    {
        let (url, tally, unexpected, acked) = (
            url.clone(),
            tally.clone(),
            unexpected.clone(),
            acked.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let entry = one_time_erasure(n).as_bytes().to_vec();
                match post_entry(&url, &entry).await {
                    Ok((index, _)) => {
                        tally.add("erasure", 200);
                        acked.lock().unwrap().push((entry, index));
                    }
                    Err(e) => {
                        tally.add("erasure", e[..3].parse().unwrap_or(0));
                        unexpected.lock().unwrap().push(format!("erasure: {e}"));
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let pid = node.child.id();
    let peak = peak_rss_kib(pid);
    let summary = format!("{:?}", tally.0.lock().unwrap());
    println!("{secs} s of load: {summary}; node peak RSS {peak} KiB");
    assert_eq!(tally.any_status(503), 0, "503s under load: {summary}");
    let unexpected = std::mem::take(&mut *unexpected.lock().unwrap());
    assert!(
        unexpected.is_empty(),
        "{} unexpected answers, first: {:?}",
        unexpected.len(),
        &unexpected[..unexpected.len().min(5)]
    );
    assert!(tally.count("delete", 204) > 0 && tally.count("erase_grant", 200) > 0);
    node.kill();
    // Every acknowledged entry survives the kill at its index; every served fetch left an
    // access event.
    let node = Proc::start(&["serve", "--config", &config_arg]);
    let r = get(&format!("{}/checkpoint", node.url)).await;
    let size = open_checkpoint(
        std::str::from_utf8(&r.body).unwrap(),
        &log,
        &[],
        u64::MAX / 2,
    )
    .unwrap()
    .checkpoint
    .size;
    let tiles = HttpTiles::fetch(&node.url, size).await;
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    for (entry, index) in &acked {
        assert!(*index < size, "acknowledged index {index} beyond {size}");
        assert_eq!(&tiles.entry(*index, size), entry, "entry {index} changed");
    }
    let events = (0..size)
        .filter(|i| {
            matches!(
                Entry::from_bytes(&tiles.entry(*i, size)),
                Ok(Entry::Access(_))
            )
        })
        .count() as u64;
    let served = served.load(Ordering::Relaxed);
    assert!(
        events >= served,
        "{served} fetches served, {events} access events"
    );
    // Ended grants stay ended after the restart.
    let ended = std::mem::take(&mut *ended.lock().unwrap());
    for f in ended.iter().rev().take(4) {
        let (status, body) = fetch_once(&node.url, f).await;
        assert_eq!((status, error_code(&body)), (403, "erased".to_owned()));
    }
    println!(
        "after kill -9: {} acknowledged entries present, {events} access events for {served} served fetches, {} grants ended",
        acked.len(),
        ended.len()
    );
}

/// One HTTP/1.1 connection from a chosen loopback source address.
struct Conn(BufReader<TcpStream>);

impl Conn {
    async fn open(from: &str, to: &str) -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket
            .bind(SocketAddr::new(from.parse().unwrap(), 0))
            .unwrap();
        let to: SocketAddr = to.parse().unwrap();
        Self(BufReader::new(socket.connect(to).await.unwrap()))
    }

    /// Sends one request and reads its answer: status and body (`None` if the node closed).
    async fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &[u8],
    ) -> Option<(u16, Vec<u8>)> {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: node\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let stream = self.0.get_mut();
        stream.write_all(head.as_bytes()).await.ok()?;
        stream.write_all(body).await.ok()?;
        self.answer().await
    }

    async fn answer(&mut self) -> Option<(u16, Vec<u8>)> {
        let mut line = String::new();
        if self.0.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.0.read_line(&mut line).await.ok()?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().ok()?;
                }
            }
        }
        let mut body = vec![0; len];
        self.0.read_exact(&mut body).await.ok()?;
        Some((status, body))
    }

    /// Whether the node closed the connection within `limit`.
    async fn closed_within(&mut self, limit: Duration) -> bool {
        let mut buf = [0u8; 1024];
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.0.read(&mut buf)).await {
                Err(_) => return false,
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
            }
        }
    }
}

fn addr_of(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

/// Issue 8, hole 9: hostile clients on 127.0.0.1 against a real node — slowloris headers and
/// bodies, idle connections, huge bodies before any credential, many throwaway erasure keys,
/// a spoofed `X-Forwarded-For` from an untrusted peer, many distinct clients behind a trusted
/// proxy — and the node keeps serving, with its peak RSS (`VmHWM`) reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_hostile_clients_leave_the_node_serving_with_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), ORIGIN);
    let config = node_config_with(
        dir.path(),
        &key,
        &[],
        "header_timeout_ms = 1000\nidle_timeout_ms = 2000\nrequest_timeout_ms = 3000\n\
         erasure_burst = 50\nerasure_per_hour = 60\nerasure_cap_per_day = 200\n\
         trusted_proxies = [\"127.0.0.2\"]\n",
    );
    // node_config sets a huge per-IP rate; this test needs the limiter.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("rate_per_sec = 1000000", "rate_per_sec = 50")
        .replace("rate_burst = 1000000", "rate_burst = 100");
    std::fs::write(&config, text).unwrap();
    let node = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    let addr = addr_of(&node.url);
    let pid = node.child.id();
    let baseline = peak_rss_kib(pid);

    // Slowloris: headers one byte at a time, idle connections, a body one byte at a time.
    let f = Fixture::new(unix_now() - DAY, unix_now() + 30 * DAY);
    assert_eq!(commit(&node.url, &f).await, 200);
    let mut slow = Vec::new();
    for i in 0..300 {
        let addr = addr.clone();
        let f_id = f.id();
        let signature = f.upload_headers(b"x")[0].1.clone();
        slow.push(tokio::spawn(async move {
            let mut c = Conn::open("127.0.0.5", &addr).await;
            let start = Instant::now();
            match i % 3 {
                0 => {
                    // Headers that never end.
                    let _ = c.0.get_mut().write_all(b"GET /checkpoint HTTP/1.1\r\n").await;
                    for _ in 0..20 {
                        if c.0.get_mut().write_all(b"x").await.is_err() {
                            break;
                        }
                        if c.closed_within(Duration::from_millis(300)).await {
                            return ("headers", start.elapsed());
                        }
                    }
                    ("headers", Duration::MAX)
                }
                1 => {
                    // Connected, silent.
                    let closed = c.closed_within(Duration::from_secs(6)).await;
                    ("idle", if closed { start.elapsed() } else { Duration::MAX })
                }
                _ => {
                    // A body that trickles.
                    let head = format!(
                        "PUT /v1/grants/{f_id}/bundle HTTP/1.1\r\nhost: n\r\ncontent-length: 1000000\r\ncarekey-signature: {signature}\r\n\r\n"
                    );
                    let _ = c.0.get_mut().write_all(head.as_bytes()).await;
                    for _ in 0..30 {
                        if c.0.get_mut().write_all(b"x").await.is_err() {
                            break;
                        }
                        if c.closed_within(Duration::from_millis(300)).await {
                            return ("body", start.elapsed());
                        }
                    }
                    ("body", Duration::MAX)
                }
            }
        }));
    }
    // While they hang on, an honest client is served at once.
    let t = Instant::now();
    assert_eq!(get(&format!("{}/checkpoint", node.url)).await.status, 200);
    let honest = t.elapsed();
    let mut worst: BTreeMap<&str, Duration> = BTreeMap::new();
    for s in slow {
        let (kind, took) = s.await.unwrap();
        let w = worst.entry(kind).or_default();
        *w = (*w).max(took);
    }
    println!("slowloris: honest client served in {honest:?}; slowest close per kind {worst:?}");
    assert!(worst["headers"] < Duration::from_secs(4), "{worst:?}");
    assert!(worst["idle"] < Duration::from_secs(5), "{worst:?}");
    assert!(worst["body"] < Duration::from_secs(6), "{worst:?}");

    // Huge bodies announced before any credential: answered from the headers, never read.
    let mut huge = Vec::new();
    for _ in 0..64 {
        let addr = addr.clone();
        huge.push(tokio::spawn(async move {
            let mut c = Conn::open("127.0.0.6", &addr).await;
            let id = carekey_model::GrantId::generate();
            let head = format!(
                "PUT /v1/grants/{id}/bundle HTTP/1.1\r\nhost: n\r\ncontent-length: {}\r\ncarekey-signature: {}\r\n\r\n",
                60u64 << 20,
                "A".repeat(86)
            );
            c.0.get_mut().write_all(head.as_bytes()).await.unwrap();
            tokio::time::timeout(Duration::from_secs(2), c.answer())
                .await
                .expect("the node waited for the body")
                .map(|a| a.0)
        }));
    }
    for h in huge {
        assert_eq!(h.await.unwrap(), Some(404));
    }

    // Throwaway erasure keys from one address: the per-source budget, then the global cap
    // via many addresses behind the trusted proxy.
    let mut c = Conn::open("127.0.0.4", &addr).await;
    let mut direct: BTreeMap<(u16, String), u32> = BTreeMap::new();
    for n in 0..80 {
        let body = entry_body(one_time_erasure(n).as_bytes()).to_string();
        let (s, b) = c
            .request(
                "POST",
                "/v1/entries",
                &[("content-type", "application/json".into())],
                body.as_bytes(),
            )
            .await
            .unwrap();
        *direct.entry((s, error_code(&b))).or_default() += 1;
    }
    let mut c = Conn::open("127.0.0.2", &addr).await;
    let mut proxied: BTreeMap<(u16, String), u32> = BTreeMap::new();
    for n in 0..200u64 {
        let body = entry_body(one_time_erasure(1000 + n).as_bytes()).to_string();
        let xff = format!("198.18.{}.{}", n / 250, n % 250);
        let (s, b) = c
            .request(
                "POST",
                "/v1/entries",
                &[
                    ("content-type", "application/json".into()),
                    ("x-forwarded-for", xff),
                ],
                body.as_bytes(),
            )
            .await
            .unwrap();
        *proxied.entry((s, error_code(&b))).or_default() += 1;
    }
    println!("throwaway erasures: from one address {direct:?}; via the proxy {proxied:?}");
    assert_eq!(direct.get(&(200, String::new())), Some(&50));
    assert_eq!(direct.get(&(429, "erasure_rate_limited".into())), Some(&30));
    assert_eq!(proxied.get(&(200, String::new())), Some(&150));
    assert_eq!(proxied.get(&(507, "erasure_cap_reached".into())), Some(&50));

    // A spoofed X-Forwarded-For from an untrusted peer buys no new bucket.
    let mut c = Conn::open("127.0.0.3", &addr).await;
    let mut limited = 0;
    for n in 0..300u32 {
        let xff = format!("203.0.113.{}", n % 250);
        let (s, _) = c
            .request("GET", "/checkpoint", &[("x-forwarded-for", xff)], b"")
            .await
            .unwrap();
        if s == 429 {
            limited += 1;
        }
    }
    println!("spoofed X-Forwarded-For from an untrusted peer: {limited} of 300 limited");
    assert!(limited > 0);

    // Many distinct clients behind the trusted proxy: one bucket each, none limited, the
    // limiter's memory bounded.
    let mut clients = Vec::new();
    for w in 0..8u32 {
        let addr = addr.clone();
        clients.push(tokio::spawn(async move {
            let mut c = Conn::open("127.0.0.2", &addr).await;
            let mut limited = 0;
            for n in 0..600u32 {
                let ip = std::net::Ipv4Addr::from(0x0a00_0000 + w * 600 + n);
                let (s, _) = c
                    .request(
                        "GET",
                        "/checkpoint",
                        &[("x-forwarded-for", ip.to_string())],
                        b"",
                    )
                    .await
                    .unwrap();
                if s == 429 {
                    limited += 1;
                }
            }
            limited
        }));
    }
    let mut limited = 0;
    for c in clients {
        limited += c.await.unwrap();
    }
    assert_eq!(limited, 0, "distinct clients behind the proxy were limited");

    // Still serving; the peak memory so far (nothing above held a body).
    assert_eq!(get(&format!("{}/checkpoint", node.url)).await.status, 200);
    let peak = peak_rss_kib(pid);
    println!("node peak RSS: {peak} KiB after hostile clients without credentials (at start {baseline} KiB)");
    assert!(peak < 128 * 1024, "peak RSS {peak} KiB");

    // With credentials anyone can make (a self-made patient key commits a grant): 40 uploads
    // of 8 MiB at once. Bodies in memory are bounded (256 MiB), and so is the bundle cache.
    let now = unix_now();
    let mut uploads = Vec::new();
    for i in 0..40u8 {
        let url = node.url.clone();
        let f = Fixture::new(now - DAY, now + 30 * DAY);
        assert_eq!(commit(&url, &f).await, 200);
        uploads.push(tokio::spawn(async move {
            let bundle = vec![i; 8 << 20];
            let uri = format!("{url}/v1/grants/{}/bundle", f.id());
            let headers = f.upload_headers(&bundle);
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(
                Method::PUT,
                &uri,
                bundle,
                &headers,
                Duration::from_secs(120),
                1 << 20,
            )
            .await
            .unwrap()
            .status
            .as_u16()
        }));
    }
    for u in uploads {
        assert_eq!(u.await.unwrap(), 204);
    }
    let peak = peak_rss_kib(pid);
    println!("node peak RSS: {peak} KiB after 40 concurrent 8 MiB uploads");
    assert!(peak < 768 * 1024, "peak RSS {peak} KiB");
}

/// Issue 8, hole 8: never an HTTP server over a dead writer. The tile directory is replaced by
/// a file under a running node, so every batch and every attempt to reopen the writer fails:
/// the submitter gets `503 writer_failed`, `GET /v1/health` says `failed` while it lasts, and
/// the process exits non-zero (its supervisor restarts it, which recovers from disk).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue8_serve_exits_non_zero_when_the_writer_cannot_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (key, _) = keygen(dir.path(), ORIGIN);
    let config = node_config_with(dir.path(), &key, &[], "");
    let mut node = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    post_entry(&node.url, one_time_erasure(1).as_bytes())
        .await
        .unwrap();
    let tiles = dir.path().join("data").join("tile");
    std::fs::remove_dir_all(&tiles).unwrap();
    std::fs::write(&tiles, b"not a directory").unwrap();
    let refused = post_entry(&node.url, one_time_erasure(2).as_bytes())
        .await
        .unwrap_err();
    assert!(refused.starts_with("503"), "{refused}");
    assert!(refused.contains("writer_failed"), "{refused}");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = node.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the node kept serving over a dead writer"
        );
        if let Ok(r) = send(
            Method::GET,
            &format!("{}/v1/health", node.url),
            vec![],
            &[],
            Duration::from_secs(2),
            1 << 16,
        )
        .await
        {
            assert_eq!(r.status, 503);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!status.success(), "{status:?}");
    println!("the node exited with {status:?}");
}
