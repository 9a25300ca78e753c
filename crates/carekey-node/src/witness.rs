//! Witness mode: the C2SP `tlog-witness` `POST /add-checkpoint` endpoint.
//!
//! The witness pins the verifier keys of the logs it follows. For each request it verifies the
//! log signature, checks that the `old` size is the size it last cosigned for that origin
//! (else `409` with its size, `text/x.tlog.size`), that the consistency proof leads from the
//! checkpoint it cosigned to the new one (else `422`: a fork or a rollback), stores the new
//! checkpoint durably (SQLite, `synchronous=FULL`) and only then answers its timestamped
//! cosignature line.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use carekey_ledger::note::{open_checkpoint, NoteVerifier};
use carekey_ledger::witness::AddCheckpoint;
use carekey_ledger::{empty_root, verify_consistency, Hash};
use rusqlite::{params, Connection, OptionalExtension as _};

use crate::clock::Clock;
use crate::error::{ApiError, NodeError, StoreError};
use crate::keys::LogKey;

/// Largest request body the witness reads.
const MAX_REQUEST: usize = (1 << 20) + 8 * 1024;

/// A witness: its key, the logs it follows, and where it remembers what it cosigned.
#[derive(Debug, Clone)]
pub struct WitnessState {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    key: LogKey,
    logs: HashMap<String, NoteVerifier>,
    db: Mutex<Connection>,
    clock: Arc<dyn Clock>,
}

impl WitnessState {
    /// Opens the witness's state in `data_dir`, following the logs with these verifier keys.
    pub fn open(
        data_dir: &Path,
        key: LogKey,
        logs: &[String],
        clock: Arc<dyn Clock>,
    ) -> Result<Self, NodeError> {
        std::fs::create_dir_all(data_dir).map_err(StoreError::from)?;
        let conn = Connection::open(data_dir.join("witness.sqlite3")).map_err(StoreError::from)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .and_then(|()| conn.pragma_update(None, "synchronous", "FULL"))
            .and_then(|()| {
                conn.execute_batch(
                    "CREATE TABLE IF NOT EXISTS cosigned (
                        origin TEXT PRIMARY KEY,
                        size   INTEGER NOT NULL,
                        root   BLOB NOT NULL,
                        note   TEXT NOT NULL)",
                )
            })
            .map_err(StoreError::from)?;
        let mut map = HashMap::new();
        for vkey in logs {
            let v = NoteVerifier::parse(vkey)
                .map_err(|e| NodeError::Config(format!("log key {vkey}: {e}")))?;
            map.insert(v.name().to_owned(), v);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                key,
                logs: map,
                db: Mutex::new(conn),
                clock,
            }),
        })
    }

    /// The witness's cosignature verifier key (type 0x04) that logs and wallets pin.
    pub fn vkey(&self) -> String {
        self.inner.key.note.verifier().for_cosignatures().to_vkey()
    }

    /// The size and root this witness last cosigned for `origin`.
    pub fn cosigned(&self, origin: &str) -> Result<Option<(u64, Hash)>, StoreError> {
        let db = self
            .inner
            .db
            .lock()
            .map_err(|_| StoreError::Corrupt("witness lock poisoned"))?;
        latest(&db, origin)
    }
}

fn latest(db: &Connection, origin: &str) -> Result<Option<(u64, Hash)>, StoreError> {
    let row = db
        .query_row(
            "SELECT size, root FROM cosigned WHERE origin = ?1",
            [origin],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
        )
        .optional()?;
    row.map(|(s, r)| {
        let root: Hash = r
            .try_into()
            .map_err(|_| StoreError::Corrupt("stored root is not 32 bytes"))?;
        Ok((s as u64, root))
    })
    .transpose()
}

/// The witness's router: `POST /add-checkpoint`.
pub fn witness_app(state: WitnessState) -> Router {
    Router::new()
        .route("/add-checkpoint", post(add_checkpoint))
        .fallback(|| async { ApiError::not_found("not_found", "no such route") })
        .with_state(state)
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn add_checkpoint(State(state): State<WitnessState>, body: Body) -> Response {
    let Ok(bytes) = axum::body::to_bytes(body, MAX_REQUEST).await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "request too large\n");
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        return plain(StatusCode::BAD_REQUEST, "not UTF-8\n");
    };
    let Ok(req) = AddCheckpoint::parse(text) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "malformed add-checkpoint request\n",
        );
    };
    let origin = req.checkpoint.split('\n').next().unwrap_or("");
    let Some(log) = state.inner.logs.get(origin) else {
        return plain(StatusCode::NOT_FOUND, "unknown log\n");
    };
    let now = state.inner.clock.now();
    let Ok(opened) = open_checkpoint(&req.checkpoint, log, &[], now) else {
        return plain(
            StatusCode::FORBIDDEN,
            "checkpoint signature does not verify\n",
        );
    };
    let cp = opened.checkpoint;
    let db = match state.inner.db.lock() {
        Ok(db) => db,
        Err(p) => p.into_inner(),
    };
    let (size, root) = match latest(&db, origin) {
        Ok(v) => v.unwrap_or((0, empty_root())),
        Err(e) => {
            tracing::error!(error = %e, "witness storage failure");
            return plain(StatusCode::INTERNAL_SERVER_ERROR, "storage failure\n");
        }
    };
    if req.old_size != size {
        return (
            StatusCode::CONFLICT,
            [(header::CONTENT_TYPE, "text/x.tlog.size")],
            format!("{size}\n"),
        )
            .into_response();
    }
    if cp.size < req.old_size {
        return plain(
            StatusCode::BAD_REQUEST,
            "checkpoint is older than old size\n",
        );
    }
    if verify_consistency(req.old_size, cp.size, &root, &cp.root, &req.proof).is_err() {
        tracing::warn!(
            origin,
            old = req.old_size,
            new = cp.size,
            "inconsistent checkpoint refused"
        );
        return plain(
            StatusCode::UNPROCESSABLE_ENTITY,
            "consistency proof does not verify\n",
        );
    }
    let stored = db.execute(
        "INSERT INTO cosigned (origin, size, root, note) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note",
        params![origin, cp.size as i64, &cp.root[..], req.checkpoint],
    );
    if let Err(e) = stored {
        tracing::error!(error = %e, "witness storage failure");
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "storage failure\n");
    }
    drop(db);
    let line = state.inner.key.note.cosign(&cp, now).to_line();
    tracing::info!(origin, size = cp.size, "cosigned");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        line,
    )
        .into_response()
}
