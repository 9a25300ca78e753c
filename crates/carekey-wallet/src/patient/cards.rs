//! SMART Health Cards in: the issuers the patient trusts, and cards imported as records.
//!
//! A card arrives as `shc:/` QR text, a picture of its QR code, or a `.smart-health-card`
//! file. Its issuer's keys (and revocation list) are fetched only when the patient trusts the
//! issuer, like a provider directory: a card from anyone else is kept as "not verified" and no
//! request goes out, so importing a card never tells an unknown server about the patient. A
//! trusted issuer's card that does not verify (altered, expired, revoked, unknown key) is
//! refused with the reason. The card's FHIR Bundle becomes one record; the wallet remembers
//! who issued it and what verifying it found.
//!
//! The network step ([`check_cards`]) runs with no wallet borrowed; [`import_cards`] takes a
//! snapshot of the trusted issuers, checks, and stores in a second short step.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use carekey_model::shc::{self, Card, CardError, CardRefusal, Crl, Jwks};
use carekey_model::RecordId;
use carekey_sync::IssuerClient;

use super::records::{RecordMeta, Records};
use super::session::PatientSession;
use crate::agent::WalletCell;
use crate::WalletError;

/// The record category of imported cards.
pub const CARD_CATEGORY: &str = "health cards";

/// Why a card could not be imported, or an issuer not added or removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardImportError {
    /// The input holds no readable card (not `shc:/` text, no QR code in the picture, not a
    /// `.smart-health-card` file, or a card that is malformed).
    #[error("not a SMART Health Card: {0}")]
    NotACard(#[source] CardError),
    /// The picture has no QR code the wallet can read.
    #[error("no QR code found in the picture: {0}")]
    NoQrCode(#[source] carekey_qr::QrError),
    /// The issuer is trusted and the card does not verify against its keys: refused.
    #[error("the card from {issuer} was refused: {refusal}")]
    Refused {
        /// Who the card says issued it.
        issuer: String,
        /// Why it did not verify.
        #[source]
        refusal: CardRefusal,
    },
    /// The issuer is trusted but its keys (or revocation list) could not be fetched; nothing
    /// was imported, try again later.
    #[error("could not check the card with {issuer}: {reason}")]
    IssuerUnreachable {
        /// The issuer.
        issuer: String,
        /// What went wrong.
        reason: String,
    },
    /// An issuer URL to trust is not `https://…` (plain `http://` only to this machine).
    #[error("not an issuer URL: {0}")]
    BadIssuer(#[source] CardError),
    /// The issuer to remove is not on the list.
    #[error("{url} is not a trusted issuer")]
    NotTrusted {
        /// The URL given.
        url: String,
    },
}

impl CardImportError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            CardImportError::NotACard(_) => "not_a_card",
            CardImportError::NoQrCode(_) => "bad_qr",
            CardImportError::Refused { .. } => "card_refused",
            CardImportError::IssuerUnreachable { .. } => "issuer_unreachable",
            CardImportError::BadIssuer(_) => "bad_issuer",
            CardImportError::NotTrusted { .. } => "not_found",
        }
    }

    /// For a refused card, why, as a stable word a shell can put in the patient's words:
    /// `altered` (the signature does not verify), `expired`, `not_yet_valid`, `revoked`, or
    /// `issuer_key` (the issuer publishes no usable key for it, or its revocation list does
    /// not match). `None` for every other error.
    pub fn refusal(&self) -> Option<&'static str> {
        let CardImportError::Refused { refusal, .. } = self else {
            return None;
        };
        Some(match refusal {
            CardRefusal::BadSignature => "altered",
            CardRefusal::Expired { .. } => "expired",
            CardRefusal::NotYetValid { .. } => "not_yet_valid",
            CardRefusal::Revoked { .. } => "revoked",
            _ => "issuer_key",
        })
    }

    /// The issuer the error is about (a refused card's, an unreachable one's), if any.
    pub fn issuer(&self) -> Option<&str> {
        match self {
            CardImportError::Refused { issuer, .. }
            | CardImportError::IssuerUnreachable { issuer, .. } => Some(issuer),
            _ => None,
        }
    }
}

/// Where a card comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardSource {
    /// The text of a card's QR code: `shc:/…` (or every part of a chunked card, one per line).
    QrText(String),
    /// A PNG or JPEG picture of the QR code.
    Image(Vec<u8>),
    /// A `.smart-health-card` file.
    File(Vec<u8>),
}

