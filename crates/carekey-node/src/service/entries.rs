//! `POST /v1/entries` below the HTTP layer: the policy check, the erasure budget, the append,
//! and deleting the bundle of a grant the entry ended.

use std::net::IpAddr;

use crate::error::ApiError;
use crate::service::limits::{ErasureLimiter, ErasureRefusal};
use crate::service::policy::{check_entry, EntrySubmission};
use crate::service::submission::Appended;
use crate::service::Node;
use crate::storage::db;

impl Node {
    /// Checks `submission` (at `now`, from client `source`), keeps erasure entries within the
    /// budget of `erasures`, appends it and answers with its receipt. A revoked or erased
    /// grant's bundle is deleted right after (the bundle sweep catches one a crash left
    /// behind).
    pub(crate) async fn submit_entry(
        &self,
        submission: EntrySubmission,
        source: IpAddr,
        erasures: &ErasureLimiter,
        now: u64,
    ) -> Result<Appended, ApiError> {
        let submission = check_entry(submission, now)?;
        if submission.is_erasure() {
            // The budget first (in memory); only a refused entry is looked up in the log, so an
            // entry already there (a retry after a lost answer) is never refused. A retry that
            // fits the budget uses up one unit: rare, and cheaper than a lookup per erasure.
            let refused = match erasures.take(source, now) {
                Ok(()) => None,
                Err(refusal) => {
                    let logged = self
                        .db(|c| db::entry_index(c, &submission.leaf()))?
                        .is_some();
                    (!logged).then_some(refusal)
                }
            };
            match refused {
                None => {}
                Some(ErasureRefusal::Source) => {
                    return Err(ApiError::new(
                        axum::http::StatusCode::TOO_MANY_REQUESTS,
                        "erasure_rate_limited",
                        "too many erasure entries from this client; try again later",
                    ))
                }
                Some(ErasureRefusal::Global) => {
                    return Err(ApiError::storage_full(
                        "erasure_cap_reached",
                        "this node takes no more erasure entries today; try again later",
                    ))
                }
            }
        }
        let ends = submission.ended_grant_key();
        let appended = self.append(submission).await?;
        tracing::info!(index = appended.index, "entry appended");
        // A revoked or erased grant's bundle is never served again: delete the file now.
        if let Some(key) = ends {
            if let Some(id) = self.db(|c| db::grant_id_for_key(c, &key))? {
                if let Err(e) = self.remove_bundle(&id).await {
                    // The entry is appended; the sweep deletes the file later.
                    tracing::warn!(error = %e, "deleting an ended grant's bundle failed");
                }
            }
        }
        Ok(appended)
    }
}
