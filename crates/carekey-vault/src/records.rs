//! The record files of a vault: `<vault>/records/<id>.<version>.age`, one file per version of
//! a record, so a re-key writes the new version beside the old one and never overwrites the only
//! readable copy before the new key is committed.
//!
//! The vault does not know what a record is (the wallet encrypts the files; the vault keeps
//! them): a record is named here by its 16-byte id, written as 32 lowercase hex characters,
//! and a version number. [`RecordStore`] is the one place that turns those into paths, so no
//! other code builds a record file name and no name read from the folder is ever trusted as a
//! path to open.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::atomic::{self, AtomicFile};
use crate::error::VaultError;

/// The folder of record files inside a vault directory.
pub(crate) const RECORDS_DIR: &str = "records";
/// The extension of a record file (its content is an age v1 file).
const EXTENSION: &str = "age";

/// The record files of one vault. Cheap to clone; holds only the folder's path.
#[derive(Clone, Debug)]
pub struct RecordStore {
    dir: PathBuf,
}

impl RecordStore {
    /// The record files of the vault in `vault_dir`.
    pub(crate) fn new(vault_dir: &Path) -> Self {
        RecordStore {
            dir: vault_dir.join(RECORDS_DIR),
        }
    }

    /// The folder, `<vault>/records`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where version `version` of record `id` lives (whether or not it exists).
    pub fn path(&self, id: &[u8; 16], version: u32) -> PathBuf {
        self.dir.join(file_name(id, version))
    }

    /// Starts writing version `version` of record `id`. Nothing is visible at its path until
    /// [`NewRecordFile::commit`]; dropped uncommitted, the partial file is removed.
    pub fn create(&self, id: &[u8; 16], version: u32) -> Result<NewRecordFile, VaultError> {
        let path = self.path(id, version);
        let file = AtomicFile::create(&path).map_err(VaultError::io(&path))?;
        Ok(NewRecordFile { file, path })
    }

    /// Opens version `version` of record `id` for reading.
    pub fn open(&self, id: &[u8; 16], version: u32) -> Result<File, VaultError> {
        let path = self.path(id, version);
        File::open(&path).map_err(|source| match source.kind() {
            io::ErrorKind::NotFound => VaultError::RecordFileMissing { path },
            _ => VaultError::Io { path, source },
        })
    }

    /// Removes version `version` of record `id` and makes the removal durable (the folder is
    /// fsynced). A version that is not there is not an error.
    pub fn remove(&self, id: &[u8; 16], version: u32) -> Result<(), VaultError> {
        let path = self.path(id, version);
        atomic::remove(&path).map_err(VaultError::io(&path))
    }

    /// Every file in the folder that none of the `live` (id, version) pairs names: leftovers of
    /// an import or re-key interrupted before it was committed, of an interrupted write, or
    /// anything put there by hand. Sorted by path. Sub-folders are not listed (the vault never
    /// makes any); a missing folder has no orphans.
    pub fn orphans<'a>(
        &self,
        live: impl IntoIterator<Item = (&'a [u8; 16], u32)>,
    ) -> Result<Vec<PathBuf>, VaultError> {
        let live: BTreeSet<OsString> = live
            .into_iter()
            .map(|(id, version)| file_name(id, version).into())
            .collect();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(VaultError::io(&self.dir)(e)),
        };
        let mut orphans = Vec::new();
        for entry in entries {
            let entry = entry.map_err(VaultError::io(&self.dir))?;
            let path = entry.path();
            // `file_type` does not follow links: a link to a folder is listed (and removing it
            // removes the link only).
            if entry.file_type().map_err(VaultError::io(&path))?.is_dir() {
                continue;
            }
            if !live.contains(&entry.file_name()) {
                orphans.push(path);
            }
        }
        orphans.sort();
        Ok(orphans)
    }

    /// Removes every [orphan](RecordStore::orphans), durably. Tries them all; returns those
    /// removed, or the first error after trying the rest.
    pub fn remove_orphans<'a>(
        &self,
        live: impl IntoIterator<Item = (&'a [u8; 16], u32)>,
    ) -> Result<Vec<PathBuf>, VaultError> {
        let mut removed = Vec::new();
        let mut first_error = None;
        for path in self.orphans(live)? {
            match atomic::remove(&path) {
                Ok(()) => removed.push(path),
                Err(e) => {
                    first_error.get_or_insert_with(|| VaultError::io(&path)(e));
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(removed),
        }
    }
}

/// A record version being written: write the ciphertext, then [`NewRecordFile::commit`].
#[derive(Debug)]
pub struct NewRecordFile {
    file: AtomicFile,
    path: PathBuf,
}

impl NewRecordFile {
    /// Where the version will be once committed.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes the version durable at its path, replacing any file there.
    pub fn commit(self) -> Result<(), VaultError> {
        let NewRecordFile { file, path } = self;
        file.commit().map_err(VaultError::io(path))
    }
}

impl Write for NewRecordFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// `<id hex>.<version>.age`.
fn file_name(id: &[u8; 16], version: u32) -> String {
    format!("{}.{version}.{EXTENSION}", hex::encode(id))
}
