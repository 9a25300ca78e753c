//! The whole story through real ledger processes on 127.0.0.1: two independent nodes, two
//! witnesses, a patient and a provider as `carekey` processes. Then hostile mirrors.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::cli::{records, Actor};

fn node_bin() -> PathBuf {
    let bin = crate::cli::carekey_bin().with_file_name("carekey-node");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace binaries first",
        bin.display()
    );
    bin
}

/// A running `carekey-node` (node or witness); SIGKILLed on drop.
pub(crate) struct Proc {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    pub(crate) fn start(args: &[&str]) -> Proc {
        Self::start_with_env(args, None)
    }

    /// [`Proc::start`] with one extra environment variable.
    pub(crate) fn start_with_env(args: &[&str], env: Option<(&str, String)>) -> Proc {
        let mut command = Command::new(node_bin());
        command.args(args);
        if let Some((k, v)) = env {
            command.env(k, v);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("carekey-node exited before listening")
                .unwrap();
            if let Some(url) = line.strip_prefix("listening on ") {
                break url.trim().to_owned();
            }
        };
        // Keep draining stdout so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Proc { child, url }
    }
}

pub(crate) fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let out = dir.join(format!("{}.key", name.replace('/', "_")));
    let o = Command::new(node_bin())
        .args(["keygen", "--name", name, "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (out, String::from_utf8(o.stdout).unwrap().trim().to_owned())
}

/// A port that was free a moment ago (the node must know its public URL before it starts).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Ledger {
    _witnesses: Vec<Proc>,
    nodes: Vec<Proc>,
    node_keys: Vec<String>,
    witness_keys: Vec<String>,
    data_dirs: Vec<PathBuf>,
}

impl Ledger {
    /// Each node as a request names it: `URL LOG-KEY`.
    fn named(&self, urls: &[String]) -> Vec<String> {
        urls.iter()
            .zip(&self.node_keys)
            .map(|(u, k)| format!("{u} {k}"))
            .collect()
    }
}

fn start_ledger(dir: &Path) -> Ledger {
    let logs: Vec<(PathBuf, String)> = (1..=2)
        .map(|i| keygen(dir, &format!("carekey.test/log{i}")))
        .collect();
    let mut witnesses = Vec::new();
    let mut witness_keys = Vec::new();
    for name in ["witness.test/a", "witness.test/b"] {
        let (key, vkey) = keygen(dir, name);
        let wdir = dir.join(name.replace('/', "_"));
        std::fs::create_dir_all(&wdir).unwrap();
        let config = wdir.join("witness.toml");
        let logs_toml: Vec<String> = logs.iter().map(|(_, v)| format!("{v:?}")).collect();
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:0\"\nkey_file = {:?}\ndata_dir = {:?}\nlogs = [{}]\n",
                key.display().to_string(),
                wdir.join("data").display().to_string(),
                logs_toml.join(", ")
            ),
        )
        .unwrap();
        witnesses.push(Proc::start(&[
            "witness",
            "--config",
            config.to_str().unwrap(),
        ]));
        witness_keys.push(vkey);
    }
    let mut nodes = Vec::new();
    let mut data_dirs = Vec::new();
    for (i, (key, _)) in logs.iter().enumerate() {
        let port = free_port();
        let ndir = dir.join(format!("node{}", i + 1));
        std::fs::create_dir_all(&ndir).unwrap();
        let mut toml = format!(
            "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = {:?}\nkey_file = {:?}\nbatch_delay_ms = 2\n",
            ndir.join("data").display().to_string(),
            key.display().to_string()
        );
        for (w, k) in witnesses.iter().zip(&witness_keys) {
            toml.push_str(&format!(
                "\n[[witnesses]]\nurl = {:?}\nvkey = {k:?}\n",
                w.url
            ));
        }
        let config = ndir.join("node.toml");
        std::fs::write(&config, toml).unwrap();
        nodes.push(Proc::start(&[
            "serve",
            "--config",
            config.to_str().unwrap(),
        ]));
        data_dirs.push(ndir.join("data"));
    }
    Ledger {
        _witnesses: witnesses,
        nodes,
        node_keys: logs.into_iter().map(|(_, v)| v).collect(),
        witness_keys,
        data_dirs,
    }
}

