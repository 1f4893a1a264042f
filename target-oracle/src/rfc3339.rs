//! RFC 3339 date-times, read fast in the shape taps write.
//!
//! Every date-time field of every record is read here (by the schema's `format` check,
//! which hands the instant on to the conversion), so this is on the target's hot path.
//! The shape nearly every tap writes, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, is
//! read by position; anything else goes to chrono's parser, which decides. Both give the
//! same instant for what the fast path accepts (`tests::agrees_with_chrono`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};
use singer_core::canonical::{digit_run, digits_value};

/// A date-time with the offset it was written with.
pub(crate) type Instant = DateTime<FixedOffset>;

/// Nanoseconds in one unit of the last of `n` fraction digits (`n` from 0 to 9): a
/// fraction of `n` digits read as an integer, times this, is nanoseconds.
pub(crate) const NANOS_PER_UNIT: [u32; 10] = [
    1_000_000_000,
    100_000_000,
    10_000_000,
    1_000_000,
    100_000,
    10_000,
    1_000,
    100,
    10,
    1,
];

/// The instant `text` names, or `None` when it is not an RFC 3339 date-time.
pub(crate) fn parse(text: &str) -> Option<DateTime<FixedOffset>> {
    fast(text.as_bytes()).or_else(|| DateTime::parse_from_rfc3339(text).ok())
}

