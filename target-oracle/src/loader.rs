//! The loading engine: per-stream buffers, table set-up and evolution, batch writes
//! (insert, merge, overwrite), ACTIVATE_VERSION, bad records, and STATE after commit.
//!
//! Every batch is written and committed on its own, so between batches nothing is
//! uncommitted: DDL (which commits implicitly on Oracle) can run at any point without
//! publishing half a batch, and a killed process loses only what no emitted STATE
//! covers. See [`crate::state`] for when a STATE is written.

use std::fs::File;
use std::io::{BufRead, BufWriter, Write};
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::value::RawValue;
use serde_json::Value as Json;
use singer_core::message::Message;
use singer_core::reader::{MessageReader, ReadError, ReadErrorKind};

use db_boundary::{ColumnDef, DbError, RowFilter, ServerInfo, Sink, TableDef, TableName, Value};

use crate::convert::ServerLimits;
use crate::error::TargetError;
use crate::evolve;
use crate::fast_hash::FastMap;
use crate::naming::{NamingRules, TableNaming};
use crate::settings::{LoadMethod, OnBadRecord, TargetConfig};
use crate::state::{StateTracker, StateWriter};
use crate::stream::{parse_fields, Meta, PlanOptions, RecordContext, StreamPlan};
use crate::type_map::TypeRules;
use crate::validate::RecordValidator;

/// Counts of one run, logged at the end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub records: u64,
    pub rows_written: u64,
    pub batches: u64,
    pub rejected: u64,
    pub states_emitted: u64,
}

/// One stream's plan and buffer.
struct StreamLoad {
    table: TableName,
    schema: Json,
    key_properties: Vec<String>,
    plan: StreamPlan,
    validator: Option<RecordValidator>,
    method: LoadMethod,
    /// Rows carry `_sdc_table_version` / `_sdc_deleted_at` (ACTIVATE_VERSION seen).
    versioned: bool,
    table_ready: bool,
    /// Overwrite: the table's old rows are still to be deleted (with the first batch).
    overwrite_pending: bool,
    rows: Vec<Vec<Value>>,
    /// Input line of each buffered row (for errors and rejects).
    lines: Vec<u64>,
    /// The RECORD text of each row, kept only with `on_bad_record: reject`.
    raws: Vec<Option<String>>,
    /// Upsert: key text -> row index, so the last record of a key wins.
    key_index: FastMap<String, usize>,
    bytes: usize,
    /// Line and time of the oldest record in the buffer.
    oldest: Option<(u64, Instant)>,
}

/// How often (in input lines) buffer ages and STATE lag are checked.
const CLOCK_CHECK_INTERVAL: u64 = 512;

/// The engine. Feed it messages with [`Loader::handle`] (or a whole input with
/// [`Loader::load`]), then call [`Loader::finish`].
pub struct Loader<W: Write> {
    config: TargetConfig,
    sink: Box<dyn Sink + Send>,
    types: TypeRules,
    naming: NamingRules,
    limits: ServerLimits,
    table_naming: TableNaming,
    schema_name: Option<String>,
    streams: FastMap<String, StreamLoad>,
    states: StateTracker,
    out: StateWriter<W>,
    rejects: Option<BufWriter<File>>,
    /// Base of `_sdc_sequence` when the record has none: run start (ms) * 10^6 + line.
    sequence_base: i64,
    stats: LoadStats,
}

impl<W: Write> Loader<W> {
    /// Sets up the engine for the server `sink` talks to.
    pub fn new(
        config: TargetConfig,
        mut sink: Box<dyn Sink + Send>,
        out: W,
    ) -> Result<Loader<W>, TargetError> {
        let server: ServerInfo = sink
            .server_info()
            .map_err(TargetError::db("reading the server's version and limits"))?;
        tracing::info!(
            version = %server.version,
            user = %server.user,
            schema = %server.current_schema,
            "connected"
        );
        let types = TypeRules {
            native_boolean: server.supports_boolean(),
            native_json: server.supports_json_type(),
            max_string_bytes: server.max_string_bytes,
            base64_as_blob: config.base64_as_blob,
        };
        let naming = NamingRules {
            upper_case: config.uppercase_identifiers,
            max_bytes: config
                .max_identifier_bytes
                .unwrap_or(server.max_identifier_bytes) as usize,
        };
        let schema_name = config
            .default_target_schema
            .as_deref()
            .map(|s| naming.identifier(s));
        Ok(Loader {
            limits: ServerLimits {
                max_string_bytes: server.max_string_bytes,
            },
            table_naming: TableNaming {
                keep_stream_prefix: config.keep_stream_prefix,
            },
            schema_name,
            types,
            naming,
            sink,
            streams: FastMap::default(),
            states: StateTracker::new(),
            out: StateWriter::new(out),
            rejects: None,
            sequence_base: Utc::now().timestamp_millis().saturating_mul(1_000_000),
            stats: LoadStats::default(),
            config,
        })
    }

