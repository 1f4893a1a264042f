//! One JSON field of a RECORD -> one `db_boundary::Value` for its column, with the
//! checks Oracle would otherwise fail on (or, worse, silently round): byte and character
//! length, NUMBER digits and scale, date ranges and fractional precision.
//!
//! Fields arrive as raw JSON text ([`Field`]) taken from the RECORD line, so a number's
//! digits are never touched by a float. Reasons name what is wrong, never the value
//! (which may be personal data).

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Timelike};
use singer_core::oracle_type::{LengthSemantics, OracleType};

use db_boundary::{ColumnCheck, ColumnDef, Value};

use db_boundary::Decimal;
use singer_core::canonical::{Canonical, Edge, Limits, Scaled};
pub(crate) use singer_core::record::Field;

use crate::rfc3339::{self, Instant};

/// Why a field cannot go into its column. Never contains the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct BadValue(pub String);

fn bad(reason: impl Into<String>) -> BadValue {
    BadValue(reason.into())
}

/// Limits that come from the server rather than the column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ServerLimits {
    /// 4000, or 32767 with MAX_STRING_SIZE = EXTENDED: the byte cap of VARCHAR2 even
    /// when its length is in characters.
    pub max_string_bytes: u32,
}

/// Oracle NUMBER keeps 38 significant digits; more would be rounded.
const MAX_NUMBER_DIGITS: usize = 38;

/// What validation already read of a field, handed on so conversion does not read it
/// again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known<'f> {
    /// A `date-time` string's instant.
    Instant(Instant),
    /// A number in canonical text.
    Number(Canonical<'f>),
}

impl<'f> Known<'f> {
    fn instant(known: Option<Known<'f>>) -> Option<Instant> {
        match known {
            Some(Known::Instant(at)) => Some(at),
            _ => None,
        }
    }

    /// `text` as a canonical number: as validation read it, else read now; `None` when
    /// it is spelled otherwise (`1.50`, `1e3`).
    fn canonical(known: Option<Known<'f>>, text: &'f str) -> Option<Canonical<'f>> {
        match known {
            Some(Known::Number(number)) => Some(number),
            _ => Canonical::read(text),
        }
    }
}

/// The length a bounded text column holds and how it is counted; `None` for any other
/// type.
fn length_rule(data_type: &OracleType) -> Option<(u32, LengthSemantics)> {
    match data_type {
        OracleType::Varchar2 { length, semantics } | OracleType::Char { length, semantics } => {
            Some((*length, *semantics))
        }
        OracleType::NVarchar2 { length } | OracleType::NChar { length } => {
            Some((*length, LengthSemantics::Char))
        }
        _ => None,
    }
}

