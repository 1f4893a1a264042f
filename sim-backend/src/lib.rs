//! The simulated backend: a SQLite file standing in for a database, so the tap, the
//! target and the contract suite run end to end where no Oracle server exists.
//!
//! It is not Oracle and does not parse SQL. It answers the same boundary calls
//! ([`Source`], [`Sink`]) over tables described by the same dictionary rows as
//! `catalog-fixtures/`, and enforces the Oracle rules the engines must respect (exact
//! case names, identifier length, VARCHAR2 lengths in bytes or characters, NUMBER
//! precision and scale, NOT NULL, primary keys, CHECKs), failing with Oracle's ORA codes
//! (see [`rules`]). Writes are durable across processes (SQLite WAL); a session's
//! uncommitted writes vanish when its process dies.
//!
//! Storage: each value is one order-preserving BLOB ([`codec`]), so SQLite itself sorts
//! and filters and a scan streams rows without holding a table.
//!
//! Choices where Oracle offers several behaviours:
//! - A batch (`insert_rows`, `merge_rows`) with a bad row applies none of its rows and
//!   reports the first bad row as [`DbError::RowRejected`] with its position; earlier
//!   batches of the same transaction stay. (Oracle's array DML with batch errors would
//!   keep the good rows; the target rolls back on any rejection either way.)
//! - DDL commits the session's pending work and itself, as in Oracle.
//! - Every redo record and every commit takes an SCN ([`redo`]: changes, logs that
//!   switch, archive and can be purged; [`workload`]: transactions that interleave and
//!   stay open; [`mining`]: LogMiner over it). A read `AS OF SCN` of an older SCN is
//!   rebuilt from the redo (refused past its retention with ORA-01555, after DDL with
//!   ORA-01466); a future SCN fails with ORA-08181.

mod admin;
pub mod codec;
mod mining;
mod redo;
pub mod rules;
pub mod seed;
mod session_redo;
pub mod workload;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use db_boundary::source::RowCallbackError;
use db_boundary::{
    AlterTable, Backend, CheckReport, ColumnCheck, ColumnDef, DbError, DbResult, DictionaryScope,
    LowerBound, RowFilter, ScanOrder, ScanRequest, ServerInfo, Sink, Source, TableDef, TableName,
    Value,
};

use rules::{coerce, Target};

const DATABASE_FILE: &str = "sim.sqlite";

/// How a new simulated database presents itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOptions {
    /// 23 gives BOOLEAN and JSON; 19 makes the target use its fallbacks.
    pub major_version: u32,
    /// 128 (12.2 and later) or 30.
    pub max_identifier_bytes: u32,
    pub max_string_bytes: u32,
    /// The session user, also the current schema.
    pub user: String,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            major_version: 23,
            max_identifier_bytes: 128,
            max_string_bytes: 4000,
            user: "SIM_USER".to_owned(),
        }
    }
}

