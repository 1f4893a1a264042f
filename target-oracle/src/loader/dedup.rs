//! Deduplication of a merging batch: the buffered row of each key, so the last record of
//! a key replaces the earlier one (one MERGE source row per key, or Oracle raises
//! ORA-30926).
//!
//! Two keys are one exactly when their [`key_text`]s are equal. The index holds a hash of
//! that text rather than the text, so a record costs no allocation; the rare key whose
//! hash another key of the batch already has is kept by its text.

use std::cmp::Ordering;
use std::fmt;
use std::hash::Hasher as _;

use db_boundary::Value;

use crate::fast_hash::{FastMap, FnvHasher};

/// The buffered row of each key of a batch.
#[derive(Debug, Default)]
pub(super) struct KeyIndex {
    /// Whether the batch's rows are known to be in strictly increasing key order (see
    /// [`ascending`]), which needs no lookup: a key above the greatest is new. Taps
    /// often write rows in key order (a full table read by key, chunks, a log in
    /// commit order of inserts).
    sorted: Sorted,
    /// Key hash -> row index, for the first key of the batch with that hash.
    by_hash: FastMap<u64, usize>,
    /// Keys whose hash an earlier, different key has: key text -> row index.
    collided: FastMap<String, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sorted {
    /// The first `n` rows are in strictly increasing key order and the maps are empty.
    Rows(usize),
    /// The maps hold every row.
    No,
}

impl Default for Sorted {
    fn default() -> Sorted {
        Sorted::Rows(0)
    }
}

impl KeyIndex {
    /// The index in `rows` of the buffered row with `row`'s key; `None` after noting
    /// that `row` will be pushed as `rows.len()`.
    pub(super) fn find_or_add(
        &mut self,
        rows: &[Vec<Value>],
        row: &[Value],
        key_slots: &[usize],
    ) -> Option<usize> {
        if let Sorted::Rows(n) = self.sorted {
            let greatest = n.checked_sub(1).map(|last| &rows[last]);
            if n == rows.len() && greatest.is_none_or(|g| ascending(g, row, key_slots)) {
                self.sorted = Sorted::Rows(n + 1);
                return None;
            }
            // Out of order (or rows dropped by a failure): index what is buffered,
            // every key once.
            self.sorted = Sorted::No;
            for (at, buffered) in rows.iter().enumerate() {
                self.find_or_add_hashed(&rows[..at], buffered, key_slots);
            }
        }
        self.find_or_add_hashed(rows, row, key_slots)
    }

    fn find_or_add_hashed(
        &mut self,
        rows: &[Vec<Value>],
        row: &[Value],
        key_slots: &[usize],
    ) -> Option<usize> {
        let mut hasher = HashWriter(FnvHasher::default());
        write_key(&mut hasher, row, key_slots);
        let next = rows.len();
        let first = *self.by_hash.entry(hasher.0.finish()).or_insert(next);
        if first == next {
            return None;
        }
        if same_key(&rows[first], row, key_slots) {
            return Some(first);
        }
        let text = key_text(row, key_slots);
        match self.collided.get(&text) {
            Some(&index) => Some(index),
            None => {
                self.collided.insert(text, next);
                None
            }
        }
    }

    pub(super) fn clear(&mut self) {
        self.sorted = Sorted::default();
        self.by_hash.clear();
        self.collided.clear();
    }
}

/// Whether `row`'s key comes strictly after `before`'s in an order where two keys are
/// equal exactly when their [`key_text`]s are: numbers by length then digits (so
/// 9 < 10, as integer keys run), texts by bytes, slot by slot. Any other value, or
/// two kinds in one slot, answers `false` (the index then looks keys up).
fn ascending(before: &[Value], row: &[Value], key_slots: &[usize]) -> bool {
    for &slot in key_slots {
        let order = match (&before[slot], &row[slot]) {
            (Value::Number(a), Value::Number(b)) => {
                let (a, b) = (a.as_str(), b.as_str());
                a.len().cmp(&b.len()).then_with(|| a.cmp(b))
            }
            (Value::Text(a), Value::Text(b)) => a.as_str().cmp(b.as_str()),
            _ => return false,
        };
        match order {
            Ordering::Less => return true,
            Ordering::Greater => return false,
            Ordering::Equal => {}
        }
    }
    false
}

/// Whether two rows' keys have the same [`key_text`]: the usual numbers and texts are
/// compared directly, any other value by its text.
fn same_key(a: &[Value], b: &[Value], key_slots: &[usize]) -> bool {
    key_slots.iter().all(|&slot| match (&a[slot], &b[slot]) {
        (Value::Number(x), Value::Number(y)) => x.as_str() == y.as_str(),
        (Value::Text(x), Value::Text(y)) => x == y,
        (x, y) => value_text(x) == value_text(y),
    })
}

/// Feeds written text to a hash.
struct HashWriter(FnvHasher);

impl fmt::Write for HashWriter {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        self.0.write(text.as_bytes());
        Ok(())
    }
}

