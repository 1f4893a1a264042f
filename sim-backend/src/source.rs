//! The tap's side of the boundary on the simulated backend: server info, dictionary
//! rows, the SCN and ordered scans.

use rusqlite::OptionalExtension;
use singer_core::dictionary::DictionaryRows;

use std::ops::ControlFlow;
use std::sync::mpsc;

use db_boundary::binds::key_bind;
use db_boundary::{
    DbError, DbResult, DictionaryScope, FetchTuning, KeyRange, PushRow, RowId, Scan, ScanColumn,
    ScanRange, ScannedRow, ServerInfo, SessionContext, Source, TableRef, Value,
};

use crate::codec;
use crate::session::*;
use crate::store::*;

impl Source for SimSession {
    fn set_context(&mut self, context: &SessionContext) -> DbResult<()> {
        self.record_context(context)
    }

    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Ok(ServerInfo {
            version: format!(
                "Simulated backend (presenting as Oracle {} rules)",
                self.options.major_version
            ),
            major_version: self.options.major_version,
            minor_version: 0,
            compatible: Some(self.options.compatibility()),
            max_identifier_bytes: self.options.identifier_bytes(),
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
        push: &mut db_boundary::PushChange<'_>,
    ) -> DbResult<u64> {
        self.mine_redo(request, push)
    }

    fn log_mining_facts(&mut self) -> DbResult<db_boundary::LogMiningFacts> {
        self.facts()
    }

    fn chunk_bounds(
        &mut self,
        table: &TableRef,
        keys: &[ScanColumn],
        chunks: u32,
        as_of_scn: Option<u64>,
    ) -> DbResult<Vec<Vec<Value>>> {
        self.may_scan(table, as_of_scn.is_some())?;
        self.may_flash_back(table, as_of_scn)?;
        if let Some(wanted) = as_of_scn {
            let current = self.scn()?;
            if wanted > current {
                return Err(DbError::ora(
                    8181,
                    format!("specified number is not a valid system change number ({wanted})"),
                ));
            }
            if wanted < current {
                let stored = self.stored(&table.owner, &table.table)?;
                let copy = self.flashback_copy(&stored, wanted)?;
                let bounds = self.chunk_bounds_stored(&copy, table, keys, chunks);
                self.drop_flashback_copy();
                return bounds;
            }
        }
        let stored = self.stored(&table.owner, &table.table)?;
        self.chunk_bounds_stored(&stored, table, keys, chunks)
    }

    /// A read `AS OF SCN`: the current rows at the latest SCN; for an older one a copy
    /// of the table rebuilt from the redo (see `mining`), which fails as Oracle's does
    /// past its retention (ORA-01555) or after the table's DDL (ORA-01466); a future
    /// one fails with ORA-08181.
    fn scan(&mut self, scan: &Scan, push: &mut PushRow<'_>) -> DbResult<u64> {
        // The define buffers the Oracle backend's fetch array needs, refused as the
        // driver refuses them (DPI-1015).
        db_boundary::arrays::check_array(
            scan.columns
                .iter()
                .map(|c| db_boundary::arrays::fetch_element(&c.data_type)),
            scan.fetch_array_size() as usize,
        )?;
        self.may_scan(&scan.table, scan.as_of_scn.is_some())?;
        self.may_flash_back(&scan.table, scan.as_of_scn)?;
        let Some(wanted) = scan.as_of_scn else {
            return self.scan_now(scan, push);
        };
        // One read transaction: the SCN check and the rows see the same snapshot.
        let own_read = !self.in_transaction;
        if own_read {
            self.conn.execute_batch("BEGIN").map_err(sql_err)?;
        }
        let result = match self.scn() {
            Ok(current) if wanted == current => self.scan_now(scan, push),
            Ok(current) if wanted > current => Err(DbError::ora(
                8181,
                format!("specified number is not a valid system change number ({wanted}; the latest is {current})"),
            )),
            Ok(_) => self.scan_as_of(scan, wanted, push),
            Err(e) => Err(e),
        };
        if own_read {
            self.conn.execute_batch("COMMIT").map_err(sql_err)?;
        }
        result
    }
}

impl SimSession {
    /// The privileges a read needs: SELECT on another user's table (else ORA-00942, as
    /// Oracle does not say that a table the user cannot read exists), and for `AS OF
    /// SCN` FLASHBACK on it (ORA-01031).
    fn may_scan(&self, table: &TableRef, as_of: bool) -> DbResult<()> {
        if !self.may_read(&table.owner) {
            return Err(DbError::ora(
                942,
                format!(
                    "table or view \"{}\".\"{}\" does not exist",
                    table.owner, table.table
                ),
            ));
        }
        if as_of && table.owner != self.options.user && !self.holds("FLASHBACK ANY TABLE") {
            return Err(DbError::ora(
                1031,
                format!(
                    "insufficient privileges: AS OF SCN on \"{}\".\"{}\" needs FLASHBACK ANY TABLE (or FLASHBACK on the table)",
                    table.owner, table.table
                ),
            ));
        }
        Ok(())
    }

