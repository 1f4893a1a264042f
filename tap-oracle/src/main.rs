//! The `tap-oracle` binary: parse arguments, log to stderr, run, and turn the one error
//! into one exit code (README "Exit codes"). Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use singer_cli::exit::ExitStatus;
use singer_cli::logging::{init_logging, LogOptions};
use tap_oracle::run::{run, Args, Outcome};

fn main() -> ExitCode {
    let args = Args::parse();
    init_logging(&LogOptions {
        app_name: "tap-oracle",
        level: args.singer.log_level.as_deref(),
        format: args.singer.log_format.unwrap_or_default(),
    });
    // Stdout (not its lock) because parallel streams write from several threads; the
    // MessageWriter buffers 64 KiB, so the per-write lock costs nothing measurable.
    #[allow(clippy::disallowed_methods)] // main.rs is where stdout is handed out
    let stdout = std::io::stdout();
    match run(&args, stdout) {
        Ok(Outcome::Tested(report)) => {
            tracing::info!("connection test passed");
            print_report(&report);
            ExitStatus::Success.into()
        }
        Ok(Outcome::Done) => ExitStatus::Success.into(),
        Err(error) => {
            let status = error.exit_status();
            if status == ExitStatus::PipeClosed {
                print_error("tap-oracle: stdout was closed before the run finished; the last STATE the target confirmed is where the next run resumes");
            } else {
                print_error(&format!("tap-oracle: error: {error}"));
            }
            status.into()
        }
    }
}

/// The binary's direct stderr writes (logs go through tracing): the one error line, and
/// the `--test` report a user asked for.
#[allow(clippy::print_stderr)]
fn print_error(message: &str) {
    eprintln!("{message}");
}

#[allow(clippy::print_stderr)]
fn print_report(report: &str) {
    eprint!("{report}");
}
