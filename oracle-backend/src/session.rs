//! One pooled Oracle connection serving the boundary: `Source` for the tap, `Sink` for
//! the target. SQL texts come from [`crate::sql`]; values cross through [`crate::value`].

use std::sync::Arc;

use db_boundary::{
    AlterTable, BindPlan, ColumnDef, DatabaseIdentity, DbError, DbResult, DictionaryScope,
    LogMiningFacts, MinedTableInfo, MiningRequest, PushChange, PushRow, RedoLog, RowFilter, Scan,
    ScanColumn, ServerInfo, SessionContext, Sink, SnapshotPoint, Source, TableDef, TableName,
    TableRef, Value,
};
use oracle::sql_type::ToSql;
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};

use crate::error::{from_oracle, Operation};
use crate::mining::Mining;
use crate::settings::ConnectSettings;
use crate::{sql, value, Manager, SessionRole};

/// Session set-up in one place: explicit NLS conversions, UTC for the tap, and the
/// module name a DBA sees in V$SESSION.
pub(crate) fn set_up(conn: &oracle::Connection, role: SessionRole) -> oracle::Result<()> {
    for statement in sql::session_setup(role == SessionRole::Tap) {
        conn.execute(statement, &[])?;
    }
    conn.set_module(role.module())?;
    conn.set_action(match role {
        SessionRole::Tap => "extract",
        SessionRole::Target => "load",
    })?;
    Ok(())
}

pub struct OracleSession {
    pub(crate) conn: r2d2::PooledConnection<Manager>,
    settings: Arc<ConnectSettings>,
    server: Option<ServerInfo>,
}

/// A dictionary read's binds, typed by `read_sql::dictionary_binds` (VARCHAR2).
fn named(binds: &[(String, String)]) -> DbResult<Vec<(String, Box<dyn ToSql>)>> {
    crate::read_sql::dictionary_binds(binds)
        .iter()
        .map(|b| Ok((b.name.clone(), crate::read::bindable(b)?)))
        .collect()
}

fn refs(binds: &[(String, Box<dyn ToSql>)]) -> Vec<(&str, &dyn ToSql)> {
    binds
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_ref()))
        .collect()
}

fn opt_string(row: &oracle::Row, i: usize) -> oracle::Result<Option<String>> {
    row.get::<usize, Option<String>>(i)
}

impl OracleSession {
    pub(crate) fn new(
        conn: r2d2::PooledConnection<Manager>,
        settings: Arc<ConnectSettings>,
    ) -> Self {
        OracleSession {
            conn,
            settings,
            server: None,
        }
    }

    /// MODULE, ACTION and CLIENT_IDENTIFIER as OCI attributes: no statement, they reach
    /// the server with the next round trip (the `oracle` crate's `set_module`,
    /// `set_action`, `set_client_identifier`).
    fn apply_context(&mut self, context: &SessionContext) -> DbResult<()> {
        self.conn
            .set_module(&context.module)
            .and_then(|_| self.conn.set_action(&context.action))
            .and_then(|_| self.conn.set_client_identifier(&context.client_identifier))
            .map_err(self.fail(Operation::Other))
    }

