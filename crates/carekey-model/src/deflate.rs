//! Raw DEFLATE (RFC 1951, no zlib or gzip header): what JOSE `zip: "DEF"` means (RFC 7516
//! §4.1.3), used by SMART Health Card payloads and optionally by SMART Health Link files.
//!
//! Inflating is capped: a few KiB of hostile DEFLATE can expand to gigabytes.

use std::io::Read;

use flate2::read::{DeflateDecoder, DeflateEncoder};
use flate2::Compression;

/// Largest output [`inflate`] produces by default: 16 MiB.
pub const MAX_INFLATED_BYTES: usize = 16 << 20;

/// Why DEFLATE data could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The bytes are not a valid raw DEFLATE stream (bad block, truncated, or zlib/gzip framed).
    #[error("not valid raw DEFLATE data")]
    Corrupt,
    /// The data inflates to more than the cap (a zip bomb, or simply too big).
    #[error("inflated data exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The cap in bytes.
        limit: usize,
    },
}

/// Compresses `data` with raw DEFLATE at the best compression level (payloads are small and
/// often go into QR codes, where every byte counts).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    DeflateEncoder::new(data, Compression::best())
        .read_to_end(&mut out)
        .unwrap_or_else(|_| unreachable!("compressing from memory into memory cannot fail"));
    out
}

/// Inflates raw DEFLATE `data`, refusing output larger than `limit` bytes.
pub fn inflate(data: &[u8], limit: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    // One byte past the limit tells "exactly at the limit" from "over it" without inflating more.
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    DeflateDecoder::new(data)
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|_| InflateError::Corrupt)?;
    if out.len() > limit {
        return Err(InflateError::TooLarge { limit });
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_caps() {
        let data = b"{\"resourceType\":\"Bundle\"}".repeat(100);
        let packed = deflate(&data);
        assert!(packed.len() < data.len() / 10);
        assert_eq!(inflate(&packed, data.len()).unwrap(), data);
        assert_eq!(
            inflate(&packed, data.len() - 1),
            Err(InflateError::TooLarge {
                limit: data.len() - 1
            })
        );
        assert_eq!(
            inflate(&[0xff, 0xff, 0xff], 100),
            Err(InflateError::Corrupt)
        );
    }

    /// 1 MiB of zeros deflates to about a kilobyte; a small cap stops it early.
    #[test]
    fn bomb_is_refused() {
        let bomb = deflate(&vec![0u8; 1 << 20]);
        assert!(bomb.len() < 2048, "{}", bomb.len());
        assert_eq!(
            inflate(&bomb, 4096),
            Err(InflateError::TooLarge { limit: 4096 })
        );
    }

    /// RFC 1951 stored block, written by hand: BFINAL=1, BTYPE=00, LEN=3, NLEN=!3, "abc".
    #[test]
    fn reads_a_hand_written_stored_block() {
        let stored = [0x01, 0x03, 0x00, 0xfc, 0xff, b'a', b'b', b'c'];
        assert_eq!(inflate(&stored, 16).unwrap(), b"abc");
        // A zlib header (0x78 0x9c) in front is not raw DEFLATE.
        let zlib = [&[0x78, 0x9c][..], &stored[..]].concat();
        assert!(inflate(&zlib, 16).is_err());
    }
}
