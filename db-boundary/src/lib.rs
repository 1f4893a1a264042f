//! The one boundary between the tap and target engines and a database.
//!
//! - [`value`]: the project's own value type covering every Oracle type.
//! - [`source`]: what the tap asks (dictionary, SCN, ordered scans from a bookmark).
//! - [`sink`]: what the target asks (DDL, array DML, merge, delete, commit).
//! - [`binds`]: bind plans (type, size and order of each bind) and the value check.
//! - [`arrays`]: how many rows one array execution or fetch carries (driver buffers).
//! - [`redo`]: what LOG_BASED replication asks (identity, redo logs, mining windows).
//! - [`error`]: failures already translated into what a user can act on.
//! - [`context`]: MODULE, ACTION and CLIENT_IDENTIFIER a session shows the DBA; run ids.
//!
//! Two crates implement it: `oracle-backend` (the only crate that depends on the
//! `oracle` driver) and `sim-backend` (a model of Oracle for tests and the demo).

pub mod arrays;
pub mod binds;
pub mod context;
pub mod error;
pub mod redo;
pub mod sink;
pub mod source;
pub mod value;

pub use binds::{BindPlan, PlannedBind, TextLimit};
pub use context::{new_run_id, SessionContext};
pub use error::{DbError, DbResult};
pub use redo::{
    ChangeOperation, ChangeRow, DatabaseIdentity, LogMiningFacts, MinedColumn, MinedTable,
    MinedTableInfo, MiningRequest, ReadinessCheck, RedoLog, RedoLogKind, SnapshotPoint,
};
pub use sink::{
    column_defs, AlterTable, ColumnCheck, ColumnDef, RowFilter, Sink, TableDef, TableName,
};
pub use source::{
    mine_into, scan_into, DictionaryScope, FetchTuning, KeyRange, KeyRangeError, PushChange,
    PushRow, RowId, RowSink, Scan, ScanColumn, ScanError, ScanRange, ScannedRow, Source,
    TablePattern, TableRef,
};
pub use value::{Decimal, Value};

/// What the engines need to know about the server they talk to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerInfo {
    /// Banner or version text, e.g. `Oracle Database 23ai Free Release 23.0.0.0.0`.
    pub version: String,
    /// Major release number (19, 21, 23 ...).
    pub major_version: u32,
    /// Release update number (12.2 -> 2).
    pub minor_version: u32,
    /// The COMPATIBLE parameter's release and update numbers (`19.0.0` -> (19, 0));
    /// `None` when the session cannot read it. Features that change what the data
    /// files hold follow it rather than the release: an upgraded database keeps its old
    /// COMPATIBLE until the DBA raises it (issue 11, item 8).
    pub compatible: Option<(u32, u32)>,
    /// 128 when the release and COMPATIBLE are 12.2 or later, 30 otherwise (see
    /// [`identifier_limit`]).
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

    /// The JSON data type exists from 21c on, with COMPATIBLE 20 or higher.
    pub fn supports_json_type(&self) -> bool {
        self.major_version >= 21 && self.compatibility() >= (20, 0)
    }

    /// COMPATIBLE, or the release itself when it could not be read (the usual setting:
    /// DBMS_UTILITY, which reports it, is granted to PUBLIC).
    pub fn compatibility(&self) -> (u32, u32) {
        self.compatible
            .unwrap_or((self.major_version, self.minor_version))
    }
}

/// A COMPATIBLE value's release and update numbers: `19.0.0` -> (19, 0), `12.2.0.1`
/// -> (12, 2), `20` -> (20, 0).
pub fn compatible_level(text: &str) -> Option<(u32, u32)> {
    let mut parts = text.trim().split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = match parts.next() {
        Some(p) => p.parse().ok()?,
        None => 0,
    };
    Some((major, minor))
}

/// The longest identifier in bytes: 128 when both the release and COMPATIBLE are 12.2
/// or later, else 30 (ORA-00972 beyond it).
pub fn identifier_limit(release: (u32, u32), compatible: (u32, u32)) -> u32 {
    if release >= (12, 2) && compatible >= (12, 2) {
        128
    } else {
        30
    }
}

/// The compatibility a feature needs, refused as Oracle refuses it (ORA-00406).
pub fn require_compatible(have: (u32, u32), need: (u32, u32), feature: &str) -> DbResult<()> {
    if have >= need {
        return Ok(());
    }
    Err(DbError::ora(
        406,
        format!(
            "COMPATIBLE parameter needs to be {}.{}.0 or greater ({feature}; it is {}.{})",
            need.0, need.1, have.0, have.1
        ),
    ))
}

/// Which binary a session belongs to: named in V$SESSION.MODULE for the DBA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRole {
    Tap,
    Target,
}

impl SessionRole {
    pub fn module(self) -> &'static str {
        match self {
            SessionRole::Tap => "tap-oracle",
            SessionRole::Target => "target-oracle",
        }
    }
}

/// The system privileges `--test` reports, on every backend: logging in, reading the
/// dictionary and other schemas' tables, flashback reads (`use_flashback`), and
/// creating the target's tables.
pub const PRIVILEGES_THAT_MATTER: &[&str] = &[
    "CREATE SESSION",
    "SELECT ANY DICTIONARY",
    "SELECT ANY TABLE",
    "FLASHBACK ANY TABLE",
    "CREATE TABLE",
];

/// What `--test` reports: versions, limits and the privileges that matter.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// The Oracle Client library's version; `None` where no client is involved.
    pub client_version: Option<String>,
    pub server: ServerInfo,
    /// Privileges that matter and whether the session holds them.
    pub privileges: Vec<(String, bool)>,
    /// Where the credentials came from (never the value); set by the caller that
    /// resolved them.
    pub credentials: Option<String>,
    /// What LOG_BASED replication needs; `None` where the tap did not ask (the target)
    /// or the backend cannot mine redo.
    pub log_mining: Option<LogMiningFacts>,
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.client_version {
            Some(client) => writeln!(f, "Oracle Client {client}; server {}", self.server.version)?,
            None => writeln!(f, "server {}", self.server.version)?,
        }
        writeln!(
            f,
            "user {}, current schema {}, identifiers up to {} bytes, strings up to {} bytes",
            self.server.user,
            self.server.current_schema,
            self.server.max_identifier_bytes,
            self.server.max_string_bytes
        )?;
        if let Some(credentials) = &self.credentials {
            writeln!(f, "credentials: {credentials}")?;
        }
        for (privilege, held) in &self.privileges {
            writeln!(f, "{} {privilege}", if *held { "has" } else { "lacks" })?;
        }
        if let Some(facts) = &self.log_mining {
            write!(f, "{facts}")?;
        }
        Ok(())
    }
}

/// A way to open database sessions: one per stream being synced, or one for the target.
/// Implemented by the Oracle pool and by the simulated backend.
pub trait Backend: Send + Sync {
    /// Server version, limits and the privileges that matter, for `--test`.
    fn check(&self) -> DbResult<CheckReport>;
    /// A session for reading (the tap).
    fn source(&self) -> DbResult<Box<dyn Source + Send>>;
    /// A session for writing (the target).
    fn sink(&self) -> DbResult<Box<dyn Sink + Send>>;
}
