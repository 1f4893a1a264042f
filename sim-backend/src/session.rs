//! One session on a simulated database: its transaction, DDL and the row checks
//! shared by both sides of the boundary.

use rusqlite::{params, Connection, OptionalExtension};
use singer_core::dictionary::{ColumnRow, ConstraintRow, TableRow};
use singer_core::oracle_type::OracleType;

use db_boundary::{
    AlterTable, ColumnCheck, ColumnDef, DbError, DbResult, RowFilter, Sink, TableName, Value,
};

use crate::codec;
use crate::rules::{self, coerce, Target};
use crate::store::*;
use crate::SimOptions;

/// One session on a simulated database: a SQLite connection with at most one open
/// transaction, begun by the first write and ended by commit or rollback.
pub struct SimSession {
    pub(crate) conn: Connection,
    pub(crate) options: SimOptions,
    pub(crate) in_transaction: bool,
    /// The database folder (where `sessions.jsonl` records contexts).
    pub(crate) dir: std::path::PathBuf,
    /// `<pid>-<n>`, naming the session in recorded contexts.
    pub(crate) id: String,
    /// MODULE, ACTION, CLIENT_IDENTIFIER last set.
    pub(crate) context: Option<db_boundary::SessionContext>,
    pub(crate) redo: crate::session_redo::SessionRedo,
}

impl SimSession {
    pub(crate) fn schema_of(&self, name: &TableName) -> String {
        name.schema
            .clone()
            .unwrap_or_else(|| self.options.user.clone())
    }

