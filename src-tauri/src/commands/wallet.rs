//! The wallet itself: status, create, unlock, lock, passphrase, keyring unlock, backup, restore.

use std::path::Path;

use serde::Deserialize;
use tauri::State;

use carekey_wallet::{qr, Passphrase, PatientWallet, WalletError};

use super::{blocking, on_wallet, path_text, Result};
use crate::core::{now, Core};
use crate::types::{AppError, AppStatus, BackupView, RecoveryKitView};

#[tauri::command]
pub(crate) async fn app_status(core: State<'_, Core>) -> Result<AppStatus> {
    let core = core.inner().clone();
    blocking(move || {
        // Never waits for the wallet: a long import must not freeze status refreshes.
        let (unlocked, keyring_unlock, secret_store) = match core.unlocked_status() {
            Some(s) => (true, s.keyring_unlock, s.secret_store),
            None => (
                false,
                core.keyring_unlock_hint(),
                core.store().map_or_else(|e| e.message, |s| s.describe()),
            ),
        };
        Ok(AppStatus {
            wallet_exists: carekey_wallet::wallet_exists(core.vault_dir()),
            unlocked,
            keyring_unlock,
            vault_dir: path_text(core.vault_dir()),
            embedded_node: core.ledger().map(|l| l.url.clone()),
            embedded_log_key: core.ledger().map(|l| l.log_key.clone()),
            secret_store,
            erasure_pending: erasure_pending(core.vault_dir()),
        })
    })
    .await
}

/// What the erasure journal beside the vault still holds, in plain words (a damaged journal
/// says so rather than hiding).
fn erasure_pending(vault_dir: &Path) -> Vec<String> {
    match carekey_wallet::erasure_journal(vault_dir) {
        Ok(Some(nodes)) => nodes
            .into_iter()
            .map(|n| {
                format!(
                    "{}: {} change(s) still to send ({})",
                    n.url,
                    n.pending,
                    n.last_error.as_deref().unwrap_or("not sent yet")
                )
            })
            .collect(),
        Ok(None) => Vec::new(),
        Err(e) => vec![e.to_string()],
    }
}

#[tauri::command]
pub(crate) async fn create_wallet(
    core: State<'_, Core>,
    passphrase: String,
    keyring: bool,
) -> Result<RecoveryKitView> {
    let core = core.inner().clone();
    blocking(move || {
        let passphrase = Passphrase::new(passphrase);
        let (mut wallet, kit) = PatientWallet::create(
            core.vault_dir(),
            &passphrase,
            core.kdf(),
            core.store()?,
            now()?,
        )?;
        if keyring {
            wallet.enable_device_unlock()?;
        }
        let words = kit.words();
        let view = RecoveryKitView {
            words: words.split_whitespace().map(str::to_owned).collect(),
            qr_svg: qr::svg(&words).map_err(WalletError::from)?,
        };
        core.keep(wallet);
        Ok(view)
    })
    .await
}

#[tauri::command]
pub(crate) async fn unlock(core: State<'_, Core>, passphrase: Option<String>) -> Result<()> {
    let core = core.inner().clone();
    blocking(move || {
        let store = core.store()?;
        let wallet = match passphrase {
            Some(p) => PatientWallet::unlock(core.vault_dir(), &Passphrase::new(p), store)?,
            None => PatientWallet::unlock_with_device(core.vault_dir(), store)?,
        };
        core.keep(wallet);
        Ok(())
    })
    .await
}

#[tauri::command]
pub(crate) async fn lock(core: State<'_, Core>) -> Result<()> {
    let now = now()?;
    core.lock_wallet(now);
    Ok(())
}

#[tauri::command]
pub(crate) async fn change_passphrase(core: State<'_, Core>, new_passphrase: String) -> Result<()> {
    let kdf = core.kdf();
    on_wallet(&core, move |w| {
        w.change_passphrase(&Passphrase::new(new_passphrase), kdf)
            .map(drop)
    })
    .await
}

#[tauri::command]
pub(crate) async fn set_keyring_unlock(core: State<'_, Core>, enabled: bool) -> Result<()> {
    let marker = core.inner().clone();
    on_wallet(&core, move |w| {
        if enabled {
            w.enable_device_unlock()?;
        } else {
            w.disable_device_unlock()?;
        }
        marker.remember_keyring_unlock(enabled);
        Ok(())
    })
    .await
}

#[tauri::command]
pub(crate) async fn backup(core: State<'_, Core>, path: String) -> Result<BackupView> {
    let now = now()?;
    let core = core.inner().clone();
    let (out, key_share_nodes, key_share_pending) = blocking(move || {
        let written = core.with_wallet(|w| {
            let out = w.backups().write(Path::new(&path), now)?;
            Ok((out, w.backups().share_nodes(), w.backups().share_pending()))
        })?;
        // A new key share goes to the nodes with the wallet lock free; locked meanwhile, the
        // answer says what was pending before sending.
        core.publish(now);
        let (out, nodes, pending) = written;
        let pending = core
            .if_unlocked(|w| w.backups().share_pending())
            .unwrap_or(pending);
        Ok((out, nodes, pending))
    })
    .await?;
    Ok(BackupView {
        path: path_text(&std::path::absolute(&out).unwrap_or(out)),
        key_share_nodes,
        key_share_pending,
    })
}

/// The recovery words as one string or as the list the recovery kit showed.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum Words {
    List(Vec<String>),
    Text(String),
}

#[tauri::command]
pub(crate) async fn restore_wallet(
    core: State<'_, Core>,
    words: Words,
    backup_path: String,
    passphrase: String,
    replace_existing: Option<bool>,
) -> Result<()> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let words = match words {
            Words::List(list) => list.join(" "),
            Words::Text(text) => text,
        };
        // A wallet already here (a forgotten passphrase, a restore from Settings) is moved
        // aside, never deleted, and moved back if the restore fails.
        let aside = if replace_existing == Some(true) && core.vault_dir().exists() {
            core.lock_wallet(now);
            Some(core.move_aside(now)?)
        } else {
            None
        };
        let restored = core.store().and_then(|store| {
            PatientWallet::recover(
                Path::new(&backup_path),
                &words,
                core.vault_dir(),
                &Passphrase::new(passphrase),
                core.kdf(),
                store,
            )
            .map_err(AppError::from)
        });
        match restored {
            Ok(wallet) => {
                core.keep(wallet);
                Ok(())
            }
            Err(e) => {
                if let Some(aside) = aside {
                    if let Err(back) = core.move_back(&aside) {
                        eprintln!(
                            "carekey-app: could not move the earlier wallet back from {}: {back}",
                            aside.display()
                        );
                    }
                }
                Err(e)
            }
        }
    })
    .await
}
