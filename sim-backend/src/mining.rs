//! LogMiner on the simulated redo: the `Source` calls LOG_BASED makes (identity, logs,
//! snapshot point, table info, one mining session, readiness facts) and reads `AS OF
//! SCN` (flashback) rebuilt from the redo. Refuses what Oracle refuses, with its codes:
//! a log file that is gone (ORA-01284), a log added twice (ORA-01289), a range the added
//! logs do not cover (ORA-01291), a flashback past the retained redo (ORA-01555), after
//! DDL (ORA-01466) or into the future (ORA-08181).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use rusqlite::params;

use crate::redo::{self, op};
use crate::session_redo::{all_columns_logged, column_number, object_id};
use crate::store::StoredTable;
use crate::{codec, sql_err, SimSession};
use db_boundary::{
    ChangeOperation, ChangeRow, DatabaseIdentity, DbError, DbResult, LogMiningFacts,
    MinedTableInfo, MiningRequest, PushChange, SnapshotPoint, Value,
};

/// A redo row as stored.
struct RedoRow {
    scn: u64,
    xid: String,
    op: i64,
    rollback: bool,
    obj: u64,
    version: u64,
    rid: Option<i64>,
    ts: String,
    new_image: Option<Vec<u8>>,
    old_image: Option<Vec<u8>>,
    info: Option<String>,
}

/// How a mined table's requested columns map onto its stored columns now.
struct MinedDefinition {
    version: u64,
    /// The stored column number of each requested column; `None` once it is gone.
    numbers: Vec<Option<u16>>,
}

fn value_of(bytes: Option<&[u8]>) -> DbResult<Value> {
    codec::decode(bytes).map_err(|e| DbError::Database {
        code: None,
        message: format!("corrupt redo value: {e}"),
    })
}

impl SimSession {
    pub(crate) fn identity(&self) -> DbResult<DatabaseIdentity> {
        Ok(DatabaseIdentity {
            dbid: redo::meta_u64(&self.conn, "dbid")?,
            resetlogs_change: redo::meta_u64(&self.conn, "resetlogs_change")?,
            con_id: 0,
        })
    }

    /// The SCN now and the oldest start SCN of the open transactions, read together.
    pub(crate) fn snapshot_point_now(&mut self) -> DbResult<SnapshotPoint> {
        let own = !self.in_transaction;
        if own {
            self.conn.execute_batch("BEGIN").map_err(sql_err)?;
        }
        let result = (|| {
            let scn = redo::meta_u64(&self.conn, "scn")?;
            let oldest: Option<u64> = self
                .conn
                .query_row("SELECT MIN(start_scn) FROM sim_transactions", [], |r| {
                    r.get(0)
                })
                .map_err(sql_err)?;
            Ok(SnapshotPoint {
                scn,
                low_water: oldest.map_or(scn, |o| o.min(scn)),
            })
        })();
        if own {
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
        }
        result
    }

    pub(crate) fn table_info(&self, owner: &str, table: &str) -> DbResult<MinedTableInfo> {
        let stored = self.stored(owner, table)?;
        Ok(MinedTableInfo {
            object_ids: vec![object_id(&stored.physical)],
            all_columns_logged: all_columns_logged(&self.conn, owner, table)?,
        })
    }