    /// Reads every message of `input` and loads it, then finishes the run. An input
    /// that reports idleness (`ErrorKind::TimedOut` between lines) gets the age checks
    /// run while it is quiet.
    pub fn load<R: BufRead>(mut self, input: R) -> Result<LoadStats, TargetError> {
        let mut reader = MessageReader::new(input);
        loop {
            match reader.next_message() {
                Ok(Some(line)) => self.handle(line.number, line.message)?,
                Ok(None) => break,
                // The input went quiet (see `crate::input`): the clock still runs.
                Err(ReadError {
                    kind: ReadErrorKind::Io(e),
                    ..
                }) if crate::input::is_idle(&e) => self.flush_by_age()?,
                Err(e) => return Err(read_error(e)),
            }
        }
        self.finish()
    }

    /// Handles one message read from input line `line`.
    pub fn handle(&mut self, line: u64, message: Message<'_>) -> Result<(), TargetError> {
        match message {
            Message::Schema(schema) => {
                self.on_schema(line, &schema.stream, schema.schema, schema.key_properties)?
            }
            Message::Record(record) => self.on_record(
                line,
                &record.stream,
                record.record,
                record.version,
                record.time_extracted.as_deref(),
            )?,
            Message::State { value } => {
                self.states.push(line, value.to_owned(), Instant::now());
                self.emit_ready()?;
            }
            Message::ActivateVersion { stream, version } => {
                self.on_activate_version(line, &stream, version)?
            }
            Message::Batch(batch) => {
                // Loading BATCH files is not implemented; skipping them would lose rows.
                return Err(TargetError::Input {
                    line,
                    reason: format!(
                        "stream {:?}: BATCH messages are not supported by this target",
                        batch.stream
                    ),
                });
            }
        }
        if line.is_multiple_of(CLOCK_CHECK_INTERVAL) {
            self.flush_by_age()?;
        }
        Ok(())
    }

    /// Writes every buffer and the last STATE; the end of a successful run.
    pub fn finish(mut self) -> Result<LoadStats, TargetError> {
        self.flush_all()?;
        self.emit_ready()?;
        self.flush_rejects()?;
        self.stats.states_emitted = self.out.written();
        tracing::info!(
            records = self.stats.records,
            rows_written = self.stats.rows_written,
            batches = self.stats.batches,
            rejected = self.stats.rejected,
            states = self.stats.states_emitted,
            "load finished"
        );
        Ok(self.stats)
    }

    fn on_schema(
        &mut self,
        line: u64,
        stream: &str,
        schema: Json,
        key_properties: Vec<String>,
    ) -> Result<(), TargetError> {
        let (versioned, overwrite_pending) = match self.streams.get(stream) {
            Some(existing)
                if existing.schema == schema && existing.key_properties == key_properties =>
            {
                return Ok(());
            }
            Some(existing) => (existing.versioned, existing.overwrite_pending),
            None => (self.config.add_record_metadata, false),
        };
        if self.streams.contains_key(stream) {
            self.flush_stream(stream)?;
        }
        let method = match (self.config.load_method, key_properties.is_empty()) {
            (Some(LoadMethod::Upsert), true) => {
                tracing::warn!(
                    stream,
                    "load_method upsert needs key_properties: appending instead"
                );
                LoadMethod::AppendOnly
            }
            (Some(method), _) => method,
            (None, true) => LoadMethod::AppendOnly,
            (None, false) => LoadMethod::Upsert,
        };
        let is_new = !self.streams.contains_key(stream);
        let plan = self
            .plan(&schema, &key_properties, versioned)
            .map_err(|reason| TargetError::Schema {
                line,
                stream: stream.to_owned(),
                reason,
            })?;
        let validator = if self.config.validate_records {
            Some(
                RecordValidator::compile(&schema).map_err(|e| TargetError::Schema {
                    line,
                    stream: stream.to_owned(),
                    reason: e.to_string(),
                })?,
            )
        } else {
            None
        };
        let table = TableName {
            schema: self.schema_name.clone(),
            name: self
                .naming
                .identifier(self.table_naming.table_source_name(stream)),
        };
        self.streams.insert(
            stream.to_owned(),
            StreamLoad {
                table,
                schema,
                key_properties,
                plan,
                validator,
                method,
                versioned,
                table_ready: false,
                overwrite_pending: if is_new {
                    method == LoadMethod::Overwrite
                } else {
                    overwrite_pending
                },
                rows: Vec::new(),
                lines: Vec::new(),
                raws: Vec::new(),
                key_index: FastMap::default(),
                bytes: 0,
                oldest: None,
            },
        );
        Ok(())
    }

