//! The simulated redo: every change a session commits or rolls back is a redo record
//! with an SCN and an XID, written into the current online log of thread 1; logs switch
//! when full (or on request), are archived in ARCHIVELOG mode, are overwritten after
//! three groups in NOARCHIVELOG mode, and archived logs can be purged. What LogMiner
//! needs to read them back is in [`crate::mining`]; open transactions of the workload
//! API are in [`crate::workload`].
//!
//! Choices where the simulation is simpler than Oracle (documented, tested):
//! - A target session's changes reach the redo inside its SQLite transaction, so they
//!   appear at its commit; the workload API writes each change at once, so its open
//!   transactions are visible (and interleave) as Oracle's are.
//! - Supplemental logging: with minimal logging on and all-column logging for the table
//!   (or the database), an UPDATE's undo part holds every column; otherwise only the
//!   changed ones. An INSERT's redo and a DELETE's undo hold the whole row.
//! - One redo thread; three online log groups.

use rusqlite::{params, Connection, OptionalExtension};

use crate::sql_err;
use db_boundary::{DbError, DbResult, RedoLog, RedoLogKind};

/// The redo tables (created with the store).
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS sim_redo (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    scn INTEGER NOT NULL,
    xid TEXT NOT NULL,
    op INTEGER NOT NULL,
    rollback INTEGER NOT NULL DEFAULT 0,
    applied INTEGER NOT NULL DEFAULT 0,
    obj INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL DEFAULT 0,
    rid INTEGER,
    ts TEXT NOT NULL,
    thread INTEGER NOT NULL,
    log_seq INTEGER NOT NULL,
    new_image BLOB,
    old_image BLOB,
    info TEXT);
CREATE INDEX IF NOT EXISTS sim_redo_log ON sim_redo (log_seq, scn);
CREATE INDEX IF NOT EXISTS sim_redo_obj ON sim_redo (obj, seq);
CREATE INDEX IF NOT EXISTS sim_redo_xid ON sim_redo (xid);
CREATE TABLE IF NOT EXISTS sim_logs (
    thread INTEGER NOT NULL,
    sequence INTEGER NOT NULL,
    first_scn INTEGER NOT NULL,
    next_scn INTEGER,
    bytes INTEGER NOT NULL DEFAULT 0,
    online INTEGER NOT NULL DEFAULT 1,
    archived INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    resetlogs INTEGER NOT NULL,
    PRIMARY KEY (thread, sequence, resetlogs));
