//! The LogMiner half of the contract (LOG_BASED): who the database is, which redo logs
//! it lists, and what one mining session returns for committed, rolled-back and DDL
//! work, values exact. Run against the simulated redo always and against Oracle (in a
//! PDB, where START_LOGMNR picks the logs) with `--ignored`; the Oracle database needs
//! ARCHIVELOG, supplemental logging and the LogMiner grants (see the CI workflow).

use chrono::{FixedOffset, NaiveDate, TimeZone};
use db_boundary::{
    ChangeOperation, ChangeRow, ColumnDef, MinedColumn, MinedTable, MiningRequest, RedoLog,
    RedoLogKind, RowFilter, TableDef, TableName, Value,
};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use crate::harness::Db;

contract_tests!(
    identity_logs_and_snapshot_point_describe_the_redo,
    committed_changes_are_mined_in_redo_order_with_exact_values,
    a_rolled_back_transaction_is_mined_with_its_undo_and_a_rollback,
    ddl_on_a_mined_table_is_a_ddl_row,
);

fn columns() -> Vec<(&'static str, OracleType)> {
    vec![
        (
            "ID",
            OracleType::Number {
                precision: Some(10),
                scale: Some(0),
            },
        ),
        (
            "NAME",
            OracleType::Varchar2 {
                length: 20,
                semantics: LengthSemantics::Char,
            },
        ),
        (
            "AMOUNT",
            OracleType::Number {
                precision: Some(12),
                scale: Some(2),
            },
        ),
        (
            "AT",
            OracleType::TimestampTz {
                fractional_precision: 6,
            },
        ),
    ]
}

fn create(db: &Db, name: &str) -> TableName {
    db.prepare_log_mining();
    let table = db.table(&db.name(name));
    let mut sink = db.backend.sink().unwrap();
    sink.create_table(&TableDef {
        name: table.clone(),
        columns: defs(),
        primary_key: vec!["ID".into()],
    })
    .unwrap();
    sink.commit().unwrap();
    table
}

fn row(id: i64, name: &str, amount: &str) -> Vec<Value> {
    let at = FixedOffset::east_opt(2 * 3600)
        .unwrap()
        .from_local_datetime(
            &NaiveDate::from_ymd_opt(2024, 2, 29)
                .unwrap()
                .and_hms_micro_opt(22, 59, 59, 123_456)
                .unwrap(),
        )
        .unwrap();
    vec![
        Value::number(&id.to_string()),
        Value::Text(name.into()),
        Value::number(amount),
        Value::TimestampTz(at),
    ]
}

/// The columns as the sink takes them (typed binds come from these).
fn defs() -> Vec<ColumnDef> {
    columns()
        .into_iter()
        .map(|(name, data_type)| ColumnDef {
            name: name.into(),
            nullable: name != "ID",
            data_type,
            check: None,
        })
        .collect()
}

/// The first SCN after everything committed so far.
fn next_scn(db: &Db) -> u64 {
    db.backend.source().unwrap().snapshot_point().unwrap().scn + 1
}

/// One copy of every log reaching past `from_scn` (the archived one when both exist).
fn logs_from(logs: Vec<RedoLog>) -> Vec<RedoLog> {
    let mut chosen: Vec<RedoLog> = Vec::new();
    for log in logs.into_iter().filter(|l| l.available) {
        match chosen
            .iter_mut()
            .find(|c| c.thread == log.thread && c.sequence == log.sequence)
        {
            Some(have) if have.kind == RedoLogKind::Online => *have = log,
            Some(_) => {}
            None => chosen.push(log),
        }
    }
    chosen
}

