//! The tap's encode path alone (not a timed test): the whole sync engine (RECORD
//! encoding, STATE every `state_every_rows`, bookmarks, the pipeline when on) over rows
//! held in memory, so no database work is timed. A first, untimed sync through the
//! simulated backend captures up to 100,000 rows (64 MiB) of the store's table; the
//! timed sync replays them, round and round, as one scan of `--rows` rows into a sink
//! that discards the bytes.
//!
//! Usage: `cargo run --release -p tap-oracle --features sim --example bench_encode --
//! <sim_dir> [--rows N] [--pipeline on|off|auto]` on a store made by `sim-admin
//! generate` (one table). Pin it to one CPU with `taskset -c 0` for the one-core figure.

use std::ops::ControlFlow;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use db_boundary::{
    Backend, CheckReport, DbResult, DictionaryScope, PushRow, Scan, ScanColumn, ScannedRow,
    ServerInfo, SessionContext, Sink, Source, TableRef, Value,
};
use singer_core::dictionary::DictionaryRows;
use tap_oracle::run::sync_from;

#[path = "bench_support/mod.rs"]
mod support;

/// Rows and bytes of values captured at most.
const CAPTURE_ROWS: usize = 100_000;
const CAPTURE_BYTES: usize = 64 << 20;

/// Rows captured from the store, shared by every session.
#[derive(Default)]
struct Captured {
    rows: Vec<Vec<Value>>,
    bytes: usize,
}

/// The simulated backend for everything but a scan's rows: a capturing pass copies
/// them from the store's scan; a replaying pass pushes `replay` captured rows instead.
struct Memory {
    inner: sim_backend::SimBackend,
    captured: Arc<Mutex<Captured>>,
    replay: Option<u64>,
}

struct MemorySource {
    inner: Box<dyn Source + Send>,
    captured: Arc<Mutex<Captured>>,
    replay: Option<u64>,
}

impl Backend for Memory {
    fn check(&self) -> DbResult<CheckReport> {
        self.inner.check()
    }
    fn source(&self) -> DbResult<Box<dyn Source + Send>> {
        Ok(Box::new(MemorySource {
            inner: self.inner.source()?,
            captured: Arc::clone(&self.captured),
            replay: self.replay,
        }))
    }
    fn sink(&self) -> DbResult<Box<dyn Sink + Send>> {
        self.inner.sink()
    }
}

impl Source for MemorySource {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        self.inner.server_info()
    }
    fn set_context(&mut self, context: &SessionContext) -> DbResult<()> {
        self.inner.set_context(context)
    }
    fn read_dictionary(&mut self, scope: &DictionaryScope) -> DbResult<DictionaryRows> {
        self.inner.read_dictionary(scope)
    }
    fn current_scn(&mut self) -> DbResult<u64> {
        self.inner.current_scn()
    }
    fn chunk_bounds(
        &mut self,
        table: &TableRef,
        keys: &[ScanColumn],
        chunks: u32,
        as_of_scn: Option<u64>,
    ) -> DbResult<Vec<Vec<Value>>> {
        self.inner.chunk_bounds(table, keys, chunks, as_of_scn)
    }
    fn scan(&mut self, scan: &Scan, push: &mut PushRow<'_>) -> DbResult<u64> {
        let Some(total) = self.replay else {
            let captured = Arc::clone(&self.captured);
            return self.inner.scan(scan, &mut |row| {
                let mut captured = captured.lock().expect("not poisoned");
                if captured.rows.len() < CAPTURE_ROWS && captured.bytes < CAPTURE_BYTES {
                    captured.bytes += row.values.iter().map(value_bytes).sum::<usize>();
                    captured.rows.push(row.values.to_vec());
                }
                push(row)
            });
        };
        let captured = self.captured.lock().expect("not poisoned");
        let rows = &captured.rows;
        for n in 0..total {
            let row = ScannedRow {
                values: &rows[n as usize % rows.len()],
                rowid: None,
            };
            if let ControlFlow::Break(()) = push(row) {
                return Ok(n + 1);
            }
        }
        Ok(total)
    }
}

fn value_bytes(value: &Value) -> usize {
    32 + match value {
        Value::Text(s) | Value::Json(s) => s.len(),
        Value::Number(d) => d.as_str().len(),
        Value::Bytes(b) => b.len(),
        _ => 0,
    }
}

#[allow(clippy::print_stdout)] // a benchmark's report is its output
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sim_dir = args
        .first()
        .ok_or("usage: bench_encode <sim_dir> [--rows N] [--pipeline on|off|auto]")?;
    let pipeline = support::pipeline_arg(&args)?;
    let total: u64 = match args.iter().position(|a| a == "--rows") {
        Some(i) => args.get(i + 1).ok_or("--rows takes a number")?.parse()?,
        None => 1_000_000,
    };
    // One page: the replayed scan is the whole pass.
    let prepared = support::Prepared::new(
        sim_dir,
        serde_json::json!({"fetch_pipeline": pipeline, "full_table_page_rows": 1_000_000_000u64}),
    )?;
    let captured = Arc::new(Mutex::new(Captured::default()));
    let capture = Memory {
        inner: sim_backend::SimBackend::open(std::path::Path::new(sim_dir))?,
        captured: Arc::clone(&captured),
        replay: None,
    };
    sync_from(&prepared.sync_args(), &capture, support::CountingSink(0))?;
    let distinct = captured.lock().expect("not poisoned").rows.len();
    let replay = Memory {
        replay: Some(total),
        ..capture
    };
    let mut sink = support::CountingSink(0);
    let started = Instant::now();
    sync_from(&prepared.sync_args(), &replay, &mut sink)?;
    let seconds = started.elapsed().as_secs_f64();
    println!("fetch_pipeline={pipeline}");
    println!(
        "distinct_rows_in_memory={distinct} (of {} in the table)",
        prepared.rows
    );
    support::report(total, sink.0, seconds);
    Ok(())
}
