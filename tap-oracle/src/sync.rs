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
use std::num::NonZeroU64;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use chrono::FixedOffset;
use db_boundary::Backend;
use serde_json::{Map, Value as Json};
use singer_core::catalog::Catalog;
use singer_core::state::State;
use singer_core::writer::{MessageWriter, WriteError};

use crate::error::TapError;
use crate::plan::{plan, StreamPlan};
use crate::stream::sync_stream;

/// How streams are synced (from the settings).
#[derive(Debug, Clone)]
pub(crate) struct SyncOptions {
    pub state_every_rows: u64,
    pub activate_version: bool,
    pub source_offset: FixedOffset,
    pub default_replication_method: String,
    pub use_flashback: bool,
    pub fetch_array_size: u32,
    /// Rows per FULL_TABLE page (one keyset or ROWID query each).
    pub page_rows: NonZeroU64,
    pub prefetch_rows: u32,
    /// Whether reads fetch and encode on two threads (`fetch_pipeline`).
    pub pipelining: crate::pipeline::Pipelining,
    pub max_parallel_streams: usize,
    /// Sessions reading one keyed FULL_TABLE stream's chunks at once (1: no chunks).
    pub max_parallel_chunks: usize,
    pub progress_interval: Duration,
    /// This run's id: each stream's session sets it as CLIENT_IDENTIFIER.
    pub run_id: String,
    /// Redo bytes per LOG_BASED mining session.
    pub log_window_bytes: u64,
    /// Bytes of open-transaction changes kept in memory before a temporary file.
    pub log_buffer_memory_bytes: usize,
    /// Bytes of open-transaction changes at most.
    pub log_buffer_max_bytes: u64,
    /// A shard run of a shard plan (`shard_plan`, `shard_index`): see `crate::shard`.
    pub shard: Option<crate::shard::ShardRun>,
    /// Rows go to BATCH files (`batch_config`): see `crate::batch_files`.
    pub batch: Option<crate::batch_files::BatchConfig>,
}

/// What every stream worker shares.
pub(crate) struct Shared<W: Write> {
    writer: Mutex<MessageWriter<W>>,
    state: Mutex<State>,
    failed: AtomicBool,
}

impl<W: Write> Shared<W> {
    /// A copy of one stream's bookmark as the state holds it now.
    pub(crate) fn bookmark(&self, stream: &str) -> Map<String, Json> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.bookmark(stream).cloned().unwrap_or_default()
    }

    pub(crate) fn set_currently_syncing(&self, stream: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.set_currently_syncing(Some(stream));
    }

    /// Hands a stream's buffered lines to stdout, applies its bookmark change, and (when
    /// `emit_state`) writes the STATE, all under the writer lock so the order holds.
    pub(crate) fn publish(
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

/// Syncs every selected stream of `catalog` from `state`, writing Singer messages to
/// `out`. Returns the final state.
pub(crate) fn sync<W: Write + Send>(
    backend: &dyn Backend,
    catalog: &Catalog,
    state: State,
    options: &SyncOptions,
    out: W,
) -> Result<State, TapError> {
    let (log_plans, plans): (Vec<StreamPlan>, Vec<StreamPlan>) = catalog
        .selected_streams()
        .map(|entry| plan(entry, &options.default_replication_method))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .partition(|p| p.log_based.is_some());
    if let Some(run) = &options.shard {
        crate::shard::check_catalog(&[&plans[..], &log_plans[..]].concat(), &run.plan)?;
    }
    if plans.is_empty() && log_plans.is_empty() {
        tracing::warn!("no stream is selected in the catalog: nothing to sync");
    }
    let shared = Shared {
        writer: Mutex::new(MessageWriter::new(out)),
        state: Mutex::new(state),
        failed: AtomicBool::new(false),
    };
    let queue = resume_first(plans, &shared);
    let first_error = run_workers(backend, queue, options, &shared);
    // LOG_BASED streams share one mining session, after the other streams.
    let mut first_error = first_error;
    if first_error.is_none() && !log_plans.is_empty() {
        let span = tracing::info_span!("log_based");
        let _entered = span.enter();
        if let Err(e) =
            crate::log_based::sync::sync_log_based(backend, &log_plans, options, &shared)
        {
            first_error = Some(e);
        }
    }
    if let Some(e) = first_error {
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

/// The streams in catalog order, with the one a killed run was in first (as Singer taps
/// resume).
fn resume_first<W: Write>(plans: Vec<StreamPlan>, shared: &Shared<W>) -> VecDeque<StreamPlan> {
    let mut queue: VecDeque<StreamPlan> = plans.into();
    let current = shared
        .state
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .currently_syncing()
        .map(str::to_owned);
    if let Some(i) = current.and_then(|c| queue.iter().position(|p| p.stream == c)) {
        if let Some(first) = queue.remove(i) {
            queue.push_front(first);
        }
    }
    queue
}

/// Syncs the queued streams on up to `max_parallel_streams` threads, each on its own
/// session; the first failure stops the others from starting a stream and is returned.
fn run_workers<W: Write + Send>(
    backend: &dyn Backend,
    queue: VecDeque<StreamPlan>,
    options: &SyncOptions,
    shared: &Shared<W>,
) -> Option<TapError> {
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
                if let Err(e) = sync_stream(backend, &plan, options, shared) {
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
    first_error.into_inner().unwrap_or_else(|e| e.into_inner())
}
