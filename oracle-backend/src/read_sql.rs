//! The tap's read statements as pure plans: for each, its SQL text, its bind plan (name,
//! Oracle type, size and order of every bind) and its fetch plan (select expression and
//! the Rust form fetched). `read.rs` executes them; the snapshots below are the review.
//!
//! Keyset pages are written so the index range starts at the bookmark: the leading key
//! column gets its own `>=` (an access predicate), the exact tuple comparison follows as
//! nested OR/AND (Oracle has no row-value `>`), and `FETCH FIRST :n ROWS ONLY` stops
//! the range scan after one page, so no pass holds one sorted cursor over the table.

use db_boundary::{DbError, KeyRange, RowId, Scan, ScanRange, TableName, Value};

use crate::sql::{qualified, quote_identifier};

/// How a bind is typed for the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindType {
    /// Decimal text converted by the server under NLS_NUMERIC_CHARACTERS '.,'.
    NumberText,
    /// An unsigned integer bound as NUMBER (SCNs, row counts).
    Integer,
    /// VARCHAR2 of this many bytes (never the driver's NVARCHAR2 default).
    Varchar2(u32),
    Date,
    Timestamp,
    TimestampTz,
    Raw(u32),
    BinaryFloat,
    BinaryDouble,
    /// A NULL key value (a bookmark on a NULL incremental key cannot match anything).
    Null,
    /// Any other value, bound as its variant binds.
    Other,
}

impl BindType {
    /// The bind type of a key value, from its variant and size.
    pub fn of(value: &Value) -> BindType {
        let bytes = |n: usize| u32::try_from(n.max(1)).unwrap_or(u32::MAX);
        match value {
            Value::Null => BindType::Null,
            Value::Number(_) => BindType::NumberText,
            Value::Text(t) => BindType::Varchar2(bytes(t.len())),
            Value::Date(_) => BindType::Date,
            Value::Timestamp(_) => BindType::Timestamp,
            Value::TimestampTz(_) => BindType::TimestampTz,
            Value::Bytes(b) => BindType::Raw(bytes(b.len())),
            Value::BinaryFloat(_) => BindType::BinaryFloat,
            Value::BinaryDouble(_) => BindType::BinaryDouble,
            _ => BindType::Other,
        }
    }
}

/// What a bind carries.
#[derive(Debug, Clone, PartialEq)]
pub enum BindValue {
    Key(Value),
    Scn(u64),
    Rows(u64),
    RowId(String),
}

/// One bind, in the statement's order.
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

