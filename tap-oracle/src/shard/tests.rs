//! Unit tests of the plan file checks, the shard settings and the final step's check.

use std::path::PathBuf;

use serde_json::{json, Value as Json};
use singer_cli::settings::Config;
use singer_core::state::State;

use super::finish::check_complete;
use super::*;

fn plan_json(chunks: Json) -> Json {
    json!({"format": 1, "scn": 77, "shards": 3, "created_at": "2026-01-01T00:00:00Z",
           "streams": [{"stream": "APP-T", "version": 5, "key": ["ID"], "chunks": chunks}]})
}

fn write(dir: &tempfile::TempDir, name: &str, value: &Json) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, value.to_string()).unwrap();
    path
}

fn three_ranges() -> Json {
    json!([{"after": null, "through": {"ID": 10}},
           {"after": {"ID": 10}, "through": {"ID": 20}},
           {"after": {"ID": 20}, "through": null}])
}

#[test]
fn a_plan_is_read_only_when_its_ranges_cover_the_table_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let plan = ShardPlan::load(&write(&dir, "ok.json", &plan_json(three_ranges()))).unwrap();
    assert_eq!(plan.stream("APP-T").unwrap().chunks.len(), 3);
    // Digits survive the plan file (arbitrary precision).
    // (from text: a Rust literal in `json!` would already be an f64)
    let big: Json = serde_json::from_str(
        r#"[{"after": null, "through": {"ID": 12345678901234567890123.5}},
            {"after": {"ID": 12345678901234567890123.5}, "through": null}]"#,
    )
    .unwrap();
    let plan = ShardPlan::load(&write(&dir, "big.json", &plan_json(big))).unwrap();
    assert_eq!(
        plan.streams[0].chunks[0].through.as_ref().unwrap()["ID"].to_string(),
        "12345678901234567890123.5"
    );
    let bad = [
        (
            "gap",
            json!([{"after": null, "through": {"ID": 10}}, {"after": {"ID": 11}, "through": null}]),
        ),
        ("open start", json!([{"after": {"ID": 1}, "through": null}])),
        ("open end", json!([{"after": null, "through": {"ID": 10}}])),
        (
            "twice from the start",
            json!([{"after": null, "through": null}, {"after": null, "through": null}]),
        ),
        ("empty", json!([])),
    ];
    for (name, chunks) in bad {
        let err = ShardPlan::load(&write(&dir, "bad.json", &plan_json(chunks))).unwrap_err();
        assert!(
            err.to_string()
                .contains("do not cover the table end to end"),
            "{name}: {err}"
        );
    }
    let mut other = plan_json(three_ranges());
    other["format"] = json!(2);
    let err = ShardPlan::load(&write(&dir, "f.json", &other)).unwrap_err();
    assert!(err.to_string().contains("format 2"), "{err}");
}

#[test]
fn shard_i_of_n_reads_every_nth_range_from_i() {
    let chunks: Vec<PlannedChunk> = (0..5)
        .map(|i| PlannedChunk {
            after: Some(json!({"ID": i}).as_object().unwrap().clone()),
            through: None,
        })
        .collect();
    let stream = PlannedStream {
        stream: "S".into(),
        version: 1,
        key: vec!["ID".into()],
        chunks,
    };
    let run = |index, count| ShardRun {
        plan: ShardPlan {
            format: 1,
            scn: 1,
            shards: count,
            created_at: String::new(),
            streams: vec![],
        },
        index,
        count,
    };
    let firsts = |index, count| -> Vec<Json> {
        run(index, count)
            .chunks_of(&stream)
            .iter()
            .map(|c| c.after.as_ref().unwrap()["ID"].clone())
            .collect()
    };
    assert_eq!(firsts(0, 2), [json!(0), json!(2), json!(4)]);
    assert_eq!(firsts(1, 2), [json!(1), json!(3)]);
    assert_eq!(firsts(4, 5), [json!(4)]);
    assert!(
        firsts(5, 6).is_empty(),
        "more shards than ranges: nothing to read"
    );
}

fn mode(dir: &tempfile::TempDir, settings: Json) -> Result<ShardMode, String> {
    let plan = write(dir, "plan.json", &plan_json(three_ranges()));
    let mut values = settings.as_object().unwrap().clone();
    if values.get("shard_plan") == Some(&json!("PLAN")) {
        values.insert("shard_plan".into(), json!(plan));
    }
    let config = Config::from_map(values, "X_", [], crate::settings::settings())
        .map_err(|e| e.to_string())?;
    shard_mode(&config).map_err(|e| e.to_string())
}

