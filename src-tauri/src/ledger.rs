//! The embedded ledger: a `carekey-node` log and a witness that cosigns it, run in-process on
//! 127.0.0.1 so sharing, provider fetches, the access log and erasure receipts work with no
//! server to set up. Remote nodes are added in Settings and work the same way.
//!
//! Layout under `<app data>/ledger/`: `node/` and `witness/` (their data), `node.key` and
//! `witness.key` (generated once, mode 0600), `node.port` (the port used last time).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use carekey_node::embedded::{self, SpawnError};
use carekey_node::witness::WitnessState;
use carekey_node::{LogKey, SystemClock, WitnessTarget};

/// Requests per second (and burst) one client may send to the embedded node. The only
/// clients are this device's wallet and the providers it shares with, so this is generous.
const RATE_PER_SEC: u32 = 200;
const RATE_BURST: u32 = 400;

/// Why the embedded ledger did not start. The app then runs without it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerStartError {
    /// A directory, key or port file could not be used.
    #[error("{what} {path}: {source}")]
    Io {
        /// What the app was doing.
        what: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The node or witness refused to start (bad key file, corrupt store…).
    #[error(transparent)]
    Node(#[from] carekey_node::NodeError),
    /// The node's storage could not be opened.
    #[error(transparent)]
    Store(#[from] carekey_node::StoreError),
    /// The node or witness could not be served.
    #[error("serving the embedded ledger: {0}")]
    Serve(#[source] SpawnError),
}

impl From<SpawnError> for LedgerStartError {
    fn from(e: SpawnError) -> Self {
        match e {
            SpawnError::Node(e) => Self::Node(e),
            other => Self::Serve(other),
        }
    }
}

/// A running embedded node and witness.
#[derive(Debug, Clone)]
pub struct EmbeddedLedger {
    /// `http://127.0.0.1:PORT`: what the wallet pins and providers fetch from.
    pub url: String,
    /// The node's log key (note verifier key) the wallet pins.
    pub log_key: String,
    /// The witness's cosignature key the wallet requires (quorum 1).
    pub witness_key: String,
    node: Arc<embedded::Handle>,
    /// Kept with the node: the witness serves as long as the node does.
    _witness: Arc<embedded::WitnessHandle>,
}

impl EmbeddedLedger {
    /// Starts the witness, then the node, serving both on the async runtime. Blocking (the
    /// node recovers its store and signs a checkpoint): call it from a plain thread, never
    /// from async code.
    pub fn start(dir: &Path) -> Result<Self, LedgerStartError> {
        create_private_dir(dir)?;
        let node_key = key_at(&dir.join("node.key"), "carekey-app.localhost/log")?;
        let witness_key = key_at(&dir.join("witness.key"), "carekey-app.localhost/witness")?;
        let log_key = node_key.vkey();
        let witness_verifier = witness_key.note.verifier().for_cosignatures();

        // Bind first, so the URL the node signs into access events is the one it serves on.
        // The port of the last run is tried first: the wallet pins nodes by URL, so a stable
        // port keeps the pin (and the grants that name it) valid across restarts.
        let port_file = dir.join("node.port");
        let node_listener = bind_preferring(&port_file);
        let node_listener = node_listener.map_err(|e| io("binding", &port_file, e))?;
        let node_addr = node_listener
            .local_addr()
            .map_err(|e| io("binding", &port_file, e))?;
        std::fs::write(&port_file, node_addr.port().to_string())
            .map_err(|e| io("writing", &port_file, e))?;
        let witness_listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(|e| io("binding", dir, e))?;
        let witness_addr = witness_listener
            .local_addr()
            .map_err(|e| io("binding", dir, e))?;

        // Both serve on the app's async runtime (`embedded` spawns on the runtime entered).
        let runtime = tauri::async_runtime::handle();
        let _entered = runtime.inner().enter();
        let witness = WitnessState::open(
            &dir.join("witness"),
            witness_key,
            std::slice::from_ref(&log_key),
            Arc::new(SystemClock),
        )?;
        let witness = embedded::spawn_witness(witness_listener, witness)?;

        let mut opts = embedded::Options::new(dir.join("node"), node_key);
        opts.witnesses.push(WitnessTarget {
            url: format!("http://{witness_addr}"),
            verifier: witness_verifier,
        });
        opts.rate_per_sec = RATE_PER_SEC;
        opts.rate_burst = RATE_BURST;
        let node = embedded::spawn(node_listener, opts)?;
        Ok(EmbeddedLedger {
            url: node.url().to_owned(),
            log_key,
            witness_key: witness.vkey().to_owned(),
            node: Arc::new(node),
            _witness: Arc::new(witness),
        })
    }

    /// The node's latest signed checkpoint (note text).
    pub fn checkpoint(&self) -> String {
        self.node.node().checkpoint()
    }
}

fn io(what: &'static str, path: &Path, source: std::io::Error) -> LedgerStartError {
    LedgerStartError::Io {
        what,
        path: path.to_owned(),
        source,
    }
}

fn create_private_dir(dir: &Path) -> Result<(), LedgerStartError> {
    std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io("securing", dir, e))?;
    }
    Ok(())
}

/// The key in `path`, or a new one written there (0600) with a random suffix on `name`, so
/// two devices' embedded logs never share an origin.
fn key_at(path: &Path, name: &str) -> Result<LogKey, LedgerStartError> {
    if path.exists() {
        return Ok(LogKey::read(path)?);
    }
    let suffix = RandomState::new().build_hasher().finish();
    let key = LogKey::generate(&format!("{name}-{suffix:016x}"))?;
    key.write(path)?;
    Ok(key)
}

fn bind_preferring(port_file: &Path) -> std::io::Result<TcpListener> {
    let last = std::fs::read_to_string(port_file)
        .ok()
        .and_then(|t| t.trim().parse::<u16>().ok())
        .filter(|p| *p != 0);
    if let Some(port) = last {
        if let Ok(l) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            return Ok(l);
        }
    }
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
}
