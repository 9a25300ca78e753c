//! SMART Health Cards in: importing a card (QR text, a picture of the QR, a
//! `.smart-health-card` file) and the issuers whose cards the wallet checks.

use anyhow::{Context, Result};
use clap::Subcommand;

use carekey_wallet::{format_utc, import_cards, CardSource, CardSummary, CardVerification};

use crate::session::{now, open_patient};
use crate::Global;

#[derive(Debug, Subcommand)]
pub(crate) enum CardCommand {
    /// Import a SMART Health Card: `shc:/…` text, a picture of its QR code, or a
    /// `.smart-health-card` file. A trusted issuer's card is verified (and refused if it does
    /// not verify); any other card is kept as "not verified" without asking anyone.
    Import {
        /// `shc:/…`, or a file (PNG/JPEG picture, text with `shc:/…`, `.smart-health-card`).
        input: String,
    },
    /// List imported cards.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum IssuersCommand {
    /// Trust a card issuer: its cards are checked against the keys it publishes.
    Add {
        /// The issuer URL as its cards name it, e.g. `https://spec.smarthealth.cards/examples/issuer`.
        url: String,
    },
    /// List trusted issuers.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Stop trusting an issuer (cards already imported keep what was found).
    Remove {
        /// The issuer URL.
        url: String,
    },
}

pub(crate) fn card(g: &Global, cmd: CardCommand) -> Result<()> {
    match cmd {
        CardCommand::Import { input } => {
            let source =
                CardSource::from_argument(&input).with_context(|| format!("reading {input}"))?;
            let mut w = open_patient(g)?;
            let imported = import_cards(&mut w, &source, now()?)?;
            for card in imported {
                println!("imported {} {}", card.record, describe(&card));
            }
        }
        CardCommand::List { json } => {
            let mut w = open_patient(g)?;
            let cards = w.cards().list();
            if json {
                println!("{}", serde_json::to_string_pretty(&cards)?);
            } else if cards.is_empty() {
                println!("No health cards yet: `carekey card import FILE`.");
            } else {
                for card in cards {
                    println!("{} {}", card.record, describe(&card));
                }
            }
        }
    }
    Ok(())
}

fn describe(card: &CardSummary) -> String {
    let check = match &card.verification {
        CardVerification::Verified { .. } => format!("issued by {}, verified", card.issuer),
        CardVerification::NotVerified => format!(
            "says it was issued by {}, NOT VERIFIED (not a trusted issuer: `carekey issuers add`)",
            card.issuer
        ),
    };
    format!(
        "{} — {check}; issued {}",
        card.title,
        &format_utc(card.issued_at)[..10]
    )
}

pub(crate) fn issuers(g: &Global, cmd: IssuersCommand) -> Result<()> {
    let mut w = open_patient(g)?;
    match cmd {
        IssuersCommand::Add { url } => {
            let issuer = w.cards().add_issuer(&url, now()?)?;
            println!("trusting card issuer {}", issuer.url);
        }
        IssuersCommand::List { json } => {
            let issuers = w.cards().issuers();
            if json {
                println!("{}", serde_json::to_string_pretty(&issuers)?);
            } else if issuers.is_empty() {
                println!("No trusted card issuers: `carekey issuers add URL`.");
            } else {
                for issuer in issuers {
                    println!("{}  (added {})", issuer.url, format_utc(issuer.added_at));
                }
            }
        }
        IssuersCommand::Remove { url } => {
            w.cards().remove_issuer(&url)?;
            println!(
                "no longer trusting card issuer {}",
                url.trim_end_matches('/')
            );
        }
    }
    Ok(())
}
