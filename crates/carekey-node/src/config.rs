//! Configuration files (TOML) for `serve` and `witness`, with environment overrides.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::NodeError;
use crate::storage::Durability;

/// `carekey-node serve` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Address to listen on; port 0 picks a free port (env `CAREKEY_NODE_LISTEN`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The URL clients use for this node; fetch requests must name it exactly
    /// (env `CAREKEY_NODE_PUBLIC_URL`).
    pub public_url: String,
    /// The data directory (env `CAREKEY_NODE_DATA_DIR`). Relative paths are taken from the
    /// config file's directory.
    pub data_dir: PathBuf,
    /// The log's key file (`carekey-node keygen`); its name is the log's origin
    /// (env `CAREKEY_NODE_KEY_FILE`).
    pub key_file: PathBuf,
    /// Witnesses to push every checkpoint to.
    #[serde(default)]
    pub witnesses: Vec<WitnessPeer>,
    /// Most entries per batch.
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    /// How long the writer waits for a batch to fill, in milliseconds.
    #[serde(default = "default_batch_delay_ms")]
    pub batch_delay_ms: u64,
    /// How long a witness may take to answer, in milliseconds.
    #[serde(default = "default_witness_timeout_ms")]
    pub witness_timeout_ms: u64,
    /// Requests per second each client IP may make (sustained).
    #[serde(default = "default_rate")]
    pub rate_per_sec: u32,
    /// Requests each client IP may make in a burst.
    #[serde(default = "default_burst")]
    pub rate_burst: u32,
    /// `full` (default) or `none` (no fsync: only for measuring; never for a real log).
    #[serde(default)]
    pub durability: Durability,
    /// Most backup key shares kept (default 1,000,000); more are refused with `507`.
    #[serde(default = "default_max_backup_shares")]
    pub max_backup_shares: u64,
    /// Most bytes of grant bundles kept (default 10 GiB; each bundle counts at least 4 KiB);
    /// an upload beyond it is refused with `507 bundle_store_full`.
    #[serde(default = "default_max_bundle_bytes")]
    pub max_bundle_bytes: u64,
    /// How often the bundles of expired, revoked and erased grants are deleted, in seconds
    /// (default 300; also once at start).
    #[serde(default = "default_bundle_sweep_secs")]
    pub bundle_sweep_secs: u64,
    /// Erasure entries one client address may send at once (default 1,000).
    #[serde(default = "default_erasure_burst")]
    pub erasure_burst: u32,
    /// Erasure entries one client address may send per hour, sustained (default 3,600).
    #[serde(default = "default_erasure_per_hour")]
    pub erasure_per_hour: u32,
    /// Erasure entries the node takes per UTC day from everyone (default 20,000); past it
    /// `507 erasure_cap_reached`.
    #[serde(default = "default_erasure_cap_per_day")]
    pub erasure_cap_per_day: u64,
    /// Addresses or networks (`10.0.0.0/8`) of reverse proxies whose `X-Forwarded-For` /
    /// `Forwarded` header names the client (default none: the TCP peer is the client).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// Longest a client may take to send a request's headers, in ms (default 10,000).
    #[serde(default = "default_header_timeout_ms")]
    pub header_timeout_ms: u64,
    /// Longest a connection may sit with no request in flight and no bytes moving, in ms
    /// (default 60,000).
    #[serde(default = "default_idle_timeout_ms")]
    pub idle_timeout_ms: u64,
    /// Longest a whole request may take, body included, in ms (default 300,000); past it
    /// `408 request_timeout`.
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// Most connections open at once (default 4,096; more wait in the listen backlog).
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
}

/// A witness the node pushes checkpoints to.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessPeer {
    /// Its base URL (`http://host:port`); the node posts to `<url>/add-checkpoint`.
    pub url: String,
    /// Its verifier key (`name+keyid+base64`, note or cosignature type).
    pub vkey: String,
}

/// `carekey-node witness` settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WitnessConfig {
    /// Address to listen on (env `CAREKEY_WITNESS_LISTEN`).
    #[serde(default = "default_listen")]
    pub listen: String,
    /// The witness's key file (`carekey-node keygen --name <witness name>`).
    pub key_file: PathBuf,
    /// Where it keeps the last checkpoint it cosigned per log.
    pub data_dir: PathBuf,
    /// The log verifier keys it accepts checkpoints from.
    pub logs: Vec<String>,
}

