//! RFC 3339 date-times, read fast in the shape taps write.
//!
//! Every date-time field of every record is read here (by the schema's `format` check,
//! which hands the instant on to the conversion), so this is on the target's hot path.
//! The shape nearly every tap writes, `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, is
//! read by position; anything else goes to chrono's parser, which decides. Both give the
//! same instant for what the fast path accepts (`tests::agrees_with_chrono`).

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime};

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
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = two_digits(b[0], b[1])? * 100 + two_digits(b[2], b[3])?;
    let date = NaiveDate::from_ymd_opt(
        year as i32,
        two_digits(b[5], b[6])?,
        two_digits(b[8], b[9])?,
    )?;
    let (hour, minute, second) = (
        two_digits(b[11], b[12])?,
        two_digits(b[14], b[15])?,
        two_digits(b[17], b[18])?,
    );
    if second > 59 {
        return None; // a leap second: chrono's rules apply
    }
    let mut at = 19;
    let mut nanos: u32 = 0;
    if b[at] == b'.' {
        let start = at + 1;
        at = start;
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
