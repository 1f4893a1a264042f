//! Reads Singer messages from a byte stream, one JSON object per line.
//!
//! Buffered, one reused line buffer, lines of any length. Errors name the 1-based line
//! number, the stream when known, and the reason. Lenient where the spec is: message
//! types in any case, blank lines skipped, an unknown type warned about once and
//! skipped, extra fields ignored.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::{self, BufRead};

use serde::Deserialize;
use serde_json::value::RawValue;
use thiserror::Error;

use crate::message::{BatchMessage, Message, MessageType, RecordMessage, SchemaMessage};
use crate::record::{split_record, Cursor, Field, Fields, KnownKeys};

/// Why a line could not be read as a Singer message.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ReadErrorKind {
    #[error("reading input failed: {0}")]
    Io(#[from] io::Error),
    #[error("the line is not valid UTF-8")]
    NotUtf8,
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("the message has no \"type\"")]
    MissingType,
    #[error("{message_type} has no \"{field}\"")]
    MissingField {
        message_type: MessageType,
        field: &'static str,
    },
    #[error("RECORD arrived before any SCHEMA for its stream")]
    RecordBeforeSchema,
    #[error("\"record\" must be a JSON object")]
    RecordNotObject,
    #[error("SCHEMA's \"schema\" must be an object with a \"properties\" object")]
    SchemaWithoutProperties,
}

/// A line that could not be read, with where it was.
#[derive(Debug, Error)]
#[error("line {line}{}: {kind}", stream.as_ref().map(|s| format!(", stream \"{s}\"")).unwrap_or_default())]
pub struct ReadError {
    /// 1-based line number.
    pub line: u64,
    pub stream: Option<String>,
    #[source]
    pub kind: ReadErrorKind,
}

/// One message and the line it came from.
#[derive(Debug)]
pub struct Line<'a> {
    pub number: u64,
    pub message: Message<'a>,
}

/// Every field any message type uses; serde skips the rest without allocating.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow, default)]
    message_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    record: Option<&'a RawValue>,
    #[serde(default)]
    version: Option<i64>,
    #[serde(borrow, default)]
    time_extracted: Option<Cow<'a, str>>,
    #[serde(default)]
    schema: Option<serde_json::Value>,
    #[serde(default)]
    key_properties: Option<Vec<String>>,
    #[serde(default)]
    bookmark_properties: Option<Vec<String>>,
    /// `Some("null")` for `"value": null`, `None` when absent.
    #[serde(borrow, default, deserialize_with = "raw_keeping_null")]
    value: Option<&'a RawValue>,
    #[serde(default)]
    encoding: Option<serde_json::Value>,
    #[serde(default)]
    manifest: Option<Vec<String>>,
}

/// A raw value that stays `Some` when it is JSON `null` (an `Option` alone reads
/// `null` as `None`, which would make `"value": null` look like a missing field).
fn raw_keeping_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(deserializer).map(Some)
}

/// Reads Singer messages from `R`, checking the protocol's ordering rules.
///
/// A line that lies whole in the input's buffer is read where it lies (no copy); the
/// input is told it was consumed on the next call. A line that spans buffers is
/// gathered into the reader's own buffer.
pub struct MessageReader<R> {
    input: R,
    buffer: Vec<u8>,
    /// Bytes of the input's buffer handed out in the last message, not yet consumed.
    unconsumed: usize,
    /// The last RECORD line's envelope and keys, to read the next one by comparison.
    last_record: LastRecord,
    /// The stream of the last RECORD, known to have had its SCHEMA.
    last_stream: Option<String>,
    line: u64,
    streams_with_schema: HashSet<String>,
    warned_types: HashSet<String>,
}

impl<R: BufRead> MessageReader<R> {
    pub fn new(input: R) -> Self {
        MessageReader {
            input,
            buffer: Vec::with_capacity(64 * 1024),
            unconsumed: 0,
            last_record: LastRecord::default(),
            last_stream: None,
            line: 0,
            streams_with_schema: HashSet::new(),
            warned_types: HashSet::new(),
        }
    }

    /// The input, for asking it things between messages (whether more is waiting).
    pub fn get_mut(&mut self) -> &mut R {
        self.consume_last();
        &mut self.input
    }

    /// Tells the input the last message's line is done with.
    fn consume_last(&mut self) {
        if self.unconsumed > 0 {
            self.input.consume(self.unconsumed);
            self.unconsumed = 0;
        }
    }

