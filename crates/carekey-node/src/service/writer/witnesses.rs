//! The writer's witness pushes: after signing a checkpoint, the writer posts it to every
//! witness not in back-off (concurrently, with a time limit) and adds the cosignatures that
//! verify; a witness that fails is noted and skipped for a while, never waited for.

use std::time::{Duration, Instant};

use carekey_ledger::note::{parse_signature_lines, NoteVerifier, SignatureLine};
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::Hash;

use crate::client;
use crate::service::writer::Writer;

/// How long a witness that failed is skipped before the node tries it again.
const WITNESS_BACKOFF: Duration = Duration::from_secs(5);

/// A witness the writer pushes checkpoints to.
#[derive(Debug, Clone)]
pub struct WitnessTarget {
    /// Base URL; the node posts to `<url>/add-checkpoint`.
    pub url: String,
    /// Its cosignature verifier (type 0x04).
    pub verifier: NoteVerifier,
}

/// A witness and what the writer knows of it.
#[derive(Debug)]
pub(super) struct Witness {
    target: WitnessTarget,
    known_size: Option<u64>,
    down_until: Option<Instant>,
}

impl Witness {
    pub(super) fn new(target: WitnessTarget) -> Self {
        Self {
            target,
            known_size: None,
            down_until: None,
        }
    }
}

impl Writer {
    /// Pushes the log-signed `note` to every witness not in back-off, concurrently; returns
    /// the verified cosignature lines.
    pub(super) fn push_to_witnesses(&mut self, note: &str, size: u64) -> Vec<SignatureLine> {
        let now = Instant::now();
        let mut requests = Vec::new();
        for (i, w) in self.witnesses.iter().enumerate() {
            if w.down_until.is_some_and(|t| t > now) {
                continue;
            }
            let old = w.known_size.filter(|s| *s <= size).unwrap_or(0);
            let Ok(proof) = self.tree.consistency_proof(old, size) else {
                continue;
            };
            requests.push((i, w.target.clone(), old, proof));
        }
        let timeout = self.witness_timeout;
        let tree = &self.tree;
        let results = self.runtime.block_on(async {
            let mut set = tokio::task::JoinSet::new();
            for (i, target, old, proof) in requests {
                let note = note.to_owned();
                set.spawn(async move {
                    let r = push_once(&target, &note, old, proof, timeout).await;
                    (i, target, r)
                });
            }
            let mut out = Vec::new();
            while let Some(Ok(r)) = set.join_next().await {
                out.push(r);
            }
            out
        });
        let mut retries = Vec::new();
        let mut lines = Vec::new();
        for (i, target, r) in results {
            match r {
                Ok(PushResult::Cosigned(line)) => {
                    lines.push((i, line));
                }
                Ok(PushResult::Conflict(their)) if their < size => {
                    if let Ok(proof) = tree.consistency_proof(their, size) {
                        retries.push((i, target, their, proof));
                    }
                }
                Ok(PushResult::Conflict(their)) => {
                    tracing::warn!(witness = %target.url, their, size, "witness is ahead of this log");
                    self.witnesses[i].down_until = Some(now + WITNESS_BACKOFF);
                }
                Err(e) => {
                    tracing::warn!(witness = %target.url, error = %e, "witness push failed; serving without its cosignature");
                    self.witnesses[i].down_until = Some(now + WITNESS_BACKOFF);
                }
            }
        }
        if !retries.is_empty() {
            let results = self.runtime.block_on(async {
                let mut out = Vec::new();
                for (i, target, old, proof) in retries {
                    let r = push_once(&target, note, old, proof, timeout).await;
                    out.push((i, target, r));
                }
                out
            });
            for (i, target, r) in results {
                match r {
                    Ok(PushResult::Cosigned(line)) => lines.push((i, line)),
                    other => {
                        tracing::warn!(witness = %target.url, result = ?other.map(|_| ()), "witness refused the checkpoint");
                        self.witnesses[i].down_until = Some(now + WITNESS_BACKOFF);
                    }
                }
            }
        }
        lines.sort_by_key(|(i, _)| *i);
        let mut out = Vec::new();
        for (i, line) in lines {
            self.witnesses[i].known_size = Some(size);
            self.witnesses[i].down_until = None;
            out.push(line);
        }
        out
    }
}

#[derive(Debug)]
enum PushResult {
    Cosigned(SignatureLine),
    Conflict(u64),
}

#[derive(Debug, thiserror::Error)]
enum PushError {
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error("witness answered {0}")]
    Status(u16),
    #[error("witness answer has no valid cosignature")]
    NoCosignature,
}

async fn push_once(
    target: &WitnessTarget,
    note: &str,
    old: u64,
    proof: Vec<Hash>,
    timeout: Duration,
) -> Result<PushResult, PushError> {
    let body = AddCheckpoint {
        old_size: old,
        proof,
        checkpoint: note.to_owned(),
    }
    .encode();
    let url = format!("{}/add-checkpoint", target.url.trim_end_matches('/'));
    let reply = client::send(
        hyper::Method::POST,
        &url,
        body.into_bytes(),
        &[("content-type", "text/plain; charset=utf-8")],
        timeout,
        64 * 1024,
    )
    .await?;
    match reply.status.as_u16() {
        200 => {
            let text = std::str::from_utf8(&reply.body).map_err(|_| PushError::NoCosignature)?;
            let lines = parse_signature_lines(text).map_err(|_| PushError::NoCosignature)?;
            let body_end = note.rfind("\n\n").map_or(note.len(), |i| i + 1);
            let body = &note[..body_end];
            for line in lines {
                if line.name != target.verifier.name() || line.key_id != target.verifier.key_id() {
                    continue;
                }
                // Check the cosignature before serving it.
                let candidate = format!("{body}\n{}", line.to_line());
                if carekey_ledger::note::open_note(
                    &candidate,
                    std::slice::from_ref(&target.verifier),
                )
                .is_ok()
                {
                    return Ok(PushResult::Cosigned(line));
                }
            }
            Err(PushError::NoCosignature)
        }
        409 => {
            let size = std::str::from_utf8(&reply.body)
                .ok()
                .and_then(|t| t.trim().parse::<u64>().ok())
                .ok_or(PushError::Status(409))?;
            Ok(PushResult::Conflict(size))
        }
        s => Err(PushError::Status(s)),
    }
}
