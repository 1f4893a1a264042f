//! What the tap asks of a database: its dictionary, a consistent point in time, and the
//! rows of one table in a given order from a given bookmark.
//!
//! Rows are pushed into a callback one at a time, so a full stdout pipe pauses fetching
//! and no backend ever holds a whole table.

use std::num::NonZeroU64;
use std::ops::ControlFlow;

use singer_core::dictionary::DictionaryRows;
use singer_core::oracle_type::OracleType;

use crate::redo::{
    ChangeRow, DatabaseIdentity, LogMiningFacts, MinedTableInfo, MiningRequest, RedoLog,
    SnapshotPoint,
};
use crate::{DbError, DbResult, ServerInfo, SessionContext, Value};

/// Which schemas and tables discovery reads. Patterns are bound as LIKE patterns by the
/// backend, never pasted into SQL.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DictionaryScope {
    /// Schemas to read, in exact case. Empty means every schema the user can see that
    /// Oracle does not maintain itself (ALL_USERS.ORACLE_MAINTAINED = 'N').
    pub schemas: Vec<String>,
    /// `OWNER.TABLE` LIKE patterns (`%` and `_`), any of which admits a table. Empty
    /// admits every table.
    pub include: Vec<TablePattern>,
    /// `OWNER.TABLE` LIKE patterns that remove a table even when included.
    pub exclude: Vec<TablePattern>,
}

/// A LIKE pattern over owner and table name, e.g. `HR` / `%` for `HR.*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePattern {
    pub owner: String,
    pub table: String,
}

/// A table or view to read, exact case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRef {
    pub owner: String,
    pub table: String,
}

/// Round-trip tuning of a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchTuning {
    /// Rows fetched per round trip.
    pub fetch_array_size: u32,
    /// Rows fetched with the execute call itself.
    pub prefetch_rows: u32,
}

impl Default for FetchTuning {
    fn default() -> Self {
        FetchTuning {
            fetch_array_size: 1000,
            prefetch_rows: 1000,
        }
    }
}

/// A ROWID as the database prints it (`ROWIDTOCHAR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowId(pub String);

/// Why a [`KeyRange`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyRangeError {
    #[error("a key range needs at least one key column")]
    NoKey,
    #[error("{values} bound values for {keys} key columns")]
    Arity { keys: usize, values: usize },
}

/// Rows ascending by a key (NULLS FIRST), strictly after one key tuple and at most
/// another, at most `limit` of them: one page or one chunk of a keyset pass. Built
/// only through its methods, so its bounds always match its key.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyRange {
    keys: Vec<String>,
    after: Option<Vec<Value>>,
    through: Option<Vec<Value>>,
    limit: Option<NonZeroU64>,
}

impl KeyRange {
    /// Every row, ascending by `keys`.
    pub fn new(keys: Vec<String>) -> Result<KeyRange, KeyRangeError> {
        if keys.is_empty() {
            return Err(KeyRangeError::NoKey);
        }
        Ok(KeyRange {
            keys,
            after: None,
            through: None,
            limit: None,
        })
    }

    fn arity(&self, values: &[Value]) -> Result<(), KeyRangeError> {
        if values.len() == self.keys.len() {
            Ok(())
        } else {
            Err(KeyRangeError::Arity {
                keys: self.keys.len(),
                values: values.len(),
            })
        }
    }

    /// Only rows whose key tuple is greater than `values` (lexicographically).
    pub fn after(mut self, values: Vec<Value>) -> Result<KeyRange, KeyRangeError> {
        self.arity(&values)?;
        self.after = Some(values);
        Ok(self)
    }

    /// Only rows whose key tuple is at most `values`.
    pub fn through(mut self, values: Vec<Value>) -> Result<KeyRange, KeyRangeError> {
        self.arity(&values)?;
        self.through = Some(values);
        Ok(self)
    }

    /// At most `rows` rows (one page).
    pub fn limit(mut self, rows: NonZeroU64) -> KeyRange {
        self.limit = Some(rows);
        self
    }

    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    pub fn lower(&self) -> Option<&[Value]> {
        self.after.as_deref()
    }

    pub fn upper(&self) -> Option<&[Value]> {
        self.through.as_deref()
    }

    pub fn row_limit(&self) -> Option<NonZeroU64> {
        self.limit
    }
}

