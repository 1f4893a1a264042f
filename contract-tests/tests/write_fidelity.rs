//! Issue 11's write-side contract, items 3, 4, 8, 9 and 14: upserts after schema
//! evolution and across runs, CHECKs read back by describe, COMPATIBLE, text longer than
//! its column, deletes by key. Run as `sim::<name>` always and `oracle::<name>` with
//! `--ignored`.

#[macro_use]
#[allow(dead_code)] // shared with contract.rs, which uses all of it
mod harness;

use db_boundary::{AlterTable, ColumnCheck, ColumnDef, DbError, TableDef, TableName, Value};

use harness::tables::{col, create, read_all};
use harness::Db;

contract_tests!(
    upsert_after_columns_are_added_and_widened_and_on_a_second_run,
    a_check_violated_by_an_upsert_names_its_row,
    an_upsert_with_a_text_key_and_large_lobs_updates_and_inserts,
    a_json_column_before_a_clob_column_sends_the_long_data_first,
    describe_reads_back_the_checks_of_a_19c_style_table,
    compatible_is_read_and_decides_names_and_the_json_type,
    text_longer_than_its_column_is_refused_per_row_naming_it,
    delete_by_key_removes_only_the_rows_of_those_keys,
);

/// The rows of `columns` (names), read as the tap reads them: typed by the columns'
/// definitions as the table describes them.
/// `columns` of every row by key order, typed as the database describes them.
fn read(db: &Db, table: &TableName, columns: &[&str]) -> Vec<Vec<Value>> {
    let def = db
        .backend
        .sink()
        .and_then(|mut sink| sink.describe_table(table))
        .expect("describe")
        .expect("the table");
    let typed: Vec<ColumnDef> = columns
        .iter()
        .map(|name| {
            def.columns
                .iter()
                .find(|c| c.name == *name)
                .cloned()
                .expect("a column")
        })
        .collect();
    read_all(db, table, &typed)
}

fn text(t: &str) -> Value {
    Value::Text(t.to_owned())
}

/// Issue 11 item 3: the staging table made once by CTAS kept the old shape, so the
/// first upsert after a column was added failed (ORA-00904) and after one was widened
/// (ORA-12899), in this session and in every later run. Upserts now bind straight
/// into the target.
fn upsert_after_columns_are_added_and_widened_and_on_a_second_run(db: &Db) {
    let first = [col("ID", "NUMBER(10)"), col("A", "VARCHAR2(3 CHAR)")];
    let table = create(db, "EVOLVE", &first);
    let key = ["ID".to_owned()];
    let mut sink = db.backend.sink().expect("a sink session");
    sink.merge_rows(
        &table,
        &first,
        &key,
        &[vec![Value::number("1"), text("abc")]],
    )
    .expect("first upsert");
    sink.commit().unwrap();
    let b = col("B", "CLOB");
    let wide = col("A", "VARCHAR2(20 CHAR)");
    sink.alter_table(&table, &AlterTable::AddColumn(b.clone()))
        .unwrap();
    sink.alter_table(&table, &AlterTable::ModifyColumn(wide.clone()))
        .unwrap();
    let evolved = [col("ID", "NUMBER(10)"), wide, b];
    let rows = [
        vec![
            Value::number("1"),
            text("longer than three"),
            text(&"b".repeat(9000)),
        ],
        vec![Value::number("2"), text("new"), Value::Null],
    ];
    sink.merge_rows(&table, &evolved, &key, &rows)
        .expect("upsert after ADD and MODIFY, same session");
    sink.commit().unwrap();
    drop(sink);
    // A second run: a new session, the table as the first run left it.
    let mut sink = db.backend.sink().expect("a second run's session");
    let described = sink.describe_table(&table).unwrap().expect("the table");
    assert_eq!(described.columns.len(), 3);
    sink.merge_rows(
        &table,
        &described.columns,
        &key,
        &[
            vec![Value::number("2"), text("updated"), text("second run")],
            vec![Value::number("3"), text("third"), Value::Null],
        ],
    )
    .expect("upsert on a second run");
    sink.commit().unwrap();
    assert_eq!(
        read(db, &table, &["ID", "A", "B"]),
        vec![
            rows[0].clone(),
            vec![Value::number("2"), text("updated"), text("second run")],
            vec![Value::number("3"), text("third"), Value::Null],
        ]
    );
}

