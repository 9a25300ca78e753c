//! Erasure and its receipt.

use std::path::PathBuf;

use tauri::State;

use carekey_wallet::ErasureReceipt;

use super::{blocking, on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{AppError, ReceiptView};

fn receipt_view(receipt: ErasureReceipt) -> Result<ReceiptView> {
    let json = serde_json::to_string_pretty(&receipt)
        .map_err(|e| AppError::internal(format!("encoding the receipt: {e}")))?;
    Ok(ReceiptView {
        ledger_nodes: receipt.ledger.iter().map(|p| p.node.clone()).collect(),
        subject: receipt.subject,
        erased_at: receipt.erased_at,
        destroyed: receipt.destroyed,
        pending: receipt.pending,
        limits: receipt.limits,
        json,
    })
}

/// Sends an erasure's ledger writes with the wallet lock free, then makes the receipt again
/// with the nodes' proofs and what is still pending.
async fn publish_and_refresh(
    core: &State<'_, Core>,
    mut receipt: ErasureReceipt,
    now: u64,
) -> Result<ReceiptView> {
    let core = core.inner().clone();
    blocking(move || {
        core.publish(now);
        // Locked meanwhile: the erasure is done; the receipt says what was pending before.
        core.if_unlocked(|w| w.erasure().refresh(&mut receipt));
        receipt_view(receipt)
    })
    .await
}

#[tauri::command]
pub(crate) async fn erase_record(core: State<'_, Core>, id: String) -> Result<ReceiptView> {
    let now = now()?;
    let receipt = on_wallet(&core, move |w| {
        let id = w.records().find(&id)?;
        w.erasure().erase_record(&id, now)
    })
    .await?;
    publish_and_refresh(&core, receipt, now).await
}

#[tauri::command]
pub(crate) async fn erase_grant(core: State<'_, Core>, grant_id: String) -> Result<ReceiptView> {
    let now = now()?;
    let receipt = on_wallet(&core, move |w| {
        let id = w.sharing().find(&grant_id)?;
        // Erasing a grant revokes it first when it is still active; the receipt covers both.
        w.erasure()
            .erase_grant(&id, now)
            .map(|(receipt, _revocation)| receipt)
    })
    .await?;
    publish_and_refresh(&core, receipt, now).await
}

#[tauri::command]
pub(crate) async fn erase_all(core: State<'_, Core>) -> Result<ReceiptView> {
    let now = now()?;
    let core = core.inner().clone();
    let receipt = blocking(move || {
        // Erasing the whole wallet consumes it: the app is locked afterwards either way.
        let wallet = core.slot().take().ok_or_else(AppError::locked)?;
        let receipt = wallet.erase_all(now)?;
        core.remember_keyring_unlock(false);
        Ok(receipt)
    })
    .await?;
    receipt_view(receipt)
}

#[tauri::command]
pub(crate) async fn save_text(path: String, text: String) -> Result<()> {
    blocking(move || {
        std::fs::write(PathBuf::from(&path), text).map_err(|e| AppError::io("writing", &path, e))
    })
    .await
}
