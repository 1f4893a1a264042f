//! The simulated redo as LogMiner would show it: SCNs and XIDs for every change, commit
//! order, rollbacks and savepoint rollbacks, open transactions that interleave, logs
//! that switch, archive and are purged, supplemental logging, DDL, flashback reads.

use db_boundary::{
    Backend, ChangeRow, ColumnDef, DbError, MinedColumn, MinedTable, MiningRequest, RedoLog,
    RedoLogKind, RowFilter, Scan, ScanRange, Source, TableDef, TableName, TableRef, Value,
};
use sim_backend::SimBackend;
use singer_core::oracle_type::{LengthSemantics, OracleType};

const OWNER: &str = "SIM_USER";

fn n(v: i64) -> Value {
    Value::number(&v.to_string())
}

fn t(v: &str) -> Value {
    Value::Text(v.into())
}

fn number() -> OracleType {
    OracleType::Number {
        precision: None,
        scale: None,
    }
}

fn name_type() -> OracleType {
    OracleType::Varchar2 {
        length: 20,
        semantics: LengthSemantics::Char,
    }
}

/// The columns of `T`, as `create_table` and `insert_rows` take them.
fn columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef {
            name: "ID".into(),
            data_type: number(),
            nullable: false,
            check: None,
        },
        ColumnDef {
            name: "NAME".into(),
            data_type: name_type(),
            nullable: true,
            check: None,
        },
    ]
}

/// A store with table `T (ID NUMBER PRIMARY KEY, NAME VARCHAR2(20 CHAR))`, ARCHIVELOG
/// and all-column supplemental logging for it.
fn store() -> (tempfile::TempDir, SimBackend) {
    let dir = tempfile::tempdir().unwrap();
    let backend = SimBackend::open(dir.path()).unwrap();
    backend
        .sink()
        .unwrap()
        .create_table(&TableDef {
            name: table(),
            columns: columns(),
            primary_key: vec!["ID".into()],
        })
        .unwrap();
    backend.set_archivelog(true).unwrap();
    backend.set_supplemental_logging(true, false).unwrap();
    backend.add_table_supplemental_logging(OWNER, "T").unwrap();
    (dir, backend)
}

fn table() -> TableName {
    TableName {
        schema: Some(OWNER.into()),
        name: "T".into(),
    }
}

fn mined(source: &mut dyn Source) -> MinedTable {
    let info = source.mined_table_info(OWNER, "T").unwrap();
    MinedTable {
        owner: OWNER.into(),
        table: "T".into(),
        object_ids: info.object_ids,
        columns: vec![
            MinedColumn {
                name: "ID".into(),
                data_type: number(),
            },
            MinedColumn {
                name: "NAME".into(),
                data_type: name_type(),
            },
        ],
    }
}

/// Every row from `from_scn` to now, as `op xid rollback values`, through the logs the
/// store lists.
fn mine_all(backend: &SimBackend, from_scn: u64) -> Result<Vec<String>, DbError> {
    let mut source = backend.source().unwrap();
    let end = source.current_scn().unwrap();
    let logs: Vec<RedoLog> = source.redo_logs(from_scn).unwrap();
    let request = MiningRequest {
        logs,
        start_scn: from_scn,
        end_scn: end,
        tables: vec![mined(source.as_mut())],
        fetch_array_size: 100,
    };
    let mut out = Vec::new();
    source.mine(&request, &mut |row: &ChangeRow| {
        out.push(describe(row));
        std::ops::ControlFlow::Continue(())
    })?;
    Ok(out)
}

fn describe(row: &ChangeRow) -> String {
    let values: Vec<String> = row
        .values
        .iter()
        .map(|v| match v {
            None => "?".to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(Value::Text(t)) => t.clone(),
            Some(Value::Null) => "null".to_owned(),
            Some(other) => format!("{other:?}"),
        })
        .collect();
    format!(
        "{:?}{} {} [{}]",
        row.operation,
        if row.rollback { " (rollback)" } else { "" },
        row.xid,
        values.join(",")
    )
}

