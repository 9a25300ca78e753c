//! Records: import, list, show, export, the age identities, the patient's public QR.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::qr;

use crate::session::{now, open_patient};
use crate::Global;

use super::*;

pub(crate) fn import(g: &Global, files: &[PathBuf]) -> Result<()> {
    let mut w = open_patient(g)?;
    let t = now()?;
    for file in files {
        let mut last_report = 0u64;
        let mut progress = |done: u64, total: u64| {
            // Big files only, one line per 32 MiB step and one at the end (a 3 GiB import prints
            // ~100 lines, not one per read).
            let step = done >> 25 != last_report >> 25 || (done == total && done > last_report);
            if total >= 64 << 20 && done > last_report && step {
                last_report = done;
                eprintln!("  {}: {} / {} MiB", file.display(), done >> 20, total >> 20);
            }
        };
        let imported = w
            .records()
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

pub(super) fn detail(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(" — {d}")).unwrap_or_default()
}

pub(crate) fn records(g: &Global, json: bool) -> Result<()> {
    let mut w = open_patient(g)?;
    let all = w.records().list();
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
            &r.id.to_string()[..12],
            r.title,
            detail(&r.detail),
            r.date.map(|d| format!(" ({d})")).unwrap_or_default()
        );
    }
    Ok(())
}

pub(crate) fn show(g: &Global, query: &str) -> Result<()> {
    let mut w = open_patient(g)?;
    let id = w.records().find(query)?;
    let r = w.records().get(&id)?;
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
        w.records().export(&id, &mut bytes)?;
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).context("the record is not JSON")?;
        println!("{}", serde_json::to_string_pretty(&value)?);
    }
    Ok(())
}

pub(crate) fn export(g: &Global, query: &str, out: &Path) -> Result<()> {
    let mut w = open_patient(g)?;
    let id = w.records().find(query)?;
    if out == Path::new("-") {
        let stdout = std::io::stdout();
        let mut lock = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
        w.records().export(&id, &mut lock)?;
        std::io::Write::flush(&mut lock)?;
        return Ok(());
    }
    let n = w.records().export_to(&id, out)?;
    println!("exported {id} to {} ({n} bytes)", out.display());
    Ok(())
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

pub(crate) fn keys(g: &Global, cmd: KeysCommand) -> Result<()> {
    let KeysCommand::Export { age } = cmd;
    let mut w = open_patient(g)?;
    let identities = w.records().age_identities();
    write_private(&age, identities.as_bytes())?;
    println!(
        "wrote {} record identities to {} — anyone with this file can read those records; keep it safe and delete it after use",
        identities.lines().filter(|l| l.starts_with("AGE-SECRET-KEY-")).count(),
        age.display()
    );
    Ok(())
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
