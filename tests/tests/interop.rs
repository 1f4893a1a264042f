//! Interop with the real Python peers pinned in `.peers/` (scripts/install-peers.sh):
//! Meltano 4.4.1 running tap-oracle into target-jsonl on the simulated backend (every row,
//! exact values, incremental second run with Meltano's stored state), Meltano's discover,
//! select and config commands, the Meltano SDK tap `tap-jsonl` piped into target-oracle,
//! and tap-oracle's output read by the SDK's own message classes
//! (scripts/check-singer-messages.py). A missing peer fails the test with a message naming
//! the install script; each Meltano test works in its own temp project.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use db_boundary::sim::SimBackend;
use db_boundary::Value;
use e2e::{
    bin, canonical_decimal, parse_json_lines, peer, read_json_lines, repo_root, run_ok,
    sample_columns, sample_rows, MeltanoProject,
};
use serde_json::{json, Value as Json};

/// The output rows of one stream written by target-jsonl (`output/<stream>.jsonl`).
fn jsonl_output(project: &MeltanoProject, stream: &str) -> Vec<Json> {
    read_json_lines(
        &project
            .path()
            .join("output")
            .join(format!("{stream}.jsonl")),
    )
}

#[test]
fn meltano_run_to_target_jsonl_writes_every_row_then_runs_incrementally() {
    let project = MeltanoProject::new();
    project.run(&["run", "tap-oracle", "target-jsonl"]);

    for stream in ["HR-DEPARTMENTS", "HR-EMPLOYEES", "HR-JOB_HISTORY"] {
        let (owner, table) = stream.split_once('-').unwrap();
        let columns = sample_columns(owner, table);
        let expected = sample_rows(stream);
        let written = jsonl_output(&project, stream);
        assert_eq!(written.len(), expected.len(), "{stream}: row count");
        // Rows keyed by their first column (the key of each sample table), compared
        // value by value with the seed.
        let by_key: BTreeMap<String, &Json> = written
            .iter()
            .map(|row| (row[&columns[0]].to_string(), row))
            .collect();
        for seed in &expected {
            let row = by_key
                .get(&seed[0].to_string())
                .unwrap_or_else(|| panic!("{stream}: row {} missing", seed[0]));
            for (column, seeded) in columns.iter().zip(seed) {
                let got = &row[column];
                match (column.as_str(), seeded) {
                    (_, Json::Null) => assert!(got.is_null(), "{stream}.{column}: {got}"),
                    ("SALARY" | "COMMISSION_PCT", _) => assert_eq!(
                        canonical_decimal(got),
                        canonical_decimal(seeded),
                        "{stream}.{column}"
                    ),
                    ("UPDATED_AT", Json::String(text)) => assert_eq!(
                        e2e::utc_text(got.as_str().expect("timestamp text")),
                        e2e::utc_text(text),
                        "{stream}.{column}"
                    ),
                    (_, Json::String(text)) if text.len() == 19 && text.as_bytes()[10] == b'T' => {
                        let got = got.as_str().expect("date text");
                        assert!(
                            got.starts_with(text.as_str()),
                            "{stream}.{column}: {got} vs {text}"
                        );
                    }
                    _ => assert_eq!(got, seeded, "{stream}.{column}"),
                }
            }
        }
    }

    // Meltano stored the tap's state; the next run receives it with --state and reads
    // HR-EMPLOYEES (INCREMENTAL on UPDATED_AT in meltano.yml) from its bookmark on.
    let state_list = project.run(&["state", "list"]);
    let state_id = String::from_utf8_lossy(&state_list.stdout)
        .lines()
        .find(|l| l.contains("tap-oracle-to-target-jsonl"))
        .unwrap_or_else(|| panic!("no state id: {}", e2e::describe(&state_list)))
        .trim()
        .to_owned();
    let state = project.run(&["state", "get", &state_id]);
    let state: Json = serde_json::from_slice(&state.stdout).expect("state JSON");
    let bookmark = &state["singer_state"]["bookmarks"]["HR-EMPLOYEES"];
    assert!(
        bookmark["replication_key_value"].is_string(),
        "no HR-EMPLOYEES bookmark in {state}"
    );

    let employees_before = jsonl_output(&project, "HR-EMPLOYEES").len();
    let second = project.run(&["run", "tap-oracle", "target-jsonl"]);
    let employees_after = jsonl_output(&project, "HR-EMPLOYEES").len();
    let reread = employees_after - employees_before;
    assert!(
        reread < employees_before / 2,
        "second run re-read {reread} of {employees_before} employees: not incremental\n{}",
        e2e::describe(&second)
    );
    // target-jsonl appends: the full-table streams come again whole.
    assert_eq!(
        jsonl_output(&project, "HR-DEPARTMENTS").len(),
        2 * sample_rows("HR-DEPARTMENTS").len()
    );
}