/// A patient wallet with the summary bundle (an allergy and an observation) imported.
pub(crate) fn patient_with_summary(root: &Path) -> Actor {
    let patient = Actor::new(root, "patient");
    patient.run(&["init"]);
    std::fs::write(root.join("summary.json"), SUMMARY).unwrap();
    patient.run(&["import", "summary.json"]);
    patient
}

/// A provider `role` called `name`, with a request for `types` through `nodes` (`URL KEY`
/// each) written to `<out>/request.uri`.
pub(crate) fn provider_asking(
    root: &Path,
    role: &str,
    name: &str,
    types: &[&str],
    out: &str,
    nodes: &[String],
) -> Actor {
    let doc = Actor::new(root, role);
    doc.run(&["provider", "init", "--name", name]);
    let mut args = vec!["provider", "request", "--purpose", "care", "--out", out];
    for t in types {
        args.extend(["--type", t]);
    }
    for n in nodes {
        args.extend(["--node", n.as_str()]);
    }
    doc.run(&args);
    doc
}

/// The patient approves `<req>/request.uri` (nodes already pinned) and returns the grant id.
pub(crate) fn share(patient: &Actor, req: &str) -> String {
    patient.run(&[
        "share",
        &format!("{req}/request.uri"),
        "--yes",
        "--out",
        "g.bundle",
    ]);
    first_grant(patient)
}

/// A patient (summary imported) who pinned the node at `url` with `log_key` and no witnesses,
/// and shared allergies with provider `name`, whose request names that node: (patient,
/// provider, grant id).
pub(crate) fn shared_through(
    root: &Path,
    url: &str,
    log_key: &str,
    name: &str,
) -> (Actor, Actor, String) {
    let patient = patient_with_summary(root);
    pin(&patient, url, log_key, None);
    let named = format!("{url} {log_key}");
    let doc = provider_asking(root, "doc", name, &["AllergyIntolerance"], "req", &[named]);
    let grant = share(&patient, "req");
    (patient, doc, grant)
}

/// The id of the patient's first grant.
pub(crate) fn first_grant(patient: &Actor) -> String {
    patient.json(&["grants", "--json"])[0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A patient with the summary bundle imported and every node of `ledger` pinned.
fn patient_on(root: &Path, ledger: &Ledger, urls: &[String]) -> Actor {
    let patient = patient_with_summary(root);
    pin_nodes(&patient, ledger, urls);
    patient
}

fn pin_nodes(patient: &Actor, ledger: &Ledger, urls: &[String]) {
    for (url, key) in urls.iter().zip(&ledger.node_keys) {
        let mut args = vec!["node", "add", url.as_str(), key.as_str()];
        for w in &ledger.witness_keys {
            args.extend(["--witness", w.as_str()]);
        }
        args.extend(["--quorum", "2"]);
        patient.run(&args);
    }
}

pub(crate) const SUMMARY: &str = r#"{"resourceType":"Bundle","type":"collection","entry":[
 {"resource":{"resourceType":"AllergyIntolerance","id":"a1","code":{"text":"Penicillin"},"patient":{"reference":"Patient/p"}}},
 {"resource":{"resourceType":"Observation","id":"o1","status":"final","code":{"text":"Glucose"},"subject":{"reference":"Patient/p"},"valueQuantity":{"value":6.3,"unit":"mmol/L"}}}
]}"#;

