//! The patient's commands: the wallet itself (init, status, passphrase, keyring, backup,
//! recover) here, the rest by service in the modules below.

mod cards;
mod erasure;
mod ledger;
mod links;
mod records;
mod sharing;
mod summary;

pub(crate) use cards::*;
pub(crate) use erasure::*;
pub(crate) use ledger::*;
pub(crate) use links::*;
pub(crate) use records::*;
pub(crate) use sharing::*;
pub(crate) use summary::*;

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::{agent, qr, PatientWallet};

use crate::session::{self, now, open_patient, vault_dir};
use crate::Global;

#[derive(Debug, Args)]
pub(crate) struct InitArgs {
    /// Also write the recovery kit as recovery-kit.txt/.svg/.png into this directory.
    #[arg(long, value_name = "DIR")]
    kit_out: Option<PathBuf>,
    /// Let this device unlock the wallet without the passphrase (OS keyring).
    #[arg(long)]
    keyring: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyringCommand {
    /// Store an unlock secret in the OS keyring.
    Enable,
    /// Remove it.
    Disable,
}

#[derive(Debug, Args)]
pub(crate) struct RecoverArgs {
    /// The backup file.
    #[arg(long, value_name = "FILE")]
    backup: PathBuf,
    /// File holding the 24 recovery words (else CAREKEY_RECOVERY_WORDS, else a prompt).
    #[arg(long, value_name = "FILE")]
    words_file: Option<PathBuf>,
}

pub(crate) fn init(g: &Global, args: InitArgs) -> Result<()> {
    let dir = vault_dir(g, "patient")?;
    let passphrase = session::new_passphrase(g)?;
    let kdf = session::kdf(g)?;
    let store = session::store(&dir)?;
    let (mut wallet, kit) = PatientWallet::create(&dir, &passphrase, kdf, store, now()?)
        .with_context(|| format!("creating a wallet in {}", dir.display()))?;
    if args.keyring {
        wallet.enable_device_unlock()?;
    }
    let words = kit.words();
    println!("Created a patient wallet in {}", dir.display());
    println!("  identity key: {}", wallet.public_key());
    println!("  device secret: {}", wallet.secret_store());
    println!();
    println!("RECOVERY KIT — shown once. Write these 24 words down and keep them offline:");
    println!();
    for (i, chunk) in words
        .split_whitespace()
        .collect::<Vec<_>>()
        .chunks(6)
        .enumerate()
    {
        let line: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(j, w)| format!("{:>2}. {w:<9}", i * 6 + j + 1))
            .collect();
        println!("  {}", line.join(" "));
    }
    println!();
    println!("{}", qr::terminal(&words)?);
    if let Some(out) = args.kit_out {
        std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
        write_private(
            &out.join("recovery-kit.txt"),
            format!("{}\n", words.as_str()).as_bytes(),
        )?;
        write_private(&out.join("recovery-kit.svg"), qr::svg(&words)?.as_bytes())?;
        write_private(&out.join("recovery-kit.png"), &qr::png(&words)?)?;
        println!("Recovery kit written to {}/recovery-kit.{{txt,svg,png}} — print it, then delete the files.", out.display());
    }
    println!("With these words and a backup (`carekey backup FILE`) you can restore the wallet on a new device.");
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(())
}

pub(crate) fn status(g: &Global) -> Result<()> {
    let mut w = open_patient(g)?;
    println!("wallet:        {}", w.dir().display());
    println!("identity key:  {}", w.public_key());
    println!("device secret: {}", w.secret_store());
    println!(
        "keyring unlock: {}",
        if w.device_unlock_enabled() {
            "on"
        } else {
            "off"
        }
    );
    let k = w.kdf();
    println!(
        "KDF:           Argon2id {} KiB, t={}, p={}",
        k.memory_kib, k.iterations, k.parallelism
    );
    println!("erasure epoch: {}", w.epoch());
    println!("records:       {}", w.records().list().len());
    println!("grants:        {}", w.sharing().list(now()?).len());
    println!("backups:       {}", w.backups().list().len());
    println!("nodes:         {}", w.ledger().pinned_nodes().join(", "));
    Ok(())
}

pub(crate) fn change_passphrase(g: &Global, new_file: Option<PathBuf>) -> Result<()> {
    let mut w = open_patient(g)?;
    let new = match new_file {
        Some(f) => session::read_secret_file(&f)?,
        None => match std::env::var("CAREKEY_NEW_PASSPHRASE") {
            Ok(p) => carekey_wallet::Passphrase::new(p),
            Err(_) => {
                let a = session::ask_secret("New passphrase: ")?;
                let b = session::ask_secret("Repeat it: ")?;
                if a.expose() != b.expose() {
                    bail!("the passphrases differ");
                }
                a
            }
        },
    };
    if new.expose().chars().count() < 8 {
        bail!("the passphrase is too short: use at least 8 characters");
    }
    let requested = session::kdf(g)?;
    let used = w.change_passphrase(&new, requested)?;
    println!("passphrase changed");
    if used != requested {
        println!(
            "kept the vault's key derivation ({} KiB, {} passes): the one asked for is weaker",
            used.memory_kib, used.iterations
        );
    }
    Ok(())
}

pub(crate) fn keyring(g: &Global, cmd: KeyringCommand) -> Result<()> {
    let mut w = open_patient(g)?;
    match cmd {
        KeyringCommand::Enable => {
            w.enable_device_unlock()?;
            println!(
                "this device now unlocks the wallet without the passphrase ({})",
                w.secret_store()
            );
        }
        KeyringCommand::Disable => {
            w.disable_device_unlock()?;
            println!("keyring unlock removed");
        }
    }
    Ok(())
}

pub(crate) fn backup(g: &Global, out: &Path) -> Result<()> {
    let mut w = open_patient(g)?;
    let t = now()?;
    let path = w.backups().write(out, t)?;
    // A new key share goes to the nodes now (or on the next sync).
    agent::publish(&mut w, t);
    println!(
        "backup written to {} (sealed to your recovery kit; re-written on every erasure)",
        path.display()
    );
    if w.backups().need_share() {
        println!("  sealed with a key share held by your ledger nodes: erasing deletes it there, so older copies of this backup stop opening; restoring needs one of those nodes");
        let pending = w.backups().share_pending();
        if !pending.is_empty() {
            println!(
                "  warning: {} has not stored the key share yet (offline); it is retried on the next sync — until then this backup cannot be restored",
                pending.join(", ")
            );
        }
    } else {
        println!("  no remote ledger node is pinned: a copy of this backup keeps today's keys even after an erasure");
    }
    Ok(())
}

pub(crate) fn recover(g: &Global, args: RecoverArgs) -> Result<()> {
    let dir = vault_dir(g, "patient")?;
    let words = match args.words_file {
        Some(f) => {
            std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?
        }
        None => match std::env::var("CAREKEY_RECOVERY_WORDS") {
            Ok(w) => w,
            Err(_) => session::ask_secret("Recovery words: ")?.expose().to_owned(),
        },
    };
    let passphrase = session::new_passphrase(g)?;
    let mut w = PatientWallet::recover(
        &args.backup,
        &words,
        &dir,
        &passphrase,
        session::kdf(g)?,
        session::store(&dir)?,
    )?;
    println!(
        "restored the wallet {} into {}: {} record(s), {} grant(s)",
        w.public_key(),
        dir.display(),
        w.records().list().len(),
        w.sharing().list(now()?).len()
    );
    Ok(())
}
