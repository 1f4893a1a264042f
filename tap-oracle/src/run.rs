//! One run of the tap: `--about`, `--test`, `--discover`, or a sync, from the parsed
//! command line. Output goes to the `Write` it is given (stdout in the binary).

use std::io::Write;
use std::num::NonZeroU64;
use std::time::Duration;

use clap::Parser;
use db_boundary::{Backend, SessionRole};
use singer_cli::about::About;
use singer_cli::cli::{AboutFormat, SingerArgs};
use singer_cli::settings::Config;
use singer_core::catalog::Catalog;
use singer_core::state::State;

use crate::batch_files::BatchConfig;
use crate::convert::parse_offset;
use crate::discover::discover;
use crate::error::TapError;
use crate::pipeline::Pipelining;
use crate::settings::{settings, ENV_PREFIX};
use crate::shard::finish::finish;
use crate::shard::make::make_plan;
use crate::shard::{shard_mode, ShardMode};
use crate::sync::{sync, SyncOptions};

/// Command line of `tap-oracle`.
#[derive(Debug, Parser)]
#[command(
    name = "tap-oracle",
    bin_name = "tap-oracle",
    version,
    about = "Singer tap for Oracle Database"
)]
pub struct Args {
    #[command(flatten)]
    pub singer: SingerArgs,
    /// Print a shard plan for N shard runs of the catalog's selected FULL_TABLE streams
    /// (one SCN, one table version, N key ranges each); give it to every shard run and
    /// to the final step as `shard_plan` (README "Sharded runs").
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub plan_shards: Option<u16>,
}

/// What a successful run did, for the binary to report.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// `--test` succeeded; the report goes to stderr.
    Tested(String),
}

pub const CAPABILITIES: &[&str] = &[
    "catalog",
    "discover",
    "state",
    "about",
    "properties",
    "structured-logging",
    "batch",
];

pub fn about() -> About<'static> {
    About {
        name: "tap-oracle",
        description: "Singer tap for Oracle Database: discovery from the data dictionary, FULL_TABLE and INCREMENTAL sync with exact values.",
        version: env!("CARGO_PKG_VERSION"),
        capabilities: CAPABILITIES,
        settings: settings(),
        env_prefix: ENV_PREFIX,
    }
}

/// Runs the mode the arguments ask for.
pub fn run<W: Write + Send>(args: &Args, mut out: W) -> Result<Outcome, TapError> {
    let singer = &args.singer;
    if singer.about {
        let text = match singer.format {
            AboutFormat::Json => {
                serde_json::to_string_pretty(&about().to_json()).expect("about serializes")
            }
            AboutFormat::Markdown => about().to_markdown(),
        };
        writeln!(out, "{text}").map_err(|e| TapError::Write(e.into()))?;
        out.flush().map_err(|e| TapError::Write(e.into()))?;
        return Ok(Outcome::Done);
    }
    let config = Config::load(&singer.config, ENV_PREFIX, std::env::vars(), settings())?;
    tracing::debug!(config = ?config, "configuration");
    if singer.test {
        let report = db_connect::check_connection(config.as_map(), SessionRole::Tap)?;
        return Ok(Outcome::Tested(report.to_string()));
    }
    let run_id = db_boundary::new_run_id();
    tracing::info!(run_id = %run_id, "run started");
    if singer.discover {
        let backend = db_connect::open_backend(config.as_map(), SessionRole::Tap)?;
        discover(backend.as_ref(), &config, &run_id, out)?;
        return Ok(Outcome::Done);
    }
    let (catalog, state) = catalog_and_state(singer)?;
    let mut options = sync_options(&config, run_id)?;
    if let Some(shards) = args.plan_shards {
        // The shard settings name the plan this makes: not read here.
        let backend = db_connect::open_backend(config.as_map(), SessionRole::Tap)?;
        let plan = make_plan(backend.as_ref(), &catalog, &options, usize::from(shards))?;
        serde_json::to_writer_pretty(&mut out, &plan).map_err(|e| TapError::Write(e.into()))?;
        writeln!(out).map_err(|e| TapError::Write(e.into()))?;
        out.flush().map_err(|e| TapError::Write(e.into()))?;
        return Ok(Outcome::Done);
    }
    match shard_mode(&config)? {
        ShardMode::Finish { plan, states } => {
            // The final step reads no rows: no database session.
            let method = &options.default_replication_method;
            let activate = (method.as_str(), options.activate_version);
            finish(&catalog, &plan, activate, &states, state, out)?;
            return Ok(Outcome::Done);
        }
        ShardMode::Shard(run) => options.shard = Some(run),
        ShardMode::Off => {}
    }
    let backend = db_connect::open_backend(config.as_map(), SessionRole::Tap)?;
    sync(backend.as_ref(), &catalog, state, &options, out)?;
    Ok(Outcome::Done)
}