    fn mining(&self) -> Mining<'_> {
        Mining {
            conn: &self.conn,
            target: self.settings.target_for_messages(),
        }
    }

    pub(crate) fn fail(&self, operation: Operation) -> impl Fn(oracle::Error) -> DbError + '_ {
        move |e| from_oracle(&e, &self.settings.target_for_messages(), operation)
    }

    pub(crate) fn session_privileges(&mut self) -> DbResult<Vec<String>> {
        let rows = self
            .conn
            .query(sql::SESSION_PRIVILEGES, &[])
            .map_err(self.fail(Operation::Other))?;
        rows.map(|r| r.and_then(|r| r.get::<usize, String>(0)))
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(self.fail(Operation::Other))
    }

    fn column_rows(&self, rows: oracle::ResultSet<'_, oracle::Row>) -> DbResult<Vec<ColumnRow>> {
        rows.map(|r| {
            let r = r?;
            Ok(ColumnRow {
                owner: r.get(0)?,
                table_name: r.get(1)?,
                column_id: r.get::<usize, Option<u32>>(2)?,
                column_name: r.get(3)?,
                data_type: r.get(4)?,
                data_type_owner: opt_string(&r, 5)?,
                data_length: r.get(6)?,
                data_precision: r.get(7)?,
                data_scale: r.get(8)?,
                char_length: r.get(9)?,
                char_used: opt_string(&r, 10)?,
                nullable: r.get(11)?,
                virtual_column: opt_string(&r, 12)?,
                hidden_column: opt_string(&r, 13)?,
                identity_column: opt_string(&r, 14)?,
            })
        })
        .collect::<oracle::Result<Vec<_>>>()
        .map_err(self.fail(Operation::ReadDictionary))
    }

    fn schema_of(&mut self, table: &TableName) -> DbResult<String> {
        match &table.schema {
            Some(s) => Ok(s.clone()),
            None => Ok(Source::server_info(self)?.current_schema),
        }
    }

    /// COMPATIBLE: from DBMS_UTILITY.DB_VERSION (granted to PUBLIC), else V$PARAMETER
    /// (needs SELECT on it), else unknown (logged; the release's level is assumed).
    fn read_compatible(&self) -> Option<(u32, u32)> {
        let from_utility = || -> oracle::Result<String> {
            let mut statement = self.conn.statement(sql::DB_VERSION).build()?;
            let out = oracle::sql_type::OracleType::Varchar2(64);
            statement.execute(&[&out, &out])?;
            statement.bind_value::<usize, String>(2)
        };
        let text = from_utility().or_else(|_| {
            self.conn
                .query_row_as::<String>(sql::COMPATIBLE_PARAMETER, &[])
        });
        match text {
            Ok(text) => db_boundary::compatible_level(&text),
            Err(e) => {
                tracing::warn!(
                    error = %from_oracle(&e, "", Operation::Other),
                    "COMPATIBLE cannot be read (EXECUTE on DBMS_UTILITY or SELECT on V$PARAMETER): \
                     assuming the release's own level for the JSON type and identifier length"
                );
                None
            }
        }
    }

    /// (column, condition) of every enabled CHECK constraint on `owner`.`table`.
    fn column_checks(&mut self, owner: &str, table: &str) -> DbResult<Vec<(String, String)>> {
        let info = Source::server_info(self)?;
        let text = sql::describe_checks((info.major_version, info.minor_version) >= (12, 2));
        self.conn
            .query_named(&text, &[("owner", &owner), ("name", &table)])
            .map_err(self.fail(Operation::ReadDictionary))?
            .map(|r| {
                r.and_then(|r| {
                    Ok((
                        r.get::<usize, String>(0)?,
                        r.get::<usize, Option<String>>(1)?.unwrap_or_default(),
                    ))
                })
            })
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(self.fail(Operation::ReadDictionary))
    }

    /// Runs one array DML statement: every row checked against the plan, every bind
    /// typed from the plan (`set_type`) before the first row is appended, rows appended
    /// in plan order, then executed with batch errors in the plan's executions (as many
    /// rows a round trip as the driver's buffers may hold: `db_boundary::arrays`). With
    /// `counts`, returns how many rows each input row affected (array DML row counts).
    fn execute_batch<R: AsRef<[Value]>>(
        &mut self,
        (sql_text, plan): (&str, &BindPlan),
        table: &TableName,
        rows: &[R],
        counts: bool,
    ) -> DbResult<Vec<u64>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        plan.check_order()?;
        let max_string_bytes = Source::server_info(self)?.max_string_bytes;
        let owner = self.schema_of(table)?;
        for (i, row) in rows.iter().enumerate() {
            plan.check_lengths(row.as_ref(), &owner, &table.name)
                .and_then(|()| plan.check_row(row.as_ref(), max_string_bytes))
                .map_err(|e| rejected_row(i, e))?;
        }
        let executions: Vec<std::ops::Range<usize>> = plan.executions(rows.len()).collect();
        let array_rows = executions.first().map_or(1, |r| r.len());
        let mut builder = self.conn.batch(sql_text, array_rows);
        builder.with_batch_errors();
        if counts {
            builder.with_row_counts();
        }
        let mut batch = builder.build().map_err(self.fail(Operation::Other))?;
        for (i, b) in plan.binds.iter().enumerate() {
            batch
                .set_type(i + 1, &value::driver_type(b.bind))
                .map_err(self.fail(Operation::Other))?;
        }
        let mut affected = Vec::with_capacity(if counts { rows.len() } else { 0 });
        for range in executions {
            let start = range.start;
            for row in &rows[range] {
                let row = row.as_ref();
                let bound: Vec<Box<dyn ToSql>> = plan
                    .binds
                    .iter()
                    .map(|b| value::bind_as(b.bind, &row[b.slot]))
                    .collect::<DbResult<_>>()?;
                let refs: Vec<&dyn ToSql> = bound.iter().map(|b| b.as_ref()).collect();
                batch
                    .append_row(&refs)
                    .map_err(self.fail(Operation::Other))?;
            }
            match batch.execute() {
                Ok(()) if counts => {
                    affected.extend(batch.row_counts().map_err(self.fail(Operation::Other))?)
                }
                Ok(()) => {}
                Err(e) => {
                    if let Some(rejected) =
                        e.batch_errors().and_then(|errors| first_rejected(errors))
                    {
                        return Err(rejected.shifted(start));
                    }
                    return Err(self.fail(Operation::Other)(e));
                }
            }
        }
        Ok(affected)
    }

    fn run_filtered(
        &self,
        sql_text: &str,
        filter: &RowFilter,
        extra: Option<&Value>,
    ) -> DbResult<u64> {
        let mut binds: Vec<(String, Box<dyn ToSql>)> = Vec::new();
        if let Some(x) = extra {
            binds.push(("x".to_owned(), value::bind(x)?));
        }
        match filter {
            RowFilter::LessThan { value: v, .. } => binds.push(("v".to_owned(), value::bind(v)?)),
            RowFilter::Outside { ranges, .. } => {
                for (i, (low, high)) in ranges.iter().enumerate() {
                    binds.push((format!("l{}", i + 1), value::bind(low)?));
                    binds.push((format!("h{}", i + 1), value::bind(high)?));
                }
            }
            RowFilter::All | RowFilter::NotNull { .. } => {}
        }
        let refs: Vec<(&str, &dyn ToSql)> = binds
            .iter()
            .map(|(n, b)| (n.as_str(), b.as_ref()))
            .collect();
        let statement = self
            .conn
            .execute_named(sql_text, &refs)
            .map_err(self.fail(Operation::Other))?;
        statement.row_count().map_err(self.fail(Operation::Other))
    }
}

