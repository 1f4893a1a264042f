//! Bookmark values: a key or replication-key value saved in STATE exactly as the
//! RECORD carried it, and read back into a value to bind, without losing digits or
//! zone.

use base64::Engine;
use chrono::{DateTime, FixedOffset};
use db_boundary::{Decimal, Value};
use serde_json::Value as Json;
use singer_core::oracle_type::OracleType;

use crate::convert::{write_value, NumberStyle};

/// The JSON a bookmark stores for `value` (the same text a RECORD holds).
pub fn to_json(value: &Value, source_offset: FixedOffset) -> Json {
    let mut out = Vec::new();
    write_value(value, NumberStyle::Number, source_offset, &mut out);
    // The text is valid JSON by construction; a number keeps its digits through
    // serde_json's arbitrary precision.
    serde_json::from_slice(&out).unwrap_or(Json::Null)
}

/// The value to bind for a bookmark of a column of `oracle_type`.
pub fn from_json(
    json: &Json,
    oracle_type: &OracleType,
    source_offset: FixedOffset,
) -> Result<Value, String> {
    use OracleType as T;
    if json.is_null() {
        return Ok(Value::Null);
    }
    let text = || -> Result<String, String> {
        match json {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            other => Err(format!("unexpected bookmark value {other}")),
        }
    };
    let instant = || -> Result<DateTime<FixedOffset>, String> {
        DateTime::parse_from_rfc3339(&text()?).map_err(|e| format!("bad date-time bookmark: {e}"))
    };
    Ok(match oracle_type {
        T::Number { .. } | T::Float { .. } => {
            Value::Number(Decimal::parse(&text()?).map_err(|_| "bad number bookmark".to_owned())?)
        }
        T::BinaryFloat => Value::BinaryFloat(text()?.parse().map_err(|_| "bad float bookmark")?),
        T::BinaryDouble => Value::BinaryDouble(text()?.parse().map_err(|_| "bad float bookmark")?),
        // Written in UTC from `source_timezone`: back to the source's wall clock.
        T::Date => Value::Date(instant()?.with_timezone(&source_offset).naive_local()),
        T::Timestamp { .. } => {
            Value::Timestamp(instant()?.with_timezone(&source_offset).naive_local())
        }
        T::TimestampTz { .. } | T::TimestampLtz { .. } => Value::TimestampTz(instant()?),
        T::Raw { .. } => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|e| format!("bad base64 bookmark: {e}"))?,
        ),
        _ => Value::Text(text()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::parse_offset;
    use chrono::NaiveDate;

    #[test]
    fn bookmarks_round_trip_exactly() {
        let offset = parse_offset("+02:00").unwrap();
        let t = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_nano_opt(3, 4, 5, 123_456_789)
            .unwrap();
        let cases = [
            (
                Value::number("12345678901234567890123456789012345678.5"),
                "NUMBER",
            ),
            (Value::Timestamp(t), "TIMESTAMP(9)"),
            (Value::Date(t.with_nanosecond(0).unwrap()), "DATE"),
            (
                Value::TimestampTz(
                    FixedOffset::east_opt(0)
                        .unwrap()
                        .from_local_datetime(&t)
                        .unwrap(),
                ),
                "TIMESTAMP(9) WITH TIME ZONE",
            ),
            (Value::Text("K-1".into()), "VARCHAR2(10 BYTE)"),
            (Value::Bytes(vec![1, 2, 3]), "RAW(16)"),
        ];
        for (value, sql_type) in cases {
            let json = to_json(&value, offset);
            let back = from_json(&json, &sql_type.parse().unwrap(), offset).unwrap();
            assert_eq!(back, value, "{sql_type}: {json}");
        }
        let json = to_json(
            &Value::number("12345678901234567890123456789012345678.5"),
            offset,
        );
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            "12345678901234567890123456789012345678.5"
        );
    }

    use chrono::{TimeZone, Timelike};
}
