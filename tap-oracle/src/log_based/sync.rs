//! One run of every LOG_BASED stream: snapshots for streams that have no log position
//! yet (a FULL_TABLE pass AS OF the snapshot SCN, resumable), then one bounded drain of
//! the redo from the lowest low-water SCN to the SCN current at the drain's start, in
//! windows sized by redo bytes, through one mining session per window. STATE is written
//! only at transaction boundaries. See docs/log-based.md.

use std::io::Write;
use std::time::Instant;

use db_boundary::{
    mine_into, Backend, ChangeRow, DatabaseIdentity, MinedColumn, MinedTable, MiningRequest,
    ScanError, SessionContext, SessionRole, Source,
};
use serde_json::Value as Json;
use singer_core::metrics;
use singer_core::writer::MessageWriter;

use super::buffer::ChangeKind;
use super::logs::{needed_logs, windows};
use super::miner::{ChangeSink, Commit, Fed, MineError, MinedStream, Miner};
use super::position::LogPosition;
use crate::bookmark::StreamBookmark;
use crate::convert::RowEncoder;
use crate::error::TapError;
use crate::plan::StreamPlan;
use crate::stream::{now_text, sync_stream};
use crate::sync::{Shared, SyncOptions};

/// Lines buffered before they are handed to stdout without a STATE (inside a large
/// transaction).
const FLUSH_BYTES: usize = 1 << 20;

/// Syncs the LOG_BASED streams of a run.
pub(crate) fn sync_log_based<W: Write + Send>(
    backend: &dyn Backend,
    plans: &[StreamPlan],
    options: &SyncOptions,
    shared: &Shared<W>,
) -> Result<(), TapError> {
    let mut source = backend.source()?;
    // One mining session serves every LOG_BASED stream: its ACTION says so.
    source.set_context(&SessionContext::new(
        SessionRole::Tap,
        "log_based",
        &options.run_id,
    ))?;
    let identity = source.database_identity()?;
    for plan in plans {
        if position_of(shared, plan, &identity)?.is_none() {
            snapshot(backend, source.as_mut(), plan, options, shared)?;
        }
    }
    drain(source.as_mut(), plans, options, shared, identity)
}

/// The stream's bookmark as this run reads it (a changed method starts over).
fn bookmark_of<W: Write>(
    shared: &Shared<W>,
    plan: &StreamPlan,
) -> Result<StreamBookmark, TapError> {
    StreamBookmark::from_map(&shared.bookmark(&plan.stream))
        .map(|b| b.for_method("LOG_BASED"))
        .map_err(|e| TapError::stream(&plan.stream, format!("state: {e}")))
}

/// The stream's log position, checked against this database; `None` before its
/// snapshot completed (or when its replication method changed).
fn position_of<W: Write>(
    shared: &Shared<W>,
    plan: &StreamPlan,
    identity: &DatabaseIdentity,
) -> Result<Option<LogPosition>, TapError> {
    let id = plan.stream.as_str();
    let Some(json) = bookmark_of(shared, plan)?.log_position else {
        return Ok(None);
    };
    let position = LogPosition::from_json(&json).map_err(|e| TapError::stream(id, e))?;
    position
        .check_database(identity)
        .map_err(|e| TapError::stream(id, e))?;
    Ok(Some(position))
}

/// The first sync: fixes the snapshot point (kept across a restarted snapshot), then
/// the FULL_TABLE pass as of it, which hands over to the redo when it completes.
fn snapshot<W: Write + Send>(
    backend: &dyn Backend,
    source: &mut (dyn Source + Send),
    plan: &StreamPlan,
    options: &SyncOptions,
    shared: &Shared<W>,
) -> Result<(), TapError> {
    let id = plan.stream.as_str();
    let mut bookmark = bookmark_of(shared, plan)?;
    if bookmark.snapshot_scn.is_none() || bookmark.snapshot_low_water.is_none() {
        let point = source.snapshot_point()?;
        bookmark.clear_pass();
        bookmark.version = None;
        bookmark.snapshot_scn = Some(point.scn);
        bookmark.snapshot_low_water = Some(point.low_water);
        let map = bookmark.to_map();
        let mut nothing = MessageWriter::new(Vec::new());
        shared.publish(
            &mut nothing,
            |state| {
                for (key, value) in map {
                    state.set_bookmark_value(id, &key, value);
                }
            },
            false,
        )?;
    }
    tracing::info!(
        stream = id,
        snapshot_scn = bookmark.snapshot_scn,
        low_water = bookmark.snapshot_low_water,
        "LOG_BASED snapshot"
    );
    sync_stream(backend, plan, options, shared)
}

