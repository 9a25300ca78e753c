//! A node served in-process: what the app runs so that sharing, provider fetches, the access
//! log and erasure receipts work with no server to set up.
//!
//! [`spawn`] takes a listener already bound (so the caller picks the address, and the URL the
//! node signs into access events is the one it serves on) and [`Options`], starts the node,
//! and serves the same router and connection loop as `carekey-node serve` ([`crate::app`],
//! [`crate::serve`]). [`spawn_witness`] does the same for a witness. Both serve on the tokio
//! runtime the caller is in, or, called outside one, on a small runtime of their own.
//!
//! Unlike `carekey-node serve`, an embedded node does not sweep its bundle store and does not
//! stop on its own when its writer fails for good (writes are then refused with
//! `503 writer_failed`, as by the binary before it exits).

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use tokio::sync::oneshot;

use crate::clock::{Clock, SystemClock};
use crate::error::NodeError;
use crate::http::server::{serve, ServeOptions};
use crate::http::{app, AppState};
use crate::keys::LogKey;
use crate::service::{Node, NodeOptions, WitnessTarget};
use crate::witness::{witness_app, WitnessState};

/// Default for [`Options::rate_per_sec`]: an embedded node's clients are its device's wallet
/// and the providers it shares with, so the limit is generous.
pub const DEFAULT_RATE_PER_SEC: u32 = 200;
/// Default for [`Options::rate_burst`].
pub const DEFAULT_RATE_BURST: u32 = 400;

/// What an embedded node needs.
#[derive(Debug)]
#[non_exhaustive]
pub struct Options {
    /// The node's data directory (created if missing).
    pub data_dir: PathBuf,
    /// The log key; its name is the log's origin.
    pub key: LogKey,
    /// Witnesses the node pushes its checkpoints to.
    pub witnesses: Vec<WitnessTarget>,
    /// Requests per second one client may send.
    pub rate_per_sec: u32,
    /// The burst one client may send.
    pub rate_burst: u32,
    /// The node clock.
    pub clock: Arc<dyn Clock>,
    /// Connection limits and timeouts.
    pub serve: ServeOptions,
}

impl Options {
    /// Options for a node in `data_dir` signing with `key`: no witness, the default rate
    /// limit, the system clock, the default connection limits.
    pub fn new(data_dir: PathBuf, key: LogKey) -> Self {
        Self {
            data_dir,
            key,
            witnesses: Vec::new(),
            rate_per_sec: DEFAULT_RATE_PER_SEC,
            rate_burst: DEFAULT_RATE_BURST,
            clock: Arc::new(SystemClock),
            serve: ServeOptions::default(),
        }
    }
}

