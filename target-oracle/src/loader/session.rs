//! The run's identity on the session (MODULE/ACTION/CLIENT_IDENTIFIER) and the audit
//! table's end of a failed run.

use std::io::Write;

use db_boundary::{SessionContext, SessionRole};

use super::Loader;
use crate::audit::RunStatus;
use crate::error::TargetError;

impl<W: Write> Loader<W> {
    /// Sets the session's ACTION to the stream about to be written, when it changes.
    pub(super) fn name_session(&mut self, stream: &str) -> Result<(), TargetError> {
        if self.action != stream {
            self.action = stream.to_owned();
            self.sink
                .set_context(&SessionContext::new(
                    SessionRole::Target,
                    stream,
                    &self.run_id,
                ))
                .map_err(TargetError::db("naming the session"))?;
        }
        Ok(())
    }

    /// Marks the audit rows FAILED with the run's exit code (best effort: the error
    /// may be the database's own).
    pub(super) fn audit_failed(&mut self, error: &TargetError) {
        if let Some(audit) = &mut self.audit {
            let _ = self.sink.rollback();
            let code = i32::from(error.exit_code());
            if let Err(e) = audit.finish(self.sink.as_mut(), RunStatus::Failed, code) {
                tracing::warn!(error = %e, "could not mark the audit rows FAILED; they stay RUNNING");
            }
        }
    }
}
