//! The Oracle rules the simulated backend enforces when a value enters a column:
//! conversions Oracle would make, NUMBER rounding and precision, string lengths in bytes
//! or characters, NOT NULL and CHECK constraints, each failing with Oracle's ORA code.

use chrono::{FixedOffset, NaiveDateTime, TimeZone, Timelike};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use db_boundary::{ColumnCheck, DbError, Decimal, Value};

/// Where a value is going, for error messages in Oracle's own form.
pub struct Target<'a> {
    pub owner: &'a str,
    pub table: &'a str,
    pub column: &'a str,
}

impl Target<'_> {
    fn quoted(&self) -> String {
        format!("\"{}\".\"{}\".\"{}\"", self.owner, self.table, self.column)
    }
}

/// Converts `value` to what a column of `oracle_type` stores, or fails like Oracle.
pub fn coerce(
    value: Value,
    oracle_type: &OracleType,
    target: &Target<'_>,
) -> Result<Value, DbError> {
    use OracleType as T;
    // Oracle has no empty string: a zero-length character or binary value is NULL.
    let empty = match &value {
        Value::Text(t) => t.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        _ => false,
    };
    if value.is_null() || empty {
        return Ok(Value::Null);
    }
    match oracle_type {
        T::Number { .. } | T::Float { .. } | T::BinaryFloat | T::BinaryDouble => {
            coerce_number(value, oracle_type, target)
        }
        T::Char { .. }
        | T::Varchar2 { .. }
        | T::NChar { .. }
        | T::NVarchar2 { .. }
        | T::Clob
        | T::NClob
        | T::Long
        | T::RowId
        | T::URowId { .. }
        | T::XmlType
        | T::Raw { .. }
        | T::LongRaw
        | T::Blob => coerce_text(value, oracle_type, target),
        T::Date
        | T::Timestamp { .. }
        | T::TimestampTz { .. }
        | T::TimestampLtz { .. }
        | T::IntervalYearToMonth { .. }
        | T::IntervalDayToSecond { .. } => coerce_time(value, oracle_type, target),
        _ => coerce_other(value, oracle_type, target),
    }
}

/// ORA-00932: the value's kind cannot go into the column's type.
fn mismatch(oracle_type: &OracleType, target: &Target<'_>, value: &Value) -> DbError {
    DbError::ora(
        932,
        format!(
            "inconsistent datatypes: expected {oracle_type} got {} for {}",
            value.kind(),
            target.quoted()
        ),
    )
}

/// NUMBER (fitted to precision and scale: ORA-01438), FLOAT, BINARY_FLOAT and
/// BINARY_DOUBLE.
fn coerce_number(
    value: Value,
    oracle_type: &OracleType,
    target: &Target<'_>,
) -> Result<Value, DbError> {
    use OracleType as T;
    let mismatch = |value: &Value| mismatch(oracle_type, target, value);
    Ok(match oracle_type {
        T::Number { precision, scale } => {
            let text = match &value {
                Value::Number(t) => t.to_string(),
                Value::Text(t) => t.trim().to_owned(),
                Value::BinaryDouble(f) if f.is_finite() => f.to_string(),
                Value::BinaryFloat(f) if f.is_finite() => f.to_string(),
                Value::Boolean(b) => u8::from(*b).to_string(),
                other => return Err(mismatch(other)),
            };
            let canonical = Decimal::parse(&text).map_err(|_| {
                DbError::ora(1722, format!("invalid number for {}", target.quoted()))
            })?;
            let fitted = fit_number(canonical.as_str(), *precision, *scale, target)?;
            Value::Number(
                Decimal::parse(&fitted).map_err(|_| DbError::ora(1722, "invalid number"))?,
            )
        }
        T::Float { .. } => match value {
            Value::Number(t) => Value::Number(t),
            Value::Text(t) => Value::Number(Decimal::parse(&t).map_err(|_| {
                DbError::ora(1722, format!("invalid number for {}", target.quoted()))
            })?),
            other => return Err(mismatch(&other)),
        },
        T::BinaryFloat => match value {
            Value::BinaryFloat(f) => Value::BinaryFloat(f),
            Value::BinaryDouble(f) => Value::BinaryFloat(f as f32),
            other => Value::BinaryFloat(parse_float(other, &mismatch)?),
        },
        T::BinaryDouble => match value {
            Value::BinaryDouble(f) => Value::BinaryDouble(f),
            Value::BinaryFloat(f) => Value::BinaryDouble(f64::from(f)),
            other => Value::BinaryDouble(parse_float(other, &mismatch)?),
        },
        _ => return Err(mismatch(&value)),
    })
}

