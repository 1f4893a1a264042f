//! Interop with the real Meltano (4.4.1, `.peers/meltano`) over the simulated backend:
//! `meltano run tap-oracle target-jsonl` (exact values, incremental second run, state kept
//! by Meltano), discovery, selection and config through Meltano's CLI, `--about` against
//! the plugin definitions of `meltano.yml`, and `meltano run tap-oracle target-oracle`.
//! Each test owns a Meltano project in a temp dir (see `test_support::MeltanoProject`).

use std::collections::BTreeMap;
use std::process::Command;

use chrono::{FixedOffset, TimeZone};
use db_boundary::Value;
use serde_json::Value as Json;
use sim_backend::SimBackend;
use test_support::{
    bin, canonical_decimal, peer, read_json_lines, repo_root, run_ok, sample_columns, sample_rows,
    utc_text, MeltanoProject,
};

const STREAMS: [(&str, usize); 3] = [
    ("HR-EMPLOYEES", 107),
    ("HR-DEPARTMENTS", 10),
    ("HR-JOB_HISTORY", 10),
];

/// The JSONL records of a stream written by target-jsonl.
fn output(project: &MeltanoProject, stream: &str) -> Vec<Json> {
    read_json_lines(
        &project
            .path()
            .join("output")
            .join(format!("{stream}.jsonl")),
    )
}

/// Checks one output record against a sample row, column by column, by the type of the
/// sample value: decimals digit by digit, zoned timestamps as the same instant in UTC
/// written with `Z`, dates as midnight UTC, everything else equal.
fn assert_same_row(stream: &str, columns: &[String], sample: &[Json], record: &Json) {
    for (name, expected) in columns.iter().zip(sample) {
        let got = &record[name.as_str()];
        let context = format!("{stream}.{name}: sample {expected}, output {got}");
        match expected {
            Json::Null => assert!(got.is_null(), "{context}"),
            Json::String(text) if is_zoned_timestamp(text) => {
                let got_text = got.as_str().unwrap_or_else(|| panic!("{context}"));
                assert!(got_text.ends_with('Z'), "not UTC `Z`: {context}");
                assert_eq!(utc_text(got_text), utc_text(text), "{context}");
            }
            Json::String(text) if is_date(text) => {
                let got_text = got.as_str().unwrap_or_else(|| panic!("{context}"));
                assert!(got_text.ends_with('Z'), "not UTC `Z`: {context}");
                assert_eq!(
                    utc_text(got_text),
                    utc_text(&format!("{text}Z")),
                    "{context}"
                );
            }
            Json::String(text) if is_decimal(text) => {
                assert_eq!(
                    canonical_decimal(got),
                    canonical_decimal(expected),
                    "{context}"
                );
            }
            Json::Number(_) => {
                assert_eq!(
                    canonical_decimal(got),
                    canonical_decimal(expected),
                    "{context}"
                );
            }
            _ => assert_eq!(got, expected, "{context}"),
        }
    }
}

fn is_zoned_timestamp(text: &str) -> bool {
    text.len() > 19
        && text.as_bytes()[10] == b'T'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

fn is_date(text: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").is_ok()
}

fn is_decimal(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        && text.chars().any(|c| c.is_ascii_digit())
}

/// The key of a record or sample row: its key columns' values joined.
fn key(values: &[&Json]) -> String {
    values
        .iter()
        .map(|v| match v {
            Json::String(s) if is_date(s) => utc_text(&format!("{s}Z")).to_rfc3339(),
            Json::String(s) if is_zoned_timestamp(s) => utc_text(s).to_rfc3339(),
            Json::String(s) => s.clone(),
            other => canonical_decimal(other),
        })
        .collect::<Vec<_>>()
        .join("|")
}

/// Every sample row of `stream` appears exactly once in `records`, value by value.
fn assert_all_rows(stream: &str, key_columns: &[&str], records: &[Json]) {
    let (owner, table) = stream.split_once('-').expect("OWNER-TABLE");
    let columns = sample_columns(owner, table);
    let sample = sample_rows(stream);
    assert_eq!(records.len(), sample.len(), "{stream}: row count");
    let mut by_key: BTreeMap<String, &Json> = BTreeMap::new();
    for record in records {
        let k = key(&key_columns.iter().map(|c| &record[*c]).collect::<Vec<_>>());
        assert!(
            by_key.insert(k.clone(), record).is_none(),
            "{stream}: duplicate {k}"
        );
    }
    for row in &sample {
        let k = key(&key_columns
            .iter()
            .map(|c| &row[columns.iter().position(|n| n == c).expect("key column")])
            .collect::<Vec<_>>());
        let record = by_key
            .get(&k)
            .unwrap_or_else(|| panic!("{stream}: row {k} missing"));
        assert_same_row(stream, &columns, row, record);
    }
}

fn key_columns(stream: &str) -> Vec<&'static str> {
    match stream {
        "HR-EMPLOYEES" => vec!["EMPLOYEE_ID"],
        "HR-DEPARTMENTS" => vec!["DEPARTMENT_ID"],
        "HR-JOB_HISTORY" => vec!["EMPLOYEE_ID", "START_DATE"],
        other => panic!("unknown stream {other}"),
    }
}

