//! Chunked FULL_TABLE over the real binary (`max_parallel_chunks`): key ranges read by
//! several sessions AS OF one SCN, each range's progress in STATE, and a killed run
//! resumed from its last STATE re-reading only the unfinished ranges' tails.

mod common;
use common::*;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::{json, Value as Json};

fn sync_args(f: &Fixture, config: &std::path::Path, state: Option<&Json>) -> Vec<String> {
    let catalog = f.catalog(config, json!({}));
    let mut args = vec![
        "--config".to_owned(),
        config.to_str().unwrap().to_owned(),
        "--catalog".to_owned(),
        catalog.to_str().unwrap().to_owned(),
    ];
    if let Some(state) = state {
        let path = f.path("state.json");
        std::fs::write(&path, state.to_string()).unwrap();
        args.extend(["--state".to_owned(), path.to_str().unwrap().to_owned()]);
    }
    args
}

fn keys(messages: &[Json]) -> Vec<(String, String)> {
    records(messages, "APP-EVENTS")
        .iter()
        .map(|r| key_of(r))
        .collect()
}

/// Three chunks on three sessions: every row once, STATE holds each chunk's range and
/// progress while the pass runs, and nothing of them once it is complete.
#[test]
fn a_chunked_pass_reads_every_row_once_and_tracks_each_chunk() {
    let f = Fixture::new();
    events(&f, 300);
    let config = f.config(
        json!({"max_parallel_chunks": 3, "full_table_page_rows": 20, "state_every_rows": 25}),
    );
    let args = sync_args(&f, &config, None);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all = messages(&out.stdout);
    let mut read = keys(&all);
    assert_eq!(read.len(), 300);
    read.sort();
    read.dedup();
    assert_eq!(read.len(), 300, "no row twice");
    // The first STATE with chunks comes before any row: the ranges as planned.
    let planned = all
        .iter()
        .filter(|m| m["type"] == "STATE")
        .find_map(|m| m["value"]["bookmarks"]["APP-EVENTS"]["chunks"].as_array())
        .expect("STATE shows the chunks");
    assert_eq!(planned.len(), 3);
    assert_eq!(
        planned[0]["after"],
        Json::Null,
        "the first chunk starts at the table's start"
    );
    assert_eq!(planned[1]["after"], planned[0]["through"], "ranges meet");
    assert_eq!(planned[2]["after"], planned[1]["through"], "ranges meet");
    assert_eq!(
        planned[2]["through"],
        Json::Null,
        "the last chunk is open above"
    );
    // NTILE(3) over 300 rows in key order (ID2, ID1): 100 rows each.
    assert_eq!(planned[0]["through"], json!({"ID2": "K0", "ID1": 99}));
    assert_eq!(planned[1]["through"], json!({"ID2": "K1", "ID1": 99}));
    assert!(planned.iter().all(|c| c["done"] == json!(false)));
    let last = &all.last().unwrap()["value"]["bookmarks"]["APP-EVENTS"];
    assert_eq!(last["chunks"], Json::Null, "{last}");
    assert!(last["scn"].is_null() && last["version"].is_i64());
    assert_eq!(
        all.iter()
            .filter(|m| m["type"] == "ACTIVATE_VERSION")
            .count(),
        2
    );
}

/// Killed midway and restarted with its last STATE: the rows sent before that STATE
/// and the rows of the restart are the table, each once, at the same SCN and version.
#[test]
fn a_killed_chunked_pass_resumes_each_unfinished_chunk_after_its_last_row() {
    let f = Fixture::new();
    events(&f, 600);
    let config = f.config(
        json!({"max_parallel_chunks": 3, "full_table_page_rows": 40, "state_every_rows": 30}),
    );
    let args = sync_args(&f, &config, None);
    let mut child = Command::new(TAP)
        .args(&args)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let seen: Vec<Json> = reader
        .lines()
        .take(300)
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let last_state_at = seen.iter().rposition(|m| m["type"] == "STATE").unwrap();
    let state = seen[last_state_at]["value"].clone();
    let bookmark = &state["bookmarks"]["APP-EVENTS"];
    let chunks = bookmark["chunks"]
        .as_array()
        .expect("killed inside a chunked pass");
    assert_eq!(chunks.len(), 3);
    let (scn, version) = (bookmark["scn"].clone(), bookmark["version"].clone());
    let before = keys(&seen[..last_state_at]);
    assert!(!before.is_empty() && before.len() < 600, "{}", before.len());

    let args = sync_args(&f, &config, Some(&state));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rest = messages(&out.stdout);
    let first_state =
        &rest.iter().find(|m| m["type"] == "STATE").unwrap()["value"]["bookmarks"]["APP-EVENTS"];
    assert_eq!(
        (&first_state["scn"], &first_state["version"]),
        (&scn, &version),
        "same snapshot, same version"
    );
    let again = keys(&rest);
    assert_eq!(
        again.len(),
        600 - before.len(),
        "only what the last STATE did not cover is read again"
    );
    let mut union = before;
    union.extend(again);
    union.sort();
    union.dedup();
    assert_eq!(union.len(), 600, "every row, none twice");
}
