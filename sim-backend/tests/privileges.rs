//! The simulated backend's privilege model (`SimOptions::privileges`): `check` reports
//! each privilege `--test` names as held or lacking, and the store refuses what Oracle
//! refuses without it, with Oracle's codes: no session without CREATE SESSION
//! (ORA-01045), other schemas' tables hidden from the dictionary and unreadable
//! (ORA-00942) without SELECT ANY TABLE, no `AS OF SCN` read of another schema's table
//! without FLASHBACK ANY TABLE (ORA-01031), no table of one's own without CREATE TABLE
//! (ORA-01031).

use std::ops::ControlFlow;

use db_boundary::{
    Backend, ColumnDef, DictionaryScope, FetchTuning, Scan, ScanRange, ScannedRow, TableDef,
    TableName, TableRef, Value, PRIVILEGES_THAT_MATTER,
};
use sim_backend::SimBackend;
use singer_core::oracle_type::OracleType;

fn table(schema: &str, name: &str) -> TableDef {
    TableDef {
        name: TableName {
            schema: Some(schema.into()),
            name: name.into(),
        },
        columns: vec![ColumnDef {
            name: "ID".into(),
            data_type: OracleType::Number {
                precision: None,
                scale: None,
            },
            nullable: false,
            check: None,
        }],
        primary_key: vec!["ID".into()],
    }
}

fn scan(owner: &str, as_of_scn: Option<u64>) -> Scan {
    Scan {
        table: TableRef {
            owner: owner.into(),
            table: "T".into(),
        },
        columns: vec![db_boundary::ScanColumn::new(
            "ID",
            singer_core::oracle_type::OracleType::parse("NUMBER").unwrap(),
        )],
        range: ScanRange::All,
        as_of_scn,
        tuning: FetchTuning::default(),
    }
}

fn go(_: ScannedRow<'_>) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// A store with tables `HR.T` and `SIM_USER.T` (made with every privilege), reopened
/// as a user holding only `held`.
fn store(dir: &std::path::Path, held: &[&str]) -> SimBackend {
    let mut backend = SimBackend::open(dir).unwrap();
    // On Oracle a schema is a user: HR must exist before a table goes into it.
    backend.create_user("HR").unwrap();
    let mut sink = backend.sink().unwrap();
    for schema in ["HR", "SIM_USER"] {
        sink.create_table(&table(schema, "T")).unwrap();
        backend
            .insert_rows(
                schema,
                "T",
                &["ID".to_owned()],
                vec![vec![Value::number("1")]],
            )
            .unwrap();
    }
    drop(sink);
    backend.set_privileges(held).unwrap();
    // The store keeps them: a later open sees the same privileges.
    assert_eq!(SimBackend::open(dir).unwrap().options(), backend.options());
    backend
}

#[test]
fn check_reports_every_privilege_held_or_lacking() {
    let dir = tempfile::tempdir().unwrap();
    let report = SimBackend::open(dir.path()).unwrap().check().unwrap();
    let names: Vec<&str> = report.privileges.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, PRIVILEGES_THAT_MATTER);
    assert!(report.privileges.iter().all(|(_, held)| *held));
    let text = report.to_string();
    assert!(text.contains("has FLASHBACK ANY TABLE"), "{text}");

    let limited = store(dir.path(), &["CREATE SESSION", "SELECT ANY TABLE"]);
    let text = limited.check().unwrap().to_string();
    for line in [
        "has CREATE SESSION",
        "lacks SELECT ANY DICTIONARY",
        "has SELECT ANY TABLE",
        "lacks FLASHBACK ANY TABLE",
        "lacks CREATE TABLE",
    ] {
        assert!(text.contains(line), "{line} not in:\n{text}");
    }
}

#[test]
fn without_create_session_no_session_opens() {
    let dir = tempfile::tempdir().unwrap();
    let backend = store(dir.path(), &["SELECT ANY TABLE"]);
    assert_eq!(backend.check().unwrap_err().ora_code(), Some(1045));
    assert_eq!(backend.source().err().unwrap().ora_code(), Some(1045));
}

#[test]
fn without_select_any_table_other_schemas_are_hidden_and_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let backend = store(dir.path(), &["CREATE SESSION"]);
    let mut source = backend.source().unwrap();
    let rows = source.read_dictionary(&DictionaryScope::default()).unwrap();
    let owners: Vec<&str> = rows.tables.iter().map(|t| t.owner.as_str()).collect();
    assert_eq!(owners, ["SIM_USER"]);
    let err = source.scan(&scan("HR", None), &mut go).unwrap_err();
    assert_eq!(err.ora_code(), Some(942), "{err}");
    assert_eq!(source.scan(&scan("SIM_USER", None), &mut go).unwrap(), 1);
}

#[test]
fn without_flashback_any_table_as_of_reads_of_other_schemas_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backend = store(dir.path(), &["CREATE SESSION", "SELECT ANY TABLE"]);
    let mut source = backend.source().unwrap();
    let scn = source.current_scn().unwrap();
    let err = source.scan(&scan("HR", Some(scn)), &mut go).unwrap_err();
    assert_eq!(err.ora_code(), Some(1031), "{err}");
    // The user's own table needs no system privilege; a plain read of HR works.
    assert_eq!(
        source.scan(&scan("SIM_USER", Some(scn)), &mut go).unwrap(),
        1
    );
    assert_eq!(source.scan(&scan("HR", None), &mut go).unwrap(), 1);
}

#[test]
fn without_create_table_the_user_cannot_create_its_own_tables() {
    let dir = tempfile::tempdir().unwrap();
    let backend = store(dir.path(), &["CREATE SESSION"]);
    let err = backend
        .sink()
        .unwrap()
        .create_table(&table("SIM_USER", "NEW"))
        .unwrap_err();
    assert_eq!(err.ora_code(), Some(1031), "{err}");
}
