//! Tests of the two-thread scan: order, errors both ways, early close, bounded memory.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use db_boundary::{
    DbError, DbResult, DictionaryScope, FetchTuning, PushRow, Scan, ScanColumn, ScanError,
    ScanRange, ScannedRow, ServerInfo, SessionContext, Source, TableRef, Value,
};
use singer_core::dictionary::DictionaryRows;
use singer_core::oracle_type::OracleType;

use super::*;

/// A source of `rows` rows (a number, a text of `text_bytes` bytes or NULL, a ROWID),
/// failing with ORA-01555 after them when `fail`; it counts the rows it pushed.
struct Rows {
    rows: usize,
    text_bytes: usize,
    fail: bool,
    /// Every third row's text is NULL.
    nulls: bool,
    pushed: Arc<AtomicUsize>,
}

impl Rows {
    fn new(rows: usize) -> Rows {
        Rows {
            rows,
            text_bytes: 40,
            fail: false,
            nulls: true,
            pushed: Arc::default(),
        }
    }

    fn row(&self, n: usize) -> (Vec<Value>, String) {
        let text = if self.nulls && n.is_multiple_of(3) {
            Value::Null
        } else {
            let mut text = "x".repeat(self.text_bytes.saturating_sub(8));
            text.push_str(&format!("{n:08}"));
            Value::Text(text)
        };
        (
            vec![Value::number(&n.to_string()), text],
            format!("AAAR{n:012}"),
        )
    }
}

impl Source for Rows {
    fn server_info(&mut self) -> DbResult<ServerInfo> {
        Err(DbError::Unsupported("test source".into()))
    }
    fn set_context(&mut self, _: &SessionContext) -> DbResult<()> {
        Ok(())
    }
    fn read_dictionary(&mut self, _: &DictionaryScope) -> DbResult<DictionaryRows> {
        Err(DbError::Unsupported("test source".into()))
    }
    fn current_scn(&mut self) -> DbResult<u64> {
        Ok(1)
    }
    fn chunk_bounds(
        &mut self,
        _: &TableRef,
        _: &[ScanColumn],
        _: u32,
        _: Option<u64>,
    ) -> DbResult<Vec<Vec<Value>>> {
        Ok(Vec::new())
    }
    fn scan(&mut self, _: &Scan, push: &mut PushRow<'_>) -> DbResult<u64> {
        for n in 0..self.rows {
            let (values, rowid) = self.row(n);
            self.pushed.fetch_add(1, Ordering::SeqCst);
            let row = ScannedRow {
                values: &values,
                rowid: (!n.is_multiple_of(5)).then_some(rowid.as_str()),
            };
            if let ControlFlow::Break(()) = push(row) {
                return Ok(n as u64 + 1);
            }
        }
        if self.fail {
            return Err(DbError::ora(1555, "snapshot too old"));
        }
        Ok(self.rows as u64)
    }
}

fn scan() -> Scan {
    Scan {
        table: TableRef {
            owner: "O".into(),
            table: "T".into(),
        },
        columns: vec![
            ScanColumn::new(
                "N",
                OracleType::Number {
                    precision: None,
                    scale: None,
                },
            ),
            ScanColumn::new("S", OracleType::Clob),
        ],
        range: ScanRange::All,
        as_of_scn: None,
        tuning: FetchTuning::default(),
    }
}

type Seen = Vec<(Vec<Value>, Option<String>)>;

/// The rows as the single-threaded scan delivers them.
fn direct(source: &mut Rows) -> (Result<u64, ScanError<String>>, Seen) {
    let mut seen = Vec::new();
    let result = db_boundary::scan_into(source, &scan(), &mut |row: ScannedRow<'_>| {
        seen.push((row.values.to_vec(), row.rowid.map(str::to_owned)));
        Ok::<(), String>(())
    });
    (result, seen)
}

fn piped(source: &mut Rows) -> (Result<u64, ScanError<String>>, Seen) {
    let mut seen = Vec::new();
    let result = scan_into(source, &scan(), &mut |row: ScannedRow<'_>| {
        seen.push((row.values.to_vec(), row.rowid.map(str::to_owned)));
        Ok::<(), String>(())
    });
    (result, seen)
}

#[test]
fn every_row_and_rowid_arrives_once_in_order_across_batches() {
    let n = 3 * BATCH_ROWS + 17;
    let (result, seen) = piped(&mut Rows::new(n));
    let (expected_result, expected) = direct(&mut Rows::new(n));
    assert_eq!(result.unwrap(), expected_result.unwrap());
    assert_eq!(seen.len(), n);
    assert_eq!(seen, expected);
}

#[test]
fn batches_of_large_values_keep_their_order_too() {
    let mut source = Rows::new(40);
    source.text_bytes = BATCH_BYTES / 3;
    let (_, seen) = piped(&mut source);
    let mut again = Rows::new(40);
    again.text_bytes = BATCH_BYTES / 3;
    assert_eq!(seen, direct(&mut again).1);
}