    /// Finds the next line to parse, skipping blank and unknown-type lines: its length,
    /// and whether it lies in the input's buffer (else it is in `self.buffer`).
    fn next_line(&mut self) -> Result<Option<(usize, bool)>, ReadError> {
        let io_error = |line: u64| {
            move |e| ReadError {
                line: line + 1,
                stream: None,
                kind: ReadErrorKind::Io(e),
            }
        };
        loop {
            let available = self.input.fill_buf().map_err(io_error(self.line))?;
            if available.is_empty() {
                return Ok(None);
            }
            let (length, in_place) = match memchr::memchr(b'\n', available) {
                Some(end) => (end + 1, true),
                None => {
                    // The line spans the input's buffers (or ends the input unterminated).
                    self.buffer.clear();
                    let read = self
                        .input
                        .read_until(b'\n', &mut self.buffer)
                        .map_err(io_error(self.line))?;
                    (read, false)
                }
            };
            self.line += 1;
            let line = if in_place {
                &self.input.fill_buf().map_err(io_error(self.line - 1))?[..length]
            } else {
                &self.buffer[..]
            };
            if !skipped(line, self.line, &mut self.warned_types) {
                return Ok(Some((length, in_place)));
            }
            if in_place {
                self.input.consume(length);
            }
        }
    }

    /// The number of the last line read (0 before the first).
    pub fn line_number(&self) -> u64 {
        self.line
    }

    /// Hands back a record's fields vector ([`crate::record::emptied`]) for the next
    /// record to fill, so reading a record allocates nothing.
    pub fn recycle(&mut self, fields: Fields<'static>) {
        self.last_record.keys.recycle(fields);
    }

    /// The next message, `None` at end of input. The message borrows the reader's line
    /// buffer, so it lives until the next call.
    pub fn next_message(&mut self) -> Result<Option<Line<'_>>, ReadError> {
        self.consume_last();
        let Some((length, in_place)) = self.next_line()? else {
            return Ok(None);
        };
        let io_error = |line: u64| {
            move |e| ReadError {
                line,
                stream: None,
                kind: ReadErrorKind::Io(e),
            }
        };
        let bytes: &[u8] = if in_place {
            self.unconsumed = length;
            &self.input.fill_buf().map_err(io_error(self.line))?[..length]
        } else {
            &self.buffer
        };
        let line = self.line;
        let text = as_text(bytes, line)?;
        let message = match fast_record(text, &mut self.last_record) {
            Some(record) => Message::Record(record),
            None => {
                let envelope = parse_envelope(text, line)?;
                let message_type = match envelope.message_type.as_deref().map(MessageType::parse) {
                    Some(Some(t)) => t,
                    _ => {
                        return Err(ReadError {
                            line,
                            stream: envelope.stream.as_deref().map(str::to_owned),
                            kind: ReadErrorKind::MissingType,
                        })
                    }
                };
                build(envelope, message_type, line)?
            }
        };
        match &message {
            Message::Schema(schema)
                if !self.streams_with_schema.contains(schema.stream.as_ref()) =>
            {
                self.streams_with_schema.insert(schema.stream.to_string());
            }
            // Most records are of the stream the last one was of: no hashing then.
            Message::Record(RecordMessage { stream, .. })
                if self.last_stream.as_deref() == Some(stream.as_ref()) => {}
            Message::Record(RecordMessage { stream, .. })
                if self.streams_with_schema.contains(stream.as_ref()) =>
            {
                let last = self.last_stream.get_or_insert_with(String::new);
                last.clear();
                last.push_str(stream);
            }
            Message::Record(RecordMessage { stream, .. })
            | Message::Batch(BatchMessage { stream, .. })
                if !self.streams_with_schema.contains(stream.as_ref()) =>
            {
                return Err(ReadError {
                    line,
                    stream: Some(stream.to_string()),
                    kind: ReadErrorKind::RecordBeforeSchema,
                });
            }
            _ => {}
        }
        Ok(Some(Line {
            number: line,
            message,
        }))
    }
}

/// Whether a line is skipped: blank, or of a message type this reader does not know
/// (warned about once per type). The type is sniffed from the line's start, where Singer
/// writers put it, so each line is parsed once.
fn skipped(line: &[u8], number: u64, warned_types: &mut HashSet<String>) -> bool {
    // Nearly every line: a RECORD as Singer writers write it.
    if line.starts_with(br#"{"type":"RECORD""#) || line.starts_with(br#"{"type": "RECORD""#) {
        return false;
    }
    if line.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    match sniff_type(line) {
        Sniff::Unknown(name) => {
            if !warned_types.contains(name.as_ref()) {
                warned_types.insert(name.to_string());
                tracing::warn!(line = number, message_type = %name, "skipping messages of an unknown type");
            }
            true
        }
        Sniff::Known | Sniff::Undecided => false,
    }
}

