//! What each kind of wallet keeps inside its vault, and how it is encoded.
//!
//! The vault stores two opaque byte strings: the *state* (sealed under the master key) and the
//! *key index* (sealed under the master key and the current erasure epoch key). This module
//! gives them their shape. Both are CBOR via serde; secrets are held in [`Zeroizing`] buffers.
//! Which role's body the state holds, and how it is read and written, is in [`document`].

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use carekey_model::{GrantId, RecordId};

use crate::WalletError;

mod document;

pub(crate) use document::{
    encode_directory, encode_patient, encode_provider, read_directory, read_patient, read_provider,
};

/// Secret key bytes inside a state document; zeroized on drop, never printed.
#[derive(Clone)]
pub(crate) struct SecretBytes(pub(crate) Zeroizing<[u8; 32]>);

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for SecretBytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(&self.0[..])
    }
}

impl<'de> Deserialize<'de> for SecretBytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = Zeroizing::new(bytes::deserialize(d)?);
        let array: [u8; 32] = bytes[..]
            .try_into()
            .map_err(|_| serde::de::Error::custom("secret key must be 32 bytes"))?;
        Ok(SecretBytes(Zeroizing::new(array)))
    }
}

/// Byte strings (signed documents, hashes) encoded as CBOR byte strings, not arrays of ints.
pub(crate) mod bytes {
    use serde::{Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_bytes(V)
    }
}

/// A patient's wallet.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PatientState {
    pub(crate) identity: SecretBytes,
    pub(crate) agreement: SecretBytes,
    /// The recovery kit's public key: backups are sealed to it, so the wallet can write a
    /// backup at any time without knowing the recovery words.
    #[serde(with = "bytes")]
    pub(crate) recovery_public: Vec<u8>,
    pub(crate) created_at: u64,
    pub(crate) records: BTreeMap<RecordId, RecordEntry>,
    pub(crate) grants: BTreeMap<GrantId, GrantEntry>,
    /// Signed provider directories the patient imported.
    pub(crate) directories: Vec<ByteDoc>,
    /// Directory keys the patient pinned (hex).
    pub(crate) trusted_directories: Vec<String>,
    /// Ledger node URLs the patient pinned or confirmed.
    pub(crate) pinned_nodes: Vec<String>,
    /// Backup files this wallet wrote; re-written on every erasure so no backup the wallet
    /// knows about outlives an erased key.
    pub(crate) backups: Vec<PathBuf>,
    /// Signed tombstones of past erasures.
    pub(crate) tombstones: Vec<ByteDoc>,
    /// Ledger nodes the patient pinned with their keys, and what the wallet last verified.
    #[serde(default)]
    pub(crate) logs: Vec<LogSettings>,
    /// Writes waiting for a node (offline is normal).
    #[serde(default)]
    pub(crate) outbox: carekey_sync::Outbox,
    /// Access events found on the ledger for this wallet's grants.
    #[serde(default)]
    pub(crate) access_log: Vec<AccessRecord>,
    /// Erasure entries published (or queued) for tombstones.
    #[serde(default)]
    pub(crate) erasures: Vec<ErasurePublication>,
    /// The witnesses (and quorum) the patient requires of a node confirmed from a request.
    #[serde(default)]
    pub(crate) witness_policy: WitnessPolicy,
    /// The key share the current backups are sealed with (none while no remote node is pinned).
    #[serde(default)]
    pub(crate) backup_share: Option<BackupShareState>,
    /// A known backup could not be re-written after a change that destroyed keys: every sync
    /// tries again.
    #[serde(default)]
    pub(crate) backups_stale: bool,
    /// When each known backup was last written (unix seconds).
    #[serde(default)]
    pub(crate) backup_times: BTreeMap<PathBuf, u64>,
    /// Backups written on a schedule into a folder the patient chose.
    #[serde(default)]
    pub(crate) backup_schedule: Option<BackupSchedule>,
    /// How many access events the patient has looked at (the access log only grows).
    #[serde(default)]
    pub(crate) accesses_seen: usize,
    /// What the last completed sync found, for "checked 2 min ago" and the home screen.
    #[serde(default)]
    pub(crate) last_sync: Option<LastSync>,
    /// SMART Health Card issuers the patient trusts: only their keys are ever fetched.
    #[serde(default)]
    pub(crate) card_issuers: Vec<crate::patient::TrustedIssuer>,
    /// Imported health cards, by the record holding each one's FHIR Bundle.
    #[serde(default)]
    pub(crate) cards: BTreeMap<RecordId, crate::patient::CardEntry>,
    /// SMART Health Links the patient made (ended ones too).
    #[serde(default)]
    pub(crate) links: Vec<LinkEntry>,
    /// Requests for those links' manifests found on the ledger.
    #[serde(default)]
    pub(crate) link_opens: Vec<LinkOpenRecord>,
    /// How many of them the patient has looked at (the list only grows).
    #[serde(default)]
    pub(crate) link_opens_seen: usize,
}

