//! Converting between the driver's values and the project's [`Value`]: fetch by the
//! column's Oracle type, bind by the value's variant.

use chrono::{FixedOffset, NaiveDate, TimeZone};
use db_boundary::{DbError, Decimal, Value};
use oracle::sql_type::{IntervalDS, IntervalYM, OracleType as DriverType, Timestamp, ToSql};
use oracle::SqlValue;
use singer_core::type_table::{BindType, ValueKind};

fn naive(ts: &Timestamp) -> Result<chrono::NaiveDateTime, DbError> {
    NaiveDate::from_ymd_opt(ts.year(), ts.month(), ts.day())
        .and_then(|d| d.and_hms_nano_opt(ts.hour(), ts.minute(), ts.second(), ts.nanosecond()))
        .ok_or_else(|| DbError::Database {
            code: None,
            message: "a DATE or TIMESTAMP value is outside the range this project represents"
                .into(),
        })
}

fn driver(e: oracle::Error) -> DbError {
    crate::error::from_oracle(&e, "", crate::error::Operation::Other)
}

/// Reads one fetched column as a [`Value`].
pub fn fetch(value: &SqlValue, column_type: &DriverType) -> Result<Value, DbError> {
    if value.is_null().map_err(driver)? {
        return Ok(Value::Null);
    }
    Ok(match column_type {
        DriverType::Number(..) | DriverType::Float(_) | DriverType::Int64 | DriverType::UInt64 => {
            // Oracle prints `.5`; the one canonicaliser makes it `0.5`.
            let text = value.get::<String>().map_err(driver)?;
            Value::Number(Decimal::parse(&text).map_err(|_| DbError::Database {
                code: None,
                message: "the driver returned NUMBER text that is not a decimal".into(),
            })?)
        }
        DriverType::BinaryFloat => Value::BinaryFloat(value.get::<f32>().map_err(driver)?),
        DriverType::BinaryDouble => Value::BinaryDouble(value.get::<f64>().map_err(driver)?),
        DriverType::Raw(_) | DriverType::LongRaw | DriverType::BLOB => {
            Value::Bytes(value.get::<Vec<u8>>().map_err(driver)?)
        }
        DriverType::Date => Value::Date(naive(&value.get::<Timestamp>().map_err(driver)?)?),
        DriverType::Timestamp(_) => {
            Value::Timestamp(naive(&value.get::<Timestamp>().map_err(driver)?)?)
        }
        DriverType::TimestampTZ(_) | DriverType::TimestampLTZ(_) => {
            let ts = value.get::<Timestamp>().map_err(driver)?;
            let offset =
                FixedOffset::east_opt(ts.tz_offset()).ok_or_else(|| DbError::Database {
                    code: None,
                    message: "invalid time zone offset".into(),
                })?;
            let local = naive(&ts)?;
            Value::TimestampTz(offset.from_local_datetime(&local).single().ok_or_else(|| {
                DbError::Database {
                    code: None,
                    message: "ambiguous local time".into(),
                }
            })?)
        }
        DriverType::IntervalYM(_) => {
            let i = value.get::<IntervalYM>().map_err(driver)?;
            Value::IntervalYm {
                years: i.years(),
                months: i.months(),
            }
        }
        DriverType::IntervalDS(..) => {
            let i = value.get::<IntervalDS>().map_err(driver)?;
            Value::IntervalDs {
                days: i.days(),
                hours: i.hours(),
                minutes: i.minutes(),
                seconds: i.seconds(),
                nanoseconds: i.nanoseconds(),
            }
        }
        DriverType::Boolean => Value::Boolean(value.get::<bool>().map_err(driver)?),
        DriverType::Json => Value::Json(value.get::<String>().map_err(driver)?),
        DriverType::Object(_) | DriverType::BFILE | DriverType::RefCursor => {
            return Err(DbError::Unsupported(format!(
                "fetching {column_type} values"
            )))
        }
        // Character types, LOBs, LONG, ROWID, XMLTYPE and anything textual.
        _ => Value::Text(value.get::<String>().map_err(driver)?),
    })
}

/// A value bound with an explicit Oracle type (BINARY_FLOAT/DOUBLE rather than the
/// crate's default NUMBER for floats).
struct Typed<T>(T, DriverType);

impl<T: ToSql> ToSql for Typed<T> {
    fn oratype(&self, _conn: &oracle::Connection) -> oracle::Result<DriverType> {
        Ok(self.1.clone())
    }
    fn to_sql(&self, val: &mut SqlValue) -> oracle::Result<()> {
        self.0.to_sql(val)
    }
}

/// A converted value sent with a planned bind type rather than its own default.
struct Planned(Box<dyn ToSql>, DriverType);

impl ToSql for Planned {
    fn oratype(&self, _conn: &oracle::Connection) -> oracle::Result<DriverType> {
        Ok(self.1.clone())
    }
    fn to_sql(&self, val: &mut SqlValue) -> oracle::Result<()> {
        self.0.to_sql(val)
    }
}

