//! The command-line flags both binaries share, as Meltano and the Singer spec pass them.
//!
//! Every mode accepts `--config`, `--catalog`, `--properties` and `--state` and ignores
//! the ones it does not use: Meltano passes `--state` with `--discover` and stale
//! files with `--about`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum AboutFormat {
    #[default]
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Flags common to tap-oracle and target-oracle.
#[derive(Debug, Clone, Args, Default)]
pub struct SingerArgs {
    /// A JSON config file; repeat to merge several, later files win.
    #[arg(long, value_name = "FILE", action = clap::ArgAction::Append)]
    pub config: Vec<PathBuf>,
    /// The Singer catalog selecting streams and properties.
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// Legacy name of --catalog (--catalog wins when both are given).
    #[arg(long, value_name = "FILE")]
    pub properties: Option<PathBuf>,
    /// State from an earlier run.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// Print the catalog discovered from the database.
    #[arg(long)]
    pub discover: bool,
    /// Print name, version, capabilities and settings.
    #[arg(long)]
    pub about: bool,
    /// Format of --about.
    #[arg(long, value_enum, default_value_t = AboutFormat::Json)]
    pub format: AboutFormat,
    /// Connect, report the server and the privileges that matter, and exit 0 or 2.
    #[arg(long, visible_alias = "check")]
    pub test: bool,
    /// Log level (error, warn, info, debug, trace); overrides RUST_LOG.
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log format on stderr: text, or json (one object per line, Meltano's structured
    /// logging). meltano.yml sets SINGER_LOG_FORMAT=json for the plugins it declares with
    /// the `structured-logging` capability.
    #[arg(long, value_enum, env = "SINGER_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
}

impl SingerArgs {
    /// The catalog file, whichever flag named it.
    pub fn catalog_path(&self) -> Option<&PathBuf> {
        self.catalog.as_ref().or(self.properties.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        singer: SingerArgs,
    }

    fn parse(args: &[&str]) -> SingerArgs {
        Cli::try_parse_from(std::iter::once("tap").chain(args.iter().copied()))
            .unwrap()
            .singer
    }

    #[test]
    fn accepts_what_meltano_passes() {
        let a = parse(&[
            "--config",
            "a.json",
            "--config",
            "b.json",
            "--discover",
            "--state",
            "s.json",
        ]);
        assert_eq!(
            a.config,
            vec![PathBuf::from("a.json"), PathBuf::from("b.json")]
        );
        assert!(a.discover);
        let a = parse(&[
            "--about",
            "--format=json",
            "--config",
            "c.json",
            "--catalog",
            "x.json",
        ]);
        assert!(a.about && a.format == AboutFormat::Json);
        let a = parse(&["--about", "--format", "markdown"]);
        assert_eq!(a.format, AboutFormat::Markdown);
        let a = parse(&["--config", "c.json", "--properties", "p.json"]);
        assert_eq!(a.catalog_path(), Some(&PathBuf::from("p.json")));
        let a = parse(&["--catalog", "c.json", "--properties", "p.json"]);
        assert_eq!(a.catalog_path(), Some(&PathBuf::from("c.json")));
        assert!(parse(&["--check"]).test);
    }
}
