//! Database values to JSON text, the tap's hot path: each row is written straight into
//! the output buffer, with no intermediate JSON value.
//!
//! Documented choices (README "Values"): NUMBER keeps every digit (a JSON number, or a
//! string when the catalog declares `x-singer.decimal`); BINARY_FLOAT/DOUBLE use the
//! shortest text that reads back exactly, and NaN or an infinity, which JSON cannot
//! hold, becomes `null` with one warning per column; DATE and TIMESTAMP are read in
//! `source_timezone` and written in UTC (`Z`), TIMESTAMP WITH (LOCAL) TIME ZONE is
//! converted to UTC, fractional digits kept; years outside 1-9999 are written with a
//! sign and as many digits as needed (ISO 8601 expanded years, e.g. `-0044-03-15`);
//! INTERVALs are ISO 8601 durations; RAW/BLOB base64, once; JSON is embedded as JSON.

use base64::Engine;
use chrono::{FixedOffset, NaiveDateTime, TimeZone, Utc};
use db_boundary::Value;
use singer_core::writer::write_json_string;

/// How one column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberStyle {
    /// A JSON number with the exact digits.
    Number,
    /// A JSON string with the exact digits (`x-singer.decimal`).
    String,
}

#[derive(Debug, Clone)]
struct Column {
    /// `"NAME":` pre-escaped.
    key: Vec<u8>,
    numbers: NumberStyle,
    name: String,
}

/// Writes rows of one stream as JSON objects.
#[derive(Debug, Clone)]
pub struct RowEncoder {
    columns: Vec<Column>,
    source_offset: FixedOffset,
    warned_non_finite: Vec<bool>,
}

impl RowEncoder {
    pub fn new(columns: &[(String, NumberStyle)], source_offset: FixedOffset) -> RowEncoder {
        RowEncoder {
            columns: columns
                .iter()
                .enumerate()
                .map(|(i, (name, numbers))| {
                    let mut key = Vec::new();
                    if i > 0 {
                        key.push(b',');
                    }
                    write_json_string(&mut key, name);
                    key.push(b':');
                    Column {
                        key,
                        numbers: *numbers,
                        name: name.clone(),
                    }
                })
                .collect(),
            source_offset,
            warned_non_finite: vec![false; columns.len()],
        }
    }

    /// Appends `{"COL":value,...}` for the first `columns.len()` values of `row`.
    pub fn encode(&mut self, row: &[Value], out: &mut Vec<u8>) {
        self.encode_values(row.iter(), out);
    }

    /// [`RowEncoder::encode`] over borrowed values (LOG_BASED changes hold theirs in
    /// `Option`s).
    pub fn encode_values<'v>(&mut self, row: impl Iterator<Item = &'v Value>, out: &mut Vec<u8>) {
        out.push(b'{');
        let columns = self.columns.iter().zip(self.warned_non_finite.iter_mut());
        for ((column, warned), value) in columns.zip(row) {
            out.extend_from_slice(&column.key);
            // The commonest kinds inline; the rest through `write_value`'s full match.
            let finite = match (value, column.numbers) {
                (Value::Null, _) => {
                    out.extend_from_slice(b"null");
                    true
                }
                (Value::Number(d), NumberStyle::Number) => {
                    out.extend_from_slice(d.as_str().as_bytes());
                    true
                }
                (Value::Text(s), _) => {
                    write_json_string(out, s);
                    true
                }
                _ => write_value(value, column.numbers, self.source_offset, out),
            };
            if !finite && !*warned {
                *warned = true;
                tracing::warn!(
                    column = %column.name,
                    "NaN or an infinity cannot be written as a JSON number; writing null (warned once per column)"
                );
            }
        }
        out.push(b'}');
    }
}

