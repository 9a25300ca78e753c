//! The views of issue 11's screens: SMART Health Cards in, trusted card issuers, the patient
//! summary (International Patient Summary).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What checking a card found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum CardCheckView {
    /// The issuer is trusted and its key verified the card (not expired, not revoked).
    Verified,
    /// The issuer is not on the patient's list: nothing was checked and nobody was asked.
    NotVerified,
}

/// An imported SMART Health Card, as the patient sees it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct CardView {
    /// The record holding the card's FHIR Bundle (hex): a route parameter.
    pub record: String,
    /// Who the card says issued it (its `iss` URL); verified only when `check` says so.
    pub issuer: String,
    /// What checking it found.
    pub check: CardCheckView,
    /// The issuer's key that verified it (technical details), when verified.
    pub key_id: Option<String>,
    /// When it was issued (unix seconds).
    #[ts(type = "number")]
    pub issued_at: u64,
    /// When it expires (unix seconds), if it does.
    #[ts(type = "number | null")]
    pub expires_at: Option<u64>,
    /// When it was imported (unix seconds).
    #[ts(type = "number")]
    pub imported_at: u64,
    /// The record's title ("Health card: Immunization").
    pub title: String,
}

/// An issuer whose cards the wallet checks.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct IssuerView {
    /// The issuer URL, as its cards name it.
    pub url: String,
    /// When the patient added it (unix seconds).
    #[ts(type = "number")]
    pub added_at: u64,
}

/// One entry of a summary section, in plain words.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct SummaryEntryView {
    /// FHIR resource type (technical details).
    pub resource_type: String,
    /// What it is: "Penicillin", "Asthma".
    pub title: String,
    /// Value, dosage, status…
    pub detail: Option<String>,
    /// Its date, as written.
    pub date: Option<String>,
}

/// One section of the patient summary.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct SummarySectionView {
    /// Its title as the document writes it ("Allergies and intolerances"); the UI names the
    /// sections it knows by `code` in the patient's language.
    pub title: String,
    /// Its LOINC code ("48765-2").
    pub code: Option<String>,
    /// Its entries, in document order.
    pub entries: Vec<SummaryEntryView>,
    /// Why it is empty, as the document says, when it is.
    pub empty_reason: Option<String>,
}

/// The patient summary, made now from the current records.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct PatientSummaryView {
    /// Who it is about: the Patient record's title ("Ada Lovelace").
    pub patient_name: String,
    /// The Patient record's detail (birth date…), if any.
    pub patient_detail: Option<String>,
    /// When it was made (unix seconds).
    #[ts(type = "number")]
    pub made_at: u64,
    /// The sections, required ones first.
    pub sections: Vec<SummarySectionView>,
    /// It has every element the IPS profiles require (the wallet's IPS check).
    pub passes_check: bool,
    /// What the check found missing, when it did not pass (technical details).
    pub problems: Vec<String>,
    /// How many records it holds besides the patient.
    pub included: u32,
    /// FHIR records left out (earlier Patient records, saved summaries, what no entry refers to).
    pub left_out: u32,
}
