//! Load generator (not run in CI): durable appends per second over HTTP against a real
//! `carekey-node serve` process, counting only appends acknowledged with a receipt that
//! verifies; then `kill -9`, restart, and check every acknowledged entry is there.
//!
//! ```text
//! cargo bench -p carekey-node --bench appends                  # synchronous=FULL + fsync
//! CAREKEY_BENCH_DURABILITY=none cargo bench -p carekey-node --bench appends   # ceiling
//! ```
//! Knobs: `CAREKEY_BENCH_ENTRIES` (default 60000), `CAREKEY_BENCH_CLIENTS` (default 256
//! concurrent keep-alive connections).
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::SigningKey;
use carekey_ledger::note::{open_checkpoint, NoteVerifier};
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{decode_bundle, TileId, TILE_WIDTH};
use carekey_ledger::{leaf_hash, verify_inclusion};
use carekey_model::ledger::ErasureEntry;
use carekey_model::Signed;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

const BIN: &str = env!("CARGO_BIN_EXE_carekey-node");

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
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

/// One keep-alive connection posting `bodies` in turn; returns (entry index in `bodies`,
/// receipt) per acknowledged append.
async fn client(addr: String, bodies: Vec<(usize, Vec<u8>)>) -> Vec<(usize, String)> {
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut out = Vec::with_capacity(bodies.len());
    for (i, body) in bodies {
        let req = Request::post("/v1/entries")
            .header("host", &addr)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        let resp = match sender.send_request(req).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("client connection failed: {e}");
                break;
            }
        };
        let ok = resp.status() == 200;
        if !ok {
            eprintln!("append answered {}", resp.status());
        }
        let Ok(body) = resp.into_body().collect().await else {
            break;
        };
        if ok {
            let json: serde_json::Value = serde_json::from_slice(&body.to_bytes()).unwrap();
            out.push((i, json["receipt"].as_str().unwrap().to_owned()));
        }
    }
    out
}

async fn get(addr: &str, path: &str) -> Vec<u8> {
    let r = carekey_node::client::send(
        hyper::Method::GET,
        &format!("http://{addr}/{path}"),
        vec![],
        &[],
        Duration::from_secs(30),
        64 << 20,
    )
    .await
    .unwrap();
    assert_eq!(r.status, 200, "{path}");
    r.body.to_vec()
}

fn main() {
    // `cargo bench` passes --bench; a `cargo test` run of benches passes nothing useful.
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let n = env_or("CAREKEY_BENCH_ENTRIES", 60_000);
    let clients = env_or("CAREKEY_BENCH_CLIENTS", 256);
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
            "public_url = \"http://bench\"\ndata_dir = \"{}\"\nkey_file = \"{}\"\nbatch_size = 8192\nbatch_delay_ms = 2\nrate_per_sec = 100000000\nrate_burst = 100000000\nerasure_burst = 1000000000\nerasure_per_hour = 1000000000\nerasure_cap_per_day = 100000000000\ndurability = \"{durability}\"\n",
            dir.path().join("data").display(),
            key.display()
        ),
    )
    .unwrap();

    eprintln!("generating {n} signed erasure entries…");
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let k = SigningKey::generate();
            Signed::sign(
                ErasureEntry {
                    erasure_key: k.public(),
                    commitment: carekey_crypto::sha256(&(i as u64).to_be_bytes()),
                    ciphertext_hashes: vec![[7; 32]],
                    erased_at: 1_750_000_000,
                },
                &k,
            )
            .unwrap()
            .as_bytes()
            .to_vec()
        })
        .collect();
    let bodies: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| format!("{{\"entry\":\"{}\"}}", URL_SAFE_NO_PAD.encode(e)).into_bytes())
        .collect();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (mut child, addr) = start(&config);
    eprintln!("node on {addr}, durability={durability}, {clients} clients");
    let started = Instant::now();
    let acks: Vec<(usize, String)> = rt.block_on(async {
        let mut per_client: Vec<Vec<(usize, Vec<u8>)>> = vec![Vec::new(); clients];
        for (i, b) in bodies.into_iter().enumerate() {
            per_client[i % clients].push((i, b));
        }
        let mut set = tokio::task::JoinSet::new();
        for chunk in per_client {
            set.spawn(client(addr.clone(), chunk));
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.extend(r.unwrap());
        }
        all
    });
    let elapsed = started.elapsed();

    // Count only receipts that verify (checkpoint signature once per distinct note).
    let mut opened: HashMap<String, (u64, [u8; 32])> = HashMap::new();
    let mut verified = 0usize;
    let mut indexes = Vec::with_capacity(acks.len());
    for (i, text) in &acks {
        let r = Receipt::parse(text).unwrap();
        let (size, root) = *opened.entry(r.checkpoint.clone()).or_insert_with(|| {
            let c = open_checkpoint(&r.checkpoint, &log, &[], u64::MAX / 2)
                .unwrap()
                .checkpoint;
            (c.size, c.root)
        });
        if verify_inclusion(&leaf_hash(&entries[*i]), r.index, size, &r.proof, &root).is_ok() {
            verified += 1;
            indexes.push((*i, r.index));
        }
    }
    let rate = verified as f64 / elapsed.as_secs_f64();
    println!(
        "durability={durability}: {verified}/{n} appends acknowledged with verifying receipts in {:.2} s = {rate:.0} appends/s ({} distinct checkpoints, mean batch {:.0})",
        elapsed.as_secs_f64(),
        opened.len(),
        verified as f64 / opened.len().max(1) as f64
    );

    // kill -9, restart, and check every acknowledged entry is at its index.
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, addr) = start(&config);
    let missing = rt.block_on(async {
        let note = String::from_utf8(get(&addr, "checkpoint").await).unwrap();
        let size = open_checkpoint(&note, &log, &[], u64::MAX / 2)
            .unwrap()
            .checkpoint
            .size;
        let mut bundles: HashMap<u64, Vec<Vec<u8>>> = HashMap::new();
        let mut missing = 0;
        for (i, index) in &indexes {
            let t = index / u64::from(TILE_WIDTH);
            if let std::collections::hash_map::Entry::Vacant(slot) = bundles.entry(t) {
                let width = (size - t * u64::from(TILE_WIDTH)).min(u64::from(TILE_WIDTH)) as u16;
                let bytes = get(&addr, &TileId::entries(t, width).path()).await;
                slot.insert(decode_bundle(&bytes, usize::from(width)).unwrap());
            }
            if bundles[&t][(index % u64::from(TILE_WIDTH)) as usize] != entries[*i] {
                missing += 1;
            }
        }
        missing
    });
    child.kill().unwrap();
    child.wait().unwrap();
    println!(
        "after kill -9 and restart: {} of {} acknowledged entries present at their index",
        indexes.len() - missing,
        indexes.len()
    );
    assert_eq!(missing, 0);
}
