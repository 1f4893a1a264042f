//! Exact decimal numbers: the one canonicaliser of decimal text in the workspace.
//!
//! [`Decimal`] is the payload of `db_boundary::Value::Number`: NUMBER and FLOAT values
//! from Oracle (which prints `.5`), JSON numbers from Singer records and decimal-format
//! strings all pass through [`Decimal::parse`], which keeps every digit and writes the
//! canonical text (optional `-`, digits, optional `.` and digits, no exponent, no
//! superfluous zeros: `-12.5`, `0.001`, `1200`). It also answers what NUMBER(p,s) and
//! JSON Schema's `multipleOf` need.
//!
//! Nothing here goes through `f64`: a float cannot hold `0.1` or a 38-digit key, and
//! checking `multipleOf: 0.01` on floats rejects about a third of valid amounts.

use std::fmt;

/// A decimal number held exactly, as its canonical text: owned (`Decimal`), or borrowed
/// from where it was read (`Decimal<&str>`) when validation only asks questions of it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Decimal<T = String> {
    text: T,
}

/// By hand for `clone_from`, which the derive leaves allocating: a tap copying rows into
/// reused batches then copies a number's digits into the buffer it already has.
impl<T: Clone> Clone for Decimal<T> {
    fn clone(&self) -> Self {
        Decimal {
            text: self.text.clone(),
        }
    }

    fn clone_from(&mut self, source: &Self) {
        self.text.clone_from(&source.text);
    }
}

/// A decimal as `(-1)^negative * digits * 10^exponent`; `digits` has no leading or
/// trailing zeros (zero is the empty digit string with exponent 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecimalParts {
    pub negative: bool,
    pub digits: String,
    pub exponent: i64,
}

/// Why a text is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal number")]
pub struct NotADecimal;

/// Exponents beyond this are rejected before any expansion, so a hostile `1e999999999`
/// cannot make us allocate; Oracle's NUMBER range ends at 1e126 anyway.
const EXPONENT_LIMIT: i64 = 10_000;

/// `text` split around its decimal point. A byte loop: numbers are short, and this runs
/// several times per number on a target's hot path (a `char` pattern costs more).
pub fn split_at_point(text: &str) -> Option<(&str, &str)> {
    let at = text.bytes().position(|b| b == b'.')?;
    Some((&text[..at], &text[at + 1..]))
}

/// Appends the canonical text of `(-1)^negative * digits * 10^exponent` to `out`.
fn write_canonical(out: &mut String, negative: bool, digits: &str, exponent: i64) {
    let lead = digits.bytes().take_while(|&b| b == b'0').count();
    let significant = digits[lead..].trim_end_matches('0');
    let exponent = exponent + (digits.len() - lead - significant.len()) as i64;
    let digits = significant;
    if digits.is_empty() {
        out.push('0');
        return;
    }
    out.reserve(digits.len() + 4);
    if negative {
        out.push('-');
    }
    if exponent >= 0 {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', exponent as usize));
    } else {
        let frac = (-exponent) as usize;
        if frac >= digits.len() {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', frac - digits.len()));
            out.push_str(digits);
        } else {
            let (int_part, frac_part) = digits.split_at(digits.len() - frac);
            out.push_str(int_part);
            out.push('.');
            out.push_str(frac_part);
        }
    }
}

/// `text` without surrounding blanks; numbers written without any skip the Unicode scan.
fn trimmed(text: &str) -> &str {
    let bytes = text.as_bytes();
    let plain_ends = bytes
        .first()
        .is_some_and(|b| b.is_ascii_digit() || *b == b'-')
        && bytes.last().is_some_and(u8::is_ascii_digit);
    if plain_ends {
        text
    } else {
        text.trim()
    }
}

/// A canonical text's absolute value as (integer digits, fraction digits).
fn absolute(text: &str) -> (&str, &str) {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    split_at_point(unsigned).unwrap_or((unsigned, ""))
}

