//! The command line (every flag Meltano passes), logging set-up, and [`run`]: config
//! -> backend -> loader over stdin or `--input`.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;

use clap::{Parser, ValueEnum};
use serde_json::{Map, Value as Json};

use db_boundary::{DbError, ServerInfo, Sink};

use crate::about;
use crate::error::TargetError;
use crate::loader::{LoadStats, Loader};
use crate::settings::{self, Driver, TargetConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AboutFormat {
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `target-oracle --config c.json [--input FILE] | --about | --test`.
#[derive(Debug, Clone, Parser)]
#[command(name = "target-oracle", bin_name = "target-oracle", version, about)]
pub struct Args {
    /// Config file (JSON object); repeat to merge left to right.
    #[arg(long, action = clap::ArgAction::Append, value_name = "FILE")]
    pub config: Vec<PathBuf>,
    /// Read Singer messages from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print name, version, capabilities and settings, then exit.
    #[arg(long)]
    pub about: bool,
    /// Output format of --about.
    #[arg(long, value_enum, default_value = "json")]
    pub format: AboutFormat,
    /// Connect, print the server's version and limits to stderr, and exit (0 or 2).
    #[arg(long, visible_alias = "check")]
    pub test: bool,
    /// Accepted and ignored (Meltano may pass it to any plugin).
    #[arg(long, value_name = "FILE", hide = true)]
    pub catalog: Option<PathBuf>,
    /// Accepted and ignored (legacy name of --catalog).
    #[arg(long, value_name = "FILE", hide = true)]
    pub properties: Option<PathBuf>,
    /// Accepted and ignored (Meltano may pass it to any plugin).
    #[arg(long, value_name = "FILE", hide = true)]
    pub state: Option<PathBuf>,
    /// Accepted and ignored.
    #[arg(long, hide = true)]
    pub discover: bool,
    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides it.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// Sets up `tracing` to stderr (never stdout: it carries Singer messages).
pub fn init_logging(args: &Args) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&args.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let _ = match args.log_format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// What a successful run did.
#[derive(Debug)]
pub enum Outcome {
    About,
    Tested(ServerInfo),
    Loaded(LoadStats),
}

/// Reads and merges the config files and the environment into a checked config.
pub fn load_config(paths: &[PathBuf]) -> Result<TargetConfig, TargetError> {
    let mut files = Vec::new();
    for path in paths {
        let error = |reason: String| TargetError::ConfigFile {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
        let value: Json = if text.trim().is_empty() {
            Json::Object(Map::new())
        } else {
            serde_json::from_str(&text).map_err(|e| error(e.to_string()))?
        };
        match value {
            Json::Object(map) => files.push(map),
            _ => return Err(error("the file is not a JSON object".into())),
        }
    }
    let merged = settings::merge(files, std::env::vars());
    Ok(TargetConfig::from_map(merged, cfg!(feature = "sim"))?)
}

/// Opens a writing session on the configured backend.
pub fn open_sink(config: &TargetConfig) -> Result<Box<dyn Sink + Send>, TargetError> {
    match &config.driver {
        #[cfg(feature = "sim")]
        Driver::Sim(path) => {
            use db_boundary::Backend as _;
            let backend = db_boundary::sim::SimBackend::open(path).map_err(TargetError::db(
                format!("opening the simulated database at {}", path.display()),
            ))?;
            backend
                .sink()
                .map_err(TargetError::db("opening a session on the simulated database"))
        }
        #[cfg(not(feature = "sim"))]
        Driver::Sim(_) => Err(TargetError::Database {
            context: "opening the simulated database".into(),
            source: DbError::Unsupported("this build has no `sim` feature".into()),
        }),
        Driver::Oracle => Err(TargetError::Database {
            context: "connecting to Oracle".into(),
            source: DbError::Unsupported(
                "the Oracle backend (oracle-backend::OracleBackend) is not available in this build yet"
                    .into(),
            ),
        }),
    }
}

/// The whole program after argument parsing. `stdout` receives `--about` output and
/// STATE messages only.
pub fn run<W: Write>(args: &Args, mut stdout: W) -> Result<Outcome, TargetError> {
    if args.about {
        let text = match args.format {
            AboutFormat::Json => {
                serde_json::to_string_pretty(&about::about_json()).unwrap_or_default() + "\n"
            }
            AboutFormat::Markdown => about::about_markdown(),
        };
        stdout
            .write_all(text.as_bytes())
            .and_then(|_| stdout.flush())
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::BrokenPipe => TargetError::StdoutClosed,
                _ => TargetError::Write(e),
            })?;
        return Ok(Outcome::About);
    }
    let config = load_config(&args.config)?;
    let mut sink = open_sink(&config)?;
    if args.test {
        let info = sink
            .server_info()
            .map_err(TargetError::db("reading the server's version"))?;
        return Ok(Outcome::Tested(info));
    }
    let input: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(BufReader::with_capacity(
            1 << 20,
            File::open(path).map_err(TargetError::Read)?,
        )),
        None => Box::new(BufReader::with_capacity(1 << 20, std::io::stdin())),
    };
    let loader = Loader::new(config, sink, stdout)?;
    loader.load(input).map(Outcome::Loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("target-oracle").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn meltano_flags_are_accepted() {
        let args = parse(&[
            "--config",
            "a.json",
            "--config",
            "b.json",
            "--state",
            "s.json",
            "--catalog",
            "c.json",
            "--properties",
            "p.json",
        ]);
        assert_eq!(
            args.config,
            [PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        let args = parse(&["--about", "--format=markdown"]);
        assert!(args.about);
        assert_eq!(args.format, AboutFormat::Markdown);
        assert!(parse(&["--check"]).test);
    }

    #[test]
    fn about_writes_json_to_the_given_stdout() {
        let mut out = Vec::new();
        let outcome = run(&parse(&["--about", "--config", "missing.json"]), &mut out).unwrap();
        assert!(matches!(outcome, Outcome::About));
        let about: Json = serde_json::from_slice(&out).unwrap();
        assert_eq!(about["name"], "target-oracle");
    }

    #[test]
    fn an_unreadable_config_is_a_config_error() {
        let err = run(&parse(&["--config", "/nonexistent/c.json"]), Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(err
            .to_string()
            .starts_with("cannot read config file /nonexistent/c.json"));
    }
}
