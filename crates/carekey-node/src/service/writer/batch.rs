//! One batch of the writer (steps 2 to 6 of the module above): the transaction that checks
//! and appends the whole batch (tried again on a transient SQLite error), then the tiles, the
//! signature and the answers.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use carekey_ledger::proof::Receipt;
use carekey_ledger::{leaf_hash, Hash};

#[cfg(test)]
use super::test_hooks;
use super::{transient, Writer, MAX_MIRROR_LAG, TRANSIENT_RETRIES};
use crate::error::{ApiError, NodeError, StoreError};
use crate::service::policy::{apply_effect, apply_off_log};
use crate::service::sequencer::Job;
use crate::service::submission::Appended;
use crate::storage::db;

/// Where a submission of the batch stands.
enum Outcome {
    /// New or already present at this index.
    Index(u64),
    /// Refused by the policy or failed.
    Refused(ApiError),
    /// An off-log write, committed.
    Written,
}

impl Writer {
    /// One batch; on failure, the batch's jobs come back unanswered.
    pub(super) fn process(&mut self, batch: Vec<Job>) -> Result<(), (NodeError, Vec<Job>)> {
        let old_size = self.tree.size();
        let (jobs, outcomes) = self.apply(batch)?;
        let new_size = self.tree.size();
        let result = (|| -> Result<(), NodeError> {
            #[cfg(test)]
            if test_hooks::fire(&self.data, test_hooks::Point::AfterCommit) {
                return Err(StoreError::Corrupt("injected failure (test)").into());
            }
            if new_size > old_size {
                self.write_full_tiles(old_size, new_size)?;
                self.trim_tail();
                self.sign_and_publish()?;
            }
            let idle = self.queued.load(Ordering::Relaxed) == 0;
            if idle || self.last_flush.elapsed() >= MAX_MIRROR_LAG {
                self.flush()?;
            }
            Ok(())
        })();
        if let Err(e) = result {
            return Err((e, jobs));
        }
        let published = self.current_published();
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            match job {
                Job::OffLog { reply, .. } => {
                    let _ = reply.send(match outcome {
                        Outcome::Refused(e) => Err(e),
                        _ => Ok(()),
                    });
                }
                Job::Append { reply, .. } => {
                    let answer = match outcome {
                        Outcome::Refused(e) => Err(e),
                        Outcome::Written => Err(ApiError::internal()),
                        Outcome::Index(index) => self
                            .tree
                            .inclusion_proof(index, published.size)
                            .map(|proof| Appended {
                                index,
                                receipt: Receipt {
                                    index,
                                    proof,
                                    checkpoint: published.note.clone(),
                                    extra: None,
                                }
                                .encode(),
                            })
                            .map_err(|_| ApiError::internal()),
                    };
                    let _ = reply.send(answer);
                }
            }
        }
        Ok(())
    }

    /// Step 2: one transaction for the whole batch, tried again on a transient SQLite error.
    #[allow(clippy::type_complexity)]
    fn apply(
        &mut self,
        batch: Vec<Job>,
    ) -> Result<(Vec<Job>, Vec<Outcome>), (NodeError, Vec<Job>)> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.apply_once(&batch) {
                Ok((outcomes, pushed, appended_jobs)) => {
                    self.history.clear();
                    for leaf in pushed {
                        self.tree.push(leaf);
                    }
                    // Copied, not taken: if a later step of the batch fails, the batch runs
                    // again after the restart and must find its entries by their bytes.
                    for j in appended_jobs {
                        if let Job::Append { submission, .. } = &batch[j] {
                            self.tail.push(submission.entry.clone());
                        }
                    }
                    return Ok((batch, outcomes));
                }
                Err(e) if transient(&e) && attempt < TRANSIENT_RETRIES => {
                    tracing::warn!(error = %e, attempt, "transient database error; running the batch again");
                    std::thread::sleep(Duration::from_millis(10 << attempt));
                }
                Err(e) => return Err((e.into(), batch)),
            }
        }
    }

    /// One try of [`Writer::apply`]: nothing in memory changes; on error the transaction is
    /// rolled back. `BEGIN IMMEDIATE`: the transaction holds the database's write lock from
    /// its first statement, so no other connection can commit between its reads and its
    /// writes (in WAL mode a deferred transaction that read first would then fail at its
    /// first write with `SQLITE_BUSY_SNAPSHOT`, which no busy timeout waits out).
    #[allow(clippy::type_complexity)]
    fn apply_once(
        &self,
        batch: &[Job],
    ) -> Result<(Vec<Outcome>, Vec<Hash>, Vec<usize>), StoreError> {
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut pushed: Vec<Hash> = Vec::new();
        let mut appended_jobs: Vec<usize> = Vec::new();
        let tx = rusqlite::Transaction::new_unchecked(
            &self.conn,
            rusqlite::TransactionBehavior::Immediate,
        )?;
        for cp in &self.history {
            db::record_checkpoint(&tx, cp.size, &cp.root, &cp.note)?;
        }
        let mut in_batch: HashMap<Hash, u64> = HashMap::new();
        let base = self.tree.size();
        for (j, job) in batch.iter().enumerate() {
            let submission = match job {
                Job::OffLog { write, .. } => {
                    outcomes.push(match apply_off_log(&tx, write)? {
                        Ok(()) => Outcome::Written,
                        Err(refusal) => Outcome::Refused(refusal),
                    });
                    continue;
                }
                Job::Append { submission, .. } => submission,
            };
            let leaf = leaf_hash(&submission.entry);
            if let Some(i) = in_batch.get(&leaf) {
                outcomes.push(Outcome::Index(*i));
                continue;
            }
            if let Some(i) = db::entry_index(&tx, &leaf)? {
                outcomes.push(Outcome::Index(i));
                continue;
            }
            #[cfg(test)]
            test_hooks::fire(&self.data, test_hooks::Point::AfterRead);
            let index = base + pushed.len() as u64;
            match apply_effect(&tx, &submission.effect, index)? {
                Ok(()) => {
                    db::insert_entry(&tx, index, &leaf, &submission.entry)?;
                    in_batch.insert(leaf, index);
                    pushed.push(leaf);
                    appended_jobs.push(j);
                    outcomes.push(Outcome::Index(index));
                }
                Err(refusal) => outcomes.push(Outcome::Refused(refusal)),
            }
        }
        tx.commit()?;
        Ok((outcomes, pushed, appended_jobs))
    }
}
