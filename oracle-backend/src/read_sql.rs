//! The tap's read statements as pure plans: for each, its SQL text, its bind plan (name,
//! Oracle type, size and order of every bind) and its fetch plan (select expression and
//! the Rust form fetched). `read.rs` executes them; the snapshots below are the review.
//!
//! Keyset pages are written so the index range starts at the bookmark: the leading key
//! column gets its own `>=` (an access predicate), the exact tuple comparison follows as
//! nested OR/AND (Oracle has no row-value `>`), and `FETCH FIRST :n ROWS ONLY` stops
//! the range scan after one page, so no pass holds one sorted cursor over the table.

use db_boundary::binds::key_bind;
use db_boundary::{DbError, KeyRange, RowId, Scan, ScanColumn, ScanRange, TableName, Value};
use singer_core::oracle_type::OracleType;
use singer_core::type_table::{BindType, FetchForm, ValueKind};

use crate::sql::{qualified, quote_identifier};

/// What a bind carries.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    Key(Value),
    Scn(u64),
    Rows(u64),
    RowId(String),
}

/// One bind, in the statement's order, typed by the column it is compared with (the
/// type table's bind type: VARCHAR2 for a VARCHAR2 column, NVARCHAR2 only for an
/// N-type, DATE for a DATE), so the column side of every predicate stays as stored
/// and its index usable (no SYS_OP_C2C, no INTERNAL_FUNCTION).
#[derive(Debug, Clone, PartialEq)]
pub struct Bind {
    pub name: String,
    pub bind_type: BindType,
    pub value: BindValue,
}

/// How a selected column is fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchAs {
    /// By the column's own Oracle type (`value::fetch`).
    ColumnType,
    /// Text made in SQL (the type table's `FetchForm::AsText`: JSON, VECTOR, XMLTYPE,
    /// which oracle 0.6.3 cannot fetch), read as a string and decoded into this kind.
    TextAs(ValueKind),
    /// The ROWID as text, handed to the row sink apart from the values.
    RowIdText,
    /// An unsigned integer.
    Integer,
}

/// One select expression and its fetch form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetch {
    pub expression: String,
    pub fetch_as: FetchAs,
}

/// A statement ready to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub binds: Vec<Bind>,
    pub fetch: Vec<Fetch>,
}

/// How a column of `data_type` is selected and fetched: a pure function of the type
/// (the type table's fetch form), the same for every read.
pub fn fetch_column(quoted: &str, data_type: &OracleType) -> Fetch {
    let row = data_type.row();
    Fetch {
        expression: row.fetch.expression(quoted),
        fetch_as: match row.fetch {
            FetchForm::Native => FetchAs::ColumnType,
            FetchForm::AsText(_) => FetchAs::TextAs(row.value),
        },
    }
}

/// The binds of a dictionary read (`sql::dictionary_tables` and its siblings: schema
/// names and LIKE patterns) as VARCHAR2, the type of the dictionary's OWNER and
/// TABLE_NAME columns. The driver's default NVARCHAR2 would make Oracle convert the
/// dictionary column instead (SYS_OP_C2C), and no index on the dictionary's base
/// tables could serve the filter.
pub fn dictionary_binds(binds: &[(String, String)]) -> Vec<Bind> {
    binds
        .iter()
        .map(|(name, text)| Bind {
            name: name.clone(),
            bind_type: BindType::Varchar2(128),
            value: BindValue::Key(Value::Text(text.clone())),
        })
        .collect()
}

/// The ways to read the current SCN, in order of preference, with the privilege each
/// needs: the first the session may use wins (see `read::current_scn`).
pub const CURRENT_SCN: &[(&str, &str)] = &[
    (
        "SELECT DBMS_FLASHBACK.GET_SYSTEM_CHANGE_NUMBER FROM DUAL",
        "EXECUTE on DBMS_FLASHBACK",
    ),
    (
        "SELECT CURRENT_SCN FROM V$DATABASE",
        "SELECT on V_$DATABASE (or SELECT ANY DICTIONARY)",
    ),
    // No privilege; the SCN-to-time map is ~3 s coarse, so the snapshot is at most a
    // few seconds older than the run's start.
    ("SELECT TIMESTAMP_TO_SCN(SYSTIMESTAMP) FROM DUAL", "none"),
];

