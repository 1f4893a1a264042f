//! The one place for test helpers the end-to-end and interop tests share: where the
//! built binaries, the repository and the Python peers (`.peers/`, installed by
//! `scripts/install-peers.sh`) are; a simulated database in a temp dir with the tap run
//! over it ([`SimFixture`], [`SimFixture::sync`] -> [`Messages`]); a Meltano project
//! seeded with the sample HR schema; reading the sample rows and JSON lines.
//!
//! A missing peer is a failure, never a skip: the interop tests are part of the promise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value as Json};
use sim_backend::SimBackend;

/// The repository root (this package lives in `<root>/test-support`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("test-support/ has a parent")
        .to_path_buf()
}

/// The folder of the binaries cargo built for this test run (`target/debug`): the test
/// executable is `target/debug/deps/<name>`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("deps folder");
    let dir = deps.parent().expect("target/debug").to_path_buf();
    for bin in ["tap-oracle", "target-oracle"] {
        assert!(
            dir.join(bin).is_file(),
            "{} is missing: build with `cargo test -p interop` (or --workspace --all-features)",
            dir.join(bin).display()
        );
    }
    dir
}

/// A built binary (`tap-oracle`, `target-oracle`).
pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// An executable of a Python peer's venv: `.peers/<venv>/bin/<exe>`. Panics (the test
/// fails) when it is not installed.
pub fn peer(venv: &str, exe: &str) -> PathBuf {
    let path = repo_root().join(".peers").join(venv).join("bin").join(exe);
    assert!(
        path.is_file(),
        "Python peer missing: {} does not exist; run scripts/install-peers.sh \
         (the interop tests fail without the pinned peers)",
        path.display()
    );
    path
}

/// The sample seed folder (`tests/sample`).
pub fn sample_dir() -> PathBuf {
    repo_root().join("tests/sample")
}

/// The sample rows of a stream (`HR-EMPLOYEES`), one JSON array per row, in file order.
pub fn sample_rows(stream: &str) -> Vec<Vec<Json>> {
    let path = sample_dir().join("data").join(format!("{stream}.jsonl"));
    read_json_lines(&path)
        .into_iter()
        .map(|row| match row {
            Json::Array(items) => items,
            other => panic!("{}: a row is not an array: {other}", path.display()),
        })
        .collect()
}

/// The sample column names of `OWNER.TABLE`, in COLUMN_ID order.
pub fn sample_columns(owner: &str, table: &str) -> Vec<String> {
    let text = std::fs::read_to_string(sample_dir().join("dictionary.json")).expect("dictionary");
    let dict: Json = serde_json::from_str(&text).expect("dictionary.json");
    let mut columns: Vec<(u64, String)> = dict["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["OWNER"] == owner && c["TABLE_NAME"] == table)
        .map(|c| {
            (
                c["COLUMN_ID"].as_u64().expect("COLUMN_ID"),
                c["COLUMN_NAME"].as_str().expect("COLUMN_NAME").to_owned(),
            )
        })
        .collect();
    columns.sort();
    columns.into_iter().map(|(_, name)| name).collect()
}

/// Inserts one employee into the sample's `HR.EMPLOYEES` of the simulated database at
/// `db`, updated at `updated_at` (UTC): a later time than every sample row makes it
/// new to an INCREMENTAL sync; an earlier one makes it visible to a full read only.
pub fn insert_employee(db: &Path, id: u32, updated_at: chrono::DateTime<chrono::Utc>) {
    use db_boundary::Value;
    let backend = sim_backend::SimBackend::open(db).expect("open the sim db");
    let hire = chrono::NaiveDate::from_ymd_opt(2020, 1, 2)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("date");
    let row = vec![
        Value::Number(id.into()),
        Value::Text("Added".into()),
        Value::Text(format!("Employee{id}")),
        Value::Text(format!("ADDED{id}")),
        Value::Date(hire),
        Value::number("1000.50"),
        Value::Null,
        Value::number("10"),
        Value::TimestampTz(updated_at.fixed_offset()),
    ];
    backend
        .insert_rows(
            "HR",
            "EMPLOYEES",
            &sample_columns("HR", "EMPLOYEES"),
            vec![row],
        )
        .expect("insert an employee");
}

/// The `EMPLOYEE_ID`s the stream `HR-EMPLOYEES` loaded into the target's simulated
/// database at `db` (table `SIM_USER.HR_EMPLOYEES`: the default `stream_prefix: table`
/// keeps the stream's schema in the name), sorted.
pub fn loaded_employee_ids(db: &Path) -> Vec<u64> {
    let backend = sim_backend::SimBackend::open(db).expect("open the target db");
    let names = backend
        .column_names("SIM_USER", "HR_EMPLOYEES")
        .expect("SIM_USER.HR_EMPLOYEES");
    let at = names
        .iter()
        .position(|n| n == "EMPLOYEE_ID")
        .expect("EMPLOYEE_ID column");
    let mut ids: Vec<u64> = backend
        .read_rows("SIM_USER", "HR_EMPLOYEES")
        .expect("read rows")
        .iter()
        .map(|row| match &row[at] {
            db_boundary::Value::Number(n) => n.as_str().parse().expect("an integer id"),
            other => panic!("EMPLOYEE_ID is {other:?}"),
        })
        .collect();
    ids.sort_unstable();
    ids
}

/// Every line of a JSON-lines file, parsed.
pub fn read_json_lines(path: &Path) -> Vec<Json> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    parse_json_lines(&text)
}