/// Converts `field` for `column`, reusing what validation `known` of it.
pub(crate) fn to_value(
    field: &Field<'_>,
    known: Option<Known<'_>>,
    column: &ColumnDef,
    limits: ServerLimits,
) -> Result<Value, BadValue> {
    if matches!(field, Field::Null) {
        return check_nullable(column).map(|()| Value::Null);
    }
    match &column.data_type {
        OracleType::Number { precision, scale } => {
            if column.check == Some(ColumnCheck::ZeroOrOne) {
                if let Field::Bool(b) = field {
                    return Ok(Value::Number(u32::from(*b).into()));
                }
            }
            let text = number_text(field)?;
            let canonical = match Known::canonical(known, text) {
                // Already canonical (the usual case): check the shape, keep the text.
                Some(number) => {
                    check_canonical(&number, *precision, *scale)?;
                    number.to_decimal()
                }
                None => {
                    let decimal =
                        Decimal::parse(text).map_err(|_| bad("is not a decimal number"))?;
                    check_number(&decimal, *precision, *scale)?;
                    decimal
                }
            };
            if column.check == Some(ColumnCheck::ZeroOrOne)
                && canonical.as_str() != "0"
                && canonical.as_str() != "1"
            {
                return Err(bad("must be 0 or 1 (a boolean)"));
            }
            Ok(Value::Number(canonical))
        }
        OracleType::Float { .. } => {
            let decimal =
                Decimal::parse(number_text(field)?).map_err(|_| bad("is not a decimal number"))?;
            check_number(&decimal, None, None)?;
            Ok(Value::Number(decimal))
        }
        OracleType::BinaryDouble => {
            let parsed: f64 = number_text(field)?
                .trim()
                .parse()
                .map_err(|_| bad("is not a number"))?;
            Ok(Value::BinaryDouble(parsed))
        }
        OracleType::BinaryFloat => {
            let parsed: f32 = number_text(field)?
                .trim()
                .parse()
                .map_err(|_| bad("is not a number"))?;
            Ok(Value::BinaryFloat(parsed))
        }
        OracleType::Varchar2 { .. }
        | OracleType::Char { .. }
        | OracleType::NVarchar2 { .. }
        | OracleType::NChar { .. } => {
            let text = field.plain_text();
            if let Some((length, semantics)) = length_rule(&column.data_type) {
                check_length(&text, length, semantics, limits.max_string_bytes)?;
            }
            Ok(Value::Text(text.into_owned()))
        }
        OracleType::Clob | OracleType::NClob | OracleType::Long | OracleType::XmlType => {
            if column.check == Some(ColumnCheck::IsJson) {
                Ok(Value::Text(field.json_text().into_owned()))
            } else {
                Ok(Value::Text(field.plain_text().into_owned()))
            }
        }
        OracleType::Json => Ok(Value::Json(field.json_text().into_owned())),
        OracleType::Boolean => match field {
            Field::Bool(b) => Ok(Value::Boolean(*b)),
            Field::String(s) if s == "true" || s == "false" => Ok(Value::Boolean(s == "true")),
            other => Err(bad(format!(
                "is a {} where a boolean is expected",
                other.json_type()
            ))),
        },
        OracleType::TimestampTz { .. }
        | OracleType::TimestampLtz { .. }
        | OracleType::Timestamp { .. }
        | OracleType::Date => to_date_time(field, Known::instant(known), &column.data_type),
        OracleType::Blob | OracleType::Raw { .. } | OracleType::LongRaw => {
            let text = string_of(field)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(text.trim())
                .map_err(|_| bad("is not valid base64"))?;
            if let OracleType::Raw { length } = column.data_type {
                if bytes.len() > length as usize {
                    return Err(bad(format!(
                        "is {} bytes long, the column holds {length}",
                        bytes.len()
                    )));
                }
            }
            Ok(Value::Bytes(bytes))
        }
        OracleType::Vector => match field {
            Field::Structured(text) => {
                let numbers: Vec<f64> =
                    serde_json::from_str(text).map_err(|_| bad("is not an array of numbers"))?;
                Ok(Value::Vector(numbers))
            }
            other => Err(bad(format!(
                "is a {} where an array is expected",
                other.json_type()
            ))),
        },
        OracleType::RowId | OracleType::URowId { .. } => {
            Ok(Value::Text(field.plain_text().into_owned()))
        }
        other => Err(bad(format!("cannot be loaded into a {other} column"))),
    }
}

/// A JSON null is refused by a NOT NULL column.
fn check_nullable(column: &ColumnDef) -> Result<(), BadValue> {
    if column.nullable {
        Ok(())
    } else {
        Err(bad("is null but the column is NOT NULL"))
    }
}

/// Like [`to_value`], into `slot`: the usual text and canonical number values reuse
/// the text buffer `slot` already holds, or one of `spare`. Rows are recycled from
/// batch to batch, so those values then allocate nothing.
pub(crate) fn to_slot(
    field: &Field<'_>,
    known: Option<Known<'_>>,
    column: &ColumnDef,
    limits: ServerLimits,
    slot: &mut Value,
    spare: &mut SpareTexts,
) -> Result<(), BadValue> {
    if let (Field::String(text), Some((length, semantics))) =
        (field, length_rule(&column.data_type))
    {
        check_length(text, length, semantics, limits.max_string_bytes)?;
        reuse_text(slot, text, spare);
        return Ok(());
    }
    match (field, &column.data_type) {
        (Field::Null, _) => {
            check_nullable(column)?;
            spare.set_null(slot);
        }
        (Field::Number(text), OracleType::Number { precision, scale })
            if column.check.is_none() =>
        {
            let Some(number) = Known::canonical(known, text) else {
                *slot = to_value(field, known, column, limits)?;
                return Ok(());
            };
            canonical_to_slot(&number, *precision, *scale, slot, spare)?;
        }
        _ => *slot = to_value(field, known, column, limits)?,
    }
    Ok(())
}

/// A canonical number into `slot` for a NUMBER(`precision`, `scale`) column, reusing
/// its digits' buffer; `slot` is left as it was when the number does not fit.
pub(crate) fn canonical_to_slot(
    number: &Canonical<'_>,
    precision: Option<u8>,
    scale: Option<i16>,
    slot: &mut Value,
    spare: &mut SpareTexts,
) -> Result<(), BadValue> {
    check_canonical(number, precision, scale)?;
    number_into_slot(number, slot, spare);
    Ok(())
}

/// A canonical number into `slot`, reusing its digits' buffer or a spare one.
pub(crate) fn number_into_slot(number: &Canonical<'_>, slot: &mut Value, spare: &mut SpareTexts) {
    match slot {
        Value::Number(decimal) => decimal.assign_canonical(number),
        other => *other = Value::Number(Decimal::canonical_in(spare.take(), number)),
    }
}

