//! Writes Singer messages to stdout (or any `Write`): one JSON object per line, only the
//! standard upper-case types, buffered, flushed at every STATE and at the end.
//!
//! A reader that goes away (a closed pipe) becomes [`WriteError::Closed`], which the
//! binaries turn into one stderr line and exit code 3: for a tap, a closed stdout means
//! the target died before confirming state, so it is not success.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::value::RawValue;
use thiserror::Error;

use crate::message::MessageType;
use crate::record::plain_run;

/// Bytes buffered before they are handed to the underlying writer.
const BUFFER_BYTES: usize = 64 * 1024;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The reading end of the pipe is gone.
    #[error("stdout was closed by the reader before the run finished")]
    Closed,
    #[error("writing output failed: {0}")]
    Io(io::Error),
    #[error("a message could not be serialized: {0}")]
    Serialize(#[from] serde_json::Error),
}

impl From<io::Error> for WriteError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            WriteError::Closed
        } else {
            WriteError::Io(e)
        }
    }
}

/// The fixed text around one stream's RECORDs: `{"type":"RECORD","stream":"...","record":`
/// before the record object and `,"version":N,"time_extracted":"..."}` plus the newline
/// after it. A tap writes millions of records between two changes of either, so it
/// escapes them once ([`MessageWriter::write_record_framed`]).
#[derive(Debug, Clone, Default)]
pub struct RecordFrame {
    stream: String,
    version: Option<i64>,
    time_extracted: Option<String>,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
}

impl RecordFrame {
    pub fn new(stream: &str, version: Option<i64>, time_extracted: Option<&str>) -> RecordFrame {
        let mut prefix = Vec::with_capacity(stream.len() + 40);
        prefix.extend_from_slice(b"{\"type\":\"RECORD\",\"stream\":");
        write_json_string(&mut prefix, stream);
        prefix.extend_from_slice(b",\"record\":");
        let mut suffix = Vec::with_capacity(80);
        if let Some(version) = version {
            suffix.extend_from_slice(b",\"version\":");
            suffix.extend_from_slice(version.to_string().as_bytes());
        }
        if let Some(time) = time_extracted {
            suffix.extend_from_slice(b",\"time_extracted\":");
            write_json_string(&mut suffix, time);
        }
        suffix.extend_from_slice(b"}\n");
        RecordFrame {
            stream: stream.to_owned(),
            version,
            time_extracted: time_extracted.map(str::to_owned),
            prefix,
            suffix,
        }
    }

    /// Whether this frame is the one for these parts.
    fn frames(&self, stream: &str, version: Option<i64>, time_extracted: Option<&str>) -> bool {
        !self.prefix.is_empty()
            && self.version == version
            && self.time_extracted.as_deref() == time_extracted
            && self.stream == stream
    }
}

/// Buffered Singer writer.
pub struct MessageWriter<W: Write> {
    out: W,
    buffer: Vec<u8>,
    messages: u64,
    /// The frame of the last RECORD written by [`MessageWriter::write_record_with`].
    frame: RecordFrame,
}

impl<W: Write> MessageWriter<W> {
    pub fn new(out: W) -> Self {
        MessageWriter {
            out,
            buffer: Vec::with_capacity(BUFFER_BYTES + 4096),
            messages: 0,
            frame: RecordFrame::default(),
        }
    }

    /// Messages this writer wrote. Lines handed over whole ([`MessageWriter::write_lines`])
    /// are not counted again: the writer that wrote them counted them.
    pub fn message_count(&self) -> u64 {
        self.messages
    }

    /// SCHEMA, always with a `properties` object.
    pub fn write_schema(
        &mut self,
        stream: &str,
        schema: &serde_json::Value,
        key_properties: &[String],
        bookmark_properties: &[String],
    ) -> Result<(), WriteError> {
        let mut schema = schema.clone();
        if let Some(object) = schema.as_object_mut() {
            object
                .entry("properties")
                .or_insert_with(|| serde_json::Value::Object(Default::default()));
        }
        self.open(MessageType::Schema, Some(stream));
        self.buffer.extend_from_slice(b",\"schema\":");
        serde_json::to_writer(&mut self.buffer, &schema)?;
        self.buffer.extend_from_slice(b",\"key_properties\":");
        serde_json::to_writer(&mut self.buffer, key_properties)?;
        if !bookmark_properties.is_empty() {
            self.buffer.extend_from_slice(b",\"bookmark_properties\":");
            serde_json::to_writer(&mut self.buffer, bookmark_properties)?;
        }
        self.close()
    }

