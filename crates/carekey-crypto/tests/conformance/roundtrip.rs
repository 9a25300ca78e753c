//! Property tests: round trips, no panics on garbage, tamper detection.

use carekey_crypto::age::{self, AgeError, Identity};
use proptest::prelude::*;

/// Deterministic pseudo-random bytes (xorshift), cheaper than a proptest Vec
/// strategy for inputs spanning several chunks.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn identity() -> Identity {
    Identity::from_bytes([7; 32])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn encrypt_then_decrypt(len in prop_oneof![0usize..300, 65_000usize..67_000, 0usize..300_000], seed: u64) {
        let plain = bytes(len, seed);
        let id = identity();
        let mut file = Vec::new();
        prop_assert_eq!(age::encrypt(&[id.recipient()], &plain[..], &mut file).unwrap(), len as u64);
        let chunks = len.div_ceil(age::CHUNK_SIZE).max(1);
        let header_len = age::read_header(&mut &file[..]).unwrap().raw().len();
        prop_assert_eq!(file.len(), header_len + age::NONCE_SIZE + len + 16 * chunks);
        let mut out = Vec::new();
        prop_assert_eq!(age::decrypt(&[id], &file[..], &mut out).unwrap(), len as u64);
        prop_assert!(out == plain);
    }

    #[test]
    fn read_header_never_panics(garbage in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = age::read_header(&mut &garbage[..]);
        let _ = age::decrypt(&[identity()], &garbage[..], &mut Vec::new());
    }

    #[test]
    fn read_header_never_panics_on_near_headers(
        cut in 0usize..200,
        edits in proptest::collection::vec((0usize..200, any::<u8>()), 0..4),
    ) {
        let mut file = Vec::new();
        age::encrypt(&[identity().recipient()], &b"x"[..], &mut file).unwrap();
        for (i, b) in edits {
            let i = i % file.len();
            file[i] = b;
        }
        file.truncate(cut.min(file.len()));
        let _ = age::read_header(&mut &file[..]);
        let _ = age::decrypt(&[identity()], &file[..], &mut Vec::new());
    }

    #[test]
    fn any_flipped_byte_is_detected(len in 0usize..200, seed: u64, at: usize, mask in 1u8..=255) {
        let id = identity();
        let mut file = Vec::new();
        age::encrypt(&[id.recipient()], &bytes(len, seed)[..], &mut file).unwrap();
        let at = at % file.len();
        file[at] ^= mask;
        let result = age::decrypt(&[id], &file[..], &mut Vec::new());
        prop_assert!(result.is_err(), "flip at {} of {} went unnoticed", at, file.len());
    }
}

#[test]
fn truncation_and_extension_are_detected() {
    let id = identity();
    let plain = bytes(2 * age::CHUNK_SIZE + 5, 1);
    let mut file = Vec::new();
    age::encrypt(&[id.recipient()], &plain[..], &mut file).unwrap();
    let header_len = age::read_header(&mut &file[..]).unwrap().raw().len();
    let payload_start = header_len + age::NONCE_SIZE;
    // Cut after whole chunks, inside a chunk, inside the nonce.
    for cut in [
        payload_start,
        payload_start + age::CHUNK_SIZE + 16,
        payload_start + 2 * (age::CHUNK_SIZE + 16),
        payload_start + 100,
        file.len() - 1,
        header_len + 3,
    ] {
        let err =
            age::decrypt(std::slice::from_ref(&id), &file[..cut], &mut Vec::new()).unwrap_err();
        assert!(
            matches!(
                err,
                AgeError::Truncated
                    | AgeError::PayloadAuthentication { .. }
                    | AgeError::MissingNonce
            ),
            "cut at {cut}: {err:?}"
        );
    }
    let mut longer = file.clone();
    longer.push(0);
    assert!(matches!(
        age::decrypt(std::slice::from_ref(&id), &longer[..], &mut Vec::new()),
        Err(AgeError::TrailingData | AgeError::PayloadAuthentication { .. })
    ));
    // Dropping the final chunk of a file whose chunks are all full, inside
    // a batch and exactly at a batch boundary.
    for chunks in [2, age::BATCH_CHUNKS + 1] {
        let full = bytes(chunks * age::CHUNK_SIZE, 2);
        let mut file = Vec::new();
        age::encrypt(&[id.recipient()], &full[..], &mut file).unwrap();
        let cut = file.len() - (age::CHUNK_SIZE + 16);
        let mut released = Vec::new();
        assert!(matches!(
            age::decrypt(std::slice::from_ref(&id), &file[..cut], &mut released),
            Err(AgeError::Truncated)
        ));
        assert!(
            released == full[..(chunks - 1) * age::CHUNK_SIZE],
            "{chunks}"
        );
    }
}

#[test]
fn header_mac_and_version_are_checked() {
    let id = identity();
    let mut file = Vec::new();
    age::encrypt(&[id.recipient()], &b"record"[..], &mut file).unwrap();
    let mut other_version = file.clone();
    other_version[20] = b'2';
    assert!(matches!(
        age::decrypt(
            std::slice::from_ref(&id),
            &other_version[..],
            &mut Vec::new()
        ),
        Err(AgeError::UnsupportedVersion)
    ));
    // A valid header of another file with the same file key fails the MAC
    // only if the header changed; re-encoding an unchanged header keeps it.
    let header = age::read_header(&mut &file[..]).unwrap();
    assert_eq!(header.to_bytes(), header.raw());
    let key = header.unwrap_file_key(std::slice::from_ref(&id)).unwrap();
    let mut plain = Vec::new();
    age::decrypt_payload(&key, &file[header.raw().len()..], &mut plain).unwrap();
    assert_eq!(plain, b"record");
}