/// What a line's start says about its type (borrowed: every line is sniffed).
enum Sniff<'l> {
    Known,
    Unknown(Cow<'l, str>),
    /// Not written `{"type": "..."` first: the full parse decides (or reports).
    Undecided,
}

fn sniff_type(line: &[u8]) -> Sniff<'_> {
    #[derive(Deserialize)]
    struct TypeOnly<'a> {
        #[serde(rename = "type", borrow)]
        message_type: Option<Cow<'a, str>>,
    }
    let trimmed = line.trim_ascii_start();
    let fast = trimmed
        .strip_prefix(b"{")
        .map(|r| r.trim_ascii_start())
        .and_then(|r| r.strip_prefix(b"\"type\""))
        .map(|r| r.trim_ascii_start())
        .and_then(|r| r.strip_prefix(b":"))
        .map(|r| r.trim_ascii_start())
        .and_then(|r| r.strip_prefix(b"\""))
        .and_then(|r| {
            r.iter()
                .position(|b| *b == b'"' || *b == b'\\')
                .map(|end| (r, end))
        })
        .filter(|(r, end)| r[*end] == b'"')
        .and_then(|(r, end)| std::str::from_utf8(&r[..end]).ok().map(Cow::Borrowed));
    let name = match fast {
        Some(name) => name,
        // Rare: the full parse of a type-only view.
        None => match std::str::from_utf8(line)
            .ok()
            .and_then(|t| serde_json::from_str::<TypeOnly<'_>>(t).ok())
            .and_then(|t| t.message_type.map(|name| Cow::Owned(name.into_owned())))
        {
            Some(name) => name,
            None => return Sniff::Undecided,
        },
    };
    if MessageType::parse(&name).is_some() {
        Sniff::Known
    } else {
        Sniff::Unknown(name)
    }
}

fn as_text(bytes: &[u8], line: u64) -> Result<&str, ReadError> {
    crate::record::utf8(bytes).ok_or(ReadError {
        line,
        stream: None,
        kind: ReadErrorKind::NotUtf8,
    })
}

fn invalid_json(line: u64, e: serde_json::Error) -> ReadError {
    ReadError {
        line,
        stream: None,
        kind: ReadErrorKind::InvalidJson(e.to_string()),
    }
}

fn parse_envelope(text: &str, line: u64) -> Result<Envelope<'_>, ReadError> {
    serde_json::from_str(text).map_err(|e| mistyped_envelope(text, line, e))
}

/// The error of a line serde refused as an envelope. When the line is a JSON object
/// after all, the error names its stream and its first mistyped field (serde's message
/// names neither).
#[cold]
fn mistyped_envelope(text: &str, line: u64, e: serde_json::Error) -> ReadError {
    let Ok(object) = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text)
    else {
        return invalid_json(line, e);
    };
    // Each field on its own, read by the envelope itself (no second list of its types).
    let mistyped = object.iter().find(|(name, value)| {
        let alone = format!("{{{}:{value}}}", serde_json::Value::from(name.as_str()));
        serde_json::from_str::<Envelope<'_>>(&alone).is_err()
    });
    ReadError {
        line,
        stream: object
            .get("stream")
            .and_then(|s| s.as_str())
            .map(str::to_owned),
        kind: ReadErrorKind::InvalidJson(match mistyped {
            Some((name, _)) => format!("field \"{name}\": {e}"),
            None => e.to_string(),
        }),
    }
}

/// What the last RECORD line looked like, to read the next one by comparison: a tap
/// writes every RECORD of a stream with the same envelope up to its record
/// (`{"type":"RECORD","stream":"ORDERS","record":`) and the record's keys in the same
/// order.
#[derive(Debug, Default)]
pub(crate) struct LastRecord {
    /// The last line up to its record's value, when nothing but `"type":"RECORD"` and a
    /// stream name without escapes came before it (else empty). A line that starts with
    /// the same bytes reads the same way up to there, so it is taken whole.
    envelope: String,
    /// Where the stream's name lies in `envelope`.
    stream: std::ops::Range<usize>,
    /// The bytes from the end of the last line's record to its `time_extracted` value
    /// (`,"time_extracted":`), when that field came right after the record, written
    /// plainly (else empty, or an older line's). A line with the same bytes there
    /// reads the same way up to the value, so it takes them whole.
    tail: String,
    pub(crate) keys: KnownKeys,
}