    fn plan(&self, schema: &Json, keys: &[String], versioned: bool) -> Result<StreamPlan, String> {
        StreamPlan::new(
            schema,
            keys,
            &PlanOptions {
                types: &self.types,
                naming: &self.naming,
                add_record_metadata: self.config.add_record_metadata,
                versioned,
            },
        )
        .map_err(|e| e.to_string())
    }

    /// Switches a stream to carrying version columns (first versioned record or
    /// ACTIVATE_VERSION): flushes what it buffered without them and replans.
    fn make_versioned(&mut self, line: u64, stream: &str) -> Result<(), TargetError> {
        self.flush_stream(stream)?;
        let (schema, keys) = {
            let s = &self.streams[stream];
            (s.schema.clone(), s.key_properties.clone())
        };
        let plan = self
            .plan(&schema, &keys, true)
            .map_err(|reason| TargetError::Schema {
                line,
                stream: stream.to_owned(),
                reason,
            })?;
        if let Some(s) = self.streams.get_mut(stream) {
            s.plan = plan;
            s.versioned = true;
            s.table_ready = false;
        }
        Ok(())
    }

    /// Creates or evolves the stream's table so its plan can be written.
    fn ensure_table(&mut self, line: u64, stream: &str) -> Result<(), TargetError> {
        let freeze = self.config.freeze_schema;
        let naming = self.naming.clone();
        let Some(s) = self.streams.get_mut(stream) else {
            return Ok(());
        };
        if s.table_ready {
            return Ok(());
        }
        let schema_error = |reason: String| TargetError::Schema {
            line,
            stream: stream.to_owned(),
            reason,
        };
        let existing = self
            .sink
            .describe_table(&s.table)
            .map_err(TargetError::db(format!(
                "describing table {:?}",
                s.table.name
            )))?;
        match existing {
            None if freeze => {
                return Err(schema_error(format!(
                    "table {:?} does not exist and freeze_schema forbids creating it",
                    s.table.name
                )))
            }
            None => {
                let primary_key = if s.method == LoadMethod::Upsert {
                    s.plan
                        .key_slots
                        .iter()
                        .map(|&i| s.plan.slots[i].column.name.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                let def = TableDef {
                    name: s.table.clone(),
                    columns: s.plan.columns(),
                    primary_key,
                };
                tracing::info!(stream, table = %s.table.name, "creating table");
                self.sink
                    .create_table(&def)
                    .map_err(TargetError::db(format!(
                        "creating table {:?}",
                        s.table.name
                    )))?;
            }
            Some(existing) if freeze => {
                let dropped = s.plan.restrict_to(&existing);
                if !dropped.is_empty() {
                    tracing::warn!(stream, columns = ?dropped, "freeze_schema: these properties have no column; non-null values are rejected");
                }
                if s.method == LoadMethod::Upsert
                    && s.plan.key_slots.len() != s.key_properties.len()
                {
                    return Err(schema_error(
                        "a key property has no column and freeze_schema forbids adding it".into(),
                    ));
                }
            }
            Some(existing) => {
                let evolution = evolve::plan(&existing, &s.plan.columns(), &naming);
                for change in &evolution.changes {
                    tracing::info!(stream, table = %s.table.name, change = ?change, "evolving table");
                    self.sink
                        .alter_table(&s.table, change)
                        .map_err(TargetError::db(format!(
                            "altering table {:?}",
                            s.table.name
                        )))?;
                }
                s.plan.adopt_columns(evolution.columns);
            }
        }
        self.sink
            .commit()
            .map_err(TargetError::db("committing DDL"))?;
        s.table_ready = true;
        Ok(())
    }

    fn on_record(
        &mut self,
        line: u64,
        stream: &str,
        record: &RawValue,
        version: Option<i64>,
        time_extracted: Option<&str>,
    ) -> Result<(), TargetError> {
        let Some(s) = self.streams.get(stream) else {
            return Err(TargetError::Input {
                line,
                reason: format!("RECORD for stream {stream:?} before its SCHEMA"),
            });
        };
        if version.is_some() && !s.versioned {
            self.make_versioned(line, stream)?;
        }
        self.ensure_table(line, stream)?;
        self.stats.records += 1;
        let reject_unknown = self.config.freeze_schema;
        let with_metadata = self.config.add_record_metadata;
        let keep_raw = self.config.on_bad_record == OnBadRecord::Reject;
        let built = {
            let s = &self.streams[stream];
            let context = RecordContext {
                time_extracted,
                version,
                received_at: if with_metadata {
                    Utc::now().fixed_offset()
                } else {
                    chrono::DateTime::UNIX_EPOCH.fixed_offset()
                },
                sequence: self.sequence_base.saturating_add(line as i64),
            };
            validate_and_build(s, record, &context, self.limits, reject_unknown)
        };
        let row = match built {
            Ok(row) => row,
            Err((field, reason)) => return self.bad_record(line, stream, &field, &reason, record),
        };
        let Some(s) = self.streams.get_mut(stream) else {
            return Ok(());
        };
        let raw = keep_raw.then(|| record.get().to_owned());
        let bytes = record.get().len();
        if s.oldest.is_none() {
            s.oldest = Some((line, Instant::now()));
        }
        s.bytes += bytes;
        if s.method == LoadMethod::Upsert {
            let key = key_text(&row, &s.plan.key_slots);
            if let Some(&index) = s.key_index.get(&key) {
                s.rows[index] = row;
                s.lines[index] = line;
                s.raws[index] = raw;
            } else {
                s.key_index.insert(key, s.rows.len());
                s.rows.push(row);
                s.lines.push(line);
                s.raws.push(raw);
            }
        } else {
            s.rows.push(row);
            s.lines.push(line);
            s.raws.push(raw);
        }
        if s.rows.len() >= self.config.batch_size_rows || s.bytes >= self.config.batch_size_bytes {
            self.flush_stream(stream)?;
        }
        Ok(())
    }

    fn on_activate_version(
        &mut self,
        line: u64,
        stream: &str,
        version: i64,
    ) -> Result<(), TargetError> {
        let Some(s) = self.streams.get(stream) else {
            return Err(TargetError::Input {
                line,
                reason: format!("ACTIVATE_VERSION for stream {stream:?} before its SCHEMA"),
            });
        };
        if s.versioned {
            self.flush_stream(stream)?;
        } else {
            self.make_versioned(line, stream)?;
        }
        self.ensure_table(line, stream)?;
        let hard = self.config.hard_delete;
        let s = &self.streams[stream];
        let (Some(version_column), Some(deleted_column)) = (
            s.plan.meta_column(Meta::TableVersion),
            s.plan.meta_column(Meta::DeletedAt),
        ) else {
            tracing::warn!(
                stream,
                "the table has no version columns (freeze_schema): ACTIVATE_VERSION ignored"
            );
            return Ok(());
        };
        let filter = RowFilter::LessThan {
            column: version_column.to_owned(),
            value: Value::Number(version.into()),
        };
        let table = s.table.clone();
        let result = if hard {
            self.sink.delete_rows(&table, &filter)
        } else {
            self.sink.update_rows(
                &table,
                deleted_column,
                &Value::TimestampTz(Utc::now().fixed_offset()),
                &filter,
            )
        };
        let affected = result.map_err(TargetError::db(format!(
            "removing rows of versions before {version} from {:?}",
            table.name
        )))?;
        self.sink
            .commit()
            .map_err(TargetError::db("committing ACTIVATE_VERSION"))?;
        tracing::info!(stream, version, rows = affected, hard, "activated version");
        self.emit_ready()
    }

    /// A record that fails validation or conversion.
    fn bad_record(
        &mut self,
        line: u64,
        stream: &str,
        field: &str,
        reason: &str,
        record: &RawValue,
    ) -> Result<(), TargetError> {
        match self.config.on_bad_record {
            OnBadRecord::Reject => {
                self.write_reject(line, stream, field, reason, record.get())?;
                tracing::warn!(line, stream, field, reason, "record rejected");
                Ok(())
            }
            OnBadRecord::Fail => {
                // Commit what came before it, so the emitted STATE is as recent as it
                // can be and a rerun resumes right at this record.
                self.flush_all()?;
                self.emit_ready()?;
                Err(TargetError::BadRecord {
                    line,
                    stream: stream.to_owned(),
                    field: field.to_owned(),
                    reason: reason.to_owned(),
                })
            }
        }
    }

    fn write_reject(
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
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io_error)?;
            self.rejects = Some(BufWriter::new(file));
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

    fn flush_rejects(&mut self) -> Result<(), TargetError> {
        if let Some(rejects) = &mut self.rejects {
            rejects.flush().map_err(|source| TargetError::RejectFile {
                path: self.config.reject_file.display().to_string(),
                source,
            })?;
        }
        Ok(())
    }

    /// Flushes streams whose oldest record waited too long, and everything when a STATE
    /// waited longer than `max_state_lag_seconds`.
    fn flush_by_age(&mut self) -> Result<(), TargetError> {
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

    fn flush_all(&mut self) -> Result<(), TargetError> {
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
    fn flush_stream(&mut self, stream: &str) -> Result<(), TargetError> {
        let Some(mut s) = self.streams.remove(stream) else {
            return Ok(());
        };
        let result = self.write_buffer(stream, &mut s);
        self.streams.insert(stream.to_owned(), s);
        result?;
        self.emit_ready()
    }

    fn write_buffer(&mut self, stream: &str, s: &mut StreamLoad) -> Result<(), TargetError> {
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
        loop {
            match self.write_batch(s, &columns, &keys, deleted_column.as_deref()) {
                Ok(()) => break,
                Err(DbError::RowRejected { row, code, message }) if row < s.rows.len() => {
                    self.sink
                        .rollback()
                        .map_err(TargetError::db("rolling back a failed batch"))?;
                    let reason = format!(
                        "was rejected by the database: {}{message}",
                        code.map(|c| format!("ORA-{c:05}: ")).unwrap_or_default()
                    );
                    let line = s.lines[row];
                    match self.config.on_bad_record {
                        OnBadRecord::Fail => {
                            return Err(TargetError::BadRecord {
                                line,
                                stream: stream.to_owned(),
                                field: String::new(),
                                reason,
                            })
                        }
                        OnBadRecord::Reject => {
                            let raw = s.raws[row].take().unwrap_or_default();
                            self.write_reject(line, stream, "", &reason, &raw)?;
                            s.rows.remove(row);
                            s.lines.remove(row);
                            s.raws.remove(row);
                            if s.rows.is_empty() && !s.overwrite_pending {
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
        s.rows.clear();
        s.lines.clear();
        s.raws.clear();
        s.key_index.clear();
        s.bytes = 0;
        s.oldest = None;
        s.overwrite_pending = false;
        Ok(())
    }

    /// One transaction: (overwrite) delete all, insert or merge, (hard_delete) delete
    /// rows marked deleted, commit.
    fn write_batch(
        &mut self,
        s: &StreamLoad,
        columns: &[ColumnDef],
        keys: &[String],
        deleted_column: Option<&str>,
    ) -> Result<(), DbError> {
        if s.overwrite_pending {
            self.sink.delete_rows(&s.table, &RowFilter::All)?;
        }
        if !s.rows.is_empty() {
            if s.method == LoadMethod::Upsert {
                self.sink.merge_rows(&s.table, columns, keys, &s.rows)?;
            } else {
                self.sink.insert_rows(&s.table, columns, &s.rows)?;
            }
        }
        if self.config.hard_delete {
            if let Some(column) = deleted_column {
                self.sink.delete_rows(
                    &s.table,
                    &RowFilter::NotNull {
                        column: column.to_owned(),
                    },
                )?;
            }
        }
        self.sink.commit()
    }

    /// Writes the newest STATE whose records are all committed.
    fn emit_ready(&mut self) -> Result<(), TargetError> {
        let oldest = self
            .streams
            .values()
            .filter_map(|s| s.oldest.map(|(line, _)| line))
            .min();
        if let Some(state) = self.states.take_ready(oldest) {
            self.flush_rejects()?;
            self.out.emit(&state)?;
        }
        Ok(())
    }
}

/// A line the reader could not use, as the run's error.
pub(crate) fn read_error(error: ReadError) -> TargetError {
    match error.kind {
        ReadErrorKind::Io(e) => TargetError::Read(e),
        kind => TargetError::Input {
            line: error.line,
            reason: match error.stream {
                Some(stream) => format!("stream {stream:?}: {kind}"),
                None => kind.to_string(),
            },
        },
    }
}

/// Validates a record (when the stream has a validator) and converts it to a row; the
/// error is (field, reason).
fn validate_and_build(
    s: &StreamLoad,
    record: &RawValue,
    context: &RecordContext<'_>,
    limits: ServerLimits,
    reject_unknown: bool,
) -> Result<Vec<Value>, (String, String)> {
    let fields = parse_fields(record).map_err(|reason| (String::new(), reason))?;
    if let Some(validator) = &s.validator {
        validator
            .validate_fields(record, &fields)
            .map_err(|invalid| (invalid.field, invalid.reason))?;
    }
    s.plan
        .build_row(&fields, context, limits, reject_unknown)
        .map_err(|e| (e.field, e.reason))
}

/// The key of a row as text, for deduplication within a batch: an exact, kind-tagged
/// form of each key value (never `Debug` text), so two values are one key exactly when
/// they are equal, and NUMBER keys compare by their canonical decimal text.
fn key_text(row: &[Value], key_slots: &[usize]) -> String {
    use std::fmt::Write as _;
    let mut key = String::new();
    for &slot in key_slots {
        // Writing to a String cannot fail.
        let _ = match &row[slot] {
            Value::Null => write!(key, "0"),
            Value::Number(text) => write!(key, "n{text}"),
            Value::Text(text) | Value::Json(text) => write!(key, "t{text}"),
            Value::BinaryFloat(f) => write!(key, "f{:08x}", f.to_bits()),
            Value::BinaryDouble(f) => write!(key, "d{:016x}", f.to_bits()),
            Value::Bytes(bytes) => {
                key.push('b');
                bytes.iter().try_for_each(|b| write!(key, "{b:02x}"))
            }
            Value::Date(at) | Value::Timestamp(at) => {
                write!(key, "w{}", at.format("%Y-%m-%dT%H:%M:%S%.9f"))
            }
            // Oracle compares instants, whatever their offsets.
            Value::TimestampTz(at) => {
                write!(key, "i{}", at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.9f"))
            }
            Value::IntervalYm { years, months } => write!(key, "y{years}:{months}"),
            Value::IntervalDs {
                days,
                hours,
                minutes,
                seconds,
                nanoseconds,
            } => write!(key, "s{days}:{hours}:{minutes}:{seconds}.{nanoseconds:09}"),
            Value::Boolean(b) => write!(key, "{}", if *b { "T" } else { "F" }),
            Value::Vector(items) => {
                key.push('v');
                items
                    .iter()
                    .try_for_each(|x| write!(key, "{:016x},", x.to_bits()))
            }
        };
        key.push('\u{1f}');
    }
    key
}

#[cfg(test)]
mod key_tests {
    use super::key_text;
    use chrono::{DateTime, NaiveDate};
    use db_boundary::Value;

    #[test]
    fn dedup_keys_are_equal_exactly_when_the_values_are() {
        let key = |v: Value| key_text(&[v], &[0]);
        let at = |text: &str| Value::TimestampTz(DateTime::parse_from_rfc3339(text).unwrap());
        assert_eq!(
            key(at("2024-01-01T10:00:00+02:00")),
            key(at("2024-01-01T08:00:00Z")),
            "one instant, two offsets"
        );
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_ne!(
            key(Value::Date(day.and_hms_opt(0, 0, 0).unwrap())),
            key(Value::Date(day.and_hms_opt(0, 0, 1).unwrap()))
        );
        assert_ne!(key(Value::Bytes(vec![1, 2])), key(Value::Bytes(vec![0x12])));
        assert_ne!(key(Value::number("1")), key(Value::Text("1".into())));
        assert_ne!(key(Value::Null), key(Value::Text(String::new())));
    }
}