#[test]
fn a_sink_error_stops_the_scan_and_comes_back_unchanged() {
    let mut source = Rows::new(100 * BATCH_ROWS);
    let pushed = Arc::clone(&source.pushed);
    let mut seen = 0;
    let result = scan_into(&mut source, &scan(), &mut |_: ScannedRow<'_>| {
        seen += 1;
        if seen == 1500 {
            return Err("stdout closed".to_owned());
        }
        Ok(())
    });
    match result {
        Err(ScanError::Stopped(e)) => assert_eq!(e, "stdout closed"),
        other => panic!("{other:?}"),
    }
    assert_eq!(seen, 1500);
    // The fetching stopped within the batches in flight, not at the end of the table.
    let pushed = pushed.load(Ordering::SeqCst);
    assert!(
        pushed <= 1500 + (CHANNEL_BATCHES + 2) * BATCH_ROWS,
        "{pushed}"
    );
}

#[test]
fn a_sink_failing_on_the_first_row_ends_without_deadlock() {
    // As a closed stdout does: the sink fails at once while the fetching is far ahead
    // of it or blocked on a full channel.
    for rows in [1, BATCH_ROWS, 50 * BATCH_ROWS] {
        let mut source = Rows::new(rows);
        let result = scan_into(&mut source, &scan(), &mut |_: ScannedRow<'_>| {
            Err("broken pipe".to_owned())
        });
        assert!(matches!(result, Err(ScanError::Stopped(ref e)) if e == "broken pipe"));
    }
}

#[test]
fn rows_read_before_a_database_error_all_reach_the_sink_then_the_error() {
    let mut source = Rows::new(BATCH_ROWS + 5);
    source.fail = true;
    let (result, seen) = piped(&mut source);
    match result {
        Err(ScanError::Database(e)) => assert_eq!(e.ora_code(), Some(1555)),
        other => panic!("{other:?}"),
    }
    let mut again = Rows::new(BATCH_ROWS + 5);
    again.fail = true;
    let (direct_result, expected) = direct(&mut again);
    assert!(matches!(direct_result, Err(ScanError::Database(_))));
    assert_eq!(seen, expected);
}

#[test]
fn a_slow_sink_holds_the_fetching_to_a_few_batches_of_large_rows() {
    // 1 MB values: batches go by bytes, and the channel bounds how far the fetching
    // runs ahead of the sink, so memory stays flat however long the table.
    let mut source = Rows::new(64);
    source.text_bytes = 1_000_000;
    source.nulls = false;
    let pushed = Arc::clone(&source.pushed);
    let mut consumed = 0usize;
    let mut ahead = 0usize;
    let result = scan_into(&mut source, &scan(), &mut |_: ScannedRow<'_>| {
        consumed += 1;
        std::thread::sleep(std::time::Duration::from_millis(2));
        ahead = ahead.max(pushed.load(Ordering::SeqCst) - consumed);
        Ok::<(), String>(())
    });
    assert_eq!(result.unwrap(), 64);
    let rows_per_batch = BATCH_BYTES / 1_000_000 + 1;
    // Batches in the sink, in the channel and blocked in a send, and the row being read.
    let bound = (CHANNEL_BATCHES + 2) * rows_per_batch + 1;
    assert!(
        ahead <= bound,
        "fetching ran {ahead} rows ahead (bound {bound})"
    );
    assert!(ahead >= 2, "no overlap at all: {ahead}");
}

#[test]
fn an_emptied_batch_frees_large_buffers_and_keeps_small_ones() {
    let small = Rows::new(10);
    let mut batch = Batch::default();
    for n in 0..10 {
        let (values, rowid) = small.row(n);
        batch.push(ScannedRow {
            values: &values,
            rowid: Some(&rowid),
        });
    }
    batch.clear();
    assert_eq!(batch.values.len(), 20, "small buffers are kept for reuse");
    let big = Value::Text("y".repeat(RETAIN_BYTES + 1));
    batch.push(ScannedRow {
        values: &[Value::number("1"), big],
        rowid: None,
    });
    batch.clear();
    assert!(batch.values.is_empty() && batch.values.capacity() == 0);
}

#[test]
fn auto_pipelines_only_with_two_idle_cpus_a_reader() {
    assert!(Pipelining::Auto.enabled(1, 2, Some(0.0)));
    assert!(!Pipelining::Auto.enabled(1, 2, Some(0.5)), "a busy CPU");
    assert!(
        !Pipelining::Auto.enabled(1, 2, Some(3.4)),
        "a saturated machine"
    );
    assert!(!Pipelining::Auto.enabled(1, 2, None), "load unknown");
    assert!(!Pipelining::Auto.enabled(1, 1, Some(0.0)));
    assert!(!Pipelining::Auto.enabled(2, 2, Some(0.0)));
    assert!(Pipelining::Auto.enabled(2, 8, Some(3.0)));
    assert!(Pipelining::On.enabled(8, 1, Some(9.0)));
    assert!(!Pipelining::Off.enabled(1, 64, Some(0.0)));
    assert_eq!(Pipelining::from_setting("on"), Pipelining::On);
    assert_eq!(Pipelining::from_setting("off"), Pipelining::Off);
    assert_eq!(Pipelining::from_setting("auto"), Pipelining::Auto);
}
