//! Benchmark of the target engine (not a timed test): reads a Singer file, validates,
//! converts and batches every record exactly as `target-oracle` does, and hands the
//! batches to a sink that discards them, so the figure is the engine's own speed.
//!
//! `cargo run --release -p target-oracle --example bench_target -- FILE [--no-validate]`
//! prints records/s, MB/s and peak RSS. `bench/target.sh` runs it next to the Meltano SDK
//! target on the same file.
//!
//! With `--batch`, the same records are first written to BATCH files (JSON Lines of
//! 10,000 records each, gzip and plain, as SDK taps write them; not timed) and the run
//! prints three figures from one process: RECORD messages, BATCH gzip, BATCH plain
//! (`bench/batch.sh`). Peak RSS is the process's, so the largest of the three.
//!
//! `--batch-rows N` sets `batch_size_rows` (default 10,000): how much row memory the
//! engine cycles through, which decides whether its rows stay in the cache.

// A benchmark's report is its output.
#![allow(clippy::print_stdout)]

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use db_boundary::{
    AlterTable, ColumnDef, DbResult, RowFilter, ServerInfo, Sink, TableDef, TableName, Value,
};
use serde_json::json;
use serde_json::value::RawValue;
use target_oracle::input::{IdleAwareInput, Input};
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
            minor_version: 0,
            compatible: Some((23, 0)),
            max_identifier_bytes: 128,
            max_string_bytes: 4000,
            user: "BENCH".into(),
            current_schema: "BENCH".into(),
        })
    }
    fn set_context(&mut self, _: &db_boundary::SessionContext) -> DbResult<()> {
        Ok(()) // a benchmark sink has no session to name
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
    fn delete_keys(&mut self, _: &TableName, _: &[ColumnDef], _: &[Vec<Value>]) -> DbResult<u64> {
        Ok(0)
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

/// Records per BATCH file, the SDK's default `batch_size`.
const RECORDS_PER_FILE: usize = 10_000;

/// Writes the RECORDs of the Singer file `path` into BATCH files under `dir` and returns
/// the Singer input that names them: the SCHEMA lines, one BATCH per file, the last STATE.
fn batch_input(path: &str, dir: &Path, gzip: bool) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    #[derive(serde::Deserialize)]
    struct Line<'a> {
        #[serde(rename = "type")]
        kind: &'a str,
        #[serde(default)]
        stream: Option<&'a str>,
        #[serde(borrow, default)]
        record: Option<&'a RawValue>,
    }
    let mut input = Vec::new();
    let mut last_state = None;
    let mut file: Option<(Box<dyn Write>, PathBuf, String)> = None;
    let mut in_file = 0;
    let mut files = 0;
    let finish = |file: &mut Option<(Box<dyn Write>, PathBuf, String)>,
                  input: &mut Vec<u8>|
     -> Result<(), Box<dyn std::error::Error>> {
        if let Some((mut out, path, stream)) = file.take() {
            out.flush()?;
            drop(out);
            let message = json!({"type": "BATCH", "stream": stream,
                "encoding": {"format": "jsonl", "compression": if gzip { "gzip" } else { "none" }},
                "manifest": [format!("file://{}", path.display())]});
            writeln!(input, "{message}")?;
        }
        Ok(())
    };
    for line in BufReader::new(File::open(path)?).lines() {
        let line = line?;
        let parsed: Line<'_> = serde_json::from_str(&line)?;
        match (parsed.kind, parsed.stream, parsed.record) {
            ("RECORD", Some(stream), Some(record)) => {
                if file.is_none() {
                    files += 1;
                    let name = dir.join(format!(
                        "batch-{files}.json{}",
                        if gzip { ".gz" } else { "" }
                    ));
                    let raw = BufWriter::with_capacity(1 << 20, File::create(&name)?);
                    let out: Box<dyn Write> = if gzip {
                        Box::new(flate2::write::GzEncoder::new(
                            raw,
                            flate2::Compression::fast(),
                        ))
                    } else {
                        Box::new(raw)
                    };
                    file = Some((out, name, stream.to_owned()));
                }
                if let Some((out, _, _)) = &mut file {
                    out.write_all(record.get().as_bytes())?;
                    out.write_all(b"\n")?;
                }
                in_file += 1;
                if in_file == RECORDS_PER_FILE {
                    finish(&mut file, &mut input)?;
                    in_file = 0;
                }
            }
            ("SCHEMA", ..) => writeln!(input, "{line}")?,
            ("STATE", ..) => last_state = Some(line),
            _ => {}
        }
    }
    finish(&mut file, &mut input)?;
    if let Some(state) = last_state {
        writeln!(input, "{state}")?;
    }
    Ok(input)
}