    /// Whether schema `name` exists: the session user, a user made by
    /// [`crate::SimBackend::create_user`], or the owner of a table.
    pub(crate) fn user_exists(&self, name: &str) -> DbResult<bool> {
        if name == self.options.user {
            return Ok(true);
        }
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM sim_users WHERE name = ?1)
                     OR EXISTS (SELECT 1 FROM sim_tables WHERE owner = ?1)",
                [name],
                |r| r.get(0),
            )
            .map_err(sql_err)
    }

    pub(crate) fn stored_opt(&self, owner: &str, table: &str) -> DbResult<Option<StoredTable>> {
        let text: Option<String> = self
            .conn
            .query_row(
                "SELECT definition FROM sim_tables WHERE owner = ?1 AND table_name = ?2",
                params![owner, table],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| DbError::Database {
                code: None,
                message: format!("corrupt simulated table definition: {e}"),
            })
        })
        .transpose()
    }

    /// Whether the session user holds a system privilege.
    pub(crate) fn holds(&self, privilege: &str) -> bool {
        self.options.privileges.iter().any(|p| p == privilege)
    }

    /// Whether the user may read `owner`'s tables: its own, or any with SELECT ANY TABLE.
    pub(crate) fn may_read(&self, owner: &str) -> bool {
        owner == self.options.user || self.holds("SELECT ANY TABLE")
    }

    pub(crate) fn stored(&self, owner: &str, table: &str) -> DbResult<StoredTable> {
        self.stored_opt(owner, table)?.ok_or_else(|| {
            DbError::ora(
                942,
                format!("table or view \"{owner}\".\"{table}\" does not exist"),
            )
        })
    }

    /// Stores a table's definition; the DDL's own commit gets the next SCN.
    pub(crate) fn save(&self, stored: &StoredTable) -> DbResult<()> {
        let stored = StoredTable {
            ddl_scn: self.scn()? + 1,
            ..stored.clone()
        };
        let text = serde_json::to_string(&stored).expect("definition serializes");
        self.conn
            .execute(
                "INSERT OR REPLACE INTO sim_tables (owner, table_name, definition) VALUES (?1, ?2, ?3)",
                params![stored.table.owner, stored.table.table_name, text],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    pub(crate) fn begin(&mut self) -> DbResult<()> {
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(sql_err)?;
            self.in_transaction = true;
            if let Err(e) = self.redo.begin(&self.conn) {
                Sink::rollback(self)?;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Ends a batch begun with `SAVEPOINT batch`: kept when it succeeded; otherwise it
    /// leaves nothing behind, while earlier batches of the transaction stay.
    pub(crate) fn end_batch(&self, result: DbResult<()>) -> DbResult<()> {
        match result {
            Ok(()) => {
                self.conn.execute_batch("RELEASE batch").map_err(sql_err)?;
                Ok(())
            }
            Err(e) => {
                self.conn
                    .execute_batch("ROLLBACK TO batch; RELEASE batch")
                    .map_err(sql_err)?;
                Err(e)
            }
        }
    }

    pub(crate) fn check_identifier(&self, name: &str) -> DbResult<()> {
        if name.is_empty() || name.contains('"') || name.contains('\0') {
            return Err(DbError::ora(904, format!("\"{name}\": invalid identifier")));
        }
        let limit = self.options.identifier_bytes();
        if name.len() > limit as usize {
            return Err(DbError::ora(
                972,
                format!(
                    "identifier is too long: \"{name}\" has {} bytes, the limit is {limit}",
                    name.len(),
                ),
            ));
        }
        Ok(())
    }

    pub(crate) fn create_stored(
        &mut self,
        table: TableRow,
        columns: Vec<(ColumnRow, Option<ColumnCheck>)>,
        constraints: Vec<ConstraintRow>,
    ) -> DbResult<()> {
        self.check_identifier(&table.owner)?;
        self.check_identifier(&table.table_name)?;
        if self.stored_opt(&table.owner, &table.table_name)?.is_some() {
            return Err(DbError::ora(
                955,
                format!(
                    "name \"{}\".\"{}\" is already used by an existing object",
                    table.owner, table.table_name
                ),
            ));
        }
        for (i, (c, _)) in columns.iter().enumerate() {
            self.check_identifier(&c.column_name)?;
            if columns[..i]
                .iter()
                .any(|(o, _)| o.column_name == c.column_name)
            {
                return Err(DbError::ora(
                    957,
                    format!("duplicate column name \"{}\"", c.column_name),
                ));
            }
        }
        self.begin()?;
        self.conn
            .execute("INSERT INTO sim_sequence DEFAULT VALUES", [])
            .map_err(sql_err)?;
        let physical = format!("t{}", self.conn.last_insert_rowid());
        let stored_columns: Vec<StoredColumn> = columns
            .into_iter()
            .enumerate()
            .map(|(i, (row, check))| StoredColumn {
                row,
                physical: format!("c{i}"),
                check: check_to_text(check),
            })
            .collect();
        let column_sql: Vec<String> = stored_columns
            .iter()
            .map(|c| format!("{} BLOB", c.physical))
            .collect();
        let column_sql = if column_sql.is_empty() {
            String::new()
        } else {
            format!(", {}", column_sql.join(", "))
        };
        self.conn
            .execute_batch(&format!(
                "CREATE TABLE {physical} (rid INTEGER PRIMARY KEY AUTOINCREMENT{column_sql})"
            ))
            .map_err(sql_err)?;
        let stored = StoredTable {
            next_column: stored_columns.len() as u32,
            ddl_scn: 0,
            table,
            columns: stored_columns,
            constraints,
            physical,
            version: 0,
        };
        let key = stored.primary_key();
        if !key.is_empty() {
            let cols: Vec<String> = key
                .iter()
                .filter_map(|k| stored.column(k).map(|c| c.physical.clone()))
                .collect();
            self.conn
                .execute_batch(&format!(
                    "CREATE UNIQUE INDEX {0}_pk ON {0} ({1})",
                    stored.physical,
                    cols.join(", ")
                ))
                .map_err(sql_err)?;
        }
        self.save(&stored)?;
        self.record_ddl(&stored, "CREATE TABLE")
    }

    /// The redo record of a DDL statement on `stored`.
    fn record_ddl(&mut self, stored: &StoredTable, what: &str) -> DbResult<()> {
        let info = format!(
            "{what} \"{}\".\"{}\"",
            stored.table.owner, stored.table.table_name
        );
        self.redo.record(
            &self.conn,
            &crate::redo::Record {
                op: crate::redo::op::DDL,
                obj: crate::session_redo::object_id(&stored.physical),
                version: stored.version,
                info: Some(&info),
                ..crate::redo::Record::default()
            },
        )
    }

    /// Values for every stored column of one row, coerced and checked; columns not
    /// given are NULL.
    pub(crate) fn prepare_row(
        stored: &StoredTable,
        positions: &[usize],
        row: &[Value],
    ) -> DbResult<Vec<Option<Vec<u8>>>> {
        if row.len() != positions.len() {
            return Err(DbError::Database {
                code: Some(947),
                message: format!("expected {} values, got {}", positions.len(), row.len()),
            });
        }
        let mut out: Vec<Option<Vec<u8>>> = vec![None; stored.columns.len()];
        let mut given = vec![false; stored.columns.len()];
        for (value, &pos) in row.iter().zip(positions) {
            let column = &stored.columns[pos];
            let target = Target {
                owner: &stored.table.owner,
                table: &stored.table.table_name,
                column: &column.row.column_name,
            };
            let value = coerce(
                value.clone(),
                &OracleType::from_column(&column.row),
                &target,
            )?;
            rules::check(&value, check_from_text(column.check.as_deref()), &target)?;
            out[pos] = codec::encode(&value);
            given[pos] = true;
        }
        for (pos, column) in stored.columns.iter().enumerate() {
            if out[pos].is_none() && !column.row.is_nullable() {
                return Err(DbError::ora(
                    1400,
                    format!(
                        "cannot insert NULL into (\"{}\".\"{}\".\"{}\")",
                        stored.table.owner, stored.table.table_name, column.row.column_name
                    ),
                ));
            }
        }
        Ok(out)
    }

    /// Oracle DDL commits the session's pending work first and commits itself; a DDL
    /// statement that fails leaves no partial change.
    pub(crate) fn ddl(
        &mut self,
        change: impl FnOnce(&mut SimSession) -> DbResult<()>,
    ) -> DbResult<()> {
        self.commit()?;
        match change(self) {
            Ok(()) => self.commit(),
            Err(e) => {
                self.rollback()?;
                Err(e)
            }
        }
    }

    pub(crate) fn alter_stored(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()> {
        let owner = self.schema_of(table);
        let mut stored = self.stored(&owner, &table.name)?;
        self.check_no_pending(&stored)?;
        self.begin()?;
        match change {
            AlterTable::AddColumn(def) => self.alter_add_column(&mut stored, &owner, table, def)?,
            AlterTable::DropNotNull(name) => self.alter_drop_not_null(&mut stored, name)?,
            AlterTable::ModifyColumn(def) => {
                self.alter_modify_column(&mut stored, &owner, table, def)?
            }
            AlterTable::RenameColumn { from, to } => {
                self.alter_rename_column(&mut stored, from, to)?
            }
            AlterTable::CopyColumn { from, to } => {
                self.alter_copy_column(&mut stored, &owner, table, from, to)?
            }
            AlterTable::DropColumn(name) => self.alter_drop_column(&mut stored, name)?,
        }
        stored.version += 1;
        self.save(&stored)?;
        let what = match change {
            AlterTable::AddColumn(_) => "ALTER TABLE ADD",
            AlterTable::ModifyColumn(_) | AlterTable::DropNotNull(_) => "ALTER TABLE MODIFY",
            AlterTable::RenameColumn { .. } => "ALTER TABLE RENAME COLUMN",
            AlterTable::CopyColumn { .. } => "UPDATE (copy column)",
            AlterTable::DropColumn(_) => "ALTER TABLE DROP COLUMN",
        };
        self.record_ddl(&stored, what)
    }

    /// ADD: a new nullable column (NOT NULL only on an empty table: ORA-01758).
    fn alter_add_column(
        &mut self,
        stored: &mut StoredTable,
        owner: &str,
        table: &TableName,
        def: &ColumnDef,
    ) -> DbResult<()> {
        self.check_identifier(&def.name)?;
        if stored.column(&def.name).is_some() {
            return Err(DbError::ora(
                1430,
                format!(
                    "column \"{}\" being added already exists in table",
                    def.name
                ),
            ));
        }
        let has_rows: bool = self
            .conn
            .query_row(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", stored.physical),
                [],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        if !def.nullable && has_rows {
            return Err(DbError::ora(
                1758,
                "table must be empty to add mandatory (NOT NULL) column",
            ));
        }
        let physical = format!("c{}", stored.next_column);
        stored.next_column += 1;
        self.conn
            .execute_batch(&format!(
                "ALTER TABLE {} ADD COLUMN {physical} BLOB",
                stored.physical
            ))
            .map_err(sql_err)?;
        let id = stored.columns.len() as u32 + 1;
        stored.columns.push(StoredColumn {
            row: column_row(owner, &table.name, id, def),
            physical,
            check: check_to_text(def.check),
        });

        Ok(())
    }

    /// MODIFY ("X" NULL): ORA-01451 when the column is already nullable.
    fn alter_drop_not_null(&mut self, stored: &mut StoredTable, name: &str) -> DbResult<()> {
        let position = Self::positions(stored, &[name.to_owned()])?[0];
        let row = &mut stored.columns[position].row;
        if row.is_nullable() {
            return Err(DbError::ora(
                1451,
                format!("column \"{name}\" to be modified to NULL cannot be modified to NULL"),
            ));
        }
        row.nullable = "Y".to_owned();

        Ok(())
    }

    /// MODIFY of a type: nullability kept, LOBs refused (ORA-22859), every value checked
    /// against the new type (ORA-01441, ORA-01440).
    fn alter_modify_column(
        &mut self,
        stored: &mut StoredTable,
        owner: &str,
        table: &TableName,
        def: &ColumnDef,
    ) -> DbResult<()> {
        let position = Self::positions(stored, std::slice::from_ref(&def.name))?[0];
        let column = stored.columns[position].clone();
        // MODIFY of a type keeps the column's nullability; a LOB's type can be
        // neither restated nor changed, nor can a column become a LOB.
        let lob =
            |t: &OracleType| matches!(t, OracleType::Clob | OracleType::NClob | OracleType::Blob);
        if lob(&OracleType::from_column(&column.row)) || lob(&def.data_type) {
            return Err(DbError::ora(22859, "invalid modification of columns"));
        }
        let def = &ColumnDef {
            nullable: column.row.is_nullable(),
            ..def.clone()
        };
        // Every existing value must fit the new type, as Oracle checks.
        let sql = format!(
            "SELECT {} FROM {} WHERE {0} IS NOT NULL",
            column.physical, stored.physical
        );
        let mut statement = self.conn.prepare(&sql).map_err(sql_err)?;
        let mut rows = statement.query([]).map_err(sql_err)?;
        let target = Target {
            owner,
            table: &table.name,
            column: &def.name,
        };
        while let Some(row) = rows.next().map_err(sql_err)? {
            let blob: Vec<u8> = row.get(0).map_err(sql_err)?;
            let value = codec::decode(Some(&blob)).map_err(|e| DbError::Database {
                code: None,
                message: e,
            })?;
            let coerced = coerce(value.clone(), &def.data_type, &target).map_err(|e| {
                DbError::ora(
                    1441,
                    format!("cannot decrease column length because some value is too big ({e})"),
                )
            })?;
            if coerced != value
                && !matches!(
                    def.data_type,
                    OracleType::Char { .. } | OracleType::NChar { .. }
                )
            {
                return Err(DbError::ora(
                    1440,
                    "column to be modified must be empty to decrease precision or scale",
                ));
            }
        }
        drop(rows);
        drop(statement);
        let id = column.row.column_id.unwrap_or(position as u32 + 1);
        stored.columns[position].row = column_row(owner, &table.name, id, def);
        stored.columns[position].check = check_to_text(def.check);

        Ok(())
    }

    /// RENAME COLUMN, constraints following (ORA-00957 on a duplicate).
    fn alter_rename_column(
        &mut self,
        stored: &mut StoredTable,
        from: &str,
        to: &str,
    ) -> DbResult<()> {
        self.check_identifier(to)?;
        if stored.column(to).is_some() {
            return Err(DbError::ora(957, format!("duplicate column name \"{to}\"")));
        }
        let position = Self::positions(stored, &[from.to_owned()])?[0];
        stored.columns[position].row.column_name = to.to_owned();
        for k in stored
            .constraints
            .iter_mut()
            .filter(|k| k.column_name == from)
        {
            k.column_name = to.to_owned();
        }

        Ok(())
    }

    /// UPDATE t SET to = from, in chunks by rid so a large table never sits in memory.
    fn alter_copy_column(
        &mut self,
        stored: &mut StoredTable,
        owner: &str,
        table: &TableName,
        from: &str,
        to: &str,
    ) -> DbResult<()> {
        let positions = Self::positions(stored, &[from.to_owned(), to.to_owned()])?;
        let (source, dest) = (&stored.columns[positions[0]], &stored.columns[positions[1]]);
        let dest_type = OracleType::from_column(&dest.row);
        let target = Target {
            owner,
            table: &table.name,
            column: to,
        };
        // In chunks by rid, so a large table never sits in memory.
        let select = format!(
            "SELECT rid, {} FROM {} WHERE rid > ?1 ORDER BY rid LIMIT 1000",
            source.physical, stored.physical
        );
        let update = format!(
            "UPDATE {} SET {} = ?1 WHERE rid = ?2",
            stored.physical, dest.physical
        );
        let mut last = i64::MIN;
        loop {
            let mut chunk = Vec::with_capacity(1000);
            {
                let mut statement = self.conn.prepare_cached(&select).map_err(sql_err)?;
                let mut rows = statement.query([last]).map_err(sql_err)?;
                while let Some(row) = rows.next().map_err(sql_err)? {
                    let rid: i64 = row.get(0).map_err(sql_err)?;
                    let blob: Option<Vec<u8>> = row.get(1).map_err(sql_err)?;
                    let value = codec::decode(blob.as_deref()).map_err(|e| DbError::Database {
                        code: None,
                        message: e,
                    })?;
                    chunk.push((rid, codec::encode(&coerce(value, &dest_type, &target)?)));
                }
            }
            let Some(&(end, _)) = chunk.last() else {
                break;
            };
            let mut statement = self.conn.prepare_cached(&update).map_err(sql_err)?;
            for (rid, blob) in chunk {
                statement.execute(params![blob, rid]).map_err(sql_err)?;
            }
            last = end;
        }

        Ok(())
    }

    /// DROP COLUMN (ORA-12991 for a key column).
    fn alter_drop_column(&mut self, stored: &mut StoredTable, name: &str) -> DbResult<()> {
        let position = Self::positions(stored, &[name.to_owned()])?[0];
        if stored.primary_key().iter().any(|k| k == name) {
            return Err(DbError::ora(
                12991,
                format!("column \"{name}\" is referenced in a multi-column constraint"),
            ));
        }
        stored.columns.remove(position);

        Ok(())
    }

    pub(crate) fn positions(stored: &StoredTable, columns: &[String]) -> DbResult<Vec<usize>> {
        columns
            .iter()
            .map(|name| {
                stored
                    .columns
                    .iter()
                    .position(|c| &c.row.column_name == name)
                    .ok_or_else(|| DbError::ora(904, format!("\"{name}\": invalid identifier")))
            })
            .collect()
    }

    pub(crate) fn encode_bound(
        &self,
        stored: &StoredTable,
        column: &str,
        value: &Value,
    ) -> DbResult<Option<Vec<u8>>> {
        let c = stored
            .column(column)
            .ok_or_else(|| DbError::ora(904, format!("\"{column}\": invalid identifier")))?;
        let target = Target {
            owner: &stored.table.owner,
            table: &stored.table.table_name,
            column,
        };
        // A bound value compares after Oracle's implicit conversion to the column type;
        // length limits do not apply to comparisons, so compare as the base type.
        let relaxed = match OracleType::from_column(&c.row) {
            OracleType::Char { .. }
            | OracleType::Varchar2 { .. }
            | OracleType::NChar { .. }
            | OracleType::NVarchar2 { .. } => OracleType::Clob,
            OracleType::Raw { .. } => OracleType::Blob,
            OracleType::Number { .. } => OracleType::Number {
                precision: None,
                scale: None,
            },
            other => other,
        };
        Ok(codec::encode(&coerce(value.clone(), &relaxed, &target)?))
    }

    pub(crate) fn filter_sql(
        &self,
        stored: &StoredTable,
        filter: &RowFilter,
    ) -> DbResult<(String, Vec<Option<Vec<u8>>>)> {
        let column = |name: &str| {
            stored
                .column(name)
                .ok_or_else(|| DbError::ora(904, format!("\"{name}\": invalid identifier")))
        };
        Ok(match filter {
            RowFilter::All => ("1 = 1".to_owned(), vec![]),
            RowFilter::LessThan {
                column: name,
                value,
            } => {
                let (left, right) = column(name)?.compared("?");
                (
                    format!("{left} < {right}"),
                    vec![self.encode_bound(stored, name, value)?],
                )
            }
            RowFilter::NotNull { column: name } => {
                (format!("{} IS NOT NULL", column(name)?.physical), vec![])
            }
            RowFilter::Outside { ranges, .. } if ranges.is_empty() => ("1 = 1".to_owned(), vec![]),
            RowFilter::Outside {
                column: name,
                ranges,
            } => {
                let c = column(name)?;
                let (left, right) = c.compared("?");
                let mut binds = Vec::with_capacity(2 * ranges.len());
                let mut inside = Vec::with_capacity(ranges.len());
                for (low, high) in ranges {
                    binds.push(self.encode_bound(stored, name, low)?);
                    binds.push(self.encode_bound(stored, name, high)?);
                    inside.push(format!("({left} >= {right} AND {left} <= {right})"));
                }
                (
                    format!("{} IS NULL OR NOT ({})", c.physical, inside.join(" OR ")),
                    binds,
                )
            }
        })
    }
}

/// A failure of row `row` of a batch, as array DML with batch errors reports it.
pub(crate) fn rejected_row(row: usize, e: DbError) -> DbError {
    let code = e.ora_code();
    let message = match e {
        DbError::Database { message, .. } => message,
        other => other.to_string(),
    };
    DbError::row_rejected(row, code, message)
}
