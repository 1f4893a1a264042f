//! The mining engine against generated redo: interleaved transactions, rollbacks,
//! savepoint rollbacks, transactions open across runs, and runs killed at random points
//! and restarted from their last STATE.

use chrono::NaiveDate;
use db_boundary::{ChangeOperation, ChangeRow, DatabaseIdentity, Value};

use super::*;
use crate::convert::NumberStyle;

fn identity() -> DatabaseIdentity {
    DatabaseIdentity {
        dbid: 42,
        resetlogs_change: 1,
        con_id: 0,
    }
}

fn position(scn: u64) -> LogPosition {
    LogPosition {
        scn,
        xids: Vec::new(),
        low_water: scn,
        database: identity(),
    }
}

fn streams(positions: &[LogPosition]) -> Vec<MinedStream> {
    positions
        .iter()
        .enumerate()
        .map(|(i, p)| MinedStream {
            stream: format!("S-T{i}"),
            owner: "S".into(),
            table: format!("T{i}"),
            columns: vec!["K".into(), "V".into()],
            encoder: RowEncoder::new(
                &[
                    ("K".to_owned(), NumberStyle::Number),
                    ("V".to_owned(), NumberStyle::Number),
                ],
                chrono::FixedOffset::east_opt(0).unwrap(),
            ),
            position: p.clone(),
        })
        .collect()
}

/// Collects emitted changes as `stream kind body @scn`.
#[derive(Default)]
struct Collect(Vec<String>);

impl ChangeSink for Collect {
    fn change(
        &mut self,
        stream: usize,
        kind: ChangeKind,
        body: &[u8],
        commit: &Commit<'_>,
    ) -> Result<(), MineError> {
        self.0.push(format!(
            "{stream} {kind:?} {} @{} {}",
            String::from_utf8_lossy(body),
            commit.scn,
            commit.xid
        ));
        Ok(())
    }
}

fn time() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 1, 2)
        .unwrap()
        .and_hms_opt(3, 4, 5)
        .unwrap()
}

fn row(scn: u64, xid: &str, operation: ChangeOperation) -> ChangeRow {
    ChangeRow {
        scn,
        xid: xid.into(),
        operation,
        rollback: false,
        table: None,
        row_id: String::new(),
        timestamp: time(),
        values: Vec::new(),
        info: None,
    }
}

fn dml(scn: u64, xid: &str, op: ChangeOperation, table: usize, key: i64, value: i64) -> ChangeRow {
    ChangeRow {
        table: Some(table),
        row_id: format!("R{table}_{key}"),
        values: vec![
            Some(Value::number(&key.to_string())),
            Some(Value::number(&value.to_string())),
        ],
        ..row(scn, xid, op)
    }
}

fn undo(scn: u64, xid: &str, table: usize, key: i64) -> ChangeRow {
    ChangeRow {
        rollback: true,
        ..dml(scn, xid, ChangeOperation::Delete, table, key, 0)
    }
}

fn feed_all(miner: &mut Miner, rows: &[ChangeRow]) -> Vec<String> {
    let mut out = Collect::default();
    for r in rows {
        miner.feed(r, &mut out).unwrap();
    }
    out.0
}