/// Which rows a read returns and in which order. Each variant carries exactly what it
/// needs, so no order can be paired with a bound it cannot serve.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanRange {
    /// Every row once, in whatever order the database returns (views without a key:
    /// ROWID is refused on views that are not key-preserved, ORA-01445/01446).
    All,
    /// A keyset page or chunk (FULL_TABLE with a key).
    Keyset(KeyRange),
    /// Ascending by ROWID, after a ROWID, at most `limit` rows (tables without a key).
    /// Each row comes with its ROWID ([`ScannedRow::rowid`]).
    RowId {
        after: Option<RowId>,
        limit: Option<NonZeroU64>,
    },
    /// Ascending by one column (NULLS FIRST), at or above a value (INCREMENTAL; `>=` so
    /// rows sharing the boundary value are never lost).
    FromValue {
        column: String,
        at_least: Option<Value>,
    },
}

/// A column a read returns: its exact name and its Oracle type as the catalog recorded
/// it. A backend plans from the type alone how the column is selected and fetched (a
/// native JSON or VECTOR column is converted to text in SQL) and how a bound key value
/// for it is typed (a DATE key binds as DATE, a VARCHAR2 key as VARCHAR2).
#[derive(Debug, Clone, PartialEq)]
pub struct ScanColumn {
    pub name: String,
    pub data_type: OracleType,
}

impl ScanColumn {
    pub fn new(name: impl Into<String>, data_type: OracleType) -> ScanColumn {
        ScanColumn {
            name: name.into(),
            data_type,
        }
    }
}

/// One table read.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    pub table: TableRef,
    /// Columns to return, in this order. Key and bookmark columns of `range` must be
    /// among them (their types type the binds).
    pub columns: Vec<ScanColumn>,
    pub range: ScanRange,
    /// Read the table as of this SCN (flashback query) so a long pass sees one snapshot.
    pub as_of_scn: Option<u64>,
    pub tuning: FetchTuning,
}

impl Scan {
    /// Rows per fetch round trip: the asked `fetch_array_size`, fewer when the
    /// driver's define buffers for that many rows would pass the array budget
    /// ([`crate::arrays`]: a `VARCHAR2(4000)` column takes 16 KB a row whatever it holds).
    pub fn fetch_array_size(&self) -> u32 {
        crate::arrays::fetch_rows(
            &self.columns,
            matches!(self.range, ScanRange::RowId { .. }),
            self.tuning.fetch_array_size.max(1),
        )
    }

    /// The type of a column of the read (a key or bookmark column), or ORA-00904 as
    /// Oracle names a column that is not there.
    pub fn column_type(&self, name: &str) -> DbResult<&OracleType> {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.data_type)
            .ok_or_else(|| {
                DbError::ora(
                    904,
                    format!("\"{name}\": invalid identifier (not among the read's columns)"),
                )
            })
    }
}

/// A row as a scan delivers it: the requested columns, and its ROWID when the scan is
/// ordered by ROWID.
#[derive(Debug, Clone, Copy)]
pub struct ScannedRow<'a> {
    pub values: &'a [Value],
    pub rowid: Option<&'a str>,
}

/// Where a scan's rows go (ripgrep's `Sink` style): the consumer's own error type stops
/// the scan and comes back unchanged in [`ScanError::Stopped`].
pub trait RowSink {
    type Error;
    fn row(&mut self, row: ScannedRow<'_>) -> Result<(), Self::Error>;
}

impl<E, F> RowSink for F
where
    F: FnMut(ScannedRow<'_>) -> Result<(), E>,
{
    type Error = E;
    fn row(&mut self, row: ScannedRow<'_>) -> Result<(), E> {
        self(row)
    }
}

/// Why a scan ended early.
#[derive(Debug, thiserror::Error)]
pub enum ScanError<E> {
    #[error(transparent)]
    Database(#[from] DbError),
    /// The row sink refused a row; its error as it gave it.
    #[error("the scan was stopped by its consumer")]
    Stopped(E),
}

/// What a backend calls for each row: `Break` stops the scan.
pub type PushRow<'a> = dyn FnMut(ScannedRow<'_>) -> ControlFlow<()> + 'a;

/// Streams the rows of `scan` into `sink`, returning how many were read.
pub fn scan_into<S, K>(
    source: &mut S,
    scan: &Scan,
    sink: &mut K,
) -> Result<u64, ScanError<K::Error>>
where
    S: Source + ?Sized,
    K: RowSink,
{
    let mut stopped = None;
    let read = source.scan(scan, &mut |row| match sink.row(row) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            stopped = Some(e);
            ControlFlow::Break(())
        }
    });
    match (stopped, read) {
        (Some(e), _) => Err(ScanError::Stopped(e)),
        (None, Err(e)) => Err(ScanError::Database(e)),
        (None, Ok(n)) => Ok(n),
    }
}

