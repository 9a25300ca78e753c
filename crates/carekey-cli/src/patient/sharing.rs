//! Sharing: answering a provider's request, grants, revocation, provider directories.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::{agent, DirectoryDesk, ProviderVerification, RequestInput, ShareChoice};

use crate::session::{self, confirm, duration, now, open_patient, vault_dir, when};
use crate::Global;

use super::*;

#[derive(Debug, Args)]
pub(crate) struct ShareArgs {
    /// The request: a `carekey:` link, or a file (QR image PNG/JPEG, or text with the link).
    request: String,
    /// Share this record (id or prefix); repeatable.
    #[arg(long = "record", value_name = "ID")]
    records: Vec<String>,
    /// Share every record of this FHIR resource type; repeatable.
    #[arg(long = "type", value_name = "TYPE")]
    types: Vec<String>,
    /// Shorter duration than requested (e.g. 7d).
    #[arg(long)]
    duration: Option<String>,
    /// Confirm the nodes the request names that you have not pinned.
    #[arg(long)]
    confirm_nodes: bool,
    /// Approve without asking.
    #[arg(long)]
    yes: bool,
    /// Where to write the grant bundle for the provider.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) fn share(g: &Global, args: ShareArgs) -> Result<()> {
    let mut w = open_patient(g)?;
    let t = now()?;
    let file_bytes;
    let input = if args.request.trim_start().starts_with("carekey:") {
        RequestInput::Uri(&args.request)
    } else {
        file_bytes = std::fs::read(&args.request)
            .with_context(|| format!("reading the request {}", args.request))?;
        RequestInput::Bytes(&file_bytes)
    };
    let review = w.sharing().review_request(input, t)?;
    let r = review.request.document();
    println!("ACCESS REQUEST");
    println!("  from      {}", r.provider_name);
    println!("  key       {}", r.provider_signing);
    match &review.provider {
        ProviderVerification::Verified { directory } => println!("  identity  VERIFIED by {directory}"),
        ProviderVerification::NameMismatch { listed_name, directory } => println!(
            "  identity  !!! UNVERIFIED: {directory} lists this key as {listed_name:?}, not {:?} !!!",
            r.provider_name
        ),
        ProviderVerification::Unlisted => println!("  identity  !!! UNVERIFIED: no pinned directory lists this provider !!!"),
        _ => println!("  identity  !!! UNVERIFIED: you have not pinned any provider directory !!!"),
    }
    println!(
        "  code      {} (check that the provider's desk shows the same)",
        carekey_wallet::provider_code(&r.provider_signing)
    );
    println!("  purpose   {}", r.purpose);
    println!(
        "  asks for  {}",
        describe_scope(&r.scope.resource_types, r.scope.record_ids.len())
    );
    println!("  duration  {}", human_duration(r.duration_secs));
    println!("  expires   {}", session::when(r.expires_at));
    let mut keyed_nodes = false;
    for n in &review.unpinned_nodes {
        let node = carekey_wallet::NodeRef::parse(n)?;
        keyed_nodes |= node.log_key.is_some();
        match &node.log_key {
            Some(key) => println!(
                "  node      {}  log key {key}  (NOT PINNED — you must confirm it)",
                node.url
            ),
            None => println!(
                "  node      {}  (NOT PINNED, no log key: nothing is published there until you `carekey node add` its key)",
                node.url
            ),
        }
    }
    if keyed_nodes {
        let policy = w.ledger().witness_policy();
        if policy.witness_keys.is_empty() {
            println!("            confirmed nodes are pinned with NO witnesses (set them with `carekey node witnesses`)");
        } else {
            println!(
                "            confirmed nodes are pinned with your witness policy: {} of {} must cosign",
                policy.quorum,
                policy.witness_keys.len()
            );
        }
    }
    let mut choice = ShareChoice {
        record_ids: args
            .records
            .iter()
            .map(|q| w.records().find(q))
            .collect::<Result<_, _>>()?,
        resource_types: args.types.clone(),
        ..ShareChoice::default()
    };
    if choice.is_empty() {
        choice = ShareChoice::everything_asked(&review);
    }
    choice.duration_secs = args
        .duration
        .as_deref()
        .map(session::duration)
        .transpose()?;
    choice.confirm_nodes = args.confirm_nodes;
    println!("  you share:");
    for m in review.matching_records.iter().filter(|m| choice.covers(m)) {
        println!(
            "    {}  {} {}",
            &m.id.to_string()[..12],
            m.title,
            detail(&m.detail)
        );
    }
    if !review.unpinned_nodes.is_empty() && !args.confirm_nodes {
        if !confirm("Trust the nodes above for this grant?", false).unwrap_or(false) {
            bail!(carekey_wallet::WalletError::from(
                carekey_wallet::ShareError::UnconfirmedNodes(review.unpinned_nodes.clone())
            ));
        }
        choice.confirm_nodes = true;
    }
    if !confirm("Approve and sign this grant?", args.yes)? {
        bail!("not approved; nothing was shared");
    }
    let outcome = w.sharing().share(&review, &choice, t)?;
    // The grant is committed; its publication goes to the nodes now (or on the next sync).
    agent::publish(&mut w, t);
    let bundle = w
        .sharing()
        .grant_bundle(&outcome.grant.document().grant_id)?;
    std::fs::write(&args.out, &bundle)
        .with_context(|| format!("writing {}", args.out.display()))?;
    let grant = outcome.grant.document();
    println!(
        "granted {} to {} until {} — {} record(s); bundle written to {}",
        grant.grant_id,
        grant.provider_name,
        session::when(grant.not_after),
        outcome.records.len(),
        args.out.display()
    );
    Ok(())
}

