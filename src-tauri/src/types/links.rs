//! The views of issue 11's SMART Health Links: making a link, a link and its page, and the
//! logged requests for it (a viewer's own claim, never verified).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What the patient chose for a new link.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct CreateLinkArgs {
    /// Records to share (ids).
    pub record_ids: Vec<String>,
    /// Also (or only) the patient summary.
    pub summary: bool,
    /// The name the clinic sees (at most 80 characters).
    pub label: Option<String>,
    /// When the link stops working (unix seconds).
    #[ts(type = "number | null")]
    pub expires_at: Option<u64>,
    /// A passcode the clinic must type.
    pub passcode: Option<String>,
    /// Wrong passcodes allowed (default 10).
    pub attempts: Option<u32>,
    /// The link follows later changes of its records.
    pub long_term: bool,
}

/// Where a link stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum HealthLinkStateView {
    /// Works.
    Active,
    /// Its time ran out.
    Expired,
    /// Ended here; the node has not confirmed yet.
    Ending,
    /// Ended; the node deleted the files.
    Ended,
}

/// A link as the patient sees it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct HealthLinkView {
    /// The link id (a route parameter, never shown).
    pub id: String,
    /// The name the clinic sees.
    pub label: Option<String>,
    /// The ledger node that serves it (technical details).
    pub node: String,
    /// When it was made (unix seconds).
    #[ts(type = "number")]
    pub created_at: u64,
    /// When it stops working.
    #[ts(type = "number | null")]
    pub expires_at: Option<u64>,
    /// A passcode is needed.
    pub passcode: bool,
    /// It follows later changes.
    pub long_term: bool,
    /// How many records it carries.
    pub record_count: u32,
    /// Their ids.
    pub records: Vec<String>,
    /// It carries the patient summary.
    pub summary: bool,
    /// Where it stands.
    pub state: HealthLinkStateView,
    /// When it ended.
    #[ts(type = "number | null")]
    pub ended_at: Option<u64>,
    /// How many times it was opened.
    pub opens: u32,
    /// Wrong passcodes tried.
    pub failed_attempts: u32,
}

/// A link just made: shown once with its QR code and passcode.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct CreatedLinkView {
    /// The link.
    pub link: HealthLinkView,
    /// `shlink:/…`: what the QR code holds.
    pub uri: String,
    /// The QR code (SVG).
    pub qr_svg: String,
    /// The passcode, shown this once (the wallet does not keep it).
    pub passcode: Option<String>,
}

/// One logged request for a link.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct HealthLinkOpenView {
    /// The link.
    pub link_id: String,
    /// Its name.
    pub label: Option<String>,
    /// Who the viewer said it is: its own claim.
    pub recipient: String,
    /// The records were handed out (false: a wrong passcode).
    pub opened: bool,
    /// Attempts left after a wrong passcode.
    pub remaining_attempts: Option<u32>,
    /// When (unix seconds).
    #[ts(type = "number")]
    pub at: u64,
    /// The node (technical details).
    pub node: String,
    /// Log index (technical details).
    #[ts(type = "number")]
    pub index: u64,
}

/// A link's page.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct HealthLinkDetailView {
    /// The link.
    pub link: HealthLinkView,
    /// `shlink:/…` while it works.
    pub uri: Option<String>,
    /// Its QR code while it works.
    pub qr_svg: Option<String>,
    /// Every logged request, newest first.
    pub opens: Vec<HealthLinkOpenView>,
    /// The wallet's clock (unix seconds), for relative dates.
    #[ts(type = "number")]
    pub now: u64,
}
