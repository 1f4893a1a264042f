//! What the tap asks of a database: its dictionary, a consistent point in time, and the
//! rows of one table in a given order from a given bookmark.
//!
//! Rows are pushed into a callback one at a time, so a full stdout pipe pauses fetching
//! and no backend ever holds a whole table.

use singer_core::dictionary::DictionaryRows;

use crate::redo::{
    ChangeRow, DatabaseIdentity, LogMiningFacts, MinedTableInfo, MiningRequest, RedoLog,
    SnapshotPoint,
};
use crate::{DbError, DbResult, ServerInfo, Value};

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

/// The order in which a scan returns rows.
#[derive(Debug, Clone, PartialEq)]
pub enum ScanOrder {
    /// No order: one pass, whatever order the database returns.
    Unordered,
    /// Ascending by these columns, NULLs first.
    Columns(Vec<String>),
    /// Ascending by ROWID; the ROWID text is appended as an extra last value of every row.
    RowId,
}

/// Where a scan starts.
#[derive(Debug, Clone, PartialEq)]
pub enum LowerBound {
    /// Rows whose order-column tuple is strictly greater than these values, compared
    /// lexicographically (keyset pagination on a key; resumes a FULL_TABLE pass).
    After(Vec<Value>),
    /// Rows whose single order column is greater than or equal to this value (an
    /// INCREMENTAL bookmark; `>=` so rows sharing the boundary value are never lost).
    AtLeast(Value),
    /// Rows after this ROWID (resumes a keyless FULL_TABLE pass ordered by ROWID).
    AfterRowId(String),
}

/// One table read.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanRequest {
    pub owner: String,
    pub table: String,
    /// Columns to return, in this order, exact case.
    pub columns: Vec<String>,
    pub order: ScanOrder,
    pub lower_bound: Option<LowerBound>,
    /// Read the table as of this SCN (flashback query) so a long pass sees one snapshot.
    pub as_of_scn: Option<u64>,
    /// Rows fetched per round trip.
    pub fetch_array_size: u32,
    /// Rows fetched with the execute call itself.
    pub prefetch_rows: u32,
}

/// What a row callback returns to stop a scan early.
pub type RowCallbackError = Box<dyn std::error::Error + Send + Sync>;

/// The tap's side of the boundary.
pub trait Source {
    /// Version and limits of the server, for `--test` and feature checks.
    fn server_info(&mut self) -> DbResult<ServerInfo>;

    /// The dictionary rows discovery needs, for the tables in `scope`.
    fn read_dictionary(&mut self, scope: &DictionaryScope) -> DbResult<DictionaryRows>;

    /// The current system change number, to fix a flashback snapshot at a sync's start.
    fn current_scn(&mut self) -> DbResult<u64>;

    /// Streams the rows of one table into `on_row`, returning how many were read. A
    /// callback error stops the scan and comes back as [`crate::DbError::Aborted`].
    fn scan(
        &mut self,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64>;

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

    /// One mining session: starts it on `request` (adding its logs), streams every row
    /// into `on_change` in redo order, and always ends it, also on failure. Returns the
    /// number of rows read. A callback error stops the session and comes back as
    /// [`crate::DbError::Aborted`].
    fn mine(
        &mut self,
        request: &MiningRequest,
        on_change: &mut dyn FnMut(&ChangeRow) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let _ = (request, on_change);
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