/// Every row of one mining session from `start` to now for `table`, with commits and
/// rollbacks of the transactions that touched it.
fn mine(db: &Db, table: &TableName, start: u64) -> Vec<ChangeRow> {
    let mut source = db.backend.source().unwrap();
    let end = source.snapshot_point().unwrap().scn;
    let info = source
        .mined_table_info(table.schema.as_deref().unwrap(), &table.name)
        .unwrap();
    assert!(
        info.all_columns_logged,
        "every column of an UPDATE is logged"
    );
    let request = MiningRequest {
        logs: logs_from(source.redo_logs(start).unwrap()),
        start_scn: start,
        end_scn: end,
        tables: vec![MinedTable {
            owner: table.schema.clone().unwrap(),
            table: table.name.clone(),
            object_ids: info.object_ids,
            columns: columns()
                .into_iter()
                .map(|(name, data_type)| MinedColumn {
                    name: name.into(),
                    data_type,
                })
                .collect(),
        }],
        fetch_array_size: 100,
    };
    let mut rows = Vec::new();
    source
        .mine(&request, &mut |row: &ChangeRow| {
            rows.push(row.clone());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    // Only the transactions that touched the table (others commit around it on a server).
    let ours: Vec<String> = rows
        .iter()
        .filter(|r| r.table == Some(0))
        .map(|r| r.xid.clone())
        .collect();
    rows.retain(|r| ours.contains(&r.xid));
    rows
}

fn values(row: &ChangeRow) -> Vec<Value> {
    row.values
        .iter()
        .map(|v| v.clone().expect("every column logged"))
        .collect()
}

fn identity_logs_and_snapshot_point_describe_the_redo(db: &Db) {
    db.prepare_log_mining();
    let mut source = db.backend.source().unwrap();
    let identity = source.database_identity().unwrap();
    assert!(
        identity.dbid > 0 && identity.resetlogs_change > 0,
        "{identity:?}"
    );
    assert_eq!(source.database_identity().unwrap(), identity, "stable");
    let point = source.snapshot_point().unwrap();
    assert!(point.low_water <= point.scn);
    assert!(source.current_scn().unwrap() >= point.scn);
    let logs = source.redo_logs(point.scn).unwrap();
    let current: Vec<&RedoLog> = logs.iter().filter(|l| l.next_scn.is_none()).collect();
    assert!(
        !current.is_empty(),
        "each thread's current log is listed: {logs:?}"
    );
    for log in &current {
        assert!(
            log.available && log.name.is_some() && log.first_scn <= point.scn + 1,
            "{log:?}"
        );
    }
}

fn committed_changes_are_mined_in_redo_order_with_exact_values(db: &Db) {
    let table = create(db, "LM_COMMITTED");
    let start = next_scn(db);
    let mut sink = db.backend.sink().unwrap();
    sink.insert_rows(
        &table,
        &defs(),
        &[row(1, "one", "12.50"), row(2, "two", "-0.01")],
    )
    .unwrap();
    sink.update_rows(
        &table,
        "NAME",
        &Value::Text("uno".into()),
        &RowFilter::LessThan {
            column: "ID".into(),
            value: Value::number("2"),
        },
    )
    .unwrap();
    sink.delete_rows(
        &table,
        &RowFilter::LessThan {
            column: "ID".into(),
            value: Value::number("2"),
        },
    )
    .unwrap();
    sink.commit().unwrap();
    let rows = mine(db, &table, start);
    let ops: Vec<ChangeOperation> = rows.iter().map(|r| r.operation).collect();
    assert_eq!(
        ops,
        [
            ChangeOperation::Insert,
            ChangeOperation::Insert,
            ChangeOperation::Update,
            ChangeOperation::Delete,
            ChangeOperation::Commit
        ],
        "{rows:#?}"
    );
    assert!(rows.iter().all(|r| r.xid == rows[0].xid && !r.rollback));
    assert!(rows.windows(2).all(|w| w[0].scn <= w[1].scn), "redo order");
    let one = row(1, "uno", "12.5");
    assert_eq!(values(&rows[0]), row(1, "one", "12.5"));
    assert_eq!(values(&rows[1]), row(2, "two", "-0.01"));
    assert_eq!(values(&rows[2]), one, "the whole row after the update");
    assert_eq!(values(&rows[3]), one, "the whole row before the delete");
    // The zone's offset survives, not only the instant.
    if let Value::TimestampTz(at) = &values(&rows[0])[3] {
        assert_eq!(at.offset().local_minus_utc(), 7200);
    }
    assert!(rows[0].row_id.len() >= 10 && rows[0].row_id == rows[2].row_id);
}

fn a_rolled_back_transaction_is_mined_with_its_undo_and_a_rollback(db: &Db) {
    let table = create(db, "LM_ROLLBACK");
    let start = next_scn(db);
    let mut sink = db.backend.sink().unwrap();
    sink.insert_rows(&table, &defs(), &[row(7, "gone", "1")])
        .unwrap();
    sink.rollback().unwrap();
    let rows = mine(db, &table, start);
    let shape: Vec<(ChangeOperation, bool)> =
        rows.iter().map(|r| (r.operation, r.rollback)).collect();
    assert_eq!(
        shape,
        [
            (ChangeOperation::Insert, false),
            (ChangeOperation::Delete, true),
            (ChangeOperation::Rollback, false)
        ],
        "{rows:#?}"
    );
    assert_eq!(
        rows[0].row_id, rows[1].row_id,
        "the undo names the row it undoes"
    );
}

fn ddl_on_a_mined_table_is_a_ddl_row(db: &Db) {
    let table = create(db, "LM_DDL");
    let start = next_scn(db);
    let mut sink = db.backend.sink().unwrap();
    sink.alter_table(
        &table,
        &db_boundary::AlterTable::AddColumn(ColumnDef {
            name: "EXTRA".into(),
            data_type: OracleType::Date,
            nullable: true,
            check: None,
        }),
    )
    .unwrap();
    let rows = mine(db, &table, start);
    assert!(
        rows.iter()
            .any(|r| r.operation == ChangeOperation::Ddl && r.table == Some(0)),
        "{rows:#?}"
    );
}
