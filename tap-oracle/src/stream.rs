//! One stream's sync: its bookmark read from STATE, its FULL_TABLE pass or INCREMENTAL
//! read, and the STATE that closes it. Lines go to the stream's own buffer and reach
//! stdout only through [`Shared::publish`], so any STATE on stdout covers exactly the
//! rows before it.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{SecondsFormat, Utc};
use db_boundary::{
    scan_into, Backend, DbError, FetchTuning, KeyRange, KeyRangeError, RowId, Scan, ScanError,
    ScanRange, SessionContext, SessionRole, Source, TableRef, Value,
};
use singer_core::metrics;
use singer_core::writer::{MessageWriter, WriteError};

use crate::bookmark::{self, StreamBookmark};
use crate::error::TapError;
use crate::pipeline;
use crate::plan::{KeyColumn, Replication, StreamPlan};
use crate::rows::StreamRows;
use crate::sync::{Shared, SyncOptions};

pub(crate) fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Where a stream stands after a row: its tracked column values and its ROWID.
#[derive(Debug, Clone)]
pub(crate) struct Position {
    pub values: Vec<Value>,
    pub rowid: Option<String>,
}

/// One stream being synced.
pub(crate) struct StreamRun<'s, W: Write> {
    pub plan: &'s StreamPlan,
    pub options: &'s SyncOptions,
    pub shared: &'s Shared<W>,
    pub local: MessageWriter<Vec<u8>>,
    pub bookmark: StreamBookmark,
    /// The table version RECORDs carry (FULL_TABLE).
    pub version: Option<i64>,
    pub rows: u64,
    pub since_state: u64,
    pub started: Instant,
    pub last_progress: Instant,
    /// In a chunked pass: the chunk this worker reads and the pass's shared bookmark.
    pub chunk: Option<(usize, &'s Mutex<StreamBookmark>)>,
}

/// Writes a stream's bookmark map into the state.
pub(crate) fn store(
    state: &mut singer_core::state::State,
    id: &str,
    map: serde_json::Map<String, serde_json::Value>,
) {
    for (key, value) in map {
        state.set_bookmark_value(id, &key, value);
    }
}

/// Key values of a keyed FULL_TABLE stream as a `last_pk_fetched`-style map (the same
/// text RECORDs carry); empty for other methods.
pub(crate) fn key_json(
    replication: &Replication,
    values: &[Value],
    offset: chrono::FixedOffset,
) -> serde_json::Map<String, serde_json::Value> {
    match replication {
        Replication::FullTableByKey(keys) => keys
            .iter()
            .zip(values)
            .map(|(k, v)| (k.name.clone(), bookmark::to_json(v, offset)))
            .collect(),
        _ => serde_json::Map::new(),
    }
}

/// Whether a flashback read failed because its SCN can no longer be read: past the undo
/// retention (ORA-01555), not a valid SCN any more (ORA-08181), or before the table's
/// DDL (ORA-01466). Resuming at that SCN would fail forever.
pub(crate) fn snapshot_lost(e: &DbError) -> bool {
    matches!(e.ora_code(), Some(1555 | 8181 | 1466))
}

/// Syncs one stream on its own session.
pub(crate) fn sync_stream<W: Write + Send>(
    backend: &dyn Backend,
    plan: &StreamPlan,
    options: &SyncOptions,
    shared: &Shared<W>,
) -> Result<(), TapError> {
    let mut source = backend.source()?;
    source.set_context(&SessionContext::new(
        SessionRole::Tap,
        &plan.stream,
        &options.run_id,
    ))?;
    let mut run = StreamRun::start(plan, options, shared)?;
    match &plan.replication {
        Replication::Incremental(key) => run.incremental(source.as_mut(), key)?,
        _ => run.full_table(backend, source.as_mut())?,
    }
    let elapsed = run.started.elapsed().as_secs_f64();
    metrics::counter("record_count", run.rows, &plan.stream);
    metrics::timer("sync_duration", elapsed, &plan.stream, "succeeded");
    tracing::info!(stream = %plan.stream, rows = run.rows, seconds = elapsed, "stream synced");
    Ok(())
}

