//! The contract of the database boundary, written once against `dyn Backend` and run
//! against every backend (see `harness`): values round-trip exactly, scans order and
//! resume as the tap expects, writes, merges, deletes and transactions behave as the
//! target expects, identifiers keep their exact case, and failures carry Oracle's ORA
//! codes.
//!
//! Each test exists twice: `sim::<name>` (always) and `oracle::<name>` (`--ignored`).

#[macro_use]
mod harness;
mod log_mining;

use std::convert::Infallible;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use db_boundary::{
    scan_into, AlterTable, ColumnCheck, ColumnDef, DbError, DictionaryScope, FetchTuning, KeyRange,
    RowFilter, RowId, Scan, ScanColumn, ScanRange, ScannedRow, TableDef, TableName, TablePattern,
    TableRef, Value,
};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use harness::Db;

contract_tests!(
    every_value_type_round_trips_exactly,
    empty_strings_are_null,
    scans_order_numbers_text_and_times_with_nulls_first,
    after_bookmark_on_a_composite_key_is_lexicographic,
    at_least_bookmark_keeps_boundary_duplicates_and_skips_nulls,
    rowid_scan_resumes_after_a_rowid,
    a_bad_row_in_a_batch_is_named_by_position,
    a_wide_batch_goes_in_several_arrays_and_a_late_bad_row_keeps_its_position,
    merge_inserts_new_keys_and_updates_existing_ones,
    delete_and_update_by_filter,
    other_sessions_see_only_committed_rows,
    ddl_commits_pending_work,
    identifiers_keep_exact_case_and_reserved_words,
    dictionary_reports_created_tables_as_oracle_would,
    identifier_longer_than_128_bytes_is_ora_00972,
    string_lengths_in_bytes_and_characters_are_ora_12899,
    number_precision_and_scale_round_or_fail_with_ora_01438,
    constraint_and_catalog_failures_carry_their_ora_codes,
    alter_table_adds_widens_renames_copies_and_drops,
);

// ---------------------------------------------------------------------------------------
// Helpers

fn col(name: &str, data_type: OracleType) -> ColumnDef {
    ColumnDef {
        name: name.to_owned(),
        data_type,
        nullable: true,
        check: None,
    }
}

fn not_null(name: &str, data_type: OracleType) -> ColumnDef {
    ColumnDef {
        nullable: false,
        ..col(name, data_type)
    }
}

fn number(precision: Option<u8>, scale: Option<i16>) -> OracleType {
    OracleType::Number { precision, scale }
}

fn varchar2(length: u32, semantics: LengthSemantics) -> OracleType {
    OracleType::Varchar2 { length, semantics }
}

fn n(text: &str) -> Value {
    Value::number(text)
}

fn t(text: &str) -> Value {
    Value::Text(text.to_owned())
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| (*c).to_owned()).collect()
}

/// The definitions of `columns` as the table has them (a session of its own, so a
/// writer's open transaction is not disturbed).
fn defs(db: &Db, table: &TableName, columns: &[&str]) -> Vec<ColumnDef> {
    let mut sink = db.backend.sink().expect("a sink session");
    db_boundary::column_defs(sink.as_mut(), table, &names(columns)).expect("column definitions")
}

/// `columns` as a read requests them: names with the table's own types.
fn scan_columns(db: &Db, table: &TableName, columns: &[&str]) -> Vec<ScanColumn> {
    defs(db, table, columns)
        .into_iter()
        .map(|c| ScanColumn::new(c.name, c.data_type))
        .collect()
}

fn wall(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32, nanos: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(y, m, d)
        .and_then(|date| date.and_hms_nano_opt(h, mi, s, nanos))
        .expect("a valid date")
}

fn zoned(offset_seconds: i32, time: NaiveDateTime) -> DateTime<FixedOffset> {
    FixedOffset::east_opt(offset_seconds)
        .expect("a valid offset")
        .from_local_datetime(&time)
        .single()
        .expect("an unambiguous time")
}

/// Creates a table (DDL commits) and returns its name.
fn create(db: &Db, name: &str, columns: Vec<ColumnDef>, key: &[&str]) -> TableName {
    let table = db.table(&db.name(name));
    let mut sink = db.backend.sink().expect("a sink session");
    sink.create_table(&TableDef {
        name: table.clone(),
        columns,
        primary_key: names(key),
    })
    .expect("create table");
    table
}

/// Inserts rows in one batch and commits.
fn insert(db: &Db, table: &TableName, columns: &[&str], rows: Vec<Vec<Value>>) {
    let mut sink = db.backend.sink().expect("a sink session");
    sink.insert_rows(table, &defs(db, table, columns), &rows)
        .expect("insert rows");
    sink.commit().expect("commit");
}

/// Scans through a fresh source session and collects each row with its ROWID (when
/// the read is by ROWID).
fn scan_rows(
    db: &Db,
    table: &TableName,
    columns: &[&str],
    range: ScanRange,
) -> Vec<(Vec<Value>, Option<String>)> {
    let mut source = db.backend.source().expect("a source session");
    let request = Scan {
        table: TableRef {
            owner: table.schema.clone().expect("tables carry their schema"),
            table: table.name.clone(),
        },
        columns: scan_columns(db, table, columns),
        range,
        as_of_scn: None,
        tuning: FetchTuning {
            fetch_array_size: 100,
            prefetch_rows: 100,
        },
    };
    let mut rows = Vec::new();
    let count = scan_into(source.as_mut(), &request, &mut |row: ScannedRow<'_>| {
        rows.push((row.values.to_vec(), row.rowid.map(str::to_owned)));
        Ok::<(), Infallible>(())
    })
    .expect("scan");
    assert_eq!(
        count,
        rows.len() as u64,
        "scan reports the rows it delivered"
    );
    rows
}