/// `limits` narrowed to what a NUMBER(`precision`, `scale`) column keeps as
/// [`check_column_scale`] checks it: the decimals of its scale, values below
/// 10^(precision - scale). `None` when that cannot be put as limits.
pub(crate) fn limit_to_number_column(
    mut limits: Limits,
    precision: Option<u8>,
    scale: Option<i16>,
) -> Option<Limits> {
    let scale = kept_scale(precision, scale);
    if scale != ANY_SCALE {
        limits.decimals_at_most(u32::try_from(scale.max(0)).ok()?);
    }
    if let Some(precision) = precision {
        // Values below 10^(p-s) in magnitude.
        let allowed = i64::from(precision) - scale;
        let power = match u32::try_from(allowed) {
            // Fewer than 39 integer digits: a bound any checked number is within otherwise.
            Ok(integer_digits) => 10i128
                .checked_pow(integer_digits)
                .map(|p| Scaled::new(p, 0)),
            Err(_) => Some(Scaled::new(1, u32::try_from(-allowed).ok()?)),
        };
        if let Some(power) = power {
            limits.bound(power, Edge::Below);
            limits.bound(Scaled::new(-power.mantissa(), power.scale()), Edge::Above);
        }
    }
    Some(limits)
}

/// The byte length up to which any text fits `column` as [`to_slot`] converts it: the
/// column's length in bytes, or in characters within the server's byte cap (a text of
/// n bytes has at most n characters); `None` for a column whose text needs more.
pub(crate) fn text_fits_within(column: &ColumnDef, limits: ServerLimits) -> Option<usize> {
    if column.check.is_some() {
        return None;
    }
    let (length, semantics) = length_rule(&column.data_type)?;
    let bytes = match semantics {
        LengthSemantics::Byte => length,
        LengthSemantics::Char => length.min(limits.max_string_bytes),
    };
    usize::try_from(bytes).ok()
}

/// A recycled text buffer is kept only up to this size or twice the new text, so a
/// rare long value does not leave every recycled row holding a long buffer.
const KEPT_TEXT_CAPACITY: usize = 256;

pub(crate) fn reuse_text(slot: &mut Value, text: &str, spare: &mut SpareTexts) {
    match slot {
        Value::Text(held) if held.capacity() <= KEPT_TEXT_CAPACITY.max(2 * text.len()) => {
            held.clear();
            held.push_str(text);
        }
        other => {
            let mut buffer = spare.take();
            buffer.push_str(text);
            spare.keep(std::mem::replace(other, Value::Text(buffer)));
        }
    }
}

/// The text buffers of a stream's values that became null, for the next value that
/// needs one. A recycled row's nullable column holds text one time and null the next;
/// freeing the buffer then allocating another cost more than converting the value, and
/// made the allocator hand whole pages back and take them again (zeroed by the kernel
/// each time). At most [`SpareTexts::MOST`] buffers of up to [`KEPT_TEXT_CAPACITY`].
#[derive(Debug, Default)]
pub(crate) struct SpareTexts(Vec<String>);

impl SpareTexts {
    const MOST: usize = 1024;

    /// Sets `slot` to null, keeping its text buffer.
    pub(crate) fn set_null(&mut self, slot: &mut Value) {
        if !slot.is_null() {
            self.keep(std::mem::replace(slot, Value::Null));
        }
    }

    /// Keeps the text buffer of a value being replaced.
    fn keep(&mut self, value: Value) {
        let buffer = match value {
            Value::Text(text) | Value::Json(text) => text,
            Value::Number(decimal) => decimal.into_buffer(),
            _ => return,
        };
        if (1..=KEPT_TEXT_CAPACITY).contains(&buffer.capacity()) && self.0.len() < Self::MOST {
            self.0.push(buffer);
        }
    }

    /// An empty buffer, kept or new.
    fn take(&mut self) -> String {
        let mut buffer = self.0.pop().unwrap_or_default();
        buffer.clear();
        buffer
    }
}

/// An instant for a TIMESTAMP WITH (LOCAL) TIME ZONE column of `fractional_precision`:
/// refused when it has more fraction digits than the column keeps or lies outside
/// Oracle's years.
pub(crate) fn zoned_value(instant: Instant, fractional_precision: u8) -> Result<Value, BadValue> {
    check_fraction(instant.nanosecond(), fractional_precision)?;
    check_instant_year(&instant)?;
    Ok(Value::TimestampTz(instant))
}

/// A date-time column's value: an instant for the zoned types, the wall clock as
/// written for TIMESTAMP and DATE.
fn to_date_time(
    field: &Field<'_>,
    known: Option<Instant>,
    data_type: &OracleType,
) -> Result<Value, BadValue> {
    let wall_clock = || match known {
        Some(instant) => Ok(instant.naive_local()),
        None => parse_wall_clock(string_of(field)?),
    };
    match data_type {
        OracleType::TimestampTz {
            fractional_precision,
        }
        | OracleType::TimestampLtz {
            fractional_precision,
        } => {
            let instant = match known {
                Some(instant) => instant,
                None => parse_instant(string_of(field)?)?,
            };
            zoned_value(instant, *fractional_precision)
        }
        OracleType::Timestamp {
            fractional_precision,
        } => {
            let wall = wall_clock()?;
            check_fraction(wall.nanosecond(), *fractional_precision)?;
            check_year(wall)?;
            Ok(Value::Timestamp(wall))
        }
        _ => {
            let wall = wall_clock()?;
            if wall.nanosecond() != 0 {
                return Err(bad(
                    "has fractions of a second, which a DATE column cannot keep",
                ));
            }
            check_year(wall)?;
            Ok(Value::Date(wall))
        }
    }
}

