//! Load generator (not run in CI): provider-fetch latency against a real `carekey-node serve`
//! process. Every request is a FRESH `FetchRequest` (new nonce, current time) signed by the
//! grant's provider key; it counts as a success only if the node answers `200`, names the
//! access event in `Carekey-Access-Event`, and returns the uploaded bundle byte for byte.
//! Anything else (other status, missing header, wrong body, transport error) is an error.
//! Afterwards: `kill -9`, restart on the same data directory, and check that every access
//! event index a client was given holds an AccessEvent for that client's grant whose sealed
//! details open (with the grant's event key) to exactly the signed request the client sent.
//!
//! ```text
//! cargo bench -p carekey-node --bench fetch                 # 100 clients, closed loop, full
//! CAREKEY_BENCH_RATE=1000 cargo bench -p carekey-node --bench fetch   # paced, open loop
//! ```
//! Knobs (environment): `CAREKEY_BENCH_FETCHES` (measured requests, default 20000),
//! `CAREKEY_BENCH_WARMUP` (requests before the measurement, default 1000: errors and access
//! events are checked, latencies not recorded), `CAREKEY_BENCH_CLIENTS` (default 100, one
//! grant each), `CAREKEY_BENCH_RATE` (total requests/s, paced per client on a fixed schedule;
//! default 0 = closed loop, each client sends its next request as soon as it has the answer),
//! `CAREKEY_BENCH_DURABILITY` (`full` default, or `none`), `CAREKEY_BENCH_BATCH_DELAY_MS`
//! (default 0, the node's default), `CAREKEY_BENCH_BATCH_SIZE` (default 8192), `CAREKEY_BENCH_BUNDLE_KIB`
//! (default 20), `CAREKEY_BENCH_DIR` (default /var/tmp), `CAREKEY_BENCH_GEN_THREADS`
//! (load generator runtime threads, default 2), `CAREKEY_BENCH_PRESIGN=1` (each client signs its
//! measured requests — fresh nonce, current time — right before the measured phase instead of
//! one by one inside it, as a `wrk` script fed with pre-signed requests would; the node
//! still verifies every one).
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{AgreementSecret, SigningKey};
use carekey_ledger::note::{open_checkpoint, NoteVerifier};
use carekey_ledger::tiles::{decode_bundle, TileId, TILE_WIDTH};
use carekey_model::ledger::{
    grant_commitment, open_access_details, upload_message, AccessBinding, Entry, FetchRequest,
    GrantCommitment, LedgerBinding,
};
use carekey_model::{
    record_seal_message, BundledRecord, Grant, GrantBundle, GrantId, RecordId, Scope, Signed,
};
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

const BIN: &str = env!("CARGO_BIN_EXE_carekey-node");
const NODE_URL: &str = "http://bench.carekey";
const DAY: u64 = 86_400;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn start(config: &Path) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--config", config.to_str().unwrap()])
        .env("CAREKEY_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap()
        .to_owned();
    (child, addr)
}

/// CPU seconds (user + system) a process has used so far, from /proc (Linux only).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After "pid (comm)": state is field 3, utime 14, stime 15 → indexes 11 and 12 here.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 1024);
    while out.len() < n {
        out.extend_from_slice(&carekey_crypto::random_array::<1024>());
    }
    out.truncate(n);
    out
}

/// One client's grant: what the provider holds (its key, the grant id), what the patient
/// holds (the grant key, the event secret), and the bundle the node should serve.
struct Holder {
    id: GrantId,
    provider: SigningKey,
    grant_key: SigningKey,
    event_secret: AgreementSecret,
    commit_body: Vec<u8>,
    bundle: Bytes,
}

