//! Records: list, import (with progress events), detail, export.

use std::path::Path;

use tauri::{AppHandle, Emitter as _, Runtime, State};

use carekey_wallet::RecordSummary;

use super::{on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{ImportProgress, RecordDetail, RecordView};

/// The event `import_files` emits as it reads files.
pub const IMPORT_PROGRESS: &str = "import-progress";

/// FHIR records up to this size are shown as pretty JSON in the detail view.
const DETAIL_JSON_LIMIT: u64 = 2 * 1024 * 1024;

pub(super) fn record_view(r: RecordSummary) -> RecordView {
    RecordView {
        id: r.id.to_string(),
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
        Ok(w.records().list().into_iter().map(record_view).collect())
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
            imported.extend(w.records().import(Path::new(path), now, &mut progress)?);
        }
        Ok(imported.into_iter().map(record_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn record_detail(core: State<'_, Core>, id: String) -> Result<RecordDetail> {
    on_wallet(&core, move |w| {
        let id = w.records().find(&id)?;
        let record = w.records().get(&id)?;
        let json = if record.resource_type.is_some() && record.size <= DETAIL_JSON_LIMIT {
            let mut plain = Vec::new();
            w.records().export(&id, &mut plain)?;
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
        let id = w.records().find(&id)?;
        w.records().export_to(&id, Path::new(&path))
    })
    .await
}
