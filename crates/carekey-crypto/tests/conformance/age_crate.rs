//! Cross-checks with the `age` crate (the reference Rust implementation).

use std::io::{Read, Write};
use std::iter;
use std::str::FromStr;

use age::secrecy::ExposeSecret;

use carekey_crypto::age as ours;

const CHUNK: usize = 64 * 1024;

fn sizes() -> Vec<usize> {
    let random = 1 + (u32::from_le_bytes(carekey_crypto::random_array()) as usize % (5 * CHUNK));
    let batch = ours::BATCH_CHUNKS * CHUNK;
    vec![
        0,
        1,
        CHUNK - 1,
        CHUNK,
        CHUNK + 1,
        3 * CHUNK,
        batch,
        batch + 1,
        random,
    ]
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + i / 7) as u8).collect()
}

#[test]
fn files_we_write_decrypt_with_age() {
    let identity = ours::Identity::generate();
    let theirs = age::x25519::Identity::from_str(&identity.to_bech32()).unwrap();
    assert_eq!(
        theirs.to_public().to_string(),
        identity.recipient().to_bech32()
    );
    for len in sizes() {
        let plain = plaintext(len);
        let mut file = Vec::new();
        let n = ours::encrypt(&[identity.recipient()], &plain[..], &mut file).unwrap();
        assert_eq!(n, len as u64);
        let decryptor = age::Decryptor::new(&file[..]).unwrap();
        let mut reader = decryptor
            .decrypt(iter::once(&theirs as &dyn age::Identity))
            .unwrap();
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, plain, "size {len}");
    }
}

#[test]
fn files_age_writes_decrypt_with_ours() {
    let identity = ours::Identity::generate();
    let recipient = age::x25519::Recipient::from_str(&identity.recipient().to_bech32()).unwrap();
    for len in sizes() {
        let plain = plaintext(len);
        let mut file = Vec::new();
        let encryptor =
            age::Encryptor::with_recipients(iter::once(&recipient as &dyn age::Recipient)).unwrap();
        let mut writer = encryptor.wrap_output(&mut file).unwrap();
        writer.write_all(&plain).unwrap();
        writer.finish().unwrap();
        let mut out = Vec::new();
        let n = ours::decrypt(std::slice::from_ref(&identity), &file[..], &mut out).unwrap();
        assert_eq!(n, len as u64);
        assert_eq!(out, plain, "size {len}");
    }
}

#[test]
fn bech32_keys_match_age() {
    let theirs = age::x25519::Identity::generate();
    let secret = theirs.to_string();
    let identity = ours::Identity::from_bech32(secret.expose_secret()).unwrap();
    assert_eq!(identity.to_bech32().as_str(), secret.expose_secret());
    assert_eq!(
        identity.recipient().to_bech32(),
        theirs.to_public().to_string()
    );
    let recipient = ours::Recipient::from_bech32(&theirs.to_public().to_string()).unwrap();
    assert_eq!(recipient, identity.recipient());
    // Wrong prefix, bad checksum, wrong length.
    assert!(ours::Identity::from_bech32(&theirs.to_public().to_string()).is_err());
    assert!(ours::Recipient::from_bech32(secret.expose_secret()).is_err());
    let mut bad = theirs.to_public().to_string();
    let last = bad.pop().unwrap();
    bad.push(if last == 'q' { 'p' } else { 'q' });
    assert!(ours::Recipient::from_bech32(&bad).is_err());
    assert!(ours::Recipient::from_bech32("age1qqqqqqqqqqqqqqqqq").is_err());
}

#[test]
fn several_recipients_each_decrypt() {
    let ids: Vec<ours::Identity> = (0..3).map(|_| ours::Identity::generate()).collect();
    let recipients: Vec<ours::Recipient> = ids.iter().map(|i| i.recipient()).collect();
    let mut file = Vec::new();
    ours::encrypt(&recipients, &b"shared record"[..], &mut file).unwrap();
    for id in &ids {
        let theirs = age::x25519::Identity::from_str(&id.to_bech32()).unwrap();
        let mut out = Vec::new();
        age::Decryptor::new(&file[..])
            .unwrap()
            .decrypt(iter::once(&theirs as &dyn age::Identity))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"shared record");
        let mut ours_out = Vec::new();
        ours::decrypt(std::slice::from_ref(id), &file[..], &mut ours_out).unwrap();
        assert_eq!(ours_out, b"shared record");
    }
    let stranger = ours::Identity::generate();
    assert!(matches!(
        ours::decrypt(&[stranger], &file[..], &mut Vec::new()),
        Err(ours::AgeError::NoMatchingIdentity)
    ));
    assert!(matches!(
        ours::encrypt(&[], &b""[..], &mut Vec::new()),
        Err(ours::AgeError::NoRecipients)
    ));
}
