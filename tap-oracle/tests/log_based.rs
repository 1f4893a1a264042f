//! LOG_BASED end to end: the real `tap-oracle` binary over the simulated backend's redo.
//! A workload of inserts, updates, deletes, rollbacks and savepoint rollbacks, with
//! transactions open across runs and logs switching under them; the tap SIGKILLed at
//! random points and restarted from its last STATE. Also: the snapshot hand-off, a
//! purged log, DDL in a window, missing supplemental logging, another database.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use db_boundary::{Backend, ColumnDef, TableDef, TableName, Value};
use serde_json::{json, Value as Json};
use sim_backend::workload::SimTransaction;
use sim_backend::SimBackend;
use singer_core::oracle_type::{LengthSemantics, OracleType};
use test_support::{canonical_decimal, SimFixture};

const TAP: &str = env!("CARGO_BIN_EXE_tap-oracle");
const STREAM: &str = "APP-ITEMS";

fn items() -> TableName {
    TableName {
        schema: Some("APP".into()),
        name: "ITEMS".into(),
    }
}

/// `APP.ITEMS (ID NUMBER(10) PRIMARY KEY, NAME VARCHAR2(50 CHAR), AMOUNT NUMBER(12,2))`
/// with `seed` rows, ARCHIVELOG, and all-column supplemental logging when `logged`.
fn fixture(seed: i64, logged: bool) -> SimFixture {
    let f = SimFixture::new();
    f.backend.create_user("APP").unwrap();
    let mut sink = f.backend.sink().unwrap();
    sink.create_table(&TableDef {
        name: items(),
        columns: vec![
            ColumnDef {
                name: "ID".into(),
                data_type: OracleType::Number {
                    precision: Some(10),
                    scale: Some(0),
                },
                nullable: false,
                check: None,
            },
            ColumnDef {
                name: "NAME".into(),
                data_type: OracleType::Varchar2 {
                    length: 50,
                    semantics: LengthSemantics::Char,
                },
                nullable: true,
                check: None,
            },
            ColumnDef {
                name: "AMOUNT".into(),
                data_type: OracleType::Number {
                    precision: Some(12),
                    scale: Some(2),
                },
                nullable: true,
                check: None,
            },
        ],
        primary_key: vec!["ID".into()],
    })
    .unwrap();
    f.backend.set_archivelog(true).unwrap();
    f.backend.set_supplemental_logging(true, false).unwrap();
    if logged {
        f.backend
            .add_table_supplemental_logging("APP", "ITEMS")
            .unwrap();
    }
    let rows = (1..=seed).map(|i| row_values(i, &format!("seed {i}"), &amount(i)));
    f.backend
        .insert_rows(
            "APP",
            "ITEMS",
            &["ID", "NAME", "AMOUNT"].map(String::from),
            rows,
        )
        .unwrap();
    f
}

fn amount(i: i64) -> String {
    format!("{}.{:02}", i * 7 % 1000, i % 100)
}

fn row_values(id: i64, name: &str, amount: &str) -> Vec<Value> {
    vec![
        Value::number(&id.to_string()),
        Value::Text(name.into()),
        Value::number(amount),
    ]
}

fn setup(f: &SimFixture, extra: Json) -> (PathBuf, PathBuf) {
    let mut settings = json!({"state_every_rows": 1});
    for (k, v) in extra.as_object().unwrap() {
        settings[k] = v.clone();
    }
    let config = f.config(settings);
    let catalog = f.catalog(
        Path::new(TAP),
        &config,
        json!({STREAM: {"replication-method": "LOG_BASED"}}),
    );
    (config, catalog)
}

