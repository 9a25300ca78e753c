//! The patient's commands.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::{
    qr, verify_receipt, DirectoryDesk, ErasureReceipt, NodeSyncStatus, PatientWallet,
    ProviderVerification, RequestInput, ShareChoice,
};

use crate::session::{self, confirm, now, open_patient, vault_dir};
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
pub(crate) enum KeysCommand {
    /// Write the age identities of every current record (for stock `age -d -i FILE`).
    Export {
        /// Output file.
        #[arg(long, value_name = "FILE")]
        age: PathBuf,
    },
}

#[derive(Debug, Args)]
pub(crate) struct MyQrArgs {
    /// Write the QR code as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Write the QR code as PNG.
    #[arg(long, value_name = "FILE")]
    png: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum KeyringCommand {
    /// Store an unlock secret in the OS keyring.
    Enable,
    /// Remove it.
    Disable,
}

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

#[derive(Debug, Args)]
pub(crate) struct EraseArgs {
    /// Record id or prefix.
    #[arg(conflicts_with_all = ["grant", "all"], required_unless_present_any = ["grant", "all"])]
    record: Option<String>,
    /// Erase what was shared under this grant.
    #[arg(long, value_name = "GRANT")]
    grant: Option<String>,
    /// Erase the whole wallet.
    #[arg(long)]
    all: bool,
    /// Where to write the erasure receipt.
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,
    /// Erase without asking.
    #[arg(long)]
    yes: bool,
    /// Directory for re-issued bundles of other grants (with --grant).
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReceiptCommand {
    /// Verify an erasure receipt offline.
    Verify {
        /// Receipt file.
        file: PathBuf,
    },
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

#[derive(Debug, Subcommand)]
pub(crate) enum NodeCommand {
    /// Pin a ledger node with its log key and the witnesses whose cosignatures you require.
    Add {
        /// Node URL.
        url: String,
        /// The node's log key (`carekey-node keygen` prints it: name+keyid+base64).
        key: String,
        /// A witness's cosignature key; repeatable.
        #[arg(long = "witness", value_name = "KEY")]
        witnesses: Vec<String>,
        /// How many of the witnesses must cosign (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
        /// Pin a remote node without any witness, knowingly: nothing but the node then vouches
        /// for its log (it could hide access events or hold you on an old view), and its
        /// results are shown as "not independently checked".
        #[arg(long, conflicts_with_all = ["witnesses", "quorum"])]
        no_witness: bool,
    },
    /// Pin a node URL only (confirmed from a request; no ledger publishing without its key).
    Pin {
        /// Node URL.
        url: String,
    },
    /// List pinned nodes, what the wallet last verified, and the writes waiting for each.
    List,
    /// Unpin a node: stop publishing to and verifying it. Refused while grants published there
    /// are live or ending work waits for it (revoke and sync first).
    Remove {
        /// Node URL.
        url: String,
        /// The node is gone for good: remove it anyway, drop its waiting writes and write a
        /// receipt listing the grants that could not be ended there.
        #[arg(long)]
        force: bool,
        /// Where to write that receipt (default: node-removal-<time>.json).
        #[arg(long, value_name = "FILE")]
        receipt: Option<PathBuf>,
    },
    /// The same log moved to a new URL (host or port changed): keep its key and history.
    Move {
        /// The URL pinned now.
        from: String,
        /// The new URL.
        to: String,
    },
    /// Show or set the witnesses required of nodes you confirm from a provider's request.
    Witnesses {
        /// A witness's cosignature key; repeatable. Without any, shows the current policy.
        #[arg(long = "witness", value_name = "KEY")]
        witnesses: Vec<String>,
        /// How many of the witnesses must cosign (default: all of them).
        #[arg(long)]
        quorum: Option<usize>,
    },
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
    let w = open_patient(g)?;
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
    println!("records:       {}", w.records().len());
    println!("grants:        {}", w.grants(now()?).len());
    println!("backups:       {}", w.backups().len());
    println!("nodes:         {}", w.pinned_nodes().join(", "));
    Ok(())
}

pub(crate) fn import(g: &Global, files: &[PathBuf]) -> Result<()> {
    let mut w = open_patient(g)?;
    let t = now()?;
    for file in files {
        let mut last_report = 0u64;
        let mut progress = |done: u64, total: u64| {
            if total >= 64 << 20 && done > last_report {
                last_report = done;
                eprintln!("  {}: {} / {} MiB", file.display(), done >> 20, total >> 20);
            }
        };
        let imported = w
            .import(file, t, &mut progress)
            .with_context(|| format!("importing {}", file.display()))?;
        for r in imported {
            println!(
                "imported {} {:<13} {}{}",
                r.id,
                r.category,
                r.title,
                detail(&r.detail)
            );
        }
    }
    Ok(())
}

fn detail(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(" — {d}")).unwrap_or_default()
}

pub(crate) fn records(g: &Global, json: bool) -> Result<()> {
    let w = open_patient(g)?;
    let all = w.records();
    if json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if all.is_empty() {
        println!("No records yet: `carekey import FILE`.");
    }
    let mut category = String::new();
    for r in all {
        if r.category != category {
            category = r.category.clone();
            println!("{}:", category);
        }
        println!(
            "  {}  {}{}{}",
            &r.id[..12],
            r.title,
            detail(&r.detail),
            r.date.map(|d| format!(" ({d})")).unwrap_or_default()
        );
    }
    Ok(())
}

pub(crate) fn show(g: &Global, query: &str) -> Result<()> {
    let w = open_patient(g)?;
    let id = w.find_record(query)?;
    let r = w.record(&id)?;
    println!("record   {}", r.id);
    println!("name     {}", r.name);
    println!("category {}", r.category);
    println!("title    {}{}", r.title, detail(&r.detail));
    if let Some(t) = &r.resource_type {
        println!("FHIR     {t}");
    }
    println!("size     {} bytes, key version {}", r.size, r.version);
    if r.resource_type.is_some() && r.size <= 1 << 20 {
        let mut bytes = Vec::new();
        w.export_record(&id, &mut bytes)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).context("the record is not JSON")?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

pub(crate) fn export(g: &Global, query: &str, out: &Path) -> Result<()> {
    let w = open_patient(g)?;
    let id = w.find_record(query)?;
    if out == Path::new("-") {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
        w.export_record(&id, &mut lock)?;
        std::io::Write::flush(&mut lock)?;
        return Ok(());
    }
    let n = w.export_record_to(&id, out)?;
    println!("exported {id} to {} ({n} bytes)", out.display());
    Ok(())
}

pub(crate) fn keys(g: &Global, cmd: KeysCommand) -> Result<()> {
    let KeysCommand::Export { age } = cmd;
    let w = open_patient(g)?;
    let identities = w.age_identities();
    write_private(&age, identities.as_bytes())?;
    println!(
        "wrote {} record identities to {} — anyone with this file can read those records; keep it safe and delete it after use",
        identities.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-")).count(),
        age.display()
    );
    Ok(())
}

pub(crate) fn my_qr(g: &Global, args: MyQrArgs) -> Result<()> {
    let w = open_patient(g)?;
    let uri = w.public_uri();
    println!("{}", qr::terminal(&uri)?);
    println!("{uri}");
    if let Some(p) = args.svg {
        std::fs::write(&p, qr::svg(&uri)?).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = args.png {
        std::fs::write(&p, qr::png(&uri)?).with_context(|| format!("writing {}", p.display()))?;
    }
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
    let review = w.review_request(input, t)?;
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
        let policy = w.witness_policy();
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
        duration_secs: args
            .duration
            .as_deref()
            .map(session::duration)
            .transpose()?,
        confirm_nodes: args.confirm_nodes,
        ..ShareChoice::default()
    };
    for q in &args.records {
        choice.record_ids.push(w.find_record(q)?);
    }
    choice.resource_types = args.types.clone();
    if choice.record_ids.is_empty() && choice.resource_types.is_empty() {
        // Default: what the request asks for, no more.
        choice.resource_types = r.scope.resource_types.clone();
        choice.record_ids = r
            .scope
            .record_ids
            .iter()
            .filter(|id| {
                review
                    .matching_records
                    .iter()
                    .any(|m| m.id == id.to_string())
            })
            .copied()
            .collect();
    }
    println!("  you share:");
    for m in &review.matching_records {
        let chosen = choice.record_ids.iter().any(|id| id.to_string() == m.id)
            || m.resource_type
                .as_ref()
                .is_some_and(|t| choice.resource_types.contains(t));
        if chosen {
            println!("    {}  {} {}", &m.id[..12], m.title, detail(&m.detail));
        }
    }
    if !review.unpinned_nodes.is_empty() && !args.confirm_nodes {
        if !confirm("Trust the nodes above for this grant?", false).unwrap_or(false) {
            bail!(carekey_wallet::WalletError::UnconfirmedNodes(
                review.unpinned_nodes.clone()
            ));
        }
        choice.confirm_nodes = true;
    }
    if !confirm("Approve and sign this grant?", args.yes)? {
        bail!("not approved; nothing was shared");
    }
    let outcome = w.share(&review, &choice, t)?;
    let bundle = w.grant_bundle(&outcome.grant.document().grant_id)?;
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
    let w = open_patient(g)?;
    let all = w.grants(now()?);
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
            None => gr.status.clone(),
        };
        println!(
            "{}  {:<8} {}  until {}  {} record(s)  {}",
            &gr.id[..12],
            status,
            gr.provider_name,
            session::when(gr.not_after),
            gr.records.len(),
            gr.purpose
        );
    }
    Ok(())
}

pub(crate) fn grant(g: &Global, cmd: GrantCommand) -> Result<()> {
    let w = open_patient(g)?;
    match cmd {
        GrantCommand::Show { id, fhir } => {
            let id = w.find_grant(&id)?;
            if fhir {
                println!("{}", serde_json::to_string_pretty(&w.grant_consent(&id)?)?);
            } else {
                let summary = w
                    .grants(now()?)
                    .into_iter()
                    .find(|s| s.id == id.to_string())
                    .context("grant listed but not found")?;
                println!("{}", serde_json::to_string_pretty(&summary)?);
            }
        }
        GrantCommand::Bundle { id, out } => {
            let id = w.find_grant(&id)?;
            std::fs::write(&out, w.grant_bundle(&id)?)
                .with_context(|| format!("writing {}", out.display()))?;
            println!("bundle for grant {id} written to {}", out.display());
        }
    }
    Ok(())
}

pub(crate) fn revoke(g: &Global, args: RevokeArgs) -> Result<()> {
    let mut w = open_patient(g)?;
    let id = w.find_grant(&args.grant)?;
    if !confirm(&format!("Revoke grant {id}?"), args.yes)? {
        bail!("not revoked");
    }
    let outcome = w.revoke(&id, now()?)?;
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

pub(crate) fn erase(g: &Global, args: EraseArgs) -> Result<()> {
    let t = now()?;
    let w = open_patient(g)?;
    println!(
        "Erasure destroys every copy of the keys this wallet controls. It cannot reach copies a"
    );
    println!("provider already decrypted, nor files you exported yourself.");
    let receipt: ErasureReceipt = if args.all {
        if !confirm(
            "Erase the WHOLE wallet, every record and key, permanently?",
            args.yes,
        )? {
            bail!("nothing erased");
        }
        w.erase_all(t)?
    } else if let Some(grant) = args.grant {
        let mut w = w;
        let id = w.find_grant(&grant)?;
        if !confirm(
            &format!("Erase what was shared under grant {id}?"),
            args.yes,
        )? {
            bail!("nothing erased");
        }
        let (receipt, outcome) = w.erase_grant(&id, t)?;
        std::fs::create_dir_all(&args.out)?;
        for (other, bundle) in outcome.updated_bundles {
            let p = args.out.join(format!("bundle-{other}.ckb"));
            std::fs::write(&p, bundle)?;
            println!("re-issued bundle for grant {other}: {}", p.display());
        }
        receipt
    } else {
        let mut w = w;
        let id = w.find_record(args.record.as_deref().unwrap_or_default())?;
        let title = w.record(&id)?.title;
        if !confirm(
            &format!("Erase record {id} ({title}) permanently?"),
            args.yes,
        )? {
            bail!("nothing erased");
        }
        w.erase_record(&id, t)?
    };
    let json = serde_json::to_string_pretty(&receipt)?;
    let path = args
        .receipt
        .unwrap_or_else(|| PathBuf::from(format!("erasure-receipt-{}.json", receipt.erased_at)));
    std::fs::write(&path, format!("{json}\n"))
        .with_context(|| format!("writing {}", path.display()))?;
    println!("erased {}", receipt.subject);
    for d in &receipt.destroyed {
        println!("  destroyed: {d}");
    }
    for p in &receipt.pending {
        println!("  pending: {p}");
    }
    println!("receipt: {}", path.display());
    Ok(())
}

pub(crate) fn receipt(cmd: ReceiptCommand) -> Result<()> {
    let ReceiptCommand::Verify { file } = cmd;
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let v = verify_receipt(&bytes, now()?)?;
    let doc = v.tombstone.document();
    println!(
        "valid erasure receipt: signed by {} at {}, {} ciphertext hash(es)",
        doc.patient_signing,
        session::when(doc.erased_at),
        doc.ciphertext_hashes.len()
    );
    for node in &v.ledger_nodes {
        println!("  erasure entry included in the log of {node} (proof checked against the keys in the receipt; compare them with the keys you pinned)");
    }
    if v.ledger_nodes.is_empty() {
        println!("  no ledger inclusion proof in this receipt (no node pinned, or it was offline)");
    }
    Ok(())
}

pub(crate) fn backup(g: &Global, out: &Path) -> Result<()> {
    let mut w = open_patient(g)?;
    let path = w.backup(out, now()?)?;
    println!(
        "backup written to {} (sealed to your recovery kit; re-written on every erasure)",
        path.display()
    );
    if w.backups_need_share() {
        println!("  sealed with a key share held by your ledger nodes: erasing deletes it there, so older copies of this backup stop opening; restoring needs one of those nodes");
        let pending = w.backup_share_pending();
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
    let w = PatientWallet::recover(
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
        w.records().len(),
        w.grants(now()?).len()
    );
    Ok(())
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
            let key = w.trust_directory(&key)?;
            println!("pinned directory key {key}");
        }
        DirectoryCommand::Import { file } => {
            let mut w = open_patient(g)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let d = w.import_directory(&bytes)?;
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

pub(crate) fn node(g: &Global, cmd: NodeCommand) -> Result<()> {
    let mut w = open_patient(g)?;
    match cmd {
        NodeCommand::Add {
            url,
            key,
            witnesses,
            quorum,
            no_witness,
        } => {
            let quorum = quorum.unwrap_or(witnesses.len());
            if no_witness {
                w.add_unwitnessed_node(&url, &key)?;
            } else {
                w.add_node(&url, &key, &witnesses, quorum)?;
            }
            println!(
                "pinned {url} (log key {key}; {quorum} of {} witness(es) must cosign)",
                witnesses.len()
            );
            if quorum == 0 {
                println!(
                    "warning: with no witnesses this node's log is {}: it could show you a forked or frozen log undetected",
                    NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED
                );
            }
        }
        NodeCommand::Pin { url } => {
            w.pin_node(&url)?;
            println!("pinned {url}");
        }
        NodeCommand::Remove {
            url,
            force,
            receipt,
        } => {
            let t = now()?;
            let removed = w.remove_node(&url, force, t)?;
            println!(
                "unpinned {} ({} waiting write(s) dropped)",
                removed.url, removed.dropped_outbox
            );
            if force {
                let path =
                    receipt.unwrap_or_else(|| PathBuf::from(format!("node-removal-{t}.json")));
                let json = serde_json::json!({
                    "format": "carekey-node-removal/v1",
                    "node": removed.url,
                    "removed_at": t,
                    "dropped_writes": removed.dropped_outbox,
                    "grants_not_ended": removed.abandoned_grants,
                    "backup_share_deletions_still_queued": removed.kept_share_deletions,
                    "meaning": "the node may still serve these grants to their providers until they expire; the wallet can no longer end them there",
                });
                std::fs::write(&path, format!("{}\n", serde_json::to_string_pretty(&json)?))
                    .with_context(|| format!("writing {}", path.display()))?;
                for g in &removed.abandoned_grants {
                    println!("warning: grant {g} could not be ended on {}", removed.url);
                }
                if removed.kept_share_deletions > 0 {
                    println!(
                        "the deletion of an old backup key share stays queued for {} (retried by every sync, in case it comes back)",
                        removed.url
                    );
                }
                println!("removal receipt: {}", path.display());
            }
        }
        NodeCommand::Move { from, to } => {
            w.move_node(&from, &to)?;
            println!("moved {from} to {to} (same log key; verified history kept)");
        }
        NodeCommand::Witnesses { witnesses, quorum } => {
            if !witnesses.is_empty() || quorum.is_some() {
                let quorum = quorum.unwrap_or(witnesses.len());
                w.set_witness_policy(carekey_wallet::WitnessPolicy {
                    witness_keys: witnesses,
                    quorum,
                })?;
            }
            let policy = w.witness_policy();
            println!(
                "nodes confirmed from a request need {} of {} witness(es):",
                policy.quorum,
                policy.witness_keys.len()
            );
            for k in &policy.witness_keys {
                println!("  {k}");
            }
        }
        NodeCommand::List => {
            let logs = w.nodes();
            let outbox = w.outbox();
            for n in w.pinned_nodes() {
                match logs.iter().find(|(p, _)| &p.url == n) {
                    Some((p, st)) => println!(
                        "{n}  verified size {}  witnesses {}/{}{}{}",
                        st.size,
                        p.quorum,
                        p.witness_keys.len(),
                        if p.quorum == 0 {
                            format!("  ({})", NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED)
                        } else {
                            String::new()
                        },
                        if st.evidence.is_empty() {
                            String::new()
                        } else {
                            format!(
                                "  !!! {} piece(s) of evidence of a lying node !!!",
                                st.evidence.len()
                            )
                        }
                    ),
                    None => println!("{n}  (URL only: add its key with `carekey node add`)"),
                }
                if let Some(o) = outbox.iter().find(|o| &o.url == n) {
                    println!(
                        "    {} write(s) waiting{}",
                        o.pending,
                        o.last_error
                            .as_deref()
                            .map(|e| format!(" (last attempt: {e})"))
                            .unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

pub(crate) fn sync(g: &Global) -> Result<()> {
    let mut w = open_patient(g)?;
    let report = w.sync(now()?)?;
    let mut alarm = false;
    for n in &report.nodes {
        // Freshness is claimed only when a pinned witness vouched for the view.
        let checked = match (n.independently_checked, n.fresh_as_of) {
            (false, _) => format!(" ({})", NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED),
            (true, Some(at)) => format!(", up to date as of {}", session::when(at)),
            (true, None) => String::new(),
        };
        match (&n.verified_size, &n.problem) {
            (Some(size), _) => println!("{}: verified, log size {size}{checked}", n.url),
            (None, Some(p)) if n.alarm => {
                alarm = true;
                println!("{}: !!! ALERT: {p} — the node's signed statements are kept as evidence; this node is no longer trusted !!!", n.url);
            }
            (None, p) => println!(
                "{}: not verified: {}{checked}",
                n.url,
                p.as_deref().unwrap_or("unknown")
            ),
        }
    }
    if report.nodes.is_empty() {
        println!("no ledger nodes pinned: `carekey node add URL KEY --witness KEY`");
    }
    println!(
        "{} new access event(s); {} write(s) waiting in the outbox",
        report.new_access_events, report.outbox_pending
    );
    if alarm {
        bail!("a ledger node was caught lying (split view, rollback, fork or a withheld entry)");
    }
    if report.failed() {
        bail!(
            "a pinned ledger node or mirror failed verification: what it served was not accepted"
        );
    }
    Ok(())
}

/// Sends what an `erase --all` left in the erasure journal beside the vault. Returns whether
/// a wallet is still there to sync.
pub(crate) fn flush_journal(g: &Global) -> Result<bool> {
    let dir = vault_dir(g, "patient")?;
    // A damaged journal must not stop the wallet's own sync: say so and go on (it is kept).
    let flushed = carekey_wallet::flush_erasure_journal(&dir, now()?).unwrap_or_else(|e| {
        eprintln!("warning: {e:#}");
        None
    });
    if let Some(report) = flushed {
        if report.pending.is_empty() {
            println!(
                "erasure journal: every node has the erasure's last {} write(s); journal deleted",
                report.sent
            );
        }
        for n in &report.pending {
            println!(
                "erasure journal: {} write(s) still waiting for {} ({})",
                n.pending,
                n.url,
                n.last_error.as_deref().unwrap_or("not sent yet")
            );
        }
    }
    Ok(carekey_wallet::wallet_exists(&dir))
}

pub(crate) fn audit(g: &Global, json: bool) -> Result<()> {
    let w = open_patient(g)?;
    let log = w.access_log();
    if json {
        println!("{}", serde_json::to_string_pretty(&log)?);
        return Ok(());
    }
    if log.is_empty() {
        println!("No access recorded yet (run `carekey sync` to check the ledger).");
    }
    for a in log {
        println!(
            "{}  {}  read {} record(s) under grant {}  [{}]  ({} #{}{})",
            session::when(a.served_at),
            a.provider_name,
            a.records.len(),
            &a.grant_id[..12],
            a.verification,
            a.node,
            a.index,
            if a.independently_checked {
                String::new()
            } else {
                format!(", {}", NodeSyncStatus::NOT_INDEPENDENTLY_CHECKED)
            }
        );
    }
    Ok(())
}
