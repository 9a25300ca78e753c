//! The node's files under the data directory, and how they are written.
//!
//! ```text
//! <data>/checkpoint                 the latest signed (and cosigned) checkpoint note
//! <data>/tile/<L>/<N>[.p/<W>]       hash tiles      } exactly the C2SP tlog-tiles paths, so
//! <data>/tile/entries/<N>[.p/<W>]   entry bundles   } `checkpoint` + `tile/` is a static mirror
//! <data>/bundles/<grant id>         off-log grant bundles (deleted on erasure; never mirrored)
//! <data>/backup-shares/<share id>   backup key shares (deleted on erasure; never mirrored)
//! ```
//!
//! Tiles, entry bundles and the checkpoint file are functions of committed entries: the writer
//! writes them to a temporary name and renames it (atomic for readers, survives `kill -9`)
//! without fsync, and after a reboot the node rewrites them all from SQLite, fsynced, before
//! it serves (see `crate::service::writer`). Grant bundles and shares (off-log, not
//! derivable) are written to a temporary name, fsynced, renamed, and their directory fsynced.

use std::fs::{self, File};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use carekey_ledger::tiles::{TileId, TileKind, TILE_HEIGHT, TILE_WIDTH};

use crate::error::StoreError;
use crate::storage::Durability;