/// The hand-off at the end of a snapshot pass (called by the FULL_TABLE pass, in the
/// STATE that closes it): the log position starts after the snapshot's SCN, at the
/// low-water SCN of the transactions open at it.
pub(crate) fn hand_off(
    bookmark: &mut StreamBookmark,
    source: &mut dyn Source,
    stream: &str,
) -> Result<(), TapError> {
    let (Some(scn), Some(low_water)) = (bookmark.snapshot_scn, bookmark.snapshot_low_water) else {
        return Err(TapError::stream(
            stream,
            "the LOG_BASED snapshot lost its snapshot_scn",
        ));
    };
    let position = LogPosition {
        scn: scn + 1,
        xids: Vec::new(),
        low_water: low_water.min(scn + 1),
        database: source.database_identity()?,
    };
    bookmark.log_position = Some(position.to_json());
    bookmark.snapshot_scn = None;
    bookmark.snapshot_low_water = None;
    Ok(())
}

/// Writes committed changes as RECORDs into the local buffer, handing full buffers to
/// stdout (without a STATE) so a large transaction never sits in memory.
struct RecordSink<'s, W: Write> {
    shared: &'s Shared<W>,
    local: MessageWriter<Vec<u8>>,
    ids: Vec<String>,
    versions: Vec<Option<i64>>,
    time_extracted: String,
    records: u64,
}

impl<W: Write> ChangeSink for RecordSink<'_, W> {
    fn change(
        &mut self,
        stream: usize,
        kind: ChangeKind,
        body: &[u8],
        commit: &Commit<'_>,
    ) -> Result<(), MineError> {
        self.local.write_record_with(
            &self.ids[stream],
            self.versions[stream],
            Some(&self.time_extracted),
            |out| {
                // `body` is `{...}` with at least one column: extend it.
                out.extend_from_slice(&body[..body.len() - 1]);
                out.extend_from_slice(b",\"_sdc_commit_scn\":");
                out.extend_from_slice(commit.scn.to_string().as_bytes());
                out.extend_from_slice(b",\"_sdc_commit_timestamp\":\"");
                out.extend_from_slice(commit.time.as_bytes());
                out.extend_from_slice(b"\",\"_sdc_deleted_at\":");
                if kind == ChangeKind::Delete {
                    out.push(b'"');
                    out.extend_from_slice(commit.time.as_bytes());
                    out.push(b'"');
                } else {
                    out.extend_from_slice(b"null");
                }
                out.push(b'}');
            },
        )?;
        self.records += 1;
        if self.local.inner_mut().len() >= FLUSH_BYTES {
            self.shared.publish(&mut self.local, |_| {}, false)?;
        }
        Ok(())
    }
}

/// The mined streams, the tables a mining session reads, and where records go.
type Prepared<'s, W> = (Vec<MinedStream>, Vec<MinedTable>, RecordSink<'s, W>);

/// The mined streams, their tables, and the record sink, from the state.
fn prepare<'s, W: Write>(
    source: &mut (dyn Source + Send),
    plans: &[StreamPlan],
    options: &SyncOptions,
    shared: &'s Shared<W>,
    identity: &DatabaseIdentity,
) -> Result<Prepared<'s, W>, TapError> {
    let mut streams = Vec::with_capacity(plans.len());
    let mut tables = Vec::with_capacity(plans.len());
    let mut versions = Vec::with_capacity(plans.len());
    for plan in plans {
        let id = plan.stream.as_str();
        let position = position_of(shared, plan, identity)?
            .ok_or_else(|| TapError::stream(id, "no log position after the snapshot"))?;
        let info = source.mined_table_info(&plan.owner, &plan.table)?;
        if !info.all_columns_logged {
            return Err(TapError::LogMining(format!(
                "stream {id}: an UPDATE's redo must carry every column: run ALTER TABLE \"{}\".\"{}\" \
                 ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS; (and ALTER DATABASE ADD SUPPLEMENTAL LOG DATA; \
                 once per database)",
                plan.owner, plan.table
            )));
        }
        tables.push(MinedTable {
            owner: plan.owner.clone(),
            table: plan.table.clone(),
            object_ids: info.object_ids,
            columns: plan
                .columns
                .iter()
                .zip(plan.log_based.iter().flatten())
                .map(|(name, data_type)| MinedColumn {
                    name: name.clone(),
                    data_type: data_type.clone(),
                })
                .collect(),
        });
        versions.push(bookmark_of(shared, plan)?.version);
        streams.push(MinedStream {
            stream: plan.stream.clone(),
            owner: plan.owner.clone(),
            table: plan.table.clone(),
            columns: plan.columns.clone(),
            encoder: RowEncoder::new(
                &plan
                    .columns
                    .iter()
                    .cloned()
                    .zip(plan.styles.iter().copied())
                    .collect::<Vec<_>>(),
                options.source_offset,
            ),
            position,
        });
    }
    let mut local = MessageWriter::new(Vec::with_capacity(256 * 1024));
    for plan in plans {
        local.write_schema(&plan.stream, &plan.schema, &plan.key_properties, &[])?;
    }
    let sink = RecordSink {
        shared,
        local,
        ids: plans.iter().map(|p| p.stream.clone()).collect(),
        versions,
        time_extracted: now_text(),
        records: 0,
    };
    Ok((streams, tables, sink))
}