impl CardSource {
    /// What a shell was given: `shc:/…` text as is, else a file to read and recognise.
    pub fn from_argument(arg: &str) -> Result<Self, WalletError> {
        if looks_like_qr_text(arg.as_bytes()) {
            return Ok(CardSource::QrText(arg.trim().to_owned()));
        }
        Self::from_path(Path::new(arg))
    }

    /// A file: a picture (PNG or JPEG), a text file holding `shc:/…`, or a
    /// `.smart-health-card` file.
    pub fn from_path(path: &Path) -> Result<Self, WalletError> {
        let len = std::fs::metadata(path)
            .map_err(|e| WalletError::io("reading", path, e))?
            .len();
        if len > shc::MAX_CARD_FILE_BYTES as u64 {
            return Err(CardImportError::NotACard(CardError::TooLarge {
                what: "the file",
                limit: shc::MAX_CARD_FILE_BYTES,
            })
            .into());
        }
        let bytes = std::fs::read(path).map_err(|e| WalletError::io("reading", path, e))?;
        Ok(Self::from_bytes(bytes))
    }

    /// Recognises bytes: PNG/JPEG magic, `shc:/` text, else a `.smart-health-card` file.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            CardSource::Image(bytes)
        } else if looks_like_qr_text(&bytes) {
            CardSource::QrText(String::from_utf8_lossy(&bytes).trim().to_owned())
        } else {
            CardSource::File(bytes)
        }
    }
}

fn looks_like_qr_text(bytes: &[u8]) -> bool {
    let start = bytes.trim_ascii_start();
    start.len() >= 5 && start[..5].eq_ignore_ascii_case(b"shc:/")
}

/// What verifying a card found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum CardVerification {
    /// The signature verified under the trusted issuer's key `kid`; not expired, not revoked.
    Verified {
        /// The key that signed it.
        kid: String,
    },
    /// The issuer is not on the patient's list: nothing was checked and nobody was asked.
    NotVerified,
}

/// A trusted card issuer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIssuer {
    /// The issuer URL, as cards name it (`iss`).
    pub url: String,
    /// When the patient added it (unix seconds).
    pub added_at: u64,
}

/// An imported card as the patient sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CardSummary {
    /// The record holding its FHIR Bundle.
    pub record: RecordId,
    /// Who issued it (verified only when `verification` says so).
    pub issuer: String,
    /// What verifying it found.
    pub verification: CardVerification,
    /// When it was issued (unix seconds).
    pub issued_at: u64,
    /// When it expires, if it does.
    pub expires_at: Option<u64>,
    /// When it was imported.
    pub imported_at: u64,
    /// The record's title, e.g. "Health card: Immunization".
    pub title: String,
}

/// What the wallet keeps about a card besides its record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct CardEntry {
    pub(crate) issuer: String,
    pub(crate) verification: CardVerification,
    pub(crate) issued_at: u64,
    #[serde(default)]
    pub(crate) expires_at: Option<u64>,
    pub(crate) imported_at: u64,
    /// SHA-256 of the card's JWS: the same card imported twice is one record.
    #[serde(with = "crate::state::bytes")]
    pub(crate) jws_hash: Vec<u8>,
}

/// A card with what checking it found, ready to store.
#[derive(Debug, Clone)]
pub struct CheckedCard {
    card: Card,
    verification: CardVerification,
}

impl CheckedCard {
    /// The card.
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// What checking it found.
    pub fn verification(&self) -> &CardVerification {
        &self.verification
    }
}