/// Writes `bytes` to `path` atomically: temporary file, fsync, rename, fsync the directory.
pub(crate) fn write_atomic(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), StoreError> {
    write_file_synced(path, bytes, durability)?;
    if durability == Durability::Full {
        let dir = path
            .parent()
            .ok_or(StoreError::Corrupt("file path has no directory"))?;
        sync_dir(dir)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` via a temporary name and fsyncs the file, but leaves the directory
/// fsync to the caller (so a batch of tiles in one directory costs one directory fsync).
pub(crate) fn write_file_synced(
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), StoreError> {
    let dir = path
        .parent()
        .ok_or(StoreError::Corrupt("file path has no directory"))?;
    fs::create_dir_all(dir)?;
    let tmp = tmp_name(path);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if durability == Durability::Full {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, path)?;
    Ok(())
}

/// Writes `bytes` to `path` via a temporary name and a rename, with no fsync: atomic for
/// readers and across `kill -9` (the page cache survives a process), not across power loss.
/// For files derived from SQLite only (tiles, bundles, the checkpoint copy).
pub(crate) fn write_file_unsynced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    write_file_synced(path, bytes, Durability::None)
}

/// Replaces the content of `path` with `bytes`, atomically for readers that open the file and
/// read it at once, without allocating or freeing an inode per write: writes `<path>.next`
/// (an existing file after the first time) and exchanges the two names (Linux
/// `renameat2(RENAME_EXCHANGE)`); the previous content then sits in `<path>.next` until the
/// next write overwrites it. Elsewhere, or where the file system cannot exchange, a plain
/// rename. No fsync. (Replacing a file by rename frees an inode per write; on ext4 without a
/// journal every later file creation then scans past the inodes freed in the last 30 s, which
/// at hundreds of checkpoints a second cost more CPU than the signatures.)
pub(crate) fn write_swapped(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".next");
    let next = path.with_file_name(name);
    {
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&next)?;
        f.write_all(bytes)?;
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        use rustix::io::Errno;
        match renameat_with(CWD, &next, CWD, path, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(()),
            // No file yet at `path`, or no exchange on this file system: rename below.
            Err(e) if e == Errno::NOENT || e == Errno::INVAL || e == Errno::NOSYS => {}
            Err(e) => return Err(std::io::Error::from(e).into()),
        }
    }
    fs::rename(&next, path)?;
    Ok(())
}

/// The widths of the partial tiles of tile `index` of `kind` present on disk.
pub(crate) fn partial_widths(
    data: &Path,
    kind: TileKind,
    index: u64,
) -> Result<Vec<u16>, StoreError> {
    let probe = tile_path(
        data,
        &TileId {
            kind,
            index,
            width: 1,
        },
    );
    let Some(dir) = probe.parent() else {
        return Ok(Vec::new());
    };
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut out = Vec::new();
    for entry in entries {
        let name = entry?.file_name();
        // Leftover `<W>.tmp` files and anything else that is not a width are skipped.
        if let Some(w) = name.to_str().and_then(|n| n.parse::<u16>().ok()) {
            if (1..TILE_WIDTH).contains(&w) {
                out.push(w);
            }
        }
    }
    out.sort_unstable();
    Ok(out)
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

/// The file holding a tile.
pub(crate) fn tile_path(data: &Path, id: &TileId) -> PathBuf {
    data.join(id.path())
}

/// The tiles and bundles that change when the log grows from `old` to `new` leaves: at every
/// level, from the tile holding the first new hash to the tile holding the last, each at the
/// width the tree of `new` serves.
pub(crate) fn changed_tiles(old: u64, new: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let width = u64::from(TILE_WIDTH);
    let mut push_range = |kind: TileKind, old_count: u64, new_count: u64| {
        if new_count <= old_count {
            return;
        }
        let first = old_count / width;
        let last = (new_count - 1) / width;
        for index in first..=last {
            let w = (new_count - index * width).min(width) as u16;
            out.push(TileId {
                kind,
                index,
                width: w,
            });
        }
    };
    let mut level = 0u32;
    loop {
        let shift = level * TILE_HEIGHT;
        let (o, n) = (
            old.checked_shr(shift).unwrap_or(0),
            new.checked_shr(shift).unwrap_or(0),
        );
        if n == 0 {
            break;
        }
        push_range(TileKind::Hash { level: level as u8 }, o, n);
        level += 1;
    }
    push_range(TileKind::Entries, old, new);
    out
}

// ----- grant bundles and backup shares -----

/// The bundle file of a grant.
pub(crate) fn bundle_path(data: &Path, grant_id: &[u8; 16]) -> PathBuf {
    data.join("bundles").join(hex::encode(grant_id))
}

/// The grant id a bundle file is named by (32 lowercase hex digits), if it is one.
pub(crate) fn parse_grant_file(name: &str) -> Option<[u8; 16]> {
    parse_id(name)
}

/// The file of a backup key share.
pub(crate) fn share_path(data: &Path, id: &[u8; 16]) -> PathBuf {
    data.join("backup-shares").join(hex::encode(id))
}

/// A 16-byte id written as 32 lowercase hex digits (bundle and share file names).
pub(crate) fn parse_id(text: &str) -> Option<[u8; 16]> {
    let mut id = [0u8; 16];
    hex::decode_to_slice(text, &mut id).ok()?;
    (hex::encode(id) == text).then_some(id)
}

/// What a bundle of `len` bytes counts against the store's bound: at least a 4 KiB block, so
/// that many tiny bundles cannot exhaust the file system's inodes under a byte bound.
pub(crate) fn bundle_footprint(len: u64) -> u64 {
    len.div_ceil(4096).max(1) * 4096
}

/// The bytes the bundle store holds now (files named by a grant id; temporary files of an
/// interrupted upload are not counted).
pub(crate) fn bundle_store_bytes(data: &Path) -> Result<u64, StoreError> {
    let dir = match fs::read_dir(data.join("bundles")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut total = 0u64;
    for entry in dir {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_str().is_some_and(|n| parse_grant_file(n).is_some()) {
            total = total.saturating_add(bundle_footprint(entry.metadata()?.len()));
        }
    }
    Ok(total)
}

/// The names of the files in `<data>/bundles/` (none if it does not exist).
pub(crate) fn bundle_file_names(data: &Path) -> Result<Vec<String>, StoreError> {
    match fs::read_dir(data.join("bundles")) {
        Ok(entries) => Ok(entries
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<_>>()?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// How many shares `<data>/backup-shares/` holds (files named by a share id; the temporary
/// files of an interrupted store are not shares).
pub(crate) fn share_count(data: &Path) -> Result<u64, StoreError> {
    let dir = match fs::read_dir(data.join("backup-shares")) {
        Ok(dir) => dir,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e.into()),
    };
    let mut n = 0;
    for entry in dir {
        let name = entry?.file_name();
        if name.to_str().is_some_and(|n| parse_id(n).is_some()) {
            n += 1;
        }
    }
    Ok(n)
}

/// Removes `path` (nothing to do if it is gone) and, under [`Durability::Full`], fsyncs its
/// directory so that the removal survives power loss.
pub(crate) fn remove_durably(path: &Path, durability: Durability) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    if durability == Durability::Full {
        if let Some(dir) = path.parent() {
            sync_dir(dir)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeSet;

    use carekey_ledger::tiles::tiles_for_size;

    use super::*;

    #[test]
    fn changed_tiles_are_exactly_the_new_ones() {
        for (old, new) in [
            (0u64, 1u64),
            (0, 256),
            (255, 257),
            (256, 512),
            (1, 70_000),
            (65_535, 65_537),
        ] {
            let before: BTreeSet<_> = tiles_for_size(old).into_iter().collect();
            let after: BTreeSet<_> = tiles_for_size(new).into_iter().collect();
            let expected: BTreeSet<_> = after.difference(&before).copied().collect();
            let got: BTreeSet<_> = changed_tiles(old, new).into_iter().collect();
            assert_eq!(got, expected, "{old} → {new}");
        }
    }
}
