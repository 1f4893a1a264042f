//! A RECORD's top-level fields, split, classified and checked as JSON in one pass.
//!
//! A target validates and converts every field of every record, so each record is read
//! once, here: keys and values are borrowed from the line (strings are unescaped only
//! when they contain a backslash), and each value is classified as it is passed over
//! ([`Field`]). The splitter is strict: it accepts exactly what `serde_json` accepts
//! (`tests::agrees_with_serde_json`), so the reader can use it instead of a second parse.
//! Nested objects and arrays are rare in Singer records; their text is handed to
//! `serde_json` to check.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::canonical::digit_run;

/// One top-level value of a record, borrowed from its text where possible.
#[derive(Debug, Clone, PartialEq)]
pub enum Field<'a> {
    Null,
    Bool(bool),
    /// The number's JSON text, exactly as written (every digit kept).
    Number(&'a str),
    String(Cow<'a, str>),
    /// An object or array, as its JSON text.
    Structured(&'a str),
}

impl Field<'_> {
    /// The JSON type name, for messages.
    pub fn json_type(&self) -> &'static str {
        match self {
            Field::Null => "null",
            Field::Bool(_) => "boolean",
            Field::Number(_) => "number",
            Field::String(_) => "string",
            Field::Structured(text) if text.starts_with('[') => "array",
            Field::Structured(_) => "object",
        }
    }

    /// The field as JSON text (for JSON columns).
    pub fn json_text(&self) -> Cow<'_, str> {
        match self {
            Field::Null => Cow::Borrowed("null"),
            Field::Bool(true) => Cow::Borrowed("true"),
            Field::Bool(false) => Cow::Borrowed("false"),
            Field::Number(text) | Field::Structured(text) => Cow::Borrowed(text),
            Field::String(s) => Cow::Owned(serde_json::to_string(s.as_ref()).unwrap_or_default()),
        }
    }

    /// The field as plain text: a string's contents, any other value's JSON text.
    pub fn plain_text(&self) -> Cow<'_, str> {
        match self {
            Field::String(s) => Cow::Borrowed(s.as_ref()),
            other => other.json_text(),
        }
    }
}

/// A record's fields in the order written: (property name, value).
pub type Fields<'a> = Vec<(Cow<'a, str>, Field<'a>)>;

/// `fields` emptied, its memory kept for another record's fields (which borrow another
/// line): a vector of the same element layout is rebuilt in place, without allocating.
pub fn emptied(mut fields: Fields<'_>) -> Fields<'static> {
    fields.clear();
    fields
        .into_iter()
        .map(|_| unreachable!("emptied"))
        .collect()
}

/// `bytes` as text, when they are UTF-8. Every input line is checked with it (SIMD:
/// about half the instructions of `std::str::from_utf8` on a record).
pub fn utf8(bytes: &[u8]) -> Option<&str> {
    simdutf8::basic::from_utf8(bytes).ok()
}

/// Why a text is not a JSON object: the byte offset where reading stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the record is not a valid JSON object (at byte {0})")]
pub struct NotAnObject(pub usize);

/// Splits the text of a JSON object (nothing but blanks around it) into its fields.
pub fn split_record(text: &str) -> Result<Fields<'_>, NotAnObject> {
    split_knowing(text, &mut KnownKeys::default())
}

/// Record objects split one after another, each read by comparison with the last
/// (the records of a BATCH file, which have no envelope): like the reader's records,
/// they come with their [`shape`](crate::message::RecordMessage::shape).
#[derive(Debug, Default)]
pub struct RecordSplitter {
    known: KnownKeys,
}

impl RecordSplitter {
    /// [`split_record`] of `text`, with the shape of its keys.
    pub fn split<'t>(&mut self, text: &'t str) -> Result<(Fields<'t>, u64), NotAnObject> {
        let fields = split_knowing(text, &mut self.known)?;
        Ok((fields, self.known.shape))
    }

    /// Hands back a record's fields vector ([`emptied`]) for the next record to fill.
    pub fn recycle(&mut self, fields: Fields<'static>) {
        self.known.recycle(fields);
    }
}

