//! A scan with its fetching and its row sink on two threads (`fetch_pipeline`): the
//! calling thread fetches rows from the source and copies them into batches; a second
//! thread hands them to the row sink (encoding, writing, STATE). A channel bounded in
//! batches, with batches bounded in rows and in bytes, keeps memory flat and gives
//! backpressure both ways: a slow stdout pauses the fetching, a slow database leaves
//! the sink waiting. A stream then runs at about the slower of the two rather than at
//! their sum.
//!
//! [`scan_into`] keeps [`db_boundary::scan_into`]'s contract: the sink sees every row in
//! scan order, exactly once; a sink error stops the scan and comes back unchanged as
//! [`ScanError::Stopped`]; a database error comes back as [`ScanError::Database`] after
//! every row read before it reached the sink. Emptied batches go back to the fetching
//! thread, whose copies reuse their buffers, so the steady state allocates next to
//! nothing; a batch that held large values (LOBs) gives their memory back instead.

use std::ops::ControlFlow;
use std::sync::mpsc;

use db_boundary::{RowSink, Scan, ScanError, ScannedRow, Source, Value};

/// Whether reads fetch and encode on separate threads (the `fetch_pipeline` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pipelining {
    /// On when the machine has two idle CPUs for each session reading at once.
    Auto,
    On,
    Off,
}

impl Pipelining {
    /// The setting's word (`auto`, `on`, `off`; validated by the settings table).
    pub(crate) fn from_setting(word: &str) -> Pipelining {
        match word {
            "on" => Pipelining::On,
            "auto" => Pipelining::Auto,
            _ => Pipelining::Off,
        }
    }

    /// Whether a read pipelines when up to `readers` sessions read at once on a machine
    /// with `cpus` CPUs and a one-minute load average of `load` (`None`: unknown). The
    /// two threads pay for handing every value across: on a busy machine they take
    /// turns on the same CPUs and the hand-over is pure cost, so `Auto` wants two idle
    /// CPUs a reader.
    pub(crate) fn enabled(self, readers: usize, cpus: usize, load: Option<f64>) -> bool {
        match self {
            Pipelining::On => true,
            Pipelining::Off => false,
            Pipelining::Auto => {
                let wanted = 2 * readers.max(1);
                load.is_some_and(|load| cpus as f64 - load >= wanted as f64)
            }
        }
    }
}

/// The CPUs this process may run on (1 when unknown).
pub(crate) fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The one-minute load average (Linux `/proc/loadavg`), `None` elsewhere.
pub(crate) fn load_average() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Rows per batch: enough that a hand-over costs little per row, few enough that a
/// batch's values are still in the CPU's cache when the sink reads them (the encode
/// benchmark ran at 195,000 rows/s with batches of 1,024 ORDERS rows, 308,000 with 128;
/// 680,000 on one thread).
const BATCH_ROWS: usize = 128;

/// Bytes of values past which a batch is handed over early (wide rows, LOBs).
const BATCH_BYTES: usize = 64 << 10;

/// Batches waiting in the channel. With the full one waiting to be sent and the one in
/// the sink, at most `CHANNEL_BATCHES + 2` batches hold rows (and one more, empty, is
/// being filled), so at most about `(CHANNEL_BATCHES + 2) * BATCH_BYTES` of values
/// (plus one row each) are in flight.
const CHANNEL_BATCHES: usize = 4;

/// Buffer capacity an emptied batch may keep for reuse; past it the batch frees its
/// values, so LOBs read once do not stay allocated for the rest of the scan.
const RETAIN_BYTES: usize = 2 * BATCH_BYTES;