/// Scans and collects the rows' values.
fn scan(db: &Db, table: &TableName, columns: &[&str], range: ScanRange) -> Vec<Vec<Value>> {
    scan_rows(db, table, columns, range)
        .into_iter()
        .map(|(values, _)| values)
        .collect()
}

/// Ascending by a key.
fn by(columns: &[&str]) -> ScanRange {
    ScanRange::Keyset(KeyRange::new(names(columns)).expect("a key"))
}

/// Ascending by one column, NULLs first, from the start.
fn by_value(column: &str) -> ScanRange {
    ScanRange::FromValue {
        column: column.to_owned(),
        at_least: None,
    }
}

/// The ORA code of an expected failure.
fn code_of<T: std::fmt::Debug>(result: Result<T, DbError>) -> i32 {
    let error = result.expect_err("the operation must fail");
    error
        .ora_code()
        .unwrap_or_else(|| panic!("expected an ORA code, got {error:?}"))
}

/// Values compared exactly: `DateTime` equality ignores the offset and NaN never
/// equals itself, so compare the debug text, which shows both.
fn exact(rows: &[Vec<Value>]) -> String {
    format!("{rows:#?}")
}

// ---------------------------------------------------------------------------------------
// Values

fn every_value_type_round_trips_exactly(db: &Db) {
    use OracleType as T;
    let columns = vec![
        not_null("ID", number(Some(10), Some(0))),
        col("N_38_DIGITS", number(None, None)),
        col("N_FRACTION", number(None, None)),
        col("N_SCALED", number(Some(12), Some(2))),
        col(
            "F_FLOAT",
            T::Float {
                binary_precision: Some(126),
            },
        ),
        col("BF", T::BinaryFloat),
        col("BD", T::BinaryDouble),
        col(
            "C_CHAR",
            T::Char {
                length: 5,
                semantics: LengthSemantics::Byte,
            },
        ),
        col("VC_CHAR", varchar2(20, LengthSemantics::Char)),
        col("NC", T::NChar { length: 3 }),
        col("NVC", T::NVarchar2 { length: 10 }),
        col("CL", T::Clob),
        col("NCL", T::NClob),
        col("R", T::Raw { length: 16 }),
        col("BL", T::Blob),
        col("D", T::Date),
        col(
            "TS",
            T::Timestamp {
                fractional_precision: 9,
            },
        ),
        col(
            "TSTZ",
            T::TimestampTz {
                fractional_precision: 9,
            },
        ),
        col("IYM", T::IntervalYearToMonth { year_precision: 4 }),
        col(
            "IDS",
            T::IntervalDayToSecond {
                day_precision: 5,
                fractional_precision: 9,
            },
        ),
        col("J", T::Json),
        col("B", T::Boolean),
        col("V", T::Vector),
    ];
    let column_names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    let table = create(db, "TYPES", columns, &["ID"]);
    let blob: Vec<u8> = (0..=255u8).cycle().take(256 * 40).collect();
    let full = vec![
        n("1"),
        n("12345678901234567890123456789012345678"),
        n("-1234567890.1234567890123456789012345678"),
        n("1234567890.12"),
        n("3.5"),
        Value::BinaryFloat(1.5),
        Value::BinaryDouble(2.2250738585072014e-308),
        t("ab   "),
        t("Zoë 李 ☃ O'Brien"),
        t("é  "),
        t("Ахмедов"),
        Value::Text(format!("{}ü", "x".repeat(10_000))),
        Value::Text("李".repeat(5_000)),
        Value::Bytes(vec![0, 1, 2, 255]),
        Value::Bytes(blob),
        Value::Date(wall(2024, 2, 29, 13, 14, 15, 0)),
        Value::Timestamp(wall(2024, 2, 29, 13, 14, 15, 123_456_789)),
        Value::TimestampTz(zoned(
            5 * 3600 + 1800,
            wall(2024, 2, 29, 13, 14, 15, 987_654_321),
        )),
        Value::IntervalYm {
            years: 12,
            months: 7,
        },
        Value::IntervalDs {
            days: 3,
            hours: 4,
            minutes: 5,
            seconds: 6,
            nanoseconds: 789_000_001,
        },
        Value::Json(r#"{"a":1,"b":[true,null,"x"]}"#.to_owned()),
        Value::Boolean(true),
        Value::Vector(vec![1.5, -2.0, 0.25]),
    ];
    let mut negative = vec![Value::Null; full.len()];
    negative[0] = n("2");
    negative[1] = n("-0.001");
    negative[2] = n("0");
    negative[3] = n("-0.01");
    negative[6] = Value::BinaryDouble(f64::NAN);
    negative[5] = Value::BinaryFloat(f32::NEG_INFINITY);
    negative[17] = Value::TimestampTz(zoned(-8 * 3600, wall(1999, 12, 31, 23, 59, 59, 1)));
    negative[18] = Value::IntervalYm {
        years: -3,
        months: -11,
    };
    negative[19] = Value::IntervalDs {
        days: -1,
        hours: -2,
        minutes: -3,
        seconds: -4,
        nanoseconds: -5,
    };
    negative[21] = Value::Boolean(false);
    let mut infinite = vec![Value::Null; full.len()];
    infinite[0] = n("3");
    infinite[6] = Value::BinaryDouble(f64::INFINITY);
    let mut minus_infinite = vec![Value::Null; full.len()];
    minus_infinite[0] = n("4");
    minus_infinite[6] = Value::BinaryDouble(f64::NEG_INFINITY);
    let rows = vec![full, negative, infinite, minus_infinite];
    let column_refs: Vec<&str> = column_names.iter().map(String::as_str).collect();
    insert(db, &table, &column_refs, rows.clone());
    let read = scan(db, &table, &column_refs, by(&["ID"]));
    assert_eq!(exact(&read), exact(&rows));
}

fn empty_strings_are_null(db: &Db) {
    let table = create(
        db,
        "EMPTY",
        vec![
            not_null("ID", number(None, None)),
            col("S", varchar2(10, LengthSemantics::Byte)),
            col("R", OracleType::Raw { length: 4 }),
            not_null("REQUIRED", varchar2(10, LengthSemantics::Byte)),
        ],
        &["ID"],
    );
    insert(
        db,
        &table,
        &["ID", "S", "R", "REQUIRED"],
        vec![vec![n("1"), t(""), Value::Bytes(vec![]), t("x")]],
    );
    let read = scan(db, &table, &["S", "R"], ScanRange::All);
    assert_eq!(read, vec![vec![Value::Null, Value::Null]]);
    let mut sink = db.backend.sink().unwrap();
    let code = code_of(sink.insert_rows(
        &table,
        &defs(db, &table, &["ID", "REQUIRED"]),
        &[vec![n("2"), t("")]],
    ));
    assert_eq!(
        code, 1400,
        "an empty string in a NOT NULL column is ORA-01400"
    );
}

// ---------------------------------------------------------------------------------------
// Scans

fn scans_order_numbers_text_and_times_with_nulls_first(db: &Db) {
    let table = create(
        db,
        "ORDERING",
        vec![
            not_null("ID", number(None, None)),
            col("N", number(None, None)),
            col("S", varchar2(10, LengthSemantics::Char)),
            col(
                "TZ",
                OracleType::TimestampTz {
                    fractional_precision: 6,
                },
            ),
        ],
        &["ID"],
    );
    let at = |offset_hours: i32, hour: u32| {
        Value::TimestampTz(zoned(offset_hours * 3600, wall(2024, 1, 1, hour, 0, 0, 0)))
    };
    insert(
        db,
        &table,
        &["ID", "N", "S", "TZ"],
        vec![
            vec![n("1"), n("10"), t("a"), at(0, 9)],
            vec![n("2"), n("-2.5"), t("B"), at(2, 10)],
            vec![n("3"), Value::Null, t("é"), Value::Null],
            vec![n("4"), n("2"), Value::Null, at(-5, 3)],
            vec![n("5"), n("-10"), t("aa"), at(1, 9)],
            vec![n("6"), n("100"), t("Z"), at(0, 7)],
            vec![n("7"), n("0.5"), t("_"), at(0, 12)],
        ],
    );
    let ids = |order: &str| -> Vec<Value> {
        scan(db, &table, &["ID"], by_value(order))
            .into_iter()
            .map(|row| row[0].clone())
            .collect()
    };
    // NULL first, then numerically (not as text: "10" < "2").
    assert_eq!(
        ids("N"),
        vec![n("3"), n("5"), n("2"), n("7"), n("4"), n("1"), n("6")]
    );
    // Binary (byte) order: upper case before "_" before lower case before "é".
    assert_eq!(
        ids("S"),
        vec![n("4"), n("2"), n("6"), n("7"), n("1"), n("5"), n("3")]
    );
    // By instant: 10:00+02 = 08:00Z, 09:00+01 = 08:00Z, 03:00-05 = 08:00Z ... ties by ID.
    assert_eq!(
        ids("TZ"),
        vec![n("3"), n("6"), n("2"), n("4"), n("5"), n("1"), n("7")]
    );
}

fn after_bookmark_on_a_composite_key_is_lexicographic(db: &Db) {
    let table = create(
        db,
        "KEYSET",
        vec![
            not_null("A", number(None, None)),
            not_null("B", varchar2(5, LengthSemantics::Byte)),
            col("V", number(None, None)),
        ],
        &["A", "B"],
    );
    let keys = [
        ("2", "c"),
        ("1", "b"),
        ("3", "a"),
        ("1", "a"),
        ("2", "a"),
        ("10", "a"),
    ];
    insert(
        db,
        &table,
        &["A", "B", "V"],
        keys.iter()
            .enumerate()
            .map(|(i, (a, b))| vec![n(a), t(b), n(&i.to_string())])
            .collect(),
    );
    let keys_after = |bound: Option<Vec<Value>>| -> Vec<(Value, Value)> {
        let range = KeyRange::new(names(&["A", "B"])).unwrap();
        let range = match bound {
            Some(values) => range.after(values).unwrap(),
            None => range,
        };
        scan(db, &table, &["A", "B"], ScanRange::Keyset(range))
            .into_iter()
            .map(|row| (row[0].clone(), row[1].clone()))
            .collect()
    };
    let all = keys_after(None);
    assert_eq!(
        all,
        vec![
            (n("1"), t("a")),
            (n("1"), t("b")),
            (n("2"), t("a")),
            (n("2"), t("c")),
            (n("3"), t("a")),
            (n("10"), t("a")),
        ]
    );
    // After an existing key: strictly after it.
    assert_eq!(keys_after(Some(vec![n("1"), t("b")])), all[2..].to_vec());
    // After a key between rows (2, "b"): the next is (2, "c").
    assert_eq!(keys_after(Some(vec![n("2"), t("b")])), all[3..].to_vec());
    // After the last key: nothing.
    assert!(keys_after(Some(vec![n("10"), t("a")])).is_empty());
}

fn at_least_bookmark_keeps_boundary_duplicates_and_skips_nulls(db: &Db) {
    let table = create(
        db,
        "INCREMENTAL",
        vec![
            not_null("ID", number(None, None)),
            col(
                "UPDATED_AT",
                OracleType::Timestamp {
                    fractional_precision: 6,
                },
            ),
        ],
        &["ID"],
    );
    let at = |minute: u32| Value::Timestamp(wall(2024, 5, 1, 12, minute, 0, 0));
    insert(
        db,
        &table,
        &["ID", "UPDATED_AT"],
        vec![
            vec![n("1"), at(5)],
            vec![n("2"), at(7)],
            vec![n("3"), Value::Null],
            vec![n("4"), at(7)],
            vec![n("5"), at(9)],
            vec![n("6"), at(7)],
        ],
    );
    let rows = scan(
        db,
        &table,
        &["ID", "UPDATED_AT"],
        ScanRange::FromValue {
            column: "UPDATED_AT".into(),
            at_least: Some(at(7)),
        },
    );
    let mut boundary: Vec<Value> = rows[..3].iter().map(|r| r[0].clone()).collect();
    boundary.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        boundary,
        vec![n("2"), n("4"), n("6")],
        "every row at the boundary"
    );
    assert_eq!(rows[3], vec![n("5"), at(9)]);
    assert_eq!(rows.len(), 4, "NULL never satisfies >=");
    // The whole table ordered by the column puts the NULL first.
    let all = scan(db, &table, &["ID"], by(&["UPDATED_AT", "ID"]));
    assert_eq!(all[0], vec![n("3")]);
}

