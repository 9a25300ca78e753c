//! SMART Health Links: share records (or the patient summary) with any clinic as a link or a
//! QR code that a stock SHL viewer opens; see who opened them; end them.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use carekey_wallet::agent::{self, publish_link};
use carekey_wallet::{qr, LinkChoice, LinkOpenView, LinkView};

use crate::session::{confirm, duration, now, open_patient, when};
use crate::Global;

/// Said whenever a link is made or ended: it is the truth of any link.
const KEEPS_WHAT_IT_GOT: &str = "Anyone who already opened the link keeps what they downloaded: the key travels inside the link.";

#[derive(Debug, Subcommand)]
pub(crate) enum LinkCommand {
    /// Make a link to records or to the patient summary, served by your first pinned node.
    Create(CreateArgs),
    /// Your links and how often each was opened.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a link again (the link itself and its QR code).
    Show {
        /// Link id or prefix.
        link: String,
        /// A viewer URL ending in '#' to put before the link.
        #[arg(long, value_name = "URL")]
        viewer: Option<String>,
    },
    /// Every logged request for your links: who said they were opening it, and when.
    Opens {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A long-term link: re-send its records as they are now (same link, new encryption).
    Update {
        /// Link id or prefix.
        link: String,
    },
    /// End a link: the node deletes its files; it opens no more.
    End {
        /// Link id or prefix.
        link: String,
        /// End without asking.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct CreateArgs {
    /// A record to share (id or prefix; repeat for more).
    #[arg(long = "record", value_name = "RECORD")]
    records: Vec<String>,
    /// Share the patient summary (International Patient Summary) made from every record.
    #[arg(long)]
    summary: bool,
    /// What the clinic sees as the link's name (at most 80 characters).
    #[arg(long)]
    label: Option<String>,
    /// How long the link works, e.g. 7d or 12h (default 30d).
    #[arg(long = "expires-in", value_name = "DURATION", default_value = "30d")]
    expires_in: String,
    /// The link never expires (its opens are still logged; end it yourself).
    #[arg(long, conflicts_with = "expires_in")]
    no_expiry: bool,
    /// A file holding a passcode the clinic must type (shown to you once, not kept).
    #[arg(long, value_name = "FILE")]
    passcode_file: Option<PathBuf>,
    /// Wrong passcodes allowed before the link closes.
    #[arg(long, default_value_t = carekey_wallet::DEFAULT_LINK_ATTEMPTS)]
    attempts: u32,
    /// Long-term: `carekey link update` sends the records as they are later.
    #[arg(long)]
    long_term: bool,
    /// The pinned node to serve it (default: the first pinned).
    #[arg(long, value_name = "URL")]
    node: Option<String>,
    /// A viewer URL ending in '#' to put before the link.
    #[arg(long, value_name = "URL")]
    viewer: Option<String>,
    /// Directory for link.txt, link.svg and link.png.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
}

pub(crate) fn link(g: &Global, cmd: LinkCommand) -> Result<()> {
    match cmd {
        LinkCommand::Create(args) => create(g, args),
        LinkCommand::List { json } => list(g, json),
        LinkCommand::Show { link, viewer } => {
            let mut w = open_patient(g)?;
            let uri = w.links().uri(&link, viewer.as_deref())?;
            println!("{}", qr::terminal(&uri)?);
            println!("{uri}");
            Ok(())
        }
        LinkCommand::Opens { json } => {
            let mut w = open_patient(g)?;
            let opens = w.links().opens();
            if json {
                println!("{}", serde_json::to_string_pretty(&opens)?);
                return Ok(());
            }
            if opens.is_empty() {
                println!(
                    "Nobody has opened your links yet (run `carekey sync` to check the ledger)."
                );
            }
            for o in &opens {
                println!("{}", open_line(o));
            }
            Ok(())
        }
        LinkCommand::Update { link } => {
            let mut w = open_patient(g)?;
            let t = now()?;
            let draft = w.links().draft_update(&link, t)?;
            let url = publish_link(&draft)?;
            let view = w.links().commit(draft, &url, t)?;
            println!(
                "link {} updated: the clinic gets the {} record(s) as they are now",
                short(&view.id),
                view.records.len()
            );
            Ok(())
        }
        LinkCommand::End { link, yes } => {
            let mut w = open_patient(g)?;
            let t = now()?;
            let view = w.links().get(&link, t)?;
            if !confirm(&format!("End link {}?", label_of(&view)), yes)? {
                bail!("not ended");
            }
            w.links().end(&view.id, t)?;
            agent::publish(&mut w, t);
            let view = w.links().get(&view.id, t)?;
            match view.state {
                carekey_wallet::LinkState::Ended => {
                    println!("link {} ended: the node deleted its files", short(&view.id))
                }
                _ => println!(
                    "link {} ended here; the node {} has not confirmed yet (kept queued and retried by every `carekey sync`)",
                    short(&view.id),
                    view.node
                ),
            }
            println!("{KEEPS_WHAT_IT_GOT}");
            Ok(())
        }
    }
}

fn create(g: &Global, args: CreateArgs) -> Result<()> {
    let mut w = open_patient(g)?;
    let t = now()?;
    let mut records = Vec::new();
    for r in &args.records {
        records.push(w.records().find(r)?);
    }
    let passcode = match &args.passcode_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("reading {}", f.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ),
        None => None,
    };
    let expires_at = if args.no_expiry {
        None
    } else {
        Some(
            t.checked_add(duration(&args.expires_in)?)
                .context("expiry too far")?,
        )
    };
    let choice = LinkChoice {
        records,
        summary: args.summary,
        label: args.label.clone(),
        expires_at,
        passcode: passcode.clone(),
        attempts: Some(args.attempts),
        long_term: args.long_term,
        node: args.node.clone(),
    };
    let draft = w.links().draft(&choice, t)?;
    // The node is asked with the wallet's state unchanged: a failure leaves nothing behind.
    let url = publish_link(&draft)?;
    let view = w.links().commit(draft, &url, t)?;
    let uri = w.links().uri(&view.id, args.viewer.as_deref())?;
    std::fs::create_dir_all(&args.out)?;
    let write = |name: &str, bytes: &[u8]| -> Result<()> {
        let p = args.out.join(name);
        std::fs::write(&p, bytes).with_context(|| format!("writing {}", p.display()))
    };
    write("link.txt", format!("{uri}\n").as_bytes())?;
    write("link.svg", qr::svg(&uri)?.as_bytes())?;
    write("link.png", &qr::png(&uri)?)?;
    println!("{}", qr::terminal(&uri)?);
    println!("{uri}");
    println!(
        "link {} made: {}{}, served by {}{}",
        short(&view.id),
        match (view.records.len(), view.summary) {
            (0, _) => "your patient summary".to_owned(),
            (n, false) => format!("{n} record(s)"),
            (n, true) => format!("{n} record(s) and your patient summary"),
        },
        view.expires_at
            .map(|e| format!(", until {}", when(e)))
            .unwrap_or_default(),
        view.node,
        if view.long_term { ", long-term" } else { "" }
    );
    if let Some(p) = passcode {
        println!("passcode (shown once, not kept): {p}");
    }
    println!(
        "written to {}: link.txt, link.svg, link.png",
        args.out.display()
    );
    println!("Every open is logged on the ledger; see them with `carekey link opens` after `carekey sync`.");
    println!("{KEEPS_WHAT_IT_GOT}");
    Ok(())
}

fn list(g: &Global, json: bool) -> Result<()> {
    let mut w = open_patient(g)?;
    let links = w.links().list(now()?);
    if json {
        println!("{}", serde_json::to_string_pretty(&links)?);
        return Ok(());
    }
    if links.is_empty() {
        println!("No links yet.");
    }
    for l in &links {
        println!(
            "{}  {:<8} {}  {} open(s){}  {}",
            short(&l.id),
            serde_json::to_value(l.state)?.as_str().unwrap_or("?"),
            label_of(l),
            l.opens,
            if l.failed_attempts > 0 {
                format!(", {} wrong passcode(s)", l.failed_attempts)
            } else {
                String::new()
            },
            l.expires_at
                .map(|e| format!("until {}", when(e)))
                .unwrap_or_else(|| "no expiry".into())
        );
    }
    Ok(())
}

/// One logged request, in words: the recipient is the viewer's own claim.
pub(crate) fn open_line(o: &LinkOpenView) -> String {
    let what = if o.opened {
        "opened your link".to_owned()
    } else {
        format!(
            "tried a wrong passcode on your link ({} attempt(s) left)",
            o.remaining_attempts.unwrap_or(0)
        )
    };
    format!(
        "{}  someone who says they are {:?} {} {}  [not verified: anyone can type a name]  ({} #{})",
        when(o.at),
        o.recipient,
        what,
        o.label
            .as_deref()
            .map(|l| format!("{l:?}"))
            .unwrap_or_else(|| short(&o.link_id).to_owned()),
        o.node,
        o.index
    )
}

fn label_of(l: &LinkView) -> String {
    l.label
        .as_deref()
        .map(|x| format!("{x:?}"))
        .unwrap_or_else(|| short(&l.id).to_owned())
}

fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