/// Issue 11 items 1 and 3: the UPDATE of an upsert binds a `VARCHAR2(4000 CHAR)` key
/// (up to 16,000 bytes, so a "long" bind) before its LOB binds (ORA-24816 the other way
/// round), and LOB values beyond 4,000 bytes travel as data in both the UPDATE and the
/// INSERT.
fn an_upsert_with_a_text_key_and_large_lobs_updates_and_inserts(db: &Db) {
    let columns = [
        col("CODE", "VARCHAR2(4000 CHAR)"),
        col("DOC", "CLOB"),
        col("PIC", "BLOB"),
        col("N", "NUMBER"),
    ];
    let table = create(db, "TEXT_KEY_LOBS", &columns);
    let key = ["CODE".to_owned()];
    let row = |code: &str, fill: u8| {
        vec![
            text(code),
            text(&char::from(fill).to_string().repeat(20_000)),
            Value::Bytes(vec![fill; 20_000]),
            Value::number(&fill.to_string()),
        ]
    };
    let mut sink = db.backend.sink().expect("a sink session");
    sink.merge_rows(&table, &columns, &key, &[row("a", b'x')])
        .expect("insert through the upsert");
    sink.commit().unwrap();
    let rows = [row("a", b'y'), row("b", b'z')];
    sink.merge_rows(&table, &columns, &key, &rows)
        .expect("update one, insert one");
    sink.commit().unwrap();
    assert_eq!(read(db, &table, &["CODE", "DOC", "PIC", "N"]), rows);
}

/// A native JSON column (bound as a temporary CLOB) declared before a CLOB column
/// (bound as LONG data): the LONG bind goes before the temporary LOB's, or Oracle
/// refuses every execution (ORA-24816), whatever the values' sizes.
fn a_json_column_before_a_clob_column_sends_the_long_data_first(db: &Db) {
    let columns = [
        col("ID", "NUMBER(10)"),
        col("META", "JSON"),
        col("BODY", "CLOB"),
    ];
    let table = create(db, "JSON_THEN_CLOB", &columns);
    let key = ["ID".to_owned()];
    let row = |id: &str, fill: char| {
        vec![
            Value::number(id),
            Value::Json(format!("{{\"a\":\"{}\"}}", fill.to_string().repeat(9000))),
            text(&fill.to_string().repeat(20_000)),
        ]
    };
    let mut sink = db.backend.sink().expect("a sink session");
    sink.insert_rows(&table, &columns, &[row("1", 'x'), row("2", 'y')])
        .expect("insert");
    sink.commit().unwrap();
    let rows = [row("2", 'z'), row("3", 'w')];
    sink.merge_rows(&table, &columns, &key, &rows)
        .expect("update one, insert one");
    sink.commit().unwrap();
    assert_eq!(
        read(db, &table, &["ID", "META", "BODY"]),
        [row("1", 'x'), row("2", 'z'), row("3", 'w')]
    );
}

/// Issue 11 item 3: CTAS copies no CHECK, so a violation surfaced only at the MERGE,
/// without a row. Bound straight into the target, the violation names its row.
fn a_check_violated_by_an_upsert_names_its_row(db: &Db) {
    let flag = ColumnDef {
        check: Some(ColumnCheck::ZeroOrOne),
        ..col("FLAG", "NUMBER(1)")
    };
    let columns = [col("ID", "NUMBER(10)"), flag];
    let table = create(db, "CHECKED", &columns);
    let mut sink = db.backend.sink().expect("a sink session");
    let rows = [
        vec![Value::number("1"), Value::number("1")],
        vec![Value::number("2"), Value::number("7")],
    ];
    match sink.merge_rows(&table, &columns, &["ID".to_owned()], &rows) {
        Err(DbError::RowRejected { row, code, .. }) => assert_eq!((row, code), (1, Some(2290))),
        other => panic!("a CHECK violation in row 1: {other:?}"),
    }
    sink.rollback().unwrap();
}

/// Issue 11 item 4: a table made before 23ai holds booleans as NUMBER(1) with a CHECK
/// and JSON as CLOB with IS JSON; describe must report both checks, or the next run
/// takes the column for a plain number and refuses every JSON boolean.
fn describe_reads_back_the_checks_of_a_19c_style_table(db: &Db) {
    let columns = [
        col("ID", "NUMBER(10)"),
        ColumnDef {
            check: Some(ColumnCheck::ZeroOrOne),
            ..col("FLAG", "NUMBER(1)")
        },
        ColumnDef {
            check: Some(ColumnCheck::IsJson),
            ..col("doc", "CLOB")
        },
        col("N", "NUMBER(1)"),
    ];
    let table = create(db, "OLD_BOOLS", &columns);
    let mut sink = db.backend.sink().expect("a second run's session");
    let described = sink.describe_table(&table).unwrap().expect("the table");
    let checks: Vec<(&str, Option<ColumnCheck>)> = described
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.check))
        .collect();
    assert_eq!(
        checks,
        [
            ("ID", None),
            ("FLAG", Some(ColumnCheck::ZeroOrOne)),
            ("doc", Some(ColumnCheck::IsJson)),
            ("N", None),
        ]
    );
    // A boolean goes into the NUMBER(1) column as 1/0.
    sink.insert_rows(
        &table,
        &described.columns,
        &[vec![
            Value::number("1"),
            Value::Boolean(true),
            text("{\"a\": true}"),
            Value::Null,
        ]],
    )
    .expect("a boolean into NUMBER(1) CHECK (0, 1)");
    sink.commit().unwrap();
    assert_eq!(
        read(db, &table, &["ID", "FLAG"]),
        vec![vec![Value::number("1"), Value::number("1")]]
    );
}

