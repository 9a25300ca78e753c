//! What every command shares: where the vault is, how secrets are kept, the unlocked wallet
//! (or none: locked), and the embedded ledger.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, TryLockError};
use std::time::{SystemTime, UNIX_EPOCH};

use carekey_wallet::agent::WalletCell;
use carekey_wallet::{
    FileStore, KdfParams, LocalNode, OsKeyring, PatientWallet, SecretStore, WalletError,
};

use crate::ledger::EmbeddedLedger;
use crate::types::AppError;

/// Where device secrets live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreChoice {
    /// The OS keyring when one answers (probed once per run), else a file beside the vault.
    Default,
    /// The OS keyring, or fail.
    Keyring,
    /// A file beside the vault (`<vault>.device`): tests, and platforms without a keyring.
    File,
}

/// How the app is set up. [`AppConfig::from_env`] reads the environment variables the app
/// honours (listed in docs/adr/0010-app-shell.md).
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// The app's data directory: the vault is `<home>/patient`, the ledger `<home>/ledger`.
    pub home: PathBuf,
    /// KDF for new vaults and passphrase changes.
    pub kdf: KdfParams,
    /// Where device secrets live.
    pub store: StoreChoice,
    /// Run the embedded ledger node and witness.
    pub embedded_node: bool,
}

impl AppConfig {
    /// `CAREKEY_HOME` (else `default_home`), `CAREKEY_KDF` (`default` | `test`),
    /// `CAREKEY_SECRET_STORE` (`keyring` | `file`), `CAREKEY_NO_EMBEDDED_NODE=1`.
    pub fn from_env(default_home: PathBuf) -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let home = var("CAREKEY_HOME").map_or(default_home, PathBuf::from);
        let kdf = match var("CAREKEY_KDF").as_deref() {
            None | Some("default") => KdfParams::DEFAULT,
            Some("test") => KdfParams::TEST,
            Some(other) => return Err(format!("CAREKEY_KDF={other:?}: use `default` or `test`")),
        };
        let store = match var("CAREKEY_SECRET_STORE").as_deref() {
            // `keyring` as the workspace configures it has no Android or iOS backend, and a
            // `keyring` without a platform store is its in-memory mock, which would answer the
            // probe and then lose the secret: on mobile the device secret is a file in the
            // app's sandbox (docs/mobile.md).
            None if cfg!(mobile) => StoreChoice::File,
            None => StoreChoice::Default,
            Some("keyring") => StoreChoice::Keyring,
            Some("file") => StoreChoice::File,
            Some(other) => {
                return Err(format!(
                    "CAREKEY_SECRET_STORE={other:?}: use `keyring` or `file`"
                ))
            }
        };
        let embedded_node = !matches!(var("CAREKEY_NO_EMBEDDED_NODE").as_deref(), Some("1"));
        Ok(AppConfig {
            home,
            kdf,
            store,
            embedded_node,
        })
    }
}

/// The app's shared state, managed by Tauri. Cheap to clone (one `Arc`), so blocking work can
/// take it onto a worker thread.
#[derive(Clone, Debug)]
pub struct Core {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    home: PathBuf,
    vault_dir: PathBuf,
    kdf: KdfParams,
    store: StoreChoice,
    wallet: Mutex<Option<PatientWallet>>,
    /// What the status needs of the unlocked wallet, kept so `app_status` answers at once
    /// while a long command (an import) holds the wallet.
    unlocked: Mutex<Option<UnlockedStatus>>,
    /// Whether the OS keyring answered its probe (asked once: each probe writes an item).
    keyring_works: OnceLock<bool>,
    ledger: Option<EmbeddedLedger>,
    /// The background ledger checks' shared state.
    watch: crate::watch::Watch,
}

/// The unlocked wallet's part of the app status.
#[derive(Clone, Debug)]
pub(crate) struct UnlockedStatus {
    /// Keyring unlock is on.
    pub(crate) keyring_unlock: bool,
    /// Where its device secrets live.
    pub(crate) secret_store: String,
}

impl Core {
    /// Sets the app up and, if configured, starts the embedded ledger. Blocking: call it from
    /// a plain thread (the app's setup hook, a test), never from async code.
    pub fn start(config: AppConfig) -> Result<Self, crate::ledger::LedgerStartError> {
        let ledger = if config.embedded_node {
            Some(EmbeddedLedger::start(&config.home.join("ledger"))?)
        } else {
            None
        };
        start_journal_flusher(config.home.join("patient"));
        Ok(Core {
            inner: Arc::new(Inner {
                vault_dir: config.home.join("patient"),
                home: config.home,
                kdf: config.kdf,
                store: config.store,
                wallet: Mutex::new(None),
                unlocked: Mutex::new(None),
                keyring_works: OnceLock::new(),
                ledger,
                watch: crate::watch::Watch::default(),
            }),
        })
    }

