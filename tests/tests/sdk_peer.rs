//! Interop with the Meltano SDK (tap-jsonl 0.3.1 on singer-sdk 0.53.7, `.peers/tap-jsonl`):
//! a real SDK tap reading a local JSONL file piped into `target-oracle` (driver `sim`),
//! every record checked value by value in the target's table, including a second run
//! whose SCHEMA adds a property and a run where the tap sends BATCH files; and
//! `tap-oracle`'s output over the sample checked with the SDK's own reader, message
//! classes and record validator, and its BATCH files (`batch_config`) loaded by an SDK
//! target (meltanolabs-target-csv 0.5.0, `.peers/target-csv`) as its RECORDs are.

use std::path::Path;
use std::process::{Command, Output};

use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use test_support::{bin, describe, peer, run_with_input, sample_dir};

/// Runs `tap-jsonl` with `tap_config` and pipes its output into `target-oracle` on the
/// simulated database in `db`; returns the tap's output and the target's.
fn pipe(dir: &Path, tap_config: &Json, db: &Path) -> (Output, Output) {
    let tap_config_path = dir.join("tap.json");
    std::fs::write(&tap_config_path, tap_config.to_string()).expect("tap config");
    let target_config = dir.join("target.json");
    std::fs::write(
        &target_config,
        json!({"driver": "sim", "sim_path": db}).to_string(),
    )
    .expect("target config");
    let tap = Command::new(peer("tap-jsonl", "tap-jsonl"))
        .arg("--config")
        .arg(&tap_config_path)
        .output()
        .expect("run tap-jsonl");
    assert!(tap.status.success(), "tap-jsonl: {}", describe(&tap));
    // The target may stop reading early (a refused message): a broken pipe is fine.
    let out = run_with_input(
        Command::new(bin("target-oracle"))
            .arg("--config")
            .arg(&target_config)
            .env_remove("RUST_LOG"),
        &tap.stdout,
    );
    (tap, out)
}

/// Runs `tap-jsonl` over `file` as stream `stream` (key `id`) into `target-oracle`,
/// which must succeed and confirm the tap's state.
fn tap_jsonl_into_target(dir: &Path, file: &Path, stream: &str, db: &Path) {
    let config = json!({"path": file, "stream_name": stream, "primary_keys": ["id"]});
    let (tap, out) = pipe(dir, &config, db);
    assert!(
        out.status.success(),
        "target-oracle on tap-jsonl's output: {}\n--- tap output\n{}",
        describe(&out),
        String::from_utf8_lossy(&tap.stdout)
    );
    let states = test_support::parse_json_lines(std::str::from_utf8(&out.stdout).expect("utf-8"));
    // Each line is the bare state value (what Meltano stores), not a STATE message.
    assert!(
        !states.is_empty() && states.iter().all(|s| s.get("type").is_none()),
        "no bare state value from target-oracle: {}",
        describe(&out)
    );
}

/// The loaded rows of `SIM_USER.<table>` as records keyed by `ID`.
fn loaded(db: &Path, table: &str) -> Vec<serde_json::Map<String, Json>> {
    let backend = SimBackend::open(db).expect("open target db");
    let names = backend
        .column_names("SIM_USER", table)
        .unwrap_or_else(|e| panic!("SIM_USER.{table}: {e}"));
    let mut rows: Vec<serde_json::Map<String, Json>> = backend
        .read_rows("SIM_USER", table)
        .expect("read rows")
        .into_iter()
        .map(|row| names.iter().cloned().zip(row.iter().map(as_json)).collect())
        .collect();
    rows.sort_by_key(|r| {
        r["ID"]
            .as_str()
            .unwrap_or_default()
            .parse::<i64>()
            .unwrap_or(0)
    });
    rows
}

fn as_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Number(number) => json!(number.as_str()),
        Value::Text(text) | Value::Json(text) => json!(text),
        Value::Boolean(b) => json!(b),
        Value::BinaryDouble(f) => json!(f.to_string()),
        Value::TimestampTz(t) => json!(t.with_timezone(&chrono::Utc).to_rfc3339()),
        Value::Timestamp(t) | Value::Date(t) => json!(t.and_utc().to_rfc3339()),
        other => json!(format!("{other:?}")),
    }
}

fn instant(text: &str) -> chrono::DateTime<chrono::Utc> {
    test_support::utc_text(text)
}

