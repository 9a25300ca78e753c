//! What crosses the bridge to the UI: one view type per command result, exported to
//! TypeScript (`ui/src/bindings/`) with ts-rs. Field names are camelCase on the wire.
//!
//! `u64` fields are plain JSON numbers on the wire (serde_json), so they are typed `number`
//! rather than ts-rs's default `bigint`: times (unix seconds) and sizes stay far below 2^53.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

mod cards;
mod home;
mod links;
pub use cards::*;
pub use home::*;
pub use links::*;

/// An error as the UI receives it: a stable `code` to branch on and a message to show.
///
/// `code` is `carekey_wallet::WalletError::code()` (`wrong_passphrase`, `bad_qr`, …) or one of
/// the app's own: `locked`, `no_wallet`, `bad_input`, `io`, `internal`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct AppError {
    /// Stable machine-readable code.
    pub code: String,
    /// What happened, in words a patient can act on.
    pub message: String,
    /// For `card_refused`: why, as a word the UI puts in the patient's words (`altered`,
    /// `expired`, `not_yet_valid`, `revoked`, `issuer_key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<String>,
    /// For `card_refused` and `issuer_unreachable`: the card issuer it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub issuer: Option<String>,
}

/// The app's state at a glance: what the first screen needs.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct AppStatus {
    /// A wallet exists in `vaultDir`.
    pub wallet_exists: bool,
    /// The wallet is unlocked in this session.
    pub unlocked: bool,
    /// The wallet can be unlocked from the OS keyring without the passphrase.
    pub keyring_unlock: bool,
    /// Where the vault lives.
    pub vault_dir: String,
    /// The embedded ledger node's URL, when it runs.
    pub embedded_node: Option<String>,
    /// The embedded ledger node's log key (C2SP note verifier key), when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub embedded_log_key: Option<String>,
    /// Where the device secret lives ("OS keyring (Secret Service)", "file …").
    pub secret_store: String,
    /// Ledger writes an erased wallet left in the erasure journal, still being sent (the app
    /// sends them every minute): one line per node.
    pub erasure_pending: Vec<String>,
}

/// The recovery kit, shown once after `create_wallet`.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct RecoveryKitView {
    /// The 24 recovery words, in order.
    pub words: Vec<String>,
    /// The words as a QR code (SVG markup).
    pub qr_svg: String,
}

/// A record as the patient sees it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct RecordView {
    /// Record id (hex).
    pub id: String,
    /// Source file name.
    pub name: String,
    /// Allergies, medications, conditions… (or "file").
    pub category: String,
    /// Human title, e.g. "Penicillin allergy".
    pub title: String,
    /// Human detail, e.g. "6.3 mmol/L".
    pub detail: Option<String>,
    /// Clinical date, if any.
    pub date: Option<String>,
    /// FHIR resource type, if the record is a FHIR resource.
    pub resource_type: Option<String>,
    /// Plaintext size in bytes.
    #[ts(type = "number")]
    pub size: u64,
    /// Key version (bumped on each re-key).
    pub version: u32,
}

/// Progress of `import_files`, emitted as the `import-progress` event.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct ImportProgress {
    /// The file being imported.
    pub path: String,
    /// Bytes of it read so far.
    #[ts(type = "number")]
    pub done: u64,
    /// Its size in bytes.
    #[ts(type = "number")]
    pub total: u64,
}

/// One record with its content, for the detail view.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct RecordDetail {
    /// The record.
    pub record: RecordView,
    /// Pretty-printed FHIR JSON, for FHIR records of reasonable size.
    pub json: Option<String>,
}

/// Whether a trusted directory vouches for the provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum VerificationState {
    /// A trusted directory lists the key under exactly this name.
    Verified,
    /// A trusted directory lists the key under another name.
    NameMismatch,
    /// No trusted directory lists the key.
    Unlisted,
    /// The patient trusts no directory, so nothing can be said.
    NoDirectory,
}

/// The provider check of a request.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct VerificationView {
    /// The verdict.
    pub state: VerificationState,
    /// The directory that lists the key, if any.
    pub directory: Option<String>,
    /// The name the directory lists (when it differs from the request's).
    pub listed_name: Option<String>,
}

