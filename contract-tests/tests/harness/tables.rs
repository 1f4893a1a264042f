//! Tables for the fidelity and read suites: a column from its type text, a table keyed
//! on its first column, and a scan of it through the boundary.

use std::convert::Infallible;

use db_boundary::{
    scan_into, ColumnDef, DbError, FetchTuning, KeyRange, Scan, ScanColumn, ScanError, ScanRange,
    ScannedRow, TableDef, TableName, TableRef, Value,
};
use singer_core::oracle_type::OracleType;

use super::Db;

/// A nullable column of the type Oracle spells `data_type`.
pub fn col(name: &str, data_type: &str) -> ColumnDef {
    ColumnDef {
        name: name.to_owned(),
        data_type: OracleType::parse(data_type).expect("a type"),
        nullable: true,
        check: None,
    }
}

/// Creates `name` (this test's own name) with `columns`, keyed on the first.
pub fn create(db: &Db, name: &str, columns: &[ColumnDef]) -> TableName {
    let table = db.table(&db.name(name));
    let mut sink = db.backend.sink().expect("a sink session");
    sink.create_table(&TableDef {
        name: table.clone(),
        columns: columns.to_vec(),
        primary_key: vec![columns[0].name.clone()],
    })
    .expect("create table");
    table
}

/// The rows of `range`, `columns` fetched `page` rows a round trip.
pub fn scan(
    db: &Db,
    table: &TableName,
    columns: &[ColumnDef],
    range: ScanRange,
    page: u32,
) -> Result<Vec<Vec<Value>>, DbError> {
    let mut source = db.backend.source().expect("a source session");
    let request = Scan {
        table: TableRef {
            owner: table.schema.clone().unwrap_or_default(),
            table: table.name.clone(),
        },
        columns: columns
            .iter()
            .map(|c| ScanColumn::new(c.name.clone(), c.data_type.clone()))
            .collect(),
        range,
        as_of_scn: None,
        tuning: FetchTuning {
            fetch_array_size: page,
            prefetch_rows: page,
        },
    };
    let mut rows = Vec::new();
    scan_into(source.as_mut(), &request, &mut |row: ScannedRow<'_>| {
        rows.push(row.values.to_vec());
        Ok::<(), Infallible>(())
    })
    .map_err(|e| match e {
        ScanError::Database(e) => e,
        ScanError::Stopped(never) => match never {},
    })?;
    Ok(rows)
}

/// Every row, in the order of the first column.
pub fn read_all(db: &Db, table: &TableName, columns: &[ColumnDef]) -> Vec<Vec<Value>> {
    let key = KeyRange::new(vec![columns[0].name.clone()]).expect("a key");
    scan(db, table, columns, ScanRange::Keyset(key), 100).expect("scan")
}
