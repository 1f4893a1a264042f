//! The sync engine: selected streams from the catalog, FULL_TABLE (resumable keyset or
//! ROWID passes) and INCREMENTAL (`>=` the bookmark), STATE every N rows, and several
//! streams at once through one stdout.
//!
//! Every stream writes its lines into its own buffer and hands whole lines to the
//! shared writer; a stream's bookmark changes only right after its rows went out, so
//! any STATE on stdout covers exactly the rows before it. A run killed at any point
//! and restarted with its last STATE loses no row (FULL_TABLE with a key and
//! INCREMENTAL also duplicate none beyond rows sharing the INCREMENTAL boundary value).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{FixedOffset, SecondsFormat, Utc};
use db_boundary::{Backend, LowerBound, ScanOrder, ScanRequest, Value};
use serde_json::{json, Map, Value as Json};
use singer_core::catalog::{Catalog, CatalogEntry};
use singer_core::metrics;
use singer_core::oracle_type::OracleType;
use singer_core::state::State;
use singer_core::writer::{MessageWriter, WriteError};

use crate::bookmark;
use crate::convert::{NumberStyle, RowEncoder};
use crate::error::TapError;

/// How streams are synced (from the settings).
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub state_every_rows: u64,
    pub activate_version: bool,
    pub source_offset: FixedOffset,
    pub default_replication_method: String,
    pub use_flashback: bool,
    pub fetch_array_size: u32,
    pub prefetch_rows: u32,
    pub max_parallel_streams: usize,
    pub progress_interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    FullTable,
    Incremental,
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::FullTable => "FULL_TABLE",
            Method::Incremental => "INCREMENTAL",
        }
    }
}

/// Everything one stream's sync needs, checked before any output.
#[derive(Debug, Clone)]
struct StreamPlan {
    stream: String,
    owner: String,
    table: String,
    columns: Vec<String>,
    styles: Vec<NumberStyle>,
    schema: Json,
    key_properties: Vec<String>,
    method: Method,
    /// Key columns with their types and positions in `columns` (FULL_TABLE keyset).
    keys: Vec<(String, OracleType, usize)>,
    /// The replication key, its type and position (INCREMENTAL).
    replication_key: Option<(String, OracleType, usize)>,
}

fn column_type(entry: &CatalogEntry, column: &str) -> Result<OracleType, TapError> {
    entry
        .sql_datatype(column)
        .ok_or_else(|| {
            TapError::stream(
                &entry.tap_stream_id,
                format!("column {column} has no sql-datatype in the catalog"),
            )
        })?
        .parse()
        .map_err(|e: singer_core::oracle_type::TypeParseError| {
            TapError::stream(&entry.tap_stream_id, e.to_string())
        })
}

