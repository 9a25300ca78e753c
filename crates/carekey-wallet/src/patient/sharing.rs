//! Sharing: reading a provider's request, granting what the patient chose, the key wraps and
//! bundles a provider opens, the grants list, and ending a grant (revocation, and the grant
//! side of an erasure). Ending a grant is one state write holding every ledger write it
//! implies; sending them is the ledger agent's job, outside the wallet lock.

use std::collections::BTreeSet;

use carekey_model::fhir;
use carekey_model::{
    verify_provider, Grant, GrantId, RecordId, Scope, Signed, SignedDirectory, SignedGrant,
    SignedRequest,
};

use super::grants::{
    DirectoryInfo, GrantEnd, GrantState, GrantSummary, KeyWraps, RequestInput, RequestReview,
    RevokeOutcome, ShareChoice, ShareError, ShareOutcome, ShortenOutcome,
};
use super::nodes::NodeRef;
use super::session::PatientSession;
use super::{bundles, ending, nodes, publish, records};
use crate::state::{ByteDoc, GrantEntry, GrantStatus};
use crate::WalletError;

/// Requests, grants and their ends. Borrow it with
/// [`PatientWallet::sharing`](super::PatientWallet::sharing).
#[derive(Debug)]
pub struct Sharing<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl Sharing<'_> {
    /// Pins a provider directory's key: only directories signed by pinned keys verify providers.
    pub fn trust_directory(&mut self, key: &str) -> Result<carekey_crypto::PublicKey, WalletError> {
        let key: carekey_crypto::PublicKey = key
            .trim()
            .parse()
            .map_err(|_| ShareError::BadDirectoryKey(key.to_owned()))?;
        let hex = key.to_string();
        if !self.s.state.trusted_directories.contains(&hex) {
            self.s.state.trusted_directories.push(hex);
            self.s.save()?;
        }
        Ok(key)
    }

    /// Imports a signed provider directory (verifies its signature; trust comes from pinning).
    pub fn import_directory(&mut self, bytes: &[u8]) -> Result<SignedDirectory, WalletError> {
        let directory = SignedDirectory::from_bytes(bytes)?;
        let key = directory.document().directory_key;
        // Keep only the newest directory per key.
        self.s.state.directories.retain(|d| {
            SignedDirectory::from_bytes(&d.0)
                .map(|old| old.document().directory_key != key)
                .unwrap_or(false)
        });
        self.s.state.directories.push(ByteDoc(bytes.to_vec()));
        self.s.save()?;
        Ok(directory)
    }

    /// Adds a provider directory as the patient got it: the signed directory file and the
    /// directory's key from a source they trust. The file must be signed by that key (else
    /// nothing is changed); the key is pinned and the directory kept.
    pub fn add_directory(&mut self, bytes: &[u8], key: &str) -> Result<DirectoryInfo, WalletError> {
        let parsed: carekey_crypto::PublicKey = key
            .trim()
            .parse()
            .map_err(|_| ShareError::BadDirectoryKey(key.to_owned()))?;
        let directory = SignedDirectory::from_bytes(bytes)?;
        if directory.document().directory_key != parsed {
            return Err(ShareError::DirectoryKeyMismatch.into());
        }
        self.import_directory(bytes)?;
        self.trust_directory(key)?;
        Ok(directory_info(&parsed.to_string(), Some(&directory)))
    }

    /// The provider directories the patient trusts (pinned keys, with the directory each
    /// signed when one was imported).
    pub fn directories(&self) -> Vec<DirectoryInfo> {
        let imported: Vec<SignedDirectory> = self
            .s
            .state
            .directories
            .iter()
            .filter_map(|d| SignedDirectory::from_bytes(&d.0).ok())
            .collect();
        self.s
            .state
            .trusted_directories
            .iter()
            .map(|key| {
                let found = imported
                    .iter()
                    .find(|d| d.document().directory_key.to_string() == *key);
                directory_info(key, found)
            })
            .collect()
    }

    /// Stops trusting a directory: unpins its key and drops the directory it signed. Providers
    /// it listed are then checked by their short code again.
    pub fn remove_directory(&mut self, key: &str) -> Result<(), WalletError> {
        let key = key.trim().to_ascii_lowercase();
        if !self.s.state.trusted_directories.contains(&key) {
            return Err(WalletError::NotFound {
                what: "trusted directory",
                query: key,
            });
        }
        self.s.state.trusted_directories.retain(|k| *k != key);
        self.s.state.directories.retain(|d| {
            SignedDirectory::from_bytes(&d.0)
                .map(|dir| dir.document().directory_key.to_string() != key)
                .unwrap_or(false)
        });
        self.s.save()
    }

    /// Reads and verifies a provider's access request and prepares what the patient must see.
    pub fn review_request(
        &self,
        input: RequestInput<'_>,
        now: u64,
    ) -> Result<RequestReview, WalletError> {
        let request = parse_request(input)?;
        request.check_fresh(now)?;
        let r = request.document();
        let provider = provider_check(self.s, &r.provider_name, &r.provider_signing);
        let mut unpinned_nodes = Vec::new();
        for n in &r.nodes {
            let node = NodeRef::parse(n)?;
            nodes::check_request_node(self.s, &node)?;
            if nodes::log_of_url(self.s, &node.url).is_none()
                && !self.s.state.pinned_nodes.contains(&node.url)
            {
                unpinned_nodes.push(n.clone());
            }
        }
        let matching_records = self
            .s
            .state
            .records
            .iter()
            .filter(|(id, e)| r.scope.allows(id, e.resource_type.as_deref()))
            .map(|(id, e)| records::summary_of(self.s, id, e))
            .collect();
        Ok(RequestReview {
            request,
            provider,
            unpinned_nodes,
            matching_records,
        })
    }

    /// Approves a reviewed request: signs a grant for what the patient chose (never more than
    /// the request asks for), builds the bundle for the provider and queues its publication on
    /// the grant's nodes (sent by the ledger agent).
    pub fn share(
        &mut self,
        review: &RequestReview,
        choice: &ShareChoice,
        now: u64,
    ) -> Result<ShareOutcome, WalletError> {
        let request = review.request.document();
        review.request.check_fresh(now)?;
        if !review.unpinned_nodes.is_empty() && !choice.confirm_nodes {
            return Err(ShareError::UnconfirmedNodes(review.unpinned_nodes.clone()).into());
        }
        for t in &choice.resource_types {
            if !request.scope.resource_types.iter().any(|r| r == t) {
                return Err(ShareError::NotRequested {
                    what: format!("{t} resources"),
                }
                .into());
            }
        }
        let mut chosen: BTreeSet<RecordId> = BTreeSet::new();
        for id in &choice.record_ids {
            let entry = records::entry(self.s, id)?;
            if !request.scope.allows(id, entry.resource_type.as_deref()) {
                return Err(ShareError::NotRequested {
                    what: format!("record {id} ({})", entry.title),
                }
                .into());
            }
            chosen.insert(*id);
        }
        for (id, entry) in &self.s.state.records {
            if let Some(t) = &entry.resource_type {
                if choice.resource_types.contains(t) {
                    chosen.insert(*id);
                }
            }
        }
        if chosen.is_empty() {
            return Err(ShareError::EmptyShare.into());
        }
        let duration = match choice.duration_secs {
            Some(0) => return Err(ShareError::ZeroDuration.into()),
            Some(d) => d.min(request.duration_secs),
            None => request.duration_secs,
        };
        let grant = Grant {
            grant_id: GrantId::generate(),
            patient_signing: self.s.public_key(),
            provider_name: request.provider_name.clone(),
            provider_signing: request.provider_signing,
            provider_agreement: request.provider_agreement,
            request_hash: review.request.hash(),
            scope: Scope::new(choice.record_ids.clone(), choice.resource_types.clone()),
            purpose: request.purpose.clone(),
            issued_at: now,
            not_before: now,
            not_after: now.saturating_add(duration),
            nodes: request.nodes.clone(),
        };
        let grant = Signed::sign(grant, &self.s.signing_key())?;
        nodes::pin_request_nodes(self.s, &request.nodes)?;
        let grant_id = grant.document().grant_id;
        let records: Vec<RecordId> = chosen.into_iter().collect();
        self.s.state.grants.insert(
            grant_id,
            GrantEntry {
                signed: ByteDoc(grant.as_bytes().to_vec()),
                status: GrantStatus::Active,
                records: records.clone(),
                revocation: None,
                ledger: None,
                ends_early: None,
            },
        );
        publish::grant(self.s, &grant_id, now)?;
        self.s.save()?;
        Ok(ShareOutcome { grant, records })
    }

    /// Wraps the current key of every record an active grant covers to the provider's X25519
    /// key, with one key agreement for the whole set.
    pub fn wrap_keys(&self, grant_id: &GrantId) -> Result<KeyWraps, WalletError> {
        bundles::wrap_keys(self.s, grant_id)
    }

    /// Builds a bundle for an active grant — the grant, the key wraps and the current
    /// ciphertexts — for a provider reached offline (a file, a USB stick).
    pub fn grant_bundle(&self, grant_id: &GrantId) -> Result<Vec<u8>, WalletError> {
        bundles::grant_bundle(self.s, grant_id)
    }

    /// Finds a grant by its id or an unambiguous prefix of it.
    pub fn find(&self, query: &str) -> Result<GrantId, WalletError> {
        super::find_by_prefix(self.s.state.grants.keys(), query, "grant")
    }

    /// Every grant, newest first, with its status at `now`.
    pub fn list(&self, now: u64) -> Vec<GrantSummary> {
        let mut out: Vec<(u64, GrantSummary)> = self
            .s
            .state
            .grants
            .iter()
            .filter_map(|(id, e)| {
                let signed = SignedGrant::from_bytes(&e.signed.0).ok()?;
                let g = signed.document();
                let ended = GrantEnd::of(&e.status);
                // Only an ended or shortened grant can wait for nodes (one pass over the
                // outbox each).
                let waiting_for = match ended {
                    None if e.ends_early.is_none() => Vec::new(),
                    _ => ending::waiting_for(self.s, id),
                };
                // A shortened grant past its new end, before the wallet re-keyed what it shared
                // (at the next sync): the nodes refuse it already.
                let shortened_past = e.ends_early.is_some_and(|t| now >= t) && ended.is_none();
                let (status, ends_as) = match ended {
                    None if shortened_past && !waiting_for.is_empty() => {
                        (GrantState::Ending, Some(GrantEnd::Revoked))
                    }
                    None if shortened_past => (GrantState::Revoked, None),
                    None if now >= g.not_after => (GrantState::Expired, None),
                    None => (GrantState::Active, None),
                    Some(end) if !waiting_for.is_empty() => (GrantState::Ending, Some(end)),
                    Some(end) => (end.into(), None),
                };
                Some((
                    g.issued_at,
                    GrantSummary {
                        id: *id,
                        provider_name: g.provider_name.clone(),
                        provider_key: g.provider_signing.to_string(),
                        purpose: g.purpose.clone(),
                        not_before: g.not_before,
                        not_after: g.not_after,
                        ends_early: e.ends_early,
                        status,
                        ends_as,
                        waiting_for,
                        records: e.records.clone(),
                        resource_types: g.scope.resource_types.clone(),
                    },
                ))
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.id.cmp(&b.1.id)));
        out.into_iter().map(|(_, s)| s).collect()
    }

    /// The signed grant, verbatim.
    pub fn signed_grant(&self, grant_id: &GrantId) -> Result<SignedGrant, WalletError> {
        self.s.signed_grant(grant_id)
    }

    /// The grant as a FHIR R4 Consent resource.
    pub fn consent(&self, grant_id: &GrantId) -> Result<serde_json::Value, WalletError> {
        Ok(fhir::grant_to_consent(&self.s.signed_grant(grant_id)?))
    }

    /// The nodes that have not yet acknowledged the end of a grant.
    pub fn waiting_for(&self, grant_id: &GrantId) -> Vec<String> {
        ending::waiting_for(self.s, grant_id)
    }

    /// Shortens an active grant: it ends at `ends_at` (after `now`, before its current end)
    /// instead of its signed end. The nodes it was published on get a revocation that takes
    /// effect at `ends_at` (they serve the grant until then and refuse it from then on, even
    /// with this device switched off); at the first sync after `ends_at` the wallet re-keys
    /// what it shared, as for a revocation. One state write; the ledger agent retries the
    /// nodes until each has acknowledged. To stop it sooner still, [`Self::revoke`] it.
    pub fn shorten(
        &mut self,
        grant_id: &GrantId,
        ends_at: u64,
        now: u64,
    ) -> Result<ShortenOutcome, WalletError> {
        ending::shorten(self.s, grant_id, ends_at, now)
    }

    /// Ends every shortened grant whose new end has come (re-keys what it shared, as a
    /// revocation at that time does). The ledger agent calls this after every sync; returns
    /// the grants it ended.
    pub fn end_shortened(&mut self, now: u64) -> Result<Vec<GrantId>, WalletError> {
        ending::end_shortened(self.s, now)
    }

    /// Revokes a grant: signs a revocation, re-keys every record it covered (so later versions
    /// are unreadable to that provider) and re-issues bundles for the other active grants that
    /// cover re-keyed records.
    ///
    /// The new status and every ledger write it implies (the revocation entry on each node the
    /// grant was published on, the re-issued bundles) are committed in one state write: after
    /// it, the revocation is a durable intent that the ledger agent retries until each node
    /// has acknowledged it, whatever happens to backups or the network. Until then the grant
    /// shows as "ending".
    pub fn revoke(&mut self, grant_id: &GrantId, now: u64) -> Result<RevokeOutcome, WalletError> {
        ending::end_grant(
            self.s,
            grant_id,
            GrantStatus::Revoked { at: now },
            None,
            now,
        )
    }
}

