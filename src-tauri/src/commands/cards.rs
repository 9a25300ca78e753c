//! SMART Health Cards in (a card from a file, a picture of its QR code, or scanned `shc:/`
//! text) and the issuers whose cards the wallet checks.

use std::path::Path;

use tauri::State;

use carekey_wallet::{CardSource, CardSummary, CardVerification, TrustedIssuer};

use super::{blocking, on_wallet, Result};
use crate::core::{now, Core};
use crate::types::{AppError, CardCheckView, CardView, IssuerView};

fn card_view(c: CardSummary) -> CardView {
    let (check, key_id) = match c.verification {
        CardVerification::Verified { kid } => (CardCheckView::Verified, Some(kid)),
        CardVerification::NotVerified => (CardCheckView::NotVerified, None),
    };
    CardView {
        record: c.record.to_string(),
        issuer: c.issuer,
        check,
        key_id,
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        imported_at: c.imported_at,
        title: c.title,
    }
}

fn issuer_view(i: TrustedIssuer) -> IssuerView {
    IssuerView {
        url: i.url,
        added_at: i.added_at,
    }
}

/// Imports the card(s) in a file (`.smart-health-card`, or a PNG/JPEG picture of the QR code)
/// or in scanned text (`shc:/…`). A trusted issuer's keys are fetched with the wallet lock
/// free (the wallet's `import_cards` takes it only to read the trusted issuers and to store).
#[tauri::command]
pub(crate) async fn import_card(
    core: State<'_, Core>,
    path: Option<String>,
    text: Option<String>,
) -> Result<Vec<CardView>> {
    let now = now()?;
    let core = core.inner().clone();
    blocking(move || {
        let source = match (path, text) {
            (Some(path), _) => CardSource::from_path(Path::new(&path))?,
            (None, Some(text)) => CardSource::from_bytes(text.into_bytes()),
            (None, None) => {
                return Err(AppError::bad_input(
                    "give a card file, a picture of its QR code, or its shc:/ text",
                ))
            }
        };
        let cards = carekey_wallet::import_cards(&core, &source, now)?;
        Ok(cards.into_iter().map(card_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn list_cards(core: State<'_, Core>) -> Result<Vec<CardView>> {
    on_wallet(&core, |w| {
        Ok(w.cards().list().into_iter().map(card_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn list_issuers(core: State<'_, Core>) -> Result<Vec<IssuerView>> {
    on_wallet(&core, |w| {
        Ok(w.cards().issuers().into_iter().map(issuer_view).collect())
    })
    .await
}

#[tauri::command]
pub(crate) async fn add_issuer(core: State<'_, Core>, url: String) -> Result<IssuerView> {
    let now = now()?;
    on_wallet(&core, move |w| {
        w.cards().add_issuer(&url, now).map(issuer_view)
    })
    .await
}

#[tauri::command]
pub(crate) async fn remove_issuer(core: State<'_, Core>, url: String) -> Result<()> {
    on_wallet(&core, move |w| w.cards().remove_issuer(&url)).await
}
