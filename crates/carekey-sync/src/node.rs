//! The node's write API (protocol §3), as a blocking client.
//!
//! Nothing a node answers is trusted: a submission's receipt is checked by the caller with
//! [`crate::verify_receipt`], and every later sync checks the entry is still there.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use carekey_crypto::{sha256, Signature};
use carekey_model::GrantId;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::source::{
    base_url_of, http_client, join, read_capped, transport, CONNECT_TIMEOUT, REQUEST_TIMEOUT,
};
use crate::SyncError;

/// The header carrying a grant key's signature over an upload or a delete.
pub const SIGNATURE_HEADER: &str = "Carekey-Signature";
/// The header carrying the index of the access event a fetch appended.
pub const ACCESS_EVENT_HEADER: &str = "Carekey-Access-Event";
/// The largest JSON answer read from a node (a receipt is a checkpoint plus ~64 hashes).
const MAX_JSON_BYTES: u64 = 2 << 20;
/// The largest grant bundle downloaded (the model's bundle limit).
const MAX_BUNDLE_BYTES: u64 = carekey_model::limits::MAX_BUNDLE_BYTES as u64;
/// How long a bundle upload or download may take (bundles reach 256 MiB).
const BUNDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// What `POST /v1/entries` answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The entry's index in the log.
    pub index: u64,
    /// The C2SP `tlog-proof` receipt (check it with [`crate::verify_receipt`], then keep it).
    pub receipt: String,
}

/// What `POST /v1/grants/<id>/fetch` answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The grant bundle bytes.
    pub bundle: Vec<u8>,
    /// The index of the access event the node logged, if it said so.
    pub access_event: Option<u64>,
}

/// A client of one node's write API.
#[derive(Debug, Clone)]
pub struct NodeClient {
    base: Url,
    client: Client,
}

#[derive(Serialize)]
struct SubmitBody {
    entry: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binding: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
}