/// A session handed back to the pool must carry no open transaction: what a dropped
/// writer did not commit is rolled back, as if its process had died.
impl Drop for OracleSession {
    fn drop(&mut self) {
        if let Err(e) = self.conn.rollback() {
            tracing::warn!(error = %from_oracle(&e, "", Operation::Other), "rollback of a returned session failed");
        }
    }
}

impl Source for OracleSession {
    fn set_context(&mut self, context: &SessionContext) -> DbResult<()> {
        self.apply_context(context)
    }

    fn server_info(&mut self) -> DbResult<ServerInfo> {
        if let Some(info) = &self.server {
            return Ok(info.clone());
        }
        let (version, banner) = self
            .conn
            .server_version()
            .map_err(self.fail(Operation::Other))?;
        let row = self
            .conn
            .query_row(sql::SESSION_IDENTITY, &[])
            .map_err(self.fail(Operation::Other))?;
        let user: String = row.get(0).map_err(self.fail(Operation::Other))?;
        let current_schema: String = row.get(1).map_err(self.fail(Operation::Other))?;
        // V$PARAMETER needs a privilege; without it, assume the standard 4000.
        let max_string_bytes = self
            .conn
            .query_row_as::<String>(sql::MAX_STRING_SIZE, &[])
            .map(|v| {
                if v.eq_ignore_ascii_case("EXTENDED") {
                    32767
                } else {
                    4000
                }
            })
            .unwrap_or(4000);
        let release = (version.major() as u32, version.minor() as u32);
        let compatible = self.read_compatible();
        let compatibility = compatible.unwrap_or(release);
        let info = ServerInfo {
            version: banner.lines().next().unwrap_or_default().to_owned(),
            major_version: release.0,
            minor_version: release.1,
            compatible,
            max_identifier_bytes: db_boundary::identifier_limit(release, compatibility),
            max_string_bytes,
            user,
            current_schema,
        };
        self.server = Some(info.clone());
        Ok(info)
    }

