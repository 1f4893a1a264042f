//! Bind plans: the Oracle type, size and order of every bind of an array INSERT or
//! MERGE, decided from the columns' definitions before any row is appended (issue 11,
//! item 1), and the check every value passes against its bind.
//!
//! Both backends follow the same plan: `oracle-backend` calls `Batch::set_type` with it
//! and writes its SQL in plan order; the simulated backend refuses exactly what the
//! check refuses. A plan never depends on the values, so a NULL first row cannot make
//! a column's bind NVARCHAR2 (the `oracle` crate fixes a batch's bind types at the
//! first row and can never change them).

use singer_core::oracle_type::{LengthSemantics, OracleType};
use singer_core::type_table::{BindType, ValueKind};

use crate::{ColumnDef, DbError, DbResult, Value};

/// One bind of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedBind {
    /// The column it fills, exact case.
    pub column: String,
    /// Where its value sits in a caller's row (the caller's column order).
    pub slot: usize,
    pub bind: BindType,
    /// The column's length for text and RAW columns: longer values are refused per
    /// row with ORA-12899 naming the column, before anything is bound.
    pub limit: Option<TextLimit>,
}

/// How long a value a column holds: characters or bytes (RAW: bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    pub length: u32,
    pub semantics: LengthSemantics,
}

impl TextLimit {
    fn of(data_type: &OracleType) -> Option<TextLimit> {
        let (length, semantics) = match *data_type {
            OracleType::Varchar2 { length, semantics } | OracleType::Char { length, semantics } => {
                (length, semantics)
            }
            OracleType::NVarchar2 { length } | OracleType::NChar { length } => {
                (length, LengthSemantics::Char)
            }
            OracleType::Raw { length } => (length, LengthSemantics::Byte),
            _ => return None,
        };
        Some(TextLimit { length, semantics })
    }

    /// The value's length in this limit's unit, for text and bytes.
    fn measure(self, value: &Value) -> Option<usize> {
        match (value, self.semantics) {
            (Value::Text(t), LengthSemantics::Byte) => Some(t.len()),
            (Value::Text(t), LengthSemantics::Char) => Some(t.chars().count()),
            (Value::Bytes(b), _) => Some(b.len()),
            _ => None,
        }
    }
}

/// The binds of one statement in bind order: every LOB bind after every other bind
/// (ORA-24816 otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindPlan {
    pub binds: Vec<PlannedBind>,
}

impl BindPlan {
    /// The plan for `columns` (a caller's column order).
    pub fn for_columns(columns: &[ColumnDef]) -> DbResult<BindPlan> {
        // Oracle takes more than 4,000 bytes of data for a LONG column or for LOB
        // columns in one statement, not both (OCI-22295): beside a LONG column, LOB
        // columns take temporary LOBs.
        let long_column = columns
            .iter()
            .any(|c| matches!(c.data_type, OracleType::Long | OracleType::LongRaw));
        let mut binds = columns
            .iter()
            .enumerate()
            .map(|(slot, c)| {
                let bind = c.data_type.bind_type().ok_or_else(|| {
                    DbError::Unsupported(format!(
                        "binding values for column \"{}\" of type {}",
                        c.name, c.data_type
                    ))
                })?;
                let bind = match (&c.data_type, long_column) {
                    (OracleType::Clob, true) => BindType::Clob,
                    (OracleType::Blob, true) => BindType::Blob,
                    _ => bind,
                };
                Ok(PlannedBind {
                    column: c.name.clone(),
                    slot,
                    bind,
                    limit: TextLimit::of(&c.data_type),
                })
            })
            .collect::<DbResult<Vec<_>>>()?;
        // A stable sort keeps the caller's order within each group.
        binds.sort_by_key(|b| b.bind.group());
        Ok(BindPlan { binds })
    }

    /// Refuses binds out of their groups' order as Oracle does (ORA-24816): a bind
    /// that may hold more than 4,000 bytes after a LONG or LOB bind.
    pub fn check_order(&self) -> DbResult<()> {
        let misplaced = self
            .binds
            .windows(2)
            .find(|pair| pair[1].bind.group() < pair[0].bind.group());
        match misplaced {
            Some(pair) => Err(DbError::ora(
                24816,
                format!(
                    "Expanded non LONG bind data supplied after actual LONG or LOB column \
                     (\"{}\" {} after \"{}\" {})",
                    pair[1].column, pair[1].bind, pair[0].column, pair[0].bind
                ),
            )),
            None => Ok(()),
        }
    }

    /// Column names in bind order.
    pub fn columns(&self) -> Vec<String> {
        self.binds.iter().map(|b| b.column.clone()).collect()
    }