/// One run of the tap; with `kill_after`, SIGKILLed once that many lines were read.
/// Returns the lines read, whether it was killed before its end, and its output.
fn run(
    config: &Path,
    catalog: &Path,
    state: Option<&Json>,
    dir: &Path,
    kill_after: Option<usize>,
) -> (Vec<Json>, bool, std::process::ExitStatus, String) {
    let mut command = Command::new(TAP);
    command
        .arg("--config")
        .arg(config)
        .arg("--catalog")
        .arg(catalog)
        .env_remove("RUST_LOG")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(state) = state {
        let path = dir.join("state.json");
        std::fs::write(&path, state.to_string()).unwrap();
        command.arg("--state").arg(path);
    }
    let mut child = command.spawn().unwrap();
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    let mut killed = false;
    for line in reader.lines() {
        lines.push(serde_json::from_str::<Json>(&line.unwrap()).unwrap());
        if Some(lines.len()) == kill_after {
            child.kill().unwrap();
            killed = true;
            break;
        }
    }
    let output = child.wait_with_output().unwrap();
    (
        lines,
        killed,
        output.status,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// What a target confirms of a run: the records before its last STATE, and that STATE.
fn confirmed(lines: &[Json]) -> (Vec<Json>, Option<Json>) {
    let Some(at) = lines.iter().rposition(|m| m["type"] == "STATE") else {
        return (Vec::new(), None);
    };
    let records = lines[..at]
        .iter()
        .filter(|m| m["type"] == "RECORD" && m["stream"] == STREAM)
        .cloned()
        .collect();
    (records, Some(lines[at]["value"].clone()))
}

/// A change as the records show it: deleted?, ID, NAME, AMOUNT.
type Change = (bool, i64, String, String);

fn change_of(record: &Json) -> Change {
    let r = &record["record"];
    (
        !r["_sdc_deleted_at"].is_null(),
        r["ID"].as_i64().unwrap(),
        r["NAME"].as_str().unwrap_or_default().to_owned(),
        canonical_decimal(&r["AMOUNT"]),
    )
}

/// The test's own account of a workload on APP.ITEMS.
struct Model {
    committed: BTreeMap<i64, (String, String)>,
    /// Committed transactions in commit order: (commit SCN, changes).
    history: Vec<(u64, Vec<Change>)>,
    open: Vec<OpenTxn>,
    rolled_back: BTreeSet<String>,
    counter: i64,
}

struct OpenTxn {
    tx: SimTransaction,
    changes: Vec<Change>,
    savepoint: Option<usize>,
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

impl Model {
    fn new(seed: i64) -> Model {
        Model {
            committed: (1..=seed)
                .map(|i| {
                    (
                        i,
                        (format!("seed {i}"), canonical_decimal(&json!(amount(i)))),
                    )
                })
                .collect(),
            history: Vec::new(),
            open: Vec::new(),
            rolled_back: BTreeSet::new(),
            counter: 1000,
        }
    }

    fn locked(&self, id: i64) -> bool {
        self.open
            .iter()
            .any(|t| t.changes.iter().any(|c| c.1 == id))
    }

    /// The row `id` as transaction `i` sees it.
    fn seen_by(&self, i: usize, id: i64) -> Option<(String, String)> {
        match self.open[i].changes.iter().rev().find(|c| c.1 == id) {
            Some(c) if c.0 => None,
            Some(c) => Some((c.2.clone(), c.3.clone())),
            None => self.committed.get(&id).cloned(),
        }
    }

    /// One random step of the workload.
    fn step(&mut self, backend: &SimBackend, rng: &mut Rng) {
        self.counter += 1;
        let name = format!("v{}", self.counter);
        let amount = canonical_decimal(&json!(amount(self.counter)));
        if self.open.is_empty() || (rng.below(100) < 12 && self.open.len() < 5) {
            self.open.push(OpenTxn {
                tx: backend.begin_transaction().unwrap(),
                changes: Vec::new(),
                savepoint: None,
            });
            return;
        }
        let i = rng.below(self.open.len() as u64) as usize;
        match rng.below(100) {
            0..=24 => {
                let id = self.counter;
                self.open[i]
                    .tx
                    .insert(
                        "APP",
                        "ITEMS",
                        &["ID", "NAME", "AMOUNT"],
                        row_values(id, &name, &amount),
                    )
                    .unwrap();
                self.open[i].changes.push((false, id, name, amount));
            }
            25..=54 => {
                // A committed row no other transaction holds, or one of its own.
                let mine: Vec<i64> = self.open[i].changes.iter().map(|c| c.1).collect();
                let candidates: Vec<i64> = self
                    .committed
                    .keys()
                    .copied()
                    .filter(|id| !self.locked(*id))
                    .chain(mine)
                    .filter(|id| self.seen_by(i, *id).is_some())
                    .collect();
                if candidates.is_empty() {
                    return;
                }
                let id = candidates[rng.below(candidates.len() as u64) as usize];
                if rng.below(4) == 0 {
                    let (old_name, old_amount) = self.seen_by(i, id).unwrap();
                    assert!(self.open[i]
                        .tx
                        .delete("APP", "ITEMS", &[Value::number(&id.to_string())])
                        .unwrap());
                    self.open[i].changes.push((true, id, old_name, old_amount));
                } else {
                    let updated = self.open[i]
                        .tx
                        .update(
                            "APP",
                            "ITEMS",
                            &[Value::number(&id.to_string())],
                            &["NAME", "AMOUNT"],
                            vec![Value::Text(name.clone()), Value::number(&amount)],
                        )
                        .unwrap();
                    assert!(updated);
                    self.open[i].changes.push((false, id, name, amount));
                }
            }
            55..=62 => {
                self.open[i].tx.savepoint("sp").unwrap();
                self.open[i].savepoint = Some(self.open[i].changes.len());
            }
            63..=70 => {
                if let Some(at) = self.open[i].savepoint.take() {
                    self.open[i].tx.rollback_to("sp").unwrap();
                    for c in self.open[i].changes.drain(at..) {
                        if !c.0 {
                            self.rolled_back.insert(c.2);
                        }
                    }
                }
            }
            71..=76 => {
                let t = self.open.swap_remove(i);
                t.tx.rollback().unwrap();
                self.rolled_back
                    .extend(t.changes.into_iter().filter(|c| !c.0).map(|c| c.2));
            }
            77..=80 => {
                backend.switch_logfile().unwrap();
            }
            _ => self.commit(i),
        }
    }

    fn commit(&mut self, i: usize) {
        let t = self.open.swap_remove(i);
        let scn = t.tx.commit().unwrap();
        for c in &t.changes {
            if c.0 {
                self.committed.remove(&c.1);
            } else {
                self.committed.insert(c.1, (c.2.clone(), c.3.clone()));
            }
        }
        if !t.changes.is_empty() {
            self.history.push((scn, t.changes));
        }
    }

    /// Commits or rolls back every open transaction.
    fn settle(&mut self, rng: &mut Rng) {
        while !self.open.is_empty() {
            if rng.below(2) == 0 {
                self.commit(0);
            } else {
                let t = self.open.swap_remove(0);
                t.tx.rollback().unwrap();
                self.rolled_back
                    .extend(t.changes.into_iter().filter(|c| !c.0).map(|c| c.2));
            }
        }
    }
}

/// The snapshot SCN a stream's state held while its snapshot ran.
fn snapshot_scn(states: &[Json]) -> u64 {
    states
        .iter()
        .find_map(|s| s["bookmarks"][STREAM]["snapshot_scn"].as_u64())
        .expect("a STATE of the snapshot names its SCN")
}

#[test]
fn killed_at_random_points_every_committed_change_arrives_once_and_nothing_rolled_back() {
    const SEED: i64 = 40;
    let f = fixture(SEED, true);
    f.backend.set_log_bytes(3000).unwrap();
    let (config, catalog) = setup(&f, json!({}));
    let mut model = Model::new(SEED);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut state: Option<Json> = None;
    let mut records: Vec<Json> = Vec::new();
    let mut states: Vec<Json> = Vec::new();
    let mut kills = 0;
    let mut runs = 0;
    // Changes before the first run: the snapshot must see them, the log must not repeat them.
    for _ in 0..10 {
        model.step(&f.backend, &mut rng);
    }
    while kills < 110 {
        for _ in 0..rng.below(20) {
            model.step(&f.backend, &mut rng);
        }
        // Mostly early in a run (a run writes a few dozen lines), sometimes deeper.
        let depth = if rng.below(3) == 0 { 40 } else { 8 };
        let kill_after = (rng.below(4) != 0).then(|| 1 + rng.below(depth) as usize);
        let (lines, killed, status, stderr) =
            run(&config, &catalog, state.as_ref(), f.dir.path(), kill_after);
        runs += 1;
        if !killed {
            assert!(status.success(), "run {runs} failed: {stderr}");
        } else {
            kills += 1;
        }
        let (confirmed, last) = confirmed(&lines);
        records.extend(confirmed);
        states.extend(
            lines
                .iter()
                .filter(|m| m["type"] == "STATE")
                .map(|m| m["value"].clone()),
        );
        if let Some(last) = last {
            state = Some(last);
        }
    }
    // Settle every transaction and drain once more, unkilled.
    model.settle(&mut rng);
    let (lines, _, status, stderr) = run(&config, &catalog, state.as_ref(), f.dir.path(), None);
    assert!(status.success(), "{stderr}");
    let (confirmed, _) = confirmed(&lines);
    records.extend(confirmed);
    states.extend(
        lines
            .iter()
            .filter(|m| m["type"] == "STATE")
            .map(|m| m["value"].clone()),
    );

    let s = snapshot_scn(&states);
    let (snapshot, changes): (Vec<&Json>, Vec<&Json>) = records
        .iter()
        .partition(|r| r["record"]["_sdc_commit_scn"].is_null());
    // The snapshot: exactly the table as of s, each row once.
    let mut as_of_s: BTreeMap<i64, (String, String)> = Model::new(SEED).committed;
    for (scn, txn) in &model.history {
        if *scn <= s {
            for c in txn {
                if c.0 {
                    as_of_s.remove(&c.1);
                } else {
                    as_of_s.insert(c.1, (c.2.clone(), c.3.clone()));
                }
            }
        }
    }
    let snapshot_rows: Vec<(i64, (String, String))> = snapshot
        .iter()
        .map(|r| {
            let c = change_of(r);
            (c.1, (c.2, c.3))
        })
        .collect();
    assert_eq!(
        snapshot_rows,
        as_of_s.into_iter().collect::<Vec<_>>(),
        "the snapshot is the table as of SCN {s}, each row once"
    );
    // The log: every change committed after s, once, in commit order, with its SCN.
    let expected: Vec<(u64, Change)> = model
        .history
        .iter()
        .filter(|(scn, _)| *scn > s)
        .flat_map(|(scn, txn)| txn.iter().map(move |c| (*scn, c.clone())))
        .collect();
    let got: Vec<(u64, Change)> = changes
        .iter()
        .map(|r| {
            (
                r["record"]["_sdc_commit_scn"].as_u64().unwrap(),
                change_of(r),
            )
        })
        .collect();
    if got != expected {
        let at = got
            .iter()
            .zip(&expected)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(expected.len()));
        let extra = &got[at].1;
        let in_table = f
            .backend
            .read_rows("APP", "ITEMS")
            .unwrap()
            .iter()
            .any(|r| r[0] == Value::number(&extra.1.to_string()));
        panic!(
            "lost or duplicated changes at {at} (s = {s}; rolled back in the model: {}; in the table: {in_table}): got {:?} expected {:?}",
            model.rolled_back.contains(&extra.2),
            &got[at.saturating_sub(3)..(at + 3).min(got.len())],
            &expected[at.saturating_sub(3)..(at + 3).min(expected.len())]
        );
    }
    assert_eq!(got, expected, "committed changes in commit order");
    // Nothing rolled back, not even to a savepoint.
    for r in &records {
        let name = r["record"]["NAME"].as_str().unwrap_or_default();
        assert!(
            !model.rolled_back.contains(name),
            "rolled-back change {name} emitted"
        );
    }
    assert!(
        !model.rolled_back.is_empty() && model.history.len() > 50,
        "a meaningful workload"
    );
    let switches = f.backend.redo_logs().unwrap().len();
    assert!(switches > 5, "logs switched under the runs ({switches})");
    // And the records rebuild the table.
    let mut rebuilt: BTreeMap<i64, (String, String)> = BTreeMap::new();
    for r in &records {
        let c = change_of(r);
        if c.0 {
            rebuilt.remove(&c.1);
        } else {
            rebuilt.insert(c.1, (c.2, c.3));
        }
    }
    assert_eq!(rebuilt, model.committed);
    #[allow(clippy::print_stderr)] // the figures of this run, for `--nocapture`
    {
        eprintln!(
            "{runs} runs, {kills} killed, {} changes, {} snapshot rows",
            got.len(),
            snapshot.len()
        );
    }
}

#[test]
fn changes_carry_their_commit_scn_time_and_deletion_and_the_snapshot_version() {
    let f = fixture(3, true);
    let (config, catalog) = setup(&f, json!({"state_every_rows": 100}));
    let (lines, _, status, stderr) = run(&config, &catalog, None, f.dir.path(), None);
    assert!(status.success(), "{stderr}");
    // The snapshot reads on a session named after the stream, the mining on one named
    // `log_based`: a DBA sees both in V$SESSION.ACTION.
    let mut actions: Vec<String> = sim_backend::recorded_contexts(&f.path("db"))
        .unwrap()
        .into_iter()
        .filter(|c| c.module == "tap-oracle" && c.action != "discover")
        .map(|c| c.action)
        .collect();
    actions.sort();
    assert_eq!(actions, ["APP-ITEMS", "log_based"]);
    let schema = lines.iter().find(|m| m["type"] == "SCHEMA").unwrap();
    for p in [
        "_sdc_commit_scn",
        "_sdc_commit_timestamp",
        "_sdc_deleted_at",
    ] {
        assert!(
            schema["schema"]["properties"][p].is_object(),
            "{p} declared"
        );
    }
    let version = lines
        .iter()
        .find(|m| m["type"] == "ACTIVATE_VERSION")
        .unwrap()["version"]
        .clone();
    assert_eq!(lines.iter().filter(|m| m["type"] == "RECORD").count(), 3);
    let (_, state) = confirmed(&lines);
    let state = state.unwrap();
    let position = &state["bookmarks"][STREAM]["log_position"];
    assert!(
        position["scn"].is_u64() && position["database"]["dbid"].is_u64(),
        "{state}"
    );

    let mut tx = f.backend.begin_transaction().unwrap();
    tx.insert(
        "APP",
        "ITEMS",
        &["ID", "NAME", "AMOUNT"],
        row_values(10, "new", "1.50"),
    )
    .unwrap();
    tx.update(
        "APP",
        "ITEMS",
        &[Value::number("1")],
        &["NAME"],
        vec![Value::Text("renamed".into())],
    )
    .unwrap();
    tx.delete("APP", "ITEMS", &[Value::number("2")]).unwrap();
    let scn = tx.commit().unwrap();
    let (lines, _, status, stderr) = run(&config, &catalog, Some(&state), f.dir.path(), None);
    assert!(status.success(), "{stderr}");
    let records: Vec<&Json> = lines.iter().filter(|m| m["type"] == "RECORD").collect();
    assert_eq!(records.len(), 3, "{lines:?}");
    for r in &records {
        assert_eq!(
            r["version"], version,
            "log records keep the snapshot's version"
        );
        assert_eq!(r["record"]["_sdc_commit_scn"].as_u64(), Some(scn));
        assert!(r["record"]["_sdc_commit_timestamp"]
            .as_str()
            .unwrap()
            .ends_with('Z'));
    }
    assert_eq!(records[0]["record"]["AMOUNT"].to_string(), "1.5");
    assert_eq!(records[1]["record"]["NAME"], "renamed");
    assert_eq!(
        records[1]["record"]["AMOUNT"].to_string(),
        canonical_decimal(&json!(amount(1)))
    );
    assert!(records[1]["record"]["_sdc_deleted_at"].is_null());
    assert_eq!(records[2]["record"]["ID"], 2);
    assert_eq!(
        records[2]["record"]["_sdc_deleted_at"],
        records[2]["record"]["_sdc_commit_timestamp"]
    );
    // A run with nothing new writes no record and keeps its place.
    let (_, state) = confirmed(&lines);
    let (lines, _, status, _) = run(&config, &catalog, state.as_ref(), f.dir.path(), None);
    assert!(status.success());
    assert_eq!(lines.iter().filter(|m| m["type"] == "RECORD").count(), 0);
}

#[test]
fn a_purged_log_fails_the_run_naming_thread_and_sequence() {
    let f = fixture(2, true);
    let (config, catalog) = setup(&f, json!({}));
    let (lines, _, status, _) = run(&config, &catalog, None, f.dir.path(), None);
    assert!(status.success());
    let (_, state) = confirmed(&lines);
    // Changes the tap has not read, in a log that is then switched out and purged.
    let mut tx = f.backend.begin_transaction().unwrap();
    tx.insert(
        "APP",
        "ITEMS",
        &["ID", "NAME", "AMOUNT"],
        row_values(50, "unread", "1"),
    )
    .unwrap();
    tx.commit().unwrap();
    let first = f.backend.switch_logfile().unwrap() - 1;
    for _ in 0..3 {
        f.backend.switch_logfile().unwrap();
    }
    f.backend.purge_archived_logs(first).unwrap();
    let (_, _, status, stderr) = run(&config, &catalog, state.as_ref(), f.dir.path(), None);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("thread 1 sequence {first}")) && stderr.contains("purged"),
        "{stderr}"
    );
}