#[test]
fn share_fetch_audit_revoke_erase_through_two_nodes_and_two_witnesses() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ledger = start_ledger(root);
    let urls: Vec<String> = ledger.nodes.iter().map(|n| n.url.clone()).collect();

    let patient = patient_on(root, &ledger, &urls);

    let node_args = ledger.named(&urls);
    let doc = provider_asking(
        root,
        "doc",
        "Dr. Ledger",
        &["AllergyIntolerance"],
        "req",
        &node_args,
    );
    let grant = share(&patient, "req");
    let sync = patient.run(&["sync"]);
    assert_eq!(sync.matches(": verified, log size").count(), 2, "{sync}");
    assert!(sync.contains("0 write(s) waiting"), "{sync}");

    // The provider uses only the URLs of its own request.
    let fetched = doc.run(&[
        "provider", "fetch", &grant, "--node", &urls[0], "--out", "recv",
    ]);
    assert!(fetched.contains("1 record(s)"), "{fetched}");
    let got = std::fs::read_dir(root.join("recv"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(std::fs::read_to_string(got).unwrap().contains("Penicillin"));

    let sync = patient.run(&["sync"]);
    assert!(sync.contains("1 new access event"), "{sync}");
    let audit = patient.json(&["audit", "--json"]);
    assert_eq!(audit.as_array().unwrap().len(), 1, "{audit}");
    assert_eq!(audit[0]["provider_name"], "Dr. Ledger");
    assert_eq!(audit[0]["verification"], "verified");
    assert_eq!(audit[0]["grant_id"], grant.as_str());

    // A replayed fetch request is refused by the node; a revoked grant too.
    patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    for url in &urls {
        let (code, err) = doc.fail(&["provider", "fetch", &grant, "--node", url]);
        assert_eq!(code, 4, "{err}");
        assert!(err.contains("revoked"), "{err}");
    }

    // Erase: the receipt carries inclusion proofs that verify offline.
    let observation = records(&patient)
        .into_iter()
        .find(|r| r["resource_type"] == "Observation")
        .unwrap();
    patient.run(&[
        "erase",
        observation["id"].as_str().unwrap(),
        "--yes",
        "--receipt",
        "receipt.json",
    ]);
    let receipt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("receipt.json")).unwrap()).unwrap();
    assert_eq!(receipt["ledger"].as_array().unwrap().len(), 2, "{receipt}");
    let verified = patient.run(&["receipt", "verify", "receipt.json"]);
    assert_eq!(
        verified.matches("included in the log of").count(),
        2,
        "{verified}"
    );
    let final_sync = patient.run(&["sync"]);
    assert_eq!(final_sync.matches(": verified").count(), 2, "{final_sync}");

    // Privacy: no long-term key and no record id in any tile or entry bundle of either log.
    let patient_key = patient
        .run(&["status"])
        .lines()
        .find_map(|l| l.strip_prefix("identity key:").map(|k| k.trim().to_owned()))
        .unwrap();
    let provider_key = doc.run(&["provider", "key"]).trim().to_owned();
    let mut secrets: Vec<Vec<u8>> = vec![hex(&patient_key), hex(&provider_key)];
    for r in records(&patient) {
        secrets.push(hex(r["id"].as_str().unwrap()));
    }
    let mut scanned = 0;
    for dir in &ledger.data_dirs {
        for file in walk(&dir.join("tile")) {
            let bytes = std::fs::read(&file).unwrap();
            scanned += 1;
            for s in &secrets {
                assert!(
                    !contains(&bytes, s),
                    "{} leaks an identifying value",
                    file.display()
                );
            }
        }
    }
    assert!(scanned >= 4, "only {scanned} tile files scanned");
}

#[test]
fn a_tampered_mirror_is_caught_and_nothing_is_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ledger = start_ledger(root);
    let urls: Vec<String> = ledger.nodes.iter().map(|n| n.url.clone()).collect();
    let patient = patient_on(root, &ledger, &urls);
    let node_arg = format!("{} {}", urls[0], ledger.node_keys[0]);
    provider_asking(
        root,
        "doc",
        "Dr. Mirror",
        &["Observation"],
        "req",
        &[node_arg],
    );
    share(&patient, "req");

    // A second wallet reads node 1 through a plain static mirror of its data directory.
    let mirror = root.join("mirror");
    copy_dir(&ledger.data_dirs[0], &mirror);
    let server = StaticServer::start(&mirror);
    let reader = Actor::new(root, "reader");
    reader.run(&["init"]);
    let mut args = vec![
        "node".to_owned(),
        "add".into(),
        server.url.clone(),
        ledger.node_keys[0].clone(),
    ];
    for w in &ledger.witness_keys {
        args.extend(["--witness".into(), w.clone()]);
    }
    args.extend(["--quorum".into(), "2".into()]);
    reader.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let ok = reader.run(&["sync"]);
    assert!(
        ok.contains("verified, log size"),
        "the untampered mirror verifies: {ok}"
    );
    let size_line = reader.run(&["node", "list"]);

    // Tamper one byte of an entry bundle: the sync refuses, and the stored state is unchanged.
    let bundle = walk(&mirror.join("tile/entries"))
        .into_iter()
        .next()
        .expect("an entry bundle");
    let mut bytes = std::fs::read(&bundle).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&bundle, bytes).unwrap();
    // A source that fails verification fails the sync (issue 8, hole 5).
    let out = reader.try_run(&["sync"]);
    assert!(!out.status.success());
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("not verified") && out.contains("tile"),
        "{out}"
    );
    // The wallet kept the last checkpoint it verified, nothing from the tampered mirror.
    assert_eq!(reader.run(&["node", "list"]), size_line);
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
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