/// [`split_record`], comparing keys with `known`'s first.
fn split_knowing<'t>(text: &'t str, known: &mut KnownKeys) -> Result<Fields<'t>, NotAnObject> {
    let mut cursor = Cursor::new(text);
    cursor.blanks();
    let fields = cursor.object(known).map_err(NotAnObject)?;
    cursor.blanks();
    if cursor.pos != text.len() {
        return Err(NotAnObject(cursor.pos));
    }
    Ok(fields)
}

/// The last object read, to read the next one by comparison: a tap writes every record
/// of a stream with the same fields in the same order and the same spacing, so the
/// bytes between one value and the next (`,"CUSTOMER_ID":`) are usually the last
/// record's, and comparing them whole is cheaper than reading them. Equal bytes read
/// the same way; anything else makes the object read the usual way, and learned.
/// Only keys written without escapes are kept (a key that needed unescaping makes the
/// next object read the usual way too).
#[derive(Debug, Default)]
pub(crate) struct KnownKeys {
    /// The gaps one after the other: before each value, from the end of the value
    /// before it (or the object's start) to its start, then from the last value to
    /// past the closing brace.
    gaps: String,
    /// Each field's gap: where it ends in `gaps` and where its key lies there; empty
    /// when the last object was not learned.
    fields: Vec<Gap>,
    /// Where each field's gap and key start and its value starts in the object being
    /// read the usual way (kept for its memory).
    marks: Vec<Mark>,
    /// Which key sequence these are: a new number each time they change, unique in
    /// the process ([`new_shape`]), so two records read with the same number, by this
    /// reader or another, have the same keys in the same order.
    pub(crate) shape: u64,
    /// An emptied fields vector handed back by the reader's caller ([`emptied`]), which
    /// the next object fills instead of allocating one.
    pub(crate) spare: Fields<'static>,
}

/// A shape number no reader has used: a target reads one stream's records both from
/// RECORD lines and from BATCH files, each reader learning shapes of its own, and a
/// number two readers shared could map one's keys by the other's positions.
fn new_shape() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    LAST.fetch_add(1, Ordering::Relaxed) + 1
}

impl KnownKeys {
    /// Keeps an emptied fields vector ([`emptied`]) for the next object to fill, if it
    /// is larger than the one kept.
    pub(crate) fn recycle(&mut self, fields: Fields<'static>) {
        if fields.capacity() > self.spare.capacity() {
            self.spare = fields;
        }
    }
}

/// A learned field: its gap is `start..end` in [`KnownKeys::gaps`], and its key lies
/// at `key` within the gap.
#[derive(Debug, Clone, Copy)]
struct Gap {
    start: usize,
    end: usize,
    key: (usize, usize),
}

/// A field's positions in the line while an object is read the usual way: its gap's
/// start, its key's (without quotes), its value's start.
#[derive(Debug, Clone, Copy)]
struct Mark {
    gap: usize,
    key: (usize, usize),
    value: usize,
}

