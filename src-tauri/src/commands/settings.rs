//! The settings screen.

use tauri::State;

use super::{count, on_wallet, path_text, Result};
use crate::core::Core;
use crate::types::{KdfView, NodeView, SettingsView, WitnessPolicyView};

#[tauri::command]
pub(crate) async fn settings(core: State<'_, Core>) -> Result<SettingsView> {
    let embedded = core.ledger().cloned();
    let vault_dir = path_text(core.vault_dir());
    on_wallet(&core, move |w| {
        let kdf = w.kdf();
        let outbox = w.ledger().outbox();
        let policy = w.ledger().witness_policy().clone();
        Ok(SettingsView {
            nodes: w
                .ledger()
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
            outbox_pending: count(w.ledger().outbox_len()),
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
            backups: w.backups().list().iter().map(|p| path_text(p)).collect(),
        })
    })
    .await
}
