//! Erasure and its receipt.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::{agent, verify_receipt, ErasureReceipt};

use crate::session::{self, confirm, now, open_patient};
use crate::Global;

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
        let id = w.sharing().find(&grant)?;
        if !confirm(
            &format!("Erase what was shared under grant {id}?"),
            args.yes,
        )? {
            bail!("nothing erased");
        }
        let (mut receipt, outcome) = w.erasure().erase_grant(&id, t)?;
        agent::publish(&mut w, t);
        w.erasure().refresh(&mut receipt);
        std::fs::create_dir_all(&args.out)?;
        for (other, bundle) in outcome.updated_bundles {
            let p = args.out.join(format!("bundle-{other}.ckb"));
            std::fs::write(&p, bundle)?;
            println!("re-issued bundle for grant {other}: {}", p.display());
        }
        receipt
    } else {
        let mut w = w;
        let id = w
            .records()
            .find(args.record.as_deref().unwrap_or_default())?;
        let title = w.records().get(&id)?.title;
        if !confirm(
            &format!("Erase record {id} ({title}) permanently?"),
            args.yes,
        )? {
            bail!("nothing erased");
        }
        let mut receipt = w.erasure().erase_record(&id, t)?;
        agent::publish(&mut w, t);
        w.erasure().refresh(&mut receipt);
        receipt
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

#[derive(Debug, Subcommand)]
pub(crate) enum ReceiptCommand {
    /// Verify an erasure receipt offline.
    Verify {
        /// Receipt file.
        file: PathBuf,
    },
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