impl KnownKeys {
    fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the last object was learned (its gaps hold at least its closing brace).
    fn learned(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// The `index`-th key of the last object.
    fn get(&self, index: usize) -> Option<&str> {
        let gap = self.fields.get(index)?;
        self.gaps.get(gap.start + gap.key.0..gap.start + gap.key.1)
    }

    /// The bytes after the last value, to the closing brace.
    fn closing(&self) -> &[u8] {
        let start = self.fields.last().map_or(0, |gap| gap.end);
        &self.gaps.as_bytes()[start..]
    }

    /// Learns the object of `text` just read the usual way: its fields' positions in
    /// [`KnownKeys::marks`], then `closing`. A new shape when its keys are not the last
    /// object's.
    fn learn(&mut self, text: &str, fields: &Fields<'_>, closing: Range<usize>, same_keys: bool) {
        if !same_keys {
            self.shape = new_shape();
        }
        self.gaps.clear();
        self.fields.clear();
        if fields.iter().any(|(key, _)| matches!(key, Cow::Owned(_))) {
            return;
        }
        for mark in &self.marks {
            let start = self.gaps.len();
            self.gaps.push_str(&text[mark.gap..mark.value]);
            self.fields.push(Gap {
                start,
                end: self.gaps.len(),
                key: (mark.key.0 - mark.gap, mark.key.1 - mark.gap),
            });
        }
        self.gaps.push_str(&text[closing]);
    }
}

/// Whether two property names are equal, without a `memcmp` call for names of up to 32
/// bytes (most are): every key of every record is compared with the last record's, and
/// a target matches each field to its column and its rule by name; the library call
/// cost more than the comparison.
#[inline(always)]
pub fn same_name(a: &str, b: &str) -> bool {
    same_bytes(a.as_bytes(), b.as_bytes())
}

/// [`same_name`] on bytes.
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // Two overlapping words cover any length from one word to two.
    fn words<const N: usize>(s: &[u8]) -> Option<(&[u8; N], &[u8; N])> {
        Some((s.first_chunk::<N>()?, s.last_chunk::<N>()?))
    }
    match a.len() {
        16..=32 => words::<16>(a) == words::<16>(b),
        8..=15 => words::<8>(a) == words::<8>(b),
        4..=7 => words::<4>(a) == words::<4>(b),
        // The first, middle and last bytes are all of them.
        1..=3 => {
            a[0] == b[0] && a[a.len() / 2] == b[a.len() / 2] && a[a.len() - 1] == b[a.len() - 1]
        }
        _ => a == b,
    }
}

/// A strict reader of JSON text; errors are the byte offset where it stopped.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    pub(crate) pos: usize,
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// How many of the 8 bytes in `chunk` (little-endian) come before the first that ends
/// or escapes a string's plain run: a quote, a backslash or a control character (which
/// JSON forbids raw); 8 when none does. The reader skips strings with it and the writer
/// finds what to escape.
///
/// Each test sets the high bit of the bytes it matches; a borrow can also mark bytes
/// above a match, never below it, so the lowest mark is exact.
pub(crate) fn plain_run(chunk: u64) -> usize {
    (stops(chunk).trailing_zeros() / 8) as usize
}

/// The high bit of each byte of `chunk` that [`plain_run`] stops at (and perhaps of
/// bytes above the first): zero when all eight are plain.
#[inline(always)]
fn stops(chunk: u64) -> u64 {
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    let quote = zero_byte(chunk ^ (ONES * u64::from(b'"')));
    let backslash = zero_byte(chunk ^ (ONES * u64::from(b'\\')));
    let control = chunk.wrapping_sub(ONES * 0x20) & !chunk & HIGH;
    quote | backslash | control
}

/// The contents of a JSON string with escapes (between its quotes, raw control
/// characters already refused), unescaped; `None` where JSON refuses an escape: an
/// unknown one, `\u` without four hex digits, or a surrogate not in a pair.
// Out of line: most strings have no escape, and [`Cursor::string`] stays small.
#[cold]
#[inline(never)]
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('\\') {
        out.push_str(&rest[..at]);
        let escape = *rest.as_bytes().get(at + 1).filter(|b| b.is_ascii())?;
        rest = &rest[at + 2..];
        let plain = match escape {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let (unit, after) = hex4(rest)?;
                rest = after;
                match unit {
                    0xD800..=0xDBFF => {
                        let (low, after) = rest.strip_prefix("\\u").and_then(hex4)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        rest = after;
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    _ => char::from_u32(unit)?,
                }
            }
            _ => return None,
        };
        out.push(plain);
    }
    out.push_str(rest);
    Some(out)
}