/// The patient's health cards and trusted issuers. Borrow it with
/// [`PatientWallet::cards`](super::PatientWallet::cards).
#[derive(Debug)]
pub struct Cards<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl Cards<'_> {
    /// The trusted issuers, in the order they were added.
    pub fn issuers(&self) -> Vec<TrustedIssuer> {
        self.s.state.card_issuers.clone()
    }

    /// Trusts an issuer: its cards will be checked against the keys it publishes. A trailing
    /// `/` is dropped (cards name issuers without one). Adding one twice changes nothing.
    pub fn add_issuer(&mut self, url: &str, now: u64) -> Result<TrustedIssuer, WalletError> {
        let url = url.trim().trim_end_matches('/');
        shc::check_issuer(url).map_err(CardImportError::BadIssuer)?;
        if let Some(existing) = self.s.state.card_issuers.iter().find(|i| i.url == url) {
            return Ok(existing.clone());
        }
        let issuer = TrustedIssuer {
            url: url.to_owned(),
            added_at: now,
        };
        self.s.state.card_issuers.push(issuer.clone());
        self.s.save()?;
        Ok(issuer)
    }

    /// Stops trusting an issuer. Cards already imported keep what was found when they were.
    pub fn remove_issuer(&mut self, url: &str) -> Result<(), WalletError> {
        let url = url.trim().trim_end_matches('/');
        let before = self.s.state.card_issuers.len();
        self.s.state.card_issuers.retain(|i| i.url != url);
        if self.s.state.card_issuers.len() == before {
            return Err(CardImportError::NotTrusted {
                url: url.to_owned(),
            }
            .into());
        }
        self.s.save()?;
        Ok(())
    }

    /// Every imported card still in the wallet, newest first.
    pub fn list(&self) -> Vec<CardSummary> {
        let mut all: Vec<CardSummary> = self
            .s
            .state
            .cards
            .iter()
            .filter_map(|(id, c)| {
                let record = self.s.state.records.get(id)?;
                Some(summary(*id, c, &record.title))
            })
            .collect();
        all.sort_by_key(|c| std::cmp::Reverse((c.imported_at, c.record)));
        all
    }

    /// Stores checked cards as records (one per card, its FHIR Bundle), in one commit. A card
    /// already imported is not stored twice: its existing summary is returned, marked verified
    /// if it is now (its issuer was trusted since).
    pub fn store(
        &mut self,
        checked: Vec<CheckedCard>,
        now: u64,
    ) -> Result<Vec<CardSummary>, WalletError> {
        let mut out = Vec::new();
        for CheckedCard { card, verification } in checked {
            let jws_hash = carekey_crypto::sha256(card.jws().as_bytes()).to_vec();
            let known = self
                .s
                .state
                .cards
                .iter()
                .find(|(id, c)| c.jws_hash == jws_hash && self.s.state.records.contains_key(id))
                .map(|(id, _)| *id);
            if let Some(again) = known.and_then(|id| self.seen_again(id, &card, &verification)) {
                out.push(again);
                continue;
            }
            let bundle = serde_json::to_vec(card.fhir_bundle())
                .map_err(|e| WalletError::State(format!("a card's bundle: {e}")))?;
            let title = title_of(card.fhir_bundle());
            let meta = RecordMeta {
                name: "health card".to_owned(),
                resource_type: Some("Bundle".to_owned()),
                fhir_id: None,
                category: CARD_CATEGORY.to_owned(),
                title: title.clone(),
                detail: Some(detail_of(card.issuer(), &verification)),
                date: Some(carekey_model::format_utc(card.nbf())[..10].to_owned()),
            };
            let id = Records { s: &mut *self.s }.add(meta, &bundle[..], now)?;
            let entry = CardEntry {
                issuer: card.issuer().to_owned(),
                verification,
                issued_at: card.nbf(),
                expires_at: card.exp(),
                imported_at: now,
                jws_hash: jws_hash.clone(),
            };
            out.push(summary(id, &entry, &title));
            self.s.state.cards.insert(id, entry);
        }
        // One commit for the whole import: the records are reported imported only after it.
        self.s.save()?;
        Ok(out)
    }
}

impl Cards<'_> {
    /// A card imported before: now verified (its issuer was trusted since), it says so.
    fn seen_again(
        &mut self,
        id: RecordId,
        card: &Card,
        verification: &CardVerification,
    ) -> Option<CardSummary> {
        let upgraded = matches!(verification, CardVerification::Verified { .. });
        if upgraded {
            if let Some(record) = self.s.state.records.get_mut(&id) {
                record.detail = Some(detail_of(card.issuer(), verification));
            }
        }
        let title = self
            .s
            .state
            .records
            .get(&id)
            .map(|r| r.title.clone())
            .unwrap_or_default();
        let entry = self.s.state.cards.get_mut(&id)?;
        if upgraded {
            entry.verification = verification.clone();
        }
        Some(summary(id, entry, &title))
    }
}

fn summary(record: RecordId, c: &CardEntry, title: &str) -> CardSummary {
    CardSummary {
        record,
        issuer: c.issuer.clone(),
        verification: c.verification.clone(),
        issued_at: c.issued_at,
        expires_at: c.expires_at,
        imported_at: c.imported_at,
        title: title.to_owned(),
    }
}

/// "Health card: Immunization, Observation" from the bundle's resource types (Patient aside).
fn title_of(bundle: &serde_json::Value) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for entry in bundle["entry"].as_array().into_iter().flatten() {
        if let Some(kind) = entry["resource"]["resourceType"].as_str() {
            if kind != "Patient" && !kinds.contains(&kind) {
                kinds.push(kind);
            }
        }
    }
    if kinds.is_empty() {
        "Health card".to_owned()
    } else {
        format!("Health card: {}", kinds.join(", "))
    }
}