/// ORA codes that mean "this way to read the SCN is not open to this session": try the
/// next one. ORA-00904 (invalid identifier) and ORA-06550/PLS-00201 come from a missing
/// EXECUTE on DBMS_FLASHBACK; ORA-00942/ORA-01031 from V$DATABASE.
pub fn scn_source_refused(code: Option<i32>) -> bool {
    matches!(code, Some(904 | 942 | 1031 | 6550 | 201))
}

/// Names binds in statement order (`:k1`, `:scn2`, `:n3` ...) and records them.
#[derive(Default)]
struct Binder {
    binds: Vec<Bind>,
}

impl Binder {
    fn bind(&mut self, bind_type: BindType, value: BindValue) -> String {
        let prefix = match &value {
            BindValue::Key(_) => "k",
            BindValue::Scn(_) => "scn",
            BindValue::Rows(_) => "n",
            BindValue::RowId(_) => "r",
        };
        let name = format!("{prefix}{}", self.binds.len() + 1);
        self.binds.push(Bind {
            name: name.clone(),
            bind_type,
            value,
        });
        format!(":{name}")
    }

    /// A key value, typed by its column.
    fn key(&mut self, data_type: &OracleType, value: &Value) -> Result<String, DbError> {
        let bind_type = key_bind(self.binds.len() + 1, data_type, value)?;
        Ok(self.bind(bind_type, BindValue::Key(value.clone())))
    }

    fn scn(&mut self, scn: u64) -> String {
        self.bind(BindType::Number, BindValue::Scn(scn))
    }

    fn rows(&mut self, rows: u64) -> String {
        self.bind(BindType::Number, BindValue::Rows(rows))
    }
}

/// `k1 > :a OR (k1 = :a AND (k2 > :b ...))` for a strict lower bound (`op` = `>`), or
/// the same with `<` and a final `<=` for an inclusive upper bound; prefixed by the
/// leading column's own `>=` / `<=` so it is an index access predicate.
fn tuple_bound(keys: &[String], placeholders: &[String], upper: bool) -> String {
    let (strict, last, lead) = if upper {
        ("<", "<=", "<=")
    } else {
        (">", ">", ">=")
    };
    let mut nested = String::new();
    for i in (0..keys.len()).rev() {
        nested = if i + 1 == keys.len() {
            format!("{} {last} {}", keys[i], placeholders[i])
        } else {
            format!(
                "{k} {strict} {p} OR ({k} = {p} AND ({nested}))",
                k = keys[i],
                p = placeholders[i]
            )
        };
    }
    if keys.len() == 1 {
        nested
    } else {
        format!("{} {lead} {} AND ({nested})", keys[0], placeholders[0])
    }
}

fn keyset(scan: &Scan, range: &KeyRange, binder: &mut Binder) -> Result<String, DbError> {
    let keys: Vec<String> = range
        .keys()
        .iter()
        .map(|k| quote_identifier(k))
        .collect::<Result<_, _>>()?;
    let types: Vec<&OracleType> = range
        .keys()
        .iter()
        .map(|k| scan.column_type(k))
        .collect::<Result<_, _>>()?;
    let mut terms = Vec::new();
    for (values, upper) in [(range.lower(), false), (range.upper(), true)] {
        let Some(values) = values else { continue };
        let placeholders: Vec<String> = values
            .iter()
            .zip(&types)
            .map(|(v, t)| binder.key(t, v))
            .collect::<Result<_, _>>()?;
        terms.push(tuple_bound(&keys, &placeholders, upper));
    }
    let mut tail = String::new();
    if !terms.is_empty() {
        tail.push_str(&format!(" WHERE {}", terms.join(" AND ")));
    }
    // Key columns are NOT NULL (primary keys), so plain ascending order: the index
    // order itself, no SORT ORDER BY.
    tail.push_str(&format!(" ORDER BY {}", keys.join(", ")));
    if let Some(n) = range.row_limit() {
        tail.push_str(&format!(" FETCH FIRST {} ROWS ONLY", binder.rows(n.get())));
    }
    Ok(tail)
}