impl LastRecord {
    /// The stream's name when `text` starts with the known envelope.
    fn envelope_of<'t>(&self, text: &'t str) -> Option<&'t str> {
        if self.envelope.is_empty() || !text.as_bytes().starts_with(self.envelope.as_bytes()) {
            return None;
        }
        text.get(self.stream.clone())
    }
}

/// A RECORD line read in one pass, its record split on the way ([`record`](crate::record));
/// `None` for anything else or anything unusual (an invalid line, a duplicate or
/// mistyped field), which the full parse then reads or names the error of.
fn fast_record<'t>(text: &'t str, last: &mut LastRecord) -> Option<RecordMessage<'t>> {
    let mut cursor = Cursor::new(text);
    let mut message_type = None;
    let mut stream = None;
    let mut record = None;
    let mut version = None;
    let mut time_extracted = None;
    // The key whose value is at the cursor, when the envelope was taken whole.
    let mut pending = None;
    if let Some(name) = last.envelope_of(text) {
        message_type = Some(Cow::Borrowed("RECORD"));
        stream = Some(Cow::Borrowed(name));
        cursor.pos = last.envelope.len();
        pending = Some("record");
    } else {
        cursor.expect(b'{').ok()?;
    }
    // While only a plain type and stream came before the record, where the stream's
    // name lies; then where the record starts, if this line's envelope is to be learned.
    let mut plain = pending.is_none();
    let mut stream_span = None;
    let mut learned = None;
    // Where the record ended, while the key after it is being read; then where this
    // line's tail lies, if it is to be learned.
    let mut record_end = None;
    let mut tail = None;
    loop {
        let after_record = record_end.take();
        let (key, plain_key) = match pending.take() {
            Some(key) => (Cow::Borrowed(key), true),
            None => {
                cursor.blanks();
                let key = match envelope_key(&mut cursor) {
                    Some(key) => (Cow::Borrowed(key), true),
                    None => (cursor.string().ok()?, false),
                };
                cursor.expect(b':').ok()?;
                key
            }
        };
        cursor.blanks();
        let start = cursor.pos;
        if key == "record" && plain && message_type.is_some() && stream_span.is_some() {
            learned = Some(start);
        }
        if let (Some(end), true, "time_extracted") = (after_record, plain_key, key.as_ref()) {
            tail = Some(end..start);
        }
        plain &= matches!(key.as_ref(), "type" | "stream");
        match key.as_ref() {
            "type" if cursor.quoted("\"RECORD\"") => {
                once(&mut message_type, Cow::Borrowed("RECORD"))?;
            }
            "type" => {
                plain = false;
                once(&mut message_type, cursor.string().ok()?)?;
            }
            "stream" => {
                let name = cursor.string().ok()?;
                if matches!(name, Cow::Borrowed(_)) {
                    stream_span = Some(start + 1..cursor.pos - 1);
                } else {
                    plain = false;
                }
                once(&mut stream, name)?;
            }
            "record" => {
                let fields = cursor.object(&mut last.keys).ok()?;
                once(&mut record, (&text[start..cursor.pos], fields))?;
                if !last.tail.is_empty() && cursor.skip_exact(last.tail.as_bytes()) {
                    // `,"time_extracted":` as the last line had it: its value is next.
                    once(&mut time_extracted, time_extracted_value(&mut cursor)?)?;
                } else {
                    record_end = Some(cursor.pos);
                }
            }
            "version" => once(
                &mut version,
                match cursor.value().ok()? {
                    Field::Null => None,
                    // serde_json reads `-0` as a float, which is no version; i64 would
                    // take it.
                    Field::Number("-0") => return None,
                    Field::Number(n) => Some(n.parse::<i64>().ok()?),
                    _ => return None,
                },
            )?,
            "time_extracted" => once(&mut time_extracted, time_extracted_value(&mut cursor)?)?,
            // The envelope's typed fields of other messages: the full parse checks them.
            "schema"
            | "key_properties"
            | "bookmark_properties"
            | "value"
            | "encoding"
            | "manifest" => return None,
            _ => drop(cursor.value().ok()?),
        }
        cursor.blanks();
        match cursor.peek() {
            Some(b',') => cursor.pos += 1,
            Some(b'}') => break,
            _ => return None,
        }
    }
    cursor.pos += 1;
    cursor.blanks();
    // `"RECORD"` as written (nearly always) needs no case-blind parse.
    let is_record = |t: &str| t == "RECORD" || MessageType::parse(t) == Some(MessageType::Record);
    if cursor.pos != text.len() || !is_record(message_type?.as_ref()) {
        return None;
    }
    let (record, fields) = record?;
    if let (Some(end), Some(span)) = (learned, stream_span) {
        last.envelope.clear();
        last.envelope.push_str(&text[..end]);
        last.stream = span;
    }
    if let Some(span) = tail {
        last.tail.clear();
        last.tail.push_str(&text[span]);
    }
    Some(RecordMessage {
        stream: stream?,
        record,
        fields,
        version: version.flatten(),
        time_extracted: time_extracted.flatten(),
        shape: Some(last.keys.shape),
    })
}

