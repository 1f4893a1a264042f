//! A state saved by one run is the next run's starting point (issue 12 item 1), over the
//! real binaries: `meltano run tap-oracle target-oracle` three times (the 2nd and 3rd
//! runs INCREMENTAL, the stored state never nested); an SDK tap (tap-jsonl) through
//! Meltano into target-oracle twice (the tap gets its own bookmarks back); and the
//! README's pipe fed its own last output line as `--state`.
//!
//! "Incremental" is observed, not inferred from logs: before each later run an employee
//! is added with an `UPDATED_AT` older than every bookmark (only a full re-read would load
//! it) and one with a newer `UPDATED_AT` (an incremental run must load it).

use std::path::Path;
use std::process::Command;

use chrono::{TimeZone, Utc};
use serde_json::{json, Value as Json};
use test_support::{
    bin_dir, describe, insert_employee, loaded_employee_ids, parse_json_lines, peer, repo_root,
    run_ok, sample_dir, MeltanoProject,
};

/// An instant before every sample row's `UPDATED_AT`, and one after all of them.
fn long_ago(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

fn later(seconds: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// The sample's employee ids.
fn sample_ids() -> Vec<u64> {
    let mut ids: Vec<u64> = test_support::sample_rows("HR-EMPLOYEES")
        .iter()
        .map(|row| row[0].as_u64().expect("EMPLOYEE_ID"))
        .collect();
    ids.sort_unstable();
    ids
}

fn with(mut ids: Vec<u64>, more: &[u64]) -> Vec<u64> {
    ids.extend_from_slice(more);
    ids.sort_unstable();
    ids
}

/// Meltano's stored state for `state_id`, checked to be a bare Singer state: bookmarks
/// at the top, no `{"type":"STATE","value":...}` wrapper at any level.
fn stored_state(project: &MeltanoProject, state_id: &str) -> Json {
    let got = project.run(&["state", "get", state_id]);
    let stored: Json = serde_json::from_slice(&got.stdout)
        .unwrap_or_else(|e| panic!("state get prints JSON: {e}\n{}", describe(&got)));
    let state = stored["singer_state"].clone();
    assert!(
        state["bookmarks"].is_object(),
        "no top-level bookmarks: {stored}"
    );
    let text = state.to_string();
    assert!(
        !text.contains(r#""type":"STATE""#) && state.get("value").is_none(),
        "the stored state is a wrapped STATE message: {stored}"
    );
    state
}

#[test]
fn meltano_run_into_target_oracle_three_times_is_incremental_from_the_second_run() {
    let project = MeltanoProject::new();
    let state_id = "sim:tap-oracle-to-target-oracle";
    project.run(&["run", "tap-oracle", "target-oracle"]);
    assert_eq!(loaded_employee_ids(&project.target_db()), sample_ids());
    let first = stored_state(&project, state_id);
    let bookmark = &first["bookmarks"]["HR-EMPLOYEES"];
    assert_eq!(bookmark["replication_key"], "UPDATED_AT", "{first}");

    insert_employee(&project.tap_db(), 900, long_ago(0));
    insert_employee(&project.tap_db(), 901, later(0));
    let second = project.run(&["run", "tap-oracle", "target-oracle"]);
    assert_eq!(
        loaded_employee_ids(&project.target_db()),
        with(sample_ids(), &[901]),
        "the second run is not incremental (900 is older than the bookmark)\n{}",
        describe(&second)
    );
    let state = stored_state(&project, state_id);
    assert_eq!(
        state["bookmarks"]["HR-EMPLOYEES"]["replication_key_value"], "2027-03-01T00:00:00Z",
        "{state}"
    );

    insert_employee(&project.tap_db(), 902, long_ago(1));
    insert_employee(&project.tap_db(), 903, later(60));
    let third = project.run(&["run", "tap-oracle", "target-oracle"]);
    assert_eq!(
        loaded_employee_ids(&project.target_db()),
        with(sample_ids(), &[901, 903]),
        "the third run is not incremental\n{}",
        describe(&third)
    );
    let state = stored_state(&project, state_id);
    assert_eq!(
        state["bookmarks"]["HR-EMPLOYEES"]["replication_key_value"], "2027-03-01T00:01:00Z",
        "{state}"
    );
}

/// Adds tap-jsonl (the Meltano SDK tap, `.peers/tap-jsonl`) to the project's meltano.yml,
/// reading `file` as stream `people` keyed by `id`. Its executable is a wrapper that
/// keeps a copy of each `--state` file Meltano hands it in `seen/`, then runs the tap.
fn add_tap_jsonl(project: &MeltanoProject, file: &Path) -> std::path::PathBuf {
    let tap = peer("tap-jsonl", "tap-jsonl");
    let seen = project.path().join("seen");
    std::fs::create_dir(&seen).unwrap();
    let wrapper = project.path().join("tap-jsonl-wrapper");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nprev=\nfor a in \"$@\"; do\n  if [ \"$prev\" = --state ]; then cp \"$a\" \"{seen}/$(date +%s%N).json\"; fi\n  prev=$a\ndone\nexec \"{tap}\" \"$@\"\n",
            seen = seen.display(),
            tap = tap.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let python = peer("meltano", "python");
    let script = "import sys,yaml\n\
        path=sys.argv[1]\n\
        doc=yaml.safe_load(open(path))\n\
        doc['plugins']['extractors'].append({'name':'tap-jsonl','namespace':'tap_jsonl',\
        'executable':sys.argv[3],\
        'capabilities':['catalog','discover','state','about'],\
        'config':{'path':sys.argv[2],'stream_name':'people','primary_keys':['id']}})\n\
        yaml.safe_dump(doc,open(path,'w'),sort_keys=False)";
    run_ok(
        Command::new(python)
            .args(["-c", script])
            .arg(project.path().join("meltano.yml"))
            .arg(file)
            .arg(&wrapper),
    );
    seen
}

/// The `--state` files the wrapped tap received, oldest first, parsed.
fn states_received(seen: &Path) -> Vec<Json> {
    let mut files: Vec<_> = std::fs::read_dir(seen)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
        .collect()
}

#[test]
fn an_sdk_tap_through_meltano_into_target_oracle_gets_its_own_bookmarks_back() {
    let project = MeltanoProject::new();
    let file = project.path().join("people.jsonl");
    std::fs::write(
        &file,
        "{\"id\": 1, \"name\": \"Ann\"}\n{\"id\": 2, \"name\": \"Bo\"}\n",
    )
    .unwrap();
    let seen = add_tap_jsonl(&project, &file);
    let state_id = "sim:tap-jsonl-to-target-oracle";

    project.run(&["run", "tap-jsonl", "target-oracle"]);
    let target = sim_backend::SimBackend::open(&project.target_db()).expect("open");
    assert_eq!(target.row_count("SIM_USER", "PEOPLE").expect("PEOPLE"), 2);
    drop(target);
    // The stored state is the SDK tap's own, bare: partitions under `bookmarks.people`.
    let state = stored_state(&project, state_id);
    let partitions = state["bookmarks"]["people"]["partitions"]
        .as_array()
        .unwrap_or_else(|| panic!("no partitions for people: {state}"));
    assert_eq!(partitions.len(), 1, "{state}");
    assert_eq!(
        partitions[0]["replication_key"], "_sdc_last_modified",
        "{state}"
    );
    assert!(
        partitions[0]["replication_key_value"].is_string(),
        "{state}"
    );

    // The second run hands the tap exactly the bookmarks it wrote.
    let second = project.run(&["run", "tap-jsonl", "target-oracle"]);
    let received = states_received(&seen);
    let last = received
        .last()
        .unwrap_or_else(|| panic!("the tap got no --state\n{}", describe(&second)));
    assert_eq!(
        last["bookmarks"], state["bookmarks"],
        "tap-jsonl did not get its own bookmarks back: {last}"
    );
    let stderr = String::from_utf8_lossy(&second.stderr);
    let value = partitions[0]["replication_key_value"].as_str().unwrap();
    assert!(
        stderr.contains(&format!(
            "Starting incremental sync with bookmark value: {value}"
        )),
        "the SDK did not start from its bookmark:\n{stderr}"
    );
    assert_eq!(
        stored_state(&project, state_id)["bookmarks"],
        state["bookmarks"]
    );
}

/// The README's sync pipe (from `tap-oracle ... --state state.json` to its `tail -1`
/// line), as the README writes it.
fn readme_pipe() -> String {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            l.trim_start()
                .starts_with("tap-oracle --config config.json --catalog")
        })
        .expect("README: the sync pipe");
    let end = lines[start..]
        .iter()
        .position(|l| l.trim_start().starts_with("tail -1 new-state.json"))
        .expect("README: `tail -1 new-state.json` after the sync pipe")
        + start;
    lines[start..=end]
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_pipe_fed_its_own_last_line_as_state_is_incremental() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source-db");
    let backend = sim_backend::SimBackend::open(&source).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    drop(backend);
    let target = dir.path().join("target-db");
    std::fs::write(
        dir.path().join("config.json"),
        json!({"driver": "sim", "sim_path": source}).to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("target.json"),
        json!({"driver": "sim", "sim_path": target}).to_string(),
    )
    .unwrap();
    let discovered = run_ok(
        Command::new(test_support::bin("tap-oracle"))
            .args(["--config", "config.json", "--discover"])
            .current_dir(dir.path()),
    );
    let mut catalog: Json = serde_json::from_slice(&discovered.stdout).expect("catalog");
    for stream in catalog["streams"].as_array_mut().expect("streams") {
        let employees = stream["tap_stream_id"] == "HR-EMPLOYEES";
        let top = &mut stream["metadata"][0]["metadata"];
        top["selected"] = json!(true);
        if employees {
            top["replication-method"] = json!("INCREMENTAL");
            top["replication-key"] = json!("UPDATED_AT");
        }
    }
    std::fs::write(dir.path().join("catalog.json"), catalog.to_string()).unwrap();
    std::fs::write(dir.path().join("state.json"), "").unwrap();

    let script = readme_pipe();
    let path = format!(
        "{}:{}",
        bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run_pipe = || {
        run_ok(
            Command::new("bash")
                .args(["-euo", "pipefail", "-c", &script])
                .current_dir(dir.path())
                .env("PATH", &path)
                .env_remove("RUST_LOG")
                .env_remove("SINGER_LOG_FORMAT"),
        )
    };
    run_pipe();
    assert_eq!(loaded_employee_ids(&target), sample_ids());
    let state_text = std::fs::read_to_string(dir.path().join("state.json")).unwrap();
    let state = &parse_json_lines(&state_text)[0];
    assert!(
        state["bookmarks"]["HR-EMPLOYEES"]["replication_key_value"].is_string()
            && state.get("type").is_none(),
        "the last line is not a bare state: {state_text}"
    );

    insert_employee(&source, 900, long_ago(0));
    insert_employee(&source, 901, later(0));
    let second = run_pipe();
    assert_eq!(
        loaded_employee_ids(&target),
        with(sample_ids(), &[901]),
        "the second run did not resume from state.json\n{}",
        describe(&second)
    );
}

#[test]
fn tap_oracle_reads_a_state_wrapped_in_state_messages_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source-db");
    let backend = sim_backend::SimBackend::open(&source).expect("open");
    sim_backend::seed::seed_dir(&backend, &sample_dir()).expect("seed");
    drop(backend);
    insert_employee(&source, 901, later(0));
    let config = dir.path().join("config.json");
    std::fs::write(
        &config,
        json!({"driver": "sim", "sim_path": source, "filter_tables": ["HR.EMPLOYEES"]}).to_string(),
    )
    .unwrap();
    let discovered = run_ok(
        Command::new(test_support::bin("tap-oracle"))
            .arg("--config")
            .arg(&config)
            .arg("--discover"),
    );
    let mut catalog: Json = serde_json::from_slice(&discovered.stdout).expect("catalog");
    let top = &mut catalog["streams"][0]["metadata"][0]["metadata"];
    top["selected"] = json!(true);
    top["replication-method"] = json!("INCREMENTAL");
    top["replication-key"] = json!("UPDATED_AT");
    let catalog_path = dir.path().join("catalog.json");
    std::fs::write(&catalog_path, catalog.to_string()).unwrap();
    // What Meltano stored after two runs of the old target: wrapped twice.
    let bare = json!({"bookmarks": {"HR-EMPLOYEES": {
        "replication_key": "UPDATED_AT", "replication_key_value": "2027-01-01T00:00:00Z"}}});
    let wrapped = json!({"type": "STATE", "value": {"type": "STATE", "value": bare}});
    let state_path = dir.path().join("state.json");
    std::fs::write(&state_path, wrapped.to_string()).unwrap();
    let out = run_ok(
        Command::new(test_support::bin("tap-oracle"))
            .arg("--config")
            .arg(&config)
            .arg("--catalog")
            .arg(&catalog_path)
            .arg("--state")
            .arg(&state_path)
            .env_remove("RUST_LOG")
            .env_remove("SINGER_LOG_FORMAT"),
    );
    let messages = parse_json_lines(&String::from_utf8_lossy(&out.stdout));
    let ids: Vec<String> = messages
        .iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"]["EMPLOYEE_ID"].to_string())
        .collect();
    assert_eq!(ids, ["901"], "{}", describe(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("wrapped in a STATE message").count(),
        1,
        "{stderr}"
    );
    let last = messages
        .iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .unwrap();
    assert!(last["value"].get("type").is_none(), "{last}");
    assert!(last["value"].get("value").is_none(), "{last}");
}