    /// RECORD whose `record` object the caller writes straight into the output buffer:
    /// the tap's fast path, with no intermediate value per row. `write_record` must
    /// append exactly one JSON object.
    pub fn write_record_with(
        &mut self,
        stream: &str,
        version: Option<i64>,
        time_extracted: Option<&str>,
        write_record: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), WriteError> {
        if !self.frame.frames(stream, version, time_extracted) {
            self.frame = RecordFrame::new(stream, version, time_extracted);
        }
        self.buffer.extend_from_slice(&self.frame.prefix);
        write_record(&mut self.buffer);
        self.buffer.extend_from_slice(&self.frame.suffix);
        self.messages += 1;
        self.spill()
    }

    /// [`MessageWriter::write_record_with`] in a frame the caller keeps (and rebuilds
    /// when its stream, version or time changes): no comparison per record.
    pub fn write_record_framed(
        &mut self,
        frame: &RecordFrame,
        write_record: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), WriteError> {
        self.buffer.extend_from_slice(&frame.prefix);
        write_record(&mut self.buffer);
        self.buffer.extend_from_slice(&frame.suffix);
        self.messages += 1;
        self.spill()
    }

    /// RECORD from an already serialized record object.
    pub fn write_record_raw(
        &mut self,
        stream: &str,
        record: &RawValue,
        version: Option<i64>,
        time_extracted: Option<&str>,
    ) -> Result<(), WriteError> {
        self.write_record_with(stream, version, time_extracted, |out| {
            out.extend_from_slice(record.get().as_bytes())
        })
    }

    /// RECORD from any serializable record.
    pub fn write_record<T: Serialize>(
        &mut self,
        stream: &str,
        record: &T,
        version: Option<i64>,
        time_extracted: Option<&str>,
    ) -> Result<(), WriteError> {
        let mut body = Vec::new();
        serde_json::to_writer(&mut body, record)?;
        self.write_record_with(stream, version, time_extracted, |out| {
            out.extend_from_slice(&body)
        })
    }

