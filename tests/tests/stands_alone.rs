//! The repository stands alone (issue 12 item 10): no file reads or mentions a folder
//! outside it (a sibling `shared` folder, the workplace's own paths), every file the benchmark
//! scripts run is in `bench/`, and the benchmark data generator writes a stream that
//! target-oracle loads whole.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use test_support::{bin, describe, repo_root};

/// Folders that are not the repository's own text: build output, peers, caches.
const SKIP: &[&str] = &[
    "target",
    ".git",
    ".peers",
    ".bench",
    "dist",
    ".meltano",
    "output",
    "__pycache__",
];

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if SKIP.contains(&name.as_str()) || path.is_symlink() {
            continue;
        }
        if path.is_dir() {
            files(&path, out);
        } else if path.is_file() {
            out.push(path);
        }
    }
}

#[test]
fn no_file_reads_or_mentions_a_folder_outside_the_repository() {
    let mut all = Vec::new();
    files(&repo_root(), &mut all);
    assert!(all.len() > 100, "{} files", all.len());
    // Spelled in pieces so this file does not match itself.
    let outside = [
        format!("../{}", "shared"),
        format!("{}/bench", "shared"),
        format!("/{}/", "work"),
        format!("{}/NOTES", "shared"),
    ];
    let mut found = Vec::new();
    for path in &all {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // binary
        };
        for needle in &outside {
            for (n, line) in text.lines().enumerate() {
                if line.contains(needle.as_str()) {
                    found.push(format!("{}:{}: {line}", path.display(), n + 1));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "outside references:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_file_the_benchmark_scripts_run_is_in_bench() {
    let bench = repo_root().join("bench");
    for script in ["protocol.sh", "tap.sh", "target.sh"] {
        let text = std::fs::read_to_string(bench.join(script)).unwrap();
        let mut named = 0;
        for word in text.split(|c: char| c.is_whitespace() || c == '"' || c == '\'') {
            if let Some(file) = word.strip_prefix("$root/bench/") {
                assert!(
                    bench.join(file).is_file(),
                    "{script} runs a missing bench/{file}"
                );
                named += 1;
            }
        }
        if script != "tap.sh" {
            assert!(text.contains("$root/bench/gen_orders.py"), "{script}");
        }
        assert!(named >= 1, "{script} runs nothing of bench/");
    }
    let compiled = Command::new("python3")
        .args(["-m", "py_compile", "gen_orders.py", "tap_peer.py"])
        .current_dir(&bench)
        .env(
            "PYTHONPYCACHEPREFIX",
            std::env::temp_dir().join("h12-pycache"),
        )
        .output()
        .unwrap();
    assert!(compiled.status.success(), "{}", describe(&compiled));
}

#[test]
fn the_generated_benchmark_stream_loads_whole_into_target_oracle() {
    let dir = tempfile::tempdir().unwrap();
    let stream = dir.path().join("orders.jsonl");
    let generated = Command::new("python3")
        .arg(repo_root().join("bench/gen_orders.py"))
        .args(["-n", "2500"])
        .arg(&stream)
        .output()
        .unwrap();
    assert!(generated.status.success(), "{}", describe(&generated));
    let text = std::fs::read_to_string(&stream).unwrap();
    let lines: Vec<serde_json::Value> = test_support::parse_json_lines(&text);
    assert_eq!(lines.len(), 1 + 2500 + 1, "SCHEMA, records, final STATE");
    let config = dir.path().join("target.json");
    std::fs::write(
        &config,
        serde_json::json!({"driver": "sim", "sim_path": dir.path().join("db")}).to_string(),
    )
    .unwrap();
    let out = Command::new(bin("target-oracle"))
        .arg("--config")
        .arg(&config)
        .arg("--input")
        .arg(&stream)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", describe(&out));
    let backend = sim_backend::SimBackend::open(&dir.path().join("db")).unwrap();
    assert_eq!(backend.row_count("SIM_USER", "ORDERS").unwrap(), 2500);
    // The same seed writes the same bytes.
    let again = Command::new("python3")
        .arg(repo_root().join("bench/gen_orders.py"))
        .args(["-n", "2500", "-"])
        .output()
        .unwrap();
    assert_eq!(again.stdout, text.as_bytes());
}