    /// The embedded ledger, when it runs.
    pub fn ledger(&self) -> Option<&EmbeddedLedger> {
        self.inner.ledger.as_ref()
    }

    pub(crate) fn vault_dir(&self) -> &Path {
        &self.inner.vault_dir
    }

    pub(crate) fn kdf(&self) -> KdfParams {
        self.inner.kdf
    }

    /// A fresh handle on the configured secret store for the vault.
    pub(crate) fn store(&self) -> Result<Box<dyn SecretStore>, AppError> {
        let dir = &self.inner.vault_dir;
        match self.inner.store {
            StoreChoice::Default => {
                let works = *self
                    .inner
                    .keyring_works
                    .get_or_init(|| OsKeyring::new().probe().is_ok());
                Ok(if works {
                    Box::new(OsKeyring::new())
                } else {
                    Box::new(FileStore::new(sibling(dir, ".device")))
                })
            }
            StoreChoice::File => Ok(Box::new(FileStore::new(sibling(dir, ".device")))),
            StoreChoice::Keyring => {
                let k = OsKeyring::new();
                k.probe().map_err(|e| {
                    AppError::from(WalletError::Vault(carekey_wallet::VaultError::from(e)))
                })?;
                Ok(Box::new(k))
            }
        }
    }

    /// The unlocked wallet's status without waiting for it: from the wallet when it is free,
    /// else (a command is using it, so it is unlocked) what was seen last. `None`: locked.
    pub(crate) fn unlocked_status(&self) -> Option<UnlockedStatus> {
        let seen = |w: &PatientWallet| UnlockedStatus {
            keyring_unlock: w.device_unlock_enabled(),
            secret_store: w.secret_store(),
        };
        let status = match self.inner.wallet.try_lock() {
            Ok(slot) => slot.as_ref().map(seen),
            Err(TryLockError::WouldBlock) => return self.last_unlocked(),
            Err(TryLockError::Poisoned(_)) => self.slot().as_ref().map(seen),
        };
        *self.last_unlocked_slot() = status.clone();
        status
    }

    fn last_unlocked(&self) -> Option<UnlockedStatus> {
        self.last_unlocked_slot().clone()
    }

