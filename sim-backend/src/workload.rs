//! Transactions that interleave and stay open: the workload side of the simulated redo.
//!
//! A target session holds SQLite's write lock for its whole transaction, so two of them
//! never interleave. A [`SimTransaction`] instead writes each change to the redo at once
//! (its own short SQLite transaction) and applies its changes to the tables only at
//! COMMIT, so several can be open together, other sessions read only committed rows, and
//! the redo shows them interleaved, as Oracle's does. It is identified by its XID and
//! survives its process (a session that stays connected): [`SimBackend::resume_transaction`]
//! continues it, `sim-admin` can commit or roll it back.
//!
//! Rules as Oracle enforces them: a row changed by an open transaction is locked (another
//! transaction or a target session touching it gets ORA-00054, as a NOWAIT statement
//! would, instead of waiting); a duplicate key is ORA-00001; DDL on a table with open
//! changes is ORA-00054. Changes are by primary key; a key column cannot be updated.

use rusqlite::{params, Connection, OptionalExtension};

use crate::redo::{self, op, Cursor, Record};
use crate::rules::{coerce, Target};
use crate::session_redo::{all_columns_logged, column_number, object_id, undo_of};
use crate::store::StoredTable;
use crate::{codec, sql_err, SimBackend, SimSession};
use db_boundary::{DbError, DbResult, Value};
use singer_core::oracle_type::OracleType;

/// Whether an open workload transaction has changes to object `obj`.
pub(crate) fn has_pending(conn: &Connection, obj: u64) -> DbResult<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sim_pending WHERE obj = ?1)",
        [obj],
        |r| r.get(0),
    )
    .map_err(sql_err)
}

/// An open transaction of the workload API (see the module doc).
pub struct SimTransaction {
    session: SimSession,
    xid: String,
}

impl SimBackend {
    /// Starts a transaction; it gets its XID now and its start SCN at its first change.
    pub fn begin_transaction(&self) -> DbResult<SimTransaction> {
        let session = self.session()?;
        let xid = write(&session.conn, |conn, _| {
            let xid = redo::new_xid(conn)?;
            conn.execute("INSERT INTO sim_transactions (xid) VALUES (?1)", [&xid])
                .map_err(sql_err)?;
            Ok(xid)
        })?;
        Ok(SimTransaction { session, xid })
    }

    /// Continues an open transaction (possibly begun by another process).
    pub fn resume_transaction(&self, xid: &str) -> DbResult<SimTransaction> {
        let session = self.session()?;
        let open: bool = session
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sim_transactions WHERE xid = ?1)",
                [xid],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        if !open {
            return Err(DbError::ora(
                24756,
                format!("transaction {xid} does not exist (it is not open)"),
            ));
        }
        Ok(SimTransaction {
            session,
            xid: xid.to_owned(),
        })
    }

    /// The XIDs of the open transactions (V$TRANSACTION).
    pub fn open_transactions(&self) -> DbResult<Vec<String>> {
        let session = self.session()?;
        let mut statement = session
            .conn
            .prepare("SELECT xid FROM sim_transactions ORDER BY xid")
            .map_err(sql_err)?;
        let xids = statement
            .query_map([], |r| r.get(0))
            .map_err(sql_err)?
            .collect::<Result<Vec<String>, _>>()
            .map_err(sql_err)?;
        Ok(xids)
    }
}