/// The usual shape only; `None` sends the text to chrono.
fn fast(b: &[u8]) -> Option<DateTime<FixedOffset>> {
    // `YYYY-MM-DDTHH:MM` as two words, digits and separators checked and the digits
    // valued together; then `:SS`.
    let head = b.first_chunk::<20>()?;
    let (date_word, rest) = head.split_first_chunk::<8>()?;
    let (time_word, seconds) = rest.split_first_chunk::<8>()?;
    let date = digit_values(u64::from_le_bytes(*date_word), *b"0000-00-")?;
    let time = digit_values(u64::from_le_bytes(*time_word), *b"00T00:00")?;
    if seconds[0] != b':' {
        return None;
    }
    let year = byte(date, 0) * 100 + byte(date, 2);
    let date = NaiveDate::from_ymd_opt(year as i32, byte(date, 5), byte(time, 0))?;
    let (hour, minute, second) = (
        byte(time, 3),
        byte(time, 6),
        two_digits(seconds[1], seconds[2])?,
    );
    if second > 59 {
        return None; // a leap second: chrono's rules apply
    }
    let mut at = 19;
    let mut nanos: u32 = 0;
    if b[at] == b'.' {
        let start = at + 1;
        // Up to eight digits a word at a time where the text has a word there.
        at = match b.get(start..).and_then(|rest| rest.first_chunk::<8>()) {
            Some(digits) => {
                let digits = u64::from_le_bytes(*digits);
                let count = digit_run(digits);
                if count > 0 {
                    nanos = digits_value(digits, count) as u32; // below 10^8
                }
                start + count
            }
            None => start,
        };
        while let Some(&digit) = b.get(at).filter(|d| d.is_ascii_digit()) {
            // Ten digits or more are refused below, before this could overflow.
            nanos = nanos.wrapping_mul(10).wrapping_add(u32::from(digit - b'0'));
            at += 1;
        }
        let count = at - start;
        if count == 0 || count > 9 {
            return None;
        }
        nanos *= NANOS_PER_UNIT[count];
    }
    let offset = match &b[at..] {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (two_digits(*h1, *h2)?, two_digits(*m1, *m2)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let wall = date.and_time(time);
    let offset_seconds = offset;
    let offset = FixedOffset::east_opt(offset)?;
    // The local wall clock minus its offset is the instant (what chrono's
    // `and_local_timezone` does for a fixed offset, without its generic detour); in
    // UTC, the usual zone, it is the wall clock.
    let utc = if offset_seconds == 0 {
        wall
    } else {
        wall.checked_sub_offset(offset)?
    };
    Some(DateTime::from_naive_utc_and_offset(utc, offset))
}

/// `word` (8 bytes, lowest first) when it matches `pattern`: a digit wherever the
/// pattern has `0`, the pattern's byte elsewhere. Answers each byte as ten times its
/// digit plus the next byte's digit (a separator counts as 0), so a two-digit field
/// is the byte where it starts ([`byte`]).
fn digit_values(word: u64, pattern: [u8; 8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_NIBBLES: u64 = ONES * 0xf0;
    // Digits become 0 to 9, and a matching separator 0.
    let digits = word ^ u64::from_le_bytes(pattern);
    let separators = u64::from_le_bytes(pattern.map(|p| if p == b'0' { 0 } else { 0xff }));
    // Each byte is at most 9 (high nibble clear, and still clear with 6 added); a
    // carry out of a byte can only come from a byte already refused.
    let wrong = (digits & HIGH_NIBBLES) | (digits.wrapping_add(ONES * 6) & HIGH_NIBBLES);
    if wrong != 0 || digits & separators != 0 {
        return None;
    }
    // At most 9 * 10 + 9 in a byte: no carry between bytes.
    Some(digits * 10 + (digits >> 8))
}

/// The `index`-th byte of `word`, lowest first.
fn byte(word: u64, index: u32) -> u32 {
    ((word >> (8 * index)) & 0xff) as u32
}

/// Two ASCII digits as a number; `None` if either is not a digit.
fn two_digits(tens: u8, ones: u8) -> Option<u32> {
    let (tens, ones) = (tens.wrapping_sub(b'0'), ones.wrapping_sub(b'0'));
    (tens < 10 && ones < 10).then(|| u32::from(tens) * 10 + u32::from(ones))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_usual_shapes_are_read_fast() {
        for text in [
            "2021-07-14T07:53:08.323216+00:00",
            "2021-07-05T05:26:31Z",
            "1999-12-31T23:59:59.999999999-05:30",
            "2024-02-29T00:00:00.5+14:00",
        ] {
            assert_eq!(
                fast(text.as_bytes()),
                DateTime::parse_from_rfc3339(text).ok(),
                "{text}"
            );
            assert!(fast(text.as_bytes()).is_some(), "{text}");
        }
    }

    #[test]
    fn other_shapes_go_to_chrono() {
        for text in [
            "2021-07-05 05:26:31Z",
            "2021-07-05t05:26:31z",
            "2016-12-31T23:59:60Z",
            "2021-07-05T05:26:31.1234567891Z",
            "2023-02-29T00:00:00Z",
            "2021-07-05T05:26:31",
        ] {
            assert_eq!(fast(text.as_bytes()), None, "{text}");
            assert_eq!(
                parse(text),
                DateTime::parse_from_rfc3339(text).ok(),
                "{text}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]
        /// A usual date-time with one byte changed, anywhere, to anything (a letter
        /// for a digit, a digit for a separator): read as chrono reads it, or refused.
        #[test]
        fn one_byte_off_agrees_with_chrono(
            at in 0usize..32,
            replacement in prop_oneof![any::<u8>(), b'0'..=b'9', Just(b':'), Just(b'-')],
        ) {
            let mut bytes = b"2021-07-14T07:53:08.323216+05:30".to_vec();
            bytes[at] = replacement;
            if let Ok(text) = String::from_utf8(bytes) {
                prop_assert_eq!(parse(&text), DateTime::parse_from_rfc3339(&text).ok(), "{}", text);
            }
        }

        #[test]
        fn agrees_with_chrono(
            date in "[0-9]{4}-[0-1][0-9]-[0-3][0-9]",
            sep in "[Tt ]",
            time in "[0-2][0-9]:[0-6][0-9]:[0-6][0-9]",
            fraction in "(\\.[0-9]{0,11})?",
            zone in "(Z|z|[+-][0-2][0-9]:[0-6][0-9]|[+-][0-9]{4}|)",
        ) {
            let text = format!("{date}{sep}{time}{fraction}{zone}");
            prop_assert_eq!(parse(&text), DateTime::parse_from_rfc3339(&text).ok(), "{}", text);
        }
    }
}
