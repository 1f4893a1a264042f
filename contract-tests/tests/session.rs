//! The session side of the boundary on every backend: naming a session for the DBA
//! (`set_context`: MODULE, ACTION, CLIENT_IDENTIFIER at their length limits) works on
//! both sides and leaves transactions alone; a password read from `password_file`
//! logs in, and `--test`'s report names that source without the value.
//!
//! Each test exists twice: `sim::<name>` (always) and `oracle::<name>` (`--ignored`).

#[allow(dead_code)] // shared with contract.rs; not every helper is used here
#[macro_use]
mod harness;

use db_boundary::{ColumnDef, SessionContext, SessionRole, TableDef, Value};
use serde_json::{json, Map, Value as Json};
use singer_core::oracle_type::OracleType;

use harness::Db;

contract_tests!(session_context_is_set_on_both_sides_and_leaves_transactions_alone);

fn session_context_is_set_on_both_sides_and_leaves_transactions_alone(db: &Db) {
    // Longer than every limit, multi-byte: cut on a character boundary by the boundary.
    let long = "ström-".repeat(20);
    let run_id = db_boundary::new_run_id();
    let mut sink = db.backend.sink().unwrap();
    sink.set_context(&SessionContext::new(SessionRole::Target, &long, &run_id))
        .unwrap();
    let table = db.table(&db.name("CTX"));
    let id = ColumnDef {
        name: "ID".into(),
        data_type: OracleType::Number {
            precision: Some(10),
            scale: Some(0),
        },
        nullable: false,
        check: None,
    };
    sink.create_table(&TableDef {
        name: table.clone(),
        columns: vec![id.clone()],
        primary_key: vec!["ID".into()],
    })
    .unwrap();
    let one = |n: i64| vec![vec![Value::Number(n.into())]];
    let columns = [id];
    sink.insert_rows(&table, &columns, &one(1)).unwrap();
    sink.rollback().unwrap();
    // A new action mid-session, then a committed write.
    sink.set_context(&SessionContext::new(
        SessionRole::Target,
        "HR-EMPLOYEES",
        &run_id,
    ))
    .unwrap();
    sink.insert_rows(&table, &columns, &one(2)).unwrap();
    sink.commit().unwrap();

    let mut source = db.backend.source().unwrap();
    source
        .set_context(&SessionContext::new(SessionRole::Tap, "discover", &run_id))
        .unwrap();
    let request = db_boundary::Scan {
        table: db_boundary::TableRef {
            owner: db.schema.clone(),
            table: table.name.clone(),
        },
        columns: vec![db_boundary::ScanColumn::new(
            "ID",
            columns[0].data_type.clone(),
        )],
        range: db_boundary::ScanRange::All,
        as_of_scn: None,
        tuning: db_boundary::FetchTuning {
            fetch_array_size: 10,
            prefetch_rows: 10,
        },
    };
    let mut rows = Vec::new();
    source
        .scan(&request, &mut |row| {
            rows.push(row.values[0].clone());
            std::ops::ControlFlow::Continue(())
        })
        .unwrap();
    assert_eq!(rows, [Value::Number(2.into())]);
}

/// `settings` with the password moved into a 0600 file.
fn with_password_file(settings: &Map<String, Json>, dir: &std::path::Path) -> Map<String, Json> {
    use std::os::unix::fs::PermissionsExt;
    let mut settings = settings.clone();
    let password = settings
        .remove("password")
        .and_then(|p| p.as_str().map(str::to_owned))
        .unwrap_or_else(|| "sim-has-no-password".into());
    let file = dir.join("db.pw");
    std::fs::write(&file, format!("{password}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    settings.insert("password_file".into(), json!(file));
    settings
}

fn password_file_logs_in_and_the_report_names_it(settings: &Map<String, Json>) {
    let dir = tempfile::tempdir().unwrap();
    let settings = with_password_file(settings, dir.path());
    let report = db_connect::check_connection(&settings, SessionRole::Target).unwrap();
    let text = report.to_string();
    assert!(
        text.contains(&format!(
            "credentials: password from password_file {}",
            dir.path().join("db.pw").display()
        )),
        "{text}"
    );
    assert!(!report.server.version.is_empty());
}

mod credentials {
    #[test]
    fn sim_password_file_logs_in_and_the_report_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let settings = serde_json::json!({"driver": "sim", "sim_path": dir.path().join("db")});
        super::password_file_logs_in_and_the_report_names_it(settings.as_object().unwrap());
    }

    #[test]
    #[ignore = "needs Docker or ORACLE_TEST_DSN: real-Oracle contract test (run with --ignored)"]
    fn oracle_password_file_logs_in_and_the_report_names_it() {
        super::password_file_logs_in_and_the_report_names_it(
            crate::harness::oracle_connection_settings(),
        );
    }
}