    fn read_dictionary(&mut self, scope: &DictionaryScope) -> DbResult<DictionaryRows> {
        let fail = self.fail(Operation::ReadDictionary);
        let tables_sql = sql::dictionary_tables(scope);
        let tables = self
            .conn
            .query_named(&tables_sql.sql, &refs(&named(&tables_sql.binds)?))
            .map_err(&fail)?
            .map(|r| {
                let r = r?;
                Ok(TableRow {
                    owner: r.get(0)?,
                    table_name: r.get(1)?,
                    table_type: r.get(2)?,
                    iot_type: opt_string(&r, 3)?,
                    partitioned: opt_string(&r, 4)?,
                    temporary: opt_string(&r, 5)?,
                    num_rows: r.get::<usize, Option<u64>>(6)?,
                })
            })
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(&fail)?;
        let columns_sql = sql::dictionary_columns(scope);
        let rows = self
            .conn
            .query_named(&columns_sql.sql, &refs(&named(&columns_sql.binds)?))
            .map_err(&fail)?;
        let columns = self.column_rows(rows)?;
        let constraints_sql = sql::dictionary_constraints(scope);
        let constraints = self
            .conn
            .query_named(&constraints_sql.sql, &refs(&named(&constraints_sql.binds)?))
            .map_err(&fail)?
            .map(|r| {
                let r = r?;
                Ok(ConstraintRow {
                    owner: r.get(0)?,
                    table_name: r.get(1)?,
                    constraint_name: r.get(2)?,
                    constraint_type: r.get(3)?,
                    column_name: r.get(4)?,
                    position: r.get(5)?,
                    status: opt_string(&r, 6)?,
                })
            })
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(&fail)?;
        Ok(DictionaryRows {
            tables,
            columns,
            constraints,
        })
    }

    fn current_scn(&mut self) -> DbResult<u64> {
        self.read_current_scn()
    }

    fn scan(&mut self, scan: &Scan, push: &mut PushRow<'_>) -> DbResult<u64> {
        self.read_scan(scan, push)
    }

    fn chunk_bounds(
        &mut self,
        table: &TableRef,
        keys: &[ScanColumn],
        chunks: u32,
        as_of_scn: Option<u64>,
    ) -> DbResult<Vec<Vec<Value>>> {
        self.read_chunk_bounds(table, keys, chunks, as_of_scn)
    }

    fn database_identity(&mut self) -> DbResult<DatabaseIdentity> {
        self.mining().database_identity()
    }

    fn redo_logs(&mut self, from_scn: u64) -> DbResult<Vec<RedoLog>> {
        self.mining().redo_logs(from_scn)
    }

    fn snapshot_point(&mut self) -> DbResult<SnapshotPoint> {
        self.mining().snapshot_point()
    }

    fn mined_table_info(&mut self, owner: &str, table: &str) -> DbResult<MinedTableInfo> {
        self.mining().mined_table_info(owner, table)
    }

    fn mine(&mut self, request: &MiningRequest, push: &mut PushChange<'_>) -> DbResult<u64> {
        self.mining().mine(request, push)
    }

    fn log_mining_facts(&mut self) -> DbResult<LogMiningFacts> {
        let user = Source::server_info(self)?.user;
        let privileges = self.session_privileges()?;
        self.mining().log_mining_facts(user, privileges)
    }
}

