//! The target's side of the boundary on the simulated backend: describe, DDL, array
//! insert, merge, delete, update, commit.

use singer_core::dictionary::{ConstraintRow, TableRow};
use singer_core::oracle_type::{OracleType, MAX_INDEX_KEY_BYTES};

use db_boundary::{
    AlterTable, BindPlan, ColumnDef, DbError, DbResult, RowFilter, ServerInfo, SessionContext,
    Sink, Source, TableDef, TableName, Value,
};

use rusqlite::OptionalExtension;

use crate::codec;
use crate::redo;
use crate::rules::{coerce, Target};
use crate::session::*;
use crate::session_redo;
use crate::store::*;

impl Sink for SimSession {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Source::server_info(self)
    }

    fn set_context(&mut self, context: &SessionContext) -> DbResult<()> {
        self.record_context(context)
    }

    fn describe_table(&mut self, table: &TableName) -> DbResult<Option<TableDef>> {
        let owner = self.schema_of(table);
        Ok(self
            .stored_opt(&owner, &table.name)?
            .map(|stored| TableDef {
                name: TableName {
                    schema: Some(owner.clone()),
                    name: table.name.clone(),
                },
                primary_key: stored.primary_key(),
                columns: stored
                    .columns
                    .iter()
                    .map(|c| {
                        ColumnDef::from_dictionary(&c.row, check_from_text(c.check.as_deref()))
                    })
                    .collect(),
            }))
    }

    fn create_table(&mut self, def: &TableDef) -> DbResult<()> {
        columns_allowed(def.columns.len())?;
        key_types_allowed(def)?;
        let key_types = def.primary_key.iter().filter_map(|key| {
            def.columns
                .iter()
                .find(|c| &c.name == key)
                .map(|c| &c.data_type)
        });
        if !key_fits(key_types, self.options.max_string_bytes) {
            return Err(DbError::ora(
                1450,
                format!("maximum key length ({MAX_INDEX_KEY_BYTES}) exceeded"),
            ));
        }
        for column in &def.columns {
            types_available(&self.options, &column.data_type)?;
        }
        let owner = self.schema_of(&def.name);
        // Oracle: CREATE TABLE "NOPE"."T" fails with ORA-01918 (a schema is a user).
        if !self.user_exists(&owner)? {
            return Err(DbError::ora(1918, format!("user '{owner}' does not exist")));
        }
        if owner == self.options.user && !self.holds("CREATE TABLE") {
            return Err(DbError::ora(
                1031,
                format!(
                    "insufficient privileges: creating \"{owner}\".\"{}\" needs CREATE TABLE",
                    def.name.name
                ),
            ));
        }
        let table = TableRow {
            owner: owner.clone(),
            table_name: def.name.name.clone(),
            table_type: "TABLE".to_owned(),
            iot_type: None,
            partitioned: Some("NO".to_owned()),
            temporary: Some("N".to_owned()),
            num_rows: None,
        };
        let columns = def
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (column_row(&owner, &def.name.name, i as u32 + 1, c), c.check))
            .collect();
        let constraints = def
            .primary_key
            .iter()
            .enumerate()
            .map(|(i, column)| ConstraintRow {
                owner: owner.clone(),
                table_name: def.name.name.clone(),
                constraint_name: format!("SIM_PK_{}", def.name.name),
                constraint_type: "P".to_owned(),
                column_name: column.clone(),
                position: i as u32 + 1,
                status: Some("ENABLED".to_owned()),
            })
            .collect();
        self.ddl(|session| session.create_stored(table, columns, constraints))
    }

    fn alter_table(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()> {
        if let AlterTable::AddColumn(c) | AlterTable::ModifyColumn(c) = change {
            types_available(&self.options, &c.data_type)?;
        }
        if let AlterTable::AddColumn(_) = change {
            let stored = self.stored(&self.schema_of(table), &table.name)?;
            columns_allowed(stored.columns.len() + 1)?;
        }
        if let AlterTable::ModifyColumn(c) = change {
            let stored = self.stored(&self.schema_of(table), &table.name)?;
            let keys = stored.primary_key();
            if keys.contains(&c.name) {
                let key_types: Vec<OracleType> = keys
                    .iter()
                    .filter_map(|key| stored.column(key))
                    .map(|k| {
                        if k.row.column_name == c.name {
                            c.data_type.clone()
                        } else {
                            OracleType::from_column(&k.row)
                        }
                    })
                    .collect();
                if !key_fits(key_types.iter(), self.options.max_string_bytes) {
                    return Err(DbError::ora(
                        1404,
                        "ALTER COLUMN will make an index too large",
                    ));
                }
            }
        }
        self.ddl(|session| session.alter_stored(table, change))
    }

    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let owner = self.schema_of(table);
        let stored = self.stored(&owner, &table.name)?;
        let plan = BindPlan::for_columns(columns)?;
        driver_arrays(&plan, rows.len())?;
        let positions = Self::positions(&stored, &names(columns))?;
        self.begin()?;
        self.conn
            .execute_batch("SAVEPOINT batch")
            .map_err(sql_err)?;
        let physical: Vec<&str> = stored.columns.iter().map(|c| c.physical.as_str()).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            stored.physical,
            physical.join(", "),
            vec!["?"; physical.len()].join(", ")
        );
        let mark = self.redo.mark();
        let obj = session_redo::object_id(&stored.physical);
        let numbers: Vec<u16> = stored
            .columns
            .iter()
            .map(|c| session_redo::column_number(&c.physical))
            .collect();
        let result = (|| -> DbResult<()> {
            self.check_no_pending(&stored)?;
            let mut statement = self.conn.prepare_cached(&sql).map_err(sql_err)?;
            for (i, row) in rows.iter().enumerate() {
                let reject = |e: DbError| rejected_row(i, e);
                plan.check_lengths(row, &owner, &table.name)
                    .and_then(|()| plan.check_row(row, self.options.max_string_bytes))
                    .map_err(reject)?;
                let encoded = SimSession::prepare_row(&stored, &positions, row).map_err(reject)?;
                statement
                    .execute(rusqlite::params_from_iter(encoded.iter()))
                    .map_err(|e| match e {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            reject(DbError::ora(
                                1,
                                format!(
                                    "unique constraint (\"{}\".\"SIM_PK_{}\") violated",
                                    owner, table.name
                                ),
                            ))
                        }
                        other => sql_err(other),
                    })?;
                let image = redo::encode_image(
                    numbers
                        .iter()
                        .copied()
                        .zip(encoded.iter().map(Option::as_deref)),
                );
                self.redo.record(
                    &self.conn,
                    &redo::Record {
                        op: redo::op::INSERT,
                        obj,
                        version: stored.version,
                        rid: Some(self.conn.last_insert_rowid()),
                        new_image: Some(&image),
                        ..redo::Record::default()
                    },
                )?;
            }
            Ok(())
        })();
        if result.is_err() {
            self.redo.restore(mark);
        }
        self.end_batch(result)
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
        if key.is_empty() {
            return Err(DbError::Unsupported("MERGE needs key columns".into()));
        }
        let owner = self.schema_of(table);
        let stored = self.stored(&owner, &table.name)?;
        let plan = BindPlan::for_columns(columns)?;
        driver_arrays(&plan, rows.len())?;
        let positions = Self::positions(&stored, &names(columns))?;
        let key_positions = Self::positions(&stored, key)?;
        for k in &key_positions {
            if !positions.contains(k) {
                return Err(DbError::ora(
                    904,
                    format!(
                        "key column \"{}\" is not among the merged columns",
                        stored.columns[*k].row.column_name
                    ),
                ));
            }
        }
        self.begin()?;
        self.conn
            .execute_batch("SAVEPOINT batch")
            .map_err(sql_err)?;
        let mark = self.redo.mark();
        let obj = session_redo::object_id(&stored.physical);
        let numbers: Vec<u16> = stored
            .columns
            .iter()
            .map(|c| session_redo::column_number(&c.physical))
            .collect();
        let batch = MergeBatch {
            owner: &owner,
            table,
            stored: &stored,
            plan: &plan,
            positions: &positions,
            key_positions: &key_positions,
            obj,
            numbers: &numbers,
        };
        let result = self.merge_batch(&batch, rows);
        if result.is_err() {
            self.redo.restore(mark);
        }
        self.end_batch(result)
    }

    fn delete_keys(
        &mut self,
        table: &TableName,
        key: &[ColumnDef],
        keys: &[Vec<Value>],
    ) -> DbResult<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let owner = self.schema_of(table);
        let stored = self.stored(&owner, &table.name)?;
        let plan = BindPlan::for_columns(key)?;
        driver_arrays(&plan, keys.len())?;
        let names = names(key);
        let condition = Self::positions(&stored, &names)?
            .iter()
            .map(|&p| {
                let (left, right) = stored.columns[p].compared("?");
                format!("{left} = {right}")
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let delete = format!("DELETE FROM {} WHERE {condition}", stored.physical);
        self.begin()?;
        self.conn
            .execute_batch("SAVEPOINT batch")
            .map_err(sql_err)?;
        let mark = self.redo.mark();
        let result = (|| -> DbResult<u64> {
            self.check_no_pending(&stored)?;
            let mut total = 0;
            for (i, row) in keys.iter().enumerate() {
                plan.check_row(row, self.options.max_string_bytes)
                    .map_err(|e| rejected_row(i, e))?;
                let binds = names
                    .iter()
                    .zip(row)
                    .map(|(n, v)| self.encode_bound(&stored, n, v))
                    .collect::<DbResult<Vec<_>>>()
                    .map_err(|e| rejected_row(i, e))?;
                self.record_rows(&stored, &condition, &binds, None)?;
                total += self
                    .conn
                    .prepare_cached(&delete)
                    .map_err(sql_err)?
                    .execute(rusqlite::params_from_iter(binds.iter()))
                    .map_err(sql_err)? as u64;
            }
            Ok(total)
        })();
        if result.is_err() {
            self.redo.restore(mark);
        }
        let total = result.as_ref().map_or(0, |n| *n);
        self.end_batch(result.map(drop))?;
        Ok(total)
    }

    fn delete_rows(&mut self, table: &TableName, filter: &RowFilter) -> DbResult<u64> {
        let owner = self.schema_of(table);
        let stored = self.stored(&owner, &table.name)?;
        let (condition, binds) = self.filter_sql(&stored, filter)?;
        self.begin()?;
        self.check_no_pending(&stored)?;
        self.record_rows(&stored, &condition, &binds, None)?;
        let n = self
            .conn
            .execute(
                &format!("DELETE FROM {} WHERE {condition}", stored.physical),
                rusqlite::params_from_iter(binds.iter()),
            )
            .map_err(sql_err)?;
        Ok(n as u64)
    }

    fn update_rows(
        &mut self,
        table: &TableName,
        column: &str,
        value: &Value,
        filter: &RowFilter,
    ) -> DbResult<u64> {
        let owner = self.schema_of(table);
        let stored = self.stored(&owner, &table.name)?;
        let position = Self::positions(&stored, &[column.to_owned()])?[0];
        let target = Target {
            owner: &owner,
            table: &table.name,
            column,
        };
        let c = &stored.columns[position];
        let coerced = coerce(value.clone(), &OracleType::from_column(&c.row), &target)?;
        if coerced.is_null() && !c.row.is_nullable() {
            return Err(DbError::ora(
                1407,
                format!(
                    "cannot update (\"{owner}\".\"{}\".\"{column}\") to NULL",
                    table.name
                ),
            ));
        }
        let (condition, mut binds) = self.filter_sql(&stored, filter)?;
        let new_value = codec::encode(&coerced);
        self.begin()?;
        self.check_no_pending(&stored)?;
        self.record_rows(&stored, &condition, &binds, Some((position, &new_value)))?;
        binds.insert(0, new_value);
        let n = self
            .conn
            .execute(
                &format!(
                    "UPDATE {} SET {} = ? WHERE {condition}",
                    stored.physical, c.physical
                ),
                rusqlite::params_from_iter(binds.iter()),
            )
            .map_err(sql_err)?;
        Ok(n as u64)
    }

    fn commit(&mut self) -> DbResult<()> {
        if self.in_transaction {
            // The commit record and the SCN and log counters go with the data.
            if let Err(e) = self.redo.before_commit(&self.conn) {
                self.rollback()?;
                return Err(e);
            }
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
            self.in_transaction = false;
        }
        Ok(())
    }

    fn rollback(&mut self) -> DbResult<()> {
        if self.in_transaction {
            let rolled_back = self.redo.before_rollback(&self.conn);
            self.conn.execute_batch("ROLLBACK").map_err(sql_err)?;
            self.in_transaction = false;
            if let Some(rolled_back) = rolled_back? {
                session_redo::rewrite_rolled_back(&self.conn, rolled_back)?;
            }
        }
        Ok(())
    }
}

