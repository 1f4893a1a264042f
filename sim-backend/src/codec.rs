//! Order-preserving binary encoding of [`Value`]s for the simulated backend.
//!
//! Every non-NULL value is stored as one SQLite BLOB whose byte order (memcmp, which is
//! how SQLite compares BLOBs) is the value's Oracle order: numbers numerically, times
//! chronologically (TIMESTAMP WITH TIME ZONE by instant), text in binary order as with
//! NLS_SORT=BINARY. NULL is stored as SQL NULL, so it sorts first and never compares.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};

use db_boundary::{Decimal, Value};

const NUMBER: u8 = 0x10;
const BINARY_FLOAT: u8 = 0x11;
const BINARY_DOUBLE: u8 = 0x12;
const TEXT: u8 = 0x20;
const BYTES: u8 = 0x21;
const JSON: u8 = 0x22;
const DATE: u8 = 0x30;
const TIMESTAMP: u8 = 0x31;
const TIMESTAMP_TZ: u8 = 0x32;
const INTERVAL_YM: u8 = 0x40;
const INTERVAL_DS: u8 = 0x41;
const BOOLEAN: u8 = 0x50;
const VECTOR: u8 = 0x60;

/// How many leading bytes of an encoded TIMESTAMP WITH TIME ZONE hold its tag and
/// instant; the offset follows, kept for the round trip but not compared.
pub const TIMESTAMP_TZ_INSTANT_BYTES: usize = 13;

/// Sign classes of an encoded NUMBER, in order.
const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;

/// Encodes a non-NULL value (`None` for NULL).
pub fn encode(value: &Value) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(16);
    match value {
        Value::Null => return None,
        Value::Number(text) => {
            out.push(NUMBER);
            encode_decimal(text, &mut out);
        }
        Value::BinaryFloat(f) => {
            out.push(BINARY_FLOAT);
            out.extend_from_slice(&sortable_f64(f64::from(*f)));
            out.extend_from_slice(&f.to_bits().to_be_bytes());
        }
        Value::BinaryDouble(f) => {
            out.push(BINARY_DOUBLE);
            out.extend_from_slice(&sortable_f64(*f));
        }
        Value::Text(s) => {
            out.push(TEXT);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(BYTES);
            out.extend_from_slice(b);
        }
        Value::Json(s) => {
            out.push(JSON);
            out.extend_from_slice(s.as_bytes());
        }
        Value::Date(t) => {
            out.push(DATE);
            push_time(t, &mut out);
        }
        Value::Timestamp(t) => {
            out.push(TIMESTAMP);
            push_time(t, &mut out);
        }
        Value::TimestampTz(t) => {
            out.push(TIMESTAMP_TZ);
            push_time(&t.naive_utc(), &mut out);
            out.extend_from_slice(&t.offset().local_minus_utc().to_be_bytes());
        }
        Value::IntervalYm { years, months } => {
            out.push(INTERVAL_YM);
            let total = i64::from(*years) * 12 + i64::from(*months);
            out.extend_from_slice(&sortable_i64(total));
        }
        Value::IntervalDs {
            days,
            hours,
            minutes,
            seconds,
            nanoseconds,
        } => {
            out.push(INTERVAL_DS);
            let secs = i128::from(*days) * 86_400
                + i128::from(*hours) * 3_600
                + i128::from(*minutes) * 60
                + i128::from(*seconds);
            let total = secs * 1_000_000_000 + i128::from(*nanoseconds);
            out.extend_from_slice(&((total as u128) ^ (1u128 << 127)).to_be_bytes());
        }
        Value::Boolean(b) => {
            out.push(BOOLEAN);
            out.push(u8::from(*b));
        }
        Value::Vector(items) => {
            out.push(VECTOR);
            for f in items {
                out.extend_from_slice(&f.to_be_bytes());
            }
        }
    }
    Some(out)
}