#[test]
fn target_session_changes_reach_the_redo_with_scns_an_xid_and_a_commit() {
    let (_dir, backend) = store();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    let mut sink = backend.sink().unwrap();
    sink.insert_rows(
        &table(),
        &columns(),
        &[vec![n(1), t("a")], vec![n(2), t("b")]],
    )
    .unwrap();
    sink.update_rows(&table(), "NAME", &t("z"), &RowFilter::All)
        .unwrap();
    sink.delete_rows(
        &table(),
        &RowFilter::LessThan {
            column: "ID".into(),
            value: n(2),
        },
    )
    .unwrap();
    sink.commit().unwrap();
    let rows = mine_all(&backend, start).unwrap();
    let xid = rows[0].split(' ').nth(1).unwrap().to_owned();
    assert_eq!(xid.len(), 16);
    let expected = [
        "Insert [1,a]",
        "Insert [2,b]",
        "Update [1,z]",
        "Update [2,z]",
        "Delete [1,z]",
        "Commit []",
    ]
    .map(|s| s.replacen(' ', &format!(" {xid} "), 1));
    assert_eq!(rows, expected);
}

#[test]
fn a_rolled_back_target_transaction_shows_its_changes_their_undo_and_a_rollback() {
    let (_dir, backend) = store();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    let mut sink = backend.sink().unwrap();
    sink.insert_rows(&table(), &columns(), &[vec![n(1), t("a")]])
        .unwrap();
    sink.rollback().unwrap();
    assert_eq!(backend.row_count(OWNER, "T").unwrap(), 0);
    let rows: Vec<String> = mine_all(&backend, start)
        .unwrap()
        .iter()
        .map(|r| {
            r.split(' ')
                .filter(|w| w.len() != 16)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    assert_eq!(
        rows,
        ["Insert [1,a]", "Delete (rollback) []", "Rollback []"]
    );
}

#[test]
fn open_transactions_interleave_and_apply_at_commit_only() {
    let (_dir, backend) = store();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    let mut t1 = backend.begin_transaction().unwrap();
    let mut t2 = backend.begin_transaction().unwrap();
    t1.insert(OWNER, "T", &["ID", "NAME"], vec![n(1), t("one")])
        .unwrap();
    t2.insert(OWNER, "T", &["ID", "NAME"], vec![n(2), t("two")])
        .unwrap();
    // Row locks: T2 cannot touch T1's row; a target session cannot touch the table.
    let busy = t2
        .update(OWNER, "T", &[n(1)], &["NAME"], vec![t("x")])
        .unwrap_err();
    assert_eq!(busy.ora_code(), Some(54));
    let busy = backend
        .sink()
        .unwrap()
        .delete_rows(&table(), &RowFilter::All)
        .unwrap_err();
    assert_eq!(busy.ora_code(), Some(54));
    // A duplicate key, committed or pending in the same transaction, is ORA-00001.
    let dup = t1
        .insert(OWNER, "T", &["ID", "NAME"], vec![n(1), t("again")])
        .unwrap_err();
    assert_eq!(dup.ora_code(), Some(1));
    let x2 = t2.xid().to_owned();
    t2.commit().unwrap();
    assert_eq!(
        backend.read_rows(OWNER, "T").unwrap(),
        [vec![n(2), t("two")]]
    );
    // T1 stays open across "processes": resumed by its XID.
    let x1 = t1.xid().to_owned();
    drop(t1);
    assert_eq!(
        backend.open_transactions().unwrap(),
        std::slice::from_ref(&x1)
    );
    let mut t1 = backend.resume_transaction(&x1).unwrap();
    t1.update(OWNER, "T", &[n(1)], &["NAME"], vec![t("uno")])
        .unwrap();
    t1.commit().unwrap();
    assert_eq!(
        backend.read_rows(OWNER, "T").unwrap(),
        [vec![n(1), t("uno")], vec![n(2), t("two")]]
    );
    assert!(backend.open_transactions().unwrap().is_empty());
    let rows = mine_all(&backend, start).unwrap();
    assert_eq!(
        rows,
        [
            format!("Insert {x1} [1,one]"),
            format!("Insert {x2} [2,two]"),
            format!("Commit {x2} []"),
            format!("Update {x1} [1,uno]"),
            format!("Commit {x1} []"),
        ]
    );
}

#[test]
fn savepoint_rollbacks_and_rollbacks_leave_undo_rows_and_no_data() {
    let (_dir, backend) = store();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    let mut tx = backend.begin_transaction().unwrap();
    let x = tx.xid().to_owned();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(1), t("kept")])
        .unwrap();
    tx.savepoint("s1").unwrap();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(2), t("undone")])
        .unwrap();
    tx.update(OWNER, "T", &[n(1)], &["NAME"], vec![t("undone too")])
        .unwrap();
    tx.rollback_to("s1").unwrap();
    assert_eq!(tx.rollback_to("nope").unwrap_err().ora_code(), Some(1086));
    tx.commit().unwrap();
    assert_eq!(
        backend.read_rows(OWNER, "T").unwrap(),
        [vec![n(1), t("kept")]]
    );
    let mut gone = backend.begin_transaction().unwrap();
    let y = gone.xid().to_owned();
    gone.delete(OWNER, "T", &[n(1)]).unwrap();
    gone.rollback().unwrap();
    assert_eq!(backend.row_count(OWNER, "T").unwrap(), 1);
    assert_eq!(
        mine_all(&backend, start).unwrap(),
        [
            format!("Insert {x} [1,kept]"),
            format!("Insert {x} [2,undone]"),
            format!("Update {x} [1,undone too]"),
            format!("Update (rollback) {x} []"),
            format!("Delete (rollback) {x} []"),
            format!("Commit {x} []"),
            format!("Delete {y} [1,kept]"),
            format!("Insert (rollback) {y} []"),
            format!("Rollback {y} []"),
        ]
    );
}