fn binder() -> impl FnMut(&mut Vec<Bind>, BindValue) -> String {
    let mut n = 0;
    move |binds: &mut Vec<Bind>, value: BindValue| {
        n += 1;
        let (prefix, bind_type) = match &value {
            BindValue::Key(v) => ("k", BindType::of(v)),
            BindValue::Scn(_) => ("scn", BindType::Integer),
            BindValue::Rows(_) => ("n", BindType::Integer),
            BindValue::RowId(_) => ("r", BindType::Varchar2(18)),
        };
        let name = format!("{prefix}{n}");
        binds.push(Bind {
            name: name.clone(),
            bind_type,
            value,
        });
        format!(":{name}")
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

fn keyset(
    range: &KeyRange,
    binds: &mut Vec<Bind>,
    bind: &mut impl FnMut(&mut Vec<Bind>, BindValue) -> String,
) -> Result<(Vec<String>, String), DbError> {
    let keys: Vec<String> = range
        .keys()
        .iter()
        .map(|k| quote_identifier(k))
        .collect::<Result<_, _>>()?;
    let mut terms = Vec::new();
    for (values, upper) in [(range.lower(), false), (range.upper(), true)] {
        let Some(values) = values else { continue };
        let placeholders: Vec<String> = values
            .iter()
            .map(|v| bind(binds, BindValue::Key(v.clone())))
            .collect();
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
        tail.push_str(&format!(
            " FETCH FIRST {} ROWS ONLY",
            bind(binds, BindValue::Rows(n.get()))
        ));
    }
    Ok((keys, tail))
}

/// One table read. A view without a key is read with no ROWID and no order: ROWID is
/// refused on views that are not key-preserved (ORA-01445/ORA-01446).
pub fn scan(scan: &Scan) -> Result<Statement, DbError> {
    let table = qualified(&TableName {
        schema: Some(scan.table.owner.clone()),
        name: scan.table.table.clone(),
    })?;
    let mut fetch = scan
        .columns
        .iter()
        .map(|c| {
            quote_identifier(c).map(|expression| Fetch {
                expression,
                fetch_as: FetchAs::ColumnType,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
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
    let mut binds = Vec::new();
    let mut bind = binder();
    let select: Vec<&str> = fetch.iter().map(|f| f.expression.as_str()).collect();
    let mut sql = format!("SELECT {} FROM {table}", select.join(", "));
    if let Some(scn) = scan.as_of_scn {
        sql.push_str(&format!(
            " AS OF SCN {}",
            bind(&mut binds, BindValue::Scn(scn))
        ));
    }
    match &scan.range {
        ScanRange::All => {}
        ScanRange::Keyset(range) => {
            let (_, tail) = keyset(range, &mut binds, &mut bind)?;
            sql.push_str(&tail);
        }
        ScanRange::RowId { after, limit } => {
            if let Some(RowId(rowid)) = after {
                let p = bind(&mut binds, BindValue::RowId(rowid.clone()));
                sql.push_str(&format!(" WHERE ROWID > CHARTOROWID({p})"));
            }
            sql.push_str(" ORDER BY ROWID");
            if let Some(n) = limit {
                let p = bind(&mut binds, BindValue::Rows(n.get()));
                sql.push_str(&format!(" FETCH FIRST {p} ROWS ONLY"));
            }
        }
        ScanRange::FromValue { column, at_least } => {
            let column = quote_identifier(column)?;
            if let Some(value) = at_least {
                let p = bind(&mut binds, BindValue::Key(value.clone()));
                sql.push_str(&format!(" WHERE {column} >= {p}"));
            }
            sql.push_str(&format!(" ORDER BY {column} NULLS FIRST"));
        }
    }
    Ok(Statement { sql, binds, fetch })
}

/// The last key tuple of each of `chunks` NTILE ranges over the key, as of an SCN: one
/// pass over the key's index (no table access), grouped by tile. `KEEP (DENSE_RANK
/// LAST ...)` takes each key column from the tile's last row, so composite keys work.
pub fn chunk_bounds(
    table: &TableName,
    keys: &[String],
    chunks: u32,
    scn: Option<u64>,
) -> Result<Statement, DbError> {
    let table = qualified(table)?;
    let quoted: Vec<String> = keys
        .iter()
        .map(|k| quote_identifier(k))
        .collect::<Result<_, _>>()?;
    let order = quoted.join(", ");
    let mut binds = Vec::new();
    let mut bind = binder();
    let n = bind(&mut binds, BindValue::Rows(u64::from(chunks)));
    let as_of = match scn {
        Some(scn) => format!(" AS OF SCN {}", bind(&mut binds, BindValue::Scn(scn))),
        None => String::new(),
    };
    let fetch: Vec<Fetch> = quoted
        .iter()
        .map(|k| Fetch {
            expression: format!("MAX({k}) KEEP (DENSE_RANK LAST ORDER BY {order})"),
            fetch_as: FetchAs::ColumnType,
        })
        .collect();
    let select: Vec<&str> = fetch.iter().map(|f| f.expression.as_str()).collect();
    let sql = format!(
        "SELECT {} FROM (SELECT {order}, NTILE({n}) OVER (ORDER BY {order}) AS TILE FROM {table}{as_of}) GROUP BY TILE ORDER BY TILE",
        select.join(", ")
    );
    Ok(Statement { sql, binds, fetch })
}

/// The plan as reviewed text: SQL, then one line per bind and per fetched column.
pub fn describe(statement: &Statement) -> String {
    let mut out = statement.sql.clone();
    for (i, b) in statement.binds.iter().enumerate() {
        out.push_str(&format!(
            "\n  bind {} :{} {:?} = {:?}",
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

    fn read(range: ScanRange, scn: Option<u64>) -> String {
        let scan = Scan {
            table: TableRef {
                owner: "HR".into(),
                table: "Mixed Case".into(),
            },
            columns: vec!["ID".into(), "select".into(), "UPDATED_AT".into()],
            range,
            as_of_scn: scn,
            tuning: FetchTuning::default(),
        };
        describe(&scan_statement(&scan))
    }

    fn scan_statement(s: &Scan) -> Statement {
        scan(s).unwrap()
    }

    #[test]
    fn every_read_statement() {
        let n = Value::number;
        let t = |s: &str| Value::Text(s.into());
        let page = NonZeroU64::new(5000).unwrap();
        let one = KeyRange::new(vec!["ID".into()]).unwrap();
        let two = KeyRange::new(vec!["ID".into(), "select".into()]).unwrap();
        let three = KeyRange::new(vec!["A".into(), "B".into(), "C".into()]).unwrap();
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
                        .after(vec![n("1"), n("2"), n("3")])
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
                    at_least: Some(Value::Date(
                        chrono::NaiveDate::from_ymd_opt(2024, 1, 2)
                            .unwrap()
                            .and_hms_opt(3, 4, 5)
                            .unwrap(),
                    )),
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
            &["ID".into(), "select".into()],
            4,
            Some(42),
        )
        .unwrap();
        out.push_str(&format!(
            "-- chunk bounds: NTILE(4) over a composite key, as of an SCN\n{}\n\n",
            describe(&bounds)
        ));
        for (sql, privilege) in CURRENT_SCN {
            out.push_str(&format!(
                "-- current SCN (needs {privilege})\n{sql}\n  fetch 1 as Integer\n\n"
            ));
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
