//! C2SP CCTV age vectors (npm package `cctv-age`, pinned in `tests/vectors`).
//!
//! Every non-armored vector that an X25519-only implementation can open is
//! decrypted and its outcome compared with `expect:`; every non-header-failure
//! vector's header is round-tripped byte for byte; every success vector's
//! STREAM payload is decrypted and re-encrypted with its `file key:`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use carekey_crypto::age::{self, AgeError, FileKey, Identity};

#[derive(Debug)]
struct Vector {
    name: String,
    expect: String,
    payload: Option<String>,
    file_key: Option<Vec<u8>>,
    identities: Vec<String>,
    passphrases: usize,
    armored: bool,
    file: Vec<u8>,
}

impl Vector {
    /// Openable by X25519 identities alone (no armor, no hybrid keys, not scrypt-only).
    fn x25519_applicable(&self) -> bool {
        !self.armored
            && self
                .identities
                .iter()
                .all(|i| i.starts_with("AGE-SECRET-KEY-1"))
            && !(self.identities.is_empty() && self.passphrases > 0)
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn vectors() -> &'static [Vector] {
    static VECTORS: OnceLock<Vec<Vector>> = OnceLock::new();
    VECTORS.get_or_init(load)
}

fn load() -> Vec<Vector> {
    let dir = workspace_root().join("tests/vectors");
    assert!(
        dir.join("node_modules/cctv-age/index.js").is_file(),
        "the C2SP CCTV age vectors are missing: run `npm ci --prefix tests/vectors`"
    );
    let out = tempfile::tempdir().unwrap();
    let status = Command::new("node")
        .arg(dir.join("export-cctv.js"))
        .arg(out.path())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("`node` must be on PATH to export the CCTV vectors");
    assert!(status.success(), "tests/vectors/export-cctv.js failed");
    let mut vectors = Vec::new();
    for entry in std::fs::read_dir(out.path()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "meta") {
            vectors.push(parse(&path));
        }
    }
    vectors.sort_by(|a, b| a.name.cmp(&b.name));
    vectors
}

fn parse(meta_path: &Path) -> Vector {
    let meta = std::fs::read_to_string(meta_path).unwrap();
    let mut fields: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for line in meta.lines() {
        let (key, value) = line.split_once(": ").unwrap_or_else(|| panic!("{line:?}"));
        fields.entry(key).or_default().push(value);
    }
    let one = |k: &str| fields.get(k).map(|v| v[0].to_owned());
    Vector {
        name: meta_path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
        expect: one("expect").expect("every vector has `expect:`"),
        payload: one("payload"),
        file_key: one("file key").map(|h| hex::decode(h).unwrap()),
        identities: fields
            .get("identity")
            .map(|v| v.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default(),
        passphrases: fields.get("passphrase").map_or(0, Vec::len),
        armored: one("armored").as_deref() == Some("yes"),
        file: std::fs::read(meta_path.with_extension("age")).unwrap(),
    }
}

/// The CCTV failure class of an error.
fn class(err: &AgeError) -> &'static str {
    match err {
        AgeError::MalformedHeader { .. }
        | AgeError::HeaderTooLarge
        | AgeError::UnsupportedVersion
        | AgeError::LowOrderPoint
        | AgeError::MissingNonce => "header failure",
        AgeError::NoMatchingIdentity => "no match",
        AgeError::HeaderMac => "HMAC failure",
        AgeError::PayloadAuthentication { .. }
        | AgeError::Truncated
        | AgeError::EmptyFinalChunk
        | AgeError::TrailingData => "payload failure",
        other => panic!("unexpected error class: {other:?}"),
    }
}

#[test]
fn decrypt_vectors() {
    let mut ran = 0;
    let mut per_class: BTreeMap<String, usize> = BTreeMap::new();
    for v in vectors().iter().filter(|v| v.x25519_applicable()) {
        let identities: Vec<Identity> = v
            .identities
            .iter()
            .map(|s| Identity::from_bech32(s).unwrap_or_else(|e| panic!("{}: {e}", v.name)))
            .collect();
        let mut out = Vec::new();
        let result = age::decrypt(&identities, &v.file[..], &mut out);
        let got = match &result {
            Ok(_) => "success",
            Err(e) => class(e),
        };
        assert_eq!(got, v.expect, "{}: {result:?}", v.name);
        if let Some(payload) = &v.payload {
            assert_eq!(
                &hex::encode(carekey_crypto::sha256(&out)),
                payload,
                "{}: released plaintext differs",
                v.name
            );
        } else {
            assert!(out.is_empty(), "{}", v.name);
        }
        if let Ok(n) = result {
            assert_eq!(n, out.len() as u64);
        }
        ran += 1;
        *per_class.entry(v.expect.clone()).or_default() += 1;
    }
    eprintln!("CCTV decrypt vectors run: {ran} {per_class:?}");
    // 143 vectors in cctv-age 0.2.0, of which 68 apply (the rest are armored,
    // scrypt-only or ML-KEM hybrid).
    assert!(ran >= 68, "only {ran} CCTV vectors ran: extraction broken?");
    for class in [
        "success",
        "header failure",
        "no match",
        "HMAC failure",
        "payload failure",
    ] {
        assert!(
            per_class.get(class).copied().unwrap_or(0) > 0,
            "no {class} vector"
        );
    }
}

#[test]
fn header_round_trip() {
    let mut ran = 0;
    for v in vectors()
        .iter()
        .filter(|v| !v.armored && v.expect != "header failure")
    {
        let mut input = &v.file[..];
        let header = age::read_header(&mut input).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        let len = v.file.len() - input.len();
        assert_eq!(header.raw(), &v.file[..len], "{}", v.name);
        assert_eq!(header.to_bytes(), &v.file[..len], "{}", v.name);
        ran += 1;
    }
    eprintln!("CCTV header round trips: {ran}");
    // 50 with cctv-age 0.2.0.
    assert!(ran >= 50, "only {ran} header round trips");
}

#[test]
fn stream_round_trip() {
    let mut ran = 0;
    for v in vectors()
        .iter()
        .filter(|v| !v.armored && v.expect == "success")
    {
        let file_key = FileKey::from_bytes(
            v.file_key
                .clone()
                .expect("success vectors have a file key")
                .try_into()
                .unwrap(),
        );
        let mut input = &v.file[..];
        age::read_header(&mut input).unwrap();
        let payload = input;
        let mut plain = Vec::new();
        age::decrypt_payload(&file_key, payload, &mut plain)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(
            Some(hex::encode(carekey_crypto::sha256(&plain))),
            v.payload,
            "{}",
            v.name
        );
        let nonce: [u8; 16] = payload[..16].try_into().unwrap();
        let mut again = Vec::new();
        age::encrypt_payload(&file_key, &nonce, &plain[..], &mut again).unwrap();
        assert!(again == payload, "{}: re-encrypted payload differs", v.name);
        ran += 1;
    }
    eprintln!("CCTV STREAM round trips: {ran}");
    // 19 with cctv-age 0.2.0.
    assert!(ran >= 19, "only {ran} STREAM round trips");
}
