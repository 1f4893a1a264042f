//! End-to-end: Meltano SDK BATCH messages (a manifest of `file://` JSON Lines files, gzip
//! or not) through the real `target-oracle` binary on the simulated backend: the rows
//! equal those of the same records sent as RECORD messages, STATE waits for their
//! commit, and unusable files stop the run naming the file and its line.
//!
//! Run with `cargo test -p target-oracle --features sim --test batch`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;

struct Db {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Db {
    fn new() -> Db {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        let settings = json!({"driver": "sim", "sim_path": dir.path().join("db")});
        std::fs::write(&config, settings.to_string()).unwrap();
        Db { dir, config }
    }

    /// Rows of `SIM_USER.<table>` as column -> value maps, in key order.
    fn rows(&self, table: &str) -> Vec<BTreeMap<String, Value>> {
        let backend = SimBackend::open(&self.dir.path().join("db")).unwrap();
        let names = backend.column_names("SIM_USER", table).unwrap();
        backend
            .read_rows("SIM_USER", table)
            .unwrap()
            .into_iter()
            .map(|row| names.iter().cloned().zip(row).collect())
            .collect()
    }

    /// Runs the target over `messages`; returns (exit code, STATE values, stderr).
    fn run(&self, messages: &[Json]) -> (i32, Vec<Json>, String) {
        let input = self.dir.path().join("input.jsonl");
        let text: String = messages.iter().map(|m| format!("{m}\n")).collect();
        std::fs::write(&input, text).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_target-oracle"))
            .arg("--config")
            .arg(&self.config)
            .arg("--input")
            .arg(&input)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let states = String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                // Each confirmed state is written as the bare state value.
                let value: Json = serde_json::from_str(l).unwrap();
                assert!(
                    value.get("type").is_none(),
                    "stdout carries bare states only: {l}"
                );
                value
            })
            .collect();
        (
            output.status.code().unwrap_or(-1),
            states,
            String::from_utf8(output.stderr).unwrap(),
        )
    }
}

fn schema() -> Json {
    json!({"type": "SCHEMA", "stream": "HR-PEOPLE", "key_properties": ["id"], "schema": {
        "type": "object", "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"], "maxLength": 20},
            "amount": {"type": ["null", "number"]},
            "at": {"type": ["null", "string"], "format": "date-time"}
        }
    }})
}

fn state(n: u64) -> Json {
    json!({"type": "STATE", "value": {"bookmarks": {"HR-PEOPLE": {"n": n}}}})
}

fn batch(files: &[&Path]) -> Json {
    let manifest: Vec<String> = files
        .iter()
        .map(|p| format!("file://{}", p.display()))
        .collect();
    json!({"type": "BATCH", "stream": "HR-PEOPLE",
           "encoding": {"format": "jsonl", "compression": "gzip"}, "manifest": manifest})
}

/// Writes `lines` (one record each) to `path`, gzip-compressed when `gzip`.
fn write_file(path: &Path, lines: &[&str], gzip: bool) {
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text.as_bytes()).unwrap();
        std::fs::write(path, encoder.finish().unwrap()).unwrap();
    } else {
        std::fs::write(path, text).unwrap();
    }
}

const GZ_LINES: [&str; 3] = [
    r#"{"id": 1, "name": "Zoë", "amount": 12345678901234567890.123456789, "at": "2026-01-02T03:04:05.123456+02:00"}"#,
    r#"{"id": 2, "name": "first version", "amount": 0.1, "at": null}"#,
    r#"{"id": 2, "name": "O'Brien", "amount": -7, "at": "1999-12-31T23:59:59Z"}"#,
];
const PLAIN_LINES: [&str; 2] = [
    r#"{"id": 3, "name": null, "amount": 1e-3, "at": "2026-06-01T00:00:00-08:00"}"#,
    r#"{"id": 4, "name": "中文 \"q\"", "amount": 0}"#,
];

