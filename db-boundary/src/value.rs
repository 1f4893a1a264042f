//! The project's own database value: every Oracle type the engines handle, with no
//! driver type in sight.
//!
//! The tap turns these into JSON (`tap-oracle`'s `convert` module), the target builds them
//! from JSON (`target-oracle`), and each backend converts them to and from its storage.

use chrono::{DateTime, FixedOffset, NaiveDateTime};
pub use singer_core::decimal::Decimal;
use singer_core::type_table::ValueKind;

/// One column value of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    /// NUMBER and FLOAT as exact decimal text in canonical form ([`Decimal`]: `-12.5`,
    /// `0.001`, `12345678901234567890123456789012345678`). Oracle's NUMBER holds up to
    /// 38 significant digits and the text keeps every one.
    Number(Decimal),
    BinaryFloat(f32),
    BinaryDouble(f64),
    /// CHAR, VARCHAR2, NCHAR, NVARCHAR2, CLOB, NCLOB, LONG, ROWID, UROWID, XMLTYPE.
    Text(String),
    /// RAW, LONG RAW, BLOB.
    Bytes(Vec<u8>),
    /// DATE: a wall-clock time to the second, no zone.
    Date(NaiveDateTime),
    /// TIMESTAMP(0..9): a wall-clock time to the nanosecond, no zone.
    Timestamp(NaiveDateTime),
    /// TIMESTAMP WITH TIME ZONE (its own offset) and WITH LOCAL TIME ZONE (the session
    /// zone's offset): an instant that keeps its offset.
    TimestampTz(DateTime<FixedOffset>),
    /// INTERVAL YEAR TO MONTH; both parts carry the same sign.
    IntervalYm {
        years: i32,
        months: i32,
    },
    /// INTERVAL DAY TO SECOND; all parts carry the same sign.
    IntervalDs {
        days: i32,
        hours: i32,
        minutes: i32,
        seconds: i32,
        nanoseconds: i32,
    },
    /// JSON (21c and later) as JSON text.
    Json(String),
    /// BOOLEAN (23ai).
    Boolean(bool),
    /// VECTOR (23ai); every element format (INT8, FLOAT32, FLOAT64) fits an f64 exactly.
    Vector(Vec<f64>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Which variant this is, as the type table names it ([`ValueKind::None`] for NULL).
    pub fn value_kind(&self) -> ValueKind {
        match self {
            Value::Null => ValueKind::None,
            Value::Number(_) => ValueKind::Number,
            Value::BinaryFloat(_) => ValueKind::BinaryFloat,
            Value::BinaryDouble(_) => ValueKind::BinaryDouble,
            Value::Text(_) => ValueKind::Text,
            Value::Bytes(_) => ValueKind::Bytes,
            Value::Date(_) => ValueKind::Date,
            Value::Timestamp(_) => ValueKind::Timestamp,
            Value::TimestampTz(_) => ValueKind::TimestampTz,
            Value::IntervalYm { .. } => ValueKind::IntervalYm,
            Value::IntervalDs { .. } => ValueKind::IntervalDs,
            Value::Json(_) => ValueKind::Json,
            Value::Boolean(_) => ValueKind::Boolean,
            Value::Vector(_) => ValueKind::Vector,
        }
    }

    /// A NUMBER from text that is known to be a decimal (tests, literals).
    ///
    /// # Panics
    /// When `text` is not a decimal number.
    pub fn number(text: &str) -> Value {
        Value::Number(Decimal::parse(text).expect("a decimal literal"))
    }

    /// A short name of the variant for error messages (never the value itself, which
    /// may be sensitive).
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "NULL",
            Value::Number(_) => "NUMBER",
            Value::BinaryFloat(_) => "BINARY_FLOAT",
            Value::BinaryDouble(_) => "BINARY_DOUBLE",
            Value::Text(_) => "text",
            Value::Bytes(_) => "bytes",
            Value::Date(_) => "DATE",
            Value::Timestamp(_) => "TIMESTAMP",
            Value::TimestampTz(_) => "TIMESTAMP WITH TIME ZONE",
            Value::IntervalYm { .. } => "INTERVAL YEAR TO MONTH",
            Value::IntervalDs { .. } => "INTERVAL DAY TO SECOND",
            Value::Json(_) => "JSON",
            Value::Boolean(_) => "BOOLEAN",
            Value::Vector(_) => "VECTOR",
        }
    }
}
