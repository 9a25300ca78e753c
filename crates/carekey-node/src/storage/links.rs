//! The hosted SMART Health Links in SQLite (tables `links`, `link_files`, `link_tokens`, in
//! [`super::db`]'s schema): a link's keys, version, expiry, passcode verifier and attempts
//! left; its JWE files; the tokens of its `location` URLs. An ended link keeps a tombstone
//! row (its id, its link key, `ended`) so the id is never reused; its files and tokens are
//! deleted (`secure_delete` is on).

use rusqlite::{params, Connection, OptionalExtension as _};

use crate::error::StoreError;

/// A P-flag link's passcode verifier and what is left of its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkPasscode {
    /// The Argon2id salt (16 bytes) and hash (32 bytes) of the passcode.
    pub(crate) salt: [u8; 16],
    pub(crate) hash: [u8; 32],
    /// Wrong passcodes still allowed; at 0 the link is closed.
    pub(crate) attempts_left: u32,
}

/// A link that was registered and not ended.
#[derive(Debug, Clone)]
pub(crate) struct LinkRow {
    /// Its Ed25519 link key (signs registrations and the end; named by link-open events).
    pub(crate) link_key: [u8; 32],
    /// Its X25519 event key (link-open details are sealed to it).
    pub(crate) event_key: [u8; 32],
    pub(crate) version: u64,
    /// When it stops working (unix seconds), if it does.
    pub(crate) exp: Option<u64>,
    pub(crate) passcode: Option<LinkPasscode>,
}

impl LinkRow {
    /// Whether the link has expired at `now`.
    pub(crate) fn expired(&self, now: u64) -> bool {
        self.exp.is_some_and(|exp| now >= exp)
    }
}

/// What the node knows about a link id.
#[derive(Debug, Clone)]
pub(crate) enum LinkState {
    /// Registered, not ended (it may still have expired or run out of attempts).
    Live(LinkRow),
    /// Ended: the tombstone, with the key that registered it.
    Ended { link_key: [u8; 32] },
}

impl LinkState {
    /// The key that registered the link.
    pub(crate) fn link_key(&self) -> &[u8; 32] {
        match self {
            LinkState::Live(row) => &row.link_key,
            LinkState::Ended { link_key } => link_key,
        }
    }
}

/// One file of a link, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LinkFile {
    /// The media type of the decrypted file.
    pub(crate) content_type: String,
    /// The JWE compact serialization.
    pub(crate) jwe: String,
}

