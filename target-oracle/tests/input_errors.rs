//! End-to-end: a fatal input error (a cut last line, a RECORD of an unknown stream, a
//! bad SCHEMA, an unsupported message) commits what precedes the last complete STATE,
//! emits that STATE, and exits 1 naming the line (issue 12, item 4).

mod common;

use common::{lines, record, schema, state, Db};
use serde_json::{json, Value as Json};

/// `count` records of append-only stream `S` with a STATE after every `every`.
fn source(count: i64, every: i64) -> Vec<Json> {
    let mut messages = vec![schema("S", &[])];
    for i in 1..=count {
        messages.push(record("S", i, &format!("v{i}")));
        if i % every == 0 {
            messages.push(state(json!({"done": i})));
        }
    }
    messages
}

/// The last STATE wholly inside `text` and how many records precede it.
fn last_complete_state(text: &str) -> (Option<Json>, usize) {
    let mut last = None;
    let mut records = 0;
    let mut records_at_last = 0;
    for line in text.split_inclusive('\n').filter(|l| l.ends_with('\n')) {
        let message: Json = serde_json::from_str(line).unwrap();
        match message["type"].as_str() {
            Some("RECORD") => records += 1,
            Some("STATE") => {
                last = Some(message["value"].clone());
                records_at_last = records;
            }
            _ => {}
        }
    }
    (last, records_at_last)
}

#[test]
fn a_cut_input_commits_the_rows_before_its_last_complete_state() {
    let full = lines(&source(2_000, 97));
    let newline_count = |text: &str| text.bytes().filter(|&b| b == b'\n').count();
    let mut checked = 0;
    for cut in (1..12).map(|k| k * full.len() / 12 + 7) {
        // A tap that died mid-line: the cut never falls next to a newline (a last line
        // without its newline is complete).
        let near_newline = |at: usize| full.as_bytes()[at - 1..=at].contains(&b'\n');
        let cut = if near_newline(cut) { cut + 3 } else { cut };
        let head = &full[..cut];
        let (expected_state, expected_rows) = last_complete_state(head);
        // Batches big enough that only the error's own commit writes rows.
        let db = Db::new(json!({"batch_size_rows": 100_000}));
        let run = db.run(head);
        assert_eq!(run.code, 1, "cut at {cut}: {}", run.stderr);
        let cut_line = newline_count(head) + 1;
        assert!(
            run.stderr.contains(&format!("line {cut_line}:")),
            "cut at {cut}: the error names line {cut_line}: {}",
            run.stderr
        );
        assert_eq!(
            run.states().last().cloned(),
            expected_state,
            "cut at {cut}: the last complete STATE is emitted"
        );
        // Append-only: exactly the rows the emitted STATE covers, none after it (a
        // restart from that STATE sends those again).
        let ids: Vec<i64> = db
            .rows("S")
            .iter()
            .map(|r| match &r["ID"] {
                db_boundary::Value::Number(n) => n.as_str().parse().unwrap(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            ids,
            (1..=expected_rows as i64).collect::<Vec<_>>(),
            "cut at {cut}"
        );
        checked += 1;
    }
    assert_eq!(checked, 11);
}

#[test]
fn every_fatal_input_error_commits_up_to_the_last_state_and_names_its_line() {
    let bad_lines = [
        (
            "unknown stream",
            json!({"type": "RECORD", "stream": "NOPE", "record": {"id": 1}}),
            "NOPE",
        ),
        (
            "bad SCHEMA",
            json!({"type": "SCHEMA", "stream": "T", "key_properties": ["missing"],
                   "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}),
            "missing",
        ),
        (
            "BATCH whose file is missing",
            json!({"type": "BATCH", "stream": "S", "encoding": {"format": "jsonl"},
                   "manifest": ["file:///nonexistent/x.jsonl"]}),
            "batch file",
        ),
        (
            "ACTIVATE_VERSION of an unknown stream",
            json!({"type": "ACTIVATE_VERSION", "stream": "NOPE", "version": 3}),
            "NOPE",
        ),
    ];
    for (case, bad, mentioned) in bad_lines {
        let mut messages = source(30, 10);
        // 30 records, STATE after 10, 20 and 30; then 5 more records and the bad line.
        for i in 31..=35 {
            messages.push(record("S", i, "late"));
        }
        messages.push(bad);
        messages.push(record("S", 99, "never"));
        let bad_line = messages.len() - 1;
        let db = Db::new(json!({"batch_size_rows": 1000}));
        let run = db.run(&lines(&messages));
        assert_eq!(run.code, 1, "{case}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("line {bad_line}")) && run.stderr.contains(mentioned),
            "{case}: {}",
            run.stderr
        );
        assert_eq!(
            run.states().last(),
            Some(&json!({"done": 30})),
            "{case}: {}",
            run.stdout
        );
        assert_eq!(db.rows("S").len(), 30, "{case}: rows up to the last STATE");
    }
}
