//! What the writer appends: a [`Submission`] (an entry with the off-log [`Effect`] the
//! policy attached to it), and what a submitter gets back ([`Appended`]).

use carekey_ledger::{leaf_hash, Hash};

use crate::storage::db::GrantRow;
use crate::storage::links::FileToken;

/// One entry to append, with the off-log state change the policy attached to it.
#[derive(Debug)]
pub struct Submission {
    pub(super) entry: Vec<u8>,
    pub(super) effect: Effect,
}

impl Submission {
    pub(crate) fn new(entry: Vec<u8>, effect: Effect) -> Self {
        Self { entry, effect }
    }

    /// Whether this is an ErasureEntry.
    pub(crate) fn is_erasure(&self) -> bool {
        matches!(self.effect, Effect::Erase { .. })
    }

    /// The entry's leaf hash (its identity in the log).
    pub(crate) fn leaf(&self) -> Hash {
        leaf_hash(&self.entry)
    }

    /// The grant key whose grant this entry ends (a revocation or an erasure), if any.
    pub(crate) fn ended_grant_key(&self) -> Option<[u8; 32]> {
        match &self.effect {
            // A shortened grant is served until its end: the sweep deletes its bundle then.
            Effect::Revoke {
                grant_key,
                ends_at,
                now,
            } if ends_at.is_none_or(|t| t <= *now) => Some(*grant_key),
            Effect::Erase { erasure_key } => Some(*erasure_key),
            _ => None,
        }
    }
}

/// The stateful part of the policy, checked and applied by the writer atomically with the
/// append.
#[derive(Debug)]
pub(crate) enum Effect {
    /// A GrantCommitment: the grant key and grant id must be unused; stores the grant.
    Commit(GrantRow),
    /// A RevocationEntry: a commitment with this key must exist, not yet revoked — or revoked
    /// from a time still ahead of `now` (the node's clock at submission) that `ends_at` (or
    /// at once, `None`) moves earlier.
    Revoke {
        grant_key: [u8; 32],
        ends_at: Option<u64>,
        now: u64,
    },
    /// An ErasureEntry: always accepted.
    Erase { erasure_key: [u8; 32] },
    /// An AccessEvent for a fetch logged at `at`: the nonce must be unused, the grant not
    /// revoked at `at` or erased.
    Access {
        grant_id: [u8; 16],
        nonce: [u8; 16],
        at: u64,
    },
    /// A LinkOpenEvent for a manifest request received at `at`: the link must be registered,
    /// not ended, not expired at `at`, and its attempts left still `attempts_left` (what the
    /// sealed details were computed from) and not 0. A wrong (or missing) passcode takes one
    /// attempt off; the `tokens` of the manifest's `location` URLs are kept.
    LinkOpen {
        link_id: [u8; 32],
        wrong_passcode: bool,
        attempts_left: Option<u32>,
        at: u64,
        tokens: Vec<FileToken>,
    },
}

/// An acknowledged append.
#[derive(Debug, Clone)]
pub struct Appended {
    /// The entry's index in the log.
    pub index: u64,
    /// A C2SP `tlog-proof` receipt for it, against a signed checkpoint whose entries are all
    /// committed.
    pub receipt: String,
}
