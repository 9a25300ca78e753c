//! `carekey demo`: the whole share → revoke → erase story, each step a real `carekey` process
//! working on real files, printed as the commands a user would type.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Work in this directory (default: a new directory under the system temp dir).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

/// A small FHIR R4 bundle of the kind a patient portal exports.
const SAMPLE_BUNDLE: &str = r#"{
  "resourceType": "Bundle", "type": "collection",
  "entry": [
    {"resource": {"resourceType": "Patient", "id": "demo", "name": [{"given": ["Alex"], "family": "Rivera"}], "birthDate": "1984-03-02"}},
    {"resource": {"resourceType": "AllergyIntolerance", "id": "pen", "criticality": "high",
      "code": {"coding": [{"system": "http://snomed.info/sct", "code": "764146007", "display": "Penicillin"}], "text": "Penicillin"},
      "patient": {"reference": "Patient/demo"}}},
    {"resource": {"resourceType": "MedicationStatement", "id": "met", "status": "active",
      "medicationCodeableConcept": {"text": "Metformin 500 mg tablet"}, "subject": {"reference": "Patient/demo"},
      "dosage": [{"text": "1 tablet twice daily"}]}},
    {"resource": {"resourceType": "Condition", "id": "t2d",
      "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006", "display": "Type 2 diabetes mellitus"}]},
      "subject": {"reference": "Patient/demo"}}},
    {"resource": {"resourceType": "Observation", "id": "a1c", "status": "final",
      "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}]},
      "subject": {"reference": "Patient/demo"}, "effectiveDateTime": "2026-10-01",
      "valueQuantity": {"value": 6.9, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}}}
  ]
}"#;

struct Demo {
    exe: PathBuf,
    dir: PathBuf,
    step: usize,
}

impl Demo {
    fn vault(&self, role: &str) -> PathBuf {
        self.dir.join(role)
    }

