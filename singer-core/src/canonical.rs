//! Numbers already in canonical decimal form, read once: the usual case on a target's
//! hot path, where every number of every record is checked against its schema bounds
//! and a column's NUMBER(p,s), then kept as text.
//!
//! [`Canonical::read`] accepts exactly the canonical text of [`Decimal`] (`-12.5`,
//! `0.001`, `1200`; no exponent, no superfluous zeros, not `-0`) in one pass and keeps
//! the value as a scaled integer when it fits ([`Scaled`]: up to 38 digits, all of an
//! Oracle NUMBER's). Bounds and `multipleOf` steps compiled to [`Scaled`] are then
//! compared with integer arithmetic. Whatever does not fit (or overflows when brought to
//! a common scale) answers `None`, and the caller asks [`Decimal`], which is exact on any
//! text.

use std::cmp::Ordering;

use crate::decimal::Decimal;

/// A decimal `mantissa * 10^-scale`, exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scaled {
    mantissa: i128,
    scale: u32,
}

/// Digits an `i128` always holds (10^38 < 2^127).
const MAX_DIGITS: usize = 38;

/// 10^n for n in 0..=38, looked up (a checked power is a loop, once per bound).
const POWERS_OF_TEN: [i128; MAX_DIGITS + 1] = {
    let mut table = [1i128; MAX_DIGITS + 1];
    let mut n = 1;
    while n <= MAX_DIGITS {
        table[n] = table[n - 1] * 10;
        n += 1;
    }
    table
};

fn power_of_ten(n: u32) -> Option<i128> {
    POWERS_OF_TEN.get(n as usize).copied()
}

impl Scaled {
    /// `mantissa * 10^-scale`.
    pub fn new(mantissa: i128, scale: u32) -> Scaled {
        Scaled { mantissa, scale }
    }

    /// The integer whose digits the value has.
    pub fn mantissa(self) -> i128 {
        self.mantissa
    }

    /// How many of those digits are decimals.
    pub fn scale(self) -> u32 {
        self.scale
    }

    /// The value of a canonical decimal, when its digits fit.
    pub fn of<T: AsRef<str>>(decimal: &Decimal<T>) -> Option<Scaled> {
        Canonical::read(decimal.as_str()).and_then(|c| c.scaled())
    }

    /// Both mantissas at the larger of the two scales; `None` on overflow.
    fn aligned(self, other: Scaled) -> Option<(i128, i128)> {
        let scale = self.scale.max(other.scale);
        let lift = |s: Scaled| {
            let power = power_of_ten(scale - s.scale)?;
            // The usual values: a 64-bit product cannot overflow 128 bits, so the
            // checked (library-call) multiplication is left for long ones.
            match (i64::try_from(s.mantissa), i64::try_from(power)) {
                (Ok(m), Ok(p)) => Some(i128::from(m) * i128::from(p)),
                _ => s.mantissa.checked_mul(power),
            }
        };
        Some((lift(self)?, lift(other)?))
    }

    /// The order of the two values; `None` when they cannot be aligned exactly.
    pub fn cmp_value(self, other: Scaled) -> Option<Ordering> {
        if self.scale == other.scale {
            return Some(self.mantissa.cmp(&other.mantissa));
        }
        self.aligned(other).map(|(a, b)| a.cmp(&b))
    }

    /// Whether `self` is an exact multiple of `step` (JSON Schema `multipleOf`); `None`
    /// when they cannot be aligned exactly. A zero step has no multiples.
    pub fn is_multiple_of(self, step: Scaled) -> Option<bool> {
        // A power-of-ten step (`0.01`, `1`: what decimal columns give) divides every
        // value with no more decimal places, without a division.
        if step.mantissa == 1 && self.scale <= step.scale {
            return Some(true);
        }
        let (value, step) = self.aligned(step)?;
        if step == 0 {
            return Some(false);
        }
        // A 64-bit remainder where both fit (the 128-bit one is a library call).
        Some(match (i64::try_from(value), i64::try_from(step)) {
            (Ok(v), Ok(s)) => v.checked_rem(s).is_none_or(|r| r == 0),
            _ => value % step == 0,
        })
    }
}