/// A verified access request, before the patient approves it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct RequestView {
    /// The request as a `carekey:request/v1/…` URI (pass it back to `share`).
    pub uri: String,
    /// The name the provider gives.
    pub provider_name: String,
    /// The provider's identity key (hex).
    pub provider_key: String,
    /// Whether a trusted directory vouches for that name and key.
    pub verification: VerificationView,
    /// A short code derived from the provider's key ("K7QF-M2XD-9R", 50 bits): the patient
    /// compares it with the one the provider's desk shows when no directory vouches for the
    /// provider.
    pub provider_code: String,
    /// Purpose of use.
    pub purpose: String,
    /// FHIR resource types asked for.
    pub resource_types: Vec<String>,
    /// Records asked for by id.
    pub record_ids: Vec<String>,
    /// Requested access duration in seconds.
    #[ts(type = "number")]
    pub duration_secs: u64,
    /// When the request itself expires (unix seconds).
    #[ts(type = "number")]
    pub expires_at: u64,
    /// Ledger nodes the request names that the patient has not pinned (confirm to share).
    pub unpinned_nodes: Vec<String>,
    /// The patient's records the request covers.
    pub matching_records: Vec<RecordView>,
}

/// The result of approving a request.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct ShareResult {
    /// The new grant (hex).
    pub grant_id: String,
    /// Who it is for.
    pub provider_name: String,
    /// When it ends (unix seconds).
    #[ts(type = "number")]
    pub not_after: u64,
    /// How many records it covers.
    pub records: u32,
}

/// The patient's own public code.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct MyQr {
    /// `carekey:patient/v1/…`.
    pub uri: String,
    /// The URI as a QR code (SVG markup).
    pub svg: String,
}

/// A grant as the patient sees it.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct GrantView {
    /// Grant id (hex).
    pub id: String,
    /// Provider name as stated in the request.
    pub provider_name: String,
    /// Provider key (hex).
    pub provider_key: String,
    /// Purpose of use.
    pub purpose: String,
    /// Start of validity (unix seconds).
    #[ts(type = "number")]
    pub not_before: u64,
    /// End of validity (unix seconds).
    #[ts(type = "number")]
    pub not_after: u64,
    /// Where the grant stands ("ending": ended here, not yet confirmed by every ledger node it
    /// was published on).
    pub status: GrantStatusView,
    /// For an "ending" grant: what it ends as.
    pub ends_as: Option<GrantEndView>,
    /// The earlier end the patient chose (unix seconds), once the grant was shortened.
    #[ts(type = "number | null")]
    pub ends_early: Option<u64>,
    /// For an "ending" grant: the nodes that have not yet confirmed its end.
    pub waiting_for: Vec<String>,
    /// Record ids shared.
    pub records: Vec<String>,
    /// Resource types shared.
    pub resource_types: Vec<String>,
}

/// Where a grant stands (the wallet's `GrantState`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum GrantStatusView {
    /// In force.
    Active,
    /// Past its end date.
    Expired,
    /// Ended here, not yet confirmed by every node it was published on.
    Ending,
    /// Revoked everywhere it was published.
    Revoked,
    /// Erased everywhere it was published.
    Erased,
}

impl From<carekey_wallet::GrantState> for GrantStatusView {
    fn from(state: carekey_wallet::GrantState) -> Self {
        use carekey_wallet::GrantState as S;
        match state {
            S::Active => Self::Active,
            S::Expired => Self::Expired,
            S::Ending => Self::Ending,
            S::Revoked => Self::Revoked,
            S::Erased => Self::Erased,
        }
    }
}

/// How an ending grant ends (the wallet's `GrantEnd`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export_to = "../../ui/src/bindings/")]
pub enum GrantEndView {
    /// By a revocation.
    Revoked,
    /// By an erasure.
    Erased,
}

impl From<carekey_wallet::GrantEnd> for GrantEndView {
    fn from(end: carekey_wallet::GrantEnd) -> Self {
        match end {
            carekey_wallet::GrantEnd::Revoked => Self::Revoked,
            carekey_wallet::GrantEnd::Erased => Self::Erased,
        }
    }
}

