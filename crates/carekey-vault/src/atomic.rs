//! Crash-safe file writes: a temporary file in the same directory, written, fsynced, renamed
//! over the target, then the directory fsynced. A crash at any instant leaves either the old
//! or the new file, never a mix. Temporary files are created `0600` and named
//! `.<name>.carekey-tmp.<random>`, so a backup skips leftovers of a crash.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The marker in the names of temporary files; files carrying it are never user data.
pub(crate) const TEMP_MARKER: &str = ".carekey-tmp.";

/// Replaces `path` with `bytes` atomically (temp file in the same directory, write, fsync,
/// rename, fsync the directory).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes)?;
    file.commit()
}

/// Removes `path` and fsyncs its directory, so the removal survives a crash. A missing file is
/// not an error.
pub fn remove(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => sync_dir(parent_of(path)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A file being written that replaces its target only on [`AtomicFile::commit`]. Dropped
/// without a commit, the temporary file is removed and the target is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    temp: PathBuf,
    target: PathBuf,
    /// Bytes written so far, and how far write-back has been started (see [`WRITEBACK_STEP`]).
    written: u64,
    written_back: u64,
}

/// A big file's dirty pages are handed to the kernel's write-back every this many bytes, so
/// the disk writes while the rest is still being produced and the final fsync has little left
/// to do (a record export or import would otherwise wait for all of it at the end).
const WRITEBACK_STEP: u64 = 8 << 20;

impl AtomicFile {
    /// Starts writing a replacement for `path` (whose directory must exist).
    pub fn create(path: &Path) -> io::Result<Self> {
        let name = path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "atomic write target has no file name",
            )
        })?;
        let mut temp_name = OsString::from(".");
        temp_name.push(name);
        temp_name.push(TEMP_MARKER);
        temp_name.push(hex::encode(carekey_crypto::random_array::<8>()));
        let temp = parent_of(path).join(temp_name);
        let file = create_private(&temp)?;
        Ok(Self {
            file: Some(file),
            temp,
            target: path.to_path_buf(),
            written: 0,
            written_back: 0,
        })
    }

    /// Flushes and fsyncs the data, renames it over the target and fsyncs the directory.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("atomic file already committed"))?;
        let result = (|| {
            file.sync_all()?;
            drop(file);
            std::fs::rename(&self.temp, &self.target)?;
            sync_dir(parent_of(&self.target))
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&self.temp);
        }
        result
    }

    /// Starts (does not wait for) write-back of what was written since the last call. On Linux
    /// `POSIX_FADV_DONTNEED` starts write-back of the range's dirty pages without waiting, and
    /// drops the pages already clean: the new file's pages are not needed again soon. Only a
    /// hint; nothing depends on it (the commit's fsync is what makes the data durable).
    fn start_writeback(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(file) = &self.file {
            let len = std::num::NonZeroU64::new(self.written - self.written_back);
            let _ = rustix::fs::fadvise(file, self.written_back, len, rustix::fs::Advice::DontNeed);
        }
        self.written_back = self.written;
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file
            .as_mut()
            .ok_or_else(|| io::Error::other("atomic file already committed"))
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file()?.write(buf)?;
        self.written += n as u64;
        if self.written - self.written_back >= WRITEBACK_STEP {
            self.start_writeback();
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            // Not committed: the target keeps its old content and the partial file goes.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// The directory holding `path` ("." for a bare file name).
pub(crate) fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Creates a new file readable and writable by the owner only.
pub(crate) fn create_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates a directory (and missing parents) accessible by the owner only.
pub(crate) fn create_private_dir(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Makes a directory's entries (creations, renames, removals) durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

/// Overwrites a file with zeros, fsyncs it, unlinks it and fsyncs its directory. On
/// copy-on-write or flash storage the old blocks may survive; the real guarantee is the
/// crypto-erasure of the keys, this only removes the easy copy.
pub(crate) fn wipe_file(path: &Path) -> io::Result<()> {
    let file = match OpenOptions::new().write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let zeros = [0u8; 64 * 1024];
    let mut left = len;
    let mut writer = &file;
    while left > 0 {
        let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        writer.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    file.sync_all()?;
    drop(file);
    remove(path)
}