#[test]
fn run_to_target_jsonl_writes_every_row_with_exact_values() {
    let project = MeltanoProject::new();
    project.run(&["run", "tap-oracle", "target-jsonl"]);
    for (stream, rows) in STREAMS {
        let records = output(&project, stream);
        assert_eq!(records.len(), rows, "{stream}");
        assert_all_rows(stream, &key_columns(stream), &records);
    }
    // A few values spelled out, independent of the helpers above.
    let employees = output(&project, "HR-EMPLOYEES");
    let david = employees
        .iter()
        .find(|r| canonical_decimal(&r["EMPLOYEE_ID"]) == "100")
        .expect("employee 100");
    assert_eq!(david["LAST_NAME"], "De Haan");
    assert_eq!(david["SALARY"].to_string(), "14937.83");
    assert_eq!(david["HIRE_DATE"], "2017-02-12T00:00:00Z");
    assert_eq!(david["UPDATED_AT"], "2026-01-26T00:02:05.454710Z");
    let zoe = employees
        .iter()
        .find(|r| canonical_decimal(&r["EMPLOYEE_ID"]) == "106")
        .expect("employee 106");
    assert_eq!(zoe["FIRST_NAME"], "Zoë");
    let bruce = employees
        .iter()
        .find(|r| canonical_decimal(&r["EMPLOYEE_ID"]) == "104")
        .expect("employee 104");
    assert_eq!(canonical_decimal(&bruce["COMMISSION_PCT"]), "0.1");
    assert_eq!(bruce["UPDATED_AT"], "2026-08-20T22:28:18.638539Z");
}

#[test]
fn second_run_is_incremental_with_state_kept_by_meltano() {
    let project = MeltanoProject::new();
    project.run(&["run", "tap-oracle", "target-jsonl"]);
    let first = output(&project, "HR-EMPLOYEES");
    assert_eq!(first.len(), 107);

    // Meltano stored the tap's state under the run's state id.
    let list = project.run(&["state", "list"]);
    let ids = String::from_utf8_lossy(&list.stdout).to_string();
    let state_id = "sim:tap-oracle-to-target-jsonl";
    assert!(
        ids.lines().any(|l| l.trim() == state_id),
        "state list: {ids}"
    );
    let got = project.run(&["state", "get", state_id]);
    let state: Json = serde_json::from_slice(&got.stdout).expect("state get prints JSON");
    let bookmark = &state["singer_state"]["bookmarks"]["HR-EMPLOYEES"];
    assert_eq!(bookmark["replication_key"], "UPDATED_AT", "{state}");
    let max = sample_rows("HR-EMPLOYEES")
        .iter()
        .map(|r| utc_text(r[8].as_str().expect("UPDATED_AT")))
        .max()
        .expect("rows");
    let bookmark_value = bookmark["replication_key_value"]
        .as_str()
        .unwrap_or_else(|| panic!("{state}"));
    assert_eq!(utc_text(bookmark_value), max, "{state}");
    let boundary_rows = first
        .iter()
        .filter(|r| utc_text(r["UPDATED_AT"].as_str().expect("UPDATED_AT")) == max)
        .count();
    assert!(boundary_rows >= 1);

    // Two new employees, updated after the bookmark.
    let backend = SimBackend::open(&project.tap_db()).expect("open");
    let columns = sample_columns("HR", "EMPLOYEES");
    let later = FixedOffset::east_opt(2 * 3600)
        .expect("offset")
        .with_ymd_and_hms(2026, 12, 1, 12, 0, 0)
        .single()
        .expect("time");
    let hire = chrono::NaiveDate::from_ymd_opt(2026, 11, 2)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time");
    let new_row = |id: u32, salary: &str| {
        vec![
            Value::Number(id.into()),
            Value::Text("New".into()),
            Value::Text(format!("Hire{id}")),
            Value::Text(format!("NEW{id}")),
            Value::Date(hire),
            Value::number(salary),
            Value::Null,
            Value::number("10"),
            Value::TimestampTz(later + chrono::Duration::seconds(i64::from(id))),
        ]
    };
    backend
        .insert_rows(
            "HR",
            "EMPLOYEES",
            &columns,
            vec![new_row(900, "123456.78"), new_row(901, "0.01")],
        )
        .expect("insert");

    let second_run = project.run(&["run", "tap-oracle", "target-jsonl"]);
    let all = output(&project, "HR-EMPLOYEES");
    assert_eq!(
        all.len(),
        107 + boundary_rows + 2,
        "target-jsonl appends: the first run's 107, the boundary row(s) again, 2 new\n{}",
        test_support::describe(&second_run)
    );
    assert_eq!(
        &all[..107],
        &first[..],
        "the first run's lines stay as they were"
    );
    let appended = &all[107..];
    for record in &appended[..boundary_rows] {
        assert_eq!(
            utc_text(record["UPDATED_AT"].as_str().expect("UPDATED_AT")),
            max
        );
    }
    let new: Vec<&Json> = appended[boundary_rows..].iter().collect();
    assert_eq!(new[0]["EMPLOYEE_ID"].to_string(), "900");
    assert_eq!(new[0]["SALARY"].to_string(), "123456.78");
    assert_eq!(new[0]["HIRE_DATE"], "2026-11-02T00:00:00Z");
    assert_eq!(new[0]["UPDATED_AT"], "2026-12-01T10:15:00Z");
    assert_eq!(new[1]["EMPLOYEE_ID"].to_string(), "901");
    assert_eq!(new[1]["SALARY"].to_string(), "0.01");
    assert_eq!(new[1]["UPDATED_AT"], "2026-12-01T10:15:01Z");

    // FULL_TABLE streams are read whole again and appended.
    assert_eq!(output(&project, "HR-DEPARTMENTS").len(), 20);

    let got = project.run(&["state", "get", state_id]);
    let state: Json = serde_json::from_slice(&got.stdout).expect("state get prints JSON");
    let value = state["singer_state"]["bookmarks"]["HR-EMPLOYEES"]["replication_key_value"]
        .as_str()
        .unwrap_or_else(|| panic!("{state}"))
        .to_owned();
    assert_eq!(value, "2026-12-01T10:15:01Z", "{state}");
}

