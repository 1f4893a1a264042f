//! One run of the tap: `--about`, `--test`, `--discover`, or a sync, from the parsed
//! command line. Output goes to the `Write` it is given (stdout in the binary).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use db_boundary::{Backend, DictionaryScope, TablePattern};
use singer_core::about::About;
use singer_core::catalog::Catalog;
use singer_core::cli::{AboutFormat, SingerArgs};
use singer_core::discovery::{build_catalog, glob_to_like, DiscoveryOptions, TableFilter};
use singer_core::settings::Config;
use singer_core::state::State;

use crate::convert::parse_offset;
use crate::error::TapError;
use crate::settings::{ENV_PREFIX, SETTINGS};
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
];

pub fn about() -> About<'static> {
    About {
        name: "tap-oracle",
        description: "Singer tap for Oracle Database: discovery from the data dictionary, FULL_TABLE and INCREMENTAL sync with exact values.",
        version: env!("CARGO_PKG_VERSION"),
        capabilities: CAPABILITIES,
        settings: SETTINGS,
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
    let config = Config::load(&singer.config, ENV_PREFIX, std::env::vars(), SETTINGS)?;
    tracing::debug!(config = ?config, "configuration");
    if singer.test {
        return test_connection(&config).map(Outcome::Tested);
    }
    let backend = open_backend(&config)?;
    if singer.discover {
        discover(backend.as_ref(), &config, out)?;
        return Ok(Outcome::Done);
    }
    let catalog_path = singer.catalog_path().ok_or_else(|| {
        TapError::Usage("a sync needs --catalog (or --properties); make one with --discover".into())
    })?;
    let catalog = Catalog::from_path(catalog_path)?;
    let state = match &singer.state {
        Some(path) => State::from_path(path)?,
        None => State::default(),
    };
    let options = sync_options(&config)?;
    sync(backend.as_ref(), &catalog, state, &options, out)?;
    Ok(Outcome::Done)
}

fn sync_options(config: &Config) -> Result<SyncOptions, TapError> {
    let offset = parse_offset(config.get_str("source_timezone").unwrap_or("+00:00"))
        .map_err(|e| Config::error(vec![format!("source_timezone: {e}")]))?;
    let positive = |name: &str, default: u64| -> Result<u64, TapError> {
        match config.get_u64(name).unwrap_or(default) {
            0 => Err(Config::error(vec![format!("{name}: must be at least 1")]).into()),
            n => Ok(n),
        }
    };
    Ok(SyncOptions {
        state_every_rows: positive("state_every_rows", 10_000)?,
        activate_version: config.get_bool("activate_version").unwrap_or(true),
        source_offset: offset,
        default_replication_method: config
            .get_str("default_replication_method")
            .unwrap_or("FULL_TABLE")
            .to_owned(),
        use_flashback: config.get_bool("use_flashback").unwrap_or(false),
        fetch_array_size: positive("fetch_array_size", 1000)? as u32,
        prefetch_rows: config.get_u64("prefetch_rows").unwrap_or(1000) as u32,
        max_parallel_streams: positive("max_parallel_streams", 1)? as usize,
        progress_interval: Duration::from_secs(positive("progress_interval_seconds", 5)?),
    })
}

/// Opens the backend the `driver` setting names.
pub fn open_backend(config: &Config) -> Result<Arc<dyn Backend>, TapError> {
    match config.get_str("driver").unwrap_or("oracle") {
        "sim" => open_sim(config),
        _ => {
            let settings: oracle_backend::ConnectSettings =
                serde_json::from_value(serde_json::Value::Object(config.as_map().clone()))
                    .map_err(|e| Config::error(vec![format!("connection settings: {e}")]))?;
            if settings.user.is_empty() {
                return Err(Config::error(vec!["user: required with driver oracle".into()]).into());
            }
            Ok(Arc::new(oracle_backend::OracleBackend::connect(
                &settings,
                oracle_backend::SessionRole::Tap,
            )?))
        }
    }
}

#[cfg(feature = "sim")]
fn open_sim(config: &Config) -> Result<Arc<dyn Backend>, TapError> {
    let path = config
        .get_str("sim_path")
        .ok_or_else(|| Config::error(vec!["sim_path: required with driver sim".into()]))?;
    Ok(Arc::new(db_boundary::sim::SimBackend::open(
        std::path::Path::new(path),
    )?))
}

#[cfg(not(feature = "sim"))]
fn open_sim(_config: &Config) -> Result<Arc<dyn Backend>, TapError> {
    Err(Config::error(vec![
        "driver: `sim` (the simulated backend) is only in builds with the `sim` cargo feature"
            .into(),
    ])
    .into())
}

fn test_connection(config: &Config) -> Result<String, TapError> {
    if config.get_str("driver") == Some("sim") {
        let backend = open_sim(config)?;
        let info = backend.source()?.server_info()?;
        return Ok(format!("{} (user {})", info.version, info.user));
    }
    let settings: oracle_backend::ConnectSettings =
        serde_json::from_value(serde_json::Value::Object(config.as_map().clone()))
            .map_err(|e| Config::error(vec![format!("connection settings: {e}")]))?;
    let backend =
        oracle_backend::OracleBackend::connect(&settings, oracle_backend::SessionRole::Tap)?;
    Ok(backend.check()?.to_string())
}

/// The dictionary scope for the database and the same filter applied in memory.
pub fn discovery_scope(config: &Config) -> (DictionaryScope, TableFilter) {
    let filter = TableFilter::new(
        &config.get_str_list("filter_schemas"),
        &config.get_str_list("filter_tables"),
    );
    let like = |(owner, table): &(String, String)| TablePattern {
        owner: glob_to_like(owner),
        table: glob_to_like(table),
    };
    let scope = DictionaryScope {
        schemas: filter.schemas.clone(),
        include: filter.include.iter().map(like).collect(),
        exclude: filter.exclude.iter().map(like).collect(),
    };
    (scope, filter)
}

fn discover<W: Write>(backend: &dyn Backend, config: &Config, mut out: W) -> Result<(), TapError> {
    let (scope, filter) = discovery_scope(config);
    let rows = backend.source()?.read_dictionary(&scope)?;
    let options = DiscoveryOptions {
        database_name: config.get_str("database_name").map(str::to_owned),
        decimal_as_string: config.get_bool("decimal_as_string").unwrap_or(false),
    };
    let output = build_catalog(&filter.apply(&rows), &options);
    tracing::info!(streams = output.catalog.streams.len(), "discovered");
    serde_json::to_writer_pretty(&mut out, &output.catalog)
        .map_err(|e| TapError::Write(e.into()))?;
    writeln!(out).map_err(|e| TapError::Write(e.into()))?;
    out.flush().map_err(|e| TapError::Write(e.into()))?;
    Ok(())
}
