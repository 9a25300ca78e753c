//! The node's SQLite database (`<data>/node.sqlite3`): entries and leaf hashes, grants,
//! bindings, revocations, erasures, used nonces, deleted bundles, the signed checkpoint
//! history, a little metadata, and the hosted SMART Health Links (their files and file
//! tokens; off-log and deletable, like bundles). It is the source of truth: every file under
//! the data directory but the off-log bundles and shares is a function of it.
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: a commit is on disk when it returns.

use std::path::Path;

use carekey_ledger::Hash;
use rusqlite::{params, Connection, OptionalExtension as _};

use crate::error::StoreError;
use crate::storage::Durability;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    idx   INTEGER PRIMARY KEY,
    leaf  BLOB NOT NULL UNIQUE,
    entry BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS grants (
    grant_id     BLOB PRIMARY KEY,
    grant_key    BLOB NOT NULL UNIQUE,
    grant_doc    BLOB NOT NULL,
    binding      BLOB NOT NULL,
    salt         BLOB NOT NULL,
    commit_index INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS revocations (
    grant_key BLOB PRIMARY KEY,
    idx       INTEGER NOT NULL,
    ends_at   INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS erasures (
    idx         INTEGER PRIMARY KEY,
    erasure_key BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS erasures_by_key ON erasures (erasure_key);
CREATE TABLE IF NOT EXISTS deleted_bundles (
    grant_id BLOB PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS nonces (
    grant_id BLOB NOT NULL,
    nonce    BLOB NOT NULL,
    PRIMARY KEY (grant_id, nonce)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root BLOB NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS links (
    link_id       BLOB PRIMARY KEY,
    link_key      BLOB NOT NULL,
    event_key     BLOB,
    version       INTEGER NOT NULL,
    exp           INTEGER,
    passcode_salt BLOB,
    passcode_hash BLOB,
    attempts_left INTEGER,
    ended         INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS link_files (
    link_id      BLOB NOT NULL,
    n            INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    jwe          TEXT NOT NULL,
    PRIMARY KEY (link_id, n)
);
CREATE TABLE IF NOT EXISTS link_tokens (
    token      BLOB PRIMARY KEY,
    link_id    BLOB NOT NULL,
    n          INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS link_tokens_by_link ON link_tokens (link_id);
";

/// The `meta` key holding the boot id under which every tile file was last known durable.
pub(crate) const TILES_SYNCED_BOOT: &str = "tiles_synced_boot";

/// A grant accepted with its GrantCommitment, as the node keeps it off-log.
#[derive(Debug, Clone)]
pub(crate) struct GrantRow {
    pub(crate) grant_id: [u8; 16],
    pub(crate) grant_key: [u8; 32],
    pub(crate) grant_doc: Vec<u8>,
    pub(crate) binding: Vec<u8>,
    pub(crate) salt: [u8; 32],
}

/// What the node knows about one grant when it serves a fetch.
#[derive(Debug, Clone)]
pub(crate) struct GrantState {
    pub(crate) row: GrantRow,
    /// When the grant's revocation takes effect: 0 for at once, a later time for a shortened
    /// grant; `None` when it was never revoked.
    pub(crate) revoked_from: Option<u64>,
    pub(crate) erased: bool,
}

impl GrantState {
    /// Whether the grant is revoked at `now`.
    pub(crate) fn revoked(&self, now: u64) -> bool {
        self.revoked_from.is_some_and(|t| t <= now)
    }
}

/// What the fetch handler needs to know about a grant's state on every request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FetchState {
    /// As [`GrantState::revoked_from`].
    pub(crate) revoked_from: Option<u64>,
    pub(crate) erased: bool,
    pub(crate) nonce_used: bool,
}

/// Opens the node's SQLite database with the pragmas the durability level asks for.
pub(crate) fn open_db(data: &Path, durability: Durability) -> Result<Connection, StoreError> {
    let conn = Connection::open(data.join("node.sqlite3"))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::None => "OFF",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    // Deleted off-log data is overwritten, not just unlinked from the b-tree.
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.execute_batch(SCHEMA)?;
    migrate(&conn)?;
    Ok(conn)
}

/// Brings a database written by an earlier version up to [`SCHEMA`].
fn migrate(conn: &Connection) -> Result<(), StoreError> {
    // Before shortened grants, every revocation took effect at once (0).
    let has_ends_at = conn
        .prepare("SELECT 1 FROM pragma_table_info('revocations') WHERE name = 'ends_at'")?
        .exists([])?;
    if !has_ends_at {
        conn.execute_batch(
            "ALTER TABLE revocations ADD COLUMN ends_at INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    Ok(())
}

/// Every leaf hash, in index order (the node's tree is rebuilt from these on start).
pub(crate) fn load_leaves(conn: &Connection) -> Result<Vec<Hash>, StoreError> {
    let mut stmt = conn.prepare("SELECT idx, leaf FROM entries ORDER BY idx")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let idx: i64 = row.get(0)?;
        if idx != out.len() as i64 {
            return Err(StoreError::Corrupt("entry indexes are not contiguous"));
        }
        out.push(blob32(row.get(1)?)?);
    }
    Ok(out)
}

/// The index of the entry with this leaf hash, if the log has it.
pub(crate) fn entry_index(conn: &Connection, leaf: &Hash) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT idx FROM entries WHERE leaf = ?1",
            [&leaf[..]],
            |r| r.get::<_, i64>(0),
        )
        .optional()?
        .map(|i| i as u64))
}

/// Entries `[start, end)`, in order.
pub(crate) fn entries_range(
    conn: &Connection,
    start: u64,
    end: u64,
) -> Result<Vec<Vec<u8>>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT entry FROM entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx")?;
    let rows = stmt.query_map(params![start as i64, end as i64], |r| {
        r.get::<_, Vec<u8>>(0)
    })?;
    let out = rows.collect::<Result<Vec<_>, _>>()?;
    if out.len() as u64 != end - start {
        return Err(StoreError::Corrupt("entries missing from the database"));
    }
    Ok(out)
}

pub(crate) fn insert_entry(
    conn: &Connection,
    index: u64,
    leaf: &Hash,
    entry: &[u8],
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO entries (idx, leaf, entry) VALUES (?1, ?2, ?3)")?
        .execute(params![index as i64, &leaf[..], entry])?;
    Ok(())
}

pub(crate) fn grant_by_id(
    conn: &Connection,
    id: &[u8; 16],
) -> Result<Option<GrantState>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT g.grant_id, g.grant_key, g.grant_doc, g.binding, g.salt,
                    (SELECT r.ends_at FROM revocations r WHERE r.grant_key = g.grant_key),
                    EXISTS (SELECT 1 FROM erasures e WHERE e.erasure_key = g.grant_key)
                    OR EXISTS (SELECT 1 FROM deleted_bundles d WHERE d.grant_id = g.grant_id)
             FROM grants g WHERE g.grant_id = ?1",
        )?
        .query_row([&id[..]], |r| {
            Ok((
                r.get::<_, Vec<u8>>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, Option<i64>>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })
        .optional()?;
    let Some((gid, key, doc, binding, salt, revoked_from, erased)) = row else {
        return Ok(None);
    };
    let grant_id: [u8; 16] = gid
        .try_into()
        .map_err(|_| StoreError::Corrupt("grant id is not 16 bytes"))?;
    Ok(Some(GrantState {
        row: GrantRow {
            grant_id,
            grant_key: blob32(key)?,
            grant_doc: doc,
            binding,
            salt: blob32(salt)?,
        },
        revoked_from: revoked_from.map(|t| t.max(0) as u64),
        erased,
    }))
}

/// A grant's revocation and erasure state and whether `nonce` was used for it, in one query;
/// `None` if no grant has this id.
pub(crate) fn fetch_state(
    conn: &Connection,
    id: &[u8; 16],
    nonce: &[u8; 16],
) -> Result<Option<FetchState>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT r.ends_at FROM revocations r WHERE r.grant_key = g.grant_key),
                    EXISTS (SELECT 1 FROM erasures e WHERE e.erasure_key = g.grant_key)
                    OR EXISTS (SELECT 1 FROM deleted_bundles d WHERE d.grant_id = g.grant_id),
                    EXISTS (SELECT 1 FROM nonces n WHERE n.grant_id = g.grant_id AND n.nonce = ?2)
             FROM grants g WHERE g.grant_id = ?1",
        )?
        .query_row(params![&id[..], &nonce[..]], |r| {
            Ok(FetchState {
                revoked_from: r.get::<_, Option<i64>>(0)?.map(|t| t.max(0) as u64),
                erased: r.get(1)?,
                nonce_used: r.get(2)?,
            })
        })
        .optional()?)
}

