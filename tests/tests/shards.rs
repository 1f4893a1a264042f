//! A sharded FULL_TABLE run loaded by target-oracle (README "Sharded runs"): the
//! shards' outputs, each through its own target process as an orchestrator's tasks
//! would run them, leave every row of the previous load in place (no shard emits
//! ACTIVATE_VERSION, so none retires rows another shard has not sent yet); the final
//! step's ACTIVATE_VERSION then leaves exactly the source's rows.

use std::path::Path;
use std::process::{Command, Stdio};

use db_boundary::Value;
use serde_json::{json, Value as Json};
use sim_backend::SimBackend;
use test_support::{bin, describe, insert_employee, loaded_employee_ids, run_ok, sample_dir};

/// Runs the tap with `env`, pipes its stdout into target-oracle; the tap's messages.
fn tap_into_target(tap_args: &[&Path], env: &[(&str, String)], target_config: &Path) -> Vec<Json> {
    let mut tap = Command::new(bin("tap-oracle"));
    tap.arg("--config")
        .arg(tap_args[0])
        .arg("--catalog")
        .arg(tap_args[1])
        .env_remove("RUST_LOG");
    for (k, v) in env {
        tap.env(k, v);
    }
    let out = run_ok(&mut tap);
    let loaded = test_support::run_with_input(
        Command::new(bin("target-oracle"))
            .arg("--config")
            .arg(target_config)
            .env_remove("RUST_LOG"),
        &out.stdout,
    );
    assert!(loaded.status.success(), "{}", describe(&loaded));
    test_support::parse_json_lines(&String::from_utf8_lossy(&out.stdout))
}

fn count(messages: &[Json], kind: &str) -> usize {
    messages.iter().filter(|m| m["type"] == kind).count()
}

#[test]
fn shards_then_the_final_step_leave_exactly_the_source_rows_in_the_target() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (source_db, target_db) = (dir.path().join("source"), dir.path().join("target"));
    let source = SimBackend::open(&source_db).expect("open");
    sim_backend::seed::seed_dir(&source, &sample_dir()).expect("seed");
    let config = dir.path().join("tap.json");
    std::fs::write(
        &config,
        json!({"driver": "sim", "sim_path": source_db, "state_every_rows": 10}).to_string(),
    )
    .expect("config");
    let target_config = dir.path().join("target.json");
    std::fs::write(
        &target_config,
        json!({"driver": "sim", "sim_path": target_db, "hard_delete": true}).to_string(),
    )
    .expect("target config");
    let catalog_path = dir.path().join("catalog.json");
    test_support::write_catalog(&bin("tap-oracle"), &config, &catalog_path, |_, meta| {
        meta["selected"] = json!(true);
    });
    let tap_args = [config.as_path(), catalog_path.as_path()];

    // Yesterday's ordinary load, then the source changes: two employees leave, one joins.
    tap_into_target(&tap_args, &[], &target_config);
    let before = loaded_employee_ids(&target_db);
    assert_eq!(before.len(), 107);
    let mut tx = source.begin_transaction().expect("transaction");
    for id in [before[3], before[90]] {
        assert!(tx
            .delete("HR", "EMPLOYEES", &[Value::Number(id.into())])
            .expect("delete"));
    }
    tx.commit().expect("commit");
    insert_employee(&source_db, 900, chrono::Utc::now());
    let mut expected: Vec<u64> = before
        .iter()
        .copied()
        .filter(|id| *id != before[3] && *id != before[90])
        .collect();
    expected.push(900);

    let plan = run_ok(
        Command::new(bin("tap-oracle"))
            .args(["--config", config.to_str().unwrap()])
            .args([
                "--catalog",
                catalog_path.to_str().unwrap(),
                "--plan-shards",
                "3",
            ]),
    );
    let plan_path = dir.path().join("plan.json");
    std::fs::write(&plan_path, &plan.stdout).expect("plan");
    let plan_env = (
        "TAP_ORACLE_SHARD_PLAN",
        plan_path.to_str().unwrap().to_owned(),
    );
    for index in 0..3 {
        let env = [
            plan_env.clone(),
            ("TAP_ORACLE_SHARD_INDEX", index.to_string()),
        ];
        let out = tap_into_target(&tap_args, &env, &target_config);
        assert!(count(&out, "RECORD") > 0, "shard {index} read rows");
        assert_eq!(count(&out, "ACTIVATE_VERSION"), 0, "shard {index}");
        let mut loaded = loaded_employee_ids(&target_db);
        loaded.dedup();
        let mut kept = before.clone();
        kept.extend(loaded.iter().filter(|id| **id == 900));
        kept.sort_unstable();
        assert_eq!(loaded, kept, "after shard {index}: nothing retired yet");
    }
    let env = [plan_env, ("TAP_ORACLE_SHARD_FINISH", "true".to_owned())];
    let finish = tap_into_target(&tap_args, &env, &target_config);
    assert_eq!(
        (count(&finish, "ACTIVATE_VERSION"), count(&finish, "RECORD")),
        (3, 0)
    );
    assert_eq!(loaded_employee_ids(&target_db), expected);
    let target = SimBackend::open(&target_db).expect("target");
    for (table, rows) in [("HR_DEPARTMENTS", 10), ("HR_JOB_HISTORY", 10)] {
        assert_eq!(
            target.row_count("SIM_USER", table).expect("count"),
            rows,
            "{table}"
        );
    }
}

