//! Running the real `carekey` binary from tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `carekey` binary built alongside this test (same target directory and profile).
pub(crate) fn carekey_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("carekey");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace first (cargo nextest run --workspace builds it)",
        bin.display()
    );
    bin
}

/// One actor (patient, provider…) with its own vault, passphrase and file-based device store.
#[derive(Debug, Clone)]
pub(crate) struct Actor {
    pub(crate) vault: PathBuf,
    pub(crate) passphrase: String,
    pub(crate) cwd: PathBuf,
    pub(crate) now: Option<u64>,
    pub(crate) extra_env: Vec<(String, String)>,
}

impl Actor {
    pub(crate) fn new(root: &Path, name: &str) -> Actor {
        Actor {
            vault: root.join(name),
            passphrase: format!("correct horse battery {name}"),
            cwd: root.to_path_buf(),
            now: None,
            extra_env: Vec::new(),
        }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(carekey_bin());
        c.current_dir(&self.cwd)
            .arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env("CAREKEY_PASSPHRASE", &self.passphrase)
            .env("CAREKEY_KDF", "test")
            .env("CAREKEY_SECRET_STORE", "file")
            .env_remove("CAREKEY_HOME")
            .env_remove("CAREKEY_NOW");
        if let Some(now) = self.now {
            c.env("CAREKEY_NOW", now.to_string());
        }
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
        c
    }

    /// Runs and returns the output, whatever the exit status.
    pub(crate) fn try_run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs and returns stdout; panics with the full output on failure.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "carekey {args:?} failed ({:?}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail, and returns (exit code, stderr).
    pub(crate) fn fail(&self, args: &[&str]) -> (i32, String) {
        let out = self.try_run(args);
        assert!(
            !out.status.success(),
            "carekey {args:?} should have failed:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub(crate) fn json(&self, args: &[&str]) -> serde_json::Value {
        serde_json::from_str(&self.run(args)).unwrap()
    }
}

/// Records of a patient as JSON objects.
pub(crate) fn records(patient: &Actor) -> Vec<serde_json::Value> {
    patient
        .json(&["records", "--json"])
        .as_array()
        .unwrap()
        .clone()
}

pub(crate) fn record_id_named(patient: &Actor, name: &str) -> String {
    records(patient)
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no record named {name}"))["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Deterministic pseudo-random bytes (xorshift64*), so inputs are reproducible from a seed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}