/// Runs `f` in one short write transaction with the redo cursor, saving it after.
fn write<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection, &mut Cursor) -> DbResult<T>,
) -> DbResult<T> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
    let result = (|| {
        let mut cursor = Cursor::load(conn)?;
        let value = f(conn, &mut cursor)?;
        cursor.save(conn)?;
        Ok(value)
    })();
    match result {
        Ok(value) => {
            conn.execute_batch("COMMIT").map_err(sql_err)?;
            Ok(value)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// A change to undo: redo seq, op, object, version, ROWID, new and old images.
type UndoSource = (
    i64,
    i64,
    u64,
    u64,
    Option<i64>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);
/// A change to apply at commit: redo seq, object, ROWID, op, full row image.
type PendingChange = (i64, u64, i64, i64, Option<Vec<u8>>);

/// A row as this transaction sees it: its ROWID and every column's stored bytes.
struct Found {
    rid: i64,
    row: Vec<Option<Vec<u8>>>,
}

impl SimTransaction {
    pub fn xid(&self) -> &str {
        &self.xid
    }

    fn stored(&self, owner: &str, table: &str) -> DbResult<StoredTable> {
        self.session.stored(owner, table)
    }

    fn key_image(stored: &StoredTable, key: &[Value]) -> DbResult<Vec<u8>> {
        let names = stored.primary_key();
        if names.is_empty() || names.len() != key.len() {
            return Err(DbError::Unsupported(format!(
                "workload changes go by the primary key of \"{}\".\"{}\" ({} columns)",
                stored.table.owner,
                stored.table.table_name,
                names.len()
            )));
        }
        let mut pairs = Vec::with_capacity(key.len());
        for (name, value) in names.iter().zip(key) {
            let column = stored.column(name).expect("key columns exist");
            let target = Target {
                owner: &stored.table.owner,
                table: &stored.table.table_name,
                column: name,
            };
            let value = coerce(
                value.clone(),
                &OracleType::from_column(&column.row),
                &target,
            )?;
            pairs.push((column_number(&column.physical), codec::encode(&value)));
        }
        Ok(redo::encode_image(
            pairs.iter().map(|(n, v)| (*n, v.as_deref())),
        ))
    }

    /// The row with `key` as this transaction sees it, after checking no other open
    /// transaction holds it.
    fn find(&self, conn: &Connection, stored: &StoredTable, key: &[u8]) -> DbResult<Option<Found>> {
        let obj = object_id(&stored.physical);
        let pending: Option<(String, i64, i64, Option<Vec<u8>>)> = conn
            .query_row(
                "SELECT xid, rid, op, row_image FROM sim_pending WHERE obj = ?1 AND key = ?2 \
                 ORDER BY seq DESC LIMIT 1",
                params![obj, key],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(sql_err)?;
        if let Some((xid, rid, change, image)) = pending {
            if xid != self.xid {
                return Err(busy(stored));
            }
            if change == op::DELETE {
                return Ok(None);
            }
            let image = image.unwrap_or_default();
            return Ok(Some(Found {
                rid,
                row: row_from_image(stored, &image)?,
            }));
        }
        let physical: Vec<&str> = stored.columns.iter().map(|c| c.physical.as_str()).collect();
        let keys = stored.primary_key();
        let key_pairs = redo::decode_image(key)?;
        let mut conditions = Vec::new();
        let mut binds: Vec<Option<Vec<u8>>> = Vec::new();
        for (name, (_, bytes)) in keys.iter().zip(key_pairs) {
            let (left, right) = stored
                .column(name)
                .expect("key columns exist")
                .compared("?");
            conditions.push(format!("{left} = {right}"));
            binds.push(bytes.map(<[u8]>::to_vec));
        }
        let sql = format!(
            "SELECT rid, {} FROM {} WHERE {}",
            physical.join(", "),
            stored.physical,
            conditions.join(" AND ")
        );
        conn.query_row(&sql, rusqlite::params_from_iter(binds.iter()), |r| {
            crate::session_redo::stored_row(r, physical.len())
        })
        .optional()
        .map_err(sql_err)
        .map(|found| found.map(|(rid, row)| Found { rid, row }))
    }

    /// Inserts one row (`columns` and `row` in the same order).
    pub fn insert(
        &mut self,
        owner: &str,
        table: &str,
        columns: &[&str],
        row: Vec<Value>,
    ) -> DbResult<()> {
        let stored = self.stored(owner, table)?;
        let names: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        let positions = SimSession::positions(&stored, &names)?;
        let encoded = SimSession::prepare_row(&stored, &positions, &row)?;
        let keys = stored.primary_key();
        let key_values: Vec<Value> = keys
            .iter()
            .map(|k| {
                names
                    .iter()
                    .position(|c| c == k)
                    .map(|i| row[i].clone())
                    .unwrap_or(Value::Null)
            })
            .collect();
        let key = Self::key_image(&stored, &key_values)?;
        let numbers: Vec<u16> = stored
            .columns
            .iter()
            .map(|c| column_number(&c.physical))
            .collect();
        let image = redo::encode_image(
            numbers
                .iter()
                .copied()
                .zip(encoded.iter().map(Option::as_deref)),
        );
        let conn = &self.session.conn;
        write(conn, |conn, cursor| {
            if self.find(conn, &stored, &key)?.is_some() {
                return Err(DbError::ora(
                    1,
                    format!("unique constraint (\"{owner}\".\"SIM_PK_{table}\") violated"),
                ));
            }
            let rid = allocate_rid(conn, &stored)?;
            self.change(
                conn,
                cursor,
                &stored,
                rid,
                op::INSERT,
                &key,
                Some(&image),
                None,
                Some(&image),
            )
        })
    }

    /// Sets `columns` to `values` in the row with primary key `key`; false when there
    /// is no such row.
    pub fn update(
        &mut self,
        owner: &str,
        table: &str,
        key: &[Value],
        columns: &[&str],
        values: Vec<Value>,
    ) -> DbResult<bool> {
        let stored = self.stored(owner, table)?;
        let keys = stored.primary_key();
        if let Some(k) = columns.iter().find(|c| keys.iter().any(|k| k == *c)) {
            return Err(DbError::Unsupported(format!(
                "the workload API does not update key column \"{k}\""
            )));
        }
        let names: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        let positions = SimSession::positions(&stored, &names)?;
        let mut set = Vec::with_capacity(values.len());
        for (&p, value) in positions.iter().zip(values) {
            let column = &stored.columns[p];
            let target = Target {
                owner,
                table,
                column: &column.row.column_name,
            };
            let value = coerce(value, &OracleType::from_column(&column.row), &target)?;
            if value.is_null() && !column.row.is_nullable() {
                return Err(DbError::ora(
                    1407,
                    format!(
                        "cannot update (\"{owner}\".\"{table}\".\"{}\") to NULL",
                        column.row.column_name
                    ),
                ));
            }
            set.push((p, codec::encode(&value)));
        }
        let key = Self::key_image(&stored, key)?;
        let numbers: Vec<u16> = stored
            .columns
            .iter()
            .map(|c| column_number(&c.physical))
            .collect();
        let conn = &self.session.conn;
        write(conn, |conn, cursor| {
            let Some(found) = self.find(conn, &stored, &key)? else {
                return Ok(false);
            };
            let mut row = found.row.clone();
            for (p, bytes) in &set {
                row[*p].clone_from(bytes);
            }
            let changed: Vec<usize> = set.iter().map(|(p, _)| *p).collect();
            let all = all_columns_logged(conn, owner, table)?;
            let new_image =
                redo::encode_image(changed.iter().map(|&p| (numbers[p], row[p].as_deref())));
            let old_image = redo::encode_image(
                (0..numbers.len())
                    .filter(|p| all || changed.contains(p))
                    .map(|p| (numbers[p], found.row[p].as_deref())),
            );
            let full = redo::encode_image(
                numbers
                    .iter()
                    .copied()
                    .zip(row.iter().map(Option::as_deref)),
            );
            self.change(
                conn,
                cursor,
                &stored,
                found.rid,
                op::UPDATE,
                &key,
                Some(&new_image),
                Some(&old_image),
                Some(&full),
            )?;
            Ok(true)
        })
    }

    /// Deletes the row with primary key `key`; false when there is no such row.
    pub fn delete(&mut self, owner: &str, table: &str, key: &[Value]) -> DbResult<bool> {
        let stored = self.stored(owner, table)?;
        let key = Self::key_image(&stored, key)?;
        let numbers: Vec<u16> = stored
            .columns
            .iter()
            .map(|c| column_number(&c.physical))
            .collect();
        let conn = &self.session.conn;
        write(conn, |conn, cursor| {
            let Some(found) = self.find(conn, &stored, &key)? else {
                return Ok(false);
            };
            let old_image = redo::encode_image(
                numbers
                    .iter()
                    .copied()
                    .zip(found.row.iter().map(Option::as_deref)),
            );
            self.change(
                conn,
                cursor,
                &stored,
                found.rid,
                op::DELETE,
                &key,
                None,
                Some(&old_image),
                None,
            )?;
            Ok(true)
        })
    }

    /// Writes one change's redo and remembers it until commit.
    #[allow(clippy::too_many_arguments)]
    fn change(
        &self,
        conn: &Connection,
        cursor: &mut Cursor,
        stored: &StoredTable,
        rid: i64,
        change: i64,
        key: &[u8],
        new_image: Option<&[u8]>,
        old_image: Option<&[u8]>,
        row_image: Option<&[u8]>,
    ) -> DbResult<()> {
        let obj = object_id(&stored.physical);
        let (scn, seq) = redo::append_at(
            conn,
            cursor,
            &self.xid,
            &Record {
                op: change,
                obj,
                version: stored.version,
                rid: Some(rid),
                new_image,
                old_image,
                ..Record::default()
            },
        )?;
        conn.execute(
            "INSERT INTO sim_pending (seq, xid, obj, rid, op, key, row_image) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![seq, self.xid, obj, rid, change, key, row_image],
        )
        .map_err(sql_err)?;
        conn.execute(
            "UPDATE sim_transactions SET start_scn = ?2 WHERE xid = ?1 AND start_scn IS NULL",
            params![self.xid, scn],
        )
        .map_err(sql_err)?;
        Ok(())
    }

    /// Marks a savepoint (replacing one of the same name).
    pub fn savepoint(&mut self, name: &str) -> DbResult<()> {
        write(&self.session.conn, |conn, _| {
            conn.execute(
                "INSERT OR REPLACE INTO sim_savepoints (xid, name, seq) VALUES (?1, ?2, \
                 (SELECT COALESCE(MAX(seq), 0) FROM sim_pending WHERE xid = ?1))",
                params![self.xid, name],
            )
            .map_err(sql_err)?;
            Ok(())
        })
    }

    /// Undoes every change after savepoint `name` (ORA-01086 when there is none).
    pub fn rollback_to(&mut self, name: &str) -> DbResult<()> {
        write(&self.session.conn, |conn, cursor| {
            let at: Option<i64> = conn
                .query_row(
                    "SELECT seq FROM sim_savepoints WHERE xid = ?1 AND name = ?2",
                    params![self.xid, name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?;
            let at = at.ok_or_else(|| {
                DbError::ora(
                    1086,
                    format!("savepoint '{name}' never established in this session"),
                )
            })?;
            self.undo_after(conn, cursor, at)?;
            conn.execute(
                "DELETE FROM sim_savepoints WHERE xid = ?1 AND seq > ?2",
                params![self.xid, at],
            )
            .map_err(sql_err)?;
            Ok(())
        })
    }

    /// Writes the undo (flagged ROLLBACK) of every change after `seq`, newest first, and
    /// forgets them.
    fn undo_after(&self, conn: &Connection, cursor: &mut Cursor, seq: i64) -> DbResult<()> {
        let changes: Vec<UndoSource> = conn
            .prepare(
                "SELECT r.seq, r.op, r.obj, r.version, r.rid, r.new_image, r.old_image FROM sim_pending p \
                 JOIN sim_redo r ON r.seq = p.seq WHERE p.xid = ?1 AND p.seq > ?2 ORDER BY p.seq DESC",
            )
            .map_err(sql_err)?
            .query_map(params![self.xid, seq], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
            })
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        for (_, change, obj, version, rid, new_image, old_image) in &changes {
            let original = Record {
                op: *change,
                obj: *obj,
                version: *version,
                rid: *rid,
                new_image: new_image.as_deref(),
                old_image: old_image.as_deref(),
                ..Record::default()
            };
            redo::append(conn, cursor, &self.xid, &undo_of(&original))?;
        }
        conn.execute(
            "DELETE FROM sim_pending WHERE xid = ?1 AND seq > ?2",
            params![self.xid, seq],
        )
        .map_err(sql_err)?;
        Ok(())
    }

    /// Applies the changes to the tables and writes the COMMIT; returns its SCN.
    pub fn commit(self) -> DbResult<u64> {
        write(&self.session.conn, |conn, cursor| {
            let start: Option<u64> = conn
                .query_row(
                    "SELECT start_scn FROM sim_transactions WHERE xid = ?1",
                    [&self.xid],
                    |r| r.get(0),
                )
                .optional()
                .map_err(sql_err)?
                .flatten();
            let pending: Vec<PendingChange> = conn
                .prepare("SELECT seq, obj, rid, op, row_image FROM sim_pending WHERE xid = ?1 ORDER BY seq")
                .map_err(sql_err)?
                .query_map([&self.xid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
                .map_err(sql_err)?
                .collect::<Result<_, _>>()
                .map_err(sql_err)?;
            for (seq, obj, rid, change, image) in &pending {
                apply(conn, *obj, *rid, *change, image.as_deref())?;
                conn.execute("UPDATE sim_redo SET applied = 1 WHERE seq = ?1", [seq])
                    .map_err(sql_err)?;
            }
            let scn = match start {
                Some(start) => {
                    let scn = redo::append(
                        conn,
                        cursor,
                        &self.xid,
                        &Record {
                            op: op::COMMIT,
                            ..Record::default()
                        },
                    )?;
                    conn.execute(
                        "INSERT INTO sim_commits (xid, scn, start_scn) VALUES (?1, ?2, ?3)",
                        params![self.xid, scn, start],
                    )
                    .map_err(sql_err)?;
                    scn
                }
                None => cursor.scn,
            };
            forget(conn, &self.xid)?;
            Ok(scn)
        })
    }

    /// Undoes every change (their undo flagged ROLLBACK, then a ROLLBACK record).
    pub fn rollback(self) -> DbResult<()> {
        write(&self.session.conn, |conn, cursor| {
            let any: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sim_redo WHERE xid = ?1)",
                    [&self.xid],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            self.undo_after(conn, cursor, 0)?;
            if any {
                redo::append(
                    conn,
                    cursor,
                    &self.xid,
                    &Record {
                        op: op::ROLLBACK,
                        ..Record::default()
                    },
                )?;
            }
            forget(conn, &self.xid)
        })
    }
}

fn busy(stored: &StoredTable) -> DbError {
    DbError::ora(
        54,
        format!(
            "resource busy and acquire with NOWAIT specified: a row of \"{}\".\"{}\" is locked by another open transaction",
            stored.table.owner, stored.table.table_name
        ),
    )
}

fn forget(conn: &Connection, xid: &str) -> DbResult<()> {
    for table in ["sim_pending", "sim_savepoints", "sim_transactions"] {
        conn.execute(&format!("DELETE FROM {table} WHERE xid = ?1"), [xid])
            .map_err(sql_err)?;
    }
    Ok(())
}

/// Every column of `stored` from a full row image.
fn row_from_image(stored: &StoredTable, image: &[u8]) -> DbResult<Vec<Option<Vec<u8>>>> {
    let pairs = redo::decode_image(image)?;
    Ok(stored
        .columns
        .iter()
        .map(|c| {
            let n = column_number(&c.physical);
            pairs
                .iter()
                .find(|(m, _)| *m == n)
                .and_then(|(_, v)| v.map(<[u8]>::to_vec))
        })
        .collect())
}

/// A ROWID for a new row that no target session's insert will take: past every row
/// and every pending insert, and reserved in SQLite's sequence.
fn allocate_rid(conn: &Connection, stored: &StoredTable) -> DbResult<i64> {
    let obj = object_id(&stored.physical);
    let rid: i64 = conn
        .query_row(
            &format!(
                "SELECT MAX(COALESCE((SELECT MAX(rid) FROM {0}), 0), \
                 COALESCE((SELECT seq FROM sqlite_sequence WHERE name = '{0}'), 0), \
                 COALESCE((SELECT MAX(rid) FROM sim_pending WHERE obj = ?1), 0)) + 1",
                stored.physical
            ),
            [obj],
            |r| r.get(0),
        )
        .map_err(sql_err)?;
    conn.execute(
        "INSERT OR REPLACE INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
        params![stored.physical, rid],
    )
    .map_err(sql_err)?;
    Ok(rid)
}

/// Applies one pending change to its table at commit.
fn apply(conn: &Connection, obj: u64, rid: i64, change: i64, image: Option<&[u8]>) -> DbResult<()> {
    let table = format!("t{obj}");
    match (change, image) {
        (op::DELETE, _) => {
            conn.execute(&format!("DELETE FROM {table} WHERE rid = ?1"), [rid])
                .map_err(sql_err)?;
        }
        (_, Some(image)) => {
            let pairs = redo::decode_image(image)?;
            let columns: Vec<String> = pairs.iter().map(|(n, _)| format!("c{n}")).collect();
            let values: Vec<Option<&[u8]>> = pairs.iter().map(|(_, v)| *v).collect();
            let sql = if change == op::INSERT {
                format!(
                    "INSERT INTO {table} (rid{}{}) VALUES (?{})",
                    if columns.is_empty() { "" } else { ", " },
                    columns.join(", "),
                    ", ?".repeat(columns.len())
                )
            } else {
                format!(
                    "UPDATE {table} SET {} WHERE rid = ?1",
                    columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| format!("{c} = ?{}", i + 2))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            };
            let mut binds: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Integer(rid)];
            binds.extend(values.iter().map(|v| match v {
                Some(bytes) => rusqlite::types::Value::Blob(bytes.to_vec()),
                None => rusqlite::types::Value::Null,
            }));
            conn.execute(&sql, rusqlite::params_from_iter(binds))
                .map_err(sql_err)?;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_and_column_numbers_come_from_storage_names() {
        assert_eq!(object_id("t42"), 42);
        assert_eq!(column_number("c7"), 7);
    }
}
