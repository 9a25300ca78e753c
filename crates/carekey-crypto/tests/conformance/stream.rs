//! The STREAM pipeline: chunks are sealed and opened on helper threads and on
//! the calling thread, out of order, and must still be written in order, with
//! nothing of a bad chunk (or anything after it) released.

use std::io::{self, Read};

use carekey_crypto::age::{self, AgeError, FileKey, Identity};

const SEALED: usize = age::CHUNK_SIZE + 16;

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 16) as u8)
        .collect()
}

/// A file key and a deterministic payload (nonce + chunks) of `plain`.
fn payload(plain: &[u8]) -> (FileKey, Vec<u8>) {
    let key = FileKey::from_bytes([9; 16]);
    let mut out = Vec::new();
    age::encrypt_payload(&key, &[3; age::NONCE_SIZE], plain, &mut out).unwrap();
    (key, out)
}

/// Where chunk `i` starts in a payload.
fn chunk_at(i: usize) -> usize {
    age::NONCE_SIZE + i * SEALED
}

/// More chunks than the window holds, and a short final chunk.
const CHUNKS: usize = age::BATCH_CHUNKS + 9;

fn long_plain() -> Vec<u8> {
    bytes((CHUNKS - 1) * age::CHUNK_SIZE + 1234, 5)
}

#[test]
fn a_bad_chunk_anywhere_releases_exactly_the_chunks_before_it() {
    let plain = long_plain();
    let (key, file) = payload(&plain);
    let mut indices = vec![0, 1, 2, 3, 5, 8, age::BATCH_CHUNKS - 1, age::BATCH_CHUNKS];
    indices.extend([age::BATCH_CHUNKS + 1, CHUNKS - 2, CHUNKS - 1]);
    for bad in indices {
        for offset in [0, 77, SEALED - 1] {
            let at = (chunk_at(bad) + offset).min(file.len() - 1);
            let mut tampered = file.clone();
            tampered[at] ^= 0x40;
            let mut released = Vec::new();
            let err = age::decrypt_payload(&key, &tampered[..], &mut released).unwrap_err();
            assert!(
                matches!(err, AgeError::PayloadAuthentication { chunk } if chunk == bad as u64),
                "chunk {bad}, offset {offset}: {err:?}"
            );
            assert!(
                released == plain[..bad * age::CHUNK_SIZE],
                "chunk {bad}: released {} bytes",
                released.len()
            );
        }
    }
}

#[test]
fn swapped_or_dropped_chunks_fail_at_the_first_moved_one() {
    let plain = long_plain();
    let (key, file) = payload(&plain);
    for (a, b) in [(0, 1), (4, 20), (age::BATCH_CHUNKS, age::BATCH_CHUNKS + 2)] {
        let mut swapped = file.clone();
        let (head, tail) = swapped.split_at_mut(chunk_at(b));
        head[chunk_at(a)..chunk_at(a) + SEALED].swap_with_slice(&mut tail[..SEALED]);
        let mut released = Vec::new();
        let err = age::decrypt_payload(&key, &swapped[..], &mut released).unwrap_err();
        assert!(
            matches!(err, AgeError::PayloadAuthentication { chunk } if chunk == a as u64),
            "swap {a}/{b}: {err:?}"
        );
        assert!(released == plain[..a * age::CHUNK_SIZE]);
    }
    // Dropping a middle chunk shifts every later one to the wrong counter.
    for dropped in [1, age::BATCH_CHUNKS] {
        let mut shorter = file[..chunk_at(dropped)].to_vec();
        shorter.extend_from_slice(&file[chunk_at(dropped + 1)..]);
        let mut released = Vec::new();
        let err = age::decrypt_payload(&key, &shorter[..], &mut released).unwrap_err();
        assert!(
            matches!(err, AgeError::PayloadAuthentication { chunk } if chunk == dropped as u64),
            "drop {dropped}: {err:?}"
        );
        assert!(released == plain[..dropped * age::CHUNK_SIZE]);
    }
}