fn default_listen() -> String {
    "127.0.0.1:0".to_owned()
}
fn default_batch_size() -> usize {
    4096
}
fn default_batch_delay_ms() -> u64 {
    0
}
fn default_witness_timeout_ms() -> u64 {
    3000
}
fn default_max_backup_shares() -> u64 {
    crate::service::DEFAULT_MAX_BACKUP_SHARES
}

fn default_max_bundle_bytes() -> u64 {
    crate::service::DEFAULT_MAX_BUNDLE_BYTES
}
fn default_bundle_sweep_secs() -> u64 {
    300
}
fn default_erasure_burst() -> u32 {
    crate::service::limits::ErasureLimits::default().per_source_burst
}
fn default_erasure_per_hour() -> u32 {
    crate::service::limits::ErasureLimits::default().per_source_per_hour
}
fn default_erasure_cap_per_day() -> u64 {
    crate::service::limits::ErasureLimits::default().global_per_day
}
fn default_header_timeout_ms() -> u64 {
    10_000
}
fn default_idle_timeout_ms() -> u64 {
    60_000
}
fn default_request_timeout_ms() -> u64 {
    300_000
}
fn default_max_connections() -> usize {
    4096
}

fn default_rate() -> u32 {
    200
}
fn default_burst() -> u32 {
    400
}

fn read_toml<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, NodeError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))?;
    toml::from_str(&text).map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
}

fn relative_to(base: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    }
}

impl NodeConfig {
    /// Reads a config file, then applies `CAREKEY_NODE_*` environment overrides.
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let mut c: Self = read_toml(path)?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("CAREKEY_NODE_LISTEN") {
            c.listen = v;
        }
        if let Some(v) = env("CAREKEY_NODE_PUBLIC_URL") {
            c.public_url = v;
        }
        if let Some(v) = env("CAREKEY_NODE_DATA_DIR") {
            c.data_dir = v.into();
        }
        if let Some(v) = env("CAREKEY_NODE_KEY_FILE") {
            c.key_file = v.into();
        }
        let base = path.parent().unwrap_or(Path::new("."));
        c.data_dir = relative_to(base, &c.data_dir);
        c.key_file = relative_to(base, &c.key_file);
        if c.batch_size == 0 {
            return Err(NodeError::Config("batch_size must be at least 1".into()));
        }
        c.proxies()?;
        for (name, ms) in [
            ("header_timeout_ms", c.header_timeout_ms),
            ("idle_timeout_ms", c.idle_timeout_ms),
            ("request_timeout_ms", c.request_timeout_ms),
        ] {
            if ms == 0 {
                return Err(NodeError::Config(format!("{name} must be at least 1")));
            }
        }
        Ok(c)
    }

    /// `trusted_proxies`, parsed.
    pub fn proxies(&self) -> Result<Vec<crate::service::limits::ProxyNet>, NodeError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|e| NodeError::Config(format!("trusted_proxies: {e}")))
            })
            .collect()
    }

    /// The erasure-entry limits.
    pub fn erasure_limits(&self) -> crate::service::limits::ErasureLimits {
        crate::service::limits::ErasureLimits {
            per_source_burst: self.erasure_burst,
            per_source_per_hour: self.erasure_per_hour,
            global_per_day: self.erasure_cap_per_day,
        }
    }
}

impl WitnessConfig {
    /// Reads a config file, then applies `CAREKEY_WITNESS_LISTEN`.
    pub fn load(path: &Path) -> Result<Self, NodeError> {
        let mut c: Self = read_toml(path)?;
        if let Some(v) = std::env::var("CAREKEY_WITNESS_LISTEN")
            .ok()
            .filter(|v| !v.is_empty())
        {
            c.listen = v;
        }
        let base = path.parent().unwrap_or(Path::new("."));
        c.data_dir = relative_to(base, &c.data_dir);
        c.key_file = relative_to(base, &c.key_file);
        Ok(c)
    }
}
