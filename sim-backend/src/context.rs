//! What the simulated backend keeps of each session's MODULE, ACTION and
//! CLIENT_IDENTIFIER, standing in for V$SESSION and unified audit records: one JSON line
//! per change in `sessions.jsonl` beside the database file. Like Oracle's session
//! attributes it is not transactional: a rollback keeps it.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use db_boundary::{DbError, DbResult, SessionContext};

use crate::session::SimSession;

pub(crate) const SESSIONS_FILE: &str = "sessions.jsonl";

/// One recorded change of a session's context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedContext {
    /// `<pid>-<n>`: the process and its n-th session.
    pub session: String,
    pub module: String,
    pub action: String,
    pub client_identifier: String,
}

/// A new session's id within this process.
pub(crate) fn next_session_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn io_error(path: &Path, e: std::io::Error) -> DbError {
    DbError::Database {
        code: None,
        message: format!("simulated backend: {}: {e}", path.display()),
    }
}

impl SimSession {
    /// Records `context` when it differs from the session's current one.
    pub(crate) fn record_context(&mut self, context: &SessionContext) -> DbResult<()> {
        if self.context.as_ref() == Some(context) {
            return Ok(());
        }
        let line = serde_json::to_string(&RecordedContext {
            session: self.id.clone(),
            module: context.module.clone(),
            action: context.action.clone(),
            client_identifier: context.client_identifier.clone(),
        })
        .expect("context serializes")
            + "\n";
        let path = self.sessions_file();
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .map_err(|e| io_error(&path, e))?;
        self.context = Some(context.clone());
        Ok(())
    }

    fn sessions_file(&self) -> PathBuf {
        self.dir.join(SESSIONS_FILE)
    }
}

/// Every context change recorded in the simulated database in `dir`, oldest first.
pub fn recorded_contexts(dir: &Path) -> DbResult<Vec<RecordedContext>> {
    let path = dir.join(SESSIONS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error(&path, e)),
    };
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| DbError::Database {
                code: None,
                message: format!("simulated backend: corrupt {}: {e}", path.display()),
            })
        })
        .collect()
}