fn number_text<'f>(field: &'f Field<'_>) -> Result<&'f str, BadValue> {
    match field {
        Field::Number(text) => Ok(text),
        Field::String(s) => Ok(s.as_ref()),
        other => Err(bad(format!(
            "is a {} where a number is expected",
            other.json_type()
        ))),
    }
}

fn string_of<'f>(field: &'f Field<'_>) -> Result<&'f str, BadValue> {
    match field {
        Field::String(s) => Ok(s.as_ref()),
        other => Err(bad(format!(
            "is a {} where a string is expected",
            other.json_type()
        ))),
    }
}

/// What NUMBER(p,s) checks need to know about a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Shape {
    significant_digits: usize,
    integer_digits: i64,
    scale: i64,
    /// Power of ten of the leading digit; `None` for zero.
    magnitude: Option<i64>,
}

impl Shape {
    fn of(decimal: &Decimal) -> Shape {
        Shape {
            significant_digits: decimal.significant_digits(),
            integer_digits: decimal.integer_digits(),
            scale: decimal.scale(),
            magnitude: decimal.magnitude(),
        }
    }

    /// The same answers, read off canonical text without allocating.
    fn of_canonical(number: &Canonical<'_>) -> Shape {
        Shape {
            significant_digits: number.significant_digits(),
            integer_digits: number.integer_digits(),
            scale: number.scale(),
            magnitude: number.magnitude(),
        }
    }
}

fn check_number(
    value: &Decimal,
    precision: Option<u8>,
    scale: Option<i16>,
) -> Result<(), BadValue> {
    check_shape(Shape::of(value), precision, scale)
}

/// [`check_shape`] of a canonical number. One of at most 38 digits has at most 38
/// significant ones and a magnitude between -39 and 37, inside NUMBER's range, so only
/// the column's scale and precision are asked (every number of every record comes here).
fn check_canonical(
    number: &Canonical<'_>,
    precision: Option<u8>,
    scale: Option<i16>,
) -> Result<(), BadValue> {
    let (integer_digits, decimals) = (number.integer_digits(), number.scale());
    if integer_digits + decimals > MAX_NUMBER_DIGITS as i64 {
        return check_shape(Shape::of_canonical(number), precision, scale);
    }
    check_column_scale(
        integer_digits,
        decimals,
        || number.magnitude(),
        precision,
        scale,
    )
}

/// NUMBER(p,s) rules, checked before Oracle silently rounds extra decimals.
fn check_shape(value: Shape, precision: Option<u8>, scale: Option<i16>) -> Result<(), BadValue> {
    if value.significant_digits > MAX_NUMBER_DIGITS {
        return Err(bad(format!(
            "has {} significant digits, NUMBER keeps {MAX_NUMBER_DIGITS}",
            value.significant_digits
        )));
    }
    if let Some(magnitude) = value.magnitude {
        if !(-130..=125).contains(&magnitude) {
            return Err(bad("is outside the range of an Oracle NUMBER"));
        }
    }
    check_column_scale(
        value.integer_digits,
        value.scale,
        || value.magnitude,
        precision,
        scale,
    )
}

/// [`kept_scale`] of a NUMBER column that keeps any number of decimals.
const ANY_SCALE: i64 = i16::MAX as i64;

/// The scale a NUMBER(`precision`, `scale`) column keeps: its own, 0 for NUMBER(p),
/// [`ANY_SCALE`] for NUMBER and FLOAT.
fn kept_scale(precision: Option<u8>, scale: Option<i16>) -> i64 {
    i64::from(scale.unwrap_or(if precision.is_some() { 0 } else { i16::MAX }))
}

