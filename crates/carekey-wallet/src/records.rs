//! Record files: age encryption to a per-record identity, ciphertext hashing, seals.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use carekey_crypto::age::{self, Identity};
use carekey_crypto::SigningKey;
use carekey_model::{record_seal_message, RecordId};
use carekey_vault::atomic::AtomicFile;

use crate::WalletError;

/// Where version `version` of record `id` lives. Versions get distinct files so that a re-key
/// never overwrites the only readable copy before the new key is committed.
pub(crate) fn record_path(records_dir: &Path, id: &RecordId, version: u32) -> PathBuf {
    records_dir.join(format!("{id}.{version}.age"))
}

/// The outcome of encrypting one record version.
#[derive(Debug)]
pub(crate) struct Sealed {
    pub(crate) size: u64,
    pub(crate) ciphertext_hash: [u8; 32],
    pub(crate) seal: [u8; 64],
}

/// Encrypts `input` to `identity`'s recipient into the record file for (`id`, `version`),
/// atomically, in constant memory, and signs (record id, version, ciphertext hash).
pub(crate) fn encrypt_record(
    records_dir: &Path,
    id: &RecordId,
    version: u32,
    identity: &Identity,
    signer: &SigningKey,
    input: impl Read,
) -> Result<Sealed, WalletError> {
    let path = record_path(records_dir, id, version);
    let file = AtomicFile::create(&path).map_err(|e| WalletError::io("creating", &path, e))?;
    // The pipeline writes runs of up to 512 KiB, which pass this buffer by;
    // it gathers the header and the first, shorter runs. The ciphertext is
    // hashed on the threads that encrypt it.
    let mut writer = io::BufWriter::with_capacity(256 * 1024, file);
    let (size, ciphertext_hash) =
        age::encrypt_and_hash(&[identity.recipient()], input, &mut writer)?;
    let file = writer
        .into_inner()
        .map_err(|e| WalletError::io("writing", &path, e.into_error()))?;
    file.commit()
        .map_err(|e| WalletError::io("writing", &path, e))?;
    let seal = signer
        .sign(&record_seal_message(id, version, &ciphertext_hash))
        .to_bytes();
    Ok(Sealed {
        size,
        ciphertext_hash,
        seal,
    })
}

/// Decrypts the record file for (`id`, `version`) into `output`, checking that the ciphertext
/// is the one the wallet sealed. The caller must discard `output` on error.
pub(crate) fn decrypt_record(
    records_dir: &Path,
    id: &RecordId,
    version: u32,
    identity: &Identity,
    expected_hash: &[u8],
    output: impl Write,
) -> Result<u64, WalletError> {
    let path = record_path(records_dir, id, version);
    let file = File::open(&path).map_err(|e| WalletError::io("opening", &path, e))?;
    // No buffer: the age reader buffers the header, and the payload is read
    // in runs of up to 512 KiB. A successful decryption reads the whole file,
    // so the hash covers all of it.
    let (size, hash) = age::decrypt_and_hash(std::slice::from_ref(identity), file, output)?;
    if hash[..] != *expected_hash {
        return Err(crate::RecordError::Tampered { path }.into());
    }
    Ok(size)
}
