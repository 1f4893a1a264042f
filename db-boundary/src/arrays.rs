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
//! sizes here are the driver's fixed buffers; text longer than 32,767 bytes and LOBs are
//! "dynamic" in ODPI-C (grown as values arrive) and counted at their bookkeeping size.

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

/// What each element costs besides its data: the indicator (2 bytes), the actual
/// length (4) and alignment.
const ELEMENT_OVERHEAD: u64 = 8;

/// A dynamic element's bookkeeping (`dpiDynamicBytes`), and a LOB's locator pointer
/// with its descriptor.
const DYNAMIC_ELEMENT: u64 = 16;

/// A pointer to an OCI descriptor (timestamps, intervals, LOB locators) and the
/// descriptor itself, which OCI allocates per element.
const DESCRIPTOR_ELEMENT: u64 = 8 + 64;

/// The data size of one element of a text buffer declared `size` (characters, or bytes
/// when `size_is_bytes`), as ODPI-C computes it; `None` when it is dynamic.
fn text_element(size: u32, size_is_bytes: bool) -> Option<u64> {
    let bytes = if size_is_bytes {
        u64::from(size.max(1))
    } else {
        u64::from(size.max(1)) * CLIENT_BYTES_PER_CHAR
    };
    (bytes <= MAX_BASIC_ELEMENT).then_some(bytes)
}

/// Bytes one element of a bind of type `bind` takes in the driver's buffer (the
/// fixed part: see [`text_element`] for text).
pub fn bind_element_bytes(bind: BindType) -> u64 {
    let data = match bind {
        BindType::Varchar2(n) | BindType::Char(n) | BindType::NVarchar2(n) | BindType::NChar(n) => {
            text_element(n, false).unwrap_or(DYNAMIC_ELEMENT)
        }
        BindType::Raw(n) => text_element(n, true).unwrap_or(DYNAMIC_ELEMENT),
        // ODPI-C's OCINumber.
        BindType::Number => 22,
        BindType::BinaryFloat | BindType::Boolean => 4,
        BindType::BinaryDouble => 8,
        // dpiOciDate.
        BindType::Date => 8,
        BindType::Timestamp
        | BindType::TimestampTz
        | BindType::IntervalYm
        | BindType::IntervalDs => DESCRIPTOR_ELEMENT,
        // Sent as LONG / LONG RAW data: dynamic.
        BindType::Clob | BindType::NClob | BindType::Blob => DYNAMIC_ELEMENT,
    };
    data + ELEMENT_OVERHEAD
}

/// Bytes one fetched element of a column of `data_type` takes in the driver's define
/// buffer. The crate defines a `VARCHAR2` column by its size in bytes as described by
/// the server, counted again as characters (so x4); a `CHAR`-semantics column is taken
/// at 4,000 bytes at most (MAX_STRING_SIZE = STANDARD, the default).
pub fn fetch_element_bytes(data_type: &OracleType) -> u64 {
    use OracleType as T;
    let data = match data_type {
        T::Varchar2 { length, semantics } | T::Char { length, semantics } => {
            let described = match semantics {
                LengthSemantics::Byte => *length,
                LengthSemantics::Char => length.saturating_mul(4).min(4000),
            };
            text_element(described, false).unwrap_or(DYNAMIC_ELEMENT)
        }
        T::NVarchar2 { length } | T::NChar { length } => {
            text_element(*length, false).unwrap_or(DYNAMIC_ELEMENT)
        }
        T::Raw { length } => text_element(*length, true).unwrap_or(DYNAMIC_ELEMENT),
        // Fetched as their text: ROWIDTOCHAR is VARCHAR2(18), a UROWID up to its length.
        T::RowId => 18 * CLIENT_BYTES_PER_CHAR,
        T::URowId { length } => text_element(*length, false).unwrap_or(DYNAMIC_ELEMENT),
        T::Number { .. } | T::Float { .. } => 22,
        T::BinaryFloat | T::Boolean => 4,
        T::BinaryDouble => 8,
        T::Date => 8,
        T::Timestamp { .. }
        | T::TimestampTz { .. }
        | T::TimestampLtz { .. }
        | T::IntervalYearToMonth { .. }
        | T::IntervalDayToSecond { .. } => DESCRIPTOR_ELEMENT,
        // Locators (LOBs and the CLOB text of JSON, VECTOR and XMLTYPE), LONG data.
        T::Clob
        | T::NClob
        | T::Blob
        | T::Bfile
        | T::Long
        | T::LongRaw
        | T::Json
        | T::Vector
        | T::XmlType
        | T::Other { .. } => DESCRIPTOR_ELEMENT,
    };
    data + ELEMENT_OVERHEAD
}

