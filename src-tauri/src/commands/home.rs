//! Issue 10's screens: home, a grant's page, the background ledger checks, backup places and
//! schedules, provider directories.

use std::path::{Path, PathBuf};

use tauri::{Emitter as _, Runtime, State};

use carekey_wallet::{BackupState, GrantId, HolderKind, Home};

use super::ledger::access_view;
use super::records::record_view;
use super::sharing::{grant_view, verification_view};
use super::{blocking, count, on_wallet, path_text, Result};
use crate::core::{now, Core};
use crate::types::{
    AccessHolderKind, AccessHolderView, AppError, BackupPlaceView, BackupScheduleView,
    BackupStateView, DirectoryView, GrantDetailView, HomeView, LatestAccessView, LedgerStatusView,
    ShortenResult,
};
use crate::watch::{self, LEDGER_UPDATE};

fn grant_id(text: &str) -> Result<GrantId> {
    text.parse()
        .map_err(|_| AppError::bad_input(format!("{text:?} is not a grant id")))
}

pub(super) fn backup_state_view(b: BackupState) -> BackupStateView {
    BackupStateView {
        last_at: b.last.as_ref().map(|(at, _)| *at),
        last_place: b.last.as_ref().and_then(|(_, p)| p.parent().map(path_text)),
        schedule: b.schedule.map(|s| BackupScheduleView {
            folder: path_text(&s.folder),
            every_days: s.every_days,
            next_at: s.next_at,
            last_problem: s.last_problem,
        }),
        due: b.due,
        share_pending: b.share_pending,
    }
}

fn home_view(
    home: Home,
    ledger: LedgerStatusView,
    links: Vec<crate::types::HealthLinkView>,
    latest_link_open: Option<crate::types::HealthLinkOpenView>,
) -> HomeView {
    HomeView {
        now: home.now,
        holders: home
            .holders
            .into_iter()
            .map(|h| AccessHolderView {
                kind: match h.kind {
                    HolderKind::Grant => AccessHolderKind::Grant,
                    // Later kinds (links, caregivers, emergency access) get their own.
                    _ => AccessHolderKind::Grant,
                },
                id: h.grant.id.to_string(),
                who: h.grant.provider_name.clone(),
                verified: h.verified,
                resource_types: h.grant.resource_types.clone(),
                record_count: count(h.grant.records.len()),
                since: h.grant.not_before,
                not_after: h.grant.ends_at(),
                shortened: h.grant.ends_early.is_some(),
                status: h.grant.status.into(),
                waiting_for: count(h.grant.waiting_for.len()),
                last_access_at: h.last_access,
                last_access_records: count(h.last_access_records),
                accesses: count(h.accesses),
            })
            .collect(),
        next_expiry: home.next_expiry,
        latest_access: home.latest_access.map(|a| LatestAccessView {
            who: a.who,
            holder_id: a.grant_id.to_string(),
            at: a.at,
            records: count(a.records),
            genuine: a.genuine,
        }),
        links,
        latest_link_open,
        backup: backup_state_view(home.backup),
        ledger,
    }
}

#[tauri::command]
pub(crate) async fn home(core: State<'_, Core>) -> Result<HomeView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let (home, links, latest_open) = core.with_wallet(|w| {
            let links: Vec<_> = w
                .links()
                .list(now)
                .into_iter()
                .filter(|l| l.state == carekey_wallet::LinkState::Active)
                .map(super::links::link_view)
                .collect();
            let latest_open = w
                .links()
                .opens()
                .into_iter()
                .next()
                .map(super::links::open_view);
            Ok((w.overview().home(now), links, latest_open))
        })?;
        let mut ledger = watch::unlocked_view(&home);
        // A check made while locked counts as "checked" too.
        ledger.checked_at = ledger.checked_at.or(core.watch().last().checked_at);
        Ok(home_view(home, ledger, links, latest_open))
    })
    .await
}

