//! The provider's commands.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::{qr, ProviderWallet, RequestSpec};

use crate::session::{self, now, vault_dir};
use crate::Global;

#[derive(Debug, Subcommand)]
pub(crate) enum ProviderCommand {
    /// Create a provider identity (name, Ed25519 and X25519 keys).
    Init {
        /// The provider's name as licensed, e.g. "Dr. Ada Lovelace, St. Mary's".
        #[arg(long)]
        name: String,
    },
    /// Print the provider's identity key (what a directory lists).
    Key,
    /// Make a signed access request: a carekey: link and its QR code.
    Request(RequestArgs),
    /// Verify a grant bundle and decrypt exactly the granted records.
    Open {
        /// The bundle file from the patient.
        bundle: PathBuf,
        /// Write the records into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Also write the received record identities (for stock `age -d -i FILE`).
        #[arg(long, value_name = "FILE")]
        keys: Option<PathBuf>,
    },
    /// Fetch a grant's records through a ledger node (the node logs the access).
    Fetch {
        /// The grant id (the patient's share shows it).
        grant: String,
        /// The node URL (one the request named).
        #[arg(long)]
        node: String,
        /// Write the records into this directory.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Record a patient's signed revocation: its grant is refused from then on.
    Revocation {
        /// The revocation file.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct RequestArgs {
    /// Ask for every record of this FHIR resource type; repeatable.
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// Ask for this record id; repeatable.
    #[arg(long = "record", value_name = "ID")]
    records: Vec<String>,
    /// Purpose of use, shown to the patient.
    #[arg(long)]
    purpose: String,
    /// How long access should last (e.g. 30d).
    #[arg(long, default_value = "30d")]
    duration: String,
    /// Ledger node URL the provider uses; repeatable.
    #[arg(long = "node", value_name = "URL")]
    nodes: Vec<String>,
    /// How long the request can be answered (e.g. 15m).
    #[arg(long, default_value = "15m")]
    valid_for: String,
    /// Write request.uri, request.svg, request.png and request.code into this directory.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

pub(crate) fn run(g: &Global, cmd: ProviderCommand) -> Result<()> {
    let dir = vault_dir(g, "provider")?;
    match cmd {
        ProviderCommand::Init { name } => {
            let p = session::new_passphrase(g)?;
            let w =
                ProviderWallet::create(&dir, &name, &p, session::kdf(g)?, session::store(&dir)?)?;
            println!("provider {:?} created in {}", w.name(), dir.display());
            println!("provider key: {}", w.public_key());
        }
        ProviderCommand::Key => println!("{}", open(g)?.public_key()),
        ProviderCommand::Request(args) => {
            let mut w = open(g)?;
            let spec = RequestSpec {
                record_ids: args
                    .records
                    .iter()
                    .map(|r| {
                        r.parse()
                            .map_err(|_| anyhow::anyhow!("{r:?} is not a record id"))
                    })
                    .collect::<Result<_>>()?,
                resource_types: args.types,
                purpose: args.purpose,
                duration_secs: session::duration(&args.duration)?,
                nodes: args.nodes,
                valid_for_secs: session::duration(&args.valid_for)?,
            };
            let request = w.request(&spec, now()?)?;
            let uri = request.to_uri();
            std::fs::create_dir_all(&args.out)?;
            let write = |name: &str, bytes: &[u8]| -> Result<()> {
                let p = args.out.join(name);
                std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
            };
            write("request.uri", format!("{uri}\n").as_bytes())?;
            write("request.svg", qr::svg(&uri)?.as_bytes())?;
            write("request.png", &qr::png(&uri)?)?;
            println!("{}", qr::terminal(&uri)?);
            println!("{uri}");
            // The patient compares this with what their wallet shows when no directory they
            // trust lists this provider: show it beside the QR at the desk.
            let code = carekey_wallet::provider_code(&w.public_key());
            println!("provider code: {code} (the patient checks their wallet shows the same)");
            write("request.code", format!("{code}\n").as_bytes())?;
            println!(
                "request written to {}/request.{{uri,svg,png}}; valid until {}",
                args.out.display(),
                session::when(request.document().expires_at)
            );
        }
        ProviderCommand::Open { bundle, out, keys } => {
            let w = open(g)?;
            let bytes =
                std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
            let opened = w.open(&bytes, now()?)?;
            let grant = opened.grant.document();
            println!(
                "grant {} from patient {} verified: valid until {}, purpose {:?}",
                grant.grant_id,
                grant.patient_signing,
                session::when(grant.not_after),
                grant.purpose
            );
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir)?;
            }
            for r in &opened.records {
                println!(
                    "  record {} v{} {} ({} bytes)",
                    r.record_id,
                    r.version,
                    r.resource_type.as_deref().unwrap_or(&r.name),
                    r.plaintext.len()
                );
                if let Some(dir) = &out {
                    let ext = if r.resource_type.is_some() {
                        "json"
                    } else {
                        "bin"
                    };
                    let p = dir.join(format!("{}.v{}.{ext}", r.record_id, r.version));
                    std::fs::write(&p, &r.plaintext)
                        .with_context(|| format!("writing {}", p.display()))?;
                }
            }
            if let Some(path) = keys {
                let mut text = String::new();
                for r in &opened.records {
                    text.push_str(&format!(
                        "# record {} v{}\n{}\n",
                        r.record_id,
                        r.version,
                        r.identity.as_str()
                    ));
                }
                std::fs::write(&path, text)
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("record identities written to {}", path.display());
            }
        }
        ProviderCommand::Fetch { grant, node, out } => {
            let w = open(g)?;
            let grant_id = grant
                .trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("{grant:?} is not a grant id"))?;
            let opened = w.fetch(&grant_id, &node, now()?)?;
            println!(
                "fetched grant {grant_id} from {node}: {} record(s), verified",
                opened.records.len()
            );
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir)?;
            }
            for r in &opened.records {
                println!(
                    "  record {} v{} {} ({} bytes)",
                    r.record_id,
                    r.version,
                    r.resource_type.as_deref().unwrap_or(&r.name),
                    r.plaintext.len()
                );
                if let Some(dir) = &out {
                    let p = dir.join(format!("{}.v{}.json", r.record_id, r.version));
                    std::fs::write(&p, &r.plaintext)
                        .with_context(|| format!("writing {}", p.display()))?;
                }
            }
        }
        ProviderCommand::Revocation { file } => {
            let mut w = open(g)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let r = w.accept_revocation(&bytes)?;
            println!(
                "grant {} revoked at {}",
                r.document().grant_id,
                session::when(r.document().revoked_at)
            );
        }
    }
    Ok(())
}

fn open(g: &Global) -> Result<ProviderWallet> {
    let dir = vault_dir(g, "provider")?;
    let p = session::passphrase(g, "Provider passphrase: ")?;
    Ok(ProviderWallet::unlock(&dir, &p, session::store(&dir)?)?)
}
