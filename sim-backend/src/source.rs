//! The tap's side of the boundary on the simulated backend: server info, dictionary
//! rows, the SCN and ordered scans.

use rusqlite::OptionalExtension;
use singer_core::dictionary::DictionaryRows;

use db_boundary::source::RowCallbackError;
use db_boundary::{
    DbError, DbResult, DictionaryScope, LowerBound, ScanOrder, ScanRequest, ServerInfo, Source,
    Value,
};

use crate::session::*;
use crate::store::*;

impl Source for SimSession {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Ok(ServerInfo {
            version: format!(
                "Simulated backend (presenting as Oracle {} rules)",
                self.options.major_version
            ),
            major_version: self.options.major_version,
            max_identifier_bytes: self.options.max_identifier_bytes,
            max_string_bytes: self.options.max_string_bytes,
            user: self.options.user.clone(),
            current_schema: self.options.user.clone(),
        })
    }

    fn read_dictionary(&mut self, scope: &DictionaryScope) -> DbResult<DictionaryRows> {
        let mut statement = self
            .conn
            .prepare("SELECT definition FROM sim_tables ORDER BY owner, table_name")
            .map_err(sql_err)?;
        let definitions: Vec<String> = statement
            .query_map([], |r| r.get(0))
            .map_err(sql_err)?
            .collect::<Result<_, _>>()
            .map_err(sql_err)?;
        let mut rows = DictionaryRows::default();
        for text in definitions {
            let stored: StoredTable =
                serde_json::from_str(&text).map_err(|e| DbError::Database {
                    code: None,
                    message: format!("corrupt simulated table definition: {e}"),
                })?;
            let (owner, table) = (&stored.table.owner, &stored.table.table_name);
            let admitted = (scope.schemas.is_empty() || scope.schemas.contains(owner))
                && (scope.include.is_empty()
                    || scope
                        .include
                        .iter()
                        .any(|p| like_match(&p.owner, owner) && like_match(&p.table, table)))
                && !scope
                    .exclude
                    .iter()
                    .any(|p| like_match(&p.owner, owner) && like_match(&p.table, table));
            if !admitted {
                continue;
            }
            rows.tables.push(stored.table.clone());
            rows.columns
                .extend(stored.columns.iter().map(|c| c.row.clone()));
            rows.constraints.extend(stored.constraints.iter().cloned());
        }
        Ok(rows)
    }

    fn current_scn(&mut self) -> DbResult<u64> {
        self.scn()
    }

    fn database_identity(&mut self) -> DbResult<db_boundary::DatabaseIdentity> {
        self.identity()
    }

    fn redo_logs(&mut self, from_scn: u64) -> DbResult<Vec<db_boundary::RedoLog>> {
        crate::redo::list_logs(&self.conn, from_scn)
    }

    fn snapshot_point(&mut self) -> DbResult<db_boundary::SnapshotPoint> {
        self.snapshot_point_now()
    }

    fn mined_table_info(
        &mut self,
        owner: &str,
        table: &str,
    ) -> DbResult<db_boundary::MinedTableInfo> {
        self.table_info(owner, table)
    }

    fn mine(
        &mut self,
        request: &db_boundary::MiningRequest,
        on_change: &mut dyn FnMut(&db_boundary::ChangeRow) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        self.mine_redo(request, on_change)
    }

    fn log_mining_facts(&mut self) -> DbResult<db_boundary::LogMiningFacts> {
        self.facts()
    }

    /// A read `AS OF SCN`: the current rows at the latest SCN, a copy rebuilt from the
    /// redo for an older one (see `mining`), ORA-08181 for a future one.
    fn scan(
        &mut self,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let Some(wanted) = request.as_of_scn else {
            return self.scan_now(request, on_row);
        };
        // One read transaction: the SCN check and the rows see the same snapshot.
        let own_read = !self.in_transaction;
        if own_read {
            self.conn.execute_batch("BEGIN").map_err(sql_err)?;
        }
        let result = match self.scn() {
            Ok(current) if wanted == current => self.scan_now(request, on_row),
            Ok(current) if wanted > current => Err(DbError::ora(
                8181,
                format!("specified number is not a valid system change number ({wanted}; the latest is {current})"),
            )),
            Ok(_) => self.scan_as_of(request, wanted, on_row),
            Err(e) => Err(e),
        };
        if own_read {
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
        }
        result
    }
}

