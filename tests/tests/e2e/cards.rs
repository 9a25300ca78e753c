//! SMART Health Cards in, end to end: the peer (npm `kill-the-clipboard` 1.1.0) issues cards
//! for an issuer served on 127.0.0.1 (its JWKS and CRL by a plain static server that counts
//! requests), and the real `carekey` binary imports them from QR text, a QR picture and a
//! `.smart-health-card` file. A trusted issuer's good cards verify; its tampered, expired and
//! revoked cards are refused with the reason; an untrusted issuer's card is kept as "not
//! verified" without a single request.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use carekey_model::shc::{self, Card};

use crate::cli::Actor;

/// A static file server (GET only) on 127.0.0.1 that counts the requests it gets.
struct CountingServer {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl CountingServer {
    fn start(dir: &Path) -> CountingServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let (dir, count) = (dir.to_path_buf(), requests.clone());
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let path = path.trim_start_matches('/');
                let response = match (path.contains(".."), std::fs::read(dir.join(path))) {
                    (false, Ok(body)) => {
                        let mut r = format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        r.extend(body);
                        r
                    }
                    _ => {
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                            .to_vec()
                    }
                };
                let _ = stream.write_all(&response);
            }
        });
        CountingServer { url, requests }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn vectors_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    assert!(
        dir.join("node_modules/kill-the-clipboard/package.json")
            .is_file(),
        "the peer kill-the-clipboard is missing: run `npm ci --prefix tests/vectors`"
    );
    dir
}

/// Runs the peer: cards issued by `issuer`, with its `.well-known` files, into `out`.
fn peer_cards(out: &Path, issuer: &str) {
    let status = Command::new("node")
        .arg(vectors_dir().join("shc-cards.mjs"))
        .arg(out)
        .arg(issuer)
        .stdout(Stdio::null())
        .status()
        .expect("`node` must be on PATH to run the peer");
    assert!(status.success(), "shc-cards.mjs failed: {status}");
}

fn jws(out: &Path, case: &str) -> String {
    std::fs::read_to_string(out.join(format!("{case}.jws"))).unwrap()
}

fn qr_text(out: &Path, case: &str) -> String {
    shc::jws_to_qr(&jws(out, case)).unwrap()
}