/// The people every SDK-tap test sends: unicode, quotes, exact amounts, zones, nulls.
const PEOPLE: [&str; 5] = [
    r#"{"id": 1, "name": "Zoë", "amount": 12.5, "at": "2026-01-02T03:04:05Z", "active": true}"#,
    r#"{"id": 2, "name": "O'Brien", "amount": 0.01, "at": "2026-02-03T04:05:06.123456Z", "active": false}"#,
    r#"{"id": 3, "name": "José Manuel", "amount": 123456789.25, "at": "2026-03-04T05:06:07+02:00", "active": null}"#,
    r#"{"id": 4, "name": null, "amount": -7, "at": null, "active": true}"#,
    r#"{"id": 5, "name": "中文 \"quoted\"", "amount": 0, "at": "1999-12-31T23:59:59Z", "active": false}"#,
];

/// Checks `rows` (by `ID`) against the source lines, value by value.
fn assert_people_loaded(rows: &[serde_json::Map<String, Json>], people: &[&str]) {
    assert_eq!(rows.len(), people.len(), "{rows:?}");
    for (line, row) in people.iter().zip(rows) {
        let source: Json = serde_json::from_str(line).expect("line");
        let context = format!("source {source}, loaded {row:?}");
        assert_eq!(
            row["ID"].as_str(),
            Some(source["id"].to_string().as_str()),
            "{context}"
        );
        assert_eq!(row["NAME"].as_str(), source["name"].as_str(), "{context}");
        // Every digit of the number, as written in the file.
        assert_eq!(
            test_support::canonical_decimal(&row["AMOUNT"]),
            test_support::canonical_decimal(&source["amount"]),
            "{context}"
        );
        match source["at"].as_str() {
            Some(at) => assert_eq!(
                row["AT"].as_str().map(instant),
                Some(instant(at)),
                "{context}"
            ),
            None => assert!(row["AT"].is_null(), "{context}"),
        }
        match source["active"].as_bool() {
            Some(b) => assert!(
                row["ACTIVE"] == json!(b) || row["ACTIVE"] == json!(if b { "1" } else { "0" }),
                "{context}"
            ),
            None => assert!(row["ACTIVE"].is_null(), "{context}"),
        }
        // The SDK tap's own metadata columns land too.
        assert_eq!(row["_SDC_STREAM"], "people", "{context}");
    }
}

#[test]
fn sdk_tap_jsonl_into_target_oracle_lands_every_record() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("target-db");
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, PEOPLE.join("\n") + "\n").expect("write");
    tap_jsonl_into_target(dir.path(), &file, "people", &db);
    assert_people_loaded(&loaded(&db, "PEOPLE"), &PEOPLE);

    // A second run whose SCHEMA adds a property (`note`): the target adds the column,
    // keeps the old rows and loads the new ones.
    let file2 = dir.path().join("people2.jsonl");
    std::fs::write(
        &file2,
        "{\"id\": 6, \"name\": \"Ada\", \"amount\": 1.5, \"at\": \"2026-06-01T00:00:00Z\", \"active\": true, \"note\": \"new column\"}\n",
    )
    .expect("write");
    tap_jsonl_into_target(dir.path(), &file2, "people", &db);
    let rows = loaded(&db, "PEOPLE");
    assert!(
        rows.iter()
            .any(|r| r["ID"] == "6" && r["NOTE"] == "new column"),
        "{rows:?}"
    );
    for id in 1..=5 {
        let row = rows
            .iter()
            .find(|r| r["ID"] == id.to_string().as_str())
            .unwrap_or_else(|| panic!("row {id} lost: {rows:?}"));
        assert!(row["NOTE"].is_null(), "{row:?}");
    }
}

