//! What the loader does with bad input: a bad record is rejected to the reject file
//! or stops the run; any fatal error (bad input, a database failure; not a closed
//! stdout) first commits what precedes the last complete STATE and emits that STATE,
//! so a rerun from it loses and repeats nothing.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::Value as Json;

use super::Loader;
use crate::error::TargetError;
use crate::settings::{LoadMethod, OnBadRecord};

/// Opens (creating it when missing) the file rejected records are appended to.
pub(super) fn open_reject_file(path: &Path) -> Result<BufWriter<File>, TargetError> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(BufWriter::new)
        .map_err(|source| TargetError::RejectFile {
            path: path.display().to_string(),
            source,
        })
}

impl<W: Write> Loader<W> {
    /// Ends the run on `error`, met while handling input line `at_line`. Unless stdout
    /// is gone, it first commits the buffered records that precede the newest STATE
    /// read before the bad line (an input error's own line, else `at_line`) and emits
    /// that STATE; a failure to do so is logged, and `error` is what the run reports.
    pub(crate) fn fail(&mut self, error: TargetError, at_line: u64) -> TargetError {
        if !matches!(error, TargetError::StdoutClosed | TargetError::Write(_)) {
            let bad_line = error.line().unwrap_or(at_line);
            if let Err(e) = self.commit_before(bad_line) {
                tracing::error!(
                    error = %e,
                    "could not commit the records that precede line {bad_line}"
                );
            }
        }
        self.audit_failed(&error);
        error
    }

    /// Commits what a rerun from the newest STATE before `bad_line` will not send
    /// again, then emits that STATE. Append-only and overwrite rows after it are
    /// dropped (a rerun sends them again); upsert rows before the bad line are written
    /// (writing one twice is harmless).
    fn commit_before(&mut self, bad_line: u64) -> Result<(), TargetError> {
        self.states.discard_from(bad_line);
        let cover = self.states.newest_line().unwrap_or(0);
        let mut names: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| !s.rows.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        for name in names {
            if let Some(s) = self.streams.get_mut(&name) {
                let limit = if s.method == LoadMethod::Upsert {
                    bad_line
                } else {
                    cover
                };
                s.keep_lines_before(limit);
            }
            self.flush_stream(&name)?;
        }
        self.emit_ready().map(drop)
    }

    /// A record that fails validation or conversion.
    pub(super) fn bad_record(
        &mut self,
        line: u64,
        stream: &str,
        field: &str,
        reason: &str,
        record: &str,
    ) -> Result<(), TargetError> {
        match self.config.on_bad_record {
            OnBadRecord::Reject => {
                self.write_reject(line, stream, field, reason, record)?;
                if let Some(audit) = &mut self.audit {
                    audit.rejected(stream);
                }
                tracing::warn!(line, stream, field, reason, "record rejected");
                Ok(())
            }
            // `fail` commits what came before it.
            OnBadRecord::Fail => Err(TargetError::BadRecord {
                line,
                stream: stream.to_owned(),
                field: field.to_owned(),
                reason: reason.to_owned(),
            }),
        }
    }

    pub(super) fn write_reject(
        &mut self,
        line: u64,
        stream: &str,
        field: &str,
        reason: &str,
        record: &str,
    ) -> Result<(), TargetError> {
        let path = self.config.reject_file.clone();
        let io_error = |source| TargetError::RejectFile {
            path: path.display().to_string(),
            source,
        };
        if self.rejects.is_none() {
            self.rejects = Some(open_reject_file(&path)?);
        }
        let entry = format!(
            "{{\"line\":{line},\"stream\":{},\"field\":{},\"reason\":{},\"record\":{record}}}\n",
            Json::String(stream.to_owned()),
            Json::String(field.to_owned()),
            Json::String(reason.to_owned()),
        );
        if let Some(rejects) = &mut self.rejects {
            rejects.write_all(entry.as_bytes()).map_err(io_error)?;
        }
        self.stats.rejected += 1;
        Ok(())
    }

    pub(super) fn flush_rejects(&mut self) -> Result<(), TargetError> {
        if let Some(rejects) = &mut self.rejects {
            rejects.flush().map_err(|source| TargetError::RejectFile {
                path: self.config.reject_file.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }
}