/// Every non-empty line of `text`, parsed as JSON.
pub fn parse_json_lines(text: &str) -> Vec<Json> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {e}: {l}")))
        .collect()
}

/// A decimal's digits without superfluous zeros (`"15038.50"` and `15038.5` both give
/// `"15038.5"`), from a JSON number or string; the number's text is kept exactly
/// (`serde_json` here has `arbitrary_precision`).
pub fn canonical_decimal(value: &Json) -> String {
    let text = match value {
        Json::Number(n) => n.to_string(),
        Json::String(s) => s.clone(),
        other => panic!("not a decimal: {other}"),
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// An ISO 8601 timestamp with an offset as the same instant in UTC, written with `Z`
/// and the given fraction (`2026-01-26T06:02:05.454710+06:00` ->
/// `2026-01-26T00:02:05.454710Z`).
pub fn utc_text(text: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("not RFC 3339: {text}: {e}"))
        .with_timezone(&chrono::Utc)
}

/// Text of a process's stdout and stderr, for failure messages.
pub fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs a command and panics with its output unless it succeeds.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}",
        describe(&output)
    );
    output
}

/// Runs a command with `input` on its stdin (written from another thread, so a command
/// that writes much before reading all cannot deadlock; a command that stops reading
/// early is fine) and answers its output, whatever its exit status.
pub fn run_with_input(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = std::io::Write::write_all(&mut stdin, &input);
    });
    let output = child.wait_with_output().expect("the command's output");
    writer.join().expect("the stdin writer");
    output
}

/// A Meltano project in a temp dir: the repository's `meltano.yml`, `scripts` and
/// `.peers` (symlinked), and the tap's simulated database seeded from `tests/sample`.
pub struct MeltanoProject {
    dir: tempfile::TempDir,
    meltano: PathBuf,
}

impl MeltanoProject {
    pub fn new() -> MeltanoProject {
        let meltano = peer("meltano", "meltano");
        peer("target-jsonl", "target-jsonl");
        let root = repo_root();
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::copy(root.join("meltano.yml"), dir.path().join("meltano.yml"))
            .expect("copy meltano.yml");
        for link in ["scripts", ".peers"] {
            std::os::unix::fs::symlink(root.join(link), dir.path().join(link))
                .expect("symlink into the project");
        }
        let project = MeltanoProject { dir, meltano };
        let backend = sim_backend::SimBackend::open(&project.tap_db()).expect("open sim-db");
        sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed the sample");
        project
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The tap's simulated database (`.meltano/sim-db`, as meltano.yml's `sim` env says).
    pub fn tap_db(&self) -> PathBuf {
        self.path().join(".meltano/sim-db")
    }

    /// The target's simulated database (`.meltano/sim-target-db`).
    pub fn target_db(&self) -> PathBuf {
        self.path().join(".meltano/sim-target-db")
    }

    /// `meltano --environment sim <args>` in the project, with the debug binaries.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = self.command_as_typed(&["--environment", "sim"]);
        command.args(args);
        command
    }

    /// `meltano <args>` as a user types it (no `--environment`), with the debug binaries.
    pub fn command_as_typed(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.meltano);
        command
            .args(args)
            .current_dir(self.path())
            .env("ORACLE_SINGER_BIN", bin_dir())
            .env("MELTANO_SEND_ANONYMOUS_USAGE_STATS", "false")
            .env_remove("RUST_LOG")
            .env_remove("MELTANO_ENVIRONMENT")
            .env_remove("MELTANO_PROJECT_ROOT");
        command
    }

    /// Runs meltano and panics with its output unless it succeeds.
    pub fn run(&self, args: &[&str]) -> Output {
        run_ok(&mut self.command(args))
    }
}