pub(crate) fn grant_key_known(conn: &Connection, key: &[u8; 32]) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM grants WHERE grant_key = ?1")?
        .exists([&key[..]])?)
}

pub(crate) fn grant_id_known(conn: &Connection, id: &[u8; 16]) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM grants WHERE grant_id = ?1")?
        .exists([&id[..]])?)
}

pub(crate) fn insert_grant(conn: &Connection, g: &GrantRow, index: u64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO grants (grant_id, grant_key, grant_doc, binding, salt, commit_index)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        &g.grant_id[..],
        &g.grant_key[..],
        g.grant_doc,
        g.binding,
        &g.salt[..],
        index as i64
    ])?;
    Ok(())
}

/// When the grant with this key is revoked from (0: at once), if it was revoked.
pub(crate) fn revoked_from(conn: &Connection, key: &[u8; 32]) -> Result<Option<u64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT ends_at FROM revocations WHERE grant_key = ?1")?
        .query_row([&key[..]], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|t| t.max(0) as u64))
}

/// Records the revocation at `index`, effective from `ends_at` (0: at once); replaces an
/// earlier, later-ending one (a shortened grant ended sooner).
pub(crate) fn insert_revocation(
    conn: &Connection,
    key: &[u8; 32],
    index: u64,
    ends_at: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO revocations (grant_key, idx, ends_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (grant_key) DO UPDATE SET idx = excluded.idx, ends_at = excluded.ends_at",
    )?
    .execute(params![
        &key[..],
        index as i64,
        ends_at.min(i64::MAX as u64) as i64
    ])?;
    Ok(())
}