/// Which side of a bound a number must lie on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// Less than the bound (`exclusiveMaximum`).
    Below,
    /// At most the bound (`maximum`).
    AtMost,
    /// Greater than the bound (`exclusiveMinimum`).
    Above,
    /// At least the bound (`minimum`).
    AtLeast,
}

/// What a number must be to pass some rules (a schema's, a column's): at most so many
/// decimal places, and on the right side of each bound. Rules from several sources add
/// up; [`Limits::range`] then puts them as integers at one scale.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    most_decimals: Option<u32>,
    bounds: Vec<(Scaled, Edge)>,
}

impl Limits {
    /// At most `decimals` decimal places.
    pub fn decimals_at_most(&mut self, decimals: u32) {
        self.most_decimals = Some(self.most_decimals.map_or(decimals, |n| n.min(decimals)));
    }

    /// On the `edge` side of `value`.
    pub fn bound(&mut self, value: Scaled, edge: Edge) {
        self.bounds.push((value, edge));
    }

    /// The limits as a [`ScaledRange`]; `None` when a bound has more decimals than the
    /// numbers it checks, or refuses every number that fits 18 digits (the caller then
    /// checks each number the exact way).
    pub fn range(&self) -> Option<ScaledRange> {
        let decimals = self.most_decimals.unwrap_or(RANGE_DIGITS).min(RANGE_DIGITS);
        // Values are below 10^36 in magnitude at that scale: these bounds are no bound.
        let (mut low, mut high) = (i128::MIN, i128::MAX);
        for &(bound, edge) in &self.bounds {
            let lift = power_of_ten(decimals.checked_sub(bound.scale)?)?;
            let at_scale = bound.mantissa.checked_mul(lift);
            match (edge, at_scale) {
                (Edge::Below, Some(b)) => high = high.min(b - 1),
                (Edge::AtMost, Some(b)) => high = high.min(b),
                (Edge::Above, Some(b)) => low = low.max(b + 1),
                (Edge::AtLeast, Some(b)) => low = low.max(b),
                // Beyond every value on the side that lets it pass: no limit.
                (Edge::Below | Edge::AtMost, None) if bound.mantissa > 0 => {}
                (Edge::Above | Edge::AtLeast, None) if bound.mantissa < 0 => {}
                (_, None) => return None,
            }
        }
        (low <= high).then_some(ScaledRange {
            decimals,
            low,
            high,
        })
    }
}

/// Digits of the numbers a [`ScaledRange`] answers for: a value of up to 18 digits
/// at up to 18 decimals is below 10^36, well inside an `i128`.
const RANGE_DIGITS: u32 = 18;

/// [`Limits`] as integers at one scale: a canonical number of up to 18 digits passes
/// them exactly when it has at most `decimals` decimal places and its digits, brought
/// to that scale, lie within `low..=high`. Reading a number and testing it is one pass
/// over its digits and one comparison (a target checks every number of every record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaledRange {
    decimals: u32,
    low: i128,
    high: i128,
}

impl ScaledRange {
    /// `text` as a canonical number when it is one, of at most 18 digits, that passes
    /// the limits; `None` otherwise, which says nothing of longer or other spellings.
    #[inline]
    pub fn admit<'t>(&self, text: &'t str) -> Option<Canonical<'t>> {
        let (number, magnitude) = Canonical::read_digits(text)?;
        let digits = number.integer_digits.max(1) + number.scale;
        if digits > RANGE_DIGITS as usize || number.scale > self.decimals as usize {
            return None;
        }
        // Both below 10^18: the product stays below 10^36.
        let lift = POWERS_OF_TEN[self.decimals as usize - number.scale];
        let value = i128::from(magnitude) * lift;
        let value = if text.starts_with('-') { -value } else { value };
        (self.low..=self.high).contains(&value).then_some(number)
    }
}

