//! The patient summary: an International Patient Summary (IPS 2.0.0 document Bundle) built
//! from every current record, to show, to write to a file, or to keep as a record of its own
//! (which is then shared, in a grant or a link, like any record).
//!
//! Which records: every FHIR record except saved summaries (Bundles). The subject is the
//! Patient record imported last (a wallet holds one person; several Patient records are that
//! person as several systems know them, and references to any of them point to the subject).
//! What [`carekey_model::fhir::ips::build`] puts in: the resources that belong in a section and
//! what they refer to. A saved summary is a copy: erasing a record later does not change it
//! (erase the saved summary too, or save a new one).

use carekey_model::fhir::ips::{self, IpsInput, IpsResource, Uuid};
use carekey_model::RecordId;

use super::records::{self, RecordMeta, RecordSummary, Records};
use super::session::PatientSession;
use crate::WalletError;

/// The category a saved summary is listed under.
const SUMMARY_CATEGORY: &str = "documents";

/// Why a patient summary could not be made, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// No record is a FHIR Patient resource: a summary is about someone (name, birth date).
    #[error(
        "no record is a FHIR Patient resource: import one with your name and birth date first"
    )]
    NoPatient,
    /// A record imported as FHIR JSON no longer reads as JSON.
    #[error("record {record} was imported as FHIR JSON but does not read as JSON")]
    NotJson {
        /// The record.
        record: RecordId,
    },
    /// The records could not be gathered into an IPS.
    #[error("the records could not be gathered into a patient summary: {0}")]
    Build(#[from] ips::BuildError),
}

impl SummaryError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            SummaryError::NoPatient => "no_patient_record",
            SummaryError::NotJson { .. } => "record_not_json",
            SummaryError::Build(_) => "summary_failed",
        }
    }
}

/// A patient summary, made now from the current records.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PatientSummary {
    /// The IPS document Bundle (FHIR R4 JSON, `application/fhir+json`).
    #[serde(skip)]
    pub json: Vec<u8>,
    /// The Patient record it is about.
    pub patient: RecordId,
    /// The records in it besides the patient, in document order.
    pub included: Vec<RecordId>,
    /// FHIR records left out: not clinical and referred to by none in it (other Patient
    /// records, documents, unreferenced practitioners…), or saved summaries.
    pub left_out: Vec<RecordId>,
    /// How many references were removed because they named nothing in the wallet.
    pub dropped_references: usize,
    /// The summary in plain words, section by section.
    pub sections: Vec<SummarySection>,
    /// What [`ips::check`] found missing against the IPS profiles' required elements, in
    /// document order (empty: the document passes).
    pub problems: Vec<String>,
}

/// One section of a [`PatientSummary`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SummarySection {
    /// "Problems", "Allergies and intolerances"…
    pub title: String,
    /// Its LOINC code.
    pub code: Option<String>,
    /// Its entries in plain words.
    pub entries: Vec<SummaryLine>,
    /// Why it is empty, when it is.
    pub empty_reason: Option<String>,
}

/// One entry of a [`SummarySection`], in the words the records list uses.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SummaryLine {
    /// FHIR resource type.
    pub resource_type: String,
    /// What it is: "Penicillin", "Asthma".
    pub title: String,
    /// Value, dosage, status…
    pub detail: Option<String>,
    /// Its date, as written.
    pub date: Option<String>,
}

/// Builds the patient summary from every current record.
pub(super) fn build(s: &PatientSession, now: u64) -> Result<PatientSummary, WalletError> {
    // Import order, then position in the file: the order the patient met them in.
    let mut fhir: Vec<(&RecordId, &crate::state::RecordEntry)> = s
        .state
        .records
        .iter()
        .filter(|(_, r)| r.resource_type.is_some())
        .collect();
    fhir.sort_by_key(|(id, r)| {
        let (file, position) = source(&r.name);
        (r.imported_at, file.to_owned(), position, **id)
    });
    let mut left_out = Vec::new();
    let mut patient = None;
    let mut others: Vec<(RecordId, IpsResource)> = Vec::new();
    for (id, r) in fhir {
        if r.resource_type.as_deref() == Some("Bundle") {
            left_out.push(*id);
            continue;
        }
        let mut bytes = Vec::with_capacity(usize::try_from(r.size).unwrap_or(0));
        records::decrypt(s, id, &mut bytes)?;
        let resource =
            serde_json::from_slice(&bytes).map_err(|_| SummaryError::NotJson { record: *id })?;
        let resource = IpsResource {
            resource,
            origin: Some(format!("{}@{}", source(&r.name).0, r.imported_at)),
        };
        if r.resource_type.as_deref() == Some("Patient") {
            // The last one imported is the subject; the earlier ones are the same person.
            if let Some(earlier) = patient.replace((*id, resource.clone())) {
                others.push(earlier);
            }
        } else {
            others.push((*id, resource));
        }
    }
    let (patient_id, patient) = patient.ok_or(SummaryError::NoPatient)?;
    let (ids, resources): (Vec<RecordId>, Vec<IpsResource>) = others.into_iter().unzip();
    let built = ips::build(&IpsInput {
        seed: Uuid::generate(),
        now,
        patient,
        resources,
    })
    .map_err(SummaryError::from)?;
    let included: Vec<RecordId> = built.included.iter().map(|&i| ids[i]).collect();
    left_out.extend(ids.iter().filter(|id| !included.contains(id)));
    let json = serde_json::to_vec_pretty(&built.bundle)
        .map_err(|e| WalletError::State(format!("writing the summary JSON: {e}")))?;
    let problems = match ips::check(&built.bundle) {
        Ok(()) => Vec::new(),
        Err(found) => found.iter().map(ToString::to_string).collect(),
    };
    let outline = ips::outline(&built.bundle);
    Ok(PatientSummary {
        json,
        patient: patient_id,
        included,
        left_out,
        dropped_references: built.dropped.len(),
        problems,
        sections: outline
            .sections
            .into_iter()
            .map(|section| SummarySection {
                title: section.title,
                code: section.section.map(|s| s.code().to_owned()),
                entries: section
                    .entries
                    .into_iter()
                    .map(|e| SummaryLine {
                        resource_type: e.resource_type,
                        title: e.title,
                        detail: e.detail,
                        date: e.date,
                    })
                    .collect(),
                empty_reason: section.empty_reason,
            })
            .collect(),
    })
}