fn rowid_scan_resumes_after_a_rowid(db: &Db) {
    let table = create(
        db,
        "NO_KEY",
        vec![col("V", varchar2(10, LengthSemantics::Byte))],
        &[],
    );
    insert(
        db,
        &table,
        &["V"],
        ["e", "d", "c", "b", "a"]
            .iter()
            .map(|v| vec![t(v)])
            .collect(),
    );
    let by_rowid = |after: Option<String>| ScanRange::RowId {
        after: after.map(RowId),
        limit: None,
    };
    let first = scan_rows(db, &table, &["V"], by_rowid(None));
    assert_eq!(first.len(), 5);
    for (values, rowid) in &first {
        assert_eq!(values.len(), 1, "the ROWID comes apart from the values");
        assert!(matches!(rowid, Some(r) if !r.is_empty()));
    }
    let second_rowid = first[1].1.clone();
    let resumed = scan_rows(db, &table, &["V"], by_rowid(second_rowid));
    assert_eq!(
        resumed,
        first[2..].to_vec(),
        "the rows after the bookmark, same order"
    );
    let mut values: Vec<String> = first
        .iter()
        .map(|(r, _)| match &r[0] {
            Value::Text(v) => v.clone(),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    values.sort();
    assert_eq!(values, ["a", "b", "c", "d", "e"]);
}

// ---------------------------------------------------------------------------------------
// Writes

fn a_bad_row_in_a_batch_is_named_by_position(db: &Db) {
    let table = create(
        db,
        "BATCH",
        vec![
            not_null("ID", number(Some(5), Some(0))),
            not_null("NAME", varchar2(5, LengthSemantics::Byte)),
        ],
        &["ID"],
    );
    let mut sink = db.backend.sink().unwrap();
    let batch = vec![
        vec![n("1"), t("one")],
        vec![n("2"), t("two")],
        vec![n("3"), t("three!")],
        vec![n("4"), t("four")],
    ];
    match sink.insert_rows(&table, &defs(db, &table, &["ID", "NAME"]), &batch) {
        Err(DbError::RowRejected {
            row,
            code,
            message,
            column,
        }) => {
            assert_eq!(row, 2);
            assert_eq!(code, Some(12899), "{message}");
            assert_eq!(column.as_deref(), Some("NAME"), "{message}");
        }
        other => panic!("expected the third row to be rejected, got {other:?}"),
    }
    sink.rollback().unwrap();
    assert!(scan(db, &table, &["ID"], ScanRange::All).is_empty());
    // A NULL in a NOT NULL column and a duplicate key, each named by position.
    match sink.insert_rows(
        &table,
        &defs(db, &table, &["ID", "NAME"]),
        &[vec![n("1"), t("a")], vec![n("2"), Value::Null]],
    ) {
        Err(DbError::RowRejected {
            row, code, column, ..
        }) => assert_eq!(
            (row, code, column.as_deref()),
            (1, Some(1400), Some("NAME"))
        ),
        other => panic!("expected ORA-01400 on row 1, got {other:?}"),
    }
    sink.rollback().unwrap();
    match sink.insert_rows(
        &table,
        &defs(db, &table, &["ID", "NAME"]),
        &[
            vec![n("7"), t("a")],
            vec![n("8"), t("b")],
            vec![n("7"), t("c")],
        ],
    ) {
        Err(DbError::RowRejected { row, code, .. }) => assert_eq!((row, code), (2, Some(1))),
        other => panic!("expected ORA-00001 on row 2, got {other:?}"),
    }
    sink.rollback().unwrap();
    sink.insert_rows(&table, &defs(db, &table, &["ID", "NAME"]), &batch[..2])
        .unwrap();
    sink.commit().unwrap();
    assert_eq!(
        scan(db, &table, &["ID", "NAME"], by(&["ID"])),
        batch[..2].to_vec()
    );
}

/// A batch of a table with twenty VARCHAR2(4000) columns: at 10,000 rows one array
/// would take 3.2 GB of driver buffers (DPI-1015), so it goes in arrays of about a
/// hundred rows (`db_boundary::arrays`). A duplicate key in the fifth array, of a key in
/// the first, comes back at its position in the batch; full-size values go through;
/// the merge's row counts line up across arrays.
fn a_wide_batch_goes_in_several_arrays_and_a_late_bad_row_keeps_its_position(db: &Db) {
    const WIDE: usize = 20;
    let mut columns = vec![not_null("ID", number(Some(10), Some(0)))];
    let mut names = vec!["ID".to_owned()];
    for i in 0..WIDE {
        let name = format!("C{i}");
        columns.push(col(&name, varchar2(4000, LengthSemantics::Byte)));
        names.push(name);
    }
    let table = create(db, "WIDE_BATCH", columns, &["ID"]);
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let defs = defs(db, &table, &names);
    let per_array = db_boundary::BindPlan::for_columns(&defs)
        .unwrap()
        .executions(10_000)
        .next()
        .unwrap()
        .len();
    assert!((50..500).contains(&per_array), "{per_array} rows an array");
    let rows = per_array * 5;
    let row = |id: usize| -> Vec<Value> {
        let mut row = vec![n(&id.to_string())];
        for c in 0..WIDE {
            // Every 97th row fills its columns: the buffers hold full-size values.
            row.push(if id.is_multiple_of(97) {
                t(&"x".repeat(4000))
            } else {
                t(&format!("{id}-{c}"))
            });
        }
        row
    };
    let mut batch: Vec<Vec<Value>> = (0..rows).map(row).collect();
    let late = per_array * 4 + 3;
    batch[late][0] = n("10");
    let mut sink = db.backend.sink().unwrap();
    match sink.insert_rows(&table, &defs, &batch) {
        Err(DbError::RowRejected { row, code, .. }) => assert_eq!((row, code), (late, Some(1))),
        other => panic!("expected ORA-00001 on row {late}, got {other:?}"),
    }
    sink.rollback().unwrap();
    batch[late] = row(late);
    sink.insert_rows(&table, &defs, &batch).unwrap();
    sink.commit().unwrap();
    let read = scan(db, &table, &names, by(&["ID"]));
    assert_eq!(read.len(), rows);
    assert_eq!(exact(&read), exact(&batch));
    // A merge of the same rows plus as many new ones: one count per row, in order.
    let more: Vec<Vec<Value>> = (0..rows * 2).map(row).collect();
    sink.merge_rows(&table, &defs, &["ID".to_owned()], &more)
        .unwrap();
    sink.commit().unwrap();
    assert_eq!(scan(db, &table, &["ID"], ScanRange::All).len(), rows * 2);
}

fn merge_inserts_new_keys_and_updates_existing_ones(db: &Db) {
    let table = create(
        db,
        "MERGED",
        vec![
            not_null("K1", number(None, None)),
            not_null("K2", varchar2(5, LengthSemantics::Byte)),
            col("V", varchar2(10, LengthSemantics::Byte)),
            col("W", number(None, None)),
        ],
        &["K1", "K2"],
    );
    let all = ["K1", "K2", "V", "W"];
    insert(
        db,
        &table,
        &all,
        vec![
            vec![n("1"), t("a"), t("one"), n("10")],
            vec![n("1"), t("b"), t("two"), n("20")],
        ],
    );
    let mut sink = db.backend.sink().unwrap();
    sink.merge_rows(
        &table,
        &defs(db, &table, &["K1", "K2", "V"]),
        &names(&["K1", "K2"]),
        &[
            vec![n("1"), t("b"), t("TWO")],
            vec![n("2"), t("a"), t("three")],
        ],
    )
    .unwrap();
    sink.commit().unwrap();
    assert_eq!(
        scan(db, &table, &all, by(&["K1", "K2"])),
        vec![
            vec![n("1"), t("a"), t("one"), n("10")],
            // Columns the merge does not name keep their values.
            vec![n("1"), t("b"), t("TWO"), n("20")],
            vec![n("2"), t("a"), t("three"), Value::Null],
        ]
    );
}

fn delete_and_update_by_filter(db: &Db) {
    let table = create(
        db,
        "VERSIONED",
        vec![
            not_null("ID", number(None, None)),
            col("VERSION", number(None, None)),
            col(
                "DELETED_AT",
                OracleType::TimestampTz {
                    fractional_precision: 6,
                },
            ),
        ],
        &["ID"],
    );
    let gone = Value::TimestampTz(zoned(0, wall(2024, 1, 1, 0, 0, 0, 0)));
    insert(
        db,
        &table,
        &["ID", "VERSION", "DELETED_AT"],
        vec![
            vec![n("1"), n("1"), Value::Null],
            vec![n("2"), n("1"), gone.clone()],
            vec![n("3"), n("2"), Value::Null],
            vec![n("4"), Value::Null, Value::Null],
            vec![n("5"), n("2"), gone.clone()],
        ],
    );
    let mut sink = db.backend.sink().unwrap();
    let marked = sink
        .update_rows(
            &table,
            "DELETED_AT",
            &gone,
            &RowFilter::LessThan {
                column: "VERSION".into(),
                value: n("2"),
            },
        )
        .unwrap();
    assert_eq!(marked, 2, "rows 1 and 2; NULL never compares");
    let deleted = sink
        .delete_rows(
            &table,
            &RowFilter::NotNull {
                column: "DELETED_AT".into(),
            },
        )
        .unwrap();
    assert_eq!(deleted, 3);
    sink.commit().unwrap();
    assert_eq!(
        scan(db, &table, &["ID"], by(&["ID"])),
        vec![vec![n("3")], vec![n("4")]]
    );
    assert_eq!(sink.delete_rows(&table, &RowFilter::All).unwrap(), 2);
    sink.commit().unwrap();
    assert!(scan(db, &table, &["ID"], ScanRange::All).is_empty());
    // Outside: NULL and everything not inside an (inclusive) range goes; 31-digit
    // values compare exactly.
    let big = |suffix: &str| n(&format!("1732000000000000{suffix}"));
    insert(
        db,
        &table,
        &["ID", "VERSION"],
        vec![
            vec![n("10"), big("000000000000005")],
            vec![n("11"), big("000000000000006")],
            vec![n("12"), big("000000000000007")],
            vec![n("13"), Value::Null],
            vec![n("14"), n("3")],
            vec![n("15"), n("9")],
        ],
    );
    let outside = RowFilter::Outside {
        column: "VERSION".into(),
        ranges: vec![
            (big("000000000000000"), big("000000000000006")),
            (n("3"), n("3")),
        ],
    };
    assert_eq!(sink.delete_rows(&table, &outside).unwrap(), 3);
    sink.commit().unwrap();
    assert_eq!(
        scan(db, &table, &["ID"], by(&["ID"])),
        vec![vec![n("10")], vec![n("11")], vec![n("14")]]
    );
    let everything = RowFilter::Outside {
        column: "VERSION".into(),
        ranges: vec![],
    };
    assert_eq!(sink.delete_rows(&table, &everything).unwrap(), 3);
    sink.commit().unwrap();
}

fn other_sessions_see_only_committed_rows(db: &Db) {
    let table = create(db, "TX", vec![not_null("ID", number(None, None))], &["ID"]);
    let ids = || scan(db, &table, &["ID"], by(&["ID"]));
    let mut writer = db.backend.sink().unwrap();
    writer
        .insert_rows(
            &table,
            &defs(db, &table, &["ID"]),
            &[vec![n("1")], vec![n("2")]],
        )
        .unwrap();
    assert!(
        ids().is_empty(),
        "uncommitted rows are invisible to another session"
    );
    writer.commit().unwrap();
    assert_eq!(ids(), vec![vec![n("1")], vec![n("2")]]);
    writer
        .insert_rows(&table, &defs(db, &table, &["ID"]), &[vec![n("3")]])
        .unwrap();
    writer.delete_rows(&table, &RowFilter::All).unwrap();
    assert_eq!(ids().len(), 2, "an uncommitted delete is invisible too");
    writer.rollback().unwrap();
    assert_eq!(
        ids(),
        vec![vec![n("1")], vec![n("2")]],
        "rollback undoes both"
    );
    // A session dropped without commit leaves nothing behind.
    {
        let mut abandoned = db.backend.sink().unwrap();
        abandoned
            .insert_rows(&table, &defs(db, &table, &["ID"]), &[vec![n("9")]])
            .unwrap();
    }
    assert_eq!(ids().len(), 2);
}

fn ddl_commits_pending_work(db: &Db) {
    let table = create(
        db,
        "DDL_TX",
        vec![not_null("ID", number(None, None))],
        &["ID"],
    );
    let mut sink = db.backend.sink().unwrap();
    sink.insert_rows(&table, &defs(db, &table, &["ID"]), &[vec![n("1")]])
        .unwrap();
    // As in Oracle, DDL commits the transaction it interrupts.
    sink.alter_table(
        &table,
        &AlterTable::AddColumn(col("EXTRA", number(None, None))),
    )
    .unwrap();
    sink.rollback().unwrap();
    assert_eq!(
        scan(db, &table, &["ID", "EXTRA"], by(&["ID"])),
        vec![vec![n("1"), Value::Null]]
    );
}

// ---------------------------------------------------------------------------------------
// Identifiers and the dictionary

const LONG_COLUMN: &str = "A_COLUMN_NAME_LONGER_THAN_THIRTY_BYTES_X";

fn identifiers_keep_exact_case_and_reserved_words(db: &Db) {
    let odd_columns = [
        "lower",
        "MixedCase",
        "SELECT",
        "order",
        "with space",
        "DOLLAR$",
        "HASH#",
        LONG_COLUMN,
    ];
    let columns: Vec<ColumnDef> = odd_columns
        .iter()
        .map(|c| col(c, varchar2(50, LengthSemantics::Byte)))
        .collect();
    let table = create(db, "mixed Case$#", columns, &["order"]);
    let upper = create(
        db,
        "MIXED CASE$#",
        vec![
            col("lower", number(None, None)),
            col("LOWER", number(None, None)),
        ],
        &[],
    );
    assert_ne!(table.name, upper.name);
    let row: Vec<Value> = odd_columns
        .iter()
        .map(|c| t(&c.replace(' ', "_")))
        .collect();
    insert(db, &table, &odd_columns, vec![row.clone()]);
    insert(db, &upper, &["lower", "LOWER"], vec![vec![n("1"), n("2")]]);
    assert_eq!(scan(db, &table, &odd_columns, by(&["order"])), vec![row]);
    assert_eq!(
        scan(db, &upper, &["LOWER", "lower"], ScanRange::All),
        vec![vec![n("2"), n("1")]],
        "\"lower\" and \"LOWER\" are two columns"
    );
    let mut sink = db.backend.sink().unwrap();
    let described = sink
        .describe_table(&table)
        .unwrap()
        .expect("the table exists");
    let described_names: Vec<&str> = described.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(described_names, odd_columns);
    assert_eq!(described.primary_key, names(&["order"]));
    let other_case = db.table(&db.name("Mixed case$#"));
    assert!(
        sink.describe_table(&other_case).unwrap().is_none(),
        "names are never folded: only the exact spelling finds a table"
    );
}

fn dictionary_reports_created_tables_as_oracle_would(db: &Db) {
    let name = db.name("DICT_T1");
    let table = create(
        db,
        "DICT_T1",
        vec![
            not_null("ID", number(Some(10), Some(0))),
            col("NAME", varchar2(30, LengthSemantics::Char)),
            col("CODE", varchar2(7, LengthSemantics::Byte)),
            col(
                "AT",
                OracleType::TimestampTz {
                    fractional_precision: 6,
                },
            ),
            col("PRICE", number(Some(12), Some(2))),
            col("BORN", OracleType::Date),
            col("RATIO", OracleType::BinaryDouble),
            col("NOTES", OracleType::Clob),
        ],
        &["ID"],
    );
    // A look-alike that `_` in the pattern would match unless escaped.
    create(db, "DICTXT1", vec![col("X", number(None, None))], &[]);
    let mut source = db.backend.source().unwrap();
    let escaped = name.replace('_', "\\_");
    let rows = source
        .read_dictionary(&DictionaryScope {
            schemas: vec![db.schema.clone()],
            include: vec![TablePattern {
                owner: db.schema.clone(),
                table: escaped,
            }],
            exclude: vec![],
        })
        .unwrap();
    let tables: Vec<&str> = rows.tables.iter().map(|t| t.table_name.as_str()).collect();
    assert_eq!(tables, [table.name.as_str()]);
    let mut columns: Vec<_> = rows.columns.iter().collect();
    columns.sort_by_key(|c| c.column_id);
    let shape: Vec<String> = columns
        .iter()
        .map(|c| {
            format!(
                "{} {} len={:?} prec={:?} scale={:?} char_len={:?} char_used={:?} null={}",
                c.column_name,
                c.data_type,
                c.data_length,
                c.data_precision,
                c.data_scale,
                c.char_length,
                c.char_used,
                c.nullable
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            "ID NUMBER len=Some(22) prec=Some(10) scale=Some(0) char_len=Some(0) char_used=None null=N",
            "NAME VARCHAR2 len=Some(120) prec=None scale=None char_len=Some(30) char_used=Some(\"C\") null=Y",
            "CODE VARCHAR2 len=Some(7) prec=None scale=None char_len=Some(7) char_used=Some(\"B\") null=Y",
            "AT TIMESTAMP(6) WITH TIME ZONE len=Some(13) prec=None scale=Some(6) char_len=Some(0) char_used=None null=Y",
            "PRICE NUMBER len=Some(22) prec=Some(12) scale=Some(2) char_len=Some(0) char_used=None null=Y",
            "BORN DATE len=Some(7) prec=None scale=None char_len=Some(0) char_used=None null=Y",
            "RATIO BINARY_DOUBLE len=Some(8) prec=None scale=None char_len=Some(0) char_used=None null=Y",
            "NOTES CLOB len=Some(4000) prec=None scale=None char_len=Some(0) char_used=None null=Y",
        ]
    );
    let keys: Vec<(&str, &str, u32)> = rows
        .constraints
        .iter()
        .map(|k| {
            (
                k.constraint_type.as_str(),
                k.column_name.as_str(),
                k.position,
            )
        })
        .collect();
    assert_eq!(keys, [("P", "ID", 1)]);
}

fn identifier_longer_than_128_bytes_is_ora_00972(db: &Db) {
    let fits = format!("{}{}", db.name(""), "T".repeat(128 - db.prefix_len()));
    assert_eq!(fits.len(), 128);
    let mut sink = db.backend.sink().unwrap();
    sink.create_table(&TableDef {
        name: db.table(&fits),
        columns: vec![col(&"C".repeat(128), number(None, None))],
        primary_key: vec![],
    })
    .expect("128 bytes is the limit, inclusive");
    let too_long = format!("{fits}X");
    let code = code_of(sink.create_table(&TableDef {
        name: db.table(&too_long),
        columns: vec![col("C", number(None, None))],
        primary_key: vec![],
    }));
    assert_eq!(code, 972);
    // 43 characters of two bytes each: 86 characters are fine, 65 "é" are 130 bytes.
    let code = code_of(sink.alter_table(
        &db.table(&fits),
        &AlterTable::AddColumn(col(&"é".repeat(65), number(None, None))),
    ));
    assert_eq!(code, 972, "the limit counts bytes, not characters");
}

// ---------------------------------------------------------------------------------------
// Oracle's rules and codes

fn string_lengths_in_bytes_and_characters_are_ora_12899(db: &Db) {
    let table = create(
        db,
        "LENGTHS",
        vec![
            not_null("ID", number(None, None)),
            col("BYTES3", varchar2(3, LengthSemantics::Byte)),
            col("CHARS3", varchar2(3, LengthSemantics::Char)),
        ],
        &["ID"],
    );
    insert(
        db,
        &table,
        &["ID", "BYTES3", "CHARS3"],
        vec![vec![n("1"), t("abc"), t("éé€")]],
    );
    let mut sink = db.backend.sink().unwrap();
    let error = sink
        .insert_rows(
            &table,
            &defs(db, &table, &["ID", "BYTES3"]),
            &[vec![n("2"), t("éé")]],
        )
        .expect_err("4 bytes do not fit 3");
    assert_eq!(error.ora_code(), Some(12899));
    let message = error.to_string();
    assert!(
        message.contains("BYTES3") && message.contains("(actual: 4, maximum: 3)"),
        "{message}"
    );
    sink.rollback().unwrap();
    let code = code_of(sink.insert_rows(
        &table,
        &defs(db, &table, &["ID", "CHARS3"]),
        &[vec![n("3"), t("abcd")]],
    ));
    assert_eq!(code, 12899);
    sink.rollback().unwrap();
}

fn number_precision_and_scale_round_or_fail_with_ora_01438(db: &Db) {
    let table = create(
        db,
        "NUMBERS",
        vec![
            not_null("ID", number(None, None)),
            col("P5S2", number(Some(5), Some(2))),
            col("P3", number(Some(3), Some(0))),
            col("SNEG", number(Some(5), Some(-2))),
            // Scale above precision: values below 0.01 ("NUMBER(4,5) requires a zero
            // for the first digit after the decimal point").
            col("P2S4", number(Some(2), Some(4))),
        ],
        &["ID"],
    );
    insert(
        db,
        &table,
        &["ID", "P5S2", "P3", "SNEG", "P2S4"],
        vec![
            vec![n("1"), n("123.456"), n("999.4"), n("1234567"), n("0.0012")],
            vec![n("2"), n("-0.005"), n("-12.5"), n("49"), n("-0.000127")],
        ],
    );
    assert_eq!(
        scan(db, &table, &["P5S2", "P3", "SNEG", "P2S4"], by(&["ID"])),
        vec![
            vec![n("123.46"), n("999"), n("1234600"), n("0.0012")],
            vec![n("-0.01"), n("-13"), n("0"), n("-0.0001")],
        ],
        "rounded half away from zero to the scale"
    );
    let mut sink = db.backend.sink().unwrap();
    for (column, value) in [
        ("P5S2", "1000"),
        ("P5S2", "999.995"),
        ("P3", "999.5"),
        ("P2S4", "0.0123"),
        ("P2S4", "0.00995"),
    ] {
        let code = code_of(sink.insert_rows(
            &table,
            &defs(db, &table, &["ID", column]),
            &[vec![n("9"), n(value)]],
        ));
        assert_eq!(code, 1438, "{value} into {column}");
        sink.rollback().unwrap();
    }
    let code = code_of(sink.insert_rows(
        &table,
        &defs(db, &table, &["ID", "P3"]),
        &[vec![n("9"), t("12a")]],
    ));
    assert_eq!(code, 1722, "invalid number text");
    sink.rollback().unwrap();
}

fn constraint_and_catalog_failures_carry_their_ora_codes(db: &Db) {
    let table = create(
        db,
        "RULES",
        vec![
            not_null("ID", number(None, None)),
            ColumnDef {
                check: Some(ColumnCheck::ZeroOrOne),
                ..col("FLAG", number(Some(1), Some(0)))
            },
            ColumnDef {
                check: Some(ColumnCheck::IsJson),
                ..col("DOC", OracleType::Clob)
            },
        ],
        &["ID"],
    );
    insert(
        db,
        &table,
        &["ID", "FLAG", "DOC"],
        vec![vec![n("1"), n("1"), t(r#"{"ok":true}"#)]],
    );
    let mut sink = db.backend.sink().unwrap();
    let mut attempt = |columns: &[&str], row: Vec<Value>| {
        let code = code_of(sink.insert_rows(&table, &defs(db, &table, columns), &[row]));
        sink.rollback().unwrap();
        code
    };
    assert_eq!(attempt(&["ID", "FLAG"], vec![n("2"), n("2")]), 2290);
    assert_eq!(attempt(&["ID", "DOC"], vec![n("3"), t("{not json")]), 2290);
    assert_eq!(attempt(&["ID"], vec![n("1")]), 1, "duplicate key");
    assert_eq!(attempt(&["ID"], vec![Value::Null]), 1400);

    let missing = db.table(&db.name("NO_SUCH_TABLE"));
    let mut sink = db.backend.sink().unwrap();
    assert!(sink.describe_table(&missing).unwrap().is_none());
    assert_eq!(
        code_of(sink.insert_rows(&missing, &defs(db, &table, &["ID"]), &[vec![n("1")]])),
        942
    );
    sink.rollback().unwrap();
    let mut source = db.backend.source().unwrap();
    let request = Scan {
        table: TableRef {
            owner: db.schema.clone(),
            table: missing.name.clone(),
        },
        columns: vec![ScanColumn::new("ID", number(None, None))],
        range: ScanRange::All,
        as_of_scn: None,
        tuning: FetchTuning::default(),
    };
    assert_eq!(
        code_of(source.scan(&request, &mut |_| std::ops::ControlFlow::Continue(()))),
        942
    );
    assert_eq!(
        code_of(sink.create_table(&TableDef {
            name: table.clone(),
            columns: vec![col("ID", number(None, None))],
            primary_key: vec![],
        })),
        955
    );
    assert_eq!(
        code_of(sink.alter_table(
            &table,
            &AlterTable::AddColumn(col("FLAG", number(None, None)))
        )),
        1430
    );
}

fn alter_table_adds_widens_renames_copies_and_drops(db: &Db) {
    let table = create(
        db,
        "EVOLVE",
        vec![
            not_null("ID", number(None, None)),
            col("NAME", varchar2(5, LengthSemantics::Byte)),
            col("AMOUNT", number(Some(5), Some(2))),
        ],
        &["ID"],
    );
    insert(
        db,
        &table,
        &["ID", "NAME", "AMOUNT"],
        vec![vec![n("1"), t("abcde"), n("123.45")]],
    );
    let mut sink = db.backend.sink().unwrap();
    // Narrowing a column below its data is refused.
    let code = code_of(sink.alter_table(
        &table,
        &AlterTable::ModifyColumn(col("NAME", varchar2(3, LengthSemantics::Byte))),
    ));
    assert!(code == 1441 || code == 12899, "ORA-{code:05}");
    // Widening is allowed and then holds longer values.
    sink.alter_table(
        &table,
        &AlterTable::ModifyColumn(col("NAME", varchar2(50, LengthSemantics::Byte))),
    )
    .unwrap();
    sink.alter_table(
        &table,
        &AlterTable::ModifyColumn(col("AMOUNT", number(Some(12), Some(2)))),
    )
    .unwrap();
    sink.alter_table(
        &table,
        &AlterTable::AddColumn(col("NOTES", OracleType::Clob)),
    )
    .unwrap();
    sink.alter_table(
        &table,
        &AlterTable::CopyColumn {
            from: "NAME".into(),
            to: "NOTES".into(),
        },
    )
    .unwrap();
    sink.alter_table(&table, &AlterTable::DropColumn("NAME".into()))
        .unwrap();
    sink.alter_table(
        &table,
        &AlterTable::RenameColumn {
            from: "NOTES".into(),
            to: "NAME".into(),
        },
    )
    .unwrap();
    sink.insert_rows(
        &table,
        &defs(db, &table, &["ID", "NAME", "AMOUNT"]),
        &[vec![n("2"), t(&"long".repeat(20)), n("1234567890.12")]],
    )
    .unwrap();
    sink.commit().unwrap();
    let described = sink.describe_table(&table).unwrap().unwrap();
    let shape: Vec<(String, OracleType)> = described
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.data_type.clone()))
        .collect();
    assert_eq!(
        shape,
        vec![
            ("ID".to_owned(), number(None, None)),
            ("AMOUNT".to_owned(), number(Some(12), Some(2))),
            ("NAME".to_owned(), OracleType::Clob),
        ]
    );
    assert_eq!(
        scan(db, &table, &["ID", "NAME", "AMOUNT"], by(&["ID"])),
        vec![
            vec![n("1"), t("abcde"), n("123.45")],
            vec![n("2"), t(&"long".repeat(20)), n("1234567890.12")],
        ]
    );
}