fn holder(bundle_bytes: usize, now: u64) -> Holder {
    let patient = SigningKey::generate();
    let provider = SigningKey::generate();
    let grant = Signed::sign(
        Grant {
            grant_id: GrantId::generate(),
            patient_signing: patient.public(),
            provider_name: "Dr Bench, Cardiology".into(),
            provider_signing: provider.public(),
            provider_agreement: AgreementSecret::generate().public(),
            request_hash: carekey_crypto::random_array(),
            scope: Scope::new(vec![], vec!["Observation".into()]),
            purpose: "care".into(),
            issued_at: now - DAY,
            not_before: now - DAY,
            not_after: now + 30 * DAY,
            nodes: vec![NODE_URL.into()],
        },
        &patient,
    )
    .unwrap();
    let grant_key = SigningKey::generate();
    let event_secret = AgreementSecret::generate();
    let salt = carekey_crypto::random_array::<32>();
    let binding = Signed::sign(
        LedgerBinding {
            patient_signing: patient.public(),
            grant_hash: grant.hash(),
            grant_key: grant_key.public(),
            event_key: event_secret.public(),
        },
        &patient,
    )
    .unwrap();
    let commitment = Signed::sign(
        GrantCommitment {
            grant_key: grant_key.public(),
            commitment: grant_commitment(&salt, &grant),
            committed_at: now,
        },
        &grant_key,
    )
    .unwrap();
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let commit_body = serde_json::json!({
        "entry": b64(commitment.as_bytes()),
        "grant": b64(grant.as_bytes()),
        "binding": b64(binding.as_bytes()),
        "salt": b64(&salt),
    })
    .to_string()
    .into_bytes();
    // A real bundle: four sealed Observation records sharing `bundle_bytes` of ciphertext
    // (random bytes stand in for age ciphertext, which is indistinguishable from random).
    let records = (0..4u32)
        .map(|i| {
            let ciphertext = random_bytes(bundle_bytes / 4);
            let record_id = RecordId::generate();
            let ciphertext_hash = carekey_crypto::sha256(&ciphertext);
            BundledRecord {
                record_id,
                version: 1,
                resource_type: Some("Observation".into()),
                name: format!("Blood pressure {i}"),
                ciphertext_hash,
                seal: patient.sign(&record_seal_message(&record_id, 1, &ciphertext_hash)),
                wrapped_identity: random_bytes(220),
                ciphertext,
            }
        })
        .collect();
    let bundle = GrantBundle {
        grant: grant.clone(),
        ephemeral: AgreementSecret::generate().public(),
        records,
    }
    .to_bytes();
    GrantBundle::from_bytes(&bundle).unwrap();
    Holder {
        id: grant.document().grant_id,
        provider,
        grant_key,
        event_secret,
        commit_body,
        bundle: Bytes::from(bundle),
    }
}

/// A freshly signed fetch request for `h`'s grant, and how long building + signing took.
fn fresh_request(h: &Holder) -> (Vec<u8>, Duration) {
    let t = Instant::now();
    let signed = Signed::sign(
        FetchRequest {
            provider_signing: h.provider.public(),
            grant_id: h.id,
            node: NODE_URL.into(),
            nonce: carekey_crypto::random_array(),
            requested_at: unix_now(),
        },
        &h.provider,
    )
    .unwrap();
    let bytes = signed.as_bytes().to_vec();
    (bytes, t.elapsed())
}

async fn send_one(
    addr: &str,
    method: hyper::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, Vec<u8>) {
    let r = carekey_node::client::send(
        method,
        &format!("http://{addr}{path}"),
        body,
        headers,
        Duration::from_secs(60),
        64 << 20,
    )
    .await
    .unwrap();
    (r.status.as_u16(), r.body.to_vec())
}