/// Streams the rows of `scan` into `sink` as [`db_boundary::scan_into`] does, fetching
/// on this thread and running `sink` on a second one.
pub(crate) fn scan_into<S, K>(
    source: &mut S,
    scan: &Scan,
    sink: &mut K,
) -> Result<u64, ScanError<K::Error>>
where
    S: Source + ?Sized,
    K: RowSink + Send,
    K::Error: Send,
{
    let (full, filled) = mpsc::sync_channel::<Batch>(CHANNEL_BATCHES);
    let (recycle, emptied) = mpsc::channel::<Batch>();
    let span = tracing::Span::current();
    std::thread::scope(|scope| {
        let consumer = scope.spawn(move || -> Result<(), K::Error> {
            let _entered = span.enter();
            for mut batch in filled {
                for row in batch.rows() {
                    sink.row(row)?;
                }
                batch.clear();
                // The fetching may be over already; then the batch is simply dropped.
                let _ = recycle.send(batch);
            }
            Ok(())
        });
        let mut current = Batch::default();
        let read = source.scan(scan, &mut |row| {
            current.push(row);
            if current.rows == BATCH_ROWS || current.bytes >= BATCH_BYTES {
                let next = emptied.try_recv().unwrap_or_default();
                // A send fails only when the sink stopped: stop reading.
                if full.send(std::mem::replace(&mut current, next)).is_err() {
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        });
        if current.rows > 0 {
            // After a database error too: the rows already read still reach the sink.
            let _ = full.send(current);
        }
        drop(full);
        let consumed = match consumer.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        match (consumed, read) {
            (Err(e), _) => Err(ScanError::Stopped(e)),
            (Ok(()), Err(e)) => Err(ScanError::Database(e)),
            (Ok(()), Ok(n)) => Ok(n),
        }
    })
}

/// Rows copied out of a scan, `width` values each, stored flat, with their ROWIDs
/// (when the scan gives them) in one text. Slots past `rows` keep their values from an
/// earlier use so their buffers are reused.
#[derive(Default)]
struct Batch {
    values: Vec<Value>,
    width: usize,
    rows: usize,
    /// Bytes of the values pushed since the last clear.
    bytes: usize,
    /// Buffer capacity of the slots pushed since the last clear.
    held: usize,
    rowid_text: String,
    /// Per row: where its ROWID lies in `rowid_text`.
    rowids: Vec<Option<(usize, usize)>>,
}

impl Batch {
    fn push(&mut self, row: ScannedRow<'_>) {
        if self.rows == 0 {
            self.width = row.values.len();
        }
        let start = self.rows * self.width;
        let end = start + row.values.len();
        if self.values.len() < end {
            self.values.resize(end, Value::Null);
        }
        let (mut bytes, mut held) = (0, 0);
        for (slot, value) in self.values[start..end].iter_mut().zip(row.values) {
            let (b, h) = copy_into(slot, value);
            bytes += b;
            held += h;
        }
        self.bytes += bytes;
        self.held += held;
        let span = row.rowid.map(|rowid| {
            let from = self.rowid_text.len();
            self.rowid_text.push_str(rowid);
            (from, self.rowid_text.len())
        });
        self.rowids.push(span);
        self.rows += 1;
    }

    fn rows(&self) -> impl Iterator<Item = ScannedRow<'_>> {
        (0..self.rows).map(|r| ScannedRow {
            values: &self.values[r * self.width..(r + 1) * self.width],
            rowid: self.rowids[r].map(|(from, to)| &self.rowid_text[from..to]),
        })
    }

    fn clear(&mut self) {
        if self.held + self.bytes > RETAIN_BYTES {
            self.values = Vec::new();
        }
        self.rows = 0;
        self.bytes = 0;
        self.held = 0;
        self.rowid_text.clear();
        self.rowids.clear();
    }
}

/// `*slot = value.clone()`, reusing the slot's buffer when both hold the same kind;
/// returns the value's bytes outside its slot ([`heap_bytes`]) and the buffer capacity
/// the slot keeps ([`heap_capacity`]), from the one match on the pair.
fn copy_into(slot: &mut Value, value: &Value) -> (usize, usize) {
    match (slot, value) {
        (Value::Number(a), Value::Number(b)) => {
            a.clone_from(b);
            (b.as_str().len(), a.as_str().len())
        }
        (Value::Text(a), Value::Text(b)) | (Value::Json(a), Value::Json(b)) => {
            a.clone_from(b);
            (b.len(), a.capacity())
        }
        (Value::Bytes(a), Value::Bytes(b)) => {
            a.clone_from(b);
            (b.len(), a.capacity())
        }
        (slot, Value::Null) => {
            *slot = Value::Null;
            (0, 0)
        }
        (slot @ (Value::Date(_) | Value::Timestamp(_)), Value::Date(t)) => {
            *slot = Value::Date(*t);
            (0, 0)
        }
        (slot @ (Value::Date(_) | Value::Timestamp(_)), Value::Timestamp(t)) => {
            *slot = Value::Timestamp(*t);
            (0, 0)
        }
        (slot, value) => {
            *slot = value.clone();
            (heap_bytes(value), heap_capacity(slot))
        }
    }
}

/// The bytes a value holds outside its slot (text, binary, vectors).
fn heap_bytes(value: &Value) -> usize {
    match value {
        Value::Number(d) => d.as_str().len(),
        Value::Text(s) | Value::Json(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::Vector(v) => v.len() * 8,
        _ => 0,
    }
}

/// The buffer capacity a value keeps allocated (for [`RETAIN_BYTES`]).
fn heap_capacity(value: &Value) -> usize {
    match value {
        Value::Text(s) | Value::Json(s) => s.capacity(),
        Value::Bytes(b) => b.capacity(),
        Value::Vector(v) => v.capacity() * 8,
        other => heap_bytes(other),
    }
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
