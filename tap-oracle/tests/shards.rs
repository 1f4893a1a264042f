//! FULL_TABLE sharded across processes over the real binary: a plan (`--plan-shards`),
//! shard runs (`shard_plan` + `shard_index`, given as environment variables as a
//! Kubernetes job array would) whose union is the table as of the plan's SCN, each row
//! once, also when a shard is killed and restarted from its STATE; the final step's
//! ACTIVATE_VERSION and its check of the shards' states; and what is refused.

mod common;
use common::*;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use db_boundary::Value;
use serde_json::{json, Value as Json};

/// The tap with the fixture's config and catalog, and these environment variables.
fn tap(config: &Path, catalog: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(TAP);
    command
        .arg("--config")
        .arg(config)
        .arg("--catalog")
        .arg(catalog)
        .env_remove("RUST_LOG");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

fn ok(output: Output) -> Vec<Json> {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    messages(&output.stdout)
}

/// Makes a plan for `n` shards; its path and content.
fn plan(f: &Fixture, config: &Path, catalog: &Path, n: usize) -> (PathBuf, Json) {
    let out = tap(config, catalog, &[])
        .args(["--plan-shards", &n.to_string()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = f.path("plan.json");
    std::fs::write(&path, &out.stdout).unwrap();
    (path, serde_json::from_slice(&out.stdout).unwrap())
}

fn shard_env(plan: &Path, index: usize) -> Vec<(&'static str, String)> {
    vec![
        ("TAP_ORACLE_SHARD_PLAN", plan.to_str().unwrap().to_owned()),
        ("TAP_ORACLE_SHARD_INDEX", index.to_string()),
    ]
}

fn event_keys(messages: &[Json]) -> Vec<(String, String)> {
    records(messages, "APP-EVENTS")
        .iter()
        .map(|r| key_of(r))
        .collect()
}

fn write_state(f: &Fixture, name: &str, state: &Json) -> PathBuf {
    let path = f.path(name);
    std::fs::write(&path, state.to_string()).unwrap();
    path
}

/// The fixture writes every catalog to one path: keep this one under its own name.
fn renamed(path: PathBuf, name: &str) -> PathBuf {
    let to = path.with_file_name(name);
    std::fs::rename(&path, &to).unwrap();
    to
}

fn last_state(messages: &[Json]) -> Json {
    messages
        .iter()
        .rev()
        .find(|m| m["type"] == "STATE")
        .unwrap()["value"]
        .clone()
}

/// Deletes EVENTS rows `i` (key ID2 = K{i%3}, ID1 = i/3) in one committed transaction.
fn delete_events(f: &Fixture, rows: &[u32]) {
    let mut tx = f.backend.begin_transaction().unwrap();
    for i in rows {
        let key = [
            Value::Text(format!("K{}", i % 3)),
            Value::Number((i / 3).into()),
        ];
        assert!(tx.delete("APP", "EVENTS", &key).unwrap());
    }
    tx.commit().unwrap();
}

/// Three shard processes at once: each reads its range only, AS OF the plan's SCN
/// (rows inserted and deleted after the plan do not show), under the plan's version,
/// with no ACTIVATE_VERSION; together they are the table, each row once. A shard run
/// again with its final STATE reads nothing.
#[test]
fn shards_read_the_plans_snapshot_once_between_them() {
    let f = Fixture::new();
    events(&f, 600);
    let config = f.config(json!({"full_table_page_rows": 50, "max_parallel_chunks": 2}));
    let catalog = f.catalog(&config, json!({}));
    let (plan_path, plan) = plan(&f, &config, &catalog, 3);
    // The plan file's format, with what changes between runs stood in for.
    let mut shown = plan.clone();
    shown["scn"] = json!("[scn]");
    shown["created_at"] = json!("[created_at]");
    shown["streams"][0]["version"] = json!("[version]");
    insta::assert_snapshot!(
        "plan_of_three_shards",
        serde_json::to_string_pretty(&shown).unwrap()
    );
    assert!(plan["scn"].is_u64() && plan["streams"][0]["version"].is_i64());
    let stream = &plan["streams"][0];
    assert_eq!(stream["stream"], "APP-EVENTS");
    assert_eq!(stream["key"], json!(["ID2", "ID1"]));
    let chunks = stream["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3);
    assert_eq!(chunks[0]["through"], json!({"ID2": "K0", "ID1": 199}));
    assert_eq!(chunks[1]["after"], chunks[0]["through"]);
    // Changes after the plan: the shards must not see them.
    insert_events(&f, 600..660);
    delete_events(&f, &[0, 301, 599]);

    let children: Vec<_> = (0..3)
        .map(|i| {
            tap(&config, &catalog, &shard_env(&plan_path, i))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<Vec<Json>> = children
        .into_iter()
        .map(|c| ok(c.wait_with_output().unwrap()))
        .collect();
    let mut union = Vec::new();
    for (i, out) in outputs.iter().enumerate() {
        let keys = event_keys(out);
        assert_eq!(keys.len(), 200, "shard {i} reads its third");
        union.extend(keys);
        assert!(
            out.iter().all(|m| m["type"] != "ACTIVATE_VERSION"),
            "shard {i}"
        );
        assert!(out
            .iter()
            .filter(|m| m["type"] == "RECORD")
            .all(|m| m["version"] == stream["version"]));
        let bookmark = &last_state(out)["bookmarks"]["APP-EVENTS"];
        assert_eq!(
            bookmark["shard"],
            json!({"plan_scn": plan["scn"], "index": i, "count": 3, "complete": true})
        );
        assert_eq!(bookmark["version"], stream["version"]);
        assert!(bookmark["chunks"].is_null() && bookmark["scn"].is_null());
    }
    let expected: BTreeSet<(String, String)> = (0..600u32)
        .map(|i| ((i / 3).to_string(), format!("\"K{}\"", i % 3)))
        .collect();
    let set: BTreeSet<_> = union.iter().cloned().collect();
    assert_eq!(union.len(), 600, "no row twice");
    assert_eq!(set, expected, "the table as of the plan's SCN");

    // An orchestrator's retry of a finished shard: nothing is read again.
    let state = write_state(&f, "s1.json", &last_state(&outputs[1]));
    let again = ok(tap(&config, &catalog, &shard_env(&plan_path, 1))
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap());
    assert!(event_keys(&again).is_empty());
}

/// A shard killed midway and restarted with its last STATE reads only what that STATE
/// did not cover; with the other shard, every row once.
#[test]
fn a_killed_shard_resumes_from_its_own_state() {
    let f = Fixture::new();
    events(&f, 900);
    let config = f.config(json!({"full_table_page_rows": 40, "state_every_rows": 30}));
    let catalog = f.catalog(&config, json!({}));
    // Four ranges for two shards: shard 0 reads ranges 0 and 2.
    let (plan_path, plan) = plan(&f, &config, &catalog, 4);
    let env = [
        shard_env(&plan_path, 0),
        vec![("TAP_ORACLE_SHARD_COUNT", "2".to_owned())],
    ]
    .concat();
    let mut child = tap(&config, &catalog, &env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let seen: Vec<Json> = reader
        .lines()
        .take(300)
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    let at = seen.iter().rposition(|m| m["type"] == "STATE").unwrap();
    let state = seen[at]["value"].clone();
    let bookmark = &state["bookmarks"]["APP-EVENTS"];
    assert_eq!(bookmark["chunks"].as_array().unwrap().len(), 2);
    assert_eq!(bookmark["shard"]["complete"], false);
    assert_eq!(bookmark["scn"], plan["scn"]);
    let before = event_keys(&seen[..at]);
    assert!(!before.is_empty() && before.len() < 450, "{}", before.len());

    let state = write_state(&f, "s0.json", &state);
    let rest = ok(tap(&config, &catalog, &env)
        .arg("--state")
        .arg(&state)
        .output()
        .unwrap());
    let again = event_keys(&rest);
    assert_eq!(again.len(), 450 - before.len(), "only the unread tails");
    let other = [
        shard_env(&plan_path, 1),
        vec![("TAP_ORACLE_SHARD_COUNT", "2".to_owned())],
    ]
    .concat();
    let shard1 = event_keys(&ok(tap(&config, &catalog, &other).output().unwrap()));
    assert_eq!(shard1.len(), 450);
    let mut union = [before, again, shard1].concat();
    union.sort();
    union.dedup();
    assert_eq!(union.len(), 900, "every row, none twice");
}

/// The final step: refused while a shard's state shows it unfinished or is missing;
/// with every shard's state (or none given) it writes SCHEMA and ACTIVATE_VERSION with
/// the plan's version, and reads no rows.
#[test]
fn the_final_step_activates_the_plans_version_once_every_shard_is_done() {
    let f = Fixture::new();
    events(&f, 300);
    let config = f.config(json!({}));
    let catalog = f.catalog(&config, json!({}));
    let (plan_path, plan) = plan(&f, &config, &catalog, 2);
    let states: Vec<PathBuf> = (0..2)
        .map(|i| {
            let out = ok(tap(&config, &catalog, &shard_env(&plan_path, i))
                .output()
                .unwrap());
            write_state(&f, &format!("s{i}.json"), &last_state(&out))
        })
        .collect();
    let finish = |states: &[&PathBuf]| {
        let list: Vec<&str> = states.iter().map(|p| p.to_str().unwrap()).collect();
        tap(
            &config,
            &catalog,
            &[
                (
                    "TAP_ORACLE_SHARD_PLAN",
                    plan_path.to_str().unwrap().to_owned(),
                ),
                ("TAP_ORACLE_SHARD_FINISH", "true".to_owned()),
                ("TAP_ORACLE_SHARD_STATES", list.join(",")),
            ],
        )
        .output()
        .unwrap()
    };
    let early = finish(&[&states[0]]);
    assert_eq!(early.status.code(), Some(1));
    assert!(
        early.stdout.is_empty(),
        "no ACTIVATE_VERSION before every shard is done"
    );
    let stderr = String::from_utf8_lossy(&early.stderr);
    assert!(
        stderr.contains("shards [1] of 2 have not completed"),
        "{stderr}"
    );

    let done = ok(finish(&[&states[0], &states[1]]));
    let types: Vec<&str> = done.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["SCHEMA", "ACTIVATE_VERSION", "STATE"]);
    assert_eq!(done[1]["stream"], "APP-EVENTS");
    assert_eq!(done[1]["version"], plan["streams"][0]["version"]);
    assert_eq!(done[0]["key_properties"], json!(["ID2", "ID1"]));
    // Trusting the orchestrator's ordering: the same messages.
    assert_eq!(ok(finish(&[])), done);
}

/// What cannot be sharded, and shard settings that do not fit, stop the run with exit
/// code 1 and a message that says why, before any Singer message.
#[test]
fn what_cannot_be_sharded_is_refused_with_a_reason() {
    let f = Fixture::new();
    events(&f, 30);
    let config = f.config(json!({}));
    let incremental = renamed(
        f.catalog(
            &config,
            json!({"APP-EVENTS": {"replication-method": "INCREMENTAL", "replication-key": "AT"}}),
        ),
        "incremental.json",
    );
    let refused = |out: Output, why: &str| {
        assert_eq!(out.status.code(), Some(1), "{why}");
        assert!(out.stdout.is_empty(), "{why}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{stderr}");
    };
    refused(
        tap(&config, &incremental, &[])
            .args(["--plan-shards", "2"])
            .output()
            .unwrap(),
        "stream APP-EVENTS is INCREMENTAL",
    );
    let catalog = f.catalog(&config, json!({}));
    let (plan_path, _) = plan(&f, &config, &catalog, 2);
    refused(
        tap(&config, &incremental, &shard_env(&plan_path, 0))
            .output()
            .unwrap(),
        "stream APP-EVENTS is INCREMENTAL",
    );
    refused(
        tap(&config, &catalog, &[("TAP_ORACLE_SHARD_INDEX", "0".into())])
            .output()
            .unwrap(),
        "need shard_plan",
    );
    refused(
        tap(&config, &catalog, &shard_env(&plan_path, 2))
            .output()
            .unwrap(),
        "shard_index must be below shard_count (2 is not below 2",
    );
    refused(
        tap(
            &config,
            &catalog,
            &[("TAP_ORACLE_SHARD_PLAN", plan_path.to_str().unwrap().into())],
        )
        .output()
        .unwrap(),
        "shard_plan needs shard_index",
    );
    let edited: Json = serde_json::from_slice(&std::fs::read(&plan_path).unwrap()).unwrap();
    let mut gap = edited.clone();
    gap["streams"][0]["chunks"][1]["after"] = json!({"ID2": "K0", "ID1": 3});
    let gap_path = write_state(&f, "gap.json", &gap);
    refused(
        tap(&config, &catalog, &shard_env(&gap_path, 0))
            .output()
            .unwrap(),
        "the key ranges do not cover the table end to end",
    );
    // A keyless table has no ranges to split.
    f.backend
        .load_dictionary(&singer_core::dictionary::DictionaryRows {
            tables: vec![table("LOGS")],
            columns: vec![column("LOGS", 1, "LINE", "VARCHAR2", None, None, 100, true)],
            constraints: vec![],
        })
        .unwrap();
    let both = renamed(f.catalog(&config, json!({})), "both.json");
    refused(
        tap(&config, &both, &[])
            .args(["--plan-shards", "2"])
            .output()
            .unwrap(),
        "stream APP-LOGS has no key to split on",
    );
    refused(
        tap(&config, &both, &shard_env(&plan_path, 0))
            .output()
            .unwrap(),
        "stream APP-LOGS has no key to split on",
    );
}

/// A shard whose plan's snapshot can no longer be read (commits came since and the redo
/// that would undo them is overwritten: ORA-01555) stops and asks for a new plan: it
/// cannot start over at an SCN of its own, or the shards' union would not be one
/// snapshot.
#[test]
fn a_shard_whose_snapshot_is_gone_asks_for_a_new_plan() {
    let f = Fixture::new();
    events(&f, 30);
    let config = f.config(json!({}));
    let catalog = f.catalog(&config, json!({}));
    let (plan_path, _) = plan(&f, &config, &catalog, 2);
    insert_events(&f, 30..32);
    for _ in 0..4 {
        f.backend.switch_logfile().unwrap();
    }
    let out = tap(&config, &catalog, &shard_env(&plan_path, 1))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("ORA-01555")
            && stderr.contains("make a new plan and run every shard again"),
        "{stderr}"
    );
    assert!(event_keys(&messages(&out.stdout)).is_empty());
}
