//! The `target-oracle` binary: parse arguments, log to stderr, run, and turn the one
//! error into one exit code (0 ok, 1 bad config or input, 2 database, 3 stdout closed,
//! 70 internal). Everything else lives in the library.

use std::process::ExitCode;

use clap::Parser;
use target_oracle::cli::{self, Args, Outcome};

/// The loader allocates a few small values per field (row values own their text);
/// mimalloc makes that about a fifth cheaper than glibc malloc (bench/target.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = Args::parse();
    cli::init_logging(&args);
    // main.rs is the one place that may hand stdout to the library (clippy.toml).
    #[allow(clippy::disallowed_methods)]
    let stdout = std::io::stdout();
    match cli::run(&args, stdout.lock()) {
        Ok(Outcome::Tested(check)) => {
            report(&format!("connected: {}", check.to_string().trim_end()));
            ExitCode::SUCCESS
        }
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            // Every variant's message already carries its cause, so it is printed once.
            report(&format!("target-oracle: error: {error}"));
            ExitCode::from(error.exit_status())
        }
    }
}

/// The binary's one place that writes to stderr directly (logs go through tracing).
#[allow(clippy::print_stderr)]
fn report(message: &str) {
    eprintln!("{message}");
}