/// Appends one value; returns false when a non-finite float was written as null.
pub fn write_value(
    value: &Value,
    numbers: NumberStyle,
    source_offset: FixedOffset,
    out: &mut Vec<u8>,
) -> bool {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Number(text) => match numbers {
            NumberStyle::Number => out.extend_from_slice(text.as_str().as_bytes()),
            NumberStyle::String => {
                out.push(b'"');
                out.extend_from_slice(text.as_str().as_bytes());
                out.push(b'"');
            }
        },
        Value::BinaryFloat(f) => return write_float(f64::from(*f), *f, out),
        Value::BinaryDouble(f) => return write_float(*f, *f, out),
        Value::Text(s) => write_json_string(out, s),
        Value::Bytes(b) => {
            out.push(b'"');
            out.extend_from_slice(
                base64::engine::general_purpose::STANDARD
                    .encode(b)
                    .as_bytes(),
            );
            out.push(b'"');
        }
        Value::Date(t) | Value::Timestamp(t) => {
            if source_offset.local_minus_utc() == 0 {
                write_utc(t, out);
            } else {
                let utc = source_offset
                    .from_local_datetime(t)
                    .single()
                    .map(|d| d.naive_utc())
                    .unwrap_or(*t);
                write_utc(&utc, out);
            }
        }
        Value::TimestampTz(t) => write_utc(&t.with_timezone(&Utc).naive_utc(), out),
        Value::IntervalYm { years, months } => {
            write_json_string(out, &year_to_month(*years, *months))
        }
        Value::IntervalDs {
            days,
            hours,
            minutes,
            seconds,
            nanoseconds,
        } => write_json_string(
            out,
            &day_to_second(*days, *hours, *minutes, *seconds, *nanoseconds),
        ),
        Value::Json(text) => out.extend_from_slice(text.as_bytes()),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Vector(items) => {
            out.push(b'[');
            let mut all_finite = true;
            for (i, f) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                all_finite &= write_float(*f, *f, out);
            }
            out.push(b']');
            return all_finite;
        }
    }
    true
}

/// A float as its shortest round-trip text (`f32` values print as `f32`), or `null`
/// for NaN and infinities (false: the caller counts them).
fn write_float<F: std::fmt::Display>(as_f64: f64, value: F, out: &mut Vec<u8>) -> bool {
    if !as_f64.is_finite() {
        out.extend_from_slice(b"null");
        return false;
    }
    // Display writes the shortest round-trip text; into the buffer, with no String.
    let _ = std::io::Write::write_fmt(out, format_args!("{value}"));
    true
}

/// An INTERVAL YEAR TO MONTH as ISO 8601: `P1Y2M`, `-P3M`.
fn year_to_month(years: i32, months: i32) -> String {
    let sign = if years < 0 || months < 0 { "-" } else { "" };
    match (years.abs(), months.abs()) {
        (0, m) => format!("{sign}P{m}M"),
        (y, 0) => format!("{sign}P{y}Y"),
        (y, m) => format!("{sign}P{y}Y{m}M"),
    }
}

/// `2024-05-01T12:30:00.123456Z`, fractional digits as the value has them (3, 6 or 9).
/// Written by hand, digits by position into one stack buffer: chrono's `format`
/// re-reads its pattern on every call, which was a third of the tap's time per row.
fn write_utc(t: &NaiveDateTime, out: &mut Vec<u8>) {
    use chrono::{Datelike, Timelike};
    fn two(text: &mut [u8], n: u32) {
        text[0] = b'0' + (n / 10) as u8;
        text[1] = b'0' + (n % 10) as u8;
    }
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // ISO 8601 expanded year, as chrono writes it: a sign and at least four digits.
        out.extend_from_slice(format!("\"{year:+05}").as_bytes());
    } else {
        let mut head = *b"\"0000";
        two(&mut head[1..3], year as u32 / 100);
        two(&mut head[3..5], year as u32 % 100);
        out.extend_from_slice(&head);
    }
    // `-MM-DDTHH:MM:SS`, then the fraction's digits when there are any, then `Z"`.
    let mut text = *b"-00-00T00:00:00.000000000Z\"";
    let seconds = t.num_seconds_from_midnight();
    two(&mut text[1..3], t.month());
    two(&mut text[4..6], t.day());
    two(&mut text[7..9], seconds / 3600);
    two(&mut text[10..12], seconds / 60 % 60);
    two(&mut text[13..15], seconds % 60);
    let nanos = t.nanosecond() % 1_000_000_000;
    let digits = if nanos == 0 {
        0
    } else if nanos.is_multiple_of(1_000_000) {
        3
    } else if nanos.is_multiple_of(1_000) {
        6
    } else {
        9
    };
    const SCALE: [u32; 10] = [1_000_000_000, 0, 0, 1_000_000, 0, 0, 1_000, 0, 0, 1];
    let mut rest = nanos / SCALE[digits];
    for slot in text[16..16 + digits].iter_mut().rev() {
        *slot = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let end = if digits == 0 { 15 } else { 16 + digits };
    text[end] = b'Z';
    text[end + 1] = b'"';
    out.extend_from_slice(&text[..end + 2]);
}