fn describe_scope(types: &[String], ids: usize) -> String {
    let mut parts: Vec<String> = types.iter().map(|t| format!("all {t}")).collect();
    if ids > 0 {
        parts.push(format!("{ids} specific record(s)"));
    }
    parts.join(", ")
}

fn human_duration(secs: u64) -> String {
    match secs {
        s if s % 86400 == 0 => format!("{} day(s)", s / 86400),
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} s"),
    }
}

pub(crate) fn grants(g: &Global, json: bool) -> Result<()> {
    let mut w = open_patient(g)?;
    let all = w.sharing().list(now()?);
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("No grants yet.");
    }
    for gr in all {
        let status = match &gr.ends_as {
            Some(_) => format!("ending (waiting for {} node(s))", gr.waiting_for.len()),
            None => gr.status.to_string(),
        };
        println!(
            "{}  {:<8} {}  until {}  {} record(s)  {}",
            &gr.id.to_string()[..12],
            status,
            gr.provider_name,
            match gr.ends_early {
                Some(_) => format!("{} (shortened)", session::when(gr.ends_at())),
                None => session::when(gr.not_after),
            },
            gr.records.len(),
            gr.purpose
        );
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub(crate) enum GrantCommand {
    /// Show a grant (as a FHIR R4 Consent with --fhir).
    Show {
        /// Grant id or prefix.
        id: String,
        /// Print the FHIR R4 Consent resource.
        #[arg(long)]
        fhir: bool,
    },
    /// Write a fresh bundle for an active grant.
    Bundle {
        /// Grant id or prefix.
        id: String,
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub(crate) fn grant(g: &Global, cmd: GrantCommand) -> Result<()> {
    let mut w = open_patient(g)?;
    match cmd {
        GrantCommand::Show { id, fhir } => {
            let id = w.sharing().find(&id)?;
            if fhir {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&w.sharing().consent(&id)?)?
                );
            } else {
                let summary = w
                    .sharing()
                    .list(now()?)
                    .into_iter()
                    .find(|s| s.id == id)
                    .context("grant listed but not found")?;
                println!("{}", serde_json::to_string_pretty(&summary)?);
            }
        }
        GrantCommand::Bundle { id, out } => {
            let id = w.sharing().find(&id)?;
            std::fs::write(&out, w.sharing().grant_bundle(&id)?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("bundle for grant {id} written to {}", out.display());
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct RevokeArgs {
    /// Grant id or prefix.
    grant: String,
    /// Directory for the signed revocation and the re-issued bundles of other grants.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// Revoke without asking.
    #[arg(long)]
    yes: bool,
}

pub(crate) fn revoke(g: &Global, args: RevokeArgs) -> Result<()> {
    let mut w = open_patient(g)?;
    let id = w.sharing().find(&args.grant)?;
    if !confirm(&format!("Revoke grant {id}?"), args.yes)? {
        bail!("not revoked");
    }
    let t = now()?;
    let mut outcome = w.sharing().revoke(&id, t)?;
    agent::publish(&mut w, t);
    outcome.waiting_for = w.sharing().waiting_for(&id);
    if outcome.waiting_for.is_empty() {
        println!("revoked {id}: every ledger node it was published on has the revocation");
    } else {
        println!(
            "ending {id}: revoked here; waiting for {} node(s) to acknowledge ({}); kept queued and retried by every `carekey sync`",
            outcome.waiting_for.len(),
            outcome.waiting_for.join(", ")
        );
    }
    for problem in &outcome.backup_problems {
        println!("warning: {problem}");
    }
    std::fs::create_dir_all(&args.out)?;
    let rev = args.out.join(format!("revocation-{id}.cose"));
    std::fs::write(&rev, outcome.revocation.as_bytes())
        .with_context(|| format!("writing {}", rev.display()))?;
    println!("signed revocation written to {}", rev.display());
    println!(
        "re-keyed {} record(s): later versions are unreadable to that provider",
        outcome.rekeyed.len()
    );
    for (other, bundle) in outcome.updated_bundles {
        let p = args.out.join(format!("bundle-{other}.ckb"));
        std::fs::write(&p, bundle).with_context(|| format!("writing {}", p.display()))?;
        println!("re-issued bundle for grant {other}: {}", p.display());
    }
    Ok(())
}

#[derive(Debug, Args)]
pub(crate) struct ShortenArgs {
    /// Grant id or prefix.
    grant: String,
    /// How long from now the grant still runs, e.g. 3d or 12h (before its current end).
    #[arg(long = "in", value_name = "DURATION")]
    within: String,
}

pub(crate) fn shorten(g: &Global, args: ShortenArgs) -> Result<()> {
    let mut w = open_patient(g)?;
    let id = w.sharing().find(&args.grant)?;
    let t = now()?;
    let ends_at = t
        .checked_add(duration(&args.within)?)
        .context("end time too large")?;
    let mut outcome = w.sharing().shorten(&id, ends_at, t)?;
    agent::publish(&mut w, t);
    outcome.waiting_for = w.sharing().waiting_for(&id);
    println!("grant {id} now ends at {}", when(outcome.ends_at));
    if outcome.waiting_for.is_empty() {
        println!("every ledger node it was published on has the new end");
    } else {
        println!(
            "waiting for {} node(s) to acknowledge the new end ({}); until each does it may serve the grant to its old end; kept queued and retried by every `carekey sync`",
            outcome.waiting_for.len(),
            outcome.waiting_for.join(", ")
        );
    }
    for problem in &outcome.backup_problems {
        println!("warning: {problem}");
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub(crate) enum DirectoryCommand {
    /// Create a directory desk (signing key) — for the body that runs a directory.
    Create {
        /// The directory's name, e.g. "Medical Council".
        name: String,
    },
    /// List a provider in the directory.
    Add {
        /// The provider's name as licensed.
        name: String,
        /// The provider's key (`carekey provider key`).
        key: String,
    },
    /// Sign the directory and write it to a file.
    Sign {
        /// Output file.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the directory's public key (what patients pin).
    Key,
    /// Patient: pin a directory key.
    Trust {
        /// Directory key (64 hex characters).
        key: String,
    },
    /// Patient: import a signed directory file.
    Import {
        /// Signed directory file.
        file: PathBuf,
    },
}

pub(crate) fn directory(g: &Global, cmd: DirectoryCommand) -> Result<()> {
    match cmd {
        DirectoryCommand::Create { name } => {
            let dir = vault_dir(g, "directory")?;
            let p = session::new_passphrase(g)?;
            let desk =
                DirectoryDesk::create(&dir, &name, &p, session::kdf(g)?, session::store(&dir)?)?;
            println!("directory {name:?} created in {}", dir.display());
            println!("directory key (patients pin this): {}", desk.public_key());
        }
        DirectoryCommand::Add { name, key } => {
            let mut desk = open_desk(g)?;
            desk.add(&name, &key)?;
            println!("listed {name:?} ({key})");
        }
        DirectoryCommand::Sign { out } => {
            let desk = open_desk(g)?;
            let signed = desk.sign(now()?)?;
            std::fs::write(&out, signed.as_bytes())
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "signed directory with {} provider(s) written to {}",
                signed.document().providers.len(),
                out.display()
            );
        }
        DirectoryCommand::Key => println!("{}", open_desk(g)?.public_key()),
        DirectoryCommand::Trust { key } => {
            let mut w = open_patient(g)?;
            let key = w.sharing().trust_directory(&key)?;
            println!("pinned directory key {key}");
        }
        DirectoryCommand::Import { file } => {
            let mut w = open_patient(g)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let d = w.sharing().import_directory(&bytes)?;
            println!(
                "imported directory {:?} ({} providers, key {})",
                d.document().name,
                d.document().providers.len(),
                d.document().directory_key
            );
        }
    }
    Ok(())
}

fn open_desk(g: &Global) -> Result<DirectoryDesk> {
    let dir = vault_dir(g, "directory")?;
    let p = session::passphrase(g, "Directory passphrase: ")?;
    Ok(DirectoryDesk::unlock(&dir, &p, session::store(&dir)?)?)
}