/// A number in canonical text, with what checks ask of it. Borrowed from the record,
/// and small (no 128-bit field): it is handed from the schema check to the conversion
/// for every number of every record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canonical<'a> {
    text: &'a str,
    /// Digits before the point, 0 when the integer part is `0`.
    integer_digits: usize,
    /// Digits after the point. (Both counts are words: the struct comes back from
    /// [`Canonical::read`] through memory, and two 32-bit halves read as one word
    /// stalled the caller.)
    scale: usize,
}

impl<'a> Canonical<'a> {
    /// `text` when it is exactly canonical decimal text; `None` for anything else
    /// (which [`Decimal::parse`] may still read: `1.50`, `1e3`, ` 7`).
    pub fn read(text: &'a str) -> Option<Canonical<'a>> {
        Canonical::read_digits(text).map(|(canonical, _)| canonical)
    }

    /// [`Canonical::read`] and [`Canonical::scaled`] in one pass over the digits: a
    /// schema check reads every number of every record for its bounds, and the usual
    /// number (up to 19 digits) is accumulated as it is read instead of read twice.
    pub fn read_scaled(text: &'a str) -> Option<(Canonical<'a>, Option<Scaled>)> {
        let (canonical, magnitude) = Canonical::read_digits(text)?;
        let digits = canonical.integer_digits.max(1) + canonical.scale;
        let scaled = if digits <= U64_DIGITS {
            let magnitude = i128::from(magnitude);
            Some(Scaled {
                mantissa: if text.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                },
                scale: canonical.scale as u32,
            })
        } else {
            canonical.scaled()
        };
        Some((canonical, scaled))
    }

    /// The canonical number `text` is, with the value of its digits (meaningful for up
    /// to 19 digits; wrapped beyond, where [`Canonical::scaled`] reads them again).
    // Inlined: the usual short number is read in place; longer ones out of line.
    #[inline(always)]
    fn read_digits(text: &'a str) -> Option<(Canonical<'a>, u64)> {
        let bytes = text.as_bytes();
        let negative = bytes.first() == Some(&b'-');
        let body = &bytes[usize::from(negative)..];
        match word_of(body) {
            Some(word) => Canonical::read_word(text, negative, word, body.len()),
            None => Canonical::read_long(text, negative, body),
        }
    }

    /// [`Canonical::read_digits`] of a number of more than 8 bytes after its sign
    /// (`body`), or of none.
    #[inline(never)]
    fn read_long(text: &'a str, negative: bool, body: &[u8]) -> Option<(Canonical<'a>, u64)> {
        let mut magnitude = 0u64;
        let mut at = 0;
        let mut digits = |at: &mut usize| {
            let start = *at;
            while let Some(digit) = body
                .get(*at)
                .map(|b| b.wrapping_sub(b'0'))
                .filter(|d| *d < 10)
            {
                magnitude = magnitude.wrapping_mul(10).wrapping_add(u64::from(digit));
                *at += 1;
            }
            *at - start
        };
        let zero_integer = match body.first() {
            Some(b'0') => {
                at = 1;
                true
            }
            Some(b'1'..=b'9') => {
                digits(&mut at);
                false
            }
            _ => return None,
        };
        let integer_len = at;
        let mut scale = 0;
        if body.get(at) == Some(&b'.') {
            at += 1;
            scale = digits(&mut at);
            if scale == 0 || body[at - 1] == b'0' {
                return None;
            }
        }
        if at != body.len() || (zero_integer && scale == 0 && negative) {
            return None;
        }
        let canonical = Canonical {
            text,
            integer_digits: if zero_integer { 0 } else { integer_len },
            scale,
        };
        Some((canonical, magnitude))
    }