fn parse_request(input: RequestInput<'_>) -> Result<SignedRequest, WalletError> {
    match input {
        RequestInput::Uri(uri) => Ok(SignedRequest::from_uri(uri.trim())?),
        RequestInput::Bytes(bytes) => {
            let is_image = bytes.starts_with(b"\x89PNG") || bytes.starts_with(&[0xFF, 0xD8, 0xFF]);
            if is_image {
                let text = carekey_qr::decode(bytes)?;
                return Ok(SignedRequest::from_uri(text.trim())?);
            }
            match std::str::from_utf8(bytes) {
                Ok(text) if text.trim_start().starts_with("carekey:") => {
                    Ok(SignedRequest::from_uri(text.trim())?)
                }
                _ => Ok(SignedRequest::from_bytes(bytes)?),
            }
        }
    }
}

/// What the pinned provider directories say about a provider's name and key, now.
pub(super) fn provider_check(
    s: &PatientSession,
    name: &str,
    key: &carekey_crypto::PublicKey,
) -> carekey_model::ProviderVerification {
    let directories: Vec<SignedDirectory> = s
        .state
        .directories
        .iter()
        .filter_map(|d| SignedDirectory::from_bytes(&d.0).ok())
        .collect();
    let pinned_keys: Vec<carekey_crypto::PublicKey> = s
        .state
        .trusted_directories
        .iter()
        .filter_map(|k| k.parse().ok())
        .collect();
    verify_provider(&directories, &pinned_keys, name, key)
}

fn directory_info(key: &str, directory: Option<&SignedDirectory>) -> DirectoryInfo {
    DirectoryInfo {
        key: key.to_owned(),
        name: directory.map(|d| d.document().name.clone()),
        providers: directory.map_or(0, |d| d.document().providers.len()),
        signed_at: directory.map(|d| d.document().issued_at),
    }
}
