//! C2SP `tlog-proof`: an offline-verifiable receipt that an entry is in the log.
//!
//! ```text
//! c2sp.org/tlog-proof@v1
//! extra <base64>            (optional)
//! index <n>
//! <base64 hash>             (zero or more: the inclusion proof, leaf side first)
//!
//! <the checkpoint note, verbatim, with its log signature and cosignatures>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::note::{self, decode_hash, parse_canonical_u64, NoteVerifier, OpenedCheckpoint};
use crate::{leaf_hash, verify_inclusion, Hash, ProofError, MAX_PROOF_HASHES};

/// The first line of every receipt.
pub const HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A `tlog-proof` receipt: entry index, inclusion proof and the (co)signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The zero-based index of the entry in the log.
    pub index: u64,
    /// The inclusion proof of the entry in the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The full signed checkpoint note (log signature and witness cosignatures).
    pub checkpoint: String,
    /// Optional opaque, unauthenticated extra data (the spec's single `extra` line).
    pub extra: Option<Vec<u8>>,
}

impl Receipt {
    /// The receipt text (suggested file extension `.tlog-proof`).
    pub fn encode(&self) -> String {
        let mut out = String::from(HEADER);
        out.push('\n');
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&B64.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a receipt. The checkpoint is kept as text and only checked by
    /// [`Receipt::verify`].
    pub fn parse(text: &str) -> Result<Self, ProofError> {
        if text.len() > note::MAX_NOTE_LEN + 8 * 1024 {
            return Err(ProofError::MalformedReceipt {
                line: 1,
                reason: "receipt larger than the note size limit",
            });
        }
        let mut rest = text;
        let mut line_no = 0;
        let mut next_line = |rest: &mut &str| -> Result<(usize, String), ProofError> {
            line_no += 1;
            let (line, tail) = rest.split_once('\n').ok_or(ProofError::MalformedReceipt {
                line: line_no,
                reason: "unterminated line",
            })?;
            *rest = tail;
            Ok((line_no, line.to_owned()))
        };
        let bad = |line, reason| ProofError::MalformedReceipt { line, reason };

        let (n, header) = next_line(&mut rest)?;
        if header != HEADER {
            return Err(bad(n, "first line is not c2sp.org/tlog-proof@v1"));
        }
        let (mut n, mut line) = next_line(&mut rest)?;
        let mut extra = None;
        if let Some(b64) = line.strip_prefix("extra ") {
            extra = Some(B64.decode(b64).map_err(|_| bad(n, "extra is not base64"))?);
            (n, line) = next_line(&mut rest)?;
        }
        let index = line
            .strip_prefix("index ")
            .and_then(parse_canonical_u64)
            .ok_or(bad(n, "expected `index <decimal>`"))?;
        let mut proof = Vec::new();
        loop {
            let (n, line) = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_HASHES {
                return Err(bad(n, "too many proof hashes"));
            }
            proof
                .push(decode_hash(&line).ok_or(bad(n, "proof line is not a base64 32-byte hash"))?);
        }
        if rest.is_empty() {
            return Err(bad(line_no + 1, "missing checkpoint"));
        }
        Ok(Self {
            index,
            proof,
            checkpoint: rest.to_owned(),
            extra,
        })
    }

    /// Verifies the receipt for `entry`: opens the checkpoint with the pinned `log` key and
    /// `witnesses` (see [`note::open_checkpoint`]), computes `leaf_hash(entry)` itself, and
    /// checks the inclusion proof against the signed root. Returns the opened checkpoint so the
    /// caller can apply its witness quorum and freshness policy.
    pub fn verify(
        &self,
        entry: &[u8],
        log: &NoteVerifier,
        witnesses: &[NoteVerifier],
        now: u64,
    ) -> Result<OpenedCheckpoint, ProofError> {
        let opened = note::open_checkpoint(&self.checkpoint, log, witnesses, now)?;
        verify_inclusion(
            &leaf_hash(entry),
            self.index,
            opened.checkpoint.size,
            &self.proof,
            &opened.checkpoint.root,
        )?;
        Ok(opened)
    }
}