/// Issue 11 item 8: COMPATIBLE is read, and the identifier limit and the JSON type
/// follow it as the database enforces them.
fn compatible_is_read_and_decides_names_and_the_json_type(db: &Db) {
    let mut sink = db.backend.sink().expect("a sink session");
    let info = sink.server_info().unwrap();
    let compatible = info
        .compatible
        .expect("COMPATIBLE is readable (DBMS_UTILITY is PUBLIC)");
    assert!(
        compatible <= (info.major_version, 99),
        "{compatible:?} vs {info:?}"
    );
    assert_eq!(
        info.max_identifier_bytes,
        db_boundary::identifier_limit((info.major_version, info.minor_version), compatible)
    );
    let json = [col("ID", "NUMBER(10)"), col("DOC", "JSON")];
    let table = db.table(&db.name("JSON_BY_COMPATIBLE"));
    let created = sink.create_table(&TableDef {
        name: table,
        columns: json.to_vec(),
        primary_key: vec!["ID".into()],
    });
    match (info.supports_json_type(), created) {
        (true, Ok(())) => {}
        (false, Err(e)) => assert!(matches!(e.ora_code(), Some(406 | 902)), "{e}"),
        (supported, other) => panic!("JSON type supported: {supported}, create: {other:?}"),
    }
}

/// Issue 11 item 9: text longer than its column is refused for its own row, naming the
/// column (ORA-12899), whatever the driver would have grown the bind to.
fn text_longer_than_its_column_is_refused_per_row_naming_it(db: &Db) {
    let columns = [col("ID", "NUMBER(10)"), col("T", "VARCHAR2(4000 BYTE)")];
    let table = create(db, "TOO_LONG", &columns);
    let mut sink = db.backend.sink().expect("a sink session");
    let rows = [
        vec![Value::number("1"), text(&"x".repeat(4000))],
        vec![Value::number("2"), text(&"é".repeat(2001))],
    ];
    match sink.insert_rows(&table, &columns, &rows) {
        Err(DbError::RowRejected {
            row, code, column, ..
        }) => assert_eq!((row, code, column.as_deref()), (1, Some(12899), Some("T"))),
        other => panic!("4,002 bytes into VARCHAR2(4000 BYTE), row 1: {other:?}"),
    }
    sink.rollback().unwrap();
}

/// Issue 11 item 14: hard deletes go by key (array DML on the key index), touching
/// only the rows of the keys given, and say how many rows went.
fn delete_by_key_removes_only_the_rows_of_those_keys(db: &Db) {
    let columns = [
        col("K1", "NUMBER(10)"),
        col("K2", "VARCHAR2(10 CHAR)"),
        col("V", "CLOB"),
    ];
    let table = db.table(&db.name("DELETE_BY_KEY"));
    let mut sink = db.backend.sink().expect("a sink session");
    sink.create_table(&TableDef {
        name: table.clone(),
        columns: columns.to_vec(),
        primary_key: vec!["K1".into(), "K2".into()],
    })
    .unwrap();
    let row = |k1: &str, k2: &str| vec![Value::number(k1), text(k2), text("v")];
    sink.insert_rows(
        &table,
        &columns,
        &[row("1", "a"), row("1", "b"), row("2", "a")],
    )
    .unwrap();
    sink.commit().unwrap();
    let deleted = sink
        .delete_keys(
            &table,
            &columns[..2],
            &[
                vec![Value::number("1"), text("b")],
                vec![Value::number("9"), text("z")],
            ],
        )
        .expect("delete by key");
    assert_eq!(deleted, 1);
    sink.commit().unwrap();
    assert_eq!(
        read(db, &table, &["K1", "K2"]),
        vec![
            vec![Value::number("1"), text("a")],
            vec![Value::number("2"), text("a")],
        ]
    );
}