/// Backups written on a schedule.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BackupSchedule {
    pub(crate) folder: PathBuf,
    pub(crate) every_secs: u64,
    /// Why the last scheduled backup failed (cleared by the next one that works).
    #[serde(default)]
    pub(crate) last_problem: Option<String>,
}

/// The outcome of the last completed sync, in counts.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub(crate) struct LastSync {
    pub(crate) at: u64,
    /// Nodes that served what does not verify (including alarms).
    pub(crate) failed: usize,
    /// Nodes that did not answer.
    pub(crate) unreachable: usize,
}

/// A backup key share, the random key that owns it on the nodes, and where it was stored.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct BackupShareState {
    pub(crate) id: [u8; 16],
    /// Only in state files written before the share moved into the key index (where an
    /// erasure destroys it with the epoch key); moved there on unlock.
    #[serde(default, rename = "secret", skip_serializing_if = "Option::is_none")]
    pub(crate) legacy_secret: Option<SecretBytes>,
    /// Signs the share's storing and deletion; not the patient's identity key, so the node
    /// cannot link the share to the patient.
    pub(crate) owner: SecretBytes,
    /// The nodes it was queued to.
    pub(crate) nodes: Vec<String>,
}

/// A pinned ledger node and the last state the wallet verified.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LogSettings {
    pub(crate) pinned: carekey_sync::PinnedLog,
    pub(crate) state: carekey_sync::LogState,
    /// URLs this log was served from before the patient moved it (grants signed earlier still
    /// name them).
    #[serde(default)]
    pub(crate) former_urls: Vec<String>,
    /// A node on this device (the app's embedded node): it holds no backup key share, since a
    /// lost device would take the share with it.
    #[serde(default)]
    pub(crate) local: bool,
}

/// A grant's pseudonyms on the ledger and where its entries were published.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct GrantLedger {
    /// Per-grant Ed25519 key: signs the grant's log entries and bundle uploads.
    pub(crate) grant_key: SecretBytes,
    /// Per-grant X25519 key: nodes seal access-event details to it.
    pub(crate) event_key: SecretBytes,
    #[serde(with = "bytes")]
    pub(crate) salt: Vec<u8>,
    pub(crate) binding: ByteDoc,
    /// The GrantCommitment entry.
    pub(crate) entry: ByteDoc,
    /// The RevocationEntry, once the grant ended.
    #[serde(default)]
    pub(crate) pending_revocation: Option<ByteDoc>,
    /// The RevocationEntry with an end time, once the patient shortened the grant.
    #[serde(default)]
    pub(crate) shortening: Option<ByteDoc>,
    pub(crate) published: Vec<Publication>,
}

/// An entry a node accepted, with its receipt.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Publication {
    pub(crate) node: String,
    pub(crate) kind: String,
    pub(crate) index: u64,
    /// C2SP tlog-proof text.
    pub(crate) receipt: String,
}

/// An erasure entry for a tombstone.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ErasurePublication {
    pub(crate) tombstone: ByteDoc,
    #[serde(with = "bytes")]
    pub(crate) salt: Vec<u8>,
    pub(crate) entry: ByteDoc,
    pub(crate) published: Vec<Publication>,
}

/// One access event found on a log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AccessRecord {
    pub(crate) node: String,
    pub(crate) index: u64,
    pub(crate) grant_id: GrantId,
    pub(crate) served_at: u64,
    /// "verified" or why not.
    pub(crate) verification: String,
    /// The provider's fetch nonce inside the event (hex), when the details opened: a node
    /// that logs one request twice is caught by it.
    #[serde(default)]
    pub(crate) request_nonce: Option<String>,
    /// The key of the log it is on (a log is known by its key, not by the address it was
    /// read at); `None` for records kept before issue 8, known then by `node`.
    #[serde(default)]
    pub(crate) log_key: Option<String>,
}

