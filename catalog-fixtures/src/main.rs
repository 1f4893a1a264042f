//! `catalog-fixtures render <dir> [--config cfg.json]`: prints the catalog that
//! `tap-oracle --discover` would print for a database whose dictionary returned the
//! fixture's rows. A developer tool, not a Singer binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, config) = match args.as_slice() {
        [cmd, dir] if cmd == "render" => (PathBuf::from(dir), None),
        [cmd, dir, flag, cfg] if cmd == "render" && flag == "--config" => {
            (PathBuf::from(dir), Some(PathBuf::from(cfg)))
        }
        _ => return fail("usage: catalog-fixtures render <dir> [--config cfg.json]"),
    };
    match catalog_fixtures::render_dir(&dir, config.as_deref()) {
        Ok(output) => {
            #[allow(clippy::disallowed_methods)] // this tool's output is the catalog
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let text = serde_json::to_string_pretty(&output.catalog).unwrap_or_default();
            if writeln!(out, "{text}").is_err() {
                return ExitCode::from(3);
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(&format!("catalog-fixtures: {e:#}")),
    }
}

#[allow(clippy::print_stderr)]
fn fail(message: &str) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(1)
}
