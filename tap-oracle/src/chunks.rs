//! FULL_TABLE in chunks (`max_parallel_chunks` > 1): a keyed table split into key
//! ranges of about equal size (NTILE over the key), read by several sessions at once,
//! every one AS OF the same SCN so the union is one consistent snapshot. Each chunk's
//! progress is in STATE (`chunks`), so a restart re-reads at most the tails of the
//! chunks that were unfinished.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use db_boundary::{
    Backend, KeyRange, ScanColumn, ScanRange, SessionContext, SessionRole, Source, TableRef, Value,
};
use serde_json::{Map, Value as Json};
use singer_core::writer::MessageWriter;

use crate::bookmark::{ChunkBookmark, StreamBookmark};
use crate::error::TapError;
use crate::plan::KeyColumn;
use crate::stream::{store, StreamRun};

/// Chunks from the bounds between them: `(None, b1], (b1, b2], ... (bn, None)`.
pub(crate) fn chunks_between(bounds: Vec<Map<String, Json>>) -> Vec<ChunkBookmark> {
    let mut chunks = Vec::with_capacity(bounds.len() + 1);
    let mut after = None;
    for bound in bounds {
        chunks.push(ChunkBookmark {
            after: after.replace(bound.clone()),
            through: Some(bound),
            done: false,
        });
    }
    chunks.push(ChunkBookmark {
        after,
        through: None,
        done: false,
    });
    chunks
}

