//! The patient summary (an International Patient Summary of the records): shown, kept as a
//! record, written to a file.

use tauri::State;

use carekey_wallet::PatientSummary;

use super::records::record_view;
use super::{count, on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{
    AppError, PatientSummaryView, RecordView, SummaryEntryView, SummarySectionView,
};

fn summary_view(
    s: PatientSummary,
    patient_name: String,
    patient_detail: Option<String>,
    made_at: u64,
) -> PatientSummaryView {
    PatientSummaryView {
        patient_name,
        patient_detail,
        made_at,
        passes_check: s.problems.is_empty(),
        problems: s.problems,
        included: count(s.included.len()),
        left_out: count(s.left_out.len()),
        sections: s
            .sections
            .into_iter()
            .map(|section| SummarySectionView {
                title: section.title,
                code: section.code,
                entries: section
                    .entries
                    .into_iter()
                    .map(|e| SummaryEntryView {
                        resource_type: e.resource_type,
                        title: e.title,
                        detail: e.detail,
                        date: e.date,
                    })
                    .collect(),
                empty_reason: section.empty_reason,
            })
            .collect(),
    }
}

#[tauri::command]
pub(crate) async fn patient_summary(core: State<'_, Core>) -> Result<PatientSummaryView> {
    let now = now()?;
    on_wallet(&core, move |w| {
        let summary = w.patient_summary(now)?;
        // Who it is about, in the words the records list uses for that record.
        let patient = w.records().get(&summary.patient)?;
        Ok(summary_view(summary, patient.title, patient.detail, now))
    })
    .await
}

#[tauri::command]
pub(crate) async fn save_patient_summary(core: State<'_, Core>) -> Result<RecordView> {
    let now = now()?;
    on_wallet(&core, move |w| w.save_patient_summary(now).map(record_view)).await
}

/// Writes the patient summary as FHIR JSON (an IPS document Bundle) to `path`: the bytes
/// written.
#[tauri::command]
pub(crate) async fn export_patient_summary(core: State<'_, Core>, path: String) -> Result<u64> {
    let now = now()?;
    let core = core.inner().clone();
    super::blocking(move || {
        if path.trim().is_empty() {
            return Err(AppError::bad_input("choose where to save the summary"));
        }
        let json = core.with_wallet(|w| w.patient_summary(now).map(|s| s.json))?;
        // Written with the wallet free: a slow disk holds up only this answer.
        std::fs::write(&path, &json).map_err(|e| AppError::io("writing", &path, e))?;
        Ok(u64::try_from(json.len()).unwrap_or(u64::MAX))
    })
    .await
}