/// What one client saw.
#[derive(Default)]
struct ClientResult {
    /// Measured requests: (sign time, send → whole body, scheduled time → whole body).
    samples: Vec<(Duration, Duration, Duration)>,
    /// Every request answered 200 (warm-up included): (access event index, request bytes).
    events: Vec<(u64, Vec<u8>)>,
    errors: Vec<String>,
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(addr: &str) -> Sender {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    sender
}

/// One keep-alive connection fetching `h`'s grant `warmup + count` times, one request in
/// flight; paced on a fixed schedule when `interval` is set (latency from the scheduled send
/// time is then reported too, so a stalled node cannot hide queueing in the client).
#[allow(clippy::too_many_arguments)]
async fn client(
    addr: String,
    h: Arc<Holder>,
    warmup: usize,
    count: usize,
    interval: Option<Duration>,
    offset: Duration,
    presign: bool,
    go: Arc<tokio::sync::Barrier>,
    measure_from: Arc<std::sync::OnceLock<Instant>>,
) -> ClientResult {
    let mut sender = connect(&addr).await;
    let path = format!("/v1/grants/{}/fetch", h.id);
    let mut out = ClientResult {
        samples: Vec::with_capacity(count),
        ..Default::default()
    };
    let mut warm = true;
    let mut schedule = tokio::time::Instant::now() + offset;
    let mut presigned = std::collections::VecDeque::new();
    for k in 0..warmup + count {
        if k == warmup {
            if presign {
                // Each request still gets its own nonce and a time seconds before it is sent
                // (well inside the node's skew); only the signing moves out of the measurement.
                presigned = (0..count).map(|_| fresh_request(&h)).collect();
            }
            // Everyone finishes warming up before the measured phase starts.
            go.wait().await;
            measure_from.get_or_init(Instant::now);
            warm = false;
            schedule = tokio::time::Instant::now() + offset;
        }
        let scheduled = match interval {
            Some(iv) => {
                tokio::time::sleep_until(schedule).await;
                let late = tokio::time::Instant::now().saturating_duration_since(schedule);
                schedule += iv;
                Instant::now() - late
            }
            None => Instant::now(),
        };
        let (body, sign_time) = match presigned.pop_front() {
            Some(signed) => signed,
            None => fresh_request(&h),
        };
        let req = Request::post(&path)
            .header("host", &addr)
            .header("content-type", "application/cose")
            .body(Full::new(Bytes::from(body.clone())))
            .unwrap();
        let sent = Instant::now();
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                out.errors.push(format!("transport: {e}"));
                sender = connect(&addr).await;
                continue;
            }
        };
        let status = resp.status();
        let event = resp
            .headers()
            .get(carekey_node::ACCESS_EVENT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let got = match resp.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                out.errors.push(format!("body: {e}"));
                sender = connect(&addr).await;
                continue;
            }
        };
        let done = Instant::now();
        if status != 200 {
            out.errors.push(format!(
                "status {status}: {}",
                String::from_utf8_lossy(&got[..got.len().min(200)])
            ));
            continue;
        }
        let Some(index) = event else {
            out.errors.push("200 without Carekey-Access-Event".into());
            continue;
        };
        if got != h.bundle {
            out.errors
                .push(format!("200 with a wrong body ({} bytes)", got.len()));
            continue;
        }
        out.events.push((index, body));
        if !warm {
            out.samples.push((
                sign_time,
                done - sent,
                done.saturating_duration_since(scheduled),
            ));
        }
    }
    out
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1e3)
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort_unstable();
    let mean = v.iter().sum::<Duration>() / v.len().max(1) as u32;
    println!(
        "  {name:<34} p50 {} | p90 {} | p99 {} | p99.9 {} | max {} | mean {} ms",
        ms(pct(&v, 0.50)),
        ms(pct(&v, 0.90)),
        ms(pct(&v, 0.99)),
        ms(pct(&v, 0.999)),
        ms(*v.last().unwrap_or(&Duration::ZERO)),
        ms(mean)
    );
}