/// Hands buffered lines to stdout with the streams' positions, and a STATE when asked.
fn publish<W: Write>(
    shared: &Shared<W>,
    sink: &mut RecordSink<'_, W>,
    positions: Option<Vec<LogPosition>>,
) -> Result<(), TapError> {
    let ids = &sink.ids;
    let emit = positions.is_some();
    shared.publish(
        &mut sink.local,
        |state| {
            for (id, position) in ids.iter().zip(positions.into_iter().flatten()) {
                state.set_bookmark_value(id, "last_replication_method", Json::from("LOG_BASED"));
                state.set_bookmark_value(id, "log_position", position.to_json());
            }
        },
        emit,
    )?;
    if emit {
        sink.time_extracted = now_text();
    }
    Ok(())
}

/// The bounded drain: every window from the lowest low-water SCN to the SCN current now.
fn drain<W: Write>(
    source: &mut (dyn Source + Send),
    plans: &[StreamPlan],
    options: &SyncOptions,
    shared: &Shared<W>,
    identity: DatabaseIdentity,
) -> Result<(), TapError> {
    let started = Instant::now();
    let end = source.snapshot_point()?;
    let (streams, tables, mut sink) = prepare(source, plans, options, shared, &identity)?;
    let mut miner = Miner::new(
        streams,
        options.log_buffer_memory_bytes,
        options.log_buffer_max_bytes,
    );
    let start = miner.start_scn().unwrap_or(end.scn + 1);
    if start <= end.scn {
        let logs = needed_logs(source.redo_logs(start)?, start)
            .map_err(|gap| TapError::LogMining(gap.to_string()))?;
        let windows = windows(&logs, start, end.scn, options.log_window_bytes);
        tracing::info!(
            start_scn = start,
            end_scn = end.scn,
            logs = logs.len(),
            windows = windows.len(),
            "LOG_BASED drain"
        );
        let mut since_state = 0u64;
        let mut rows = 0u64;
        for window in windows {
            let request = MiningRequest {
                logs: window.logs,
                start_scn: window.start_scn,
                end_scn: window.end_scn,
                tables: tables.clone(),
                fetch_array_size: options.fetch_array_size,
            };
            let mut counters = (since_state, rows);
            mine_window(
                source,
                &request,
                &mut miner,
                &mut sink,
                shared,
                options,
                &mut counters,
            )?;
            (since_state, rows) = counters;
            miner.drained_to(window.end_scn);
            if window.end_scn < end.scn {
                publish(shared, &mut sink, Some(miner.positions()))?;
            }
        }
        tracing::info!(rows, open_changes = miner.open_changes(), "redo read");
    } else {
        miner.drained_to(end.scn);
    }
    publish(
        shared,
        &mut sink,
        Some(miner.final_positions(end.low_water)),
    )?;
    let elapsed = started.elapsed().as_secs_f64();
    for id in &sink.ids {
        metrics::timer("sync_duration", elapsed, id, "succeeded");
    }
    tracing::info!(
        changes = sink.records,
        changes_per_second = (sink.records as f64 / elapsed.max(1e-9)) as u64,
        seconds = elapsed,
        "LOG_BASED streams synced"
    );
    Ok(())
}

/// One mining session: every row into the engine, a STATE after every
/// `state_every_rows` records at a transaction boundary. `counters` are the records
/// since the last STATE and the rows read.
fn mine_window<W: Write>(
    source: &mut (dyn Source + Send),
    request: &MiningRequest,
    miner: &mut Miner,
    sink: &mut RecordSink<'_, W>,
    shared: &Shared<W>,
    options: &SyncOptions,
    counters: &mut (u64, u64),
) -> Result<(), TapError> {
    let mut on_change = |row: &ChangeRow| -> Result<(), TapError> {
        counters.1 += 1;
        if let Fed::Boundary { records } = miner.feed(row, sink)? {
            counters.0 += records;
            if counters.0 >= options.state_every_rows {
                counters.0 = 0;
                publish(shared, sink, Some(miner.positions()))?;
            }
        }
        Ok(())
    };
    let mined = mine_into(source, request, &mut on_change);
    if let Err(e) = mined {
        // What was confirmed stays confirmed; nothing after the last STATE counts.
        let _ = publish(shared, sink, None);
        return Err(match e {
            ScanError::Database(e) => e.into(),
            ScanError::Stopped(e) => e,
        });
    }
    Ok(())
}