/// The four hex digits of a `\u` escape at the start of `text`, and the text after them.
fn hex4(text: &str) -> Option<(u32, &str)> {
    let digits = text.get(..4)?;
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None; // from_str_radix would also take a sign
    }
    Some((u32::from_str_radix(digits, 16).ok()?, &text[4..]))
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, pos: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    pub(crate) fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Consumes `byte` after blanks.
    pub(crate) fn expect(&mut self, byte: u8) -> Result<(), usize> {
        self.blanks();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.pos)
        }
    }

    /// The object at the cursor, split into fields: read as the last object was
    /// (`known`) while its bytes between values are the same, else the usual way, and
    /// then learned.
    pub(crate) fn object(&mut self, known: &mut KnownKeys) -> Result<Fields<'a>, usize> {
        let mut fields: Fields<'a> = std::mem::take(&mut known.spare);
        fields.reserve(known.len().max(4));
        if known.learned() {
            let entry = self.pos;
            if self.object_as_known(known, &mut fields)? {
                return Ok(fields);
            }
            fields.clear();
            self.pos = entry;
        }
        let mut marks = std::mem::take(&mut known.marks);
        marks.clear();
        let read = self.object_marked(known, &mut fields, &mut marks);
        known.marks = marks;
        let (closing, same_keys) = read?;
        known.learn(self.text, &fields, closing, same_keys);
        Ok(fields)
    }

    /// Reads the object at the cursor into `fields` while its bytes between values
    /// are the last object's; false where they differ. A value's error is the error
    /// the usual reading meets there too.
    #[inline(always)]
    fn object_as_known(
        &mut self,
        known: &KnownKeys,
        fields: &mut Fields<'a>,
    ) -> Result<bool, usize> {
        for gap in &known.fields {
            let at = self.pos;
            if !self.skip_exact(&known.gaps.as_bytes()[gap.start..gap.end]) {
                return Ok(false);
            }
            let key = &self.text[at + gap.key.0..at + gap.key.1];
            // A gap learned without blanks before its value may meet some.
            self.blanks();
            let value = self.value()?;
            fields.push((Cow::Borrowed(key), value));
        }
        Ok(self.skip_exact(known.closing()))
    }

    /// Reads the object at the cursor the usual way into `fields`, each field's
    /// positions into `marks`. Keys are first compared with the last object's. Answers
    /// where the closing part (after the last value) lies, and whether the keys were
    /// the last object's.
    fn object_marked(
        &mut self,
        known: &KnownKeys,
        fields: &mut Fields<'a>,
        marks: &mut Vec<Mark>,
    ) -> Result<(Range<usize>, bool), usize> {
        let entry = self.pos;
        self.expect(b'{')?;
        self.blanks();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok((entry..self.pos, known.learned() && known.len() == 0));
        }
        let mut gap = entry;
        let mut as_known = known.learned();
        loop {
            self.blanks();
            let key_at = self.pos;
            let key = match self.known_key(known.get(fields.len())) {
                Some(key) => Cow::Borrowed(key),
                None => {
                    as_known = false;
                    self.string()?
                }
            };
            let key_end = self.pos;
            self.expect(b':')?;
            self.blanks();
            marks.push(Mark {
                gap,
                key: (key_at + 1, key_end - 1),
                value: self.pos,
            });
            let value = self.value()?;
            fields.push((key, value));
            gap = self.pos;
            self.blanks();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok((gap..self.pos, as_known && fields.len() == known.len()));
                }
                _ => return Err(self.pos),
            }
        }
    }

    /// Moves past `bytes` when the text at the cursor is exactly them.
    #[inline(always)]
    pub(crate) fn skip_exact(&mut self, bytes: &[u8]) -> bool {
        let end = self.pos + bytes.len();
        let found = self
            .text
            .as_bytes()
            .get(self.pos..end)
            .is_some_and(|here| same_bytes(here, bytes));
        if found {
            self.pos = end;
        }
        found
    }

    /// Moves past `quoted` (a string written with its quotes and no escapes) when the
    /// text at the cursor is exactly it; bytes equal to it are that string.
    pub(crate) fn quoted(&mut self, quoted: &str) -> bool {
        self.skip_exact(quoted.as_bytes())
    }

    /// The string at the cursor when it is exactly `"key"`, moving past it. A known key
    /// holds no quote, backslash or control character, so bytes equal to it between
    /// two quotes are that string, read as [`Cursor::string`] would read it.
    fn known_key(&mut self, key: Option<&str>) -> Option<&'a str> {
        let key = key?;
        let start = self.pos + 1;
        let end = start + key.len();
        let bytes = self.text.as_bytes();
        if bytes.get(self.pos) == Some(&b'"') && bytes.get(end) == Some(&b'"') {
            let found = self
                .text
                .get(start..end)
                .filter(|text| same_name(text, key))?;
            self.pos = end + 1;
            Some(found)
        } else {
            None
        }
    }

    /// The string at the cursor, unescaped only when it has escapes.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<Cow<'a, str>, usize> {
        let start = self.pos;
        if self.skip_string()? {
            unescape(&self.text[start + 1..self.pos - 1])
                .map(Cow::Owned)
                .ok_or(start)
        } else {
            // Inside the quotes (one slice: each checks its ends).
            Ok(Cow::Borrowed(&self.text[start + 1..self.pos - 1]))
        }
    }

    /// Moves past the string at the cursor; whether it has escapes. Raw control
    /// characters are refused; escapes are only skipped here (see [`Cursor::string`]).
    fn skip_string(&mut self) -> Result<bool, usize> {
        let start = self.pos;
        if self.peek() != Some(b'"') {
            return Err(start);
        }
        let bytes = self.text.as_bytes();
        let mut at = start + 1;
        let mut escaped = false;
        loop {
            // Eight bytes at a time past the plain run (most of a record's bytes),
            // straight to the byte that needs a look.
            while let Some(chunk) = bytes.get(at..at + 8).and_then(|c| c.try_into().ok()) {
                let stops = stops(u64::from_le_bytes(chunk));
                if stops != 0 {
                    at += (stops.trailing_zeros() / 8) as usize;
                    break;
                }
                at += 8;
            }
            match bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(escaped);
                }
                Some(b'\\') => {
                    escaped = true;
                    // The escaped byte is skipped whole (a quote or backslash too);
                    // `\u` escapes' hex digits are plain bytes.
                    at += 2;
                }
                Some(0..=0x1f) | None => return Err(start),
                Some(_) => at += 1,
            }
        }
    }

    /// The value at the cursor, classified. Inlined into [`Cursor::object`]: returned
    /// through memory, the field was read back at once to be pushed, and stalled.
    #[inline(always)]
    pub(crate) fn value(&mut self) -> Result<Field<'a>, usize> {
        let start = self.pos;
        match self.peek() {
            Some(b'"') => self.string().map(Field::String),
            Some(b'n') => self.literal("null", Field::Null),
            Some(b't') => self.literal("true", Field::Bool(true)),
            Some(b'f') => self.literal("false", Field::Bool(false)),
            Some(b'{' | b'[') => {
                self.skip_structured()?;
                let text = &self.text[start..self.pos];
                serde_json::from_str::<serde::de::IgnoredAny>(text).map_err(|_| start)?;
                Ok(Field::Structured(text))
            }
            Some(b'-' | b'0'..=b'9') => self.number().map(Field::Number),
            _ => Err(start),
        }
    }

    fn literal(&mut self, word: &str, field: Field<'a>) -> Result<Field<'a>, usize> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(field)
        } else {
            Err(self.pos)
        }
    }

    /// A JSON number: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    #[inline(always)]
    pub(crate) fn number(&mut self) -> Result<&'a str, usize> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        // A word at a time where the line has one (a number is followed by more of
        // the record), then byte by byte.
        let digits_from = |mut at: usize| {
            while let Some(word) = bytes.get(at..).and_then(|rest| rest.first_chunk::<8>()) {
                let run = digit_run(u64::from_le_bytes(*word));
                at += run;
                if run < 8 {
                    return at;
                }
            }
            while bytes.get(at).is_some_and(u8::is_ascii_digit) {
                at += 1;
            }
            at
        };
        let mut at = start;
        if bytes.get(at) == Some(&b'-') {
            at += 1;
        }
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at = digits_from(at),
            _ => return Err(start),
        }
        if bytes.get(at) == Some(&b'.') {
            let end = digits_from(at + 1);
            if end == at + 1 {
                return Err(start);
            }
            at = end;
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            at += 1;
            if matches!(bytes.get(at), Some(b'+' | b'-')) {
                at += 1;
            }
            let end = digits_from(at);
            if end == at {
                return Err(start);
            }
            at = end;
        }
        self.pos = at;
        Ok(&self.text[start..at])
    }

    /// Moves past the object or array at the cursor (strings inside may hold brackets);
    /// only its extent is found here.
    fn skip_structured(&mut self) -> Result<(), usize> {
        let start = self.pos;
        let mut depth = 0usize;
        while let Some(byte) = self.peek() {
            match byte {
                b'"' => {
                    self.skip_string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth = depth.checked_sub(1).ok_or(start)?;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(start)
    }
}

#[cfg(test)]
mod tests {
    /// The SIMD check accepts and refuses exactly what the standard library does.
    #[test]
    fn utf8_agrees_with_the_standard_check() {
        let long_ascii = "a".repeat(200);
        let mut cut = "é".repeat(100).into_bytes();
        cut.pop();
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            long_ascii.into_bytes(),
            "caf\u{e9} \u{1F600} \u{4E2D}".repeat(20).into_bytes(),
            cut,
            vec![b'a'; 63].into_iter().chain([0xC0, 0xAF]).collect(), // overlong
            vec![0xED, 0xA0, 0x80],                                   // a surrogate
            vec![0xF4, 0x90, 0x80, 0x80],                             // past U+10FFFF
            vec![0xFF],
            b"{\"a\":\"x\"}\n".to_vec(),
        ];
        for bytes in cases {
            assert_eq!(utf8(&bytes), std::str::from_utf8(&bytes).ok(), "{bytes:?}");
        }
    }

    /// The reader refills one fields vector record after record: emptying keeps its memory.
    #[test]
    fn emptied_fields_keep_their_memory() {
        let line = String::from(r#"{"a":1,"b":"x","c":null,"d":true,"e":2}"#);
        let fields = split_record(&line).unwrap();
        let capacity = fields.capacity();
        let spare = emptied(fields);
        drop(line);
        assert!(spare.is_empty());
        assert_eq!(spare.capacity(), capacity);
    }

    #[test]
    fn names_are_equal_exactly_when_their_bytes_are() {
        let names = [
            "",
            "A",
            "AB",
            "ABC",
            "ABCD",
            "ABCE",
            "ABCDEFG",
            "ABCDEFH",
            "ORDER_ID",
            "ORDER_IE",
            "XRDER_ID",
            "CUSTOMER_NAME",
            "CUSTOMER_NAMF",
            "DUSTOMER_NAME",
            "CUSTOMXR_NAME",
            "SIXTEEN_BYTES_AB",
            "SIXTEEN_BYTES_AC",
            "SIXTEEN_BYTEX_AB",
            "SEVENTEEN_BYTES_A",
            "SEVENTEEN_BYTES_B",
            "SEVENTEEN_XYTES_A",
            "é",
            "e\u{301}",
            "ÉTAT",
            "ÉTAU",
        ];
        for a in names {
            for b in names {
                assert_eq!(same_name(a, b), a == b, "{a:?} {b:?}");
            }
        }
        // Every single-byte change of a name of up to 40 bytes, at every position
        // (each length class of the comparison and past the last).
        for len in 1..=40 {
            let base: String = ('a'..='z').cycle().take(len).collect();
            for at in 0..len {
                let mut changed = base.clone().into_bytes();
                changed[at] = b'_';
                let changed = String::from_utf8(changed).unwrap();
                assert!(!same_name(&base, &changed), "{base} {changed}");
                assert!(same_name(&base, &base.clone()));
            }
        }
    }

    use super::*;
    use proptest::prelude::*;

    fn split(text: &str) -> Vec<(String, Field<'_>)> {
        split_record(text)
            .unwrap()
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v))
            .collect()
    }

    #[test]
    fn every_kind_of_value_is_classified() {
        let fields = split(
            r#" { "a": 1.50e3, "b" : "x\"y", "c":null,"d":true, "e":false,
                 "f": {"g": [1, "]}"]}, "h": [], "i": "plain text, longer than eight", "j": -0 } "#,
        );
        let expected = vec![
            ("a".to_owned(), Field::Number("1.50e3")),
            ("b".to_owned(), Field::String(Cow::Owned("x\"y".into()))),
            ("c".to_owned(), Field::Null),
            ("d".to_owned(), Field::Bool(true)),
            ("e".to_owned(), Field::Bool(false)),
            ("f".to_owned(), Field::Structured(r#"{"g": [1, "]}"]}"#)),
            ("h".to_owned(), Field::Structured("[]")),
            (
                "i".to_owned(),
                Field::String(Cow::Borrowed("plain text, longer than eight")),
            ),
            ("j".to_owned(), Field::Number("-0")),
        ];
        assert_eq!(fields, expected);
    }

    #[test]
    fn escapes_are_unescaped_wherever_they_fall() {
        let fields = split(r#"{"a\"b": "c\\", "\u00e9": "\\\"", "long": "0123456789abcdef\n"}"#);
        assert_eq!(fields[0].0, "a\"b");
        assert_eq!(fields[0].1, Field::String(Cow::Owned("c\\".into())));
        assert_eq!(fields[1].0, "é");
        assert_eq!(fields[1].1, Field::String(Cow::Owned("\\\"".into())));
        assert_eq!(
            fields[2].1,
            Field::String(Cow::Owned("0123456789abcdef\n".into()))
        );
        assert_eq!(split("{}"), vec![]);
    }

    #[test]
    fn what_serde_json_refuses_is_refused() {
        for text in [
            "",
            "[]",
            "{",
            r#"{"a"}"#,
            r#"{"a":}"#,
            r#"{"a":1,}"#,
            r#"{"a":"x"#,
            r#"{"a":"x\"#,
            r#"{"a":nul}"#,
            r#"{"a":1} x"#,
            r#"{"a":[1}"#,
            r#"{"a":1 "b":2}"#,
            r#"{"a":01}"#,
            r#"{"a":1.}"#,
            r#"{"a":1e}"#,
            r#"{"a":+1}"#,
            r#"{"a":.5}"#,
            "{\"a\":\"tab\there\"}",
            r#"{"a":"\x"}"#,
            r#"{"a":"\ud800"}"#,
            r#"{"a":{"b":}}"#,
            r#"{"a":[1,]}"#,
        ] {
            assert!(split_record(text).is_err(), "{text:?} was accepted");
            assert!(
                serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_err(),
                "{text:?} is a JSON object: the list is wrong"
            );
        }
    }

    fn value_text() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("null".to_owned()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
            proptest::collection::vec(any::<String>(), 0..3)
                .prop_map(|v| serde_json::to_string(&v).unwrap()),
            any::<String>()
                .prop_map(|s| format!("{{\"k\": {}}}", serde_json::to_string(&s).unwrap())),
            // Near misses: JSON-ish text that may or may not be valid.
            "[-+0-9.eE]{1,6}",
            "\"[a-z\\\\\"\t]{0,10}\"",
            "[\\[\\]{}\",:0-9a-z ]{1,8}",
        ]
    }

    fn record_text() -> impl Strategy<Value = String> {
        proptest::collection::vec(("[a-zé\\\\\"]{0,6}", value_text(), " {0,2}"), 0..8).prop_map(
            |pairs| {
                let body: Vec<String> = pairs
                    .into_iter()
                    .map(|(k, v, blank)| format!("\"{k}\"{blank}:{blank}{v}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Objects read one after another, mostly with the same keys and spacing (a
        /// tap's records): each splits as it does alone, and two read with the same
        /// shape have the same keys in the same order.
        #[test]
        fn a_run_of_like_objects_reads_as_each_alone(
            keys in proptest::collection::vec("[a-zé\\\\\"]{0,4}", 0..5),
            records in proptest::collection::vec(
                (
                    proptest::collection::vec(value_text(), 5),
                    prop::sample::select(vec!["", "", "", " ", "\n "]),
                    0usize..7,
                ),
                1..12,
            ),
        ) {
            let mut known = KnownKeys::default();
            let mut last: Option<(u64, Vec<String>)> = None;
            for (values, blank, keep) in records {
                let body: Vec<String> = keys
                    .iter()
                    .zip(&values)
                    .take(keep)
                    .map(|(key, value)| format!("{blank}\"{key}\"{blank}:{blank}{value}"))
                    .collect();
                let text = format!("{{{}{blank}}}", body.join(","));
                let read = split_knowing(&text, &mut known);
                prop_assert_eq!(&read, &split_record(&text), "{}", text);
                if let Ok(fields) = read {
                    let names: Vec<String> = fields.iter().map(|(k, _)| k.to_string()).collect();
                    if let Some((shape, before)) = &last {
                        if *shape == known.shape {
                            prop_assert_eq!(before, &names, "{}", text);
                        }
                    }
                    last = Some((known.shape, names));
                }
            }
        }
    }

    proptest! {
        /// The word scan stops exactly where a byte-by-byte scan would, whatever the
        /// bytes around the first stop (borrows from control bytes, 0x80 and up).
        #[test]
        fn the_word_scan_stops_at_the_first_byte_that_needs_a_look(
            bytes in proptest::array::uniform8(prop_oneof![
                Just(b'"'), Just(b'\\'), 0u8..0x20, 0x20u8..=0xff, Just(0x7f), Just(0x80)
            ])
        ) {
            let expected = bytes
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .unwrap_or(8);
            prop_assert_eq!(plain_run(u64::from_le_bytes(bytes)), expected);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        /// A string with escapes reads as serde_json reads it, and is refused where it
        /// refuses it: every escape, `\u` of every kind (pairs, lone and reversed
        /// surrogates, short or non-hex digits) among plain and non-ASCII text.
        #[test]
        fn escapes_read_as_serde_json_reads_them(
            parts in proptest::collection::vec(prop_oneof![
                "[a-zé€😀 ]{0,5}",
                "\\\\[\"\\\\/bfnrtxu0é€]",
                "\\\\u[0-9a-fA-F]{4}",
                "\\\\u[dD][89abAB][0-9a-f]{2}",
                "\\\\u[dD][c-fC-F][0-9a-f]{2}",
                "\\\\u[0-9a-g+-]{0,4}",
            ], 0..8)
        ) {
            let text = format!("\"\\n{}\"", parts.concat());
            let ours = Cursor::new(&text).string().map(Cow::into_owned).ok();
            let by_serde = serde_json::from_str::<String>(&text).ok();
            prop_assert_eq!(ours, by_serde, "{}", text);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]
        /// Accepts exactly what serde_json accepts as an object, and splits it into the
        /// same keys and values.
        #[test]
        fn agrees_with_serde_json(record in record_text(), before in record_text()) {
            // Known keys change nothing: read after another object, and after itself.
            let mut known = KnownKeys::default();
            let _ = split_knowing(&before, &mut known);
            let after_another = split_knowing(&record, &mut known);
            let after_itself = split_knowing(&record, &mut known);
            prop_assert_eq!(&after_another, &split_record(&record));
            prop_assert_eq!(&after_itself, &split_record(&record));
            let by_serde: Result<Vec<(String, serde_json::Value)>, _> =
                serde_json::from_str::<&serde_json::value::RawValue>(&record).and_then(|raw| {
                    let pairs: serde_json::Map<String, serde_json::Value> =
                        serde_json::from_str(raw.get())?;
                    Ok(pairs.into_iter().collect())
                });
            let ours = split_record(&record);
            prop_assert_eq!(ours.is_ok(), by_serde.is_ok(), "{}: {:?}", record, ours);
            if let (Ok(fields), Ok(pairs)) = (ours, by_serde) {
                // serde's map keeps the last of duplicate keys; compare on unique keys.
                let unique: std::collections::HashSet<_> = fields.iter().map(|(k, _)| k).collect();
                if unique.len() == fields.len() {
                    prop_assert_eq!(fields.len(), pairs.len());
                    for ((key, field), (name, value)) in fields.iter().zip(&pairs) {
                        prop_assert_eq!(key.as_ref(), name.as_str());
                        let reparsed = match field {
                            Field::Null => serde_json::Value::Null,
                            Field::Bool(b) => serde_json::Value::Bool(*b),
                            Field::Number(text) | Field::Structured(text) => {
                                serde_json::from_str(text).unwrap()
                            }
                            Field::String(s) => serde_json::Value::String(s.to_string()),
                        };
                        prop_assert_eq!(&reparsed, value);
                    }
                }
            }
        }
    }
}