/// A NUMBER or text value read as a binary float (ORA-01722 when it is not a number).
fn parse_float<F: std::str::FromStr>(
    value: Value,
    mismatch: &dyn Fn(&Value) -> DbError,
) -> Result<F, DbError> {
    let text = match &value {
        Value::Number(t) => t.as_str(),
        Value::Text(t) => t.trim(),
        other => return Err(mismatch(other)),
    };
    text.parse()
        .map_err(|_| DbError::ora(1722, "invalid number"))
}

/// Character types (CHAR and NCHAR blank-padded, lengths checked: ORA-12899), LOBs,
/// ROWIDs, XMLTYPE and the binary types (RAW length checked).
fn coerce_text(
    value: Value,
    oracle_type: &OracleType,
    target: &Target<'_>,
) -> Result<Value, DbError> {
    use OracleType as T;
    let mismatch = |value: &Value| mismatch(oracle_type, target, value);
    Ok(match oracle_type {
        T::Char { length, .. }
        | T::Varchar2 { length, .. }
        | T::NChar { length }
        | T::NVarchar2 { length } => {
            let semantics = match oracle_type {
                T::Char { semantics, .. } | T::Varchar2 { semantics, .. } => *semantics,
                _ => LengthSemantics::Char,
            };
            let text = as_text(value, &mismatch)?;
            let padded = match oracle_type {
                T::Char { .. } | T::NChar { .. } => pad(text, *length, semantics),
                _ => text,
            };
            check_length(&padded, *length, semantics, target)?;
            Value::Text(padded)
        }
        T::Clob | T::NClob | T::Long | T::RowId | T::URowId { .. } | T::XmlType => {
            Value::Text(as_text(value, &mismatch)?)
        }
        T::Raw { length } => match value {
            Value::Bytes(b) => {
                if b.len() > *length as usize {
                    return Err(too_large(target, b.len(), *length as usize));
                }
                Value::Bytes(b)
            }
            other => return Err(mismatch(&other)),
        },
        T::LongRaw | T::Blob => match value {
            Value::Bytes(b) => Value::Bytes(b),
            other => return Err(mismatch(&other)),
        },
        _ => return Err(mismatch(&value)),
    })
}

/// DATE and TIMESTAMP (fractions rounded to the precision), with and without a zone,
/// and intervals.
fn coerce_time(
    value: Value,
    oracle_type: &OracleType,
    target: &Target<'_>,
) -> Result<Value, DbError> {
    use OracleType as T;
    let mismatch = |value: &Value| mismatch(oracle_type, target, value);
    Ok(match oracle_type {
        T::Date => Value::Date(round_fraction(wall_clock(value, &mismatch)?, 0)),
        T::Timestamp {
            fractional_precision,
        } => Value::Timestamp(round_fraction(
            wall_clock(value, &mismatch)?,
            *fractional_precision,
        )),
        T::TimestampTz {
            fractional_precision,
        } => {
            let instant = match value {
                Value::TimestampTz(t) => t,
                // The session time zone is UTC.
                Value::Timestamp(t) | Value::Date(t) => utc().from_utc_datetime(&t),
                other => return Err(mismatch(&other)),
            };
            let offset = *instant.offset();
            let rounded = round_fraction(instant.naive_utc(), *fractional_precision);
            Value::TimestampTz(offset.from_utc_datetime(&rounded))
        }
        T::TimestampLtz {
            fractional_precision,
        } => {
            let utc_time = match value {
                Value::TimestampTz(t) => t.naive_utc(),
                Value::Timestamp(t) | Value::Date(t) => t,
                other => return Err(mismatch(&other)),
            };
            Value::TimestampTz(
                utc().from_utc_datetime(&round_fraction(utc_time, *fractional_precision)),
            )
        }
        T::IntervalYearToMonth { .. } => match value {
            v @ Value::IntervalYm { .. } => v,
            other => return Err(mismatch(&other)),
        },
        T::IntervalDayToSecond { .. } => match value {
            v @ Value::IntervalDs { .. } => v,
            other => return Err(mismatch(&other)),
        },
        _ => return Err(mismatch(&value)),
    })
}