    /// [`Canonical::read_digits`] of a number whose digits and point (`body`, after
    /// any sign) fit one word: its runs of digits found and valued a word at a time,
    /// without a loop whose end the processor must guess (most numbers are short).
    #[inline(always)]
    fn read_word(
        text: &'a str,
        negative: bool,
        word: u64,
        len: usize,
    ) -> Option<(Canonical<'a>, u64)> {
        let integer_len = digit_run(word);
        // A leading zero only alone: `0`, `0.5`.
        let zero_integer = word & 0xff == u64::from(b'0');
        if integer_len == 0 || (zero_integer && integer_len > 1) {
            return None;
        }
        let integer = digits_value(word, integer_len);
        if integer_len == len {
            if zero_integer && negative {
                return None; // `-0`
            }
            let canonical = Canonical {
                text,
                integer_digits: if zero_integer { 0 } else { integer_len },
                scale: 0,
            };
            return Some((canonical, integer));
        }
        // A point, then digits to the end, the last not zero.
        let fraction = word.checked_shr(8 * (integer_len as u32 + 1)).unwrap_or(0);
        let scale = len - integer_len - 1;
        let point = (word >> (8 * integer_len)) & 0xff == u64::from(b'.');
        let last = (word >> (8 * (len - 1))) & 0xff;
        if !point || scale == 0 || digit_run(fraction) != scale || last == u64::from(b'0') {
            return None;
        }
        // Fewer than 8 decimals: the power is a u64.
        let magnitude = integer * POWERS_OF_TEN[scale] as u64 + digits_value(fraction, scale);
        let canonical = Canonical {
            text,
            integer_digits: if zero_integer { 0 } else { integer_len },
            scale,
        };
        Some((canonical, magnitude))
    }

    pub fn as_str(&self) -> &'a str {
        self.text
    }

    /// The same number as a [`Decimal`], borrowed (for the exact text-based answers).
    pub fn decimal(&self) -> Decimal<&'a str> {
        Decimal::from_canonical(self.text)
    }

    /// The owned [`Decimal`]: a copy of the text, not checked again.
    pub fn to_decimal(&self) -> Decimal {
        Decimal::from_canonical(self.text.to_owned())
    }

    /// The value as a scaled integer, when its digits fit (read from the text on each
    /// call: a check asks once and keeps it).
    pub fn scaled(&self) -> Option<Scaled> {
        let negative = self.text.starts_with('-');
        let body = &self.text.as_bytes()[usize::from(negative)..];
        let (int, frac) = match self.scale {
            0 => (body, &body[..0]),
            scale => {
                let (int, frac) = body.split_at(body.len() - scale);
                (&int[..int.len() - 1], frac)
            }
        };
        let count = int.len() + frac.len();
        if count > MAX_DIGITS {
            return None;
        }
        let magnitude = if count <= U64_DIGITS {
            let short = int
                .iter()
                .chain(frac)
                .fold(0u64, |m, b| m * 10 + u64::from(b - b'0'));
            i128::from(short)
        } else {
            long_mantissa(int, frac)
        };
        Some(Scaled {
            mantissa: if negative { -magnitude } else { magnitude },
            scale: self.scale as u32, // at most 38 here
        })
    }

    /// Digits before the decimal point (0 for `0.5` and for zero).
    pub fn integer_digits(&self) -> i64 {
        self.integer_digits as i64
    }

    /// Digits after the decimal point.
    pub fn scale(&self) -> i64 {
        self.scale as i64
    }

    pub fn is_integer(&self) -> bool {
        self.scale == 0
    }

    fn digits(&self) -> (&'a str, &'a str) {
        let body = self.text.strip_prefix('-').unwrap_or(self.text);
        let (int, frac) = body.split_at(body.len() - self.scale);
        (int.strip_suffix('.').unwrap_or(int), frac)
    }

    /// Significant digits (0 for zero), as [`Decimal::significant_digits`].
    pub fn significant_digits(&self) -> usize {
        let (int, frac) = self.digits();
        if self.integer_digits == 0 {
            frac.len() - leading_zeros(frac)
        } else if frac.is_empty() {
            int.len() - int.bytes().rev().take_while(|&b| b == b'0').count()
        } else {
            int.len() + frac.len()
        }
    }

    /// The power of ten of the leading digit; `None` for zero, as [`Decimal::magnitude`].
    pub fn magnitude(&self) -> Option<i64> {
        if self.integer_digits > 0 {
            return Some(self.integer_digits() - 1);
        }
        let (_, frac) = self.digits();
        (!frac.is_empty()).then(|| -(leading_zeros(frac) as i64) - 1)
    }
}