#[test]
fn batch_files_load_exactly_like_the_same_records_and_state_follows_their_commit() {
    let by_batch = Db::new();
    let gz = by_batch.dir.path().join("batch-1.json.gz");
    let plain = by_batch.dir.path().join("batch-2.jsonl");
    write_file(&gz, &GZ_LINES, true);
    // A blank line is skipped, as the RECORD reader skips one.
    write_file(&plain, &[PLAIN_LINES[0], "", PLAIN_LINES[1]], false);
    let (code, states, stderr) =
        by_batch.run(&[schema(), state(1), batch(&[&gz, &plain]), state(2)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(states.last(), Some(&state(2)["value"]), "{states:?}");

    let by_record = Db::new();
    let records: Vec<Json> = GZ_LINES
        .iter()
        .chain(&PLAIN_LINES)
        .map(|l| {
            let record: Json = serde_json::from_str(l).unwrap();
            json!({"type": "RECORD", "stream": "HR-PEOPLE", "record": record})
        })
        .collect();
    let mut messages = vec![schema(), state(1)];
    messages.extend(records);
    messages.push(state(2));
    let (code, _, stderr) = by_record.run(&messages);
    assert_eq!(code, 0, "{stderr}");

    let rows = by_batch.rows("HR_PEOPLE");
    assert_eq!(rows, by_record.rows("HR_PEOPLE"));
    // And the values themselves, every digit and zone, the last of a key winning.
    let ids: Vec<&Value> = rows.iter().map(|r| &r["ID"]).collect();
    let n = Value::number;
    assert_eq!(ids, [&n("1"), &n("2"), &n("3"), &n("4")]);
    assert_eq!(
        rows[0]["AMOUNT"],
        n("12345678901234567890.123456789"),
        "{rows:?}"
    );
    let Value::TimestampTz(at) = &rows[0]["AT"] else {
        panic!("{rows:?}")
    };
    assert_eq!(at.to_rfc3339(), "2026-01-02T03:04:05.123456+02:00");
    assert_eq!(rows[1]["NAME"], Value::Text("O'Brien".into()));
    assert_eq!(rows[1]["AMOUNT"], n("-7"));
    assert_eq!(rows[2]["NAME"], Value::Null);
    assert_eq!(rows[2]["AMOUNT"], n("0.001"));
    assert_eq!(rows[3]["NAME"], Value::Text("中文 \"q\"".into()));
    assert_eq!(rows[3]["AT"], Value::Null);
}

/// RECORD lines and BATCH files of one stream, their keys in other orders (the RECORDs'
/// in the schema's order, which the loader then converts by position): each reader
/// learns shapes of its own, and the loader must never take one's for the other's.
#[test]
fn records_and_batch_files_with_keys_in_other_orders_load_by_name() {
    let db = Db::new();
    let file = db.dir.path().join("batch-1.jsonl");
    write_file(
        &file,
        &[
            r#"{"name": "b1", "amount": 2.5, "id": 11, "at": null}"#,
            r#"{"name": "b2", "amount": 3.5, "id": 12, "at": null}"#,
            r#"{"name": "b3", "amount": 4.5, "id": 13, "at": null}"#,
        ],
        false,
    );
    let record = |id: u64, name: &str| {
        json!({"type": "RECORD", "stream": "HR-PEOPLE",
               "record": {"id": id, "name": name, "amount": id, "at": null}})
    };
    let (code, states, stderr) = db.run(&[
        schema(),
        record(1, "r1"),
        record(2, "r2"),
        record(3, "r3"),
        batch(&[&file]),
        record(4, "r4"),
        state(1),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(states, [state(1)["value"].clone()]);
    let rows: Vec<(Value, Value, Value)> = db
        .rows("HR_PEOPLE")
        .into_iter()
        .map(|r| (r["ID"].clone(), r["NAME"].clone(), r["AMOUNT"].clone()))
        .collect();
    let row = |id: &str, name: &str, amount: &str| {
        (
            Value::number(id),
            Value::Text(name.into()),
            Value::number(amount),
        )
    };
    assert_eq!(
        rows,
        [
            row("1", "r1", "1"),
            row("2", "r2", "2"),
            row("3", "r3", "3"),
            row("4", "r4", "4"),
            row("11", "b1", "2.5"),
            row("12", "b2", "3.5"),
            row("13", "b3", "4.5"),
        ]
    );
}

#[test]
fn a_bad_line_names_its_file_and_line_and_only_committed_state_is_confirmed() {
    let db = Db::new();
    let good = db.dir.path().join("good.json.gz");
    let bad = db.dir.path().join("bad.jsonl");
    write_file(&good, &[r#"{"id": 1, "name": "a"}"#], true);
    write_file(
        &bad,
        &[
            r#"{"id": 2, "name": "b"}"#,
            "",
            r#"{"id": 3, "name": "this name is far too long"}"#,
            r#"{"id": 4, "name": "never"}"#,
        ],
        false,
    );
    let (code, states, stderr) = db.run(&[
        schema(),
        json!({"type": "RECORD", "stream": "HR-PEOPLE", "record": {"id": 0}}),
        state(1),
        batch(&[&good, &bad]),
        state(2),
    ]);
    assert_eq!(code, 1, "{stderr}");
    let place = format!(
        "line 4: stream \"HR-PEOPLE\": batch file file://{}, line 3: field \"name\"",
        bad.display()
    );
    assert!(stderr.contains(&place), "{place} not in: {stderr}");
    assert!(
        !stderr.contains("far too long"),
        "values never leak: {stderr}"
    );
    // As with any fatal input error: what precedes the last complete STATE is
    // committed and that STATE confirmed; the BATCH's rows after it are not (a rerun
    // from that STATE sends them again), and the STATE after the BATCH never comes.
    assert_eq!(states, [state(1)["value"].clone()]);
    let ids: Vec<Value> = db
        .rows("HR_PEOPLE")
        .iter()
        .map(|r| r["ID"].clone())
        .collect();
    assert_eq!(ids, [Value::number("0")]);
}

#[test]
fn unusable_manifests_stop_the_run_with_the_reason_and_confirm_nothing_after() {
    let db = Db::new();
    let dir = db.dir.path();
    let truncated = dir.join("truncated.json.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for id in 0..2000 {
        writeln!(gz, "{{\"id\": {id}, \"name\": \"n{id}\"}}").unwrap();
    }
    let bytes = gz.finish().unwrap();
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let not_object = dir.join("array.jsonl");
    write_file(&not_object, &["[1, 2]"], false);
    let missing = dir.join("missing.jsonl");

    let file_url = |p: &Path| format!("file://{}", p.display());
    let cases: [(Json, String); 5] = [
        (
            batch(&[&truncated]),
            format!("batch file {}, line ", file_url(&truncated)),
        ),
        (
            batch(&[&not_object]),
            format!(
                "batch file {}, line 1: the line is not a JSON object",
                file_url(&not_object)
            ),
        ),
        (
            batch(&[&missing]),
            format!(
                "batch file {}, line 0: cannot be opened",
                file_url(&missing)
            ),
        ),
        (
            json!({"type": "BATCH", "stream": "HR-PEOPLE",
                   "encoding": {"format": "jsonl", "compression": "gzip"},
                   "manifest": ["s3://bucket/batch-1.json.gz"]}),
            "batch file s3://bucket/batch-1.json.gz, line 0: storage s3:// is not supported"
                .to_owned(),
        ),
        (
            json!({"type": "BATCH", "stream": "HR-PEOPLE",
                   "encoding": {"format": "parquet", "compression": "gzip"},
                   "manifest": [file_url(&not_object)]}),
            "format \"parquet\" is not supported".to_owned(),
        ),
    ];
    for (message, expected) in cases {
        let (code, states, stderr) = db.run(&[schema(), state(1), message.clone(), state(2)]);
        assert_eq!(code, 1, "{message}: {stderr}");
        assert!(stderr.contains(&expected), "{expected} not in: {stderr}");
        assert!(
            !states.contains(&state(2)["value"]),
            "{message}: STATE after an unloaded BATCH confirmed: {states:?}"
        );
    }
}