/// One timed run of the engine over `input`; prints its line and returns records/s.
fn run<R: Input>(
    label: &str,
    input: R,
    validate: bool,
    bytes: u64,
) -> Result<f64, Box<dyn std::error::Error>> {
    let settings = json!({"validate_records": validate});
    let config = TargetConfig::from_map(settings.as_object().cloned().unwrap_or_default(), false)?;
    let started = Instant::now();
    let cpu_before = cpu_seconds().unwrap_or(0.0);
    let loader = Loader::new(config, Box::new(DiscardSink::default()), std::io::sink())?;
    let stats = loader.load(input)?;
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu_before;
    let per_second = stats.records as f64 / seconds;
    println!(
        "target-oracle engine, {label} (discard sink, validate_records={validate}): {} records in {seconds:.2} s = {per_second:.0} records/s ({:.0} per CPU-second), {:.1} MB/s of input, {} batches, {} STATE, peak RSS {} MiB",
        stats.records,
        stats.records as f64 / cpu.max(0.01),
        bytes as f64 / seconds / 1e6,
        stats.batches,
        stats.states_emitted,
        peak_rss_kib().map_or("?".into(), |k| (k / 1024).to_string()),
    );
    Ok(per_second)
}

/// `--batch`: RECORD messages, BATCH gzip and BATCH plain on the same records.
fn compare_batch(path: &str, validate: bool) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::metadata(path)?.len();
    let records = run(
        "RECORD messages",
        IdleAwareInput::spawn(File::open(path)?, Duration::from_secs(5), 64 << 20),
        validate,
        bytes,
    )?;
    let dir = std::env::temp_dir().join(format!("bench-batch-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut figures = Vec::new();
    for gzip in [true, false] {
        let input = batch_input(path, &dir, gzip)?;
        let files: u64 = std::fs::read_dir(&dir)?
            .filter_map(Result::ok)
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum();
        let label = if gzip {
            "BATCH gzip files"
        } else {
            "BATCH plain files"
        };
        figures.push(run(label, input.as_slice(), validate, files)?);
        for entry in std::fs::read_dir(&dir)? {
            std::fs::remove_file(entry?.path())?;
        }
    }
    std::fs::remove_dir(&dir)?;
    println!(
        "BATCH vs RECORD: gzip {:.2}x, plain {:.2}x",
        figures[0] / records,
        figures[1] / records
    );
    println!("records_per_second={records:.0}");
    println!("batch_gzip_records_per_second={:.0}", figures[0]);
    println!("batch_plain_records_per_second={:.0}", figures[1]);
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: bench_target FILE [--no-validate] [--batch] [--batch-rows N]")?;
    let flags: Vec<String> = args.collect();
    let validate = !flags.iter().any(|a| a == "--no-validate");
    if flags.iter().any(|a| a == "--batch") {
        return compare_batch(&path, validate);
    }
    let mut settings = json!({"validate_records": validate});
    if let Some(at) = flags.iter().position(|a| a == "--batch-rows") {
        let rows: u64 = flags
            .get(at + 1)
            .ok_or("--batch-rows needs a number")?
            .parse()?;
        settings["batch_size_rows"] = rows.into();
    }
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