impl Default for MeltanoProject {
    fn default() -> Self {
        MeltanoProject::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[should_panic(expected = "run scripts/install-peers.sh")]
    fn a_missing_peer_fails_with_the_install_hint() {
        peer("no-such-peer", "no-such-exe");
    }

    #[test]
    fn decimals_compare_by_digits() {
        assert_eq!(canonical_decimal(&serde_json::json!("15038.50")), "15038.5");
        let n: Json = serde_json::from_str("15038.5").expect("number");
        assert_eq!(canonical_decimal(&n), "15038.5");
        assert_eq!(canonical_decimal(&serde_json::json!("100")), "100");
        assert_eq!(canonical_decimal(&serde_json::json!("20.00")), "20");
    }
}

/// Runs `tap --discover` with `config` and writes the catalog to `path`, each stream's
/// top-level metadata first handed to `edit` with the stream's id (to select it, set
/// its replication).
pub fn write_catalog(
    tap: &Path,
    config: &Path,
    path: &Path,
    mut edit: impl FnMut(&str, &mut Json),
) {
    let out = run_ok(
        Command::new(tap)
            .arg("--config")
            .arg(config)
            .arg("--discover"),
    );
    let mut catalog: Json = serde_json::from_slice(&out.stdout).expect("catalog JSON");
    for stream in catalog["streams"].as_array_mut().expect("streams") {
        let id = stream["tap_stream_id"].as_str().expect("id").to_owned();
        edit(&id, &mut stream["metadata"][0]["metadata"]);
    }
    std::fs::write(path, catalog.to_string()).expect("write the catalog");
}

/// A simulated database in a temp dir, with config and catalog files for a binary run
/// over it.
pub struct SimFixture {
    pub dir: tempfile::TempDir,
    pub backend: SimBackend,
}

impl Default for SimFixture {
    fn default() -> Self {
        SimFixture::new()
    }
}

impl SimFixture {
    pub fn new() -> SimFixture {
        let dir = tempfile::tempdir().expect("a temp dir");
        let backend = SimBackend::open(&dir.path().join("db")).expect("open the simulated db");
        SimFixture { dir, backend }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `config.json`: the simulated driver, this fixture's database, and `extra`.
    pub fn config(&self, extra: Json) -> PathBuf {
        let mut config = json!({"driver": "sim", "sim_path": self.path("db")});
        for (k, v) in extra.as_object().expect("extra settings are an object") {
            config[k] = v.clone();
        }
        let path = self.path("config.json");
        std::fs::write(&path, config.to_string()).expect("write config.json");
        path
    }

    /// Runs `tap` with `--discover`, selects every stream with per-stream metadata
    /// `overrides` (`{"APP-EVENTS": {"replication-method": "INCREMENTAL"}}`), and writes
    /// `catalog.json`.
    pub fn catalog(&self, tap: &Path, config: &Path, overrides: Json) -> PathBuf {
        let path = self.path("catalog.json");
        write_catalog(tap, config, &path, |id, meta| {
            meta["selected"] = json!(true);
            if let Some(extra) = overrides.get(id) {
                for (k, v) in extra.as_object().expect("overrides are objects") {
                    meta[k] = v.clone();
                }
            }
        });
        path
    }

    /// One successful sync of `tap` (config, catalog, optional state): its messages.
    pub fn sync(
        &self,
        tap: &Path,
        config: &Path,
        catalog: &Path,
        state: Option<&Path>,
    ) -> Messages {
        let mut command = Command::new(tap);
        command
            .arg("--config")
            .arg(config)
            .arg("--catalog")
            .arg(catalog)
            .env_remove("RUST_LOG");
        if let Some(state) = state {
            command.arg("--state").arg(state);
        }
        Messages::parse(&run_ok(&mut command).stdout)
    }
}

/// The Singer messages a tap wrote, one JSON object per line.
#[derive(Debug, Clone)]
pub struct Messages(pub Vec<Json>);

impl Messages {
    /// Panics unless every line is one JSON object.
    pub fn parse(stdout: &[u8]) -> Messages {
        let text = std::str::from_utf8(stdout).expect("stdout is UTF-8");
        Messages(
            text.lines()
                .map(|l| {
                    serde_json::from_str(l)
                        .unwrap_or_else(|e| panic!("not one JSON object per line: {e}: {l}"))
                })
                .collect(),
        )
    }

    /// The `record` of every RECORD of `stream`, in order.
    pub fn records(&self, stream: &str) -> Vec<&Json> {
        self.0
            .iter()
            .filter(|m| m["type"] == "RECORD" && m["stream"] == stream)
            .map(|m| &m["record"])
            .collect()
    }

    /// Every message of this `type`.
    pub fn of_type(&self, kind: &str) -> Vec<&Json> {
        self.0.iter().filter(|m| m["type"] == kind).collect()
    }

    /// The `value` of the last STATE.
    pub fn last_state(&self) -> &Json {
        &self.of_type("STATE").last().expect("a STATE message")["value"]
    }
}
