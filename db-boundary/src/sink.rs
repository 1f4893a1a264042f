//! What the target asks of a database: describe, create and evolve tables; write, merge
//! and delete rows; commit or roll back.
//!
//! Nothing is visible to other sessions until [`Sink::commit`]; a process that dies
//! before it leaves no trace of its uncommitted writes.

use singer_core::oracle_type::OracleType;

use crate::{DbResult, ServerInfo, SessionContext, Value};

/// A table, in exact case. Backends always quote both parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableName {
    /// The owning schema; `None` means the session's current schema.
    pub schema: Option<String>,
    pub name: String,
}

/// An extra rule a column carries where the server lacks a native type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnCheck {
    /// NUMBER(1) standing in for BOOLEAN before 23ai: `CHECK (c IN (0, 1))`.
    ZeroOrOne,
    /// CLOB standing in for JSON before 21c: `CHECK (c IS JSON)`.
    IsJson,
}

/// One column of a table definition.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Exact case.
    pub name: String,
    pub data_type: OracleType,
    pub nullable: bool,
    pub check: Option<ColumnCheck>,
}

impl ColumnDef {
    /// The column a data-dictionary row describes (how both backends answer
    /// [`Sink::describe_table`]).
    pub fn from_dictionary(
        row: &singer_core::dictionary::ColumnRow,
        check: Option<ColumnCheck>,
    ) -> ColumnDef {
        ColumnDef {
            name: row.column_name.clone(),
            data_type: OracleType::from_column(row),
            nullable: row.is_nullable(),
            check,
        }
    }
}

/// A table as the target creates it or finds it.
#[derive(Debug, Clone, PartialEq)]
pub struct TableDef {
    pub name: TableName,
    pub columns: Vec<ColumnDef>,
    /// Primary key columns in key order; empty for none.
    pub primary_key: Vec<String>,
}

/// One schema change.
#[derive(Debug, Clone, PartialEq)]
pub enum AlterTable {
    AddColumn(ColumnDef),
    /// Change a column's type in place (a widening Oracle allows: longer VARCHAR2,
    /// more NUMBER precision).
    ModifyColumn(ColumnDef),
    /// `MODIFY ("X" NULL)`: drop a NOT NULL constraint. Oracle's MODIFY of a type keeps
    /// the column's nullability, and a LOB's type cannot be restated (ORA-22859), so
    /// nullability changes on their own.
    DropNotNull(String),
    RenameColumn {
        from: String,
        to: String,
    },
    /// `UPDATE t SET to = from`: the copy step of add-copy-rename (VARCHAR2 to CLOB).
    CopyColumn {
        from: String,
        to: String,
    },
    DropColumn(String),
}

/// Which rows a delete or update touches.
#[derive(Debug, Clone, PartialEq)]
pub enum RowFilter {
    All,
    /// `column < value` (ACTIVATE_VERSION: rows of older versions; NULL never matches).
    LessThan {
        column: String,
        value: Value,
    },
    /// `column IS NOT NULL`.
    NotNull {
        column: String,
    },
    /// `column IS NULL OR NOT (column BETWEEN low AND high OR ...)`: rows outside every
    /// range, inclusive (overwrite: rows no run of the current load wrote). With no
    /// range, every row.
    Outside {
        column: String,
        ranges: Vec<(Value, Value)>,
    },
}

/// The target's side of the boundary.
pub trait Sink {
    fn server_info(&mut self) -> DbResult<ServerInfo>;

    /// Names the session for the DBA (V$SESSION MODULE, ACTION, CLIENT_IDENTIFIER).
    /// Not transactional: a rollback keeps it.
    fn set_context(&mut self, context: &SessionContext) -> DbResult<()>;

    /// The table as it exists, or `None` when there is no such table.
    fn describe_table(&mut self, table: &TableName) -> DbResult<Option<TableDef>>;

    fn create_table(&mut self, def: &TableDef) -> DbResult<()>;

    fn alter_table(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()>;

    /// Array INSERT of `rows`, each holding one value per entry of `columns`. Every
    /// bind is typed from its column's definition before any row is appended (text as
    /// VARCHAR2/CHAR of the column's size, DATE as DATE, numbers as NUMBER, LOBs last),
    /// so no value's own variant decides a bind type. A failing row comes back as
    /// [`crate::DbError::RowRejected`] with its position.
    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        rows: &[Vec<Value>],
    ) -> DbResult<()>;

    /// Upsert: rows whose `key` columns match an existing row replace its other
    /// columns; the rest are inserted. `rows` holds at most one row per key (the caller
    /// deduplicates, last record wins).
    fn merge_rows(
        &mut self,
        table: &TableName,
        columns: &[ColumnDef],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()>;

    /// Array DELETE by key: one execution per entry of `keys` (each holding one value
    /// per entry of `key`, bound with the key columns' types), so each is a lookup on
    /// the key's index rather than a scan. Returns how many rows went. A hard delete of
    /// records marked deleted uses it (issue 11, item 14).
    fn delete_keys(
        &mut self,
        table: &TableName,
        key: &[ColumnDef],
        keys: &[Vec<Value>],
    ) -> DbResult<u64>;

    /// Deletes the rows `filter` selects; returns how many.
    fn delete_rows(&mut self, table: &TableName, filter: &RowFilter) -> DbResult<u64>;

    /// Sets `column = value` on the rows `filter` selects; returns how many.
    fn update_rows(
        &mut self,
        table: &TableName,
        column: &str,
        value: &Value,
        filter: &RowFilter,
    ) -> DbResult<u64>;

    fn commit(&mut self) -> DbResult<()>;

    fn rollback(&mut self) -> DbResult<()>;
}

/// The definitions of the columns `names` of `table`, in that order, for callers that
/// know only names (set-up code and tests); a missing table or column is ORA-00942 /
/// ORA-00904.
pub fn column_defs(
    sink: &mut dyn Sink,
    table: &TableName,
    names: &[String],
) -> DbResult<Vec<ColumnDef>> {
    let def = sink
        .describe_table(table)?
        .ok_or_else(|| crate::DbError::ora(942, "table or view does not exist"))?;
    names
        .iter()
        .map(|n| {
            def.columns
                .iter()
                .find(|c| &c.name == n)
                .cloned()
                .ok_or_else(|| crate::DbError::ora(904, format!("\"{n}\": invalid identifier")))
        })
        .collect()
}
