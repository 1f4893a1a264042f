//! The one error type of a target run, and the exit status each failure maps to
//! (`singer_cli::exit`: 0 ok, 1 bad config or input, 2 database, 3 stdout closed,
//! 70 internal).

use std::io;

use db_boundary::DbError;

use singer_cli::exit::ExitStatus;
use singer_cli::settings::ConfigError;

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A line that is not a usable Singer message.
    #[error("line {line}: {reason}")]
    Input { line: u64, reason: String },
    /// A stream's SCHEMA cannot be loaded.
    #[error("line {line}: stream {stream:?}: {reason}")]
    Schema {
        line: u64,
        stream: String,
        reason: String,
    },
    /// A record failed validation or does not fit its column (`on_bad_record: fail`).
    #[error("line {line}: stream {stream:?}: {} {reason}", subject(field))]
    BadRecord {
        line: u64,
        stream: String,
        field: String,
        reason: String,
    },
    /// A BATCH message's file that cannot be read, or a line of it that cannot be loaded.
    #[error("line {line}: stream {stream:?}: batch file {file}, line {file_line}: {reason}")]
    BatchFile {
        line: u64,
        stream: String,
        file: String,
        /// 1-based line inside the file (0: the file as a whole).
        file_line: u64,
        reason: String,
    },
    #[error("reading the input failed: {0}")]
    Read(#[source] io::Error),
    #[error("the reject file {path}: {source}")]
    RejectFile {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{context}: {source}")]
    Database {
        context: String,
        #[source]
        source: DbError,
    },
    #[error("stdout was closed before the run finished: the last STATE may not have been saved")]
    StdoutClosed,
    #[error("writing STATE to stdout failed: {0}")]
    Write(#[source] io::Error),
}

/// What a bad record's reason is about: a field, or the record when none is known.
fn subject(field: &str) -> String {
    if field.is_empty() {
        "the record".to_owned()
    } else {
        format!("field {field:?}")
    }
}

impl TargetError {
    /// How the process ends for this failure (singer-core's exit-code table).
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            TargetError::Config(_)
            | TargetError::Input { .. }
            | TargetError::Schema { .. }
            | TargetError::BadRecord { .. }
            | TargetError::BatchFile { .. }
            | TargetError::Read(_)
            | TargetError::RejectFile { .. } => ExitStatus::BadInput,
            // Incomplete connection settings are the user's configuration, not the database.
            TargetError::Database {
                source: DbError::Config(_),
                ..
            } => ExitStatus::BadInput,
            TargetError::Database { .. } => ExitStatus::Database,
            TargetError::StdoutClosed => ExitStatus::PipeClosed,
            TargetError::Write(_) => ExitStatus::Internal,
        }
    }

    /// The input line the failure is about, when it names one.
    pub fn line(&self) -> Option<u64> {
        match self {
            TargetError::Input { line, .. }
            | TargetError::Schema { line, .. }
            | TargetError::BadRecord { line, .. } => Some(*line),
            _ => None,
        }
    }

    /// The process exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        self.exit_status().code()
    }

    pub(crate) fn db(context: impl Into<String>) -> impl FnOnce(DbError) -> TargetError {
        let context = context.into();
        move |source| TargetError::Database { context, source }
    }
}

impl From<singer_core::writer::WriteError> for TargetError {
    fn from(e: singer_core::writer::WriteError) -> TargetError {
        use singer_core::writer::WriteError;
        match e {
            WriteError::Closed => TargetError::StdoutClosed,
            WriteError::Io(e) => TargetError::Write(e),
            other => TargetError::Write(std::io::Error::other(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_follow_the_table() {
        let bad = TargetError::BadRecord {
            line: 7,
            stream: "S".into(),
            field: "A".into(),
            reason: "is not a decimal number".into(),
        };
        assert_eq!(bad.exit_code(), 1);
        assert_eq!(
            bad.to_string(),
            "line 7: stream \"S\": field \"A\" is not a decimal number"
        );
        let db = TargetError::Database {
            context: "inserting into \"T\"".into(),
            source: DbError::ora(942, "table or view does not exist"),
        };
        assert_eq!(db.exit_code(), 2);
        assert_eq!(TargetError::StdoutClosed.exit_code(), 3);
    }
}