    /// `AS OF SCN` reads only database tables: on an external table Oracle raises
    /// ORA-08188 (AS OF VERSION is the external tables' form).
    fn may_flash_back(&self, table: &TableRef, as_of_scn: Option<u64>) -> DbResult<()> {
        if as_of_scn.is_some() && self.stored(&table.owner, &table.table)?.table.is_external() {
            return Err(DbError::ora(
                8188,
                format!(
                    "this flashback syntax is not supported in this context (\"{}\".\"{}\" is an external table: AS OF SCN reads database tables only)",
                    table.owner, table.table
                ),
            ));
        }
        Ok(())
    }

    /// NTILE over the key, as Oracle computes it: the first `rows % chunks` tiles hold
    /// one row more; the bound of a tile is its last row's key.
    fn chunk_bounds_stored(
        &mut self,
        stored: &StoredTable,
        table: &TableRef,
        keys: &[ScanColumn],
        chunks: u32,
    ) -> DbResult<Vec<Vec<Value>>> {
        let total: i64 = self
            .conn
            .query_row(
                &format!("SELECT COUNT(*) FROM {}", stored.physical),
                [],
                |r| r.get(0),
            )
            .map_err(sql_err)?;
        let total = total.max(0) as u64;
        let chunks = u64::from(chunks.max(1)).min(total.max(1));
        let (base, extra) = (total / chunks, total % chunks);
        // Row numbers (1-based) that end a tile, all but the last tile.
        let mut ends = Vec::new();
        let mut at = 0;
        for tile in 0..chunks.saturating_sub(1) {
            at += base + u64::from(tile < extra);
            ends.push(at);
        }
        let mut bounds = Vec::new();
        if ends.is_empty() {
            return Ok(bounds);
        }
        let scan = Scan {
            table: table.clone(),
            columns: keys.to_vec(),
            range: ScanRange::Keyset(
                KeyRange::new(keys.iter().map(|k| k.name.clone()).collect())
                    .map_err(|e| DbError::Unsupported(e.to_string()))?,
            ),
            as_of_scn: None,
            tuning: FetchTuning::default(),
        };
        let mut row_number = 0u64;
        let mut next = ends.iter().peekable();
        self.scan_stored(stored, &scan, &mut |row| {
            row_number += 1;
            if next.peek() == Some(&&row_number) {
                next.next();
                bounds.push(row.values.to_vec());
            }
            if next.peek().is_some() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })?;
        Ok(bounds)
    }

    /// A read as of an older SCN, from a copy of the table with the later changes undone.
    fn scan_as_of(&mut self, scan: &Scan, scn: u64, push: &mut PushRow<'_>) -> DbResult<u64> {
        let stored = self.stored(&scan.table.owner, &scan.table.table)?;
        let copy = self.flashback_copy(&stored, scn)?;
        let result = self.scan_stored(&copy, scan, push);
        self.drop_flashback_copy();
        result
    }

