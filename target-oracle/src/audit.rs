//! The load audit table (setting `audit_table`): one row per stream per run saying what
//! the run wrote, kept in the same transactions as the data so it never disagrees with it.
//!
//! The row is created (status `RUNNING`) with the stream's table, then rewritten inside
//! every transaction that writes the stream's rows (a batch, ACTIVATE_VERSION), before
//! its commit: the counts in the table are always those of the committed data. At the
//! end of the run every row gets its final status (`SUCCEEDED` or `FAILED`, with the
//! exit code) and finish time. A killed run leaves its rows at `RUNNING` with no finish
//! time, counting exactly what it committed.
//!
//! The table is created and evolved through the same boundary calls as any other table
//! (describe, create, add columns), so a newer target adds its new columns to an older
//! audit table; with `freeze_schema` it must already exist.

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, Utc};
use db_boundary::{ColumnDef, DbError, DbResult, Sink, TableDef, TableName, Value};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use crate::evolve;
use crate::naming::NamingRules;
use crate::settings::LoadMethod;

/// The run's status as the audit row states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

impl RunStatus {
    fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Succeeded => "SUCCEEDED",
            RunStatus::Failed => "FAILED",
        }
    }
}

/// What one transaction did to a stream's table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct BatchCounts {
    /// Rows inserted (append-only, overwrite).
    pub inserted: u64,
    /// Rows merged (upsert): inserted or updated, as Oracle's MERGE counts them.
    pub merged: u64,
    /// Rows deleted (overwrite, hard_delete, ACTIVATE_VERSION with hard_delete).
    pub deleted: u64,
    /// Rows marked deleted (`_sdc_deleted_at` set at ACTIVATE_VERSION).
    pub soft_deleted: u64,
    /// Input lines of the first and last record written.
    pub first_line: Option<u64>,
    pub last_line: Option<u64>,
    /// 1 for a batch of rows, 0 for other changes.
    pub batches: u64,
}

impl BatchCounts {
    fn add(&mut self, other: &BatchCounts) {
        self.inserted += other.inserted;
        self.merged += other.merged;
        self.deleted += other.deleted;
        self.soft_deleted += other.soft_deleted;
        self.batches += other.batches;
        self.first_line = match (self.first_line, other.first_line) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_line = self.last_line.max(other.last_line);
    }
}

/// One stream's audit row, as last committed.
#[derive(Debug, Clone)]
struct StreamAudit {
    target_table: String,
    load_method: &'static str,
    started_at: DateTime<FixedOffset>,
    committed: BatchCounts,
    rejected: u64,
}

/// The audit table of one run.
#[derive(Debug)]
pub(crate) struct Audit {
    table: TableName,
    /// The session's schema, naming tables whose schema is implicit.
    current_schema: String,
    run_id: String,
    streams: BTreeMap<String, StreamAudit>,
    /// The newest STATE written to stdout (whose records are all committed).
    last_state: Option<String>,
    table_ready: bool,
}

const RUN_KEY: [&str; 2] = ["RUN_ID", "STREAM"];

/// The audit table's columns, in order. Counts are NUMBER(38); times keep their zone.
pub(crate) fn columns() -> Vec<ColumnDef> {
    let text = |name: &str, length: u32, nullable: bool| ColumnDef {
        name: name.to_owned(),
        data_type: OracleType::Varchar2 {
            length,
            semantics: LengthSemantics::Char,
        },
        nullable,
        check: None,
    };
    let count = |name: &str, nullable: bool| ColumnDef {
        name: name.to_owned(),
        data_type: OracleType::Number {
            precision: Some(38),
            scale: Some(0),
        },
        nullable,
        check: None,
    };
    let time = |name: &str, nullable: bool| ColumnDef {
        name: name.to_owned(),
        data_type: OracleType::TimestampTz {
            fractional_precision: 6,
        },
        nullable,
        check: None,
    };
    vec![
        text("RUN_ID", 64, false),
        // A key column: 1,000 characters keep the key under Oracle's index key limit.
        text("STREAM", 1000, false),
        text("TARGET_TABLE", 300, false),
        text("LOAD_METHOD", 20, false),
        count("ROWS_INSERTED", false),
        count("ROWS_MERGED", false),
        count("ROWS_DELETED", false),
        count("ROWS_SOFT_DELETED", false),
        count("ROWS_REJECTED", false),
        count("BATCHES", false),
        count("FIRST_LINE", true),
        count("LAST_LINE", true),
        ColumnDef {
            name: "LAST_STATE".to_owned(),
            data_type: OracleType::Clob,
            nullable: true,
            check: None,
        },
        time("STARTED_AT", false),
        time("UPDATED_AT", false),
        time("FINISHED_AT", true),
        text("STATUS", 20, false),
        count("EXIT_CODE", true),
        text("TARGET_VERSION", 40, false),
    ]
}

