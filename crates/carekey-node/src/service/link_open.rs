//! A viewer asks for a SMART Health Link's manifest (`POST /v1/links/<id>` below the HTTP
//! layer, protocol §7): the link is checked (`404` with nothing logged if it is unknown,
//! ended, expired or out of attempts), the request parsed (`400`), the passcode checked; then,
//! in the link's turn, one link-open event is appended whose effect takes an attempt off for a
//! wrong passcode in the same transaction, and only once it is covered by a signed checkpoint
//! is the viewer answered.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use carekey_crypto::{AgreementPublic, PublicKey};
use carekey_model::ledger::{
    seal_link_open, LinkOpenBinding, LinkOpenDetails, LinkOpenEvent, LinkOutcome,
    SignedLinkOpenEvent, MAX_RECIPIENT_BYTES,
};
use carekey_model::shl::hosting::{LinkId, PasscodeVerifier, FILE_LOCATION_SECS};
use carekey_model::shl::{ContentType, Manifest, ManifestFile, ManifestRequest, PasscodeRefused};
use zeroize::Zeroizing;

use crate::error::ApiError;
use crate::service::links::{link_refusal, LinkRefusal};
use crate::service::submission::{Effect, Submission};
use crate::service::Node;
use crate::storage::links::{self as store, FileToken, LinkPasscode, LinkRow, LinkState};

/// How a manifest request is answered (after its link-open event is logged).
#[derive(Debug)]
pub(crate) enum LinkAnswer {
    /// `200` with the manifest.
    Manifest(Manifest),
    /// `401`: a wrong or missing passcode.
    WrongPasscode(PasscodeRefused),
}

/// A passcode checked against a link's verifier, outside the link's turn (Argon2 is slow).
struct Checked {
    /// The verifier it was checked against.
    salt: [u8; 16],
    hash: [u8; 32],
    correct: bool,
}

impl Node {
    /// Link `id` if it is served at `now`; else the `404` to answer.
    pub(crate) fn live_link(&self, id: &LinkId, now: u64) -> Result<LinkRow, ApiError> {
        let state = self.link_state(id)?.ok_or(LinkRefusal::Unknown)?;
        if let Some(refusal) = link_refusal(&state, now) {
            return Err(refusal.into());
        }
        match state {
            LinkState::Live(row) => Ok(row),
            LinkState::Ended { .. } => Err(LinkRefusal::Ended.into()),
        }
    }

    /// `POST /v1/links/<id>` with `body`, received at `now`.
    pub(crate) async fn open_link(
        &self,
        id: LinkId,
        body: &[u8],
        now: u64,
    ) -> Result<LinkAnswer, ApiError> {
        let row = self.live_link(&id, now)?;
        let mut request = ManifestRequest::from_json(body)
            .map_err(|e| ApiError::bad_request("malformed_request", e.to_string()))?;
        if request.recipient.len() > MAX_RECIPIENT_BYTES {
            return Err(ApiError::bad_request(
                "malformed_request",
                format!("recipient is longer than {MAX_RECIPIENT_BYTES} bytes"),
            ));
        }
        let passcode = request.passcode.take().map(Zeroizing::new);
        let checked = match &row.passcode {
            Some(verifier) => Some(self.check_passcode(verifier, &passcode).await?),
            None => None,
        };
        // Its own task: a viewer that hangs up cannot cut the link's turn short between the
        // count it read and the append that changes it.
        let node = self.clone();
        tokio::spawn(async move { node.log_open(id, request, passcode, checked, now).await })
            .await
            .map_err(|_| ApiError::internal())?
    }

    /// Whether `passcode` is the link's (Argon2id on the blocking pool, a few at a time).
    async fn check_passcode(
        &self,
        verifier: &LinkPasscode,
        passcode: &Option<Zeroizing<String>>,
    ) -> Result<Checked, ApiError> {
        let mut checked = Checked {
            salt: verifier.salt,
            hash: verifier.hash,
            correct: false,
        };
        let Some(passcode) = passcode.clone() else {
            return Ok(checked);
        };
        let verifier = PasscodeVerifier {
            salt: URL_SAFE_NO_PAD.encode(verifier.salt),
            hash: URL_SAFE_NO_PAD.encode(verifier.hash),
        };
        let _permit = self
            .passcode_checks()
            .acquire()
            .await
            .map_err(|_| ApiError::unavailable())?;
        checked.correct = tokio::task::spawn_blocking(move || verifier.matches(&passcode))
            .await
            .map_err(|_| ApiError::internal())?
            .map_err(|_| ApiError::internal())?;
        Ok(checked)
    }