/// Rows per array for variables whose elements take `element_bytes`: as many as
/// [`ARRAY_BUFFER_BUDGET`] holds, at least one, at most `wanted`.
pub fn rows_within_budget(element_bytes: impl IntoIterator<Item = u64>, wanted: usize) -> usize {
    let per_row: u64 = element_bytes.into_iter().sum::<u64>().max(1);
    let fit = usize::try_from(ARRAY_BUFFER_BUDGET / per_row).unwrap_or(usize::MAX);
    fit.clamp(1, wanted.max(1))
}

/// Refuses an array of `rows` as the driver does: DPI-1015 when one variable's buffer
/// (`rows x element`) would pass [`MAX_VARIABLE_BYTES`].
pub fn check_array(element_bytes: impl IntoIterator<Item = u64>, rows: usize) -> DbResult<()> {
    let rows_u64 = rows as u64;
    for element in element_bytes {
        // The driver's own check is on the data buffer, without the indicator.
        let data = element.saturating_sub(ELEMENT_OVERHEAD);
        if rows_u64.saturating_mul(data) > MAX_VARIABLE_BYTES {
            return Err(DbError::Database {
                code: None,
                message: format!("DPI-1015: array size of {rows} is too large"),
            });
        }
    }
    Ok(())
}

impl BindPlan {
    /// The driver buffer bytes of one row of this plan's binds, bind by bind.
    pub fn element_bytes(&self) -> impl Iterator<Item = u64> + '_ {
        self.binds.iter().map(|b| bind_element_bytes(b.bind))
    }

    /// The executions an array DML statement of `rows` rows takes: consecutive ranges
    /// of at most [`rows_within_budget`] rows, in order.
    pub fn executions(&self, rows: usize) -> impl Iterator<Item = Range<usize>> {
        let step = rows_within_budget(self.element_bytes(), rows);
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
        .map(|c| fetch_element_bytes(&c.data_type))
        .chain(with_rowid.then(|| fetch_element_bytes(&OracleType::RowId)));
    u32::try_from(rows_within_budget(elements, wanted as usize)).unwrap_or(wanted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ColumnDef;

    fn col(name: &str, t: &str) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            data_type: OracleType::parse(t).unwrap(),
            nullable: true,
            check: None,
        }
    }

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
        assert_eq!(bind_element_bytes(BindType::Varchar2(4000)), 16_000 + 8);
        assert_eq!(bind_element_bytes(BindType::Raw(2000)), 2000 + 8);
        // Past the basic buffer's size the driver allocates per value.
        assert_eq!(bind_element_bytes(BindType::Varchar2(32_767)), 16 + 8);
        assert_eq!(
            fetch_element_bytes(&OracleType::parse("VARCHAR2(4000 CHAR)").unwrap()),
            16_000 + 8
        );
        assert_eq!(
            fetch_element_bytes(&OracleType::parse("VARCHAR2(100 BYTE)").unwrap()),
            400 + 8
        );
        // 100 characters are described as 400 bytes, then counted as characters again.
        assert_eq!(
            fetch_element_bytes(&OracleType::parse("VARCHAR2(100 CHAR)").unwrap()),
            1600 + 8
        );
    }

    #[test]
    fn a_wide_batch_runs_in_several_executions_covering_every_row_once() {
        let plan = BindPlan::for_columns(&orders()).unwrap();
        let per_row: u64 = plan.element_bytes().sum();
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
            check_array(plan.element_bytes(), r.len()).unwrap();
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
        check_array(plan.element_bytes(), 134_217).unwrap();
        let err = check_array(plan.element_bytes(), 134_218).unwrap_err();
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
        assert!(u64::from(rows) * 20 * 16_008 <= ARRAY_BUFFER_BUDGET);
    }
}