fn names(columns: &[ColumnDef]) -> Vec<String> {
    columns.iter().map(|c| c.name.clone()).collect()
}

/// Whether the server has the type: BOOLEAN from 23ai, JSON from 21c with COMPATIBLE 20
/// or higher (ORA-00902 for a type the release lacks, ORA-00406 for one COMPATIBLE
/// does not allow yet).
fn types_available(options: &crate::SimOptions, data_type: &OracleType) -> DbResult<()> {
    let (needs_release, needs_compatible) = match data_type {
        OracleType::Boolean => (23, None),
        OracleType::Json => (21, Some((20, 0))),
        OracleType::Vector => (23, None),
        _ => return Ok(()),
    };
    if options.major_version < needs_release {
        return Err(DbError::ora(
            902,
            format!(
                "invalid datatype: {data_type} needs Oracle {needs_release} (this is {})",
                options.major_version
            ),
        ));
    }
    match needs_compatible {
        Some(need) => db_boundary::require_compatible(
            options.compatibility(),
            need,
            &format!("the {data_type} data type"),
        ),
        None => Ok(()),
    }
}

/// Oracle refuses a primary key over a TIMESTAMP WITH TIME ZONE, LOB, LONG or JSON
/// column: ORA-02329 (TIMESTAMP WITH LOCAL TIME ZONE is allowed).
fn key_types_allowed(def: &TableDef) -> DbResult<()> {
    for key in &def.primary_key {
        let Some(column) = def.columns.iter().find(|c| &c.name == key) else {
            continue;
        };
        let refused = matches!(
            column.data_type,
            OracleType::TimestampTz { .. }
                | OracleType::Clob
                | OracleType::NClob
                | OracleType::Blob
                | OracleType::Long
                | OracleType::LongRaw
                | OracleType::Json
                | OracleType::Vector
                | OracleType::XmlType
                | OracleType::Bfile
        );
        if refused {
            return Err(DbError::ora(
                2329,
                format!(
                    "column of datatype {} cannot be unique or a primary key (\"{key}\")",
                    column.data_type
                ),
            ));
        }
    }
    Ok(())
}