#[test]
fn issue11_cards_from_a_trusted_issuer_verify_or_are_refused_untrusted_stay_unverified() {
    let root = tempfile::tempdir().unwrap();
    let served = root.path().join("issuer");
    std::fs::create_dir_all(&served).unwrap();
    let server = CountingServer::start(&served);
    peer_cards(&served, &server.url);

    let valid = Card::parse(&jws(&served, "valid")).unwrap();
    assert_eq!(valid.issuer(), server.url);
    let mut patient = Actor::new(root.path(), "patient");
    patient.now = Some(valid.nbf() + 60);
    patient.run(&["init"]);
    patient.run(&["issuers", "add", &format!("{}/", server.url)]);
    let issuers = patient.json(&["issuers", "list", "--json"]);
    assert_eq!(issuers[0]["url"], server.url.as_str());

    // The valid card as QR text in a file: verified, after fetching the issuer's keys.
    let out = patient.run(&[
        "card",
        "import",
        served.join("valid.qr.txt").to_str().unwrap(),
    ]);
    assert!(
        out.contains("verified") && !out.contains("NOT VERIFIED"),
        "{out}"
    );
    assert!(server.requests() >= 1);
    // The same card as a .smart-health-card file, and as a picture of its QR code: one record.
    patient.run(&[
        "card",
        "import",
        served.join("valid.smart-health-card").to_str().unwrap(),
    ]);
    let png = root.path().join("valid.png");
    std::fs::write(&png, carekey_qr::png(&qr_text(&served, "valid")).unwrap()).unwrap();
    patient.run(&["card", "import", png.to_str().unwrap()]);
    let cards = patient.json(&["card", "list", "--json"]);
    assert_eq!(cards.as_array().unwrap().len(), 1, "{cards}");
    assert_eq!(cards[0]["verification"]["status"], "verified");
    assert_eq!(cards[0]["issuer"], server.url.as_str());

    // The card's record is its FHIR Bundle, decryptable like any record.
    let record = cards[0]["record"].as_str().unwrap().to_owned();
    let exported = root.path().join("card.json");
    patient.run(&["export", &record, exported.to_str().unwrap()]);
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&exported).unwrap()).unwrap();
    assert_eq!(bundle, *valid.fhir_bundle());

    // Tampered, expired and revoked cards of the trusted issuer are refused, with the reason.
    for (case, now, reason) in [
        ("tampered", valid.nbf() + 60, "signature"),
        ("expiring", valid.nbf() + 7200, "expired"),
        ("revoked", valid.nbf() + 60, "revoked"),
        ("revoked-before", valid.nbf() + 60, "revoked"),
        ("unknown-key", valid.nbf() + 60, "no key"),
    ] {
        let mut at = patient.clone();
        at.now = Some(now);
        let (code, stderr) = at.fail(&["card", "import", &qr_text(&served, case)]);
        assert_eq!(code, 4, "{case}: {stderr}");
        assert!(stderr.contains(reason), "{case}: {stderr}");
    }
    // A card of the key with a revocation list that is not on it: verified (list fetched).
    let out = patient.run(&["card", "import", &qr_text(&served, "not-revoked")]);
    assert!(
        out.contains("verified") && !out.contains("NOT VERIFIED"),
        "{out}"
    );
    assert_eq!(
        patient
            .json(&["card", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Untrusted: no request at all, kept as "not verified".
    patient.run(&["issuers", "remove", &server.url]);
    let before = server.requests();
    let out = patient.run(&[
        "card",
        "import",
        &qr_text(&served, "issued-after-revocation"),
    ]);
    assert!(out.contains("NOT VERIFIED"), "{out}");
    assert_eq!(
        server.requests(),
        before,
        "an untrusted issuer was contacted"
    );
    let cards = patient.json(&["card", "list", "--json"]);
    let statuses: Vec<&str> = cards
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["verification"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == "not_verified").count(), 1);
    let records = crate::cli::records(&patient);
    assert_eq!(
        records
            .iter()
            .filter(|r| r["category"] == carekey_wallet::CARD_CATEGORY)
            .count(),
        3
    );

    // Trusting the issuer again and re-importing verifies the same record.
    patient.run(&["issuers", "add", &server.url]);
    let out = patient.run(&[
        "card",
        "import",
        &qr_text(&served, "issued-after-revocation"),
    ]);
    assert!(
        out.contains("verified") && !out.contains("NOT VERIFIED"),
        "{out}"
    );
    let cards = patient.json(&["card", "list", "--json"]);
    assert_eq!(cards.as_array().unwrap().len(), 3);
    assert!(cards
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["verification"]["status"] == "verified"));

    // Not a card at all.
    let (code, stderr) = patient.fail(&["card", "import", "shc:/5676"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("not a SMART Health Card"), "{stderr}");
}

#[test]
fn issue11_an_unreachable_trusted_issuer_imports_nothing() {
    let root = tempfile::tempdir().unwrap();
    let served = root.path().join("issuer");
    std::fs::create_dir_all(&served).unwrap();
    // Cards naming an issuer on a port nobody listens on (bound, then closed).
    let gone = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    peer_cards(&served, &gone);
    let valid = Card::parse(&jws(&served, "valid")).unwrap();
    let mut patient = Actor::new(root.path(), "patient");
    patient.now = Some(valid.nbf() + 60);
    patient.run(&["init"]);
    patient.run(&["issuers", "add", &gone]);
    let (_, stderr) = patient.fail(&["card", "import", &qr_text(&served, "valid")]);
    assert!(stderr.contains("could not check the card"), "{stderr}");
    assert_eq!(
        patient
            .json(&["card", "list", "--json"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Refusing a bad issuer URL.
    let (_, stderr) = patient.fail(&["issuers", "add", "http://issuer.example"]);
    assert!(stderr.contains("not an issuer URL"), "{stderr}");
}
