//! Ledger nodes: pinning, the outbox, sync (through the ledger agent), the erasure journal, audits.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use carekey_wallet::{agent, NodeSyncStatus};

use crate::session::{self, now, open_patient, vault_dir};
use crate::Global;

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
                w.ledger().add_unwitnessed_node(&url, &key)?;
            } else {
                w.ledger().add_node(&url, &key, &witnesses, quorum)?;
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
            w.ledger().pin_node(&url)?;
            println!("pinned {url}");
        }
        NodeCommand::Remove {
            url,
            force,
            receipt,
        } => {
            let t = now()?;
            let removed = w.ledger().remove_node(&url, force, t)?;
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
            w.ledger().move_node(&from, &to)?;
            println!("moved {from} to {to} (same log key; verified history kept)");
        }
        NodeCommand::Witnesses { witnesses, quorum } => {
            if !witnesses.is_empty() || quorum.is_some() {
                let quorum = quorum.unwrap_or(witnesses.len());
                w.ledger()
                    .set_witness_policy(carekey_wallet::WitnessPolicy {
                        witness_keys: witnesses,
                        quorum,
                    })?;
            }
            let policy = w.ledger().witness_policy();
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
            let logs = w.ledger().nodes();
            let outbox = w.ledger().outbox();
            for n in w.ledger().pinned_nodes() {
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
    let report = agent::sync(&mut w, now()?)?;
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
    let mut w = open_patient(g)?;
    let log = w.ledger().access_log();
    let opens = w.links().opens();
    if json {
        // Grant accesses, then link opens (each marked `"kind": "link_open"`).
        let mut all: Vec<serde_json::Value> = log
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<_, _>>()?;
        for o in &opens {
            let mut v = serde_json::to_value(o)?;
            v["kind"] = "link_open".into();
            all.push(v);
        }
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if log.is_empty() && opens.is_empty() {
        println!("No access recorded yet (run `carekey sync` to check the ledger).");
    }
    for o in &opens {
        println!("{}", super::open_line(o));
    }
    for a in log {
        println!(
            "{}  {}  read {} record(s) under grant {}  [{}]  ({} #{}{})",
            session::when(a.served_at),
            a.provider_name,
            a.records.len(),
            &a.grant_id.to_string()[..12],
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
