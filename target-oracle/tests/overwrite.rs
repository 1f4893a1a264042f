//! End-to-end: `load_method: overwrite` survives SIGKILL (issue 12, item 3). A run is
//! killed at many points, restarted from the last STATE it printed (the way Meltano
//! hands that state to the tap, which carries its keys forward as SDK taps and
//! tap-oracle do), possibly killed again, and finished: the table then holds exactly
//! the source's rows, none of the rows the table held before, none lost, none twice.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use common::{lines, Db};
use db_boundary::Value;
use serde_json::{json, Map, Value as Json};

const STREAM: &str = "SRC";

fn schema(keys: &[&str]) -> Json {
    json!({"type": "SCHEMA", "stream": STREAM, "key_properties": keys, "schema": {
    "type": "object", "properties": {
        "seq": {"type": "integer"},
        "v": {"type": ["null", "string"]}
    }}})
}

/// The source: `count` records with a STATE after every `every`; each STATE's value is
/// what the tap resumes from (`resume_after`: messages already sent).
fn source(count: usize, every: usize, tag: &str) -> Vec<Json> {
    let mut messages = Vec::new();
    for i in 0..count {
        messages.push(json!({"type": "RECORD", "stream": STREAM,
                             "record": {"seq": i, "v": format!("{tag} {i}")}}));
        if (i + 1) % every == 0 || i + 1 == count {
            let resume_after = messages.len() + 1;
            messages.push(json!({"type": "STATE", "value": {"bookmarks": {STREAM: {"resume_after": resume_after}}}}));
        }
    }
    messages
}

/// What a tap started with `state` sends: the schema and the messages after its
/// bookmark, each STATE carrying the other keys of the stream's bookmark forward.
fn tap_output(keys: &[&str], messages: &[Json], state: Option<&Json>) -> String {
    let bookmark: Map<String, Json> = state
        .and_then(|s| s["bookmarks"][STREAM].as_object().cloned())
        .unwrap_or_default();
    // A finished sync starts over, as a FULL_TABLE tap does.
    let resume_after = match bookmark.get("resume_after").and_then(Json::as_u64) {
        Some(after) if (after as usize) < messages.len() => after as usize,
        _ => 0,
    };
    let mut out = vec![schema(keys)];
    for message in &messages[resume_after..] {
        let mut message = message.clone();
        if message["type"] == "STATE" {
            let mut carried = bookmark.clone();
            carried.insert(
                "resume_after".into(),
                message["value"]["bookmarks"][STREAM]["resume_after"].clone(),
            );
            message["value"]["bookmarks"][STREAM] = Json::Object(carried);
        }
        out.push(message);
    }
    lines(&out)
}

/// Runs the target over `input`, SIGKILLs it right after the `kill_after_state`-th
/// STATE (plus `delay`), and returns the last STATE it printed.
fn run_and_kill(db: &Db, input: String, kill_after_state: usize, delay: Duration) -> Option<Json> {
    let (mut child, states) = db.spawn_piped();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut last = None;
    let mut seen = 0;
    while seen < kill_after_state {
        match states.recv_timeout(Duration::from_secs(30)) {
            Ok(state) => {
                last = Some(state);
                seen += 1;
            }
            Err(_) => break, // the run ended (or stalled) before that STATE
        }
    }
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap();
    let _ = writer.join();
    // STATEs printed between the last one read and the kill count too.
    while let Ok(state) = states.recv_timeout(Duration::from_millis(100)) {
        last = Some(state);
    }
    last
}

/// `seq` of every row, sorted, and how many rows hold an old value.
fn loaded(db: &Db) -> (Vec<i64>, usize) {
    let rows = db.rows(STREAM);
    let mut seqs: Vec<i64> = rows
        .iter()
        .map(|r| match &r["SEQ"] {
            Value::Number(n) => n.as_str().parse().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    seqs.sort_unstable();
    let old = rows
        .iter()
        .filter(|r| matches!(&r["V"], Value::Text(t) if t.starts_with("old")))
        .count();
    (seqs, old)
}

/// A small deterministic generator for kill points.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

fn killed_and_resumed(keys: &[&str], attempts: usize, seed: u64) {
    let count = 1_500;
    let new = source(count, 40, "new");
    let states_in_source = new.iter().filter(|m| m["type"] == "STATE").count() as u64;
    let mut random = Lcg(seed);
    let mut kills = 0;
    // Kills after which the restart resumed inside the stream (not from its start).
    let mut mid_stream = 0;
    let mut summary = BTreeMap::new();
    for attempt in 0..attempts {
        let db = Db::new(json!({"load_method": "overwrite", "batch_size_rows": 23,
                                "max_state_lag_seconds": 0}));
        // A finished earlier run: the table holds 700 old rows.
        let old = source(700, 100, "old");
        let first = db.run(&tap_output(keys, &old, None));
        assert_eq!(first.code, 0, "{}", first.stderr);
        assert_eq!(loaded(&db).0.len(), 700);
        // Then this run, killed one to three times, each restart from the last STATE.
        // The earlier run finished: the tap starts over from its state (the old
        // source's positions mean nothing for the new one).
        let mut state: Option<Json> = first.states().last().cloned().map(|mut s| {
            s["bookmarks"][STREAM]["resume_after"] = json!(0);
            s
        });
        let restarts = 1 + random.next(3);
        for _ in 0..restarts {
            let after = 1 + random.next(states_in_source);
            let delay = Duration::from_millis(random.next(15));
            let input = tap_output(keys, &new, state.as_ref());
            if let Some(printed) = run_and_kill(&db, input, after as usize, delay) {
                let at = printed["bookmarks"][STREAM]["resume_after"].as_u64();
                if at.is_some_and(|at| at > 0 && (at as usize) < new.len()) {
                    mid_stream += 1;
                }
                state = Some(printed);
            }
            kills += 1;
        }
        let last = db.run(&tap_output(keys, &new, state.as_ref()));
        assert_eq!(last.code, 0, "attempt {attempt}: {}", last.stderr);
        let (seqs, old_rows) = loaded(&db);
        assert_eq!(
            old_rows, 0,
            "attempt {attempt}: rows of the earlier run remain"
        );
        let duplicated = seqs.windows(2).filter(|w| w[0] == w[1]).count();
        let mut distinct = seqs.clone();
        distinct.dedup();
        let lost = count - distinct.len();
        summary.insert(attempt, (restarts, lost, duplicated));
        assert!(
            lost == 0 && duplicated == 0,
            "attempt {attempt} ({restarts} kills): {lost} rows lost, {duplicated} duplicated; \
             last state {state:?}"
        );
        assert_eq!(distinct, (0..count as i64).collect::<Vec<_>>());
    }
    assert!(
        kills >= 20 && mid_stream >= 15,
        "{kills} kills, {mid_stream} resumed mid-stream: {summary:?}"
    );
}

#[test]
fn overwrite_killed_at_many_points_ends_with_exactly_the_source() {
    killed_and_resumed(&[], 12, 7);
}

#[test]
fn overwrite_with_keys_killed_at_many_points_ends_with_exactly_the_source() {
    killed_and_resumed(&["seq"], 10, 11);
}