/// A plain static file server (GET only) on 127.0.0.1 — what any web host or CDN mirror does.
pub(crate) struct StaticServer {
    pub(crate) url: String,
}

impl StaticServer {
    pub(crate) fn start(dir: &Path) -> StaticServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let dir = dir.to_path_buf();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let dir = dir.clone();
                std::thread::spawn(move || serve_one(stream, &dir));
            }
        });
        StaticServer { url }
    }
}

fn serve_one(mut stream: std::net::TcpStream, dir: &Path) {
    use std::io::Write;
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request = String::new();
    if reader.read_line(&mut request).is_err() {
        return;
    }
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
            break;
        }
    }
    let path = request
        .split_whitespace()
        .nth(1)
        .unwrap_or("/")
        .trim_start_matches('/')
        .to_owned();
    let file = dir.join(&path);
    let response = match (path.contains(".."), std::fs::read(&file)) {
        (false, Ok(body)) => {
            let mut r = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            r.extend(body);
            r
        }
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&response);
}

/// A witness process that cosigns for the given log keys.
fn start_witness(dir: &Path, name: &str, logs: &[&str]) -> (Proc, String) {
    let (key, vkey) = keygen(dir, name);
    let wdir = dir.join(name.replace('/', "_"));
    std::fs::create_dir_all(&wdir).unwrap();
    let config = wdir.join("witness.toml");
    let logs_toml: Vec<String> = logs.iter().map(|v| format!("{v:?}")).collect();
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:0\"\nkey_file = {:?}\ndata_dir = {:?}\nlogs = [{}]\n",
            key.display().to_string(),
            wdir.join("data").display().to_string(),
            logs_toml.join(", ")
        ),
    )
    .unwrap();
    (
        Proc::start(&["witness", "--config", config.to_str().unwrap()]),
        vkey,
    )
}

/// A node process serving `data` with `key` on `port`, pushing checkpoints to `witnesses`.
pub(crate) fn start_node(data: &Path, key: &Path, port: u16, witnesses: &[(&str, &str)]) -> Proc {
    let mut toml = format!(
        "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = {:?}\nkey_file = {:?}\nbatch_delay_ms = 2\nwitness_timeout_ms = 2000\n",
        data.display().to_string(),
        key.display().to_string()
    );
    for (url, vkey) in witnesses {
        toml.push_str(&format!(
            "\n[[witnesses]]\nurl = {url:?}\nvkey = {vkey:?}\n"
        ));
    }
    let config = data.with_extension("toml");
    std::fs::create_dir_all(data).unwrap();
    std::fs::write(&config, toml).unwrap();
    Proc::start(&["serve", "--config", config.to_str().unwrap()])
}

/// A patient who imports one record and erases it: one erasure entry on every pinned node.
pub(crate) fn erase_one(patient: &Actor, name: &str) {
    std::fs::write(patient.cwd.join(name), name.as_bytes()).unwrap();
    patient.run(&["import", name]);
    let id = crate::cli::record_id_named(patient, name);
    patient.run(&[
        "erase",
        &id,
        "--yes",
        "--receipt",
        &format!("{name}.receipt"),
    ]);
}

pub(crate) fn pin(patient: &Actor, url: &str, key: &str, witness: Option<&str>) {
    match witness {
        Some(w) => patient.run(&["node", "add", url, key, "--witness", w, "--quorum", "1"]),
        None => patient.run(&["node", "add", url, key]),
    };
}