/// The WHERE, ORDER BY and FETCH FIRST of a read.
fn range_tail(scan: &Scan, binder: &mut Binder) -> Result<String, DbError> {
    Ok(match &scan.range {
        ScanRange::All => String::new(),
        ScanRange::Keyset(range) => keyset(scan, range, binder)?,
        ScanRange::RowId { after, limit } => {
            let mut tail = String::new();
            if let Some(RowId(rowid)) = after {
                let p = binder.bind(BindType::Varchar2(18), BindValue::RowId(rowid.clone()));
                tail.push_str(&format!(" WHERE ROWID > CHARTOROWID({p})"));
            }
            tail.push_str(" ORDER BY ROWID");
            if let Some(n) = limit {
                tail.push_str(&format!(" FETCH FIRST {} ROWS ONLY", binder.rows(n.get())));
            }
            tail
        }
        ScanRange::FromValue { column, at_least } => {
            let data_type = scan.column_type(column)?;
            let column = quote_identifier(column)?;
            let mut tail = String::new();
            if let Some(value) = at_least {
                let p = binder.key(data_type, value)?;
                tail.push_str(&format!(" WHERE {column} >= {p}"));
            }
            tail.push_str(&format!(" ORDER BY {column} NULLS FIRST"));
            tail
        }
    })
}

/// One table read. A view without a key is read with no ROWID and no order: ROWID is
/// refused on views that are not key-preserved (ORA-01445/ORA-01446). Each column is
/// selected by its type's fetch form (`fetch_column`).
pub fn scan(scan: &Scan) -> Result<Statement, DbError> {
    let table = qualified(&TableName {
        schema: Some(scan.table.owner.clone()),
        name: scan.table.table.clone(),
    })?;
    let mut fetch = scan
        .columns
        .iter()
        .map(|c| Ok(fetch_column(&quote_identifier(&c.name)?, &c.data_type)))
        .collect::<Result<Vec<_>, DbError>>()?;
    if let ScanRange::RowId { .. } = scan.range {
        fetch.push(Fetch {
            expression: "ROWIDTOCHAR(ROWID)".into(),
            fetch_as: FetchAs::RowIdText,
        });
    }
    if fetch.is_empty() {
        fetch.push(Fetch {
            expression: "NULL".into(),
            fetch_as: FetchAs::ColumnType,
        });
    }
    let mut binder = Binder::default();
    let select: Vec<&str> = fetch.iter().map(|f| f.expression.as_str()).collect();
    let mut sql = format!("SELECT {} FROM {table}", select.join(", "));
    if let Some(scn) = scan.as_of_scn {
        sql.push_str(&format!(" AS OF SCN {}", binder.scn(scn)));
    }
    sql.push_str(&range_tail(scan, &mut binder)?);
    Ok(Statement {
        sql,
        binds: binder.binds,
        fetch,
    })
}