/// JSON (checked: ORA-40441), BOOLEAN, VECTOR; BFILE and object types are not stored.
fn coerce_other(
    value: Value,
    oracle_type: &OracleType,
    target: &Target<'_>,
) -> Result<Value, DbError> {
    use OracleType as T;
    let mismatch = |value: &Value| mismatch(oracle_type, target, value);
    Ok(match oracle_type {
        T::Json => {
            let text = match value {
                Value::Json(t) | Value::Text(t) => t,
                other => return Err(mismatch(&other)),
            };
            if serde_json::from_str::<serde_json::Value>(&text).is_err() {
                return Err(DbError::ora(
                    40441,
                    format!("JSON syntax error in {}", target.quoted()),
                ));
            }
            Value::Json(text)
        }
        T::Boolean => match value {
            Value::Boolean(b) => Value::Boolean(b),
            Value::Number(t) if t.as_str() == "0" || t.as_str() == "1" => {
                Value::Boolean(t.as_str() == "1")
            }
            other => return Err(mismatch(&other)),
        },
        T::Vector => match value {
            v @ Value::Vector(_) => v,
            other => return Err(mismatch(&other)),
        },
        T::Bfile | T::Other { .. } => {
            return Err(DbError::Unsupported(format!(
                "the simulated backend does not store {oracle_type} ({})",
                target.quoted()
            )))
        }
        _ => return Err(mismatch(&value)),
    })
}

/// Applies a column's CHECK rule.
pub fn check(value: &Value, rule: Option<ColumnCheck>, target: &Target<'_>) -> Result<(), DbError> {
    let ok = match (rule, value) {
        (None, _) | (_, Value::Null) => true,
        (Some(ColumnCheck::ZeroOrOne), Value::Number(t)) => t.as_str() == "0" || t.as_str() == "1",
        (Some(ColumnCheck::ZeroOrOne), _) => false,
        (Some(ColumnCheck::IsJson), Value::Text(t) | Value::Json(t)) => {
            serde_json::from_str::<serde_json::Value>(t).is_ok()
        }
        (Some(ColumnCheck::IsJson), _) => false,
    };
    if ok {
        Ok(())
    } else {
        Err(DbError::ora(
            2290,
            format!("check constraint violated on {}", target.quoted()),
        ))
    }
}

fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero offset")
}

fn as_text(value: Value, mismatch: &dyn Fn(&Value) -> DbError) -> Result<String, DbError> {
    match value {
        Value::Text(t) | Value::Json(t) => Ok(t),
        Value::Number(t) => Ok(t.to_string()),
        other => Err(mismatch(&other)),
    }
}

fn wall_clock(
    value: Value,
    mismatch: &dyn Fn(&Value) -> DbError,
) -> Result<NaiveDateTime, DbError> {
    match value {
        Value::Date(t) | Value::Timestamp(t) => Ok(t),
        // Oracle keeps the local time of the value's own zone when it drops the zone.
        Value::TimestampTz(t) => Ok(t.naive_local()),
        other => Err(mismatch(&other)),
    }
}

/// Rounds fractional seconds to `digits` places, half up, as Oracle does on insert.
fn round_fraction(t: NaiveDateTime, digits: u8) -> NaiveDateTime {
    let digits = u32::from(digits.min(9));
    let unit = 10u32.pow(9 - digits);
    let nanos = t.nanosecond();
    let rounded = (nanos + unit / 2) / unit * unit;
    if rounded >= 1_000_000_000 {
        t.with_nanosecond(0).expect("zero nanos") + chrono::Duration::seconds(1)
    } else {
        t.with_nanosecond(rounded).expect("valid nanos")
    }
}

fn pad(text: String, length: u32, semantics: LengthSemantics) -> String {
    let current = match semantics {
        LengthSemantics::Byte => text.len(),
        LengthSemantics::Char => text.chars().count(),
    };
    if current >= length as usize {
        text
    } else {
        let mut out = text;
        out.extend(std::iter::repeat_n(' ', length as usize - current));
        out
    }
}

