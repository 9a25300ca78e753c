//! The `carekey` command: every patient and provider action from the terminal.
//!
//! Scripts and tests run it non-interactively: the passphrase comes from `--passphrase-file`
//! or `CAREKEY_PASSPHRASE`, the vault from `--vault` or `CAREKEY_HOME`, the clock from
//! `CAREKEY_NOW` (unix seconds) when set.
#![forbid(unsafe_code)]

mod demo;
mod patient;
mod provider;
mod session;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use carekey_wallet::WalletError;

/// Carekey: a patient-held health wallet.
#[derive(Debug, Parser)]
#[command(name = "carekey", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command understands.
#[derive(Debug, Clone, Args)]
struct Global {
    /// Vault directory (default: the platform data directory, per role).
    #[arg(long, global = true, env = "CAREKEY_HOME", value_name = "DIR")]
    vault: Option<PathBuf>,
    /// Read the passphrase from this file (first line).
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
    /// KDF profile for new vaults and passphrase changes: `default` (Argon2id 64 MiB, t=3, p=4)
    /// or `test` (fast; for tests only — recorded in the vault header).
    #[arg(long, global = true, env = "CAREKEY_KDF", default_value = "default")]
    kdf: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a patient wallet and show the recovery kit once.
    Init(patient::InitArgs),
    /// Show the wallet's keys, where its device secret lives and what it holds.
    Status,
    /// Encrypt files into the wallet (FHIR R4 JSON resources and Bundles are split by resource).
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// List records by category.
    Records {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one record (FHIR resources pretty-printed).
    Show {
        /// Record id or unique prefix.
        id: String,
    },
    /// Decrypt one record to a file.
    Export {
        /// Record id or unique prefix.
        id: String,
        /// Output file (`-` for standard output).
        out: PathBuf,
    },
    /// The patient summary (International Patient Summary): export, print, save as a record.
    #[command(subcommand)]
    Summary(patient::SummaryCommand),
    /// Key material export.
    #[command(subcommand)]
    Keys(patient::KeysCommand),
    /// Show the patient's own public code (QR).
    MyQr(patient::MyQrArgs),
    /// Change the passphrase (re-wraps the master key only).
    Passphrase {
        /// File holding the new passphrase (else CAREKEY_NEW_PASSPHRASE, else a prompt).
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Unlock without a passphrase on this device (OS keyring).
    #[command(subcommand)]
    Keyring(patient::KeyringCommand),
    /// Answer a provider's access request (a carekey: link, a QR image or a file).
    Share(patient::ShareArgs),
    /// List grants.
    Grants {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One grant.
    #[command(subcommand)]
    Grant(patient::GrantCommand),
    /// Revoke a grant: sign a revocation and re-key the records it covered.
    Revoke(patient::RevokeArgs),
    /// End a grant on an earlier date than it was given for: its nodes refuse it from then.
    Shorten(patient::ShortenArgs),
    /// Crypto-erase a record, a grant's share or the whole wallet.
    Erase(patient::EraseArgs),
    /// Erasure receipts.
    #[command(subcommand)]
    Receipt(patient::ReceiptCommand),
    /// Write an encrypted backup (sealed to the recovery kit); erasures re-write it.
    Backup {
        /// Backup file.
        out: PathBuf,
    },
    /// Restore a wallet from the recovery words and a backup.
    Recover(patient::RecoverArgs),
    /// Provider directories (for the body that runs one, and for patients who pin one).
    #[command(subcommand)]
    Directory(patient::DirectoryCommand),
    /// Ledger nodes.
    #[command(subcommand)]
    Node(patient::NodeCommand),
    /// SMART Health Links: share records or your patient summary with any clinic as a link or
    /// QR code; see who opened it; end it.
    #[command(subcommand)]
    Link(patient::LinkCommand),
    /// SMART Health Cards: import one, list them.
    #[command(subcommand)]
    Card(patient::CardCommand),
    /// The SMART Health Card issuers whose cards the wallet verifies.
    #[command(subcommand)]
    Issuers(patient::IssuersCommand),
    /// Publish what waits in the outbox and verify every pinned ledger node (never trusting one).
    Sync,
    /// The verified access history: who read which records, when, under which grant.
    Audit {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// The provider's side: identity, access requests, opening grant bundles.
    #[command(subcommand)]
    Provider(provider::ProviderCommand),
    /// Walk a patient and a provider through the whole story with real processes and files.
    Demo(demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("carekey: error: {err:#}");
            ExitCode::from(exit_code(&err))
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        Command::Init(args) => patient::init(g, args),
        Command::Status => patient::status(g),
        Command::Import { files } => patient::import(g, &files),
        Command::Records { json } => patient::records(g, json),
        Command::Show { id } => patient::show(g, &id),
        Command::Export { id, out } => patient::export(g, &id, &out),
        Command::Summary(cmd) => patient::summary(g, cmd),
        Command::Keys(cmd) => patient::keys(g, cmd),
        Command::MyQr(args) => patient::my_qr(g, args),
        Command::Passphrase {
            new_passphrase_file,
        } => patient::change_passphrase(g, new_passphrase_file),
        Command::Keyring(cmd) => patient::keyring(g, cmd),
        Command::Share(args) => patient::share(g, args),
        Command::Grants { json } => patient::grants(g, json),
        Command::Grant(cmd) => patient::grant(g, cmd),
        Command::Revoke(args) => patient::revoke(g, args),
        Command::Shorten(args) => patient::shorten(g, args),
        Command::Erase(args) => patient::erase(g, args),
        Command::Receipt(cmd) => patient::receipt(cmd),
        Command::Backup { out } => patient::backup(g, &out),
        Command::Recover(args) => patient::recover(g, args),
        Command::Directory(cmd) => patient::directory(g, cmd),
        Command::Node(cmd) => patient::node(g, cmd),
        Command::Link(cmd) => patient::link(g, cmd),
        Command::Card(cmd) => patient::card(g, cmd),
        Command::Issuers(cmd) => patient::issuers(g, cmd),
        Command::Sync => patient::flush_journal(g).and_then(|wallet_left| {
            if wallet_left {
                patient::sync(g)
            } else {
                Ok(())
            }
        }),
        Command::Audit { json } => patient::audit(g, json),
        Command::Provider(cmd) => provider::run(g, cmd),
        Command::Demo(args) => demo::run(args),
    }
}

/// Exit codes scripts can rely on: 3 wrong passphrase, 4 refused (a bundle, a request, a grant
/// not active, a health card), 5 not found, 1 anything else. Clap uses 2 for usage errors.
fn exit_code(err: &anyhow::Error) -> u8 {
    match err.downcast_ref::<WalletError>().map(WalletError::code) {
        Some("wrong_passphrase") => 3,
        Some(
            "refused" | "bad_document" | "grant_not_active" | "unconfirmed_nodes" | "node_in_use"
            | "card_refused",
        ) => 4,
        Some("not_found" | "no_wallet") => 5,
        _ => 1,
    }
}