fn detail_of(issuer: &str, verification: &CardVerification) -> String {
    match verification {
        CardVerification::Verified { .. } => format!("issued by {issuer}, verified"),
        CardVerification::NotVerified => {
            format!("says it was issued by {issuer}, not verified (not a trusted issuer)")
        }
    }
}

/// Reads every card in `source`. Pure: no wallet, no network.
pub fn read_cards(source: &CardSource) -> Result<Vec<Card>, WalletError> {
    let jws: Vec<String> = match source {
        CardSource::QrText(text) => {
            let parts: Vec<&str> = text.split_whitespace().collect();
            vec![shc::jws_from_qr_chunks(&parts).map_err(CardImportError::NotACard)?]
        }
        CardSource::Image(bytes) => {
            let text = carekey_qr::decode(bytes).map_err(CardImportError::NoQrCode)?;
            vec![shc::jws_from_qr(&text).map_err(CardImportError::NotACard)?]
        }
        CardSource::File(bytes) => Card::file_cards(bytes).map_err(CardImportError::NotACard)?,
    };
    jws.iter()
        .map(|j| Card::parse(j).map_err(|e| CardImportError::NotACard(e).into()))
        .collect()
}

/// Checks cards: for a trusted issuer, fetches its keys (and the revocation list of a key with
/// `crlVersion`) and verifies at `now`, refusing a card that does not verify; any other card
/// is "not verified" and no request is made. The network step: call it with no wallet
/// borrowed.
pub fn check_cards(
    cards: Vec<Card>,
    trusted: &[TrustedIssuer],
    now: u64,
) -> Result<Vec<CheckedCard>, WalletError> {
    let mut keys: BTreeMap<String, (IssuerClient, Jwks)> = BTreeMap::new();
    let mut crls: BTreeMap<(String, String), Crl> = BTreeMap::new();
    let mut out = Vec::with_capacity(cards.len());
    for card in cards {
        let issuer = card.issuer().to_owned();
        if !trusted.iter().any(|t| t.url == issuer) {
            out.push(CheckedCard {
                card,
                verification: CardVerification::NotVerified,
            });
            continue;
        }
        let unreachable = |e: carekey_sync::SyncError| CardImportError::IssuerUnreachable {
            issuer: issuer.clone(),
            reason: e.to_string(),
        };
        if !keys.contains_key(&issuer) {
            let client = IssuerClient::new(&issuer).map_err(unreachable)?;
            let jwks = client.keys().map_err(unreachable)?;
            keys.insert(issuer.clone(), (client, jwks));
        }
        let Some((client, jwks)) = keys.get(&issuer) else {
            unreachable!("the issuer's keys were inserted just above")
        };
        let kid = card.kid().to_owned();
        let needs_crl = jwks.key(&kid).and_then(|k| k.crl_version()).is_some();
        let crl_key = (issuer.clone(), kid.clone());
        if needs_crl && !crls.contains_key(&crl_key) {
            let crl = client.revocations(&kid).map_err(unreachable)?;
            crls.insert(crl_key.clone(), crl);
        }
        let verified = shc::verify(&card, jwks, crls.get(&crl_key), now).map_err(|refusal| {
            CardImportError::Refused {
                issuer: issuer.clone(),
                refusal,
            }
        })?;
        out.push(CheckedCard {
            card,
            verification: CardVerification::Verified { kid: verified.kid },
        });
    }
    Ok(out)
}

