//! Real `carekey-node` processes on 127.0.0.1: SIGKILL and restart under load, witnesses,
//! the auditor.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use carekey_ledger::note::{open_checkpoint, Checkpoint, NoteVerifier};
use carekey_ledger::proof::Receipt;
use carekey_ledger::tiles::{
    consistency_proof_from_tiles, decode_bundle, tiles_for_size, TileError, TileId, TileKind,
    TileSource, TILE_WIDTH,
};
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::Hash;
use carekey_model::ledger::{open_access_details, AccessBinding, Entry};
use carekey_node::client::{send, Reply};
use carekey_node::LogKey;
use hyper::Method;

use crate::support::*;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_carekey-node");
pub(crate) const PUBLIC_URL: &str = "http://node.test";

/// A child process killed (SIGKILL) when dropped.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// Starts `carekey-node <args>` and waits for its `listening on http://...` line.
    pub(crate) fn start(args: &[&str]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .env("CAREKEY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        let url = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self { child, url }
    }

    pub(crate) fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

pub(crate) fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(format!("{}.key", name.replace('/', "_")));
    let o = Command::new(BIN)
        .args(["keygen", "--name", name, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let vkey = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    NoteVerifier::parse(&vkey).unwrap();
    (out, vkey)
}

pub(crate) fn node_config(dir: &Path, key: &Path, witnesses: &[(String, String)]) -> PathBuf {
    node_config_with(dir, key, witnesses, "")
}

/// [`node_config`] with `extra` TOML settings.
pub(crate) fn node_config_with(
    dir: &Path,
    key: &Path,
    witnesses: &[(String, String)],
    extra: &str,
) -> PathBuf {
    let mut toml = format!(
        "listen = \"127.0.0.1:0\"\npublic_url = \"{PUBLIC_URL}\"\ndata_dir = \"{}\"\nkey_file = \"{}\"\nbatch_delay_ms = 2\nrate_per_sec = 1000000\nrate_burst = 1000000\nwitness_timeout_ms = 2000\n",
        dir.join("data").display(),
        key.display()
    );
    toml.push_str(extra);
    for (url, vkey) in witnesses {
        toml.push_str(&format!(
            "\n[[witnesses]]\nurl = \"{url}\"\nvkey = \"{vkey}\"\n"
        ));
    }
    let path = dir.join("node.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

fn witness_config(dir: &Path, key: &Path, logs: &[&str]) -> PathBuf {
    let logs: Vec<String> = logs.iter().map(|l| format!("\"{l}\"")).collect();
    let toml = format!(
        "listen = \"127.0.0.1:0\"\nkey_file = \"{}\"\ndata_dir = \"{}\"\nlogs = [{}]\n",
        key.display(),
        dir.join("witness-data").display(),
        logs.join(", ")
    );
    let path = dir.join("witness.toml");
    std::fs::write(&path, toml).unwrap();
    path
}

pub(crate) async fn get(url: &str) -> Reply {
    send(
        Method::GET,
        url,
        vec![],
        &[],
        Duration::from_secs(10),
        16 << 20,
    )
    .await
    .unwrap()
}

pub(crate) async fn post_entry(url: &str, entry: &[u8]) -> Result<(u64, String), String> {
    let body = entry_body(entry).to_string().into_bytes();
    let reply = send(
        Method::POST,
        &format!("{url}/v1/entries"),
        body,
        &[("content-type", "application/json")],
        Duration::from_secs(10),
        1 << 20,
    )
    .await
    .map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!(
            "{} {}",
            reply.status,
            String::from_utf8_lossy(&reply.body)
        ));
    }
    let json: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    Ok((
        json["index"].as_u64().unwrap(),
        json["receipt"].as_str().unwrap().to_owned(),
    ))
}

/// Every tile of the log at `size`, read over HTTP.
pub(crate) struct HttpTiles(HashMap<TileId, Vec<u8>>);

impl HttpTiles {
    pub(crate) async fn fetch(url: &str, size: u64) -> Self {
        let mut map = HashMap::new();
        for id in tiles_for_size(size) {
            let r = get(&format!("{url}/{}", id.path())).await;
            assert_eq!(r.status, 200, "{id}");
            map.insert(id, r.body.to_vec());
        }
        Self(map)
    }

    pub(crate) fn entry(&self, index: u64, size: u64) -> Vec<u8> {
        let n = index / u64::from(TILE_WIDTH);
        let width = (size - n * u64::from(TILE_WIDTH)).min(u64::from(TILE_WIDTH)) as u16;
        let bundle = &self.0[&TileId::entries(n, width)];
        decode_bundle(bundle, usize::from(width)).unwrap()[(index % u64::from(TILE_WIDTH)) as usize]
            .clone()
    }
}

impl TileSource for HttpTiles {
    fn read_tile(&self, id: &TileId) -> Result<Vec<u8>, TileError> {
        self.0.get(id).cloned().ok_or(TileError::BadPath {
            reason: "not fetched",
        })
    }
}

/// Remembers every checkpoint seen; fails on two different roots for one size.
#[derive(Default)]
struct Seen(BTreeMap<u64, Hash>);

impl Seen {
    fn add(&mut self, cp: &Checkpoint) {
        let root = *self.0.entry(cp.size).or_insert(cp.root);
        assert_eq!(
            root, cp.root,
            "two different signed checkpoints of size {}",
            cp.size
        );
    }
}

/// An acknowledged append: entry bytes, index, receipt.
type Acked = (Vec<u8>, u64, String);

/// A tiny deterministic generator (xorshift64*) for the kill schedule.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    /// Seeded from `CAREKEY_CRASH_SEED` or at random; the seed is printed for a rerun.
    pub(crate) fn seeded() -> Self {
        let seed = std::env::var("CAREKEY_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| u64::from_le_bytes(carekey_crypto::random_array()) | 1);
        println!("crash test seed: {seed} (rerun with CAREKEY_CRASH_SEED={seed})");
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_no_acknowledged_entry() {
    let mut rng = Rng::seeded();
    let dir = tempfile::tempdir().unwrap();
    let (key, vkey) = keygen(dir.path(), ORIGIN);
    let log = NoteVerifier::parse(&vkey).unwrap();
    let config = node_config(dir.path(), &key, &[]);
    let config_arg = config.to_str().unwrap().to_owned();
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let mut seen = Seen::default();
    let mut counter = 0u64;
    for round in 0..3 {
        let node = Proc::start(&["serve", "--config", &config_arg]);
        let url = node.url.clone();
        let mut clients = Vec::new();
        for _ in 0..4 {
            let entries: Vec<Vec<u8>> = (0..400)
                .map(|_| {
                    counter += 1;
                    one_time_erasure(counter).as_bytes().to_vec()
                })
                .collect();
            let url = url.clone();
            let acked = acked.clone();
            clients.push(tokio::spawn(async move {
                for e in entries {
                    match post_entry(&url, &e).await {
                        Ok((index, receipt)) => acked.lock().unwrap().push((e, index, receipt)),
                        Err(_) => return, // the node died under us
                    }
                }
            }));
        }
        // Kill at a seeded moment while the clients are appending.
        let delay = 50 + rng.next() % 400;
        tokio::time::sleep(Duration::from_millis(delay)).await;
        let r = get(&format!("{url}/checkpoint")).await;
        seen.add(
            &open_checkpoint(
                std::str::from_utf8(&r.body).unwrap(),
                &log,
                &[],
                u64::MAX / 2,
            )
            .unwrap()
            .checkpoint,
        );
        node.kill();
        for c in clients {
            c.await.unwrap();
        }
        println!(
            "round {round}: killed after {delay} ms, {} acknowledged so far",
            acked.lock().unwrap().len()
        );
    }
    // Restart on the same data directory and check every acknowledged entry.
    let node = Proc::start(&["serve", "--config", &config_arg]);
    let r = get(&format!("{}/checkpoint", node.url)).await;
    let latest = open_checkpoint(
        std::str::from_utf8(&r.body).unwrap(),
        &log,
        &[],
        u64::MAX / 2,
    )
    .unwrap();
    let size = latest.checkpoint.size;
    seen.add(&latest.checkpoint);
    let tiles = HttpTiles::fetch(&node.url, size).await;
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    assert!(
        acked.len() > 10,
        "too few appends were acknowledged to test anything"
    );
    for (entry, index, receipt) in acked.iter() {
        let receipt = Receipt::parse(receipt).unwrap();
        assert_eq!(receipt.index, *index);
        let old = receipt.verify(entry, &log, &[], u64::MAX / 2).unwrap();
        seen.add(&old.checkpoint);
        assert!(
            *index < size,
            "acknowledged index {index} beyond restarted size {size}"
        );
        assert_eq!(&tiles.entry(*index, size), entry, "entry {index} changed");
        let proof = consistency_proof_from_tiles(&tiles, old.checkpoint.size, size).unwrap();
        carekey_ledger::verify_consistency(
            old.checkpoint.size,
            size,
            &old.checkpoint.root,
            &latest.checkpoint.root,
            &proof,
        )
        .unwrap();
    }
    // The restarted node still appends.
    let e = one_time_erasure(u64::MAX);
    let (index, _) = post_entry(&node.url, e.as_bytes()).await.unwrap();
    assert_eq!(index, size);
    println!(
        "{} acknowledged entries all present; {} checkpoint sizes seen",
        acked.len(),
        seen.0.len()
    );
}

/// A fetch answered `200`: the grant's position and the signed request bytes.
type Served = (usize, Vec<u8>);

/// Unix seconds now (the real process uses the system clock).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_fetches_loses_no_access_event() {
    let mut rng = Rng::seeded();
    let dir = tempfile::tempdir().unwrap();
    let (key, vkey) = keygen(dir.path(), ORIGIN);
    let log = NoteVerifier::parse(&vkey).unwrap();
    let config = node_config(dir.path(), &key, &[]);
    let config_arg = config.to_str().unwrap().to_owned();
    let now = unix_now();
    let grants: Vec<Arc<(Fixture, Vec<u8>)>> = (0..4u8)
        .map(|i| {
            let bundle: Vec<u8> = (0..20_000u32).map(|b| (b as u8) ^ i).collect();
            Arc::new((Fixture::new(now - DAY, now + 30 * DAY), bundle))
        })
        .collect();
    let node = Proc::start(&["serve", "--config", &config_arg]);
    for g in &grants {
        let reply = send(
            Method::POST,
            &format!("{}/v1/entries", node.url),
            g.0.commit_body().to_string().into_bytes(),
            &[("content-type", "application/json")],
            Duration::from_secs(10),
            1 << 20,
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 200);
        let headers = g.0.upload_headers(&g.1);
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = send(
            Method::PUT,
            &format!("{}/v1/grants/{}/bundle", node.url, g.0.id()),
            g.1.clone(),
            &headers,
            Duration::from_secs(10),
            1 << 20,
        )
        .await
        .unwrap();
        assert_eq!(reply.status, 204);
    }
    // Providers fetch until the node dies; every `200` must carry the exact bundle, and its
    // access event (sealing that exact request) must survive the kill.
    let served: Arc<Mutex<Vec<Served>>> = Arc::default();
    let mut clients = Vec::new();
    for (i, g) in grants.iter().enumerate() {
        let (g, url, served) = (g.clone(), node.url.clone(), served.clone());
        clients.push(tokio::spawn(async move {
            loop {
                let request = g.0.fetch_request(PUBLIC_URL, unix_now());
                let Ok(reply) = send(
                    Method::POST,
                    &format!("{url}/v1/grants/{}/fetch", g.0.id()),
                    request.as_bytes().to_vec(),
                    &[],
                    Duration::from_secs(10),
                    1 << 20,
                )
                .await
                else {
                    return; // the node died under us
                };
                assert_eq!(
                    reply.status,
                    200,
                    "{}",
                    String::from_utf8_lossy(&reply.body)
                );
                assert_eq!(reply.body.to_vec(), g.1, "served bundle differs");
                served
                    .lock()
                    .unwrap()
                    .push((i, request.as_bytes().to_vec()));
            }
        }));
    }
    let delay = 100 + rng.next() % 400;
    tokio::time::sleep(Duration::from_millis(delay)).await;
    node.kill();
    for c in clients {
        c.await.unwrap();
    }
    let served = std::mem::take(&mut *served.lock().unwrap());
    println!("killed after {delay} ms; {} fetches served", served.len());
    assert!(
        served.len() > 10,
        "too few fetches were served to test anything"
    );
    // Restart: every served request is sealed in exactly one access event of its grant.
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
    let mut logged: HashMap<Vec<u8>, (usize, u32)> = HashMap::new();
    for index in 0..size {
        let Ok(Entry::Access(event)) = Entry::from_bytes(&tiles.entry(index, size)) else {
            continue;
        };
        let e = event.document();
        let i = grants
            .iter()
            .position(|g| g.0.grant_key.public() == e.grant_key)
            .expect("an access event for an unknown grant key");
        let details = open_access_details(
            &grants[i].0.event_secret,
            &e.sealed,
            &AccessBinding::of(ORIGIN, e),
        )
        .unwrap();
        logged
            .entry(details.fetch_request.as_bytes().to_vec())
            .or_insert((i, 0))
            .1 += 1;
    }
    for (i, request) in &served {
        assert_eq!(
            logged.get(request),
            Some(&(*i, 1)),
            "a served fetch of grant {i} has no (or more than one) access event"
        );
    }
    // The nonces are durable too: replaying an acknowledged request is refused.
    let (i, request) = &served[served.len() - 1];
    let reply = send(
        Method::POST,
        &format!("{}/v1/grants/{}/fetch", node.url, grants[*i].0.id()),
        request.clone(),
        &[],
        Duration::from_secs(10),
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 403);
    assert!(String::from_utf8_lossy(&reply.body).contains("replayed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn witness_cosigns_and_refuses_rollbacks_and_forks() {
    let dir = tempfile::tempdir().unwrap();
    let (log_key_file, log_vkey) = keygen(dir.path(), ORIGIN);
    let (witness_key_file, witness_vkey) = keygen(dir.path(), "witness.test/w1");
    let wconf = witness_config(dir.path(), &witness_key_file, &[&log_vkey]);
    let witness = Proc::start(&["witness", "--config", wconf.to_str().unwrap()]);
    let config = node_config(
        dir.path(),
        &log_key_file,
        &[(witness.url.clone(), witness_vkey.clone())],
    );
    let node = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    let log = NoteVerifier::parse(&log_vkey).unwrap();
    let wv = NoteVerifier::parse(&witness_vkey)
        .unwrap()
        .for_cosignatures();

    let mut receipts = Vec::new();
    for i in 0..3 {
        let e = one_time_erasure(i);
        receipts.push((
            e.as_bytes().to_vec(),
            post_entry(&node.url, e.as_bytes()).await.unwrap(),
        ));
    }
    // Receipts and the served checkpoint carry the witness's cosignature.
    for (entry, (_, receipt)) in &receipts {
        let opened = Receipt::parse(receipt)
            .unwrap()
            .verify(entry, &log, std::slice::from_ref(&wv), u64::MAX / 2)
            .unwrap();
        assert_eq!(opened.cosignatures.len(), 1, "receipt without cosignature");
    }
    let r = get(&format!("{}/checkpoint", node.url)).await;
    let note = String::from_utf8(r.body.to_vec()).unwrap();
    let current = open_checkpoint(&note, &log, std::slice::from_ref(&wv), u64::MAX / 2).unwrap();
    assert_eq!(current.cosignatures.len(), 1);
    assert_eq!(current.checkpoint.size, 3);

    let add = |body: String| {
        let url = format!("{}/add-checkpoint", witness.url);
        async move {
            send(
                Method::POST,
                &url,
                body.into_bytes(),
                &[],
                Duration::from_secs(5),
                1 << 16,
            )
            .await
            .unwrap()
        }
    };
    let signer = LogKey::read(&log_key_file).unwrap();
    let sign = |cp: &Checkpoint| {
        carekey_ledger::note::write_note(&cp.body(), &[signer.note.sign(&cp.body())])
    };

    // Rollback: an older checkpoint presented against a stale old size → 409 with the
    // witness's size; presented with the right old size → refused too.
    let (_, (_, first)) = &receipts[0];
    let older = Receipt::parse(first).unwrap().checkpoint;
    let older_cp = open_checkpoint(&older, &log, &[], u64::MAX / 2)
        .unwrap()
        .checkpoint;
    assert!(older_cp.size < 3);
    let r = add(AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: older.clone(),
    }
    .encode())
    .await;
    assert_eq!(r.status, 409);
    assert_eq!(std::str::from_utf8(&r.body).unwrap().trim(), "3");
    let r = add(AddCheckpoint {
        old_size: 3,
        proof: vec![],
        checkpoint: older,
    }
    .encode())
    .await;
    assert_eq!(r.status, 400);

    // Fork: the same log key signs a different root at the same size.
    let forked = Checkpoint {
        root: [0xAB; 32],
        ..current.checkpoint.clone()
    };
    let r = add(AddCheckpoint {
        old_size: 3,
        proof: vec![],
        checkpoint: sign(&forked),
    }
    .encode())
    .await;
    assert_eq!(r.status, 422);
    // ... and a larger forked checkpoint with a made-up proof.
    let forked = Checkpoint {
        size: 5,
        root: [0xCD; 32],
        ..current.checkpoint.clone()
    };
    let r = add(AddCheckpoint {
        old_size: 3,
        proof: vec![[1; 32], [2; 32]],
        checkpoint: sign(&forked),
    }
    .encode())
    .await;
    assert_eq!(r.status, 422);
    // A second key claiming the same origin is not the pinned log.
    let impostor = LogKey::generate(ORIGIN).unwrap();
    let fake = Checkpoint {
        root: [0xEF; 32],
        ..current.checkpoint.clone()
    };
    let note = carekey_ledger::note::write_note(&fake.body(), &[impostor.note.sign(&fake.body())]);
    let r = add(AddCheckpoint {
        old_size: 3,
        proof: vec![],
        checkpoint: note,
    }
    .encode())
    .await;
    assert_eq!(r.status, 403);
    // Garbage.
    assert_eq!(add("old x\n\n".into()).await.status, 400);

    // The witness still cosigns the real log after all that: a new append gets cosigned.
    let e = one_time_erasure(10);
    let (_, receipt) = post_entry(&node.url, e.as_bytes()).await.unwrap();
    let opened = Receipt::parse(&receipt)
        .unwrap()
        .verify(e.as_bytes(), &log, std::slice::from_ref(&wv), u64::MAX / 2)
        .unwrap();
    assert_eq!((opened.checkpoint.size, opened.cosignatures.len()), (4, 1));

    // A witness that is down does not block appends; the checkpoint is served without it.
    witness.kill();
    let e = one_time_erasure(11);
    let (index, receipt) = post_entry(&node.url, e.as_bytes()).await.unwrap();
    assert_eq!(index, 4);
    let opened = Receipt::parse(&receipt)
        .unwrap()
        .verify(e.as_bytes(), &log, std::slice::from_ref(&wv), u64::MAX / 2)
        .unwrap();
    assert!(opened.cosignatures.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auditor_passes_a_good_log_and_names_a_tampered_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let (key, vkey) = keygen(dir.path(), ORIGIN);
    let config = node_config(dir.path(), &key, &[]);
    let node = Proc::start(&["serve", "--config", config.to_str().unwrap()]);
    // A grant, its bundle, a fetch (access event), a revocation, and erasures.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let f = Fixture::new(now - DAY, now + 30 * DAY);
    let reply = send(
        Method::POST,
        &format!("{}/v1/entries", node.url),
        f.commit_body().to_string().into_bytes(),
        &[],
        Duration::from_secs(10),
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let headers = f.upload_headers(b"bundle");
    let reply = send(
        Method::PUT,
        &format!("{}/v1/grants/{}/bundle", node.url, f.id()),
        b"bundle".to_vec(),
        &[(headers[0].0, &headers[0].1)],
        Duration::from_secs(10),
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(reply.status, 204);
    let request = f.fetch_request(PUBLIC_URL, now);
    let reply = send(
        Method::POST,
        &format!("{}/v1/grants/{}/fetch", node.url, f.id()),
        request.as_bytes().to_vec(),
        &[],
        Duration::from_secs(10),
        1 << 20,
    )
    .await
    .unwrap();
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    post_entry(&node.url, f.revocation(NOW).as_bytes())
        .await
        .unwrap();
    for i in 0..260 {
        post_entry(&node.url, one_time_erasure(i).as_bytes())
            .await
            .unwrap();
    }
    let verify = |source: String| {
        let vkey = vkey.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(BIN)
                .args(["verify", &source, "--log-key", &vkey])
                .output()
                .unwrap()
        })
    };
    let o = verify(node.url.clone()).await.unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("ok: "));
    let data = dir.path().join("data");
    let o = verify(data.to_str().unwrap().to_owned()).await.unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // A mirror: checkpoint + tile/ copied; flip one byte inside an entry of the first bundle.
    let mirror = dir.path().join("mirror");
    copy_dir(&data.join("tile"), &mirror.join("tile"));
    std::fs::copy(data.join("checkpoint"), mirror.join("checkpoint")).unwrap();
    let bundle = mirror.join(TileId::entries(0, 256).path());
    let mut bytes = std::fs::read(&bundle).unwrap();
    bytes[40] ^= 0x01;
    std::fs::write(&bundle, bytes).unwrap();
    let o = verify(mirror.to_str().unwrap().to_owned()).await.unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tile/entries/000"), "{err}");
    assert!(err.contains("entry 0"), "{err}");

    // A tampered hash tile is named too.
    copy_dir(&data.join("tile"), &mirror.join("tile"));
    let level0 = mirror.join(
        TileId {
            kind: TileKind::Hash { level: 0 },
            index: 0,
            width: 256,
        }
        .path(),
    );
    let mut bytes = std::fs::read(&level0).unwrap();
    bytes[32 * 7] ^= 0x01;
    std::fs::write(&level0, bytes).unwrap();
    let o = verify(mirror.to_str().unwrap().to_owned()).await.unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("tile/0/000") && err.contains("position 7"),
        "{err}"
    );

    // The wrong log key is refused.
    let (_, other) = keygen(dir.path(), "carekey.test/other");
    let o = tokio::task::spawn_blocking(move || {
        Command::new(BIN)
            .args(["verify", data.to_str().unwrap(), "--log-key", &other])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!o.status.success());
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}