/// One log key, two histories: node A and a node B started from a copy of A's data, each
/// appending a different entry at the same size. Witnesses refuse to cosign the fork; a wallet
/// that pins both views without witnesses catches it by gossip; a rollback is caught too.
#[test]
fn forks_split_views_and_rollbacks_are_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (log_key_file, log_key) = keygen(root, "carekey.test/forked");
    let (witness, witness_key) = start_witness(root, "witness.test/w", &[&log_key]);
    let (port_a, port_b) = (free_port(), free_port());
    let data_a = root.join("node-a");
    let node_a = start_node(
        &data_a,
        &log_key_file,
        port_a,
        &[(&witness.url, &witness_key)],
    );

    // Size 1 on A, cosigned.
    let p1 = Actor::new(root, "p1");
    p1.run(&["init"]);
    pin(&p1, &node_a.url, &log_key, Some(&witness_key));
    erase_one(&p1, "first.bin");
    assert!(p1.run(&["sync"]).contains("verified, log size 1"));

    // Snapshot A at size 1, then A grows to size 2 (the witness cosigns A@2).
    let snapshot = root.join("snapshot-at-1");
    copy_dir(&data_a, &snapshot);
    erase_one(&p1, "second.bin");
    assert!(p1.run(&["sync"]).contains("verified, log size 2"));

    // B: the same key, started from the size-1 snapshot, appends a different entry at size 2.
    let data_b = root.join("node-b");
    copy_dir(&snapshot, &data_b);
    let node_b = start_node(
        &data_b,
        &log_key_file,
        port_b,
        &[(&witness.url, &witness_key)],
    );
    let p2 = Actor::new(root, "p2");
    p2.run(&["init"]);
    pin(&p2, &node_b.url, &log_key, None);
    erase_one(&p2, "other.bin");

    // 1. A wallet requiring the witness refuses B: the witness would not cosign the fork.
    let p3 = Actor::new(root, "p3");
    p3.run(&["init"]);
    pin(&p3, &node_b.url, &log_key, Some(&witness_key));
    let out = p3.try_run(&["sync"]);
    assert!(!out.status.success());
    let out = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.contains("not verified") && out.contains("0 trusted witnesses, 1 required"),
        "{out}"
    );

    // 2. A wallet that pins both views without witnesses catches the split view by gossip,
    //    keeps both signed checkpoints as evidence, and alerts loudly.
    let p4 = Actor::new(root, "p4");
    p4.run(&["init"]);
    pin(&p4, &node_a.url, &log_key, None);
    pin(&p4, &node_b.url, &log_key, None);
    let (code, err) = p4.fail(&["sync"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("split view, rollback"), "{err}");
    let list = p4.run(&["node", "list"]);
    assert_eq!(
        list.matches("evidence of a lying node").count(),
        2,
        "{list}"
    );

    // 3. Rollback: A comes back from the size-1 snapshot on the same port.
    drop(node_a);
    let data_old = root.join("node-a-old");
    copy_dir(&snapshot, &data_old);
    let _old_a = start_node(
        &data_old,
        &log_key_file,
        port_a,
        &[(&witness.url, &witness_key)],
    );
    let (_, err) = p1.fail(&["sync"]);
    assert!(err.contains("split view, rollback"), "{err}");
    assert!(p1
        .run(&["node", "list"])
        .contains("evidence of a lying node"));
}

/// Erasing a record also removes it from the off-log bundles of the grants that shared it: the
/// provider's next fetch no longer carries its ciphertext or key wrap.
#[test]
fn erasing_a_shared_record_removes_it_from_the_nodes_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let ledger = start_ledger(root);
    let urls: Vec<String> = ledger.nodes.iter().map(|n| n.url.clone()).collect();
    let patient = patient_on(root, &ledger, &urls);
    let node_arg = format!("{} {}", urls[0], ledger.node_keys[0]);
    let doc = provider_asking(
        root,
        "doc",
        "Dr. Both",
        &["AllergyIntolerance", "Observation"],
        "req",
        &[node_arg],
    );
    let grant = share(&patient, "req");
    let before = doc.run(&["provider", "fetch", &grant, "--node", &urls[0]]);
    assert!(before.contains("2 record(s)"), "{before}");

    let observation = records(&patient)
        .into_iter()
        .find(|r| r["resource_type"] == "Observation")
        .unwrap();
    let id = observation["id"].as_str().unwrap().to_owned();
    patient.run(&["erase", &id, "--yes", "--receipt", "r.json"]);
    let after = doc.run(&["provider", "fetch", &grant, "--node", &urls[0]]);
    assert!(after.contains("1 record(s)"), "{after}");
    assert!(
        !after.contains(&id),
        "the erased record is gone from the node's copy: {after}"
    );
}

