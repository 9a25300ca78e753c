//! The log's reads: the published checkpoint's tiles, from memory (the partial tiles of the
//! current size) or from the files the writer wrote.

use axum::body::Bytes;
use carekey_ledger::tiles::{tile_prefix, TileId, TILE_WIDTH};

use crate::error::ApiError;
use crate::service::writer::tile_within;
use crate::service::Node;
use crate::storage::files;

impl Node {
    /// Tile `id` of the published checkpoint; `404 no_tile` if the log has no such tile yet.
    pub(crate) async fn tile(&self, id: &TileId) -> Result<Bytes, ApiError> {
        let published = self.published();
        if !tile_within(id, published.size) {
            return Err(ApiError::not_found(
                "no_tile",
                "the log has no such tile yet",
            ));
        }
        match published.partial(id) {
            Some(bytes) => Ok(bytes),
            None => self.tile_from_disk(id, published.size).await,
        }
    }

    /// A published tile the writer has on disk: full tiles as written; a partial width of a
    /// tile that is full by now as the prefix of the full tile (the log grew past that width,
    /// possibly within one batch, so its own file may never have been written); older partial
    /// widths of the current partial tile as the files written for them.
    async fn tile_from_disk(&self, id: &TileId, size: u64) -> Result<Bytes, ApiError> {
        let data = self.data_dir();
        let read = |id: TileId| {
            let file = files::tile_path(data, &id);
            async move {
                tokio::fs::read(&file).await.map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound && !id.is_full() {
                        return ApiError::not_found("no_tile", "the log has no such tile");
                    }
                    tracing::error!(tile = %id, error = %e, "published tile missing on disk");
                    ApiError::internal()
                })
            }
        };
        if id.is_full() {
            return Ok(Bytes::from(read(*id).await?));
        }
        let full = TileId {
            width: TILE_WIDTH,
            ..*id
        };
        if tile_within(&full, size) {
            let bytes = read(full).await?;
            let prefix = tile_prefix(id.kind, &bytes, id.width).ok_or_else(|| {
                tracing::error!(tile = %full, "published full tile on disk is malformed");
                ApiError::internal()
            })?;
            return Ok(Bytes::copy_from_slice(prefix));
        }
        Ok(Bytes::from(read(*id).await?))
    }
}