pub(crate) fn insert_erasure(
    conn: &Connection,
    key: &[u8; 32],
    index: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO erasures (idx, erasure_key) VALUES (?1, ?2)")?
        .execute(params![index as i64, &key[..]])?;
    Ok(())
}

pub(crate) fn grant_id_for_key(
    conn: &Connection,
    key: &[u8; 32],
) -> Result<Option<[u8; 16]>, StoreError> {
    let id = conn
        .prepare_cached("SELECT grant_id FROM grants WHERE grant_key = ?1")?
        .query_row([&key[..]], |r| r.get::<_, Vec<u8>>(0))
        .optional()?;
    id.map(|v| {
        v.try_into()
            .map_err(|_| StoreError::Corrupt("grant id is not 16 bytes"))
    })
    .transpose()
}

pub(crate) fn mark_bundle_deleted(conn: &Connection, id: &[u8; 16]) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR IGNORE INTO deleted_bundles (grant_id) VALUES (?1)")?
        .execute([&id[..]])?;
    Ok(())
}

/// Records a nonce for a grant; `false` if it was already used.
pub(crate) fn use_nonce(
    conn: &Connection,
    id: &[u8; 16],
    nonce: &[u8; 16],
) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("INSERT OR IGNORE INTO nonces (grant_id, nonce) VALUES (?1, ?2)")?
        .execute(params![&id[..], &nonce[..]])?;
    Ok(n == 1)
}

/// A value of the `meta` table.
pub(crate) fn meta(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
        .query_row([key], |r| r.get::<_, String>(0))
        .optional()?)
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")?
        .execute(params![key, value])?;
    Ok(())
}

/// This boot of the machine (Linux `/proc/sys/kernel/random/boot_id`): while it is unchanged,
/// the kernel's page cache holds every file write that returned, whether or not it was
/// fsynced. `None` where there is no such file (then the node treats every start as a reboot).
pub(crate) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Keeps every signed checkpoint (history for operators and auditors).
pub(crate) fn record_checkpoint(
    conn: &Connection,
    size: u64,
    root: &Hash,
    note: &str,
) -> Result<(), StoreError> {
    let existing: Option<Vec<u8>> = conn
        .prepare_cached("SELECT root FROM checkpoints WHERE size = ?1")?
        .query_row([size as i64], |r| r.get(0))
        .optional()?;
    match existing {
        Some(r) if r.as_slice() != root => Err(StoreError::Equivocation { size }),
        Some(_) => {
            conn.prepare_cached("UPDATE checkpoints SET note = ?2 WHERE size = ?1")?
                .execute(params![size as i64, note])?;
            Ok(())
        }
        None => {
            conn.prepare_cached("INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)")?
                .execute(params![size as i64, &root[..], note])?;
            Ok(())
        }
    }
}

fn blob32(v: Vec<u8>) -> Result<[u8; 32], StoreError> {
    v.try_into()
        .map_err(|_| StoreError::Corrupt("a stored hash or key is not 32 bytes"))
}