/// The result of shortening a grant.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct ShortenResult {
    /// The grant's new end (unix seconds).
    #[ts(type = "number")]
    pub ends_at: u64,
    /// Ledger nodes that have not yet confirmed the new end (retried on every sync; until
    /// each does, it may serve the grant to its old end).
    pub waiting_for: Vec<String>,
    /// Backups that could not be re-written (retried on every sync).
    pub backup_problems: Vec<String>,
}

/// The result of a revocation.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct RevokeResult {
    /// Records re-keyed so later versions are unreadable to the revoked provider.
    pub rekeyed: u32,
    /// Ledger nodes that have not yet confirmed the revocation (retried on every sync).
    pub waiting_for: Vec<String>,
    /// Backups that could not be re-written (retried on every sync).
    pub backup_problems: Vec<String>,
}

/// One provider access found on the ledger.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct AccessView {
    /// When the node served the records (unix seconds).
    #[ts(type = "number")]
    pub served_at: u64,
    /// Provider name from the grant.
    pub provider_name: String,
    /// Provider key (hex).
    pub provider_key: String,
    /// The grant used (hex).
    pub grant_id: String,
    /// Records the grant covered at the time.
    pub records: Vec<String>,
    /// The node that logged it.
    pub node: String,
    /// Log index of the access event.
    #[ts(type = "number")]
    pub index: u64,
    /// "verified", or why not.
    pub verification: String,
    /// False when the log it was found on is pinned without witnesses: show it as not
    /// independently checked.
    pub independently_checked: bool,
}

/// One node's outcome in a sync.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct NodeSyncView {
    /// Node URL.
    pub url: String,
    /// Verified log size, when every check passed.
    #[ts(type = "number | null")]
    pub verified_size: Option<u64>,
    /// What went wrong, if anything.
    pub problem: Option<String>,
    /// A split view, rollback, fork or withheld entry was detected (evidence kept): alert the
    /// patient.
    pub alarm: bool,
    /// What the node or mirror served failed verification (as opposed to not answering).
    pub failed: bool,
    /// False for a node pinned without witnesses: show "not independently checked".
    pub independently_checked: bool,
    /// When a pinned witness last vouched for the verified view (unix seconds); null without
    /// witnesses (claim no freshness) or when the sync did not verify.
    #[ts(type = "number | null")]
    pub fresh_as_of: Option<u64>,
}

/// What a sync found.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct SyncView {
    /// Per node.
    pub nodes: Vec<NodeSyncView>,
    /// Ledger writes still waiting for an offline node.
    pub outbox_pending: u32,
    /// Newly verified access events.
    pub new_access_events: u32,
    /// A node was caught lying or a source failed verification: the sync did not succeed.
    pub failed: bool,
}

/// An erasure receipt: what was destroyed and the proof to keep.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct ReceiptView {
    /// What was erased ("record …", "grant …", "wallet").
    pub subject: String,
    /// When (unix seconds).
    #[ts(type = "number")]
    pub erased_at: u64,
    /// What the wallet destroyed.
    pub destroyed: Vec<String>,
    /// What is not done yet (a node that has not confirmed, a backup not re-written): kept and
    /// retried until it is.
    pub pending: Vec<String>,
    /// What erasure cannot reach.
    pub limits: Vec<String>,
    /// Ledger nodes whose inclusion proof is in the receipt.
    pub ledger_nodes: Vec<String>,
    /// The whole receipt (JSON) to save; `carekey receipt verify` checks it offline.
    pub json: String,
}

/// A pinned ledger node in Settings.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct NodeView {
    /// Node URL.
    pub url: String,
    /// Its pinned log key.
    pub log_key: String,
    /// Pinned witness keys.
    pub witness_keys: Vec<String>,
    /// Cosignatures required.
    pub quorum: u32,
    /// Size of the log the wallet has verified (none before the first good sync).
    #[ts(type = "number | null")]
    pub verified_size: Option<u64>,
    /// Evidence of a split view or rollback is kept for this node: alert the patient.
    pub evidence: bool,
    /// Ledger writes waiting for this node.
    pub outbox_pending: u32,
    /// Why the last attempt to reach it failed, if it did.
    pub last_error: Option<String>,
}

