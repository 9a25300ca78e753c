//! Damaged vault files: every byte flipped, every truncation, arbitrary bytes. Always a typed
//! error, never a panic, never a write.

use carekey_vault::{parse_header, parse_state_file, KdfParams, Vault, VaultError};
use proptest::prelude::*;

use crate::{passphrase, snapshot, Fixture};

/// A small vault with some state and a key index.
fn small_vault() -> Fixture {
    let fx = Fixture::new();
    let mut vault = fx.create();
    vault.save(b"doc", b"idx").unwrap();
    drop(vault);
    fx
}

fn expect_header_error(err: VaultError, what: &str) {
    assert!(
        matches!(
            err,
            // A flipped KDF field can make the parameters weaker than the floor: refused
            // before any key derivation.
            VaultError::WrongPassphrase | VaultError::Corrupt { .. } | VaultError::WeakKdf { .. }
        ),
        "{what}: {err:?}"
    );
}

#[test]
fn every_flipped_header_byte_is_a_typed_error() {
    let fx = small_vault();
    let path = fx.dir.join("vault.ck");
    let original = std::fs::read(&path).unwrap();
    parse_header(&original).unwrap();
    let store_before = snapshot(&fx.store_dir);
    for i in 0..original.len() {
        for mask in [0x01u8, 0x80] {
            let mut bytes = original.clone();
            bytes[i] ^= mask;
            std::fs::write(&path, &bytes).unwrap();
            expect_header_error(fx.unlock().unwrap_err(), &format!("byte {i} ^ {mask:#x}"));
        }
    }
    std::fs::write(&path, &original).unwrap();
    assert_eq!(snapshot(&fx.store_dir), store_before);
    fx.unlock().unwrap();
}

#[test]
fn tampered_kdf_parameters_fail_authentication() {
    // Parameters above the floor, so the bumped ones reach the key derivation and the header's
    // authentication.
    let fx = Fixture::new();
    drop(Vault::create(&fx.dir, &passphrase(), KdfParams::MIN, fx.store()).unwrap());
    let path = fx.dir.join("vault.ck");
    let original = std::fs::read(&path).unwrap();
    // memory_kib is bytes 34..38: bump it by one KiB, a still-valid value.
    let mut bytes = original.clone();
    let memory = u32::from_be_bytes(bytes[34..38].try_into().unwrap()) + 1;
    bytes[34..38].copy_from_slice(&memory.to_be_bytes());
    parse_header(&bytes).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    assert!(matches!(
        fx.unlock().unwrap_err(),
        VaultError::WrongPassphrase
    ));
}

#[test]
fn every_truncated_header_is_corrupt() {
    let fx = small_vault();
    let path = fx.dir.join("vault.ck");
    let original = std::fs::read(&path).unwrap();
    for len in 0..original.len() {
        std::fs::write(&path, &original[..len]).unwrap();
        let err = fx.unlock().unwrap_err();
        assert!(
            matches!(err, VaultError::Corrupt { .. }),
            "len {len}: {err:?}"
        );
    }
    let mut longer = original.clone();
    longer.push(0);
    std::fs::write(&path, &longer).unwrap();
    assert!(matches!(
        fx.unlock().unwrap_err(),
        VaultError::Corrupt { .. }
    ));
}

#[test]
fn every_flipped_state_byte_is_corrupt() {
    let fx = small_vault();
    let path = fx.dir.join("state.ck");
    let original = std::fs::read(&path).unwrap();
    parse_state_file(&original).unwrap();
    for i in 0..original.len() {
        for mask in [0x01u8, 0x80] {
            let mut bytes = original.clone();
            bytes[i] ^= mask;
            std::fs::write(&path, &bytes).unwrap();
            let err = fx.unlock().unwrap_err();
            match &err {
                VaultError::Corrupt { file, .. } => assert_eq!(file, &path),
                other => panic!("byte {i} ^ {mask:#x}: {other:?}"),
            }
        }
    }
    std::fs::write(&path, &original).unwrap();
    let vault = fx.unlock().unwrap();
    assert_eq!(vault.key_index().unwrap().as_slice(), b"idx");
}

#[test]
fn every_truncated_state_file_is_corrupt() {
    let fx = small_vault();
    let path = fx.dir.join("state.ck");
    let original = std::fs::read(&path).unwrap();
    for len in 0..original.len() {
        std::fs::write(&path, &original[..len]).unwrap();
        let err = fx.unlock().unwrap_err();
        assert!(
            matches!(err, VaultError::Corrupt { .. }),
            "len {len}: {err:?}"
        );
    }
    std::fs::remove_file(&path).unwrap();
    let err = fx.unlock().unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn a_state_file_from_another_vault_is_corrupt() {
    let a = small_vault();
    let b = small_vault();
    std::fs::copy(b.dir.join("state.ck"), a.dir.join("state.ck")).unwrap();
    let err = a.unlock().unwrap_err();
    assert!(err.to_string().contains("different vault"), "{err}");
}

#[test]
fn the_device_wrap_is_checked_too() {
    let fx = small_vault();
    let mut vault = fx.unlock().unwrap();
    vault.enable_device_unlock().unwrap();
    drop(vault);
    let path = fx.dir.join("vault.ck");
    let original = std::fs::read(&path).unwrap();
    // The device wrap is the tail of the header; flip its last byte (the tag).
    let mut bytes = original.clone();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = Vault::unlock_with_device(&fx.dir, fx.store()).unwrap_err();
    assert!(
        matches!(err, VaultError::DeviceUnlockFailed { .. }),
        "{err:?}"
    );
    // The passphrase wrap is independent of it.
    fx.unlock().unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parsers_never_panic_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_header(&bytes);
        let _ = parse_state_file(&bytes);
    }

    #[test]
    fn parsers_never_panic_on_damaged_real_files(
        prefix in 0usize..200,
        flips in proptest::collection::vec((0usize..400, any::<u8>()), 0..4),
    ) {
        let mut header = b"carekey-vault/v1\x00\x01".to_vec();
        header.resize(200, 0);
        let mut state = b"carekey-state/v1\x00\x01".to_vec();
        state.resize(200, 0);
        for (i, b) in &flips {
            let n = header.len();
            header[i % n] ^= b;
            state[i % n] ^= b;
        }
        let _ = parse_header(&header[..prefix.min(header.len())]);
        let _ = parse_state_file(&state[..prefix.min(state.len())]);
    }
}