/// A table has at most 1000 columns (ORA-01792; MAX_COLUMNS = EXTENDED, 23ai's option
/// for 4096, is not modelled).
fn columns_allowed(count: usize) -> DbResult<()> {
    if count > 1000 {
        return Err(DbError::ora(
            1792,
            "maximum number of columns in a table or view is 1000",
        ));
    }
    Ok(())
}

/// Whether a primary key over columns of these types fits Oracle's index key limit:
/// each column's width plus one byte, at most [`MAX_INDEX_KEY_BYTES`] (an 8 KB block).
/// Types no key may hold are refused before this (ORA-02329).
fn key_fits<'t>(types: impl Iterator<Item = &'t OracleType>, max_string_bytes: u32) -> bool {
    let width: u64 = types
        .map(|t| u64::from(t.key_bytes(max_string_bytes).unwrap_or(0)) + 1)
        .sum();
    width <= u64::from(MAX_INDEX_KEY_BYTES)
}

/// The arrays the Oracle backend hands the driver for `rows` rows of `plan` (its
/// executions), each refused as the driver and Oracle refuse it: DPI-1015 when one
/// bind's buffer would pass 2 GB, ORA-24816 for binds out of their groups' order.
/// Rows are then applied one by one; a rejected row's position is its place in the
/// whole batch, as the Oracle backend reports it across executions.
fn driver_arrays(plan: &BindPlan, rows: usize) -> DbResult<()> {
    plan.check_order()?;
    plan.executions(rows)
        .try_for_each(|r| db_boundary::arrays::check_array(plan.elements(), r.len()))
}

