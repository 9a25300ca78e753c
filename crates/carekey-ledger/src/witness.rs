//! The body of a C2SP `tlog-witness` `add-checkpoint` request.
//!
//! ```text
//! old <size>
//! <base64 hash>        (zero to 63 lines: consistency proof from old size to the checkpoint)
//!
//! <checkpoint note>
//! ```
//!
//! The witness's answer is a block of cosignature lines: parse it with
//! [`crate::note::parse_signature_lines`].

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::note::{decode_hash, parse_canonical_u64, MAX_NOTE_LEN};
use crate::{Hash, ProofError};

/// The most consistency proof lines a request may carry.
pub const MAX_CONSISTENCY_LINES: usize = 63;

/// An `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the latest checkpoint the witness cosigned for this log (0 if none).
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size (empty if `old_size` is
    /// 0 or equal to it).
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body.
    pub fn encode(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a request body (the checkpoint is kept as text for
    /// [`crate::note::open_checkpoint`]).
    pub fn parse(text: &str) -> Result<Self, ProofError> {
        let bad = |line, reason| ProofError::MalformedWitnessRequest { line, reason };
        if text.len() > MAX_NOTE_LEN + 4 * 1024 {
            return Err(bad(1, "request larger than the note size limit"));
        }
        let (first, mut rest) = text.split_once('\n').ok_or(bad(1, "unterminated line"))?;
        let old_size = first
            .strip_prefix("old ")
            .and_then(parse_canonical_u64)
            .ok_or(bad(1, "expected `old <decimal>`"))?;
        let mut proof = Vec::new();
        let mut n = 1;
        loop {
            n += 1;
            let (line, tail) = rest.split_once('\n').ok_or(bad(n, "unterminated line"))?;
            rest = tail;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_CONSISTENCY_LINES {
                return Err(bad(n, "more than 63 consistency proof lines"));
            }
            proof.push(decode_hash(line).ok_or(bad(n, "proof line is not a base64 32-byte hash"))?);
        }
        if rest.is_empty() {
            return Err(bad(n + 1, "missing checkpoint"));
        }
        Ok(Self {
            old_size,
            proof,
            checkpoint: rest.to_owned(),
        })
    }
}