    pub(crate) fn facts(&self) -> DbResult<LogMiningFacts> {
        let oldest: Option<(u64, u64)> = self
            .conn
            .query_row(
                "SELECT sequence, first_scn FROM sim_logs WHERE archived = 1 AND deleted = 0 \
                 AND resetlogs = ?1 ORDER BY sequence LIMIT 1",
                [redo::meta_u64(&self.conn, "resetlogs_change")?],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(sql_err(other)),
            })?;
        let first_time: Option<String> = match oldest {
            Some((_, scn)) => self
                .conn
                .query_row("SELECT MIN(ts) FROM sim_redo WHERE scn >= ?1", [scn], |r| {
                    r.get(0)
                })
                .map_err(sql_err)?,
            None => None,
        };
        Ok(LogMiningFacts {
            user: self.options.user.clone(),
            archivelog: redo::meta_flag(&self.conn, "archivelog")?,
            supplemental_minimal: redo::meta_flag(&self.conn, "supplemental_min")?
                || redo::meta_flag(&self.conn, "supplemental_all")?,
            supplemental_all_columns: redo::meta_flag(&self.conn, "supplemental_all")?,
            // The simulated user holds every privilege mining needs.
            privileges: vec!["LOGMINING".into(), "SELECT ANY TRANSACTION".into()],
            roles: vec!["EXECUTE_CATALOG_ROLE".into()],
            unreadable_views: Vec::new(),
            oldest_archived: oldest
                .map(|(sequence, scn)| (1, sequence, scn, first_time.unwrap_or_default()))
                .into_iter()
                .collect(),
        })
    }

    /// Checks the session's logs as START_LOGMNR would: each one readable and added
    /// once, together covering the requested range without a hole.
    fn check_logs(&self, request: &MiningRequest) -> DbResult<(u64, u64)> {
        let listed = redo::list_logs(&self.conn, 0)?;
        let mut sequences = Vec::with_capacity(request.logs.len());
        for log in &request.logs {
            let name = log.name.as_deref().unwrap_or("");
            let found = listed
                .iter()
                .find(|l| l.available && l.name.as_deref() == Some(name))
                .ok_or_else(|| {
                    DbError::ora(
                        1284,
                        format!(
                            "file {name} cannot be opened (redo log of thread {} sequence {})",
                            log.thread, log.sequence
                        ),
                    )
                })?;
            if sequences.contains(&found.sequence) {
                return Err(DbError::ora(
                    1289,
                    format!("cannot add duplicate logfile {name}"),
                ));
            }
            sequences.push(found.sequence);
        }
        sequences.sort_unstable();
        let missing = |sequence: u64| {
            DbError::ora(
                1291,
                format!(
                    "missing logfile: redo log of thread 1 sequence {sequence} is needed for SCN {} to {}",
                    request.start_scn, request.end_scn
                ),
            )
        };
        let (Some(&first), Some(&last)) = (sequences.first(), sequences.last()) else {
            return Err(DbError::ora(
                1292,
                "no log file has been specified for the current LogMiner session",
            ));
        };
        for pair in sequences.windows(2) {
            if pair[1] != pair[0] + 1 {
                return Err(missing(pair[0] + 1));
            }
        }
        let log_of = |sequence: u64| {
            listed
                .iter()
                .find(|l| l.sequence == sequence)
                .expect("listed")
        };
        if log_of(first).first_scn > request.start_scn {
            return Err(missing(first.saturating_sub(1)));
        }
        if log_of(last)
            .next_scn
            .is_some_and(|next| next <= request.end_scn)
        {
            return Err(missing(last + 1));
        }
        Ok((first, last))
    }

    /// One mining session over the simulated redo (see `Source::mine`).
    pub(crate) fn mine_redo(
        &mut self,
        request: &MiningRequest,
        push: &mut PushChange<'_>,
    ) -> DbResult<u64> {
        let own = !self.in_transaction;
        if own {
            self.conn.execute_batch("BEGIN").map_err(sql_err)?;
        }
        let result = self.read_redo(request, push);
        if own {
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
        }
        result
    }

    fn read_redo(&mut self, request: &MiningRequest, push: &mut PushChange<'_>) -> DbResult<u64> {
        let (first, last) = self.check_logs(request)?;
        let mut table_of: HashMap<u64, usize> = HashMap::new();
        let mut definitions = Vec::with_capacity(request.tables.len());
        for (t, table) in request.tables.iter().enumerate() {
            let stored = self.stored(&table.owner, &table.table)?;
            for id in &table.object_ids {
                table_of.insert(*id, t);
            }
            definitions.push(MinedDefinition {
                version: stored.version,
                numbers: table
                    .columns
                    .iter()
                    .map(|c| stored.column(&c.name).map(|s| column_number(&s.physical)))
                    .collect(),
            });
        }
        let objects: Vec<u64> = table_of.keys().copied().collect();
        let sql = format!(
            "SELECT scn, xid, op, rollback, obj, version, rid, ts, new_image, old_image, info FROM sim_redo \
             WHERE log_seq BETWEEN ?1 AND ?2 AND scn BETWEEN ?3 AND ?4 AND (op IN ({}, {}) OR obj IN ({})) \
             ORDER BY seq",
            op::COMMIT,
            op::ROLLBACK,
            vec!["?"; objects.len().max(1)].join(", ")
        );
        let mut binds: Vec<i64> = vec![
            first as i64,
            last as i64,
            request.start_scn as i64,
            request.end_scn as i64,
        ];
        binds.extend(objects.iter().map(|o| *o as i64));
        if objects.is_empty() {
            binds.push(-1);
        }
        let mut statement = self.conn.prepare(&sql).map_err(sql_err)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(binds.iter()))
            .map_err(sql_err)?;
        let mut change = ChangeRow {
            scn: 0,
            xid: String::new(),
            operation: ChangeOperation::Commit,
            rollback: false,
            table: None,
            row_id: String::new(),
            timestamp: NaiveDateTime::default(),
            values: Vec::new(),
            info: None,
        };
        let mut count = 0;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let redo_row = RedoRow {
                scn: row.get(0).map_err(sql_err)?,
                xid: row.get(1).map_err(sql_err)?,
                op: row.get(2).map_err(sql_err)?,
                rollback: row.get(3).map_err(sql_err)?,
                obj: row.get(4).map_err(sql_err)?,
                version: row.get(5).map_err(sql_err)?,
                rid: row.get(6).map_err(sql_err)?,
                ts: row.get(7).map_err(sql_err)?,
                new_image: row.get(8).map_err(sql_err)?,
                old_image: row.get(9).map_err(sql_err)?,
                info: row.get(10).map_err(sql_err)?,
            };
            let table = table_of.get(&redo_row.obj).copied();
            fill(
                &mut change,
                &redo_row,
                table,
                table.map(|t| &definitions[t]),
            )?;
            count += 1;
            if push(&change).is_break() {
                break;
            }
        }
        Ok(count)
    }
}

