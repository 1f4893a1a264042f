//! Issue 11's target-side contract: what a real Oracle and the `oracle` driver refuse,
//! the simulated backend refuses too, with the same ORA code; what they accept round
//! trips. Run as `sim::<name>` always and `oracle::<name>` with `--ignored`.

#[macro_use]
#[allow(dead_code)] // shared with contract.rs, which uses all of it
mod harness;

use chrono::{NaiveDate, TimeZone};

use db_boundary::{AlterTable, ColumnDef, DbError, TableDef, TableName, Value};

use harness::tables::{self, col, read_all as read};
use harness::Db;

contract_tests!(
    a_null_first_row_does_not_type_any_bind,
    text_of_1_to_4_kb_fits_varchar2_and_beyond_4000_bytes_is_refused,
    lob_binds_follow_other_binds,
    local_time_zone_long_and_long_raw_round_trip,
    a_primary_key_wider_than_an_index_key_is_refused,
    a_table_holds_at_most_a_thousand_columns,
);

fn create(db: &Db, name: &str, columns: Vec<ColumnDef>) -> (TableName, Vec<ColumnDef>) {
    (tables::create(db, name, &columns), columns)
}

/// Issue 11 item 1: the driver fixes a batch's bind types at its first row; a NULL
/// first row bound as text made every later DATE, TIMESTAMP, RAW, BLOB or interval
/// fail. Binds are now typed from the columns, so any order of NULLs works.
fn a_null_first_row_does_not_type_any_bind(db: &Db) {
    let (table, columns) = create(
        db,
        "NULL_FIRST",
        vec![
            col("ID", "NUMBER(10)"),
            col("D", "DATE"),
            col("TS", "TIMESTAMP(6)"),
            col("TZ", "TIMESTAMP(6) WITH TIME ZONE"),
            col("R", "RAW(8)"),
            col("B", "BLOB"),
            col("C", "CLOB"),
            col("YM", "INTERVAL YEAR(2) TO MONTH"),
            col("DS", "INTERVAL DAY(2) TO SECOND(6)"),
            col("BD", "BINARY_DOUBLE"),
            col("V", "VARCHAR2(10 CHAR)"),
        ],
    );
    let at = NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|d| d.and_hms_opt(12, 30, 0))
        .expect("a time");
    let full = vec![
        Value::number("2"),
        Value::Date(at),
        Value::Timestamp(at),
        Value::TimestampTz(at.and_utc().fixed_offset()),
        Value::Bytes(vec![1, 2, 3]),
        Value::Bytes(vec![4; 5000]),
        Value::Text("c".repeat(5000)),
        Value::IntervalYm {
            years: 1,
            months: 2,
        },
        Value::IntervalDs {
            days: 1,
            hours: 2,
            minutes: 3,
            seconds: 4,
            nanoseconds: 500_000_000,
        },
        Value::BinaryDouble(0.5),
        Value::Text("v".into()),
    ];
    let mut sink = db.backend.sink().expect("a sink session");
    let rows = [
        nulls_row(&columns, "1"),
        full.clone(),
        nulls_row(&columns, "3"),
    ];
    sink.insert_rows(&table, &columns, &rows)
        .expect("NULLs before and after values of every type");
    sink.commit().unwrap();
    let rows = read(db, &table, &columns);
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1], full);
    assert_eq!(rows[0], nulls_row(&columns, "1"));
}

fn nulls_row(columns: &[ColumnDef], id: &str) -> Vec<Value> {
    let mut row = vec![Value::number(id)];
    row.extend(std::iter::repeat_n(Value::Null, columns.len() - 1));
    row
}

/// Issue 11 items 1 and 9: text binds are VARCHAR2 of the column's size (NVARCHAR2
/// binds doubled every character and failed near 2 KB); 1-4 KB of text fits
/// VARCHAR2(4000), and more than 4,000 bytes is refused even when the column counts
/// characters (ORA-01461 for the bind, or ORA-12899 for the column).
fn text_of_1_to_4_kb_fits_varchar2_and_beyond_4000_bytes_is_refused(db: &Db) {
    let (table, columns) = create(
        db,
        "TEXT_4K",
        vec![col("ID", "NUMBER(10)"), col("T", "VARCHAR2(4000 CHAR)")],
    );
    let rows: Vec<Vec<Value>> = [1000, 2100, 3000, 4000]
        .iter()
        .map(|&n| vec![Value::number(&n.to_string()), Value::Text("x".repeat(n))])
        .collect();
    let mut sink = db.backend.sink().expect("a sink session");
    sink.insert_rows(&table, &columns, &rows)
        .expect("1-4 KB of single-byte text");
    sink.commit().unwrap();
    assert_eq!(read(db, &table, &columns), rows);
    let euros = vec![Value::number("9"), Value::Text("€".repeat(1500))];
    match sink.insert_rows(&table, &columns, &[euros]) {
        Err(DbError::RowRejected { row: 0, code, .. }) => {
            assert!(matches!(code, Some(1461 | 12899)), "{code:?}")
        }
        other => panic!("4,500 bytes into VARCHAR2(4000 CHAR): {other:?}"),
    }
    sink.rollback().unwrap();
}