/// What one MERGE batch works on: the table, the bound columns' positions and bind
/// plan, the key, and the redo identity of the object.
struct MergeBatch<'a> {
    owner: &'a str,
    table: &'a TableName,
    stored: &'a StoredTable,
    plan: &'a BindPlan,
    positions: &'a [usize],
    key_positions: &'a [usize],
    obj: u64,
    numbers: &'a [u16],
}

impl SimSession {
    /// Upserts `rows` one by one (UPDATE of the matched row, else INSERT), each with its
    /// redo record; a rejected row fails the batch with its position.
    fn merge_batch(&mut self, batch: &MergeBatch<'_>, rows: &[Vec<Value>]) -> DbResult<()> {
        self.check_no_pending(batch.stored)?;
        let all_logged =
            session_redo::all_columns_logged(&self.conn, batch.owner, &batch.table.name)?;
        let statements = MergeStatements::new(batch);
        for (i, row) in rows.iter().enumerate() {
            let reject = |e: DbError| rejected_row(i, e);
            batch
                .plan
                .check_lengths(row, batch.owner, &batch.table.name)
                .and_then(|()| batch.plan.check_row(row, self.options.max_string_bytes))
                .map_err(reject)?;
            let encoded =
                SimSession::prepare_row(batch.stored, batch.positions, row).map_err(reject)?;
            let key_values: Vec<&Option<Vec<u8>>> =
                batch.key_positions.iter().map(|p| &encoded[*p]).collect();
            let found = self
                .conn
                .prepare_cached(&statements.existing)
                .map_err(sql_err)?
                .query_row(rusqlite::params_from_iter(key_values.iter()), |r| {
                    session_redo::stored_row(r, batch.stored.columns.len())
                })
                .optional()
                .map_err(sql_err)?;
            if let Some((rid, old_row)) = found {
                if let Some(update) = &statements.update {
                    self.merge_update(batch, update, &encoded, rid, &old_row, all_logged)?;
                }
            } else {
                self.conn
                    .prepare_cached(&statements.insert)
                    .map_err(sql_err)?
                    .execute(rusqlite::params_from_iter(encoded.iter()))
                    .map_err(sql_err)?;
                let image = redo::encode_image(
                    batch
                        .numbers
                        .iter()
                        .copied()
                        .zip(encoded.iter().map(Option::as_deref)),
                );
                self.redo.record(
                    &self.conn,
                    &redo::Record {
                        op: redo::op::INSERT,
                        obj: batch.obj,
                        version: batch.stored.version,
                        rid: Some(self.conn.last_insert_rowid()),
                        new_image: Some(&image),
                        ..redo::Record::default()
                    },
                )?;
            }
        }
        Ok(())
    }