#[test]
fn ddl_on_a_mined_table_stops_the_run_before_any_record_of_its_window() {
    let f = fixture(2, true);
    let (config, catalog) = setup(&f, json!({}));
    let (lines, _, _, _) = run(&config, &catalog, None, f.dir.path(), None);
    let (_, state) = confirmed(&lines);
    let mut tx = f.backend.begin_transaction().unwrap();
    tx.insert(
        "APP",
        "ITEMS",
        &["ID", "NAME", "AMOUNT"],
        row_values(60, "before the DDL", "1"),
    )
    .unwrap();
    tx.commit().unwrap();
    f.backend
        .sink()
        .unwrap()
        .alter_table(
            &items(),
            &db_boundary::AlterTable::AddColumn(ColumnDef {
                name: "EXTRA".into(),
                data_type: OracleType::Date,
                nullable: true,
                check: None,
            }),
        )
        .unwrap();
    let (lines, _, status, stderr) = run(&config, &catalog, state.as_ref(), f.dir.path(), None);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("stream APP-ITEMS") && stderr.contains("changed shape"),
        "{stderr}"
    );
    assert_eq!(
        lines.iter().filter(|m| m["type"] == "RECORD").count(),
        0,
        "no record decoded with the wrong columns"
    );
}

#[test]
fn without_all_column_logging_the_run_says_which_statement_fixes_it() {
    let f = fixture(2, false);
    let (config, catalog) = setup(&f, json!({}));
    let (_, _, status, stderr) = run(&config, &catalog, None, f.dir.path(), None);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ALTER TABLE \"APP\".\"ITEMS\" ADD SUPPLEMENTAL LOG DATA (ALL) COLUMNS"),
        "{stderr}"
    );
}

