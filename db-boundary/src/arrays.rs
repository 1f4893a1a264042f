//! How many rows one array DML execution or one fetch round trip may carry.
//!
//! The driver (ODPI-C under the `oracle` crate) gives every bind and every fetched
//! column one buffer of `rows x element size`, allocated up front at the declared size,
//! not at the values' size (`dpiVar__initBuffer`). Text sizes count characters and the
//! crate opens its environment in UTF-8, so an element of a `VARCHAR2(4000)` takes
//! 16,000 bytes: 10,000 rows of one such column is 160 MB, whatever the values hold.
//! Past `i32::MAX` bytes for one variable the driver refuses the array outright
//! (DPI-1015), so a 10,000-row batch of a wide table would first eat memory and then
//! fail.
//!
//! So an array holds as many rows as fit [`ARRAY_BUFFER_BUDGET`], and at least one. The
//! sizes here are the driver's buffers for one element. Text longer than 32,767 bytes
//! and fetched LOBs are "dynamic" in ODPI-C: each value gets a 64 KiB chunk at least
//! (`dpiVar__allocateChunks`), which is what they are counted at, as are CLOB and BLOB
//! columns' binds (LONG data).

use std::ops::Range;

use singer_core::oracle_type::{LengthSemantics, OracleType};
use singer_core::type_table::BindType;

use crate::{BindPlan, DbError, DbResult, ScanColumn};

/// Bytes of driver buffers one array (all its variables together) may take. At 32 MiB
/// a 12-column table with a `VARCHAR2(4000)` column still moves about 1,800 rows a round
/// trip, and a table of narrow columns the whole batch.
pub const ARRAY_BUFFER_BUDGET: u64 = 32 << 20;

/// Bytes per character of the client character set: the `oracle` crate creates its
/// environment with UTF-8 (AL32UTF8) for both CHAR and NCHAR data.
pub const CLIENT_BYTES_PER_CHAR: u64 = 4;

/// ODPI-C's `DPI_MAX_BASIC_BUFFER_SIZE`: a larger element is allocated per value
/// ("dynamic") instead of in the array's buffer.
pub const MAX_BASIC_ELEMENT: u64 = 32_767;

/// The largest buffer one driver variable may have (`rows x element`): DPI-1015 beyond.
pub const MAX_VARIABLE_BYTES: u64 = i32::MAX as u64;

/// What each element costs besides its data: its `dpiData` (48 bytes), the indicator
/// (2), the actual length (4) and alignment.
const ELEMENT_OVERHEAD: u64 = 56;

/// A dynamic element: its `dpiDynamicBytes` and the 64 KiB chunk ODPI-C gives the
/// first value it holds (`DPI_DYNAMIC_BYTES_CHUNK_SIZE`), kept for the array's life.
const DYNAMIC_ELEMENT: u64 = 16 + 65_536;

/// A fetched LOB: a dynamic element that keeps, fetch after fetch, the largest value
/// its row slot held. Counted at 256 KiB (128 rows a round trip for one LOB column);
/// a table of larger LOBs holds more, up to its LOBs' size times the fetch array.
const FETCHED_LOB_ELEMENT: u64 = 16 + 256 * 1024;

/// NUMBER, bound and fetched as text: the OCINumber (22 bytes) and the text buffer
/// ODPI-C converts through (172).
const NUMBER_ELEMENT: u64 = 22 + 172;

/// A pointer to an OCI descriptor (timestamps, intervals, LOB locators) and the
/// descriptor itself, which OCI allocates per element.
const DESCRIPTOR_ELEMENT: u64 = 8 + 64;

/// What one array element of a driver variable costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    /// Its slice of the variable's data buffer (`sizeInBytes`; 0 when dynamic): the
    /// buffer DPI-1015 limits.
    pub buffer: u64,
    /// Everything it takes: the buffer slice, its `dpiData`, indicator and length, and
    /// per-element allocations (descriptors, number text, dynamic chunks).
    pub total: u64,
}

