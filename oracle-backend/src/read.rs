//! The tap's reads on a real session: a short executor of the plans in `read_sql`
//! (bind each planned bind with its planned type, fetch each planned column in its
//! planned form, push rows until the sink breaks), and the current SCN with its
//! fallbacks.

use db_boundary::{
    DbError, DbResult, PushRow, Scan, ScanColumn, ScannedRow, TableName, TableRef, Value,
};
use oracle::sql_type::{OracleType as DriverType, ToSql};
use oracle::SqlValue;

use crate::error::Operation;
use crate::read_sql::{self, Bind, BindValue, FetchAs};
use crate::session::OracleSession;
use crate::value;

/// One planned bind, sent with its planned type.
pub(crate) fn bindable(bind: &Bind) -> DbResult<Box<dyn ToSql>> {
    Ok(match &bind.value {
        BindValue::Key(v) => value::bind_planned(bind.bind_type, v)?,
        BindValue::Scn(n) | BindValue::Rows(n) => value::bind_integer(bind.bind_type, *n),
        BindValue::RowId(r) => value::bind_planned(bind.bind_type, &Value::Text(r.clone()))?,
    })
}

/// One fetched column in its planned form.
fn fetched(sql_value: &SqlValue, column_type: &DriverType, form: FetchAs) -> DbResult<Value> {
    match form {
        FetchAs::TextAs(kind) => {
            let text: Option<String> = sql_value
                .get()
                .map_err(|e| crate::error::from_oracle(&e, "", Operation::Other))?;
            text.map_or(Ok(Value::Null), |t| value::decode_text(kind, t))
        }
        _ => value::fetch(sql_value, column_type),
    }
}

impl OracleSession {
    /// The current SCN from the first source the session may use (`read_sql::CURRENT_SCN`).
    pub(crate) fn read_current_scn(&mut self) -> DbResult<u64> {
        let mut refused = Vec::new();
        for (sql, privilege) in read_sql::CURRENT_SCN {
            match self.conn.query_row_as::<u64>(sql, &[]) {
                Ok(scn) => {
                    if !refused.is_empty() {
                        tracing::info!(
                            source = sql,
                            "current SCN read through a fallback (lacking {})",
                            refused.join(", ")
                        );
                    }
                    return Ok(scn);
                }
                Err(e) => {
                    let error = self.fail(Operation::Other)(e);
                    if !read_sql::scn_source_refused(error.ora_code()) {
                        return Err(error);
                    }
                    refused.push(*privilege);
                }
            }
        }
        Err(DbError::InsufficientPrivileges {
            privilege: "EXECUTE on DBMS_FLASHBACK, or SELECT on V_$DATABASE".into(),
            reason: "no way to read the current SCN is open to this user".into(),
        })
    }

    pub(crate) fn read_chunk_bounds(
        &mut self,
        table: &TableRef,
        keys: &[ScanColumn],
        chunks: u32,
        as_of_scn: Option<u64>,
    ) -> DbResult<Vec<Vec<Value>>> {
        let name = TableName {
            schema: Some(table.owner.clone()),
            name: table.table.clone(),
        };
        let statement = read_sql::chunk_bounds(&name, keys, chunks, as_of_scn)?;
        let operation = if as_of_scn.is_some() {
            Operation::Flashback
        } else {
            Operation::Other
        };
        let binds = statement
            .binds
            .iter()
            .map(|b| Ok((b.name.as_str(), bindable(b)?)))
            .collect::<DbResult<Vec<_>>>()?;
        let refs: Vec<(&str, &dyn ToSql)> = binds.iter().map(|(n, b)| (*n, b.as_ref())).collect();
        let rows = self
            .conn
            .query_named(&statement.sql, &refs)
            .map_err(self.fail(operation))?;
        let types: Vec<DriverType> = rows
            .column_info()
            .iter()
            .map(|c| c.oracle_type().clone())
            .collect();
        let mut bounds = Vec::new();
        for row in rows {
            let row = row.map_err(self.fail(operation))?;
            let values = row
                .sql_values()
                .iter()
                .zip(&types)
                .zip(&statement.fetch)
                .map(|((v, t), f)| fetched(v, t, f.fetch_as))
                .collect::<DbResult<Vec<_>>>()?;
            bounds.push(values);
        }
        // The last tile's bound is the table's last key: its chunk is left open above.
        bounds.pop();
        Ok(bounds)
    }

    pub(crate) fn read_scan(&mut self, scan: &Scan, push: &mut PushRow<'_>) -> DbResult<u64> {
        let statement = read_sql::scan(scan)?;
        tracing::debug!(sql = %statement.sql, "scan");
        let operation = if scan.as_of_scn.is_some() {
            Operation::Flashback
        } else {
            Operation::Other
        };
        let binds = statement
            .binds
            .iter()
            .map(|b| Ok((b.name.as_str(), bindable(b)?)))
            .collect::<DbResult<Vec<_>>>()?;
        let refs: Vec<(&str, &dyn ToSql)> = binds.iter().map(|(n, b)| (*n, b.as_ref())).collect();
        let fetch_array_size = scan.fetch_array_size();
        if fetch_array_size < scan.tuning.fetch_array_size {
            tracing::debug!(
                table = %scan.table.table,
                asked = scan.tuning.fetch_array_size,
                fetch_array_size,
                "fetch array smaller than asked: the row's define buffers are wide"
            );
        }
        let mut prepared = self
            .conn
            .statement(&statement.sql)
            .fetch_array_size(fetch_array_size)
            .prefetch_rows(scan.tuning.prefetch_rows.min(fetch_array_size))
            .build()
            .map_err(self.fail(operation))?;
        let rows = prepared.query_named(&refs).map_err(self.fail(operation))?;
        let types: Vec<DriverType> = rows
            .column_info()
            .iter()
            .map(|c| c.oracle_type().clone())
            .collect();
        let forms: Vec<FetchAs> = statement.fetch.iter().map(|f| f.fetch_as).collect();
        let mut values = Vec::with_capacity(types.len());
        let mut rowid = String::new();
        let mut count = 0u64;
        for row in rows {
            let row = row.map_err(self.fail(operation))?;
            values.clear();
            let mut with_rowid = false;
            for ((sql_value, column_type), form) in row.sql_values().iter().zip(&types).zip(&forms)
            {
                match form {
                    FetchAs::RowIdText => {
                        rowid = sql_value.get::<String>().map_err(self.fail(operation))?;
                        with_rowid = true;
                    }
                    form => values.push(fetched(sql_value, column_type, *form)?),
                }
            }
            count += 1;
            let scanned = ScannedRow {
                values: &values[..scan.columns.len().min(values.len())],
                rowid: with_rowid.then_some(rowid.as_str()),
            };
            if push(scanned).is_break() {
                break;
            }
        }
        Ok(count)
    }
}
