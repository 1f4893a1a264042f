//! tap-oracle's `batch_config` (README "BATCH files"): the rows go to JSON Lines files
//! named by BATCH messages, each before the STATE that covers its rows. Loaded by
//! target-oracle, they leave the same tables as the same sync sent as RECORDs, with
//! the FULL_TABLE version on every row, so ACTIVATE_VERSION retires rows deleted at the
//! source; run again from a STATE in the middle, the tap sends exactly the rows after it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use test_support::{
    bin, describe, parse_json_lines, run_ok, run_with_input, sample_dir, write_catalog,
};

const STREAMS: [&str; 3] = ["HR-DEPARTMENTS", "HR-EMPLOYEES", "HR-JOB_HISTORY"];

struct Setup {
    dir: tempfile::TempDir,
    catalog: std::path::PathBuf,
}

impl Setup {
    /// The sample schema in a simulated source, every stream selected (FULL_TABLE).
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        let source = SimBackend::open(&dir.path().join("source")).expect("open");
        sim_backend::seed::seed_dir(&source, &sample_dir()).expect("seed");
        let config = Setup::write(dir.path(), "plain.json", json!({}));
        let path = dir.path().join("catalog.json");
        write_catalog(&bin("tap-oracle"), &config, &path, |_, meta| {
            meta["selected"] = json!(true);
        });
        Setup { dir, catalog: path }
    }

    /// A tap config over the source with `extra` settings.
    fn write(dir: &Path, name: &str, extra: Json) -> std::path::PathBuf {
        let mut config = json!({"driver": "sim", "sim_path": dir.join("source"),
                                "state_every_rows": 25});
        for (k, v) in extra.as_object().expect("object") {
            config[k] = v.clone();
        }
        let path = dir.join(name);
        std::fs::write(&path, config.to_string()).expect("config");
        path
    }

    fn batch_config(&self, name: &str, gzip: bool) -> std::path::PathBuf {
        let root = format!("file://{}", self.dir.path().join("batch files").display());
        Setup::write(
            self.dir.path(),
            name,
            json!({"batch_config": {
                "encoding": {"format": "jsonl", "compression": if gzip { "gzip" } else { "none" }},
                "storage": {"root": root.replace(' ', "%20"), "prefix": "hr-"},
                "batch_size": 10
            }}),
        )
    }

    /// The tap's stdout, with `state` when given.
    fn tap(&self, config: &Path, state: Option<&Json>) -> Vec<u8> {
        let mut command = Command::new(bin("tap-oracle"));
        command
            .arg("--config")
            .arg(config)
            .arg("--catalog")
            .arg(&self.catalog)
            .env_remove("RUST_LOG");
        if let Some(state) = state {
            let path = self.dir.path().join("state.json");
            std::fs::write(&path, state.to_string()).expect("state");
            command.arg("--state").arg(path);
        }
        run_ok(&mut command).stdout
    }

    /// Loads `messages` with target-oracle into the simulated database `db`.
    fn load(&self, messages: &[u8], db: &str) {
        let config = self.dir.path().join(format!("{db}.json"));
        std::fs::write(
            &config,
            json!({"driver": "sim", "sim_path": self.dir.path().join(db), "hard_delete": true})
                .to_string(),
        )
        .expect("target config");
        let loaded = run_with_input(
            Command::new(bin("target-oracle"))
                .arg("--config")
                .arg(&config)
                .env_remove("RUST_LOG"),
            messages,
        );
        assert!(loaded.status.success(), "{}", describe(&loaded));
    }

    /// Every table of `db`: its rows as column -> value maps, `_SDC_` columns apart.
    fn tables(&self, db: &str) -> BTreeMap<String, Vec<BTreeMap<String, Value>>> {
        let backend = SimBackend::open(&self.dir.path().join(db)).expect("open");
        STREAMS
            .iter()
            .map(|stream| {
                let table = stream.replace('-', "_");
                let names = backend.column_names("SIM_USER", &table).expect("columns");
                let mut rows: Vec<BTreeMap<String, Value>> = backend
                    .read_rows("SIM_USER", &table)
                    .expect("rows")
                    .into_iter()
                    .map(|row| names.iter().cloned().zip(row).collect())
                    .collect();
                rows.sort_by_key(|r| format!("{r:?}"));
                (table, rows)
            })
            .collect()
    }
}

/// The records a BATCH message's files hold, in order.
fn records_of(batch: &Json) -> Vec<Json> {
    let mut records = Vec::new();
    for url in batch["manifest"].as_array().expect("manifest") {
        let path = singer_core::file_url::to_path(url.as_str().expect("url")).expect("path");
        let bytes = std::fs::read(&path).expect("the file a BATCH names exists");
        let text = if batch["encoding"]["compression"] == "gzip" {
            gunzip(&bytes)
        } else {
            String::from_utf8(bytes).expect("utf-8")
        };
        records.extend(parse_json_lines(&text));
    }
    records
}