/// The value of column `n` in an image: `None` when the image lacks the column.
fn lookup<'a>(image: &[redo::ImageColumn<'a>], n: u16) -> Option<Option<&'a [u8]>> {
    image.iter().find(|(m, _)| *m == n).map(|(_, v)| *v)
}

/// A stored redo row as LogMiner returns it.
fn fill(
    change: &mut ChangeRow,
    row: &RedoRow,
    table: Option<usize>,
    definition: Option<&MinedDefinition>,
) -> DbResult<()> {
    change.scn = row.scn;
    change.xid.clone_from(&row.xid);
    change.rollback = row.rollback;
    change.table = table;
    change.row_id = row
        .rid
        .map(|r| format!("SIMROWID{r:012}"))
        .unwrap_or_default();
    change.timestamp =
        NaiveDateTime::parse_from_str(&row.ts, "%Y-%m-%dT%H:%M:%S").unwrap_or_default();
    change.values.clear();
    change.info = None;
    change.operation = match row.op {
        op::COMMIT => ChangeOperation::Commit,
        op::ROLLBACK => ChangeOperation::Rollback,
        op::DDL => {
            change.info = row.info.clone();
            ChangeOperation::Ddl
        }
        op::INSERT => ChangeOperation::Insert,
        op::DELETE => ChangeOperation::Delete,
        _ => ChangeOperation::Update,
    };
    let Some(definition) = definition else {
        return Ok(());
    };
    if change.operation == ChangeOperation::Ddl || row.rollback {
        return Ok(());
    }
    if row.version != definition.version || definition.numbers.iter().any(Option::is_none) {
        change.operation = ChangeOperation::Ddl;
        change.info = Some(
            "Dictionary Version Mismatch: the row was written under another definition of the table"
                .into(),
        );
        return Ok(());
    }
    let new = row
        .new_image
        .as_deref()
        .map(redo::decode_image)
        .transpose()?
        .unwrap_or_default();
    let old = row
        .old_image
        .as_deref()
        .map(redo::decode_image)
        .transpose()?
        .unwrap_or_default();
    for number in definition.numbers.iter().flatten() {
        let value = match change.operation {
            ChangeOperation::Insert => Some(value_of(lookup(&new, *number).flatten())?),
            ChangeOperation::Delete => Some(value_of(lookup(&old, *number).flatten())?),
            _ => match lookup(&new, *number).or_else(|| lookup(&old, *number)) {
                Some(bytes) => Some(value_of(bytes)?),
                None => None,
            },
        };
        change.values.push(value);
    }
    Ok(())
}

/// The name of a session's flashback copy of a table.
const FLASHBACK_TABLE: &str = "temp.sim_flashback";