/// The last key tuple of each of `chunks` NTILE ranges over the key, as of an SCN: one
/// pass over the key's index (no table access), grouped by tile. `KEEP (DENSE_RANK
/// LAST ...)` takes each key column from the tile's last row, so composite keys work.
pub fn chunk_bounds(
    table: &TableName,
    keys: &[ScanColumn],
    chunks: u32,
    scn: Option<u64>,
) -> Result<Statement, DbError> {
    let table = qualified(table)?;
    let quoted: Vec<String> = keys
        .iter()
        .map(|k| quote_identifier(&k.name))
        .collect::<Result<_, _>>()?;
    let order = quoted.join(", ");
    let mut binder = Binder::default();
    let n = binder.rows(u64::from(chunks));
    let as_of = match scn {
        Some(scn) => format!(" AS OF SCN {}", binder.scn(scn)),
        None => String::new(),
    };
    let fetch: Vec<Fetch> = quoted
        .iter()
        .zip(keys)
        // Each bound in its type's fetch form, around the aggregate (a TIMESTAMP WITH
        // LOCAL TIME ZONE key is made UTC text by the server, as in a scan).
        .map(|(k, column)| {
            let last = format!("MAX({k}) KEEP (DENSE_RANK LAST ORDER BY {order})");
            fetch_column(&last, &column.data_type)
        })
        .collect();
    let select: Vec<&str> = fetch.iter().map(|f| f.expression.as_str()).collect();
    let sql = format!(
        "SELECT {} FROM (SELECT {order}, NTILE({n}) OVER (ORDER BY {order}) AS TILE FROM {table}{as_of}) GROUP BY TILE ORDER BY TILE",
        select.join(", ")
    );
    Ok(Statement {
        sql,
        binds: binder.binds,
        fetch,
    })
}