fn check_length(
    text: &str,
    length: u32,
    semantics: LengthSemantics,
    target: &Target<'_>,
) -> Result<(), DbError> {
    let actual = match semantics {
        LengthSemantics::Byte => text.len(),
        LengthSemantics::Char => text.chars().count(),
    };
    if actual > length as usize {
        Err(too_large(target, actual, length as usize))
    } else {
        Ok(())
    }
}

fn too_large(target: &Target<'_>, actual: usize, maximum: usize) -> DbError {
    DbError::ora(
        12899,
        format!(
            "value too large for column {} (actual: {actual}, maximum: {maximum})",
            target.quoted()
        ),
    )
}

/// Rounds canonical decimal text to `scale` and checks `precision`, like NUMBER(p,s).
pub fn fit_number(
    canonical: &str,
    precision: Option<u8>,
    scale: Option<i16>,
    target: &Target<'_>,
) -> Result<String, DbError> {
    let scale = i32::from(scale.unwrap_or(if precision.is_some() { 0 } else { i16::MAX }));
    let rounded = if scale == i32::from(i16::MAX) {
        // NUMBER without precision keeps up to 38 significant digits.
        round_significant(canonical, 38)
    } else {
        round_to_scale(canonical, scale)
    };
    if let Some(p) = precision {
        // The rounded value must be below 10^(p - s): p - s integer digits at most, and
        // where the scale passes the precision (NUMBER(4,5)), s - p zeros after the
        // point ("requires a zero for the first digit after the decimal point").
        let allowed = i32::from(p) - scale;
        let (_, int_part, frac_part) = split(&rounded);
        let int_digits = int_part.trim_start_matches('0').len() as i32;
        let significant_frac = frac_part.trim_start_matches('0');
        let zeros_after_point = (frac_part.len() - significant_frac.len()) as i32;
        let too_large = if int_digits > 0 || allowed >= 0 {
            int_digits > allowed
        } else {
            !significant_frac.is_empty() && zeros_after_point < -allowed
        };
        if too_large {
            return Err(DbError::ora(
                1438,
                format!(
                    "value larger than specified precision allowed for this column {}",
                    target.quoted()
                ),
            ));
        }
    }
    Ok(rounded)
}

fn split(text: &str) -> (bool, &str, &str) {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    (negative, int_part, frac_part)
}

/// Rounds half away from zero to `scale` decimal places (negative scales round to tens,
/// hundreds ...).
fn round_to_scale(canonical: &str, scale: i32) -> String {
    let (negative, int_part, frac_part) = split(canonical);
    let digits: Vec<u8> = int_part
        .bytes()
        .chain(frac_part.bytes())
        .map(|b| b - b'0')
        .collect();
    let point = int_part.len() as i32;
    let keep = point + scale;
    if keep >= digits.len() as i32 {
        return canonical.to_owned();
    }
    if keep < 0 {
        return "0".to_owned();
    }
    let keep = keep as usize;
    let mut kept: Vec<u8> = digits[..keep].to_vec();
    if digits[keep] >= 5 {
        let mut i = kept.len();
        loop {
            if i == 0 {
                kept.insert(0, 1);
                break;
            }
            i -= 1;
            if kept[i] == 9 {
                kept[i] = 0;
            } else {
                kept[i] += 1;
                break;
            }
        }
    }
    let carried = kept.len() - keep;
    let point = point as usize + carried;
    let mut text = String::new();
    if negative {
        text.push('-');
    }
    let all: String = kept.iter().map(|d| char::from(b'0' + d)).collect();
    if point >= all.len() {
        text.push_str(&all);
        text.extend(std::iter::repeat_n('0', point - all.len()));
    } else {
        text.push_str(if point == 0 { "0" } else { &all[..point] });
        text.push('.');
        text.push_str(&all[point..]);
    }
    Decimal::parse(&text).map_or(text, |d| d.to_string())
}