impl SimSession {
    /// A table as of an older SCN: a copy of its rows with every change committed after
    /// that SCN undone, newest first, in the session's temporary database. The caller
    /// holds a read transaction.
    pub(crate) fn flashback_copy(&self, stored: &StoredTable, scn: u64) -> DbResult<StoredTable> {
        let obj = object_id(&stored.physical);
        let ddl_after: bool = self
            .conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sim_redo WHERE obj = ?1 AND op = ?2 AND scn > ?3)",
                params![obj, op::DDL, scn],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        if ddl_after {
            return Err(DbError::ora(
                1466,
                "unable to read data - table definition has changed",
            ));
        }
        // The redo of every transaction committed after `scn` must still be there.
        let needed_from: Option<u64> = self
            .conn
            .query_row(
                "SELECT MIN(start_scn) FROM sim_commits WHERE scn > ?1",
                [scn],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        if let Some(from) = needed_from {
            let lost: bool = self
                .conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sim_logs WHERE (next_scn IS NULL OR next_scn > ?1) \
                     AND online = 0 AND (archived = 0 OR deleted = 1))",
                    [from],
                    |r| r.get(0),
                )
                .map_err(sql_err)?;
            if lost {
                return Err(DbError::ora(
                    1555,
                    format!("snapshot too old: the changes since SCN {scn} are no longer retained"),
                ));
            }
        }
        self.conn
            .execute_batch(&format!(
                "DROP TABLE IF EXISTS {FLASHBACK_TABLE}; CREATE TABLE {FLASHBACK_TABLE} AS SELECT * FROM {}",
                stored.physical
            ))
            .map_err(sql_err)?;
        let mut statement = self
            .conn
            .prepare(
                "SELECT r.op, r.rid, r.old_image FROM sim_redo r JOIN sim_commits c ON c.xid = r.xid \
                 WHERE r.obj = ?1 AND c.scn > ?2 AND r.rollback = 0 AND r.applied = 1 AND r.op IN (1, 2, 3) \
                 ORDER BY r.seq DESC",
            )
            .map_err(sql_err)?;
        let mut rows = statement.query(params![obj, scn]).map_err(sql_err)?;
        while let Some(row) = rows.next().map_err(sql_err)? {
            let change: i64 = row.get(0).map_err(sql_err)?;
            let rid: i64 = row.get(1).map_err(sql_err)?;
            let old: Option<Vec<u8>> = row.get(2).map_err(sql_err)?;
            self.undo_in_copy(change, rid, old.as_deref())?;
        }
        let mut copy = stored.clone();
        copy.physical = FLASHBACK_TABLE.to_owned();
        Ok(copy)
    }

    fn undo_in_copy(&self, change: i64, rid: i64, old: Option<&[u8]>) -> DbResult<()> {
        let pairs = old.map(redo::decode_image).transpose()?.unwrap_or_default();
        let columns: Vec<String> = pairs.iter().map(|(n, _)| format!("c{n}")).collect();
        let mut binds: Vec<rusqlite::types::Value> = vec![rusqlite::types::Value::Integer(rid)];
        binds.extend(pairs.iter().map(|(_, v)| match v {
            Some(bytes) => rusqlite::types::Value::Blob(bytes.to_vec()),
            None => rusqlite::types::Value::Null,
        }));
        let sql = match change {
            op::INSERT => format!("DELETE FROM {FLASHBACK_TABLE} WHERE rid = ?1"),
            op::DELETE => format!(
                "INSERT INTO {FLASHBACK_TABLE} (rid{}{}) VALUES (?1{})",
                if columns.is_empty() { "" } else { ", " },
                columns.join(", "),
                (0..columns.len())
                    .map(|i| format!(", ?{}", i + 2))
                    .collect::<String>()
            ),
            _ if columns.is_empty() => return Ok(()),
            _ => format!(
                "UPDATE {FLASHBACK_TABLE} SET {} WHERE rid = ?1",
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ?{}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let binds = if change == op::INSERT {
            binds[..1].to_vec()
        } else {
            binds
        };
        self.conn
            .execute(&sql, rusqlite::params_from_iter(binds))
            .map_err(sql_err)?;
        Ok(())
    }

    pub(crate) fn drop_flashback_copy(&self) {
        let _ = self
            .conn
            .execute_batch(&format!("DROP TABLE IF EXISTS {FLASHBACK_TABLE}"));
    }
}