    /// In link `id`'s turn: checks the link again, logs the open and answers.
    async fn log_open(
        &self,
        id: LinkId,
        request: ManifestRequest,
        passcode: Option<Zeroizing<String>>,
        checked: Option<Checked>,
        now: u64,
    ) -> Result<LinkAnswer, ApiError> {
        let _turn = self.link_locks().lock(&id).await;
        let row = self.live_link(&id, now)?;
        let correct = match (&row.passcode, checked) {
            (None, _) => true,
            (Some(v), Some(c)) if c.salt == v.salt && c.hash == v.hash => c.correct,
            // The link was updated with another passcode meanwhile.
            (Some(v), _) => self.check_passcode(v, &passcode).await?.correct,
        };
        let attempts_left = row.passcode.as_ref().map(|p| p.attempts_left);
        let (outcome, manifest, tokens) = if correct {
            let (manifest, tokens) = self.manifest(&id, request.embedded_length_max, now)?;
            (LinkOutcome::Opened, Some(manifest), tokens)
        } else {
            let remaining = attempts_left.unwrap_or(0).saturating_sub(1);
            (LinkOutcome::WrongPasscode { remaining }, None, Vec::new())
        };
        let event = self.link_open_event(&row, request.recipient, outcome, now)?;
        let appended = self
            .append(Submission::new(
                event.as_bytes().to_vec(),
                Effect::LinkOpen {
                    link_id: id.0,
                    wrong_passcode: !correct,
                    attempts_left,
                    at: now,
                    tokens,
                },
            ))
            .await?;
        tracing::info!(index = appended.index, opened = correct, "link-open logged");
        Ok(match (manifest, outcome) {
            (Some(manifest), _) => LinkAnswer::Manifest(manifest),
            (None, LinkOutcome::WrongPasscode { remaining }) => {
                LinkAnswer::WrongPasscode(PasscodeRefused {
                    remaining_attempts: remaining,
                })
            }
            (None, LinkOutcome::Opened) => return Err(ApiError::internal()),
        })
    }

    /// The manifest of link `id` for a viewer that takes embedded files up to
    /// `embedded_length_max` bytes (all of them without it), and the tokens of its
    /// `location` URLs.
    fn manifest(
        &self,
        id: &LinkId,
        embedded_length_max: Option<u64>,
        now: u64,
    ) -> Result<(Manifest, Vec<FileToken>), ApiError> {
        let stored = self.db(|c| store::link_files(c, &id.0))?;
        let mut files = Vec::with_capacity(stored.len());
        let mut tokens = Vec::new();
        for (n, file) in stored.into_iter().enumerate() {
            let content_type =
                ContentType::parse(&file.content_type).ok_or_else(ApiError::internal)?;
            let embed = embedded_length_max.is_none_or(|max| file.jwe.len() as u64 <= max);
            let (embedded, location) = if embed {
                (Some(file.jwe), None)
            } else {
                let token = FileToken {
                    token: carekey_crypto::random_array(),
                    n: u32::try_from(n).map_err(|_| ApiError::internal())?,
                    expires_at: now + FILE_LOCATION_SECS,
                };
                let url = format!(
                    "{}/files/{n}?t={}",
                    self.link_url(id),
                    URL_SAFE_NO_PAD.encode(token.token)
                );
                tokens.push(token);
                (None, Some(url))
            };
            files.push(ManifestFile {
                content_type,
                embedded,
                location,
                last_updated: None,
                status: None,
                fhir_version: None,
            });
        }
        Ok((Manifest { files, list: None }, tokens))
    }

    /// The link-open event for `row`, its details sealed to the link's event key and bound to
    /// this log, this node key, the link key and a fresh event id.
    fn link_open_event(
        &self,
        row: &LinkRow,
        recipient: String,
        outcome: LinkOutcome,
        now: u64,
    ) -> Result<SignedLinkOpenEvent, ApiError> {
        let key = self.key();
        let binding = LinkOpenBinding {
            origin: key.note.name().to_owned(),
            node_key: key.signing.public(),
            link_key: PublicKey::from_bytes(&row.link_key).map_err(|_| ApiError::internal())?,
            event_id: carekey_crypto::random_array(),
        };
        let details = LinkOpenDetails {
            recipient,
            outcome,
            at: now,
        };
        let event_key = AgreementPublic::from_bytes(row.event_key);
        let sealed =
            seal_link_open(&event_key, &details, &binding).map_err(|_| ApiError::internal())?;
        SignedLinkOpenEvent::sign(
            LinkOpenEvent {
                node_key: binding.node_key,
                link_key: binding.link_key,
                event_id: binding.event_id,
                sealed,
                logged_at: now,
            },
            &key.signing,
        )
        .map_err(|_| ApiError::internal())
    }
}