#[test]
fn without_all_column_logging_an_update_lacks_the_unchanged_columns() {
    let (_dir, backend) = store();
    let mut tx = backend.begin_transaction().unwrap();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(1), t("a")])
        .unwrap();
    tx.commit().unwrap();
    backend.set_supplemental_logging(false, false).unwrap();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    let mut tx = backend.begin_transaction().unwrap();
    tx.update(OWNER, "T", &[n(1)], &["NAME"], vec![t("b")])
        .unwrap();
    tx.commit().unwrap();
    let rows = mine_all(&backend, start).unwrap();
    assert!(
        rows[0].starts_with("Update") && rows[0].ends_with("[?,b]"),
        "{rows:?}"
    );
    assert!(
        !backend
            .source()
            .unwrap()
            .mined_table_info(OWNER, "T")
            .unwrap()
            .all_columns_logged
    );
}

#[test]
fn logs_switch_archive_and_a_purged_log_cannot_be_mined() {
    let (_dir, backend) = store();
    backend.set_log_bytes(400).unwrap();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    for i in 0..20 {
        let mut tx = backend.begin_transaction().unwrap();
        tx.insert(
            OWNER,
            "T",
            &["ID", "NAME"],
            vec![n(i), t("a row of some length")],
        )
        .unwrap();
        tx.commit().unwrap();
    }
    let logs = backend.redo_logs().unwrap();
    let archived: Vec<&RedoLog> = logs
        .iter()
        .filter(|l| l.kind == RedoLogKind::Archived)
        .collect();
    assert!(archived.len() >= 3, "{logs:?}");
    assert_eq!(
        logs.iter().filter(|l| l.next_scn.is_none()).count(),
        1,
        "one current log"
    );
    for pair in archived.windows(2) {
        assert_eq!(
            pair[0].next_scn,
            Some(pair[1].first_scn),
            "contiguous SCN ranges"
        );
    }
    // Every change and commit is read back across the switches.
    let rows = mine_all(&backend, start).unwrap();
    assert_eq!(rows.iter().filter(|r| r.starts_with("Insert")).count(), 20);
    assert_eq!(rows.iter().filter(|r| r.starts_with("Commit")).count(), 20);
    // Purge the first two archived logs: listed as unavailable, and mining them fails.
    let second = archived[1].sequence;
    assert_eq!(backend.purge_archived_logs(second).unwrap(), 2);
    let after = backend.redo_logs().unwrap();
    assert!(after
        .iter()
        .any(|l| l.sequence == second && !l.available && l.name.is_none()));
    let mut source = backend.source().unwrap();
    let request = MiningRequest {
        logs: logs.clone(),
        start_scn: start,
        end_scn: source.current_scn().unwrap(),
        tables: vec![mined(source.as_mut())],
        fetch_array_size: 10,
    };
    let error = source
        .mine(&request, &mut |_| std::ops::ControlFlow::Continue(()))
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(1284), "{error}");
    // A range the added logs do not cover is ORA-01291.
    let request = MiningRequest {
        logs: vec![logs.last().unwrap().clone()],
        ..request
    };
    let error = source
        .mine(&request, &mut |_| std::ops::ControlFlow::Continue(()))
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(1291), "{error}");
}