/// `value` bound with exactly the plan's type (a read's key and bookmark binds): text
/// as the column's VARCHAR2 or NVARCHAR2, a DATE as DATE, a NULL typed too.
pub fn bind_planned(bind_type: BindType, value: &Value) -> Result<Box<dyn ToSql>, DbError> {
    Ok(Box::new(Planned(
        bind_as(bind_type, value)?,
        driver_type(bind_type),
    )))
}

/// An unsigned integer (an SCN, a row count) bound as a NUMBER of the plan's type.
pub fn bind_integer(bind_type: BindType, n: u64) -> Box<dyn ToSql> {
    Box::new(Planned(Box::new(n), driver_type(bind_type)))
}

/// Text made in SQL for a type the driver cannot fetch (`FetchForm::AsText`), decoded
/// into the value kind the catalog promises: JSON text (`JSON_SERIALIZE`), an array of
/// numbers (`FROM_VECTOR`), or a string (`XMLSERIALIZE`).
pub fn decode_text(kind: ValueKind, text: String) -> Result<Value, DbError> {
    Ok(match kind {
        ValueKind::Json => Value::Json(text),
        ValueKind::Vector => Value::Vector(parse_vector(&text)?),
        // TIMESTAMP WITH (LOCAL) TIME ZONE as the server prints it: `SYYYY` (a blank
        // for AD, as the DATE path reads years), nanoseconds, the offset `TZH:TZM`.
        ValueKind::TimestampTz => Value::TimestampTz(
            chrono::DateTime::parse_from_str(text.trim(), "%Y-%m-%dT%H:%M:%S%.f%:z").map_err(
                |_| DbError::Database {
                    code: None,
                    message: format!("a timestamp with time zone could not be read from {text:?}"),
                },
            )?,
        ),
        // `CASE WHEN c THEN 'true' WHEN NOT c THEN 'false' END` of a BOOLEAN.
        ValueKind::Boolean => match text.as_str() {
            "true" => Value::Boolean(true),
            "false" => Value::Boolean(false),
            other => {
                return Err(DbError::Database {
                    code: None,
                    message: format!("a BOOLEAN could not be read from {other:?}"),
                })
            }
        },
        _ => Value::Text(text),
    })
}

/// `FROM_VECTOR` text of a dense vector (`[1.10000002E+000,2.0E+000]`) as numbers.
/// A sparse vector prints as `[dimensions,[indices],[values]]`, which the catalog's
/// array of numbers cannot carry: refused by name.
pub fn parse_vector(text: &str) -> Result<Vec<f64>, DbError> {
    let bad = |why: &str| DbError::Database {
        code: None,
        message: format!("a VECTOR value could not be read: {why}"),
    };
    let inner = text
        .trim()
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .ok_or_else(|| bad("FROM_VECTOR text is not a bracketed list"))?;
    if inner.contains('[') {
        return Err(DbError::Unsupported(
            "SPARSE vectors (the catalog declares a VECTOR as an array of numbers; \
             deselect the column)"
                .into(),
        ));
    }
    if inner.trim().is_empty() {
        return Ok(Vec::new());
    }
    inner
        .split(',')
        .map(|item| {
            item.trim()
                .parse::<f64>()
                .map_err(|_| bad("an element is not a number"))
        })
        .collect()
}

/// A bindable form of `value`.
pub fn bind(value: &Value) -> Result<Box<dyn ToSql>, DbError> {
    Ok(match value {
        Value::Null => Box::new(None::<String>),
        // Bound as text and converted by Oracle under NLS_NUMERIC_CHARACTERS '.,' (set
        // for every session), which keeps all 38 digits.
        Value::Number(number) => Box::new(number.to_string()),
        Value::Text(text) | Value::Json(text) => Box::new(text.clone()),
        Value::BinaryFloat(f) => Box::new(Typed(*f, DriverType::BinaryFloat)),
        Value::BinaryDouble(f) => Box::new(Typed(*f, DriverType::BinaryDouble)),
        Value::Bytes(b) => Box::new(b.clone()),
        Value::Date(t) | Value::Timestamp(t) => Box::new(*t),
        Value::TimestampTz(t) => Box::new(*t),
        Value::IntervalYm { years, months } => {
            Box::new(IntervalYM::new(*years, *months).map_err(driver)?)
        }
        Value::IntervalDs {
            days,
            hours,
            minutes,
            seconds,
            nanoseconds,
        } => Box::new(
            IntervalDS::new(*days, *hours, *minutes, *seconds, *nanoseconds).map_err(driver)?,
        ),
        Value::Boolean(b) => Box::new(*b),
        Value::Vector(items) => Box::new(format!(
            "[{}]",
            items
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )),
    })
}

