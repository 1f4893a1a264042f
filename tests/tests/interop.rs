//! Meltano selection and secrets end to end, beside the broader Meltano tests in
//! `meltano.rs` and the SDK peer tests in `sdk_peer.rs`: a `meltano select --exclude`
//! rule reaches tap-oracle through the catalog Meltano writes (the excluded property is
//! absent from every record, keys stay), and a `password` setting given through
//! `TAP_ORACLE_PASSWORD` is listed by `meltano config list` as redacted, never in clear.
//! Meltano's quirks on the binary directly (issue 7 item 5): structured logging (one
//! JSON object per stderr line with Meltano's keys), `SINGER_SDK_LOG_CONFIG`'s root
//! level, selection and replication read from the top-level stream keys alone.
//! Through Meltano: `--full-refresh` re-reads every row and the merged state keeps no
//! stale full-table resume keys (explicit nulls).
//! Needs the pinned peers (scripts/install-peers.sh); a missing one fails the test.

use serde_json::Value as Json;
use test_support::{parse_json_lines, run_ok, sample_rows, MeltanoProject};

#[test]
fn meltano_select_exclusion_reaches_the_tap_and_the_password_stays_redacted() {
    let project = MeltanoProject::new();
    // Deselect one property, then list: Meltano reads the tap's catalog and applies it.
    // `meltano --environment sim select` writes the environment's own `select` list,
    // which replaces the plugin's `HR-*.*`: include the streams there too.
    project.run(&["select", "tap-oracle", "HR-*", "*"]);
    project.run(&["select", "tap-oracle", "--exclude", "HR-EMPLOYEES", "EMAIL"]);
    let listed = project.run(&["select", "tap-oracle", "--list", "--all"]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("HR-EMPLOYEES.EMPLOYEE_ID"), "{listed}");
    let email_line = listed
        .lines()
        .find(|l| l.contains("] HR-EMPLOYEES.EMAIL"))
        .unwrap_or_else(|| panic!("EMAIL not listed: {listed}"));
    assert!(email_line.contains("excluded"), "{email_line}");

    // The tap receives the exclusion: EMAIL is absent from its records.
    let invoked = project.run(&["invoke", "tap-oracle"]);
    let records: Vec<Json> = parse_json_lines(&String::from_utf8_lossy(&invoked.stdout))
        .into_iter()
        .filter(|m| m["type"] == "RECORD" && m["stream"] == "HR-EMPLOYEES")
        .collect();
    assert_eq!(records.len(), sample_rows("HR-EMPLOYEES").len());
    assert!(records.iter().all(|r| r["record"].get("EMAIL").is_none()));
    assert!(records
        .iter()
        .all(|r| r["record"].get("EMPLOYEE_ID").is_some()));

    // Settings: the CLI form `meltano config list <plugin> --all` names every setting
    // with its TAP_ORACLE_* variable and the sim environment's values, and redacts the
    // sensitive password; `meltano config print <plugin>` prints the resolved config.
    let list = run_ok(
        project
            .command(&["config", "list", "tap-oracle", "--all"])
            .env("TAP_ORACLE_PASSWORD", "s3cret-value"),
    );
    let list = String::from_utf8_lossy(&list.stdout);
    for setting in ["driver", "sim_path", "host", "user", "filter_schemas"] {
        let variable = format!("{setting} [env: TAP_ORACLE_{}]", setting.to_uppercase());
        assert!(list.contains(&variable), "{variable} not in:\n{list}");
    }
    assert!(
        list.contains("driver [env: TAP_ORACLE_DRIVER] current value: 'sim'"),
        "{list}"
    );
    assert!(
        !list.contains("s3cret-value"),
        "the password leaked:\n{list}"
    );
    assert!(
        list.contains("password [env: TAP_ORACLE_PASSWORD] current value: (redacted)"),
        "{list}"
    );
    let config = project.run(&["config", "print", "tap-oracle"]);
    let config: Json = serde_json::from_slice(&config.stdout).expect("config JSON");
    assert_eq!(config["driver"], "sim");
}

/// A simulated database seeded with the sample and a tap config pointing at it.
fn seeded_tap_config(dir: &std::path::Path) -> std::path::PathBuf {
    let db = dir.join("db");
    let backend = sim_backend::SimBackend::open(&db).expect("open the sim db");
    sim_backend::seed::seed_dir(&backend, &test_support::sample_dir()).expect("seed the sample");
    let config = dir.join("config.json");
    std::fs::write(
        &config,
        serde_json::json!({"driver": "sim", "sim_path": db}).to_string(),
    )
    .expect("write the config");
    config
}

/// `tap-oracle --discover` with a clean environment plus `vars`.
fn discover_with(config: &std::path::Path, vars: &[(&str, &str)]) -> std::process::Output {
    let mut command = std::process::Command::new(test_support::bin("tap-oracle"));
    command
        .arg("--config")
        .arg(config)
        .arg("--discover")
        .env_remove("RUST_LOG")
        .env_remove("SINGER_LOG_FORMAT")
        .env_remove("SINGER_SDK_LOG_CONFIG")
        .envs(vars.iter().copied());
    run_ok(&mut command)
}

