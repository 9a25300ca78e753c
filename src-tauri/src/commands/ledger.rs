//! Ledger nodes: the access history, sync (through the ledger agent), pinning.

use tauri::State;

use carekey_wallet::{agent, WitnessPolicy};

use super::{blocking, count, on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{AccessView, NodeRemovalView, NodeSyncView, SyncView};

/// An access event as the UI shows it.
pub(super) fn access_view(a: carekey_wallet::AccessView) -> AccessView {
    AccessView {
        served_at: a.served_at,
        provider_name: a.provider_name,
        provider_key: a.provider_key,
        grant_id: a.grant_id.to_string(),
        records: a.records.iter().map(ToString::to_string).collect(),
        node: a.node,
        index: a.index,
        verification: a.verification,
        independently_checked: a.independently_checked,
    }
}

#[tauri::command]
pub(crate) async fn access_log(core: State<'_, Core>) -> Result<Vec<AccessView>> {
    on_wallet(&core, |w| {
        Ok(w.ledger()
            .access_log()
            .into_iter()
            .map(access_view)
            .collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn sync(core: State<'_, Core>) -> Result<SyncView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        // The wallet lock is held only to take the snapshot and apply the results.
        let report = agent::sync(&core, now)?;
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
            w.ledger().add_unwitnessed_node(&url, &log_key)
        } else {
            w.ledger().add_node(&url, &log_key, &witness_keys, quorum)
        }
    })
    .await
}

#[tauri::command]
pub(crate) async fn remove_node(core: State<'_, Core>, url: String) -> Result<NodeRemovalView> {
    let now = now()?;
    // The app never forces: a node that may still serve grants is kept until they are ended.
    let removed = on_wallet(&core, move |w| w.ledger().remove_node(&url, false, now)).await?;
    Ok(NodeRemovalView {
        url: removed.url,
        dropped_outbox: count(removed.dropped_outbox),
    })
}

#[tauri::command]
pub(crate) async fn move_node(core: State<'_, Core>, from: String, to: String) -> Result<()> {
    on_wallet(&core, move |w| w.ledger().move_node(&from, &to)).await
}

#[tauri::command]
pub(crate) async fn set_witness_policy(
    core: State<'_, Core>,
    witness_keys: Vec<String>,
    quorum: usize,
) -> Result<()> {
    on_wallet(&core, move |w| {
        w.ledger().set_witness_policy(WitnessPolicy {
            witness_keys,
            quorum,
        })
    })
    .await
}
