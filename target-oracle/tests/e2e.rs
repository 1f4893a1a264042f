//! End-to-end: real Singer files piped into the real `target-oracle` binary against the
//! simulated backend, with the stored rows checked value by value; and the
//! kill-and-resume test (SIGKILL at many points, restart from the last emitted STATE,
//! the table ends with exactly the source's rows).
//!
//! Run with `cargo test -p target-oracle --features sim`.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::DateTime;
use db_boundary::{Backend, Value};
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use singer_core::decimal::Decimal;

mod common;
use common::{lines, num, states, text, Db, Run, OWNER};

#[test]
fn creates_the_table_and_stores_every_value_exactly() {
    let db = Db::new(json!({}));
    let input = concat!(
        r#"{"type":"SCHEMA","stream":"HR-ORDERS","key_properties":["ID"],"schema":{"type":"object","properties":{"ID":{"type":"integer"},"BIG":{"type":["null","integer"]},"AMOUNT":{"type":["null","number"],"multipleOf":0.01},"AT":{"type":["null","string"],"format":"date-time"},"DAY":{"type":["null","string"],"format":"date"},"NAME":{"type":["null","string"],"maxLength":20},"PRICE":{"type":["null","string"],"format":"x-singer.decimal","precision":12,"scale":4},"OK":{"type":["null","boolean"]},"TAGS":{"type":["null","array"],"items":{"type":"string"}}}}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"HR-ORDERS","record":{"ID":1,"BIG":12345678901234567890123456789012345678,"AMOUNT":0.07,"AT":"2024-02-29T23:59:59.123456-08:00","DAY":"2024-03-01","NAME":"Zoë \"Q\"","PRICE":"12345678.1234","OK":true,"TAGS":["a","b"]}}"#,
        "\n",
        r#"{"type":"RECORD","stream":"HR-ORDERS","record":{"ID":2,"BIG":null,"AMOUNT":-1234567.89,"AT":"2024-01-01T00:00:00Z","NAME":null,"OK":false}}"#,
        "\n",
        r#"{"type":"STATE","value":{"bookmarks":{"HR-ORDERS":{"ID":2}}}}"#,
        "\n",
    );
    let Run {
        code,
        stdout,
        stderr,
    } = db.run_file(input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        states(&stdout),
        [json!({"bookmarks": {"HR-ORDERS": {"ID": 2}}})]
    );
    let rows = db.rows("HR_ORDERS");
    assert_eq!(rows.len(), 2);
    let first = &rows[0];
    assert_eq!(first["ID"], num("1"));
    assert_eq!(first["BIG"], num("12345678901234567890123456789012345678"));
    assert_eq!(first["AMOUNT"], num("0.07"));
    let Value::TimestampTz(at) = &first["AT"] else {
        panic!("AT is {:?}", first["AT"])
    };
    assert_eq!(at.to_rfc3339(), "2024-02-29T23:59:59.123456-08:00");
    assert_eq!(
        first["DAY"],
        Value::Date(
            chrono::NaiveDate::from_ymd_opt(2024, 3, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
        )
    );
    assert_eq!(first["NAME"], text("Zoë \"Q\""));
    assert_eq!(first["PRICE"], num("12345678.1234"));
    assert_eq!(first["OK"], Value::Boolean(true));
    assert_eq!(first["TAGS"], Value::Json(r#"["a","b"]"#.into()));
    let second = &rows[1];
    assert_eq!(second["AMOUNT"], num("-1234567.89"));
    assert_eq!(
        second["AT"],
        Value::TimestampTz(DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z").unwrap())
    );
    assert_eq!(second["NAME"], Value::Null);
    assert_eq!(second["DAY"], Value::Null);
    assert_eq!(second["OK"], Value::Boolean(false));
}

fn simple_schema(stream: &str) -> Json {
    json!({"type": "SCHEMA", "stream": stream, "key_properties": ["id"], "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "v": {"type": ["null", "string"], "maxLength": 10}
    }}})
}

fn record(stream: &str, id: i64, v: &str) -> Json {
    json!({"type": "RECORD", "stream": stream, "record": {"id": id, "v": v}})
}

#[test]
fn upsert_with_duplicate_keys_in_one_batch_keeps_the_last() {
    let db = Db::new(json!({}));
    let input = lines(&[
        simple_schema("S"),
        record("S", 1, "one"),
        record("S", 2, "two"),
        record("S", 1, "uno"),
        record("S", 1, "eins"),
    ]);
    let Run { code, stderr, .. } = db.run_file(&input);
    assert_eq!(code, 0, "{stderr}");
    // A second run updates existing keys instead of failing or duplicating.
    let Run { code, stderr, .. } = db.run_file(&lines(&[
        simple_schema("S"),
        record("S", 2, "deux"),
        record("S", 3, "trois"),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let rows: Vec<(Value, Value)> = db
        .rows("S")
        .into_iter()
        .map(|r| (r["ID"].clone(), r["V"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (num("1"), text("eins")),
            (num("2"), text("deux")),
            (num("3"), text("trois"))
        ]
    );
}

#[test]
fn schema_evolution_adds_and_widens_columns() {
    let db = Db::new(json!({}));
    let Run { code, stderr, .. } =
        db.run_file(&lines(&[simple_schema("S"), record("S", 1, "short")]));
    assert_eq!(code, 0, "{stderr}");
    let evolved = json!({"type": "SCHEMA", "stream": "S", "key_properties": ["id"], "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "v": {"type": ["null", "string"], "maxLength": 5000},
        "n": {"type": ["null", "number"]}
    }}});
    let long = "x".repeat(4500);
    let Run { code, stderr, .. } = db.run_file(&lines(&[
        evolved,
        json!({"type": "RECORD", "stream": "S", "record": {"id": 2, "v": long, "n": 2.5}}),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let backend = db.backend();
    assert_eq!(backend.column_names(OWNER, "S").unwrap(), ["ID", "V", "N"]);
    let rows = db.rows("S");
    assert_eq!(rows[0]["V"], text("short"), "kept through VARCHAR2 -> CLOB");
    assert_eq!(rows[0]["N"], Value::Null);
    assert_eq!(rows[1]["V"], Value::Text(long));
    assert_eq!(rows[1]["N"], num("2.5"));
}

/// Issue 11 item 4: on a 19c database a run stores booleans as NUMBER(1) with a CHECK
/// and objects as CLOB with IS JSON; the next run must find those columns by their
/// checks (not take them for a plain number and text) and keep loading JSON booleans
/// and objects.
#[test]
fn booleans_and_objects_load_into_a_19c_table_on_a_second_run() {
    let db = Db::new(json!({}));
    let options = sim_backend::SimOptions {
        major_version: 19,
        max_identifier_bytes: 128,
        compatible: Some("19.0.0".into()),
        ..sim_backend::SimOptions::default()
    };
    SimBackend::open_with(&db.dir.path().join("db"), options).unwrap();
    let schema = json!({"type": "SCHEMA", "stream": "S", "key_properties": ["id"], "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "ok": {"type": ["null", "boolean"]},
        "doc": {"type": ["null", "object"]}
    }}});
    let record = |id: i64, ok: bool| json!({"type": "RECORD", "stream": "S", "record": {"id": id, "ok": ok, "doc": {"a": ok}}});
    for (id, ok) in [(1, true), (2, false)] {
        let Run { code, stderr, .. } = db.run_file(&lines(&[schema.clone(), record(id, ok)]));
        assert_eq!(code, 0, "run {id}: {stderr}");
        assert!(
            !stderr.contains("ALTER"),
            "no schema change on run {id}: {stderr}"
        );
    }
    let rows = db.rows("S");
    assert_eq!((&rows[0]["OK"], &rows[1]["OK"]), (&num("1"), &num("0")));
    assert_eq!(rows[1]["DOC"], text("{\"a\":false}"));
    let backend = db.backend();
    let def = backend
        .sink()
        .unwrap()
        .describe_table(&db_boundary::TableName {
            schema: None,
            name: "S".into(),
        })
        .unwrap()
        .unwrap();
    let types: Vec<String> = def
        .columns
        .iter()
        .map(|c| c.data_type.to_string())
        .collect();
    assert_eq!(types, ["NUMBER(38)", "NUMBER(1)", "CLOB"]);
}

#[test]
fn activate_version_removes_rows_of_older_versions_only() {
    let db = Db::new(json!({"hard_delete": true}));
    let versioned = |id: i64, version: i64| json!({"type": "RECORD", "stream": "S", "version": version, "record": {"id": id, "v": "x"}});
    let activate =
        |version: i64| json!({"type": "ACTIVATE_VERSION", "stream": "S", "version": version});
    let Run { code, stderr, .. } = db.run_file(&lines(&[
        simple_schema("S"),
        activate(100),
        versioned(1, 100),
        versioned(2, 100),
        versioned(3, 100),
        activate(100),
    ]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(db.rows("S").len(), 3);
    let Run { code, stderr, .. } = db.run_file(&lines(&[
        simple_schema("S"),
        activate(200),
        versioned(2, 200),
        activate(200),
    ]));
    assert_eq!(code, 0, "{stderr}");
    let rows = db.rows("S");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["ID"], num("2"));
    assert_eq!(rows[0]["_SDC_TABLE_VERSION"], num("200"));
}

#[test]
fn a_bad_record_stops_the_run_naming_line_stream_field_and_reason() {
    let db = Db::new(json!({}));
    let input = lines(&[
        simple_schema("S"),
        record("S", 1, "fine"),
        json!({"type": "STATE", "value": {"at": 1}}),
        json!({"type": "RECORD", "stream": "S", "record": {"id": "not a number", "v": "x"}}),
        record("S", 3, "never"),
    ]);
    let Run {
        code,
        stdout,
        stderr,
    } = db.run_file(&input);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("line 4: stream \"S\": field \"id\""),
        "{stderr}"
    );
    assert!(
        !stderr.contains("not a number"),
        "values never leak: {stderr}"
    );
    // What came before it is committed and its STATE emitted.
    assert_eq!(states(&stdout), [json!({"at": 1})]);
    assert_eq!(db.rows("S").len(), 1);
}

#[test]
fn bad_config_and_missing_sim_path_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    let cases = [
        (
            r#"{"driver": "sim", "sim_path": "db", "batch_size_rows": -3}"#,
            "batch_size_rows: must be an integer from 1 to 10000000",
        ),
        (
            r#"{"driver": "sim", "sim_path": "db", "batch_wait_limit_seconds": 4294967296}"#,
            "batch_wait_limit_seconds: must be an integer from 0 to 86400",
        ),
        (r#"{"driver": "sim"}"#, "sim_path: required"),
    ];
    for (text, problem) in cases {
        std::fs::write(&config, text).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_target-oracle"))
            .arg("--config")
            .arg(&config)
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{text}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains(problem), "{text}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    assert!(!dir.path().join("db").exists(), "nothing opened");
}

#[test]
fn test_mode_connects_and_reports_the_server() {
    let db = Db::new(json!({}));
    let output = db.command().arg("--test").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("connected:"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn state_is_emitted_after_commit_and_before_the_end_of_input() {
    let db = Db::new(json!({"batch_size_rows": 3}));
    let (mut child, states) = db.spawn_piped();
    let mut stdin = child.stdin.take().unwrap();
    let first = lines(&[
        simple_schema("S"),
        record("S", 1, "a"),
        record("S", 2, "b"),
        json!({"type": "STATE", "value": {"n": 2}}),
        record("S", 3, "c"),
    ]);
    stdin.write_all(first.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // The third record fills the batch: commit, then STATE 2 while stdin is still open.
    let state = states.recv_timeout(Duration::from_secs(20)).unwrap();
    assert_eq!(state, json!({"n": 2}));
    assert_eq!(
        db.rows("S").len(),
        3,
        "the rows are committed when the STATE appears"
    );
    stdin
        .write_all(
            lines(&[
                record("S", 4, "d"),
                json!({"type": "STATE", "value": {"n": 4}}),
            ])
            .as_bytes(),
        )
        .unwrap();
    // Record 4 is buffered: STATE 4 must wait.
    assert!(states.recv_timeout(Duration::from_millis(500)).is_err());
    drop(stdin);
    assert_eq!(
        states.recv_timeout(Duration::from_secs(20)).unwrap(),
        json!({"n": 4})
    );
    assert!(child.wait().unwrap().success());
    assert_eq!(db.rows("S").len(), 4);
}

/// The source: `count` records over `keys` keys (later records update earlier ones),
/// with a STATE after every `every` records naming the message index to resume after.
fn source_messages(count: usize, keys: usize, every: usize) -> (Json, Vec<Json>) {
    let schema = json!({"type": "SCHEMA", "stream": "SRC", "key_properties": ["id"], "schema": {
    "type": "object", "properties": {
        "id": {"type": "integer"},
        "amount": {"type": ["null", "number"], "multipleOf": 0.01},
        "at": {"type": ["null", "string"], "format": "date-time"},
        "seq": {"type": "integer"}
    }}});
    let mut messages = Vec::new();
    for i in 0..count {
        let amount: Json =
            serde_json::from_str(&format!("{}.{:02}", i * 7 % 100_000, i % 100)).unwrap();
        messages.push(json!({"type": "RECORD", "stream": "SRC", "record": {
            "id": i % keys, "amount": amount,
            "at": format!("2024-01-01T00:00:{:02}.{:06}+05:30", i % 60, i), "seq": i}}));
        if (i + 1) % every == 0 {
            let resume_after = messages.len();
            messages.push(json!({"type": "STATE", "value": {"bookmarks": {"SRC": {"resume_after": resume_after}}}}));
        }
    }
    (schema, messages)
}

#[test]
fn killed_at_any_point_and_resumed_from_its_last_state_the_table_matches_the_source() {
    let (schema, messages) = source_messages(3_000, 700, 50);
    let full: String = lines(&messages);
    // Expected final rows: the last record of each key.
    let mut expected: BTreeMap<i64, Json> = BTreeMap::new();
    for m in &messages {
        if m["type"] == "RECORD" {
            expected.insert(m["record"]["id"].as_i64().unwrap(), m["record"].clone());
        }
    }
    let kill_points = [
        1_000usize,
        20_000,
        45_000,
        90_000,
        150_000,
        210_000,
        260_000,
        full.len() - 500,
    ];
    let mut resume_points = Vec::new();
    for (attempt, &kill_after) in kill_points.iter().enumerate() {
        let db = Db::new(json!({"batch_size_rows": 37, "max_state_lag_seconds": 0}));
        // First run: feed `kill_after` bytes; once it has committed something (or
        // after a long wait, however loaded the machine), give it a moment, SIGKILL.
        let (mut child, states_seen) = db.spawn_piped();
        let first_state = {
            let mut stdin = child.stdin.take().unwrap();
            let head = format!("{schema}\n{}", &full[..kill_after]);
            let _ = stdin.write_all(head.as_bytes());
            let _ = stdin.flush();
            let first = states_seen.recv_timeout(Duration::from_secs(10)).ok();
            std::thread::sleep(Duration::from_millis(10 + 20 * attempt as u64));
            child.kill().unwrap();
            child.wait().unwrap();
            first
        };
        let mut last_state = first_state;
        while let Ok(state) = states_seen.recv_timeout(Duration::from_millis(200)) {
            last_state = Some(state);
        }
        let resume_after = last_state.as_ref().map_or(0, |s| {
            s["bookmarks"]["SRC"]["resume_after"].as_u64().unwrap() as usize
        });
        resume_points.push(resume_after);
        // Second run: the schema and everything after the last emitted STATE.
        let rest = format!("{schema}\n{}", lines(&messages[resume_after..]));
        let Run { code, stderr, .. } = db.run_file(&rest);
        assert_eq!(code, 0, "kill after {kill_after} bytes: {stderr}");
        let rows = db.rows("SRC");
        assert_eq!(rows.len(), expected.len(), "kill after {kill_after} bytes");
        for row in rows {
            let Value::Number(id) = &row["ID"] else {
                panic!("{row:?}")
            };
            let source = &expected[&id.as_str().parse::<i64>().unwrap()];
            assert_eq!(
                row["SEQ"],
                num(&source["seq"].to_string()),
                "kill after {kill_after}"
            );
            let amount = Decimal::parse(&source["amount"].to_string()).unwrap();
            assert_eq!(row["AMOUNT"], num(&amount.to_string()));
            let at = DateTime::parse_from_rfc3339(source["at"].as_str().unwrap()).unwrap();
            assert_eq!(row["AT"], Value::TimestampTz(at));
        }
    }
    // The kills really landed mid-stream, at different places.
    let mid_stream = resume_points
        .iter()
        .filter(|&&r| r > 0 && r < messages.len())
        .count();
    let mut distinct = resume_points.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        mid_stream >= 4 && distinct.len() >= 4,
        "resume points {resume_points:?}"
    );
}

#[test]
fn about_prints_json_and_markdown() {
    let output = Command::new(env!("CARGO_BIN_EXE_target-oracle"))
        .args([
            "--about",
            "--format=json",
            "--config",
            "ignored.json",
            "--state",
            "s.json",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let about: Json = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(about["name"], "target-oracle");
    let output = Command::new(env!("CARGO_BIN_EXE_target-oracle"))
        .args(["--about", "--format", "markdown"])
        .output()
        .unwrap();
    let mut text = String::new();
    output.stdout.as_slice().read_to_string(&mut text).unwrap();
    assert!(
        text.contains("| `batch_size_rows` | integer, 1 to 10000000 | `10000` |"),
        "{text}"
    );
}

/// The stored value a JSON field should become, for the columns a Python tap's ORDERS
/// stream maps to (numbers, text, date-times, nulls).
fn expected_value(field: &Json) -> Value {
    match field {
        Json::Null => Value::Null,
        Json::Number(n) => num(&Decimal::parse(n.as_str()).unwrap().to_string()),
        Json::String(s) => match DateTime::parse_from_rfc3339(s) {
            Ok(instant) if s.contains('T') => Value::TimestampTz(instant),
            _ => text(s),
        },
        other => panic!("unexpected field {other}"),
    }
}

#[test]
fn a_python_tap_stream_with_draft4_bounds_loads_value_by_value() {
    // Written by bench/gen_orders.py -n 400 --draft4 (Python, the way Oracle taps write
    // ORDERS: boolean exclusiveMaximum, multipleOf 0.01, non-ASCII, quotes, backslashes).
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/orders-draft4.jsonl"
    );
    let input = std::fs::read_to_string(fixture).unwrap();
    let db = Db::new(json!({"batch_size_rows": 128}));
    let Run {
        code,
        stdout,
        stderr,
    } = db.run_file(&input);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(states(&stdout).len(), 1);
    let rows = db.rows("ORDERS");
    let records: Vec<Json> = input
        .lines()
        .map(|l| serde_json::from_str::<Json>(l).unwrap())
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"].clone())
        .collect();
    assert_eq!(rows.len(), records.len());
    for (row, record) in rows.iter().zip(&records) {
        for (field, value) in record.as_object().unwrap() {
            assert_eq!(row[field], expected_value(value), "{field} of {record}");
        }
    }
}

#[test]
fn the_oracle_driver_without_a_client_library_exits_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("c.json");
    std::fs::write(
        &config,
        r#"{"host": "127.0.0.1", "port": 1, "service_name": "FREEPDB1", "user": "u", "password": "secret-pw"}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_target-oracle"))
        .arg("--config")
        .arg(&config)
        .arg("--test")
        .env("LD_LIBRARY_PATH", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("connecting to Oracle"), "{stderr}");
    assert!(!stderr.contains("secret-pw"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn a_waiting_state_is_emitted_while_the_tap_is_quiet() {
    let db = Db::new(json!({"batch_size_rows": 1000, "max_state_lag_seconds": 1}));
    let (mut child, states) = db.spawn_piped();
    let mut stdin = child.stdin.take().unwrap();
    let input = lines(&[
        simple_schema("S"),
        record("S", 1, "a"),
        json!({"type": "STATE", "value": {"n": 1}}),
    ]);
    stdin.write_all(input.as_bytes()).unwrap();
    stdin.flush().unwrap();
    // No more input arrives, the batch is far from full: the STATE's lag forces the
    // flush, with stdin still open.
    let state = states.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(state, json!({"n": 1}));
    assert_eq!(db.rows("S").len(), 1);
    drop(stdin);
    assert!(child.wait().unwrap().success());
}