#[test]
fn discover_select_and_config_through_meltano() {
    let project = MeltanoProject::new();
    let out = project.run(&["invoke", "tap-oracle", "--discover"]);
    let catalog: Json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "discover prints a catalog: {e}\n{}",
            test_support::describe(&out)
        )
    });
    let mut ids: Vec<&str> = catalog["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["tap_stream_id"].as_str().expect("tap_stream_id"))
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["HR-DEPARTMENTS", "HR-EMPLOYEES", "HR-JOB_HISTORY"]);

    // `select: [HR-*.*]`: every property of the 3 streams is selected (keys automatic).
    let out = project.run(&["select", "tap-oracle", "--list", "--all"]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let listed: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| {
            let (status, name) = l.trim().strip_prefix('[')?.split_once(']')?;
            Some((name.trim().to_owned(), status.trim().to_owned()))
        })
        .filter(|(name, _)| name.starts_with("HR-"))
        .collect();
    for (stream, _) in STREAMS {
        let (owner, table) = stream.split_once('-').expect("OWNER-TABLE");
        for column in sample_columns(owner, table) {
            let status = listed
                .get(&format!("{stream}.{column}"))
                .unwrap_or_else(|| panic!("{stream}.{column} not listed in:\n{text}"));
            let expected = if key_columns(stream).contains(&column.as_str()) {
                "automatic"
            } else {
                "selected"
            };
            assert_eq!(status, expected, "{stream}.{column} in:\n{text}");
        }
    }

    // The `sim` environment's values, with env var names and the resolved project root.
    let out = project.run(&["config", "list", "tap-oracle"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("driver [env: TAP_ORACLE_DRIVER] current value: 'sim'"),
        "{text}"
    );
    let sim_path = format!(
        "sim_path [env: TAP_ORACLE_SIM_PATH] current value: '{}'",
        project.tap_db().display()
    );
    assert!(text.contains(&sim_path), "{sim_path} not in:\n{text}");
    assert!(
        text.contains("_metadata.HR-EMPLOYEES.replication-method")
            && text.contains("'INCREMENTAL'"),
        "{text}"
    );
    // `--all` lists the settings left at their defaults too.
    let out = project.run(&["config", "list", "tap-oracle", "--all"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("fetch_array_size [env: TAP_ORACLE_FETCH_ARRAY_SIZE]"),
        "{text}"
    );
}

/// `(name, kind, sensitive)` of each setting `meltano.yml` declares for a plugin, read
/// with the meltano venv's own YAML parser.
fn declared_settings(kind: &str, plugin: &str) -> Vec<(String, String, bool)> {
    let python = peer("meltano", "python");
    let script = "import json,sys,yaml\n\
        doc=yaml.safe_load(open(sys.argv[1]))\n\
        p=[p for p in doc['plugins'][sys.argv[2]] if p['name']==sys.argv[3]][0]\n\
        print(json.dumps([[s['name'], s.get('kind','string'), bool(s.get('sensitive'))] for s in p['settings']]))";
    let out = run_ok(
        Command::new(python)
            .args(["-c", script])
            .arg(repo_root().join("meltano.yml"))
            .args([kind, plugin]),
    );
    let pairs: Vec<(String, String, bool)> = serde_json::from_slice(&out.stdout).expect("settings");
    pairs
}

/// `(name, kind, sensitive)` of each setting in `--about --format json`, whose `settings`
/// is a JSON Schema (as the Meltano SDK writes it): the kind Meltano gives each type,
/// `password` for a `secret` string.
fn about_settings(binary: &str) -> Vec<(String, String, bool)> {
    let out = run_ok(Command::new(bin(binary)).args(["--about", "--format", "json"]));
    let about: Json = serde_json::from_slice(&out.stdout).expect("--about JSON");
    about["settings"]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("no settings.properties in {about}"))
        .iter()
        .map(|(name, schema)| {
            let secret = schema["secret"] == true;
            let kind = match schema["type"].as_str() {
                Some("string") if secret => "password",
                Some(kind @ ("string" | "integer" | "boolean" | "array" | "object")) => kind,
                Some("number") => "decimal",
                _ => panic!("{binary}: setting {name} has an unexpected schema {schema}"),
            };
            (name.clone(), kind.to_owned(), secret)
        })
        .collect()
}

