//! What the tap benchmarks share: a discarding sink that counts bytes, peak RSS, and a
//! config plus catalog (every stream selected) for a simulated database.

use std::io::Write;
use std::path::PathBuf;

use clap::Parser;
use serde_json::Value as Json;
use tap_oracle::run::{run, Args};

/// Counts the bytes written and drops them, like `> /dev/null` without the syscalls.
pub struct CountingSink(pub u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Peak resident set size of this process in MiB (Linux `VmHWM`), if readable.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A benchmark's files: its config (`extra` settings over the simulated database's),
/// its catalog with every stream selected, and the rows the dictionary says it holds.
pub struct Prepared {
    pub work: PathBuf,
    pub config: String,
    pub catalog: String,
    pub rows: u64,
}

impl Prepared {
    pub fn new(sim_dir: &str, extra: Json) -> Result<Prepared, Box<dyn std::error::Error>> {
        let work = std::env::temp_dir().join(format!("bench_tap-{}", std::process::id()));
        std::fs::create_dir_all(&work)?;
        let mut settings = serde_json::json!({"driver": "sim", "sim_path": sim_dir, "progress_interval_seconds": 3600});
        for (k, v) in extra.as_object().into_iter().flatten() {
            settings[k] = v.clone();
        }
        let config = work.join("config.json");
        std::fs::write(&config, settings.to_string())?;
        let config = config.to_str().ok_or("temp dir is not UTF-8")?.to_owned();
        let mut discovered = Vec::new();
        run(
            &Args::parse_from(["tap-oracle", "--config", &config, "--discover"]),
            &mut discovered,
        )?;
        let mut catalog: Json = serde_json::from_slice(&discovered)?;
        for stream in catalog["streams"].as_array_mut().ok_or("no streams")? {
            stream["metadata"][0]["metadata"]["selected"] = Json::Bool(true);
        }
        let rows = catalog["streams"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["metadata"][0]["metadata"]["row-count"].as_u64())
            .sum();
        let catalog_path = work.join("catalog.json");
        std::fs::write(&catalog_path, catalog.to_string())?;
        let catalog = catalog_path
            .to_str()
            .ok_or("temp dir is not UTF-8")?
            .to_owned();
        Ok(Prepared {
            work,
            config,
            catalog,
            rows,
        })
    }

    /// The sync's command line.
    pub fn sync_args(&self) -> Args {
        Args::parse_from([
            "tap-oracle",
            "--config",
            &self.config,
            "--catalog",
            &self.catalog,
        ])
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// `--pipeline on|off|auto` from the arguments after the first (default `auto`).
pub fn pipeline_arg(args: &[String]) -> Result<String, String> {
    match args.iter().position(|a| a == "--pipeline") {
        None => Ok("auto".into()),
        Some(i) => match args.get(i + 1).map(String::as_str) {
            Some(word @ ("on" | "off" | "auto")) => Ok(word.into()),
            _ => Err("--pipeline takes on, off or auto".into()),
        },
    }
}

/// The report lines every tap benchmark prints.
#[allow(clippy::print_stdout)] // a benchmark's report is its output
pub fn report(rows: u64, bytes: u64, seconds: f64) {
    println!("records={rows}");
    println!("seconds={seconds:.2}");
    println!("records_per_second={:.0}", rows as f64 / seconds);
    println!(
        "megabytes_per_second={:.1}",
        bytes as f64 / seconds / 1_000_000.0
    );
    if let Some(rss) = peak_rss_mib() {
        println!("peak_rss_mib={rss:.1}");
    }
}
