//! What the patient sees at a glance: who can see their records now, what each of them read
//! and when, what needs attention (a backup, an expiry, a ledger problem), and a grant's own
//! page. Read-only but for the "seen" mark on the access log.
//!
//! The rules a shell must not re-decide live here: who counts as holding access (active and
//! ending grants), what "expiring soon" means, which access is unseen, what the worst ledger
//! problem is.

use carekey_model::{provider_code, GrantId, ProviderVerification, SignedGrant};

use super::access::{self, AccessView};
use super::backup_plan::BackupState;
use super::backups::Backups;
use super::grants::{GrantState, GrantSummary};
use super::records::{self, RecordSummary};
use super::session::PatientSession;
use super::sharing::{self, Sharing};
use crate::state::GrantStatus;
use crate::WalletError;

/// A grant ending within this many seconds counts as "expiring soon" (home, notifications).
pub const EXPIRING_SOON_SECS: u64 = 3 * 86_400;

/// What kind of access someone holds. Only grants today; links, caregivers and emergency
/// access join in later issues, so a shell lists holders without assuming they are grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HolderKind {
    /// A grant to a provider.
    Grant,
}

/// Someone who can see records now (or whose access is ending).
#[derive(Clone, Debug)]
pub struct Holder {
    /// What kind of access.
    pub kind: HolderKind,
    /// The grant.
    pub grant: GrantSummary,
    /// A provider directory the patient trusts vouches for this name and key.
    pub verified: bool,
    /// The latest access under it (unix seconds).
    pub last_access: Option<u64>,
    /// How many records the grant covered at that access.
    pub last_access_records: usize,
    /// Accesses under it in all.
    pub accesses: usize,
    /// Active, and its end is at most [`EXPIRING_SOON_SECS`] away (home and notifications).
    pub ends_soon: bool,
}

/// The most recent access to any record.
#[derive(Clone, Debug)]
pub struct LatestAccess {
    /// The provider, as named in the grant.
    pub who: String,
    /// The grant used.
    pub grant_id: GrantId,
    /// When it was served (unix seconds).
    pub at: u64,
    /// How many records the grant covered.
    pub records: usize,
    /// It verified (the provider's own signed request is inside).
    pub genuine: bool,
}

/// The worst ledger problem, in order: a node caught lying, a node that served what does not
/// verify, writes waiting for a node that does not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LedgerProblem {
    /// Evidence of a split view, rollback, fork or withheld entry is kept for these many nodes.
    Alarm {
        /// Nodes concerned.
        nodes: usize,
    },
    /// The last sync found nodes serving what does not verify.
    Unverified {
        /// Nodes concerned.
        nodes: usize,
    },
    /// Writes are waiting for nodes that did not answer.
    Unreachable {
        /// Nodes concerned.
        nodes: usize,
    },
}

/// The home screen.
#[derive(Clone, Debug)]
pub struct Home {
    /// The wallet's clock when it was made.
    pub now: u64,
    /// Active and ending access, soonest end first.
    pub holders: Vec<Holder>,
    /// The next end of an active access.
    pub next_expiry: Option<u64>,
    /// The latest access to any record.
    pub latest_access: Option<LatestAccess>,
    /// Backups.
    pub backup: BackupState,
    /// Accesses the patient has not looked at yet.
    pub unseen_accesses: usize,
    /// Active grants ending within [`EXPIRING_SOON_SECS`].
    pub expiring_soon: usize,
    /// The worst ledger problem.
    pub problem: Option<LedgerProblem>,
    /// When the last sync completed.
    pub checked_at: Option<u64>,
}

/// A grant's own page.
#[derive(Clone, Debug)]
pub struct GrantPage {
    /// The grant.
    pub grant: GrantSummary,
    /// What the trusted directories say about the provider, now.
    pub verification: ProviderVerification,
    /// The provider's short code, to compare with what the provider's desk shows.
    pub provider_code: String,
    /// The records it covers that still exist.
    pub records: Vec<RecordSummary>,
    /// Every access under it, newest first.
    pub accesses: Vec<AccessView>,
    /// When it was revoked or erased.
    pub ended_at: Option<u64>,
}