/// Whether `text` is already canonical (the common case: copy it, parse nothing).
fn is_canonical(text: &str) -> bool {
    let body = text.strip_prefix('-').unwrap_or(text);
    let (int_part, frac_part) = match split_at_point(body) {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int_part) || (int_part.len() > 1 && int_part.starts_with('0')) {
        return false;
    }
    match frac_part {
        None => !(text.starts_with('-') && int_part == "0"),
        Some(f) => digits(f) && !f.ends_with('0'),
    }
}

impl Decimal {
    /// Parses JSON number syntax and Oracle's NUMBER text (`.5`, `-.05`), plus a leading
    /// `+` and surrounding blanks that decimal-format strings sometimes carry.
    pub fn parse(text: &str) -> Result<Decimal, NotADecimal> {
        let text = trimmed(text);
        if is_canonical(text) {
            return Ok(Decimal {
                text: text.to_owned(),
            });
        }
        Ok(Decimal::from_parts(&parse_parts(text)?))
    }

    /// The canonical text of `parts` (which need not be normalised).
    pub fn from_parts(parts: &DecimalParts) -> Decimal {
        Decimal::from_digits(parts.negative, &parts.digits, parts.exponent)
    }

    /// The canonical text of `(-1)^negative * digits * 10^exponent` (`digits` ASCII,
    /// leading and trailing zeros allowed).
    pub fn from_digits(negative: bool, digits: &str, exponent: i64) -> Decimal {
        let mut text = String::new();
        write_canonical(&mut text, negative, digits, exponent);
        Decimal { text }
    }

    /// Becomes [`Decimal::from_digits`], reusing this decimal's text buffer (a backend
    /// decoding row after row into the same values).
    pub fn assign_digits(&mut self, negative: bool, digits: &str, exponent: i64) {
        self.text.clear();
        write_canonical(&mut self.text, negative, digits, exponent);
    }

    /// Becomes `number`, reusing this decimal's text buffer (a target recycles its rows).
    pub fn assign_canonical(&mut self, number: &crate::canonical::Canonical<'_>) {
        self.text.clear();
        self.text.push_str(number.as_str());
    }

    /// `number` in `buffer` (cleared first): a target's recycled text buffers.
    pub fn canonical_in(buffer: String, number: &crate::canonical::Canonical<'_>) -> Decimal {
        let mut decimal = Decimal { text: buffer };
        decimal.assign_canonical(number);
        decimal
    }

    /// The text buffer, for another value to reuse.
    pub fn into_buffer(self) -> String {
        self.text
    }

    /// Zero.
    pub fn zero() -> Decimal {
        Decimal { text: "0".into() }
    }
}

impl<T: AsRef<str>> Decimal<T> {
    /// A decimal from text known to be canonical ([`crate::canonical::Canonical`]).
    pub(crate) fn from_canonical(text: T) -> Decimal<T> {
        Decimal { text }
    }

    fn text(&self) -> &str {
        self.text.as_ref()
    }

    /// The same decimal, borrowing this one's text.
    pub fn borrowed(&self) -> Decimal<&str> {
        Decimal {
            text: self.text.as_ref(),
        }
    }

    /// The canonical text.
    pub fn as_str(&self) -> &str {
        self.text()
    }

    /// Sign, significant digits and exponent.
    pub fn parts(&self) -> DecimalParts {
        let negative = self.text().starts_with('-');
        let body = self.text().trim_start_matches('-');
        match split_at_point(body) {
            None => {
                let digits = body.trim_end_matches('0');
                DecimalParts {
                    negative,
                    digits: digits.to_owned(),
                    exponent: if digits.is_empty() {
                        0
                    } else {
                        (body.len() - digits.len()) as i64
                    },
                }
            }
            Some((int_part, frac_part)) => {
                let mut digits = String::with_capacity(int_part.len() + frac_part.len());
                digits.push_str(int_part.trim_start_matches('0'));
                digits.push_str(frac_part);
                let lead = digits.bytes().take_while(|&b| b == b'0').count();
                digits.drain(..lead);
                DecimalParts {
                    negative,
                    digits,
                    exponent: -(frac_part.len() as i64),
                }
            }
        }
    }

