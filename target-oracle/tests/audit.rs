//! End-to-end over the real `target-oracle` binary on the simulated backend: the load
//! audit table (`audit_table`) counts exactly the rows the run changed, also when the run
//! is killed with SIGKILL and restarted; failed runs say so; and the session names itself
//! (MODULE, ACTION, CLIENT_IDENTIFIER) for the DBA.
//!
//! Run with `cargo test -p target-oracle --features sim --test audit`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

mod common;
use common::{lines, Db, Run};
use std::time::Duration;

use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;

const AUDIT: &str = "LOAD_AUDIT";

type Row = BTreeMap<String, Value>;

/// A scratch simulated database whose target config names the audit table.
fn audit_db(settings: Json) -> Db {
    let mut settings = settings;
    settings["audit_table"] = json!("load_audit");
    Db::new(settings)
}

fn audit_rows(db: &Db) -> Vec<Row> {
    db.rows(AUDIT)
}

fn sim_dir(db: &Db) -> PathBuf {
    db.dir.path().join("db")
}

fn count(row: &Row, column: &str) -> u64 {
    match &row[column] {
        Value::Number(n) => n.as_str().parse().unwrap(),
        other => panic!("{column}: {other:?}"),
    }
}

fn text<'a>(row: &'a Row, column: &str) -> &'a str {
    match &row[column] {
        Value::Text(t) => t,
        other => panic!("{column}: {other:?}"),
    }
}

/// The run id the target logged at its start.
fn logged_run_id(stderr: &str) -> String {
    let at = stderr.find("run_id=").expect("run id logged") + "run_id=".len();
    stderr[at..]
        .split_whitespace()
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned()
}

fn schema(stream: &str, keys: &[&str]) -> Json {
    json!({"type": "SCHEMA", "stream": stream, "key_properties": keys, "schema": {
        "type": "object", "properties": {"id": {"type": "integer"}, "v": {"type": ["null", "string"]}}}})
}

fn record(stream: &str, id: u64, v: &str) -> Json {
    json!({"type": "RECORD", "stream": stream, "record": {"id": id, "v": v}})
}

#[test]
fn the_audit_rows_count_exactly_what_each_stream_changed() {
    let db = audit_db(json!({"batch_size_rows": 4, "on_bad_record": "reject",
        "reject_file": "rejects.jsonl"}));
    let mut messages = vec![schema("events", &[]), schema("people", &["id"])];
    // events: 10 appended rows (lines 3..=12), one of them bad (rejected).
    for i in 0..10 {
        messages.push(record("events", i, "e"));
    }
    messages.push(json!({"type": "RECORD", "stream": "events", "record": {"id": "x"}}));
    // people: 6 keys, then 3 of them again (upserted), then a version switch that
    // marks the rows of the old version deleted.
    for i in 0..6 {
        messages.push(json!({"type": "RECORD", "stream": "people", "record": {"id": i, "v": "a"}, "version": 1}));
    }
    messages.push(json!({"type": "STATE", "value": {"bookmarks": {"people": {"n": 1}}}}));
    for i in 0..3 {
        messages.push(json!({"type": "RECORD", "stream": "people", "record": {"id": i, "v": "b"}, "version": 2}));
    }
    messages.push(json!({"type": "ACTIVATE_VERSION", "stream": "people", "version": 2}));
    messages.push(json!({"type": "STATE", "value": {"bookmarks": {"people": {"n": 2}}}}));
    let Run {
        code,
        stdout,
        stderr,
    } = db.run(&lines(&messages));
    assert_eq!(code, 0, "{stderr}");
    let run_id = logged_run_id(&stderr);
    let audit = audit_rows(&db);
    assert_eq!(audit.len(), 2, "{audit:?}");
    let by_stream: BTreeMap<&str, &Row> = audit.iter().map(|r| (text(r, "STREAM"), r)).collect();

    let events = by_stream["events"];
    assert_eq!(text(events, "RUN_ID"), run_id);
    assert_eq!(text(events, "TARGET_TABLE"), "SIM_USER.EVENTS");
    assert_eq!(text(events, "LOAD_METHOD"), "append-only");
    assert_eq!(
        count(events, "ROWS_INSERTED"),
        db.rows("EVENTS").len() as u64
    );
    assert_eq!(count(events, "ROWS_INSERTED"), 10);
    assert_eq!(count(events, "ROWS_REJECTED"), 1);
    assert_eq!(count(events, "ROWS_MERGED"), 0);
    assert_eq!(count(events, "FIRST_LINE"), 3);
    assert_eq!(count(events, "LAST_LINE"), 12);
    assert_eq!(count(events, "BATCHES"), 3);
    assert_eq!(text(events, "STATUS"), "SUCCEEDED");
    assert_eq!(count(events, "EXIT_CODE"), 0);
    assert_eq!(text(events, "TARGET_VERSION"), env!("CARGO_PKG_VERSION"));
    let (Value::TimestampTz(started), Value::TimestampTz(finished)) =
        (&events["STARTED_AT"], &events["FINISHED_AT"])
    else {
        panic!("{events:?}")
    };
    assert!(started <= finished && finished.offset().local_minus_utc() == 0);

    let people = by_stream["people"];
    let table = db.rows("PEOPLE");
    assert_eq!(text(people, "LOAD_METHOD"), "upsert");
    // 6 + 3 rows merged (the MERGE statement's count: 6 inserted, 3 updated).
    assert_eq!(count(people, "ROWS_MERGED"), 9);
    assert_eq!(count(people, "ROWS_INSERTED"), 0);
    let marked = table
        .iter()
        .filter(|r| !r["_SDC_DELETED_AT"].is_null())
        .count() as u64;
    assert_eq!(count(people, "ROWS_SOFT_DELETED"), marked);
    assert_eq!(marked, 3);
    assert_eq!(count(people, "ROWS_DELETED"), 0);
    // The last STATE the target wrote is the one the row keeps.
    let last_state = stdout.lines().last().unwrap();
    let last_state: Json = serde_json::from_str(last_state).unwrap();
    let kept: Json = serde_json::from_str(text(people, "LAST_STATE")).unwrap();
    assert_eq!(kept, last_state, "the target writes the bare state value");
}

