//! In-process tap benchmark (not a timed test): discovers a simulated database, selects
//! every stream, and runs the whole sync engine (fetching, value encoding, RECORD and
//! STATE writing, bookmarks) into a sink that discards the bytes, then reports
//! records/s, bytes/s and this process's peak RSS. `bench/tap.sh` times the release
//! binary end to end; this example isolates the library from process start-up and pipe
//! costs.
//!
//! Usage: `cargo run --release -p tap-oracle --features sim --example bench_tap --
//! <sim_dir> [--pipeline on|off|auto]` on a store made by `sim-admin generate <sim_dir>
//! --rows 1000000` (the 12-column ORDERS table of `bench/gen_orders.py`; `--shape wide`
//! or `--shape clob` for the 200-column and 1 MB CLOB tables). `--pipeline` sets
//! `fetch_pipeline`. `--scan-only` reads the same streams through the simulated scan
//! alone (same columns, same keyset pages) into a sink that only counts rows: the
//! ceiling a pipelined tap approaches.

use std::time::Instant;

use tap_oracle::run::run;

#[path = "bench_support/scan_only.rs"]
mod scan_only;
#[path = "bench_support/mod.rs"]
mod support;

#[allow(clippy::print_stdout)] // a benchmark's report is its output
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let sim_dir = args.first().ok_or(
        "usage: bench_tap <sim_dir> [--pipeline on|off|auto | --scan-only] (made by `sim-admin generate <sim_dir> --rows N`)",
    )?;
    if args.iter().any(|a| a == "--scan-only") {
        let prepared = support::Prepared::new(sim_dir, serde_json::json!({}))?;
        let started = Instant::now();
        let rows = scan_only::scan_all(sim_dir, &prepared.catalog)?;
        let seconds = started.elapsed().as_secs_f64();
        println!("scan_only=true");
        support::report(rows, 0, seconds);
        return Ok(());
    }
    let pipeline = support::pipeline_arg(&args)?;
    let prepared =
        support::Prepared::new(sim_dir, serde_json::json!({ "fetch_pipeline": pipeline }))?;
    let mut sink = support::CountingSink(0);
    let started = Instant::now();
    run(&prepared.sync_args(), &mut sink)?;
    let seconds = started.elapsed().as_secs_f64();
    println!("fetch_pipeline={pipeline}");
    support::report(prepared.rows, sink.0, seconds);
    Ok(())
}