    /// -1, 0 or 1.
    fn sign(&self) -> i8 {
        if self.is_zero() {
            0
        } else if self.is_negative() {
            -1
        } else {
            1
        }
    }

    pub fn is_zero(&self) -> bool {
        self.text() == "0"
    }

    pub fn is_negative(&self) -> bool {
        self.text().starts_with('-')
    }

    /// Significant digits (0 for zero).
    pub fn significant_digits(&self) -> usize {
        self.parts().digits.len()
    }

    /// Digits after the decimal point in canonical form (0 for whole numbers).
    pub fn scale(&self) -> i64 {
        split_at_point(self.text()).map_or(0, |(_, f)| f.len() as i64)
    }

    /// Digits before the decimal point (0 for `0.5` and for zero).
    pub fn integer_digits(&self) -> i64 {
        let body = self.text().trim_start_matches('-');
        let int_part = split_at_point(body).map_or(body, |(i, _)| i);
        if int_part == "0" {
            0
        } else {
            int_part.len() as i64
        }
    }

    /// The power of ten of the leading digit (`123` -> 2, `0.05` -> -2); `None` for zero.
    pub fn magnitude(&self) -> Option<i64> {
        let d = self.digits();
        (d.len() > 0).then(|| d.len() as i64 - 1 + d.exponent)
    }

    /// The significant digits and exponent, borrowed from the canonical text (no
    /// allocation: validation compares every number against its bounds).
    fn digits(&self) -> Digits<'_> {
        let body = self.text().strip_prefix('-').unwrap_or(self.text());
        match split_at_point(body) {
            Some(("0", frac)) => Digits {
                head: "",
                tail: frac.trim_start_matches('0'),
                exponent: -(frac.len() as i64),
            },
            Some((int, frac)) => Digits {
                head: int,
                tail: frac,
                exponent: -(frac.len() as i64),
            },
            None if body == "0" => Digits {
                head: "",
                tail: "",
                exponent: 0,
            },
            None => {
                let head = body.trim_end_matches('0');
                Digits {
                    head,
                    tail: "",
                    exponent: (body.len() - head.len()) as i64,
                }
            }
        }
    }

    /// Whether the value is a whole number.
    pub fn is_integer(&self) -> bool {
        !self.text().bytes().any(|b| b == b'.')
    }

    /// Whether `self` is an exact multiple of `step` (`multipleOf`), on the exact text.
    pub fn is_multiple_of<U: AsRef<str>>(&self, step: &Decimal<U>) -> bool {
        if step.is_zero() {
            return false;
        }
        if self.is_zero() {
            return true;
        }
        let (da, db) = (self.digits(), step.digits());
        let common = da.exponent.min(db.exponent);
        let divisor_len = db.len() as i64 + db.exponent - common;
        if divisor_len <= 18 {
            // The usual step (0.01, 0.0001, 5): the running remainder fits in a u64.
            let d = (0..db.len() as i64 + db.exponent - common).fold(0u64, |acc, i| {
                acc * 10 + u64::from(db.at(i as usize) - b'0')
            });
            let value_len = da.len() as i64 + da.exponent - common;
            let rem = (0..value_len).fold(0u64, |rem, i| {
                (rem * 10 + u64::from(da.at(i as usize) - b'0')) % d
            });
            return rem == 0;
        }
        let (a, b) = (self.parts(), step.parts());
        // Bring both to the same exponent, then divide the digit strings as integers.
        let common = a.exponent.min(b.exponent);
        let value = scaled_digits(&a.digits, a.exponent - common);
        let divisor = scaled_digits(&b.digits, b.exponent - common);
        remainder_is_zero(&value, &divisor)
    }

    /// Compares the values (sign included).
    pub fn cmp_value<U: AsRef<str>>(&self, other: &Decimal<U>) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let (a, b) = (self.sign(), other.sign());
        if a != b {
            return a.cmp(&b);
        }
        if a == 0 {
            return Ordering::Equal;
        }
        // Canonical texts compare by their absolute values' text: the longer integer
        // part is larger (no leading zeros), then the digits left to right (a fraction
        // has no trailing zeros, so the longer of two equal prefixes is larger).
        let ((ai, af), (bi, bf)) = (absolute(self.text()), absolute(other.text()));
        let magnitude = ai
            .len()
            .cmp(&bi.len())
            .then_with(|| ai.cmp(bi))
            .then_with(|| af.cmp(bf));
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
        }
    }
}