#[test]
fn a_failed_run_says_so_with_its_exit_code() {
    let db = audit_db(json!({"batch_size_rows": 2}));
    let mut messages = vec![schema("events", &[])];
    for i in 0..5 {
        messages.push(record("events", i, "e"));
    }
    messages.push(json!({"type": "RECORD", "stream": "events", "record": {"id": "bad"}}));
    let Run { code, stderr, .. } = db.run(&lines(&messages));
    assert_eq!(code, 1, "{stderr}");
    let audit = audit_rows(&db);
    assert_eq!(audit.len(), 1);
    assert_eq!(text(&audit[0], "STATUS"), "FAILED");
    assert_eq!(count(&audit[0], "EXIT_CODE"), 1);
    assert!(!audit[0]["FINISHED_AT"].is_null());
    // The two full batches were committed, and counted; the fifth record waited for a
    // STATE that never came (append-only: a rerun sends it again), so it was dropped.
    assert_eq!(count(&audit[0], "ROWS_INSERTED"), 4);
    assert_eq!(db.rows("EVENTS").len(), 4);
}

#[test]
fn after_a_sigkill_the_audit_row_counts_the_committed_rows_and_says_it_did_not_finish() {
    let mut messages = vec![schema("events", &[])];
    for i in 0..3_000u64 {
        messages.push(record("events", i, &"x".repeat((i % 50) as usize)));
        if (i + 1) % 50 == 0 {
            let resume_after = messages.len();
            messages.push(json!({"type": "STATE", "value": {"resume_after": resume_after}}));
        }
    }
    let full = lines(&messages[1..]);
    let mut killed_mid_stream = 0;
    let mut first_states = Vec::new();
    for (attempt, kill_after) in [20_000usize, 60_000, 110_000, full.len() - 300]
        .into_iter()
        .enumerate()
    {
        let db = audit_db(json!({"batch_size_rows": 37, "max_state_lag_seconds": 0}));
        let (mut child, states_seen) = db.spawn_piped();
        {
            let mut stdin = child.stdin.take().unwrap();
            let head = format!("{}\n{}", messages[0], &full[..kill_after]);
            let _ = stdin.write_all(head.as_bytes());
            let _ = stdin.flush();
            // Kill once the run is under way (it has confirmed a STATE), at a moment
            // that differs per attempt.
            let first = states_seen.recv_timeout(Duration::from_secs(30)).ok();
            std::thread::sleep(Duration::from_millis(5 + 15 * attempt as u64));
            child.kill().unwrap();
            child.wait().unwrap();
            first_states.push(first);
        }
        let mut last_state = first_states.last().cloned().flatten();
        while let Ok(state) = states_seen.recv_timeout(Duration::from_millis(200)) {
            last_state = Some(state);
        }
        // The killed run's row: RUNNING, no finish time, and exactly the committed rows.
        let audit = audit_rows(&db);
        assert_eq!(audit.len(), 1, "kill after {kill_after}: {audit:?}");
        let killed = &audit[0];
        assert_eq!(text(killed, "STATUS"), "RUNNING");
        assert!(killed["FINISHED_AT"].is_null() && killed["EXIT_CODE"].is_null());
        let committed = db.rows("EVENTS").len() as u64;
        assert_eq!(
            count(killed, "ROWS_INSERTED"),
            committed,
            "kill after {kill_after}"
        );
        if committed > 0 && committed < 3_000 {
            killed_mid_stream += 1;
        }
        // Restart from the last STATE printed: a second row, and the two rows' counts
        // add up to the table (append-only repeats what the lost STATE did not cover).
        let resume_after = last_state
            .as_ref()
            .map_or(1, |s| s["resume_after"].as_u64().unwrap() as usize);
        let rest = format!("{}\n{}", messages[0], lines(&messages[resume_after..]));
        let Run { code, stderr, .. } = db.run(&rest);
        assert_eq!(code, 0, "{stderr}");
        let audit = audit_rows(&db);
        assert_eq!(audit.len(), 2);
        let resumed = audit
            .iter()
            .find(|r| text(r, "RUN_ID") == logged_run_id(&stderr))
            .unwrap();
        assert_eq!(text(resumed, "STATUS"), "SUCCEEDED");
        let total: u64 = audit.iter().map(|r| count(r, "ROWS_INSERTED")).sum();
        assert_eq!(total, db.rows("EVENTS").len() as u64);
        let ids: std::collections::BTreeSet<String> = db
            .rows("EVENTS")
            .iter()
            .map(|r| format!("{:?}", r["ID"]))
            .collect();
        assert_eq!(ids.len(), 3_000, "no row lost");
    }
    assert!(killed_mid_stream >= 2, "the kills landed mid-stream");
}

