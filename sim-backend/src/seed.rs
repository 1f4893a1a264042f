//! Seed folders: a sample database as files, loaded into the simulated backend by
//! `sim-admin seed` (the demo and end-to-end tests use it).
//!
//! A seed folder holds `dictionary.json` (the same rows as a catalog fixture) and
//! `data/<OWNER>-<TABLE>.jsonl`, one JSON array per row with a value per column in
//! column order. Text forms by column type: NUMBER/FLOAT a JSON number or a string with
//! the exact digits; BINARY_FLOAT/DOUBLE a number or `"NaN"`, `"Infinity"`,
//! `"-Infinity"`; DATE/TIMESTAMP `"2024-05-01T12:30:00.123456"`; TIMESTAMP WITH (LOCAL)
//! TIME ZONE RFC 3339 with an offset; INTERVAL an ISO 8601 duration (`"P1Y2M"`,
//! `"-P3DT4H5M6.789S"`); RAW/BLOB base64; JSON any JSON value; BOOLEAN true/false;
//! VECTOR an array of numbers; character and LOB types strings; `null` is NULL.

use std::io::BufRead;
use std::path::Path;

use base64::Engine;
use chrono::{DateTime, NaiveDateTime};
use serde_json::Value as Json;
use singer_core::dictionary::DictionaryRows;
use singer_core::oracle_type::OracleType;

use crate::SimBackend;
use db_boundary::{DbError, DbResult, Decimal, Sink, TableName, Value};

/// Rows per insert batch while loading a data file.
const SEED_CHUNK_ROWS: usize = 1000;

/// Loads a seed folder; returns the rows inserted per table.
pub fn seed_dir(backend: &SimBackend, dir: &Path) -> DbResult<Vec<(String, u64)>> {
    let config = |e: String| DbError::Config(e);
    let text = std::fs::read_to_string(dir.join("dictionary.json"))
        .map_err(|e| config(format!("{}: {e}", dir.join("dictionary.json").display())))?;
    let rows: DictionaryRows =
        serde_json::from_str(&text).map_err(|e| config(format!("dictionary.json: {e}")))?;
    backend.load_dictionary(&rows)?;
    let mut counts = Vec::new();
    for table in &rows.tables {
        let file = dir
            .join("data")
            .join(format!("{}-{}.jsonl", table.owner, table.table_name));
        if !file.exists() {
            continue;
        }
        let mut columns: Vec<_> = rows
            .columns
            .iter()
            .filter(|c| {
                c.owner == table.owner && c.table_name == table.table_name && !c.is_hidden()
            })
            .collect();
        columns.sort_by_key(|c| c.column_id.unwrap_or(u32::MAX));
        let names: Vec<String> = columns.iter().map(|c| c.column_name.clone()).collect();
        let types: Vec<OracleType> = columns.iter().map(|c| OracleType::from_column(c)).collect();
        let reader = std::io::BufReader::new(
            std::fs::File::open(&file).map_err(|e| config(format!("{}: {e}", file.display())))?,
        );
        // Rows go in by chunks of one session and commit once per file, so a large data
        // file never sits in memory and a bad line leaves the table empty.
        let name = TableName {
            schema: Some(table.owner.clone()),
            name: table.table_name.clone(),
        };
        let mut session = backend.session()?;
        let defs = db_boundary::column_defs(&mut session, &name, &names)?;
        let mut chunk = Vec::with_capacity(SEED_CHUNK_ROWS);
        let mut n = 0u64;
        for (i, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| config(format!("{}: {e}", file.display())))?;
            if line.trim().is_empty() {
                continue;
            }
            let where_ = || format!("{} line {}", file.display(), i + 1);
            let items: Vec<Json> =
                serde_json::from_str(&line).map_err(|e| config(format!("{}: {e}", where_())))?;
            if items.len() != types.len() {
                return Err(config(format!(
                    "{}: {} values for {} columns",
                    where_(),
                    items.len(),
                    types.len()
                )));
            }
            let row = items
                .iter()
                .zip(&types)
                .zip(&names)
                .map(|((item, t), name)| {
                    value_from_json(item, t)
                        .map_err(|e| config(format!("{}, column {name}: {e}", where_())))
                })
                .collect::<DbResult<Vec<Value>>>()?;
            chunk.push(row);
            if chunk.len() == SEED_CHUNK_ROWS {
                session.insert_rows(&name, &defs, &chunk)?;
                n += chunk.len() as u64;
                chunk.clear();
            }
        }
        session.insert_rows(&name, &defs, &chunk)?;
        n += chunk.len() as u64;
        session.commit()?;
        counts.push((format!("{}-{}", table.owner, table.table_name), n));
    }
    Ok(counts)
}