    /// One line per bind (`:1 "ID" NUMBER`), for snapshots and debug logs.
    pub fn describe(&self) -> String {
        self.binds
            .iter()
            .enumerate()
            .map(|(i, b)| format!(":{} \"{}\" {}\n", i + 1, b.column, b.bind))
            .collect()
    }

    /// Checks that no text or RAW value of `row` is longer than its column, as Oracle
    /// does per row (ORA-12899, naming `"owner"."table"."column"` as Oracle does).
    /// Without this a longer value grows the driver's bind buffer and reaches the
    /// server, where a bind over 4,000 bytes is taken as LONG data (ORA-01461).
    /// Bytes are counted in UTF-8: the database character set is taken to be AL32UTF8
    /// (the default since 12.2), as [`check_value`] takes it.
    pub fn check_lengths(&self, row: &[Value], owner: &str, table: &str) -> DbResult<()> {
        for b in &self.binds {
            let (Some(limit), Some(value)) = (b.limit, row.get(b.slot)) else {
                continue;
            };
            // Oracle blank-pads CHAR, so only what the value itself holds counts.
            let Some(actual) = limit.measure(value) else {
                continue;
            };
            if actual > limit.length as usize {
                return Err(DbError::ora(
                    12899,
                    format!(
                        "value too large for column \"{owner}\".\"{table}\".\"{}\" (actual: {actual}, maximum: {})",
                        b.column, limit.length
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks every value of `row` against its bind, as the driver and Oracle would
    /// before the statement runs.
    pub fn check_row(&self, row: &[Value], max_string_bytes: u32) -> DbResult<()> {
        for (i, b) in self.binds.iter().enumerate() {
            let value = row.get(b.slot).ok_or_else(|| {
                DbError::Unsupported(format!("a row has no value for bind :{}", i + 1))
            })?;
            check_value(i + 1, b.bind, value, max_string_bytes)?;
        }
        Ok(())
    }
}

/// Whether `value` can go through a bind of type `bind` at position `position`:
/// its variant must be one the bind converts (else the driver's "invalid type
/// conversion"), and text for a non-LOB bind must fit Oracle's string limit in bytes
/// (else ORA-01461: Oracle takes a longer bind for a LONG).
pub fn check_value(
    position: usize,
    bind: BindType,
    value: &Value,
    max_string_bytes: u32,
) -> DbResult<()> {
    let kind = value.value_kind();
    if kind == ValueKind::None {
        return Ok(());
    }
    if !bind.accepts(kind) {
        return Err(DbError::BindType {
            position,
            bind: bind.to_string(),
            value: value.kind(),
        });
    }
    if let (BindType::Number, Value::Text(text)) = (bind, value) {
        if crate::Decimal::parse(text).is_err() {
            return Err(DbError::ora(
                1722,
                format!("invalid number (bind :{position})"),
            ));
        }
    }
    if let Value::Text(text) | Value::Json(text) = value {
        let bytes = match bind {
            // National character binds travel as AL16UTF16: two bytes per code unit.
            BindType::NVarchar2(_) | BindType::NChar(_) => text.encode_utf16().count() * 2,
            BindType::Varchar2(_) | BindType::Char(_) => text.len(),
            _ => 0,
        };
        if bytes > max_string_bytes as usize {
            return Err(DbError::ora(
                1461,
                format!(
                    "can bind a LONG value only for insert into a LONG column \
                     (bind :{position} {bind} holds {bytes} bytes, at most {max_string_bytes})"
                ),
            ));
        }
    }
    Ok(())
}

/// The bind of a value compared with a column of `data_type` (a read's key or bookmark
/// bind at `position`): the column's own bind type, so Oracle never converts the column
/// side (VARCHAR2 for VARCHAR2, never the driver's NVARCHAR2 default; DATE for DATE,
/// never TIMESTAMP), with the value checked against it as [`check_value`] does.
pub fn key_bind(position: usize, data_type: &OracleType, value: &Value) -> DbResult<BindType> {
    let bind = data_type
        .bind_type()
        .ok_or_else(|| DbError::Unsupported(format!("binding a key value of type {data_type}")))?;
    check_value(position, bind, value, u32::MAX)?;
    Ok(bind)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A nullable column of type `t` (Oracle's spelling).
    pub(crate) fn col(name: &str, t: &str) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            data_type: OracleType::parse(t).unwrap(),
            nullable: true,
            check: None,
        }
    }

    #[test]
    fn lob_binds_follow_the_others_in_column_order() {
        let plan = BindPlan::for_columns(&[
            col("DOC", "CLOB"),
            col("ID", "NUMBER(38)"),
            col("PIC", "BLOB"),
            col("AT", "DATE"),
        ])
        .unwrap();
        assert_eq!(plan.columns(), ["ID", "AT", "DOC", "PIC"]);
        assert_eq!(
            plan.binds.iter().map(|b| b.slot).collect::<Vec<_>>(),
            [1, 3, 0, 2]
        );
        plan.check_order().unwrap();
    }

    /// Beside a LONG column, a CLOB or BLOB column takes a temporary LOB: Oracle refuses
    /// long data for both kinds in one statement (OCI-22295).
    #[test]
    fn lob_columns_beside_a_long_column_take_temporary_lobs() {
        let alone = BindPlan::for_columns(&[col("ID", "NUMBER"), col("DOC", "CLOB")]).unwrap();
        assert_eq!(alone.binds[1].bind, BindType::Long);
        let beside = BindPlan::for_columns(&[
            col("ID", "NUMBER"),
            col("DOC", "CLOB"),
            col("OLD", "LONG"),
            col("PIC", "BLOB"),
        ])
        .unwrap();
        let binds: Vec<(&str, BindType)> = beside
            .binds
            .iter()
            .map(|b| (b.column.as_str(), b.bind))
            .collect();
        assert_eq!(
            binds,
            [
                ("ID", BindType::Number),
                ("OLD", BindType::Long),
                ("DOC", BindType::Clob),
                ("PIC", BindType::Blob)
            ]
        );
        beside.check_order().unwrap();
    }

    /// A native JSON column (a temporary CLOB bind) written before a CLOB column (LONG
    /// data): the LONG bind goes first, or Oracle refuses the statement (ORA-24816).
    #[test]
    fn long_data_goes_before_temporary_lobs() {
        let plan = BindPlan::for_columns(&[
            col("META", "JSON"),
            col("BODY", "CLOB"),
            col("ID", "NUMBER(38)"),
            col("PIC", "BLOB"),
        ])
        .unwrap();
        assert_eq!(plan.columns(), ["ID", "BODY", "PIC", "META"]);
        plan.check_order().unwrap();
        let mut misordered = plan.clone();
        misordered.binds.swap(2, 3);
        let err = misordered.check_order().unwrap_err();
        assert_eq!(err.ora_code(), Some(24816), "{err}");
        let mut misordered = plan;
        misordered.binds.swap(0, 1);
        assert_eq!(
            misordered.check_order().unwrap_err().ora_code(),
            Some(24816)
        );
    }

    #[test]
    fn values_of_another_kind_are_refused_by_position() {
        let plan = BindPlan::for_columns(&[col("ID", "NUMBER"), col("AT", "DATE")]).unwrap();
        let err = plan
            .check_row(
                &[Value::number("1"), Value::Text("2024-01-01".into())],
                4000,
            )
            .unwrap_err();
        assert!(
            matches!(err, DbError::BindType { position: 2, .. }),
            "{err:?}"
        );
        plan.check_row(&[Value::Null, Value::Null], 4000).unwrap();
    }

    /// Issue 11 item 9: text longer than its column is refused per row naming the
    /// column (ORA-12899), in the column's own unit, before the driver grows a bind.
    #[test]
    fn text_longer_than_its_column_is_ora_12899_naming_it() {
        let plan = BindPlan::for_columns(&[
            col("ID", "NUMBER"),
            col("B", "VARCHAR2(4000 BYTE)"),
            col("C", "VARCHAR2(3 CHAR)"),
            col("R", "RAW(2)"),
        ])
        .unwrap();
        let row = |b: &str, c: &str, r: Vec<u8>| {
            vec![
                Value::number("1"),
                Value::Text(b.into()),
                Value::Text(c.into()),
                Value::Bytes(r),
            ]
        };
        plan.check_lengths(&row(&"x".repeat(4000), "ééé", vec![1, 2]), "S", "T")
            .unwrap();
        let refused = |row: Vec<Value>| {
            let e = plan.check_lengths(&row, "S", "T").unwrap_err();
            assert_eq!(e.ora_code(), Some(12899), "{e}");
            match DbError::row_rejected(0, e.ora_code(), e.to_string()) {
                DbError::RowRejected { column, .. } => column,
                other => panic!("{other:?}"),
            }
        };
        // 2,000 euro signs are 6,000 bytes.
        assert_eq!(
            refused(row(&"€".repeat(2000), "", vec![])).as_deref(),
            Some("B")
        );
        assert_eq!(refused(row("", "éééé", vec![])).as_deref(), Some("C"));
        assert_eq!(refused(row("", "", vec![1, 2, 3])).as_deref(), Some("R"));
    }

    #[test]
    fn text_beyond_the_string_limit_in_bytes_is_ora_01461() {
        let plan = BindPlan::for_columns(&[col("T", "VARCHAR2(4000 CHAR)")]).unwrap();
        let euros = Value::Text("€".repeat(1500));
        assert_eq!(
            plan.check_row(&[euros], 4000).unwrap_err().ora_code(),
            Some(1461)
        );
        plan.check_row(&[Value::Text("€".repeat(1333))], 4000)
            .unwrap();
    }
}