    /// UPDATE of a matched row's non-key columns, with its redo record (old and new
    /// images as supplemental logging has them).
    fn merge_update(
        &mut self,
        batch: &MergeBatch<'_>,
        update: &str,
        encoded: &[Option<Vec<u8>>],
        rid: i64,
        old_row: &[Option<Vec<u8>>],
        all_logged: bool,
    ) -> DbResult<()> {
        let mut binds: Vec<&Option<Vec<u8>>> = batch
            .positions
            .iter()
            .filter(|p| !batch.key_positions.contains(p))
            .map(|p| &encoded[*p])
            .collect();
        binds.extend(batch.key_positions.iter().map(|p| &encoded[*p]));
        self.conn
            .prepare_cached(update)
            .map_err(sql_err)?
            .execute(rusqlite::params_from_iter(binds.iter()))
            .map_err(sql_err)?;
        let changed: Vec<usize> = batch
            .positions
            .iter()
            .copied()
            .filter(|p| !batch.key_positions.contains(p))
            .collect();
        let (new_image, old_image) =
            session_redo::update_images(batch.numbers, &changed, encoded, old_row, all_logged);
        self.redo.record(
            &self.conn,
            &redo::Record {
                op: redo::op::UPDATE,
                obj: batch.obj,
                version: batch.stored.version,
                rid: Some(rid),
                new_image: Some(&new_image),
                old_image: Some(&old_image),
                ..redo::Record::default()
            },
        )?;
        Ok(())
    }
}

/// The three statements a MERGE batch runs on the stored table: the UPDATE of a matched
/// row (none when every column is a key), the lookup by key, the INSERT.
struct MergeStatements {
    update: Option<String>,
    existing: String,
    insert: String,
}

impl MergeStatements {
    fn new(batch: &MergeBatch<'_>) -> MergeStatements {
        let set: Vec<String> = batch
            .positions
            .iter()
            .filter(|p| !batch.key_positions.contains(p))
            .map(|p| format!("{} = ?", batch.stored.columns[*p].physical))
            .collect();
        let matched: Vec<String> = batch
            .key_positions
            .iter()
            .map(|p| {
                let (left, right) = batch.stored.columns[*p].compared("?");
                format!("{left} = {right}")
            })
            .collect();
        let update = (!set.is_empty()).then(|| {
            format!(
                "UPDATE {} SET {} WHERE {}",
                batch.stored.physical,
                set.join(", "),
                matched.join(" AND ")
            )
        });
        let physical: Vec<&str> = batch
            .stored
            .columns
            .iter()
            .map(|c| c.physical.as_str())
            .collect();
        let existing = format!(
            "SELECT rid, {} FROM {} WHERE {} LIMIT 1",
            physical.join(", "),
            batch.stored.physical,
            matched.join(" AND ")
        );
        let insert = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            batch.stored.physical,
            physical.join(", "),
            vec!["?"; physical.len()].join(", ")
        );
        MergeStatements {
            update,
            existing,
            insert,
        }
    }
}
