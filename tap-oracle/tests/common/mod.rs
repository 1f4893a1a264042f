//! Helpers the tap's end-to-end test files share: a simulated database in a temp dir,
//! config and catalog files, running the real binary, reading its messages, and the
//! EVENTS table (a composite key) most tests sync.
#![allow(dead_code)] // each test file uses its own subset

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::NaiveDate;
use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};

pub const TAP: &str = env!("CARGO_BIN_EXE_tap-oracle");

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub backend: SimBackend,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let backend = SimBackend::open(&dir.path().join("db")).unwrap();
        Fixture { dir, backend }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn config(&self, extra: Json) -> PathBuf {
        let mut config =
            json!({"driver": "sim", "sim_path": self.path("db"), "state_every_rows": 100});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        let path = self.path("config.json");
        std::fs::write(&path, config.to_string()).unwrap();
        path
    }

    /// Discovers and selects every stream, with per-stream metadata overrides.
    pub fn catalog(&self, config: &Path, overrides: Json) -> PathBuf {
        let out = run(&["--config", config.to_str().unwrap(), "--discover"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut catalog: Json = serde_json::from_slice(&out.stdout).unwrap();
        for stream in catalog["streams"].as_array_mut().unwrap() {
            let id = stream["tap_stream_id"].as_str().unwrap().to_owned();
            let meta = &mut stream["metadata"][0]["metadata"];
            meta["selected"] = json!(true);
            if let Some(extra) = overrides.get(&id) {
                for (k, v) in extra.as_object().unwrap() {
                    meta[k] = v.clone();
                }
            }
        }
        let path = self.path("catalog.json");
        std::fs::write(&path, catalog.to_string()).unwrap();
        path
    }
}

pub fn run(args: &[&str]) -> std::process::Output {
    Command::new(TAP)
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
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
            Value::Number((i / 3).to_string()),
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
