//! Property tests of the row encoder: for rows of every value kind, the bytes it writes
//! are exactly the JSON an independent route gives for the same values (serde_json's
//! encoding of strings, numbers and JSON; chrono's formatting of times; `Display` for
//! floats), so the hand-written fast paths cannot drift from the documented output.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use db_boundary::{Decimal, Value};
use proptest::prelude::*;
use serde_json::{Map, Value as Json};

use super::{day_to_second, parse_offset, NumberStyle, RowEncoder};

fn naive() -> impl Strategy<Value = NaiveDateTime> {
    // Years -4712..=9999 as Oracle allows, plus a few past 9999 (expanded years).
    (
        -4712i32..=12000,
        1u32..=366,
        0u32..86_400,
        0u32..6,
        0u32..1_000_000_000,
    )
        .prop_map(|(year, day, seconds, precision, nanos)| {
            let date = NaiveDate::from_yo_opt(year, day)
                .or_else(|| NaiveDate::from_yo_opt(year, 365))
                .expect("day 365 exists every year");
            // Whole seconds, milli-, micro- and nanoseconds as often as each other.
            let nanos = match precision {
                0 | 1 => 0,
                2 => nanos / 1_000_000 * 1_000_000,
                3 => nanos / 1_000 * 1_000,
                _ => nanos,
            };
            date.and_hms_nano_opt(seconds / 3600, seconds / 60 % 60, seconds % 60, nanos)
                .expect("a valid time")
        })
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,40}",
        "(\\PC{0,9}[\"\\\\\\x00-\\x1f\\x7f]?){0,5}",
        "[a-zA-Z0-9 ,]{0,60}",
    ]
}

fn decimal() -> impl Strategy<Value = Decimal> {
    ("-?(0|[1-9][0-9]{0,37})(\\.[0-9]{0,20}[1-9])?")
        .prop_map(|t| Decimal::parse(&t).expect("the pattern is decimal text"))
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        decimal().prop_map(Value::Number),
        any::<f32>().prop_map(Value::BinaryFloat),
        any::<f64>().prop_map(Value::BinaryDouble),
        text().prop_map(Value::Text),
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(Value::Bytes),
        naive().prop_map(Value::Date),
        naive().prop_map(Value::Timestamp),
        (naive(), -50_400i32..=50_400).prop_map(|(t, offset)| {
            let zone = FixedOffset::east_opt(offset / 60 * 60).expect("within a day");
            Value::TimestampTz(zone.from_utc_datetime(&t))
        }),
        (-999i32..999, 0i32..12).prop_map(|(y, m)| Value::IntervalYm {
            years: y,
            months: if y < 0 { -m } else { m }
        }),
        (
            0i32..999,
            0i32..24,
            0i32..60,
            0i32..60,
            0i32..1_000_000_000,
            any::<bool>()
        )
            .prop_map(|(d, h, m, s, n, negative)| {
                let sign = if negative { -1 } else { 1 };
                Value::IntervalDs {
                    days: sign * d,
                    hours: sign * h,
                    minutes: sign * m,
                    seconds: sign * s,
                    nanoseconds: sign * n,
                }
            }),
        text().prop_map(|t| Value::Json(
            serde_json::to_string(&serde_json::json!({"k": t, "n": [1, 2.50]})).expect("json")
        )),
        any::<bool>().prop_map(Value::Boolean),
        proptest::collection::vec(-1e6f64..1e6, 0..5).prop_map(Value::Vector),
    ]
}

/// The JSON text of one value by the independent route.
fn expected(value: &Value, numbers: NumberStyle, offset: FixedOffset) -> String {
    let time = |t: DateTime<Utc>| {
        serde_json::to_string(&format!(
            "{}Z",
            t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f")
        ))
        .expect("a string")
    };
    let float = |finite: bool, text: String| if finite { text } else { "null".into() };
    match value {
        Value::Null => "null".into(),
        Value::Number(d) => match numbers {
            NumberStyle::Number => serde_json::from_str::<Json>(d.as_str())
                .expect("a JSON number")
                .to_string(),
            NumberStyle::String => Json::String(d.as_str().into()).to_string(),
        },
        Value::BinaryFloat(f) => float(f.is_finite(), f.to_string()),
        Value::BinaryDouble(f) => float(f.is_finite(), f.to_string()),
        Value::Text(s) => Json::String(s.clone()).to_string(),
        Value::Bytes(b) => {
            use base64::Engine;
            Json::String(base64::engine::general_purpose::STANDARD.encode(b)).to_string()
        }
        Value::Date(t) | Value::Timestamp(t) => time(
            offset
                .from_local_datetime(t)
                .single()
                .map_or_else(|| t.and_utc(), |d| d.with_timezone(&Utc)),
        ),
        Value::TimestampTz(t) => time(t.with_timezone(&Utc)),
        Value::IntervalYm { years, months } => {
            let sign = if *years < 0 || *months < 0 { "-" } else { "" };
            let (y, m) = (years.abs(), months.abs());
            let text = match (y, m) {
                (0, m) => format!("{sign}P{m}M"),
                (y, 0) => format!("{sign}P{y}Y"),
                (y, m) => format!("{sign}P{y}Y{m}M"),
            };
            Json::String(text).to_string()
        }
        Value::IntervalDs {
            days,
            hours,
            minutes,
            seconds,
            nanoseconds,
        } => Json::String(day_to_second(
            *days,
            *hours,
            *minutes,
            *seconds,
            *nanoseconds,
        ))
        .to_string(),
        Value::Json(text) => serde_json::from_str::<Json>(text)
            .expect("JSON text")
            .to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Vector(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|f| float(f.is_finite(), f.to_string()))
                .collect();
            format!("[{}]", parts.join(","))
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]
    /// A row of any value kinds, under any column names, number style and source zone,
    /// is written byte for byte as the independent route writes it, and reads back as
    /// a JSON object with the same members in column order.
    #[test]
    fn rows_are_the_independent_routes_bytes(
        row in proptest::collection::vec((text(), value(), any::<bool>()), 0..12),
        offset in prop_oneof![Just("UTC"), Just("+05:30"), Just("-08:00")],
    ) {
        let offset = parse_offset(offset).expect("an offset");
        // Column names made unique, so the object read back has one member per column.
        let columns: Vec<(String, NumberStyle)> = row
            .iter()
            .enumerate()
            .map(|(i, (name, _, as_string))| {
                let style = if *as_string { NumberStyle::String } else { NumberStyle::Number };
                (format!("{name}{i}"), style)
            })
            .collect();
        let values: Vec<Value> = row.iter().map(|(_, v, _)| v.clone()).collect();
        let mut ours = Vec::new();
        RowEncoder::new(&columns, offset).encode(&values, &mut ours);
        let members: Vec<String> = columns
            .iter()
            .zip(&values)
            .map(|((name, style), v)| {
                format!("{}:{}", Json::String(name.clone()), expected(v, *style, offset))
            })
            .collect();
        let text = String::from_utf8(ours).expect("UTF-8");
        prop_assert_eq!(&text, &format!("{{{}}}", members.join(",")));
        let back: Map<String, Json> = serde_json::from_str(&text).expect("a JSON object");
        let names: Vec<&String> = back.keys().collect();
        let wanted: Vec<&String> = columns.iter().map(|(n, _)| n).collect();
        prop_assert_eq!(names, wanted);
    }
}
