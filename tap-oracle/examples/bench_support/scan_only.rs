//! The ceiling of a tap benchmark: the simulated scan alone. Every selected stream of
//! the prepared catalog is read as the tap reads a keyed FULL_TABLE stream (the same
//! columns and types, keyset pages of `full_table_page_rows` rows after the last key,
//! no `AS OF`) into a sink that only counts rows and keeps the last key: no encoding,
//! no RECORD, no STATE.

use std::num::NonZeroU64;
use std::ops::ControlFlow;
use std::path::Path;

use db_boundary::{Backend, KeyRange, Scan, ScanColumn, ScanRange, TableRef, Value};
use singer_core::catalog::Catalog;

/// Rows a page holds (the tap's `full_table_page_rows` default).
const PAGE_ROWS: u64 = 100_000;

/// Reads every selected stream of `catalog` from the simulated database at `sim_dir`;
/// returns the rows read.
pub fn scan_all(sim_dir: &str, catalog: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let catalog = Catalog::from_path(Path::new(catalog))?;
    let backend = sim_backend::SimBackend::open_existing(Path::new(sim_dir))?;
    let mut source = backend.source()?;
    let mut total = 0;
    for entry in catalog.selected_streams() {
        let table = TableRef {
            owner: entry.schema_name().ok_or("no schema-name")?.to_owned(),
            table: entry.table_name().ok_or("no table-name")?.to_owned(),
        };
        let columns = entry
            .selected_properties()
            .into_iter()
            .map(|name| {
                let data_type = entry
                    .sql_datatype(&name)
                    .ok_or("no sql-datatype")?
                    .parse()?;
                Ok(ScanColumn::new(name, data_type))
            })
            .collect::<Result<Vec<_>, Box<dyn std::error::Error>>>()?;
        let keys = entry.key_properties();
        let tracked: Vec<usize> = keys
            .iter()
            .map(|k| {
                columns
                    .iter()
                    .position(|c| &c.name == k)
                    .ok_or("key not selected")
            })
            .collect::<Result<_, _>>()?;
        let page = NonZeroU64::new(PAGE_ROWS).ok_or("page")?;
        let mut after: Option<Vec<Value>> = None;
        loop {
            let mut range = KeyRange::new(keys.clone())?.limit(page);
            if let Some(values) = after.take() {
                range = range.after(values)?;
            }
            let scan = Scan {
                table: table.clone(),
                columns: columns.clone(),
                range: ScanRange::Keyset(range),
                as_of_scn: None,
                tuning: Default::default(),
            };
            let mut last = vec![Value::Null; tracked.len()];
            let rows = source.scan(&scan, &mut |row| {
                for (slot, &at) in last.iter_mut().zip(&tracked) {
                    match (slot, &row.values[at]) {
                        (Value::Number(kept), Value::Number(key)) => kept.clone_from(key),
                        (slot, key) => *slot = key.clone(),
                    }
                }
                ControlFlow::Continue(())
            })?;
            total += rows;
            if rows < PAGE_ROWS {
                break;
            }
            after = Some(last);
        }
    }
    Ok(total)
}
