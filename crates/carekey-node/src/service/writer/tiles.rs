//! The writer's tile writes: full tiles and entry bundles after each batch (no fsync), the
//! partial tiles and the checkpoint file when the writer flushes, every tile again (fsynced)
//! after a reboot; and the [`Published`] checkpoint with its partial tiles that handlers serve
//! from memory.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use carekey_ledger::tiles::{
    hash_tile, tile_prefix, try_encode_bundle, TileId, TileKind, TILE_HEIGHT, TILE_WIDTH,
};

use crate::error::NodeError;
use crate::service::writer::Writer;
use crate::storage::{db, files, Durability};

/// The latest published checkpoint, as handlers serve it, with the log's partial tiles at its
/// size (the files on disk may lag behind these by up to [`MAX_MIRROR_LAG`] under load).
#[derive(Debug, Default)]
pub(crate) struct Published {
    pub(crate) size: u64,
    pub(crate) note: String,
    /// The partial hash tile of each level and the partial entry bundle at `size` (a tile
    /// index appears here only while its tile is not full).
    pub(crate) partials: Vec<(TileId, Bytes)>,
}

impl Published {
    /// The first `width` hashes or entries of tile `kind`/`index` if this checkpoint's partial
    /// tile there holds them.
    pub(crate) fn partial(&self, id: &TileId) -> Option<Bytes> {
        let (have, bytes) = self
            .partials
            .iter()
            .find(|(p, _)| p.kind == id.kind && p.index == id.index)?;
        if have.width < id.width {
            return None;
        }
        let prefix = tile_prefix(id.kind, bytes, id.width)?;
        Some(bytes.slice(..prefix.len()))
    }
}

/// How far, under load, the partial tiles and the checkpoint file on disk (the static mirror
/// view of the data directory) may lag behind what the node serves over HTTP. The writer
/// writes them after a batch when no submission is waiting, and at least this often while
/// submissions keep coming (instead of after every batch: rewriting the growing partial entry
/// bundle per batch was most of the writer's CPU at thousands of fetches per second).
pub(super) const MAX_MIRROR_LAG: Duration = Duration::from_millis(200);

impl Writer {
    /// Step 4 of a batch: the tiles and bundles that became full in the growth `old → new`, by
    /// atomic rename, no fsync (see the module doc for why that is enough). The partial ones
    /// are served from memory and written by [`Writer::flush`].
    pub(super) fn write_full_tiles(&self, old: u64, new: u64) -> Result<(), NodeError> {
        for id in files::changed_tiles(old, new) {
            if id.is_full() {
                let bytes = self.tile_bytes(&id)?;
                files::write_file_unsynced(&files::tile_path(&self.data, &id), &bytes)?;
            }
        }
        Ok(())
    }

    /// Writes the published size's partial tiles, then its checkpoint through the
    /// [`CheckpointStore`], so that the data directory is again a consistent static mirror.
    pub(super) fn flush(&mut self) -> Result<(), NodeError> {
        let Some(cp) = self.unflushed.take() else {
            return Ok(());
        };
        for (id, bytes) in &self.current_published().partials {
            files::write_file_unsynced(&files::tile_path(&self.data, id), bytes)?;
        }
        let previous = self.checkpoints.latest()?;
        self.checkpoints
            .compare_and_swap(previous.as_ref().map(|c| c.size), &cp)?;
        self.last_flush = Instant::now();
        Ok(())
    }

    /// The content of tile `id` (within the tree): hashes from the tree, entries from the tail
    /// or SQLite.
    pub(super) fn tile_bytes(&self, id: &TileId) -> Result<Vec<u8>, NodeError> {
        Ok(match id.kind {
            TileKind::Entries => {
                let start = id.index * u64::from(TILE_WIDTH);
                let end = start + u64::from(id.width);
                let tail_end = self.tail_start + self.tail.len() as u64;
                if start >= self.tail_start && end <= tail_end {
                    let from = (start - self.tail_start) as usize;
                    let refs: Vec<&[u8]> = self.tail[from..from + usize::from(id.width)]
                        .iter()
                        .map(Vec::as_slice)
                        .collect();
                    try_encode_bundle(&refs)?
                } else {
                    let entries = db::entries_range(&self.conn, start, end)?;
                    let refs: Vec<&[u8]> = entries.iter().map(Vec::as_slice).collect();
                    try_encode_bundle(&refs)?
                }
            }
            TileKind::Hash { .. } => hash_tile(&self.tree, id)?,
        })
    }