#[test]
fn meltano_invoke_discover_select_and_config_behave() {
    let project = MeltanoProject::new();
    let discovered = project.run(&["invoke", "tap-oracle", "--discover"]);
    let catalog: Json = serde_json::from_slice(&discovered.stdout)
        .unwrap_or_else(|e| panic!("discover output is not a catalog: {e}"));
    let streams: Vec<&str> = catalog["streams"]
        .as_array()
        .expect("streams")
        .iter()
        .map(|s| s["tap_stream_id"].as_str().expect("tap_stream_id"))
        .collect();
    for stream in ["HR-DEPARTMENTS", "HR-EMPLOYEES", "HR-JOB_HISTORY"] {
        assert!(streams.contains(&stream), "{stream} not in {streams:?}");
    }

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
    assert!(config["sim_path"]
        .as_str()
        .is_some_and(|p| p.ends_with(".meltano/sim-db")));
}

#[test]
fn tap_output_passes_the_sdk_message_checker() {
    let project = MeltanoProject::new();
    let invoked = project.run(&["invoke", "tap-oracle"]);
    let messages = project.path().join("tap-output.jsonl");
    std::fs::write(&messages, &invoked.stdout).unwrap();
    let checked = run_ok(
        Command::new(peer("tap-jsonl", "python"))
            .arg(repo_root().join("scripts/check-singer-messages.py"))
            .arg(&messages),
    );
    let report = String::from_utf8_lossy(&checked.stderr);
    assert!(report.contains("'RECORD'"), "{report}");
}

#[test]
fn sdk_tap_jsonl_into_target_oracle_lands_every_record() {
    let tap = peer("tap-jsonl", "tap-jsonl");
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("people.jsonl");
    let people: Vec<Json> = (1..=250)
        .map(|id| json!({"id": id, "name": format!("person {id}"), "score": format!("{id}.25").parse::<f64>().unwrap()}))
        .collect();
    std::fs::write(
        &source,
        people.iter().map(|p| format!("{p}\n")).collect::<String>(),
    )
    .unwrap();
    let tap_config = dir.path().join("tap.json");
    std::fs::write(
        &tap_config,
        json!({"path": source, "stream_name": "people", "primary_keys": ["id"]}).to_string(),
    )
    .unwrap();
    let target_config = dir.path().join("target.json");
    let db = dir.path().join("db");
    std::fs::write(
        &target_config,
        json!({"driver": "sim", "sim_path": db}).to_string(),
    )
    .unwrap();

    let mut tap = Command::new(tap)
        .arg("--config")
        .arg(&tap_config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start tap-jsonl");
    let target = Command::new(bin("target-oracle"))
        .arg("--config")
        .arg(&target_config)
        .stdin(tap.stdout.take().unwrap())
        .env_remove("RUST_LOG")
        .output()
        .expect("start target-oracle");
    assert!(tap.wait().unwrap().success(), "tap-jsonl failed");
    assert!(target.status.success(), "{}", e2e::describe(&target));

    // The target confirmed the SDK tap's state after the rows were committed.
    let states = parse_json_lines(&String::from_utf8_lossy(&target.stdout));
    assert!(
        states
            .iter()
            .any(|s| s["type"] == "STATE" && !s["value"]["bookmarks"]["people"].is_null()),
        "no state confirmed: {states:?}"
    );

    let backend = SimBackend::open(&db).unwrap();
    let columns = backend.column_names("SIM_USER", "PEOPLE").unwrap();
    let rows = backend.read_rows("SIM_USER", "PEOPLE").unwrap();
    assert_eq!(rows.len(), people.len());
    let id_at = columns.iter().position(|c| c == "ID").expect("ID column");
    let name_at = columns
        .iter()
        .position(|c| c == "NAME")
        .expect("NAME column");
    let mut ids: Vec<String> = rows
        .iter()
        .map(|row| match &row[id_at] {
            Value::Number(n) => n.clone(),
            other => panic!("ID is {other:?}"),
        })
        .collect();
    ids.sort_by_key(|n| n.parse::<u32>().unwrap());
    assert_eq!(ids, (1..=250).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(rows
        .iter()
        .any(|row| row[name_at] == Value::Text("person 250".into())));
}