impl Element {
    fn fixed(buffer: u64) -> Element {
        Element {
            buffer,
            total: buffer + ELEMENT_OVERHEAD,
        }
    }

    fn allocated(bytes: u64) -> Element {
        Element {
            buffer: 0,
            total: bytes + ELEMENT_OVERHEAD,
        }
    }

    /// A text buffer declared `size` (characters, or bytes when `size_is_bytes`), as
    /// ODPI-C sizes it: dynamic past [`MAX_BASIC_ELEMENT`].
    fn text(size: u32, size_is_bytes: bool) -> Element {
        let bytes = if size_is_bytes {
            u64::from(size.max(1))
        } else {
            u64::from(size.max(1)) * CLIENT_BYTES_PER_CHAR
        };
        if bytes <= MAX_BASIC_ELEMENT {
            Element::fixed(bytes)
        } else {
            Element::allocated(DYNAMIC_ELEMENT)
        }
    }
}

/// One element of a bind of type `bind`.
pub fn bind_element(bind: BindType) -> Element {
    match bind {
        BindType::Varchar2(n) | BindType::Char(n) | BindType::NVarchar2(n) | BindType::NChar(n) => {
            Element::text(n, false)
        }
        BindType::Raw(n) => Element::text(n, true),
        BindType::Number => Element {
            buffer: 22,
            total: NUMBER_ELEMENT + ELEMENT_OVERHEAD,
        },
        BindType::BinaryFloat | BindType::Boolean => Element::fixed(4),
        BindType::BinaryDouble => Element::fixed(8),
        // dpiOciDate.
        BindType::Date => Element::fixed(8),
        // Data sent with the row: dynamic, a 64 KiB chunk a value at least.
        BindType::Long | BindType::LongRaw => Element::allocated(DYNAMIC_ELEMENT),
        // A pointer per element to a descriptor of its own; for LOBs, a temporary LOB's
        // locator (the data goes by LOB writes).
        BindType::Timestamp
        | BindType::TimestampTz
        | BindType::IntervalYm
        | BindType::IntervalDs
        | BindType::Clob
        | BindType::NClob
        | BindType::Blob => Element {
            buffer: 8,
            total: DESCRIPTOR_ELEMENT + ELEMENT_OVERHEAD,
        },
    }
}

/// One fetched element of a column of `data_type`. The crate defines a `VARCHAR2`
/// column by its size in bytes as the server describes it, counted again as characters
/// (so x4). A `CHAR`-semantics column is described at 4,000 bytes at most with
/// MAX_STRING_SIZE = STANDARD (the default); with EXTENDED strings it may take up to
/// twice what is counted here.
pub fn fetch_element(data_type: &OracleType) -> Element {
    use OracleType as T;
    match data_type {
        T::Varchar2 { length, semantics } | T::Char { length, semantics } => {
            let described = match semantics {
                LengthSemantics::Byte => *length,
                LengthSemantics::Char => length.saturating_mul(4).min(4000),
            };
            Element::text(described, false)
        }
        T::NVarchar2 { length } | T::NChar { length } => Element::text(*length, false),
        T::Raw { length } => Element::text(*length, true),
        // Fetched as their text: ROWIDTOCHAR is VARCHAR2(18), a UROWID up to its length.
        T::RowId => Element::text(18, false),
        T::URowId { length } => Element::text(*length, false),
        T::Number { .. } | T::Float { .. } => bind_element(BindType::Number),
        T::BinaryFloat => Element::fixed(4),
        T::BinaryDouble => Element::fixed(8),
        T::Date => Element::fixed(8),
        // Text the server makes: `'true'` or `'false'`; `TO_CHAR`, at most 75 bytes.
        T::Boolean => Element::text(5, false),
        T::TimestampTz { .. } | T::TimestampLtz { .. } => Element::text(75, false),
        T::Timestamp { .. }
        | T::IntervalYearToMonth { .. }
        | T::IntervalDayToSecond { .. }
        | T::Bfile
        | T::Other { .. } => bind_element(BindType::Timestamp),
        // Fetched whole, as LONG data (the crate's queries take LOBs as bytes), like the
        // CLOB text of JSON, VECTOR and XMLTYPE: dynamic, kept at the largest value.
        T::Clob | T::NClob | T::Blob | T::Long | T::LongRaw | T::Json | T::Vector | T::XmlType => {
            Element::allocated(FETCHED_LOB_ELEMENT)
        }
    }
}

