//! The exit codes both binaries use, decided in one place.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | bad configuration, catalog, state or input (including an invalid record) |
//! | 2 | database error (client library, connection, privileges, SQL) |
//! | 3 | stdout closed by the reader before the run finished |
//! | 70 | internal error (a bug) |

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    BadInput,
    Database,
    PipeClosed,
    Internal,
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::BadInput => 1,
            ExitStatus::Database => 2,
            ExitStatus::PipeClosed => 3,
            ExitStatus::Internal => 70,
        }
    }
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status.code())
    }
}
