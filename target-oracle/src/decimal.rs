//! Exact decimal text: parsing a JSON number (or a decimal-format string) into sign,
//! digits and exponent, printing it in the canonical form `db_boundary::Value::Number`
//! requires, and the checks Oracle's NUMBER(p,s) and JSON Schema's `multipleOf` need.
//!
//! Nothing here goes through `f64`: a float cannot hold `0.1` or a 38-digit key, and
//! checking `multipleOf: 0.01` on floats rejects about a third of valid amounts.

use std::fmt;

/// A decimal number held exactly: `(-1)^negative * digits * 10^exponent`.
///
/// `digits` has no leading zeros and no trailing zeros (those move into `exponent`);
/// zero is the empty digit string with exponent 0 and `negative` false.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decimal {
    negative: bool,
    digits: String,
    exponent: i64,
}

/// Why a text is not a decimal number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a decimal number")]
pub struct NotADecimal;

/// Exponents beyond this are rejected before any expansion, so a hostile `1e999999999`
/// cannot make us allocate; Oracle's NUMBER range ends at 1e126 anyway.
const EXPONENT_LIMIT: i64 = 10_000;

impl Decimal {
    /// Parses JSON number syntax, plus a leading `+` and surrounding blanks that
    /// decimal-format strings sometimes carry.
    pub fn parse(text: &str) -> Result<Decimal, NotADecimal> {
        let text = text.trim();
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
            if exp_text.is_empty()
                || !exp_text
                    .trim_start_matches(['+', '-'])
                    .bytes()
                    .all(|b| b.is_ascii_digit())
                || exp_text.trim_start_matches(['+', '-']).is_empty()
            {
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
        let mut exponent = exponent - frac_len;
        let leading = digits.bytes().take_while(|&b| b == b'0').count();
        digits.drain(..leading);
        let trailing = digits.bytes().rev().take_while(|&b| b == b'0').count();
        digits.truncate(digits.len() - trailing);
        exponent += i64::try_from(trailing).map_err(|_| NotADecimal)?;
        if digits.is_empty() {
            return Ok(Decimal {
                negative: false,
                digits,
                exponent: 0,
            });
        }
        Ok(Decimal {
            negative,
            digits,
            exponent,
        })
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    /// Significant digits (0 for zero).
    pub fn significant_digits(&self) -> usize {
        self.digits.len()
    }

    /// Digits after the decimal point in canonical form (0 for whole numbers).
    pub fn scale(&self) -> i64 {
        (-self.exponent).max(0)
    }

    /// Digits before the decimal point (0 for `0.5` and for zero).
    pub fn integer_digits(&self) -> i64 {
        (self.digits.len() as i64 + self.exponent).max(0)
    }

    /// The power of ten of the leading digit (`123` -> 2, `0.05` -> -2); `None` for zero.
    pub fn magnitude(&self) -> Option<i64> {
        (!self.is_zero()).then(|| self.digits.len() as i64 - 1 + self.exponent)
    }

    /// Whether the value is a whole number.
    pub fn is_integer(&self) -> bool {
        self.exponent >= 0
    }

    /// Whether `self` is an exact multiple of `step` (`multipleOf`), on the exact text.
    pub fn is_multiple_of(&self, step: &Decimal) -> bool {
        if step.is_zero() {
            return false;
        }
        if self.is_zero() {
            return true;
        }
        // Bring both to the same exponent, then divide the digit strings as integers.
        let common = self.exponent.min(step.exponent);
        let value = scaled_digits(&self.digits, self.exponent - common);
        let divisor = scaled_digits(&step.digits, step.exponent - common);
        remainder_is_zero(&value, &divisor)
    }

    /// Compares the values (sign included).
    pub fn cmp_value(&self, other: &Decimal) -> std::cmp::Ordering {
        use std::cmp::Ordering;
        let sign = |d: &Decimal| {
            if d.is_zero() {
                0
            } else if d.negative {
                -1
            } else {
                1
            }
        };
        let (a, b) = (sign(self), sign(other));
        if a != b {
            return a.cmp(&b);
        }
        if a == 0 {
            return Ordering::Equal;
        }
        let magnitude = {
            let (ma, mb) = (self.magnitude(), other.magnitude());
            ma.cmp(&mb).then_with(|| {
                // Same leading power: compare digit strings left-aligned.
                let (da, db) = (self.digits.as_bytes(), other.digits.as_bytes());
                let len = da.len().max(db.len());
                for i in 0..len {
                    let x = da.get(i).copied().unwrap_or(b'0');
                    let y = db.get(i).copied().unwrap_or(b'0');
                    if x != y {
                        return x.cmp(&y);
                    }
                }
                Ordering::Equal
            })
        };
        if a < 0 {
            magnitude.reverse()
        } else {
            magnitude
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

impl fmt::Display for Decimal {
    /// Plain text with no exponent and no superfluous zeros: `-12.5`, `0.001`, `1200`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        if self.negative {
            f.write_str("-")?;
        }
        if self.exponent >= 0 {
            f.write_str(&self.digits)?;
            for _ in 0..self.exponent {
                f.write_str("0")?;
            }
            return Ok(());
        }
        let frac = (-self.exponent) as usize;
        if frac >= self.digits.len() {
            f.write_str("0.")?;
            for _ in 0..frac - self.digits.len() {
                f.write_str("0")?;
            }
            f.write_str(&self.digits)
        } else {
            let (int_part, frac_part) = self.digits.split_at(self.digits.len() - frac);
            write!(f, "{int_part}.{frac_part}")
        }
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

        #[test]
        fn canonical_text_round_trips(int in any::<i64>(), frac in 0u32..1_000_000) {
            let text = format!("{int}.{frac:06}");
            let once = d(&text).to_string();
            prop_assert_eq!(d(&once).to_string(), once.clone());
            prop_assert_eq!(d(&text).cmp_value(&d(&once)), std::cmp::Ordering::Equal);
        }
    }
}