fn round_significant(canonical: &str, digits: usize) -> String {
    let (_, int_part, frac_part) = split(canonical);
    let significant: usize = int_part.trim_start_matches('0').len()
        + if int_part.trim_start_matches('0').is_empty() {
            frac_part.trim_start_matches('0').len()
        } else {
            frac_part.len()
        };
    if significant <= digits {
        return canonical.to_owned();
    }
    let leading_frac_zeros = if int_part.trim_start_matches('0').is_empty() {
        (frac_part.len() - frac_part.trim_start_matches('0').len()) as i32
    } else {
        0
    };
    let int_digits = int_part.trim_start_matches('0').len() as i32;
    let scale = digits as i32 - int_digits + leading_frac_zeros;
    round_to_scale(canonical, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Target<'static> = Target {
        owner: "S",
        table: "T",
        column: "C",
    };

    #[test]
    fn numbers_round_to_scale_and_check_precision() {
        assert_eq!(fit_number("1.005", Some(5), Some(2), &T).unwrap(), "1.01");
        assert_eq!(fit_number("-1.005", Some(5), Some(2), &T).unwrap(), "-1.01");
        assert_eq!(fit_number("999.995", Some(6), Some(2), &T).unwrap(), "1000");
        assert_eq!(fit_number("12345", Some(5), Some(-2), &T).unwrap(), "12300");
        assert_eq!(fit_number("0.4", Some(3), Some(0), &T).unwrap(), "0");
        let err = fit_number("1000", Some(5), Some(2), &T).unwrap_err();
        assert_eq!(err.ora_code(), Some(1438));
        // A scale above the precision: values below 10^(p - s), the examples of
        // Oracle's NUMBER documentation included.
        assert_eq!(
            fit_number("0.0012", Some(2), Some(4), &T).unwrap(),
            "0.0012"
        );
        assert_eq!(
            fit_number("-0.0099", Some(2), Some(4), &T).unwrap(),
            "-0.0099"
        );
        assert_eq!(
            fit_number("0.01234", Some(4), Some(5), &T).unwrap(),
            "0.01234"
        );
        assert_eq!(
            fit_number("0.000127", Some(4), Some(5), &T).unwrap(),
            "0.00013"
        );
        assert_eq!(
            fit_number("0.00000123", Some(2), Some(7), &T).unwrap(),
            "0.0000012"
        );
        assert_eq!(
            fit_number("0.000012", Some(2), Some(5), &T).unwrap(),
            "0.00001"
        );
        assert_eq!(fit_number("0", Some(2), Some(4), &T).unwrap(), "0");
        for (value, p, s) in [
            ("0.0123", 2, 4),
            ("0.00995", 1, 3),
            ("0.1", 4, 5),
            ("1", 2, 4),
        ] {
            let err = fit_number(value, Some(p), Some(s), &T).unwrap_err();
            assert_eq!(err.ora_code(), Some(1438), "{value} NUMBER({p},{s})");
        }
        assert_eq!(
            fit_number("12345678901234567890123456789012345678", None, None, &T).unwrap(),
            "12345678901234567890123456789012345678"
        );
    }

    #[test]
    fn strings_are_measured_in_bytes_or_characters() {
        let bytes = OracleType::Varchar2 {
            length: 3,
            semantics: LengthSemantics::Byte,
        };
        let chars = OracleType::Varchar2 {
            length: 3,
            semantics: LengthSemantics::Char,
        };
        assert!(coerce(Value::Text("héé".into()), &chars, &T).is_ok());
        let err = coerce(Value::Text("héé".into()), &bytes, &T).unwrap_err();
        assert_eq!(err.ora_code(), Some(12899));
        assert!(err
            .to_string()
            .contains("\"S\".\"T\".\"C\" (actual: 5, maximum: 3)"));
        let char_col = OracleType::Char {
            length: 4,
            semantics: LengthSemantics::Char,
        };
        assert_eq!(
            coerce(Value::Text("ab".into()), &char_col, &T).unwrap(),
            Value::Text("ab  ".into())
        );
    }

    #[test]
    fn invalid_numbers_and_type_mismatches_fail_like_oracle() {
        let number = OracleType::Number {
            precision: None,
            scale: None,
        };
        assert_eq!(
            coerce(Value::Text("12a".into()), &number, &T)
                .unwrap_err()
                .ora_code(),
            Some(1722)
        );
        assert_eq!(
            coerce(Value::Bytes(vec![1]), &number, &T)
                .unwrap_err()
                .ora_code(),
            Some(932)
        );
        assert_eq!(
            check(&Value::number("2"), Some(ColumnCheck::ZeroOrOne), &T)
                .unwrap_err()
                .ora_code(),
            Some(2290)
        );
    }
}