/// The README's Meltano recipe as typed: the plan from `meltano invoke`, two shards at
/// once with `meltano run --state-id-suffix shard-<i>` (each with its own
/// `MELTANO_SYS_DIR_ROOT`, sharing the system database that holds the states), their
/// states from `meltano state get`, and the final step checking them (a JSON array in
/// `TAP_ORACLE_SHARD_STATES`: Meltano parses array settings from the environment as JSON).
#[test]
fn the_meltano_recipe_runs_as_the_readme_says() {
    let project = test_support::MeltanoProject::new();
    let root = project.path().to_path_buf();
    project.run(&["invoke", "--dump=catalog", "tap-oracle-sharded"]);
    let plan = project.run(&["invoke", "tap-oracle-sharded", "--plan-shards", "2"]);
    let plan_path = root.join("plan.json");
    std::fs::write(&plan_path, &plan.stdout).expect("plan");
    let plan: Json = serde_json::from_slice(&plan.stdout).expect("a plan on stdout");
    assert_eq!(plan["streams"].as_array().map(Vec::len), Some(3));
    let database = format!("sqlite:///{}", root.join(".meltano/meltano.db").display());
    let shards: Vec<_> = (0..2)
        .map(|i| {
            let suffix = format!("shard-{i}");
            project
                .command(&["run", "--state-id-suffix", &suffix])
                .args(["tap-oracle-sharded", "target-oracle"])
                .env(
                    "MELTANO_SYS_DIR_ROOT",
                    root.join(format!(".meltano/{suffix}")),
                )
                .env("MELTANO_DATABASE_URI", &database)
                .env("TAP_ORACLE_SHARD_PLAN", &plan_path)
                .env("TAP_ORACLE_SHARD_INDEX", i.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("meltano run")
        })
        .collect();
    for shard in shards {
        let out = shard.wait_with_output().expect("meltano run");
        assert!(out.status.success(), "{}", describe(&out));
    }
    let states: Vec<String> = (0..2)
        .map(|i| {
            let id = format!("sim:tap-oracle-sharded-to-target-oracle:shard-{i}");
            let state = project.run(&["state", "get", &id]);
            let path = root.join(format!("state-{i}.json"));
            std::fs::write(&path, &state.stdout).expect("state");
            path.to_str().expect("utf-8").to_owned()
        })
        .collect();
    let done = project
        .command(&["run", "--state-id-suffix", "finish"])
        .args(["tap-oracle-sharded", "target-oracle"])
        .env("TAP_ORACLE_SHARD_PLAN", &plan_path)
        .env("TAP_ORACLE_SHARD_FINISH", "true")
        .env("TAP_ORACLE_SHARD_STATES", json!(states).to_string())
        .output()
        .expect("meltano run");
    assert!(done.status.success(), "{}", describe(&done));
    let ids = loaded_employee_ids(&project.target_db());
    let sample: Vec<u64> = test_support::sample_rows("HR-EMPLOYEES")
        .iter()
        .map(|row| row[0].as_u64().expect("EMPLOYEE_ID"))
        .collect();
    let mut sample = sample;
    sample.sort_unstable();
    assert_eq!(ids, sample);
}
