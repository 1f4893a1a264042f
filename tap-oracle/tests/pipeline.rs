//! `fetch_pipeline`: a sync with fetching and encoding on two threads writes the same
//! messages in the same order as one thread, and a stdout closed mid-stream still ends
//! the run quietly with exit code 3, without hanging. Large rows go out every few MiB.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

use db_boundary::Value;
use serde_json::{json, Value as Json};
use singer_core::dictionary::DictionaryRows;

use common::*;

/// Messages with what differs between two runs of the same sync (the time a batch was
/// extracted, the table version) blanked out.
fn comparable(stdout: &[u8]) -> Vec<Json> {
    let mut messages = messages(stdout);
    for m in &mut messages {
        let Some(object) = m.as_object_mut() else {
            continue;
        };
        object.remove("time_extracted");
        if object.contains_key("version") {
            object.insert("version".into(), json!(0));
        }
        if let Some(bookmarks) = object
            .get_mut("value")
            .and_then(|v| v.get_mut("bookmarks"))
            .and_then(Json::as_object_mut)
        {
            for bookmark in bookmarks.values_mut().filter_map(Json::as_object_mut) {
                if bookmark.contains_key("version") {
                    bookmark.insert("version".into(), json!(0));
                }
            }
        }
    }
    messages
}

#[test]
fn pipelined_and_single_threaded_syncs_write_the_same_messages_in_the_same_order() {
    let f = Fixture::new();
    // Several batches of the pipeline, a STATE every 37 rows, several FULL_TABLE pages.
    events(&f, 5_000);
    let mut outputs = Vec::new();
    for pipeline in ["off", "on"] {
        let config = f.config(json!({
            "state_every_rows": 37,
            "full_table_page_rows": 1_500,
            "fetch_pipeline": pipeline,
        }));
        let catalog = f.catalog(&config, json!({}));
        let out = run_sync(&config, &catalog);
        assert!(out.status.success(), "{pipeline}: {out:?}");
        outputs.push(comparable(&out.stdout));
    }
    assert_eq!(records(&outputs[0], "APP-EVENTS").len(), 5_000);
    let states = outputs[0].iter().filter(|m| m["type"] == "STATE").count();
    assert!(states > 5_000 / 37, "{states} STATE messages");
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn a_stdout_closed_mid_stream_ends_a_pipelined_run_quietly_without_hanging() {
    let f = Fixture::new();
    events(&f, 30_000);
    for (pipeline, lines) in [("on", 1), ("on", 2_500), ("off", 2_500)] {
        let config = f.config(json!({"fetch_pipeline": pipeline, "state_every_rows": 500}));
        let catalog = f.catalog(&config, json!({}));
        let mut child = spawn_sync(&config, &catalog, Stdio::piped());
        let reader = BufReader::new(child.stdout.take().unwrap());
        assert_eq!(reader.lines().take(lines).count(), lines);
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                child.kill().unwrap();
                panic!("{pipeline}: the tap hangs after its stdout closed");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.code(), Some(3), "{pipeline} after {lines} lines");
        assert_ended_on_closed_stdout(child, &format!("{pipeline} after {lines} lines"));
    }
}

#[test]
fn a_stream_of_large_clobs_goes_out_every_few_mib_each_with_its_state() {
    // 40 rows of 1 MB: with STATE only every 10,000 rows the whole stream would be held
    // in memory; its buffer goes out with a STATE every 8 MiB instead.
    let f = Fixture::new();
    f.backend
        .load_dictionary(&DictionaryRows {
            tables: vec![table("DOCS")],
            columns: vec![
                column("DOCS", 1, "ID", "NUMBER", Some(10), Some(0), 22, false),
                column("DOCS", 2, "BODY", "CLOB", None, None, 4000, true),
            ],
            constraints: vec![pk("DOCS", "ID", 1)],
        })
        .unwrap();
    let names = ["ID", "BODY"].map(String::from);
    let rows = (0..40u32).map(|i| {
        vec![
            Value::Number(i.into()),
            Value::Text(format!("{i:04}").repeat(250_000)),
        ]
    });
    f.backend.insert_rows("APP", "DOCS", &names, rows).unwrap();
    for pipeline in ["off", "on"] {
        let config = f.config(json!({"state_every_rows": 10_000, "fetch_pipeline": pipeline}));
        let catalog = f.catalog(&config, json!({}));
        let out = run_sync(&config, &catalog);
        assert!(out.status.success(), "{pipeline}: {out:?}");
        let messages = messages(&out.stdout);
        let mut since_state = 0;
        let mut states_between_records = 0;
        let mut last_key = None;
        for m in &messages {
            match m["type"].as_str() {
                Some("RECORD") => {
                    assert_eq!(m["record"]["BODY"].as_str().unwrap().len(), 1_000_000);
                    last_key = m["record"]["ID"].as_u64();
                    since_state += 1;
                    assert!(
                        since_state <= 9,
                        "{pipeline}: {since_state} 1 MB records without a STATE"
                    );
                }
                Some("STATE") if since_state > 0 => {
                    since_state = 0;
                    let bookmark = &m["value"]["bookmarks"]["APP-DOCS"];
                    if last_key != Some(39) {
                        // Mid-pass: the STATE resumes after the last record before it.
                        assert_eq!(
                            bookmark["last_pk_fetched"]["ID"].as_u64(),
                            last_key,
                            "{pipeline}"
                        );
                        states_between_records += 1;
                    }
                }
                _ => {}
            }
        }
        assert_eq!(records(&messages, "APP-DOCS").len(), 40);
        assert!(
            states_between_records >= 4,
            "{pipeline}: {states_between_records}"
        );
    }
}
