//! LOG_BASED benchmark (not a timed test), in process, on a copy of a simulated store made
//! by `sim-admin generate <sim_dir> --rows N` (the 12-column ORDERS table):
//!
//! 1. FULL_TABLE: the sync engine reads the N rows through the simulated backend.
//! 2. LOG_BASED: one UPDATE of every row is committed (N changes in the redo, all columns
//!    logged), then the sync engine drains the redo from a checkpoint before it: the
//!    mining query, MINE_VALUE-like decoding, the transaction buffer, RECORD writing.
//! 3. The change-decoding engine alone: 1,000,000 changes of 12 columns held in 1,000
//!    open transactions, then committed; peak RSS of that phase (the promise: under
//!    256 MiB, changes past `log_buffer_memory_bytes` go to a temporary file).
//!
//! Usage: `cargo run --release -p tap-oracle --features sim --example bench_log_based --
//! <sim_dir>`; `bench/log_based.sh` makes the store and runs it.

use std::time::Instant;

use chrono::NaiveDate;
use clap::Parser;
use db_boundary::{Backend, ChangeOperation, ChangeRow, RowFilter, TableName, Value};
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use tap_oracle::convert::{NumberStyle, RowEncoder};
use tap_oracle::log_based::buffer::ChangeKind;
use tap_oracle::log_based::miner::{ChangeSink, Commit, MineError, MinedStream, Miner};
use tap_oracle::log_based::position::LogPosition;
use tap_oracle::run::{run, Args};

// Only the counting sink and the peak-RSS reader are used here.
#[allow(dead_code)]
#[path = "bench_support/mod.rs"]
mod support;
use support::{peak_rss_mib, CountingSink};

/// Resets the peak RSS to the current RSS (Linux `clear_refs` 5).
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn sync(
    config: &str,
    catalog: &Json,
    state: Option<&Json>,
    work: &std::path::Path,
) -> Result<(u64, f64), Box<dyn std::error::Error>> {
    let catalog_path = work.join("catalog.json");
    std::fs::write(&catalog_path, catalog.to_string())?;
    let mut args = vec![
        "tap-oracle".to_owned(),
        "--config".into(),
        config.into(),
        "--catalog".into(),
        catalog_path.to_string_lossy().into_owned(),
    ];
    if let Some(state) = state {
        let path = work.join("state.json");
        std::fs::write(&path, state.to_string())?;
        args.extend(["--state".into(), path.to_string_lossy().into_owned()]);
    }
    let mut sink = CountingSink(0);
    let started = Instant::now();
    run(&Args::parse_from(args), &mut sink)?;
    Ok((sink.0, started.elapsed().as_secs_f64()))
}

/// Discards records, counting them.
struct Discard(u64, Vec<u8>);

impl ChangeSink for Discard {
    fn change(
        &mut self,
        _: usize,
        _: ChangeKind,
        body: &[u8],
        commit: &Commit<'_>,
    ) -> Result<(), MineError> {
        self.1.clear();
        self.1.extend_from_slice(&body[..body.len() - 1]);
        self.1.extend_from_slice(b",\"_sdc_commit_scn\":");
        self.1.extend_from_slice(commit.scn.to_string().as_bytes());
        self.1.push(b'}');
        self.0 += 1;
        Ok(())
    }
}

/// Phase 3: the engine alone over 1,000,000 changes held open, then committed.
#[allow(clippy::print_stdout)]
fn engine_only() {
    const CHANGES: u64 = 1_000_000;
    const TRANSACTIONS: u64 = 1_000;
    let names = [
        "ORDER_ID",
        "CUSTOMER_ID",
        "AMOUNT",
        "CURRENCY",
        "STATUS",
        "CUSTOMER_NAME",
        "SHIP_ADDRESS",
        "NOTES",
        "ORDER_DATE",
        "UPDATED_AT",
        "IS_PRIORITY",
        "DISCOUNT_RATE",
    ];
    let columns: Vec<(String, NumberStyle)> = names
        .iter()
        .map(|n| (n.to_string(), NumberStyle::Number))
        .collect();
    let database = db_boundary::DatabaseIdentity {
        dbid: 1,
        resetlogs_change: 1,
        con_id: 0,
    };
    let stream = MinedStream {
        stream: "BENCH-ORDERS".into(),
        owner: "BENCH".into(),
        table: "ORDERS".into(),
        columns: names.iter().map(|n| n.to_string()).collect(),
        encoder: RowEncoder::new(&columns, chrono::FixedOffset::east_opt(0).expect("UTC")),
        position: LogPosition {
            scn: 1,
            xids: Vec::new(),
            low_water: 1,
            database,
        },
    };
    let mut miner = Miner::new(vec![stream], 32 << 20, 16 << 30);
    let at = NaiveDate::from_ymd_opt(2024, 5, 1)
        .expect("date")
        .and_hms_opt(12, 0, 0)
        .expect("time");
    let mut row = ChangeRow {
        scn: 0,
        xid: String::new(),
        operation: ChangeOperation::Update,
        rollback: false,
        table: Some(0),
        row_id: String::new(),
        timestamp: at,
        values: Vec::new(),
        info: None,
    };
    let mut sink = Discard(0, Vec::new());
    reset_peak_rss();
    let started = Instant::now();
    for i in 0..CHANGES {
        row.scn = 10 + i;
        row.xid = format!("{:016X}", i % TRANSACTIONS);
        row.row_id = format!("AAAR{i:014}");
        row.values.clear();
        row.values.extend([
            Some(Value::number(&i.to_string())),
            Some(Value::number(&(i % 50_000).to_string())),
            Some(Value::number(&format!("{}.{:02}", i % 100_000, i % 100))),
            Some(Value::Text("EUR".into())),
            Some(Value::Text("SHIPPED".into())),
            Some(Value::Text(format!("Customer {}", i % 50_000))),
            Some(Value::Text(format!(
                "{} Main Street, Springfield",
                i % 9_999
            ))),
            Some(Value::Text("note ".repeat(8))),
            Some(Value::Date(at)),
            Some(Value::Timestamp(at)),
            Some(Value::number(&(i % 2).to_string())),
            Some(Value::number("0.0525")),
        ]);
        miner.feed(&row, &mut sink).expect("feed");
    }
    let open_memory = miner.buffer_memory();
    row.operation = ChangeOperation::Commit;
    row.values.clear();
    for t in 0..TRANSACTIONS {
        row.scn = 10 + CHANGES + t;
        row.xid = format!("{t:016X}");
        miner.feed(&row, &mut sink).expect("commit");
    }
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(sink.0, CHANGES);
    println!("engine_changes={CHANGES} in {TRANSACTIONS} open transactions");
    println!("engine_changes_per_second={:.0}", CHANGES as f64 / seconds);
    println!(
        "engine_buffer_memory_mib={:.1}",
        open_memory as f64 / (1 << 20) as f64
    );
    if let Some(rss) = peak_rss_mib() {
        println!("engine_peak_rss_mib={rss:.1}");
    }
}

