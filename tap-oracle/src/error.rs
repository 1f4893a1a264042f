//! The tap's one error type and the exit status each variant means.

use db_boundary::DbError;
use singer_cli::exit::ExitStatus;
use singer_cli::settings::ConfigError;
use singer_core::catalog::CatalogError;
use singer_core::state::StateError;
use singer_core::writer::WriteError;
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TapError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{0}")]
    Usage(String),
    /// A shard plan that cannot be used, or a sharded run's catalog or states that do
    /// not fit its plan.
    #[error("shards: {0}")]
    Shard(String),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("stream {stream}: {reason}")]
    Stream { stream: String, reason: String },
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Database(DbError),
    #[error(transparent)]
    Write(#[from] WriteError),
    /// LOG_BASED cannot go on: a purged log, DDL in a window, missing supplemental
    /// logging (the message names what and how to fix it).
    #[error("{0}")]
    LogMining(String),
}

impl From<crate::log_based::miner::MineError> for TapError {
    fn from(e: crate::log_based::miner::MineError) -> Self {
        match e {
            crate::log_based::miner::MineError::Write(w) => TapError::Write(w),
            other => TapError::LogMining(other.to_string()),
        }
    }
}

impl From<DbError> for TapError {
    fn from(e: DbError) -> Self {
        TapError::Database(e)
    }
}

impl TapError {
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            TapError::Config(_)
            | TapError::Usage(_)
            | TapError::Shard(_)
            | TapError::Catalog(_)
            | TapError::Stream { .. }
            | TapError::State(_) => ExitStatus::BadInput,
            TapError::Database(DbError::Config(_)) => ExitStatus::BadInput,
            TapError::Database(_) | TapError::LogMining(_) => ExitStatus::Database,
            TapError::Write(WriteError::Closed) => ExitStatus::PipeClosed,
            TapError::Write(_) => ExitStatus::Internal,
        }
    }

    pub(crate) fn stream(stream: &str, reason: impl Into<String>) -> TapError {
        TapError::Stream {
            stream: stream.to_owned(),
            reason: reason.into(),
        }
    }
}
