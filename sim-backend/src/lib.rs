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
//! Session attributes (MODULE, ACTION, CLIENT_IDENTIFIER) are recorded in
//! `sessions.jsonl` beside the database file, standing in for V$SESSION (see `context`).
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
mod context;
mod mining;
mod redo;
pub mod rules;
pub mod seed;
mod session;
mod session_redo;
mod sink;
mod source;
mod store;
pub mod workload;

pub use context::{recorded_contexts, RecordedContext};
pub use session::SimSession;
use store::sql_err;
pub use store::{column_row, like_match};

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows};

use db_boundary::{
    scan_into, Backend, CheckReport, DbError, DbResult, FetchTuning, KeyRange, Scan, ScanError,
    ScanRange, ScannedRow, Sink, Source, TableName, TableRef, Value,
};

pub(crate) const DATABASE_FILE: &str = "sim.sqlite";

/// How a new simulated database presents itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOptions {
    /// 23 gives BOOLEAN and JSON; 19 makes the target use its fallbacks.
    pub major_version: u32,
    /// 128 (12.2 and later) or 30; a COMPATIBLE below 12.2 makes it 30 whatever this says.
    pub max_identifier_bytes: u32,
    /// The COMPATIBLE parameter (`19.0.0`); `None`: the release's own. As on Oracle, the
    /// JSON type needs 20 (else ORA-00406) and 128-byte names 12.2 (else ORA-00972), so
    /// an upgraded database with an old COMPATIBLE refuses both.
    #[serde(default)]
    pub compatible: Option<String>,
    pub max_string_bytes: u32,
    /// The session user, also the current schema.
    pub user: String,
    /// The system privileges the user holds (default: every one `--test` reports). The
    /// store enforces them as Oracle does: without CREATE SESSION no session opens
    /// (ORA-01045); without SELECT ANY TABLE other schemas' tables are absent from the
    /// dictionary and a scan of one is ORA-00942; without FLASHBACK ANY TABLE an `AS
    /// OF SCN` read of another schema's table is ORA-01031; without CREATE TABLE the user
    /// cannot create a table in its own schema (ORA-01031).
    #[serde(default = "all_privileges")]
    pub privileges: Vec<String>,
}

fn all_privileges() -> Vec<String> {
    db_boundary::PRIVILEGES_THAT_MATTER
        .iter()
        .map(|p| (*p).to_owned())
        .collect()
}

impl SimOptions {
    /// COMPATIBLE's level, or the release's (presented as `major.0`).
    pub fn compatibility(&self) -> (u32, u32) {
        self.compatible
            .as_deref()
            .and_then(db_boundary::compatible_level)
            .unwrap_or((self.major_version, 0))
    }

    /// The identifier limit in force: the configured one, 30 below COMPATIBLE 12.2.
    pub fn identifier_bytes(&self) -> u32 {
        if self.compatibility() < (12, 2) {
            self.max_identifier_bytes.min(30)
        } else {
            self.max_identifier_bytes
        }
    }
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            major_version: 23,
            max_identifier_bytes: 128,
            compatible: None,
            max_string_bytes: 4000,
            user: "SIM_USER".to_owned(),
            privileges: all_privileges(),
        }
    }
}

/// A simulated database in a directory.
#[derive(Debug, Clone)]
pub struct SimBackend {
    pub(crate) file: PathBuf,
    pub(crate) options: SimOptions,
}

impl SimBackend {
    /// Opens (creating when missing) the simulated database in `dir`.
    pub fn open(dir: &Path) -> DbResult<SimBackend> {
        Self::open_with(dir, SimOptions::default())
    }

