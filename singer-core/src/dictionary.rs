//! The rows Oracle's data dictionary returns for discovery, as plain data.
//!
//! One type feeds the catalog builder from three places: the real database
//! (`oracle-backend` queries ALL_TABLES / ALL_TAB_COLS / ALL_CONSTRAINTS), a recorded
//! fixture (`catalog-fixtures/<case>/dictionary.json`) and the simulated backend. Field
//! names are Oracle's own upper-case column names so a fixture is exactly what the views
//! return. Turning rows into a catalog is [`crate::discovery`]'s job, not this module's.

use serde::{Deserialize, Serialize};

use crate::oracle_type::{LengthSemantics, OracleType};

/// Everything discovery reads, for all the schemas in scope.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DictionaryRows {
    #[serde(default)]
    pub tables: Vec<TableRow>,
    #[serde(default)]
    pub columns: Vec<ColumnRow>,
    #[serde(default)]
    pub constraints: Vec<ConstraintRow>,
}

/// One row per table, view or materialized view (ALL_TABLES, ALL_VIEWS, ALL_MVIEWS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct TableRow {
    pub owner: String,
    pub table_name: String,
    /// `TABLE`, `VIEW`, `MATERIALIZED VIEW` or `EXTERNAL TABLE` (listed in
    /// ALL_EXTERNAL_TABLES: no flashback, no ROWID, no redo).
    pub table_type: String,
    /// ALL_TABLES.IOT_TYPE: `IOT`, `IOT_OVERFLOW`, `IOT_MAPPING` or null.
    #[serde(default)]
    pub iot_type: Option<String>,
    /// `YES` / `NO`.
    #[serde(default)]
    pub partitioned: Option<String>,
    /// `Y` / `N`.
    #[serde(default)]
    pub temporary: Option<String>,
    /// Optimizer statistics; null when the table was never analyzed.
    #[serde(default)]
    pub num_rows: Option<u64>,
}

/// One row per visible column (ALL_TAB_COLS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct ColumnRow {
    pub owner: String,
    pub table_name: String,
    /// Null for hidden columns.
    #[serde(default)]
    pub column_id: Option<u32>,
    pub column_name: String,
    /// As Oracle spells it: `NUMBER`, `TIMESTAMP(6) WITH TIME ZONE`,
    /// `INTERVAL DAY(2) TO SECOND(6)`, `XMLTYPE`, ...
    pub data_type: String,
    /// Owner of a user-defined or built-in object type (`SYS` for XMLTYPE, `MDSYS`
    /// for SDO_GEOMETRY), null for scalar types.
    #[serde(default)]
    pub data_type_owner: Option<String>,
    /// Length in bytes.
    #[serde(default)]
    pub data_length: Option<u32>,
    #[serde(default)]
    pub data_precision: Option<u32>,
    #[serde(default)]
    pub data_scale: Option<i32>,
    /// Length in characters for character types.
    #[serde(default)]
    pub char_length: Option<u32>,
    /// `B` (byte semantics) or `C` (char semantics) for CHAR/VARCHAR2, null otherwise.
    #[serde(default)]
    pub char_used: Option<String>,
    /// `Y` / `N`.
    pub nullable: String,
    /// `YES` / `NO`.
    #[serde(default)]
    pub virtual_column: Option<String>,
    /// `YES` / `NO`.
    #[serde(default)]
    pub hidden_column: Option<String>,
    /// `YES` / `NO`.
    #[serde(default)]
    pub identity_column: Option<String>,
}

/// One row per column of an enabled primary or unique key (ALL_CONSTRAINTS joined with
/// ALL_CONS_COLUMNS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct ConstraintRow {
    pub owner: String,
    pub table_name: String,
    pub constraint_name: String,
    /// `P` (primary key) or `U` (unique).
    pub constraint_type: String,
    pub column_name: String,
    /// 1-based position of the column in the key, which need not follow column order.
    pub position: u32,
    /// `ENABLED` / `DISABLED`.
    #[serde(default)]
    pub status: Option<String>,
}

impl ColumnRow {
    /// Whether the column may hold NULL.
    pub fn is_nullable(&self) -> bool {
        self.nullable.eq_ignore_ascii_case("Y")
    }

    fn flag(value: &Option<String>) -> bool {
        matches!(value.as_deref(), Some(v) if v.eq_ignore_ascii_case("YES") || v.eq_ignore_ascii_case("Y"))
    }

    pub fn is_virtual(&self) -> bool {
        Self::flag(&self.virtual_column)
    }

    pub fn is_hidden(&self) -> bool {
        Self::flag(&self.hidden_column)
    }

    pub fn is_identity(&self) -> bool {
        Self::flag(&self.identity_column)
    }
}

impl TableRow {
    pub fn is_view(&self) -> bool {
        self.table_type.eq_ignore_ascii_case("VIEW")
    }

    /// An external table: Oracle refuses `AS OF SCN` on it (ORA-08188) and has no ROWID
    /// for it (ORA-02031), and its rows are in files, not in the redo.
    pub fn is_external(&self) -> bool {
        self.table_type.eq_ignore_ascii_case("EXTERNAL TABLE")
    }

    pub fn is_materialized_view(&self) -> bool {
        self.table_type.eq_ignore_ascii_case("MATERIALIZED VIEW")
    }
}

impl ColumnRow {
    /// The row ALL_TAB_COLS reports for a column created as `name data_type`: the
    /// reverse of [`OracleType::from_column`] (the simulated backend's dictionary).
    pub fn describing(
        owner: &str,
        table: &str,
        column_id: u32,
        name: &str,
        oracle_type: &OracleType,
        nullable: bool,
    ) -> ColumnRow {
        use OracleType as T;
        let (data_type, length, precision, scale, char_length, char_used) = match oracle_type {
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
                let name = if matches!(oracle_type, T::Char { .. }) {
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
                let name = if matches!(oracle_type, T::NChar { .. }) {
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
                oracle_type.to_string(),
                // Oracle's storage sizes: 13 bytes with a zone, 11 without.
                if matches!(oracle_type, T::TimestampTz { .. }) {
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
                oracle_type.to_string(),
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
                oracle_type.to_string(),
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
        let data_type_owner = match oracle_type {
            T::Other { owner, .. } => owner.clone(),
            T::XmlType => Some("SYS".to_owned()),
            _ => None,
        };
        ColumnRow {
            owner: owner.to_owned(),
            table_name: table.to_owned(),
            column_id: Some(column_id),
            column_name: name.to_owned(),
            data_type,
            data_type_owner,
            data_length: Some(length),
            data_precision: precision,
            data_scale: scale,
            char_length: Some(char_length),
            char_used,
            nullable: if nullable { "Y" } else { "N" }.to_owned(),
            virtual_column: Some("NO".to_owned()),
            hidden_column: Some("NO".to_owned()),
            identity_column: Some("NO".to_owned()),
        }
    }
}