#[test]
fn a_checkpoint_of_another_database_is_refused() {
    let f = fixture(2, true);
    let (config, catalog) = setup(&f, json!({}));
    let (lines, _, _, _) = run(&config, &catalog, None, f.dir.path(), None);
    let (_, state) = confirmed(&lines);
    let other = fixture(2, true);
    let (config2, catalog2) = setup(&other, json!({}));
    let (_, _, status, stderr) = run(&config2, &catalog2, state.as_ref(), other.dir.path(), None);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("belongs to database DBID"), "{stderr}");
}

#[test]
fn test_mode_reports_what_log_based_needs() {
    let f = fixture(1, true);
    let config = f.config(json!({}));
    let out = Command::new(TAP)
        .args(["--config", config.to_str().unwrap(), "--test"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("LOG_BASED replication:") && stderr.contains("has ARCHIVELOG mode"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn the_snapshot_hand_off_loses_and_repeats_nothing() {
    let f = fixture(30, true);
    let (config, catalog) = setup(&f, json!({}));
    let key = |id: i64| [Value::number(&id.to_string())];
    // Open before the snapshot and committed after it: its early change must come
    // from the log.
    let mut early = f.backend.begin_transaction().unwrap();
    early
        .update(
            "APP",
            "ITEMS",
            &key(1),
            &["NAME"],
            vec![Value::Text("early".into())],
        )
        .unwrap();
    // Killed in the middle of the snapshot...
    let (lines, killed, _, _) = run(&config, &catalog, None, f.dir.path(), Some(12));
    assert!(killed);
    let (mut records, state) = confirmed(&lines);
    let s = snapshot_scn(&[state.clone().unwrap()]);
    // ...the table moves on, also rows the snapshot has not read yet...
    let mut later = f.backend.begin_transaction().unwrap();
    later
        .update(
            "APP",
            "ITEMS",
            &key(29),
            &["NAME"],
            vec![Value::Text("later".into())],
        )
        .unwrap();
    later.delete("APP", "ITEMS", &key(30)).unwrap();
    later
        .insert(
            "APP",
            "ITEMS",
            &["ID", "NAME", "AMOUNT"],
            row_values(31, "later", "3"),
        )
        .unwrap();
    let later_scn = later.commit().unwrap();
    early
        .update(
            "APP",
            "ITEMS",
            &key(2),
            &["NAME"],
            vec![Value::Text("early too".into())],
        )
        .unwrap();
    let early_scn = early.commit().unwrap();
    // ...and the resumed snapshot still reads as of s, then the log delivers the rest.
    let (lines, _, status, stderr) = run(&config, &catalog, state.as_ref(), f.dir.path(), None);
    assert!(status.success(), "{stderr}");
    records.extend(confirmed(&lines).0);
    let (snapshot, changes): (Vec<&Json>, Vec<&Json>) = records
        .iter()
        .partition(|r| r["record"]["_sdc_commit_scn"].is_null());
    let ids: Vec<i64> = snapshot.iter().map(|r| change_of(r).1).collect();
    assert_eq!(
        ids,
        (1..=30).collect::<Vec<_>>(),
        "every row once, as of SCN {s}"
    );
    for r in &snapshot {
        let c = change_of(r);
        assert_eq!(
            c.2,
            format!("seed {}", c.1),
            "no change after SCN {s} in the snapshot"
        );
    }
    let got: Vec<(u64, Change)> = changes
        .iter()
        .map(|r| {
            (
                r["record"]["_sdc_commit_scn"].as_u64().unwrap(),
                change_of(r),
            )
        })
        .collect();
    let a = |i: i64| canonical_decimal(&json!(amount(i)));
    assert_eq!(
        got,
        [
            (later_scn, (false, 29, "later".into(), a(29))),
            (later_scn, (true, 30, "seed 30".into(), a(30))),
            (later_scn, (false, 31, "later".into(), "3".into())),
            (early_scn, (false, 1, "early".into(), a(1))),
            (early_scn, (false, 2, "early too".into(), a(2))),
        ]
    );
}
