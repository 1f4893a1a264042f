//! Shared helpers of the end-to-end tests that run the real `target-oracle` binary over
//! the simulated backend: a scratch database with its config, runs over a file or a
//! pipe, the STATE values written to stdout, and rows read back.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;

use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;

/// The simulated backend's session user: tables without a schema land here.
pub const OWNER: &str = "SIM_USER";

/// A scratch simulated database and a config file pointing at it.
pub struct Db {
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// What one run of the binary left: exit code, stdout and stderr.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The STATE values written to stdout, in order.
    pub fn states(&self) -> Vec<Json> {
        states(&self.stdout)
    }
}

impl Db {
    pub fn new(settings: Json) -> Db {
        let dir = tempfile::tempdir().unwrap();
        let db = Db {
            config: dir.path().join("config.json"),
            dir,
        };
        db.configure(settings);
        db
    }

    /// Rewrites the config with `settings` (plus the simulated backend's own).
    pub fn configure(&self, settings: Json) {
        let mut config = settings.as_object().cloned().unwrap_or_default();
        config.insert("driver".into(), json!("sim"));
        config.insert(
            "sim_path".into(),
            json!(self.dir.path().join("db").display().to_string()),
        );
        std::fs::write(&self.config, Json::Object(config).to_string()).unwrap();
    }

    pub fn backend(&self) -> SimBackend {
        SimBackend::open(&self.dir.path().join("db")).unwrap()
    }

    /// Rows of `owner.table` as column -> value maps, in the backend's order.
    pub fn rows_in(&self, owner: &str, table: &str) -> Vec<BTreeMap<String, Value>> {
        let backend = self.backend();
        let names = backend.column_names(owner, table).unwrap();
        backend
            .read_rows(owner, table)
            .unwrap()
            .into_iter()
            .map(|row| names.iter().cloned().zip(row).collect())
            .collect()
    }

    /// Rows of a table of the session user.
    pub fn rows(&self, table: &str) -> Vec<BTreeMap<String, Value>> {
        self.rows_in(OWNER, table)
    }

    /// Whether `owner.table` exists.
    pub fn has_table(&self, owner: &str, table: &str) -> bool {
        self.backend().column_names(owner, table).is_ok()
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_target-oracle"));
        // Relative outputs (the reject file) land in the scratch folder, not the tree.
        command
            .current_dir(self.dir.path())
            .arg("--config")
            .arg(&self.config)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1");
        for (key, _) in std::env::vars() {
            if key.starts_with("TARGET_ORACLE_") {
                command.env_remove(key);
            }
        }
        command
    }

    /// Runs the target with `input` on its stdin (a pipe, as a tap feeds it).
    pub fn run_bytes(&self, input: &[u8]) -> Run {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let owned = input.to_vec();
        let writer = std::thread::spawn(move || {
            use std::io::Write;
            // The target may stop reading early (an error): a broken pipe is expected.
            let _ = stdin.write_all(&owned);
        });
        let output = child.wait_with_output().unwrap();
        writer.join().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    pub fn run(&self, input: &str) -> Run {
        self.run_bytes(input.as_bytes())
    }

    /// Runs the target over `input` given as a file (`--input`).
    pub fn run_file(&self, input: &str) -> Run {
        let file = self.dir.path().join("input.jsonl");
        std::fs::write(&file, input).unwrap();
        let output = self.command().arg("--input").arg(&file).output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    /// Starts the target with stdin and stdout piped (stderr dropped), and a thread
    /// reading the state values it prints.
    pub fn spawn_piped(&self) -> (Child, Receiver<Json>) {
        let mut child = self
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let states = spawn_state_reader(child.stdout.take().unwrap());
        (child, states)
    }
}

/// One JSON message per line.
pub fn lines(messages: &[Json]) -> String {
    messages.iter().map(|m| format!("{m}\n")).collect()
}

/// The state values on the target's stdout: each line is a bare state value (what
/// Meltano stores verbatim), never a wrapped `{"type":"STATE",...}` message.
pub fn states(stdout: &str) -> Vec<Json> {
    stdout.lines().map(state_line).collect()
}

/// One stdout line as a state value, asserting it is bare.
pub fn state_line(line: &str) -> Json {
    let value: Json = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert!(
        value.get("type").is_none() && value.get("value").is_none(),
        "stdout carries bare state values only: {line}"
    );
    value
}

/// Reads STATE values from a running target's stdout in a thread.
pub fn spawn_state_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<Json> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sender.send(state_line(&line)).is_err() {
                break;
            }
        }
    });
    receiver
}

pub fn num(text: &str) -> Value {
    Value::number(text)
}

pub fn text(t: &str) -> Value {
    Value::Text(t.into())
}

/// A SCHEMA with an integer key `id` and a short string `v`.
pub fn schema(stream: &str, keys: &[&str]) -> Json {
    json!({"type": "SCHEMA", "stream": stream, "key_properties": keys, "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "v": {"type": ["null", "string"], "maxLength": 10}
    }}})
}

pub fn record(stream: &str, id: i64, v: &str) -> Json {
    json!({"type": "RECORD", "stream": stream, "record": {"id": id, "v": v}})
}

pub fn state(value: Json) -> Json {
    json!({"type": "STATE", "value": value})
}