/// Rows per array of `elements` (one per variable): as many as [`ARRAY_BUFFER_BUDGET`]
/// holds, at least one, at most `wanted`.
pub fn rows_within_budget(elements: impl IntoIterator<Item = Element>, wanted: usize) -> usize {
    let per_row: u64 = elements.into_iter().map(|e| e.total).sum::<u64>().max(1);
    let fit = usize::try_from(ARRAY_BUFFER_BUDGET / per_row).unwrap_or(usize::MAX);
    fit.clamp(1, wanted.max(1))
}

/// Refuses an array of `rows` as the driver does: DPI-1015 when one variable's data
/// buffer (`rows x buffer`) would pass [`MAX_VARIABLE_BYTES`] (`dpiVar__initBuffer`).
pub fn check_array(elements: impl IntoIterator<Item = Element>, rows: usize) -> DbResult<()> {
    let too_large = elements
        .into_iter()
        .any(|e| (rows as u64).saturating_mul(e.buffer) > MAX_VARIABLE_BYTES);
    if too_large {
        return Err(DbError::Database {
            code: None,
            message: format!("DPI-1015: array size of {rows} is too large"),
        });
    }
    Ok(())
}

impl BindPlan {
    /// One row of this plan's binds in the driver's buffers, bind by bind.
    pub fn elements(&self) -> impl Iterator<Item = Element> + '_ {
        self.binds.iter().map(|b| bind_element(b.bind))
    }

    /// The executions an array DML statement of `rows` rows takes: consecutive ranges
    /// of at most [`rows_within_budget`] rows, in order.
    pub fn executions(&self, rows: usize) -> impl Iterator<Item = Range<usize>> {
        let step = rows_within_budget(self.elements(), rows);
        (0..rows)
            .step_by(step)
            .map(move |start| start..(start + step).min(rows))
    }
}

