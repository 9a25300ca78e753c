//! What every command needs before it can act: the vault directory, the passphrase, the
//! secret store, the clock.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};

use carekey_wallet::{
    default_dir, default_store, FileStore, KdfParams, OsKeyring, Passphrase, PatientWallet,
    SecretStore, WalletError,
};

use crate::Global;

/// The clock: `CAREKEY_NOW` (unix seconds) when set, so tests can move time without sleeping.
pub(crate) fn now() -> Result<u64> {
    if let Ok(v) = std::env::var("CAREKEY_NOW") {
        return v
            .trim()
            .parse()
            .with_context(|| format!("CAREKEY_NOW={v:?} is not unix seconds"));
    }
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .context("the system clock is before 1970")?
        .as_secs())
}

/// The vault directory for a role.
pub(crate) fn vault_dir(g: &Global, role: &str) -> Result<PathBuf> {
    match &g.vault {
        Some(dir) => Ok(dir.clone()),
        None => Ok(default_dir(role)?),
    }
}

pub(crate) fn kdf(g: &Global) -> Result<KdfParams> {
    match g.kdf.as_str() {
        "default" => Ok(KdfParams::DEFAULT),
        "test" => Ok(KdfParams::TEST),
        other => bail!("unknown KDF profile {other:?} (use `default` or `test`)"),
    }
}

/// Where device secrets live: `CAREKEY_SECRET_STORE=keyring` (the OS keyring, or fail),
/// `=file` (a file store beside the vault), or by default the OS keyring when one answers.
pub(crate) fn store(dir: &Path) -> Result<Box<dyn SecretStore>> {
    match std::env::var("CAREKEY_SECRET_STORE").as_deref() {
        Ok("keyring") => {
            let k = OsKeyring::new();
            k.probe()
                .context("CAREKEY_SECRET_STORE=keyring but the OS keyring does not answer")?;
            Ok(Box::new(k))
        }
        Ok("file") => Ok(Box::new(FileStore::new(sibling(dir, ".device")))),
        Ok(other) if !other.is_empty() => {
            bail!("CAREKEY_SECRET_STORE={other:?}: use `keyring` or `file`")
        }
        _ => Ok(default_store(dir)),
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// The passphrase from `--passphrase-file`, `CAREKEY_PASSPHRASE`, or a prompt on a terminal.
pub(crate) fn passphrase(g: &Global, prompt: &str) -> Result<Passphrase> {
    if let Some(p) = given_passphrase(g)? {
        return Ok(p);
    }
    ask_secret(prompt)
}

/// The passphrase if one was given non-interactively.
pub(crate) fn given_passphrase(g: &Global) -> Result<Option<Passphrase>> {
    if let Some(file) = &g.passphrase_file {
        return Ok(Some(read_secret_file(file)?));
    }
    if let Ok(p) = std::env::var("CAREKEY_PASSPHRASE") {
        return Ok(Some(Passphrase::new(p)));
    }
    Ok(None)
}

pub(crate) fn read_secret_file(file: &Path) -> Result<Passphrase> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the passphrase file {}", file.display()))?;
    let line = text.lines().next().unwrap_or("").to_owned();
    Ok(Passphrase::new(line))
}

pub(crate) fn ask_secret(prompt: &str) -> Result<Passphrase> {
    if !std::io::stdin().is_terminal() {
        bail!("no passphrase: use --passphrase-file FILE or set CAREKEY_PASSPHRASE");
    }
    let p = rpassword::prompt_password(prompt).context("reading the passphrase")?;
    Ok(Passphrase::new(p))
}

/// A new passphrase: from the given source, or typed twice.
pub(crate) fn new_passphrase(g: &Global) -> Result<Passphrase> {
    let p = match given_passphrase(g)? {
        Some(p) => p,
        None => {
            let a = ask_secret("New passphrase: ")?;
            let b = ask_secret("Repeat it: ")?;
            if a.expose() != b.expose() {
                bail!("the passphrases differ");
            }
            a
        }
    };
    // The wallet's rule, checked before the KDF runs (it checks again when it sets it).
    carekey_wallet::check_passphrase(&p)?;
    Ok(p)
}

/// Opens the patient wallet: with the passphrase when one was given, else with this device's
/// keyring secret when enabled, else by asking for the passphrase.
pub(crate) fn open_patient(g: &Global) -> Result<PatientWallet> {
    let wallet = unlock_patient(g)?;
    // The test profile opens (tests need it) but never quietly.
    if wallet.kdf().is_test() && g.kdf != "test" {
        eprintln!(
            "warning: this wallet's passphrase protection uses the test key derivation (not safe for real records): change the passphrase with `carekey passphrase` to strengthen it"
        );
    }
    Ok(wallet)
}

fn unlock_patient(g: &Global) -> Result<PatientWallet> {
    let dir = vault_dir(g, "patient")?;
    if !carekey_wallet::wallet_exists(&dir) {
        return Err(anyhow::Error::new(WalletError::Vault(
            carekey_vault_not_found(&dir),
        )))
        .context("run `carekey init` first");
    }
    if let Some(p) = given_passphrase(g)? {
        return Ok(PatientWallet::unlock(&dir, &p, store(&dir)?)?);
    }
    match PatientWallet::unlock_with_device(&dir, store(&dir)?) {
        Ok(w) => Ok(w),
        Err(_) => {
            let p = ask_secret("Passphrase: ")?;
            Ok(PatientWallet::unlock(&dir, &p, store(&dir)?)?)
        }
    }
}

fn carekey_vault_not_found(dir: &Path) -> carekey_wallet::VaultError {
    carekey_wallet::VaultError::NotFound {
        dir: dir.to_path_buf(),
    }
}

/// Asks a yes/no question on the terminal; without a terminal the answer must be given by flag.
pub(crate) fn confirm(question: &str, assume_yes: bool) -> Result<bool> {
    if assume_yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("{question} — not a terminal: pass --yes to confirm");
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

/// Parses "30d", "12h", "15m", "90s" or plain seconds.
pub(crate) fn duration(text: &str) -> Result<u64> {
    let t = text.trim();
    let (num, unit) = t.split_at(t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len()));
    let n: u64 = num
        .parse()
        .with_context(|| format!("{text:?} is not a duration like 30d, 12h, 15m or 90s"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        "w" => 7 * 86400,
        _ => bail!("{text:?}: unknown unit {unit:?} (use s, m, h, d or w)"),
    };
    n.checked_mul(mult).context("duration too large")
}

/// Formats unix seconds for people: RFC 3339 in UTC, the form FHIR uses too.
pub(crate) fn when(secs: u64) -> String {
    carekey_wallet::format_utc(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(duration("90").unwrap(), 90);
        assert_eq!(duration("15m").unwrap(), 900);
        assert_eq!(duration("30d").unwrap(), 30 * 86400);
        assert!(duration("3 parsecs").is_err());
        assert!(duration("").is_err());
    }

    #[test]
    fn dates_format_in_utc() {
        assert_eq!(when(0), "1970-01-01T00:00:00Z");
        assert_eq!(when(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
