//! Records: importing files (FHIR resources split one per record), listing, exporting, and the
//! re-keying that revocation and erasure rely on. The age file format and the record file
//! layout live below this (`crate::records`, the vault); this is the patient's use of them.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use carekey_crypto::age::Identity;
use carekey_crypto::SigningKey;
use carekey_model::fhir;
use carekey_model::RecordId;
use carekey_vault::atomic;

use super::session::PatientSession;
use crate::records::{decrypt_record, encrypt_record, record_path, Sealed};
use crate::state::{RecordEntry, SecretBytes};
use crate::WalletError;

/// Files at least this large are imported as one opaque record without looking for FHIR.
const FHIR_SNIFF_LIMIT: u64 = 32 * 1024 * 1024;

/// Why a records operation failed, beyond the causes every operation shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The path to import is a directory, a device or something else than a file.
    #[error("{} is not a file", path.display())]
    NotAFile {
        /// What the patient chose.
        path: PathBuf,
    },
    /// A record file's ciphertext is not the one the wallet sealed (changed or damaged on disk).
    #[error("record file {} does not match the hash the wallet sealed", path.display())]
    Tampered {
        /// The record file.
        path: PathBuf,
    },
    /// The helper thread that decrypts while re-keying stopped without an answer.
    #[error("re-key worker stopped unexpectedly")]
    RekeyStopped,
}

impl RecordError {
    /// A stable, machine-readable code (see [`WalletError::code`]).
    pub fn code(&self) -> &'static str {
        match self {
            RecordError::NotAFile { .. } => "not_a_file",
            RecordError::Tampered { .. } => "record_tampered",
            RecordError::RekeyStopped => "rekey_failed",
        }
    }
}

/// A record as the patient sees it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct RecordSummary {
    /// Record id.
    pub id: RecordId,
    /// Source file name.
    pub name: String,
    /// FHIR resource type, if the record is a FHIR resource.
    pub resource_type: Option<String>,
    /// Allergies, medications, conditions… (or "file").
    pub category: String,
    /// Human title, e.g. "Penicillin allergy" or "Glucose".
    pub title: String,
    /// Human detail, e.g. "6.3 mmol/L".
    pub detail: Option<String>,
    /// Clinical date, if the resource has one.
    pub date: Option<String>,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Key version: bumped each time the record is re-keyed.
    pub version: u32,
    /// SHA-256 of the current ciphertext (hex).
    pub ciphertext_hash: String,
    /// Where the ciphertext lives.
    pub path: PathBuf,
}

/// The patient's records. Borrow it with [`PatientWallet::records`](super::PatientWallet::records).
#[derive(Debug)]
pub struct Records<'a> {
    pub(super) s: &'a mut PatientSession,
}

