//! What the simulated dictionary stores about each table (its dictionary rows, the
//! physical SQLite names, CHECKs), and the LIKE matching discovery scopes use.

use serde::{Deserialize, Serialize};
use singer_core::dictionary::{ColumnRow, ConstraintRow, TableRow};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use db_boundary::{ColumnCheck, ColumnDef, DbError};

use crate::codec;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredColumn {
    pub(crate) row: ColumnRow,
    pub(crate) physical: String,
    pub(crate) check: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredTable {
    pub(crate) table: TableRow,
    pub(crate) columns: Vec<StoredColumn>,
    pub(crate) constraints: Vec<ConstraintRow>,
    pub(crate) physical: String,
    pub(crate) next_column: u32,
    /// Bumped by every ALTER: redo written under another version no longer decodes
    /// with this definition (LogMiner's dictionary version mismatch).
    #[serde(default)]
    pub(crate) version: u64,
    /// The SCN of the commit that ended the table's last DDL: a flashback read before
    /// it fails with ORA-01466, as Oracle's does after DDL.
    #[serde(default)]
    pub(crate) ddl_scn: u64,
}

impl StoredColumn {
    /// The SQL expression that compares and orders this column's values as Oracle
    /// does, and the same for a bound value. A TIMESTAMP WITH TIME ZONE is stored as
    /// its instant followed by its offset (see [`codec`]); Oracle compares the instant
    /// only, so `10:00 +02:00` equals `08:00 +00:00`: compare the instant's bytes.
    pub(crate) fn compared(&self, bind: &str) -> (String, String) {
        if self.row.data_type.contains("WITH TIME ZONE") {
            let width = codec::TIMESTAMP_TZ_INSTANT_BYTES;
            (
                format!("substr({}, 1, {width})", self.physical),
                format!("substr({bind}, 1, {width})"),
            )
        } else {
            (self.physical.clone(), bind.to_owned())
        }
    }
}

impl StoredTable {
    pub(crate) fn column(&self, name: &str) -> Option<&StoredColumn> {
        self.columns.iter().find(|c| c.row.column_name == name)
    }

    pub(crate) fn primary_key(&self) -> Vec<String> {
        let mut keys: Vec<&ConstraintRow> = self
            .constraints
            .iter()
            .filter(|k| k.constraint_type == "P")
            .collect();
        keys.sort_by_key(|k| k.position);
        keys.into_iter().map(|k| k.column_name.clone()).collect()
    }
}

pub(crate) fn sql_err(e: rusqlite::Error) -> DbError {
    DbError::Database {
        code: None,
        message: format!("simulated backend storage: {e}"),
    }
}

pub(crate) fn check_to_text(check: Option<ColumnCheck>) -> Option<String> {
    check.map(|c| match c {
        ColumnCheck::ZeroOrOne => "ZERO_OR_ONE".to_owned(),
        ColumnCheck::IsJson => "IS_JSON".to_owned(),
    })
}

pub(crate) fn check_from_text(text: Option<&str>) -> Option<ColumnCheck> {
    match text {
        Some("ZERO_OR_ONE") => Some(ColumnCheck::ZeroOrOne),
        Some("IS_JSON") => Some(ColumnCheck::IsJson),
        _ => None,
    }
}

/// The dictionary row Oracle would report for a column created with `def`.
pub fn column_row(owner: &str, table: &str, column_id: u32, def: &ColumnDef) -> ColumnRow {
    use OracleType as T;
    let (data_type, length, precision, scale, char_length, char_used) = match &def.data_type {
        T::Number { precision, scale } => (
            "NUMBER".to_owned(),
            22,
            precision.map(u32::from),
            scale.map(i32::from),
            0,
            None,
        ),
        T::Float { binary_precision } => (
            "FLOAT".to_owned(),
            22,
            binary_precision.map(u32::from).or(Some(126)),
            None,
            0,
            None,
        ),
        T::Char { length, semantics } | T::Varchar2 { length, semantics } => {
            let name = if matches!(def.data_type, T::Char { .. }) {
                "CHAR"
            } else {
                "VARCHAR2"
            };
            let (bytes, used) = match semantics {
                LengthSemantics::Byte => (*length, "B"),
                LengthSemantics::Char => (length.saturating_mul(4).min(32767), "C"),
            };
            (
                name.to_owned(),
                bytes,
                None,
                None,
                *length,
                Some(used.to_owned()),
            )
        }
        T::NChar { length } | T::NVarchar2 { length } => {
            let name = if matches!(def.data_type, T::NChar { .. }) {
                "NCHAR"
            } else {
                "NVARCHAR2"
            };
            (
                name.to_owned(),
                length * 2,
                None,
                None,
                *length,
                Some("C".to_owned()),
            )
        }
        T::Raw { length } => ("RAW".to_owned(), *length, None, None, 0, None),
        T::Timestamp {
            fractional_precision,
        }
        | T::TimestampTz {
            fractional_precision,
        }
        | T::TimestampLtz {
            fractional_precision,
        } => (
            def.data_type.to_string(),
            // Oracle's storage sizes: 13 bytes with a zone, 11 without.
            if matches!(def.data_type, T::TimestampTz { .. }) {
                13
            } else {
                11
            },
            None,
            Some(i32::from(*fractional_precision)),
            0,
            None,
        ),
        T::IntervalYearToMonth { year_precision } => (
            def.data_type.to_string(),
            5,
            Some(u32::from(*year_precision)),
            Some(0),
            0,
            None,
        ),
        T::IntervalDayToSecond {
            day_precision,
            fractional_precision,
        } => (
            def.data_type.to_string(),
            11,
            Some(u32::from(*day_precision)),
            Some(i32::from(*fractional_precision)),
            0,
            None,
        ),
        T::Other { name, .. } => (name.clone(), 0, None, None, 0, None),
        T::URowId { length } => ("UROWID".to_owned(), *length, None, None, 0, None),
        // DATA_LENGTH as ALL_TAB_COLS reports it for the fixed-size types.
        other => {
            let length = match other {
                T::BinaryFloat => 4,
                T::BinaryDouble => 8,
                T::Date => 7,
                T::Clob | T::NClob | T::Blob | T::Bfile => 4000,
                T::RowId => 10,
                T::Json => 8200,
                T::Boolean => 1,
                _ => 0,
            };
            (other.to_string(), length, None, None, 0, None)
        }
    };
    let data_type_owner = match &def.data_type {
        T::Other { owner, .. } => owner.clone(),
        T::XmlType => Some("SYS".to_owned()),
        _ => None,
    };
    ColumnRow {
        owner: owner.to_owned(),
        table_name: table.to_owned(),
        column_id: Some(column_id),
        column_name: def.name.clone(),
        data_type,
        data_type_owner,
        data_length: Some(length),
        data_precision: precision,
        data_scale: scale,
        char_length: Some(char_length),
        char_used,
        nullable: if def.nullable { "Y" } else { "N" }.to_owned(),
        virtual_column: Some("NO".to_owned()),
        hidden_column: Some("NO".to_owned()),
        identity_column: Some("NO".to_owned()),
    }
}

/// Oracle's LIKE with `\` as ESCAPE: `%` any run, `_` one character.
pub fn like_match(pattern: &str, text: &str) -> bool {
    let mut glob = String::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('*') => glob.push_str("\u{0}*"),
                Some('?') => glob.push_str("\u{0}?"),
                Some(next) => glob.push(next),
                None => glob.push('\\'),
            },
            '%' => glob.push('*'),
            '_' => glob.push('?'),
            '*' | '?' => {
                glob.push('\u{0}');
                glob.push(c);
            }
            c => glob.push(c),
        }
    }
    like_glob(
        &glob.chars().collect::<Vec<_>>(),
        &text.chars().collect::<Vec<_>>(),
    )
}

/// Glob where `\0` before `*`/`?` makes them literal.
pub(crate) fn like_glob(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('\u{0}') => !t.is_empty() && p.get(1) == t.first() && like_glob(&p[2..], &t[1..]),
        Some('*') => (0..=t.len()).any(|i| like_glob(&p[1..], &t[i..])),
        Some('?') => !t.is_empty() && like_glob(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && like_glob(&p[1..], &t[1..]),
    }
}