#[test]
fn noarchivelog_overwrites_old_logs() {
    let (_dir, backend) = store();
    backend.set_archivelog(false).unwrap();
    for _ in 0..5 {
        backend.switch_logfile().unwrap();
    }
    let logs = backend.redo_logs().unwrap();
    assert!(
        logs.iter().all(|l| l.kind == RedoLogKind::Online),
        "{logs:?}"
    );
    assert_eq!(logs.len(), 3, "three online groups: {logs:?}");
}

#[test]
fn ddl_changes_the_dictionary_version_of_older_rows() {
    let (_dir, backend) = store();
    let start = backend.source().unwrap().current_scn().unwrap() + 1;
    let mut tx = backend.begin_transaction().unwrap();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(1), t("a")])
        .unwrap();
    tx.commit().unwrap();
    backend
        .sink()
        .unwrap()
        .alter_table(
            &table(),
            &db_boundary::AlterTable::AddColumn(ColumnDef {
                name: "EXTRA".into(),
                data_type: number(),
                nullable: true,
                check: None,
            }),
        )
        .unwrap();
    let rows = mine_all(&backend, start).unwrap();
    assert!(rows[0].starts_with("Ddl"), "{rows:?}");
    assert!(
        rows.iter()
            .any(|r| r.starts_with("Ddl") && r.contains("[]")),
        "{rows:?}"
    );
}

#[test]
fn flashback_rebuilds_older_versions_and_refuses_past_ddl_or_retention() {
    let (_dir, backend) = store();
    let mut tx = backend.begin_transaction().unwrap();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(1), t("old")])
        .unwrap();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(2), t("gone later")])
        .unwrap();
    tx.commit().unwrap();
    let mut source = backend.source().unwrap();
    let then = source.current_scn().unwrap();
    let mut tx = backend.begin_transaction().unwrap();
    tx.update(OWNER, "T", &[n(1)], &["NAME"], vec![t("new")])
        .unwrap();
    tx.delete(OWNER, "T", &[n(2)]).unwrap();
    tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(3), t("later")])
        .unwrap();
    tx.commit().unwrap();
    // A transaction open now changes nothing a reader sees.
    let mut open = backend.begin_transaction().unwrap();
    open.insert(OWNER, "T", &["ID", "NAME"], vec![n(9), t("uncommitted")])
        .unwrap();
    let scan = |source: &mut Box<dyn Source + Send>, scn: u64| {
        let mut rows = Vec::new();
        source
            .scan(
                &Scan {
                    table: TableRef {
                        owner: OWNER.into(),
                        table: "T".into(),
                    },
                    columns: vec![
                        db_boundary::ScanColumn::new("ID", number()),
                        db_boundary::ScanColumn::new("NAME", name_type()),
                    ],
                    range: ScanRange::Keyset(
                        db_boundary::KeyRange::new(vec!["ID".into()]).unwrap(),
                    ),
                    as_of_scn: Some(scn),
                    tuning: db_boundary::FetchTuning::default(),
                },
                &mut |row| {
                    rows.push(row.values[..2].to_vec());
                    std::ops::ControlFlow::Continue(())
                },
            )
            .map(|_| rows)
    };
    assert_eq!(
        scan(&mut source, then).unwrap(),
        [vec![n(1), t("old")], vec![n(2), t("gone later")]]
    );
    let now = source.current_scn().unwrap();
    assert_eq!(
        scan(&mut source, now).unwrap(),
        [vec![n(1), t("new")], vec![n(3), t("later")]]
    );
    open.rollback().unwrap();
    // Purge everything archived: the old SCN can no longer be rebuilt.
    backend.switch_logfile().unwrap();
    backend.switch_logfile().unwrap();
    backend.switch_logfile().unwrap();
    backend.switch_logfile().unwrap();
    backend.purge_archived_logs(u64::MAX >> 2).unwrap();
    assert_eq!(scan(&mut source, then).unwrap_err().ora_code(), Some(1555));
}

