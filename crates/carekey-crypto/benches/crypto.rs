//! Throughput of the record format against raw ChaCha20-Poly1305 and the
//! `age` crate (same 256 MiB input, same build), plus signature, agreement
//! and KDF costs. Results and the machine are in docs/performance.md.
#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{self, Read, Write};
use std::iter;
use std::str::FromStr;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use carekey_crypto::{age as ours, AgreementSecret, KdfParams, PublicKey, Signature, SigningKey};

const SIZE: usize = 256 << 20;
const CHUNK: usize = 64 << 10;

fn input() -> Vec<u8> {
    (0..SIZE).map(|i| (i as u8).wrapping_mul(31)).collect()
}

fn records(c: &mut Criterion) {
    let plain = input();
    let identity = ours::Identity::generate();
    let recipient = identity.recipient();
    let age_identity = age::x25519::Identity::from_str(&identity.to_bech32()).unwrap();
    let age_recipient = age_identity.to_public();

    let mut ours_file = Vec::with_capacity(SIZE + SIZE / 1000 + 4096);
    ours::encrypt(&[recipient], &plain[..], &mut ours_file).unwrap();
    let mut age_file = Vec::with_capacity(SIZE + SIZE / 1000 + 4096);
    {
        let mut w =
            age::Encryptor::with_recipients(iter::once(&age_recipient as &dyn age::Recipient))
                .unwrap()
                .wrap_output(&mut age_file)
                .unwrap();
        w.write_all(&plain).unwrap();
        w.finish().unwrap();
    }

    let mut group = c.benchmark_group("record_256MiB");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(SIZE as u64));

    // The baseline: the same AEAD over the same 64 KiB chunking, in place,
    // with no I/O, headers or key derivation.
    let mut buf = plain.clone();
    let cipher = ChaCha20Poly1305::new(&[7u8; 32].into());
    group.bench_function("raw_chacha20poly1305_encrypt", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            for (i, chunk) in buf.chunks_mut(CHUNK).enumerate() {
                nonce[3..11].copy_from_slice(&(i as u64).to_be_bytes());
                let tag = cipher
                    .encrypt_in_place_detached(&nonce.into(), b"", chunk)
                    .unwrap();
                std::hint::black_box(tag);
            }
        })
    });

    group.bench_function("carekey_age_encrypt", |b| {
        b.iter(|| ours::encrypt(&[recipient], &plain[..], io::sink()).unwrap())
    });
    group.bench_function("carekey_age_decrypt", |b| {
        b.iter(|| {
            ours::decrypt(std::slice::from_ref(&identity), &ours_file[..], io::sink()).unwrap()
        })
    });
    group.bench_function("age_crate_encrypt", |b| {
        b.iter(|| {
            let mut w =
                age::Encryptor::with_recipients(iter::once(&age_recipient as &dyn age::Recipient))
                    .unwrap()
                    .wrap_output(io::sink())
                    .unwrap();
            w.write_all(&plain).unwrap();
            w.finish().unwrap();
        })
    });
    group.bench_function("age_crate_decrypt", |b| {
        b.iter(|| {
            let mut r = age::Decryptor::new(&age_file[..])
                .unwrap()
                .decrypt(iter::once(&age_identity as &dyn age::Identity))
                .unwrap();
            io::copy(&mut r, &mut io::sink()).unwrap()
        })
    });
    // Cross-check that the files are what they claim to be.
    let mut check = Vec::new();
    ours::decrypt(std::slice::from_ref(&identity), &age_file[..], &mut check).unwrap();
    assert!(check == plain);
    let mut r = age::Decryptor::new(&ours_file[..])
        .unwrap()
        .decrypt(iter::once(&age_identity as &dyn age::Identity))
        .unwrap();
    check.clear();
    r.read_to_end(&mut check).unwrap();
    assert!(check == plain);
    group.finish();
}

/// Small payloads (no header), where per-call costs show: buffers and
/// thread start-up (helpers start only past 256 KiB).
fn small_payloads(c: &mut Criterion) {
    let key = ours::FileKey::generate();
    let nonce = [5u8; ours::NONCE_SIZE];
    let mut group = c.benchmark_group("record_payload_small");
    for (name, len) in [("4KiB", 4 << 10), ("160KiB", 160 << 10), ("1MiB", 1 << 20)] {
        let plain = vec![0x5au8; len];
        let mut sealed = Vec::new();
        ours::encrypt_payload(&key, &nonce, &plain[..], &mut sealed).unwrap();
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function(format!("encrypt_{name}"), |b| {
            b.iter(|| ours::encrypt_payload(&key, &nonce, &plain[..], io::sink()).unwrap())
        });
        group.bench_function(format!("decrypt_{name}"), |b| {
            b.iter(|| ours::decrypt_payload(&key, &sealed[..], io::sink()).unwrap())
        });
    }
    group.finish();
}