#[allow(clippy::print_stdout)] // a benchmark's report is its output
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let source = std::env::args().nth(1).ok_or(
        "usage: bench_log_based <sim_dir> (made by `sim-admin generate <sim_dir> --rows N`)",
    )?;
    let work = std::env::temp_dir().join(format!("bench_log_based-{}", std::process::id()));
    let db = work.join("db");
    std::fs::create_dir_all(&db)?;
    std::fs::copy(
        std::path::Path::new(&source).join("sim.sqlite"),
        db.join("sim.sqlite"),
    )?;
    let config = work.join("config.json");
    std::fs::write(
        &config,
        json!({"driver": "sim", "sim_path": db, "progress_interval_seconds": 3600, "state_every_rows": 10000})
            .to_string(),
    )?;
    let config = config.to_string_lossy().into_owned();
    let mut discovered = Vec::new();
    run(
        &Args::parse_from(["tap-oracle", "--config", &config, "--discover"]),
        &mut discovered,
    )?;
    let mut catalog: Json = serde_json::from_slice(&discovered)?;
    catalog["streams"][0]["metadata"][0]["metadata"]["selected"] = Json::Bool(true);
    let rows = catalog["streams"][0]["metadata"][0]["metadata"]["row-count"]
        .as_u64()
        .unwrap_or(0);

    // 1. FULL_TABLE through the simulated backend.
    reset_peak_rss();
    let (_, full_seconds) = sync(&config, &catalog, None, &work)?;
    if let Some(rss) = peak_rss_mib() {
        println!("full_table_peak_rss_mib={rss:.1}");
    }
    println!("full_table_rows={rows}");
    println!(
        "full_table_rows_per_second={:.0}",
        rows as f64 / full_seconds
    );

    // 2. LOG_BASED: one UPDATE of every row, then a drain from just before it.
    let backend = SimBackend::open(&db)?;
    backend.set_archivelog(true)?;
    backend.set_supplemental_logging(true, true)?;
    backend.set_log_bytes(64 << 20)?;
    let mut source = backend.source()?;
    let identity = source.database_identity()?;
    let before = source.current_scn()?;
    let mut sink = backend.sink()?;
    let orders = TableName {
        schema: Some("BENCH".into()),
        name: "ORDERS".into(),
    };
    reset_peak_rss();
    sink.update_rows(
        &orders,
        "STATUS",
        &Value::Text("DELIVERED".into()),
        &RowFilter::All,
    )?;
    sink.commit()?;
    let position = LogPosition {
        scn: before + 1,
        xids: Vec::new(),
        low_water: before + 1,
        database: identity,
    };
    let state = json!({"bookmarks": {"BENCH-ORDERS": {
        "last_replication_method": "LOG_BASED", "version": 1, "log_position": position.to_json()}}});
    catalog["streams"][0]["metadata"][0]["metadata"]["replication-method"] = json!("LOG_BASED");
    reset_peak_rss();
    if let Some(rss) = peak_rss_mib() {
        println!("simulated_update_peak_rss_mib={rss:.1}");
    }
    reset_peak_rss();
    let (bytes, log_seconds) = sync(&config, &catalog, Some(&state), &work)?;
    println!("log_based_changes={rows}");
    println!(
        "log_based_changes_per_second={:.0}",
        rows as f64 / log_seconds
    );
    println!(
        "log_based_megabytes_per_second={:.1}",
        bytes as f64 / log_seconds / 1e6
    );
    if let Some(rss) = peak_rss_mib() {
        println!("log_based_peak_rss_mib={rss:.1}");
    }
    drop(source);
    drop(sink);
    std::fs::remove_dir_all(&work)?;

    // 3. The engine alone, 1,000,000 changes open at once.
    engine_only();
    Ok(())
}
