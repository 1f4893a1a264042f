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
            // ALL_TABLES lists only the tables the user may read.
            let admitted = self.may_read(owner)
                && (scope.schemas.is_empty() || scope.schemas.contains(owner))
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

    /// A read `AS OF SCN` is served only while that SCN is still the latest (no commit
    /// since), when the snapshot and the current data are the same thing; the store
    /// keeps no history, so an older SCN is refused rather than answered wrongly.
    fn scan(
        &mut self,
        request: &ScanRequest,
        on_row: &mut dyn FnMut(&[Value]) -> Result<(), RowCallbackError>,
    ) -> DbResult<u64> {
        if !self.may_read(&request.owner) {
            // Oracle does not say that a table the user cannot read exists.
            return Err(DbError::ora(
                942,
                format!(
                    "table or view \"{}\".\"{}\" does not exist",
                    request.owner, request.table
                ),
            ));
        }
        let Some(wanted) = request.as_of_scn else {
            return self.scan_now(request, on_row);
        };
        if request.owner != self.options.user && !self.holds("FLASHBACK ANY TABLE") {
            return Err(DbError::ora(
                1031,
                format!(
                    "insufficient privileges: AS OF SCN on \"{}\".\"{}\" needs FLASHBACK ANY TABLE (or FLASHBACK on the table)",
                    request.owner, request.table
                ),
            ));
        }
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
            Ok(current) => Err(DbError::Unsupported(format!(
                "the simulated backend keeps no history: SCN {wanted} is older than the latest commit (SCN {current})"
            ))),
            Err(e) => Err(e),
        };
        if own_read {
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
        }
        result
    }
}

impl SimSession {
    /// The number of commits the store has seen: its system change number.
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
                    binds.push(self.encode_bound(&stored, col, value)?);
                }
            }
            (Some(LowerBound::AtLeast(value)), ScanOrder::Columns(cols)) if cols.len() == 1 => {
                sql.push_str(&format!(" WHERE {} >= {}", left[0], right[0]));
                binds.push(self.encode_bound(&stored, &cols[0], value)?);
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
