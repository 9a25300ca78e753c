//! Link opens: a viewer asked a node for a SMART Health Link's manifest (ADR 0016). The node
//! logs a [`LinkOpenEvent`](super::LinkOpenEvent) before it answers; what happened is sealed
//! to the link's X25519 event key, bound to the event exactly as access details are
//! ([`AccessBinding`](super::AccessBinding)), under another context so that neither kind of
//! details opens as the other: info `"carekey/v1/link-open"`, associated data
//! `"carekey/v1/link-open" ‖ u16 BE length of the origin ‖ origin ‖ node key ‖ link key ‖
//! event id ‖ event key`.

use carekey_crypto::{AgreementPublic, AgreementSecret, PublicKey};

use super::access::{open_bytes, seal_bytes};
use super::MAX_SEALED_BYTES;
use crate::cbor::{self, Cbor, MapBuilder, MapReader};
use crate::error::DocumentError;
use crate::limits::MAX_TIMESTAMP;

/// HKDF info of sealed link-open details, and the start of their associated data.
const LINK_OPEN_CONTEXT: &[u8] = b"carekey/v1/link-open";
/// Longest recipient a node logs (bytes of UTF-8); longer ones are refused by the node.
pub const MAX_RECIPIENT_BYTES: usize = 512;

/// What sealed link-open details are bound to: the log, the node key that signs the event, the
/// link's pseudonym key and the event id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOpenBinding {
    /// The log's origin (the name in its note verifier key).
    pub origin: String,
    /// The node's log key, which signs the event.
    pub node_key: PublicKey,
    /// The link's pseudonym key.
    pub link_key: PublicKey,
    /// The event's id.
    pub event_id: [u8; 16],
}

impl LinkOpenBinding {
    /// The binding of `event`, logged on the log called `origin`.
    pub fn of(origin: &str, event: &super::LinkOpenEvent) -> Self {
        Self {
            origin: origin.to_owned(),
            node_key: event.node_key,
            link_key: event.link_key,
            event_id: event.event_id,
        }
    }

    /// The AEAD associated data for details sealed to `event_key` under this binding.
    pub fn aad(&self, event_key: &AgreementPublic) -> Vec<u8> {
        let origin = &self.origin.as_bytes()[..self.origin.len().min(usize::from(u16::MAX))];
        let mut aad = Vec::with_capacity(LINK_OPEN_CONTEXT.len() + 2 + origin.len() + 112);
        aad.extend_from_slice(LINK_OPEN_CONTEXT);
        aad.extend_from_slice(&(origin.len() as u16).to_be_bytes());
        aad.extend_from_slice(origin);
        aad.extend_from_slice(self.node_key.as_bytes());
        aad.extend_from_slice(self.link_key.as_bytes());
        aad.extend_from_slice(&self.event_id);
        aad.extend_from_slice(event_key.as_bytes());
        aad
    }
}

/// How a manifest request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkOutcome {
    /// The manifest was served.
    Opened,
    /// The passcode was wrong; `remaining` attempts are left (0: the link is now closed).
    WrongPasscode {
        /// Attempts left after this one.
        remaining: u32,
    },
}

/// What a [`LinkOpenEvent`](super::LinkOpenEvent) seals for the patient.
///
/// Deterministic CBOR `{0: recipient, 1: outcome (0 opened, 1 wrong passcode), 2: attempts
/// left (wrong passcode only), 3: at}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOpenDetails {
    /// 0: who the viewer says it is (the SHL `recipient`), as sent: never verified.
    pub recipient: String,
    /// 1, 2: what happened.
    pub outcome: LinkOutcome,
    /// 3: when the node received the request (unix seconds).
    pub at: u64,
}

impl LinkOpenDetails {
    /// The deterministic CBOR encoding (the plaintext that is sealed).
    pub fn to_cbor(&self) -> Vec<u8> {
        let (code, remaining) = match self.outcome {
            LinkOutcome::Opened => (0, None),
            LinkOutcome::WrongPasscode { remaining } => (1, Some(remaining)),
        };
        MapBuilder::new()
            .put(0, Cbor::Text(self.recipient.clone()))
            .put(1, Cbor::Uint(code))
            .put_opt(2, remaining.map(|r| Cbor::Uint(u64::from(r))))
            .put(3, Cbor::Uint(self.at))
            .build()
            .to_vec()
    }

    /// Strictly decodes [`to_cbor`](Self::to_cbor)'s output.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, DocumentError> {
        if bytes.len() > MAX_SEALED_BYTES {
            return Err(DocumentError::TooLarge {
                what: "link-open details",
                limit: MAX_SEALED_BYTES,
            });
        }
        let mut m = MapReader::new(Cbor::decode(bytes)?, "link-open details")?;
        let recipient = cbor::text(m.required(0)?, "recipient", MAX_RECIPIENT_BYTES)?;
        let code = cbor::uint(m.required(1)?, "outcome")?;
        let remaining = m
            .optional(2)
            .map(|v| cbor::uint(v, "attempts left"))
            .transpose()?;
        let at = cbor::uint(m.required(3)?, "at")?;
        m.finish()?;
        if at > MAX_TIMESTAMP {
            return Err(DocumentError::malformed("at is after the year 9999"));
        }
        let outcome = match (code, remaining) {
            (0, None) => LinkOutcome::Opened,
            (1, Some(r)) => LinkOutcome::WrongPasscode {
                remaining: u32::try_from(r)
                    .map_err(|_| DocumentError::malformed("attempts left out of range"))?,
            },
            _ => return Err(DocumentError::malformed("unknown link-open outcome")),
        };
        let details = Self {
            recipient,
            outcome,
            at,
        };
        if details.to_cbor() != bytes {
            return Err(DocumentError::NotCanonical);
        }
        Ok(details)
    }
}

/// Seals `details` to a link's event key for the event `binding` describes.
pub fn seal_link_open(
    event_key: &AgreementPublic,
    details: &LinkOpenDetails,
    binding: &LinkOpenBinding,
) -> Result<Vec<u8>, DocumentError> {
    seal_bytes(
        event_key,
        LINK_OPEN_CONTEXT,
        &binding.aad(event_key),
        &details.to_cbor(),
    )
}

/// Opens what [`seal_link_open`] sealed, with the link's event secret, for the event `binding`
/// describes.
pub fn open_link_open(
    event_secret: &AgreementSecret,
    sealed: &[u8],
    binding: &LinkOpenBinding,
) -> Result<LinkOpenDetails, DocumentError> {
    let aad = binding.aad(&event_secret.public());
    LinkOpenDetails::from_cbor(&open_bytes(event_secret, sealed, LINK_OPEN_CONTEXT, &aad)?)
}
