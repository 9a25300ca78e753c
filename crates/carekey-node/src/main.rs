//! `carekey-node`: run a Carekey ledger node, a witness, or an audit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use carekey_ledger::note::NoteVerifier;
use carekey_node::audit::{audit, Source};
use carekey_node::witness::{witness_app, WitnessState};
use carekey_node::{
    app, AppState, Clock as _, LogKey, Node, NodeConfig, NodeOptions, ServeOptions, SystemClock,
    WitnessConfig, WitnessTarget, WriterStatus,
};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "carekey-node",
    version,
    about = "Carekey ledger node, witness and auditor"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a log or witness key; prints its note verifier key (name+keyid+base64).
    Keygen {
        /// The key name: the log's origin (e.g. carekey.example/log1) or the witness's name.
        #[arg(long)]
        name: String,
        /// Where to write the secret key (mode 0600; never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a ledger node.
    Serve {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Run a C2SP tlog-witness.
    Witness {
        /// The TOML configuration file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Audit a log from a node URL or a mirror directory; exits non-zero on the first problem.
    Verify {
        /// http://host:port of a node or mirror, or a mirror directory.
        source: String,
        /// The log's note verifier key.
        #[arg(long)]
        log_key: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CAREKEY_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Keygen { name, out } => keygen(&name, &out),
        Command::Serve { config } => runtime().and_then(|rt| rt.block_on(serve(config))),
        Command::Witness { config } => runtime().and_then(|rt| rt.block_on(witness(config))),
        Command::Verify { source, log_key } => verify(&source, &log_key),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("carekey-node: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn keygen(name: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let key = LogKey::generate(name)?;
    key.write(out)
        .with_context(|| format!("writing {}", out.display()))?;
    println!("{}", key.vkey());
    Ok(())
}

async fn serve(config: PathBuf) -> anyhow::Result<()> {
    let c = NodeConfig::load(&config)?;
    let key = LogKey::read(&c.key_file)?;
    let mut opts = NodeOptions::new(c.data_dir.clone(), c.public_url.clone(), key);
    for w in &c.witnesses {
        let v = NoteVerifier::parse(&w.vkey).with_context(|| format!("witness key {}", w.vkey))?;
        opts.witnesses.push(WitnessTarget {
            url: w.url.clone(),
            verifier: v.for_cosignatures(),
        });
    }
    opts.batch_size = c.batch_size;
    opts.batch_delay = Duration::from_millis(c.batch_delay_ms);
    opts.witness_timeout = Duration::from_millis(c.witness_timeout_ms);
    opts.max_backup_shares = c.max_backup_shares;
    opts.max_bundle_bytes = c.max_bundle_bytes;
    opts.durability = c.durability;
    let node = tokio::task::spawn_blocking(move || Node::start(opts))
        .await
        .context("starting the node")??;
    let listener = tokio::net::TcpListener::bind(&c.listen)
        .await
        .with_context(|| format!("listening on {}", c.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(origin = node.origin(), %addr, "node ready");
    println!("listening on http://{addr}");
    // CAREKEY_NOW (unix seconds), as for the `carekey` CLI: the node lives at that time and
    // runs on from it — for end-to-end tests of validity windows; never set it in production.
    let clock: Arc<dyn carekey_node::Clock> = match std::env::var("CAREKEY_NOW") {
        Ok(text) => {
            let now: u64 = text
                .trim()
                .parse()
                .with_context(|| format!("CAREKEY_NOW={text:?} is not unix seconds"))?;
            tracing::warn!(now, "clock shifted by CAREKEY_NOW (tests only)");
            Arc::new(carekey_node::ShiftedClock::starting_at(now))
        }
        Err(_) => Arc::new(SystemClock),
    };
    let state = AppState::new(node.clone(), clock, c.rate_per_sec, c.rate_burst)
        .with_erasure_limits(c.erasure_limits())
        .with_trusted_proxies(c.proxies()?)
        .with_request_timeout(Duration::from_millis(c.request_timeout_ms));
    // Bundles of grants that ended or expired, and files of expired links: at start (a crash
    // may have left some), then periodically on the node clock.
    let sweeper = state.clone();
    let every = Duration::from_secs(c.bundle_sweep_secs.max(1));
    tokio::spawn(async move {
        loop {
            if let Err(e) = sweeper.sweep_bundles().await {
                tracing::warn!(error = %e, "sweeping the bundle store failed; trying again later");
            }
            if let Err(e) = sweeper.sweep_links().await {
                tracing::warn!(error = %e, "sweeping the link store failed; trying again later");
            }
            tokio::time::sleep(every).await;
        }
    });
    let opts = ServeOptions {
        header_timeout: Duration::from_millis(c.header_timeout_ms),
        idle_timeout: Duration::from_millis(c.idle_timeout_ms),
        max_connections: c.max_connections,
    };
    // Never an HTTP server over a dead writer: if the writer fails and cannot be reopened,
    // the process exits non-zero (after answering `503 writer_failed` meanwhile) so that its
    // supervisor restarts it, which recovers from disk.
    let failed = node.clone();
    let stop = async move {
        tokio::select! {
            () = shutdown() => {}
            () = failed.writer_failed() => {}
        }
    };
    // The requests in flight get their answers (`503 writer_failed`) before the exit.
    carekey_node::serve(listener, app(state), opts, stop)
        .await
        .context("serving")?;
    if node.health().writer == WriterStatus::Failed {
        bail!("the writer failed and could not be restarted; stopping (see the log above)");
    }
    Ok(())
}

async fn witness(config: PathBuf) -> anyhow::Result<()> {
    let c = WitnessConfig::load(&config)?;
    let key = LogKey::read(&c.key_file)?;
    if c.logs.is_empty() {
        bail!("the witness follows no log: add `logs = [\"<vkey>\"]`");
    }
    let state = WitnessState::open(&c.data_dir, key, &c.logs, Arc::new(SystemClock))?;
    let listener = tokio::net::TcpListener::bind(&c.listen)
        .await
        .with_context(|| format!("listening on {}", c.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(vkey = state.vkey(), %addr, "witness ready");
    println!("listening on http://{addr}");
    axum::serve(listener, witness_app(state))
        .with_graceful_shutdown(shutdown())
        .await
        .context("serving")?;
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

fn verify(source: &str, log_key: &str) -> anyhow::Result<()> {
    let log = NoteVerifier::parse(log_key).context("--log-key")?;
    let report = audit(&Source::parse(source), &log, SystemClock.now())
        .with_context(|| format!("auditing {source}"))?;
    println!(
        "ok: {} entries, root {}",
        report.size,
        hex::encode(report.root)
    );
    Ok(())
}
