//! In-process tap benchmark (not a timed test): discovers a simulated database, selects
//! every stream, and runs the whole sync engine (value encoding, RECORD and STATE
//! writing, bookmarks) into a sink that discards the bytes, then reports records/s,
//! bytes/s and this process's peak RSS. `bench/tap.sh` times the release binary end to
//! end; this example isolates the library from process start-up and pipe costs.
//!
//! Usage: `cargo run --release -p tap-oracle --features sim --example bench_tap --
//! <sim_dir>` on a store made by `sim-admin generate <sim_dir> --rows 1000000` (the
//! 12-column ORDERS table of `bench/gen_orders.py`).

use std::io::Write;
use std::time::Instant;

use clap::Parser;
use serde_json::Value as Json;
use tap_oracle::run::{run, Args};

/// Counts the bytes written and drops them, like `> /dev/null` without the syscalls.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if readable.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

#[allow(clippy::print_stdout)] // a benchmark's report is its output
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sim_dir = std::env::args()
        .nth(1)
        .ok_or("usage: bench_tap <sim_dir> (made by `sim-admin generate <sim_dir> --rows N`)")?;
    let work = std::env::temp_dir().join(format!("bench_tap-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    let config = work.join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"driver": "sim", "sim_path": sim_dir, "progress_interval_seconds": 3600})
            .to_string(),
    )?;
    let config = config.to_str().ok_or("temp dir is not UTF-8")?.to_owned();

    let mut discovered = Vec::new();
    run(
        &Args::parse_from(["tap-oracle", "--config", &config, "--discover"]),
        &mut discovered,
    )?;
    let mut catalog: Json = serde_json::from_slice(&discovered)?;
    for stream in catalog["streams"].as_array_mut().ok_or("no streams")? {
        stream["metadata"][0]["metadata"]["selected"] = Json::Bool(true);
    }
    let catalog_path = work.join("catalog.json");
    std::fs::write(&catalog_path, catalog.to_string())?;
    let catalog_path = catalog_path.to_str().ok_or("temp dir is not UTF-8")?;

    let mut sink = CountingSink(0);
    let started = Instant::now();
    run(
        &Args::parse_from(["tap-oracle", "--config", &config, "--catalog", catalog_path]),
        &mut sink,
    )?;
    let seconds = started.elapsed().as_secs_f64();
    std::fs::remove_dir_all(&work)?;

    let rows: u64 = catalog["streams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["metadata"][0]["metadata"]["row-count"].as_u64())
        .sum();
    println!("records={rows}");
    println!("seconds={seconds:.2}");
    println!("records_per_second={:.0}", rows as f64 / seconds);
    println!(
        "megabytes_per_second={:.1}",
        sink.0 as f64 / seconds / 1_000_000.0
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak_rss_mib={rss:.1}");
    }
    Ok(())
}