#[test]
fn about_lists_exactly_the_settings_meltano_yml_declares() {
    for (kind, plugin) in [("extractors", "tap-oracle"), ("loaders", "target-oracle")] {
        let declared = declared_settings(kind, plugin);
        let about = about_settings(plugin);
        assert!(declared.len() > 20, "{plugin}: {declared:?}");
        let only_about: Vec<_> = about.iter().filter(|s| !declared.contains(s)).collect();
        let only_yml: Vec<_> = declared.iter().filter(|s| !about.contains(s)).collect();
        assert!(
            only_about.is_empty() && only_yml.is_empty(),
            "{plugin}: --about and meltano.yml differ: only in --about {only_about:?}, \
             only in meltano.yml {only_yml:?}"
        );
        // Same settings, same kinds, same secrets, in the same order.
        assert_eq!(about, declared, "{plugin}: --about vs meltano.yml (order)");
    }
}

#[test]
fn run_to_target_oracle_loads_every_row() {
    let project = MeltanoProject::new();
    project.run(&["run", "tap-oracle", "target-oracle"]);
    let target = SimBackend::open(&project.target_db()).expect("open target db");
    for (stream, rows) in STREAMS {
        // stream_prefix "table" (the default): HR-EMPLOYEES -> HR_EMPLOYEES.
        let table = &stream.replace('-', "_");
        let names = target
            .column_names("SIM_USER", table)
            .unwrap_or_else(|e| panic!("SIM_USER.{table}: {e}"));
        let loaded = target.read_rows("SIM_USER", table).expect("read");
        assert_eq!(loaded.len(), rows, "{stream}");
        // Each loaded row as a record (column name -> JSON) to compare with the sample.
        let records: Vec<Json> = loaded
            .iter()
            .map(|row| {
                let mut record = serde_json::Map::new();
                for (name, value) in names.iter().zip(row) {
                    record.insert(name.clone(), loaded_json(value));
                }
                Json::Object(record)
            })
            .collect();
        assert_all_rows(stream, &key_columns(stream), &records);
    }
}

/// A loaded value in the shape target-jsonl writes (UTC `Z` timestamps, dates at
/// midnight `Z`), so the same comparison applies.
fn loaded_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Number(number) => Json::String(number.to_string()),
        Value::Text(text) => Json::String(text.clone()),
        Value::Date(t) | Value::Timestamp(t) => {
            Json::String(format!("{}Z", t.format("%Y-%m-%dT%H:%M:%S%.f")))
        }
        Value::TimestampTz(t) => Json::String(
            t.with_timezone(&chrono::Utc)
                .format("%Y-%m-%dT%H:%M:%S%.6fZ")
                .to_string(),
        ),
        other => Json::String(format!("{other:?}")),
    }
}