impl<'s, W: Write + Send> StreamRun<'s, W> {
    /// Reads the stream's bookmark (starting over when the method changed) and writes
    /// its SCHEMA to the stream's buffer.
    fn start(
        plan: &'s StreamPlan,
        options: &'s SyncOptions,
        shared: &'s Shared<W>,
    ) -> Result<Self, TapError> {
        let stored = shared.bookmark(&plan.stream);
        let bookmark = StreamBookmark::from_map(&stored)
            .map_err(|e| TapError::stream(&plan.stream, format!("state: {e}")))?
            .for_method(plan.method_name());
        let mut local = MessageWriter::new(Vec::with_capacity(256 * 1024));
        let bookmark_properties: Vec<String> = match &plan.replication {
            Replication::Incremental(key) => vec![key.name.clone()],
            _ => Vec::new(),
        };
        local.write_schema(
            &plan.stream,
            &plan.schema,
            &plan.key_properties,
            &bookmark_properties,
        )?;
        Ok(StreamRun {
            plan,
            options,
            shared,
            local,
            bookmark,
            version: None,
            rows: 0,
            since_state: 0,
            started: Instant::now(),
            last_progress: Instant::now(),
            chunk: None,
        })
    }

    /// Hands the buffered lines to stdout and stores the bookmark; with `emit_state`,
    /// writes the STATE after them.
    pub(crate) fn publish(&mut self, emit_state: bool) -> Result<(), WriteError> {
        self.publish_at(None, emit_state)
    }

    /// [`Self::publish`], first moving the bookmark to `position`. In a chunked pass the
    /// chunk's progress changes under the writer's lock, after this worker's rows went
    /// out, so no STATE (of any worker) covers rows still in a buffer.
    pub(crate) fn publish_at(
        &mut self,
        position: Option<&Position>,
        emit_state: bool,
    ) -> Result<(), WriteError> {
        let id = self.plan.stream.as_str();
        let Some((index, pass)) = self.chunk else {
            if let Some(position) = position {
                self.record_position(position);
            }
            let map = self.bookmark.to_map();
            return self
                .shared
                .publish(&mut self.local, |state| store(state, id, map), emit_state);
        };
        let after = position.map(|p| self.key_json(&p.values));
        self.shared.publish(
            &mut self.local,
            |state| {
                let mut pass = pass.lock().unwrap_or_else(|e| e.into_inner());
                if let (Some(after), Some(chunks)) = (after, pass.chunks.as_mut()) {
                    chunks[index].after = Some(after);
                }
                store(state, id, pass.to_map());
            },
            emit_state,
        )
    }

    /// Key values as a `last_pk_fetched`-style map.
    pub(crate) fn key_json(&self, values: &[Value]) -> serde_json::Map<String, serde_json::Value> {
        key_json(&self.plan.replication, values, self.options.source_offset)
    }

    /// The first STATE of a stream: it is now `currently_syncing`.
    pub(crate) fn publish_start(&mut self) -> Result<(), WriteError> {
        self.shared.set_currently_syncing(&self.plan.stream);
        self.publish(true)
    }

    /// Stores `position` as the stream's bookmark.
    pub(crate) fn record_position(&mut self, position: &Position) {
        let offset = self.options.source_offset;
        match &self.plan.replication {
            Replication::FullTableByKey(_) => {
                self.bookmark.last_pk_fetched = Some(self.key_json(&position.values));
            }
            Replication::FullTableByRowId => {
                self.bookmark.last_rowid = Some(position.rowid.clone().unwrap_or_default());
            }
            // No position to resume from: an interrupted pass starts over.
            Replication::FullTableOnePass => {}
            Replication::Incremental(key) => {
                self.bookmark.replication_key = Some(key.name.clone());
                self.bookmark.replication_key_value = position
                    .values
                    .first()
                    .map(|v| bookmark::to_json(v, offset));
            }
        }
    }

    /// The value to bind for a bookmarked `json` of column `key`.
    pub(crate) fn bound(
        &self,
        key: &KeyColumn,
        json: &serde_json::Value,
    ) -> Result<Value, TapError> {
        bookmark::from_json(json, &key.oracle_type, self.options.source_offset)
            .map_err(|e| TapError::stream(&self.plan.stream, e))
    }

    /// Positions in a row of the columns a position is made of.
    fn tracked(&self) -> Vec<usize> {
        match &self.plan.replication {
            Replication::FullTableByKey(keys) => keys.iter().map(|k| k.position).collect(),
            Replication::FullTableByRowId | Replication::FullTableOnePass => Vec::new(),
            Replication::Incremental(key) => vec![key.position],
        }
    }