    /// The last SCN handed out: every redo record and every commit takes one.
    pub(crate) fn scn(&self) -> DbResult<u64> {
        let text: Option<String> = self
            .conn
            .query_row("SELECT value FROM sim_meta WHERE key = 'scn'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql_err)?;
        Ok(text.and_then(|t| t.parse().ok()).unwrap_or(0))
    }

    fn scan_now(&mut self, scan: &Scan, push: &mut PushRow<'_>) -> DbResult<u64> {
        let stored = self.stored(&scan.table.owner, &scan.table.table)?;
        self.scan_stored(&stored, scan, push)
    }

    fn scan_stored(
        &mut self,
        stored: &StoredTable,
        scan: &Scan,
        push: &mut PushRow<'_>,
    ) -> DbResult<u64> {
        let physical = |name: &String| {
            stored
                .column(name)
                .map(|c| c.physical.clone())
                .ok_or_else(|| DbError::ora(904, format!("\"{name}\": invalid identifier")))
        };
        let selected: Vec<String> = scan
            .columns
            .iter()
            .map(|c| physical(&c.name))
            .collect::<DbResult<_>>()?;
        let mut sql = format!(
            "SELECT rid{}{} FROM {}",
            if selected.is_empty() { "" } else { ", " },
            selected.join(", "),
            stored.physical
        );
        let (filter, binds) = self.range_sql(stored, scan)?;
        sql.push_str(&filter);
        let query = Query {
            sql: &sql,
            binds: &binds,
            width: selected.len(),
            with_rowid: matches!(scan.range, ScanRange::RowId { .. }),
        };
        let query = &query;
        let conn = &mut self.conn;
        let (sent, server_batches) = mpsc::sync_channel::<DbResult<Fetched>>(FETCH_BATCHES);
        let (recycle, emptied) = mpsc::channel::<Fetched>();
        std::thread::scope(|scope| {
            scope.spawn(move || serve(conn, query, &sent, &emptied));
            let read = deliver(query, &server_batches, &recycle, push);
            // A sink that stopped early leaves the server blocked on a full channel:
            // closing it ends the server's loop.
            drop(server_batches);
            read
        })
    }

    /// A key or bookmark value bound as Oracle receives it: typed by the read's column
    /// (`binds::key_bind`, the plan both backends follow), so a value of another kind
    /// is refused as the driver refuses it, then encoded for comparison.
    fn bound(
        &self,
        stored: &StoredTable,
        scan: &Scan,
        position: usize,
        column: &str,
        value: &Value,
    ) -> DbResult<Option<Vec<u8>>> {
        key_bind(position, scan.column_type(column)?, value)?;
        self.encode_bound(stored, column, value)
    }

    /// The WHERE, ORDER BY and LIMIT of a read, with its binds.
    fn range_sql(
        &self,
        stored: &StoredTable,
        scan: &Scan,
    ) -> DbResult<(String, Vec<Option<Vec<u8>>>)> {
        let range = &scan.range;
        let compared = |name: &String| {
            stored
                .column(name)
                .map(|c| c.compared("?"))
                .ok_or_else(|| DbError::ora(904, format!("\"{name}\": invalid identifier")))
        };
        let limit =
            |n: Option<std::num::NonZeroU64>| n.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
        let mut binds = Vec::new();
        let sql = match range {
            ScanRange::All => String::new(),
            ScanRange::RowId { after, limit: rows } => {
                if stored.table.is_external() {
                    return Err(DbError::ora(
                        2031,
                        "no ROWID for fixed tables or for external-organized tables",
                    ));
                }
                if stored.table.is_view() {
                    return Err(DbError::ora(
                        1446,
                        "cannot select ROWID from, or sample, a view with DISTINCT, GROUP BY, etc. (the simulated backend treats every view as not key-preserved)",
                    ));
                }
                let filter = match after {
                    None => String::new(),
                    Some(RowId(rowid)) => {
                        let rid: i64 = rowid
                            .strip_prefix("SIMROWID")
                            .and_then(|n| n.parse().ok())
                            .ok_or_else(|| DbError::ora(1410, format!("invalid ROWID {rowid}")))?;
                        format!(" WHERE rid > {rid}")
                    }
                };
                format!("{filter} ORDER BY rid{}", limit(*rows))
            }
            ScanRange::FromValue { column, at_least } => {
                let (left, right) = compared(column)?;
                let filter = match at_least {
                    None => String::new(),
                    Some(value) => {
                        binds.push(self.bound(stored, scan, 1, column, value)?);
                        format!(" WHERE {left} >= {right}")
                    }
                };
                format!("{filter} ORDER BY {left}")
            }
            ScanRange::Keyset(range) => {
                let pairs: Vec<(String, String)> =
                    range.keys().iter().map(compared).collect::<DbResult<_>>()?;
                let left: Vec<&str> = pairs.iter().map(|(l, _)| l.as_str()).collect();
                let right: Vec<&str> = pairs.iter().map(|(_, r)| r.as_str()).collect();
                let mut terms = Vec::new();
                for (values, op) in [(range.lower(), ">"), (range.upper(), "<=")] {
                    let Some(values) = values else { continue };
                    terms.push(format!("({}) {op} ({})", left.join(", "), right.join(", ")));
                    for (key, value) in range.keys().iter().zip(values) {
                        let position = binds.len() + 1;
                        binds.push(self.bound(stored, scan, position, key, value)?);
                    }
                }
                let filter = if terms.is_empty() {
                    String::new()
                } else {
                    format!(" WHERE {}", terms.join(" AND "))
                };
                format!(
                    "{filter} ORDER BY {}{}",
                    left.join(", "),
                    limit(range.row_limit())
                )
            }
        };
        Ok((sql, binds))
    }
}

/// A scan's query as the server runs it.
struct Query<'a> {
    sql: &'a str,
    binds: &'a [Option<Vec<u8>>],
    width: usize,
    with_rowid: bool,
}

/// Rows per batch the server hands over, and bytes of stored values past which it
/// hands one over early (wide rows, LOBs).
const FETCH_ROWS: usize = 256;
const FETCH_BYTES: usize = 256 << 10;

/// Batches waiting for the session: with the one being filled and the one being
/// decoded, at most `FETCH_BATCHES + 2` batches (about `(FETCH_BATCHES + 2) *
/// FETCH_BYTES` of stored values, plus one row each) are in flight.
const FETCH_BATCHES: usize = 2;

/// Rows as the server reads them: the stored bytes of every non-NULL cell in one
/// buffer, each cell's place in it, and each row's `rid`.
#[derive(Default)]
struct Fetched {
    data: Vec<u8>,
    cells: Vec<Option<(usize, usize)>>,
    rids: Vec<i64>,
}

impl Fetched {
    fn rows(&self, width: usize) -> usize {
        let by_cells = self.cells.len().checked_div(width).unwrap_or(0);
        self.rids.len().max(by_cells)
    }