#[test]
fn structured_logging_writes_one_meltano_json_object_per_stderr_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_tap_config(dir.path());
    let out = discover_with(&config, &[("SINGER_LOG_FORMAT", "json")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "no log lines at info level");
    for line in lines {
        let entry: Json = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
        for key in [
            "level",
            "pid",
            "logger_name",
            "ts",
            "thread_name",
            "app_name",
            "message",
        ] {
            assert!(entry.get(key).is_some(), "{key} missing in {line}");
        }
        assert_eq!(entry["app_name"], "tap-oracle", "{line}");
    }
    // stdout stays the catalog alone.
    let catalog: Json = serde_json::from_slice(&out.stdout).expect("stdout is the catalog");
    assert!(catalog["streams"].is_array());
}

#[test]
fn singer_sdk_log_config_root_level_is_respected() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_tap_config(dir.path());
    let info_run = discover_with(&config, &[("SINGER_LOG_FORMAT", "json")]);
    let levels = |out: &std::process::Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                let entry: Json = serde_json::from_str(l).expect("JSON log line");
                entry["level"].as_str().expect("level").to_lowercase()
            })
            .collect()
    };
    assert!(
        levels(&info_run).iter().any(|l| l == "info"),
        "the default level logs info: {:?}",
        levels(&info_run)
    );
    let log_config = dir.path().join("logging.json");
    std::fs::write(
        &log_config,
        r#"{"version": 1, "root": {"level": "WARNING"}}"#,
    )
    .unwrap();
    let warning_run = discover_with(
        &config,
        &[
            ("SINGER_LOG_FORMAT", "json"),
            ("SINGER_SDK_LOG_CONFIG", log_config.to_str().unwrap()),
        ],
    );
    assert!(
        levels(&warning_run)
            .iter()
            .all(|l| l == "warning" || l == "warn" || l == "error"),
        "SINGER_SDK_LOG_CONFIG root WARNING still logged: {:?}",
        levels(&warning_run)
    );
}

#[test]
fn selection_and_replication_from_top_level_stream_keys() {
    let dir = tempfile::tempdir().unwrap();
    let config = seeded_tap_config(dir.path());
    let discovered = discover_with(&config, &[]);
    let mut catalog: Json = serde_json::from_slice(&discovered.stdout).expect("catalog");
    // Meltano also writes its selection and replication choices as top-level stream keys;
    // here they are the only place that says them (metadata left as discovered).
    for stream in catalog["streams"].as_array_mut().expect("streams") {
        let employees = stream["tap_stream_id"] == "HR-EMPLOYEES";
        stream["selected"] = Json::Bool(employees);
        if employees {
            stream["replication_method"] = Json::from("INCREMENTAL");
            stream["replication_key"] = Json::from("UPDATED_AT");
        }
    }
    let catalog_path = dir.path().join("catalog.json");
    std::fs::write(&catalog_path, catalog.to_string()).unwrap();
    let out = run_ok(
        std::process::Command::new(test_support::bin("tap-oracle"))
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(&catalog_path)
            .env_remove("RUST_LOG"),
    );
    let messages = parse_json_lines(&String::from_utf8_lossy(&out.stdout));
    let streams: std::collections::BTreeSet<&str> = messages
        .iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["stream"].as_str().unwrap())
        .collect();
    assert_eq!(streams.into_iter().collect::<Vec<_>>(), ["HR-EMPLOYEES"]);
    let last_state = messages
        .iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .expect("a STATE");
    let bookmark = &last_state["value"]["bookmarks"]["HR-EMPLOYEES"];
    assert_eq!(bookmark["replication_key"], "UPDATED_AT", "{last_state}");
    assert!(
        bookmark["replication_key_value"].is_string(),
        "{last_state}"
    );
}

#[test]
fn full_refresh_rereads_everything_and_its_merged_state_has_no_stale_resume_keys() {
    let project = MeltanoProject::new();
    project.run(&["run", "tap-oracle", "target-jsonl"]);
    let employees = sample_rows("HR-EMPLOYEES").len();
    let output = project.path().join("output/HR-EMPLOYEES.jsonl");
    assert_eq!(test_support::read_json_lines(&output).len(), employees);

    // --full-refresh: the tap gets no state and reads every row again; Meltano then
    // deep-merges the partial state over the old one.
    project.run(&["run", "--full-refresh", "tap-oracle", "target-jsonl"]);
    assert_eq!(
        test_support::read_json_lines(&output).len(),
        2 * employees,
        "--full-refresh did not re-read every employee"
    );
    let state = project.run(&["state", "get", "sim:tap-oracle-to-target-jsonl"]);
    let state: Json = serde_json::from_slice(&state.stdout).expect("state JSON");
    let bookmarks = &state["singer_state"]["bookmarks"];
    assert!(
        bookmarks["HR-EMPLOYEES"]["replication_key_value"].is_string(),
        "{state}"
    );
    // Full-table streams finished: their resume keys are explicit nulls, so a merge over
    // an interrupted run's state cannot leave a stale resume point behind.
    for stream in ["HR-DEPARTMENTS", "HR-JOB_HISTORY"] {
        let bookmark = &bookmarks[stream];
        for key in ["last_pk_fetched", "last_rowid"] {
            assert!(
                bookmark.get(key).is_some_and(Json::is_null),
                "{stream}.{key} is not an explicit null: {state}"
            );
        }
    }
}
