//! What makes `load_method: overwrite` restart-safe (issue 12 item 3) depends on taps:
//! target-oracle writes the part of an overwrite a STATE covers into the stream's
//! bookmark (`target_oracle_overwrite`), Meltano hands that state to the tap, and the
//! tap must carry the key forward in the STATEs it writes. Checked here for tap-oracle
//! and for a Meltano SDK tap (tap-jsonl 0.3.1).

use std::process::Command;

use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use test_support::{bin, parse_json_lines, peer, run_ok, sample_dir};

fn marker() -> Json {
    json!([{"load": 1732000000000001u64, "through_line": 40}])
}

/// The marker of `stream` in every STATE of a tap's output (there must be some).
fn markers_in(stdout: &[u8], stream: &str) -> Vec<Json> {
    let states: Vec<Json> = parse_json_lines(&String::from_utf8_lossy(stdout))
        .into_iter()
        .filter(|m| m["type"] == "STATE")
        .map(|m| m["value"]["bookmarks"][stream]["target_oracle_overwrite"].clone())
        .collect();
    assert!(!states.is_empty(), "the tap wrote no STATE");
    states
}

#[test]
fn tap_oracle_carries_the_overwrite_marker_forward() {
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
        meta["selected"] = json!(id == "HR-EMPLOYEES");
    });
    // A state as target-oracle emitted it mid-overwrite, resumable mid-table.
    let state = json!({"bookmarks": {"HR-EMPLOYEES": {
        "last_pk_fetched": {"EMPLOYEE_ID": 120}, "version": 1732000000000u64,
        "target_oracle_overwrite": marker()}}, "currently_syncing": "HR-EMPLOYEES"});
    let state_path = dir.path().join("state.json");
    std::fs::write(&state_path, state.to_string()).expect("state");
    let sync = run_ok(
        Command::new(bin("tap-oracle"))
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(&catalog_path)
            .arg("--state")
            .arg(&state_path)
            .env_remove("RUST_LOG"),
    );
    for carried in markers_in(&sync.stdout, "HR-EMPLOYEES") {
        assert_eq!(carried, marker());
    }
}

#[test]
fn an_sdk_tap_carries_the_overwrite_marker_forward() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("people.jsonl");
    std::fs::write(&file, "{\"id\": 1}\n{\"id\": 2}\n").expect("write");
    let config = dir.path().join("tap.json");
    std::fs::write(
        &config,
        json!({"path": file, "stream_name": "people", "primary_keys": ["id"]}).to_string(),
    )
    .expect("config");
    let state_path = dir.path().join("state.json");
    std::fs::write(
        &state_path,
        json!({"bookmarks": {"people": {"target_oracle_overwrite": marker()}}}).to_string(),
    )
    .expect("state");
    let sync = run_ok(
        Command::new(peer("tap-jsonl", "tap-jsonl"))
            .arg("--config")
            .arg(&config)
            .arg("--state")
            .arg(&state_path),
    );
    for carried in markers_in(&sync.stdout, "people") {
        assert_eq!(carried, marker());
    }
}