#[test]
fn committed_transactions_leave_in_commit_order_and_rollbacks_leave_nothing() {
    use ChangeOperation::*;
    let rows = vec![
        dml(10, "A", Insert, 0, 1, 100),
        dml(11, "B", Insert, 0, 2, 200),
        dml(12, "C", Insert, 1, 3, 300),
        dml(13, "A", Update, 0, 1, 101),
        // B rolls back to a savepoint after its second change, then commits.
        dml(14, "B", Update, 0, 2, 201),
        undo(15, "B", 0, 2),
        row(16, "B", Commit),
        // C rolls back entirely (Oracle logs the undo rows, then the ROLLBACK).
        undo(17, "C", 1, 3),
        row(18, "C", Rollback),
        dml(19, "A", Delete, 0, 1, 101),
        row(20, "A", Commit),
        // A commit of a transaction that touched no mined table.
        row(21, "D", Commit),
    ];
    let mut miner = Miner::new(streams(&[position(10), position(10)]), 1 << 20, 1 << 30);
    let out = feed_all(&mut miner, &rows);
    insta::assert_snapshot!(out.join("\n"), @r#"
    0 Insert {"K":2,"V":200} @16 B
    0 Insert {"K":1,"V":100} @20 A
    0 Update {"K":1,"V":101} @20 A
    0 Delete {"K":1,"V":101} @20 A
    "#);
    assert_eq!(miner.open_changes(), 0);
    let positions = miner.positions();
    assert_eq!(
        (positions[0].scn, positions[0].xids.clone()),
        (21, vec!["D".to_string()])
    );
    assert_eq!(positions[1].low_water, 21);
}

#[test]
fn an_open_transaction_holds_the_low_water_and_re_mining_skips_what_was_delivered() {
    use ChangeOperation::*;
    let first_run = vec![
        dml(10, "T1", Insert, 0, 1, 1),
        dml(11, "T2", Insert, 0, 2, 2),
        row(12, "T2", Commit),
    ];
    let mut miner = Miner::new(streams(&[position(10)]), 1 << 20, 1 << 30);
    let out = feed_all(&mut miner, &first_run);
    assert_eq!(out, [r#"0 Insert {"K":2,"V":2} @12 T2"#]);
    miner.drained_to(12);
    let saved = miner.final_positions(u64::MAX);
    assert_eq!(
        (saved[0].scn, saved[0].low_water, saved[0].xids.len()),
        (13, 10, 0)
    );

    // The next run re-mines from the low-water SCN: T2 is skipped, T1 arrives whole.
    let mut redo = first_run.clone();
    redo.extend([dml(13, "T1", Update, 0, 1, 10), row(14, "T1", Commit)]);
    let mut miner = Miner::new(streams(&saved), 1 << 20, 1 << 30);
    assert_eq!(miner.start_scn(), Some(10));
    let out = feed_all(&mut miner, &redo);
    assert_eq!(
        out,
        [
            r#"0 Insert {"K":1,"V":1} @14 T1"#,
            r#"0 Update {"K":1,"V":10} @14 T1"#
        ]
    );
}

#[test]
fn a_transaction_open_when_the_run_began_but_unseen_holds_the_final_low_water() {
    let mut miner = Miner::new(streams(&[position(50)]), 1 << 20, 1 << 30);
    miner.drained_to(80);
    let saved = miner.final_positions(60);
    assert_eq!((saved[0].scn, saved[0].low_water), (81, 60));
}

#[test]
fn a_stream_ahead_keeps_its_low_water_until_mining_reaches_it() {
    use ChangeOperation::*;
    let behind = position(10);
    let ahead = LogPosition {
        low_water: 30,
        ..position(40)
    };
    let mut miner = Miner::new(streams(&[behind, ahead]), 1 << 20, 1 << 30);
    assert_eq!(miner.start_scn(), Some(10));
    // A commit at 12 is news to stream 0 and old news to stream 1 (at 40).
    let out = feed_all(
        &mut miner,
        &[
            dml(11, "A", Insert, 0, 5, 5),
            dml(11, "A", Insert, 1, 6, 6),
            row(12, "A", Commit),
        ],
    );
    assert_eq!(out, [r#"0 Insert {"K":5,"V":5} @12 A"#]);
    let p = miner.positions();
    assert_eq!((p[1].scn, p[1].low_water), (40, 30));
    assert_eq!((p[0].scn, p[0].low_water), (12, 12));
}

#[test]
fn ddl_and_unlogged_columns_stop_the_run_with_a_clear_message() {
    use ChangeOperation::*;
    let mut miner = Miner::new(streams(&[position(1)]), 1 << 20, 1 << 30);
    let mut ddl = row(5, "X", Ddl);
    ddl.table = Some(0);
    ddl.info = Some("ALTER TABLE \"S\".\"T0\" ADD (\"W\" NUMBER)".into());
    let error = miner.feed(&ddl, &mut Collect::default()).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("stream S-T0") && message.contains("SCN 5"),
        "{message}"
    );
    assert!(message.contains("--discover"), "{message}");

    let mut update = dml(6, "X", Update, 0, 1, 1);
    update.values[1] = None;
    let message = miner
        .feed(&update, &mut Collect::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("column V") && message.contains("SUPPLEMENTAL LOG DATA (ALL)"),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------
// Generated workloads, killed runs.

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct OpenTxn {
    xid: String,
    /// (table, key, value, operation) in order.
    ops: Vec<(usize, i64, i64, ChangeOperation)>,
    savepoint: Option<usize>,
}

/// A redo stream and, in commit order, the changes a consumer must receive.
struct Workload {
    rows: Vec<ChangeRow>,
    expected: Vec<String>,
    rolled_back_values: Vec<i64>,
}

fn generate(seed: u64, steps: usize) -> Workload {
    use ChangeOperation::*;
    let mut rng = Rng(seed | 1);
    let mut scn = 100u64;
    let mut rows = Vec::new();
    let mut expected = Vec::new();
    let mut rolled_back_values = Vec::new();
    let mut open: Vec<OpenTxn> = Vec::new();
    let mut next_xid = 0u64;
    let mut next_key = 0i64;
    let mut next_value = 0i64;
    // Committed rows per table, key -> value; keys locked by an open transaction.
    let mut committed: Vec<std::collections::BTreeMap<i64, i64>> = vec![Default::default(); 2];
    let mut locked = std::collections::HashSet::new();
    for _ in 0..steps {
        scn += 1 + rng.below(3);
        let choice = rng.below(100);
        if open.is_empty() || (choice < 15 && open.len() < 6) {
            next_xid += 1;
            open.push(OpenTxn {
                xid: format!("{next_xid:016X}"),
                ops: Vec::new(),
                savepoint: None,
            });
            continue;
        }
        let i = rng.below(open.len() as u64) as usize;
        match choice {
            0..=54 => {
                let table = rng.below(2) as usize;
                next_value += 1;
                let candidates: Vec<i64> = committed[table]
                    .keys()
                    .copied()
                    .filter(|k| !locked.contains(&(table, *k)))
                    .collect();
                // Its own live rows: changed again (several changes to one row).
                let own: Vec<i64> = open[i]
                    .ops
                    .iter()
                    .filter(|(t, k, _, _)| {
                        *t == table
                            && !open[i]
                                .ops
                                .iter()
                                .any(|(t2, k2, _, o)| t2 == t && k2 == k && *o == Delete)
                    })
                    .map(|(_, k, _, _)| *k)
                    .collect();
                let (key, op) = if !own.is_empty() && rng.below(4) == 0 {
                    (own[rng.below(own.len() as u64) as usize], Update)
                } else if candidates.is_empty() || rng.below(3) == 0 {
                    next_key += 1;
                    (next_key, Insert)
                } else {
                    let key = candidates[rng.below(candidates.len() as u64) as usize];
                    (key, if rng.below(4) == 0 { Delete } else { Update })
                };
                locked.insert((table, key));
                let value = if op == Delete {
                    committed[table][&key]
                } else {
                    next_value
                };
                let txn = &mut open[i];
                rows.push(dml(scn, &txn.xid, op, table, key, value));
                txn.ops.push((table, key, value, op));
            }
            55..=62 => open[i].savepoint = Some(open[i].ops.len()),
            63..=70 => {
                let txn = &mut open[i];
                if let Some(at) = txn.savepoint.take() {
                    let undone: Vec<_> = txn.ops.drain(at..).rev().collect();
                    for (table, key, value, op) in undone {
                        scn += 1;
                        rows.push(undo(scn, &txn.xid, table, key));
                        if op != Delete {
                            rolled_back_values.push(value);
                        }
                        // The row lock goes with the last change to the row.
                        if !txn.ops.iter().any(|(t, k, _, _)| *t == table && *k == key) {
                            locked.remove(&(table, key));
                        }
                    }
                }
            }
            71..=76 => {
                let txn = open.swap_remove(i);
                for (table, key, value, op) in txn.ops.iter().rev() {
                    scn += 1;
                    rows.push(undo(scn, &txn.xid, *table, *key));
                    if *op != Delete {
                        rolled_back_values.push(*value);
                    }
                    locked.remove(&(*table, *key));
                }
                scn += 1;
                rows.push(row(scn, &txn.xid, Rollback));
            }
            _ => {
                let txn = open.swap_remove(i);
                rows.push(row(scn, &txn.xid, Commit));
                for (table, key, value, op) in &txn.ops {
                    locked.remove(&(*table, *key));
                    match op {
                        Delete => {
                            committed[*table].remove(key);
                        }
                        _ => {
                            committed[*table].insert(*key, *value);
                        }
                    }
                    expected.push(format!(
                        "{table} {op:?} {{\"K\":{key},\"V\":{value}}} @{scn} {}",
                        txn.xid
                    ));
                }
            }
        }
    }
    // Every change of a savepoint-undone or rolled-back step keeps its unique value, so
    // an emitted one is found by value.
    for v in &rolled_back_values {
        assert!(!expected.iter().any(|e| e.contains(&format!("\"V\":{v}}}"))));
    }
    Workload {
        rows,
        expected,
        rolled_back_values,
    }
}

/// One run: mines `rows` up to `end_scn` from `positions`, stopping after `kill_after`
/// rows (a SIGKILL) when given. Returns the records a target confirmed (those before
/// the last STATE) and the positions that STATE held.
fn run(
    rows: &[ChangeRow],
    positions: &[LogPosition],
    end_scn: u64,
    open_at_start: u64,
    kill_after: Option<usize>,
    state_every: u64,
) -> (Vec<String>, Vec<LogPosition>, bool) {
    let mut miner = Miner::new(streams(positions), 4096, 1 << 30);
    let start = miner.start_scn().unwrap();
    let mut out = Collect::default();
    let mut confirmed = Vec::new();
    let mut state = positions.to_vec();
    let mut since_state = 0;
    for (n, r) in rows
        .iter()
        .filter(|r| r.scn >= start && r.scn <= end_scn)
        .enumerate()
    {
        if kill_after == Some(n) {
            return (confirmed, state, true);
        }
        if let Fed::Boundary { records } = miner.feed(r, &mut out).unwrap() {
            since_state += records;
            if since_state >= state_every {
                since_state = 0;
                confirmed.append(&mut out.0);
                state = miner.positions();
            }
        }
    }
    miner.drained_to(end_scn);
    confirmed.append(&mut out.0);
    (confirmed, miner.final_positions(open_at_start), false)
}

/// The first SCN of the transactions still open at `end_scn` (what V$TRANSACTION says).
fn open_at(rows: &[ChangeRow], end_scn: u64) -> u64 {
    let mut first = std::collections::HashMap::new();
    for r in rows.iter().filter(|r| r.scn <= end_scn) {
        match r.operation {
            ChangeOperation::Commit | ChangeOperation::Rollback => {
                first.remove(&r.xid);
            }
            _ => {
                first.entry(r.xid.clone()).or_insert(r.scn);
            }
        }
    }
    first.values().copied().min().unwrap_or(end_scn)
}

#[test]
fn killed_and_restarted_runs_deliver_every_committed_change_exactly_once() {
    let mut kills = 0;
    for seed in 1..=60u64 {
        let workload = generate(seed * 7919, 400);
        let last_scn = workload.rows.last().map_or(100, |r| r.scn);
        let mut rng = Rng(seed * 104_729 + 3);
        let start = vec![position(100), position(100)];
        let mut positions = start;
        let mut delivered = Vec::new();
        let mut end_scn = 100;
        while end_scn < last_scn {
            // The source moves on between runs; each run drains to where it was then.
            end_scn = (end_scn + 1 + rng.below(last_scn / 8)).min(last_scn);
            let available: Vec<ChangeRow> = workload
                .rows
                .iter()
                .filter(|r| r.scn <= end_scn)
                .cloned()
                .collect();
            loop {
                let kill =
                    (rng.below(2) == 0).then(|| rng.below(available.len() as u64 + 1) as usize);
                let (confirmed, state, killed) = run(
                    &available,
                    &positions,
                    end_scn,
                    open_at(&available, end_scn),
                    kill,
                    1 + rng.below(5),
                );
                delivered.extend(confirmed);
                positions = state;
                if !killed {
                    break;
                }
                kills += 1;
            }
        }
        // Transactions still open at the end are owed later; `expected` holds the
        // committed ones only.
        assert_eq!(
            delivered, workload.expected,
            "seed {seed}: lost, repeated or reordered changes"
        );
        for value in &workload.rolled_back_values {
            let needle = format!("\"V\":{value}}}");
            assert!(
                !delivered.iter().any(|d| d.contains(&needle)),
                "seed {seed}: rolled-back value {value} emitted"
            );
        }
    }
    assert!(kills >= 100, "only {kills} killed runs");
}

#[test]
fn snapshot_handoff_loses_and_repeats_nothing() {
    use ChangeOperation::*;
    // T1 begins before the snapshot SCN and commits after it; T2 commits before it (in
    // the snapshot); T3 commits after it.
    let rows = vec![
        dml(10, "T1", Insert, 0, 1, 1),
        dml(11, "T2", Insert, 0, 2, 2),
        row(12, "T2", Commit),
        // snapshot AS OF SCN 15, low water 10 (T1 open)
        dml(16, "T1", Update, 0, 1, 11),
        dml(17, "T3", Insert, 0, 3, 3),
        row(18, "T3", Commit),
        row(19, "T1", Commit),
    ];
    let handoff = LogPosition {
        low_water: 10,
        ..position(16)
    };
    let (delivered, _, _) = run(&rows, &[handoff], 19, 19, None, 1);
    assert_eq!(
        delivered,
        [
            r#"0 Insert {"K":3,"V":3} @18 T3"#,
            r#"0 Insert {"K":1,"V":1} @19 T1"#,
            r#"0 Update {"K":1,"V":11} @19 T1"#,
        ]
    );
}