    fn last_unlocked_slot(&self) -> MutexGuard<'_, Option<UnlockedStatus>> {
        self.inner
            .unlocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The wallet slot. A panic while it was held (a bug) locks the wallet rather than
    /// carrying on with state of unknown consistency.
    pub(crate) fn slot(&self) -> MutexGuard<'_, Option<PatientWallet>> {
        match self.inner.wallet.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                *g = None;
                self.inner.wallet.clear_poison();
                g
            }
        }
    }

    /// The wallet slot if no command holds it now.
    pub(crate) fn try_wallet(&self) -> Option<MutexGuard<'_, Option<PatientWallet>>> {
        self.inner.wallet.try_lock().ok()
    }

    /// The background checks' shared state.
    pub(crate) fn watch(&self) -> &crate::watch::Watch {
        &self.inner.watch
    }

    /// Runs `f` on the unlocked wallet, or fails with `locked`.
    pub(crate) fn with_wallet<T>(
        &self,
        f: impl FnOnce(&mut PatientWallet) -> Result<T, WalletError>,
    ) -> Result<T, AppError> {
        let mut slot = self.slot();
        let wallet = slot.as_mut().ok_or_else(AppError::locked)?;
        Ok(f(wallet)?)
    }

    /// Sends what a change queued for the ledger nodes, with the wallet lock free while it
    /// talks to them (other commands go on). Offline is normal: what is not sent stays queued.
    pub(crate) fn publish(&self, now: u64) {
        carekey_wallet::agent::publish(self, now);
    }

    /// Runs `f` on the wallet if it is still unlocked. After a change was committed and sent,
    /// a lock in between must not turn the committed change into an error: the caller falls
    /// back to what the change itself reported.
    pub(crate) fn if_unlocked<T>(&self, f: impl FnOnce(&mut PatientWallet) -> T) -> Option<T> {
        self.slot().as_mut().map(f)
    }

    /// Keeps a freshly unlocked wallet, pinning the embedded node in it first.
    pub(crate) fn keep(&self, mut wallet: PatientWallet) {
        self.pin_embedded(&mut wallet);
        self.remember_keyring_unlock(wallet.device_unlock_enabled());
        // Known unlocked at once: a status asked while a command (or a background check)
        // holds the wallet must not report the wallet locked.
        *self.last_unlocked_slot() = Some(UnlockedStatus {
            keyring_unlock: wallet.device_unlock_enabled(),
            secret_store: wallet.secret_store(),
        });
        *self.slot() = Some(wallet);
        // Sync on unlock: the background checks run at once.
        self.watch().wake();
    }

    /// Locks the wallet, keeping the public half of its last sync so the background checks
    /// can still notice that something new happened.
    pub(crate) fn lock_wallet(&self, now: u64) {
        let taken = self.slot().take();
        *self.last_unlocked_slot() = None;
        if let Some(mut w) = taken {
            self.watch().keep_locked_watch(&mut w, now);
            w.lock();
        }
    }

    /// Pins the embedded node (the wallet's rule for a node on this device). A failure is
    /// reported, not fatal: the wallet works without.
    fn pin_embedded(&self, wallet: &mut PatientWallet) {
        let Some(l) = self.ledger() else { return };
        let node = LocalNode {
            url: l.url.clone(),
            log_key: l.log_key.clone(),
            witness_key: l.witness_key.clone(),
        };
        if let Err(e) = wallet.ledger().pin_local_node(&node) {
            eprintln!("carekey-app: could not pin the embedded ledger node: {e}");
        }
    }

    /// Moves the wallet here (and its file of device secrets, if any) to
    /// `<vault>.before-restore-<now>`, so a restore can take its place and nothing is deleted.
    pub(crate) fn move_aside(&self, now: u64) -> Result<PathBuf, AppError> {
        let dir = &self.inner.vault_dir;
        let aside = sibling(dir, &format!(".before-restore-{now}"));
        std::fs::rename(dir, &aside)
            .map_err(|e| AppError::io("moving the wallet aside to", &aside.to_string_lossy(), e))?;
        let device = sibling(dir, ".device");
        if device.exists() {
            let target = sibling(&aside, ".device");
            if let Err(e) = std::fs::rename(&device, &target) {
                // Put the wallet back rather than leave it without its device secrets.
                let _ = std::fs::rename(&aside, dir);
                return Err(AppError::io(
                    "moving the device secrets aside to",
                    &target.to_string_lossy(),
                    e,
                ));
            }
        }
        Ok(aside)
    }

    /// Undoes [`Self::move_aside`] after a failed restore (whatever the restore left behind
    /// goes first: it opened nothing).
    pub(crate) fn move_back(&self, aside: &Path) -> std::io::Result<()> {
        let dir = &self.inner.vault_dir;
        if dir.exists() {
            std::fs::remove_dir_all(dir)?;
        }
        std::fs::rename(aside, dir)?;
        let device = sibling(aside, ".device");
        if device.exists() {
            std::fs::rename(device, sibling(dir, ".device"))?;
        }
        Ok(())
    }

    // The vault header says whether keyring unlock is on, but only an unlocked vault exposes
    // it; the app keeps a (non-secret) marker so the lock screen can offer keyring unlock.
    fn keyring_marker(&self) -> PathBuf {
        self.inner.home.join("keyring-unlock")
    }

    pub(crate) fn remember_keyring_unlock(&self, enabled: bool) {
        let marker = self.keyring_marker();
        // Best effort: a wrong hint only changes which unlock button is offered first.
        let _ = if enabled {
            std::fs::create_dir_all(&self.inner.home).and_then(|()| std::fs::write(&marker, b""))
        } else {
            std::fs::remove_file(&marker).or(Ok(()))
        };
    }

    pub(crate) fn keyring_unlock_hint(&self) -> bool {
        self.keyring_marker().is_file()
    }
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut s = dir.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Unix seconds: `CAREKEY_NOW` when set (tests move time without sleeping), else the clock.
pub(crate) fn now() -> Result<u64, AppError> {
    if let Ok(v) = std::env::var("CAREKEY_NOW") {
        return v
            .trim()
            .parse()
            .map_err(|_| AppError::bad_input(format!("CAREKEY_NOW={v:?} is not unix seconds")));
    }
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| AppError::internal("the system clock is before 1970"))
}

/// How often the app sends what an `erase --all` left in the erasure journal.
const JOURNAL_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Keeps flushing the erasure journal beside the vault, whether a wallet is open or not (after
/// erasing the whole wallet there is none): the revocations and deletions it holds must reach
/// every node. A thread of its own, so a slow node never touches the window or the wallet lock;
/// with no journal each round is one failed file open.
fn start_journal_flusher(vault_dir: PathBuf) {
    let spawned = std::thread::Builder::new()
        .name("erasure-journal".into())
        .spawn(move || loop {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match carekey_wallet::flush_erasure_journal(&vault_dir, now) {
                Ok(Some(report)) if !report.pending.is_empty() => eprintln!(
                    "carekey-app: erasure journal: {} write(s) still waiting",
                    report.pending.iter().map(|n| n.pending).sum::<usize>()
                ),
                Err(e) => eprintln!("carekey-app: erasure journal: {e}"),
                _ => {}
            }
            std::thread::sleep(JOURNAL_FLUSH_EVERY);
        });
    if let Err(e) = spawned {
        eprintln!("carekey-app: could not start the erasure-journal thread: {e}");
    }
}

/// The ledger agent reaches the wallet through the app's lock, between its network steps.
impl WalletCell for &Core {
    fn with<R>(&mut self, f: impl FnOnce(&mut PatientWallet) -> R) -> Option<R> {
        self.if_unlocked(f)
    }
}
