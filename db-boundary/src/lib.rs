//! The one boundary between the tap and target engines and a database.
//!
//! - [`value`]: the project's own value type covering every Oracle type.
//! - [`source`]: what the tap asks (dictionary, SCN, ordered scans from a bookmark).
//! - [`sink`]: what the target asks (DDL, array DML, merge, delete, commit).
//! - [`redo`]: what LOG_BASED replication asks (identity, redo logs, mining windows).
//! - [`error`]: failures already translated into what a user can act on.
//! - `sim` (feature `sim`): the simulated backend, a SQLite file standing in for a
//!   database so both binaries run end to end where no Oracle server exists.
//!
//! The real Oracle side lives in the `oracle-backend` crate, the only crate that
//! depends on the `oracle` driver.

pub mod error;
pub mod redo;
pub mod sink;
pub mod source;
pub mod value;

#[cfg(feature = "sim")]
pub mod sim;

pub use error::{DbError, DbResult};
pub use redo::{
    ChangeOperation, ChangeRow, DatabaseIdentity, LogMiningFacts, MinedColumn, MinedTable,
    MinedTableInfo, MiningRequest, ReadinessCheck, RedoLog, RedoLogKind, SnapshotPoint,
};
pub use sink::{AlterTable, ColumnCheck, ColumnDef, RowFilter, Sink, TableDef, TableName};
pub use source::{
    DictionaryScope, LowerBound, RowCallbackError, ScanOrder, ScanRequest, Source, TablePattern,
};
pub use value::Value;

/// What the engines need to know about the server they talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Banner or version text, e.g. `Oracle Database 23ai Free Release 23.0.0.0.0`.
    pub version: String,
    /// Major release number (19, 21, 23 ...).
    pub major_version: u32,
    /// 128 from 12.2 on, 30 before.
    pub max_identifier_bytes: u32,
    /// 4000, or 32767 with MAX_STRING_SIZE = EXTENDED.
    pub max_string_bytes: u32,
    /// The session's user.
    pub user: String,
    /// The session's current schema (where unqualified tables go).
    pub current_schema: String,
}

impl ServerInfo {
    /// BOOLEAN columns exist from 23ai on.
    pub fn supports_boolean(&self) -> bool {
        self.major_version >= 23
    }

    /// The JSON data type exists from 21c on.
    pub fn supports_json_type(&self) -> bool {
        self.major_version >= 21
    }
}

/// A way to open database sessions: one per stream being synced, or one for the target.
/// Implemented by the Oracle pool and by the simulated backend.
pub trait Backend: Send + Sync {
    /// A session for reading (the tap).
    fn source(&self) -> DbResult<Box<dyn Source + Send>>;
    /// A session for writing (the target).
    fn sink(&self) -> DbResult<Box<dyn Sink + Send>>;
}
