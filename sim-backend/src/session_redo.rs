//! What a session (the `Sink` side) writes into the redo: one record per changed row
//! inside its SQLite transaction, the COMMIT record with it, and, when it rolls back,
//! its changes again followed by their undo (flagged ROLLBACK) and a ROLLBACK record, as
//! Oracle's redo shows a rolled-back transaction.

use rusqlite::{params, Connection};

use crate::redo::{self, op, Cursor, Record};
use crate::store::StoredTable;
use crate::{sql_err, SimSession};
use db_boundary::{DbError, DbResult};

/// A session's redo state for its current write transaction.
#[derive(Debug, Default)]
pub(crate) struct SessionRedo {
    cursor: Option<Cursor>,
    xid: Option<String>,
    start_scn: Option<u64>,
    /// Direct-path, NOLOGGING loads (`sim-admin generate`): row changes write no redo.
    pub nologging: bool,
}

/// A redo record read back, to be written again after a rollback.
#[derive(Debug, Clone)]
struct Owned {
    op: i64,
    obj: u64,
    version: u64,
    rid: Option<i64>,
    new_image: Option<Vec<u8>>,
    old_image: Option<Vec<u8>>,
    info: Option<String>,
}

impl Owned {
    fn record(&self) -> Record<'_> {
        Record {
            op: self.op,
            obj: self.obj,
            version: self.version,
            rid: self.rid,
            new_image: self.new_image.as_deref(),
            old_image: self.old_image.as_deref(),
            info: self.info.as_deref(),
            ..Record::default()
        }
    }
}

/// A rolled-back transaction's records, to rewrite once SQLite has undone them.
#[derive(Debug)]
pub(crate) struct RolledBack {
    xid: String,
    records: Vec<Owned>,
}

/// A session's redo state before a batch, restored when the batch is rolled back to its
/// savepoint (which also undoes the batch's redo rows and log switches).
#[derive(Debug, Clone)]
pub(crate) struct Mark {
    cursor: Option<Cursor>,
    xid: Option<String>,
    start_scn: Option<u64>,
}

impl SessionRedo {
    pub fn mark(&self) -> Mark {
        Mark {
            cursor: self.cursor.clone(),
            xid: self.xid.clone(),
            start_scn: self.start_scn,
        }
    }

    pub fn restore(&mut self, mark: Mark) {
        self.cursor = mark.cursor;
        self.xid = mark.xid;
        self.start_scn = mark.start_scn;
    }

    /// Right after the SQLite write transaction began.
    pub fn begin(&mut self, conn: &Connection) -> DbResult<()> {
        self.cursor = Some(Cursor::load(conn)?);
        self.xid = None;
        self.start_scn = None;
        Ok(())
    }