impl Records<'_> {
    /// Imports one file. FHIR R4 JSON resources and Bundles become one record per resource;
    /// anything else becomes one record. `progress(done, total)` is called as bytes are read.
    pub fn import(
        &mut self,
        path: &Path,
        now: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Vec<RecordSummary>, WalletError> {
        let meta = std::fs::metadata(path).map_err(|e| WalletError::io("reading", path, e))?;
        if !meta.is_file() {
            return Err(RecordError::NotAFile {
                path: path.to_owned(),
            }
            .into());
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "record".to_owned());
        let total = meta.len();
        let mut imported = Vec::new();
        let resources = if total <= FHIR_SNIFF_LIMIT {
            let bytes = std::fs::read(path).map_err(|e| WalletError::io("reading", path, e))?;
            fhir::split(&bytes)?.filter(|r| !r.is_empty())
        } else {
            None
        };
        match resources {
            Some(resources) => {
                let count = resources.len();
                for (i, resource) in resources.into_iter().enumerate() {
                    let summary = fhir::summary(&resource);
                    let label = if count > 1 {
                        format!("{name}#{}", i + 1)
                    } else {
                        name.clone()
                    };
                    let meta = RecordMeta {
                        name: label,
                        resource_type: Some(resource.resource_type.clone()),
                        fhir_id: resource.id.clone(),
                        category: category_name(&summary.category).to_owned(),
                        title: summary.title,
                        detail: summary.detail,
                        date: summary.date,
                    };
                    imported.push(self.add(meta, &resource.json[..], now)?);
                }
                progress(total, total);
            }
            None => {
                let file = File::open(path).map_err(|e| WalletError::io("opening", path, e))?;
                let reader = ProgressReader {
                    inner: BufReader::with_capacity(256 * 1024, file),
                    done: 0,
                    total,
                    report: progress,
                };
                let meta = RecordMeta {
                    name: name.clone(),
                    resource_type: None,
                    fhir_id: None,
                    category: "file".to_owned(),
                    title: name,
                    detail: None,
                    date: None,
                };
                imported.push(self.add(meta, reader, now)?);
            }
        }
        // One atomic commit per file: the records are reported imported only after this.
        self.s.save()?;
        imported.iter().map(|id| self.get(id)).collect()
    }

    pub(super) fn add(
        &mut self,
        meta: RecordMeta,
        input: impl Read,
        now: u64,
    ) -> Result<RecordId, WalletError> {
        let id = RecordId::generate();
        let identity = Identity::generate();
        let sealed = encrypt_record(
            &self.s.vault.records_dir(),
            &id,
            1,
            &identity,
            &self.s.signing_key(),
            input,
        )?;
        self.s
            .keys
            .records
            .insert(id, SecretBytes(identity.to_bytes()));
        self.s.state.records.insert(
            id,
            RecordEntry {
                name: meta.name,
                resource_type: meta.resource_type,
                fhir_id: meta.fhir_id,
                category: meta.category,
                title: meta.title,
                detail: meta.detail,
                date: meta.date,
                size: sealed.size,
                version: 1,
                ciphertext_hash: sealed.ciphertext_hash.to_vec(),
                seal: sealed.seal.to_vec(),
                imported_at: now,
            },
        );
        Ok(id)
    }

    /// Every record, grouped by category then title.
    pub fn list(&self) -> Vec<RecordSummary> {
        let mut all: Vec<RecordSummary> = self
            .s
            .state
            .records
            .iter()
            .map(|(id, r)| summary_of(self.s, id, r))
            .collect();
        all.sort_by(|a, b| (&a.category, &a.title, &a.id).cmp(&(&b.category, &b.title, &b.id)));
        all
    }

    /// Describes one record.
    pub fn get(&self, id: &RecordId) -> Result<RecordSummary, WalletError> {
        Ok(summary_of(self.s, id, entry(self.s, id)?))
    }

    /// Finds a record by its id or an unambiguous prefix of it.
    pub fn find(&self, query: &str) -> Result<RecordId, WalletError> {
        super::find_by_prefix(self.s.state.records.keys(), query, "record")
    }

    /// Decrypts a record into `output` (streaming, constant memory). On error the caller must
    /// discard what was written.
    pub fn export(&self, id: &RecordId, output: impl Write) -> Result<u64, WalletError> {
        let entry = entry(self.s, id)?;
        let identity = self.s.record_identity(id)?;
        decrypt_record(
            &self.s.vault.records_dir(),
            id,
            entry.version,
            &identity,
            &entry.ciphertext_hash,
            output,
        )
    }

    /// Decrypts a record to the file `out`, atomically: `out` appears only if the whole record
    /// decrypted and matched its seal.
    pub fn export_to(&self, id: &RecordId, out: &Path) -> Result<u64, WalletError> {
        let file =
            atomic::AtomicFile::create(out).map_err(|e| WalletError::io("creating", out, e))?;
        let mut writer = std::io::BufWriter::with_capacity(256 * 1024, file);
        let n = self.export(id, &mut writer)?;
        let file = writer
            .into_inner()
            .map_err(|e| WalletError::io("writing", out, e.into_error()))?;
        file.commit()
            .map_err(|e| WalletError::io("writing", out, e))?;
        Ok(n)
    }

    /// The age identities of every current record, one per line with a comment naming the
    /// record, readable by stock `age -d -i FILE` / `rage -d -i FILE`.
    pub fn age_identities(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::new());
        for (id, entry) in &self.s.state.records {
            if let Some(secret) = self.s.keys.records.get(id) {
                let identity = Identity::from_bytes(*secret.0);
                out.push_str(&format!(
                    "# record {id} v{} ({})\n{}\n",
                    entry.version,
                    entry.title.replace('\n', " "),
                    identity.to_bech32().as_str()
                ));
            }
        }
        out
    }
}

/// The stored entry of a record.
pub(super) fn entry<'s>(
    s: &'s PatientSession,
    id: &RecordId,
) -> Result<&'s RecordEntry, WalletError> {
    s.state
        .records
        .get(id)
        .ok_or_else(|| WalletError::NotFound {
            what: "record",
            query: id.to_string(),
        })
}

pub(super) fn summary_of(s: &PatientSession, id: &RecordId, r: &RecordEntry) -> RecordSummary {
    RecordSummary {
        id: *id,
        name: r.name.clone(),
        resource_type: r.resource_type.clone(),
        category: r.category.clone(),
        title: r.title.clone(),
        detail: r.detail.clone(),
        date: r.date.clone(),
        size: r.size,
        version: r.version,
        ciphertext_hash: hex::encode(&r.ciphertext_hash),
        path: record_path(&s.vault.records_dir(), id, r.version),
    }
}

