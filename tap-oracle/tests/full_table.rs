//! FULL_TABLE reads over the real binary: keyset and ROWID pages (one query per page,
//! each starting at the last row read) and views without a key (no ROWID).

mod common;
use common::*;

use serde_json::{json, Value as Json};
use singer_core::dictionary::DictionaryRows;

/// Runs a sync with `--log-level debug`; returns the messages and the number of pages
/// the tap logged.
fn sync(f: &Fixture, config: &std::path::Path, state: Option<&Json>) -> (Vec<Json>, usize) {
    let catalog = f.catalog(config, json!({}));
    let mut args = vec![
        "--config".to_owned(),
        config.to_str().unwrap().to_owned(),
        "--catalog".to_owned(),
        catalog.to_str().unwrap().to_owned(),
        "--log-level".to_owned(),
        "debug".to_owned(),
    ];
    if let Some(state) = state {
        let path = f.path("state.json");
        std::fs::write(&path, state.to_string()).unwrap();
        args.extend(["--state".to_owned(), path.to_str().unwrap().to_owned()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    (messages(&out.stdout), stderr.matches("page read").count())
}

fn keys(messages: &[Json]) -> Vec<(String, String)> {
    records(messages, "APP-EVENTS")
        .iter()
        .map(|r| key_of(r))
        .collect()
}

/// 10 rows in pages of 3: four queries, every row once in key order; resumed from a
/// STATE in the middle of a page, the rest of the rows follow, none lost.
#[test]
fn a_keyed_table_is_read_in_pages_that_start_at_the_last_row() {
    let f = Fixture::new();
    events(&f, 10);
    let config = f.config(json!({"full_table_page_rows": 3, "state_every_rows": 2}));
    let (all, pages) = sync(&f, &config, None);
    assert_eq!(pages, 4, "3 + 3 + 3 + 1 rows");
    let read = keys(&all);
    let mut sorted = read.clone();
    sorted.sort_by_key(|(id1, id2)| (id2.clone(), id1.parse::<u32>().unwrap()));
    assert_eq!(read, sorted, "key order (ID2, ID1)");
    sorted.dedup();
    assert_eq!(sorted.len(), 10, "every row once");

    // The STATE after the 4th row lies inside the second page.
    let states: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, m)| m["type"] == "STATE")
        .map(|(i, _)| i)
        .collect();
    let middle = states[2];
    let sent = keys(&all[..middle]).len();
    assert_eq!(sent, 4);
    let (rest, _) = sync(&f, &config, Some(&all[middle]["value"]));
    let mut union = keys(&all[..middle]);
    union.extend(keys(&rest));
    assert_eq!(
        union, read,
        "resumed after the 4th row: the same rows, once each"
    );
}

/// A table without a key is read in ROWID pages.
#[test]
fn a_keyless_table_is_read_in_rowid_pages() {
    let f = Fixture::new();
    keyless(&f, "TABLE");
    let config = f.config(json!({"full_table_page_rows": 4}));
    let (all, pages) = sync(&f, &config, None);
    assert_eq!(pages, 3, "4 + 4 + 2 rows");
    let mut read = keys(&all);
    read.sort();
    read.dedup();
    assert_eq!(read.len(), 10);
}

/// A view without a key: no ROWID (ORA-01446 on views that are not key-preserved; the
/// simulated backend treats every view so), one unordered read, every row.
#[test]
fn a_keyless_view_is_read_without_rowid() {
    let f = Fixture::new();
    keyless(&f, "VIEW");
    let config = f.config(json!({"full_table_page_rows": 4}));
    let (all, pages) = sync(&f, &config, None);
    assert_eq!(pages, 1, "one read, not paged");
    let mut read = keys(&all);
    read.sort();
    read.dedup();
    assert_eq!(read.len(), 10);
    let bookmark = &all.last().unwrap()["value"]["bookmarks"]["APP-EVENTS"];
    assert_eq!(bookmark["last_rowid"], Json::Null, "{bookmark}");
    assert!(bookmark["version"].is_i64());
}

/// An external table (ALL_EXTERNAL_TABLES): `AS OF SCN` is ORA-08188 and ROWID is
/// ORA-02031 on it, so even with `use_flashback` it is read in one pass as it is, with
/// no SCN and no ROWID in STATE; discovery marks it `is-external`.
#[test]
fn an_external_table_is_read_in_one_pass_without_flashback_or_rowid() {
    let f = Fixture::new();
    keyless(&f, "EXTERNAL TABLE");
    let config = f.config(json!({"full_table_page_rows": 4, "use_flashback": true}));
    let catalog: Json =
        serde_json::from_slice(&std::fs::read(f.catalog(&config, json!({}))).unwrap()).unwrap();
    assert_eq!(
        catalog["streams"][0]["metadata"][0]["metadata"]["is-external"],
        json!(true)
    );
    let (all, pages) = sync(&f, &config, None);
    assert_eq!(pages, 1, "one read, not paged");
    let mut read = keys(&all);
    read.sort();
    read.dedup();
    assert_eq!(read.len(), 10);
    for state in all.iter().filter(|m| m["type"] == "STATE") {
        let bookmark = &state["value"]["bookmarks"]["APP-EVENTS"];
        assert_eq!(bookmark["scn"], Json::Null, "{bookmark}");
        assert_eq!(bookmark["last_rowid"], Json::Null, "{bookmark}");
    }
}

/// LOG_BASED on an external table is refused by name before any output: its rows are
/// in files, not in the redo.
#[test]
fn log_based_on_an_external_table_is_refused() {
    let f = Fixture::new();
    keyless(&f, "EXTERNAL TABLE");
    let config = f.config(json!({}));
    let catalog = f.catalog(
        &config,
        json!({"APP-EVENTS": {"replication-method": "LOG_BASED"}}),
    );
    let out = run_sync(&config, &catalog);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("external table has no redo"), "{stderr}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

/// EVENTS without a primary key, as a table, a view or an external table.
fn keyless(f: &Fixture, table_type: &str) {
    let mut events = table("EVENTS");
    events.table_type = table_type.into();
    f.backend
        .load_dictionary(&DictionaryRows {
            tables: vec![events],
            columns: vec![
                column("EVENTS", 1, "ID1", "NUMBER", Some(10), Some(0), 22, false),
                column("EVENTS", 2, "ID2", "VARCHAR2", None, None, 10, false),
                column("EVENTS", 3, "AT", "TIMESTAMP(6)", None, Some(6), 11, false),
                column("EVENTS", 4, "NOTE", "VARCHAR2", None, None, 100, true),
            ],
            constraints: vec![],
        })
        .unwrap();
    insert_events(f, 0..10);
}

/// A pass resumed at a flashback SCN the database can no longer read (commits came
/// since and what would undo them is gone: ORA-01555; or the table changed shape:
/// ORA-01466) starts over at a fresh SCN under a new version, loudly, and its closing
/// ACTIVATE_VERSION names the new version.
#[test]
fn a_lost_flashback_snapshot_restarts_the_pass_under_a_new_version() {
    for ddl in [false, true] {
        let f = Fixture::new();
        events(&f, 10);
        let config = f.config(json!({"use_flashback": true, "state_every_rows": 3}));
        let (first, _) = sync(&f, &config, None);
        let middle = first
            .iter()
            .position(|m| {
                m["type"] == "STATE"
                    && m["value"]["bookmarks"]["APP-EVENTS"]["last_pk_fetched"].is_object()
            })
            .unwrap();
        let state = first[middle]["value"].clone();
        let old_version = state["bookmarks"]["APP-EVENTS"]["version"]
            .as_i64()
            .unwrap();
        let old_scn = state["bookmarks"]["APP-EVENTS"]["scn"].as_u64().unwrap();
        if ddl {
            use db_boundary::{AlterTable, Backend, ColumnDef, TableName};
            let mut sink = f.backend.sink().unwrap();
            sink.alter_table(
                &TableName {
                    schema: Some("APP".into()),
                    name: "EVENTS".into(),
                },
                &AlterTable::AddColumn(ColumnDef {
                    name: "EXTRA".into(),
                    data_type: "NUMBER".parse().unwrap(),
                    nullable: true,
                    check: None,
                }),
            )
            .unwrap();
        } else {
            insert_events(&f, 10..12);
            // The simulated backend rebuilds older reads from its redo: with the logs of
            // those commits overwritten (NOARCHIVELOG, three groups), it cannot.
            for _ in 0..4 {
                f.backend.switch_logfile().unwrap();
            }
        }
        let catalog = f.catalog(&config, json!({}));
        let path = f.path("state.json");
        std::fs::write(&path, state.to_string()).unwrap();
        let out = run(&[
            "--config",
            config.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
            "--state",
            path.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        let code = if ddl { "ORA-01466" } else { "ORA-01555" };
        assert!(
            stderr.contains("starts over") && stderr.contains(code),
            "{stderr}"
        );
        let rest = messages(&out.stdout);
        let expected = if ddl { 10 } else { 12 };
        assert_eq!(keys(&rest).len(), expected, "the whole table again, once");
        let activated: Vec<i64> = rest
            .iter()
            .filter(|m| m["type"] == "ACTIVATE_VERSION")
            .map(|m| m["version"].as_i64().unwrap())
            .collect();
        assert_eq!(activated.len(), 1);
        assert!(
            activated[0] > old_version,
            "a new version retires the old one's rows: {activated:?} {old_version} {rest:?}"
        );
        let versions: Vec<i64> = rest
            .iter()
            .filter(|m| m["type"] == "RECORD")
            .map(|m| m["version"].as_i64().unwrap())
            .collect();
        assert!(versions.iter().all(|v| *v == activated[0]));
        let last = &rest.last().unwrap()["value"]["bookmarks"]["APP-EVENTS"];
        assert_eq!(last["version"], json!(activated[0]));
        let restarted = rest
            .iter()
            .find(|m| {
                m["type"] == "STATE"
                    && m["value"]["bookmarks"]["APP-EVENTS"]["version"] == json!(activated[0])
            })
            .unwrap();
        assert!(
            restarted["value"]["bookmarks"]["APP-EVENTS"]["scn"]
                .as_u64()
                .unwrap()
                > old_scn
        );
    }
}
