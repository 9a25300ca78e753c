//! SMART Health Links (issue 11): make a link (draft in the wallet, upload with the wallet lock
//! free, commit), list links, a link's page with its opens, update a long-term link, end one.

use tauri::State;

use carekey_wallet::{LinkChoice, LinkOpenView, LinkState, LinkView};

use super::{blocking, count, on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{
    AppError, CreateLinkArgs, CreatedLinkView, HealthLinkDetailView, HealthLinkOpenView,
    HealthLinkStateView, HealthLinkView,
};

pub(super) fn link_view(l: LinkView) -> HealthLinkView {
    HealthLinkView {
        id: l.id,
        label: l.label,
        node: l.node,
        created_at: l.created_at,
        expires_at: l.expires_at,
        passcode: l.passcode,
        long_term: l.long_term,
        record_count: count(l.records.len()),
        records: l.records.iter().map(ToString::to_string).collect(),
        summary: l.summary,
        state: match l.state {
            LinkState::Active => HealthLinkStateView::Active,
            LinkState::Expired => HealthLinkStateView::Expired,
            LinkState::Ending => HealthLinkStateView::Ending,
            LinkState::Ended => HealthLinkStateView::Ended,
        },
        ended_at: l.ended_at,
        opens: count(l.opens),
        failed_attempts: count(l.failed_attempts),
    }
}

pub(super) fn open_view(o: LinkOpenView) -> HealthLinkOpenView {
    HealthLinkOpenView {
        link_id: o.link_id,
        label: o.label,
        recipient: o.recipient,
        opened: o.opened,
        remaining_attempts: o.remaining_attempts,
        at: o.at,
        node: o.node,
        index: o.index,
    }
}

/// Makes a link: the wallet prepares it, the node stores it (with the wallet lock free), the
/// wallet keeps it. Returns the link (shown as a QR and text) and, once, the passcode.
#[tauri::command]
pub(crate) async fn create_link(
    core: State<'_, Core>,
    args: CreateLinkArgs,
) -> Result<CreatedLinkView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let draft = core.with_wallet(|w| {
            let mut records = Vec::new();
            for id in &args.record_ids {
                records.push(w.records().find(id)?);
            }
            w.links().draft(
                &LinkChoice {
                    records,
                    summary: args.summary,
                    label: args.label.clone().filter(|l| !l.trim().is_empty()),
                    expires_at: args.expires_at,
                    passcode: args.passcode.clone().filter(|p| !p.is_empty()),
                    attempts: args.attempts,
                    long_term: args.long_term,
                    node: None,
                },
                now,
            )
        })?;
        let url = carekey_wallet::agent::publish_link(&draft).map_err(AppError::from)?;
        core.with_wallet(|w| {
            let view = w.links().commit(draft, &url, now)?;
            let uri = w.links().uri(&view.id, None)?;
            let qr_svg = carekey_wallet::qr::svg(&uri)?;
            Ok(CreatedLinkView {
                link: link_view(view),
                uri,
                qr_svg,
                passcode: args.passcode.filter(|p| !p.is_empty()),
            })
        })
    })
    .await
}

#[tauri::command]
pub(crate) async fn list_links(core: State<'_, Core>) -> Result<Vec<HealthLinkView>> {
    let now = now()?;
    on_wallet(&core, move |w| {
        Ok(w.links().list(now).into_iter().map(link_view).collect())
    })
    .await
}

/// A link's page: the link, its QR while it works, and every logged request for it.
#[tauri::command]
pub(crate) async fn link_detail(
    core: State<'_, Core>,
    link_id: String,
) -> Result<HealthLinkDetailView> {
    let now = now()?;
    on_wallet(&core, move |w| {
        let view = w.links().get(&link_id, now)?;
        let working = matches!(view.state, LinkState::Active);
        let (uri, qr_svg) = if working {
            let uri = w.links().uri(&view.id, None)?;
            let svg = carekey_wallet::qr::svg(&uri)?;
            (Some(uri), Some(svg))
        } else {
            (None, None)
        };
        let opens = w
            .links()
            .opens()
            .into_iter()
            .filter(|o| o.link_id == view.id)
            .map(open_view)
            .collect();
        Ok(HealthLinkDetailView {
            link: link_view(view),
            uri,
            qr_svg,
            opens,
            now,
        })
    })
    .await
}

/// Every logged request for the patient's links, newest first (Activity).
#[tauri::command]
pub(crate) async fn link_opens(core: State<'_, Core>) -> Result<Vec<HealthLinkOpenView>> {
    on_wallet(&core, |w| {
        Ok(w.links().opens().into_iter().map(open_view).collect())
    })
    .await
}

/// Sends a long-term link's records as they are now (same link, new encryption).
#[tauri::command]
pub(crate) async fn update_link(core: State<'_, Core>, link_id: String) -> Result<HealthLinkView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let draft = core.with_wallet(|w| w.links().draft_update(&link_id, now))?;
        let url = carekey_wallet::agent::publish_link(&draft).map_err(AppError::from)?;
        core.with_wallet(|w| w.links().commit(draft, &url, now).map(link_view))
    })
    .await
}

/// Ends a link: queued for its node, sent at once with the wallet lock free.
#[tauri::command]
pub(crate) async fn end_link(core: State<'_, Core>, link_id: String) -> Result<HealthLinkView> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let view = core.with_wallet(|w| w.links().end(&link_id, now))?;
        core.publish(now);
        Ok(core
            .if_unlocked(|w| w.links().get(&view.id, now).ok())
            .flatten()
            .map(link_view)
            .unwrap_or_else(|| link_view(view)))
    })
    .await
}
