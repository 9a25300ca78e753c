//! The provider: the real `carekey` CLI with a vault of its own, as the CLI end-to-end tests
//! run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) const NAME: &str = "Dr. Ada Lovelace, St. Mary's";

#[derive(Debug)]
pub(crate) struct Provider {
    bin: PathBuf,
    vault: PathBuf,
    pub(crate) cwd: PathBuf,
}

impl Provider {
    /// `carekey provider init` in `root/provider`.
    pub(crate) fn init(bin: &Path, root: &Path) -> Provider {
        let p = Provider {
            bin: bin.to_owned(),
            vault: root.join("provider"),
            cwd: root.to_owned(),
        };
        p.run(&["provider", "init", "--name", NAME]);
        p
    }

    fn try_run(&self, args: &[&str]) -> Output {
        Command::new(&self.bin)
            .current_dir(&self.cwd)
            .arg("--vault")
            .arg(&self.vault)
            .args(args)
            .env(
                "CAREKEY_PASSPHRASE",
                "provider passphrase for the window test",
            )
            .env("CAREKEY_KDF", "test")
            .env("CAREKEY_SECRET_STORE", "file")
            .env_remove("CAREKEY_HOME")
            .env_remove("CAREKEY_NOW")
            .output()
            .unwrap()
    }

    /// Runs and returns stdout; panics with the whole output on failure.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let out = self.try_run(args);
        assert!(
            out.status.success(),
            "carekey {args:?} failed ({}):\nstdout:\n{}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must fail: (exit code, stderr).
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
}