/// `bytes` as a little-endian word, zero above them, when they are 1 to 8 bytes:
/// two overlapping loads cover any length within a class, so only the class is a
/// branch, not each byte.
#[inline(always)]
fn word_of(bytes: &[u8]) -> Option<u64> {
    let len = bytes.len();
    let (low, high, bits) = match len {
        4..=8 => {
            let (a, b) = (bytes.first_chunk::<4>()?, bytes.last_chunk::<4>()?);
            (
                u64::from(u32::from_le_bytes(*a)),
                u64::from(u32::from_le_bytes(*b)),
                4,
            )
        }
        2..=3 => {
            let (a, b) = (bytes.first_chunk::<2>()?, bytes.last_chunk::<2>()?);
            (
                u64::from(u16::from_le_bytes(*a)),
                u64::from(u16::from_le_bytes(*b)),
                2,
            )
        }
        1 => (u64::from(bytes[0]), 0, 1),
        _ => return None,
    };
    // The high part's bytes end where `bytes` end; where the two overlap they agree.
    Some(low | high << (8 * (len - bits)))
}

/// How many of the bytes of `word` (little-endian, lowest first) are ASCII digits
/// before the first that is not; 8 when all are. A carry out of a byte can only mark
/// bytes above a non-digit, never below it, so the lowest mark is exact.
#[inline(always)]
pub fn digit_run(word: u64) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_NIBBLES: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let threes = ONES * 0x30;
    // A digit's high nibble is 3, and stays 3 when 6 is added (0x39 + 6 = 0x3f).
    let not_digits =
        ((word & HIGH_NIBBLES) ^ threes) | ((word.wrapping_add(ONES * 6) & HIGH_NIBBLES) ^ threes);
    (not_digits.trailing_zeros() / 8) as usize
}

/// The value of the first `count` (1 to 8) bytes of `word`, which are ASCII digits,
/// the lowest byte the leading digit: three multiplications instead of a loop.
#[inline(always)]
pub fn digits_value(word: u64, count: usize) -> u64 {
    // The digits moved to the top: the bytes below are zeros, leading zeros' values.
    let digits = (word << (8 * (8 - count))) & 0x0f0f_0f0f_0f0f_0f0f;
    // Each step puts ten (then 100, 10,000) times a part plus the next part into the
    // next part's place.
    let pairs = (digits.wrapping_mul((10 << 8) + 1) >> 8) & 0x00ff_00ff_00ff_00ff;
    let quads = (pairs.wrapping_mul((100 << 16) + 1) >> 16) & 0x0000_ffff_0000_ffff;
    quads.wrapping_mul((10_000 << 32) + 1) >> 32
}

/// Digits a `u64` always holds.
const U64_DIGITS: usize = 19;

/// The integer the digits of `int` then `frac` spell (at most 38 in all, so it fits).
fn long_mantissa(int: &[u8], frac: &[u8]) -> i128 {
    int.iter()
        .chain(frac)
        .fold(0i128, |m, b| m * 10 + i128::from(b - b'0'))
}