    fn push(&mut self, row: &rusqlite::Row<'_>, query: &Query<'_>) -> rusqlite::Result<()> {
        for i in 1..=query.width {
            let cell = match row.get_ref(i)? {
                rusqlite::types::ValueRef::Blob(b) => {
                    let from = self.data.len();
                    self.data.extend_from_slice(b);
                    Some((from, self.data.len()))
                }
                _ => None,
            };
            self.cells.push(cell);
        }
        if query.with_rowid || query.width == 0 {
            self.rids.push(row.get(0)?);
        }
        Ok(())
    }

    fn is_full(&self, width: usize) -> bool {
        self.rows(width) >= FETCH_ROWS || self.data.len() >= FETCH_BYTES
    }

    /// Empties the batch for reuse; a batch that held large values (LOBs) gives their
    /// memory back.
    fn clear(&mut self) {
        if self.data.capacity() > 2 * FETCH_BYTES {
            self.data = Vec::new();
        } else {
            self.data.clear();
        }
        self.cells.clear();
        self.rids.clear();
    }
}

/// The server's side of a scan, on its own thread as a database server is its own
/// process: runs the query and hands its rows over in batches, then any error after
/// the rows read before it. Ends early when the session stops receiving.
fn serve(
    conn: &mut rusqlite::Connection,
    query: &Query<'_>,
    sent: &mpsc::SyncSender<DbResult<Fetched>>,
    emptied: &mpsc::Receiver<Fetched>,
) {
    let mut batch = Fetched::default();
    let outcome = (|| -> rusqlite::Result<()> {
        let mut statement = conn.prepare(query.sql)?;
        let mut rows = statement.query(rusqlite::params_from_iter(query.binds.iter()))?;
        while let Some(row) = rows.next()? {
            batch.push(row, query)?;
            if batch.is_full(query.width) {
                let next = emptied.try_recv().unwrap_or_default();
                if sent.send(Ok(std::mem::replace(&mut batch, next))).is_err() {
                    return Ok(());
                }
            }
        }
        Ok(())
    })();
    if batch.rows(query.width) > 0 && sent.send(Ok(batch)).is_err() {
        return;
    }
    if let Err(e) = outcome {
        let _ = sent.send(Err(sql_err(e)));
    }
}

/// The session's side of a scan: decodes each row the server sends over the last
/// one's values (their buffers reused) and pushes it, until the sink stops.
fn deliver(
    query: &Query<'_>,
    batches: &mpsc::Receiver<DbResult<Fetched>>,
    recycle: &mpsc::Sender<Fetched>,
    push: &mut PushRow<'_>,
) -> DbResult<u64> {
    let width = query.width;
    let mut values = vec![Value::Null; width];
    let mut rowid = String::new();
    let mut count = 0u64;
    for batch in batches {
        let mut batch = batch?;
        for row in 0..batch.rows(width) {
            let cells = batch
                .cells
                .get(row * width..(row + 1) * width)
                .unwrap_or(&[]);
            for (slot, cell) in values.iter_mut().zip(cells) {
                let bytes = cell.map(|(from, to)| &batch.data[from..to]);
                codec::decode_into(bytes, slot).map_err(|e| DbError::Database {
                    code: None,
                    message: format!("corrupt stored value: {e}"),
                })?;
            }
            if query.with_rowid {
                rowid.clear();
                rowid.push_str(&format!("SIMROWID{:012}", batch.rids[row]));
            }
            count += 1;
            let scanned = ScannedRow {
                values: &values,
                rowid: query.with_rowid.then_some(rowid.as_str()),
            };
            if push(scanned).is_break() {
                return Ok(count);
            }
        }
        batch.clear();
        // The server may be done already; then the batch is simply dropped.
        let _ = recycle.send(batch);
    }
    Ok(count)
}