/// gzip decoding through the standard tool, so the test does not trust our own reader.
fn gunzip(bytes: &[u8]) -> String {
    let out = run_with_input(Command::new("gzip").arg("-dc"), bytes);
    assert!(out.status.success(), "{}", describe(&out));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Per stream, the records a run sent: RECORDs' and BATCH files' alike.
fn sent(messages: &[Json]) -> BTreeMap<String, Vec<Json>> {
    let mut sent: BTreeMap<String, Vec<Json>> = BTreeMap::new();
    for m in messages {
        let stream = m["stream"].as_str().unwrap_or_default().to_owned();
        match m["type"].as_str() {
            Some("RECORD") => sent.entry(stream).or_default().push(m["record"].clone()),
            Some("BATCH") => sent.entry(stream).or_default().extend(records_of(m)),
            _ => {}
        }
    }
    sent
}

#[test]
fn batch_files_hold_the_records_and_load_as_the_records_do() {
    let setup = Setup::new();
    let by_record = setup.tap(&Setup::write(setup.dir.path(), "p.json", json!({})), None);
    for gzip in [true, false] {
        let out = setup.tap(&setup.batch_config("b.json", gzip), None);
        let messages = parse_json_lines(&String::from_utf8_lossy(&out));
        assert!(messages.iter().all(|m| m["type"] != "RECORD"));
        // Each STATE covers only rows of files already named: the files named before
        // it hold, per stream, a prefix of the records in key order, ending at its
        // bookmark.
        let mut named: BTreeMap<String, Vec<Json>> = BTreeMap::new();
        for m in &messages {
            match m["type"].as_str() {
                Some("BATCH") => {
                    assert_eq!(
                        m["encoding"]["compression"],
                        if gzip { "gzip" } else { "none" }
                    );
                    assert!(
                        m["version"].is_i64() && m["time_extracted"].is_string(),
                        "{m}"
                    );
                    let records = records_of(m);
                    assert!((1..=10).contains(&records.len()), "batch_size 10: {m}");
                    named
                        .entry(m["stream"].as_str().expect("stream").to_owned())
                        .or_default()
                        .extend(records);
                }
                Some("STATE") => {
                    for (stream, bookmark) in
                        m["value"]["bookmarks"].as_object().expect("bookmarks")
                    {
                        let Some(last) = bookmark["last_pk_fetched"].as_object() else {
                            continue;
                        };
                        let record = named[stream].last().expect("rows named before the STATE");
                        for (key, value) in last {
                            assert_eq!(&record[key], value, "{stream} at {m}");
                        }
                    }
                }
                _ => {}
            }
        }
        let records = parse_json_lines(&String::from_utf8_lossy(&by_record));
        assert_eq!(sent(&messages), sent(&records), "gzip {gzip}");
        assert_eq!(sent(&messages)["HR-EMPLOYEES"].len(), 107);
    }

    // Loaded: the same tables, and the FULL_TABLE version on every row.
    let out = setup.tap(&setup.batch_config("b.json", true), None);
    setup.load(&out, "by_batch");
    setup.load(&by_record, "by_record");
    let strip = |tables: BTreeMap<String, Vec<BTreeMap<String, Value>>>| {
        tables
            .into_iter()
            .map(|(t, rows)| {
                let rows: Vec<_> = rows
                    .into_iter()
                    .map(|mut r| {
                        assert!(
                            !r["_SDC_TABLE_VERSION"].is_null(),
                            "{t}: a row without its version: {r:?}"
                        );
                        r.retain(|c, _| !c.starts_with("_SDC_"));
                        r
                    })
                    .collect();
                (t, rows)
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(
        strip(setup.tables("by_batch")),
        strip(setup.tables("by_record"))
    );

    // A row deleted at the source goes at the next sync's ACTIVATE_VERSION.
    let source = SimBackend::open(&setup.dir.path().join("source")).expect("open");
    let mut tx = source.begin_transaction().expect("transaction");
    assert!(tx
        .delete("HR", "EMPLOYEES", &[Value::Number(100.into())])
        .expect("delete"));
    tx.commit().expect("commit");
    let again = setup.tap(&setup.batch_config("b.json", true), None);
    setup.load(&again, "by_batch");
    let ids = test_support::loaded_employee_ids(&setup.dir.path().join("by_batch"));
    assert_eq!(ids.len(), 106);
    assert!(!ids.contains(&100));
}

#[test]
fn a_run_from_a_state_in_the_middle_sends_exactly_the_rows_after_it() {
    let setup = Setup::new();
    let config = setup.batch_config("b.json", false);
    let full = parse_json_lines(&String::from_utf8_lossy(&setup.tap(&config, None)));
    // The state after the third BATCH of HR-EMPLOYEES, as a target confirms it.
    let mut batches = 0;
    let mut before: Vec<Json> = Vec::new();
    let mut state = None;
    for m in &full {
        if m["type"] == "BATCH" && m["stream"] == "HR-EMPLOYEES" {
            batches += 1;
            before.extend(records_of(m));
        }
        if m["type"] == "STATE" && batches == 3 {
            state = Some(m["value"].clone());
            break;
        }
    }
    let state = state.expect("a STATE after the third file");
    let rest = parse_json_lines(&String::from_utf8_lossy(&setup.tap(&config, Some(&state))));
    let mut employees = before;
    employees.extend(sent(&rest).remove("HR-EMPLOYEES").unwrap_or_default());
    let ids: Vec<i64> = employees
        .iter()
        .map(|r| r["EMPLOYEE_ID"].as_i64().expect("id"))
        .collect();
    let mut expected = ids.clone();
    expected.sort_unstable();
    expected.dedup();
    assert_eq!(ids, expected, "no row twice, in key order");
    assert_eq!(ids.len(), 107, "no row lost");
}

#[test]
fn a_batch_config_the_tap_cannot_honour_is_refused_with_the_reason() {
    let setup = Setup::new();
    let config = Setup::write(
        setup.dir.path(),
        "bad.json",
        json!({"batch_config": {"encoding": {"format": "parquet"},
                                "storage": {"root": "file:///tmp"}}}),
    );
    let out = Command::new(bin("tap-oracle"))
        .arg("--config")
        .arg(&config)
        .arg("--catalog")
        .arg(&setup.catalog)
        .output()
        .expect("tap-oracle");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("batch_config: encoding.format \"parquet\" is not supported"),
        "{stderr}"
    );
}
