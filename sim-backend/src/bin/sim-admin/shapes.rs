//! `sim-admin generate --shape wide|clob`: the tap benchmark's other tables, a wide one
//! (`BENCH.WIDE`, 200 columns) and one with large values (`BENCH.DOCS`, a 1 MB CLOB a
//! row), deterministic like ORDERS.

use std::path::Path;

use chrono::{DateTime, NaiveDateTime};
use db_boundary::Value;
use sim_backend::SimBackend;
use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};

use crate::{report, table_column, Rng};

/// Columns of `BENCH.WIDE`, its key included.
const WIDE_COLUMNS: u32 = 200;

/// Characters of each `BENCH.DOCS` CLOB.
const CLOB_CHARS: usize = 1_000_000;

/// Generates `BENCH.WIDE` or `BENCH.DOCS` with `rows` rows.
pub(crate) fn generate(sim: &Path, shape: &str, rows: u64) -> Result<(), String> {
    let (table, columns) = match shape {
        "wide" => ("WIDE", wide_columns()),
        "clob" => ("DOCS", docs_columns()),
        other => return Err(format!("unknown shape {other} (orders, wide or clob)")),
    };
    let backend = SimBackend::open(sim).map_err(|e| e.to_string())?;
    let names: Vec<String> = columns.iter().map(|c| c.column_name.clone()).collect();
    let types: Vec<String> = columns.iter().map(|c| c.data_type.clone()).collect();
    backend
        .load_dictionary(&dictionary(table, columns, rows))
        .map_err(|e| e.to_string())?;
    let epoch: NaiveDateTime = DateTime::from_timestamp(1_420_070_400, 0)
        .expect("2015")
        .naive_utc();
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let n = if table == "WIDE" {
        let generated = (1..=rows).map(move |id| wide_row(&mut rng, epoch, &types, id));
        backend.load_rows("BENCH", table, &names, generated)
    } else {
        let generated = (1..=rows).map(move |id| docs_row(&mut rng, id));
        backend.load_rows("BENCH", table, &names, generated)
    }
    .map_err(|e| e.to_string())?;
    report(&format!("generated BENCH.{table}: {n} rows"));
    Ok(())
}

fn dictionary(table: &str, columns: Vec<ColumnRow>, rows: u64) -> DictionaryRows {
    DictionaryRows {
        tables: vec![TableRow {
            owner: "BENCH".into(),
            table_name: table.into(),
            table_type: "TABLE".into(),
            iot_type: None,
            partitioned: Some("NO".into()),
            temporary: Some("N".into()),
            num_rows: Some(rows),
        }],
        constraints: vec![ConstraintRow {
            owner: "BENCH".into(),
            table_name: table.into(),
            constraint_name: format!("{table}_PK"),
            constraint_type: "P".into(),
            column_name: columns[0].column_name.clone(),
            position: 1,
            status: Some("ENABLED".into()),
        }],
        columns,
    }
}

/// ID, then 199 columns cycling through NUMBER(12,2), VARCHAR2(40), DATE, NUMBER(10),
/// VARCHAR2(200) and TIMESTAMP(6).
fn wide_columns() -> Vec<ColumnRow> {
    let mut columns = vec![table_column(
        "WIDE",
        1,
        "ID",
        "NUMBER",
        (Some(10), Some(0), 22),
        false,
    )];
    for id in 2..=WIDE_COLUMNS {
        let name = format!("C{id:03}");
        let (data_type, shape) = match id % 6 {
            0 => ("NUMBER", (Some(12), Some(2), 22)),
            1 => ("VARCHAR2", (None, None, 40)),
            2 => ("DATE", (None, None, 7)),
            3 => ("NUMBER", (Some(10), Some(0), 22)),
            4 => ("VARCHAR2", (None, None, 200)),
            _ => ("TIMESTAMP(6)", (None, Some(6), 11)),
        };
        columns.push(table_column("WIDE", id, &name, data_type, shape, true));
    }
    columns
}

fn wide_row(rng: &mut Rng, epoch: NaiveDateTime, types: &[String], id: u64) -> Vec<Value> {
    let mut row = vec![Value::Number(id.into())];
    for (i, data_type) in types.iter().enumerate().skip(1) {
        if rng.below(10) == 0 {
            row.push(Value::Null);
            continue;
        }
        let seconds = rng.below(10 * 365 * 86_400) as i64;
        row.push(match (data_type.as_str(), (i + 1) % 6) {
            ("NUMBER", 0) => {
                let cents = rng.below(100_000_000);
                Value::number(&format!("{}.{:02}", cents / 100, cents % 100))
            }
            ("NUMBER", _) => Value::Number(rng.below(2_000_000_000).into()),
            ("VARCHAR2", 1) => Value::Text(format!("code-{:08x}", rng.next() as u32)),
            ("VARCHAR2", _) => Value::Text(format!(
                "row {id} column {i}: \"quoted\" text, {} and more",
                rng.below(1_000_000)
            )),
            ("DATE", _) => Value::Date(epoch + chrono::Duration::seconds(seconds)),
            _ => Value::Timestamp(
                epoch
                    + chrono::Duration::seconds(seconds)
                    + chrono::Duration::microseconds(rng.below(1_000_000) as i64),
            ),
        });
    }
    row
}

fn docs_columns() -> Vec<ColumnRow> {
    vec![
        table_column("DOCS", 1, "ID", "NUMBER", (Some(10), Some(0), 22), false),
        table_column("DOCS", 2, "TITLE", "VARCHAR2", (None, None, 100), true),
        table_column("DOCS", 3, "BODY", "CLOB", (None, None, 4000), true),
    ]
}

/// A row with a CLOB of [`CLOB_CHARS`] characters: lines of words, with quotes and
/// tabs that JSON escapes.
fn docs_row(rng: &mut Rng, id: u64) -> Vec<Value> {
    const WORDS: [&str; 8] = [
        "lorem",
        "ipsum",
        "\"dolor\"",
        "sit",
        "amet,",
        "naïve",
        "café\t",
        "end.\n",
    ];
    let mut body = String::with_capacity(CLOB_CHARS + 16);
    while body.len() < CLOB_CHARS {
        body.push_str(rng.pick(&WORDS));
        body.push(' ');
    }
    let cut = (0..=CLOB_CHARS).rev().find(|i| body.is_char_boundary(*i));
    body.truncate(cut.unwrap_or(0));
    vec![
        Value::Number(id.into()),
        Value::Text(format!("document {id}")),
        Value::Text(body),
    ]
}