/// Why an embedded node or witness did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The listener could not be used (its address read, or handed to tokio).
    #[error("listener: {0}")]
    Listener(#[source] io::Error),
    /// The node's own runtime or thread could not be started.
    #[error("runtime: {0}")]
    Runtime(#[source] io::Error),
    /// The node refused to start (bad data directory, corrupt store…).
    #[error(transparent)]
    Node(#[from] NodeError),
}

/// A running embedded node.
#[derive(Debug)]
pub struct Handle {
    url: String,
    log_key: String,
    node: Node,
    server: Server,
}

impl Handle {
    /// `http://<address>`: the URL the node serves on and signs into access events.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The address the node serves on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    /// The port the node serves on.
    pub fn port(&self) -> u16 {
        self.server.addr.port()
    }

    /// The log's note verifier key, which wallets pin.
    pub fn log_key(&self) -> &str {
        &self.log_key
    }

    /// The node itself (its checkpoint, health…).
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// Stops accepting connections, lets open ones finish their requests (for at most 10 s),
    /// and waits for the server to end. The writer finishes its last batch and exits once the
    /// last handle on the node is gone. Dropping the `Handle` without calling this leaves the
    /// node serving for as long as its runtime runs.
    pub async fn stop(self) -> io::Result<()> {
        self.server.stop().await
    }
}

/// Starts the node in `options.data_dir` (recovering its store and signing a checkpoint) and
/// serves it on `listener`. Blocking while the node starts: call it from a plain thread (or
/// `spawn_blocking`), not from async code. A tokio listener can be passed as
/// `listener.into_std()?`.
pub fn spawn(listener: TcpListener, options: Options) -> Result<Handle, SpawnError> {
    let addr = listener.local_addr().map_err(SpawnError::Listener)?;
    let url = format!("http://{addr}");
    let log_key = options.key.vkey();
    let mut node_options = NodeOptions::new(options.data_dir, url.clone(), options.key);
    node_options.witnesses = options.witnesses;
    let node = Node::start(node_options)?;
    let state = AppState::new(
        node.clone(),
        options.clock,
        options.rate_per_sec,
        options.rate_burst,
    );
    let server = Server::spawn(listener, app(state), options.serve)?;
    tracing::info!(origin = node.origin(), %addr, "embedded node ready");
    Ok(Handle {
        url,
        log_key,
        node,
        server,
    })
}

/// A running embedded witness.
#[derive(Debug)]
pub struct WitnessHandle {
    url: String,
    vkey: String,
    server: Server,
}

impl WitnessHandle {
    /// `http://<address>`: where a node pushes its checkpoints.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The witness's cosignature verifier key, which logs and wallets pin.
    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// Stops the witness as [`Handle::stop`] stops a node.
    pub async fn stop(self) -> io::Result<()> {
        self.server.stop().await
    }
}

/// Serves the witness `state` on `listener` (see [`spawn`] for where it runs).
pub fn spawn_witness(
    listener: TcpListener,
    state: WitnessState,
) -> Result<WitnessHandle, SpawnError> {
    let addr = listener.local_addr().map_err(SpawnError::Listener)?;
    let vkey = state.vkey();
    let server = Server::spawn(listener, witness_app(state), ServeOptions::default())?;
    Ok(WitnessHandle {
        url: format!("http://{addr}"),
        vkey,
        server,
    })
}

/// A router served by [`serve`] on a task, until told to stop.
#[derive(Debug)]
struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    done: oneshot::Receiver<io::Result<()>>,
}

impl Server {
    fn spawn(
        listener: TcpListener,
        router: Router,
        opts: ServeOptions,
    ) -> Result<Self, SpawnError> {
        let addr = listener.local_addr().map_err(SpawnError::Listener)?;
        listener
            .set_nonblocking(true)
            .map_err(SpawnError::Listener)?;
        let (stop, stopped) = oneshot::channel::<()>();
        let (finished, done) = oneshot::channel();
        // Dropping the handle (the sender) is not a request to stop.
        let shutdown = async move {
            if stopped.await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        let run = move |listener: tokio::net::TcpListener| async move {
            let result = serve(listener, router, opts, shutdown).await;
            if let Err(e) = &result {
                tracing::error!(error = %e, "embedded server failed");
            }
            let _ = finished.send(result);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                let listener = {
                    let _entered = runtime.enter();
                    tokio::net::TcpListener::from_std(listener).map_err(SpawnError::Listener)?
                };
                runtime.spawn(run(listener));
            }
            Err(_) => {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("carekey-embedded")
                    .enable_all()
                    .build()
                    .map_err(SpawnError::Runtime)?;
                let listener = {
                    let _entered = runtime.enter();
                    tokio::net::TcpListener::from_std(listener).map_err(SpawnError::Listener)?
                };
                // The runtime lives on this thread and is dropped there once serving ends.
                std::thread::Builder::new()
                    .name("carekey-embedded".into())
                    .spawn(move || runtime.block_on(run(listener)))
                    .map_err(SpawnError::Runtime)?;
            }
        }
        Ok(Self { addr, stop, done })
    }

    async fn stop(self) -> io::Result<()> {
        let _ = self.stop.send(());
        // A server whose runtime is gone has stopped too.
        self.done.await.unwrap_or(Ok(()))
    }
}