/// The overview. Borrow it with [`PatientWallet::overview`](super::PatientWallet::overview).
#[derive(Debug)]
pub struct Overview<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl Overview<'_> {
    /// The home screen at `now`.
    pub fn home(&mut self, now: u64) -> Home {
        let grants = Sharing { s: &mut *self.s }.list(now);
        let accesses = access::views(self.s);
        let holders: Vec<Holder> = {
            let mut live: Vec<Holder> = grants
                .into_iter()
                .filter(|g| matches!(g.status, GrantState::Active | GrantState::Ending))
                .map(|g| self.holder(g, &accesses, now))
                .collect();
            live.sort_by(|a, b| {
                a.grant
                    .ends_at()
                    .cmp(&b.grant.ends_at())
                    .then_with(|| a.grant.id.cmp(&b.grant.id))
            });
            live
        };
        let next_expiry = holders
            .iter()
            .filter(|h| h.grant.status == GrantState::Active)
            .map(|h| h.grant.ends_at())
            .min();
        let expiring_soon = holders.iter().filter(|h| h.ends_soon).count();
        let latest_access = accesses.first().map(|a| LatestAccess {
            who: a.provider_name.clone(),
            grant_id: a.grant_id,
            at: a.served_at,
            records: a.records.len(),
            genuine: a.verification == "verified",
        });
        Home {
            now,
            holders,
            next_expiry,
            latest_access,
            backup: Backups { s: &mut *self.s }.state(now),
            unseen_accesses: self.unseen_accesses(),
            expiring_soon,
            problem: self.problem(),
            checked_at: self.s.state.last_sync.map(|l| l.at),
        }
    }

    fn holder(&self, grant: GrantSummary, accesses: &[AccessView], now: u64) -> Holder {
        let mine: Vec<&AccessView> = accesses.iter().filter(|a| a.grant_id == grant.id).collect();
        let verified = grant
            .provider_key
            .parse()
            .map(|key| {
                matches!(
                    sharing::provider_check(self.s, &grant.provider_name, &key),
                    ProviderVerification::Verified { .. }
                )
            })
            .unwrap_or(false);
        Holder {
            kind: HolderKind::Grant,
            ends_soon: grant.status == GrantState::Active
                && grant.ends_at().saturating_sub(now) <= EXPIRING_SOON_SECS,
            verified,
            last_access: mine.first().map(|a| a.served_at),
            last_access_records: mine.first().map_or(0, |a| a.records.len()),
            accesses: mine.len(),
            grant,
        }
    }

    /// A grant's page at `now`.
    pub fn grant_page(&mut self, id: &GrantId, now: u64) -> Result<GrantPage, WalletError> {
        let entry = self.s.grant_entry(id)?.clone();
        let signed = SignedGrant::from_bytes(&entry.signed.0)?;
        let doc = signed.document();
        let grant = Sharing { s: &mut *self.s }
            .list(now)
            .into_iter()
            .find(|g| g.id == *id)
            .ok_or_else(|| WalletError::NotFound {
                what: "grant",
                query: id.to_string(),
            })?;
        let records = entry
            .records
            .iter()
            .filter_map(|r| {
                self.s
                    .state
                    .records
                    .get(r)
                    .map(|e| records::summary_of(self.s, r, e))
            })
            .collect();
        let accesses = access::views(self.s)
            .into_iter()
            .filter(|a| a.grant_id == *id)
            .collect();
        let ended_at = match entry.status {
            GrantStatus::Active => None,
            GrantStatus::Revoked { at } | GrantStatus::Erased { at } => Some(at),
        };
        Ok(GrantPage {
            verification: sharing::provider_check(
                self.s,
                &doc.provider_name,
                &doc.provider_signing,
            ),
            provider_code: provider_code(&doc.provider_signing),
            grant,
            records,
            accesses,
            ended_at,
        })
    }

    /// Accesses the patient has not looked at yet.
    pub fn unseen_accesses(&self) -> usize {
        let state = &self.s.state;
        state.access_log.len().saturating_sub(state.accesses_seen)
            + state.link_opens.len().saturating_sub(state.link_opens_seen)
    }

    /// The patient looked at the access log (grant accesses and link opens): nothing in it is
    /// unseen any more.
    pub fn mark_accesses_seen(&mut self) -> Result<(), WalletError> {
        let (all, opens) = (self.s.state.access_log.len(), self.s.state.link_opens.len());
        if self.s.state.accesses_seen != all || self.s.state.link_opens_seen != opens {
            self.s.state.accesses_seen = all;
            self.s.state.link_opens_seen = opens;
            self.s.save()?;
        }
        Ok(())
    }

    /// The worst ledger problem now: evidence kept (for good), else what the last sync found,
    /// else writes waiting for a node that did not answer.
    pub fn problem(&self) -> Option<LedgerProblem> {
        let alarms = self
            .s
            .state
            .logs
            .iter()
            .filter(|l| !l.state.evidence.is_empty())
            .count();
        if alarms > 0 {
            return Some(LedgerProblem::Alarm { nodes: alarms });
        }
        let last = self.s.state.last_sync.unwrap_or_default();
        if last.failed > 0 {
            return Some(LedgerProblem::Unverified { nodes: last.failed });
        }
        let waiting = super::nodes::outbox_nodes(&self.s.state.outbox)
            .into_iter()
            .filter(|n| n.last_error.is_some())
            .count();
        (waiting > 0).then_some(LedgerProblem::Unreachable { nodes: waiting })
    }
}