/// The plan as reviewed text: SQL, then one line per bind and per fetched column.
pub fn describe(statement: &Statement) -> String {
    let mut out = statement.sql.clone();
    for (i, b) in statement.binds.iter().enumerate() {
        out.push_str(&format!(
            "\n  bind {} :{} {} = {:?}",
            i + 1,
            b.name,
            b.bind_type,
            b.value
        ));
    }
    for (i, f) in statement.fetch.iter().enumerate() {
        out.push_str(&format!(
            "\n  fetch {} {} as {:?}",
            i + 1,
            f.expression,
            f.fetch_as
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU64;

    use super::*;
    use db_boundary::{FetchTuning, TableRef};

    fn columns(spec: &[(&str, &str)]) -> Vec<ScanColumn> {
        spec.iter()
            .map(|(name, t)| ScanColumn::new(*name, OracleType::parse(t).unwrap()))
            .collect()
    }

    fn scan_of(columns: Vec<ScanColumn>, range: ScanRange, scn: Option<u64>) -> Scan {
        Scan {
            table: TableRef {
                owner: "HR".into(),
                table: "Mixed Case".into(),
            },
            columns,
            range,
            as_of_scn: scn,
            tuning: FetchTuning::default(),
        }
    }

    fn read(range: ScanRange, scn: Option<u64>) -> String {
        let columns = columns(&[
            ("ID", "NUMBER(10)"),
            ("select", "VARCHAR2(40 CHAR)"),
            ("UPDATED_AT", "DATE"),
        ]);
        describe(&scan(&scan_of(columns, range, scn)).unwrap())
    }

    fn date(d: u32) -> chrono::NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2024, 1, d)
            .unwrap()
            .and_hms_opt(3, 4, 5)
            .unwrap()
    }

    #[test]
    fn every_read_statement() {
        let n = Value::number;
        let t = |s: &str| Value::Text(s.into());
        let page = NonZeroU64::new(5000).unwrap();
        let one = KeyRange::new(vec!["ID".into()]).unwrap();
        let two = KeyRange::new(vec!["ID".into(), "select".into()]).unwrap();
        let three = KeyRange::new(vec!["ID".into(), "select".into(), "UPDATED_AT".into()]).unwrap();
        let cases: Vec<(&str, ScanRange, Option<u64>)> = vec![
            (
                "view without a key: every row, no ROWID, no order",
                ScanRange::All,
                None,
            ),
            (
                "first keyset page",
                ScanRange::Keyset(one.clone().limit(page)),
                None,
            ),
            (
                "keyset page after a single key, as of an SCN",
                ScanRange::Keyset(one.clone().after(vec![n("41")]).unwrap().limit(page)),
                Some(42),
            ),
            (
                "keyset page after a composite key",
                ScanRange::Keyset(two.clone().after(vec![n("1"), t("x")]).unwrap().limit(page)),
                None,
            ),
            (
                "keyset page after a three-column key",
                ScanRange::Keyset(
                    three
                        .after(vec![n("1"), t("x"), Value::Date(date(2))])
                        .unwrap()
                        .limit(page),
                ),
                None,
            ),
            (
                "chunk: after one key tuple, through another, paged",
                ScanRange::Keyset(
                    two.after(vec![n("1"), t("x")])
                        .unwrap()
                        .through(vec![n("9"), t("z")])
                        .unwrap()
                        .limit(page),
                ),
                Some(42),
            ),
            (
                "first chunk: through a key",
                ScanRange::Keyset(one.through(vec![n("100")]).unwrap()),
                Some(42),
            ),
            (
                "table without a key: ROWID page after a ROWID, as of an SCN",
                ScanRange::RowId {
                    after: Some(RowId("AAAR3sAAEAAAACXAAA".into())),
                    limit: Some(page),
                },
                Some(42),
            ),
            (
                "incremental from a bookmark",
                ScanRange::FromValue {
                    column: "UPDATED_AT".into(),
                    at_least: Some(Value::Date(date(2))),
                },
                None,
            ),
            (
                "incremental, first run",
                ScanRange::FromValue {
                    column: "UPDATED_AT".into(),
                    at_least: None,
                },
                None,
            ),
        ];
        let mut out = String::new();
        for (title, range, scn) in cases {
            out.push_str(&format!("-- {title}\n{}\n\n", read(range, scn)));
        }
        let bounds = chunk_bounds(
            &TableName {
                schema: Some("HR".into()),
                name: "Mixed Case".into(),
            },
            &columns(&[("ID", "NUMBER(10)"), ("select", "VARCHAR2(40 CHAR)")]),
            4,
            Some(42),
        )
        .unwrap();
        out.push_str(&format!(
            "-- chunk bounds: NTILE(4) over a composite key, as of an SCN\n{}\n\n",
            describe(&bounds)
        ));
        let zoned = chunk_bounds(
            &TableName {
                schema: Some("HR".into()),
                name: "Mixed Case".into(),
            },
            &columns(&[
                ("AT", "TIMESTAMP(6) WITH LOCAL TIME ZONE"),
                ("ID", "NUMBER(10)"),
            ]),
            2,
            None,
        )
        .unwrap();
        out.push_str(&format!(
            "-- chunk bounds over a key with a TIMESTAMP WITH LOCAL TIME ZONE: its fetch form around the aggregate\n{}\n\n",
            describe(&zoned)
        ));
        for (sql, privilege) in CURRENT_SCN {
            out.push_str(&format!(
                "-- current SCN (needs {privilege})\n{sql}\n  fetch 1 as Integer\n\n"
            ));
        }
        insta::assert_snapshot!(out);
    }

    /// Every bookmark and key bind is typed by its column (issue 11 items 9 and 10):
    /// VARCHAR2 for VARCHAR2 (not the driver's NVARCHAR2 default, which converts the
    /// column with SYS_OP_C2C and compares in another order), NVARCHAR2/NCHAR only for
    /// N-types, DATE for DATE (not TIMESTAMP: `INTERNAL_FUNCTION("D")`), TIMESTAMP for
    /// TIMESTAMP(n), TIMESTAMP WITH TIME ZONE for TSTZ.
    #[test]
    fn bookmarks_bind_as_their_columns() {
        let at = date(2);
        let tz = chrono::FixedOffset::east_opt(7200).unwrap();
        let cases: Vec<(&str, &str, Value)> = vec![
            ("VC", "VARCHAR2(40 BYTE)", Value::Text("b".into())),
            ("NV", "NVARCHAR2(20)", Value::Text("ñ".into())),
            ("CH", "CHAR(3 CHAR)", Value::Text("ab ".into())),
            ("NC", "NCHAR(3)", Value::Text("ab ".into())),
            ("N", "NUMBER(10)", Value::number("12345678901")),
            ("D", "DATE", Value::Date(at)),
            ("TS", "TIMESTAMP(6)", Value::Timestamp(at)),
            (
                "TSTZ",
                "TIMESTAMP(6) WITH TIME ZONE",
                Value::TimestampTz(at.and_local_timezone(tz).unwrap()),
            ),
            ("R", "RAW(16)", Value::Bytes(vec![1, 2])),
            ("BF", "BINARY_DOUBLE", Value::BinaryDouble(1.5)),
        ];
        let mut out = String::new();
        for (name, data_type, value) in cases {
            let range = ScanRange::FromValue {
                column: name.into(),
                at_least: Some(value.clone()),
            };
            let incremental = scan_of(columns(&[(name, data_type)]), range, None);
            let keyset = ScanRange::Keyset(
                KeyRange::new(vec![name.into()])
                    .unwrap()
                    .after(vec![value])
                    .unwrap(),
            );
            let page = scan_of(columns(&[(name, data_type)]), keyset, None);
            out.push_str(&format!(
                "-- {data_type}\n{}\n{}\n\n",
                describe(&scan(&incremental).unwrap()),
                describe(&scan(&page).unwrap())
            ));
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn a_bookmark_of_another_kind_than_its_column_is_refused_before_the_read() {
        let range = ScanRange::FromValue {
            column: "D".into(),
            at_least: Some(Value::Text("2024-01-02".into())),
        };
        let err = scan(&scan_of(columns(&[("D", "DATE")]), range, None)).unwrap_err();
        assert!(matches!(err, DbError::BindType { .. }), "{err:?}");
        let range = ScanRange::FromValue {
            column: "MISSING".into(),
            at_least: None,
        };
        let err = scan(&scan_of(columns(&[("D", "DATE")]), range, None)).unwrap_err();
        assert_eq!(err.ora_code(), Some(904), "{err:?}");
    }

    #[test]
    fn dictionary_reads_bind_names_as_varchar2() {
        let scope = db_boundary::DictionaryScope {
            schemas: vec!["HR".into()],
            include: vec![db_boundary::TablePattern {
                owner: "HR".into(),
                table: "EMP%".into(),
            }],
            exclude: Vec::new(),
        };
        let tables = crate::sql::dictionary_tables(&scope);
        let statement = Statement {
            sql: tables.sql.clone(),
            binds: dictionary_binds(&tables.binds),
            fetch: Vec::new(),
        };
        insta::assert_snapshot!(describe(&statement));
    }

    /// The fetch plan is a pure function of the columns' types (issue 11 item 2): JSON,
    /// VECTOR and XMLTYPE are made text in SQL, which oracle 0.6.3 can fetch.
    #[test]
    fn every_type_has_its_fetch_form() {
        let types = [
            "NUMBER(10)",
            "VARCHAR2(40 CHAR)",
            "NVARCHAR2(20)",
            "CLOB",
            "BLOB",
            "DATE",
            "TIMESTAMP(6) WITH TIME ZONE",
            "TIMESTAMP(6) WITH LOCAL TIME ZONE",
            "INTERVAL DAY(2) TO SECOND(6)",
            "JSON",
            "VECTOR",
            "XMLTYPE",
            "BOOLEAN",
        ];
        let spec: Vec<(String, &str)> = types
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("C{}", i + 1), *t))
            .collect();
        let spec: Vec<(&str, &str)> = spec.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        let statement = scan(&scan_of(columns(&spec), ScanRange::All, Some(42))).unwrap();
        let mut out = describe(&statement);
        out.push('\n');
        for ((name, data_type), fetch) in spec.iter().zip(&statement.fetch) {
            out.push_str(&format!("\n{name} {data_type}: {:?}", fetch.fetch_as));
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn a_refused_scn_source_falls_through_and_others_do_not() {
        for code in [904, 942, 1031, 6550, 201] {
            assert!(scn_source_refused(Some(code)), "{code}");
        }
        for code in [None, Some(1017), Some(3113), Some(1555)] {
            assert!(!scn_source_refused(code), "{code:?}");
        }
    }
}
