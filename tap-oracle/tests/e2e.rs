//! End to end: the real `tap-oracle` binary against the simulated backend.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use chrono::{FixedOffset, NaiveDate, TimeZone};
use db_boundary::Value;
use serde_json::{json, Value as Json};
use singer_core::dictionary::DictionaryRows;

mod common;
use common::*;

#[test]
fn discovery_prints_the_catalog_of_the_seeded_schema() {
    let f = Fixture::new();
    sim_backend::seed::seed_dir(
        &f.backend,
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sample")),
    )
    .unwrap();
    let config = f.config(json!({"filter_tables": ["HR.EMP*"]}));
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "--discover",
        "--state",
        "/nonexistent-is-ignored",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let catalog: Json = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = catalog["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["tap_stream_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["HR-EMPLOYEES"]);
    assert_eq!(
        catalog["streams"][0]["metadata"][0]["metadata"]["table-key-properties"],
        json!(["EMPLOYEE_ID"])
    );
}

#[test]
fn full_table_reads_every_row_once_in_key_order_and_activates_the_version() {
    let f = Fixture::new();
    events(&f, 250);
    let config = f.config(json!({}));
    let catalog = f.catalog(&config, json!({}));
    let messages = f.sync(Path::new(TAP), &config, &catalog, None).0;
    let rows = records(&messages, "APP-EVENTS");
    assert_eq!(rows.len(), 250);
    let mut keys: Vec<_> = rows.iter().map(|r| key_of(r)).collect();
    let in_order = keys.clone();
    keys.sort_by(|a, b| {
        (&a.1, a.0.parse::<u64>().unwrap()).cmp(&(&b.1, b.0.parse::<u64>().unwrap()))
    });
    assert_eq!(
        in_order, keys,
        "ordered by the key in POSITION order (ID2, ID1)"
    );
    keys.dedup();
    assert_eq!(keys.len(), 250);
    let activates: Vec<&Json> = messages
        .iter()
        .filter(|m| m["type"] == "ACTIVATE_VERSION")
        .collect();
    assert_eq!(
        activates.len(),
        2,
        "first sync of a version and its completion"
    );
    let states: Vec<&Json> = messages.iter().filter(|m| m["type"] == "STATE").collect();
    assert!(states.len() >= 4, "a STATE every 100 rows");
    let last = &states.last().unwrap()["value"];
    assert_eq!(last["currently_syncing"], Json::Null);
    assert_eq!(
        last["bookmarks"]["APP-EVENTS"]["last_pk_fetched"],
        Json::Null
    );
    assert_eq!(messages.last().unwrap()["type"], "STATE");
}