    /// STATE, then a flush: whoever reads us may act on it at once.
    pub fn write_state<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), WriteError> {
        self.open(MessageType::State, None);
        self.buffer.extend_from_slice(b",\"value\":");
        serde_json::to_writer(&mut self.buffer, value)?;
        self.close()?;
        self.flush()
    }

    /// A target's confirmed state: the state *value* itself on one line (not a STATE
    /// message), then a flush. Singer targets write it so, and Meltano stores each such
    /// line verbatim as the job's state for the tap's next `--state`.
    pub fn write_state_value(&mut self, value: &RawValue) -> Result<(), WriteError> {
        self.buffer.extend_from_slice(value.get().as_bytes());
        self.buffer.push(b'\n');
        self.messages += 1;
        self.flush()
    }

    pub fn write_activate_version(&mut self, stream: &str, version: i64) -> Result<(), WriteError> {
        self.open(MessageType::ActivateVersion, Some(stream));
        self.buffer.extend_from_slice(b",\"version\":");
        self.buffer
            .extend_from_slice(itoa_i64(version, &mut [0u8; 20]).as_bytes());
        self.close()
    }

    /// BATCH (Meltano SDK): JSON Lines `files` (`file://` URLs), gzip-compressed or not,
    /// holding the stream's records. `version` and `time_extracted` are what the records'
    /// RECORD messages would carry, an extension SDK targets ignore.
    pub fn write_batch(
        &mut self,
        stream: &str,
        gzip: bool,
        files: &[String],
        version: Option<i64>,
        time_extracted: Option<&str>,
    ) -> Result<(), WriteError> {
        self.open(MessageType::Batch, Some(stream));
        self.buffer
            .extend_from_slice(b",\"encoding\":{\"format\":\"jsonl\",\"compression\":");
        self.buffer
            .extend_from_slice(if gzip { b"\"gzip\"}" } else { b"\"none\"}" });
        self.buffer.extend_from_slice(b",\"manifest\":[");
        for (i, file) in files.iter().enumerate() {
            if i > 0 {
                self.buffer.push(b',');
            }
            write_json_string(&mut self.buffer, file);
        }
        self.buffer.push(b']');
        if let Some(version) = version {
            self.buffer.extend_from_slice(b",\"version\":");
            self.buffer
                .extend_from_slice(itoa_i64(version, &mut [0u8; 20]).as_bytes());
        }
        if let Some(time) = time_extracted {
            self.buffer.extend_from_slice(b",\"time_extracted\":");
            write_json_string(&mut self.buffer, time);
        }
        self.close()
    }

    /// Appends complete message lines written elsewhere (another `MessageWriter` over a
    /// `Vec<u8>`): how parallel streams share one stdout without interleaving lines.
    /// Many lines at once (a stream's rows between two STATEs) go straight to the
    /// underlying writer, after what is buffered, instead of being copied again.
    pub fn write_lines(&mut self, lines: &[u8]) -> Result<(), WriteError> {
        if lines.is_empty() {
            return Ok(());
        }
        debug_assert!(lines.ends_with(b"\n"), "only whole lines");
        if lines.len() >= BUFFER_BYTES {
            if !self.buffer.is_empty() {
                self.out.write_all(&self.buffer)?;
                self.buffer.clear();
            }
            self.out.write_all(lines)?;
            return Ok(());
        }
        self.buffer.extend_from_slice(lines);
        self.spill()
    }

    /// The underlying writer (after a [`MessageWriter::flush`], everything written).
    pub fn inner_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Hands everything buffered to the underlying writer and flushes it.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        if !self.buffer.is_empty() {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        self.out.flush()?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> Result<W, WriteError> {
        self.flush()?;
        Ok(self.out)
    }

    fn open(&mut self, message_type: MessageType, stream: Option<&str>) {
        self.buffer.extend_from_slice(b"{\"type\":\"");
        self.buffer
            .extend_from_slice(message_type.as_str().as_bytes());
        self.buffer.push(b'"');
        if let Some(stream) = stream {
            self.buffer.extend_from_slice(b",\"stream\":");
            write_json_string(&mut self.buffer, stream);
        }
    }

    fn close(&mut self) -> Result<(), WriteError> {
        self.buffer.extend_from_slice(b"}\n");
        self.messages += 1;
        self.spill()
    }

    /// Hands the buffer to the underlying writer once it holds [`BUFFER_BYTES`].
    fn spill(&mut self) -> Result<(), WriteError> {
        if self.buffer.len() >= BUFFER_BYTES {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }
}

fn itoa_i64(value: i64, scratch: &mut [u8; 20]) -> &str {
    use std::io::Cursor;
    let mut cursor = Cursor::new(&mut scratch[..]);
    // 20 bytes hold any i64; writing into a slice cannot fail otherwise.
    let _ = write!(cursor, "{value}");
    let len = cursor.position() as usize;
    std::str::from_utf8(&scratch[..len]).unwrap_or("0")
}

/// Appends `text` as a JSON string literal (quotes and escapes included), as RFC 8259
/// requires: `"` `\` and control characters escaped, everything else verbatim UTF-8.
/// Runs of bytes that need no escape (nearly all text) are found eight bytes at a time
/// and copied at once.
pub fn write_json_string(out: &mut Vec<u8>, text: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(text.len() + 2);
    out.push(b'"');
    let bytes = text.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        i = plain_run_end(bytes, i);
        let Some(&b) = bytes.get(i) else { break };
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            _ => &[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ],
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// The position of the first byte at or after `from` that JSON must escape (`"`, `\`,
/// or below 0x20), or `bytes.len()`, eight bytes at a time ([`plain_run`]).
fn plain_run_end(bytes: &[u8], from: usize) -> usize {
    let run = |word: &[u8]| plain_run(u64::from_le_bytes(word.try_into().expect("eight bytes")));
    let mut i = from;
    while let Some(word) = bytes.get(i..i + 8) {
        let plain = run(word);
        if plain < 8 {
            return i + plain;
        }
        i += 8;
    }
    // Fewer than eight bytes left: the string's last eight bytes as one word, when they
    // start at or after `from` (the bytes before `i` in it are known plain, so its first
    // byte to escape is still the first found); byte by byte otherwise.
    if let Some(last) = bytes
        .len()
        .checked_sub(8)
        .filter(|&last| last >= from && i < bytes.len())
    {
        return last + run(&bytes[last..]);
    }
    while let Some(&b) = bytes.get(i) {
        if b < 0x20 || b == b'"' || b == b'\\' {
            return i;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Counts flushes and can pretend the reader went away.
    #[derive(Default)]
    struct Probe {
        data: Vec<u8>,
        flushes: usize,
        closed: bool,
    }

    impl Write for Probe {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.closed {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            self.data.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            Ok(())
        }
    }

    #[test]
    fn writes_one_standard_message_per_line() {
        let mut w = MessageWriter::new(Probe::default());
        w.write_schema("HR-EMP", &json!({"type": "object"}), &["ID".into()], &[])
            .unwrap();
        w.write_record(
            "HR-EMP",
            &json!({"ID": 1, "N": "a\"b\n"}),
            Some(3),
            Some("2026-01-01T00:00:00Z"),
        )
        .unwrap();
        w.write_activate_version("HR-EMP", 3).unwrap();
        w.write_state(&json!({"bookmarks": {}})).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap().data).unwrap();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[0],
            r#"{"type":"SCHEMA","stream":"HR-EMP","schema":{"type":"object","properties":{}},"key_properties":["ID"]}"#
        );
        assert_eq!(
            lines[1],
            r#"{"type":"RECORD","stream":"HR-EMP","record":{"ID":1,"N":"a\"b\n"},"version":3,"time_extracted":"2026-01-01T00:00:00Z"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"type":"ACTIVATE_VERSION","stream":"HR-EMP","version":3}"#
        );
        assert_eq!(lines[3], r#"{"type":"STATE","value":{"bookmarks":{}}}"#);
    }

    #[test]
    fn flushes_at_state_not_per_record() {
        let mut w = MessageWriter::new(Probe::default());
        for i in 0..100 {
            w.write_record("S", &json!({"i": i}), None, None).unwrap();
        }
        assert_eq!(w.out.flushes, 0);
        assert!(w.out.data.is_empty(), "records stay buffered until STATE");
        w.write_state(&json!({})).unwrap();
        assert_eq!(w.out.flushes, 1);
        assert_eq!(String::from_utf8_lossy(&w.out.data).lines().count(), 101);
    }

    #[test]
    fn a_closed_pipe_is_a_typed_error() {
        let mut w = MessageWriter::new(Probe {
            closed: true,
            ..Probe::default()
        });
        w.write_record("S", &json!({}), None, None).unwrap();
        assert!(matches!(w.write_state(&json!({})), Err(WriteError::Closed)));
    }

    #[test]
    fn json_strings_escape_what_rfc_8259_requires() {
        let mut out = Vec::new();
        write_json_string(&mut out, "a\"\\\u{1}\t\u{7f}é😀");
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text, "\"a\\\"\\\\\\u0001\\t\u{7f}é😀\"");
        let back: String = serde_json::from_str(&text).unwrap();
        assert_eq!(back, "a\"\\\u{1}\t\u{7f}é😀");
    }

    #[test]
    fn raw_records_keep_every_digit() {
        let raw = RawValue::from_string(r#"{"N":12345678901234567890123456789012345678.5}"#.into())
            .unwrap();
        let mut w = MessageWriter::new(Vec::new());
        w.write_record_raw("S", &raw, None, None).unwrap();
        let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
        assert!(out.contains("12345678901234567890123456789012345678.5"));
    }

    #[test]
    fn many_lines_at_once_keep_their_place_after_what_is_buffered() {
        let mut w = MessageWriter::new(Probe::default());
        w.write_record("S", &json!({"i": 0}), None, None).unwrap();
        let line = format!(
            "{}\n",
            json!({"type": "RECORD", "stream": "S", "record": {"i": 1}})
        );
        let many = line.repeat(BUFFER_BYTES / line.len() + 1);
        w.write_lines(many.as_bytes()).unwrap();
        w.write_lines(line.as_bytes()).unwrap();
        w.write_state(&json!({})).unwrap();
        let out = String::from_utf8(w.out.data).unwrap();
        let expected = format!(
            "{}\n{many}{line}{}\n",
            r#"{"type":"RECORD","stream":"S","record":{"i":0}}"#, r#"{"type":"STATE","value":{}}"#
        );
        assert_eq!(out, expected);
    }

    #[test]
    fn a_kept_frame_writes_what_write_record_with_writes() {
        let frame = RecordFrame::new("A \"b\"", Some(-7), Some("2026-01-01T00:00:00Z"));
        let mut framed = MessageWriter::new(Vec::new());
        let mut with = MessageWriter::new(Vec::new());
        for i in 0..3 {
            let body = format!("{{\"i\":{i}}}");
            framed
                .write_record_framed(&frame, |out| out.extend_from_slice(body.as_bytes()))
                .unwrap();
            with.write_record_with("A \"b\"", Some(-7), Some("2026-01-01T00:00:00Z"), |out| {
                out.extend_from_slice(body.as_bytes())
            })
            .unwrap();
        }
        let (framed, with) = (framed.into_inner().unwrap(), with.into_inner().unwrap());
        assert_eq!(framed, with);
        assert!(String::from_utf8(framed).unwrap().starts_with(
            r#"{"type":"RECORD","stream":"A \"b\"","record":{"i":0},"version":-7,"time_extracted":"2026-01-01T00:00:00Z"}"#
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// The word-at-a-time escaper writes exactly serde_json's text for any string,
        /// with escapes at every offset of a word (plain runs, then `"` `\` or a control).
        #[test]
        fn strings_are_escaped_exactly_as_serde_json_does(
            text in "(\\PC{0,9}[\"\\\\\\x00-\\x1f\\x7f]?){0,6}|\\PC{0,40}|[\\x00-\\x7f]{0,40}"
        ) {
            let mut ours = b"x".to_vec();
            write_json_string(&mut ours, &text);
            let by_serde = format!("x{}", serde_json::to_string(&text).unwrap());
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), by_serde);
        }
    }
}
