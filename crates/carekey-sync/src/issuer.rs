//! A SMART Health Card issuer's published keys (`<iss>/.well-known/jwks.json`) and per-key
//! revocation lists (`<iss>/.well-known/crl/<kid>.json`), over HTTP(S).
//!
//! The wallet asks only for issuers the patient trusts; what comes back is parsed here and
//! verified against the card by `carekey_model::shc::verify`, never trusted by itself.

use std::time::Duration;

use carekey_model::shc::{crl_url, jwks_url, Crl, Jwks, MAX_KEYS_BYTES};
use reqwest::blocking::Client;
use reqwest::{StatusCode, Url};

use crate::source::{
    base_url_of, http_client, read_capped, transport, CONNECT_TIMEOUT, REQUEST_TIMEOUT,
};
use crate::SyncError;

/// Reads one issuer's keys and revocation lists, with the crate's timeouts and size caps.
#[derive(Debug, Clone)]
pub struct IssuerClient {
    issuer: String,
    client: Client,
}

impl IssuerClient {
    /// A client for the issuer whose `iss` is `issuer` (an http(s) URL).
    pub fn new(issuer: &str) -> Result<Self, SyncError> {
        Self::with_timeouts(issuer, CONNECT_TIMEOUT, REQUEST_TIMEOUT)
    }

    /// The same with other timeouts.
    pub fn with_timeouts(
        issuer: &str,
        connect: Duration,
        total: Duration,
    ) -> Result<Self, SyncError> {
        base_url_of(issuer)?;
        Ok(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            client: http_client(issuer, connect, total)?,
        })
    }

    /// The issuer's key set.
    pub fn keys(&self) -> Result<Jwks, SyncError> {
        let url = jwks_url(&self.issuer);
        let body = self.get(&url)?;
        Jwks::from_json(&body).map_err(|e| SyncError::BadResponse {
            url,
            reason: e.to_string(),
        })
    }

    /// The revocation list of the issuer's key `kid`.
    pub fn revocations(&self, kid: &str) -> Result<Crl, SyncError> {
        // A kid is a thumbprint (base64url); anything else must not reach a URL path.
        if kid.is_empty()
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(SyncError::BadUrl {
                url: kid.to_owned(),
                reason: "a key id is base64url".to_owned(),
            });
        }
        let url = crl_url(&self.issuer, kid);
        let body = self.get(&url)?;
        Crl::from_json(&body).map_err(|e| SyncError::BadResponse {
            url,
            reason: e.to_string(),
        })
    }

    fn get(&self, url: &str) -> Result<Vec<u8>, SyncError> {
        let url = Url::parse(url).map_err(|e| SyncError::BadUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
        let response = self
            .client
            .get(url.clone())
            .send()
            .map_err(|e| transport(&url, &e))?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(SyncError::NotFound {
                url: url.to_string(),
            });
        }
        if !response.status().is_success() {
            return Err(SyncError::Status {
                url: url.to_string(),
                status: response.status().as_u16(),
                code: None,
            });
        }
        read_capped(response, &url, MAX_KEYS_BYTES as u64)
    }
}