/// A backup just written.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct BackupView {
    /// Where it was written (absolute).
    pub path: String,
    /// The remote nodes holding its key share (empty: no remote node is pinned, so the backup
    /// carries no share and a copy keeps today's keys after an erasure).
    pub key_share_nodes: Vec<String>,
    /// Of those, the ones that have not stored the share yet (offline): until one has, the
    /// backup cannot be restored.
    pub key_share_pending: Vec<String>,
}

/// The witnesses required of nodes the patient confirms from a provider's request.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct WitnessPolicyView {
    /// Witness cosignature keys.
    pub witness_keys: Vec<String>,
    /// How many must cosign.
    pub quorum: u32,
}

/// What unpinning a node dropped.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct NodeRemovalView {
    /// The node's URL.
    pub url: String,
    /// Ledger writes that were waiting for it, now dropped.
    pub dropped_outbox: u32,
}

/// The passphrase KDF's parameters.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct KdfView {
    /// Argon2id memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// Everything the Settings screen shows.
#[derive(Clone, Debug, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export_to = "../../ui/src/bindings/")]
pub struct SettingsView {
    /// Pinned ledger nodes.
    pub nodes: Vec<NodeView>,
    /// Ledger writes waiting for an offline node.
    pub outbox_pending: u32,
    /// The witnesses required of nodes confirmed from a request.
    pub witness_policy: WitnessPolicyView,
    /// The vault's KDF.
    pub kdf: KdfView,
    /// Keyring unlock is on.
    pub keyring_unlock: bool,
    /// The embedded ledger node's URL, when it runs.
    pub embedded_node: Option<String>,
    /// The embedded ledger node's log key, when it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub embedded_log_key: Option<String>,
    /// Where the vault lives.
    pub vault_dir: String,
    /// Backups made from this wallet.
    pub backups: Vec<String>,
}

/// The TypeScript bindings: `(file name, contents)` for every view type, plus an `index.ts`
/// that re-exports them all. Generated with a fixed ts-rs configuration (not the environment)
/// so the committed files in `ui/src/bindings/` are reproducible; `bindings_are_current`
/// fails when they drift, and `CAREKEY_WRITE_BINDINGS=1 cargo test -p carekey-app
/// bindings_are_current` rewrites them.
pub fn bindings() -> Result<Vec<(String, String)>, ts_rs::ExportError> {
    let cfg = ts_rs::Config::new();
    let mut files = Vec::new();
    macro_rules! each {
        ($($t:ty),* $(,)?) => {
            $( files.push((format!("{}.ts", <$t as TS>::ident(&cfg)), <$t as TS>::export_to_string(&cfg)?)); )*
        };
    }
    each!(
        AppError,
        AppStatus,
        RecoveryKitView,
        RecordView,
        ImportProgress,
        RecordDetail,
        VerificationState,
        VerificationView,
        RequestView,
        ShareResult,
        MyQr,
        GrantView,
        GrantStatusView,
        GrantEndView,
        RevokeResult,
        ShortenResult,
        AccessView,
        NodeSyncView,
        SyncView,
        ReceiptView,
        NodeView,
        WitnessPolicyView,
        NodeRemovalView,
        BackupView,
        KdfView,
        SettingsView,
        AccessHolderKind,
        AccessHolderView,
        LatestAccessView,
        BackupScheduleView,
        BackupStateView,
        LedgerProblemKind,
        LedgerProblemView,
        LedgerStatusView,
        HomeView,
        GrantDetailView,
        BackupPlaceView,
        DirectoryView,
        CreateLinkArgs,
        HealthLinkStateView,
        HealthLinkView,
        CreatedLinkView,
        HealthLinkOpenView,
        HealthLinkDetailView,
        CardCheckView,
        CardView,
        IssuerView,
        SummaryEntryView,
        SummarySectionView,
        PatientSummaryView,
    );
    files.sort();
    let mut index = String::from(
        "// Generated by src-tauri (carekey_app::types::bindings). Do not edit this file manually.\n",
    );
    for (name, _) in &files {
        let ty = name.trim_end_matches(".ts");
        index.push_str(&format!("export type {{ {ty} }} from \"./{ty}\";\n"));
    }
    files.push(("index.ts".to_owned(), index));
    Ok(files)
}