/// The envelope key at the cursor, moving past it, when it is one a RECORD line has
/// and is written plainly (nearly always): its bytes are compared, not read as a
/// string and then matched.
fn envelope_key(cursor: &mut Cursor<'_>) -> Option<&'static str> {
    const KEYS: [(&str, &str); 5] = [
        ("\"type\"", "type"),
        ("\"stream\"", "stream"),
        ("\"record\"", "record"),
        ("\"time_extracted\"", "time_extracted"),
        ("\"version\"", "version"),
    ];
    KEYS.iter()
        .find(|(quoted, _)| cursor.quoted(quoted))
        .map(|(_, key)| *key)
}

/// The `time_extracted` value at the cursor: a string or null (`None` for anything
/// else, which the full parse names).
fn time_extracted_value<'t>(cursor: &mut Cursor<'t>) -> Option<Option<Cow<'t, str>>> {
    match cursor.value().ok()? {
        Field::Null => Some(None),
        Field::String(s) => Some(Some(s)),
        _ => None,
    }
}

/// Sets a field read once; `None` when it was already set (a duplicate key).
fn once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

fn build<'a>(
    envelope: Envelope<'a>,
    message_type: MessageType,
    line: u64,
) -> Result<Message<'a>, ReadError> {
    let stream_name = envelope.stream.as_deref().map(str::to_owned);
    let fail = |kind| ReadError {
        line,
        stream: stream_name.clone(),
        kind,
    };
    let missing = |field| {
        fail(ReadErrorKind::MissingField {
            message_type,
            field,
        })
    };
    Ok(match message_type {
        MessageType::Schema => {
            let stream = envelope.stream.ok_or_else(|| missing("stream"))?;
            let schema = envelope.schema.ok_or_else(|| missing("schema"))?;
            if !schema.get("properties").is_some_and(|p| p.is_object()) {
                return Err(fail(ReadErrorKind::SchemaWithoutProperties));
            }
            Message::Schema(SchemaMessage {
                stream,
                schema,
                key_properties: envelope.key_properties.unwrap_or_default(),
                bookmark_properties: envelope.bookmark_properties.unwrap_or_default(),
            })
        }
        MessageType::Record => {
            let stream = envelope.stream.ok_or_else(|| missing("stream"))?;
            let record = envelope.record.ok_or_else(|| missing("record"))?.get();
            if !record.starts_with('{') {
                return Err(fail(ReadErrorKind::RecordNotObject));
            }
            let fields = split_record(record).map_err(|e| {
                // serde_json names what is wrong (an invalid escape, say) more plainly.
                let reason = serde_json::from_str::<serde_json::Value>(record)
                    .err()
                    .map_or_else(|| e.to_string(), |serde| serde.to_string());
                fail(ReadErrorKind::InvalidJson(reason))
            })?;
            Message::Record(RecordMessage {
                stream,
                record,
                fields,
                version: envelope.version,
                time_extracted: envelope.time_extracted,
                shape: None,
            })
        }
        MessageType::State => Message::State {
            value: envelope.value.ok_or_else(|| missing("value"))?,
        },
        MessageType::ActivateVersion => Message::ActivateVersion {
            stream: envelope.stream.ok_or_else(|| missing("stream"))?,
            version: envelope.version.ok_or_else(|| missing("version"))?,
        },
        MessageType::Batch => Message::Batch(BatchMessage {
            stream: envelope.stream.ok_or_else(|| missing("stream"))?,
            encoding: envelope.encoding.unwrap_or(serde_json::Value::Null),
            manifest: envelope.manifest.unwrap_or_default(),
            version: envelope.version,
            time_extracted: envelope.time_extracted,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The full parse of a line, as the reader did before the fast path.
    fn full_parse(text: &str) -> Option<RecordMessage<'_>> {
        let envelope = parse_envelope(text, 1).ok()?;
        let message_type = MessageType::parse(envelope.message_type.as_deref()?)?;
        match build(envelope, message_type, 1).ok()? {
            Message::Record(record) => Some(record),
            _ => None,
        }
    }

    mod fast_path {
        use super::*;
        use proptest::prelude::*;

        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "RECORD",
                    "record",
                    "STATE",
                    "Rec\\u006frd",
                    "RECOR\\u0044",
                    "RECORDX"
                ])
                .prop_map(|t| format!("\"type\":\"{t}\"")),
                // Envelope keys the byte comparison must not take (or must leave to
                // the string reader): escaped, or longer than a key it knows.
                prop::sample::select(vec![
                    "\"typ\\u0065\":\"RECORD\"",
                    "\"str\\u0065am\":\"s\"",
                    "\"types\":\"RECORD\"",
                    "\"recordx\":{}",
                    "\"version_\":1"
                ])
                .prop_map(str::to_owned),
                "[a-z\\-\"\\\\]{0,5}".prop_map(|s| format!("\"stream\":\"{s}\"")),
                Just("\"stream\":null".to_owned()),
                "\\{(\"[a-z]{1,3}\":(1|-2.5e3|\"x\"|null|\\[1\\]|\\{\\}|01|tru),?){0,3}\\}"
                    .prop_map(|r| format!("\"record\":{r}")),
                Just("\"record\":[1]".to_owned()),
                prop::sample::select(vec![
                    "7",
                    "-0",
                    "1.0",
                    "1e3",
                    "null",
                    "\"7\"",
                    "99999999999999999999"
                ])
                .prop_map(|v| format!("\"version\":{v}")),
                prop::sample::select(vec!["\"2024-01-01T00:00:00Z\"", "null", "5"])
                    .prop_map(|v| format!("\"time_extracted\":{v}")),
                prop::sample::select(vec![
                    "\"key_properties\":5",
                    "\"key_properties\":[\"a\"]",
                    "\"other\":{\"x\":[1,2]}",
                    "\"other\":nul"
                ])
                .prop_map(str::to_owned),
            ]
        }

        /// The full parse of `line` reads it, and reads what the fast path read.
        fn reads_as_the_full_parse(
            line: &str,
            fast: &RecordMessage<'_>,
        ) -> Result<(), TestCaseError> {
            let full = full_parse(line);
            prop_assert!(full.is_some(), "{}: only the fast path reads it", line);
            let full = full.unwrap();
            prop_assert_eq!(&fast.stream, &full.stream);
            prop_assert_eq!(fast.record, full.record);
            prop_assert_eq!(&fast.fields, &full.fields);
            prop_assert_eq!(fast.version, full.version);
            prop_assert_eq!(&fast.time_extracted, &full.time_extracted);
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]
            /// Whatever the fast path reads, the full parse reads the same way; where it
            /// steps aside, the full parse decides.
            #[test]
            fn agrees_with_the_full_parse(
                fields in proptest::collection::vec(field(), 0..7),
                blank in " {0,1}",
            ) {
                let line = format!("{{{}}}{blank}", fields.join(&format!(",{blank}")));
                // Read once with no known keys, then again knowing this line's own.
                let mut known = LastRecord::default();
                let first = fast_record(&line, &mut known);
                let again = fast_record(&line, &mut known);
                prop_assert_eq!(
                    first.as_ref().map(|m| &m.fields),
                    again.as_ref().map(|m| &m.fields)
                );
                if let Some(fast) = first {
                    reads_as_the_full_parse(&line, &fast)?;
                }
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]
            /// A line read after another RECORD line whose envelope it may share (the
            /// envelope taken whole) reads as the full parse reads it.
            #[test]
            fn a_shared_envelope_reads_as_the_full_parse(
                stream in prop::sample::select(vec!["S", "T", "S\\u0041", "S\\\"x"]),
                blank in prop::sample::select(vec!["", " "]),
                first in proptest::collection::vec(field(), 0..3),
                rest in proptest::collection::vec(field(), 0..4),
                other_stream in prop::sample::select(vec!["S", "T"]),
                other_blank in prop::sample::select(vec!["", " ", "  "]),
                later in proptest::collection::vec(field(), 0..3),
            ) {
                let envelope = |stream: &str, blank: &str| {
                    format!(
                        "{{\"type\":{blank}\"RECORD\",{blank}\"stream\":{blank}\"{stream}\",{blank}\"record\":{blank}"
                    )
                };
                let before = format!("{}{{\"a\":1}}}}", envelope(stream, blank));
                let tail = first.iter().chain(&rest).map(|f| format!(",{f}")).collect::<String>();
                let line = format!("{}{{\"a\":2}}{tail}}}", envelope(other_stream, other_blank));
                // After the line, one whose fields after the record differ (its tail
                // may be taken whole, or start like the line's and then differ).
                let later_tail = later.iter().map(|f| format!(",{f}")).collect::<String>();
                let later_line = format!("{}{{\"a\":3}}{later_tail}}}", envelope(other_stream, other_blank));
                let mut known = LastRecord::default();
                for text in [&before, &line, &line, &later_line, &line] {
                    if let Some(fast) = fast_record(text, &mut known) {
                        reads_as_the_full_parse(text, &fast)?;
                    }
                }
            }
        }

        #[test]
        fn a_plain_time_extracted_after_the_record_is_taken_whole() {
            let mut last = LastRecord::default();
            let a = r#"{"type":"RECORD","stream":"S","record":{"ID":1},"time_extracted":"2026-01-01T00:00:00Z"}"#;
            let b = r#"{"type":"RECORD","stream":"S","record":{"ID":2},"time_extracted":null}"#;
            let c = r#"{"type":"RECORD","stream":"S","record":{"ID":3},"time_extracted":"x","time_extracted":"y"}"#;
            let d = r#"{"type":"RECORD","stream":"S","record":{"ID":4},"time_extracted":5}"#;
            let first = fast_record(a, &mut last).expect("fast path");
            assert_eq!(last.tail, r#","time_extracted":"#);
            assert_eq!(
                first.time_extracted.as_deref(),
                Some("2026-01-01T00:00:00Z")
            );
            let second = fast_record(b, &mut last).expect("fast path, tail taken whole");
            assert_eq!((second.time_extracted, second.fields.len()), (None, 1));
            assert!(
                fast_record(c, &mut last).is_none(),
                "a duplicate is left to the full parse"
            );
            assert!(
                fast_record(d, &mut last).is_none(),
                "a number is left to the full parse"
            );
            let e = r#"{"type":"RECORD","stream":"S","time_extracted":"a","record":{"ID":5},"time_extracted":"b"}"#;
            assert!(
                fast_record(e, &mut last).is_none(),
                "a duplicate before the record too"
            );
        }

        #[test]
        fn the_usual_record_line_takes_the_fast_path() {
            let line = r#"{"type":"RECORD","stream":"ORDERS","record":{"ID":1,"NAME":"x"},"version":3,"time_extracted":"2026-01-01T00:00:00Z"}"#;
            let mut last = LastRecord::default();
            let fast = fast_record(line, &mut last).expect("fast path");
            assert_eq!(
                last.envelope,
                r#"{"type":"RECORD","stream":"ORDERS","record":"#
            );
            let again = fast_record(line, &mut last).expect("fast path, envelope taken whole");
            assert_eq!(again.stream, "ORDERS");
            assert_eq!(again.fields, fast.fields);
            assert_eq!(fast.record, r#"{"ID":1,"NAME":"x"}"#);
            assert_eq!(fast.fields.len(), 2);
            assert_eq!(fast.version, Some(3));
            for stepping_aside in [
                r#"{"type":"RECORD","stream":"S","record":{},"record":{}}"#,
                r#"{"type":"RECORD","stream":"S","record":{},"key_properties":5}"#,
                r#"{"type":"RECORD","stream":"S","record":{},"version":1.0}"#,
                r#"{"type":"RECORD","stream":"S","record":{},"version":-0}"#,
                r#"{"type":"STATE","value":{}}"#,
            ] {
                assert!(
                    fast_record(stepping_aside, &mut LastRecord::default()).is_none(),
                    "{stepping_aside}"
                );
            }
        }
    }

    fn read_all(input: &str) -> Result<Vec<(u64, String)>, ReadError> {
        let mut reader = MessageReader::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(line) = reader.next_message()? {
            out.push((line.number, line.message.message_type().to_string()));
        }
        Ok(out)
    }

    const SCHEMA: &str = r#"{"type":"SCHEMA","stream":"HR-EMP","schema":{"properties":{"ID":{"type":"integer"}}},"key_properties":["ID"]}"#;

    #[test]
    fn reads_each_type_with_line_numbers_and_skips_blank_lines() {
        let input = format!(
            "{SCHEMA}\n\n  \n{}\n{}\n{}\n",
            r#"{"type":"record","stream":"HR-EMP","record":{"ID":1}}"#,
            r#"{"type":"State","value":{"a":1}}"#,
            r#"{"type":"ACTIVATE_VERSION","stream":"HR-EMP","version":7}"#
        );
        let got = read_all(&input).unwrap();
        assert_eq!(
            got,
            vec![
                (1, "SCHEMA".to_string()),
                (4, "RECORD".to_string()),
                (5, "STATE".to_string()),
                (6, "ACTIVATE_VERSION".to_string())
            ]
        );
    }

    #[test]
    fn record_before_schema_names_line_and_stream() {
        let err = read_all(r#"{"type":"RECORD","stream":"X","record":{}}"#).unwrap_err();
        assert_eq!(err.line, 1);
        assert_eq!(err.stream.as_deref(), Some("X"));
        assert!(matches!(err.kind, ReadErrorKind::RecordBeforeSchema));
        assert_eq!(
            err.to_string(),
            "line 1, stream \"X\": RECORD arrived before any SCHEMA for its stream"
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_reason() {
        let cases = [
            ("{not json", "invalid JSON"),
            (r#"{"stream":"X"}"#, "no \"type\""),
            (
                &format!(
                    "{SCHEMA}\n{}",
                    r#"{"type":"RECORD","stream":"HR-EMP","record":[1]}"#
                ),
                "must be a JSON object",
            ),
            (
                r#"{"type":"SCHEMA","stream":"S","schema":{"type":"object"}}"#,
                "\"properties\" object",
            ),
            (
                r#"{"type":"ACTIVATE_VERSION","stream":"S"}"#,
                "no \"version\"",
            ),
            (
                // Valid to serde's raw pass, refused when the string is read: serde's
                // own words, not a byte offset.
                &format!(
                    "{SCHEMA}\n{}",
                    r#"{"type":"RECORD","stream":"HR-EMP","record":{"ID":"\ud800x"}}"#
                ),
                "line 2, stream \"HR-EMP\": invalid JSON: unexpected end of hex escape",
            ),
            (
                // A mistyped envelope field is named, with its stream.
                &format!(
                    "{SCHEMA}\n{}",
                    r#"{"type":"RECORD","stream":"HR-EMP","record":{},"version":-0}"#
                ),
                "line 2, stream \"HR-EMP\": invalid JSON: field \"version\": invalid type",
            ),
            (
                r#"{"type":"STATE","stream":7,"value":{}}"#,
                "line 1: invalid JSON: field \"stream\": invalid type",
            ),
        ];
        for (input, expected) in cases {
            let err = read_all(input).unwrap_err();
            assert!(
                err.to_string().contains(expected),
                "{input}: {err} should contain {expected}"
            );
        }
    }

    #[test]
    fn a_null_state_value_is_a_value_and_a_missing_one_an_error() {
        let mut reader = MessageReader::new(r#"{"type":"STATE","value":null}"#.as_bytes());
        match reader.next_message().unwrap().unwrap().message {
            Message::State { value } => assert_eq!(value.get(), "null"),
            other => panic!("{other:?}"),
        }
        let err = read_all(r#"{"type":"STATE"}"#).unwrap_err();
        assert!(err.to_string().contains("STATE has no \"value\""), "{err}");
    }

    #[test]
    fn unknown_types_are_skipped() {
        let input = format!(
            "{SCHEMA}\n{}\n{}\n",
            r#"{"type":"METRIC","x":1}"#, r#"{"type":"STATE","value":{}}"#
        );
        assert_eq!(
            read_all(&input).unwrap(),
            vec![(1, "SCHEMA".to_string()), (3, "STATE".to_string())]
        );
    }

    #[test]
    fn a_38_digit_number_stays_byte_identical() {
        let record = r#"{"ID":12345678901234567890123456789012345678,"AMT":-0.000000000000000000000000000000000001,"F":1.5e300}"#;
        let input = format!(
            "{SCHEMA}\n{{\"type\":\"RECORD\",\"stream\":\"HR-EMP\",\"record\":{record}}}\n"
        );
        let mut reader = MessageReader::new(input.as_bytes());
        reader.next_message().unwrap();
        let line = reader.next_message().unwrap().unwrap();
        match line.message {
            Message::Record(r) => assert_eq!(r.record, record),
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn lines_of_many_megabytes_are_read() {
        let big = "x".repeat(8 * 1024 * 1024);
        let input = format!(
            "{SCHEMA}\n{{\"type\":\"RECORD\",\"stream\":\"HR-EMP\",\"record\":{{\"ID\":\"{big}\"}}}}\n"
        );
        let got = read_all(&input).unwrap();
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn crlf_line_endings_are_accepted() {
        let input = format!("{SCHEMA}\r\n{}\r\n", r#"{"type":"STATE","value":{}}"#);
        assert_eq!(read_all(&input).unwrap().len(), 2);
    }
}