/// The key of a row as text: an exact, kind-tagged form of each key value (never `Debug`
/// text; texts led by their length), so two keys are one exactly when their values are
/// equal, and NUMBER keys compare by their canonical decimal text.
pub(super) fn key_text(row: &[Value], key_slots: &[usize]) -> String {
    let mut key = String::with_capacity(32);
    write_key(&mut key, row, key_slots);
    key
}

fn value_text(value: &Value) -> String {
    let mut text = String::new();
    write_value(&mut text, value);
    text
}

fn write_key(out: &mut impl fmt::Write, row: &[Value], key_slots: &[usize]) {
    for &slot in key_slots {
        write_value(out, &row[slot]);
        let _ = out.write_char('\u{1f}');
    }
}

fn write_value(out: &mut impl fmt::Write, value: &Value) {
    // Both writers (a String, a hash) cannot fail.
    let _ = match value {
        Value::Null => out.write_str("0"),
        // The usual keys, without the formatting machinery (once per record).
        Value::Number(number) => out
            .write_char('n')
            .and_then(|()| out.write_str(number.as_str())),
        // Length first: a text may hold the separator itself.
        Value::Text(text) | Value::Json(text) => {
            let _ = out.write_char('t');
            write_decimal(out, text.len());
            out.write_char(':').and_then(|()| out.write_str(text))
        }
        Value::BinaryFloat(f) => write!(out, "f{:08x}", f.to_bits()),
        Value::BinaryDouble(f) => write!(out, "d{:016x}", f.to_bits()),
        Value::Bytes(bytes) => {
            let _ = out.write_char('b');
            bytes.iter().try_for_each(|b| write!(out, "{b:02x}"))
        }
        Value::Date(at) | Value::Timestamp(at) => {
            write!(out, "w{}", at.format("%Y-%m-%dT%H:%M:%S%.9f"))
        }
        // Oracle compares instants, whatever their offsets.
        Value::TimestampTz(at) => {
            write!(out, "i{}", at.naive_utc().format("%Y-%m-%dT%H:%M:%S%.9f"))
        }
        Value::IntervalYm { years, months } => write!(out, "y{years}:{months}"),
        Value::IntervalDs {
            days,
            hours,
            minutes,
            seconds,
            nanoseconds,
        } => write!(out, "s{days}:{hours}:{minutes}:{seconds}.{nanoseconds:09}"),
        Value::Boolean(b) => out.write_str(if *b { "T" } else { "F" }),
        Value::Vector(items) => {
            let _ = out.write_char('v');
            items
                .iter()
                .try_for_each(|x| write!(out, "{:016x},", x.to_bits()))
        }
    };
}

/// Writes `n` in decimal, without the formatting machinery (once per text key value).
fn write_decimal(out: &mut impl fmt::Write, n: usize) {
    if n >= 10 {
        write_decimal(out, n / 10);
    }
    let _ = out.write_char(char::from(b'0' + (n % 10) as u8));
}

#[cfg(test)]
mod tests {
    use super::{key_text, KeyIndex};
    use chrono::{DateTime, NaiveDate};
    use db_boundary::Value;
    use proptest::prelude::*;

    #[test]
    fn dedup_keys_are_equal_exactly_when_the_values_are() {
        let key = |v: Value| key_text(&[v], &[0]);
        let at = |text: &str| Value::TimestampTz(DateTime::parse_from_rfc3339(text).unwrap());
        assert_eq!(
            key(at("2024-01-01T10:00:00+02:00")),
            key(at("2024-01-01T08:00:00Z")),
            "one instant, two offsets"
        );
        let day = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_ne!(
            key(Value::Date(day.and_hms_opt(0, 0, 0).unwrap())),
            key(Value::Date(day.and_hms_opt(0, 0, 1).unwrap()))
        );
        assert_ne!(key(Value::Bytes(vec![1, 2])), key(Value::Bytes(vec![0x12])));
        assert_ne!(key(Value::number("1")), key(Value::Text("1".into())));
        assert_ne!(key(Value::Null), key(Value::Text(String::new())));
    }

    /// Two distinct composite keys are two rows, whatever bytes their texts hold (a text
    /// holding the separator once made ("a\u{1f}tb", "c") and ("a", "b\u{1f}tc") one
    /// key, and one of the two rows was dropped from the batch).
    #[test]
    fn composite_text_keys_never_run_into_each_other() {
        let text = |s: &str| Value::Text(s.into());
        let pairs = [
            (["a\u{1f}tb", "c"], ["a", "b\u{1f}tc"]),
            (["at", "b"], ["a", "tb"]),
            (["", "x"], ["x", ""]),
            (["1:a", "b"], ["1", "a:b"]),
        ];
        for (left, right) in pairs {
            let row = |parts: [&str; 2]| vec![text(parts[0]), text(parts[1])];
            assert_ne!(
                key_text(&row(left), &[0, 1]),
                key_text(&row(right), &[0, 1]),
                "{left:?} {right:?}"
            );
        }
        let row = vec![text("a"), text("b")];
        assert_eq!(key_text(&row, &[0, 1]), key_text(&row.clone(), &[0, 1]));
    }

