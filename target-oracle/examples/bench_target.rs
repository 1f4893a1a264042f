//! Benchmark of the target engine (not a timed test): reads a Singer file, validates,
//! converts and batches every record exactly as `target-oracle` does, and hands the
//! batches to a sink that discards them, so the figure is the engine's own speed.
//!
//! `cargo run --release -p target-oracle --example bench_target -- FILE [--no-validate]`
//! prints records/s, MB/s and peak RSS. `bench/target.sh` runs it next to the Meltano SDK
//! target on the same file.

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::fs::File;
use std::time::{Duration, Instant};

use db_boundary::{
    AlterTable, ColumnDef, DbResult, RowFilter, ServerInfo, Sink, TableDef, TableName, Value,
};
use serde_json::json;
use target_oracle::input::IdleAwareInput;
use target_oracle::loader::Loader;
use target_oracle::settings::TargetConfig;

/// The loader allocates a few small values per field (row values own their text);
/// mimalloc makes that about a fifth cheaper than glibc malloc (bench/target.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A sink that accepts every write and keeps nothing: only row and batch counts.
#[derive(Default)]
struct DiscardSink {
    rows: u64,
    batches: u64,
}

impl Sink for DiscardSink {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Ok(ServerInfo {
            version: "discard sink (Oracle 23ai rules)".into(),
            major_version: 23,
            max_identifier_bytes: 128,
            max_string_bytes: 4000,
            user: "BENCH".into(),
            current_schema: "BENCH".into(),
        })
    }
    fn describe_table(&mut self, _: &TableName) -> DbResult<Option<TableDef>> {
        Ok(None)
    }
    fn create_table(&mut self, _: &TableDef) -> DbResult<()> {
        Ok(())
    }
    fn alter_table(&mut self, _: &TableName, _: &AlterTable) -> DbResult<()> {
        Ok(())
    }
    fn insert_rows(&mut self, _: &TableName, _: &[ColumnDef], rows: &[Vec<Value>]) -> DbResult<()> {
        self.rows += rows.len() as u64;
        self.batches += 1;
        Ok(())
    }
    fn merge_rows(
        &mut self,
        _: &TableName,
        _: &[ColumnDef],
        _: &[String],
        rows: &[Vec<Value>],
    ) -> DbResult<()> {
        self.rows += rows.len() as u64;
        self.batches += 1;
        Ok(())
    }
    fn delete_rows(&mut self, _: &TableName, _: &RowFilter) -> DbResult<u64> {
        Ok(0)
    }
    fn update_rows(&mut self, _: &TableName, _: &str, _: &Value, _: &RowFilter) -> DbResult<u64> {
        Ok(0)
    }
    fn commit(&mut self) -> DbResult<()> {
        Ok(())
    }
    fn rollback(&mut self) -> DbResult<()> {
        Ok(())
    }
}

/// Peak resident set size in KiB, from /proc/self/status.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU seconds (user + system) this process used, from /proc/self/stat (clock ticks
/// at 100 Hz): on a shared machine, records per CPU-second is the steadier figure.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let user: f64 = fields.get(11)?.parse().ok()?;
    let system: f64 = fields.get(12)?.parse().ok()?;
    Some((user + system) / 100.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: bench_target FILE [--no-validate]")?;
    let validate = !args.any(|a| a == "--no-validate");
    let settings = json!({"validate_records": validate});
    let config = TargetConfig::from_map(settings.as_object().cloned().unwrap_or_default(), false)?;
    let bytes = std::fs::metadata(&path)?.len();
    // The binary's input path: a reader thread handing over line-aligned chunks.
    let input = IdleAwareInput::spawn(
        File::open(&path)?,
        Duration::from_secs(5),
        config.max_line_bytes,
    );
    let started = Instant::now();
    let loader = Loader::new(config, Box::new(DiscardSink::default()), std::io::sink())?;
    let stats = loader.load(input)?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "target-oracle engine (discard sink, validate_records={validate}): {} records in {seconds:.2} s = {:.0} records/s, {:.1} MB/s, {} batches, {} STATE, peak RSS {} MiB",
        stats.records,
        stats.records as f64 / seconds,
        bytes as f64 / seconds / 1e6,
        stats.batches,
        stats.states_emitted,
        peak_rss_kib().map_or("?".into(), |k| (k / 1024).to_string()),
    );
    if let Some(cpu) = cpu_seconds() {
        println!(
            "CPU time {cpu:.2} s (both threads) = {:.0} records per CPU-second",
            stats.records as f64 / cpu
        );
    }
    println!("records_per_second={:.0}", stats.records as f64 / seconds);
    Ok(())
}