/// The decimal places and integer digits a NUMBER(p,s) column keeps: values below
/// 10^(p-s). Where the scale passes the precision (NUMBER(2,4)), that is below 1 with
/// s-p zeros after the point; only then is the leading digit's power (`magnitude`) asked.
fn check_column_scale(
    integer_digits: i64,
    decimals: i64,
    magnitude: impl FnOnce() -> Option<i64>,
    precision: Option<u8>,
    scale: Option<i16>,
) -> Result<(), BadValue> {
    let scale = kept_scale(precision, scale);
    if scale != ANY_SCALE && decimals > scale.max(0) {
        return Err(bad(format!(
            "has {decimals} decimal places, the column keeps {}",
            scale.max(0)
        )));
    }
    if let Some(p) = precision {
        let allowed = i64::from(p) - scale;
        if integer_digits > allowed.max(0) {
            return Err(bad(format!(
                "has {integer_digits} digits before the decimal point, NUMBER({p},{scale}) allows {}",
                allowed.max(0)
            )));
        }
        if allowed < 0 && magnitude().is_some_and(|m| m >= allowed) {
            return Err(bad(format!(
                "has fewer than {} zeros after the decimal point, NUMBER({p},{scale}) needs them",
                -allowed
            )));
        }
    }
    Ok(())
}

fn check_length(
    text: &str,
    length: u32,
    semantics: LengthSemantics,
    max_bytes: u32,
) -> Result<(), BadValue> {
    let bytes = text.len();
    match semantics {
        LengthSemantics::Byte if bytes > length as usize => Err(bad(format!(
            "is {bytes} bytes long, the column holds {length} bytes"
        ))),
        LengthSemantics::Char => {
            // Characters only need counting when the byte length could exceed the limit.
            if bytes > length as usize {
                let chars = text.chars().count();
                if chars > length as usize {
                    return Err(bad(format!(
                        "is {chars} characters long, the column holds {length}"
                    )));
                }
            }
            if bytes > max_bytes as usize {
                return Err(bad(format!(
                    "is {bytes} bytes long, a VARCHAR2 holds at most {max_bytes} bytes on this server"
                )));
            }
            Ok(())
        }
        LengthSemantics::Byte => Ok(()),
    }
}

fn check_fraction(nanos: u32, fractional_precision: u8) -> Result<(), BadValue> {
    let precision = usize::from(fractional_precision.min(9));
    // Looked up (`pow` is a loop).
    let unit = rfc3339::NANOS_PER_UNIT[precision];
    if !nanos.is_multiple_of(unit) {
        return Err(bad(format!(
            "has more fractional second digits than the column keeps ({precision})"
        )));
    }
    Ok(())
}

/// [`check_year`] of an instant's wall clock. An offset moves the wall clock by less
/// than a day, so a UTC year from 2 to 9998 answers without working out the local time.
fn check_instant_year(instant: &Instant) -> Result<(), BadValue> {
    use chrono::Datelike;
    if (2..=9998).contains(&instant.naive_utc().year()) {
        return Ok(());
    }
    check_year(instant.naive_local())
}

fn check_year(wall: NaiveDateTime) -> Result<(), BadValue> {
    use chrono::Datelike;
    if !(1..=9999).contains(&wall.year()) {
        return Err(bad("is outside Oracle's date range (years 1 to 9999)"));
    }
    Ok(())
}

/// An instant with its offset: RFC 3339, with a space instead of `T` accepted, and a
/// value without an offset read as UTC (what Singer taps mean by it).
pub(crate) fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, BadValue> {
    let text = text.trim();
    if let Some(instant) = rfc3339::parse(text) {
        return Ok(instant);
    }
    if let Ok(instant) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(instant);
    }
    parse_wall_clock(text).map(|wall| wall.and_utc().fixed_offset())
}

/// A wall-clock time: date-times keep the wall clock as written (an offset is dropped:
/// Oracle taps write DATE values with `+00:00`), plain dates are midnight.
/// A date-time key property's value for its UTC TIMESTAMP column (README "Type
/// mapping"): an instant with an offset becomes UTC; a time without one is taken as
/// written, as [`to_value`] takes it.
pub(crate) fn to_utc_timestamp(
    field: &Field<'_>,
    known: Option<Known<'_>>,
    column: &ColumnDef,
    limits: ServerLimits,
) -> Result<Value, BadValue> {
    let (
        Field::String(text),
        OracleType::Timestamp {
            fractional_precision,
        },
    ) = (field, &column.data_type)
    else {
        return to_value(field, known, column, limits);
    };
    match Known::instant(known).or_else(|| rfc3339::parse(text.trim())) {
        Some(instant) => {
            let utc = instant.naive_utc();
            check_fraction(utc.nanosecond(), *fractional_precision)?;
            check_year(utc)?;
            Ok(Value::Timestamp(utc))
        }
        None => to_value(field, known, column, limits),
    }
}

