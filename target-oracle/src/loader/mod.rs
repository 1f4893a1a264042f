//! The loading engine: per-stream buffers, table set-up and evolution, batch writes
//! (insert, merge, overwrite), ACTIVATE_VERSION, bad records, and STATE after commit.
//!
//! Every batch is written and committed on its own, so between batches nothing is
//! uncommitted: DDL (which commits implicitly on Oracle) can run at any point without
//! publishing half a batch, and a killed process loses only what no emitted STATE
//! covers. See [`crate::state`] for when a STATE is written.
//!
//! Here: the run (messages in, STATE out), SCHEMA, RECORD and ACTIVATE_VERSION.
//! [`table`]: creating and evolving tables. [`batch`]: writing buffers.
//! [`failure`]: bad records and fatal errors. [`overwrite`]: restart-safe overwrite.
//! [`session`]: the session's MODULE/ACTION/CLIENT_IDENTIFIER and a failed run's audit rows.

mod batch;
mod dedup;
mod failure;
mod overwrite;
mod session;
mod table;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::Instant;

use chrono::Utc;
use serde_json::Value as Json;
use singer_core::message::{Message, RecordMessage};
use singer_core::reader::{MessageReader, ReadError, ReadErrorKind};
use singer_core::record::Fields;

use crate::input::{Input, LineTooLong, Readiness};

use db_boundary::{RowFilter, ServerInfo, SessionContext, SessionRole, Sink, TableName, Value};

use crate::audit::{Audit, BatchCounts, RunStatus};

use crate::convert::{ServerLimits, SpareTexts};
use crate::error::TargetError;
use crate::fast_hash::FastMap;
use crate::naming::{NamingRules, TableClaims, TableNaming};
use crate::settings::{LoadMethod, OnBadRecord, TargetConfig};
use crate::state::{StateTracker, StateWriter};
use crate::stream::{Meta, PlanOptions, RecordContext, StreamPlan};
use crate::type_map::TypeRules;
use crate::validate::{InvalidRecord, RecordValidator};
use dedup::KeyIndex;
use overwrite::Overwrites;

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
    /// A RECORD of the stream arrived in this run.
    has_records: bool,
    rows: Vec<Vec<Value>>,
    /// Rows of committed batches, refilled by the next records (their text buffers
    /// are reused); never more than one batch of them.
    spare: Vec<Vec<Value>>,
    /// Text buffers of values that became null, for the next values.
    spare_texts: SpareTexts,
    /// Input line of each buffered row (for errors and rejects).
    lines: Vec<u64>,
    /// The RECORD text of each row, kept only with `on_bad_record: reject`.
    raws: Vec<Option<String>>,
    /// Merging: the row of each key, so the last record of a key wins.
    key_index: KeyIndex,
    bytes: usize,
    /// Line and time of the oldest record in the buffer.
    oldest: Option<(u64, Instant)>,
}

impl StreamLoad {
    /// Whether rows are merged on the key (upsert, and overwrite of a keyed stream,
    /// whose table may already hold the key) rather than inserted.
    fn merges(&self) -> bool {
        self.method == LoadMethod::Upsert
            || (self.method == LoadMethod::Overwrite && !self.plan.key_slots.is_empty())
    }