/// Builds the patient summary and keeps it as a record (a FHIR `Bundle`, listed under
/// documents), committed before it is reported.
pub(super) fn save(s: &mut PatientSession, now: u64) -> Result<RecordSummary, WalletError> {
    let summary = build(s, now)?;
    let date = carekey_model::format_utc(now);
    let entries: usize = summary.sections.iter().map(|s| s.entries.len()).sum();
    let meta = RecordMeta {
        name: format!("patient-summary-{}.json", &date[..10]),
        resource_type: Some("Bundle".to_owned()),
        fhir_id: None,
        category: SUMMARY_CATEGORY.to_owned(),
        title: ips::IPS_TITLE.to_owned(),
        detail: Some(format!(
            "{entries} entries in {} sections",
            summary.sections.len()
        )),
        date: Some(date),
    };
    let mut records = Records { s };
    let id = records.add(meta, &summary.json[..], now)?;
    records.s.save()?;
    records.get(&id)
}

/// The file a record was imported from and its position in it (`name.json#3` → 3).
fn source(name: &str) -> (&str, u64) {
    match name.rsplit_once('#') {
        Some((file, n)) if n.bytes().all(|b| b.is_ascii_digit()) && !n.is_empty() => {
            (file, n.parse().unwrap_or(u64::MAX))
        }
        _ => (name, 0),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::path::{Path, PathBuf};

    use carekey_model::fhir::ips;
    use serde_json::{json, Value};

    use crate::{FileStore, Passphrase, PatientWallet, SummaryError, WalletError};

    const NOW: u64 = 1_780_000_000;

    fn wallet(dir: &Path) -> PatientWallet {
        super::super::tests::test_wallet(dir, NOW)
    }

    fn import(w: &mut PatientWallet, path: &Path, now: u64) -> usize {
        w.records().import(path, now, &mut |_, _| {}).unwrap().len()
    }

    fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::to_vec(value).unwrap()).unwrap();
        path
    }

    fn hl7_example(name: &str) -> PathBuf {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/vectors/node_modules/hl7.fhir.uv.ips/example")
            .join(name);
        assert!(
            path.is_file(),
            "{} is missing: run `npm ci --prefix tests/vectors`",
            path.display()
        );
        path
    }

    #[test]
    fn an_hl7_ips_imports_as_records_and_the_wallet_summarises_them_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wallet(dir.path());
        let file = hl7_example("Bundle-IPS-examples-Bundle-01.json");
        let original: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        // The ordinary import path: one record per resource, the Composition left out.
        let imported = w.records().import(&file, NOW, &mut |_, _| {}).unwrap();
        assert_eq!(
            imported.len(),
            original["entry"].as_array().unwrap().len() - 1
        );
        assert!(imported
            .iter()
            .all(|r| r.resource_type.as_deref() != Some("Composition")));
        // A plain file beside it is not part of any summary and does not get in the way.
        std::fs::write(dir.path().join("scan.bin"), [0u8, 1, 2, 3]).unwrap();
        import(&mut w, &dir.path().join("scan.bin"), NOW + 1);

        let summary = w.patient_summary(NOW + 10).unwrap();
        let bundle: Value = serde_json::from_slice(&summary.json).unwrap();
        assert_eq!(ips::check(&bundle), Ok(()));
        assert!(summary.problems.is_empty(), "{:?}", summary.problems);
        assert_eq!(bundle["timestamp"], carekey_model::format_utc(NOW + 10));
        let patient = w.records().get(&summary.patient).unwrap();
        assert_eq!(patient.resource_type.as_deref(), Some("Patient"));
        // The author Practitioner and the custodian Organization were only named by the old
        // Composition: left out. Everything clinical is in.
        assert_eq!(summary.included.len(), 16, "{:?}", summary.included);
        assert_eq!(summary.left_out.len(), 2);
        assert_eq!(summary.dropped_references, 0);
        let titles: Vec<&str> = summary.sections.iter().map(|s| s.title.as_str()).collect();
        assert_eq!(
            titles,
            [
                "Problems",
                "Allergies and intolerances",
                "Medication summary",
                "Results",
                "Past problems"
            ]
        );
        assert_eq!(
            summary.sections[2].entries[0].title,
            "Product containing anastrozole (medicinal product)"
        );

        // Saved as a record of its own: a Bundle under documents, readable as the same IPS.
        let saved = w.save_patient_summary(NOW + 20).unwrap();
        assert_eq!(saved.resource_type.as_deref(), Some("Bundle"));
        assert_eq!(saved.category, "documents");
        assert_eq!(saved.title, ips::IPS_TITLE);
        let mut bytes = Vec::new();
        w.records().export(&saved.id, &mut bytes).unwrap();
        let stored: Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(ips::check(&stored), Ok(()));
        assert_eq!(stored["timestamp"], carekey_model::format_utc(NOW + 20));
        // …and it survives a lock and unlock (committed), and is left out of the next summary.
        let dir_p = dir.path().join("p");
        drop(w);
        let mut w = PatientWallet::unlock(
            &dir_p,
            &Passphrase::new("a patient passphrase".into()),
            Box::new(FileStore::new(dir.path().join("p.device"))),
        )
        .unwrap();
        assert!(w.records().get(&saved.id).is_ok());
        let next = w.patient_summary(NOW + 30).unwrap();
        assert!(next.left_out.contains(&saved.id));
        assert_eq!(next.included.len(), 16);
        // A new document each time: a new identifier.
        let next_bundle: Value = serde_json::from_slice(&next.json).unwrap();
        assert_ne!(next_bundle["identifier"], stored["identifier"]);
    }

    #[test]
    fn without_a_patient_record_there_is_no_summary() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wallet(dir.path());
        let allergy = json!({"resourceType": "AllergyIntolerance", "code": {"text": "Penicillin"}});
        import(&mut w, &write(dir.path(), "a.json", &allergy), NOW);
        let err = w.patient_summary(NOW).unwrap_err();
        assert!(
            matches!(err, WalletError::Summary(SummaryError::NoPatient)),
            "{err:?}"
        );
        assert_eq!(err.code(), "no_patient_record");
        assert!(w.save_patient_summary(NOW).is_err());
        assert_eq!(w.records().list().len(), 1, "nothing saved");
    }

    #[test]
    fn the_patient_imported_last_is_the_subject_and_every_patient_reference_points_to_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wallet(dir.path());
        let clinic = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "clinic-17", "name": [{"text": "A. Lovelace"}]}},
            {"resource": {"resourceType": "Condition", "id": "c", "code": {"text": "Asthma"},
                          "subject": {"reference": "Patient/clinic-17"}}}
        ]});
        let hospital = json!({"resourceType": "Bundle", "type": "collection", "entry": [
            {"resource": {"resourceType": "Patient", "id": "h-9", "name": [{"text": "Ada Lovelace"}],
                          "birthDate": "1815-12-10"}},
            {"resource": {"resourceType": "AllergyIntolerance", "id": "a", "code": {"text": "Penicillin"},
                          "patient": {"reference": "Patient/h-9"}}}
        ]});
        import(&mut w, &write(dir.path(), "clinic.json", &clinic), NOW);
        import(
            &mut w,
            &write(dir.path(), "hospital.json", &hospital),
            NOW + 1,
        );
        let summary = w.patient_summary(NOW + 2).unwrap();
        assert_eq!(
            w.records().get(&summary.patient).unwrap().title,
            "Ada Lovelace"
        );
        let bundle: Value = serde_json::from_slice(&summary.json).unwrap();
        assert_eq!(ips::check(&bundle), Ok(()));
        let subject = &bundle["entry"][0]["resource"]["subject"]["reference"];
        let resources: Vec<&Value> = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| &e["resource"])
            .collect();
        let condition = resources
            .iter()
            .find(|r| r["resourceType"] == "Condition")
            .unwrap();
        assert_eq!(&condition["subject"]["reference"], subject);
        let patients = resources
            .iter()
            .filter(|r| r["resourceType"] == "Patient")
            .count();
        assert_eq!(patients, 1, "the clinic's Patient record is left out");
        assert_eq!(summary.left_out.len(), 1);
        assert_eq!(
            w.records().get(&summary.left_out[0]).unwrap().title,
            "A. Lovelace"
        );
    }
}