/// Issue 11 item 1: a LOB bind before a plain one is ORA-24816; the bind plan puts
/// LOB binds last whatever order the caller gives.
fn lob_binds_follow_other_binds(db: &Db) {
    let (table, _) = create(
        db,
        "LOB_ORDER",
        vec![
            col("ID", "NUMBER(10)"),
            col("DOC", "CLOB"),
            col("NAME", "VARCHAR2(20 CHAR)"),
            col("PIC", "BLOB"),
            col("AT", "DATE"),
        ],
    );
    let order = [
        col("DOC", "CLOB"),
        col("ID", "NUMBER(10)"),
        col("PIC", "BLOB"),
        col("NAME", "VARCHAR2(20 CHAR)"),
    ];
    let row = vec![
        Value::Text("d".repeat(40_000)),
        Value::number("1"),
        Value::Bytes(vec![7; 40_000]),
        Value::Text("n".into()),
    ];
    let mut sink = db.backend.sink().expect("a sink session");
    sink.insert_rows(&table, &order, std::slice::from_ref(&row))
        .expect("LOB binds given first");
    sink.commit().unwrap();
    let read = read(db, &table, &order[1..2]);
    assert_eq!(read, vec![vec![Value::number("1")]]);
}

/// TIMESTAMP WITH LOCAL TIME ZONE keeps the instant (read back in the session's zone,
/// UTC); LONG and LONG RAW (one LONG column a table, so two tables) keep their text and
/// bytes beyond 4,000 of them.
fn local_time_zone_long_and_long_raw_round_trip(db: &Db) {
    let at = NaiveDate::from_ymd_opt(2024, 2, 29)
        .and_then(|d| d.and_hms_micro_opt(23, 30, 0, 123_456))
        .expect("a time");
    let paris = chrono::FixedOffset::east_opt(3600).expect("an offset");
    let (ltz_table, ltz_columns) = create(
        db,
        "LTZ_LONG",
        vec![
            col("ID", "NUMBER(10)"),
            col("LTZ", "TIMESTAMP(6) WITH LOCAL TIME ZONE"),
            col("L", "LONG"),
        ],
    );
    let (raw_table, raw_columns) = create(
        db,
        "LONG_RAW",
        vec![col("ID", "NUMBER(10)"), col("LR", "LONG RAW")],
    );
    let long_text = "ß".repeat(3000);
    let long_bytes: Vec<u8> = (0..6000u32).map(|i| (i % 251) as u8).collect();
    let mut sink = db.backend.sink().expect("a sink session");
    sink.insert_rows(
        &ltz_table,
        &ltz_columns,
        &[vec![
            Value::number("1"),
            Value::TimestampTz(paris.from_local_datetime(&at).single().expect("one time")),
            Value::Text(long_text.clone()),
        ]],
    )
    .expect("TSLTZ and LONG");
    sink.insert_rows(
        &raw_table,
        &raw_columns,
        &[vec![Value::number("1"), Value::Bytes(long_bytes.clone())]],
    )
    .expect("LONG RAW");
    sink.commit().unwrap();
    let rows = read(db, &ltz_table, &ltz_columns);
    match &rows[0][1] {
        Value::TimestampTz(t) => assert_eq!(
            t.naive_utc(),
            at - chrono::Duration::hours(1),
            "the same instant"
        ),
        other => panic!("TSLTZ read as {other:?}"),
    }
    assert_eq!(rows[0][2], Value::Text(long_text));
    let rows = read(db, &raw_table, &raw_columns);
    assert_eq!(rows[0][1], Value::Bytes(long_bytes));
}

/// An index key holds at most 6398 bytes in an 8 KB block (the sum of the key columns'
/// widths plus one byte each): a primary key over two VARCHAR2(4000 BYTE) columns is
/// ORA-01450 in either MAX_STRING_SIZE, two of 3000 bytes fit, and widening one of
/// those past the limit is ORA-01404. The target sizes key strings by this rule.
fn a_primary_key_wider_than_an_index_key_is_refused(db: &Db) {
    let keyed = |name: &str, bytes: u32| TableDef {
        name: db.table(&db.name(name)),
        columns: vec![
            col("A", &format!("VARCHAR2({bytes} BYTE)")),
            col("B", &format!("VARCHAR2({bytes} BYTE)")),
        ]
        .into_iter()
        .map(|c| ColumnDef {
            nullable: false,
            ..c
        })
        .collect(),
        primary_key: vec!["A".into(), "B".into()],
    };
    let mut sink = db.backend.sink().expect("a sink session");
    let wide = sink.create_table(&keyed("KEY_WIDE", 4000)).unwrap_err();
    assert_eq!(wide.ora_code(), Some(1450), "{wide}");
    let fits = keyed("KEY_FITS", 3000);
    sink.create_table(&fits).expect("two 3000-byte keys fit");
    let widen = AlterTable::ModifyColumn(ColumnDef {
        nullable: false,
        ..col("A", "VARCHAR2(4000 BYTE)")
    });
    let error = sink.alter_table(&fits.name, &widen).unwrap_err();
    assert_eq!(error.ora_code(), Some(1404), "{error}");
}

/// A table holds at most 1000 columns (ORA-01792, MAX_COLUMNS = STANDARD, the default):
/// the target refuses a wider SCHEMA at its line on this rule.
fn a_table_holds_at_most_a_thousand_columns(db: &Db) {
    let table = |name: &str, count: usize| TableDef {
        name: db.table(&db.name(name)),
        columns: (0..count)
            .map(|i| col(&format!("C{i}"), "NUMBER"))
            .collect(),
        primary_key: vec![],
    };
    let mut sink = db.backend.sink().expect("a sink session");
    let error = sink.create_table(&table("COLS_1001", 1001)).unwrap_err();
    assert_eq!(error.ora_code(), Some(1792), "{error}");
    let full = table("COLS_1000", 1000);
    sink.create_table(&full).expect("1000 columns");
    let error = sink
        .alter_table(&full.name, &AlterTable::AddColumn(col("C1000", "NUMBER")))
        .unwrap_err();
    assert_eq!(error.ora_code(), Some(1792), "{error}");
}