    /// Drops the buffered rows read at or after input line `limit`.
    fn keep_lines_before(&mut self, limit: u64) {
        let keep: Vec<bool> = self.lines.iter().map(|&l| l < limit).collect();
        let mut flags = keep.iter();
        self.rows.retain(|_| *flags.next().unwrap_or(&false));
        let mut flags = keep.iter();
        self.raws.retain(|_| *flags.next().unwrap_or(&false));
        self.lines.retain(|&l| l < limit);
        self.key_index.clear();
        self.oldest = match (self.lines.iter().min(), self.oldest) {
            (Some(&line), Some((_, since))) => Some((line, since)),
            _ => None,
        };
    }
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
    /// Which stream each table belongs to: two streams never share one.
    claims: TableClaims,
    streams: FastMap<String, StreamLoad>,
    states: StateTracker,
    out: StateWriter<W>,
    rejects: Option<BufWriter<File>>,
    /// Base of `_sdc_sequence` when the record has none: run start (ms) * 10^6 + line.
    sequence_base: i64,
    /// `load_method: overwrite` across restarts.
    overwrites: Overwrites,
    /// No STATE goes out while set (the end of the run, before overwrites finish).
    holding_states: bool,
    stats: LoadStats,
    /// This run's id: the session's CLIENT_IDENTIFIER and the audit rows' key.
    run_id: String,
    /// The session's ACTION (the stream being loaded), to set it only when it changes.
    action: String,
    /// The load audit table, with `audit_table`.
    audit: Option<Audit>,
    /// The last record's fields vector, emptied, for the reader to fill again.
    spare_fields: Option<Fields<'static>>,
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
        let run_id = db_boundary::new_run_id();
        tracing::info!(run_id = %run_id, "run started");
        let action = "load".to_owned();
        sink.set_context(&SessionContext::new(SessionRole::Target, &action, &run_id))
            .map_err(TargetError::db("naming the session"))?;
        let audit = config.audit_table.as_deref().map(|name| {
            let table = TableName {
                schema: config
                    .default_target_schema
                    .as_deref()
                    .map(|s| naming.identifier(s)),
                name: naming.identifier(name),
            };
            Audit::new(table, server.current_schema.clone(), run_id.clone())
        });
        let rejects = match config.on_bad_record {
            // Checked now, not at the first bad record in the middle of a run.
            OnBadRecord::Reject => Some(failure::open_reject_file(&config.reject_file)?),
            OnBadRecord::Fail => None,
        };
        Ok(Loader {
            limits: ServerLimits {
                max_string_bytes: server.max_string_bytes,
            },
            table_naming: TableNaming {
                prefix: config.stream_prefix,
                default_schema: config.default_target_schema.clone(),
                overrides: config.table_names.clone(),
            },
            claims: TableClaims::new(&server.current_schema),
            types,
            naming,
            sink,
            streams: FastMap::default(),
            states: StateTracker::new(),
            out: StateWriter::new(out),
            rejects,
            spare_fields: None,
            sequence_base: Utc::now().timestamp_millis().saturating_mul(1_000_000),
            holding_states: false,
            overwrites: Overwrites::new(
                config.load_method == Some(LoadMethod::Overwrite),
                u64::try_from(Utc::now().timestamp_micros()).unwrap_or(0),
            ),
            stats: LoadStats::default(),
            run_id,
            action,
            audit,
            config,
        })
    }

    /// This run's id (logged at the start, CLIENT_IDENTIFIER, the audit rows' key).
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Reads every message of `input` and loads it, then finishes the run. While the
    /// input is quiet ([`Readiness::Idle`]) the age checks still run. A fatal input
    /// error ends the run after committing what precedes the last complete STATE (see
    /// [`Loader::fail`]).
    pub fn load<R: Input>(mut self, input: R) -> Result<LoadStats, TargetError> {
        let mut reader = MessageReader::new(input);
        loop {
            if reader.get_mut().wait() == Readiness::Idle {
                let next = reader.line_number() + 1;
                self.flush_by_age().map_err(|e| self.fail(e, next))?;
                continue;
            }
            if let Some(fields) = self.spare_fields.take() {
                reader.recycle(fields);
            }
            match reader.next_message() {
                Ok(Some(line)) => self.handle(line.number, line.message)?,
                Ok(None) => break,
                Err(e) => {
                    let line = e.line;
                    return Err(self.fail(read_error(e), line));
                }
            }
        }
        self.finish()
    }

    /// Handles one message read from input line `line`. An error ends the run: an
    /// input error after committing what precedes the last complete STATE.
    pub fn handle(&mut self, line: u64, message: Message<'_>) -> Result<(), TargetError> {
        self.dispatch(line, message)
            .map_err(|error| self.fail(error, line))
    }

    fn dispatch(&mut self, line: u64, message: Message<'_>) -> Result<(), TargetError> {
        match message {
            Message::Schema(schema) => {
                self.on_schema(line, &schema.stream, schema.schema, schema.key_properties)?
            }
            Message::Record(record) => {
                self.on_record(line, &record)?;
                self.spare_fields = Some(singer_core::record::emptied(record.fields));
            }
            Message::State { value } if value.get() == "null" => {
                // Nothing to save: emitting it would make Meltano drop the saved state.
                tracing::warn!(line, "skipping a STATE whose value is null");
            }
            Message::State { value } => {
                self.overwrites.learn(value);
                self.states.push(line, value.to_owned(), Instant::now());
                self.emit_ready()?;
            }
            Message::ActivateVersion { stream, version } => {
                self.on_activate_version(line, &stream, version)?
            }
            Message::Batch(batch) => crate::batch::load(self, line, &batch)?,
        }
        if line.is_multiple_of(CLOCK_CHECK_INTERVAL) {
            self.flush_by_age()?;
        }
        Ok(())
    }

    /// Writes every buffer, ends overwrites and writes the last STATE; the end of a
    /// successful run.
    pub fn finish(mut self) -> Result<LoadStats, TargetError> {
        // The last STATEs wait until the overwrites are finished, so they say so: a
        // STATE that covers a whole stream never goes out with its overwrite open.
        self.holding_states = true;
        let ended = self.flush_all().and_then(|()| self.finish_overwrites());
        self.holding_states = false;
        ended.map_err(|e| self.fail(e, u64::MAX))?;
        if !self.emit_ready()? && self.overwrites.has_finished() {
            // The newest STATE went out while the overwrite was in progress: emit it
            // again saying the overwrite is done, so the next run starts afresh.
            if let Some(state) = self.overwrites.last_state().map(ToOwned::to_owned) {
                let stamped = self.overwrites.stamp(&state, u64::MAX);
                self.out.emit(&stamped)?;
            }
        }
        self.flush_rejects()?;
        if let Some(audit) = &mut self.audit {
            audit
                .finish(self.sink.as_mut(), RunStatus::Succeeded, 0)
                .map_err(TargetError::db("writing the audit rows"))?;
        }
        self.stats.states_emitted = self.out.written();
        tracing::info!(
            run_id = %self.run_id,
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
        if schema
            .get("properties")
            .and_then(Json::as_object)
            .is_none_or(|p| p.is_empty())
        {
            // Refused before any DDL: a table needs at least one column.
            return Err(TargetError::Schema {
                line,
                stream: stream.to_owned(),
                reason: "the SCHEMA declares no properties, so its table would have no columns"
                    .into(),
            });
        }
        let (versioned, has_records) = match self.streams.get(stream) {
            Some(existing)
                if existing.schema == schema && existing.key_properties == key_properties =>
            {
                return Ok(());
            }
            Some(existing) => (existing.versioned, existing.has_records),
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
        let plan = self
            .plan(&schema, &key_properties, versioned, method)
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
        let table = self.table_naming.table_for(stream, &self.naming);
        if self.audit.as_ref().is_some_and(|a| a.table() == &table) {
            return Err(TargetError::Schema {
                line,
                stream: stream.to_owned(),
                reason: format!("its table {:?} is the audit_table", table.name),
            });
        }
        if let Err(clash) = self.claims.claim(stream, &table) {
            // Refused before a row of the second stream is written.
            let hint = self
                .table_naming
                .collision_hint(&clash.first, &clash.second, &self.naming);
            return Err(TargetError::Schema {
                line,
                stream: stream.to_owned(),
                reason: format!("{clash}: {hint}"),
            });
        }
        if method == LoadMethod::Overwrite {
            self.overwrites.begin(stream, &table);
        }
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
                has_records,
                rows: Vec::new(),
                spare: Vec::new(),
                spare_texts: SpareTexts::default(),
                lines: Vec::new(),
                raws: Vec::new(),
                key_index: KeyIndex::default(),
                bytes: 0,
                oldest: None,
            },
        );
        Ok(())
    }

    fn plan(
        &self,
        schema: &Json,
        keys: &[String],
        versioned: bool,
        method: LoadMethod,
    ) -> Result<StreamPlan, String> {
        StreamPlan::new(
            schema,
            keys,
            &PlanOptions {
                types: &self.types,
                naming: &self.naming,
                add_record_metadata: self.config.add_record_metadata,
                versioned,
                overwrite: self.config.load_method == Some(LoadMethod::Overwrite),
                primary_key: method == LoadMethod::Upsert && !keys.is_empty(),
            },
        )
        .map_err(|e| e.to_string())
    }

    pub(crate) fn on_record(
        &mut self,
        line: u64,
        message: &RecordMessage<'_>,
    ) -> Result<(), TargetError> {
        let (stream, record) = (message.stream.as_ref(), message.record);
        let (version, time_extracted) = (message.version, message.time_extracted.as_deref());
        // One lookup of the stream per record: the fields below are the loader's others.
        let Some(s) = self.streams.get_mut(stream) else {
            return Err(TargetError::Input {
                line,
                reason: format!("RECORD for stream {stream:?} before its SCHEMA"),
            });
        };
        if !s.table_ready || (version.is_some() && !s.versioned) {
            return self.record_after_setup(line, message);
        }
        self.stats.records += 1;
        let keep_raw = self.config.on_bad_record == OnBadRecord::Reject;
        let mut row = s.spare.pop().unwrap_or_default();
        // The next row's text buffers (its values were read one record ago), and the
        // values of the row after it.
        if let [.., after_next, next] = s.spare.as_mut_slice() {
            warm_texts(next);
            std::hint::black_box(warm_values(after_next));
        } else if let Some(next) = s.spare.last_mut() {
            warm_texts(next);
        }
        let context = RecordContext {
            time_extracted,
            version,
            received_at: if self.config.add_record_metadata {
                Utc::now().fixed_offset()
            } else {
                chrono::DateTime::UNIX_EPOCH.fixed_offset()
            },
            sequence: self.sequence_base.saturating_add(line as i64),
            load_sequence: (s.method == LoadMethod::Overwrite)
                .then(|| self.overwrites.sequence(line)),
            limits: self.limits,
            reject_unknown: self.config.freeze_schema,
        };
        let built = validate_and_build(s, message, &context, &mut row);
        if let Err((field, reason)) = built {
            s.spare.push(row);
            return self.bad_record(line, stream, &field, &reason, record);
        }
        let raw = keep_raw.then(|| record.to_owned());
        let bytes = record.len();
        if s.oldest.is_none() {
            s.oldest = Some((line, Instant::now()));
        }
        s.bytes += bytes;
        s.has_records = true;
        if s.merges() {
            if let Some(index) = s.key_index.find_or_add(&s.rows, &row, &s.plan.key_slots) {
                let replaced = std::mem::replace(&mut s.rows[index], row);
                s.spare.push(replaced);
                s.lines[index] = line;
                s.raws[index] = raw;
            } else {
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

    /// The first record of a stream's table, or the first with a version: the table is
    /// made ready (created, evolved, made versioned), then the record is loaded.
    #[cold]
    fn record_after_setup(
        &mut self,
        line: u64,
        message: &RecordMessage<'_>,
    ) -> Result<(), TargetError> {
        let (stream, version) = (message.stream.as_ref(), message.version);
        if version.is_some() && !self.streams[stream].versioned {
            self.make_versioned(line, stream)?;
        }
        self.ensure_table(line, stream)?;
        let s = &self.streams[stream];
        // Both flags are set now; the check stops any second round.
        if !s.table_ready || (version.is_some() && !s.versioned) {
            return Err(TargetError::Input {
                line,
                reason: format!("stream {stream:?}: its table could not be made ready"),
            });
        }
        self.on_record(line, message)
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
        let counts = BatchCounts {
            deleted: if hard { affected } else { 0 },
            soft_deleted: if hard { 0 } else { affected },
            ..BatchCounts::default()
        };
        if let Some(audit) = &self.audit {
            audit
                .stage(self.sink.as_mut(), stream, &counts)
                .map_err(TargetError::db("writing the audit row"))?;
        }
        self.sink
            .commit()
            .map_err(TargetError::db("committing ACTIVATE_VERSION"))?;
        if let Some(audit) = &mut self.audit {
            audit.committed(stream, &counts);
        }
        tracing::info!(stream, version, rows = affected, hard, "activated version");
        if self.streams[stream].method == LoadMethod::Overwrite && self.streams[stream].has_records
        {
            // The tap says the stream is complete: a restart reads it again from its
            // start, so no later STATE may claim part of it.
            self.finish_overwrite(stream)?;
        }
        self.emit_ready().map(drop)
    }

    /// Writes the newest STATE whose records are all committed (with what it covers
    /// of an overwrite in progress); whether one was written.
    fn emit_ready(&mut self) -> Result<bool, TargetError> {
        if self.holding_states {
            return Ok(false);
        }
        let oldest = self
            .streams
            .values()
            .filter_map(|s| s.oldest.map(|(line, _)| line))
            .min();
        let Some((line, state)) = self.states.take_ready(oldest) else {
            return Ok(false);
        };
        self.flush_rejects()?;
        let stamped = self.overwrites.stamp(&state, line);
        self.out.emit(&stamped)?;
        if let Some(audit) = &mut self.audit {
            audit.state_emitted(stamped.get());
        }
        Ok(true)
    }
}

/// A line the reader could not use, as the run's error.
pub(crate) fn read_error(error: ReadError) -> TargetError {
    match error.kind {
        ReadErrorKind::Io(e) => TargetError::Input {
            line: error.line,
            reason: match e.get_ref().and_then(|e| e.downcast_ref::<LineTooLong>()) {
                Some(too_long) => too_long.to_string(),
                None => format!("reading the input failed: {e}"),
            },
        },
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
/// error is (field, reason). A flat schema is checked field by field during the
/// conversion; any other goes through `jsonschema` first.
fn validate_and_build(
    s: &mut StreamLoad,
    message: &RecordMessage<'_>,
    context: &RecordContext<'_>,
    row: &mut Vec<Value>,
) -> Result<(), (String, String)> {
    let (record, fields) = (message.record, &message.fields);
    let invalid = |e: InvalidRecord| (e.field, e.reason);
    let rules = match &s.validator {
        Some(validator) => match validator.flat() {
            Some(flat) => {
                flat.check_required(fields).map_err(invalid)?;
                Some(flat)
            }
            None => {
                validator.validate_fields(record, fields).map_err(invalid)?;
                None
            }
        },
        None => None,
    };
    s.plan
        .build_row(
            fields,
            rules,
            context,
            row,
            &mut s.spare_texts,
            message.shape,
        )
        .map_err(|e| (e.field, e.reason))
}

/// Writes a byte into each of a recycled row's text buffers, a record before they are
/// filled: a batch's rows are recycled a batch later, long out of the cache, and a row
/// filled field by field then waited on each miss in turn. A write does not wait for
/// its line (a read would); a recycled row's values mean nothing until filled. The row's
/// values are read a record earlier ([`warm_values`]), as each buffer is found through
/// its value.
fn warm_texts(row: &mut [Value]) {
    for value in row {
        if let Value::Text(text) = value {
            if text.capacity() > 0 {
                text.clear();
                text.push(' ');
            }
        }
    }
}

/// Reads a recycled row's values (see [`warm_texts`]); their misses overlap.
fn warm_values(row: &[Value]) -> usize {
    row.iter().map(|value| usize::from(value.is_null())).sum()
}