/// The fetch array size of a read of `columns` (plus a ROWID when `with_rowid`) when
/// `wanted` rows a round trip are asked for.
pub fn fetch_rows(columns: &[ScanColumn], with_rowid: bool, wanted: u32) -> u32 {
    let elements = columns
        .iter()
        .map(|c| fetch_element(&c.data_type))
        .chain(with_rowid.then(|| fetch_element(&OracleType::RowId)));
    u32::try_from(rows_within_budget(elements, wanted as usize)).unwrap_or(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binds::tests::col;
    use crate::ColumnDef;

    fn orders() -> Vec<ColumnDef> {
        vec![
            col("ORDER_ID", "NUMBER"),
            col("AMOUNT", "NUMBER"),
            col("STATUS", "VARCHAR2(20 CHAR)"),
            col("SHIP_ADDRESS", "VARCHAR2(400 CHAR)"),
            col("NOTES", "VARCHAR2(4000 CHAR)"),
            col("UPDATED_AT", "TIMESTAMP(6) WITH TIME ZONE"),
        ]
    }

    #[test]
    fn a_varchar2_4000_element_is_16000_bytes_as_the_driver_sizes_it() {
        let fetched = |t: &str| fetch_element(&OracleType::parse(t).unwrap()).buffer;
        assert_eq!(bind_element(BindType::Varchar2(4000)).buffer, 16_000);
        assert_eq!(bind_element(BindType::Raw(2000)).buffer, 2000);
        assert_eq!(fetched("VARCHAR2(4000 CHAR)"), 16_000);
        assert_eq!(fetched("VARCHAR2(100 BYTE)"), 400);
        // 100 characters are described as 400 bytes, then counted as characters again.
        assert_eq!(fetched("VARCHAR2(100 CHAR)"), 1600);
        // Past the basic buffer's size the driver allocates per value, a 64 KiB chunk
        // at least: nothing in the array's buffer, more than a basic element in all.
        let long = bind_element(BindType::Varchar2(32_767));
        assert_eq!(long.buffer, 0);
        assert!(long.total > 65_536, "{long:?}");
        // A fetched CLOB is LONG data, whose buffer keeps the largest value it held.
        let clob = fetch_element(&OracleType::Clob);
        assert!(clob.total > 256 * 1024, "{clob:?}");
        // Every element costs its dpiData besides its buffer.
        assert!(bind_element(BindType::Date).total > 48);
    }

    #[test]
    fn a_wide_batch_runs_in_several_executions_covering_every_row_once() {
        let plan = BindPlan::for_columns(&orders()).unwrap();
        let per_row: u64 = plan.elements().map(|e| e.total).sum();
        let ranges: Vec<Range<usize>> = plan.executions(10_000).collect();
        assert!(ranges.len() > 1, "{ranges:?}");
        let mut next = 0;
        for r in &ranges {
            assert_eq!(r.start, next);
            assert!(!r.is_empty());
            assert!((r.len() as u64) * per_row <= ARRAY_BUFFER_BUDGET, "{r:?}");
            next = r.end;
        }
        assert_eq!(next, 10_000);
        // Each execution passes the driver's own limit.
        for r in ranges {
            check_array(plan.elements(), r.len()).unwrap();
        }
    }

    #[test]
    fn a_narrow_batch_runs_in_one_execution() {
        let plan = BindPlan::for_columns(&[col("ID", "NUMBER"), col("N", "VARCHAR2(30)")]).unwrap();
        assert_eq!(plan.executions(10_000).collect::<Vec<_>>(), vec![0..10_000]);
        assert_eq!(plan.executions(0).count(), 0);
    }

    #[test]
    fn a_row_wider_than_the_budget_still_goes_one_at_a_time() {
        let wide: Vec<ColumnDef> = (0..3000)
            .map(|i| col(&format!("C{i}"), "VARCHAR2(4000)"))
            .collect();
        let plan = BindPlan::for_columns(&wide).unwrap();
        assert_eq!(
            plan.executions(3).collect::<Vec<_>>(),
            vec![0..1, 1..2, 2..3]
        );
    }

    #[test]
    fn the_driver_refuses_a_variable_past_two_gigabytes() {
        let plan = BindPlan::for_columns(&[col("NOTES", "VARCHAR2(4000 CHAR)")]).unwrap();
        // 16,000 bytes x 134,217 rows fits i32::MAX; one row more does not.
        check_array(plan.elements(), 134_217).unwrap();
        let err = check_array(plan.elements(), 134_218).unwrap_err();
        assert!(err.to_string().contains("DPI-1015"), "{err}");
    }

    #[test]
    fn fetch_arrays_shrink_for_wide_rows_and_keep_the_asked_size_otherwise() {
        let scan = |types: &[&str]| -> Vec<ScanColumn> {
            types
                .iter()
                .enumerate()
                .map(|(i, t)| ScanColumn::new(format!("C{i}"), OracleType::parse(t).unwrap()))
                .collect()
        };
        let narrow = scan(&["NUMBER", "VARCHAR2(100)", "DATE"]);
        assert_eq!(fetch_rows(&narrow, true, 1000), 1000);
        let wide = scan(&["VARCHAR2(4000)"; 20]);
        let rows = fetch_rows(&wide, false, 1000);
        assert!((100..1000).contains(&rows), "{rows}");
        assert!(u64::from(rows) * 20 * 16_000 <= ARRAY_BUFFER_BUDGET);
        // A CLOB column alone (256 KiB a row) fetches about 128 rows a round trip.
        let with_clob = scan(&["NUMBER", "CLOB"]);
        let rows = fetch_rows(&with_clob, false, 1000);
        assert!((100..=128).contains(&rows), "{rows}");
    }
}