/// A simulated database in a directory.
#[derive(Debug, Clone)]
pub struct SimBackend {
    file: PathBuf,
    options: SimOptions,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredColumn {
    row: ColumnRow,
    physical: String,
    check: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredTable {
    table: TableRow,
    columns: Vec<StoredColumn>,
    constraints: Vec<ConstraintRow>,
    physical: String,
    next_column: u32,
    /// Bumped by every ALTER: redo written under another version no longer decodes
    /// with this definition (LogMiner's dictionary version mismatch).
    #[serde(default)]
    version: u64,
}

impl StoredColumn {
    /// The SQL expression that compares and orders this column's values as Oracle
    /// does, and the same for a bound value. A TIMESTAMP WITH TIME ZONE is stored as
    /// its instant followed by its offset (see [`codec`]); Oracle compares the instant
    /// only, so `10:00 +02:00` equals `08:00 +00:00`: compare the instant's bytes.
    fn compared(&self, bind: &str) -> (String, String) {
        if self.row.data_type.contains("WITH TIME ZONE") {
            let width = codec::TIMESTAMP_TZ_INSTANT_BYTES;
            (
                format!("substr({}, 1, {width})", self.physical),
                format!("substr({bind}, 1, {width})"),
            )
        } else {
            (self.physical.clone(), bind.to_owned())
        }
    }
}

impl StoredTable {
    fn column(&self, name: &str) -> Option<&StoredColumn> {
        self.columns.iter().find(|c| c.row.column_name == name)
    }

    fn primary_key(&self) -> Vec<String> {
        let mut keys: Vec<&ConstraintRow> = self
            .constraints
            .iter()
            .filter(|k| k.constraint_type == "P")
            .collect();
        keys.sort_by_key(|k| k.position);
        keys.into_iter().map(|k| k.column_name.clone()).collect()
    }
}

fn sql_err(e: rusqlite::Error) -> DbError {
    DbError::Database {
        code: None,
        message: format!("simulated backend storage: {e}"),
    }
}

fn check_to_text(check: Option<ColumnCheck>) -> Option<String> {
    check.map(|c| match c {
        ColumnCheck::ZeroOrOne => "ZERO_OR_ONE".to_owned(),
        ColumnCheck::IsJson => "IS_JSON".to_owned(),
    })
}

fn check_from_text(text: Option<&str>) -> Option<ColumnCheck> {
    match text {
        Some("ZERO_OR_ONE") => Some(ColumnCheck::ZeroOrOne),
        Some("IS_JSON") => Some(ColumnCheck::IsJson),
        _ => None,
    }
}

/// The dictionary row Oracle would report for a column created with `def`.
pub fn column_row(owner: &str, table: &str, column_id: u32, def: &ColumnDef) -> ColumnRow {
    use OracleType as T;
    let (data_type, length, precision, scale, char_length, char_used) = match &def.data_type {
        T::Number { precision, scale } => (
            "NUMBER".to_owned(),
            22,
            precision.map(u32::from),
            scale.map(i32::from),
            0,
            None,
        ),
        T::Float { binary_precision } => (
            "FLOAT".to_owned(),
            22,
            binary_precision.map(u32::from).or(Some(126)),
            None,
            0,
            None,
        ),
        T::Char { length, semantics } | T::Varchar2 { length, semantics } => {
            let name = if matches!(def.data_type, T::Char { .. }) {
                "CHAR"
            } else {
                "VARCHAR2"
            };
            let (bytes, used) = match semantics {
                LengthSemantics::Byte => (*length, "B"),
                LengthSemantics::Char => (length.saturating_mul(4).min(32767), "C"),
            };
            (
                name.to_owned(),
                bytes,
                None,
                None,
                *length,
                Some(used.to_owned()),
            )
        }
        T::NChar { length } | T::NVarchar2 { length } => {
            let name = if matches!(def.data_type, T::NChar { .. }) {
                "NCHAR"
            } else {
                "NVARCHAR2"
            };
            (
                name.to_owned(),
                length * 2,
                None,
                None,
                *length,
                Some("C".to_owned()),
            )
        }
        T::Raw { length } => ("RAW".to_owned(), *length, None, None, 0, None),
        T::Timestamp {
            fractional_precision,
        }
        | T::TimestampTz {
            fractional_precision,
        }
        | T::TimestampLtz {
            fractional_precision,
        } => (
            def.data_type.to_string(),
            // Oracle's storage sizes: 13 bytes with a zone, 11 without.
            if matches!(def.data_type, T::TimestampTz { .. }) {
                13
            } else {
                11
            },
            None,
            Some(i32::from(*fractional_precision)),
            0,
            None,
        ),
        T::IntervalYearToMonth { year_precision } => (
            def.data_type.to_string(),
            5,
            Some(u32::from(*year_precision)),
            Some(0),
            0,
            None,
        ),
        T::IntervalDayToSecond {
            day_precision,
            fractional_precision,
        } => (
            def.data_type.to_string(),
            11,
            Some(u32::from(*day_precision)),
            Some(i32::from(*fractional_precision)),
            0,
            None,
        ),
        T::Other { name, .. } => (name.clone(), 0, None, None, 0, None),
        T::URowId { length } => ("UROWID".to_owned(), *length, None, None, 0, None),
        // DATA_LENGTH as ALL_TAB_COLS reports it for the fixed-size types.
        other => {
            let length = match other {
                T::BinaryFloat => 4,
                T::BinaryDouble => 8,
                T::Date => 7,
                T::Clob | T::NClob | T::Blob | T::Bfile => 4000,
                T::RowId => 10,
                T::Json => 8200,
                T::Boolean => 1,
                _ => 0,
            };
            (other.to_string(), length, None, None, 0, None)
        }
    };
    let data_type_owner = match &def.data_type {
        T::Other { owner, .. } => owner.clone(),
        T::XmlType => Some("SYS".to_owned()),
        _ => None,
    };
    ColumnRow {
        owner: owner.to_owned(),
        table_name: table.to_owned(),
        column_id: Some(column_id),
        column_name: def.name.clone(),
        data_type,
        data_type_owner,
        data_length: Some(length),
        data_precision: precision,
        data_scale: scale,
        char_length: Some(char_length),
        char_used,
        nullable: if def.nullable { "Y" } else { "N" }.to_owned(),
        virtual_column: Some("NO".to_owned()),
        hidden_column: Some("NO".to_owned()),
        identity_column: Some("NO".to_owned()),
    }
}

/// Oracle's LIKE with `\` as ESCAPE: `%` any run, `_` one character.
pub fn like_match(pattern: &str, text: &str) -> bool {
    let mut glob = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('*') => glob.push_str("\u{0}*"),
                Some('?') => glob.push_str("\u{0}?"),
                Some(next) => glob.push(next),
                None => glob.push('\\'),
            },
            '%' => glob.push('*'),
            '_' => glob.push('?'),
            '*' | '?' => {
                glob.push('\u{0}');
                glob.push(c);
            }
            c => glob.push(c),
        }
    }
    like_glob(
        &glob.chars().collect::<Vec<_>>(),
        &text.chars().collect::<Vec<_>>(),
    )
}