    /// Reads `range` into the stream; returns the last row's position (`None` when no
    /// row came). On a failure the rows already read still go out, with no STATE.
    pub(crate) fn read(
        &mut self,
        source: &mut dyn Source,
        range: ScanRange,
        as_of_scn: Option<u64>,
    ) -> Result<(u64, Option<Position>), TapError> {
        let scan = Scan {
            table: TableRef {
                owner: self.plan.owner.clone(),
                table: self.plan.table.clone(),
            },
            columns: self.plan.scan_columns.clone(),
            range,
            as_of_scn,
            tuning: FetchTuning {
                fetch_array_size: self.options.fetch_array_size,
                prefetch_rows: self.options.prefetch_rows,
            },
        };
        let tracked = self.tracked();
        let readers = self.options.max_parallel_streams * self.options.max_parallel_chunks;
        let pipelined = self.options.pipelining.enabled(
            readers,
            pipeline::available_cpus(),
            pipeline::load_average(),
        );
        let mut rows = StreamRows::new(self, tracked);
        let result = if pipelined {
            pipeline::scan_into(source, &scan, &mut rows)
        } else {
            scan_into(source, &scan, &mut rows)
        };
        // The rows read into a BATCH file go out named, whether the scan ended or failed.
        let closed = rows.close_batch();
        let (count, position) = (rows.rows, rows.position());
        match result {
            Ok(_) => {
                closed?;
                Ok((count, position))
            }
            Err(e) => {
                let _ = self.shared.publish(&mut self.local, |_| {}, false);
                Err(match e {
                    ScanError::Database(e) => e.into(),
                    ScanError::Stopped(e) => e.into(),
                })
            }
        }
    }