fn signatures(c: &mut Criterion) {
    let key = SigningKey::generate();
    let public = key.public();
    let message = [0x42u8; 256];
    let signature = key.sign(&message);
    c.bench_function("ed25519_sign_256B", |b| b.iter(|| key.sign(&message)));
    c.bench_function("ed25519_verify_strict_256B", |b| {
        b.iter(|| public.verify(&message, &signature).unwrap())
    });

    let keys: Vec<SigningKey> = (0..64).map(|_| SigningKey::generate()).collect();
    let messages: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 256]).collect();
    let refs: Vec<&[u8]> = messages.iter().map(|m| m.as_slice()).collect();
    let sigs: Vec<Signature> = keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
    let pubs: Vec<PublicKey> = keys.iter().map(|k| k.public()).collect();
    let mut group = c.benchmark_group("ed25519_batch");
    group.throughput(Throughput::Elements(64));
    group.bench_function("verify_batch_64", |b| {
        b.iter(|| carekey_crypto::verify_batch(&refs, &sigs, &pubs).unwrap())
    });
    group.bench_function("verify_strict_64_one_by_one", |b| {
        b.iter(|| {
            for ((m, s), k) in refs.iter().zip(&sigs).zip(&pubs) {
                k.verify(m, s).unwrap();
            }
        })
    });
    group.finish();
}

fn agreement(c: &mut Criterion) {
    let a = AgreementSecret::generate();
    let peer = AgreementSecret::generate().public();
    c.bench_function("x25519_agree", |b| b.iter(|| a.agree(&peer).unwrap()));
    let id = ours::Identity::generate();
    c.bench_function("age_wrap_and_unwrap_file_key", |b| {
        b.iter_batched(
            Vec::new,
            |mut file| {
                ours::encrypt(&[id.recipient()], &b""[..], &mut file).unwrap();
                let header = ours::read_header(&mut &file[..]).unwrap();
                header.unwrap_file_key(std::slice::from_ref(&id)).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

fn kdf(c: &mut Criterion) {
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    group.bench_function("default_64MiB_t3_p4", |b| {
        b.iter(|| {
            carekey_crypto::argon2id(b"correct horse", &[1u8; 16], &KdfParams::DEFAULT).unwrap()
        })
    });
    group.finish();
}

/// SMART Health Links and Cards (issue 11): a link file's AES-256-GCM (1 MiB, a large FHIR
/// bundle), a card's ES256
/// check, and the passcode verifier a node computes for every passcode a viewer sends (Argon2id
/// 19 MiB, t = 2, p = 1: `carekey_model::shl::hosting::PASSCODE_KDF`).
fn links_and_cards(c: &mut Criterion) {
    let key = carekey_crypto::SymmetricKey::generate();
    let file: Vec<u8> = input().into_iter().take(1 << 20).collect();
    let mut group = c.benchmark_group("links_and_cards");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_function("a256gcm_encrypt_1MiB", |b| {
        b.iter(|| carekey_crypto::a256gcm_encrypt(&key, b"protected header", &file))
    });
    let sealed = carekey_crypto::a256gcm_encrypt(&key, b"protected header", &file);
    group.bench_function("a256gcm_decrypt_1MiB", |b| {
        b.iter(|| {
            carekey_crypto::a256gcm_decrypt(
                &key,
                &sealed.iv,
                b"protected header",
                &sealed.ciphertext,
                &sealed.tag,
            )
            .unwrap()
        })
    });
    group.finish();
    let issuer = carekey_crypto::EcSigningKey::generate();
    let card = vec![0x42u8; 600];
    let signature = issuer.sign(&card);
    let public = issuer.public();
    c.bench_function("es256_verify_card", |b| {
        b.iter(|| public.verify(&card, &signature).unwrap())
    });
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(10);
    let passcode = KdfParams {
        memory_kib: 19 * 1024,
        iterations: 2,
        parallelism: 1,
    };
    group.bench_function("link_passcode_19MiB_t2_p1", |b| {
        b.iter(|| carekey_crypto::argon2id(b"4711", &[1u8; 16], &passcode).unwrap())
    });
    group.finish();
}

criterion_group!(
    benches,
    records,
    small_payloads,
    signatures,
    agreement,
    kdf,
    links_and_cards
);
criterion_main!(benches);