fn load_method_name(method: LoadMethod) -> &'static str {
    match method {
        LoadMethod::AppendOnly => "append-only",
        LoadMethod::Upsert => "upsert",
        LoadMethod::Overwrite => "overwrite",
    }
}

fn number(n: u64) -> Value {
    Value::Number(n.into())
}

fn now() -> DateTime<FixedOffset> {
    Utc::now().fixed_offset()
}

impl Audit {
    /// The audit of run `run_id` into `table`, for a session whose schema is
    /// `current_schema`.
    pub(crate) fn new(table: TableName, current_schema: String, run_id: String) -> Audit {
        Audit {
            table,
            current_schema,
            run_id,
            streams: BTreeMap::new(),
            last_state: None,
            table_ready: false,
        }
    }

    pub(crate) fn table(&self) -> &TableName {
        &self.table
    }

    /// Creates the audit table, or adds the columns an older one lacks (DDL: commits).
    /// With `freeze_schema` no DDL runs: the table must exist as this version writes it.
    fn ensure_table(
        &mut self,
        sink: &mut dyn Sink,
        naming: &NamingRules,
        freeze: bool,
    ) -> DbResult<()> {
        if self.table_ready {
            return Ok(());
        }
        let wanted = columns();
        match sink.describe_table(&self.table)? {
            None if freeze => {
                return Err(DbError::Config(format!(
                    "audit_table {:?} does not exist and freeze_schema forbids creating it",
                    self.table.name
                )))
            }
            Some(_) if freeze => {}
            None => {
                tracing::info!(table = %self.table.name, "creating the audit table");
                sink.create_table(&TableDef {
                    name: self.table.clone(),
                    columns: wanted,
                    primary_key: RUN_KEY.iter().map(|k| k.to_string()).collect(),
                })?;
            }
            Some(existing) => {
                for change in evolve::plan(&existing, &wanted, naming).changes {
                    tracing::info!(table = %self.table.name, change = ?change, "evolving the audit table");
                    sink.alter_table(&self.table, &change)?;
                }
            }
        }
        sink.commit()?;
        self.table_ready = true;
        Ok(())
    }

    /// Starts `stream`'s row (status RUNNING) in the open transaction, once per run;
    /// creates or evolves the audit table first (which commits).
    pub(crate) fn open_stream(
        &mut self,
        sink: &mut dyn Sink,
        naming: &NamingRules,
        freeze: bool,
        stream: &str,
        table: &TableName,
        method: LoadMethod,
    ) -> DbResult<()> {
        if self.streams.contains_key(stream) {
            return Ok(());
        }
        self.ensure_table(sink, naming, freeze)?;
        let schema = table.schema.as_deref().unwrap_or(&self.current_schema);
        let target_table = format!("{schema}.{}", table.name);
        self.streams.insert(
            stream.to_owned(),
            StreamAudit {
                target_table,
                load_method: load_method_name(method),
                started_at: now(),
                committed: BatchCounts::default(),
                rejected: 0,
            },
        );
        self.write(
            sink,
            stream,
            &BatchCounts::default(),
            RunStatus::Running,
            None,
        )
    }