fn plan(entry: &CatalogEntry, options: &SyncOptions) -> Result<StreamPlan, TapError> {
    let id = &entry.tap_stream_id;
    let (owner, table) = match (entry.schema_name(), entry.table_name()) {
        (Some(o), Some(t)) => (o.to_owned(), t.to_owned()),
        _ => match id.split_once('-') {
            Some((o, t)) => (o.to_owned(), t.to_owned()),
            None => {
                return Err(TapError::stream(
                    id,
                    "the catalog names no schema-name and table-name",
                ))
            }
        },
    };
    let method = match entry
        .replication_method()
        .or_else(|| entry.forced_replication_method())
        .unwrap_or_else(|| options.default_replication_method.clone())
        .to_ascii_uppercase()
        .as_str()
    {
        "FULL_TABLE" => Method::FullTable,
        "INCREMENTAL" => Method::Incremental,
        "LOG_BASED" => {
            return Err(TapError::stream(
                id,
                "LOG_BASED replication is not supported; use INCREMENTAL or FULL_TABLE",
            ))
        }
        other => {
            return Err(TapError::stream(
                id,
                format!("unknown replication method {other:?}"),
            ))
        }
    };
    if method == Method::Incremental
        && entry.forced_replication_method().as_deref() == Some("FULL_TABLE")
    {
        return Err(TapError::stream(
            id,
            "INCREMENTAL is not possible here (no column can serve as replication key)",
        ));
    }
    let columns = entry.selected_properties();
    if columns.is_empty() {
        return Err(TapError::stream(id, "no property is selected"));
    }
    let mut properties = Map::new();
    let mut styles = Vec::with_capacity(columns.len());
    for c in &columns {
        let schema = entry.property_schema(c).cloned().unwrap_or(json!({}));
        let decimal_string = matches!(
            schema.get("format").and_then(Json::as_str),
            Some("x-singer.decimal" | "singer.decimal")
        );
        styles.push(if decimal_string {
            NumberStyle::String
        } else {
            NumberStyle::Number
        });
        properties.insert(c.clone(), schema);
    }
    let position = |name: &str| columns.iter().position(|c| c == name);
    let key_properties: Vec<String> = entry
        .key_properties()
        .into_iter()
        .filter(|k| position(k).is_some())
        .collect();
    let keys = key_properties
        .iter()
        .map(|k| {
            Ok((
                k.clone(),
                column_type(entry, k)?,
                position(k).expect("filtered above"),
            ))
        })
        .collect::<Result<Vec<_>, TapError>>()?;
    let replication_key = match (method, entry.replication_key()) {
        (Method::Incremental, None) => {
            return Err(TapError::stream(
                id,
                "INCREMENTAL needs a replication-key in the catalog",
            ))
        }
        (Method::Incremental, Some(key)) => {
            let at = position(&key).ok_or_else(|| {
                TapError::stream(id, format!("replication key {key} is not a property"))
            })?;
            let t = column_type(entry, &key)?;
            if !t.is_orderable() {
                return Err(TapError::stream(
                    id,
                    format!("replication key {key} of type {t} cannot be ordered"),
                ));
            }
            Some((key, t, at))
        }
        (Method::FullTable, _) => None,
    };
    Ok(StreamPlan {
        stream: id.clone(),
        owner,
        table,
        schema: json!({"type": "object", "properties": properties}),
        columns,
        styles,
        key_properties,
        method,
        keys,
        replication_key,
    })
}

/// What every stream worker shares.
struct Shared<W: Write> {
    writer: Mutex<MessageWriter<W>>,
    state: Mutex<State>,
    failed: AtomicBool,
}

impl<W: Write> Shared<W> {
    /// Hands a stream's buffered lines to stdout, applies its bookmark change, and (when
    /// `emit_state`) writes the STATE, all under the writer lock so the order holds.
    fn publish(
        &self,
        local: &mut MessageWriter<Vec<u8>>,
        update: impl FnOnce(&mut State),
        emit_state: bool,
    ) -> Result<(), WriteError> {
        local.flush()?;
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        // Cleared, not taken: the stream's buffer keeps its capacity, so it is not
        // grown again (and its bytes moved at each doubling) for every STATE period.
        let lines = local.inner_mut();
        writer.write_lines(lines)?;
        lines.clear();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        update(&mut state);
        if emit_state {
            writer.write_state(state.as_json())?;
        }
        Ok(())
    }
}