/// Glob where `\0` before `*`/`?` makes them literal.
fn like_glob(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('\u{0}') => !t.is_empty() && p.get(1) == t.first() && like_glob(&p[2..], &t[1..]),
        Some('*') => (0..=t.len()).any(|i| like_glob(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && like_glob(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && like_glob(&p[1..], &t[1..]),
    }
}

impl SimBackend {
    /// Opens (creating when missing) the simulated database in `dir`.
    pub fn open(dir: &Path) -> DbResult<SimBackend> {
        Self::open_with(dir, SimOptions::default())
    }

    /// Opens `dir`; a new database is created with `options`, an existing one keeps its own.
    pub fn open_with(dir: &Path, options: SimOptions) -> DbResult<SimBackend> {
        std::fs::create_dir_all(dir).map_err(|e| {
            DbError::Config(format!(
                "cannot create the simulated database folder {}: {e}",
                dir.display()
            ))
        })?;
        let file = dir.join(DATABASE_FILE);
        let conn = open_connection(&file)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS sim_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS sim_tables (owner TEXT NOT NULL, table_name TEXT NOT NULL,
                 definition TEXT NOT NULL, PRIMARY KEY (owner, table_name));
             CREATE TABLE IF NOT EXISTS sim_sequence (id INTEGER PRIMARY KEY AUTOINCREMENT);",
        )
        .map_err(sql_err)?;
        redo::init(&conn)?;
        let stored: Option<String> = conn
            .query_row(
                "SELECT value FROM sim_meta WHERE key = 'options'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_err)?;
        let options = match stored {
            Some(text) => serde_json::from_str(&text)
                .map_err(|e| DbError::Config(format!("corrupt simulated database options: {e}")))?,
            None => {
                let text = serde_json::to_string(&options).expect("options serialize");
                conn.execute(
                    "INSERT OR IGNORE INTO sim_meta (key, value) VALUES ('options', ?1)",
                    [text],
                )
                .map_err(sql_err)?;
                options
            }
        };
        Ok(SimBackend { file, options })
    }

    pub fn options(&self) -> &SimOptions {
        &self.options
    }

    /// A session (reader and writer) on this database.
    pub fn session(&self) -> DbResult<SimSession> {
        Ok(SimSession {
            conn: open_connection(&self.file)?,
            options: self.options.clone(),
            in_transaction: false,
            redo: session_redo::SessionRedo::default(),
        })
    }

    /// Creates the tables `rows` describes (committed).
    pub fn load_dictionary(&self, rows: &DictionaryRows) -> DbResult<()> {
        let mut session = self.session()?;
        for table in &rows.tables {
            let mut columns: Vec<&ColumnRow> = rows
                .columns
                .iter()
                .filter(|c| {
                    c.owner == table.owner && c.table_name == table.table_name && !c.is_hidden()
                })
                .collect();
            columns.sort_by_key(|c| c.column_id.unwrap_or(u32::MAX));
            let constraints: Vec<ConstraintRow> = rows
                .constraints
                .iter()
                .filter(|k| k.owner == table.owner && k.table_name == table.table_name)
                .cloned()
                .collect();
            session.create_stored(
                table.clone(),
                columns.into_iter().map(|c| (c.clone(), None)).collect(),
                constraints,
            )?;
        }
        session.commit()
    }

    /// Inserts rows and commits (test and demo set-up).
    pub fn insert_rows(
        &self,
        owner: &str,
        table: &str,
        columns: &[String],
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> DbResult<u64> {
        Self::insert_with(self.session()?, owner, table, columns, rows)
    }

    /// Inserts rows and commits as a direct-path NOLOGGING load: no redo for the rows
    /// (as Oracle's `INSERT /*+ APPEND */` into a NOLOGGING table), for bulk set-ups
    /// such as `sim-admin generate`.
    pub fn load_rows(
        &self,
        owner: &str,
        table: &str,
        columns: &[String],
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> DbResult<u64> {
        Self::insert_with(self.nologging_session()?, owner, table, columns, rows)
    }

    fn insert_with(
        mut session: SimSession,
        owner: &str,
        table: &str,
        columns: &[String],
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> DbResult<u64> {
        let name = TableName {
            schema: Some(owner.to_owned()),
            name: table.to_owned(),
        };
        let mut count = 0;
        let mut chunk = Vec::with_capacity(1000);
        for row in rows {
            chunk.push(row);
            if chunk.len() == 1000 {
                session.insert_rows(&name, columns, &chunk)?;
                count += chunk.len() as u64;
                chunk.clear();
            }
        }
        session.insert_rows(&name, columns, &chunk)?;
        count += chunk.len() as u64;
        session.commit()?;
        Ok(count)
    }

    /// Every committed row, all columns in column order, ordered by primary key (else
    /// by insertion), for assertions.
    pub fn read_rows(&self, owner: &str, table: &str) -> DbResult<Vec<Vec<Value>>> {
        let mut session = self.session()?;
        let stored = session.stored(owner, table)?;
        let key = stored.primary_key();
        let request = ScanRequest {
            owner: owner.to_owned(),
            table: table.to_owned(),
            columns: stored
                .columns
                .iter()
                .map(|c| c.row.column_name.clone())
                .collect(),
            order: if key.is_empty() {
                ScanOrder::RowId
            } else {
                ScanOrder::Columns(key.clone())
            },
            lower_bound: None,
            as_of_scn: None,
            fetch_array_size: 1000,
            prefetch_rows: 1000,
        };
        let mut rows = Vec::new();
        let width = request.columns.len();
        session.scan(&request, &mut |row| {
            rows.push(row[..width].to_vec());
            Ok(())
        })?;
        Ok(rows)
    }

    /// How many committed rows a table holds.
    pub fn row_count(&self, owner: &str, table: &str) -> DbResult<u64> {
        let session = self.session()?;
        let stored = session.stored(owner, table)?;
        let count: i64 = session
            .conn
            .query_row(
                &format!("SELECT count(*) FROM {}", stored.physical),
                [],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        Ok(count as u64)
    }

    /// The column names of a table in column order.
    pub fn column_names(&self, owner: &str, table: &str) -> DbResult<Vec<String>> {
        let session = self.session()?;
        Ok(session
            .stored(owner, table)?
            .columns
            .iter()
            .map(|c| c.row.column_name.clone())
            .collect())
    }
}

impl Backend for SimBackend {
    fn check(&self) -> DbResult<CheckReport> {
        Ok(CheckReport {
            client_version: None,
            server: Source::server_info(&mut self.session()?)?,
            privileges: Vec::new(),
            log_mining: Some(self.session()?.facts()?),
        })
    }

    fn source(&self) -> DbResult<Box<dyn Source + Send>> {
        Ok(Box::new(self.session()?))
    }

    fn sink(&self) -> DbResult<Box<dyn Sink + Send>> {
        Ok(Box::new(self.session()?))
    }
}

fn open_connection(file: &Path) -> DbResult<Connection> {
    let conn = Connection::open(file).map_err(sql_err)?;
    conn.busy_timeout(Duration::from_secs(60))
        .map_err(sql_err)?;
    // WAL: readers never block the writer; synchronous=NORMAL survives a killed process.
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;")
        .map_err(sql_err)?;
    Ok(conn)
}

/// One session on a simulated database: a SQLite connection with at most one open
/// transaction, begun by the first write and ended by commit or rollback.
pub struct SimSession {
    conn: Connection,
    options: SimOptions,
    in_transaction: bool,
    redo: session_redo::SessionRedo,
}

impl SimSession {
    fn schema_of(&self, name: &TableName) -> String {
        name.schema
            .clone()
            .unwrap_or_else(|| self.options.user.clone())
    }

    fn stored_opt(&self, owner: &str, table: &str) -> DbResult<Option<StoredTable>> {
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

    fn stored(&self, owner: &str, table: &str) -> DbResult<StoredTable> {
        self.stored_opt(owner, table)?.ok_or_else(|| {
            DbError::ora(
                942,
                format!("table or view \"{owner}\".\"{table}\" does not exist"),
            )
        })
    }

    fn save(&self, stored: &StoredTable) -> DbResult<()> {
        let text = serde_json::to_string(stored).expect("definition serializes");
        self.conn
            .execute(
                "INSERT OR REPLACE INTO sim_tables (owner, table_name, definition) VALUES (?1, ?2, ?3)",
                params![stored.table.owner, stored.table.table_name, text],
            )
            .map_err(sql_err)?;
        Ok(())
    }

    fn begin(&mut self) -> DbResult<()> {
        if !self.in_transaction {
            self.conn
                .execute_batch("BEGIN IMMEDIATE")
                .map_err(sql_err)?;
            self.in_transaction = true;
            if let Err(e) = self.redo.begin(&self.conn) {
                self.rollback()?;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Ends a batch begun with `SAVEPOINT batch`: kept when it succeeded; otherwise it
    /// leaves nothing behind, while earlier batches of the transaction stay.
    fn end_batch(&self, result: DbResult<()>) -> DbResult<()> {
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

    fn check_identifier(&self, name: &str) -> DbResult<()> {
        if name.is_empty() || name.contains('"') || name.contains('\0') {
            return Err(DbError::ora(904, format!("\"{name}\": invalid identifier")));
        }
        if name.len() > self.options.max_identifier_bytes as usize {
            return Err(DbError::ora(
                972,
                format!(
                    "identifier is too long: \"{name}\" has {} bytes, the limit is {}",
                    name.len(),
                    self.options.max_identifier_bytes
                ),
            ));
        }
        Ok(())
    }

    fn create_stored(
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
            &redo::Record {
                op: redo::op::DDL,
                obj: session_redo::object_id(&stored.physical),
                version: stored.version,
                info: Some(&info),
                ..redo::Record::default()
            },
        )
    }

    /// Values for every stored column of one row, coerced and checked; columns not
    /// given are NULL.
    fn prepare_row(
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
    fn ddl(&mut self, change: impl FnOnce(&mut SimSession) -> DbResult<()>) -> DbResult<()> {
        self.commit()?;
        match change(self) {
            Ok(()) => self.commit(),
            Err(e) => {
                self.rollback()?;
                Err(e)
            }
        }
    }

    fn alter_stored(&mut self, table: &TableName, change: &AlterTable) -> DbResult<()> {
        let owner = self.schema_of(table);
        let mut stored = self.stored(&owner, &table.name)?;
        self.check_no_pending(&stored)?;
        self.begin()?;
        match change {
            AlterTable::AddColumn(def) => {
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
                    row: column_row(&owner, &table.name, id, def),
                    physical,
                    check: check_to_text(def.check),
                });
            }
            AlterTable::ModifyColumn(def) => {
                let position = Self::positions(&stored, std::slice::from_ref(&def.name))?[0];
                let column = stored.columns[position].clone();
                // Every existing value must fit the new type, as Oracle checks.
                let sql = format!(
                    "SELECT {} FROM {} WHERE {0} IS NOT NULL",
                    column.physical, stored.physical
                );
                let mut statement = self.conn.prepare(&sql).map_err(sql_err)?;
                let mut rows = statement.query([]).map_err(sql_err)?;
                let target = Target {
                    owner: &owner,
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
                            format!(
                                "cannot decrease column length because some value is too big ({e})"
                            ),
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
                stored.columns[position].row = column_row(&owner, &table.name, id, def);
                stored.columns[position].check = check_to_text(def.check);
            }
            AlterTable::RenameColumn { from, to } => {
                self.check_identifier(to)?;
                if stored.column(to).is_some() {
                    return Err(DbError::ora(957, format!("duplicate column name \"{to}\"")));
                }
                let position = Self::positions(&stored, std::slice::from_ref(from))?[0];
                stored.columns[position].row.column_name = to.clone();
                for k in stored
                    .constraints
                    .iter_mut()
                    .filter(|k| &k.column_name == from)
                {
                    k.column_name = to.clone();
                }
            }
            AlterTable::CopyColumn { from, to } => {
                let positions = Self::positions(&stored, &[from.clone(), to.clone()])?;
                let (source, dest) = (&stored.columns[positions[0]], &stored.columns[positions[1]]);
                let dest_type = OracleType::from_column(&dest.row);
                let target = Target {
                    owner: &owner,
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
                            let value =
                                codec::decode(blob.as_deref()).map_err(|e| DbError::Database {
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
            }
            AlterTable::DropColumn(name) => {
                let position = Self::positions(&stored, std::slice::from_ref(name))?[0];
                if stored.primary_key().contains(name) {
                    return Err(DbError::ora(
                        12991,
                        format!("column \"{name}\" is referenced in a multi-column constraint"),
                    ));
                }
                stored.columns.remove(position);
            }
        }
        stored.version += 1;
        self.save(&stored)?;
        let what = match change {
            AlterTable::AddColumn(_) => "ALTER TABLE ADD",
            AlterTable::ModifyColumn(_) => "ALTER TABLE MODIFY",
            AlterTable::RenameColumn { .. } => "ALTER TABLE RENAME COLUMN",
            AlterTable::CopyColumn { .. } => "UPDATE (copy column)",
            AlterTable::DropColumn(_) => "ALTER TABLE DROP COLUMN",
        };
        self.record_ddl(&stored, what)
    }

    fn positions(stored: &StoredTable, columns: &[String]) -> DbResult<Vec<usize>> {
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

    fn encode_bound(
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

    fn filter_sql(
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
        })
    }
}

/// A failure of row `row` of a batch, as array DML with batch errors reports it.
fn rejected_row(row: usize, e: DbError) -> DbError {
    DbError::RowRejected {
        row,
        code: e.ora_code(),
        message: match e {
            DbError::Database { message, .. } => message,
            other => other.to_string(),
        },
    }
}

fn row_to_values(
    row: &rusqlite::Row<'_>,
    width: usize,
    out: &mut Vec<Value>,
) -> rusqlite::Result<Result<(), String>> {
    out.clear();
    for i in 0..width {
        let blob = match row.get_ref(i + 1)? {
            rusqlite::types::ValueRef::Blob(b) => Some(b),
            _ => None,
        };
        match codec::decode(blob) {
            Ok(v) => out.push(v),
            Err(e) => return Ok(Err(e)),
        }
    }
    Ok(Ok(()))
}

impl Source for SimSession {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Ok(ServerInfo {
            version: format!(
                "Simulated backend (presenting as Oracle {} rules)",
                self.options.major_version
            ),
            major_version: self.options.major_version,
            max_identifier_bytes: self.options.max_identifier_bytes,
            max_string_bytes: self.options.max_string_bytes,
            user: self.options.user.clone(),
            current_schema: self.options.user.clone(),
        })
    }

    fn read_dictionary(&mut self, scope: &DictionaryScope) -> DbResult<DictionaryRows> {
        let mut statement = self
            .conn
            .prepare("SELECT definition FROM sim_tables ORDER BY owner, table_name")
            .map_err(sql_err)?;
        let definitions: Vec<String> = statement
            .query_map([], |r| r.get(0))
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        let mut rows = DictionaryRows::default();
        for text in definitions {
            let stored: StoredTable =
                serde_json::from_str(&text).map_err(|e| DbError::Database {
                    code: None,
                    message: format!("corrupt simulated table definition: {e}"),
                })?;
            let (owner, table) = (&stored.table.owner, &stored.table.table_name);
            let admitted = (scope.schemas.is_empty() || scope.schemas.contains(owner))
                && (scope.include.is_empty()
                    || scope
                        .include
                        .iter()
                        .any(|p| like_match(&p.owner, owner) && like_match(&p.table, table)))
                && !scope
                    .exclude
                    .iter()
                    .any(|p| like_match(&p.owner, owner) && like_match(&p.table, table));
            if !admitted {
                continue;
            }
            rows.tables.push(stored.table.clone());
            rows.columns
                .extend(stored.columns.iter().map(|c| c.row.clone()));
            rows.constraints.extend(stored.constraints.iter().cloned());
        }
        Ok(rows)
    }

    fn current_scn(&mut self) -> DbResult<u64> {
        self.scn()
    }

    fn database_identity(&mut self) -> DbResult<db_boundary::DatabaseIdentity> {
        self.identity()
    }

    fn redo_logs(&mut self, from_scn: u64) -> DbResult<Vec<db_boundary::RedoLog>> {
        redo::list_logs(&self.conn, from_scn)
    }

    fn snapshot_point(&mut self) -> DbResult<db_boundary::SnapshotPoint> {
        self.snapshot_point_now()
    }

    fn mined_table_info(
        &mut self,
        owner: &str,
        table: &str,
    ) -> DbResult<db_boundary::MinedTableInfo> {
        self.table_info(owner, table)
    }

    fn mine(
        &mut self,
        request: &db_boundary::MiningRequest,
        on_change: &mut dyn FnMut(&db_boundary::ChangeRow) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        self.mine_redo(request, on_change)
    }

    fn log_mining_facts(&mut self) -> DbResult<db_boundary::LogMiningFacts> {
        self.facts()
    }

    /// A read `AS OF SCN` is served only while that SCN is still the latest (no commit
    /// since), when the snapshot and the current data are the same thing; the store
    /// keeps no history, so an older SCN is refused rather than answered wrongly.
    fn scan(
        &mut self,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let Some(wanted) = request.as_of_scn else {
            return self.scan_now(request, on_row);
        };
        // One read transaction: the SCN check and the rows see the same snapshot.
        let own_read = !self.in_transaction;
        if own_read {
            self.conn.execute_batch("BEGIN").map_err(sql_err)?;
        }
        let result = match self.scn() {
            Ok(current) if wanted == current => self.scan_now(request, on_row),
            Ok(current) if wanted > current => Err(DbError::ora(
                8181,
                format!("specified number is not a valid system change number ({wanted}; the latest is {current})"),
            )),
            Ok(_) => self.scan_as_of(request, wanted, on_row),
            Err(e) => Err(e),
        };
        if own_read {
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
        }
        result
    }
}

impl SimSession {
    /// A read AS OF an older SCN, from a copy of the table with the later changes undone.
    fn scan_as_of(
        &mut self,
        request: &ScanRequest,
        scn: u64,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let stored = self.stored(&request.owner, &request.table)?;
        let copy = self.flashback_copy(&stored, scn)?;
        let result = self.scan_stored(&copy, request, on_row);
        self.drop_flashback_copy();
        result
    }

    /// The last SCN handed out: every redo record and every commit takes one.
    fn scn(&self) -> DbResult<u64> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM sim_meta WHERE key = 'scn'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql_err)?;
        Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    fn scan_now(
        &mut self,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let stored = self.stored(&request.owner, &request.table)?;
        self.scan_stored(&stored, request, on_row)
    }

    fn scan_stored(
        &mut self,
        stored: &StoredTable,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let physical = |name: &String| {
            stored
                .column(name)
                .map(|c| c.physical.clone())
                .ok_or_else(|| DbError::ora(904, format!("\"{name}\": invalid identifier")))
        };
        let selected: Vec<String> = request
            .columns
            .iter()
            .map(physical)
            .collect::<DbResult<_>>()?;
        let mut sql = format!(
            "SELECT rid{}{} FROM {}",
            if selected.is_empty() { "" } else { ", " },
            selected.join(", "),
            stored.physical
        );
        let mut binds: Vec<Option<Vec<u8>>> = Vec::new();
        // Each order column as compared (left) with its bound placeholder (right).
        let order_columns: Vec<(String, String)> = match &request.order {
            ScanOrder::Columns(cols) => {
                cols.iter()
                    .map(|name| {
                        stored.column(name).map(|c| c.compared("?")).ok_or_else(|| {
                            DbError::ora(904, format!("\"{name}\": invalid identifier"))
                        })
                    })
                    .collect::<DbResult<_>>()?
            }
            _ => Vec::new(),
        };
        let left: Vec<&str> = order_columns.iter().map(|(l, _)| l.as_str()).collect();
        let right: Vec<&str> = order_columns.iter().map(|(_, r)| r.as_str()).collect();
        match (&request.lower_bound, &request.order) {
            (None, _) => {}
            (Some(LowerBound::After(values)), ScanOrder::Columns(cols))
                if values.len() == cols.len() =>
            {
                sql.push_str(&format!(
                    " WHERE ({}) > ({})",
                    left.join(", "),
                    right.join(", ")
                ));
                for (col, value) in cols.iter().zip(values) {
                    binds.push(self.encode_bound(stored, col, value)?);
                }
            }
            (Some(LowerBound::AtLeast(value)), ScanOrder::Columns(cols)) if cols.len() == 1 => {
                sql.push_str(&format!(" WHERE {} >= {}", left[0], right[0]));
                binds.push(self.encode_bound(stored, &cols[0], value)?);
            }
            (Some(LowerBound::AfterRowId(rowid)), ScanOrder::RowId) => {
                let rid: i64 = rowid
                    .strip_prefix("SIMROWID")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| DbError::ora(1410, format!("invalid ROWID {rowid}")))?;
                sql.push_str(&format!(" WHERE rid > {rid}"));
            }
            (Some(bound), order) => {
                return Err(DbError::Unsupported(format!(
                    "lower bound {bound:?} does not fit the order {order:?}"
                )))
            }
        }
        match &request.order {
            ScanOrder::Unordered => {}
            ScanOrder::RowId => sql.push_str(" ORDER BY rid"),
            ScanOrder::Columns(_) => {
                sql.push_str(&format!(" ORDER BY {}", left.join(", ")));
            }
        }
        let mut statement = self.conn.prepare(&sql).map_err(sql_err)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(binds.iter()))
            .map_err(sql_err)?;
        let width = selected.len();
        let with_rowid = request.order == ScanOrder::RowId;
        let mut values = Vec::with_capacity(width + 1);
        let mut count = 0u64;
        while let Some(row) = rows.next().map_err(sql_err)? {
            row_to_values(row, width, &mut values)
                .map_err(sql_err)?
                .map_err(|e| DbError::Database {
                    code: None,
                    message: format!("corrupt stored value: {e}"),
                })?;
            if with_rowid {
                let rid: i64 = row.get(0).map_err(sql_err)?;
                values.push(Value::Text(format!("SIMROWID{rid:012}")));
            }
            on_row(&values).map_err(DbError::Aborted)?;
            count += 1;
        }
        Ok(count)
    }
}

impl Sink for SimSession {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Source::server_info(self)
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
        let owner = self.schema_of(&def.name);
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
        self.ddl(|session| session.alter_stored(table, change))
    }

    fn insert_rows(
        &mut self,
        table: &TableName,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let owner = self.schema_of(table);
        let stored = self.stored(&owner, &table.name)?;
        let positions = Self::positions(&stored, columns)?;
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
                let encoded = Self::prepare_row(&stored, &positions, row).map_err(reject)?;
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
        columns: &[String],
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
        let positions = Self::positions(&stored, columns)?;
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
        let result = (|| -> DbResult<()> {
            self.check_no_pending(&stored)?;
            let all_logged = session_redo::all_columns_logged(&self.conn, &owner, &table.name)?;
            let set: Vec<String> = positions
                .iter()
                .filter(|p| !key_positions.contains(p))
                .map(|p| format!("{} = ?", stored.columns[*p].physical))
                .collect();
            let matched: Vec<String> = key_positions
                .iter()
                .map(|p| {
                    let (left, right) = stored.columns[*p].compared("?");
                    format!("{left} = {right}")
                })
                .collect();
            let update = (!set.is_empty()).then(|| {
                format!(
                    "UPDATE {} SET {} WHERE {}",
                    stored.physical,
                    set.join(", "),
                    matched.join(" AND ")
                )
            });
            let physical: Vec<&str> = stored.columns.iter().map(|c| c.physical.as_str()).collect();
            let existing = format!(
                "SELECT rid, {} FROM {} WHERE {} LIMIT 1",
                physical.join(", "),
                stored.physical,
                matched.join(" AND ")
            );
            let insert = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                stored.physical,
                physical.join(", "),
                vec!["?"; physical.len()].join(", ")
            );
            for (i, row) in rows.iter().enumerate() {
                let reject = |e: DbError| rejected_row(i, e);
                let encoded = Self::prepare_row(&stored, &positions, row).map_err(reject)?;
                let key_values: Vec<&Option<Vec<u8>>> =
                    key_positions.iter().map(|p| &encoded[*p]).collect();
                let found = self
                    .conn
                    .prepare_cached(&existing)
                    .map_err(sql_err)?
                    .query_row(rusqlite::params_from_iter(key_values.iter()), |r| {
                        session_redo::stored_row(r, stored.columns.len())
                    })
                    .optional()
                    .map_err(sql_err)?;
                if let Some((rid, old_row)) = found {
                    if let Some(update) = &update {
                        let mut binds: Vec<&Option<Vec<u8>>> = positions
                            .iter()
                            .filter(|p| !key_positions.contains(p))
                            .map(|p| &encoded[*p])
                            .collect();
                        binds.extend(key_values.iter().copied());
                        self.conn
                            .prepare_cached(update)
                            .map_err(sql_err)?
                            .execute(rusqlite::params_from_iter(binds.iter()))
                            .map_err(sql_err)?;
                        let changed: Vec<usize> = positions
                            .iter()
                            .copied()
                            .filter(|p| !key_positions.contains(p))
                            .collect();
                        let (new_image, old_image) = session_redo::update_images(
                            &numbers, &changed, &encoded, &old_row, all_logged,
                        );
                        self.redo.record(
                            &self.conn,
                            &redo::Record {
                                op: redo::op::UPDATE,
                                obj,
                                version: stored.version,
                                rid: Some(rid),
                                new_image: Some(&new_image),
                                old_image: Some(&old_image),
                                ..redo::Record::default()
                            },
                        )?;
                    }
                } else {
                    self.conn
                        .prepare_cached(&insert)
                        .map_err(sql_err)?
                        .execute(rusqlite::params_from_iter(encoded.iter()))
                        .map_err(sql_err)?;
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
            }
            Ok(())
        })();
        if result.is_err() {
            self.redo.restore(mark);
        }
        self.end_batch(result)
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