/// Sign, digits and exponent of JSON-number or Oracle NUMBER text.
fn parse_parts(text: &str) -> Result<DecimalParts, NotADecimal> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let mut negative = false;
    if let Some(&sign) = bytes.first() {
        if sign == b'-' || sign == b'+' {
            negative = sign == b'-';
            pos = 1;
        }
    }
    let int_start = pos;
    while pos < bytes.len() && bytes[pos].is_ascii_digit() {
        pos += 1;
    }
    let int_part = &text[int_start..pos];
    let mut frac_part = "";
    if pos < bytes.len() && bytes[pos] == b'.' {
        pos += 1;
        let frac_start = pos;
        while pos < bytes.len() && bytes[pos].is_ascii_digit() {
            pos += 1;
        }
        frac_part = &text[frac_start..pos];
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(NotADecimal);
    }
    let mut exponent: i64 = 0;
    if pos < bytes.len() && (bytes[pos] == b'e' || bytes[pos] == b'E') {
        pos += 1;
        let exp_text = &text[pos..];
        let unsigned = exp_text.trim_start_matches(['+', '-']);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return Err(NotADecimal);
        }
        exponent = exp_text.parse::<i64>().map_err(|_| NotADecimal)?;
        if exponent.abs() > EXPONENT_LIMIT {
            return Err(NotADecimal);
        }
        pos = bytes.len();
    }
    if pos != bytes.len() {
        return Err(NotADecimal);
    }
    let frac_len = i64::try_from(frac_part.len()).map_err(|_| NotADecimal)?;
    let mut digits = String::with_capacity(int_part.len() + frac_part.len());
    digits.push_str(int_part);
    digits.push_str(frac_part);
    Ok(DecimalParts {
        negative,
        digits,
        exponent: exponent - frac_len,
    })
}

macro_rules! from_integer {
    ($($t:ty),*) => {$(
        impl From<$t> for Decimal {
            /// An integer's decimal text is already canonical.
            fn from(n: $t) -> Decimal {
                Decimal { text: n.to_string() }
            }
        }
    )*};
}
from_integer!(i32, i64, u32, u64, usize);

impl std::str::FromStr for Decimal {
    type Err = NotADecimal;
    fn from_str(text: &str) -> Result<Decimal, NotADecimal> {
        Decimal::parse(text)
    }
}

/// A decimal's significant digits (`head` then `tail`, no leading or trailing zeros)
/// and the power of ten of the last one, borrowed from its canonical text.
struct Digits<'a> {
    head: &'a str,
    tail: &'a str,
    exponent: i64,
}

impl Digits<'_> {
    fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// The `i`th significant digit as an ASCII byte; `0` past the last.
    fn at(&self, i: usize) -> u8 {
        let (head, tail) = (self.head.as_bytes(), self.tail.as_bytes());
        match i.checked_sub(head.len()) {
            None => head[i],
            Some(j) => tail.get(j).copied().unwrap_or(b'0'),
        }
    }
}

/// `digits` followed by `zeros` zeros.
fn scaled_digits(digits: &str, zeros: i64) -> Vec<u8> {
    let mut out: Vec<u8> = digits.bytes().map(|b| b - b'0').collect();
    out.extend(std::iter::repeat_n(0, zeros.max(0) as usize));
    out
}

