//! Bad requests to a real node process, and bad answers to a real wallet: a provider request
//! replayed by someone who recorded it on the wire, oversized and malformed bodies, a garbage
//! checkpoint and a tampered hash tile. Each is refused with a clear error and nothing the node
//! or the wallet stored is lost.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use crate::cli::Actor;
use crate::ledger::{
    copy_dir, free_port, keygen, patient_with_summary, pin, provider_asking, shared_through, walk,
    Proc, StaticServer,
};

/// One raw HTTP/1.1 exchange; returns the status and the body.
fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    // A node may answer (413) before reading a big body and close: ignore the broken pipe.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// What the proxy saw: each request line with its body.
type Seen = Mutex<Vec<(String, Vec<u8>)>>;

/// A transparent HTTP proxy that records the body of every request it forwards: what an
/// eavesdropper on the provider's connection would see.
struct RecordingProxy {
    url: String,
    seen: Arc<Seen>,
}

impl RecordingProxy {
    fn start(listener: TcpListener, upstream: String) -> RecordingProxy {
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let upstream = upstream.clone();
                let log = Arc::clone(&log);
                std::thread::spawn(move || relay(client, &upstream, &log));
            }
        });
        RecordingProxy { url, seen }
    }

    fn fetch_bodies(&self) -> Vec<Vec<u8>> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(line, _)| line.contains("/fetch"))
            .map(|(_, b)| b.clone())
            .collect()
    }
}

fn relay(client: TcpStream, upstream: &str, log: &Seen) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut head = line.clone();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        let lower = h.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.push_str(&h);
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    log.lock().unwrap().push((line, body.clone()));
    let mut up = TcpStream::connect(upstream).unwrap();
    up.write_all(head.as_bytes()).unwrap();
    up.write_all(&body).unwrap();
    let mut answer = Vec::new();
    let _ = up.read_to_end(&mut answer);
    // The client may reuse its connection: tell it this one is done.
    let text = String::from_utf8_lossy(&answer);
    let answer = if text.to_ascii_lowercase().contains("\r\nconnection: close") {
        answer
    } else {
        text.replacen("\r\n", "\r\nConnection: close\r\n", 1)
            .into_bytes()
    };
    let mut client = client;
    let _ = client.write_all(&answer);
}

