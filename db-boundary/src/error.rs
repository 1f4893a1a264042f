//! Errors at the database boundary, already translated into what a user can act on.
//!
//! Backends map their native failures (ORA- codes, DPI- codes, SQLite errors) into these
//! variants; messages never contain a password, a wallet secret or a bound value.

use thiserror::Error;

/// A failure talking to the database.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DbError {
    /// ODPI-C could not load `libclntsh.so` (DPI-1047).
    #[error(
        "the Oracle Client library (libclntsh.so) was not found: install Oracle Instant Client \
         (https://www.oracle.com/database/technologies/instant-client.html) and set \
         LD_LIBRARY_PATH to its directory (see https://oracle.github.io/odpi/doc/installation.html#linux)"
    )]
    ClientLibraryMissing,
    /// ORA-01017.
    #[error("the database rejected the user name or password (ORA-01017)")]
    InvalidCredentials,
    /// The listener could not be reached (ORA-12541, ORA-12170, ORA-12545, DPI-1080 ...).
    #[error("cannot reach the Oracle listener at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    /// ORA-12514 / ORA-12505: the listener does not know the service or SID.
    #[error("the listener at {target} does not know the service or SID: {reason}")]
    UnknownService { target: String, reason: String },
    /// ORA-01031 / ORA-00942 / ORA-01039 where a privilege is the cause.
    #[error("insufficient privileges: {privilege} is needed ({reason})")]
    InsufficientPrivileges { privilege: String, reason: String },
    /// Any other database error, with its ORA- code when there is one.
    #[error("{}{message}", code.map(|c| format!("ORA-{c:05}: ")).unwrap_or_default())]
    Database { code: Option<i32>, message: String },
    /// One row of an array DML batch failed; `row` is its 0-based position in the batch.
    #[error("row {row} of the batch was rejected: {}{message}", code.map(|c| format!("ORA-{c:05}: ")).unwrap_or_default())]
    RowRejected {
        row: usize,
        code: Option<i32>,
        message: String,
    },
    /// The row callback of a scan asked to stop (for example, stdout closed).
    #[error("the scan was stopped by its consumer: {0}")]
    Aborted(Box<dyn std::error::Error + Send + Sync>),
    /// A value of a kind its bind cannot take (the driver's "invalid type conversion"),
    /// refused before any row is appended.
    #[error("bind :{position} is typed {bind} and cannot take a {value} value")]
    BindType {
        position: usize,
        bind: String,
        value: &'static str,
    },
    /// The request cannot be served by this backend or server version.
    #[error("not supported: {0}")]
    Unsupported(String),
    /// The connection settings are incomplete or contradictory.
    #[error("invalid connection settings: {0}")]
    Config(String),
}

impl DbError {
    /// The ORA- code, when the error carries one.
    pub fn ora_code(&self) -> Option<i32> {
        match self {
            DbError::Database { code, .. } | DbError::RowRejected { code, .. } => *code,
            DbError::InvalidCredentials => Some(1017),
            _ => None,
        }
    }

    /// Shorthand for a database error with an ORA- code.
    pub fn ora(code: i32, message: impl Into<String>) -> DbError {
        DbError::Database {
            code: Some(code),
            message: message.into(),
        }
    }
}

pub type DbResult<T> = Result<T, DbError>;