impl NodeClient {
    /// A client of the node at `base_url` (e.g. `https://ledger.example/`).
    pub fn new(base_url: &str) -> Result<Self, SyncError> {
        Self::with_timeouts(base_url, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// The same with other timeouts (bundle transfers always get at least 10 minutes).
    pub fn with_timeouts(
        base_url: &str,
        connect: Duration,
        total: Duration,
    ) -> Result<Self, SyncError> {
        Ok(Self {
            base: base_url_of(base_url)?,
            client: http_client(base_url, connect, total)?,
        })
    }

    /// The node's base URL.
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// Appends a GrantCommitment, RevocationEntry or ErasureEntry (`POST /v1/entries`); a grant
    /// commitment travels with its signed grant, ledger binding and salt. Idempotent: the node
    /// answers the same index for the same entry bytes.
    pub fn submit(
        &self,
        entry: &[u8],
        grant: Option<&[u8]>,
        binding: Option<&[u8]>,
        salt: Option<&[u8; 32]>,
    ) -> Result<Submitted, SyncError> {
        let url = join(&self.base, "v1/entries");
        let body = SubmitBody {
            entry: B64.encode(entry),
            grant: grant.map(|g| B64.encode(g)),
            binding: binding.map(|b| B64.encode(b)),
            salt: salt.map(|s| B64.encode(s)),
        };
        let body = serde_json::to_vec(&body).map_err(|e| SyncError::BadResponse {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
        let response = self.send(
            &url,
            self.client
                .post(url.clone())
                .header("Content-Type", "application/json")
                .body(body),
        )?;
        let bytes = read_capped(response, &url, MAX_JSON_BYTES)?;
        let submitted: Submitted =
            serde_json::from_slice(&bytes).map_err(|e| SyncError::BadResponse {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        Ok(submitted)
    }

    /// Uploads a grant's off-log bundle (`PUT /v1/grants/<id>/bundle`). `signature` is the
    /// grant key's signature over
    /// [`upload_message`](carekey_model::ledger::upload_message)`(grant_id, SHA-256(bundle))`.
    pub fn upload_bundle(
        &self,
        grant_id: &GrantId,
        bundle: &[u8],
        signature: &Signature,
    ) -> Result<(), SyncError> {
        let url = join(&self.base, &format!("v1/grants/{grant_id}/bundle"));
        let request = self
            .client
            .put(url.clone())
            .timeout(BUNDLE_TIMEOUT)
            .header("Content-Type", "application/octet-stream")
            .header(SIGNATURE_HEADER, B64.encode(signature.to_bytes()))
            .body(bundle.to_vec());
        self.send(&url, request).map(drop)
    }

    /// Downloads a grant's bundle as its provider (`POST /v1/grants/<id>/fetch`) with the
    /// provider's signed fetch request. A refusal is [`SyncError::Status`] with the node's code
    /// (`"revoked"`, `"expired"`, `"erased"`, …).
    pub fn fetch(&self, grant_id: &GrantId, request: &[u8]) -> Result<Fetched, SyncError> {
        let url = join(&self.base, &format!("v1/grants/{grant_id}/fetch"));
        let builder = self
            .client
            .post(url.clone())
            .timeout(BUNDLE_TIMEOUT)
            .header("Content-Type", "application/cose")
            .body(request.to_vec());
        let response = self.send(&url, builder)?;
        let access_event = match response.headers().get(ACCESS_EVENT_HEADER) {
            None => None,
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<u64>().ok())
                    .ok_or_else(|| SyncError::BadResponse {
                        url: url.to_string(),
                        reason: format!("{ACCESS_EVENT_HEADER} is not an index"),
                    })?,
            ),
        };
        let bundle = read_capped(response, &url, MAX_BUNDLE_BYTES)?;
        Ok(Fetched {
            bundle,
            access_event,
        })
    }

    /// Erases a grant's off-log copy (`DELETE /v1/grants/<id>`). `signature` is the grant
    /// key's signature over [`delete_message`](carekey_model::ledger::delete_message)`(grant_id)`.
    pub fn delete_bundle(
        &self,
        grant_id: &GrantId,
        signature: &Signature,
    ) -> Result<(), SyncError> {
        let url = join(&self.base, &format!("v1/grants/{grant_id}"));
        let request = self
            .client
            .delete(url.clone())
            .header(SIGNATURE_HEADER, B64.encode(signature.to_bytes()));
        self.send(&url, request).map(drop)
    }

    /// Stores a backup key share (`PUT /v1/backup-shares/<id>`): body share ‖ owner key;
    /// `signature` is the owner's over
    /// [`share_put_message`](carekey_model::ledger::share_put_message)`(id, share)`.
    pub fn put_backup_share(
        &self,
        id: &[u8; 16],
        share: &[u8; 32],
        owner: &[u8; 32],
        signature: &Signature,
    ) -> Result<(), SyncError> {
        let url = self.share_url(id);
        let mut body = share.to_vec();
        body.extend_from_slice(owner);
        let request = self
            .client
            .put(url.clone())
            .header("Content-Type", "application/octet-stream")
            .header(SIGNATURE_HEADER, B64.encode(signature.to_bytes()))
            .body(body);
        self.send(&url, request).map(drop)
    }

    /// Reads a backup key share (`GET /v1/backup-shares/<id>`); `Ok(None)` when the node says
    /// it has none (`404`: never stored there, or deleted by an erasure).
    pub fn backup_share(&self, id: &[u8; 16]) -> Result<Option<[u8; 32]>, SyncError> {
        let url = self.share_url(id);
        let response = match self.send(&url, self.client.get(url.clone())) {
            Err(SyncError::Status { status: 404, .. }) => return Ok(None),
            other => other?,
        };
        let body = read_capped(response, &url, 64)?;
        let share: [u8; 32] = body
            .as_slice()
            .try_into()
            .map_err(|_| SyncError::BadResponse {
                url: url.to_string(),
                reason: "a backup key share is 32 bytes".to_owned(),
            })?;
        Ok(Some(share))
    }

    /// Deletes a backup key share (`DELETE /v1/backup-shares/<id>`); `signature` is the
    /// owner's over [`share_delete_message`](carekey_model::ledger::share_delete_message)`(id)`.
    pub fn delete_backup_share(
        &self,
        id: &[u8; 16],
        signature: &Signature,
    ) -> Result<(), SyncError> {
        let url = self.share_url(id);
        let request = self
            .client
            .delete(url.clone())
            .header(SIGNATURE_HEADER, B64.encode(signature.to_bytes()));
        self.send(&url, request).map(drop)
    }

    /// Registers or updates a SMART Health Link (`PUT /v1/links/<id>`, protocol §7): `body` is
    /// the registration JSON, `signature` the link key's over
    /// [`link_put_message`](carekey_model::shl::hosting::link_put_message). Returns the
    /// manifest URL the node answers with.
    pub fn put_link(
        &self,
        id: &str,
        body: &[u8],
        signature: &Signature,
    ) -> Result<String, SyncError> {
        let url = join(&self.base, &format!("v1/links/{id}"));
        let request = self
            .client
            .put(url.clone())
            .header("Content-Type", "application/json")
            .header(SIGNATURE_HEADER, B64.encode(signature.to_bytes()))
            .body(body.to_vec());
        let response = self.send(&url, request)?;
        let body = read_capped(response, &url, 4096)?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| SyncError::BadResponse {
                url: url.to_string(),
                reason: format!("not JSON: {e}"),
            })?;
        answer["url"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| SyncError::BadResponse {
                url: url.to_string(),
                reason: "no manifest url in the answer".to_owned(),
            })
    }

    /// Ends a SMART Health Link (`DELETE /v1/links/<id>`); `signature` is the link key's over
    /// [`link_delete_message`](carekey_model::shl::hosting::link_delete_message).
    pub fn end_link(&self, id: &str, signature: &Signature) -> Result<(), SyncError> {
        let url = join(&self.base, &format!("v1/links/{id}"));
        let request = self
            .client
            .delete(url.clone())
            .header(SIGNATURE_HEADER, B64.encode(signature.to_bytes()));
        self.send(&url, request).map(drop)
    }

    fn share_url(&self, id: &[u8; 16]) -> Url {
        join(&self.base, &format!("v1/backup-shares/{}", hex::encode(id)))
    }

    /// Sends a request; any status but 2xx becomes [`SyncError::Status`] with the node's code.
    fn send(&self, url: &Url, request: RequestBuilder) -> Result<Response, SyncError> {
        let response = request.send().map_err(|e| transport(url, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(status_error(url, status, response))
    }
}

/// The hash an upload signature covers, for callers building one: SHA-256 of the bundle.
pub fn bundle_hash(bundle: &[u8]) -> [u8; 32] {
    sha256(bundle)
}

fn status_error(url: &Url, status: StatusCode, response: Response) -> SyncError {
    // The node's error body is small JSON; a bigger or garbled one just has no code.
    let code = read_capped(response, url, 64 * 1024)
        .ok()
        .and_then(|b| serde_json::from_slice::<ErrorBody>(&b).ok())
        .map(|e| e.code)
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_graphic()));
    SyncError::Status {
        url: url.to_string(),
        status: status.as_u16(),
        code,
    }
}