/// The driver's type for a planned bind (`Batch::set_type`). Sizes count characters
/// (RAW: bytes); the driver grows a text buffer when a value needs more. CLOB and BLOB
/// columns take LONG / LONG RAW binds: the data goes with the row. A CLOB, NCLOB or
/// BLOB bind (JSON, VECTOR, XMLTYPE columns) is a temporary LOB per array element (the
/// crate's `Batch` binds LOBs as locators), written value by value. Both kinds go
/// last (ORA-24816).
pub fn driver_type(bind: BindType) -> DriverType {
    match bind {
        BindType::Number => DriverType::Number(0, 0),
        BindType::BinaryFloat => DriverType::BinaryFloat,
        BindType::BinaryDouble => DriverType::BinaryDouble,
        BindType::Varchar2(n) => DriverType::Varchar2(n),
        BindType::Char(n) => DriverType::Char(n),
        BindType::NVarchar2(n) => DriverType::NVarchar2(n),
        BindType::NChar(n) => DriverType::NChar(n),
        BindType::Raw(n) => DriverType::Raw(n),
        BindType::Date => DriverType::Date,
        BindType::Timestamp => DriverType::Timestamp(9),
        BindType::TimestampTz => DriverType::TimestampTZ(9),
        BindType::IntervalYm => DriverType::IntervalYM(9),
        BindType::IntervalDs => DriverType::IntervalDS(9, 9),
        BindType::Boolean => DriverType::Boolean,
        BindType::Long => DriverType::Long,
        BindType::LongRaw => DriverType::LongRaw,
        BindType::Clob => DriverType::CLOB,
        BindType::NClob => DriverType::NCLOB,
        BindType::Blob => DriverType::BLOB,
    }
}

/// `value` in the form a bind of type `bind` takes (checked beforehand by
/// `BindPlan::check_row`): a boolean for a NUMBER(1) column is `1`/`0`, a vector for
/// a CLOB bind is its JSON array text; everything else binds as itself.
pub fn bind_as(bind_type: BindType, value: &Value) -> Result<Box<dyn ToSql>, DbError> {
    Ok(match (bind_type, value) {
        (_, Value::Null) => Box::new(None::<String>),
        (BindType::Number, Value::Boolean(b)) => Box::new(if *b { "1" } else { "0" }),
        _ => bind(value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vector_text_becomes_numbers() {
        assert_eq!(
            parse_vector("[1.10000002E+000,2.0E+000,-3.29999995E-001]").unwrap(),
            vec![1.10000002, 2.0, -0.329999995]
        );
        assert_eq!(parse_vector("[1,2,3]").unwrap(), vec![1.0, 2.0, 3.0]);
        assert_eq!(parse_vector(" [] ").unwrap(), Vec::<f64>::new());
        assert!(parse_vector("1,2").is_err());
        assert!(parse_vector("[1,x]").is_err());
        let sparse = parse_vector("[5,[2,4],[1.0E+000,2.0E+000]]").unwrap_err();
        assert!(sparse.to_string().contains("SPARSE"), "{sparse}");
    }

    #[test]
    fn text_made_in_sql_decodes_into_the_promised_kind() {
        assert_eq!(
            decode_text(ValueKind::Json, r#"{"a":[1,2]}"#.into()).unwrap(),
            Value::Json(r#"{"a":[1,2]}"#.into())
        );
        assert_eq!(
            decode_text(ValueKind::Vector, "[1.5E+000]".into()).unwrap(),
            Value::Vector(vec![1.5])
        );
        assert_eq!(
            decode_text(ValueKind::Text, "<a/>".into()).unwrap(),
            Value::Text("<a/>".into())
        );
        let at = |text: &str| decode_text(ValueKind::TimestampTz, text.into()).unwrap();
        let instant =
            |text: &str| Value::TimestampTz(chrono::DateTime::parse_from_rfc3339(text).unwrap());
        assert_eq!(
            at(" 2024-02-29T23:59:59.123456789+00:00"),
            instant("2024-02-29T23:59:59.123456789+00:00")
        );
        // The offset is kept, minutes and sign too (instants alone compare equal).
        match at(" 2024-01-01T09:00:00.000000000-03:30") {
            Value::TimestampTz(t) => {
                assert_eq!(t.offset().local_minus_utc(), -(3 * 3600 + 30 * 60));
                assert_eq!(t.to_rfc3339(), "2024-01-01T09:00:00-03:30");
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(at("-0044-03-15T12:00:00.500000000+00:00"), Value::TimestampTz(t) if chrono::Datelike::year(&t) == -44)
        );
        assert!(decode_text(ValueKind::TimestampTz, "yesterday".into()).is_err());
        assert_eq!(
            decode_text(ValueKind::Boolean, "true".into()).unwrap(),
            Value::Boolean(true)
        );
        assert_eq!(
            decode_text(ValueKind::Boolean, "false".into()).unwrap(),
            Value::Boolean(false)
        );
        assert!(decode_text(ValueKind::Boolean, "1".into()).is_err());
    }
}