impl SimSession {
    /// A read AS OF an older SCN, from a copy of the table with the later changes undone.
    fn scan_as_of(
        &mut self,
        request: &ScanRequest,
        scn: u64,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let stored = self.stored(&request.owner, &request.table)?;
        let copy = self.flashback_copy(&stored, scn)?;
        let result = self.scan_stored(&copy, request, on_row);
        self.drop_flashback_copy();
        result
    }

    /// The last SCN handed out: every redo record and every commit takes one.
    fn scn(&self) -> DbResult<u64> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM sim_meta WHERE key = 'scn'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql_err)?;
        Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    fn scan_now(
        &mut self,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let stored = self.stored(&request.owner, &request.table)?;
        self.scan_stored(&stored, request, on_row)
    }

    fn scan_stored(
        &mut self,
        stored: &StoredTable,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        let physical = |name: &String| {
            stored
                .column(name)
                .map(|c| c.physical.clone())
                .ok_or_else(|| DbError::ora(904, format!("\"{name}\": invalid identifier")))
        };
        let selected: Vec<String> = request
            .columns
            .iter()
            .map(physical)
            .collect::<DbResult<_>>()?;
        let mut sql = format!(
            "SELECT rid{}{} FROM {}",
            if selected.is_empty() { "" } else { ", " },
            selected.join(", "),
            stored.physical
        );
        let mut binds: Vec<Option<Vec<u8>>> = Vec::new();
        // Each order column as compared (left) with its bound placeholder (right).
        let order_columns: Vec<(String, String)> = match &request.order {
            ScanOrder::Columns(cols) => {
                cols.iter()
                    .map(|name| {
                        stored.column(name).map(|c| c.compared("?")).ok_or_else(|| {
                            DbError::ora(904, format!("\"{name}\": invalid identifier"))
                        })
                    })
                    .collect::<DbResult<_>>()?
            }
            _ => Vec::new(),
        };
        let left: Vec<&str> = order_columns.iter().map(|(l, _)| l.as_str()).collect();
        let right: Vec<&str> = order_columns.iter().map(|(_, r)| r.as_str()).collect();
        match (&request.lower_bound, &request.order) {
            (None, _) => {}
            (Some(LowerBound::After(values)), ScanOrder::Columns(cols))
                if values.len() == cols.len() =>
            {
                sql.push_str(&format!(
                    " WHERE ({}) > ({})",
                    left.join(", "),
                    right.join(", ")
                ));
                for (col, value) in cols.iter().zip(values) {
                    binds.push(self.encode_bound(stored, col, value)?);
                }
            }
            (Some(LowerBound::AtLeast(value)), ScanOrder::Columns(cols)) if cols.len() == 1 => {
                sql.push_str(&format!(" WHERE {} >= {}", left[0], right[0]));
                binds.push(self.encode_bound(stored, &cols[0], value)?);
            }
            (Some(LowerBound::AfterRowId(rowid)), ScanOrder::RowId) => {
                let rid: i64 = rowid
                    .strip_prefix("SIMROWID")
                    .and_then(|n| n.parse().ok())
                    .ok_or_else(|| DbError::ora(1410, format!("invalid ROWID {rowid}")))?;
                sql.push_str(&format!(" WHERE rid > {rid}"));
            }
            (Some(bound), order) => {
                return Err(DbError::Unsupported(format!(
                    "lower bound {bound:?} does not fit the order {order:?}"
                )))
            }
        }
        match &request.order {
            ScanOrder::Unordered => {}
            ScanOrder::RowId => sql.push_str(" ORDER BY rid"),
            ScanOrder::Columns(_) => {
                sql.push_str(&format!(" ORDER BY {}", left.join(", ")));
            }
        }
        let mut statement = self.conn.prepare(&sql).map_err(sql_err)?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(binds.iter()))
            .map_err(sql_err)?;
        let width = selected.len();
        let with_rowid = request.order == ScanOrder::RowId;
        let mut values = Vec::with_capacity(width + 1);
        let mut count = 0u64;
        while let Some(row) = rows.next().map_err(sql_err)? {
            row_to_values(row, width, &mut values)
                .map_err(sql_err)?
                .map_err(|e| DbError::Database {
                    code: None,
                    message: format!("corrupt stored value: {e}"),
                })?;
            if with_rowid {
                let rid: i64 = row.get(0).map_err(sql_err)?;
                values.push(Value::Text(format!("SIMROWID{rid:012}")));
            }
            on_row(&values).map_err(DbError::Aborted)?;
            count += 1;
        }
        Ok(count)
    }
}