#[test]
fn sdk_batch_messages_load_every_record_and_confirm_state_after() {
    // tap-jsonl with `batch_config` writes its records to gzip JSONL files (two of them
    // with batch_size 3) and emits BATCH messages naming them instead of RECORDs.
    // target-oracle reads the files and loads every record exactly as the RECORD run
    // above does, then confirms the tap's state.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("target-db");
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, PEOPLE.join("\n") + "\n").expect("write");
    let root = format!("file://{}", dir.path().join("batches").display());
    let config = json!({
        "path": file, "stream_name": "people", "primary_keys": ["id"],
        "batch_config": {
            "encoding": {"format": "jsonl", "compression": "gzip"},
            "storage": {"root": root, "prefix": "batch-"},
            "batch_size": 3
        }
    });
    let (tap, out) = pipe(dir.path(), &config, &db);
    let messages = test_support::parse_json_lines(std::str::from_utf8(&tap.stdout).expect("utf-8"));
    let batches: Vec<&Json> = messages.iter().filter(|m| m["type"] == "BATCH").collect();
    let files: usize = batches
        .iter()
        .map(|m| m["manifest"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(files, 2, "{}", describe(&tap));
    assert!(!messages.iter().any(|m| m["type"] == "RECORD"));
    assert!(out.status.success(), "{}", describe(&out));
    assert_people_loaded(&loaded(&db, "PEOPLE"), &PEOPLE);
    let tap_state = messages
        .iter()
        .rfind(|m| m["type"] == "STATE")
        .expect("the tap's STATE");
    let confirmed =
        test_support::parse_json_lines(std::str::from_utf8(&out.stdout).expect("utf-8"));
    // The target confirms each state as the bare state value, as Singer targets do.
    assert_eq!(
        confirmed.last(),
        Some(&tap_state["value"]),
        "{}",
        describe(&out)
    );
}

/// Reads Singer messages on stdin with the SDK's reader, builds each with the SDK's
/// message class, and validates every RECORD against its stream's SCHEMA with the SDK
/// sink's validator (formats checked). Prints a JSON summary; any error raises.
const SDK_CHECKER: &str = r#"
import datetime, decimal, json, sys
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
from singer_sdk.singerlib import RecordMessage, SchemaMessage, StateMessage, ActivateVersionMessage
from singer_sdk.sinks.core import JSONSchemaValidator

validators = {}
formats = {}
counts = {}
def types(p):
    t = p.get("type", [])
    return t if isinstance(t, list) else [t]
def check_formats(stream, record):
    # jsonschema checks date-time only with optional packages: check it here, the way
    # SDK targets parse it (datetime.fromisoformat), with a zone; decimals as Decimal.
    for name, fmt in formats[stream].items():
        v = record.get(name)
        if not isinstance(v, str):
            continue
        if fmt == "date-time":
            t = datetime.datetime.fromisoformat(v)
            assert t.tzinfo is not None, f"{stream}.{name}: date-time without zone: {v}"
        elif fmt in ("singer.decimal", "x-singer.decimal"):
            decimal.Decimal(v)
def schema(d):
    m = SchemaMessage.from_dict(d)
    validators[m.stream] = JSONSchemaValidator(m.schema, validate_formats=True)
    formats[m.stream] = {
        k: p["format"] for k, p in m.schema["properties"].items()
        if "format" in p and "string" in types(p)
    }
    props = m.schema["properties"]
    for k in m.key_properties or []:
        assert k in props, f"key property {k} not in schema of {m.stream}"
def record(d):
    m = RecordMessage.from_dict(d)
    assert m.stream in validators, f"RECORD before SCHEMA for {m.stream}"
    validators[m.stream].validate(m.record)
    check_formats(m.stream, m.record)
    counts[m.stream] = counts.get(m.stream, 0) + 1
def state(d):
    m = StateMessage.from_dict(d)
    assert isinstance(m.value, dict)
def activate(d):
    m = ActivateVersionMessage.from_dict(d)
    assert isinstance(m.version, int)
stats = SimpleSingerReader().process_lines(sys.stdin, {
    "SCHEMA": schema, "RECORD": record, "STATE": state, "ACTIVATE_VERSION": activate,
})
print(json.dumps({"messages": dict(stats), "records": counts}))
"#;

#[test]
fn tap_oracle_output_passes_the_sdk_reader_and_validator() {
    let python = peer("tap-jsonl", "python");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let backend = SimBackend::open(&db).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        json!({"driver": "sim", "sim_path": db, "state_every_rows": 25}).to_string(),
    )
    .expect("config");
    let catalog_path = dir.path().join("catalog.json");
    test_support::write_catalog(&bin("tap-oracle"), &config, &catalog_path, |id, meta| {
        meta["selected"] = json!(true);
        if id == "HR-EMPLOYEES" {
            meta["replication-method"] = json!("INCREMENTAL");
            meta["replication-key"] = json!("UPDATED_AT");
        }
    });
    let sync = test_support::run_ok(
        Command::new(bin("tap-oracle"))
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(&catalog_path)
            .env_remove("RUST_LOG"),
    );

    let out = run_with_input(Command::new(python).args(["-c", SDK_CHECKER]), &sync.stdout);
    assert!(
        out.status.success(),
        "the Meltano SDK rejects tap-oracle's output: {}",
        describe(&out)
    );
    let summary: Json = serde_json::from_slice(&out.stdout).expect("summary");
    assert_eq!(
        summary["records"],
        json!({"HR-EMPLOYEES": 107, "HR-DEPARTMENTS": 10, "HR-JOB_HISTORY": 10}),
        "{summary}"
    );
    assert_eq!(summary["messages"]["SCHEMA"], 3, "{summary}");
    assert!(
        summary["messages"]["STATE"].as_u64() >= Some(2),
        "{summary}"
    );
}

