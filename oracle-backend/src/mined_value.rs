//! The text `DBMS_LOGMNR.MINE_VALUE` returns, back into a [`Value`] of the column's type,
//! exactly: the mining session writes dates with signed years and nine fractional
//! digits ([`crate::logminer_sql::mining_formats`]), numbers with `.` as the decimal
//! character. Pure, so every format is unit-tested without a server.

use chrono::{FixedOffset, NaiveDate, NaiveDateTime, TimeZone};
use db_boundary::{Decimal, Value};
use singer_core::oracle_type::OracleType;

/// `text` (NULL as `None`) as a value of `data_type`, or why it cannot be read.
pub fn decode(text: Option<&str>, data_type: &OracleType) -> Result<Value, String> {
    use OracleType as T;
    let Some(text) = text else {
        return Ok(Value::Null);
    };
    Ok(match data_type {
        T::Number { .. } | T::Float { .. } => Value::Number(number(text)?),
        T::BinaryFloat => match non_finite(text) {
            Some(v) => Value::BinaryFloat(v as f32),
            None => Value::BinaryFloat(text.trim().parse().map_err(|_| bad(text, "BINARY_FLOAT"))?),
        },
        T::BinaryDouble => match non_finite(text) {
            Some(v) => Value::BinaryDouble(v),
            None => Value::BinaryDouble(
                text.trim()
                    .parse()
                    .map_err(|_| bad(text, "BINARY_DOUBLE"))?,
            ),
        },
        T::Char { .. }
        | T::NChar { .. }
        | T::Varchar2 { .. }
        | T::NVarchar2 { .. }
        | T::RowId
        | T::URowId { .. } => Value::Text(text.to_owned()),
        T::Raw { .. } => Value::Bytes(hex(text)?),
        T::Date => Value::Date(date_time(text)?.0),
        T::Timestamp { .. } => Value::Timestamp(date_time(text)?.0),
        T::TimestampLtz { .. } => {
            // Written in the tap session's zone, UTC.
            let (local, _) = date_time(text)?;
            Value::TimestampTz(
                FixedOffset::east_opt(0)
                    .expect("zero")
                    .from_utc_datetime(&local),
            )
        }
        T::TimestampTz { .. } => {
            let (local, rest) = date_time(text)?;
            let offset = offset(rest).ok_or_else(|| bad(text, "TIMESTAMP WITH TIME ZONE"))?;
            Value::TimestampTz(
                offset
                    .from_local_datetime(&local)
                    .single()
                    .ok_or_else(|| bad(text, "TIMESTAMP WITH TIME ZONE"))?,
            )
        }
        T::IntervalYearToMonth { .. } => interval_ym(text)?,
        T::IntervalDayToSecond { .. } => interval_ds(text)?,
        T::Boolean => match text.trim().to_ascii_uppercase().as_str() {
            "TRUE" | "1" => Value::Boolean(true),
            "FALSE" | "0" => Value::Boolean(false),
            _ => return Err(bad(text, "BOOLEAN")),
        },
        other => {
            return Err(format!(
                "{other} values are not returned by LogMiner's MINE_VALUE"
            ))
        }
    })
}

fn bad(text: &str, what: &str) -> String {
    // The value itself may be sensitive: say how long it was, not what it was.
    format!("mined text of {} characters is not a {what}", text.len())
}

fn non_finite(text: &str) -> Option<f64> {
    match text.trim().to_ascii_lowercase().as_str() {
        "inf" | "+inf" | "infinity" => Some(f64::INFINITY),
        "-inf" | "-infinity" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => None,
    }
}

/// Oracle's number text (`12.5`, `.5`, `-.05`, `1.5E+125`, `-1E-130`) through the one
/// canonicaliser, [`Decimal::parse`], as FULL_TABLE reads it. A magnitude outside
/// NUMBER's range (1E-130 up to below 1E+126) is not something MINE_VALUE returns.
pub fn number(text: &str) -> Result<Decimal, String> {
    let decimal = Decimal::parse(text).map_err(|_| bad(text, "NUMBER"))?;
    match decimal.magnitude() {
        Some(m) if !(-130..=125).contains(&m) => Err(bad(text, "NUMBER")),
        _ => Ok(decimal),
    }
}

fn hex(text: &str) -> Result<Vec<u8>, String> {
    let t = text.trim();
    if !t.len().is_multiple_of(2) {
        return Err(bad(text, "RAW (hex)"));
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).map_err(|_| bad(text, "RAW (hex)")))
        .collect()
}