/// The nodes a provider's request names, with their log keys, are pinned when the patient
/// confirms them — with the patient's own witness policy, never anything the node says. A
/// request cannot re-key a pinned node. A node that moved keeps its verified history under the
/// new URL; an unpinned node's waiting writes are dropped.
#[test]
fn request_named_nodes_are_pinned_on_confirmation_then_moved_and_removed() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let mut ledger = start_ledger(root);
    let urls: Vec<String> = ledger.nodes.iter().map(|n| n.url.clone()).collect();
    let patient = patient_with_summary(root);
    let mut policy = vec!["node", "witnesses", "--quorum", "2"];
    for w in &ledger.witness_keys {
        policy.extend(["--witness", w.as_str()]);
    }
    assert!(patient.run(&policy).contains("need 2 of 2 witness(es)"));

    let named = ledger.named(&urls);
    let doc = provider_asking(
        root,
        "doc",
        "Dr. Named",
        &["AllergyIntolerance"],
        "req",
        &named,
    );

    // Not confirmed: nothing is shared, and the review showed each node with its key.
    let out = patient.try_run(&["share", "req/request.uri", "--yes", "--out", "g.bundle"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("have not pinned"),
        "{out:?}"
    );
    for (u, k) in urls.iter().zip(&ledger.node_keys) {
        assert!(stdout.contains(&format!("{u}  log key {k}")), "{stdout}");
    }
    assert!(stdout.contains("2 of 2 must cosign"), "{stdout}");
    assert!(patient
        .json(&["grants", "--json"])
        .as_array()
        .unwrap()
        .is_empty());

    patient.run(&[
        "share",
        "req/request.uri",
        "--yes",
        "--confirm-nodes",
        "--out",
        "g.bundle",
    ]);
    let list = patient.run(&["node", "list"]);
    assert_eq!(list.matches("witnesses 2/2").count(), 2, "{list}");
    let sync = patient.run(&["sync"]);
    assert_eq!(sync.matches(": verified, log size").count(), 2, "{sync}");
    let grant = first_grant(&patient);
    let fetched = doc.run(&["provider", "fetch", &grant, "--node", &urls[0]]);
    assert!(fetched.contains("1 record(s)"), "{fetched}");

    // A request cannot re-key a pinned node.
    let rekeyed = format!("{} {}", urls[0], ledger.node_keys[1]);
    provider_asking(
        root,
        "rogue",
        "Dr. Rogue",
        &["AllergyIntolerance"],
        "rogue-req",
        &[rekeyed],
    );
    let (_, err) = patient.fail(&[
        "share",
        "rogue-req/request.uri",
        "--yes",
        "--confirm-nodes",
        "--out",
        "r.bundle",
    ]);
    assert!(err.contains("but you pinned"), "{err}");

    // Node 1 goes down; the revocation waits for it in the outbox.
    drop(ledger.nodes.remove(0));
    patient.run(&["revoke", &grant, "--yes", "--out", "rev"]);
    let list = patient.run(&["node", "list"]);
    assert!(list.contains("write(s) waiting"), "{list}");

    // It comes back on another port with the same data and key: move the pin.
    let port = free_port();
    let witnesses: Vec<(&str, &str)> = ledger
        ._witnesses
        .iter()
        .zip(&ledger.witness_keys)
        .map(|(w, k)| (w.url.as_str(), k.as_str()))
        .collect();
    let moved = start_node(
        &ledger.data_dirs[0],
        &root.join("carekey.test_log1.key"),
        port,
        &witnesses,
    );
    patient.run(&["node", "move", &urls[0], &moved.url]);
    let sync = patient.run(&["sync"]);
    assert!(
        sync.contains(&format!("{}: verified, log size", moved.url)),
        "{sync}"
    );
    assert!(sync.contains("0 write(s) waiting"), "{sync}");
    let (_, err) = doc.fail(&["provider", "fetch", &grant, "--node", &moved.url]);
    assert!(err.contains("revoked"), "{err}");

    // Node 2 goes away for good: an erasure entry waits for it, so unpinning is refused
    // until the patient says the node is gone for good; its queued writes are then dropped.
    drop(ledger.nodes.remove(0));
    erase_one(&patient, "note.txt");
    let (code, err) = patient.fail(&["node", "remove", &urls[1]]);
    assert_eq!(code, 4, "{err}");
    let removed = patient.run(&[
        "node",
        "remove",
        &urls[1],
        "--force",
        "--receipt",
        "removal.json",
    ]);
    assert!(!removed.contains("(0 waiting"), "{removed}");
    let sync = patient.run(&["sync"]);
    assert_eq!(sync.matches(": verified").count(), 1, "{sync}");
    assert!(sync.contains("0 write(s) waiting"), "{sync}");
    assert!(!patient.run(&["node", "list"]).contains(&urls[1]));
}

