//! The Tauri commands of docs/app-commands.md. Each deserialises its input, calls one
//! `carekey-wallet` function on a worker thread (so the window never freezes on Argon2id,
//! big imports or ledger round trips), and converts the result into a view type.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde::Deserialize;
use tauri::{AppHandle, Emitter as _, Runtime, State};

use carekey_wallet::{
    qr, ErasureReceipt, Passphrase, PatientWallet, ProviderVerification, RecordSummary,
    RequestInput, RequestReview, ShareChoice, WalletError, WitnessPolicy,
};

use crate::core::{now, Core};
use crate::types::{
    AccessView, AppError, AppStatus, BackupView, GrantView, ImportProgress, KdfView, MyQr,
    NodeRemovalView, NodeSyncView, NodeView, ReceiptView, RecordDetail, RecordView,
    RecoveryKitView, RequestView, RevokeResult, SettingsView, ShareResult, SyncView,
    VerificationState, VerificationView, WitnessPolicyView,
};

/// The event `import_files` emits as it reads files.
pub const IMPORT_PROGRESS: &str = "import-progress";

/// FHIR records up to this size are shown as pretty JSON in the detail view.
const DETAIL_JSON_LIMIT: u64 = 2 * 1024 * 1024;

type Result<T> = std::result::Result<T, AppError>;

/// Runs blocking wallet work on Tauri's blocking pool.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|e| AppError::internal(format!("the wallet worker stopped: {e}")))?
}