#[test]
fn the_shard_settings_are_checked_together() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(mode(&dir, json!({})), Ok(ShardMode::Off));
    let Ok(ShardMode::Shard(run)) = mode(&dir, json!({"shard_plan": "PLAN", "shard_index": 2}))
    else {
        panic!("a shard run");
    };
    assert_eq!(
        (run.index, run.count, run.plan.scn),
        (2, 3, 77),
        "count from the plan"
    );
    let Ok(ShardMode::Shard(run)) = mode(
        &dir,
        json!({"shard_plan": "PLAN", "shard_index": 5, "shard_count": 8}),
    ) else {
        panic!("a shard run of 8");
    };
    assert_eq!((run.index, run.count), (5, 8));
    let Ok(ShardMode::Finish { states, .. }) = mode(
        &dir,
        json!({"shard_plan": "PLAN", "shard_finish": true, "shard_states": ["a", "b"]}),
    ) else {
        panic!("the final step");
    };
    assert_eq!(states, [PathBuf::from("a"), PathBuf::from("b")]);
    let refused = [
        (json!({"shard_index": 0}), "need shard_plan"),
        (json!({"shard_finish": true}), "need shard_plan"),
        (
            json!({"shard_plan": "PLAN"}),
            "shard_plan needs shard_index",
        ),
        (
            json!({"shard_plan": "PLAN", "shard_index": 3}),
            "3 is not below 3",
        ),
        (
            json!({"shard_plan": "PLAN", "shard_index": 1, "shard_count": 1}),
            "1 is not below 1",
        ),
        (
            json!({"shard_plan": "PLAN", "shard_index": -1}),
            "shard_index: must be an integer from 0 to 1023",
        ),
        (
            json!({"shard_plan": "PLAN", "shard_index": 0, "shard_count": 0}),
            "shard_count: must be an integer from 1 to 1024",
        ),
        (
            json!({"shard_plan": "PLAN", "shard_index": 0, "shard_states": ["a"]}),
            "final step only",
        ),
        (
            json!({"shard_plan": "PLAN", "shard_index": 0, "shard_finish": true}),
            "unset shard_index",
        ),
        (
            json!({"shard_plan": "/nowhere/plan.json", "shard_index": 0}),
            "cannot read",
        ),
    ];
    for (settings, why) in refused {
        let err = mode(&dir, settings.clone()).unwrap_err();
        assert!(err.contains(why), "{settings}: {err}");
    }
}

fn shard_state(index: usize, count: usize, complete: bool, scn: u64) -> (PathBuf, State) {
    let bookmark = json!({"version": 5, "shard":
        {"plan_scn": scn, "index": index, "count": count, "complete": complete}});
    let state = State::from_text(&json!({"bookmarks": {"APP-T": bookmark}}).to_string()).unwrap();
    (PathBuf::from(format!("s{index}.json")), state)
}

#[test]
fn the_final_step_needs_every_shard_of_the_plan_complete() {
    let dir = tempfile::tempdir().unwrap();
    let plan = ShardPlan::load(&write(&dir, "p.json", &plan_json(three_ranges()))).unwrap();
    let check =
        |states: Vec<(PathBuf, State)>| check_complete(&plan, &states).map_err(|e| e.to_string());
    assert!(check(vec![
        shard_state(0, 2, true, 77),
        shard_state(1, 2, true, 77)
    ])
    .is_ok());
    let err = check(vec![
        shard_state(0, 2, true, 77),
        shard_state(1, 2, false, 77),
    ])
    .unwrap_err();
    assert!(
        err.contains("shards [1] of 2 have not completed (unfinished: [1])"),
        "{err}"
    );
    let err = check(vec![
        shard_state(0, 2, true, 77),
        shard_state(1, 2, true, 76),
    ])
    .unwrap_err();
    assert!(
        err.contains("shards [1] of 2"),
        "another plan's state counts for nothing: {err}"
    );
    let err = check(vec![
        shard_state(0, 2, true, 77),
        shard_state(1, 3, true, 77),
    ])
    .unwrap_err();
    assert!(err.contains("different shard counts"), "{err}");
    let err = check(vec![]).unwrap_err();
    assert!(err.contains("no state of a shard of this plan"), "{err}");
    // What `meltano state get` prints.
    let (_, inner) = shard_state(0, 1, true, 77);
    let wrapped = json!({"singer_state": Json::Object(inner.as_json().clone())});
    let wrapped = State::from_text(&wrapped.to_string()).unwrap();
    assert!(check(vec![(PathBuf::from("m.json"), wrapped)]).is_ok());
}