fn leading_zeros(digits: &str) -> usize {
    digits.bytes().take_while(|&b| b == b'0').count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        Decimal::parse(text).unwrap()
    }

    #[test]
    fn only_canonical_text_is_read() {
        for text in ["0", "7", "-7", "1200", "0.5", "-0.001", "12.25", "10.01"] {
            let c = Canonical::read(text).unwrap_or_else(|| panic!("{text} refused"));
            assert_eq!(c.as_str(), text);
        }
        for text in [
            "",
            "-",
            "-0",
            "00",
            "01",
            "1.",
            ".5",
            "1.50",
            "1e3",
            "+1",
            " 1",
            "1 ",
            "0.0",
            "1.0",
            "--1",
            "1-",
            "0x1",
            "1.2.3",
            // Eight bytes read as one word, the last not a digit.
            "1000000-",
            "1234567.",
            "-1234567.",
        ] {
            assert_eq!(Canonical::read(text), None, "{text:?} was read");
        }
    }

    #[test]
    fn long_numbers_are_read_but_not_scaled() {
        let thirty_eight = "9".repeat(38);
        assert!(Canonical::read(&thirty_eight).unwrap().scaled().is_some());
        let thirty_nine = "9".repeat(39);
        let c = Canonical::read(&thirty_nine).unwrap();
        assert_eq!(c.scaled(), None);
        assert_eq!(c.significant_digits(), 39);
    }

    /// Decimal text of any shape, canonical or not, within and past 38 digits.
    fn number_text() -> impl Strategy<Value = String> {
        prop_oneof![
            (any::<i64>(), 0u32..12).prop_map(|(m, scale)| {
                let digits = m.unsigned_abs().to_string();
                let padded = format!("{digits:0>width$}", width = scale as usize + 1);
                let (int, frac) = padded.split_at(padded.len() - scale as usize);
                let sign = if m < 0 { "-" } else { "" };
                if frac.is_empty() {
                    format!("{sign}{int}")
                } else {
                    format!("{sign}{int}.{frac}")
                }
            }),
            "-?[0-9]{1,45}(\\.[0-9]{1,45})?",
            "-?[0-9]{1,3}(\\.[0-9]{0,3})?(e-?[0-9])?",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Reads exactly the texts that are their own canonical form, and answers what
        /// `Decimal` answers about them.
        #[test]
        fn agrees_with_decimal(text in number_text(), other in number_text()) {
            let canonical = Decimal::parse(&text).ok().filter(|d| d.as_str() == text);
            let read = Canonical::read(&text);
            prop_assert_eq!(Canonical::read_scaled(&text), read.map(|c| (c, c.scaled())), "{}", text);
            prop_assert_eq!(read.is_some(), canonical.is_some(), "{}", text);
            if let (Some(c), Some(decimal)) = (read, canonical) {
                prop_assert_eq!(c.significant_digits(), decimal.significant_digits());
                prop_assert_eq!(c.integer_digits(), decimal.integer_digits());
                prop_assert_eq!(c.scale(), decimal.scale());
                prop_assert_eq!(c.magnitude(), decimal.magnitude());
                prop_assert_eq!(c.is_integer(), decimal.is_integer());
                prop_assert_eq!(c.to_decimal(), decimal.clone());
                let o = d(&other);
                if let (Some(a), Some(b)) = (c.scaled(), Scaled::of(&o)) {
                    if let Some(order) = a.cmp_value(b) {
                        prop_assert_eq!(order, decimal.cmp_value(&o), "{} vs {}", text, other);
                    }
                    if let Some(multiple) = a.is_multiple_of(b) {
                        prop_assert_eq!(multiple, decimal.is_multiple_of(&o), "{} % {}", text, other);
                    }
                }
            }
        }

        /// Values that fit are always answered (no needless fallback) on the usual
        /// amounts and steps.
        #[test]
        fn usual_amounts_never_fall_back(cents in -10_000_000_000_000i64..10_000_000_000_000) {
            let sign = if cents < 0 { "-" } else { "" };
            let text = d(&format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100)).to_string();
            let value = Canonical::read(&text).unwrap().scaled().unwrap();
            let step = Scaled::of(&d("0.01")).unwrap();
            let bound = Scaled::of(&d("10000000000")).unwrap();
            prop_assert_eq!(value.is_multiple_of(step), Some(true));
            prop_assert_eq!(value.cmp_value(bound), Some(cents.cmp(&1_000_000_000_000)));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// Short texts of number bytes in any order (read a word at a time: `0.`, `.5`,
        /// `-00`, `1.0`) are read exactly when they are canonical, with their digits'
        /// value.
        #[test]
        fn short_texts_are_read_when_canonical(text in "[-0-9.]{1,10}") {
            let canonical = Decimal::parse(&text).ok().filter(|d| d.as_str() == text);
            let read = Canonical::read_scaled(&text);
            prop_assert_eq!(read.is_some(), canonical.is_some(), "{}", text);
            if let (Some((c, scaled)), Some(decimal)) = (read, canonical) {
                prop_assert_eq!(c.integer_digits(), decimal.integer_digits());
                prop_assert_eq!(c.scale(), decimal.scale());
                prop_assert_eq!(scaled, c.scaled());
            }
        }

        /// A word holds exactly the bytes given; the digit run and its value are what a
        /// byte-by-byte reading finds, whatever the bytes after the run.
        #[test]
        fn words_read_digits_as_bytes_do(
            bytes in proptest::collection::vec(
                prop_oneof![4 => b'0'..=b'9', 1 => any::<u8>(), 1 => Just(b'.')], 1..=8)
        ) {
            let word = word_of(&bytes).unwrap();
            let mut expected = [0u8; 8];
            expected[..bytes.len()].copy_from_slice(&bytes);
            prop_assert_eq!(word, u64::from_le_bytes(expected));
            let run = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
            prop_assert_eq!(digit_run(word), run);
            if run > 0 {
                let value = bytes[..run].iter().fold(0u64, |v, b| v * 10 + u64::from(b - b'0'));
                prop_assert_eq!(digits_value(word, run), value);
            }
        }
    }

    /// Limits of the usual kinds: a few decimals or none, bounds near the values.
    fn limits() -> impl Strategy<Value = (Option<u32>, Vec<(String, Edge)>)> {
        let edge =
            prop::sample::select(vec![Edge::Below, Edge::AtMost, Edge::Above, Edge::AtLeast]);
        let bound = prop_oneof![
            3 => (-2000i64..2000, 0u32..4).prop_map(|(m, scale)| {
                Decimal::parse(&format!("{m}e-{scale}")).unwrap().to_string()
            }),
            1 => prop::sample::select(vec!["1e10", "-1e10", "9999999999", "1e37", "-1e37", "0"])
                .prop_map(|t| Decimal::parse(t).unwrap().to_string()),
        ];
        (
            prop::option::of(0u32..22),
            proptest::collection::vec((bound, edge), 0..4),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// A range admits exactly the canonical numbers of up to 18 digits that have few
        /// enough decimals and lie on the right side of every bound, compared exactly.
        #[test]
        fn a_range_admits_what_its_limits_pass(
            (most, bounds) in limits(),
            texts in proptest::collection::vec(prop_oneof![
                number_text(),
                // Near the bounds.
                (-2100i64..2100, 0u32..5).prop_map(|(m, scale)| {
                    Decimal::parse(&format!("{m}e-{scale}")).unwrap().to_string()
                }),
            ], 1..20),
        ) {
            let mut limits = Limits::default();
            if let Some(n) = most {
                limits.decimals_at_most(n);
            }
            for (bound, edge) in &bounds {
                limits.bound(Scaled::of(&d(bound)).unwrap(), *edge);
            }
            let decimals = most.unwrap_or(18).min(18);
            let range = limits.range();
            // Only bounds with more decimals than allowed go unanswered, besides those
            // that leave nothing to pass.
            let finer = bounds.iter().any(|(b, _)| d(b).scale() > i64::from(decimals));
            for text in &texts {
                let expected = Canonical::read(text).filter(|c| {
                    c.integer_digits().max(1) + c.scale() <= 18
                        && c.scale() <= i64::from(decimals)
                        && bounds.iter().all(|(b, edge)| {
                            let order = c.decimal().cmp_value(&d(b));
                            match edge {
                                Edge::Below => order.is_lt(),
                                Edge::AtMost => order.is_le(),
                                Edge::Above => order.is_gt(),
                                Edge::AtLeast => order.is_ge(),
                            }
                        })
                });
                match range {
                    Some(range) => {
                        prop_assert_eq!(range.admit(text), expected, "{} in {:?}", text, limits);
                    }
                    None => prop_assert!(finer || expected.is_none(), "{} in {:?}", text, limits),
                }
            }
        }
    }
}