/// A SMART Health Link the patient made (ADR 0016).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LinkEntry {
    /// 43 base64url characters: the last part of the manifest URL.
    pub(crate) id: String,
    /// The pinned node that serves it.
    pub(crate) node: String,
    /// The manifest URL the node answered with.
    pub(crate) url: String,
    /// The link's file key (AES-256-GCM): in the link, never on a node.
    pub(crate) file_key: SecretBytes,
    /// Ed25519 pseudonym key: signs the registration and the end; opens name it.
    pub(crate) link_key: SecretBytes,
    /// X25519 key the node seals opens to.
    pub(crate) event_key: SecretBytes,
    pub(crate) label: Option<String>,
    pub(crate) exp: Option<u64>,
    /// The passcode's verifier (the passcode itself is shown once and not kept).
    pub(crate) passcode: Option<carekey_model::shl::hosting::PasscodeVerifier>,
    pub(crate) attempts: Option<u32>,
    pub(crate) long_term: bool,
    pub(crate) records: Vec<RecordId>,
    pub(crate) summary: bool,
    pub(crate) version: u64,
    pub(crate) created_at: u64,
    pub(crate) ended_at: Option<u64>,
}

/// A request for a link's manifest that a node logged.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct LinkOpenRecord {
    pub(crate) link_id: String,
    pub(crate) log_key: String,
    pub(crate) node: String,
    pub(crate) index: u64,
    /// The viewer's own claim.
    pub(crate) recipient: String,
    pub(crate) opened: bool,
    pub(crate) remaining: Option<u32>,
    pub(crate) at: u64,
}

/// A signed document kept verbatim.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct ByteDoc(#[serde(with = "bytes")] pub(crate) Vec<u8>);

/// One encrypted record.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RecordEntry {
    /// File name it was imported from (plus `#n` for resources split out of a bundle).
    pub(crate) name: String,
    pub(crate) resource_type: Option<String>,
    pub(crate) fhir_id: Option<String>,
    pub(crate) category: String,
    pub(crate) title: String,
    pub(crate) detail: Option<String>,
    pub(crate) date: Option<String>,
    pub(crate) size: u64,
    pub(crate) version: u32,
    #[serde(with = "bytes")]
    pub(crate) ciphertext_hash: Vec<u8>,
    #[serde(with = "bytes")]
    pub(crate) seal: Vec<u8>,
    pub(crate) imported_at: u64,
}

/// The lifecycle of a grant in the patient's wallet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum GrantStatus {
    Active,
    Revoked { at: u64 },
    Erased { at: u64 },
}

/// A grant the patient issued.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct GrantEntry {
    pub(crate) signed: ByteDoc,
    pub(crate) status: GrantStatus,
    /// The records whose keys were wrapped to the provider.
    pub(crate) records: Vec<RecordId>,
    #[serde(default)]
    pub(crate) revocation: Option<ByteDoc>,
    /// The grant's ledger pseudonyms, when it names pinned nodes.
    #[serde(default)]
    pub(crate) ledger: Option<GrantLedger>,
    /// The earlier end the patient chose (unix seconds), once the grant was shortened.
    #[serde(default)]
    pub(crate) ends_early: Option<u64>,
}

/// A provider's wallet.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ProviderState {
    pub(crate) name: String,
    pub(crate) identity: SecretBytes,
    pub(crate) agreement: SecretBytes,
    /// Requests this provider issued (verbatim), so a bundle can be matched to one.
    pub(crate) requests: Vec<ByteDoc>,
    /// Revocations the provider learnt of (verbatim, signed by the patient).
    #[serde(default)]
    pub(crate) revocations: Vec<ByteDoc>,
}

/// A directory operator's desk (e.g. a licensing body).
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct DirectoryState {
    pub(crate) name: String,
    pub(crate) identity: SecretBytes,
    pub(crate) providers: Vec<(String, String)>,
}

/// Record secrets, sealed under the erasure epoch key: the only place record keys live.
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct KeyIndex {
    pub(crate) version: u32,
    pub(crate) records: BTreeMap<RecordId, SecretBytes>,
    /// The current backup key share: here, under the epoch key, so a vault copy taken before
    /// an erasure cannot give it back once the erasure destroyed that epoch key.
    #[serde(default)]
    pub(crate) backup_share: Option<SecretBytes>,
}

impl std::fmt::Debug for KeyIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyIndex({} record keys, redacted)", self.records.len())
    }
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    let mut out = Zeroizing::new(Vec::new());
    ciborium::into_writer(value, &mut *out).map_err(|e| WalletError::State(e.to_string()))?;
    Ok(out)
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, WalletError> {
    ciborium::from_reader(bytes).map_err(|e| WalletError::State(e.to_string()))
}

/// The witnesses whose cosignatures the patient requires of a ledger node confirmed from a
/// provider's request (a request can name a node and its log key, never its witnesses).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WitnessPolicy {
    /// Witness cosignature verifier keys.
    pub witness_keys: Vec<String>,
    /// How many of them must cosign each checkpoint.
    pub quorum: usize,
}
