//! Writing buffers: when (full, old, a STATE waiting too long, the end), and how (one
//! transaction per batch: insert or merge, hard deletes, commit), with rows the
//! database rejects failing the run or going to the reject file.

use std::io::Write;
use std::time::{Duration, Instant};

use chrono::Utc;
use db_boundary::{ColumnDef, DbError, Value};

use super::{Loader, StreamLoad};
use crate::audit::BatchCounts;
use crate::error::TargetError;
use crate::settings::OnBadRecord;
use crate::stream::Meta;

impl<W: Write> Loader<W> {
    /// Flushes streams whose oldest record waited too long, and everything when a STATE
    /// waited longer than `max_state_lag_seconds`.
    pub(super) fn flush_by_age(&mut self) -> Result<(), TargetError> {
        let now = Instant::now();
        let state_lag = Duration::from_secs_f64(self.config.max_state_lag_seconds);
        if self
            .states
            .oldest_waiting_since()
            .is_some_and(|since| now.duration_since(since) >= state_lag)
        {
            tracing::debug!("a STATE waited max_state_lag_seconds: flushing every stream");
            return self.flush_all();
        }
        let wait = Duration::from_secs_f64(self.config.batch_wait_limit_seconds);
        let old: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| {
                s.oldest
                    .is_some_and(|(_, since)| now.duration_since(since) >= wait)
            })
            .map(|(name, _)| name.clone())
            .collect();
        for stream in old {
            self.flush_stream(&stream)?;
        }
        Ok(())
    }

    pub(super) fn flush_all(&mut self) -> Result<(), TargetError> {
        let mut names: Vec<String> = self
            .streams
            .iter()
            .filter(|(_, s)| !s.rows.is_empty())
            .map(|(name, _)| name.clone())
            .collect();
        names.sort();
        for stream in names {
            self.flush_stream(&stream)?;
        }
        Ok(())
    }

    /// Writes and commits one stream's buffer, then emits any STATE it completes.
    pub(super) fn flush_stream(&mut self, stream: &str) -> Result<(), TargetError> {
        let Some(mut s) = self.streams.remove(stream) else {
            return Ok(());
        };
        let result = self.write_buffer(stream, &mut s);
        self.streams.insert(stream.to_owned(), s);
        result?;
        self.emit_ready().map(drop)
    }

    pub(super) fn write_buffer(
        &mut self,
        stream: &str,
        s: &mut StreamLoad,
    ) -> Result<(), TargetError> {
        if s.rows.is_empty() {
            return Ok(());
        }
        if let Some(slot) = s.plan.meta_slot(Meta::BatchedAt) {
            let now = Value::TimestampTz(Utc::now().fixed_offset());
            for row in &mut s.rows {
                row[slot] = now.clone();
            }
        }
        let columns = s.plan.columns();
        let keys: Vec<String> = s
            .plan
            .key_slots
            .iter()
            .map(|&i| columns[i].name.clone())
            .collect();
        let deleted_column = s.plan.meta_column(Meta::DeletedAt).map(str::to_owned);
        self.name_session(stream)?;
        loop {
            match self.write_batch(stream, s, &columns, &keys, deleted_column.as_deref()) {
                Ok(counts) => {
                    if let Some(audit) = &mut self.audit {
                        audit.committed(stream, &counts);
                    }
                    break;
                }
                Err(DbError::RowRejected {
                    row,
                    code,
                    message,
                    column,
                }) if row < s.rows.len() => {
                    self.sink
                        .rollback()
                        .map_err(TargetError::db("rolling back a failed batch"))?;
                    let reason = format!(
                        "was rejected by the database: {}{message}",
                        code.map(|c| format!("ORA-{c:05}: ")).unwrap_or_default()
                    );
                    let line = s.lines[row];
                    let field = rejected_field(s, code, column.as_deref());
                    match self.config.on_bad_record {
                        OnBadRecord::Fail => {
                            return Err(TargetError::BadRecord {
                                line,
                                stream: stream.to_owned(),
                                field,
                                reason,
                            })
                        }
                        OnBadRecord::Reject => {
                            let raw = s.raws[row].take().unwrap_or_default();
                            self.write_reject(line, stream, &field, &reason, &raw)?;
                            if let Some(audit) = &mut self.audit {
                                audit.rejected(stream);
                            }
                            s.rows.remove(row);
                            s.lines.remove(row);
                            s.raws.remove(row);
                            if s.rows.is_empty() {
                                break;
                            }
                        }
                    }
                }
                Err(e) => {
                    let _ = self.sink.rollback();
                    return Err(TargetError::Database {
                        context: format!(
                            "writing a batch of {} rows to {:?}",
                            s.rows.len(),
                            s.table.name
                        ),
                        source: e,
                    });
                }
            }
        }
        self.stats.rows_written += s.rows.len() as u64;
        self.stats.batches += 1;
        tracing::debug!(stream, rows = s.rows.len(), "batch committed");
        singer_core::metrics::counter("record_count", s.rows.len() as u64, stream);
        s.spare.append(&mut s.rows);
        s.lines.clear();
        s.raws.clear();
        s.key_index.clear();
        s.bytes = 0;
        s.oldest = None;
        Ok(())
    }

    /// One transaction: insert or merge, (hard_delete) delete rows marked deleted,
    /// the audit row, commit. Returns what it committed.
    ///
    /// With `hard_delete`, a record marked deleted (`_sdc_deleted_at` set) is never
    /// written: in a merging (keyed) stream it deletes its key's row by key, an index
    /// lookup (the buffer holds one row per key, the last record's); in any other
    /// stream it is simply left out. No statement scans the table for marked rows.
    pub(super) fn write_batch(
        &mut self,
        stream: &str,
        s: &StreamLoad,
        columns: &[ColumnDef],
        keys: &[String],
        deleted_column: Option<&str>,
    ) -> Result<BatchCounts, DbError> {
        let mut counts = BatchCounts {
            first_line: s.lines.iter().min().copied(),
            last_line: s.lines.iter().max().copied(),
            batches: 1,
            ..BatchCounts::default()
        };
        let marked = match (self.config.hard_delete, deleted_column) {
            (true, Some(_)) => s.plan.meta_slot(Meta::DeletedAt),
            _ => None,
        };
        let (live, gone): (Vec<usize>, Vec<usize>) =
            (0..s.rows.len()).partition(|&i| marked.is_none_or(|slot| s.rows[i][slot].is_null()));
        let subset;
        let written: &[Vec<Value>] = if gone.is_empty() {
            &s.rows
        } else {
            subset = live.iter().map(|&i| s.rows[i].clone()).collect::<Vec<_>>();
            &subset
        };
        let at = |e: DbError| e.at_positions(&live);
        if !written.is_empty() {
            if s.merges() {
                self.sink
                    .merge_rows(&s.table, columns, keys, written)
                    .map_err(at)?;
                counts.merged = written.len() as u64;
            } else {
                self.sink
                    .insert_rows(&s.table, columns, written)
                    .map_err(at)?;
                counts.inserted = written.len() as u64;
            }
        }
        if s.merges() && !gone.is_empty() {
            let key_columns: Vec<ColumnDef> = s
                .plan
                .key_slots
                .iter()
                .map(|&k| columns[k].clone())
                .collect();
            let key_values: Vec<Vec<Value>> = gone
                .iter()
                .map(|&i| {
                    s.plan
                        .key_slots
                        .iter()
                        .map(|&k| s.rows[i][k].clone())
                        .collect()
                })
                .collect();
            counts.deleted += self
                .sink
                .delete_keys(&s.table, &key_columns, &key_values)
                .map_err(|e| e.at_positions(&gone))?;
        }
        if let Some(audit) = &self.audit {
            audit.stage(self.sink.as_mut(), stream, &counts)?;
        }
        self.sink.commit()?;
        Ok(counts)
    }
}

/// The field a database rejection is about: the property of the column the database
/// named (else that column), the key properties for a duplicate key (ORA-00001), or
/// empty when the database does not say (a CHECK constraint of the user's).
fn rejected_field(s: &StreamLoad, code: Option<i32>, column: Option<&str>) -> String {
    match column {
        Some(column) => s.plan.field_for_column(column).unwrap_or(column).to_owned(),
        None if code == Some(1) => s.key_properties.join(", "),
        None => String::new(),
    }
}