/// Decodes what [`encode`] wrote; `None` (SQL NULL) is [`Value::Null`].
pub fn decode(bytes: Option<&[u8]>) -> Result<Value, String> {
    let Some(bytes) = bytes else {
        return Ok(Value::Null);
    };
    let (&tag, body) = bytes.split_first().ok_or("empty value")?;
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| e.to_string());
    Ok(match tag {
        NUMBER => Value::Number(decode_decimal(body)?),
        BINARY_FLOAT => {
            let bits: [u8; 4] = body
                .get(8..12)
                .ok_or("short float")?
                .try_into()
                .map_err(|_| "float")?;
            Value::BinaryFloat(f32::from_bits(u32::from_be_bytes(bits)))
        }
        BINARY_DOUBLE => Value::BinaryDouble(unsortable_f64(body)?),
        TEXT => Value::Text(text(body)?),
        BYTES => Value::Bytes(body.to_vec()),
        JSON => Value::Json(text(body)?),
        DATE => Value::Date(read_time(body)?),
        TIMESTAMP => Value::Timestamp(read_time(body)?),
        TIMESTAMP_TZ => {
            let utc = read_time(body)?;
            let offset_bytes: [u8; 4] = body
                .get(12..16)
                .ok_or("short tz")?
                .try_into()
                .map_err(|_| "tz")?;
            let offset =
                FixedOffset::east_opt(i32::from_be_bytes(offset_bytes)).ok_or("bad offset")?;
            Value::TimestampTz(offset.from_utc_datetime(&utc))
        }
        INTERVAL_YM => {
            let total = read_i64(body)?;
            Value::IntervalYm {
                years: (total / 12) as i32,
                months: (total % 12) as i32,
            }
        }
        INTERVAL_DS => {
            let raw: [u8; 16] = body
                .get(..16)
                .ok_or("short interval")?
                .try_into()
                .map_err(|_| "interval")?;
            let total = (u128::from_be_bytes(raw) ^ (1u128 << 127)) as i128;
            let nanos = (total % 1_000_000_000) as i32;
            let secs = total / 1_000_000_000;
            Value::IntervalDs {
                days: (secs / 86_400) as i32,
                hours: ((secs % 86_400) / 3_600) as i32,
                minutes: ((secs % 3_600) / 60) as i32,
                seconds: (secs % 60) as i32,
                nanoseconds: nanos,
            }
        }
        BOOLEAN => Value::Boolean(body.first() == Some(&1)),
        VECTOR => Value::Vector(
            body.chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().unwrap_or([0; 8])))
                .collect(),
        ),
        other => return Err(format!("unknown value tag {other:#x}")),
    })
}

fn sortable_i64(v: i64) -> [u8; 8] {
    ((v as u64) ^ (1u64 << 63)).to_be_bytes()
}

fn read_i64(body: &[u8]) -> Result<i64, String> {
    let raw: [u8; 8] = body
        .get(..8)
        .ok_or("short value")?
        .try_into()
        .map_err(|_| "i64")?;
    Ok((u64::from_be_bytes(raw) ^ (1u64 << 63)) as i64)
}

fn sortable_f64(f: f64) -> [u8; 8] {
    let bits = f.to_bits();
    let flipped = if bits >> 63 == 1 {
        !bits
    } else {
        bits | (1u64 << 63)
    };
    flipped.to_be_bytes()
}

fn unsortable_f64(body: &[u8]) -> Result<f64, String> {
    let raw: [u8; 8] = body
        .get(..8)
        .ok_or("short double")?
        .try_into()
        .map_err(|_| "f64")?;
    let flipped = u64::from_be_bytes(raw);
    let bits = if flipped >> 63 == 1 {
        flipped & !(1u64 << 63)
    } else {
        !flipped
    };
    Ok(f64::from_bits(bits))
}

fn push_time(t: &NaiveDateTime, out: &mut Vec<u8>) {
    let utc = t.and_utc();
    out.extend_from_slice(&sortable_i64(utc.timestamp()));
    out.extend_from_slice(&utc.timestamp_subsec_nanos().to_be_bytes());
}

fn read_time(body: &[u8]) -> Result<NaiveDateTime, String> {
    let secs = read_i64(body)?;
    let nanos: [u8; 4] = body
        .get(8..12)
        .ok_or("short time")?
        .try_into()
        .map_err(|_| "nanos")?;
    DateTime::from_timestamp(secs, u32::from_be_bytes(nanos))
        .map(|d| d.naive_utc())
        .ok_or_else(|| "time out of range".to_owned())
}

fn encode_decimal(number: &Decimal, out: &mut Vec<u8>) {
    let parts = number.parts();
    let (negative, digits) = (parts.negative, parts.digits);
    // The decimal exponent of the first digit (`123.4` -> 3).
    let exponent = (digits.len() as i64 + parts.exponent) as i32;
    if digits.is_empty() {
        out.push(ZERO);
    } else if negative {
        out.push(NEGATIVE);
        out.extend_from_slice(&(!((exponent as i16 as u16) ^ 0x8000)).to_be_bytes());
        out.extend(digits.bytes().map(|d| !d));
        out.push(0xFF);
    } else {
        out.push(POSITIVE);
        out.extend_from_slice(&((exponent as i16 as u16) ^ 0x8000).to_be_bytes());
        out.extend_from_slice(digits.as_bytes());
    }
}