fn now_text() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Syncs every selected stream of `catalog` from `state`, writing Singer messages to
/// `out`. Returns the final state.
pub fn sync<W: Write + Send>(
    backend: &dyn Backend,
    catalog: &Catalog,
    state: State,
    options: &SyncOptions,
    out: W,
) -> Result<State, TapError> {
    let plans = catalog
        .selected_streams()
        .map(|entry| plan(entry, options))
        .collect::<Result<Vec<_>, _>>()?;
    if plans.is_empty() {
        tracing::warn!("no stream is selected in the catalog: nothing to sync");
    }
    let shared = Shared {
        writer: Mutex::new(MessageWriter::new(out)),
        state: Mutex::new(state),
        failed: AtomicBool::new(false),
    };
    // Resume the stream a killed run was in first, as Singer taps do.
    let mut queue: VecDeque<StreamPlan> = plans.into();
    let current = shared
        .state
        .lock()
        .expect("fresh lock")
        .currently_syncing()
        .map(str::to_owned);
    if let Some(current) = current {
        if let Some(i) = queue.iter().position(|p| p.stream == current) {
            let first = queue.remove(i).expect("index found");
            queue.push_front(first);
        }
    }
    let workers = options.max_parallel_streams.clamp(1, queue.len().max(1));
    let queue = Mutex::new(queue);
    let first_error: Mutex<Option<TapError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                if shared.failed.load(Ordering::SeqCst) {
                    return;
                }
                let Some(plan) = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front() else {
                    return;
                };
                let span = tracing::info_span!("stream", stream = %plan.stream);
                let _entered = span.enter();
                if let Err(e) = sync_stream(backend, &plan, options, &shared) {
                    shared.failed.store(true, Ordering::SeqCst);
                    first_error
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .get_or_insert(e);
                    return;
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().unwrap_or_else(|e| e.into_inner()) {
        // What was synced stays confirmed: hand over the last STATE already written.
        let _ = shared.writer.lock().map(|mut w| w.flush());
        return Err(e);
    }
    let mut writer = shared
        .writer
        .into_inner()
        .unwrap_or_else(|e| e.into_inner());
    let mut state = shared.state.into_inner().unwrap_or_else(|e| e.into_inner());
    state.set_currently_syncing(None);
    writer.write_state(state.as_json())?;
    writer.flush()?;
    Ok(state)
}

fn sync_stream<W: Write>(
    backend: &dyn Backend,
    plan: &StreamPlan,
    options: &SyncOptions,
    shared: &Shared<W>,
) -> Result<(), TapError> {
    let started = Instant::now();
    let id = plan.stream.as_str();
    let mut source = backend.source()?;
    let mut local = MessageWriter::new(Vec::with_capacity(256 * 1024));
    let bookmark_properties: Vec<String> = plan
        .replication_key
        .iter()
        .map(|(k, _, _)| k.clone())
        .collect();
    local.write_schema(id, &plan.schema, &plan.key_properties, &bookmark_properties)?;

    // Read the bookmark, resetting it if the replication method changed.
    let bookmark = {
        let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let previous = state
            .bookmark_value(id, "last_replication_method")
            .and_then(Json::as_str)
            .map(str::to_owned);
        if previous.as_deref().is_some_and(|p| p != plan.method.name()) {
            tracing::info!(
                stream = id,
                previous_method = previous.as_deref().unwrap_or_default(),
                method = plan.method.name(),
                "replication method changed: starting over"
            );
            for key in [
                "version",
                "last_pk_fetched",
                "last_rowid",
                "scn",
                "replication_key",
                "replication_key_value",
            ] {
                state.clear_bookmark_value(id, key);
            }
        }
        state.bookmark(id).cloned().unwrap_or_default()
    };
    let get = |key: &str| bookmark.get(key).filter(|v| !v.is_null()).cloned();

    let mut request = ScanRequest {
        owner: plan.owner.clone(),
        table: plan.table.clone(),
        columns: plan.columns.clone(),
        order: ScanOrder::Unordered,
        lower_bound: None,
        as_of_scn: None,
        fetch_array_size: options.fetch_array_size,
        prefetch_rows: options.prefetch_rows,
    };
    let mut version = None;
    let mut initial_activate = false;
    match plan.method {
        Method::FullTable => {
            let resume_key = get("last_pk_fetched");
            let resume_rowid = get("last_rowid");
            let resuming = resume_key.is_some() || resume_rowid.is_some();
            let previous_version = get("version").and_then(|v| v.as_i64());
            let v = match (resuming, previous_version) {
                (true, Some(v)) => v,
                _ => Utc::now().timestamp_millis(),
            };
            initial_activate = previous_version.is_none() && options.activate_version;
            version = Some(v);
            if options.use_flashback {
                request.as_of_scn = Some(match get("scn").and_then(|s| s.as_u64()) {
                    Some(scn) if resuming => scn,
                    _ => source.current_scn()?,
                });
            }
            if plan.keys.is_empty() {
                request.order = ScanOrder::RowId;
                if let Some(rowid) = resume_rowid.as_ref().and_then(Json::as_str) {
                    request.lower_bound = Some(LowerBound::AfterRowId(rowid.to_owned()));
                }
            } else {
                request.order =
                    ScanOrder::Columns(plan.keys.iter().map(|(k, _, _)| k.clone()).collect());
                if let Some(Json::Object(last)) = resume_key {
                    let values = plan
                        .keys
                        .iter()
                        .map(|(k, t, _)| {
                            let json = last.get(k).ok_or_else(|| {
                                TapError::stream(id, format!("bookmark lacks key column {k}"))
                            })?;
                            bookmark::from_json(json, t, options.source_offset)
                                .map_err(|e| TapError::stream(id, e))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    request.lower_bound = Some(LowerBound::After(values));
                }
            }
            tracing::info!(stream = id, version = v, resuming, "FULL_TABLE sync");
        }
        Method::Incremental => {
            let (key, key_type, _) = plan.replication_key.as_ref().expect("planned");
            request.order = ScanOrder::Columns(vec![key.clone()]);
            let same_key = get("replication_key")
                .and_then(|k| k.as_str().map(str::to_owned))
                .as_deref()
                == Some(key.as_str());
            if let (true, Some(value)) = (same_key, get("replication_key_value")) {
                let bound = bookmark::from_json(&value, key_type, options.source_offset)
                    .map_err(|e| TapError::stream(id, e))?;
                request.lower_bound = Some(LowerBound::AtLeast(bound));
            }
            // `start`: `bookmark` (rows with the key at or after the saved value) or
            // `beginning` (no bookmark yet: every row).
            let start = if request.lower_bound.is_some() {
                "bookmark"
            } else {
                "beginning"
            };
            tracing::info!(stream = id, key = %key, start = %start, "INCREMENTAL sync");
        }
    }

    let method_name = plan.method.name();
    let version_for_state = version;
    shared.publish(
        &mut local,
        |state| {
            state.set_currently_syncing(Some(id));
            state.set_bookmark_value(id, "last_replication_method", json!(method_name));
            // The other method's keys are written as explicit nulls: Meltano deep-merges
            // this state over the one it stored (also after --full-refresh, when the tap
            // saw no state), and a key left out would survive there.
            let foreign: &[&str] = match plan.method {
                Method::FullTable => &["replication_key", "replication_key_value"],
                Method::Incremental => &["version", "last_pk_fetched", "last_rowid", "scn"],
            };
            for key in foreign {
                state.clear_bookmark_value(id, key);
            }
            if let Some(v) = version_for_state {
                state.set_bookmark_value(id, "version", json!(v));
            }
            if let Some(scn) = request.as_of_scn {
                state.set_bookmark_value(id, "scn", json!(scn));
            }
        },
        true,
    )?;
    if initial_activate {
        local.write_activate_version(id, version.expect("full table"))?;
    }

    let mut encoder = RowEncoder::new(
        &plan
            .columns
            .iter()
            .cloned()
            .zip(plan.styles.iter().copied())
            .collect::<Vec<_>>(),
        options.source_offset,
    );
    let mut time_extracted = now_text();
    let mut rows = 0u64;
    let mut since_state = 0u64;
    let mut last_progress = Instant::now();
    let with_rowid = request.order == ScanOrder::RowId;
    let width = plan.columns.len();
    // The columns that make up the stream's position, kept for the last row read.
    let tracked: Vec<usize> = match plan.method {
        Method::Incremental => vec![plan.replication_key.as_ref().expect("planned").2],
        Method::FullTable if with_rowid => vec![width],
        Method::FullTable => plan.keys.iter().map(|(_, _, at)| *at).collect(),
    };
    let mut last: Vec<Value> = vec![Value::Null; tracked.len()];
    let mut on_row = |row: &[Value]| -> Result<(), db_boundary::RowCallbackError> {
        local.write_record_with(id, version, Some(&time_extracted), |out| {
            encoder.encode(&row[..width], out)
        })?;
        rows += 1;
        since_state += 1;
        for (slot, at) in last.iter_mut().zip(&tracked) {
            slot.clone_from(&row[*at]);
        }
        if since_state >= options.state_every_rows {
            since_state = 0;
            let position = position_of(plan, &last, with_rowid, options.source_offset);
            shared.publish(
                &mut local,
                |state| apply_position(state, id, plan, position),
                true,
            )?;
            time_extracted = now_text();
        }
        if rows.is_multiple_of(1024) && last_progress.elapsed() >= options.progress_interval {
            last_progress = Instant::now();
            let secs = started.elapsed().as_secs_f64().max(1e-9);
            tracing::info!(
                stream = id,
                rows,
                rows_per_second = (rows as f64 / secs) as u64,
                "progress"
            );
        }
        Ok(())
    };
    let scanned = source.scan(&request, &mut on_row);
    if let Err(e) = scanned {
        // Rows already read are still delivered with the last good STATE before them.
        let _ = shared.publish(&mut local, |_| {}, false);
        return Err(e.into());
    }

    // The pass is complete: clear the resume position, keep the version; INCREMENTAL
    // keeps the last value read.
    let finished_version = version;
    let final_position = (plan.method == Method::Incremental && rows > 0)
        .then(|| position_of(plan, &last, with_rowid, options.source_offset));
    shared.publish(
        &mut local,
        |state| {
            if let Some(position) = final_position {
                apply_position(state, id, plan, position);
            }
            if plan.method == Method::FullTable {
                for key in ["last_pk_fetched", "last_rowid", "scn"] {
                    state.clear_bookmark_value(id, key);
                }
            }
            if let Some(v) = finished_version {
                state.set_bookmark_value(id, "version", json!(v));
            }
        },
        false,
    )?;
    if let (Method::FullTable, true, Some(v)) = (plan.method, options.activate_version, version) {
        local.write_activate_version(id, v)?;
    }
    shared.publish(&mut local, |_| {}, true)?;
    let elapsed = started.elapsed().as_secs_f64();
    metrics::counter("record_count", rows, id);
    metrics::timer("sync_duration", elapsed, id, "succeeded");
    tracing::info!(stream = id, rows, seconds = elapsed, "stream synced");
    Ok(())
}

/// Where a stream stands after `row`: the key values, the ROWID, or the replication
/// key value, as bookmark JSON.
enum Position {
    Key(Map<String, Json>),
    RowId(String),
    ReplicationKey(String, Json),
}

/// `tracked` holds the position columns of the last row read (see `sync_stream`).
fn position_of(
    plan: &StreamPlan,
    tracked: &[Value],
    with_rowid: bool,
    offset: FixedOffset,
) -> Position {
    match plan.method {
        Method::Incremental => {
            let (key, _, _) = plan.replication_key.as_ref().expect("planned");
            Position::ReplicationKey(key.clone(), bookmark::to_json(&tracked[0], offset))
        }
        Method::FullTable if with_rowid => match tracked.first() {
            Some(Value::Text(rowid)) => Position::RowId(rowid.clone()),
            _ => Position::RowId(String::new()),
        },
        Method::FullTable => Position::Key(
            plan.keys
                .iter()
                .zip(tracked)
                .map(|((k, _, _), value)| (k.clone(), bookmark::to_json(value, offset)))
                .collect(),
        ),
    }
}

fn apply_position(state: &mut State, id: &str, _plan: &StreamPlan, position: Position) {
    match position {
        Position::Key(key) => state.set_bookmark_value(id, "last_pk_fetched", Json::Object(key)),
        Position::RowId(rowid) => state.set_bookmark_value(id, "last_rowid", json!(rowid)),
        Position::ReplicationKey(key, value) => {
            state.set_bookmark_value(id, "replication_key", json!(key));
            state.set_bookmark_value(id, "replication_key_value", value);
        }
    }
}