    /// The key values to resume after, from the bookmark.
    fn bookmarked_key(&self, keys: &[KeyColumn]) -> Result<Option<Vec<Value>>, TapError> {
        let Some(last) = &self.bookmark.last_pk_fetched else {
            return Ok(None);
        };
        keys.iter()
            .map(|k| {
                let json = last.get(&k.name).ok_or_else(|| {
                    TapError::stream(
                        &self.plan.stream,
                        format!("bookmark lacks key column {}", k.name),
                    )
                })?;
                self.bound(k, json)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// The page after `after` (the start when `None`): a keyset page on the key, a
    /// ROWID page without one, or the whole view in one unordered read.
    fn page(&self, after: Option<Position>) -> Result<ScanRange, TapError> {
        let limit = Some(self.options.page_rows);
        Ok(match &self.plan.replication {
            Replication::FullTableByKey(keys) => {
                let names = keys.iter().map(|k| k.name.clone()).collect();
                let shape = |e: KeyRangeError| TapError::stream(&self.plan.stream, e.to_string());
                let range = KeyRange::new(names)
                    .map_err(shape)?
                    .limit(self.options.page_rows);
                ScanRange::Keyset(match after {
                    Some(position) => range.after(position.values).map_err(shape)?,
                    None => range,
                })
            }
            Replication::FullTableByRowId => ScanRange::RowId {
                after: after.and_then(|p| p.rowid).map(RowId),
                limit,
            },
            Replication::FullTableOnePass => ScanRange::All,
            Replication::Incremental(_) => unreachable!("FULL_TABLE only"),
        })
    }

    /// Reads the pass page by page from the bookmark until a page comes back short.
    fn pages(&mut self, source: &mut dyn Source) -> Result<(), TapError> {
        let mut after = match &self.plan.replication {
            Replication::FullTableByKey(keys) => {
                self.bookmarked_key(keys)?.map(|values| Position {
                    values,
                    rowid: None,
                })
            }
            Replication::FullTableByRowId => self.bookmark.last_rowid.clone().map(|r| Position {
                values: Vec::new(),
                rowid: Some(r),
            }),
            _ => None,
        };
        loop {
            let range = self.page(after.take())?;
            let paged = !matches!(range, ScanRange::All);
            let (rows, last) = self.read(source, range, self.bookmark.scn)?;
            tracing::debug!(stream = %self.plan.stream, rows, "page read");
            if !paged || rows < self.options.page_rows.get() {
                return Ok(());
            }
            after = last;
        }
    }

    /// One FULL_TABLE pass, resumed from the bookmark when a pass was unfinished.
    fn full_table(
        &mut self,
        backend: &dyn Backend,
        source: &mut dyn Source,
    ) -> Result<(), TapError> {
        if let Some(run) = &self.options.shard {
            return self.shard_pass(backend, source, run);
        }
        if self.bookmark.shard.take().is_some() {
            // A shard's part of a plan is not a pass this run can resume or activate.
            self.bookmark.clear_pass();
        }
        let resuming = self.bookmark.resuming();
        let previous_version = self.bookmark.version;
        let version = match (resuming, previous_version) {
            (true, Some(v)) => v,
            _ => Utc::now().timestamp_millis(),
        };
        if !resuming {
            self.bookmark.clear_pass();
        }
        self.version = Some(version);
        self.bookmark.version = Some(version);
        // Chunks read on several sessions are one snapshot only AS OF one SCN; a
        // LOG_BASED snapshot is read AS OF the SCN its log position starts after.
        // External tables refuse `AS OF SCN` (ORA-08188): read as they are.
        let as_of = !self.plan.external && (self.options.use_flashback || self.chunked_mode());
        self.bookmark.scn = match (as_of, resuming, self.bookmark.scn) {
            _ if self.plan.log_based.is_some() => {
                Some(self.bookmark.snapshot_scn.ok_or_else(|| {
                    TapError::stream(
                        &self.plan.stream,
                        "the LOG_BASED snapshot has no snapshot_scn",
                    )
                })?)
            }
            (false, _, _) => None,
            (true, true, Some(scn)) => Some(scn),
            (true, _, _) => Some(source.current_scn()?),
        };
        tracing::info!(stream = %self.plan.stream, version, resuming, "FULL_TABLE sync");
        self.publish_start()?;
        if previous_version.is_none() && self.options.activate_version {
            self.local
                .write_activate_version(&self.plan.stream, version)?;
        }
        match self.pass(backend, source) {
            Err(TapError::Database(e)) if resuming && snapshot_lost(&e) => {
                self.restart_pass(source, &e)?;
                self.pass(backend, source)?;
            }
            other => other?,
        }
        // The pass is complete: clear the resume position, keep the version; a LOG_BASED
        // stream hands over to the redo in the same STATE.
        self.bookmark.clear_pass();
        if self.plan.log_based.is_some() {
            crate::log_based::sync::hand_off(&mut self.bookmark, source, &self.plan.stream)?;
        }
        self.publish(false)?;
        if let (true, Some(version)) = (self.options.activate_version, self.version) {
            self.local
                .write_activate_version(&self.plan.stream, version)?;
        }
        self.publish(true)?;
        Ok(())
    }

    /// Reads the pass: in chunks on several sessions when asked and the table has a key,
    /// else page by page on this session.
    fn pass(&mut self, backend: &dyn Backend, source: &mut dyn Source) -> Result<(), TapError> {
        match &self.plan.replication {
            Replication::FullTableByKey(keys) if self.chunked_mode() => {
                self.chunked(backend, source, &keys.clone())
            }
            _ => self.pages(source),
        }
    }

    /// Whether this stream's FULL_TABLE passes are chunked.
    fn chunked_mode(&self) -> bool {
        self.options.max_parallel_chunks > 1
            && matches!(self.plan.replication, Replication::FullTableByKey(_))
    }

    /// Starts the pass over when the snapshot it resumed at is gone: a fresh SCN, a new
    /// version (whose closing ACTIVATE_VERSION retires the rows sent under the old one).
    fn restart_pass(&mut self, source: &mut dyn Source, cause: &DbError) -> Result<(), TapError> {
        let version = Utc::now()
            .timestamp_millis()
            .max(self.version.unwrap_or(0) + 1);
        tracing::warn!(
            stream = %self.plan.stream,
            old_scn = ?self.bookmark.scn,
            new_version = version,
            "the flashback snapshot this pass resumed at is gone ({cause}): the pass starts over from its first row at a fresh SCN under a new version; raise UNDO_RETENTION (or sync more often) to resume instead"
        );
        self.bookmark.clear_pass();
        self.version = Some(version);
        self.bookmark.version = Some(version);
        self.bookmark.scn = Some(source.current_scn()?);
        if self.plan.log_based.is_some() {
            // A new snapshot point: its SCN and the transactions open at it.
            let point = source.snapshot_point()?;
            self.bookmark.scn = Some(point.scn);
            self.bookmark.snapshot_scn = Some(point.scn);
            self.bookmark.snapshot_low_water = Some(point.low_water);
        }
        self.publish(true)?;
        Ok(())
    }

    /// One INCREMENTAL read from the bookmark (inclusive), keeping the last value read.
    fn incremental(&mut self, source: &mut dyn Source, key: &KeyColumn) -> Result<(), TapError> {
        let from = match (
            &self.bookmark.replication_key,
            &self.bookmark.replication_key_value,
        ) {
            (Some(k), Some(value)) if *k == key.name => Some(self.bound(key, value)?),
            _ => None,
        };
        let start = if from.is_some() {
            "bookmark"
        } else {
            "beginning"
        };
        tracing::info!(stream = %self.plan.stream, key = %key.name, start = %start, "INCREMENTAL sync");
        self.publish_start()?;
        let range = ScanRange::FromValue {
            column: key.name.clone(),
            at_least: from,
        };
        let (_, position) = self.read(source, range, None)?;
        if let Some(position) = position {
            self.record_position(&position);
        }
        self.publish(true)?;
        Ok(())
    }
}