    /// Runs `carekey ARGS` as `role`, shows it, and returns its stdout. `expect_ok = false`
    /// means the step is supposed to be refused.
    fn run(&mut self, title: &str, role: &str, args: &[&str], expect_ok: bool) -> Result<String> {
        self.step += 1;
        println!("\n── {}. {title}", self.step);
        let shown: Vec<String> = args
            .iter()
            .map(|a| {
                if a.contains(' ') {
                    format!("{a:?}")
                } else {
                    (*a).to_owned()
                }
            })
            .collect();
        println!("$ carekey --vault {role} {}", shown.join(" "));
        let out = Command::new(&self.exe)
            .current_dir(&self.dir)
            .arg("--vault")
            .arg(self.vault(role))
            .args(args)
            .env(
                "CAREKEY_PASSPHRASE",
                format!("demo passphrase for the {role}"),
            )
            .env("CAREKEY_SECRET_STORE", "file")
            .output()
            .with_context(|| format!("starting {}", self.exe.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let lines: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
        // JSON listings are for the demo's own bookkeeping: show their start only.
        let limit = if stdout.trim_start().starts_with('[') {
            6
        } else {
            usize::MAX
        };
        for line in lines.iter().take(limit) {
            println!("  {line}");
        }
        if lines.len() > limit {
            println!("  … ({} more lines)", lines.len() - limit);
        }
        match (out.status.success(), expect_ok) {
            (true, true) => Ok(stdout),
            (false, false) => {
                println!(
                    "  ✔ refused, as it must be (exit code {})",
                    out.status.code().unwrap_or(-1)
                );
                Ok(stdout)
            }
            (true, false) => bail!("step {} should have been refused but succeeded", self.step),
            (false, true) => bail!("step {} failed", self.step),
        }
    }
}

pub(crate) fn run(args: DemoArgs) -> Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => std::env::temp_dir().join(format!("carekey-demo-{}", std::process::id())),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::path::absolute(&dir)?;
    let mut d = Demo {
        exe: std::env::current_exe().context("locating the carekey binary")?,
        dir: dir.clone(),
        step: 0,
    };
    println!(
        "Carekey demo in {} — every step is a separate carekey process.",
        dir.display()
    );
    println!(
        "(Device secrets go to a file store beside each vault here; the app uses the OS keyring.)"
    );
    std::fs::write(dir.join("patient-summary.json"), SAMPLE_BUNDLE)?;

    d.run(
        "The patient creates a wallet (the recovery kit is shown once)",
        "patient",
        &["init", "--kit-out", "kit"],
        true,
    )?;
    d.run(
        "The patient imports a FHIR bundle from the clinic portal",
        "patient",
        &["import", "patient-summary.json"],
        true,
    )?;
    d.run("Records, by type", "patient", &["records"], true)?;
    d.run(
        "The patient backs the wallet up",
        "patient",
        &["backup", "wallet.backup"],
        true,
    )?;

    d.run(
        "A medical council runs a provider directory",
        "council",
        &["directory", "create", "Medical Council"],
        true,
    )?;
    let council_key = d.run(
        "Its key, which patients pin",
        "council",
        &["directory", "key"],
        true,
    )?;
    d.run(
        "A doctor creates a provider identity",
        "doctor",
        &[
            "provider",
            "init",
            "--name",
            "Dr. Ada Okafor, Riverside Clinic",
        ],
        true,
    )?;
    let doctor_key = d.run("The doctor's key", "doctor", &["provider", "key"], true)?;
    d.run(
        "The council lists the doctor",
        "council",
        &[
            "directory",
            "add",
            "Dr. Ada Okafor, Riverside Clinic",
            doctor_key.trim(),
        ],
        true,
    )?;
    d.run(
        "The council signs its directory",
        "council",
        &["directory", "sign", "--out", "council.directory"],
        true,
    )?;
    d.run(
        "The patient pins the council's key",
        "patient",
        &["directory", "trust", council_key.trim()],
        true,
    )?;
    d.run(
        "The patient imports the signed directory",
        "patient",
        &["directory", "import", "council.directory"],
        true,
    )?;

    let ledger = LocalLedger::start(&dir)?;
    d.step += 1;
    println!(
        "\n── {}. A hospital runs a ledger node; a patient organisation runs a witness",
        d.step
    );
    println!(
        "$ carekey-node keygen --name {} --out node.key",
        LocalLedger::ORIGIN
    );
    println!(
        "$ carekey-node witness --config witness/witness.toml   # {}",
        ledger.witness.url
    );
    println!(
        "$ carekey-node serve --config node/node.toml           # {}",
        ledger.node.url
    );
    println!("  log key:     {}", ledger.node_key);
    println!("  witness key: {}", ledger.witness_key);
    d.run(
        "The patient pins the node's log key and its witness (never learnt from the node)",
        "patient",
        &[
            "node",
            "add",
            &ledger.node.url,
            &ledger.node_key,
            "--witness",
            &ledger.witness_key,
            "--quorum",
            "1",
        ],
        true,
    )?;
    let node_ref = format!("{} {}", ledger.node.url, ledger.node_key);
    d.run(
        "The doctor shows an access request as a QR code (naming the node)",
        "doctor",
        &[
            "provider",
            "request",
            "--type",
            "AllergyIntolerance",
            "--type",
            "MedicationStatement",
            "--purpose",
            "Prescribing antibiotics safely",
            "--duration",
            "30d",
            "--node",
            &node_ref,
            "--out",
            "request",
        ],
        true,
    )?;
    d.run(
        "The patient scans the QR image and approves (grant commitment and bundle go to the node)",
        "patient",
        &[
            "share",
            "request/request.png",
            "--yes",
            "--out",
            "grant.bundle",
        ],
        true,
    )?;
    let grants = d.run(
        "The patient's grants",
        "patient",
        &["grants", "--json"],
        true,
    )?;
    let grant = first_id(&grants).context("no grant listed")?;
    d.run(
        "The doctor fetches through the node: exactly the granted records",
        "doctor",
        &[
            "provider",
            "fetch",
            &grant,
            "--node",
            &ledger.node.url,
            "--out",
            "received",
        ],
        true,
    )?;
    d.run(
        "The patient syncs, verifying the log (signature, witness, consistency, inclusion)",
        "patient",
        &["sync"],
        true,
    )?;
    d.run(
        "The patient sees who read what, verified",
        "patient",
        &["audit"],
        true,
    )?;
    d.run(
        "The grant as a FHIR R4 Consent",
        "patient",
        &["grant", "show", &grant, "--fhir"],
        true,
    )?;
    d.run(
        "The patient revokes the grant (records are re-keyed; the revocation is logged)",
        "patient",
        &["revoke", &grant, "--yes", "--out", "revoked"],
        true,
    )?;
    d.run(
        "The doctor tries again",
        "doctor",
        &["provider", "fetch", &grant, "--node", &ledger.node.url],
        false,
    )?;

    let records = d.run(
        "The patient's records now",
        "patient",
        &["records", "--json"],
        true,
    )?;
    let allergy = id_of_type(&records, "AllergyIntolerance").context("no allergy record")?;
    d.run(
        "The patient backs up again: now also sealed with a key share kept on the ledger node",
        "patient",
        &["backup", "wallet.backup"],
        true,
    )?;
    std::fs::copy(dir.join("wallet.backup"), dir.join("old-copy.backup"))
        .context("copying the backup")?;
    println!("$ cp wallet.backup old-copy.backup      # someone keeps a copy");
    d.run(
        "The patient erases the allergy record",
        "patient",
        &[
            "erase",
            &allergy,
            "--yes",
            "--receipt",
            "erasure-receipt.json",
        ],
        true,
    )?;
    d.run(
        "Anyone can verify the erasure receipt offline",
        "patient",
        &["receipt", "verify", "erasure-receipt.json"],
        true,
    )?;
    d.run(
        "The erased record is gone",
        "patient",
        &["show", &allergy],
        false,
    )?;
    d.run(
        "The rest of the wallet is intact",
        "patient",
        &["records"],
        true,
    )?;
    d.run(
        "The copy made before the erasure, with the right recovery words, no longer opens",
        "someone-else",
        &[
            "recover",
            "--backup",
            "old-copy.backup",
            "--words-file",
            "kit/recovery-kit.txt",
        ],
        false,
    )?;
    d.run(
        "The backup the wallet re-wrote restores on a new phone",
        "new-phone",
        &[
            "recover",
            "--backup",
            "wallet.backup",
            "--words-file",
            "kit/recovery-kit.txt",
        ],
        true,
    )?;
    d.run(
        "… without the erased record",
        "new-phone",
        &["records"],
        true,
    )?;

    d.run(
        "A last sync: the log still verifies",
        "patient",
        &["sync"],
        true,
    )?;
    drop(ledger);
    println!("\nDone. Everything the demo wrote is in {}.", dir.display());
    Ok(())
}

/// A ledger node and a witness, as real `carekey-node` processes on 127.0.0.1.
struct LocalLedger {
    node: NodeProcess,
    witness: NodeProcess,
    node_key: String,
    witness_key: String,
}

impl LocalLedger {
    const ORIGIN: &'static str = "demo.carekey.local/log";