#[test]
fn a_real_node_refuses_replays_and_bad_bodies_and_a_wallet_refuses_bad_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/requests");
    // The node's public URL is the proxy's: providers address their requests to it.
    let proxy_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let public = format!("http://{}", proxy_listener.local_addr().unwrap());
    let port = free_port();
    let data = root.join("node-data");
    std::fs::create_dir_all(&data).unwrap();
    let config = root.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = {public:?}\ndata_dir = {:?}\nkey_file = {:?}\nbatch_delay_ms = 2\n",
            data.display().to_string(),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    let node = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    let direct = node.url.trim_start_matches("http://").to_owned();
    let proxy = RecordingProxy::start(proxy_listener, direct.clone());
    assert_eq!(proxy.url, public);

    let (patient, doc, grant) = shared_through(root, &proxy.url, &log_key, "Dr. Wire");
    let fetched = doc.run(&["provider", "fetch", &grant, "--node", &proxy.url]);
    assert!(fetched.contains("1 record(s)"), "{fetched}");
    let checkpoint = http(&direct, "GET", "/checkpoint", b"").1;

    // Replayed: the recorded, validly signed request is refused the second time.
    let recorded = proxy.fetch_bodies();
    assert_eq!(recorded.len(), 1);
    let path = format!("/v1/grants/{grant}/fetch");
    let (status, body) = http(&direct, "POST", &path, &recorded[0]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("replayed"), "{body}");

    // Malformed and oversized bodies: clear 4xx, nothing appended.
    let (status, body) = http(&direct, "POST", &path, b"not a signed request");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("malformed_request"), "{body}");
    let (status, body) = http(&direct, "POST", "/v1/entries", &vec![b'{'; 2 << 20]);
    assert_eq!(status, 413, "{body}");
    let (status, body) = http(&direct, "POST", "/v1/entries", b"{\"entry\": 7}");
    assert!((400..500).contains(&status), "{status} {body}");
    let (status, _) = http(&direct, "GET", "/checkpoint", b"");
    assert_eq!(status, 200);
    assert_eq!(
        http(&direct, "GET", "/checkpoint", b"").1,
        checkpoint,
        "refused requests append nothing"
    );

    // The patient sees exactly one, verified, access.
    assert!(patient.run(&["sync"]).contains("1 new access event"));
    let audit = patient.json(&["audit", "--json"]);
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["verification"], "verified");
    let verified = patient.run(&["node", "list"]);

    // A mirror of this log serving a garbage checkpoint, then a tampered hash tile: the
    // wallet says why and keeps what it verified.
    let mirror = root.join("mirror");
    copy_dir(&data, &mirror);
    let server = StaticServer::start(&mirror);
    patient.run(&["node", "move", &proxy.url, &server.url]);
    assert!(patient.run(&["sync"]).contains("verified, log size"));
    let good = std::fs::read(mirror.join("checkpoint")).unwrap();
    for garbage in [
        b"".to_vec(),
        b"\x00\xff garbage\n\n".to_vec(),
        b"carekey.test/requests\n99999999999999999999\nAAAA\n\n".to_vec(),
        good.iter()
            .map(|b| if *b == b'=' { b'A' } else { *b })
            .collect(),
    ] {
        std::fs::write(mirror.join("checkpoint"), &garbage).unwrap();
        // A source that fails verification fails the sync (issue 8, hole 5).
        let out = patient.try_run(&["sync"]);
        assert!(!out.status.success());
        let out = String::from_utf8_lossy(&out.stdout);
        assert!(out.contains("not verified"), "{out}");
        assert_eq!(
            patient
                .run(&["node", "list"])
                .replace(&server.url, &proxy.url),
            verified
        );
    }
    std::fs::write(mirror.join("checkpoint"), &good).unwrap();
    let tile = walk(&mirror.join("tile/0"))
        .pop()
        .expect("a level-0 hash tile");
    let mut bytes = std::fs::read(&tile).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&tile, bytes).unwrap();
    // A fresh reader of the tampered mirror (the first wallet already holds this size).
    let reader = Actor::new(root, "reader");
    reader.run(&["init"]);
    pin(&reader, &server.url, &log_key, None);
    let out = reader.try_run(&["sync"]);
    assert!(!out.status.success());
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("not verified") && out.contains("tile"),
        "{out}"
    );
    assert!(reader.run(&["node", "list"]).contains("verified size 0"));
}

/// A grant that has run out is refused by the node, judged on the node's own clock: the same
/// node process stack, restarted two days later (`CAREKEY_NOW` shifts its clock, as it shifts
/// the CLI's), refuses the provider with `expired` and logs no access.
#[test]
fn a_real_node_refuses_an_expired_grant_on_its_own_clock() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/expiry");
    let data = root.join("node-data");
    let port = free_port();
    let config = root.join("node.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = {:?}\nkey_file = {:?}\nbatch_delay_ms = 2\n",
            data.display().to_string(),
            key_file.display().to_string()
        ),
    )
    .unwrap();
    let start = |now: Option<u64>| {
        Proc::start_with_env(
            &["serve", "--config", config.to_str().unwrap()],
            now.map(|n| ("CAREKEY_NOW", n.to_string())),
        )
    };
    let node = start(None);
    let patient = patient_with_summary(root);
    pin(&patient, &node.url, &log_key, None);
    let named = format!("{} {log_key}", node.url);
    let doc = provider_asking(
        root,
        "doc",
        "Dr. Later",
        &["AllergyIntolerance"],
        "req",
        &[named],
    );
    patient.run(&[
        "share",
        "req/request.uri",
        "--yes",
        "--duration",
        "1d",
        "--out",
        "g.bundle",
    ]);
    let grant = crate::ledger::first_grant(&patient);
    assert!(doc
        .run(&["provider", "fetch", &grant, "--node", &node.url])
        .contains("1 record(s)"));
    drop(node);

    // Two days on, for the node and for the provider.
    let later = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2 * 86_400;
    let node = start(Some(later));
    let mut late_doc = doc.clone();
    late_doc.now = Some(later);
    let (code, err) = late_doc.fail(&["provider", "fetch", &grant, "--node", &node.url]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("expired"), "{err}");
    // Refused fetches log nothing: the patient still sees exactly one access.
    let mut late_patient = patient.clone();
    late_patient.now = Some(later);
    let out = late_patient.run(&["sync"]);
    assert!(out.contains("1 new access event"), "{out}");
    assert_eq!(
        late_patient
            .json(&["audit", "--json"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