/// A sync of the arguments' catalog and state from `backend` rather than the configured
/// database (whose connection settings are not read): how the benchmarks time the
/// engine over rows held in memory (`examples/bench_encode.rs`).
#[doc(hidden)]
pub fn sync_from<W: Write + Send>(
    args: &Args,
    backend: &dyn Backend,
    out: W,
) -> Result<Outcome, TapError> {
    let config = Config::load(
        &args.singer.config,
        ENV_PREFIX,
        std::env::vars(),
        settings(),
    )?;
    let (catalog, state) = catalog_and_state(&args.singer)?;
    let options = sync_options(&config, db_boundary::new_run_id())?;
    sync(backend, &catalog, state, &options, out)?;
    Ok(Outcome::Done)
}

/// The `--catalog` a sync (or a shard plan) needs, and the `--state`, if any.
fn catalog_and_state(singer: &SingerArgs) -> Result<(Catalog, State), TapError> {
    let catalog_path = singer.catalog_path().ok_or_else(|| {
        TapError::Usage("a sync needs --catalog (or --properties); make one with --discover".into())
    })?;
    let catalog = Catalog::from_path(catalog_path)?;
    let state = match &singer.state {
        Some(path) => State::from_path(path)?,
        None => State::default(),
    };
    Ok((catalog, state))
}

fn sync_options(config: &Config, run_id: String) -> Result<SyncOptions, TapError> {
    let offset = parse_offset(config.get_str("source_timezone").unwrap_or("+00:00"))
        .map_err(|e| Config::error(vec![format!("source_timezone: {e}")]))?;
    // Every number is range-checked by its declaration in the settings table.
    Ok(SyncOptions {
        state_every_rows: config.int("state_every_rows")?,
        activate_version: config.get_bool("activate_version").unwrap_or(true),
        source_offset: offset,
        default_replication_method: config
            .get_str("default_replication_method")
            .unwrap_or("FULL_TABLE")
            .to_owned(),
        use_flashback: config.get_bool("use_flashback").unwrap_or(false),
        fetch_array_size: config.int("fetch_array_size")?,
        page_rows: NonZeroU64::new(config.int("full_table_page_rows")?).ok_or_else(|| {
            Config::error(vec!["full_table_page_rows: must be at least 1".into()])
        })?,
        prefetch_rows: config.int("prefetch_rows")?,
        pipelining: Pipelining::from_setting(config.get_str("fetch_pipeline").unwrap_or("off")),
        max_parallel_streams: config.int("max_parallel_streams")?,
        max_parallel_chunks: config.int("max_parallel_chunks")?,
        progress_interval: Duration::from_secs(config.int("progress_interval_seconds")?),
        run_id,
        log_window_bytes: config.int("log_window_bytes")?,
        log_buffer_memory_bytes: config.int("log_buffer_memory_bytes")?,
        log_buffer_max_bytes: config.int("log_buffer_max_bytes")?,
        shard: None,
        batch: batch_config(config)?,
    })
}

/// `batch_config`, checked, its folder made if missing.
fn batch_config(config: &Config) -> Result<Option<BatchConfig>, TapError> {
    let Some(value) = config.get("batch_config") else {
        return Ok(None);
    };
    let problem = |reason: String| Config::error(vec![format!("batch_config: {reason}")]);
    let batch = BatchConfig::from_setting(value).map_err(problem)?;
    std::fs::create_dir_all(&batch.root).map_err(|e| {
        problem(format!(
            "storage.root {} cannot be made: {e}",
            batch.root.display()
        ))
    })?;
    Ok(Some(batch))
}