#[test]
fn cuts_at_every_chunk_boundary_release_only_whole_authentic_chunks() {
    let plain = bytes(age::BATCH_CHUNKS * age::CHUNK_SIZE + 10, 7);
    let (key, file) = payload(&plain);
    for chunks in 0..=age::BATCH_CHUNKS {
        for extra in [0, 1, 15, 16, 17] {
            let cut = (chunk_at(chunks) + extra).min(file.len() - 1);
            let mut released = Vec::new();
            let err = age::decrypt_payload(&key, &file[..cut], &mut released).unwrap_err();
            assert!(
                matches!(
                    err,
                    AgeError::Truncated | AgeError::PayloadAuthentication { .. }
                ),
                "cut {chunks}+{extra}: {err:?}"
            );
            assert!(
                released == plain[..chunks * age::CHUNK_SIZE],
                "cut {chunks}+{extra}: released {}",
                released.len()
            );
        }
    }
}

/// Gives out at most `step` bytes per read, then fails after `fail_at` bytes.
struct Trickle<'a> {
    data: &'a [u8],
    pos: usize,
    step: usize,
    fail_at: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.fail_at {
            return Err(io::Error::other("disk gone"));
        }
        let n = buf
            .len()
            .min(self.step)
            .min(self.data.len() - self.pos)
            .min(self.fail_at - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn small_reads_give_the_same_bytes_both_ways() {
    let plain = long_plain();
    let (key, file) = payload(&plain);
    for step in [1000, 4096, 65_537] {
        let mut sealed = Vec::new();
        let input = Trickle {
            data: &plain,
            pos: 0,
            step,
            fail_at: usize::MAX,
        };
        age::encrypt_payload(&key, &[3; age::NONCE_SIZE], input, &mut sealed).unwrap();
        assert!(sealed == file, "step {step}");
        let mut opened = Vec::new();
        let input = Trickle {
            data: &file,
            pos: 0,
            step,
            fail_at: usize::MAX,
        };
        age::decrypt_payload(&key, input, &mut opened).unwrap();
        assert!(opened == plain, "step {step}");
    }
}

#[test]
fn a_read_error_is_returned_and_only_authentic_plaintext_was_released() {
    let plain = long_plain();
    let (key, file) = payload(&plain);
    for fail_at in [
        10,
        chunk_at(0) + 5,
        chunk_at(3) + 100,
        chunk_at(age::BATCH_CHUNKS + 2),
    ] {
        let input = Trickle {
            data: &file,
            pos: 0,
            step: usize::MAX,
            fail_at,
        };
        let mut released = Vec::new();
        let err = age::decrypt_payload(&key, input, &mut released).unwrap_err();
        assert!(matches!(err, AgeError::Io(_)), "{fail_at}: {err:?}");
        assert!(released.len() % age::CHUNK_SIZE == 0);
        assert!(released.len() < fail_at && released == plain[..released.len()]);
    }
}

#[test]
fn full_final_chunks_and_empty_inputs_round_trip() {
    let id = Identity::from_bytes([8; 32]);
    for len in [
        0,
        1,
        age::CHUNK_SIZE,
        age::CHUNK_SIZE + 1,
        2 * age::CHUNK_SIZE,
        4 * age::CHUNK_SIZE,
        4 * age::CHUNK_SIZE + 1,
        5 * age::CHUNK_SIZE + 17,
        age::BATCH_CHUNKS * age::CHUNK_SIZE,
        (age::BATCH_CHUNKS + 1) * age::CHUNK_SIZE,
    ] {
        let plain = bytes(len, 1);
        let mut file = Vec::new();
        assert_eq!(
            age::encrypt(&[id.recipient()], &plain[..], &mut file).unwrap(),
            len as u64
        );
        let mut out = Vec::new();
        assert_eq!(
            age::decrypt(std::slice::from_ref(&id), &file[..], &mut out).unwrap(),
            len as u64
        );
        assert!(out == plain, "{len}");
    }
}

#[test]
fn concurrent_calls_share_the_helpers_without_mixing_chunks() {
    let plain = long_plain();
    let (key, file) = payload(&plain);
    let other_key = FileKey::from_bytes([10; 16]);
    let mut tampered = file.clone();
    tampered[chunk_at(age::BATCH_CHUNKS + 3) + 9] ^= 1;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6)
            .map(|i| {
                let (key, other_key, plain, file, tampered) =
                    (&key, &other_key, &plain, &file, &tampered);
                scope.spawn(move || {
                    for _ in 0..3 {
                        match i % 3 {
                            0 => {
                                let mut out = Vec::new();
                                age::decrypt_payload(key, &file[..], &mut out).unwrap();
                                assert!(out == *plain);
                            }
                            1 => {
                                let mut released = Vec::new();
                                let err = age::decrypt_payload(key, &tampered[..], &mut released)
                                    .unwrap_err();
                                let bad = age::BATCH_CHUNKS + 3;
                                assert!(matches!(
                                    err,
                                    AgeError::PayloadAuthentication { chunk } if chunk == bad as u64
                                ));
                                assert!(released == plain[..bad * age::CHUNK_SIZE]);
                            }
                            _ => {
                                // Another key at the same time.
                                let mut sealed = Vec::new();
                                age::encrypt_payload(
                                    other_key,
                                    &[3; age::NONCE_SIZE],
                                    &plain[..],
                                    &mut sealed,
                                )
                                .unwrap();
                                let mut opened = Vec::new();
                                age::decrypt_payload(other_key, &sealed[..], &mut opened).unwrap();
                                assert!(opened == *plain && sealed != *file);
                            }
                        }
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().unwrap();
        }
    });
}

#[test]
fn the_hashed_calls_hash_exactly_the_whole_file() {
    let id = Identity::from_bytes([8; 32]);
    // Around every run boundary (runs of 1, 1, 2, 4, then 8 chunks) and past
    // the window.
    let mut lens = vec![0, 1, age::CHUNK_SIZE, long_plain().len()];
    for chunks in [2, 4, 8, 16, 24] {
        lens.extend([chunks * age::CHUNK_SIZE - 1, chunks * age::CHUNK_SIZE + 1]);
    }
    for len in lens {
        let plain = bytes(len, 4);
        let mut file = Vec::new();
        let (n, hash) = age::encrypt_and_hash(&[id.recipient()], &plain[..], &mut file).unwrap();
        assert_eq!(n, len as u64);
        assert_eq!(hash, carekey_crypto::sha256(&file), "encrypt {len}");
        // Read in odd pieces: the hash must not depend on how reads split.
        let input = Trickle {
            data: &file,
            pos: 0,
            step: 70_001,
            fail_at: usize::MAX,
        };
        let mut out = Vec::new();
        let (n, opened_hash) =
            age::decrypt_and_hash(std::slice::from_ref(&id), input, &mut out).unwrap();
        assert_eq!(n, len as u64);
        assert!(out == plain, "{len}");
        assert_eq!(opened_hash, hash, "decrypt {len}");
    }
}

#[test]
fn the_hashed_calls_fail_like_the_plain_ones() {
    let id = Identity::from_bytes([8; 32]);
    let plain = long_plain();
    let mut file = Vec::new();
    age::encrypt_and_hash(&[id.recipient()], &plain[..], &mut file).unwrap();
    let payload_start = file.len() - (plain.len() + CHUNKS * 16) - age::NONCE_SIZE;
    let bad = age::BATCH_CHUNKS + 1;
    let mut tampered = file.clone();
    tampered[payload_start + chunk_at(bad) + 3] ^= 1;
    let mut released = Vec::new();
    let err =
        age::decrypt_and_hash(std::slice::from_ref(&id), &tampered[..], &mut released).unwrap_err();
    assert!(matches!(err, AgeError::PayloadAuthentication { chunk } if chunk == bad as u64));
    assert!(released == plain[..bad * age::CHUNK_SIZE]);
    // Longer, shorter: the same error as the plain call.
    let mut longer = file.clone();
    longer.push(0);
    for broken in [
        &longer[..],
        &file[..file.len() - 17],
        &file[..file.len() / 2],
    ] {
        let hashed =
            age::decrypt_and_hash(std::slice::from_ref(&id), broken, &mut Vec::new()).unwrap_err();
        let plain = age::decrypt(std::slice::from_ref(&id), broken, &mut Vec::new()).unwrap_err();
        assert_eq!(format!("{hashed:?}"), format!("{plain:?}"));
    }
}