fn decode_decimal(body: &[u8]) -> Result<Decimal, String> {
    let mut decimal = Decimal::zero();
    decode_decimal_into(body, &mut decimal)?;
    Ok(decimal)
}

/// Decodes a NUMBER into `decimal`, reusing its text buffer; the digits are read in
/// place (NUMBER keeps at most 40, so a stack buffer holds them).
fn decode_decimal_into(body: &[u8], decimal: &mut Decimal) -> Result<(), String> {
    let (&class, rest) = body.split_first().ok_or("empty number")?;
    match class {
        ZERO => decimal.assign_digits(false, "0", 0),
        POSITIVE | NEGATIVE => {
            let raw: [u8; 2] = rest
                .get(..2)
                .ok_or("short number")?
                .try_into()
                .map_err(|_| "exp")?;
            let mut exp_bits = u16::from_be_bytes(raw);
            let negative = class == NEGATIVE;
            if negative {
                exp_bits = !exp_bits;
            }
            let exponent = i32::from((exp_bits ^ 0x8000) as i16);
            let stored = &rest[2..];
            // A negative number's digits are complemented and end at 0xFF.
            let digits = stored
                .iter()
                .take_while(|&&b| !(negative && b == 0xFF))
                .map(|&b| if negative { !b } else { b });
            let mut buffer = [0u8; 64];
            let mut long = Vec::new();
            let mut count = 0;
            for digit in digits {
                match buffer.get_mut(count) {
                    Some(place) => *place = digit,
                    None => {
                        // Longer than NUMBER ever is: kept whole all the same.
                        if long.is_empty() {
                            long.extend_from_slice(&buffer);
                        }
                        long.push(digit);
                    }
                }
                count += 1;
            }
            let read = if long.is_empty() {
                &buffer[..count]
            } else {
                &long[..]
            };
            let digits = std::str::from_utf8(read).map_err(|e| e.to_string())?;
            let exponent = i64::from(exponent) - count as i64;
            decimal.assign_digits(negative, digits, exponent);
        }
        _ => return Err("bad number".to_owned()),
    }
    Ok(())
}