fn main() {
    // `cargo bench` passes --bench; a `cargo test` run of benches passes nothing useful.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let fetches = env_or("CAREKEY_BENCH_FETCHES", 20_000);
    let warmup_total = env_or("CAREKEY_BENCH_WARMUP", 1_000);
    let clients = env_or("CAREKEY_BENCH_CLIENTS", 100).max(1);
    let rate = env_or("CAREKEY_BENCH_RATE", 0);
    let batch_delay = env_or("CAREKEY_BENCH_BATCH_DELAY_MS", 0);
    let batch_size = env_or("CAREKEY_BENCH_BATCH_SIZE", 8192);
    let bundle_kib = env_or("CAREKEY_BENCH_BUNDLE_KIB", 20);
    let gen_threads = env_or("CAREKEY_BENCH_GEN_THREADS", 2).max(1);
    let presign = env_or("CAREKEY_BENCH_PRESIGN", 0) != 0;
    let durability = std::env::var("CAREKEY_BENCH_DURABILITY").unwrap_or_else(|_| "full".into());
    let dir = tempfile::tempdir_in(
        std::env::var("CAREKEY_BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()),
    )
    .unwrap();
    let key = dir.path().join("log.key");
    let o = Command::new(BIN)
        .args([
            "keygen",
            "--name",
            "bench.carekey/log",
            "--out",
            key.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let vkey = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    let log = NoteVerifier::parse(&vkey).unwrap();
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "public_url = \"{NODE_URL}\"\ndata_dir = \"{}\"\nkey_file = \"{}\"\nbatch_size = {batch_size}\nbatch_delay_ms = {batch_delay}\nrate_per_sec = 100000000\nrate_burst = 100000000\ndurability = \"{durability}\"\n",
            dir.path().join("data").display(),
            key.display()
        ),
    )
    .unwrap();

    let now = unix_now();
    eprintln!("generating {clients} grants with {bundle_kib} KiB bundles…");
    let holders: Vec<Arc<Holder>> = (0..clients)
        .map(|_| Arc::new(holder(bundle_kib * 1024, now)))
        .collect();

    // Signing cost alone (build + CBOR + COSE + Ed25519), single thread, before any load.
    let mut sign_alone: Vec<Duration> = (0..5_000)
        .map(|i| fresh_request(&holders[i % clients]).1)
        .collect();
    sign_alone.sort_unstable();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(gen_threads)
        .enable_all()
        .build()
        .unwrap();
    let (mut child, addr) = start(&config);
    eprintln!(
        "node on {addr}: durability={durability}, batch_delay_ms={batch_delay}, batch_size={batch_size}"
    );

    // Setup: commit every grant (POST /v1/entries) and upload its bundle (PUT, signed by the
    // grant key).
    rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for h in &holders {
            let (h, addr) = (h.clone(), addr.clone());
            set.spawn(async move {
                let (status, body) = send_one(
                    &addr,
                    hyper::Method::POST,
                    "/v1/entries",
                    &[("content-type", "application/json")],
                    h.commit_body.clone(),
                )
                .await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                let sig = h
                    .grant_key
                    .sign(&upload_message(&h.id, &carekey_crypto::sha256(&h.bundle)));
                let sig = URL_SAFE_NO_PAD.encode(sig.to_bytes());
                let (status, body) = send_one(
                    &addr,
                    hyper::Method::PUT,
                    &format!("/v1/grants/{}/bundle", h.id),
                    &[("carekey-signature", &sig)],
                    h.bundle.to_vec(),
                )
                .await;
                assert_eq!(status, 204, "{}", String::from_utf8_lossy(&body));
            });
        }
        while let Some(r) = set.join_next().await {
            r.unwrap();
        }
    });

    let per_client = fetches.div_ceil(clients);
    let warmup = warmup_total.div_ceil(clients);
    let interval = (rate > 0).then(|| Duration::from_secs_f64(clients as f64 / rate as f64));
    let mode = match interval {
        Some(iv) => format!(
            "paced: {rate} req/s in total, one request every {} ms per client",
            ms(iv)
        ),
        None => "closed loop: each client sends its next request on the answer".into(),
    };
    let mode = if presign {
        format!("{mode}; measured requests signed just before the measured phase")
    } else {
        mode
    };
    eprintln!(
        "{clients} clients × ({warmup} warm-up + {per_client} measured) fetches; {mode}; load average {}",
        loadavg()
    );
    let go = Arc::new(tokio::sync::Barrier::new(clients));
    let measure_from = Arc::new(std::sync::OnceLock::new());
    let cpu_before = cpu_seconds(child.id());
    let load_before = loadavg();
    let results: Vec<ClientResult> = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, h) in holders.iter().enumerate() {
            let offset =
                interval.map_or(Duration::ZERO, |iv| iv.mul_f64(i as f64 / clients as f64));
            let run = client(
                addr.clone(),
                h.clone(),
                warmup,
                per_client,
                interval,
                offset,
                presign,
                go.clone(),
                measure_from.clone(),
            );
            set.spawn(async move { (i, run.await) });
        }
        // In holder order: the loss check pairs each result with its grant's keys.
        let mut all: Vec<(usize, ClientResult)> = Vec::new();
        while let Some(r) = set.join_next().await {
            all.push(r.unwrap());
        }
        all.sort_by_key(|(i, _)| *i);
        all.into_iter().map(|(_, r)| r).collect()
    });
    let elapsed = measure_from.get().map_or(Duration::ZERO, |t| t.elapsed());
    let cpu_after = cpu_seconds(child.id());
    let load_after = loadavg();

    let errors: Vec<&String> = results.iter().flat_map(|r| &r.errors).collect();
    let samples: Vec<(Duration, Duration, Duration)> = results
        .iter()
        .flat_map(|r| r.samples.iter().copied())
        .collect();
    let ok = samples.len();
    let mut kinds: HashMap<String, usize> = HashMap::new();
    for e in &errors {
        *kinds
            .entry(e.chars().take(60).collect::<String>())
            .or_default() += 1;
    }
    println!(
        "fetch bench: {clients} clients, {mode}, durability={durability}, batch_delay_ms={batch_delay}, bundle {} bytes",
        holders[0].bundle.len()
    );
    println!("  load average before/after the measured phase: {load_before} / {load_after}");
    println!(
        "  measured: {ok} OK of {} requests in {:.2} s = {:.0} fetches/s; errors (warm-up included): {}",
        per_client * clients,
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64(),
        errors.len()
    );
    for (k, n) in &kinds {
        println!("    {n} × {k}");
    }
    if let (Some(a), Some(b)) = (cpu_before, cpu_after) {
        println!(
            "  node CPU: {:.2} s over the measured phase (+ warm-up) = {:.0} µs per fetch",
            b - a,
            (b - a) * 1e6 / (ok + warmup * clients).max(1) as f64
        );
    }
    summary("sign alone (idle, 5000 requests):", sign_alone.clone());
    summary(
        "sign under load (in the client):",
        samples.iter().map(|s| s.0).collect(),
    );
    summary(
        "fetch latency (send → whole body):",
        samples.iter().map(|s| s.1).collect(),
    );
    summary("sign + fetch:", samples.iter().map(|s| s.0 + s.1).collect());
    if interval.is_some() {
        summary(
            "from scheduled send (incl. sign):",
            samples.iter().map(|s| s.2).collect(),
        );
    }
    let mut rtt: Vec<Duration> = samples.iter().map(|s| s.1).collect();
    rtt.sort_unstable();
    let p99 = pct(&rtt, 0.99);
    println!(
        "  goal p99 ≤ 10 ms with zero errors: {} (p99 {} ms, {} errors)",
        if p99 <= Duration::from_millis(10) && errors.is_empty() && ok == per_client * clients {
            "MET"
        } else {
            "NOT MET"
        },
        ms(p99),
        errors.len()
    );

    // kill -9, restart, and check every access event a client was given.
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, addr) = start(&config);
    let (checked, lost, duplicates, size) = rt.block_on(async {
        let (status, note) = send_one(&addr, hyper::Method::GET, "/checkpoint", &[], vec![]).await;
        assert_eq!(status, 200);
        let note = String::from_utf8(note).unwrap();
        let size = open_checkpoint(&note, &log, &[], u64::MAX / 2)
            .unwrap()
            .checkpoint
            .size;
        let mut bundles: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
        let mut seen: HashMap<u64, usize> = HashMap::new();
        let (mut checked, mut lost, mut duplicates) = (0usize, 0usize, 0usize);
        for (c, r) in results.iter().enumerate() {
            let h = &holders[c];
            for (index, request) in &r.events {
                checked += 1;
                if seen.insert(*index, c).is_some() {
                    duplicates += 1;
                }
                if *index >= size {
                    lost += 1;
                    continue;
                }
                let t = index / u64::from(TILE_WIDTH);
                if let std::collections::hash_map::Entry::Vacant(slot) = bundles.entry(t) {
                    let width =
                        (size - t * u64::from(TILE_WIDTH)).min(u64::from(TILE_WIDTH)) as u16;
                    let path = format!("/{}", TileId::entries(t, width).path());
                    let (status, bytes) =
                        send_one(&addr, hyper::Method::GET, &path, &[], vec![]).await;
                    assert_eq!(status, 200, "{path}");
                    slot.insert(decode_bundle(&bytes, usize::from(width)).unwrap());
                }
                let raw = &bundles[&t][(index % u64::from(TILE_WIDTH)) as usize];
                let good = match Entry::from_bytes(raw) {
                    Ok(Entry::Access(event)) => {
                        let e = event.document();
                        e.grant_key == h.grant_key.public()
                            && open_access_details(
                                &h.event_secret,
                                &e.sealed,
                                &AccessBinding::of("bench.carekey/log", e),
                            )
                            .is_ok_and(|d| d.fetch_request.as_bytes() == request.as_slice())
                    }
                    _ => false,
                };
                if !good {
                    lost += 1;
                }
            }
        }
        (checked, lost, duplicates, size)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "  after kill -9 and restart (log size {size}): {} of {checked} access events the clients were given are present, for their grant, sealing their exact request; {duplicates} duplicate indexes",
        checked - lost
    );
    // How many checkpoints (= writer batches) the measured phase cost. A checkpoint is copied
    // into SQLite with the next batch's transaction, so the count may be one short.
    let before = (clients + warmup * clients) as i64;
    let conn = rusqlite::Connection::open_with_flags(
        dir.path().join("data").join("node.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let batches: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM checkpoints WHERE size > ?1",
            [before],
            |r| r.get(0),
        )
        .unwrap();
    println!(
        "  writer batches (signed checkpoints) in the measured phase: {batches} = {:.0} per second, mean {:.1} fetches per batch",
        batches as f64 / elapsed.as_secs_f64(),
        ok as f64 / batches.max(1) as f64
    );
    assert_eq!(lost, 0, "lost access events");
    assert_eq!(duplicates, 0, "two answers named the same access event");
}