    /// Feeds `rows` through an index as the loader does and returns the buffer.
    fn dedupe(index: &mut KeyIndex, rows: Vec<Vec<Value>>, key_slots: &[usize]) -> Vec<Vec<Value>> {
        let mut buffer: Vec<Vec<Value>> = Vec::new();
        for row in rows {
            match index.find_or_add(&buffer, &row, key_slots) {
                Some(at) => buffer[at] = row,
                None => buffer.push(row),
            }
        }
        buffer
    }

    /// Keys whose hashes are equal but whose texts differ stay two rows, and each is
    /// found again: forced here by an index whose hash map already holds every hash.
    #[test]
    fn a_hash_collision_keeps_both_keys_apart() {
        let row = |key: &str, value: &str| vec![Value::Text(key.into()), Value::Text(value.into())];
        let mut index = KeyIndex::default();
        let first = vec![row("a", "1")];
        let mut buffer = dedupe(&mut index, first, &[0]);
        // Make "b" collide with "a": point its hash at row 0 (which holds "a").
        let mut hasher = super::HashWriter(crate::fast_hash::FnvHasher::default());
        super::write_key(&mut hasher, &row("b", ""), &[0]);
        index
            .by_hash
            .insert(std::hash::Hasher::finish(&hasher.0), 0);
        for next in [row("b", "2"), row("a", "3"), row("b", "4")] {
            match index.find_or_add(&buffer, &next, &[0]) {
                Some(at) => buffer[at] = next,
                None => buffer.push(next),
            }
        }
        assert_eq!(buffer, vec![row("a", "3"), row("b", "4")]);
    }

    fn key_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            prop::sample::select(vec!["0", "1", "10", "-1", "0.5", "12345678901234567890"])
                .prop_map(Value::number),
            "[ab\u{1f}:t0-9]{0,4}".prop_map(Value::Text),
            "[ab\u{1f}:t]{0,3}".prop_map(Value::Json),
            prop::collection::vec(0u8..3, 0..3).prop_map(Value::Bytes),
            any::<bool>().prop_map(Value::Boolean),
        ]
    }

    /// What a map by key text (the reference) keeps of `keys`: one row per distinct key
    /// text, the last of each, in the order keys first came. Each row is its key and
    /// then its position, to tell which record of a key won.
    fn by_key_text(keys: Vec<Vec<Value>>) -> (Vec<Vec<Value>>, Vec<Vec<Value>>) {
        let rows: Vec<Vec<Value>> = keys
            .into_iter()
            .enumerate()
            .map(|(n, mut row)| {
                row.push(Value::number(&n.to_string()));
                row
            })
            .collect();
        let mut expected: Vec<Vec<Value>> = Vec::new();
        let mut by_text = std::collections::HashMap::new();
        for row in &rows {
            let text = key_text(row, &[0, 1]);
            match by_text.get(&text) {
                Some(&at) => expected[at] = row.clone(),
                None => {
                    by_text.insert(text, expected.len());
                    expected.push(row.clone());
                }
            }
        }
        (rows, expected)
    }

    proptest! {
        #[test]
        fn the_index_keeps_the_last_row_of_each_key_text(
            keys in prop::collection::vec(prop::collection::vec(key_value(), 2), 0..40)
        ) {
            let (rows, expected) = by_key_text(keys);
            prop_assert_eq!(dedupe(&mut KeyIndex::default(), rows, &[0, 1]), expected);
        }

        /// Keys mostly in order (as taps write them), with repeats, steps back and
        /// mixed kinds now and then: the index leaves its sorted mode at the right row.
        #[test]
        fn mostly_ascending_keys_are_deduplicated_as_any_others(
            steps in prop::collection::vec((-3i64..6, "[ab]{0,2}", 0u8..20), 0..60),
            start in -20i64..5,
        ) {
            let mut number = start;
            let keys: Vec<Vec<Value>> = steps
                .into_iter()
                .map(|(step, text, odd)| {
                    number += step;
                    let first = match odd {
                        0 => Value::Text(number.to_string()),
                        1 => Value::Null,
                        _ => Value::number(&number.to_string()),
                    };
                    vec![first, Value::Text(text)]
                })
                .collect();
            let (rows, expected) = by_key_text(keys);
            prop_assert_eq!(dedupe(&mut KeyIndex::default(), rows, &[0, 1]), expected);
        }
    }

    /// A batch cut short by a failure (rows dropped, index cleared) and then added to
    /// still finds the rows it kept.
    #[test]
    fn rows_kept_after_a_clear_are_found_again() {
        let row = |key: i64, value: &str| {
            vec![Value::number(&key.to_string()), Value::Text(value.into())]
        };
        let mut index = KeyIndex::default();
        let mut buffer = dedupe(
            &mut index,
            vec![row(1, "a"), row(2, "b"), row(3, "c")],
            &[0],
        );
        buffer.truncate(2);
        index.clear();
        for next in [row(4, "d"), row(1, "e")] {
            match index.find_or_add(&buffer, &next, &[0]) {
                Some(at) => buffer[at] = next,
                None => buffer.push(next),
            }
        }
        assert_eq!(buffer, vec![row(1, "e"), row(2, "b"), row(4, "d")]);
    }
}