impl Sink for OracleSession {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Source::server_info(self)
    }

    fn set_context(&mut self, context: &SessionContext) -> DbResult<()> {
        self.apply_context(context)
    }

    fn describe_table(&mut self, table: &TableName) -> DbResult<Option<TableDef>> {
        let owner = self.schema_of(table)?;
        let rows = self
            .conn
            .query_named(
                sql::DESCRIBE_COLUMNS,
                &[("owner", &owner), ("name", &table.name)],
            )
            .map_err(self.fail(Operation::ReadDictionary))?;
        let columns = self.column_rows(rows)?;
        if columns.is_empty() {
            return Ok(None);
        }
        let primary_key = self
            .conn
            .query_named(
                sql::DESCRIBE_PRIMARY_KEY,
                &[("owner", &owner), ("name", &table.name)],
            )
            .map_err(self.fail(Operation::ReadDictionary))?
            .map(|r| r.and_then(|r| r.get::<usize, String>(0)))
            .collect::<oracle::Result<Vec<_>>>()
            .map_err(self.fail(Operation::ReadDictionary))?;
        let checks = self.column_checks(&owner, &table.name)?;
        Ok(Some(TableDef {
            name: TableName {
                schema: Some(owner),
                name: table.name.clone(),
            },
            columns: columns
                .iter()
                .map(|c| {
                    let check = checks
                        .iter()
                        .filter(|(column, _)| column == &c.column_name)
                        .find_map(|(column, condition)| {
                            sql::check_from_condition(column, condition)
                        });
                    db_boundary::ColumnDef::from_dictionary(c, check)
                })
                .collect(),
            primary_key,
        }))
    }

    fn create_table(&mut self, def: &TableDef) -> DbResult<()> {
        let text = sql::create_table(def)?;
        tracing::debug!(sql = %text, "create table");
        self.conn
            .execute(&text, &[])
            .map_err(self.fail(Operation::CreateTable))?;
        Ok(())
    }

    fn alter_table(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()> {
        let text = sql::alter_table(table, change)?;
        tracing::debug!(sql = %text, "alter table");
        self.conn
            .execute(&text, &[])
            .map_err(self.fail(Operation::CreateTable))?;
        Ok(())
    }

    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        let plan = BindPlan::for_columns(columns)?;
        let text = sql::insert(table, &plan)?;
        self.execute_batch((&text, &plan), table, rows, false)
            .map(drop)
    }

    fn merge_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let plan = BindPlan::for_columns(columns)?;
        let upsert = sql::upsert(table, &plan, key)?;
        tracing::debug!(update = ?upsert.update.as_ref().map(|u| &u.sql), insert = %upsert.insert.sql, "upsert");
        let Some(update) = &upsert.update else {
            return self
                .execute_batch(
                    (&upsert.insert.sql, &upsert.insert.plan),
                    table,
                    rows,
                    false,
                )
                .map(drop);
        };
        let counts = self.execute_batch((&update.sql, &update.plan), table, rows, true)?;
        // The rows the UPDATE found no row for, with their positions in `rows`.
        let missing: Vec<usize> = (0..rows.len())
            .filter(|&i| counts.get(i).copied().unwrap_or(0) == 0)
            .collect();
        let inserted: Vec<&Vec<Value>> = missing.iter().map(|&i| &rows[i]).collect();
        self.execute_batch(
            (&upsert.insert.sql, &upsert.insert.plan),
            table,
            &inserted,
            false,
        )
        .map(drop)
        .map_err(|e| e.at_positions(&missing))
    }

    fn delete_keys(
        &mut self,
        table: &TableName,
        key: &[ColumnDef],
        keys: &[Vec<Value>],
    ) -> DbResult<u64> {
        let plan = BindPlan::for_columns(key)?;
        let text = sql::delete_by_key(table, &plan)?;
        let counts = self.execute_batch((&text, &plan), table, keys, true)?;
        Ok(counts.iter().sum())
    }

    fn delete_rows(&mut self, table: &TableName, filter: &RowFilter) -> DbResult<u64> {
        self.run_filtered(&sql::delete(table, filter)?, filter, None)
    }

    fn update_rows(
        &mut self,
        table: &TableName,
        column: &str,
        value: &Value,
        filter: &RowFilter,
    ) -> DbResult<u64> {
        self.run_filtered(&sql::update(table, column, filter)?, filter, Some(value))
    }

    fn commit(&mut self) -> DbResult<()> {
        self.conn.commit().map_err(self.fail(Operation::Other))
    }

    fn rollback(&mut self) -> DbResult<()> {
        self.conn.rollback().map_err(self.fail(Operation::Other))
    }
}

/// A failure of row `row` before the batch ran, reported as batch errors report one.
fn rejected_row(row: usize, e: DbError) -> DbError {
    let code = e.ora_code();
    DbError::row_rejected(
        row,
        code,
        match e {
            DbError::Database { message, .. } => message,
            other => other.to_string(),
        },
    )
}

/// The batch error of the lowest row: Oracle returns batch errors in no guaranteed
/// order, and the loader sets aside the rows before the first bad one as good.
fn first_rejected(errors: &[oracle::DbError]) -> Option<DbError> {
    errors
        .iter()
        .min_by_key(|e| e.offset())
        .map(|e| DbError::row_rejected(e.offset() as usize, Some(e.code()), e.message()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_offset_is_the_rejected_row_whatever_the_order() {
        let error = |code, offset| oracle::DbError::new(code, offset, "m", "", "");
        let errors = [error(12899, 7), error(1, 2), error(1400, 5)];
        match first_rejected(&errors) {
            Some(DbError::RowRejected { row, code, .. }) => {
                assert_eq!((row, code), (2, Some(1)));
            }
            other => panic!("{other:?}"),
        }
        assert!(first_rejected(&[]).is_none());
    }
}