/// Re-encrypts each record under a fresh identity as a new version (new file), in memory and
/// on new files only: nothing is committed. Returns the paths of the old versions, to delete
/// once the new keys are committed.
pub(super) fn rekey(s: &mut PatientSession, ids: &[RecordId]) -> Result<Vec<PathBuf>, WalletError> {
    let dir = s.vault.records_dir();
    let signer = s.signing_key();
    let mut old = Vec::new();
    for id in ids {
        let entry = entry(s, id)?.clone();
        let old_identity = s.record_identity(id)?;
        let new_identity = Identity::generate();
        let new_version = entry.version + 1;
        let sealed = reencrypt(
            &dir,
            id,
            &entry,
            &old_identity,
            &new_identity,
            new_version,
            &signer,
        )?;
        s.keys
            .records
            .insert(*id, SecretBytes(new_identity.to_bytes()));
        if let Some(e) = s.state.records.get_mut(id) {
            e.version = new_version;
            e.ciphertext_hash = sealed.ciphertext_hash.to_vec();
            e.seal = sealed.seal.to_vec();
        }
        old.push(record_path(&dir, id, entry.version));
    }
    Ok(old)
}

/// Re-encrypts one record version under a new identity without writing plaintext to disk:
/// a reader thread decrypts into a bounded in-memory pipe that the encryptor consumes.
fn reencrypt(
    dir: &Path,
    id: &RecordId,
    entry: &RecordEntry,
    old: &Identity,
    new: &Identity,
    new_version: u32,
    signer: &SigningKey,
) -> Result<Sealed, WalletError> {
    let (mut reader, writer) = pipe::pipe();
    let dir_owned = dir.to_path_buf();
    let id_owned = *id;
    let old = old.clone();
    let version = entry.version;
    let expected = entry.ciphertext_hash.clone();
    let decryptor = std::thread::spawn(move || {
        decrypt_record(&dir_owned, &id_owned, version, &old, &expected, writer)
    });
    let sealed = encrypt_record(dir, id, new_version, new, signer, &mut reader);
    drop(reader);
    let decrypted = decryptor.join().map_err(|_| RecordError::RekeyStopped)?;
    match (decrypted, sealed) {
        (Ok(_), Ok(sealed)) => Ok(sealed),
        (Err(e), Ok(_)) => {
            let _ = atomic::remove(&record_path(dir, id, new_version));
            Err(e)
        }
        (_, Err(e)) => Err(e),
    }
}

/// What the wallet shows about a record it adds.
pub(super) struct RecordMeta {
    pub(super) name: String,
    pub(super) resource_type: Option<String>,
    pub(super) fhir_id: Option<String>,
    pub(super) category: String,
    pub(super) title: String,
    pub(super) detail: Option<String>,
    pub(super) date: Option<String>,
}

struct ProgressReader<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    report: &'a mut dyn FnMut(u64, u64),
}

impl<R: Read> Read for ProgressReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let before = self.done >> 20;
        self.done += n as u64;
        // Report every MiB and at the end (a progress bar that moves; ~3,000 reports for 3 GiB).
        if self.done >> 20 != before || n == 0 {
            (self.report)(self.done, self.total);
        }
        Ok(n)
    }
}

mod pipe {
    //! A bounded in-memory byte pipe between two threads.
    use std::io::{self, Read, Write};
    use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

    pub(super) struct PipeReader {
        rx: Receiver<Vec<u8>>,
        buf: Vec<u8>,
        pos: usize,
    }

    pub(super) struct PipeWriter {
        tx: SyncSender<Vec<u8>>,
    }

    pub(super) fn pipe() -> (PipeReader, PipeWriter) {
        let (tx, rx) = sync_channel(4);
        (
            PipeReader {
                rx,
                buf: Vec::new(),
                pos: 0,
            },
            PipeWriter { tx },
        )
    }

    impl Read for PipeReader {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            while self.pos == self.buf.len() {
                match self.rx.recv() {
                    Ok(chunk) => {
                        self.buf = chunk;
                        self.pos = 0;
                    }
                    Err(_) => return Ok(0),
                }
            }
            let n = out.len().min(self.buf.len() - self.pos);
            out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    impl Write for PipeWriter {
        fn write(&mut self, data: &[u8]) -> io::Result<usize> {
            self.tx
                .send(data.to_vec())
                .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "re-key reader stopped"))?;
            Ok(data.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

fn category_name(c: &fhir::Category) -> &'static str {
    match c {
        fhir::Category::Allergy => "allergies",
        fhir::Category::Medication => "medications",
        fhir::Category::Condition => "conditions",
        fhir::Category::Observation => "observations",
        fhir::Category::Immunization => "immunizations",
        fhir::Category::Procedure => "procedures",
        fhir::Category::Document => "documents",
        fhir::Category::Patient => "patient",
        _ => "other",
    }
}
