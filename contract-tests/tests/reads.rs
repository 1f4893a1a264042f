//! Issue 11's tap-side contract: reads whose fetch plan and binds follow the columns'
//! types. Types the `oracle` driver cannot fetch (native JSON, VECTOR, XMLTYPE) come
//! back as the catalog promises; bookmarks of every orderable key type bind as their
//! column and select exactly the rows at or after them, in ORDER BY order; a bookmark
//! of another kind than its column is refused before the read. Run as `sim::<name>`
//! always and `oracle::<name>` with `--ignored`.

#[macro_use]
#[allow(dead_code)] // shared with contract.rs, which uses all of it
mod harness;

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use db_boundary::{ColumnDef, DbError, KeyRange, ScanRange, TableName, Value};

use harness::tables::{col, create, scan};
use harness::Db;

contract_tests!(
    json_vector_and_xmltype_read_as_the_catalog_promises,
    bookmarks_of_every_key_type_select_from_their_value_in_order,
    keyset_pages_on_text_keys_resume_in_order_by_order,
    a_bookmark_of_another_kind_than_its_column_is_refused,
);

fn insert(db: &Db, table: &TableName, columns: &[ColumnDef], rows: &[Vec<Value>]) {
    let mut sink = db.backend.sink().expect("a sink session");
    sink.insert_rows(table, columns, rows).expect("insert rows");
    sink.commit().expect("commit");
}

fn read(
    db: &Db,
    table: &TableName,
    columns: &[ColumnDef],
    range: ScanRange,
) -> Result<Vec<Vec<Value>>, DbError> {
    scan(db, table, columns, range, 3)
}

fn n(text: &str) -> Value {
    Value::number(text)
}

fn at(day: u32, nanos: u32) -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2024, 3, day)
        .and_then(|d| d.and_hms_nano_opt(10, 0, 0, nanos))
        .expect("a valid time")
}

