//! LOG_BASED on a real Oracle session: a short executor of the plans in
//! [`crate::logminer_sql`]. Every text comes from there; this module binds by the
//! plan (VARCHAR2 binds as VARCHAR2, never NVARCHAR2), reads rows, and always ends the
//! LogMiner session it started.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use db_boundary::{
    ChangeOperation, ChangeRow, DatabaseIdentity, DbError, DbResult, LogMiningFacts,
    MinedTableInfo, MiningRequest, PushChange, RedoLog, RedoLogKind, SnapshotPoint,
};
use oracle::sql_type::{OracleType as DriverType, ToSql};
use oracle::Connection;
use oracle::SqlValue;

use crate::error::{from_oracle, Operation};
use crate::logminer_sql::{self as lm, operation_code as op, BindType, Statement};
use crate::{mined_value, sql};

/// A value for one bind of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindValue {
    Number(u64),
    Text(String),
}

/// A text bound as VARCHAR2 of the planned size.
struct Varchar2 {
    text: String,
    size: u32,
}

impl ToSql for Varchar2 {
    fn oratype(&self, _conn: &Connection) -> oracle::Result<DriverType> {
        Ok(DriverType::Varchar2(self.size.max(self.text.len() as u32)))
    }

    fn to_sql(&self, val: &mut SqlValue) -> oracle::Result<()> {
        val.set(&self.text.as_str())
    }
}

/// The plan's binds with their values, in plan order; a value missing or of the wrong
/// kind for its bind is an error before anything is sent.
pub fn bind_values(
    plan: &Statement,
    values: &HashMap<String, BindValue>,
) -> DbResult<Vec<(String, Box<dyn ToSql>)>> {
    plan.binds
        .iter()
        .map(|b| {
            let bound: Box<dyn ToSql> = match (b.bind_type, values.get(&b.name)) {
                (BindType::Number, Some(BindValue::Number(n))) => Box::new(*n),
                (BindType::Varchar2(size), Some(BindValue::Text(t)))
                    if t.len() <= size as usize =>
                {
                    Box::new(Varchar2 {
                        text: t.clone(),
                        size,
                    })
                }
                (_, other) => {
                    return Err(DbError::Config(format!(
                        "bind :{} ({:?}) got {other:?}",
                        b.name, b.bind_type
                    )))
                }
            };
            Ok((b.name.clone(), bound))
        })
        .collect()
}

fn refs(binds: &[(String, Box<dyn ToSql>)]) -> Vec<(&str, &dyn ToSql)> {
    binds
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_ref()))
        .collect()
}

/// Runs statements of the mining session on one connection.
pub struct Mining<'c> {
    pub conn: &'c Connection,
    pub target: String,
}