pub(crate) fn parse_wall_clock(text: &str) -> Result<NaiveDateTime, BadValue> {
    let text = text.trim();
    if let Some(instant) = rfc3339::parse(text) {
        return Ok(instant.naive_local());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(wall) = NaiveDateTime::parse_from_str(text, format) {
            return Ok(wall);
        }
    }
    if let Ok(date) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_hms_opt(0, 0, 0).unwrap_or_default());
    }
    Err(bad("is not a valid date or date-time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: ServerLimits = ServerLimits {
        max_string_bytes: 4000,
    };

    fn column(data_type: OracleType) -> ColumnDef {
        ColumnDef {
            name: "C".into(),
            data_type,
            nullable: true,
            check: None,
        }
    }

    fn number(precision: Option<u8>, scale: Option<i16>) -> ColumnDef {
        column(OracleType::Number { precision, scale })
    }

    /// The conversion of `json`, checked to be the same whether made fresh or written
    /// into a recycled slot holding a value of any kind.
    fn convert(json: &str, col: &ColumnDef) -> Result<Value, BadValue> {
        let record = format!("{{\"v\": {json}}}");
        let fields = singer_core::record::split_record(&record).unwrap();
        let fresh = to_value(&fields[0].1, None, col, LIMITS);
        for held in [
            Value::Null,
            Value::Text("held".into()),
            Value::number("-12.5"),
        ] {
            // With no spare buffer, and with one still holding an older value's text.
            let mut with_spare = SpareTexts::default();
            with_spare.keep(Value::Text("spare text".into()));
            for mut spare in [SpareTexts::default(), with_spare] {
                let mut slot = held.clone();
                let reused =
                    to_slot(&fields[0].1, None, col, LIMITS, &mut slot, &mut spare).map(|()| slot);
                assert_eq!(reused, fresh, "{json} into a recycled slot");
            }
        }
        fresh
    }

    #[test]
    fn a_recycled_slot_gives_up_a_long_buffer() {
        let col = column(OracleType::Varchar2 {
            length: 4000,
            semantics: LengthSemantics::Byte,
        });
        let fields = singer_core::record::split_record(r#"{"v": "short"}"#).unwrap();
        let mut slot = Value::Text("x".repeat(3000));
        let mut spare = SpareTexts::default();
        to_slot(&fields[0].1, None, &col, LIMITS, &mut slot, &mut spare).unwrap();
        assert!(spare.0.is_empty(), "the long buffer is not kept either");
        match slot {
            Value::Text(text) => {
                assert_eq!(text, "short");
                assert!(text.capacity() <= KEPT_TEXT_CAPACITY, "{}", text.capacity());
            }
            other => panic!("{other:?}"),
        }
    }

    /// A nullable column's buffer outlives the nulls between its texts, and the spare
    /// buffers stay few and small.
    #[test]
    fn a_text_buffer_outlives_a_null() {
        let col = column(OracleType::Varchar2 {
            length: 100,
            semantics: LengthSemantics::Byte,
        });
        let record = r#"{"a": "some text", "b": null, "c": "other"}"#;
        let fields = singer_core::record::split_record(record).unwrap();
        let mut spare = SpareTexts::default();
        let mut slot = Value::Text(String::with_capacity(40));
        let Value::Text(held) = &slot else {
            unreachable!()
        };
        let buffer = held.as_ptr();
        to_slot(&fields[1].1, None, &col, LIMITS, &mut slot, &mut spare).unwrap();
        assert_eq!(slot, Value::Null);
        to_slot(&fields[2].1, None, &col, LIMITS, &mut slot, &mut spare).unwrap();
        match &slot {
            Value::Text(text) => {
                assert_eq!(text, "other");
                assert_eq!(
                    text.as_ptr(),
                    buffer,
                    "the buffer of the value before the null"
                );
            }
            other => panic!("{other:?}"),
        }
        for _ in 0..SpareTexts::MOST + 10 {
            spare.keep(Value::Text(String::with_capacity(8)));
        }
        spare.keep(Value::Text(String::with_capacity(KEPT_TEXT_CAPACITY + 1)));
        assert_eq!(spare.0.len(), SpareTexts::MOST);
        let mut not_null = column(OracleType::Number {
            precision: None,
            scale: None,
        });
        not_null.nullable = false;
        let mut slot = Value::number("1");
        assert_eq!(
            to_slot(&fields[1].1, None, &not_null, LIMITS, &mut slot, &mut spare),
            Err(bad("is null but the column is NOT NULL"))
        );
    }

    #[test]
    fn numbers_keep_every_digit() {
        let n38 = "12345678901234567890123456789012345678";
        assert_eq!(
            convert(n38, &number(Some(38), Some(0))).unwrap(),
            Value::number(n38)
        );
        assert_eq!(
            convert("-0.10", &number(None, None)).unwrap(),
            Value::number("-0.1")
        );
        assert_eq!(
            convert("\"1234.50\"", &number(Some(12), Some(2))).unwrap(),
            Value::number("1234.5")
        );
        assert_eq!(
            convert("1.5e3", &number(Some(38), Some(0))).unwrap(),
            Value::number("1500")
        );
    }

    #[test]
    fn numbers_that_do_not_fit_name_the_reason() {
        let err = convert("1.234", &number(Some(12), Some(2))).unwrap_err();
        assert_eq!(err.0, "has 3 decimal places, the column keeps 2");
        let err = convert("12345678901", &number(Some(12), Some(2))).unwrap_err();
        assert_eq!(
            err.0,
            "has 11 digits before the decimal point, NUMBER(12,2) allows 10"
        );
        let err = convert("0.5", &number(Some(38), Some(0))).unwrap_err();
        assert_eq!(err.0, "has 1 decimal places, the column keeps 0");
        let err = convert(&"9".repeat(39), &number(None, None)).unwrap_err();
        assert!(err.0.contains("39 significant digits"));
        let err = convert("\"abc\"", &number(None, None)).unwrap_err();
        assert_eq!(err.0, "is not a decimal number");
        let err = convert("true", &number(None, None)).unwrap_err();
        assert_eq!(err.0, "is a boolean where a number is expected");
    }

    /// NUMBER(p,s) with s > p holds values below 10^(p-s), as the simulated backend
    /// (and Oracle: "NUMBER(4,5) requires a zero for the first digit after the decimal
    /// point") does; canonical and other spellings alike.
    #[test]
    fn a_scale_above_the_precision_wants_zeros_after_the_point() {
        let n24 = number(Some(2), Some(4));
        for text in ["0.0012", "-0.0099", "0", "0.0001", "\"0.00120\"", "1.2e-3"] {
            assert!(convert(text, &n24).is_ok(), "{text}");
        }
        assert_eq!(
            convert("0.0123", &n24).unwrap_err().0,
            "has fewer than 2 zeros after the decimal point, NUMBER(2,4) needs them"
        );
        assert!(convert("\"0.0100\"", &n24).is_err());
        assert_eq!(
            convert("1", &n24).unwrap_err().0,
            "has 1 digits before the decimal point, NUMBER(2,4) allows 0"
        );
        assert!(convert("0.012", &number(Some(4), Some(5))).is_ok());
        assert!(convert("0.12", &number(Some(4), Some(5))).is_err());
        // Each value is what the simulated backend stores or refuses (ORA-01438).
        let target = sim_backend::rules::Target {
            owner: "S",
            table: "T",
            column: "C",
        };
        for (text, p, s) in [
            ("0.0012", 2, 4),
            ("0.0123", 2, 4),
            ("0.012", 4, 5),
            ("0.12", 4, 5),
        ] {
            let ours = convert(text, &number(Some(p), Some(s))).is_ok();
            let sim = sim_backend::rules::fit_number(text, Some(p), Some(s), &target).is_ok();
            assert_eq!(ours, sim, "{text} NUMBER({p},{s})");
        }
    }

    #[test]
    fn strings_are_checked_in_characters_and_bytes() {
        let v20 = column(OracleType::Varchar2 {
            length: 3,
            semantics: LengthSemantics::Char,
        });
        assert_eq!(convert("\"äöü\"", &v20).unwrap(), Value::Text("äöü".into()));
        assert_eq!(
            convert("\"abcd\"", &v20).unwrap_err().0,
            "is 4 characters long, the column holds 3"
        );
        let b3 = column(OracleType::Varchar2 {
            length: 3,
            semantics: LengthSemantics::Byte,
        });
        assert_eq!(
            convert("\"äö\"", &b3).unwrap_err().0,
            "is 4 bytes long, the column holds 3 bytes"
        );
        let big = column(OracleType::Varchar2 {
            length: 4000,
            semantics: LengthSemantics::Char,
        });
        let long = format!("\"{}\"", "€".repeat(1500));
        assert!(convert(&long, &big)
            .unwrap_err()
            .0
            .contains("4500 bytes long"));
        assert_eq!(
            convert("\"a\\\"b\\n\"", &big).unwrap(),
            Value::Text("a\"b\n".into())
        );
        assert_eq!(convert("42", &big).unwrap(), Value::Text("42".into()));
    }

    #[test]
    fn timestamps_keep_their_offset_and_precision_is_checked() {
        let tstz = column(OracleType::TimestampTz {
            fractional_precision: 6,
        });
        let v = convert("\"2024-03-01T12:34:56.123456+05:30\"", &tstz).unwrap();
        let Value::TimestampTz(instant) = v else {
            panic!("not a TimestampTz: {v:?}")
        };
        assert_eq!(instant.to_rfc3339(), "2024-03-01T12:34:56.123456+05:30");
        assert!(convert("\"2024-03-01T12:34:56.1234567Z\"", &tstz)
            .unwrap_err()
            .0
            .contains("fractional"));
        assert_eq!(
            convert("\"2024-03-01 12:00:00\"", &tstz).unwrap(),
            Value::TimestampTz(DateTime::parse_from_rfc3339("2024-03-01T12:00:00Z").unwrap())
        );
        assert_eq!(
            convert("\"yesterday\"", &tstz).unwrap_err().0,
            "is not a valid date or date-time"
        );
        // Oracle's years are the wall clock's: the offset decides at both ends.
        for inside in [
            "0001-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "0002-01-01T00:00:00Z",
        ] {
            assert!(convert(&format!("\"{inside}\""), &tstz).is_ok(), "{inside}");
        }
        for outside in ["0000-12-31T23:30:00-01:00", "0000-06-01T00:00:00Z"] {
            assert_eq!(
                convert(&format!("\"{outside}\""), &tstz).unwrap_err().0,
                "is outside Oracle's date range (years 1 to 9999)",
                "{outside}"
            );
        }
    }

    #[test]
    fn dates_take_the_wall_clock_and_reject_fractions() {
        let date = column(OracleType::Date);
        let expected =
            NaiveDateTime::parse_from_str("2024-03-01 13:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
        assert_eq!(
            convert("\"2024-03-01T13:00:00+00:00\"", &date).unwrap(),
            Value::Date(expected)
        );
        assert_eq!(
            convert("\"2024-03-01\"", &date).unwrap(),
            Value::Date(expected.date().and_hms_opt(0, 0, 0).unwrap())
        );
        assert!(convert("\"2024-03-01T13:00:00.5Z\"", &date).is_err());
    }

    #[test]
    fn booleans_json_and_blobs() {
        let flag = ColumnDef {
            check: Some(ColumnCheck::ZeroOrOne),
            ..number(Some(1), Some(0))
        };
        assert_eq!(convert("true", &flag).unwrap(), Value::number("1"));
        assert_eq!(convert("0", &flag).unwrap(), Value::number("0"));
        assert!(convert("2", &flag).is_err());
        assert_eq!(
            convert("false", &column(OracleType::Boolean)).unwrap(),
            Value::Boolean(false)
        );
        assert_eq!(
            convert("{\"a\": [1, 2.50]}", &column(OracleType::Json)).unwrap(),
            Value::Json("{\"a\": [1, 2.50]}".into())
        );
        let clob_json = ColumnDef {
            check: Some(ColumnCheck::IsJson),
            ..column(OracleType::Clob)
        };
        assert_eq!(
            convert("\"x\"", &clob_json).unwrap(),
            Value::Text("\"x\"".into())
        );
        assert_eq!(
            convert("\"AAEC\"", &column(OracleType::Blob)).unwrap(),
            Value::Bytes(vec![0, 1, 2])
        );
        assert_eq!(
            convert("\"!!\"", &column(OracleType::Blob)).unwrap_err().0,
            "is not valid base64"
        );
    }

    #[test]
    fn null_respects_nullability() {
        assert_eq!(convert("null", &number(None, None)).unwrap(), Value::Null);
        let required = ColumnDef {
            nullable: false,
            ..number(None, None)
        };
        assert_eq!(
            convert("null", &required).unwrap_err().0,
            "is null but the column is NOT NULL"
        );
    }

    proptest::proptest! {
        /// Long numbers (past 38 digits, or tiny) take the full shape check: the same
        /// answers as the short path would give if it applied.
        #[test]
        fn long_canonical_numbers_are_checked_whole(text in "-?(0|[1-9][0-9]{0,44})(\\.[0-9]{0,40}[1-9])?") {
            proptest::prop_assume!(text != "-0");
            let number = Canonical::read(&text).unwrap();
            let decimal = Decimal::parse(&text).unwrap();
            for (precision, scale) in [(None, None), (Some(38), Some(0)), (Some(38), Some(38)), (Some(10), Some(2))] {
                proptest::prop_assert_eq!(
                    check_canonical(&number, precision, scale),
                    check_shape(Shape::of(&decimal), precision, scale),
                    "{} in ({:?},{:?})", text, precision, scale
                );
            }
        }

        #[test]
        fn the_canonical_fast_path_agrees_with_decimal(
            int in -10_000_000_000i64..10_000_000_000,
            frac in proptest::option::of("[0-9]{1,8}"),
            exp in proptest::option::of(-5i32..5),
        ) {
            let mut text = int.to_string();
            if let Some(frac) = &frac {
                text = format!("{text}.{frac}");
            }
            if let Some(exp) = exp {
                text = format!("{text}e{exp}");
            }
            let decimal = Decimal::parse(&text).unwrap();
            match Canonical::read(&text) {
                Some(number) => {
                    proptest::prop_assert_eq!(Shape::of_canonical(&number), Shape::of(&decimal), "{}", text);
                    for (precision, scale) in [(None, None), (Some(38), Some(0)), (Some(10), Some(2)), (Some(5), Some(-2)), (Some(3), Some(6)), (None, Some(1))] {
                        proptest::prop_assert_eq!(
                            check_canonical(&number, precision, scale),
                            check_shape(Shape::of(&decimal), precision, scale),
                            "{} in ({:?},{:?})", text, precision, scale
                        );
                    }
                    proptest::prop_assert_eq!(decimal.to_string(), text);
                }
                None => proptest::prop_assert_ne!(decimal.to_string(), text),
            }
        }
    }
}