/// Imports the cards in `source`: reads them, takes the trusted issuers from the wallet,
/// checks them with no wallet borrowed (the only network step, for trusted issuers only),
/// then stores them. Nothing is stored when any card is refused.
pub fn import_cards(
    mut cell: impl WalletCell,
    source: &CardSource,
    now: u64,
) -> Result<Vec<CardSummary>, WalletError> {
    let cards = read_cards(source)?;
    let trusted = cell
        .with(|w| w.cards().issuers())
        .ok_or(WalletError::Locked)?;
    let checked = check_cards(cards, &trusted, now)?;
    cell.with(|w| w.cards().store(checked, now))
        .ok_or(WalletError::Locked)?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use carekey_crypto::EcSigningKey;
    use carekey_model::shc::CardClaims;

    use super::*;
    use crate::PatientWallet;

    const NOW: u64 = 1_750_000_000;

    fn wallet(dir: &Path) -> PatientWallet {
        super::super::tests::test_wallet(dir, NOW)
    }

    fn qr_card(issuer: &str) -> CardSource {
        let jws = shc::issue(
            &EcSigningKey::generate(),
            &CardClaims {
                issuer: issuer.into(),
                nbf: NOW - 10,
                exp: None,
                rid: None,
                fhir_bundle: serde_json::json!({"resourceType": "Bundle", "type": "collection",
                    "entry": [{"resource": {"resourceType": "Immunization", "status": "completed"}}]}),
            },
        );
        CardSource::QrText(shc::jws_to_qr(&jws).unwrap())
    }

    #[test]
    fn issuers_are_checked_kept_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wallet(dir.path());
        assert!(matches!(
            w.cards().add_issuer("http://issuer.example", NOW),
            Err(WalletError::Card(CardImportError::BadIssuer(_)))
        ));
        let added = w
            .cards()
            .add_issuer("https://issuer.example/", NOW)
            .unwrap();
        assert_eq!(added.url, "https://issuer.example");
        w.cards()
            .add_issuer("https://issuer.example", NOW + 1)
            .unwrap();
        assert_eq!(w.cards().issuers(), vec![added]);
        w.cards().remove_issuer("https://issuer.example/").unwrap();
        assert!(w.cards().issuers().is_empty());
        assert_eq!(
            w.cards()
                .remove_issuer("https://issuer.example")
                .unwrap_err()
                .code(),
            "not_found"
        );
    }

    /// An untrusted issuer's card: no request (its URL does not even resolve), stored as not
    /// verified; the same card twice is one record; erasing the record forgets the card.
    #[test]
    fn untrusted_cards_are_kept_unverified_once_and_erased_with_their_record() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = wallet(dir.path());
        let source = qr_card("https://issuer.invalid");
        let first = import_cards(&mut w, &source, NOW).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0].verification, CardVerification::NotVerified);
        assert_eq!(first[0].title, "Health card: Immunization");
        let again = import_cards(&mut w, &source, NOW + 5).unwrap();
        assert_eq!(again, first);
        assert_eq!(w.cards().list(), first);
        let record = w.records().get(&first[0].record).unwrap();
        assert_eq!(record.category, CARD_CATEGORY);
        assert!(record.detail.unwrap().contains("not verified"));

        w.erasure()
            .erase_record(&first[0].record, NOW + 10)
            .unwrap();
        assert!(w.cards().list().is_empty());
        assert!(w.session.state.cards.is_empty());
    }

    #[test]
    fn refusals_have_a_reason_and_an_issuer() {
        let refused = |refusal| CardImportError::Refused {
            issuer: "https://issuer.example".into(),
            refusal,
        };
        let cases = [
            (CardRefusal::BadSignature, "altered"),
            (CardRefusal::Expired { exp: 1, now: 2 }, "expired"),
            (CardRefusal::NotYetValid { nbf: 3, now: 2 }, "not_yet_valid"),
            (CardRefusal::Revoked { rid: "r".into() }, "revoked"),
            (CardRefusal::UnknownKey { kid: "k".into() }, "issuer_key"),
        ];
        for (refusal, reason) in cases {
            let e = refused(refusal);
            assert_eq!(e.refusal(), Some(reason));
            assert_eq!(e.issuer(), Some("https://issuer.example"));
            assert_eq!(e.code(), "card_refused");
        }
        let unreachable = CardImportError::IssuerUnreachable {
            issuer: "https://issuer.example".into(),
            reason: "timed out".into(),
        };
        assert_eq!(unreachable.refusal(), None);
        assert_eq!(unreachable.issuer(), Some("https://issuer.example"));
        let not_trusted = CardImportError::NotTrusted { url: "x".into() };
        assert_eq!((not_trusted.refusal(), not_trusted.issuer()), (None, None));
    }

    #[test]
    fn sources_are_recognised() {
        assert!(matches!(
            CardSource::from_bytes(b"  shc:/5676\n".to_vec()),
            CardSource::QrText(t) if t == "shc:/5676"
        ));
        assert!(matches!(
            CardSource::from_bytes(b"\x89PNG\r\n\x1a\nrest".to_vec()),
            CardSource::Image(_)
        ));
        assert!(matches!(
            CardSource::from_bytes(br#"{"verifiableCredential":[]}"#.to_vec()),
            CardSource::File(_)
        ));
        assert!(matches!(
            read_cards(&CardSource::File(
                br#"{"verifiableCredential":[]}"#.to_vec()
            )),
            Err(WalletError::Card(CardImportError::NotACard(_)))
        ));
        assert!(matches!(
            read_cards(&CardSource::Image(b"\x89PNG\r\n\x1a\nnot really".to_vec())),
            Err(WalletError::Card(CardImportError::NoQrCode(_)))
        ));
    }
}