    /// Drops the tail's complete bundles (written by now).
    pub(super) fn trim_tail(&mut self) {
        let width = u64::from(TILE_WIDTH);
        let full = self.tree.size() / width * width;
        if full > self.tail_start {
            let n = usize::try_from(full - self.tail_start)
                .unwrap_or(usize::MAX)
                .min(self.tail.len());
            self.tail.drain(..n);
            self.tail_start = full;
        }
    }

    /// After a reboot: rewrites every tile and entry bundle of the tree, and every older partial
    /// width still on disk, each fsynced, then fsyncs their directories up to the data
    /// directory. Returns how many files it wrote.
    pub(super) fn rewrite_all_tiles(&self) -> Result<usize, NodeError> {
        let size = self.tree.size();
        let width = u64::from(TILE_WIDTH);
        let kinds = tile_kinds(size);
        let mut dirs: BTreeSet<PathBuf> = BTreeSet::new();
        let mut written = 0usize;
        for (kind, count) in kinds {
            for index in 0..count.div_ceil(width) {
                let have = (count - index * width).min(width) as u16;
                let mut widths = files::partial_widths(&self.data, kind, index)?;
                widths.retain(|w| *w < have);
                widths.push(have);
                for w in widths {
                    let id = TileId {
                        kind,
                        index,
                        width: w,
                    };
                    let path = files::tile_path(&self.data, &id);
                    files::write_file_synced(&path, &self.tile_bytes(&id)?, self.durability)?;
                    written += 1;
                    let mut dir = path.parent();
                    while let Some(d) = dir {
                        if !dirs.insert(d.to_owned()) || d == self.data {
                            break;
                        }
                        dir = d.parent();
                    }
                }
            }
        }
        if self.durability == Durability::Full {
            dirs.insert(self.data.clone());
            for d in dirs {
                files::sync_dir(&d)?;
            }
        }
        Ok(written)
    }

    /// Publishes checkpoint `note` of `size` with the tree's partial tiles at that size.
    pub(super) fn set_published(&mut self, size: u64, note: String) -> Result<(), NodeError> {
        let mut partials = Vec::new();
        for (kind, count) in tile_kinds(size) {
            let width = count % u64::from(TILE_WIDTH);
            if width > 0 {
                let id = TileId {
                    kind,
                    index: count / u64::from(TILE_WIDTH),
                    width: width as u16,
                };
                partials.push((id, Bytes::from(self.tile_bytes(&id)?)));
            }
        }
        let published = Arc::new(Published {
            size,
            note,
            partials,
        });
        let mut p = match self.published.write() {
            Ok(p) => p,
            Err(p) => p.into_inner(),
        };
        *p = published;
        Ok(())
    }

    pub(super) fn current_published(&self) -> Arc<Published> {
        match self.published.read() {
            Ok(p) => p.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

/// Whether tile `id` is part of (a prefix of) the log at `size`: such a tile's content is
/// fixed by committed entries and may be served.
/// Every tile kind of a tree of `size` leaves with how many hashes (or entries) it spans.
fn tile_kinds(size: u64) -> Vec<(TileKind, u64)> {
    let mut kinds = Vec::new();
    let mut level = 0u32;
    loop {
        let count = size.checked_shr(level * TILE_HEIGHT).unwrap_or(0);
        if count == 0 {
            break;
        }
        kinds.push((TileKind::Hash { level: level as u8 }, count));
        level += 1;
    }
    if size > 0 {
        kinds.push((TileKind::Entries, size));
    }
    kinds
}

pub(crate) fn tile_within(id: &TileId, size: u64) -> bool {
    let count = match id.kind {
        TileKind::Entries => size,
        TileKind::Hash { level } => size.checked_shr(u32::from(level) * 8).unwrap_or(0),
    };
    id.index
        .checked_mul(u64::from(TILE_WIDTH))
        .and_then(|s| s.checked_add(u64::from(id.width)))
        .is_some_and(|end| end <= count)
}