/// [`decode`] into `slot`, reusing the text buffer it holds when it holds a number or
/// text already (a scan decodes row after row into the same values).
pub fn decode_into(bytes: Option<&[u8]>, slot: &mut Value) -> Result<(), String> {
    match (bytes.and_then(|b| b.split_first()), slot) {
        (Some((&NUMBER, body)), Value::Number(decimal)) => decode_decimal_into(body, decimal),
        (Some((&TEXT, body)), Value::Text(text)) => {
            text.clear();
            text.push_str(std::str::from_utf8(body).map_err(|e| e.to_string())?);
            Ok(())
        }
        (_, slot) => {
            *slot = decode(bytes)?;
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// Decodes to `v`, fresh and into a slot holding each of the other kinds (a scan
    /// decodes over the last row's values).
    fn roundtrip(v: Value) {
        let encoded = encode(&v);
        assert_eq!(decode(encoded.as_deref()).unwrap(), v);
        for held in [
            Value::Null,
            Value::number("-987654321.123456789"),
            Value::Text("a longer text held before".into()),
            Value::Bytes(vec![1, 2]),
        ] {
            let mut slot = held;
            decode_into(encoded.as_deref(), &mut slot).unwrap();
            assert_eq!(slot, v);
        }
    }

    #[test]
    fn every_variant_round_trips() {
        let t = NaiveDate::from_ymd_opt(2024, 2, 29)
            .unwrap()
            .and_hms_nano_opt(23, 59, 59, 123_456_789)
            .unwrap();
        for v in [
            Value::Null,
            Value::number("12345678901234567890123456789012345678"),
            Value::number("-0.000000000000000000000000000000000001"),
            Value::number("0"),
            Value::number("-12.5"),
            Value::number(&"7".repeat(80)),
            Value::number(&format!("-{}.5", "3".repeat(70))),
            Value::BinaryFloat(f32::NAN),
            Value::BinaryFloat(1.1),
            Value::BinaryDouble(f64::NEG_INFINITY),
            Value::Text("héllo".into()),
            Value::Bytes(vec![0, 255, 7]),
            Value::Json(r#"{"a":[1,2]}"#.into()),
            Value::Date(t.with_nanosecond(0).unwrap()),
            Value::Timestamp(t),
            Value::TimestampTz(
                FixedOffset::east_opt(-5 * 3600 - 1800)
                    .unwrap()
                    .from_utc_datetime(&t),
            ),
            Value::IntervalYm {
                years: -3,
                months: -4,
            },
            Value::IntervalDs {
                days: 9,
                hours: 1,
                minutes: 2,
                seconds: 3,
                nanoseconds: 456,
            },
            Value::IntervalDs {
                days: -1,
                hours: -2,
                minutes: 0,
                seconds: -3,
                nanoseconds: -4,
            },
            Value::Boolean(true),
            Value::Vector(vec![1.5, -2.0]),
        ] {
            if let Value::BinaryFloat(f) = v {
                if f.is_nan() {
                    let back = decode(encode(&v).as_deref()).unwrap();
                    assert!(matches!(back, Value::BinaryFloat(b) if b.is_nan()));
                    continue;
                }
            }
            roundtrip(v);
        }
    }

    /// Values of every kind a scan decodes over one another.
    fn held_values() -> Vec<Value> {
        let t = NaiveDate::from_ymd_opt(1999, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap();
        vec![
            Value::Null,
            Value::number("-987654321.123456789"),
            Value::number(&"9".repeat(90)),
            Value::Text("a longer text held before, ünïcödé".into()),
            Value::Json("[]".into()),
            Value::Bytes(vec![1, 2]),
            Value::Date(t),
            Value::Timestamp(t),
            Value::BinaryDouble(2.5),
            Value::Boolean(false),
            Value::Vector(vec![0.5]),
        ]
    }

    /// `decode_into` over a slot holding any kind equals `decode`, for numbers of every
    /// length up to 100 digits (past the 64 a stack buffer holds), both signs and
    /// exponents from 1e-130 to 1e130, and texts of one- to four-byte characters.
    #[test]
    fn decode_into_equals_decode_for_generated_values() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut values = Vec::new();
        for length in 1..=100usize {
            for exponent in [-130i64, -41, -3, 0, 2, 37, 130] {
                let mut digits: String = (0..length)
                    .map(|_| char::from(b'0' + (next() % 10) as u8))
                    .collect();
                if next() % 3 == 0 {
                    digits.replace_range(..1, "0");
                }
                let negative = next() % 2 == 0;
                values.push(Value::Number(Decimal::from_digits(
                    negative, &digits, exponent,
                )));
            }
        }
        let pieces = ["a", "é", "€", "𝄞", " ", "'", "\\"];
        for length in 0..40usize {
            let text: String = (0..length)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect();
            values.push(Value::Text(text.clone()));
            values.push(Value::Json(text));
        }
        values.extend(held_values());
        for value in values {
            let encoded = encode(&value);
            let fresh = decode(encoded.as_deref()).unwrap();
            assert_eq!(fresh, value);
            for held in held_values() {
                let mut slot = held;
                decode_into(encoded.as_deref(), &mut slot).unwrap();
                assert_eq!(slot, fresh, "{value:?}");
            }
        }
    }

    use chrono::Timelike;

    #[test]
    fn numbers_sort_numerically() {
        let numbers = [
            "-1000", "-123", "-12.5", "-12", "-0.5", "0", "0.001", "1", "1.5", "12", "123", "1e3",
        ];
        let encoded: Vec<Vec<u8>> = numbers[..11]
            .iter()
            .map(|n| encode(&Value::number(n)).unwrap())
            .collect();
        let mut sorted = encoded.clone();
        sorted.sort();
        assert_eq!(sorted, encoded);
        // One canonicaliser (singer_core::decimal); Oracle's TO_NUMBER reads `1e3` too.
        assert_eq!(Decimal::parse("00120.500").unwrap().as_str(), "120.5");
        assert_eq!(Decimal::parse("-0.0").unwrap().as_str(), "0");
        assert_eq!(Decimal::parse("1e3").unwrap().as_str(), "1000");
    }

    #[test]
    fn timestamps_with_zones_sort_by_instant() {
        let t = NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(12, 0, 0)
            .unwrap();
        let early = Value::TimestampTz(
            FixedOffset::east_opt(3600 * 5)
                .unwrap()
                .from_local_datetime(&t)
                .unwrap(),
        );
        let late = Value::TimestampTz(
            FixedOffset::east_opt(0)
                .unwrap()
                .from_local_datetime(&t)
                .unwrap(),
        );
        assert!(encode(&early) < encode(&late));
    }
}