    fn start(dir: &std::path::Path) -> Result<Self> {
        let bin = std::env::current_exe()?.with_file_name("carekey-node");
        if !bin.exists() {
            bail!(
                "{} is missing: build it with `cargo build -p carekey-node` (scripts/run does)",
                bin.display()
            );
        }
        let keygen = |name: &str, out: &std::path::Path| -> Result<String> {
            let o = Command::new(&bin)
                .args(["keygen", "--name", name, "--out"])
                .arg(out)
                .output()?;
            if !o.status.success() {
                bail!(
                    "carekey-node keygen failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
            }
            Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let wdir = dir.join("witness");
        let ndir = dir.join("node");
        std::fs::create_dir_all(&wdir)?;
        std::fs::create_dir_all(&ndir)?;
        let node_key = keygen(Self::ORIGIN, &ndir.join("node.key"))?;
        let witness_key = keygen("demo.carekey.local/witness", &wdir.join("witness.key"))?;
        std::fs::write(
            wdir.join("witness.toml"),
            format!("listen = \"127.0.0.1:0\"\nkey_file = \"witness.key\"\ndata_dir = \"data\"\nlogs = [{node_key:?}]\n"),
        )?;
        let witness =
            NodeProcess::start(&bin, &["witness", "--config"], &wdir.join("witness.toml"))?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        std::fs::write(
            ndir.join("node.toml"),
            format!(
                "listen = \"127.0.0.1:{port}\"\npublic_url = \"http://127.0.0.1:{port}\"\ndata_dir = \"data\"\nkey_file = \"node.key\"\n\n[[witnesses]]\nurl = {:?}\nvkey = {witness_key:?}\n",
                witness.url
            ),
        )?;
        let node = NodeProcess::start(&bin, &["serve", "--config"], &ndir.join("node.toml"))?;
        Ok(LocalLedger {
            node,
            witness,
            node_key,
            witness_key,
        })
    }
}

/// A child `carekey-node` process, stopped when dropped.
struct NodeProcess {
    child: std::process::Child,
    url: String,
}

impl NodeProcess {
    fn start(bin: &std::path::Path, args: &[&str], config: &std::path::Path) -> Result<Self> {
        use std::io::BufRead as _;
        let mut child = Command::new(bin)
            .args(args)
            .arg(config)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = std::io::BufReader::new(stdout).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("listening on ") {
                        break url.trim().to_owned();
                    }
                }
                _ => bail!("carekey-node {} stopped before listening", args.join(" ")),
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Ok(NodeProcess { child, url })
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn first_id(json: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(v.get(0)?.get("id")?.as_str()?.to_owned())
}

fn id_of_type(json: &str, resource_type: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    v.as_array()?
        .iter()
        .find(|r| r.get("resource_type").and_then(|t| t.as_str()) == Some(resource_type))
        .and_then(|r| r.get("id")?.as_str().map(str::to_owned))
}