/// "Shorten" (issue 10): a grant the patient shortened is served by a real node until its new
/// end and refused from then on, with the patient's device switched off; the patient's next
/// sync ends it in the wallet (re-keying what it shared); an auditor replaying the log finds
/// the shortening and the access before it consistent.
#[test]
fn a_shortened_grant_is_refused_by_the_node_from_its_new_end() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let (key_file, log_key) = keygen(root, "carekey.test/shorten");
    let data = root.join("node");
    let node = start_node(&data, &key_file, free_port(), &[]);
    let url = node.url.clone();
    let (mut patient, mut doc, grant) = shared_through(root, &url, &log_key, "Dr Short");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    patient.now = Some(t0);
    let out = patient.run(&["shorten", &grant, "--in", "2h"]);
    assert!(out.contains("has the new end"), "{out}");
    let listed = &patient.json(&["grants", "--json"])[0];
    assert_eq!(listed["ends_early"], t0 + 7200, "{listed}");
    assert_eq!(listed["status"], "active");
    // A second shortening is refused with a clear error.
    let (_, err) = patient.fail(&["shorten", &grant, "--in", "1h"]);
    assert!(err.contains("already shortened"), "{err}");

    // Before the new end the provider still gets the records.
    let fetched = doc.run(&[
        "provider", "fetch", &grant, "--node", &url, "--out", "recv1",
    ]);
    assert!(fetched.contains("record(s)"), "{fetched}");

    // Three hours later, the patient's device off: the node (restarted at that time) refuses.
    drop(node);
    let later = t0 + 3 * 3600;
    let config = data.with_extension("toml");
    let _node = Proc::start_with_env(
        &["serve", "--config", config.to_str().unwrap()],
        Some(("CAREKEY_NOW", later.to_string())),
    );
    doc.now = Some(later);
    let (_, err) = doc.fail(&[
        "provider", "fetch", &grant, "--node", &url, "--out", "recv2",
    ]);
    assert!(err.contains("revoked"), "{err}");

    // The patient's next sync ends the grant here and re-keys what it shared.
    let versions = |p: &Actor| -> Vec<u64> {
        records(p)
            .iter()
            .map(|r| r["version"].as_u64().unwrap())
            .collect()
    };
    let before = versions(&patient);
    patient.now = Some(later);
    patient.run(&["sync"]);
    let listed = &patient.json(&["grants", "--json"])[0];
    assert_eq!(listed["status"], "revoked", "{listed}");
    assert!(
        versions(&patient).iter().zip(&before).any(|(a, b)| a > b),
        "the shared allergy was re-keyed"
    );

    // An auditor replays the log: grant, shortening, the access before the end.
    let audit = Command::new(node_bin())
        .args(["verify", data.to_str().unwrap(), "--log-key", &log_key])
        .output()
        .unwrap();
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
}