#[tauri::command]
pub(crate) async fn grant_detail(
    core: State<'_, Core>,
    grant_id: String,
) -> Result<GrantDetailView> {
    let now = now()?;
    let id = self::grant_id(&grant_id)?;
    on_wallet(&core, move |w| {
        let page = w.overview().grant_page(&id, now)?;
        Ok(GrantDetailView {
            grant: grant_view(page.grant),
            verification: verification_view(page.verification),
            provider_code: page.provider_code,
            records: page.records.into_iter().map(record_view).collect(),
            accesses: page.accesses.into_iter().map(access_view).collect(),
            ended_at: page.ended_at,
            now,
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn mark_accesses_seen(core: State<'_, Core>) -> Result<()> {
    on_wallet(&core, |w| w.overview().mark_accesses_seen()).await
}

#[tauri::command]
pub(crate) async fn ledger_status(core: State<'_, Core>) -> Result<LedgerStatusView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || Ok(core.ledger_status(now))).await
}

/// Checks now, tells the window (`ledger-update`) and the OS, and answers with the result.
#[tauri::command]
pub(crate) async fn check_now<R: Runtime>(
    app: tauri::AppHandle<R>,
    core: State<'_, Core>,
) -> Result<LedgerStatusView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let (status, notices) = core.check(now);
        deliver(&app, &status, &notices);
        Ok(status)
    })
    .await
}

/// Hands a check's result to the window and the OS.
pub(crate) fn deliver<R: Runtime>(
    app: &tauri::AppHandle<R>,
    status: &LedgerStatusView,
    notices: &[watch::Notice],
) {
    if let Err(e) = app.emit(LEDGER_UPDATE, status) {
        eprintln!("carekey-app: could not tell the window about a ledger check: {e}");
    }
    for n in notices {
        crate::notify(app, n);
    }
}

#[tauri::command]
pub(crate) async fn backup_place(core: State<'_, Core>, path: String) -> Result<BackupPlaceView> {
    let core = core.inner().clone();
    blocking(move || {
        let folder = PathBuf::from(path.trim());
        if folder.as_os_str().is_empty() {
            return Err(AppError::bad_input("choose a folder for the backups"));
        }
        let place = carekey_wallet::backup_place(&folder, core.vault_dir());
        Ok(BackupPlaceView {
            writable: place.writable,
            same_disk_as_wallet: place.same_disk_as_wallet,
            removable: place.removable,
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn set_backup_schedule(
    core: State<'_, Core>,
    folder: Option<String>,
    every_days: u32,
) -> Result<()> {
    let core = core.inner().clone();
    blocking(move || {
        core.with_wallet(|w| {
            let folder = folder.map(|f| PathBuf::from(f.trim()));
            w.backups()
                .set_schedule(folder.as_deref().map(|f: &Path| (f, every_days)))
        })?;
        // A schedule that is due now (never written there) runs at once.
        core.watch().wake();
        Ok(())
    })
    .await
}

fn directory_view(d: carekey_wallet::DirectoryInfo) -> DirectoryView {
    DirectoryView {
        key: d.key,
        name: d.name,
        providers: count(d.providers),
        signed_at: d.signed_at,
    }
}

#[tauri::command]
pub(crate) async fn list_directories(core: State<'_, Core>) -> Result<Vec<DirectoryView>> {
    on_wallet(&core, |w| {
        Ok(w.sharing()
            .directories()
            .into_iter()
            .map(directory_view)
            .collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn add_directory(
    core: State<'_, Core>,
    path: String,
    key: String,
) -> Result<DirectoryView> {
    let core = core.inner().clone();
    blocking(move || {
        let file = PathBuf::from(path.trim());
        let bytes = std::fs::read(&file)
            .map_err(|e| AppError::io("reading", &file.to_string_lossy(), e))?;
        core.with_wallet(|w| w.sharing().add_directory(&bytes, &key))
            .map(directory_view)
    })
    .await
}

#[tauri::command]
pub(crate) async fn remove_directory(core: State<'_, Core>, key: String) -> Result<()> {
    on_wallet(&core, move |w| w.sharing().remove_directory(&key)).await
}

/// Ends a grant at `ends_at` instead of its signed end: its nodes get the new end now and
/// refuse the grant from then on; the wallet re-keys what it shared at the first check after.
#[tauri::command]
pub(crate) async fn shorten_grant(
    core: State<'_, Core>,
    grant_id: String,
    ends_at: u64,
) -> Result<ShortenResult> {
    let id = self::grant_id(&grant_id)?;
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let outcome = core.with_wallet(|w| w.sharing().shorten(&id, ends_at, now))?;
        // Committed; the nodes hear of it with the wallet lock free.
        core.publish(now);
        let waiting_for = core
            .if_unlocked(|w| w.sharing().waiting_for(&id))
            .unwrap_or(outcome.waiting_for);
        Ok(ShortenResult {
            ends_at: outcome.ends_at,
            waiting_for,
            backup_problems: outcome.backup_problems,
        })
    })
    .await
}

/// The window's language, for the OS notifications the background checks show.
#[tauri::command]
pub(crate) async fn set_language(core: State<'_, Core>, language: String) -> Result<()> {
    core.watch()
        .set_language(crate::watch::Language::from_tag(&language));
    Ok(())
}