    /// Opens the simulated database in `dir`, which must exist: a reader (the tap) never
    /// creates an empty database because its path has a typo.
    pub fn open_existing(dir: &Path) -> DbResult<SimBackend> {
        if !dir.join(DATABASE_FILE).is_file() {
            return Err(DbError::Config(format!(
                "sim_path: no simulated database at {}; make one with `sim-admin seed {} <sample folder>` (or `sim-admin generate`)",
                dir.display(),
                dir.display()
            )));
        }
        Self::open(dir)
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
             CREATE TABLE IF NOT EXISTS sim_sequence (id INTEGER PRIMARY KEY AUTOINCREMENT);
             CREATE TABLE IF NOT EXISTS sim_users (name TEXT PRIMARY KEY);",
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

    /// What GRANT and REVOKE would do: from now on the user holds exactly these system
    /// privileges, in this handle and every later open of the store.
    pub fn set_privileges(&mut self, privileges: &[&str]) -> DbResult<()> {
        let mut options = self.options.clone();
        options.privileges = privileges.iter().map(|p| (*p).to_owned()).collect();
        let text = serde_json::to_string(&options).expect("options serialize");
        open_connection(&self.file)?
            .execute(
                "UPDATE sim_meta SET value = ?1 WHERE key = 'options'",
                [text],
            )
            .map_err(sql_err)?;
        self.options = options;
        Ok(())
    }

    /// A session (reader and writer) on this database.
    pub fn session(&self) -> DbResult<SimSession> {
        if !self
            .options
            .privileges
            .iter()
            .any(|p| p == "CREATE SESSION")
        {
            return Err(DbError::ora(
                1045,
                format!(
                    "user {} lacks CREATE SESSION privilege; logon denied",
                    self.options.user
                ),
            ));
        }
        Ok(SimSession {
            conn: open_connection(&self.file)?,
            options: self.options.clone(),
            in_transaction: false,
            dir: self
                .file
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default(),
            id: context::next_session_id(),
            context: None,
            redo: session_redo::SessionRedo::default(),
        })
    }

    /// `CREATE USER`: a schema tables can be created in. The session user and the
    /// owners of seeded tables exist already; an existing name fails with ORA-01920.
    pub fn create_user(&self, name: &str) -> DbResult<()> {
        let session = self.session()?;
        session.check_identifier(name)?;
        if session.user_exists(name)? {
            return Err(DbError::ora(
                1920,
                format!("user name '{name}' conflicts with another user or role name"),
            ));
        }
        session
            .conn
            .execute("INSERT INTO sim_users (name) VALUES (?1)", [name])
            .map_err(sql_err)?;
        Ok(())
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
        let columns = &db_boundary::column_defs(&mut session, &name, columns)?;
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
        let range = match KeyRange::new(key) {
            Ok(keyset) => ScanRange::Keyset(keyset),
            Err(_) if stored.table.is_view() || stored.table.is_external() => ScanRange::All,
            Err(_) => ScanRange::RowId {
                after: None,
                limit: None,
            },
        };
        let scan = Scan {
            table: TableRef {
                owner: owner.to_owned(),
                table: table.to_owned(),
            },
            columns: stored.scan_columns(),
            range,
            as_of_scn: None,
            tuning: FetchTuning::default(),
        };
        let mut rows = Vec::new();
        scan_into(&mut session, &scan, &mut |row: ScannedRow<'_>| {
            rows.push(row.values.to_vec());
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| match e {
            ScanError::Database(e) => e,
            ScanError::Stopped(never) => match never {},
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

    /// Every column of a table in column order with its type, as a read requests them.
    pub fn scan_columns(&self, owner: &str, table: &str) -> DbResult<Vec<db_boundary::ScanColumn>> {
        Ok(self.session()?.stored(owner, table)?.scan_columns())
    }
}

impl Backend for SimBackend {
    fn check(&self) -> DbResult<CheckReport> {
        Ok(CheckReport {
            client_version: None,
            server: Source::server_info(&mut self.session()?)?,
            privileges: db_boundary::PRIVILEGES_THAT_MATTER
                .iter()
                .map(|p| {
                    (
                        p.to_string(),
                        self.options.privileges.iter().any(|h| h == p),
                    )
                })
                .collect(),
            credentials: None,
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

/// How long a session waits for another's write lock, as a session waits for a row lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

fn open_connection(file: &Path) -> DbResult<Connection> {
    let conn = Connection::open(file).map_err(sql_err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(sql_err)?;
    // WAL: readers never block the writer; synchronous=NORMAL survives a killed process.
    // Turning a new file to WAL needs it alone, and SQLite answers "database is locked"
    // at once (no busy wait) while another process does the same: retry, as the busy
    // timeout would.
    let started = std::time::Instant::now();
    loop {
        match conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            other => {
                other.map_err(sql_err)?;
                return Ok(conn);
            }
        }
    }
}
