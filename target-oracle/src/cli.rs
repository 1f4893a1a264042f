//! The command line (every flag Meltano passes), logging set-up, and [`run`]: config
//! -> backend -> loader over stdin or `--input`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use singer_cli::cli::{AboutFormat, SingerArgs};
use singer_cli::logging::LogOptions;

use db_boundary::{CheckReport, SessionRole, Sink};

use crate::about;
use crate::error::TargetError;
use crate::input::IdleAwareInput;
use crate::loader::{LoadStats, Loader};
use crate::settings::{Driver, TargetConfig};

/// `target-oracle --config c.json [--input FILE] | --about | --test`.
// The tap-only flags (`--catalog`, `--properties`, `--state`, `--discover`) are
// accepted and ignored, as some runners pass them to every plugin, but hidden from
// `--help`: they do nothing here.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "target-oracle",
    bin_name = "target-oracle",
    version,
    about,
    mut_arg("catalog", |a| a.hide(true)),
    mut_arg("properties", |a| a.hide(true)),
    mut_arg("state", |a| a.hide(true)),
    mut_arg("discover", |a| a.hide(true))
)]
pub struct Args {
    /// The flags every Singer plugin accepts (`--config`, `--about`, `--test`,
    /// logging; the hidden tap-only flags are ignored).
    #[command(flatten)]
    pub singer: SingerArgs,
    /// Read Singer messages from FILE instead of stdin.
    #[arg(long, value_name = "FILE")]
    pub input: Option<PathBuf>,
}

/// Sets up `tracing` to stderr (never stdout: it carries Singer messages).
pub fn init_logging(args: &Args) {
    singer_cli::logging::init_logging(&LogOptions {
        app_name: "target-oracle",
        level: args.singer.log_level.as_deref(),
        format: args.singer.log_format.unwrap_or_default(),
    });
}

/// What a successful run did.
#[derive(Debug)]
pub enum Outcome {
    About,
    Tested(Box<CheckReport>),
    Loaded(LoadStats),
}

/// Reads and merges the config files and the environment into a checked config.
pub fn load_config(paths: &[PathBuf]) -> Result<TargetConfig, TargetError> {
    Ok(TargetConfig::load(
        paths,
        std::env::vars(),
        cfg!(feature = "sim"),
    )?)
}

/// What a failure to open the backend was doing, for its error line.
fn connecting(config: &TargetConfig) -> String {
    match &config.driver {
        Driver::Oracle => "connecting to Oracle".to_owned(),
        Driver::Sim(path) => format!("opening the simulated database at {}", path.display()),
    }
}

/// Opens a writing session on the configured backend.
pub fn open_sink(config: &TargetConfig) -> Result<Box<dyn Sink + Send>, TargetError> {
    let backend = db_connect::open_backend(config.raw.as_map(), SessionRole::Target)
        .map_err(TargetError::db(connecting(config)))?;
    backend
        .sink()
        .map_err(TargetError::db("opening a session on the database"))
}

/// The whole program after argument parsing. `stdout` receives `--about` output and
/// STATE messages only.
pub fn run<W: Write>(args: &Args, mut stdout: W) -> Result<Outcome, TargetError> {
    if args.singer.about {
        let text = match args.singer.format {
            AboutFormat::Json => {
                serde_json::to_string_pretty(&about::about().to_json()).unwrap_or_default() + "\n"
            }
            AboutFormat::Markdown => about::about().to_markdown(),
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
    let config = load_config(&args.singer.config)?;
    if args.singer.test {
        let report = db_connect::check_connection(config.raw.as_map(), SessionRole::Target)
            .map_err(TargetError::db(connecting(&config)))?;
        return Ok(Outcome::Tested(Box::new(report)));
    }
    let sink = open_sink(&config)?;
    // Wake up at least this often when the tap is quiet, to honour the age limits.
    let tick = Duration::from_secs_f64(
        (config
            .batch_wait_limit_seconds
            .min(config.max_state_lag_seconds)
            / 4.0)
            .clamp(0.05, 5.0),
    );
    let source: Box<dyn Read + Send> = match &args.input {
        Some(path) => Box::new(File::open(path).map_err(TargetError::Read)?),
        None => Box::new(std::io::stdin()),
    };
    let input = IdleAwareInput::spawn(source, tick, config.max_line_bytes);
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
            args.singer.config,
            [PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        let args = parse(&["--about", "--format=markdown", "--input", "x.jsonl"]);
        assert!(args.singer.about);
        assert_eq!(args.singer.format, AboutFormat::Markdown);
        assert_eq!(args.input, Some(PathBuf::from("x.jsonl")));
        assert!(parse(&["--check"]).singer.test);
    }

    #[test]
    fn about_writes_json_to_the_given_stdout() {
        let mut out = Vec::new();
        let outcome = run(&parse(&["--about", "--config", "missing.json"]), &mut out).unwrap();
        assert!(matches!(outcome, Outcome::About));
        let about: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(about["name"], "target-oracle");
    }

    #[test]
    fn an_unreadable_config_is_a_config_error() {
        let err = run(&parse(&["--config", "/nonexistent/c.json"]), Vec::new()).unwrap_err();
        assert_eq!(err.exit_code(), 1);
        assert!(
            err.to_string().contains("/nonexistent/c.json: cannot read"),
            "{err}"
        );
    }
}