/// `SYYYY-MM-DDTHH24:MI:SS[.FF9]` (a leading space or `-` for the sign) and what
/// follows it. Years keep Oracle's numbering, as the FULL_TABLE path reads them.
fn date_time(text: &str) -> Result<(NaiveDateTime, &str), String> {
    let t = text.trim_start();
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let fail = || bad(text, "date and time");
    let dash = t.find('-').ok_or_else(fail)?;
    let year: i32 = t[..dash].parse().map_err(|_| fail())?;
    let year = if negative { -year } else { year };
    let rest = &t[dash + 1..];
    if rest.len() < 14 || !rest.is_char_boundary(14) {
        return Err(fail());
    }
    let field = |from: usize, to: usize| -> Result<u32, String> {
        rest[from..to].parse().map_err(|_| fail())
    };
    let (month, day) = (field(0, 2)?, field(3, 5)?);
    let (hour, minute, second) = (field(6, 8)?, field(9, 11)?, field(12, 14)?);
    if &rest[2..3] != "-" || &rest[5..6] != "T" || &rest[8..9] != ":" || &rest[11..12] != ":" {
        return Err(fail());
    }
    let mut after = &rest[14..];
    let mut nanos = 0u32;
    if let Some(f) = after.strip_prefix('.') {
        let end = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
        let digits = &f[..end];
        if digits.is_empty() || digits.len() > 9 {
            return Err(fail());
        }
        nanos = digits.parse::<u32>().map_err(|_| fail())? * 10u32.pow(9 - digits.len() as u32);
        after = &f[end..];
    }
    let value = NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_nano_opt(hour, minute, second, nanos))
        .ok_or_else(fail)?;
    Ok((value, after))
}

/// `+02:00`, `-05:30`.
fn offset(text: &str) -> Option<FixedOffset> {
    let t = text.trim();
    let sign = match t.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (h, m) = t[1..].split_once(':')?;
    let seconds = h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60;
    FixedOffset::east_opt(sign * seconds)
}

/// `+01-02`, `-00-05`.
fn interval_ym(text: &str) -> Result<Value, String> {
    let t = text.trim();
    let fail = || bad(text, "INTERVAL YEAR TO MONTH");
    let (sign, body) = signed(t);
    let (y, m) = body.split_once('-').ok_or_else(fail)?;
    Ok(Value::IntervalYm {
        years: sign * y.parse::<i32>().map_err(|_| fail())?,
        months: sign * m.parse::<i32>().map_err(|_| fail())?,
    })
}

/// `+01 02:03:04.500000`.
fn interval_ds(text: &str) -> Result<Value, String> {
    let t = text.trim();
    let fail = || bad(text, "INTERVAL DAY TO SECOND");
    let (sign, body) = signed(t);
    let (days, time) = body.split_once(' ').ok_or_else(fail)?;
    let mut parts = time.splitn(3, ':');
    let hours = parts.next().ok_or_else(fail)?;
    let minutes = parts.next().ok_or_else(fail)?;
    let seconds = parts.next().ok_or_else(fail)?;
    let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail());
    }
    let nanos = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<i32>().map_err(|_| fail())? * 10i32.pow(9 - fraction.len() as u32)
    };
    let n = |s: &str| s.parse::<i32>().map_err(|_| fail());
    Ok(Value::IntervalDs {
        days: sign * n(days)?,
        hours: sign * n(hours)?,
        minutes: sign * n(minutes)?,
        seconds: sign * n(whole)?,
        nanoseconds: sign * nanos,
    })
}