/// A token of a `location` URL handed out in a manifest: file `n`, until `expires_at`.
#[derive(Debug, Clone)]
pub(crate) struct FileToken {
    pub(crate) token: [u8; 32],
    pub(crate) n: u32,
    pub(crate) expires_at: u64,
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn array<const N: usize>(v: Vec<u8>, what: &'static str) -> Result<[u8; N], StoreError> {
    v.try_into().map_err(|_| StoreError::Corrupt(what))
}

/// The link with this id, live or ended; `None` if it was never registered.
pub(crate) fn link(conn: &Connection, id: &[u8; 32]) -> Result<Option<LinkState>, StoreError> {
    type Raw = (
        Vec<u8>,
        Option<Vec<u8>>,
        i64,
        Option<i64>,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Option<i64>,
        bool,
    );
    let raw: Option<Raw> = conn
        .prepare_cached(
            "SELECT link_key, event_key, version, exp, passcode_salt, passcode_hash,
                    attempts_left, ended
             FROM links WHERE link_id = ?1",
        )?
        .query_row([&id[..]], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .optional()?;
    let Some((link_key, event_key, version, exp, salt, hash, left, ended)) = raw else {
        return Ok(None);
    };
    let link_key = array(link_key, "a link key is not 32 bytes")?;
    if ended {
        return Ok(Some(LinkState::Ended { link_key }));
    }
    let event_key = array(
        event_key.ok_or(StoreError::Corrupt("a live link has no event key"))?,
        "an event key is not 32 bytes",
    )?;
    let passcode = match (salt, hash, left) {
        (None, None, None) => None,
        (Some(salt), Some(hash), Some(left)) => Some(LinkPasscode {
            salt: array(salt, "a passcode salt is not 16 bytes")?,
            hash: array(hash, "a passcode hash is not 32 bytes")?,
            attempts_left: u32::try_from(left)
                .map_err(|_| StoreError::Corrupt("attempts left out of range"))?,
        }),
        _ => return Err(StoreError::Corrupt("a link's passcode is incomplete")),
    };
    Ok(Some(LinkState::Live(LinkRow {
        link_key,
        event_key,
        version: to_u64(version),
        exp: exp.map(to_u64),
        passcode,
    })))
}

/// Link `id`'s files, in order.
pub(crate) fn link_files(conn: &Connection, id: &[u8; 32]) -> Result<Vec<LinkFile>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT content_type, jwe FROM link_files WHERE link_id = ?1 ORDER BY n")?;
    let rows = stmt.query_map([&id[..]], |r| {
        Ok(LinkFile {
            content_type: r.get(0)?,
            jwe: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Registers link `id` or replaces it (row and files; the tokens handed out for the files it
/// replaces are deleted).
pub(crate) fn put_link(
    conn: &Connection,
    id: &[u8; 32],
    row: &LinkRow,
    files: &[LinkFile],
) -> Result<(), StoreError> {
    let (salt, hash, left) = match &row.passcode {
        Some(p) => (
            Some(p.salt.to_vec()),
            Some(p.hash.to_vec()),
            Some(i64::from(p.attempts_left)),
        ),
        None => (None, None, None),
    };
    conn.prepare_cached(
        "INSERT OR REPLACE INTO links (link_id, link_key, event_key, version, exp,
                                       passcode_salt, passcode_hash, attempts_left, ended)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
    )?
    .execute(params![
        &id[..],
        &row.link_key[..],
        &row.event_key[..],
        to_i64(row.version),
        row.exp.map(to_i64),
        salt,
        hash,
        left,
    ])?;
    delete_files_and_tokens(conn, id)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO link_files (link_id, n, content_type, jwe) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (n, f) in files.iter().enumerate() {
        insert.execute(params![&id[..], n as i64, f.content_type, f.jwe])?;
    }
    Ok(())
}

fn delete_files_and_tokens(conn: &Connection, id: &[u8; 32]) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM link_files WHERE link_id = ?1")?
        .execute([&id[..]])?;
    conn.prepare_cached("DELETE FROM link_tokens WHERE link_id = ?1")?
        .execute([&id[..]])?;
    Ok(())
}

/// Ends link `id`: its files and tokens are deleted, its row becomes a tombstone (id, link
/// key, `ended`).
pub(crate) fn end_link(conn: &Connection, id: &[u8; 32]) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE links SET event_key = NULL, exp = NULL, passcode_salt = NULL,
                          passcode_hash = NULL, attempts_left = NULL, ended = 1
         WHERE link_id = ?1",
    )?
    .execute([&id[..]])?;
    delete_files_and_tokens(conn, id)
}

/// Sets what is left of link `id`'s passcode budget.
pub(crate) fn set_attempts_left(
    conn: &Connection,
    id: &[u8; 32],
    left: u32,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE links SET attempts_left = ?2 WHERE link_id = ?1")?
        .execute(params![&id[..], i64::from(left)])?;
    Ok(())
}

/// Keeps `tokens` for link `id`, and forgets its tokens expired at `now`.
pub(crate) fn insert_tokens(
    conn: &Connection,
    id: &[u8; 32],
    tokens: &[FileToken],
    now: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM link_tokens WHERE link_id = ?1 AND expires_at <= ?2")?
        .execute(params![&id[..], to_i64(now)])?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO link_tokens (token, link_id, n, expires_at) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for t in tokens {
        insert.execute(params![
            &t.token[..],
            &id[..],
            i64::from(t.n),
            to_i64(t.expires_at)
        ])?;
    }
    Ok(())
}

/// File `n` of link `id`, if `token` was handed out for it, lives at `now`, and the link is
/// not ended.
pub(crate) fn file_by_token(
    conn: &Connection,
    id: &[u8; 32],
    n: u32,
    token: &[u8; 32],
    now: u64,
) -> Result<Option<LinkFile>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT f.content_type, f.jwe
             FROM link_tokens t
             JOIN link_files f ON f.link_id = t.link_id AND f.n = t.n
             JOIN links l ON l.link_id = t.link_id
             WHERE t.token = ?1 AND t.link_id = ?2 AND t.n = ?3 AND t.expires_at > ?4
               AND l.ended = 0",
        )?
        .query_row(
            params![&token[..], &id[..], i64::from(n), to_i64(now)],
            |r| {
                Ok(LinkFile {
                    content_type: r.get(0)?,
                    jwe: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// Deletes the tokens expired at `now` and the files of links expired at `now` (their rows
/// stay: a later request is still answered `404` as expired, and the id is never reused).
/// Returns how many links' files it deleted.
pub(crate) fn sweep_links(conn: &Connection, now: u64) -> Result<usize, StoreError> {
    conn.prepare_cached("DELETE FROM link_tokens WHERE expires_at <= ?1")?
        .execute([to_i64(now)])?;
    let links: Vec<Vec<u8>> = conn
        .prepare_cached(
            "SELECT DISTINCT l.link_id FROM links l JOIN link_files f ON f.link_id = l.link_id
             WHERE l.exp IS NOT NULL AND l.exp <= ?1",
        )?
        .query_map([to_i64(now)], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut delete = conn.prepare_cached("DELETE FROM link_files WHERE link_id = ?1")?;
    for id in &links {
        delete.execute([id])?;
    }
    Ok(links.len())
}