    /// Writes one record of the current transaction (inside its SQLite transaction).
    pub fn record(&mut self, conn: &Connection, record: &Record<'_>) -> DbResult<()> {
        if self.nologging && record.op != op::DDL {
            return Ok(());
        }
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(());
        };
        let xid = match &self.xid {
            Some(x) => x.clone(),
            None => {
                let x = redo::new_xid(conn)?;
                self.xid = Some(x.clone());
                x
            }
        };
        let scn = redo::append(
            conn,
            cursor,
            &xid,
            &Record {
                applied: true,
                ..record.clone()
            },
        )?;
        self.start_scn.get_or_insert(scn);
        Ok(())
    }

    /// Right before COMMIT: the commit record (every commit takes an SCN) and the
    /// counters.
    pub fn before_commit(&mut self, conn: &Connection) -> DbResult<()> {
        let Some(mut cursor) = self.cursor.take() else {
            return Ok(());
        };
        match self.xid.take() {
            Some(xid) => {
                let scn = redo::append(
                    conn,
                    &mut cursor,
                    &xid,
                    &Record {
                        op: op::COMMIT,
                        ..Record::default()
                    },
                )?;
                conn.execute(
                    "INSERT INTO sim_commits (xid, scn, start_scn) VALUES (?1, ?2, ?3)",
                    params![xid, scn, self.start_scn.take().unwrap_or(scn)],
                )
                .map_err(sql_err)?;
            }
            None => {
                cursor.next_scn();
            }
        }
        cursor.save(conn)
    }

    /// Right before ROLLBACK: the transaction's records, which the rollback removes.
    pub fn before_rollback(&mut self, conn: &Connection) -> DbResult<Option<RolledBack>> {
        self.cursor = None;
        self.start_scn = None;
        let Some(xid) = self.xid.take() else {
            return Ok(None);
        };
        let mut statement = conn
            .prepare(
                "SELECT op, obj, version, rid, new_image, old_image, info FROM sim_redo \
                 WHERE xid = ?1 AND op IN (1, 2, 3) ORDER BY seq",
            )
            .map_err(sql_err)?;
        let records = statement
            .query_map([&xid], |r| {
                Ok(Owned {
                    op: r.get(0)?,
                    obj: r.get(1)?,
                    version: r.get(2)?,
                    rid: r.get(3)?,
                    new_image: r.get(4)?,
                    old_image: r.get(5)?,
                    info: r.get(6)?,
                })
            })
            .map_err(sql_err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(sql_err)?;
        Ok(Some(RolledBack { xid, records }))
    }
}

/// The undo of one change, as a rollback writes it (flagged ROLLBACK).
pub(crate) fn undo_of<'a>(change: &Record<'a>) -> Record<'a> {
    let (op, new_image, old_image) = match change.op {
        op::INSERT => (op::DELETE, None, change.new_image),
        op::DELETE => (op::INSERT, change.old_image, None),
        _ => (op::UPDATE, change.old_image, change.new_image),
    };
    Record {
        op,
        rollback: true,
        applied: false,
        new_image,
        old_image,
        info: None,
        ..change.clone()
    }
}