impl Mining<'_> {
    fn fail(&self) -> impl Fn(oracle::Error) -> DbError + '_ {
        move |e| from_oracle(&e, &self.target, Operation::LogMining)
    }

    fn execute(&self, plan: &Statement, values: &HashMap<String, BindValue>) -> DbResult<()> {
        let binds = bind_values(plan, values)?;
        tracing::debug!(sql = %plan.sql, "log mining");
        self.conn
            .execute_named(&plan.sql, &refs(&binds))
            .map_err(self.fail())?;
        Ok(())
    }

    pub fn database_identity(&self) -> DbResult<DatabaseIdentity> {
        let row = self
            .conn
            .query_row(&lm::database_identity().sql, &[])
            .map_err(self.fail())?;
        Ok(DatabaseIdentity {
            dbid: row.get(0).map_err(self.fail())?,
            resetlogs_change: row.get(1).map_err(self.fail())?,
            con_id: row.get(2).map_err(self.fail())?,
        })
    }

    pub fn redo_logs(&self, from_scn: u64) -> DbResult<Vec<RedoLog>> {
        let plan = lm::redo_logs();
        let binds = bind_values(
            &plan,
            &HashMap::from([("from_scn".to_owned(), BindValue::Number(from_scn))]),
        )?;
        let rows = self
            .conn
            .query_named(&plan.sql, &refs(&binds))
            .map_err(self.fail())?;
        let mut logs = Vec::new();
        for row in rows {
            let row = row.map_err(self.fail())?;
            let kind: String = row.get(0).map_err(self.fail())?;
            let available: String = row.get(7).map_err(self.fail())?;
            logs.push(RedoLog {
                kind: if kind == "ONLINE" {
                    RedoLogKind::Online
                } else {
                    RedoLogKind::Archived
                },
                thread: row.get(1).map_err(self.fail())?,
                sequence: row.get(2).map_err(self.fail())?,
                first_scn: row.get(3).map_err(self.fail())?,
                next_scn: row.get(4).map_err(self.fail())?,
                name: row.get(5).map_err(self.fail())?,
                bytes: row
                    .get::<usize, Option<u64>>(6)
                    .map_err(self.fail())?
                    .unwrap_or(0),
                available: available == "Y",
            });
        }
        Ok(logs)
    }

    pub fn snapshot_point(&self) -> DbResult<SnapshotPoint> {
        let row = self
            .conn
            .query_row(&lm::open_transactions_low_water().sql, &[])
            .map_err(self.fail())?;
        let scn: u64 = row.get(0).map_err(self.fail())?;
        let oldest: Option<u64> = row.get(1).map_err(self.fail())?;
        Ok(SnapshotPoint {
            scn,
            low_water: oldest.map_or(scn, |o| o.min(scn)),
        })
    }

    pub fn mined_table_info(&self, owner: &str, table: &str) -> DbResult<MinedTableInfo> {
        let values = HashMap::from([
            ("owner".to_owned(), BindValue::Text(owner.to_owned())),
            ("table_name".to_owned(), BindValue::Text(table.to_owned())),
        ]);
        let objects = lm::table_objects();
        let binds = bind_values(&objects, &values)?;
        let object_ids = self
            .conn
            .query_named(&objects.sql, &refs(&binds))
            .map_err(self.fail())?
            .map(|r| r.and_then(|r| r.get::<usize, u64>(0)))
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(self.fail())?;
        let groups = lm::table_all_column_logging();
        let binds = bind_values(&groups, &values)?;
        let table_all = self
            .conn
            .query_named(&groups.sql, &refs(&binds))
            .map_err(self.fail())?
            .next()
            .is_some();
        let database_all = self.database_logging()?.2;
        Ok(MinedTableInfo {
            object_ids,
            all_columns_logged: table_all || database_all,
        })
    }

    /// (ARCHIVELOG, minimal supplemental logging, all-column supplemental logging).
    fn database_logging(&self) -> DbResult<(bool, bool, bool)> {
        let row = self
            .conn
            .query_row(&lm::database_logging().sql, &[])
            .map_err(self.fail())?;
        let text = |i: usize| -> DbResult<String> { row.get(i).map_err(self.fail()) };
        Ok((
            text(0)? == "ARCHIVELOG",
            matches!(text(1)?.as_str(), "YES" | "IMPLICIT"),
            text(2)? == "YES",
        ))
    }

    pub fn log_mining_facts(
        &self,
        user: String,
        privileges: Vec<String>,
    ) -> DbResult<LogMiningFacts> {
        let (archivelog, supplemental_minimal, supplemental_all_columns) =
            self.database_logging().unwrap_or((false, false, false));
        let roles = self
            .conn
            .query(&lm::session_roles().sql, &[])
            .map_err(self.fail())?
            .map(|r| r.and_then(|r| r.get::<usize, String>(0)))
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(self.fail())?;
        let mut unreadable_views = Vec::new();
        for view in db_boundary::redo::MINING_VIEWS {
            let probe = lm::view_probe(view)?;
            if let Err(e) = self.conn.query(&probe.sql, &[]) {
                // ORA-01306: V$LOGMNR_CONTENTS outside a session; readable all the same.
                let code = e.db_error().map(|d| d.code());
                if code != Some(1306) {
                    unreadable_views.push((*view).to_owned());
                }
            }
        }
        let oldest_archived = match self.conn.query(&lm::oldest_archived_logs().sql, &[]) {
            Ok(rows) => rows
                .map(|r| {
                    r.and_then(|r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            r.get(2)?,
                            r.get::<usize, Option<String>>(3)?.unwrap_or_default(),
                        ))
                    })
                })
                .collect::<oracle::Result<Vec<_>>>()
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        Ok(LogMiningFacts {
            user,
            archivelog,
            supplemental_minimal,
            supplemental_all_columns,
            privileges,
            roles,
            unreadable_views,
            oldest_archived,
        })
    }

    /// One mining session over `request`: formats, logs (not in a PDB), start, a check
    /// for missing logs, the query; END_LOGMNR and the tap's formats always after.
    pub fn mine(&self, request: &MiningRequest, push: &mut PushChange<'_>) -> DbResult<u64> {
        let identity = self.database_identity()?;
        let none = HashMap::new();
        for statement in lm::mining_formats() {
            self.execute(&statement, &none)?;
        }
        let result = self.started(request, identity.is_pdb(), push);
        let ended = self.execute(&lm::end_logmnr(), &none);
        // The formats every session had before (TIME_ZONE is not touched by mining).
        for statement in sql::session_setup(false) {
            self.conn.execute(statement, &[]).map_err(self.fail())?;
        }
        let count = result?;
        ended?;
        Ok(count)
    }

    fn started(
        &self,
        request: &MiningRequest,
        in_pdb: bool,
        push: &mut PushChange<'_>,
    ) -> DbResult<u64> {
        if !in_pdb {
            let add = lm::add_logfile();
            for log in &request.logs {
                let name = log.name.clone().ok_or_else(|| DbError::Database {
                    code: Some(1291),
                    message: format!(
                        "redo log of thread {} sequence {} was purged",
                        log.thread, log.sequence
                    ),
                })?;
                self.execute(
                    &add,
                    &HashMap::from([("log_file".to_owned(), BindValue::Text(name))]),
                )?;
            }
        }
        let range = HashMap::from([
            ("start_scn".to_owned(), BindValue::Number(request.start_scn)),
            ("end_scn".to_owned(), BindValue::Number(request.end_scn)),
        ]);
        self.execute(&lm::start_logmnr(), &range)?;
        self.check_missing_logs()?;
        self.read(request, range, push)
    }

    fn check_missing_logs(&self) -> DbResult<()> {
        let logs = self
            .conn
            .query(&lm::logmnr_logs().sql, &[])
            .map_err(self.fail())?
            .map(|r| {
                r.and_then(|r| {
                    Ok(lm::LogmnrLog {
                        thread: r.get(0)?,
                        sequence: r.get(1)?,
                        low_scn: r.get(2)?,
                        next_scn: r.get(3)?,
                        status: r.get(4)?,
                        info: r.get(5)?,
                    })
                })
            })
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(self.fail())?;
        match lm::missing_log(&logs) {
            Some(message) => Err(DbError::Database {
                code: Some(1291),
                message,
            }),
            None => Ok(()),
        }
    }

    fn read(
        &self,
        request: &MiningRequest,
        mut values: HashMap<String, BindValue>,
        push: &mut PushChange<'_>,
    ) -> DbResult<u64> {
        let plan = lm::mining_query(&request.tables)?;
        let mut table_of = HashMap::new();
        for (t, table) in request.tables.iter().enumerate() {
            for (i, id) in table.object_ids.iter().enumerate() {
                values.insert(format!("o{t}_{i}"), BindValue::Number(*id));
                table_of.insert(*id, t);
            }
            values.insert(format!("w{t}"), BindValue::Text(table.owner.clone()));
            values.insert(format!("n{t}"), BindValue::Text(table.table.clone()));
            for (k, column) in table.columns.iter().enumerate() {
                let name = lm::mined_column_name(&table.owner, &table.table, &column.name)?;
                values.insert(format!("c{t}_{k}"), BindValue::Text(name));
            }
        }
        let binds = bind_values(&plan, &values)?;
        let fetch_rows = lm::mining_fetch_rows(&request.tables, request.fetch_array_size);
        let mut statement = self
            .conn
            .statement(&plan.sql)
            .fetch_array_size(fetch_rows)
            .prefetch_rows(fetch_rows)
            .build()
            .map_err(self.fail())?;
        let rows = statement.query_named(&refs(&binds)).map_err(self.fail())?;
        let mut change = ChangeRow {
            scn: 0,
            xid: String::new(),
            operation: ChangeOperation::Commit,
            rollback: false,
            table: None,
            row_id: String::new(),
            timestamp: chrono::DateTime::UNIX_EPOCH.naive_utc(),
            values: Vec::new(),
            info: None,
        };
        let mut count = 0;
        for row in rows {
            let row = row.map_err(self.fail())?;
            if self.decode_row(&row, request, &table_of, &mut change)? {
                count += 1;
                if push(&change).is_break() {
                    break;
                }
            }
        }
        Ok(count)
    }

    /// Fills `change` from one row of the mining query; false for a row to skip.
    fn decode_row(
        &self,
        row: &oracle::Row,
        request: &MiningRequest,
        table_of: &HashMap<u64, usize>,
        change: &mut ChangeRow,
    ) -> DbResult<bool> {
        let fail = self.fail();
        let code: i64 = row.get(2).map_err(&fail)?;
        change.scn = row.get(0).map_err(&fail)?;
        change.xid = row
            .get::<usize, Option<String>>(1)
            .map_err(&fail)?
            .unwrap_or_default();
        change.rollback = row.get::<usize, Option<i64>>(3).map_err(&fail)? == Some(1);
        let object: Option<u64> = row.get(4).map_err(&fail)?;
        change.row_id = row
            .get::<usize, Option<String>>(5)
            .map_err(&fail)?
            .unwrap_or_default();
        let time: Option<String> = row.get(6).map_err(&fail)?;
        change.timestamp = time
            .and_then(|t| NaiveDateTime::parse_from_str(&t, "%Y-%m-%dT%H:%M:%S").ok())
            .unwrap_or(chrono::DateTime::UNIX_EPOCH.naive_utc());
        let status: Option<i64> = row.get(7).map_err(&fail)?;
        let info: Option<String> = row.get(8).map_err(&fail)?;
        let ddl: Option<String> = row.get(9).map_err(&fail)?;
        change.table = object.and_then(|o| table_of.get(&o).copied());
        change.info = None;
        change.values.clear();
        change.operation = match code {
            op::COMMIT => ChangeOperation::Commit,
            op::ROLLBACK => ChangeOperation::Rollback,
            op::DDL => {
                change.info = Some(ddl.unwrap_or_else(|| "DDL".into()));
                ChangeOperation::Ddl
            }
            op::INSERT | op::UPDATE | op::DELETE => {
                if change.table.is_none() {
                    return Ok(false);
                }
                if status == Some(2) && !change.rollback {
                    change.info = Some(format!(
                        "LogMiner could not decode the row with the current dictionary: {}",
                        info.unwrap_or_else(|| "no reason given".into())
                    ));
                    ChangeOperation::Ddl
                } else {
                    match code {
                        op::INSERT => ChangeOperation::Insert,
                        op::UPDATE => ChangeOperation::Update,
                        _ => ChangeOperation::Delete,
                    }
                }
            }
            _ => return Ok(false),
        };
        let is_dml = matches!(
            change.operation,
            ChangeOperation::Insert | ChangeOperation::Update | ChangeOperation::Delete
        );
        if is_dml && !change.rollback {
            let table = &request.tables[change.table.expect("checked above")];
            decode_values(row, table, change, &fail)?;
        }
        Ok(true)
    }
}