/// Reads every CSV file of a folder (target-csv's output) as `{file: [row, ...]}`, each
/// row a map without the `_sdc_` columns (versions and times differ between runs), and
/// date-times as instants: the SDK writes the ones of RECORDs as Python prints them
/// (`2017-02-12 00:00:00+00:00`) and those of BATCH files as they came (`...T...Z`).
const CSV_READER: &str = r#"
import csv, datetime, json, os, sys
def instant(v):
    try:
        return datetime.datetime.fromisoformat(v.replace("Z", "+00:00")).isoformat()
    except ValueError:
        return v
out = {}
for name in sorted(os.listdir(sys.argv[1])):
    with open(os.path.join(sys.argv[1], name), newline="") as f:
        out[name] = [{k: instant(v) for k, v in row.items() if not k.startswith("_sdc_")}
                     for row in csv.DictReader(f)]
print(json.dumps(out))
"#;

#[test]
fn an_sdk_target_loads_tap_oracle_batch_files_as_it_loads_its_records() {
    // tap-oracle with `batch_config` piped into meltanolabs-target-csv 0.5.0 (the SDK's
    // own BATCH reading, `.peers/target-csv`): the same CSV rows as the RECORD run, and
    // the tap's last state confirmed.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("db");
    let backend = SimBackend::open(&db).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    let discover_config = dir.path().join("discover.json");
    std::fs::write(
        &discover_config,
        json!({"driver": "sim", "sim_path": db}).to_string(),
    )
    .expect("config");
    let catalog_path = dir.path().join("catalog.json");
    test_support::write_catalog(
        &bin("tap-oracle"),
        &discover_config,
        &catalog_path,
        |_, meta| meta["selected"] = json!(true),
    );
    let root = format!("file://{}", dir.path().join("batches").display());
    let mut loaded = Vec::new();
    for batch in [false, true] {
        let mut config = json!({"driver": "sim", "sim_path": db, "state_every_rows": 25});
        if batch {
            config["batch_config"] = json!({
                "encoding": {"format": "jsonl", "compression": "gzip"},
                "storage": {"root": root}, "batch_size": 20});
        }
        let config_path = dir.path().join(format!("tap-{batch}.json"));
        std::fs::write(&config_path, config.to_string()).expect("config");
        let tap = test_support::run_ok(
            Command::new(bin("tap-oracle"))
                .arg("--config")
                .arg(&config_path)
                .arg("--catalog")
                .arg(&catalog_path)
                .env_remove("RUST_LOG"),
        );
        let messages = test_support::parse_json_lines(&String::from_utf8_lossy(&tap.stdout));
        assert_eq!(
            messages.iter().any(|m| m["type"] == "BATCH"),
            batch,
            "BATCH messages exactly with batch_config"
        );
        let output = dir.path().join(format!("csv-{batch}"));
        std::fs::create_dir_all(&output).expect("output folder");
        let target_config = dir.path().join(format!("csv-{batch}.json"));
        std::fs::write(&target_config, json!({"output_path": output}).to_string())
            .expect("target config");
        let out = run_with_input(
            Command::new(peer("target-csv", "target-csv"))
                .arg("--config")
                .arg(&target_config),
            &tap.stdout,
        );
        assert!(out.status.success(), "target-csv: {}", describe(&out));
        let confirmed =
            test_support::parse_json_lines(std::str::from_utf8(&out.stdout).expect("utf-8"));
        let last_state = messages
            .iter()
            .rfind(|m| m["type"] == "STATE")
            .expect("a STATE");
        assert_eq!(
            confirmed.last(),
            Some(&last_state["value"]),
            "{}",
            describe(&out)
        );
        let csv = Command::new(peer("target-csv", "python"))
            .args(["-c", CSV_READER])
            .arg(&output)
            .output()
            .expect("python");
        assert!(csv.status.success(), "{}", describe(&csv));
        loaded.push(serde_json::from_slice::<Json>(&csv.stdout).expect("rows"));
    }
    assert_eq!(
        loaded[0]["HR-EMPLOYEES.csv"].as_array().map(Vec::len),
        Some(107)
    );
    for (file, by_record) in loaded[0].as_object().expect("files") {
        let by_batch = loaded[1][file]
            .as_array()
            .expect("the same file from BATCH");
        let by_record = by_record.as_array().expect("rows");
        assert_eq!(by_batch.len(), by_record.len(), "{file}");
        for (a, b) in by_record.iter().zip(by_batch) {
            assert_eq!(a, b, "{file}");
        }
    }
}