/// Long division of decimal digit vectors; true when nothing remains. The divisor of a
/// `multipleOf` is short, so the running remainder fits in a `u128` unless the step has
/// more than 37 digits, where we fall back to schoolbook subtraction on digit vectors.
fn remainder_is_zero(value: &[u8], divisor: &[u8]) -> bool {
    if divisor.len() <= 37 {
        let d: u128 = divisor.iter().fold(0, |acc, &x| acc * 10 + u128::from(x));
        let mut rem: u128 = 0;
        for &x in value {
            rem = (rem * 10 + u128::from(x)) % d;
        }
        return rem == 0;
    }
    let mut rem: Vec<u8> = Vec::new();
    for &x in value {
        rem.push(x);
        strip_leading_zeros(&mut rem);
        while !less_than(&rem, divisor) {
            subtract(&mut rem, divisor);
            strip_leading_zeros(&mut rem);
        }
    }
    rem.is_empty()
}

fn strip_leading_zeros(v: &mut Vec<u8>) {
    let zeros = v.iter().take_while(|&&x| x == 0).count();
    v.drain(..zeros);
}

fn less_than(a: &[u8], b: &[u8]) -> bool {
    let b_zeros = b.iter().take_while(|&&x| x == 0).count();
    let b = &b[b_zeros..];
    a.len() < b.len() || (a.len() == b.len() && a < b)
}

fn subtract(a: &mut [u8], b: &[u8]) {
    let mut borrow = 0i16;
    let offset = a.len() - b.len().min(a.len());
    for i in (0..a.len()).rev() {
        let bi = if i >= offset { b[i - offset] } else { 0 };
        let mut d = i16::from(a[i]) - i16::from(bi) - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        a[i] = d as u8;
    }
}