/// The ISO 8601 text of a DAY TO SECOND interval, e.g. `-P3DT4H5M6.789S`.
pub fn day_to_second(
    days: i32,
    hours: i32,
    minutes: i32,
    seconds: i32,
    nanoseconds: i32,
) -> String {
    let negative = days < 0 || hours < 0 || minutes < 0 || seconds < 0 || nanoseconds < 0;
    let (d, h, m, s, n) = (
        days.abs(),
        hours.abs(),
        minutes.abs(),
        seconds.abs(),
        nanoseconds.abs(),
    );
    let mut text = String::from(if negative { "-P" } else { "P" });
    if d != 0 {
        text.push_str(&format!("{d}D"));
    }
    if h != 0 || m != 0 || s != 0 || n != 0 || d == 0 {
        text.push('T');
        if h != 0 {
            text.push_str(&format!("{h}H"));
        }
        if m != 0 {
            text.push_str(&format!("{m}M"));
        }
        if s != 0 || n != 0 || (h == 0 && m == 0) {
            if n == 0 {
                text.push_str(&format!("{s}S"));
            } else {
                let frac = format!("{n:09}");
                text.push_str(&format!("{s}.{}S", frac.trim_end_matches('0')));
            }
        }
    }
    text
}

/// Parses a `source_timezone` setting: `UTC`, `Z` or `±HH:MM`.
pub fn parse_offset(text: &str) -> Result<FixedOffset, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("UTC") || t == "Z" {
        return Ok(FixedOffset::east_opt(0).expect("zero"));
    }
    let (sign, rest) = match t.as_bytes().first() {
        Some(b'+') => (1, &t[1..]),
        Some(b'-') => (-1, &t[1..]),
        _ => {
            return Err(format!(
                "source_timezone must be UTC or an offset like +02:00, not {t:?}"
            ))
        }
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let (h, m): (i32, i32) = (
        h.parse().map_err(|_| format!("bad hours in {t:?}"))?,
        m.parse().map_err(|_| format!("bad minutes in {t:?}"))?,
    );
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
        .ok_or_else(|| format!("offset out of range: {t:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn json(value: &Value, numbers: NumberStyle, offset: &str) -> String {
        let mut out = Vec::new();
        write_value(value, numbers, parse_offset(offset).unwrap(), &mut out);
        String::from_utf8(out).unwrap()
    }

    fn time(h: u32, nanos: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_nano_opt(h, 30, 0, nanos)
            .unwrap()
    }

    #[test]
    fn each_type_has_its_exact_json() {
        let n = NumberStyle::Number;
        let digits = "12345678901234567890123456789012345678";
        assert_eq!(json(&Value::number(digits), n, "UTC"), digits);
        assert_eq!(
            json(&Value::number("-0.000001"), NumberStyle::String, "UTC"),
            "\"-0.000001\""
        );
        assert_eq!(json(&Value::BinaryFloat(0.1), n, "UTC"), "0.1");
        assert_eq!(
            json(&Value::BinaryDouble(0.1 + 0.2), n, "UTC"),
            "0.30000000000000004"
        );
        assert_eq!(json(&Value::BinaryDouble(f64::NAN), n, "UTC"), "null");
        assert_eq!(
            json(&Value::Text("a\"é\n".into()), n, "UTC"),
            "\"a\\\"é\\n\""
        );
        assert_eq!(json(&Value::Bytes(vec![0, 255, 1]), n, "UTC"), "\"AP8B\"");
        assert_eq!(
            json(&Value::Timestamp(time(12, 123_456_000)), n, "UTC"),
            "\"2024-02-29T12:30:00.123456Z\""
        );
        assert_eq!(
            json(&Value::Timestamp(time(12, 123_456_789)), n, "+02:00"),
            "\"2024-02-29T10:30:00.123456789Z\""
        );
        assert_eq!(
            json(&Value::Date(time(0, 0)), n, "-05:00"),
            "\"2024-02-29T05:30:00Z\""
        );
        let tz = FixedOffset::east_opt(5 * 3600 + 1800)
            .unwrap()
            .from_local_datetime(&time(12, 0))
            .unwrap();
        assert_eq!(
            json(&Value::TimestampTz(tz), n, "+09:00"),
            "\"2024-02-29T07:00:00Z\""
        );
        assert_eq!(
            json(
                &Value::IntervalYm {
                    years: -1,
                    months: -2
                },
                n,
                "UTC"
            ),
            "\"-P1Y2M\""
        );
        assert_eq!(
            json(
                &Value::IntervalYm {
                    years: 0,
                    months: 0
                },
                n,
                "UTC"
            ),
            "\"P0M\""
        );
        assert_eq!(
            json(
                &Value::IntervalDs {
                    days: 3,
                    hours: 4,
                    minutes: 5,
                    seconds: 6,
                    nanoseconds: 789_000_000
                },
                n,
                "UTC"
            ),
            "\"P3DT4H5M6.789S\""
        );
        assert_eq!(
            json(
                &Value::IntervalDs {
                    days: 0,
                    hours: 0,
                    minutes: 0,
                    seconds: 0,
                    nanoseconds: 0
                },
                n,
                "UTC"
            ),
            "\"PT0S\""
        );
        assert_eq!(
            json(
                &Value::IntervalDs {
                    days: -2,
                    hours: 0,
                    minutes: 0,
                    seconds: 0,
                    nanoseconds: 0
                },
                n,
                "UTC"
            ),
            "\"-P2D\""
        );
        assert_eq!(
            json(&Value::Json(r#"{"a":[1,2.50]}"#.into()), n, "UTC"),
            r#"{"a":[1,2.50]}"#
        );
        assert_eq!(json(&Value::Boolean(true), n, "UTC"), "true");
        assert_eq!(json(&Value::Vector(vec![1.5, -2.0]), n, "UTC"), "[1.5,-2]");
        assert_eq!(json(&Value::Null, n, "UTC"), "null");
    }

    #[test]
    fn hand_written_times_match_chrono() {
        for (y, nanos) in [
            (2024, 0),
            (1, 5_000_000),
            (9999, 123_456_000),
            (1970, 1),
            (-44, 0),
            (12345, 999_999_999),
        ] {
            let t = NaiveDate::from_ymd_opt(y, 12, 31)
                .unwrap()
                .and_hms_nano_opt(23, 59, 58, nanos)
                .unwrap();
            let mut out = Vec::new();
            write_utc(&t, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                format!("\"{}Z\"", t.format("%Y-%m-%dT%H:%M:%S%.f"))
            );
        }
    }

    #[test]
    fn dates_outside_years_1_to_9999_do_not_crash() {
        let bc = NaiveDate::from_ymd_opt(-44, 3, 15)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap();
        assert_eq!(
            json(&Value::Date(bc), NumberStyle::Number, "UTC"),
            "\"-0044-03-15T00:00:00Z\""
        );
    }

    #[test]
    fn rows_are_objects_in_column_order() {
        let mut encoder = RowEncoder::new(
            &[
                ("ID".into(), NumberStyle::Number),
                ("Name \"x\"".into(), NumberStyle::Number),
            ],
            parse_offset("UTC").unwrap(),
        );
        let mut out = Vec::new();
        encoder.encode(
            &[
                Value::number("1"),
                Value::Text("a".into()),
                Value::Text("extra".into()),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#"{"ID":1,"Name \"x\"":"a"}"#
        );
        let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(parsed["ID"], serde_json::json!(1));
        assert!(parse_offset("Europe/Paris").is_err());
    }
}

#[cfg(test)]
#[path = "convert_props.rs"]
mod props;
