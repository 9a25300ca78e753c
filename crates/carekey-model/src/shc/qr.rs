//! The `shc:/` QR text: each JWS character `c` as the two decimal digits of `c - 45` (so a QR
//! code can use its dense numeric mode), and the deprecated chunked form `shc:/C/N/<digits>`.

use super::CardError;

/// The scheme and separator of a card's QR text.
pub const SHC_QR_PREFIX: &str = "shc:/";
/// Longest QR text read: 64 KiB (a version 40 QR code holds 7,089 digits).
const MAX_QR_TEXT_BYTES: usize = 64 * 1024;
/// Most chunks of one card.
const MAX_CHUNKS: usize = 99;
/// The largest pair: `'z'` (122) − 45.
const MAX_PAIR: u8 = b'z' - 45;

/// The JWS in a single `shc:/<digits>` QR text. A part of a chunked card is refused with
/// [`CardError::Chunked`]: all parts go to [`jws_from_qr_chunks`].
pub fn jws_from_qr(text: &str) -> Result<String, CardError> {
    match parse(text)? {
        (None, digits) => decode_digits(digits),
        (Some((index, total)), _) => Err(CardError::Chunked { index, total }),
    }
}

/// The JWS of a card split over several QR codes, given all its parts in any order.
pub fn jws_from_qr_chunks(texts: &[&str]) -> Result<String, CardError> {
    if texts.len() == 1 {
        if let (None, digits) = parse(texts[0])? {
            return decode_digits(digits);
        }
    }
    let mut parts: Vec<Option<&str>> = Vec::new();
    for text in texts {
        let (Some((index, total)), digits) = parse(text)? else {
            return Err(CardError::NotAQrCard {
                reason: "a single-part card mixed with chunks",
            });
        };
        if parts.is_empty() {
            parts = vec![None; total];
        }
        if total != parts.len() {
            return Err(CardError::NotAQrCard {
                reason: "the chunks disagree on how many there are",
            });
        }
        if parts[index - 1].replace(digits).is_some() {
            return Err(CardError::NotAQrCard {
                reason: "the same chunk twice",
            });
        }
    }
    if parts.is_empty() || parts.iter().any(Option::is_none) {
        return Err(CardError::NotAQrCard {
            reason: "a chunk is missing",
        });
    }
    let digits: String = parts.into_iter().flatten().collect();
    decode_digits(&digits)
}

/// The `shc:/<digits>` text of a JWS (single QR code). Characters outside `-` … `z` (never in
/// a JWS) are refused.
pub fn jws_to_qr(jws: &str) -> Result<String, CardError> {
    let mut out = String::with_capacity(SHC_QR_PREFIX.len() + 2 * jws.len());
    out.push_str(SHC_QR_PREFIX);
    for b in jws.bytes() {
        let value = b
            .checked_sub(45)
            .filter(|v| *v <= MAX_PAIR)
            .ok_or(CardError::NotAQrCard {
                reason: "a JWS has only base64url characters and dots",
            })?;
        out.push(char::from(b'0' + value / 10));
        out.push(char::from(b'0' + value % 10));
    }
    Ok(out)
}

/// A chunk's `(index, total)`, both from 1.
type ChunkPosition = (usize, usize);

/// Splits the text into its chunk position (for a chunk) and its digits.
fn parse(text: &str) -> Result<(Option<ChunkPosition>, &str), CardError> {
    if text.len() > MAX_QR_TEXT_BYTES {
        return Err(CardError::TooLarge {
            what: "the QR text",
            limit: MAX_QR_TEXT_BYTES,
        });
    }
    let text = text.trim();
    // Scanners may report the scheme in capitals (QR alphanumeric mode has no lowercase).
    let rest = match text.get(..SHC_QR_PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(SHC_QR_PREFIX) => &text[SHC_QR_PREFIX.len()..],
        _ => {
            return Err(CardError::NotAQrCard {
                reason: "it does not start with shc:/",
            })
        }
    };
    let mut fields = rest.split('/');
    match (fields.next(), fields.next(), fields.next(), fields.next()) {
        (Some(digits), None, None, None) => Ok((None, digits)),
        (Some(index), Some(total), Some(digits), None) => {
            let number = |s: &str| {
                (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
                    .then(|| s.parse::<usize>().ok())
                    .flatten()
            };
            match (number(index), number(total)) {
                (Some(index), Some(total))
                    if (1..=MAX_CHUNKS).contains(&total) && (1..=total).contains(&index) =>
                {
                    Ok((Some((index, total)), digits))
                }
                _ => Err(CardError::NotAQrCard {
                    reason: "a chunk must be shc:/<index>/<total>/ with 1 <= index <= total",
                }),
            }
        }
        _ => Err(CardError::NotAQrCard {
            reason: "expected shc:/<digits> or shc:/<index>/<total>/<digits>",
        }),
    }
}

fn decode_digits(digits: &str) -> Result<String, CardError> {
    let bytes = digits.as_bytes();
    if bytes.is_empty() || bytes.len() % 2 != 0 {
        return Err(CardError::NotAQrCard {
            reason: "an even, non-zero number of digits is needed",
        });
    }
    let mut jws = String::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let (Some(high), Some(low)) = (digit(pair[0]), digit(pair[1])) else {
            return Err(CardError::NotAQrCard {
                reason: "only digits may follow shc:/",
            });
        };
        let value = high * 10 + low;
        if value > MAX_PAIR {
            return Err(CardError::NotAQrCard {
                reason: "a digit pair above 77 encodes no JWS character",
            });
        }
        jws.push(char::from(value + 45));
    }
    Ok(jws)
}

fn digit(b: u8) -> Option<u8> {
    b.is_ascii_digit().then(|| b - b'0')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The spec's worked example: `e` (101) is 56, `y` (121) is 76, `.` (46) is 01.
    #[test]
    fn spec_example_characters() {
        assert_eq!(jws_from_qr("shc:/567601").unwrap(), "ey.");
        assert_eq!(jws_to_qr("ey.").unwrap(), "shc:/567601");
        assert_eq!(jws_from_qr("SHC:/567601").unwrap(), "ey.");
    }

    #[test]
    fn round_trip_and_refusals() {
        let jws = "eyJhbGciOiJFUzI1NiJ9.abc-_XYZ.sig";
        assert_eq!(jws_from_qr(&jws_to_qr(jws).unwrap()).unwrap(), jws);
        for bad in [
            "shc:/5",
            "shc:/",
            "shc:/56a6",
            "shc:/78",
            "shc:/99",
            "http://x",
            "shc:/0/2/5676",
            "shc:/3/2/5676",
            "shc:/1/2/3/5676",
        ] {
            assert!(jws_from_qr(bad).is_err(), "{bad}");
        }
        assert_eq!(
            jws_from_qr("shc:/1/2/5676"),
            Err(CardError::Chunked { index: 1, total: 2 })
        );
        assert!(jws_to_qr("a b").is_err());
    }

    #[test]
    fn chunks_in_any_order() {
        assert_eq!(
            jws_from_qr_chunks(&["shc:/2/2/01", "shc:/1/2/5676"]).unwrap(),
            "ey."
        );
        assert_eq!(jws_from_qr_chunks(&["shc:/567601"]).unwrap(), "ey.");
        for bad in [
            &["shc:/1/2/5676"][..],
            &["shc:/1/2/5676", "shc:/1/2/01"],
            &["shc:/1/2/5676", "shc:/2/3/01"],
            &["shc:/1/2/5676", "shc:/01"],
            &[],
        ] {
            assert!(jws_from_qr_chunks(bad).is_err(), "{bad:?}");
        }
    }
}