/// Native JSON (21c+), VECTOR (23ai) and XMLTYPE: the driver fetches none of them
/// natively (oracle 0.6.3: "unsupported Oracle type" for JSON, type 2033 for VECTOR with
/// 23.4+ clients); the read makes them text in SQL and decodes it.
fn json_vector_and_xmltype_read_as_the_catalog_promises(db: &Db) {
    let columns = [
        col("ID", "NUMBER(10)"),
        col("J", "JSON"),
        col("V", "VECTOR"),
        col("X", "XMLTYPE"),
    ];
    let table = create(db, "FETCHED_AS_TEXT", &columns);
    let rows = vec![
        vec![
            n("1"),
            Value::Json(r#"{"a":[1,2.5,"x"],"b":null}"#.into()),
            Value::Vector(vec![1.5, -2.0, 0.25]),
            Value::Text("<order id=\"1\"><item>x</item></order>".into()),
        ],
        vec![n("2"), Value::Null, Value::Null, Value::Null],
    ];
    insert(db, &table, &columns, &rows);
    let by_id = ScanRange::Keyset(KeyRange::new(vec!["ID".into()]).expect("a key"));
    let read = read(db, &table, &columns, by_id).expect("read");
    assert_eq!(read.len(), 2);
    assert_eq!(read[1], rows[1], "NULLs stay NULL");
    let json: serde_json::Value = match &read[0][1] {
        Value::Json(text) => serde_json::from_str(text).expect("JSON text"),
        other => panic!("JSON came back as {other:?}"),
    };
    assert_eq!(json, serde_json::json!({"a": [1, 2.5, "x"], "b": null}));
    assert_eq!(read[0][2], rows[0][2], "a VECTOR is an array of numbers");
    assert_eq!(read[0][3], rows[0][3], "XMLTYPE is its text");
}

/// One column per orderable key type: an INCREMENTAL read from the second value
/// returns the second and third rows, in order (the bind is the column's type, so the
/// comparison is the column's own, as ORDER BY's is).
fn bookmarks_of_every_key_type_select_from_their_value_in_order(db: &Db) {
    let zone = |h: i32| FixedOffset::east_opt(h * 3600).expect("an offset");
    let cases: Vec<(&str, [Value; 3])> = vec![
        ("DATE", [at(1, 0), at(2, 0), at(3, 0)].map(Value::Date)),
        (
            "TIMESTAMP(6)",
            [at(2, 1_000), at(2, 2_000), at(2, 3_000)].map(Value::Timestamp),
        ),
        (
            "TIMESTAMP(6) WITH TIME ZONE",
            // Instants ascend although wall clocks do not.
            [
                zone(5).from_local_datetime(&at(2, 0)).unwrap(),
                zone(0).from_local_datetime(&at(2, 0)).unwrap(),
                zone(-5).from_local_datetime(&at(2, 0)).unwrap(),
            ]
            .map(Value::TimestampTz),
        ),
        (
            "VARCHAR2(20 CHAR)",
            ["A", "a", "é"].map(|s| Value::Text(s.into())),
        ),
        (
            "NVARCHAR2(20)",
            ["A", "é", "€"].map(|s| Value::Text(s.into())),
        ),
        (
            "CHAR(3 CHAR)",
            ["a  ", "b  ", "c  "].map(|s| Value::Text(s.into())),
        ),
        ("NUMBER", ["-1.5", "0.001", "12345678901234567890"].map(n)),
        (
            "RAW(4)",
            [vec![0u8], vec![1, 0], vec![255]].map(Value::Bytes),
        ),
    ];
    for (i, (data_type, values)) in cases.into_iter().enumerate() {
        let columns = [col("ID", "NUMBER(10)"), col("K", data_type)];
        let table = create(db, &format!("BOOKMARK_{i}"), &columns);
        let rows: Vec<Vec<Value>> = values
            .iter()
            .enumerate()
            .map(|(j, v)| vec![n(&(3 - j).to_string()), v.clone()])
            .collect();
        insert(db, &table, &columns, &rows);
        let from = ScanRange::FromValue {
            column: "K".into(),
            at_least: Some(values[1].clone()),
        };
        let read = read(db, &table, &columns, from).expect(data_type);
        let keys: Vec<Value> = read.iter().map(|r| r[0].clone()).collect();
        assert_eq!(keys, vec![n("2"), n("1")], "{data_type}");
    }
}

/// Keyset pages over a text key: each page starts strictly after the last key of the
/// previous one, and together they are the ORDER BY order with no row lost or repeated
/// (a bind compared in another character set would skip or repeat rows).
fn keyset_pages_on_text_keys_resume_in_order_by_order(db: &Db) {
    for data_type in ["VARCHAR2(10 CHAR)", "NVARCHAR2(10)"] {
        let columns = [col("K", data_type), col("V", "NUMBER(10)")];
        let table = create(db, &format!("PAGES_{}", &data_type[..1]), &columns);
        let keys = ["a", "B", "é", "€", "z", "Z", "𝄞", "ab", "aa", "0"];
        let rows: Vec<Vec<Value>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| vec![Value::Text((*k).into()), n(&i.to_string())])
            .collect();
        insert(db, &table, &columns, &rows);
        let whole = read(
            db,
            &table,
            &columns,
            ScanRange::Keyset(KeyRange::new(vec!["K".into()]).unwrap()),
        )
        .expect("one pass");
        let mut paged = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let mut range = KeyRange::new(vec!["K".into()])
                .unwrap()
                .limit(std::num::NonZeroU64::new(3).unwrap());
            if let Some(last) = after.take() {
                range = range.after(vec![last]).unwrap();
            }
            let page = read(db, &table, &columns, ScanRange::Keyset(range)).expect("a page");
            after = page.last().map(|r| r[0].clone());
            let short = page.len() < 3;
            paged.extend(page);
            if short {
                break;
            }
        }
        assert_eq!(paged, whole, "{data_type}: pages resume in ORDER BY order");
        assert_eq!(whole.len(), keys.len(), "{data_type}");
    }
}

/// A bookmark is bound as its column's type; a value of another kind (a DATE column
/// bookmarked as text) is refused by position before the statement runs.
fn a_bookmark_of_another_kind_than_its_column_is_refused(db: &Db) {
    let columns = [col("ID", "NUMBER(10)"), col("D", "DATE")];
    let table = create(db, "BOOKMARK_KIND", &columns);
    let from = ScanRange::FromValue {
        column: "D".into(),
        at_least: Some(Value::Text("2024-03-02T10:00:00".into())),
    };
    let error = read(db, &table, &columns, from).unwrap_err();
    assert!(
        matches!(error, DbError::BindType { position: 1, .. }),
        "{error:?}"
    );
}