    /// Rewrites `stream`'s row with its committed counts plus `batch`, in the open
    /// transaction that writes `batch` (before its commit).
    pub(crate) fn stage(
        &self,
        sink: &mut dyn Sink,
        stream: &str,
        batch: &BatchCounts,
    ) -> DbResult<()> {
        self.write(sink, stream, batch, RunStatus::Running, None)
    }

    /// The transaction holding `batch` committed.
    pub(crate) fn committed(&mut self, stream: &str, batch: &BatchCounts) {
        if let Some(s) = self.streams.get_mut(stream) {
            s.committed.add(batch);
        }
    }

    /// A record of `stream` was rejected (written to the reject file); counted in the
    /// stream's next audit write.
    pub(crate) fn rejected(&mut self, stream: &str) {
        if let Some(s) = self.streams.get_mut(stream) {
            s.rejected += 1;
        }
    }

    /// A STATE was written to stdout.
    pub(crate) fn state_emitted(&mut self, state: &str) {
        self.last_state = Some(state.to_owned());
    }

    /// Writes every stream's final row (status, exit code, finish time) and commits.
    pub(crate) fn finish(
        &mut self,
        sink: &mut dyn Sink,
        status: RunStatus,
        exit_code: i32,
    ) -> DbResult<()> {
        let streams: Vec<String> = self.streams.keys().cloned().collect();
        for stream in streams {
            self.write(
                sink,
                &stream,
                &BatchCounts::default(),
                status,
                Some(exit_code),
            )?;
        }
        sink.commit()?;
        tracing::info!(table = %self.table.name, run_id = %self.run_id, status = status.as_str(), "audit rows written");
        Ok(())
    }

    fn write(
        &self,
        sink: &mut dyn Sink,
        stream: &str,
        batch: &BatchCounts,
        status: RunStatus,
        exit_code: Option<i32>,
    ) -> DbResult<()> {
        let Some(s) = self.streams.get(stream) else {
            return Ok(());
        };
        let mut totals = s.committed;
        totals.add(batch);
        let at = now();
        let finished = status != RunStatus::Running;
        let row = vec![
            Value::Text(self.run_id.clone()),
            Value::Text(stream.to_owned()),
            Value::Text(s.target_table.clone()),
            Value::Text(s.load_method.to_owned()),
            number(totals.inserted),
            number(totals.merged),
            number(totals.deleted),
            number(totals.soft_deleted),
            number(s.rejected),
            number(totals.batches),
            totals.first_line.map_or(Value::Null, number),
            totals.last_line.map_or(Value::Null, number),
            self.last_state.clone().map_or(Value::Null, Value::Text),
            Value::TimestampTz(s.started_at),
            Value::TimestampTz(at),
            if finished {
                Value::TimestampTz(at)
            } else {
                Value::Null
            },
            Value::Text(status.as_str().to_owned()),
            exit_code.map_or(Value::Null, |c| Value::Number(c.into())),
            Value::Text(env!("CARGO_PKG_VERSION").to_owned()),
        ];
        let key: Vec<String> = RUN_KEY.iter().map(|k| k.to_string()).collect();
        sink.merge_rows(&self.table, &columns(), &key, &[row])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up_and_lines_span_every_batch() {
        let mut total = BatchCounts::default();
        total.add(&BatchCounts {
            inserted: 3,
            first_line: Some(5),
            last_line: Some(9),
            batches: 1,
            ..BatchCounts::default()
        });
        total.add(&BatchCounts {
            deleted: 2,
            soft_deleted: 1,
            ..BatchCounts::default()
        });
        total.add(&BatchCounts {
            merged: 4,
            first_line: Some(12),
            last_line: Some(20),
            batches: 1,
            ..BatchCounts::default()
        });
        assert_eq!(
            total,
            BatchCounts {
                inserted: 3,
                merged: 4,
                deleted: 2,
                soft_deleted: 1,
                first_line: Some(5),
                last_line: Some(20),
                batches: 2,
            }
        );
    }

    #[test]
    fn the_key_columns_exist_and_are_not_null() {
        let columns = columns();
        for key in RUN_KEY {
            let column = columns.iter().find(|c| c.name == key).unwrap();
            assert!(!column.nullable, "{key}");
        }
    }
}