/// The tap's side of the boundary.
pub trait Source {
    /// Version and limits of the server, for `--test` and feature checks.
    fn server_info(&mut self) -> DbResult<ServerInfo>;

    /// Names the session for the DBA (V$SESSION MODULE, ACTION, CLIENT_IDENTIFIER).
    fn set_context(&mut self, context: &SessionContext) -> DbResult<()>;

    /// The dictionary rows discovery needs, for the tables in `scope`.
    fn read_dictionary(&mut self, scope: &DictionaryScope) -> DbResult<DictionaryRows>;

    /// The current system change number, to fix a flashback snapshot at a sync's start.
    fn current_scn(&mut self) -> DbResult<u64>;

    /// Splits a table into `chunks` ranges of about equal row counts by its key (NTILE
    /// over the key, read as of `as_of_scn`): the last key tuple of every range but the
    /// last, ascending. Fewer come back when the table has fewer rows.
    fn chunk_bounds(
        &mut self,
        table: &TableRef,
        keys: &[ScanColumn],
        chunks: u32,
        as_of_scn: Option<u64>,
    ) -> DbResult<Vec<Vec<Value>>>;

    /// Pushes the rows of one read into `push` until it breaks, returning how many were
    /// pushed. Engines call [`scan_into`] with a [`RowSink`].
    fn scan(&mut self, scan: &Scan, push: &mut PushRow<'_>) -> DbResult<u64>;

    // LOG_BASED (see `crate::redo` and docs/log-based.md). Backends that cannot mine redo
    // keep these defaults, which say so.

    /// Which database and incarnation this is.
    fn database_identity(&mut self) -> DbResult<DatabaseIdentity> {
        Err(unsupported())
    }

    /// Online logs not yet archived and archived logs (first valid local destination,
    /// current incarnation, purged ones included and marked) whose redo reaches past
    /// `from_scn`, in thread and sequence order.
    fn redo_logs(&mut self, from_scn: u64) -> DbResult<Vec<RedoLog>> {
        let _ = from_scn;
        Err(unsupported())
    }

    /// The SCN a LOG_BASED snapshot is read AS OF, and where mining must start so that
    /// the transactions open at that moment are read whole.
    fn snapshot_point(&mut self) -> DbResult<SnapshotPoint> {
        Err(unsupported())
    }

    /// Object ids and supplemental logging of a table to be mined.
    fn mined_table_info(&mut self, owner: &str, table: &str) -> DbResult<MinedTableInfo> {
        let _ = (owner, table);
        Err(unsupported())
    }

    /// One mining session: starts it on `request` (adding its logs), pushes every row
    /// into `push` in redo order until it breaks, and always ends it, also on failure.
    /// Returns how many rows were pushed. Engines call [`mine_into`].
    fn mine(&mut self, request: &MiningRequest, push: &mut PushChange<'_>) -> DbResult<u64> {
        let _ = (request, push);
        Err(unsupported())
    }

    /// What LOG_BASED needs and whether the database and session have it, for `--test`.
    fn log_mining_facts(&mut self) -> DbResult<LogMiningFacts> {
        Err(unsupported())
    }
}

fn unsupported() -> DbError {
    DbError::Unsupported("this backend cannot mine redo (LOG_BASED replication)".into())
}

/// What a backend calls for each row of a mining session: `Break` stops it.
pub type PushChange<'a> = dyn FnMut(&ChangeRow) -> ControlFlow<()> + 'a;

/// Streams one mining session into `sink` (a closure over each [`ChangeRow`]); the
/// sink's error stops the session and comes back unchanged in [`ScanError::Stopped`].
pub fn mine_into<S, E>(
    source: &mut S,
    request: &MiningRequest,
    sink: &mut dyn FnMut(&ChangeRow) -> Result<(), E>,
) -> Result<u64, ScanError<E>>
where
    S: Source + ?Sized,
{
    let mut stopped = None;
    let read = source.mine(request, &mut |row| match sink(row) {
        Ok(()) => ControlFlow::Continue(()),
        Err(e) => {
            stopped = Some(e);
            ControlFlow::Break(())
        }
    });
    match (stopped, read) {
        (Some(e), _) => Err(ScanError::Stopped(e)),
        (None, Err(e)) => Err(ScanError::Database(e)),
        (None, Ok(n)) => Ok(n),
    }
}
