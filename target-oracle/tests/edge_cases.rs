//! End-to-end: target input edge cases (issue 12, item 7), each over the real binary
//! and the simulated backend: an empty SCHEMA, `freeze_schema` with `_sdc_` fields, an
//! unusable reject file, a huge `maxLength`, a STATE whose value is null, a line over
//! the size limit (memory stays bounded).

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{lines, num, record, schema, state, text, Db, OWNER};
use serde_json::json;

#[test]
fn a_schema_without_properties_is_refused_before_any_ddl() {
    let db = Db::new(json!({}));
    let run = db.run(&lines(&[
        schema("S", &[]),
        record("S", 1, "a"),
        state(json!({"at": 1})),
        json!({"type": "SCHEMA", "stream": "EMPTY", "key_properties": [],
               "schema": {"type": "object", "properties": {}}}),
        json!({"type": "RECORD", "stream": "EMPTY", "record": {}}),
    ]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("line 4: stream \"EMPTY\": the SCHEMA declares no properties"),
        "{}",
        run.stderr
    );
    assert!(!db.has_table(OWNER, "EMPTY"), "no table was created");
    assert_eq!(run.states(), [json!({"at": 1})]);
    assert_eq!(db.rows("S").len(), 1);
}

#[test]
fn freeze_schema_ignores_undeclared_sdc_fields_as_the_default_mode_does() {
    let db = Db::new(json!({}));
    let first = db.run(&lines(&[schema("S", &["id"]), record("S", 1, "a")]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let with_sdc = |id: i64| {
        json!({"type": "RECORD", "stream": "S", "record": {"id": id, "v": "b",
            "_sdc_extracted_at": "2024-01-01T00:00:00Z", "_sdc_batched_at": null,
            "_sdc_deleted_at": null, "_sdc_sequence": 17}})
    };
    for settings in [json!({}), json!({"freeze_schema": true})] {
        db.configure(settings.clone());
        let run = db.run(&lines(&[schema("S", &["id"]), with_sdc(2)]));
        assert_eq!(run.code, 0, "{settings}: {}", run.stderr);
    }
    assert_eq!(
        db.backend().column_names(OWNER, "S").unwrap(),
        ["ID", "V"],
        "no _sdc_ column was added"
    );
    assert_eq!(db.rows("S").len(), 2);
}

#[test]
fn an_unusable_reject_file_is_refused_before_reading_input() {
    let db = Db::new(json!({"on_bad_record": "reject", "reject_file": "/"}));
    let run = db.run(&lines(&[schema("S", &[]), record("S", 1, "a")]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("the reject file /: "),
        "names the file: {}",
        run.stderr
    );
    assert!(
        !db.has_table(OWNER, "S"),
        "nothing was loaded before the check"
    );
}

#[test]
fn a_max_length_beyond_the_varchar2_limit_gives_a_clob() {
    let db = Db::new(json!({}));
    let mut messages = Vec::new();
    for (stream, max_length) in [
        ("HUGE", json!(1e30)),
        ("BIG", json!(4294967296u64)),
        ("EDGE", json!(4001)),
    ] {
        messages.push(
            json!({"type": "SCHEMA", "stream": stream, "key_properties": [],
            "schema": {"type": "object", "properties": {
                "s": {"type": ["null", "string"], "maxLength": max_length}}}}),
        );
        messages
            .push(json!({"type": "RECORD", "stream": stream, "record": {"s": "x".repeat(4001)}}));
    }
    let run = db.run(&lines(&messages));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let backend = db.backend();
    let mut session = db_boundary::Backend::sink(&backend).unwrap();
    for table in ["HUGE", "BIG", "EDGE"] {
        let def = session
            .describe_table(&db_boundary::TableName {
                schema: None,
                name: table.into(),
            })
            .unwrap()
            .unwrap();
        assert_eq!(def.columns[0].data_type.to_string(), "CLOB", "{table}");
        assert_eq!(db.rows(table)[0]["S"], text(&"x".repeat(4001)), "{table}");
    }
}

#[test]
fn a_state_whose_value_is_null_is_skipped_with_a_warning() {
    let db = Db::new(json!({}));
    let run = db.run(&lines(&[
        schema("S", &["id"]),
        record("S", 1, "a"),
        state(json!({"n": 1})),
        json!({"type": "STATE", "value": null}),
        record("S", 2, "b"),
        state(json!({"n": 2})),
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("skipping a STATE whose value is null line=4"),
        "{}",
        run.stderr
    );
    // STATE 2 supersedes STATE 1 (both covered by the one commit at the end).
    assert_eq!(run.states(), [json!({"n": 2})]);
    assert_eq!(db.rows("S")[1]["ID"], num("2"));
}

/// Peak resident set size of a running process, in bytes (Linux `VmHWM`).
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_line_over_max_line_bytes_stops_the_run_with_memory_bounded() {
    let limit: u64 = 4 << 20;
    let db = Db::new(json!({"max_line_bytes": limit}));
    let mut child = db
        .command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let head = lines(&[
        schema("S", &[]),
        record("S", 1, "a"),
        state(json!({"n": 1})),
    ]);
    stdin.write_all(head.as_bytes()).unwrap();
    // A 400 MiB record line, fed in pieces while the target's memory is watched.
    let start = r#"{"type":"RECORD","stream":"S","record":{"id":2,"v":""#;
    stdin.write_all(start.as_bytes()).unwrap();
    let piece = vec![b'x'; 1 << 20];
    let mut fed: u64 = 0;
    let mut peak = 0;
    let began = Instant::now();
    while fed < 400 << 20 && began.elapsed() < Duration::from_secs(120) {
        if stdin.write_all(&piece).is_err() {
            break; // the target stopped reading: it refused the line
        }
        fed += piece.len() as u64;
        peak = peak.max(peak_rss(pid).unwrap_or(0));
    }
    drop(stdin);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "line 4: the line is longer than max_line_bytes ({limit} bytes)"
        )),
        "{stderr}"
    );
    assert!(
        fed < 100 << 20,
        "the target stopped reading soon after the limit ({fed} bytes fed)"
    );
    assert!(
        peak < 64 << 20,
        "peak RSS {peak} bytes stays near the limit"
    );
    // What preceded the bad line is committed and confirmed.
    assert_eq!(
        common::states(&String::from_utf8(output.stdout).unwrap()),
        [json!({"n": 1})]
    );
    assert_eq!(db.rows("S").len(), 1);
}

/// A table made outside the target: `ID`, `V`, and `extra` columns.
fn create_table(db: &Db, name: &str, extra: Vec<db_boundary::ColumnDef>, key: &[&str]) {
    use singer_core::oracle_type::{LengthSemantics, OracleType};
    let column = |name: &str, data_type, nullable| db_boundary::ColumnDef {
        name: name.into(),
        data_type,
        nullable,
        check: None,
    };
    let mut columns = vec![
        column(
            "ID",
            OracleType::Number {
                precision: Some(38),
                scale: Some(0),
            },
            false,
        ),
        column(
            "V",
            OracleType::Varchar2 {
                length: 10,
                semantics: LengthSemantics::Char,
            },
            true,
        ),
    ];
    columns.extend(extra);
    let mut sink = db_boundary::Backend::sink(&db.backend()).unwrap();
    sink.create_table(&db_boundary::TableDef {
        name: db_boundary::TableName {
            schema: None,
            name: name.into(),
        },
        columns,
        primary_key: key.iter().map(|k| k.to_string()).collect(),
    })
    .unwrap();
}

#[test]
fn a_row_the_database_rejects_names_the_field() {
    use singer_core::oracle_type::{LengthSemantics, OracleType};
    // A NOT NULL column the stream does not send, kept as it is (freeze_schema):
    // ORA-01400 names it.
    let db = Db::new(json!({"load_method": "append-only", "freeze_schema": true}));
    create_table(
        &db,
        "AUDITED",
        vec![db_boundary::ColumnDef {
            name: "CREATED_BY".into(),
            data_type: OracleType::Varchar2 {
                length: 20,
                semantics: LengthSemantics::Byte,
            },
            nullable: false,
            check: None,
        }],
        &[],
    );
    let run = db.run(&lines(&[schema("AUDITED", &[]), record("AUDITED", 1, "a")]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "line 2: stream \"AUDITED\": field \"CREATED_BY\" was rejected by the database: ORA-01400"
        ),
        "{}",
        run.stderr
    );
    // A key already in the table (append-only): ORA-00001 is about the key properties.
    create_table(&db, "KEYED", vec![], &["ID"]);
    let first = db.run(&lines(&[schema("KEYED", &["id"]), record("KEYED", 1, "a")]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let reject_file = db.dir.path().join("rejects.jsonl");
    db.configure(
        json!({"load_method": "append-only", "on_bad_record": "reject",
                        "reject_file": reject_file}),
    );
    let run = db.run(&lines(&[
        schema("KEYED", &["id"]),
        record("KEYED", 1, "again"),
    ]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rejected: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&reject_file).unwrap().trim()).unwrap();
    assert_eq!(rejected["field"], "id", "{rejected}");
    assert!(
        rejected["reason"].as_str().unwrap().contains("ORA-00001"),
        "{rejected}"
    );
}