#[test]
fn a_killed_full_table_run_resumes_without_losing_or_repeating_rows() {
    let f = Fixture::new();
    events(&f, 1000);
    let config = f.config(json!({"state_every_rows": 37}));
    let catalog = f.catalog(&config, json!({}));
    for kill_after_lines in [5usize, 120, 480, 900] {
        let mut child = spawn_sync(&config, &catalog, Stdio::null());
        let reader = BufReader::new(child.stdout.take().unwrap());
        let mut seen = Vec::new();
        for line in reader.lines().take(kill_after_lines) {
            seen.push(serde_json::from_str::<Json>(&line.unwrap()).unwrap());
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // A target commits up to the last STATE it saw; that state is what comes back.
        let last_state_at = seen
            .iter()
            .rposition(|m| m["type"] == "STATE")
            .expect("a STATE early on");
        let confirmed: Vec<(String, String)> = records(&seen[..last_state_at], "APP-EVENTS")
            .iter()
            .map(|r| key_of(r))
            .collect();
        let state_path = f.path("state.json");
        std::fs::write(&state_path, seen[last_state_at]["value"].to_string()).unwrap();
        let rest = f
            .sync(Path::new(TAP), &config, &catalog, Some(&state_path))
            .0;
        let mut all: Vec<(String, String)> = confirmed;
        all.extend(records(&rest, "APP-EVENTS").iter().map(|r| key_of(r)));
        let total = all.len();
        all.sort();
        all.dedup();
        assert_eq!(
            all.len(),
            1000,
            "kill after {kill_after_lines} lines: every row"
        );
        assert_eq!(
            total, 1000,
            "kill after {kill_after_lines} lines: no row twice"
        );
    }
}

#[test]
fn incremental_resumes_at_the_bookmark_inclusive() {
    let f = Fixture::new();
    events(&f, 100);
    let config = f.config(json!({}));
    let overrides =
        json!({"APP-EVENTS": {"replication-method": "INCREMENTAL", "replication-key": "AT"}});
    let catalog = f.catalog(&config, overrides);
    let first = f.sync(Path::new(TAP), &config, &catalog, None).0;
    assert_eq!(records(&first, "APP-EVENTS").len(), 100);
    let state = &first.iter().rev().find(|m| m["type"] == "STATE").unwrap()["value"];
    assert_eq!(
        state["bookmarks"]["APP-EVENTS"]["replication_key_value"],
        json!("2026-01-01T00:49:00Z")
    );
    assert!(first.iter().all(|m| m["type"] != "ACTIVATE_VERSION"));
    // Two new rows share the boundary time with the last row read; one is later.
    insert_events(&f, 100..103);
    let state_path = f.path("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();
    let out = run(&[
        "--config",
        config.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
        "--state",
        state_path.to_str().unwrap(),
    ]);
    let second = messages(&out.stdout);
    let notes: Vec<&str> = records(&second, "APP-EVENTS")
        .iter()
        .map(|r| r["NOTE"].as_str().unwrap())
        .collect();
    // Rows 98 and 99 hold the boundary value 00:49; 100 and 101 come at 00:50.
    assert_eq!(
        notes,
        vec![
            "event 98",
            "event 99",
            "event 100",
            "event 101",
            "event 102"
        ]
    );
}

#[test]
fn every_type_is_written_with_its_exact_value() {
    let f = Fixture::new();
    let cols = vec![
        column("T", 1, "ID", "NUMBER", None, Some(0), 22, false),
        column("T", 2, "BIG", "NUMBER", None, None, 22, true),
        column("T", 3, "AMOUNT", "NUMBER", Some(12), Some(2), 22, true),
        column("T", 4, "F", "BINARY_DOUBLE", None, None, 8, true),
        column("T", 5, "TS", "TIMESTAMP(9)", None, Some(9), 11, true),
        column(
            "T",
            6,
            "TSTZ",
            "TIMESTAMP(6) WITH TIME ZONE",
            None,
            Some(6),
            13,
            true,
        ),
        column(
            "T",
            7,
            "IDS",
            "INTERVAL DAY(2) TO SECOND(6)",
            Some(2),
            Some(6),
            11,
            true,
        ),
        column(
            "T",
            8,
            "IYM",
            "INTERVAL YEAR(2) TO MONTH",
            Some(2),
            Some(0),
            5,
            true,
        ),
        column("T", 9, "R", "RAW", None, None, 16, true),
        column("T", 10, "DOC", "JSON", None, None, 0, true),
        column("T", 11, "FLAG", "BOOLEAN", None, None, 1, true),
        column("T", 12, "VEC", "VECTOR", None, None, 0, true),
        column("T", 13, "TXT", "CLOB", None, None, 0, true),
    ];
    f.backend
        .load_dictionary(&DictionaryRows {
            tables: vec![table("T")],
            columns: cols.clone(),
            constraints: vec![pk("T", "ID", 1)],
        })
        .unwrap();
    let t = NaiveDate::from_ymd_opt(2024, 2, 29)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, 123_456_789)
        .unwrap();
    let names: Vec<String> = cols.iter().map(|c| c.column_name.clone()).collect();
    f.backend
        .insert_rows(
            "APP",
            "T",
            &names,
            vec![
                vec![
                    Value::number("1"),
                    Value::number("12345678901234567890123456789012345678"),
                    Value::number("-0.01"),
                    Value::BinaryDouble(f64::NAN),
                    Value::Timestamp(t),
                    Value::TimestampTz(
                        FixedOffset::east_opt(-(3 * 3600 + 1800))
                            .unwrap()
                            .from_local_datetime(&t)
                            .unwrap(),
                    ),
                    Value::IntervalDs {
                        days: -1,
                        hours: -2,
                        minutes: -3,
                        seconds: -4,
                        nanoseconds: -500_000_000,
                    },
                    Value::IntervalYm {
                        years: 1,
                        months: 11,
                    },
                    Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef]),
                    Value::Json(r#"{"a":[1,2.50,"x"]}"#.into()),
                    Value::Boolean(true),
                    Value::Vector(vec![0.5, -1.0]),
                    Value::Text("line\nbreak \"quoted\" ünïcødé".into()),
                ],
                vec![
                    Value::number("2"),
                    Value::Null,
                    Value::Null,
                    Value::BinaryDouble(0.1),
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                    Value::Null,
                ],
            ],
        )
        .unwrap();
    let config = f.config(json!({"source_timezone": "+01:00"}));
    let catalog = f.catalog(&config, json!({}));
    let out = run_sync(&config, &catalog);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("\"RECORD\"") && l.contains("\"ID\":1,"))
        .unwrap();
    let record_text =
        &line[line.find("\"record\":").unwrap() + 9..line.find(",\"version\"").unwrap()];
    assert_eq!(
        record_text,
        concat!(
            r#"{"ID":1,"BIG":12345678901234567890123456789012345678,"AMOUNT":-0.01,"F":null,"#,
            r#""TS":"2024-02-29T22:59:59.123456789Z","TSTZ":"2024-03-01T03:29:59.123457Z","#,
            r#""IDS":"-P1DT2H3M4.5S","IYM":"P1Y11M","R":"3q2+7w==","DOC":{"a":[1,2.50,"x"]},"#,
            r#""FLAG":true,"VEC":[0.5,-1],"TXT":"line\nbreak \"quoted\" ünïcødé"}"#
        )
    );
    assert!(text.contains(r#"{"ID":2,"BIG":null,"AMOUNT":null,"F":0.1,"#));
}

#[test]
fn parallel_streams_keep_one_message_per_line_and_every_bookmark() {
    let f = Fixture::new();
    sim_backend::seed::seed_dir(
        &f.backend,
        Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/sample")),
    )
    .unwrap();
    events(&f, 3000);
    let config = f.config(json!({"max_parallel_streams": 4, "state_every_rows": 50}));
    let catalog = f.catalog(&config, json!({}));
    let messages = f.sync(Path::new(TAP), &config, &catalog, None).0;
    assert_eq!(records(&messages, "APP-EVENTS").len(), 3000);
    assert_eq!(records(&messages, "HR-EMPLOYEES").len(), 107);
    assert_eq!(records(&messages, "HR-DEPARTMENTS").len(), 10);
    // Every RECORD of a stream comes after its SCHEMA.
    for stream in [
        "APP-EVENTS",
        "HR-EMPLOYEES",
        "HR-DEPARTMENTS",
        "HR-JOB_HISTORY",
    ] {
        let schema_at = messages
            .iter()
            .position(|m| m["type"] == "SCHEMA" && m["stream"] == stream)
            .unwrap();
        let first_record = messages
            .iter()
            .position(|m| m["type"] == "RECORD" && m["stream"] == stream)
            .unwrap();
        assert!(schema_at < first_record);
    }
    let last = &messages.last().unwrap()["value"]["bookmarks"];
    assert_eq!(last.as_object().unwrap().len(), 4);
}

#[test]
fn a_closed_stdout_ends_quietly_with_exit_code_3() {
    let f = Fixture::new();
    events(&f, 20_000);
    let config = f.config(json!({}));
    let catalog = f.catalog(&config, json!({}));
    let mut child = spawn_sync(&config, &catalog, Stdio::piped());
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    reader.read_line(&mut first).unwrap();
    drop(reader);
    assert_ended_on_closed_stdout(child, "one line read");
}

#[test]
fn without_an_oracle_client_test_says_what_to_install_and_exits_2() {
    let f = Fixture::new();
    let config = f.path("oracle.json");
    std::fs::write(&config, r#"{"host": "127.0.0.1", "port": 1, "service_name": "X", "user": "u", "password": "pw-never-shown"}"#).unwrap();
    let out = run(&["--config", config.to_str().unwrap(), "--test"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    assert!(
        stderr.contains("LD_LIBRARY_PATH") || stderr.contains("cannot reach"),
        "{stderr}"
    );
    assert!(!stderr.contains("pw-never-shown"));
}

#[test]
fn bad_settings_and_unknown_replication_methods_fail_with_exit_code_1() {
    let f = Fixture::new();
    events(&f, 3);
    let bad = f.path("bad.json");
    std::fs::write(
        &bad,
        r#"{"driver": "sim", "state_every_rows": "many", "max_parallel_streams": true}"#,
    )
    .unwrap();
    let out = run(&["--config", bad.to_str().unwrap(), "--discover"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("state_every_rows") && stderr.contains("max_parallel_streams"),
        "{stderr}"
    );
    let config = f.config(json!({}));
    let catalog = f.catalog(
        &config,
        json!({"APP-EVENTS": {"replication-method": "LOGICAL"}}),
    );
    let out = run_sync(&config, &catalog);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown replication method"));
    assert!(
        out.stdout.is_empty(),
        "nothing is written before the catalog is checked"
    );
}

#[test]
fn about_lists_capabilities_and_every_setting() {
    let out = run(&["--about", "--format=json", "--config", "/stale/config.json"]);
    assert!(out.status.success());
    let about: Json = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(about["name"], "tap-oracle");
    assert_eq!(
        about["settings"]["properties"]["password"]["secret"],
        json!(true)
    );
    assert_eq!(
        about["settings"]["properties"].as_object().unwrap().len(),
        tap_oracle::settings::settings().len()
    );
    let out = run(&["--about", "--format", "markdown"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# tap-oracle"));
    let _ = std::io::stderr().flush();
}

/// The whole message stream of a small FULL_TABLE sync, reviewed as a snapshot: message
/// order (SCHEMA, STATE, ACTIVATE_VERSION, RECORDs, STATE every 2 rows, the closing
/// ACTIVATE_VERSION and STATE) and every field. Clock-dependent values are replaced.
#[test]
fn a_small_full_table_sync_writes_this_message_stream() {
    let f = Fixture::new();
    events(&f, 5);
    let config = f.config(json!({"state_every_rows": 2}));
    let catalog = f.catalog(&config, json!({}));
    let out = run_sync(&config, &catalog);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = Vec::new();
    for mut message in messages(&out.stdout) {
        if message.get("time_extracted").is_some() {
            message["time_extracted"] = json!("[time_extracted]");
        }
        if message.get("version").is_some() {
            message["version"] = json!("[version]");
        }
        if let Some(bookmark) = message.pointer_mut("/value/bookmarks/APP-EVENTS/version") {
            *bookmark = json!("[version]");
        }
        lines.push(message.to_string());
    }
    insta::assert_snapshot!(lines.join("\n"));
}

/// Switching a stream from INCREMENTAL to FULL_TABLE starts it over: every row again,
/// and the INCREMENTAL bookmark keys written as explicit nulls (Meltano deep-merges
/// states, so a key left out would survive).
#[test]
fn a_changed_replication_method_starts_over_and_clears_the_old_bookmark() {
    let f = Fixture::new();
    events(&f, 30);
    let config = f.config(json!({}));
    let incremental = f.catalog(
        &config,
        json!({"APP-EVENTS": {"replication-method": "INCREMENTAL", "replication-key": "AT"}}),
    );
    let out = run_sync(&config, &incremental);
    assert!(out.status.success());
    let first = messages(&out.stdout);
    let state = &first.iter().rev().find(|m| m["type"] == "STATE").unwrap()["value"];
    assert_eq!(
        state["bookmarks"]["APP-EVENTS"]["last_replication_method"],
        json!("INCREMENTAL")
    );
    let state_path = f.path("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();

    let full_table = f.catalog(
        &config,
        json!({"APP-EVENTS": {"replication-method": "FULL_TABLE"}}),
    );
    let second = f
        .sync(Path::new(TAP), &config, &full_table, Some(&state_path))
        .0;
    assert_eq!(records(&second, "APP-EVENTS").len(), 30, "every row again");
    let bookmark = &second.iter().rev().find(|m| m["type"] == "STATE").unwrap()["value"]
        ["bookmarks"]["APP-EVENTS"];
    let bookmark = bookmark.as_object().unwrap();
    assert_eq!(bookmark["last_replication_method"], json!("FULL_TABLE"));
    for cleared in ["replication_key", "replication_key_value"] {
        assert_eq!(
            bookmark.get(cleared),
            Some(&Json::Null),
            "{cleared} is written as an explicit null"
        );
    }
    assert!(bookmark["version"].is_i64());
}

/// NULL replication-key values sort first and are read by the first sync only: the
/// bookmark is the last non-NULL value, and a later `>=` never matches NULL (README
/// "Replication and state").
#[test]
fn incremental_reads_null_key_rows_once_and_bookmarks_the_last_value() {
    let f = Fixture::new();
    events(&f, 5);
    let names = ["ID1", "ID2", "AT", "NOTE"].map(String::from);
    let at = NaiveDate::from_ymd_opt(2026, 1, 2)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let nulls = (100..102).map(|i| {
        vec![
            Value::Number(i.into()),
            Value::Text("KN".into()),
            Value::Timestamp(at),
            Value::Null,
        ]
    });
    f.backend
        .insert_rows("APP", "EVENTS", &names, nulls)
        .unwrap();
    let config = f.config(json!({}));
    let catalog = f.catalog(
        &config,
        json!({"APP-EVENTS": {"replication-method": "INCREMENTAL", "replication-key": "NOTE"}}),
    );
    let sync = |state: Option<&Path>| {
        let mut args = vec![
            "--config",
            config.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
        ];
        if let Some(state) = state {
            args.extend(["--state", state.to_str().unwrap()]);
        }
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        messages(&out.stdout)
    };
    let first = sync(None);
    let notes: Vec<Json> = records(&first, "APP-EVENTS")
        .iter()
        .map(|r| r["NOTE"].clone())
        .collect();
    assert_eq!(
        notes,
        vec![
            Json::Null,
            Json::Null,
            json!("event 0"),
            json!("event 1"),
            json!("event 2"),
            json!("event 3"),
            json!("event 4")
        ],
        "NULLs first, then by the key"
    );
    let state = &first.iter().rev().find(|m| m["type"] == "STATE").unwrap()["value"];
    assert_eq!(
        state["bookmarks"]["APP-EVENTS"]["replication_key_value"],
        json!("event 4")
    );
    let state_path = f.path("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();
    let second = sync(Some(&state_path));
    let notes: Vec<Json> = records(&second, "APP-EVENTS")
        .iter()
        .map(|r| r["NOTE"].clone())
        .collect();
    assert_eq!(
        notes,
        vec![json!("event 4")],
        "only the boundary row again, no NULL-key row"
    );
}

/// A table without a key is read in ROWID order; with `use_flashback` every pass reads
/// AS OF the SCN taken at its start, kept in STATE. Killed and restarted with its last
/// STATE, it continues after the bookmarked ROWID at the same SCN: every row once.
#[test]
fn a_keyless_table_resumes_after_its_rowid_at_the_same_flashback_scn() {
    let f = Fixture::new();
    f.backend
        .load_dictionary(&DictionaryRows {
            tables: vec![table("EVENTS")],
            columns: vec![
                column("EVENTS", 1, "ID1", "NUMBER", Some(10), Some(0), 22, false),
                column("EVENTS", 2, "ID2", "VARCHAR2", None, None, 10, false),
                column("EVENTS", 3, "AT", "TIMESTAMP(6)", None, Some(6), 11, false),
                column("EVENTS", 4, "NOTE", "VARCHAR2", None, None, 100, true),
            ],
            constraints: vec![],
        })
        .unwrap();
    insert_events(&f, 0..300);
    let config = f.config(json!({"state_every_rows": 25, "use_flashback": true}));
    let catalog = f.catalog(&config, json!({}));
    let mut child = spawn_sync(&config, &catalog, Stdio::null());
    let reader = BufReader::new(child.stdout.take().unwrap());
    let seen: Vec<Json> = reader
        .lines()
        .take(140)
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let last_state_at = seen.iter().rposition(|m| m["type"] == "STATE").unwrap();
    let state = &seen[last_state_at]["value"];
    let bookmark = &state["bookmarks"]["APP-EVENTS"];
    assert!(bookmark["last_rowid"].is_string(), "{bookmark}");
    let scn = bookmark["scn"].as_u64().expect("the flashback SCN is kept");
    let state_path = f.path("state.json");
    std::fs::write(&state_path, state.to_string()).unwrap();
    let rest = f
        .sync(Path::new(TAP), &config, &catalog, Some(&state_path))
        .0;
    let resumed_at = rest
        .iter()
        .find(|m| m["type"] == "STATE")
        .map(|m| m["value"]["bookmarks"]["APP-EVENTS"]["scn"].clone());
    assert_eq!(
        resumed_at,
        Some(json!(scn)),
        "the restart reads at the same SCN"
    );
    let mut all: Vec<(String, String)> = records(&seen[..last_state_at], "APP-EVENTS")
        .iter()
        .map(|r| key_of(r))
        .collect();
    all.extend(records(&rest, "APP-EVENTS").iter().map(|r| key_of(r)));
    let total = all.len();
    all.sort();
    all.dedup();
    assert_eq!((all.len(), total), (300, 300), "every row, none twice");
    let last = &rest.last().unwrap()["value"]["bookmarks"]["APP-EVENTS"];
    assert_eq!(last["last_rowid"], Json::Null);
    assert_eq!(last["scn"], Json::Null);
}