/// Reads one seed value for a column of `oracle_type`.
pub fn value_from_json(item: &Json, oracle_type: &OracleType) -> Result<Value, String> {
    use OracleType as T;
    if item.is_null() {
        return Ok(Value::Null);
    }
    let text = || -> Result<&str, String> {
        item.as_str()
            .ok_or_else(|| format!("expected a string, got {item}"))
    };
    Ok(match oracle_type {
        T::Number { .. } | T::Float { .. } => match item {
            Json::Number(n) => Value::Number(
                Decimal::parse(n.as_str()).map_err(|_| format!("{n} is not a decimal"))?,
            ),
            Json::String(s) => {
                Value::Number(Decimal::parse(s).map_err(|_| format!("{s:?} is not a decimal"))?)
            }
            _ => return Err(format!("expected a number, got {item}")),
        },
        T::BinaryFloat | T::BinaryDouble => {
            let f: f64 = match item {
                Json::Number(n) => n.to_string().parse().map_err(|_| "bad number")?,
                Json::String(s) => match s.as_str() {
                    "NaN" => f64::NAN,
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    other => other.parse().map_err(|_| format!("bad float {other}"))?,
                },
                _ => return Err(format!("expected a number, got {item}")),
            };
            if matches!(oracle_type, T::BinaryFloat) {
                Value::BinaryFloat(f as f32)
            } else {
                Value::BinaryDouble(f)
            }
        }
        T::Raw { .. } | T::LongRaw | T::Blob => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|e| format!("bad base64: {e}"))?,
        ),
        T::Date => Value::Date(naive(text()?)?),
        T::Timestamp { .. } => Value::Timestamp(naive(text()?)?),
        T::TimestampTz { .. } | T::TimestampLtz { .. } => Value::TimestampTz(
            DateTime::parse_from_rfc3339(text()?).map_err(|e| format!("bad RFC 3339 time: {e}"))?,
        ),
        T::IntervalYearToMonth { .. } | T::IntervalDayToSecond { .. } => parse_duration(text()?)?,
        T::Json => Value::Json(item.to_string()),
        T::Boolean => Value::Boolean(item.as_bool().ok_or("expected true or false")?),
        T::Vector => Value::Vector(
            item.as_array()
                .ok_or("expected an array")?
                .iter()
                .map(|v| {
                    v.to_string()
                        .parse::<f64>()
                        .map_err(|_| "bad vector element".to_owned())
                })
                .collect::<Result<_, _>>()?,
        ),
        _ => Value::Text(text()?.to_owned()),
    })
}

/// Writes a value in the seed text form [`value_from_json`] reads back, so
/// `sim-admin dump` output is a valid data file.
pub fn value_to_json(value: &Value) -> Json {
    let number = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| Json::from(text));
    let float = |f: f64| {
        if f.is_nan() {
            Json::from("NaN")
        } else if f.is_infinite() {
            Json::from(if f > 0.0 { "Infinity" } else { "-Infinity" })
        } else {
            number(&f.to_string())
        }
    };
    let sign = |negative: bool| if negative { "-" } else { "" };
    match value {
        Value::Null => Json::Null,
        Value::Number(text) => number(text.as_str()),
        Value::BinaryFloat(f) if f.is_finite() => number(&f.to_string()),
        Value::BinaryFloat(f) => float(f64::from(*f)),
        Value::BinaryDouble(f) => float(*f),
        Value::Text(text) => Json::from(text.as_str()),
        Value::Bytes(bytes) => Json::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
        Value::Date(t) | Value::Timestamp(t) => {
            Json::from(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string())
        }
        Value::TimestampTz(t) => {
            Json::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false))
        }
        Value::IntervalYm { years, months } => Json::from(format!(
            "{}P{}Y{}M",
            sign(*years < 0 || *months < 0),
            years.unsigned_abs(),
            months.unsigned_abs()
        )),
        Value::IntervalDs {
            days,
            hours,
            minutes,
            seconds,
            nanoseconds,
        } => Json::from(format!(
            "{}P{}DT{}H{}M{}.{:09}S",
            sign(*days < 0 || *hours < 0 || *minutes < 0 || *seconds < 0 || *nanoseconds < 0),
            days.unsigned_abs(),
            hours.unsigned_abs(),
            minutes.unsigned_abs(),
            seconds.unsigned_abs(),
            nanoseconds.unsigned_abs()
        )),
        Value::Json(text) => {
            serde_json::from_str(text).unwrap_or_else(|_| Json::from(text.as_str()))
        }
        Value::Boolean(b) => Json::from(*b),
        Value::Vector(items) => Json::Array(items.iter().map(|f| float(*f)).collect()),
    }
}

fn naive(text: &str) -> Result<NaiveDateTime, String> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .map_err(|e| format!("bad date-time {text:?}: {e}"))
}