impl<W: Write + Send> StreamRun<'_, W> {
    /// Reads the pass's unfinished chunks on up to `max_parallel_chunks` sessions.
    pub(crate) fn chunked(
        &mut self,
        backend: &dyn Backend,
        source: &mut dyn Source,
        keys: &[KeyColumn],
    ) -> Result<(), TapError> {
        if self.bookmark.chunks.is_none() {
            let table = TableRef {
                owner: self.plan.owner.clone(),
                table: self.plan.table.clone(),
            };
            let key_columns: Vec<ScanColumn> = keys
                .iter()
                .map(|k| ScanColumn::new(k.name.clone(), k.oracle_type.clone()))
                .collect();
            let bounds = source.chunk_bounds(
                &table,
                &key_columns,
                self.options.max_parallel_chunks as u32,
                self.bookmark.scn,
            )?;
            let bounds = bounds.iter().map(|b| self.key_json(b)).collect();
            self.bookmark.chunks = Some(chunks_between(bounds));
            self.publish(true)?;
        }
        let chunks = self.bookmark.chunks.as_deref().unwrap_or_default();
        let pending: Vec<usize> = (0..chunks.len()).filter(|i| !chunks[*i].done).collect();
        tracing::info!(stream = %self.plan.stream, chunks = chunks.len(), pending = pending.len(), "FULL_TABLE in chunks");
        let workers = self
            .options
            .max_parallel_chunks
            .clamp(1, pending.len().max(1));
        let pass = Mutex::new(self.bookmark.clone());
        let queue = Mutex::new(pending.into_iter());
        let stop = AtomicBool::new(false);
        let results: Vec<Result<u64, TapError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|_| {
                    let mut worker = self.worker(&pass);
                    let (queue, stop) = (&queue, &stop);
                    scope.spawn(move || {
                        let result = worker.drain(backend, queue, stop);
                        if result.is_err() {
                            stop.store(true, Ordering::SeqCst);
                        }
                        result.map(|()| worker.rows)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(TapError::stream("", "a chunk worker panicked")))
                })
                .collect()
        });
        self.bookmark = pass.into_inner().unwrap_or_else(|e| e.into_inner());
        for result in results {
            self.rows += result?;
        }
        Ok(())
    }

    /// A worker of a chunked pass: this stream's plan and version, its own buffer.
    fn worker<'c>(&'c self, pass: &'c Mutex<StreamBookmark>) -> StreamRun<'c, W> {
        StreamRun {
            plan: self.plan,
            options: self.options,
            shared: self.shared,
            local: MessageWriter::new(Vec::with_capacity(256 * 1024)),
            bookmark: StreamBookmark::default(),
            version: self.version,
            rows: 0,
            since_state: 0,
            started: self.started,
            last_progress: Instant::now(),
            chunk: Some((0, pass)),
        }
    }

    /// Takes chunks from the queue on its own session until none is left.
    fn drain(
        &mut self,
        backend: &dyn Backend,
        queue: &Mutex<std::vec::IntoIter<usize>>,
        stop: &AtomicBool,
    ) -> Result<(), TapError> {
        let mut source = backend.source()?;
        source.set_context(&SessionContext::new(
            SessionRole::Tap,
            &self.plan.stream,
            &self.options.run_id,
        ))?;
        loop {
            if stop.load(Ordering::SeqCst) {
                return Ok(());
            }
            let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
            let Some(index) = next else { return Ok(()) };
            self.read_chunk(source.as_mut(), index, stop)?;
        }
    }

    /// The key values of a chunk bound.
    fn bound_values(
        &self,
        bound: Option<&Map<String, Json>>,
    ) -> Result<Option<Vec<Value>>, TapError> {
        let (Some(bound), crate::plan::Replication::FullTableByKey(keys)) =
            (bound, &self.plan.replication)
        else {
            return Ok(None);
        };
        keys.iter()
            .map(|k| {
                let json = bound.get(&k.name).ok_or_else(|| {
                    TapError::stream(
                        &self.plan.stream,
                        format!("chunk bound lacks key column {}", k.name),
                    )
                })?;
                self.bound(k, json)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Reads one chunk in pages from its recorded progress, then marks it done.
    fn read_chunk(
        &mut self,
        source: &mut dyn Source,
        index: usize,
        stop: &AtomicBool,
    ) -> Result<(), TapError> {
        let Some((_, pass)) = self.chunk else {
            return Err(TapError::stream(&self.plan.stream, "not a chunk worker"));
        };
        self.chunk = Some((index, pass));
        let (after, through, scn) = {
            let pass = pass.lock().unwrap_or_else(|e| e.into_inner());
            let chunk = &pass.chunks.as_ref().expect("a chunked pass")[index];
            (chunk.after.clone(), chunk.through.clone(), pass.scn)
        };
        let mut after = self.bound_values(after.as_ref())?;
        let through = self.bound_values(through.as_ref())?;
        let names = match &self.plan.replication {
            crate::plan::Replication::FullTableByKey(keys) => {
                keys.iter().map(|k| k.name.clone()).collect()
            }
            _ => Vec::new(),
        };
        let shape =
            |e: db_boundary::KeyRangeError| TapError::stream(&self.plan.stream, e.to_string());
        let mut last = None;
        loop {
            let mut range = KeyRange::new(names.clone())
                .map_err(shape)?
                .limit(self.options.page_rows);
            if let Some(values) = after.take() {
                range = range.after(values).map_err(shape)?;
            }
            if let Some(values) = through.clone() {
                range = range.through(values).map_err(shape)?;
            }
            let (rows, page_last) = self.read(source, ScanRange::Keyset(range), scn)?;
            tracing::debug!(stream = %self.plan.stream, chunk = index, rows, "page read");
            if page_last.is_some() {
                last = page_last;
            }
            if rows < self.options.page_rows.get() || stop.load(Ordering::SeqCst) {
                break;
            }
            after = last.as_ref().map(|p| p.values.clone());
        }
        if stop.load(Ordering::SeqCst) {
            // Another worker failed: deliver what was read with the chunk's progress
            // (a STATE another worker writes next covers these rows), leave it unfinished.
            self.publish_at(last.as_ref(), false)?;
            return Ok(());
        }
        self.publish_done(index)
    }

    /// Sends the chunk's last rows and a STATE that marks it done, in one step under
    /// the writer's lock: were the rows sent first and the chunk marked done after, a
    /// STATE another worker wrote in between would cover rows its bookmark does not,
    /// and a restart from it would send them twice.
    fn publish_done(&mut self, index: usize) -> Result<(), TapError> {
        let Some((_, pass)) = self.chunk else {
            return Ok(());
        };
        let id = self.plan.stream.as_str();
        self.shared.publish(
            &mut self.local,
            |state| {
                let mut pass = pass.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(chunks) = pass.chunks.as_mut() {
                    chunks[index].done = true;
                }
                store(state, id, pass.to_map());
            },
            true,
        )?;
        Ok(())
    }
}