#[test]
fn the_session_names_its_module_stream_and_run() {
    let db = audit_db(json!({}));
    let messages = [
        schema("events", &[]),
        record("events", 1, "a"),
        schema("people", &["id"]),
        record("people", 1, "a"),
    ];
    let Run { code, stderr, .. } = db.run(&lines(&messages));
    assert_eq!(code, 0, "{stderr}");
    let run_id = logged_run_id(&stderr);
    let recorded = sim_backend::recorded_contexts(&sim_dir(&db)).unwrap();
    let actions: Vec<&str> = recorded.iter().map(|c| c.action.as_str()).collect();
    // Named at the start, at each table's set-up, then at each stream's last batch.
    assert_eq!(
        actions,
        ["load", "events", "people", "events", "people"],
        "{recorded:?}"
    );
    for context in &recorded {
        assert_eq!(context.module, "target-oracle");
        assert_eq!(context.client_identifier, run_id);
        assert_eq!(context.session, recorded[0].session, "one session");
    }
}

#[test]
fn with_freeze_schema_the_audit_table_must_exist() {
    let db = audit_db(json!({"freeze_schema": true}));
    // The stream's own table exists (a DBA made it); the audit table does not.
    {
        use db_boundary::{Backend, ColumnDef, TableDef, TableName};
        use singer_core::oracle_type::OracleType;
        let backend = SimBackend::open(&sim_dir(&db)).unwrap();
        let mut sink = backend.sink().unwrap();
        sink.create_table(&TableDef {
            name: TableName {
                schema: None,
                name: "EVENTS".into(),
            },
            columns: vec![ColumnDef {
                name: "ID".into(),
                data_type: OracleType::Number {
                    precision: Some(38),
                    scale: Some(0),
                },
                nullable: false,
                check: None,
            }],
            primary_key: vec![],
        })
        .unwrap();
        sink.commit().unwrap();
    }
    let messages = [schema("events", &[]), record("events", 1, "a")];
    let Run { code, stderr, .. } = db.run(&lines(&messages));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "audit_table \"LOAD_AUDIT\" does not exist and freeze_schema forbids creating it"
        ),
        "{stderr}"
    );
}
