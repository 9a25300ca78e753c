//! Errors: storage and start-up failures for operators, and the `{code, message}` answers
//! clients see.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use thiserror::Error;

/// A failure of the node's storage (SQLite or the files under the data directory).
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A file operation failed.
    #[error("file system: {0}")]
    Io(#[from] std::io::Error),
    /// The stored state contradicts itself.
    #[error("stored state is corrupt: {0}")]
    Corrupt(&'static str),
    /// A different root was about to be recorded for a size already signed: the node refuses
    /// to equivocate.
    #[error("refusing to sign a second, different checkpoint of size {size}")]
    Equivocation {
        /// The tree size.
        size: u64,
    },
}

/// Why a node, witness or auditor could not start or finish.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// The writer failed this many batches in a row, reopening its state in between.
    #[error("the writer failed {0} batches in a row")]
    WriterFailing(u32),
    /// The key file is unreadable or malformed.
    #[error("key file: {0}")]
    Key(String),
    /// The stored checkpoint does not match the entries on disk.
    #[error("the signed checkpoint of size {size} does not match the stored entries")]
    CheckpointMismatch {
        /// The checkpoint's size.
        size: u64,
    },
    /// A checkpoint note or signature failed.
    #[error("checkpoint: {0}")]
    Note(#[from] carekey_ledger::NoteError),
    /// Building proofs or tiles failed.
    #[error("tiles: {0}")]
    Tile(#[from] carekey_ledger::TileError),
    /// Building proofs failed.
    #[error("proof: {0}")]
    Proof(#[from] carekey_ledger::ProofError),
}

/// An answer to a client that is not a success: a status and a stable code, with a message
/// that never carries internals (paths, SQL, keys, other grants).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable machine-readable code, e.g. `revoked`.
    pub code: &'static str,
    /// A short human-readable explanation.
    pub message: String,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// `400` with a code.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `403` policy refusal with a code.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    /// `404`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// `500` without details; the cause is logged, never sent.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the node could not complete the request",
        )
    }

    /// `503`: the writer is gone or overloaded.
    pub fn unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the node cannot accept writes right now",
        )
    }

    /// `503 writer_failed`: the writer failed and could not be reopened; the node is stopping
    /// (its supervisor restarts it). A client retries like a node that is down.
    pub fn writer_failed() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "writer_failed",
            "the node's writer failed and could not be restarted; the node is stopping",
        )
    }

    /// `507` with a code: a bounded store is full (a client retries like a node that is down).
    pub fn storage_full(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::INSUFFICIENT_STORAGE, code, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "code": self.code, "message": self.message });
        (self.status, Json(body)).into_response()
    }
}