/// The row image of a DML row: each column's mined text as a value, `None` for a column
/// an UPDATE did not log.
fn decode_values(
    row: &oracle::Row,
    table: &db_boundary::MinedTable,
    change: &mut ChangeRow,
    fail: &impl Fn(oracle::Error) -> DbError,
) -> DbResult<()> {
    let base = lm::MINING_FIXED_COLUMNS.len();
    for (k, column) in table.columns.iter().enumerate() {
        let present: Option<i64> = row.get(base + 2 * k).map_err(fail)?;
        let text: Option<String> = row.get(base + 2 * k + 1).map_err(fail)?;
        if change.operation == ChangeOperation::Update && present == Some(0) {
            change.values.push(None);
            continue;
        }
        let value = mined_value::decode(text.as_deref(), &column.data_type).map_err(|e| {
            DbError::Database {
                code: None,
                message: format!(
                    "\"{}\".\"{}\".\"{}\" at SCN {}: {e}",
                    table.owner, table.table, column.name, change.scn
                ),
            }
        })?;
        change.values.push(Some(value));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_follow_the_plan_or_fail_before_sending() {
        let plan = lm::table_objects();
        let good = HashMap::from([
            ("owner".to_owned(), BindValue::Text("HR".into())),
            ("table_name".to_owned(), BindValue::Text("EMP".into())),
        ]);
        let bound = bind_values(&plan, &good).unwrap();
        assert_eq!(
            bound.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["owner", "table_name"]
        );
        let mut wrong_kind = good.clone();
        wrong_kind.insert("owner".into(), BindValue::Number(1));
        assert!(bind_values(&plan, &wrong_kind).is_err());
        let mut missing = good.clone();
        missing.remove("table_name");
        assert!(bind_values(&plan, &missing).is_err());
        let mut too_long = good;
        too_long.insert("owner".into(), BindValue::Text("X".repeat(129)));
        assert!(bind_values(&plan, &too_long).is_err());
    }
}
