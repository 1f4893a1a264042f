//! Benchmark (not a timed test): discovery of 5,000 tables with 100,000 columns, the
//! issue's scale for large schemas. Prints the time to build the catalog and to
//! serialize it. Run: `cargo run --release -p catalog-fixtures --example bench_discovery`.

use std::time::Instant;

use singer_core::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};
use singer_core::discovery::{build_catalog, DiscoveryOptions};

#[allow(clippy::print_stderr)]
fn main() {
    let tables = 5_000;
    let columns_per_table = 20;
    let types = [
        "NUMBER",
        "VARCHAR2",
        "DATE",
        "TIMESTAMP(6) WITH TIME ZONE",
        "CLOB",
    ];
    let mut rows = DictionaryRows::default();
    for t in 0..tables {
        let owner = format!("SCHEMA_{}", t % 10);
        let table = format!("TABLE_{t:05}");
        rows.tables.push(TableRow {
            owner: owner.clone(),
            table_name: table.clone(),
            table_type: "TABLE".into(),
            iot_type: None,
            partitioned: Some("NO".into()),
            temporary: Some("N".into()),
            num_rows: Some(1000),
        });
        for c in 0..columns_per_table {
            rows.columns.push(ColumnRow {
                owner: owner.clone(),
                table_name: table.clone(),
                column_id: Some(c + 1),
                column_name: format!("COLUMN_{c:02}"),
                data_type: types[c as usize % types.len()].into(),
                data_type_owner: None,
                data_length: Some(100),
                data_precision: Some(12),
                data_scale: Some(2),
                char_length: Some(100),
                char_used: Some("C".into()),
                nullable: if c == 0 { "N" } else { "Y" }.into(),
                virtual_column: Some("NO".into()),
                hidden_column: Some("NO".into()),
                identity_column: Some("NO".into()),
            });
        }
        rows.constraints.push(ConstraintRow {
            owner,
            table_name: table,
            constraint_name: format!("PK_{t}"),
            constraint_type: "P".into(),
            column_name: "COLUMN_00".into(),
            position: 1,
            status: Some("ENABLED".into()),
        });
    }
    let start = Instant::now();
    let output = build_catalog(&rows, &DiscoveryOptions::default());
    let built = start.elapsed();
    let text = serde_json::to_string(&output.catalog).expect("serializes");
    let total = start.elapsed();
    eprintln!(
        "discovery: {} tables, {} columns: catalog built in {:.3} s, serialized ({:.1} MB) by {:.3} s",
        output.catalog.streams.len(),
        rows.columns.len(),
        built.as_secs_f64(),
        text.len() as f64 / 1e6,
        total.as_secs_f64()
    );
}