fn signed(t: &str) -> (i32, &str) {
    match t.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, t.strip_prefix('+').unwrap_or(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use singer_core::oracle_type::LengthSemantics;

    fn t(s: &str) -> OracleType {
        s.parse().unwrap()
    }

    #[test]
    fn numbers_keep_every_digit_in_canonical_form() {
        let cases = [
            ("12.5", "12.5"),
            (".5", "0.5"),
            ("-.05", "-0.05"),
            ("0", "0"),
            ("-0", "0"),
            ("100", "100"),
            (
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345678",
            ),
            (
                "-.1234567890123456789012345678901234567",
                "-0.1234567890123456789012345678901234567",
            ),
            ("1.5E+3", "1500"),
            (
                "1.0000000000000000000000000000000000E+40",
                "10000000000000000000000000000000000000000",
            ),
            ("-1.25E-5", "-0.0000125"),
            ("1E-130", &format!("0.{}1", "0".repeat(129))),
            ("12.500", "12.5"),
            ("-9.5E+125", &format!("-95{}", "0".repeat(124))),
        ];
        for (text, want) in cases {
            assert_eq!(number(text).unwrap().as_str(), want, "{text}");
        }
        for bad in [
            "", ".", "1.2.3", "1e", "abc", "1E+999", "--1", "1E+126", "-1E-131",
        ] {
            assert!(number(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn every_mined_type_reads_back() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let plus2 = FixedOffset::east_opt(7200).unwrap();
        let wall = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_nano_opt(22, 59, 59, 123_456_789)
            .unwrap();
        let cases: Vec<(&str, OracleType, Value)> = vec![
            ("42", t("NUMBER(10)"), Value::number("42")),
            ("1.5E+000", t("BINARY_DOUBLE"), Value::BinaryDouble(1.5)),
            (
                "-Inf",
                t("BINARY_DOUBLE"),
                Value::BinaryDouble(f64::NEG_INFINITY),
            ),
            ("2.5E-001", t("BINARY_FLOAT"), Value::BinaryFloat(0.25)),
            ("héllo ", t("CHAR(6 CHAR)"), Value::Text("héllo ".into())),
            ("0A0B", t("RAW(2)"), Value::Bytes(vec![10, 11])),
            (
                " 2024-02-29T22:59:59",
                OracleType::Date,
                Value::Date(wall.with_nanosecond(0).unwrap()),
            ),
            (
                " 2024-02-29T22:59:59.123456789",
                t("TIMESTAMP(9)"),
                Value::Timestamp(wall),
            ),
            (
                " 2024-02-29T22:59:59.123456789+02:00",
                t("TIMESTAMP(9) WITH TIME ZONE"),
                Value::TimestampTz(plus2.from_local_datetime(&wall).unwrap()),
            ),
            (
                " 2024-02-29T22:59:59.123456789",
                t("TIMESTAMP(9) WITH LOCAL TIME ZONE"),
                Value::TimestampTz(utc.from_utc_datetime(&wall)),
            ),
            (
                "-0044-03-15T00:00:00",
                OracleType::Date,
                Value::Date(
                    NaiveDate::from_ymd_opt(-44, 3, 15)
                        .unwrap()
                        .and_hms_opt(0, 0, 0)
                        .unwrap(),
                ),
            ),
            (
                "-01-11",
                t("INTERVAL YEAR(2) TO MONTH"),
                Value::IntervalYm {
                    years: -1,
                    months: -11,
                },
            ),
            (
                "-01 02:03:04.500000",
                t("INTERVAL DAY(2) TO SECOND(6)"),
                Value::IntervalDs {
                    days: -1,
                    hours: -2,
                    minutes: -3,
                    seconds: -4,
                    nanoseconds: -500_000_000,
                },
            ),
            ("TRUE", OracleType::Boolean, Value::Boolean(true)),
        ];
        for (text, data_type, want) in cases {
            let got = decode(Some(text), &data_type).unwrap();
            assert_eq!(got, want, "{text} as {data_type}");
            if let (Value::TimestampTz(a), Value::TimestampTz(b)) = (&got, &want) {
                assert_eq!(a.offset(), b.offset(), "{text}: offset kept");
            }
        }
        assert_eq!(decode(None, &OracleType::Date).unwrap(), Value::Null);
        let varchar = OracleType::Varchar2 {
            length: 10,
            semantics: LengthSemantics::Byte,
        };
        assert_eq!(
            decode(Some(""), &varchar).unwrap(),
            Value::Text(String::new())
        );
    }

    #[test]
    fn unreadable_text_and_lob_types_are_refused_without_the_value() {
        let e = decode(Some("secret-ish"), &OracleType::Date).unwrap_err();
        assert!(!e.contains("secret"), "{e}");
        assert!(decode(Some("x"), &OracleType::Clob).is_err());
        assert!(decode(Some("x"), &OracleType::Json).is_err());
        assert!(decode(Some(" 2024-13-01T00:00:00"), &OracleType::Date).is_err());
        assert!(decode(Some("0G"), &t("RAW(1)")).is_err());
    }

    use chrono::Timelike;
}