CREATE TABLE IF NOT EXISTS sim_commits (
    xid TEXT PRIMARY KEY,
    scn INTEGER NOT NULL,
    start_scn INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sim_commits_scn ON sim_commits (scn);
CREATE TABLE IF NOT EXISTS sim_supplemental (
    owner TEXT NOT NULL,
    table_name TEXT NOT NULL,
    PRIMARY KEY (owner, table_name));
CREATE TABLE IF NOT EXISTS sim_transactions (
    xid TEXT PRIMARY KEY,
    start_scn INTEGER);
CREATE TABLE IF NOT EXISTS sim_pending (
    seq INTEGER PRIMARY KEY,
    xid TEXT NOT NULL,
    obj INTEGER NOT NULL,
    rid INTEGER NOT NULL,
    op INTEGER NOT NULL,
    key BLOB,
    row_image BLOB);
CREATE INDEX IF NOT EXISTS sim_pending_row ON sim_pending (obj, rid);
CREATE INDEX IF NOT EXISTS sim_pending_key ON sim_pending (obj, key);
CREATE INDEX IF NOT EXISTS sim_pending_xid ON sim_pending (xid, seq);
CREATE TABLE IF NOT EXISTS sim_savepoints (
    xid TEXT NOT NULL,
    name TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (xid, name));
";

/// Redo operation codes, as V$LOGMNR_CONTENTS.OPERATION_CODE numbers them.
pub(crate) mod op {
    pub const INSERT: i64 = 1;
    pub const DELETE: i64 = 2;
    pub const UPDATE: i64 = 3;
    pub const DDL: i64 = 5;
    pub const COMMIT: i64 = 7;
    pub const ROLLBACK: i64 = 36;
}

/// Online log groups of thread 1.
pub(crate) const ONLINE_GROUPS: u64 = 3;
/// Log size of a new store, in bytes of redo records.
const DEFAULT_LOG_BYTES: u64 = 1 << 20;

pub(crate) fn meta(conn: &Connection, key: &str) -> DbResult<Option<String>> {
    conn.query_row("SELECT value FROM sim_meta WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
    .map_err(sql_err)
}

pub(crate) fn set_meta(conn: &Connection, key: &str, value: &str) -> DbResult<()> {
    conn.execute(
        "INSERT INTO sim_meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
        params![key, value],
    )
    .map_err(sql_err)?;
    Ok(())
}

pub(crate) fn meta_u64(conn: &Connection, key: &str) -> DbResult<u64> {
    Ok(meta(conn, key)?.and_then(|v| v.parse().ok()).unwrap_or(0))
}

pub(crate) fn meta_flag(conn: &Connection, key: &str) -> DbResult<bool> {
    Ok(meta(conn, key)?.as_deref() == Some("YES"))
}

/// Creates the redo tables and, for a new store, its identity and first log, in one
/// write transaction: processes that open a new store at once (shard runs loading one
/// target) all succeed, and the first one's identity and log stand.
pub(crate) fn init(conn: &Connection) -> DbResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
    match init_in_transaction(conn) {
        Ok(()) => conn.execute_batch("COMMIT").map_err(sql_err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

fn init_in_transaction(conn: &Connection) -> DbResult<()> {
    conn.execute_batch(SCHEMA).map_err(sql_err)?;
    if meta(conn, "dbid")?.is_none() {
        // A DBID unique enough to tell two stores apart.
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
            ^ (u64::from(std::process::id()) << 32);
        let dbid = 1 + (seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 33);
        for (key, value) in [
            ("dbid", dbid.to_string()),
            ("resetlogs_change", "1".to_owned()),
            ("log_bytes", DEFAULT_LOG_BYTES.to_string()),
        ] {
            conn.execute(
                "INSERT OR IGNORE INTO sim_meta (key, value) VALUES (?1, ?2)",
                params![key, value],
            )
            .map_err(sql_err)?;
        }
    }
    let has_log: bool = conn
        .query_row("SELECT EXISTS (SELECT 1 FROM sim_logs)", [], |r| r.get(0))
        .map_err(sql_err)?;
    if !has_log {
        let scn = meta_u64(conn, "scn")?;
        let resetlogs = meta_u64(conn, "resetlogs_change")?;
        conn.execute(
            "INSERT OR IGNORE INTO sim_logs (thread, sequence, first_scn, resetlogs) \
             VALUES (1, 1, ?1, ?2)",
            params![scn + 1, resetlogs],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// Where redo is written, loaded when a write transaction begins and saved before it
/// commits (no other session writes meanwhile: SQLite holds the write lock).
#[derive(Debug, Clone)]
pub(crate) struct Cursor {
    /// The last SCN handed out.
    pub scn: u64,
    pub sequence: u64,
    pub bytes: u64,
    pub log_bytes: u64,
    pub archivelog: bool,
    pub resetlogs: u64,
}

impl Cursor {
    pub fn load(conn: &Connection) -> DbResult<Cursor> {
        let resetlogs = meta_u64(conn, "resetlogs_change")?;
        let (sequence, bytes): (u64, u64) = conn
            .query_row(
                "SELECT sequence, bytes FROM sim_logs WHERE thread = 1 AND next_scn IS NULL AND resetlogs = ?1",
                [resetlogs],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(sql_err)?;
        Ok(Cursor {
            scn: meta_u64(conn, "scn")?,
            sequence,
            bytes,
            log_bytes: meta_u64(conn, "log_bytes")?.max(1),
            archivelog: meta_flag(conn, "archivelog")?,
            resetlogs,
        })
    }

    pub fn save(&self, conn: &Connection) -> DbResult<()> {
        set_meta(conn, "scn", &self.scn.to_string())?;
        conn.execute(
            "UPDATE sim_logs SET bytes = ?1 WHERE thread = 1 AND sequence = ?2 AND resetlogs = ?3",
            params![self.bytes, self.sequence, self.resetlogs],
        )
        .map_err(sql_err)?;
        Ok(())
    }

    pub fn next_scn(&mut self) -> u64 {
        self.scn += 1;
        self.scn
    }

    /// Ends the current log at the next SCN and starts the next one: archived in
    /// ARCHIVELOG mode; the group reused after three switches (its redo lost unless
    /// archived).
    pub fn switch(&mut self, conn: &Connection) -> DbResult<()> {
        let next_scn = self.scn + 1;
        conn.execute(
            "UPDATE sim_logs SET next_scn = ?1, bytes = ?2, archived = ?3 \
             WHERE thread = 1 AND sequence = ?4 AND resetlogs = ?5",
            params![
                next_scn,
                self.bytes,
                self.archivelog,
                self.sequence,
                self.resetlogs
            ],
        )
        .map_err(sql_err)?;
        self.sequence += 1;
        self.bytes = 0;
        conn.execute(
            "INSERT INTO sim_logs (thread, sequence, first_scn, resetlogs) VALUES (1, ?1, ?2, ?3)",
            params![self.sequence, next_scn, self.resetlogs],
        )
        .map_err(sql_err)?;
        if self.sequence > ONLINE_GROUPS {
            let reused = self.sequence - ONLINE_GROUPS;
            conn.execute(
                "UPDATE sim_logs SET online = 0 WHERE thread = 1 AND sequence = ?1 AND resetlogs = ?2",
                params![reused, self.resetlogs],
            )
            .map_err(sql_err)?;
            drop_unreadable(conn, reused, self.resetlogs)?;
        }
        Ok(())
    }
}

/// Deletes the redo of a log no copy of which remains (neither online nor archived).
fn drop_unreadable(conn: &Connection, sequence: u64, resetlogs: u64) -> DbResult<()> {
    let gone: bool = conn
        .query_row(
            "SELECT online = 0 AND (archived = 0 OR deleted = 1) FROM sim_logs \
             WHERE thread = 1 AND sequence = ?1 AND resetlogs = ?2",
            params![sequence, resetlogs],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_err)?
        .unwrap_or(false);
    if gone {
        conn.execute(
            "DELETE FROM sim_redo WHERE thread = 1 AND log_seq = ?1",
            [sequence],
        )
        .map_err(sql_err)?;
    }
    Ok(())
}

/// A row image: `(column number, value bytes or NULL)` pairs, where the column number
/// is the stored column's physical number (stable across renames).
pub(crate) fn encode_image<'a>(values: impl Iterator<Item = (u16, Option<&'a [u8]>)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (column, value) in values {
        out.extend_from_slice(&column.to_le_bytes());
        match value {
            None => out.extend_from_slice(&u32::MAX.to_le_bytes()),
            Some(bytes) => {
                out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
                out.extend_from_slice(bytes);
            }
        }
    }
    out
}

/// One column of an image: its physical number and its stored bytes (NULL as `None`).
pub(crate) type ImageColumn<'a> = (u16, Option<&'a [u8]>);

/// The pairs of an image.
pub(crate) fn decode_image(image: &[u8]) -> DbResult<Vec<ImageColumn<'_>>> {
    let corrupt = || DbError::Database {
        code: None,
        message: "simulated backend storage: corrupt redo image".into(),
    };
    let mut out = Vec::new();
    let mut at = 0;
    while at < image.len() {
        let header = image.get(at..at + 6).ok_or_else(corrupt)?;
        let column = u16::from_le_bytes([header[0], header[1]]);
        let len = u32::from_le_bytes([header[2], header[3], header[4], header[5]]);
        at += 6;
        if len == u32::MAX {
            out.push((column, None));
        } else {
            let end = at + len as usize;
            out.push((column, Some(image.get(at..end).ok_or_else(corrupt)?)));
            at = end;
        }
    }
    Ok(out)
}

/// One redo record to write.
#[derive(Debug, Clone, Default)]
pub(crate) struct Record<'a> {
    pub op: i64,
    pub rollback: bool,
    /// Set on changes that are in the data now (a target session's, or a committed
    /// workload transaction's); flashback undoes only those.
    pub applied: bool,
    pub obj: u64,
    pub version: u64,
    pub rid: Option<i64>,
    pub new_image: Option<&'a [u8]>,
    pub old_image: Option<&'a [u8]>,
    pub info: Option<&'a str>,
}

/// Now, as the redo's timestamp (UTC, seconds).
pub(crate) fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string()
}

/// Appends `record` for `xid` at the next SCN, switching logs when the current one is
/// full. Returns the SCN.
pub(crate) fn append(
    conn: &Connection,
    cursor: &mut Cursor,
    xid: &str,
    record: &Record<'_>,
) -> DbResult<u64> {
    append_at(conn, cursor, xid, record).map(|(scn, _)| scn)
}

/// [`append`], also returning the record's place in the redo (its `seq`), read before a
/// log switch can insert another row.
pub(crate) fn append_at(
    conn: &Connection,
    cursor: &mut Cursor,
    xid: &str,
    record: &Record<'_>,
) -> DbResult<(u64, i64)> {
    let scn = cursor.next_scn();
    let size = 64
        + record.new_image.map_or(0, <[u8]>::len)
        + record.old_image.map_or(0, <[u8]>::len)
        + record.info.map_or(0, str::len);
    conn.prepare_cached(
        "INSERT INTO sim_redo (scn, xid, op, rollback, applied, obj, version, rid, ts, thread, log_seq, \
         new_image, old_image, info) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10, ?11, ?12, ?13)",
    )
    .map_err(sql_err)?
    .execute(params![
        scn,
        xid,
        record.op,
        record.rollback,
        record.applied,
        record.obj,
        record.version,
        record.rid,
        now_text(),
        cursor.sequence,
        record.new_image,
        record.old_image,
        record.info,
    ])
    .map_err(sql_err)?;
    let seq = conn.last_insert_rowid();
    cursor.bytes += size as u64;
    if cursor.bytes >= cursor.log_bytes {
        cursor.switch(conn)?;
    }
    Ok((scn, seq))
}

/// A new transaction id: 16 hex digits, like Oracle's 8-byte XID.
pub(crate) fn new_xid(conn: &Connection) -> DbResult<String> {
    let n = meta_u64(conn, "xid")? + 1;
    set_meta(conn, "xid", &n.to_string())?;
    Ok(format!(
        "{:04X}{:04X}{:08X}",
        (n >> 40) & 0xffff,
        (n >> 32) & 0xff,
        n & 0xffff_ffff
    ))
}

/// The file name a log copy goes by.
pub(crate) fn log_name(kind: RedoLogKind, sequence: u64, resetlogs: u64) -> String {
    match kind {
        RedoLogKind::Online => format!(
            "/sim/onlinelog/group_{}.log",
            (sequence - 1) % ONLINE_GROUPS + 1
        ),
        RedoLogKind::Archived => format!("/sim/archivelog/1_{sequence}_{resetlogs}.arc"),
    }
}

/// Online logs not yet archived, and archived logs (purged ones marked), of the
/// current incarnation, whose redo reaches past `from_scn`.
pub(crate) fn list_logs(conn: &Connection, from_scn: u64) -> DbResult<Vec<RedoLog>> {
    let resetlogs = meta_u64(conn, "resetlogs_change")?;
    let mut statement = conn
        .prepare(
            "SELECT sequence, first_scn, next_scn, bytes, online, archived, deleted FROM sim_logs \
             WHERE thread = 1 AND resetlogs = ?1 AND (next_scn IS NULL OR next_scn > ?2) ORDER BY sequence",
        )
        .map_err(sql_err)?;
    let rows = statement
        .query_map(params![resetlogs, from_scn], |r| {
            Ok((
                r.get::<_, u64>(0)?,
                r.get::<_, u64>(1)?,
                r.get::<_, Option<u64>>(2)?,
                r.get::<_, u64>(3)?,
                r.get::<_, bool>(4)?,
                r.get::<_, bool>(5)?,
                r.get::<_, bool>(6)?,
            ))
        })
        .map_err(sql_err)?;
    let mut logs = Vec::new();
    for row in rows {
        let (sequence, first_scn, next_scn, bytes, online, archived, deleted) =
            row.map_err(sql_err)?;
        let log = |kind, available: bool| RedoLog {
            thread: 1,
            sequence,
            first_scn,
            next_scn,
            name: available.then(|| log_name(kind, sequence, resetlogs)),
            bytes,
            kind,
            available,
        };
        if online && !archived {
            logs.push(log(RedoLogKind::Online, true));
        }
        if archived {
            logs.push(log(RedoLogKind::Archived, !deleted));
        }
    }
    Ok(logs)
}

/// Deletes the archived copies of the logs up to `through_sequence` (as RMAN would):
/// V$ARCHIVED_LOG keeps them listed as deleted. Returns how many were purged.
pub(crate) fn purge(conn: &Connection, through_sequence: u64) -> DbResult<u64> {
    let resetlogs = meta_u64(conn, "resetlogs_change")?;
    let sequences: Vec<u64> = conn
        .prepare(
            "SELECT sequence FROM sim_logs WHERE thread = 1 AND resetlogs = ?1 AND archived = 1 \
             AND deleted = 0 AND sequence <= ?2",
        )
        .map_err(sql_err)?
        .query_map(params![resetlogs, through_sequence], |r| r.get(0))
        .map_err(sql_err)?
        .collect::<Result<_, _>>()
        .map_err(sql_err)?;
    for sequence in &sequences {
        conn.execute(
            "UPDATE sim_logs SET deleted = 1 WHERE thread = 1 AND sequence = ?1 AND resetlogs = ?2",
            params![sequence, resetlogs],
        )
        .map_err(sql_err)?;
        drop_unreadable(conn, *sequence, resetlogs)?;
    }
    Ok(sequences.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_round_trip_with_nulls() {
        let image =
            encode_image([(0u16, Some(&b"ab"[..])), (3, None), (7, Some(&b""[..]))].into_iter());
        let back = decode_image(&image).unwrap();
        assert_eq!(
            back,
            [(0, Some(&b"ab"[..])), (3, None), (7, Some(&b""[..]))]
        );
        assert!(decode_image(&image[..image.len() - 1]).is_err());
    }

    #[test]
    fn xids_are_sixteen_hex_digits_and_unique() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE sim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);")
            .unwrap();
        let a = new_xid(&conn).unwrap();
        let b = new_xid(&conn).unwrap();
        assert_eq!(a.len(), 16);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
