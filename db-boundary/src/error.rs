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
        /// The column the message names, when it names one (see [`DbError::row_rejected`]).
        column: Option<String>,
    },
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

    /// Row `row` of a batch failed with `message`. Oracle names the column in the
    /// messages of ORA-01400, ORA-01407 and ORA-12899 (`"OWNER"."TABLE"."COLUMN"`):
    /// that column is kept, so the engine can say which field was refused.
    pub fn row_rejected(row: usize, code: Option<i32>, message: impl Into<String>) -> DbError {
        let message = message.into();
        DbError::RowRejected {
            row,
            code,
            column: column_named_in(&message),
            message,
        }
    }

    /// A row rejection of a statement that ran on a subset of the caller's rows, with
    /// its position mapped back: `positions[i]` is where the subset's row `i` came from.
    /// Any other error is returned as it is.
    pub fn at_positions(self, positions: &[usize]) -> DbError {
        self.with_row(|row| positions.get(row).copied().unwrap_or(row))
    }

    /// A row rejection of a statement that ran on the caller's rows from `start` on
    /// (one execution of several), with its position counted from the caller's first.
    pub fn shifted(self, start: usize) -> DbError {
        self.with_row(|row| row + start)
    }

    /// A row rejection with its position mapped by `place`; any other error as it is.
    fn with_row(self, place: impl FnOnce(usize) -> usize) -> DbError {
        match self {
            DbError::RowRejected {
                row,
                code,
                message,
                column,
            } => DbError::RowRejected {
                row: place(row),
                code,
                message,
                column,
            },
            other => other,
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

/// The column of the first `"OWNER"."TABLE"."COLUMN"` in `message` (a quoted Oracle
/// identifier never holds `"`).
fn column_named_in(message: &str) -> Option<String> {
    let mut rest = message;
    while let Some(start) = rest.find('"') {
        let mut parts = Vec::new();
        let mut tail = &rest[start..];
        while let Some(after_quote) = tail.strip_prefix('"') {
            let Some(end) = after_quote.find('"') else {
                break;
            };
            parts.push(&after_quote[..end]);
            tail = &after_quote[end + 1..];
            match tail.strip_prefix('.') {
                Some(next) if next.starts_with('"') => tail = next,
                _ => break,
            }
        }
        if parts.len() == 3 && parts.iter().all(|p| !p.is_empty()) {
            return Some(parts[2].to_owned());
        }
        rest = &rest[start + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_in_a_later_array_is_placed_in_the_whole_batch() {
        let e = DbError::row_rejected(3, Some(1), "unique constraint violated").shifted(1800);
        assert!(
            matches!(
                e,
                DbError::RowRejected {
                    row: 1803,
                    code: Some(1),
                    ..
                }
            ),
            "{e:?}"
        );
        // Other errors pass unchanged.
        let e = DbError::ora(3113, "end-of-file on communication channel").shifted(1800);
        assert_eq!(e.ora_code(), Some(3113));
    }

    #[test]
    fn the_column_oracle_names_in_a_row_error_is_kept() {
        let cases = [
            (
                "ORA-12899: value too large for column \"SCOTT\".\"EMP\".\"ENAME\" (actual: 12, maximum: 10)",
                Some("ENAME"),
            ),
            (
                "ORA-01400: cannot insert NULL into (\"HR\".\"T\".\"CREATED BY\")",
                Some("CREATED BY"),
            ),
            (
                "ORA-01407: cannot update (\"HR\".\"T\".\"ID\") to NULL",
                Some("ID"),
            ),
            ("ORA-02290: check constraint (HR.SYS_C0011) violated", None),
            ("ORA-00001: unique constraint (\"HR\".\"PK_T\") violated", None),
            ("a \"lone quote", None),
        ];
        for (message, column) in cases {
            let DbError::RowRejected { column: found, .. } =
                DbError::row_rejected(0, None, message)
            else {
                unreachable!()
            };
            assert_eq!(found.as_deref(), column, "{message}");
        }
    }
}