/// Runs `f` on the unlocked wallet on the blocking pool.
async fn on_wallet<T: Send + 'static>(
    core: &State<'_, Core>,
    f: impl FnOnce(&mut PatientWallet) -> std::result::Result<T, WalletError> + Send + 'static,
) -> Result<T> {
    let core = core.inner().clone();
    blocking(move || core.with_wallet(f)).await
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

// ------------------------------------------------------------------- the wallet itself

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
    if let Some(w) = core.slot().take() {
        w.lock();
    }
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
    let (out, key_share_nodes, key_share_pending) = on_wallet(&core, move |w| {
        let out = w.backup(Path::new(&path), now)?;
        Ok((out, w.backup_share_nodes(), w.backup_share_pending()))
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
) -> Result<()> {
    let core = core.inner().clone();
    blocking(move || {
        let words = match words {
            Words::List(list) => list.join(" "),
            Words::Text(text) => text,
        };
        let wallet = PatientWallet::recover(
            Path::new(&backup_path),
            &words,
            core.vault_dir(),
            &Passphrase::new(passphrase),
            core.kdf(),
            core.store()?,
        )?;
        core.keep(wallet);
        Ok(())
    })
    .await
}

// ------------------------------------------------------------------------------ records

fn record_view(r: RecordSummary) -> RecordView {
    RecordView {
        id: r.id,
        name: r.name,
        category: r.category,
        title: r.title,
        detail: r.detail,
        date: r.date,
        resource_type: r.resource_type,
        size: r.size,
        version: r.version,
    }
}

#[tauri::command]
pub(crate) async fn list_records(core: State<'_, Core>) -> Result<Vec<RecordView>> {
    on_wallet(&core, |w| {
        Ok(w.records().into_iter().map(record_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn import_files<R: Runtime>(
    app: AppHandle<R>,
    core: State<'_, Core>,
    paths: Vec<String>,
) -> Result<Vec<RecordView>> {
    let now = now()?;
    on_wallet(&core, move |w| {
        let mut imported = Vec::new();
        for path in &paths {
            let mut last_percent = None;
            let mut progress = |done: u64, total: u64| {
                // One event per percent, not per buffer read.
                let percent = done.saturating_mul(100).checked_div(total).unwrap_or(100);
                if last_percent != Some(percent) {
                    last_percent = Some(percent);
                    let event = ImportProgress {
                        path: path.clone(),
                        done,
                        total,
                    };
                    // No window listening is fine: progress is a courtesy.
                    let _ = app.emit(IMPORT_PROGRESS, event);
                }
            };
            imported.extend(w.import(Path::new(path), now, &mut progress)?);
        }
        Ok(imported.into_iter().map(record_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn record_detail(core: State<'_, Core>, id: String) -> Result<RecordDetail> {
    on_wallet(&core, move |w| {
        let id = w.find_record(&id)?;
        let record = w.record(&id)?;
        let json = if record.resource_type.is_some() && record.size <= DETAIL_JSON_LIMIT {
            let mut plain = Vec::new();
            w.export_record(&id, &mut plain)?;
            serde_json::from_slice::<serde_json::Value>(&plain)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
        } else {
            None
        };
        Ok(RecordDetail {
            record: record_view(record),
            json,
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn export_record(core: State<'_, Core>, id: String, path: String) -> Result<u64> {
    on_wallet(&core, move |w| {
        let id = w.find_record(&id)?;
        w.export_record_to(&id, Path::new(&path))
    })
    .await
}

// ------------------------------------------------------------------------------ sharing

fn request_view(review: RequestReview) -> RequestView {
    let r = review.request.document();
    let verification = match review.provider {
        ProviderVerification::Verified { directory } => VerificationView {
            state: VerificationState::Verified,
            directory: Some(directory),
            listed_name: None,
        },
        ProviderVerification::NameMismatch {
            listed_name,
            directory,
        } => VerificationView {
            state: VerificationState::NameMismatch,
            directory: Some(directory),
            listed_name: Some(listed_name),
        },
        ProviderVerification::Unlisted => VerificationView {
            state: VerificationState::Unlisted,
            directory: None,
            listed_name: None,
        },
        ProviderVerification::NoTrustedDirectory => VerificationView {
            state: VerificationState::NoDirectory,
            directory: None,
            listed_name: None,
        },
    };
    RequestView {
        uri: review.request.to_uri(),
        provider_name: r.provider_name.clone(),
        provider_key: r.provider_signing.to_string(),
        verification,
        purpose: r.purpose.clone(),
        resource_types: r.scope.resource_types.clone(),
        record_ids: r.scope.record_ids.iter().map(|id| id.to_string()).collect(),
        duration_secs: r.duration_secs,
        expires_at: r.expires_at,
        unpinned_nodes: review.unpinned_nodes,
        matching_records: review
            .matching_records
            .into_iter()
            .map(record_view)
            .collect(),
    }
}

/// A QR image from the UI: base64, optionally as a `data:` URL.
fn decode_image(text: &str) -> Result<Vec<u8>> {
    let b64 = match text.split_once(";base64,") {
        Some((prefix, rest)) if prefix.starts_with("data:") => rest,
        _ => text,
    };
    base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| AppError::bad_input("the QR image is not base64"))
}

#[tauri::command]
pub(crate) async fn review_request(
    core: State<'_, Core>,
    uri: Option<String>,
    image_base64: Option<String>,
) -> Result<RequestView> {
    let now = now()?;
    let uri = match (uri, image_base64) {
        (Some(uri), _) => uri,
        // Decoded here so any unreadable image is `bad_qr`, whatever its format.
        (None, Some(image)) => qr::decode(&decode_image(&image)?).map_err(WalletError::from)?,
        (None, None) => return Err(AppError::bad_input("give a request link or a QR image")),
    };
    on_wallet(&core, move |w| {
        w.review_request(RequestInput::Uri(&uri), now)
            .map(request_view)
    })
    .await
}

#[tauri::command]
pub(crate) async fn share(
    core: State<'_, Core>,
    uri: String,
    record_ids: Vec<String>,
    resource_types: Vec<String>,
    duration_secs: Option<u64>,
    confirm_nodes: bool,
) -> Result<ShareResult> {
    let now = now()?;
    on_wallet(&core, move |w| {
        let review = w.review_request(RequestInput::Uri(&uri), now)?;
        let choice = ShareChoice {
            record_ids: record_ids
                .iter()
                .map(|id| w.find_record(id))
                .collect::<std::result::Result<_, _>>()?,
            resource_types,
            duration_secs,
            confirm_nodes,
        };
        let outcome = w.share(&review, &choice, now)?;
        let g = outcome.grant.document();
        Ok(ShareResult {
            grant_id: g.grant_id.to_string(),
            provider_name: g.provider_name.clone(),
            not_after: g.not_after,
            records: u32::try_from(outcome.records.len()).unwrap_or(u32::MAX),
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn my_qr(core: State<'_, Core>) -> Result<MyQr> {
    on_wallet(&core, |w| {
        let uri = w.public_uri();
        let svg = qr::svg(&uri)?;
        Ok(MyQr { uri, svg })
    })
    .await
}

#[tauri::command]
pub(crate) async fn list_grants(core: State<'_, Core>) -> Result<Vec<GrantView>> {
    let now = now()?;
    on_wallet(&core, move |w| {
        Ok(w.grants(now)
            .into_iter()
            .map(|g| GrantView {
                id: g.id,
                provider_name: g.provider_name,
                provider_key: g.provider_key,
                purpose: g.purpose,
                not_before: g.not_before,
                not_after: g.not_after,
                status: g.status,
                ends_as: g.ends_as,
                waiting_for: g.waiting_for,
                records: g.records,
                resource_types: g.resource_types,
            })
            .collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn revoke(core: State<'_, Core>, grant_id: String) -> Result<RevokeResult> {
    let now = now()?;
    on_wallet(&core, move |w| {
        let id = w.find_grant(&grant_id)?;
        let outcome = w.revoke(&id, now)?;
        Ok(RevokeResult {
            rekeyed: u32::try_from(outcome.rekeyed.len()).unwrap_or(u32::MAX),
            waiting_for: outcome.waiting_for,
            backup_problems: outcome.backup_problems,
        })
    })
    .await
}

// ------------------------------------------------------------------------------- ledger

#[tauri::command]
pub(crate) async fn access_log(core: State<'_, Core>) -> Result<Vec<AccessView>> {
    on_wallet(&core, |w| {
        Ok(w.access_log()
            .into_iter()
            .map(|a| AccessView {
                served_at: a.served_at,
                provider_name: a.provider_name,
                provider_key: a.provider_key,
                grant_id: a.grant_id,
                records: a.records,
                node: a.node,
                index: a.index,
                verification: a.verification,
                independently_checked: a.independently_checked,
            })
            .collect())
    })
    .await
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[tauri::command]
pub(crate) async fn sync(core: State<'_, Core>) -> Result<SyncView> {
    let now = now()?;
    on_wallet(&core, move |w| {
        let report = w.sync(now)?;
        let failed = report.failed();
        Ok(SyncView {
            nodes: report
                .nodes
                .into_iter()
                .map(|n| NodeSyncView {
                    url: n.url,
                    verified_size: n.verified_size,
                    problem: n.problem,
                    alarm: n.alarm,
                    failed: n.failed,
                    independently_checked: n.independently_checked,
                    fresh_as_of: n.fresh_as_of,
                })
                .collect(),
            outbox_pending: count(report.outbox_pending),
            new_access_events: count(report.new_access_events),
            failed,
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn add_node(
    core: State<'_, Core>,
    url: String,
    log_key: String,
    witness_keys: Vec<String>,
    quorum: usize,
    no_witness: Option<bool>,
) -> Result<()> {
    on_wallet(&core, move |w| {
        // A remote node needs a witness unless the patient explicitly opts out.
        if no_witness == Some(true) {
            w.add_unwitnessed_node(&url, &log_key)
        } else {
            w.add_node(&url, &log_key, &witness_keys, quorum)
        }
    })
    .await
}

#[tauri::command]
pub(crate) async fn remove_node(core: State<'_, Core>, url: String) -> Result<NodeRemovalView> {
    let now = now()?;
    // The app never forces: a node that may still serve grants is kept until they are ended.
    let removed = on_wallet(&core, move |w| w.remove_node(&url, false, now)).await?;
    Ok(NodeRemovalView {
        url: removed.url,
        dropped_outbox: count(removed.dropped_outbox),
    })
}

#[tauri::command]
pub(crate) async fn move_node(core: State<'_, Core>, from: String, to: String) -> Result<()> {
    on_wallet(&core, move |w| w.move_node(&from, &to)).await
}

#[tauri::command]
pub(crate) async fn set_witness_policy(
    core: State<'_, Core>,
    witness_keys: Vec<String>,
    quorum: usize,
) -> Result<()> {
    on_wallet(&core, move |w| {
        w.set_witness_policy(WitnessPolicy {
            witness_keys,
            quorum,
        })
    })
    .await
}

// ------------------------------------------------------------------------------ erasure

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

#[tauri::command]
pub(crate) async fn erase_record(core: State<'_, Core>, id: String) -> Result<ReceiptView> {
    let now = now()?;
    let receipt = on_wallet(&core, move |w| {
        let id = w.find_record(&id)?;
        w.erase_record(&id, now)
    })
    .await?;
    receipt_view(receipt)
}

#[tauri::command]
pub(crate) async fn erase_grant(core: State<'_, Core>, grant_id: String) -> Result<ReceiptView> {
    let now = now()?;
    let receipt = on_wallet(&core, move |w| {
        let id = w.find_grant(&grant_id)?;
        // Erasing a grant revokes it first when it is still active; the receipt covers both.
        w.erase_grant(&id, now)
            .map(|(receipt, _revocation)| receipt)
    })
    .await?;
    receipt_view(receipt)
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

// ----------------------------------------------------------------------------- settings

#[tauri::command]
pub(crate) async fn settings(core: State<'_, Core>) -> Result<SettingsView> {
    let embedded = core.ledger().cloned();
    let vault_dir = path_text(core.vault_dir());
    on_wallet(&core, move |w| {
        let kdf = w.kdf();
        let outbox = w.outbox();
        let policy = w.witness_policy();
        Ok(SettingsView {
            nodes: w
                .nodes()
                .into_iter()
                .map(|(p, s)| {
                    let waiting = outbox.iter().find(|o| o.url == p.url);
                    NodeView {
                        outbox_pending: count(waiting.map_or(0, |o| o.pending)),
                        last_error: waiting.and_then(|o| o.last_error.clone()),
                        url: p.url,
                        log_key: p.log_key,
                        witness_keys: p.witness_keys,
                        quorum: count(p.quorum),
                        verified_size: s.checkpoint.is_some().then_some(s.size),
                        evidence: !s.evidence.is_empty(),
                    }
                })
                .collect(),
            outbox_pending: count(w.outbox_len()),
            witness_policy: WitnessPolicyView {
                witness_keys: policy.witness_keys.clone(),
                quorum: count(policy.quorum),
            },
            kdf: KdfView {
                memory_kib: kdf.memory_kib,
                iterations: kdf.iterations,
                parallelism: kdf.parallelism,
            },
            keyring_unlock: w.device_unlock_enabled(),
            embedded_node: embedded.as_ref().map(|l| l.url.clone()),
            embedded_log_key: embedded.map(|l| l.log_key),
            vault_dir,
            backups: w.backups().iter().map(|p| path_text(p)).collect(),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn qr_images_arrive_as_base64_or_data_urls() {
        assert_eq!(decode_image("aGk=").unwrap(), b"hi");
        assert_eq!(decode_image("data:image/png;base64,aGk=\n").unwrap(), b"hi");
        assert_eq!(decode_image("%%").unwrap_err().code, "bad_input");
    }

    #[test]
    fn recovery_words_arrive_as_a_list_or_a_line() {
        let list: Words = serde_json::from_str(r#"["a","b"]"#).unwrap();
        assert!(matches!(list, Words::List(w) if w == ["a", "b"]));
        let text: Words = serde_json::from_str(r#""a b""#).unwrap();
        assert!(matches!(text, Words::Text(t) if t == "a b"));
        assert!(serde_json::from_str::<Words>("3").is_err());
    }

    #[test]
    fn wallet_errors_keep_their_code() {
        let e = AppError::from(WalletError::EmptyShare);
        assert_eq!(e.code, "empty_share");
        assert_eq!(e.message, WalletError::EmptyShare.to_string());
    }
}
