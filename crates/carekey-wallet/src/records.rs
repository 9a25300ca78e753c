//! Record files: age encryption to a per-record identity, ciphertext hashing, seals.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use carekey_crypto::age::{self, Identity};
use carekey_crypto::{Sha256, SigningKey};
use carekey_model::{record_seal_message, RecordId};
use carekey_vault::atomic::AtomicFile;

use crate::WalletError;

/// Where version `version` of record `id` lives. Versions get distinct files so that a re-key
/// never overwrites the only readable copy before the new key is committed.
pub(crate) fn record_path(records_dir: &Path, id: &RecordId, version: u32) -> PathBuf {
    records_dir.join(format!("{id}.{version}.age"))
}

/// A writer that hashes everything written through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes everything read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        HashingReader {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Hash of everything read so far; drains the rest of the input first so the hash always
    /// covers the whole file.
    pub(crate) fn finish(mut self) -> io::Result<[u8; 32]> {
        io::copy(&mut self, &mut io::sink())?;
        Ok(self.hasher.finalize())
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
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
    let mut writer = HashingWriter {
        inner: io::BufWriter::with_capacity(256 * 1024, file),
        hasher: Sha256::new(),
    };
    let size = age::encrypt(&[identity.recipient()], input, &mut writer)?;
    let HashingWriter { inner, hasher } = writer;
    let file = inner
        .into_inner()
        .map_err(|e| WalletError::io("writing", &path, e.into_error()))?;
    file.commit()
        .map_err(|e| WalletError::io("writing", &path, e))?;
    let ciphertext_hash = hasher.finalize();
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
    let mut reader = HashingReader::new(BufReader::with_capacity(256 * 1024, file));
    let size = age::decrypt(std::slice::from_ref(identity), &mut reader, output)?;
    let hash = reader
        .finish()
        .map_err(|e| WalletError::io("reading", &path, e))?;
    if hash[..] != *expected_hash {
        return Err(crate::RecordError::Tampered { path }.into());
    }
    Ok(size)
}