/// After SQLite rolled back: the changes again (never applied), their undo in reverse
/// order, and the ROLLBACK record, in a transaction of their own.
pub(crate) fn rewrite_rolled_back(conn: &Connection, rolled_back: RolledBack) -> DbResult<()> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql_err)?;
    let result = (|| {
        let mut cursor = Cursor::load(conn)?;
        let xid = &rolled_back.xid;
        for change in &rolled_back.records {
            redo::append(conn, &mut cursor, xid, &change.record())?;
        }
        for change in rolled_back.records.iter().rev() {
            redo::append(conn, &mut cursor, xid, &undo_of(&change.record()))?;
        }
        redo::append(
            conn,
            &mut cursor,
            xid,
            &Record {
                op: op::ROLLBACK,
                ..Record::default()
            },
        )?;
        cursor.save(conn)
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(sql_err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Whether an UPDATE of `owner.table` carries every column in its undo: minimal
/// supplemental logging plus all-column logging for the table, or all-column logging
/// for the database.
pub(crate) fn all_columns_logged(conn: &Connection, owner: &str, table: &str) -> DbResult<bool> {
    if redo::meta_flag(conn, "supplemental_all")? {
        return Ok(true);
    }
    if !redo::meta_flag(conn, "supplemental_min")? {
        return Ok(false);
    }
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sim_supplemental WHERE owner = ?1 AND table_name = ?2)",
        params![owner, table],
        |r| r.get(0),
    )
    .map_err(sql_err)
}

/// A table's object id: the number of its storage table (`t42` is object 42).
pub(crate) fn object_id(physical: &str) -> u64 {
    physical.trim_start_matches('t').parse().unwrap_or_default()
}

/// The physical number of a stored column (`c7` is 7).
pub(crate) fn column_number(physical: &str) -> u16 {
    physical.trim_start_matches('c').parse().unwrap_or_default()
}

/// A stored row as `(rid, every column's stored bytes)`.
pub(crate) fn stored_row(
    row: &rusqlite::Row<'_>,
    width: usize,
) -> rusqlite::Result<(i64, Vec<Option<Vec<u8>>>)> {
    let rid = row.get(0)?;
    let values = (0..width)
        .map(|i| row.get::<_, Option<Vec<u8>>>(i + 1))
        .collect::<rusqlite::Result<_>>()?;
    Ok((rid, values))
}

/// The redo and undo images of an UPDATE of the `changed` positions: the new values of
/// those; their old values, plus every other column when all columns are logged.
pub(crate) fn update_images(
    numbers: &[u16],
    changed: &[usize],
    new_row: &[Option<Vec<u8>>],
    old_row: &[Option<Vec<u8>>],
    all_logged: bool,
) -> (Vec<u8>, Vec<u8>) {
    let new_image =
        redo::encode_image(changed.iter().map(|&p| (numbers[p], new_row[p].as_deref())));
    let old_image = redo::encode_image(
        (0..numbers.len())
            .filter(|p| all_logged || changed.contains(p))
            .map(|p| (numbers[p], old_row[p].as_deref())),
    );
    (new_image, old_image)
}

impl SimSession {
    /// Writes the redo of a DELETE (`set` is `None`) or of an UPDATE of one column to
    /// `set`'s value, for every row `condition` selects, before the statement runs.
    pub(crate) fn record_rows(
        &mut self,
        stored: &StoredTable,
        condition: &str,
        binds: &[Option<Vec<u8>>],
        set: Option<(usize, &Option<Vec<u8>>)>,
    ) -> DbResult<()> {
        let physical: Vec<&str> = stored.columns.iter().map(|c| c.physical.as_str()).collect();
        let numbers: Vec<u16> = physical.iter().map(|p| column_number(p)).collect();
        let obj = object_id(&stored.physical);
        let all_logged =
            all_columns_logged(&self.conn, &stored.table.owner, &stored.table.table_name)?;
        let sql = format!(
            "SELECT rid{}{} FROM {} WHERE {condition}",
            if physical.is_empty() { "" } else { ", " },
            physical.join(", "),
            stored.physical
        );
        let mut statement = self.conn.prepare(&sql).map_err(sql_err)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(binds.iter()))
            .map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let (rid, old_row) = stored_row(row, physical.len()).map_err(sql_err)?;
            let (op, new_image, old_image) = match set {
                None => (
                    redo::op::DELETE,
                    None,
                    redo::encode_image(
                        numbers
                            .iter()
                            .copied()
                            .zip(old_row.iter().map(Option::as_deref)),
                    ),
                ),
                Some((position, value)) => {
                    let mut new_row = old_row.clone();
                    new_row[position].clone_from(value);
                    let (new_image, old_image) =
                        update_images(&numbers, &[position], &new_row, &old_row, all_logged);
                    (redo::op::UPDATE, Some(new_image), old_image)
                }
            };
            self.redo.record(
                &self.conn,
                &redo::Record {
                    op,
                    obj,
                    version: stored.version,
                    rid: Some(rid),
                    new_image: new_image.as_deref(),
                    old_image: Some(&old_image),
                    ..redo::Record::default()
                },
            )?;
        }
        Ok(())
    }

    /// A table with changes of an open workload transaction is locked against this
    /// session: Oracle would wait for the row locks; the simulation answers at once as
    /// a NOWAIT statement does.
    pub(crate) fn check_no_pending(&self, stored: &StoredTable) -> DbResult<()> {
        if crate::workload::has_pending(&self.conn, object_id(&stored.physical))? {
            return Err(DbError::ora(
                54,
                format!(
                    "resource busy and acquire with NOWAIT specified: \"{}\".\"{}\" has changes of an open transaction",
                    stored.table.owner, stored.table.table_name
                ),
            ));
        }
        Ok(())
    }
}
