//! The patient summary (an International Patient Summary of the records): export, print, save.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::Subcommand;

use carekey_wallet::PatientSummary;

use crate::session::{now, open_patient};
use crate::Global;

use super::detail;

#[derive(Debug, Subcommand)]
pub(crate) enum SummaryCommand {
    /// Write the patient summary as an IPS document (FHIR R4 JSON) that any clinic can read.
    Export {
        /// Output file (`-` for standard output).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Print the patient summary in plain words, section by section.
    Print,
    /// Keep the patient summary as a record, to share it like any record.
    Save,
}

pub(crate) fn summary(g: &Global, cmd: SummaryCommand) -> Result<()> {
    let mut w = open_patient(g)?;
    let t = now()?;
    match cmd {
        SummaryCommand::Export { out } => {
            let summary = w.patient_summary(t)?;
            if out == Path::new("-") {
                let mut stdout = std::io::stdout().lock();
                stdout.write_all(&summary.json)?;
                stdout.write_all(b"\n")?;
                return Ok(());
            }
            std::fs::write(&out, &summary.json)
                .with_context(|| format!("writing {}", out.display()))?;
            println!(
                "wrote the patient summary to {} (International Patient Summary, FHIR R4 JSON)",
                out.display()
            );
            report(&summary);
        }
        SummaryCommand::Print => {
            let summary = w.patient_summary(t)?;
            let patient = w.records().get(&summary.patient)?;
            println!(
                "International Patient Summary of {}{}",
                patient.title,
                detail(&patient.detail)
            );
            println!("as of {}", carekey_wallet::format_utc(t));
            for section in &summary.sections {
                println!();
                println!("{}", section.title);
                if section.entries.is_empty() {
                    let reason = section.empty_reason.as_deref().unwrap_or("no reason given");
                    println!("  nothing recorded ({})", reason.to_lowercase());
                }
                for e in &section.entries {
                    println!(
                        "  - {}{}{}",
                        e.title,
                        detail(&e.detail),
                        e.date
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_default()
                    );
                }
            }
            println!();
            report(&summary);
        }
        SummaryCommand::Save => {
            let r = w.save_patient_summary(t)?;
            println!(
                "saved the patient summary as record {} ({}{})",
                r.id,
                r.title,
                detail(&r.detail)
            );
            println!(
                "  share it like any record (`carekey share REQUEST --record {}`); it is a copy as of now: \
                 erasing a record later does not change it",
                &r.id.to_string()[..12]
            );
        }
    }
    Ok(())
}

/// What is in and what was left out, in one or two lines.
fn report(summary: &PatientSummary) {
    println!(
        "{} records in the summary; {} FHIR records left out (earlier Patient records, saved summaries, what no entry refers to)",
        summary.included.len() + 1,
        summary.left_out.len()
    );
    if summary.dropped_references > 0 {
        println!(
            "{} references named something not in the wallet and were left out",
            summary.dropped_references
        );
    }
}