/// Parses `[-]PnYnM` or `[-]PnDTnHnMn.nS` into an interval value.
pub fn parse_duration(text: &str) -> Result<Value, String> {
    let bad = || format!("bad ISO 8601 duration {text:?}");
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let body = body.strip_prefix('P').ok_or_else(bad)?;
    let sign = if negative { -1 } else { 1 };
    let (date_part, time_part) = body.split_once('T').unwrap_or((body, ""));
    let mut fields = std::collections::HashMap::new();
    for (part, is_time) in [(date_part, false), (time_part, true)] {
        let mut number = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                number.push(c);
            } else {
                let key = match (c, is_time) {
                    ('M', true) => 'm',
                    (c, _) => c,
                };
                fields.insert(key, std::mem::take(&mut number));
            }
        }
        if !number.is_empty() {
            return Err(bad());
        }
    }
    let int = |k: char| -> Result<i32, String> {
        fields
            .get(&k)
            .map_or(Ok(0), |v| v.parse::<i32>().map_err(|_| bad()))
    };
    if fields.contains_key(&'Y') || fields.contains_key(&'M') {
        return Ok(Value::IntervalYm {
            years: sign * int('Y')?,
            months: sign * int('M')?,
        });
    }
    let (seconds, nanoseconds) = match fields.get(&'S') {
        None => (0, 0),
        Some(s) => {
            let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
            let frac = format!("{frac:0<9}");
            (
                whole.parse::<i32>().map_err(|_| bad())?,
                frac[..9].parse::<i32>().map_err(|_| bad())?,
            )
        }
    };
    Ok(Value::IntervalDs {
        days: sign * int('D')?,
        hours: sign * int('H')?,
        minutes: sign * int('m')?,
        seconds: sign * seconds,
        nanoseconds: sign * nanoseconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use OracleType as T;

    #[test]
    fn every_value_survives_the_seed_text_form() {
        use chrono::{FixedOffset, NaiveDate, TimeZone};
        let at = NaiveDate::from_ymd_opt(2024, 2, 29)
            .and_then(|d| d.and_hms_nano_opt(13, 14, 15, 123_456_789))
            .unwrap();
        let zoned = FixedOffset::east_opt(-(3 * 3600 + 1800))
            .unwrap()
            .from_local_datetime(&at)
            .unwrap();
        let cases = [
            (
                T::Number {
                    precision: None,
                    scale: None,
                },
                Value::number("-12345678901234567890123456789.012345678"),
            ),
            (T::BinaryFloat, Value::BinaryFloat(0.1)),
            (T::BinaryFloat, Value::BinaryFloat(f32::NEG_INFINITY)),
            (T::BinaryDouble, Value::BinaryDouble(f64::NAN)),
            (T::BinaryDouble, Value::BinaryDouble(1e-300)),
            (T::Clob, Value::Text("Zoë \"李\"\n".into())),
            (T::Blob, Value::Bytes(vec![0, 255, 7])),
            (T::Date, Value::Date(at.with_nanosecond(0).unwrap())),
            (
                T::Timestamp {
                    fractional_precision: 9,
                },
                Value::Timestamp(at),
            ),
            (
                T::TimestampTz {
                    fractional_precision: 9,
                },
                Value::TimestampTz(zoned),
            ),
            (
                T::IntervalYearToMonth { year_precision: 2 },
                Value::IntervalYm {
                    years: -1,
                    months: -2,
                },
            ),
            (
                T::IntervalDayToSecond {
                    day_precision: 2,
                    fractional_precision: 9,
                },
                Value::IntervalDs {
                    days: 0,
                    hours: -4,
                    minutes: -5,
                    seconds: 0,
                    nanoseconds: -1,
                },
            ),
            (T::Json, Value::Json(r#"{"b":1.10,"a":[null,true]}"#.into())),
            (T::Boolean, Value::Boolean(false)),
            (T::Vector, Value::Vector(vec![1.5, -0.1, 3.0])),
        ];
        for (oracle_type, value) in cases {
            let json = value_to_json(&value);
            let back = value_from_json(&json, &oracle_type).unwrap();
            // Debug text shows offsets and NaN, which `==` would not compare.
            assert_eq!(format!("{back:?}"), format!("{value:?}"), "{json}");
        }
    }

    #[test]
    fn durations_parse_both_interval_kinds() {
        assert_eq!(
            parse_duration("P1Y2M").unwrap(),
            Value::IntervalYm {
                years: 1,
                months: 2
            }
        );
        assert_eq!(
            parse_duration("-P3DT4H5M6.789S").unwrap(),
            Value::IntervalDs {
                days: -3,
                hours: -4,
                minutes: -5,
                seconds: -6,
                nanoseconds: -789_000_000
            }
        );
        assert!(parse_duration("3 days").is_err());
    }
}