impl<T: AsRef<str>> fmt::Display for Decimal<T> {
    /// The canonical text: `-12.5`, `0.001`, `1200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).unwrap()
    }

    #[test]
    fn canonical_text_drops_superfluous_zeros_and_exponents() {
        for (input, expected) in [
            ("0", "0"),
            ("-0.000", "0"),
            ("007", "7"),
            ("12.50", "12.5"),
            ("1.5e3", "1500"),
            ("1.5E-3", "0.0015"),
            (
                "-12345678901234567890123456789012345678",
                "-12345678901234567890123456789012345678",
            ),
            ("+3.", "3"),
            (".25", "0.25"),
            ("1e-2", "0.01"),
        ] {
            assert_eq!(d(input).to_string(), expected, "{input}");
        }
    }

    #[test]
    fn oracle_number_text_becomes_canonical() {
        for (input, expected) in [
            (".5", "0.5"),
            ("-.05", "-0.05"),
            ("100", "100"),
            ("0", "0"),
            ("1.50", "1.5"),
            (
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345678",
            ),
        ] {
            assert_eq!(d(input).as_str(), expected, "{input}");
        }
    }

    #[test]
    fn parts_and_text_agree() {
        for text in ["0", "7", "-12.5", "0.001", "1200", "-0.05", "10.01"] {
            let x = d(text);
            assert_eq!(Decimal::from_parts(&x.parts()), x, "{text}");
        }
        assert_eq!(
            d("1200").parts(),
            DecimalParts {
                negative: false,
                digits: "12".into(),
                exponent: 2
            }
        );
    }

    #[test]
    fn malformed_text_is_rejected() {
        for bad in [
            "",
            "-",
            "1.2.3",
            "1e",
            "e5",
            "abc",
            "1e+",
            "12a",
            "1e99999999",
            "NaN",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precision_and_scale_are_counted_on_canonical_digits() {
        let x = d("123.4500");
        assert_eq!(x.scale(), 2);
        assert_eq!(x.integer_digits(), 3);
        assert_eq!(x.significant_digits(), 5);
        assert_eq!(d("0.05").integer_digits(), 0);
        assert_eq!(d("1200").scale(), 0);
        assert!(d("1200").is_integer());
        assert!(!d("0.5").is_integer());
    }

    #[test]
    fn multiple_of_is_exact_where_floats_are_not() {
        // 0.07 / 0.01 in f64 is 7.000000000000001: a float check rejects it.
        assert!(d("0.07").is_multiple_of(&d("0.01")));
        assert!(d("1234567.89").is_multiple_of(&d("0.01")));
        assert!(!d("0.075").is_multiple_of(&d("0.01")));
        assert!(d("10").is_multiple_of(&d("2.5")));
        assert!(!d("10").is_multiple_of(&d("3")));
        assert!(d("0").is_multiple_of(&d("0.0001")));
        let long_step = d("1234567890123456789012345678901234567890");
        assert!(d("2469135780246913578024691357802469135780").is_multiple_of(&long_step));
        assert!(!d("2469135780246913578024691357802469135781").is_multiple_of(&long_step));
    }

    #[test]
    fn clone_from_reuses_the_buffer() {
        let mut kept = d("12345678901234567890.5");
        let pointer = kept.as_str().as_ptr();
        kept.clone_from(&d("-7.25"));
        assert_eq!(kept, d("-7.25"));
        assert_eq!(
            kept.as_str().as_ptr(),
            pointer,
            "the digits went to a new buffer"
        );
    }

    #[test]
    fn comparison_follows_value_not_text() {
        use std::cmp::Ordering::*;
        assert_eq!(d("10").cmp_value(&d("9.99")), Greater);
        assert_eq!(d("-10").cmp_value(&d("-9.99")), Less);
        assert_eq!(d("1.50").cmp_value(&d("1.5")), Equal);
        assert_eq!(d("0").cmp_value(&d("-0.1")), Greater);
        assert_eq!(d("0.001").cmp_value(&d("0.01")), Less);
    }

    proptest! {
        #[test]
        fn two_decimal_amounts_are_multiples_of_a_cent(cents in -10_000_000_000i64..10_000_000_000) {
            let text = format!("{}{}.{:02}", if cents < 0 { "-" } else { "" }, cents.abs() / 100, cents.abs() % 100);
            prop_assert!(d(&text).is_multiple_of(&d("0.01")));
        }

        /// Order on values of any scale agrees with exact i128 arithmetic.
        #[test]
        fn order_agrees_across_scales(
            a in any::<i64>(), sa in 0u32..10,
            b in any::<i64>(), sb in 0u32..10,
        ) {
            let text = |m: i64, scale: u32| {
                let digits = m.unsigned_abs().to_string();
                let padded = format!("{digits:0>width$}", width = scale as usize + 1);
                let (int, frac) = padded.split_at(padded.len() - scale as usize);
                let sign = if m < 0 { "-" } else { "" };
                if frac.is_empty() { format!("{sign}{int}") } else { format!("{sign}{int}.{frac}") }
            };
            let (da, db) = (d(&text(a, sa)), d(&text(b, sb)));
            let left = i128::from(a) * 10i128.pow(sb);
            let right = i128::from(b) * 10i128.pow(sa);
            prop_assert_eq!(da.cmp_value(&db), left.cmp(&right), "{} vs {}", da, db);
        }

        /// Comparison, magnitude and `multipleOf` on the borrowed digits agree with exact
        /// integer arithmetic on the same values scaled by 10^4.
        #[test]
        fn order_and_multiples_agree_with_integers(
            a in -10_000_000_000i64..10_000_000_000,
            b in -10_000_000_000i64..10_000_000_000,
            step in 1i64..1_000_000,
        ) {
            let text = |n: i64| {
                let sign = if n < 0 { "-" } else { "" };
                format!("{sign}{}.{:04}", n.abs() / 10_000, n.abs() % 10_000)
            };
            let (da, db, ds) = (d(&text(a)), d(&text(b)), d(&text(step)));
            prop_assert_eq!(da.cmp_value(&db), a.cmp(&b));
            prop_assert_eq!(da.is_multiple_of(&ds), a % step == 0);
            prop_assert_eq!(da.magnitude(), {
                let p = da.parts();
                (!p.digits.is_empty()).then(|| p.digits.len() as i64 - 1 + p.exponent)
            });
        }

        #[test]
        fn canonical_text_round_trips(int in any::<i64>(), frac in 0u32..1_000_000) {
            let text = format!("{int}.{frac:06}");
            let once = d(&text).to_string();
            prop_assert_eq!(d(&once).to_string(), once.clone());
            prop_assert_eq!(d(&text).cmp_value(&d(&once)), std::cmp::Ordering::Equal);
        }
    }
}
