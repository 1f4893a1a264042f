//! Helpers the tap's end-to-end test files share: this crate's fixture over the shared
//! `SimFixture`, running the real binary, reading its messages, and the EVENTS table (a
//! composite key) most tests sync.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use chrono::NaiveDate;
use db_boundary::Value;
use serde_json::{json, Value as Json};
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};
use test_support::SimFixture;

pub const TAP: &str = env!("CARGO_BIN_EXE_tap-oracle");

/// The shared simulated-database fixture with this file's default: a STATE every 100
/// rows, so short tables still checkpoint mid-pass.
pub struct Fixture(pub SimFixture);

impl std::ops::Deref for Fixture {
    type Target = SimFixture;
    fn deref(&self) -> &SimFixture {
        &self.0
    }
}

impl Fixture {
    pub fn new() -> Fixture {
        Fixture(SimFixture::new())
    }

    pub fn config(&self, extra: Json) -> PathBuf {
        let mut config = json!({"state_every_rows": 100});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        self.0.config(config)
    }

    /// Discovers and selects every stream, with per-stream metadata overrides.
    pub fn catalog(&self, config: &Path, overrides: Json) -> PathBuf {
        self.0.catalog(Path::new(TAP), config, overrides)
    }
}

/// Starts a sync of `catalog` with `config`: stdout piped, stderr as asked.
pub fn spawn_sync(config: &Path, catalog: &Path, stderr: Stdio) -> Child {
    Command::new(TAP)
        .args([
            "--config",
            config.to_str().unwrap(),
            "--catalog",
            catalog.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .unwrap()
}

/// Asserts that a sync whose stdout was closed early ended quietly: exit 3, one line
/// saying so, no panic.
pub fn assert_ended_on_closed_stdout(child: Child, context: &str) {
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{context}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stdout was closed"), "{context}: {stderr}");
    assert!(!stderr.contains("panicked"), "{context}: {stderr}");
}

pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(TAP)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

/// Runs a sync of `catalog` with `config` (no state) to its end.
pub fn run_sync(config: &Path, catalog: &Path) -> std::process::Output {
    run(&[
        "--config",
        config.to_str().unwrap(),
        "--catalog",
        catalog.to_str().unwrap(),
    ])
}

pub fn messages(stdout: &[u8]) -> Vec<Json> {
    String::from_utf8(stdout.to_vec())
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("not one JSON object per line: {e}: {l}"))
        })
        .collect()
}

pub fn records<'a>(messages: &'a [Json], stream: &str) -> Vec<&'a Json> {
    messages
        .iter()
        .filter(|m| m["type"] == "RECORD" && m["stream"] == stream)
        .map(|m| &m["record"])
        .collect()
}

#[allow(clippy::too_many_arguments)] // mirrors the ALL_TAB_COLS columns a test sets
pub fn column(
    table: &str,
    id: u32,
    name: &str,
    data_type: &str,
    precision: Option<u32>,
    scale: Option<i32>,
    length: u32,
    nullable: bool,
) -> ColumnRow {
    ColumnRow {
        owner: "APP".into(),
        table_name: table.into(),
        column_id: Some(id),
        column_name: name.into(),
        data_type: data_type.into(),
        data_type_owner: None,
        data_length: Some(length),
        data_precision: precision,
        data_scale: scale,
        char_length: Some(length),
        char_used: Some("C".into()),
        nullable: if nullable { "Y" } else { "N" }.into(),
        virtual_column: None,
        hidden_column: None,
        identity_column: None,
    }
}

pub fn table(name: &str) -> TableRow {
    TableRow {
        owner: "APP".into(),
        table_name: name.into(),
        table_type: "TABLE".into(),
        iot_type: None,
        partitioned: None,
        temporary: None,
        num_rows: None,
    }
}

pub fn pk(table: &str, column: &str, position: u32) -> ConstraintRow {
    ConstraintRow {
        owner: "APP".into(),
        table_name: table.into(),
        constraint_name: format!("{table}_PK"),
        constraint_type: "P".into(),
        column_name: column.into(),
        position,
        status: Some("ENABLED".into()),
    }
}

/// EVENTS: a composite key (ID2, ID1 by POSITION), a timestamp and a payload.
pub fn events(f: &Fixture, rows: u32) {
    f.backend
        .load_dictionary(&DictionaryRows {
            tables: vec![table("EVENTS")],
            columns: vec![
                column("EVENTS", 1, "ID1", "NUMBER", Some(10), Some(0), 22, false),
                column("EVENTS", 2, "ID2", "VARCHAR2", None, None, 10, false),
                column("EVENTS", 3, "AT", "TIMESTAMP(6)", None, Some(6), 11, false),
                column("EVENTS", 4, "NOTE", "VARCHAR2", None, None, 100, true),
            ],
            constraints: vec![pk("EVENTS", "ID2", 1), pk("EVENTS", "ID1", 2)],
        })
        .unwrap();
    insert_events(f, 0..rows);
}

pub fn insert_events(f: &Fixture, range: std::ops::Range<u32>) {
    let base = NaiveDate::from_ymd_opt(2026, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    let names = ["ID1", "ID2", "AT", "NOTE"].map(String::from);
    let rows = range.map(|i| {
        vec![
            Value::Number((i / 3).into()),
            Value::Text(format!("K{}", i % 3)),
            Value::Timestamp(base + chrono::Duration::minutes(i as i64 / 2)),
            Value::Text(format!("event {i}")),
        ]
    });
    f.backend
        .insert_rows("APP", "EVENTS", &names, rows)
        .unwrap();
}

pub fn key_of(record: &Json) -> (String, String) {
    (record["ID1"].to_string(), record["ID2"].to_string())
}
