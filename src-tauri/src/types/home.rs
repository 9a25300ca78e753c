//! The views of issue 10's screens: home, a grant's page, the background ledger checks,
//! backup places and schedules, provider directories.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{AccessView, GrantStatusView, GrantView, RecordView, VerificationView};

/// What kind of access a holder has. Only grants today; links, caregivers and emergency access
/// join this list in later issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum AccessHolderKind {
    /// A grant to a provider.
    Grant,
}

/// Someone who can see records now (or whose access is ending), as the home screen lists them.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct AccessHolderView {
    /// What kind of access.
    pub kind: AccessHolderKind,
    /// The grant id (hex): a route parameter, never shown.
    pub id: String,
    /// The person or organisation, as named in their request.
    pub who: String,
    /// A provider directory the patient trusts vouches for this name and key.
    pub verified: bool,
    /// FHIR resource types shared.
    pub resource_types: Vec<String>,
    /// How many records the grant covers now.
    pub record_count: u32,
    /// Start of validity (unix seconds).
    #[ts(type = "number")]
    pub since: u64,
    /// End of validity (unix seconds): the earlier end the patient chose when shortened.
    #[ts(type = "number")]
    pub not_after: u64,
    /// The patient shortened it (it ends before the end it was given for).
    pub shortened: bool,
    /// Active or ending.
    pub status: GrantStatusView,
    /// For an "ending" grant: how many ledger nodes have not yet confirmed the end.
    pub waiting_for: u32,
    /// The latest verified access under this grant (unix seconds).
    #[ts(type = "number | null")]
    pub last_access_at: Option<u64>,
    /// How many records that latest access read.
    pub last_access_records: u32,
    /// Accesses under this grant in all.
    pub accesses: u32,
}

/// The most recent access to any record.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct LatestAccessView {
    /// The provider.
    pub who: String,
    /// The grant (route parameter, never shown).
    pub holder_id: String,
    /// When (unix seconds).
    #[ts(type = "number")]
    pub at: u64,
    /// How many records.
    pub records: u32,
    /// False: the access did not verify (show it as an alarm).
    pub genuine: bool,
}

/// Backups written on a schedule to a chosen folder (while the app runs and the wallet is
/// unlocked).
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct BackupScheduleView {
    /// The folder.
    pub folder: String,
    /// Every how many days.
    pub every_days: u32,
    /// When the next one is due (unix seconds).
    #[ts(type = "number")]
    pub next_at: u64,
    /// Why the last scheduled backup failed (the folder is gone, the drive is not plugged in).
    pub last_problem: Option<String>,
}

/// Where the patient's backups stand.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct BackupStateView {
    /// The newest backup this wallet wrote (unix seconds); null: none yet.
    #[ts(type = "number | null")]
    pub last_at: Option<u64>,
    /// The folder it went to.
    pub last_place: Option<String>,
    /// The schedule, if any.
    pub schedule: Option<BackupScheduleView>,
    /// The wallet's rule: no backup yet, or the newest is older than the schedule (or 30 days).
    pub due: bool,
    /// A backup's key share has not reached a ledger node yet: it cannot be restored until it
    /// has.
    pub share_pending: bool,
}

/// "alarm": a node was caught lying (evidence kept); "unverified": a node served what does not
/// verify; "unreachable": writes are waiting for a node that does not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum LedgerProblemKind {
    /// Evidence of a lying node is kept.
    Alarm,
    /// A node served what does not verify.
    Unverified,
    /// Writes wait for a node that does not answer.
    Unreachable,
}

/// The worst ledger problem, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct LedgerProblemView {
    /// What kind.
    pub kind: LedgerProblemKind,
    /// How many nodes it concerns.
    pub nodes: u32,
}

/// What the background checks found: sent as the `ledger-update` event after every check and
/// returned by `ledger_status` / `check_now`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct LedgerStatusView {
    /// The wallet is locked: only `newWhileLocked` says anything.
    pub locked: bool,
    /// The last completed check (unix seconds).
    #[ts(type = "number | null")]
    pub checked_at: Option<u64>,
    /// Accesses the patient has not looked at yet (0 while locked).
    pub unseen_accesses: u32,
    /// Grants ending within three days (0 while locked).
    pub expiring_soon: u32,
    /// The worst ledger problem.
    pub problem: Option<LedgerProblemView>,
    /// While locked: a check found something new for this wallet ("unlock to see"). No
    /// details.
    pub new_while_locked: bool,
}

/// The home screen: who can see the patient's records, and what needs attention.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct HomeView {
    /// The wallet's clock (unix seconds): relative times are computed from it.
    #[ts(type = "number")]
    pub now: u64,
    /// Active and ending access, soonest end first.
    pub holders: Vec<AccessHolderView>,
    /// The next end of an active access (unix seconds).
    #[ts(type = "number | null")]
    pub next_expiry: Option<u64>,
    /// The latest access to any record.
    pub latest_access: Option<LatestAccessView>,
    /// SMART Health Links that can be opened now, newest first.
    pub links: Vec<super::HealthLinkView>,
    /// The latest logged request for a link (a viewer's own claim).
    pub latest_link_open: Option<super::HealthLinkOpenView>,
    /// Backups.
    pub backup: BackupStateView,
    /// The ledger.
    pub ledger: LedgerStatusView,
}

/// A grant's own page.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct GrantDetailView {
    /// The grant.
    pub grant: GrantView,
    /// Whether a trusted directory vouches for the provider, checked now.
    pub verification: VerificationView,
    /// The provider's short code ("K7QF-M2XD-9R"), for comparing with what the desk shows.
    pub provider_code: String,
    /// The records it covers that still exist.
    pub records: Vec<RecordView>,
    /// Every access under this grant, newest first.
    pub accesses: Vec<AccessView>,
    /// When it was revoked or erased (unix seconds).
    #[ts(type = "number | null")]
    pub ended_at: Option<u64>,
    /// The wallet's clock (unix seconds).
    #[ts(type = "number")]
    pub now: u64,
}

/// What the wallet can tell about a folder chosen for backups.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct BackupPlaceView {
    /// The folder exists and can be written.
    pub writable: bool,
    /// The folder is on the same disk as the wallet: lost with the device.
    pub same_disk_as_wallet: bool,
    /// The folder is on removable media (a USB drive, an SD card), as far as the OS tells.
    pub removable: bool,
}

/// A provider directory the patient trusts.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct DirectoryView {
    /// The directory's key (hex): technical details only; the id for removing it.
    pub key: String,
    /// The directory's name ("Medical Council"); null while only its key is pinned.
    pub name: Option<String>,
    /// How many providers it lists.
    pub providers: u32,
    /// When it was signed (unix seconds).
    #[ts(type = "number | null")]
    pub signed_at: Option<u64>,
}