#[test]
fn identity_and_readiness_come_from_the_store() {
    let (_dir, backend) = store();
    let (_dir2, other) = store();
    let a = backend.source().unwrap().database_identity().unwrap();
    let b = other.source().unwrap().database_identity().unwrap();
    assert_ne!(a.dbid, b.dbid, "two stores, two DBIDs");
    assert_eq!(a.resetlogs_change, 1);
    let report = backend.check().unwrap().to_string();
    assert!(report.contains("has ARCHIVELOG mode"), "{report}");
    let fresh_dir = tempfile::tempdir().unwrap();
    let fresh = SimBackend::open(fresh_dir.path()).unwrap();
    let report = fresh.check().unwrap().to_string();
    assert!(report.contains("lacks ARCHIVELOG mode -- fix:"), "{report}");
    assert!(
        report.contains("lacks minimal supplemental logging"),
        "{report}"
    );
}

#[test]
fn sim_admin_configures_switches_lists_and_purges_the_redo() {
    let (dir, backend) = store();
    let admin = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sim-admin"))
            .arg("redo")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    admin(&["archivelog", "on"]);
    admin(&["supplemental-log", "all"]);
    assert!(
        backend
            .source()
            .unwrap()
            .mined_table_info(OWNER, "T")
            .unwrap()
            .all_columns_logged
    );
    assert!(admin(&["switch"]).contains("current sequence 2"));
    admin(&["switch"]);
    let logs = admin(&["logs"]);
    assert_eq!(logs.lines().count(), 3, "{logs}");
    assert!(logs.contains("\"kind\":\"Archived\""), "{logs}");
    assert!(admin(&["purge", "--through-sequence", "1"]).contains("purged 1"));
    assert!(admin(&["logs"]).contains("\"available\":false"));
    let tx = backend.begin_transaction().unwrap();
    let xid = tx.xid().to_owned();
    drop(tx);
    assert_eq!(admin(&["transactions"]).trim(), xid);
    admin(&["rollback", &xid]);
    assert_eq!(admin(&["transactions"]).trim(), "");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_sim-admin"))
        .args(["redo", dir.path().to_str().unwrap(), "explode"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn a_savepoint_rollback_undoes_exactly_the_later_changes_across_log_switches() {
    let (_dir, backend) = store();
    // Logs fill every few changes, so some changes are followed by a switch and some not.
    backend.set_log_bytes(250).unwrap();
    let mut kept = Vec::new();
    let mut tx = backend.begin_transaction().unwrap();
    for round in 0..4 {
        let base = round * 10;
        tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(base + 1), t("kept")])
            .unwrap();
        kept.push(vec![n(base + 1), t("kept")]);
        tx.savepoint("s").unwrap();
        for k in 2..5 {
            tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(base + k), t("undone")])
                .unwrap();
        }
        tx.rollback_to("s").unwrap();
        tx.insert(OWNER, "T", &["ID", "NAME"], vec![n(base + 9), t("after")])
            .unwrap();
        kept.push(vec![n(base + 9), t("after")]);
    }
    tx.commit().unwrap();
    assert!(backend.redo_logs().unwrap().len() > 3, "logs switched");
    assert_eq!(backend.read_rows(OWNER, "T").unwrap(), kept);
}
