//! BATCH messages (Meltano SDK extension): the records of a manifest of `file://` JSON
//! Lines files, gzip-compressed or not, loaded through the same path as RECORD messages.
//!
//! Each line of a file is one record (the record object alone, not a Singer message).
//! It is validated, converted, buffered and upserted exactly like a RECORD read from the
//! BATCH message's own input line, so a STATE after the BATCH is written only once every
//! row of every file is committed. Files are streamed line by line, each read where it
//! lies in the reader's buffer: memory does not grow with a file's size. An unusable
//! file or line stops the run naming the BATCH line, the file and the line inside it.
//! The message's `version` and `time_extracted`, when it has them (tap-oracle writes
//! them; the SDK's BATCH has no such fields), apply to every record as a RECORD's would.
//!
//! The SDK (`singer_sdk/contrib/batch_encoder_jsonl.py`, 0.53) writes gzip whatever the
//! `compression` it announces, so the content decides: a file that starts with the gzip
//! magic bytes is decompressed (every member), anything else is read as plain text.
//! Only `format: jsonl` and local `file://` URLs are supported; parquet and remote
//! storage stop the run with the reason (skipping them would lose rows).

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};

use flate2::bufread::MultiGzDecoder;
use serde_json::value::RawValue;
use serde_json::Value as Json;

use singer_core::message::{BatchMessage, RecordMessage};
use singer_core::record::{emptied, Fields, RecordSplitter};

use crate::error::TargetError;
use crate::loader::Loader;

/// Bytes read from a file per system call (and decompressed per step).
const READ_SIZE: usize = 256 * 1024;

/// The first bytes of every gzip member (RFC 1952, ID1 ID2).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Loads every record of `batch` (read from input line `line`) into `loader`.
pub(crate) fn load<W: Write>(
    loader: &mut Loader<W>,
    line: u64,
    batch: &BatchMessage<'_>,
) -> Result<(), TargetError> {
    let stream = batch.stream.as_ref();
    let file_error = |file: &str, file_line: u64, reason: String| TargetError::BatchFile {
        line,
        stream: stream.to_owned(),
        file: file.to_owned(),
        file_line,
        reason,
    };
    check_encoding(&batch.encoding).map_err(|reason| file_error("(encoding)", 0, reason))?;
    // One splitter for every file: records of one stream have the same keys, so they
    // are read by comparison and converted by position, as RECORD lines are.
    let mut splitter = RecordSplitter::default();
    let time_extracted = batch.time_extracted.as_deref().map(Cow::Borrowed);
    for url in &batch.manifest {
        let path =
            singer_core::file_url::to_path(url).map_err(|reason| file_error(url, 0, reason))?;
        let file =
            File::open(&path).map_err(|e| file_error(url, 0, format!("cannot be opened: {e}")))?;
        let mut lines =
            Lines::new(open_lines(file).map_err(|e| file_error(url, 0, e.to_string()))?);
        let mut file_line = 0u64;
        let mut records = 0u64;
        loop {
            let text = match lines.next_line() {
                Ok(Some(text)) => text,
                Ok(None) => break,
                Err(e) => {
                    return Err(file_error(
                        url,
                        file_line + 1,
                        format!("reading failed: {e}"),
                    ))
                }
            };
            file_line += 1;
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let (record, fields, shape) = parse_record(text, &mut splitter)
                .map_err(|reason| file_error(url, file_line, reason))?;
            let message = RecordMessage {
                stream: Cow::Borrowed(stream),
                record,
                fields,
                version: batch.version,
                time_extracted: time_extracted.clone(),
                shape: Some(shape),
            };
            loader.on_record(line, &message).map_err(|e| match e {
                TargetError::BadRecord { field, reason, .. } => {
                    file_error(url, file_line, format!("field {field:?} {reason}"))
                }
                other => other,
            })?;
            splitter.recycle(emptied(message.fields));
            records += 1;
        }
        tracing::debug!(stream, file = %url, records, "batch file read");
    }
    Ok(())
}

/// Checks the manifest's `encoding`: JSON Lines, with a compression this module reads.
fn check_encoding(encoding: &Json) -> Result<(), String> {
    match encoding.get("format").and_then(Json::as_str) {
        Some("jsonl") => {}
        Some(other) => {
            return Err(format!(
                "format {other:?} is not supported (only \"jsonl\")"
            ))
        }
        None => return Err(format!("encoding {encoding} has no \"format\"")),
    }
    match encoding.get("compression") {
        None | Some(Json::Null) => Ok(()),
        Some(Json::String(c)) if c == "gzip" || c == "none" => Ok(()),
        Some(other) => Err(format!(
            "compression {other} is not supported (only \"gzip\" or \"none\")"
        )),
    }
}

/// A line reader over `file`, decompressing when the file starts with gzip's magic.
fn open_lines(file: File) -> std::io::Result<Box<dyn BufRead>> {
    let mut raw = BufReader::with_capacity(READ_SIZE, file);
    let gzip = raw.fill_buf()?.starts_with(&GZIP_MAGIC);
    Ok(if gzip {
        Box::new(BufReader::with_capacity(
            READ_SIZE,
            MultiGzDecoder::new(raw),
        ))
    } else {
        Box::new(raw)
    })
}

/// The lines of a file, each read where it lies in the reader's buffer (consumed when
/// the next is asked for); only a line that spans two reads is copied.
struct Lines {
    input: Box<dyn BufRead>,
    /// The bytes of the last line given, when it lay in the input's buffer.
    unconsumed: usize,
    /// The last line given, when it spanned two reads.
    spanning: Vec<u8>,
}

impl Lines {
    fn new(input: Box<dyn BufRead>) -> Lines {
        Lines {
            input,
            unconsumed: 0,
            spanning: Vec::new(),
        }
    }

    /// The next line with its newline (if it has one), `None` at the end.
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        self.input.consume(std::mem::take(&mut self.unconsumed));
        let available = self.input.fill_buf()?;
        if available.is_empty() {
            return Ok(None);
        }
        match memchr::memchr(b'\n', available) {
            Some(end) => {
                self.unconsumed = end + 1;
                Ok(Some(&self.input.fill_buf()?[..end + 1]))
            }
            None => {
                self.spanning.clear();
                self.input.read_until(b'\n', &mut self.spanning)?;
                Ok(Some(&self.spanning))
            }
        }
    }
}

/// One file line as a record: a JSON object, kept raw (every digit intact) and split
/// into its fields by `splitter`, with their shape.
fn parse_record<'t>(
    line: &'t [u8],
    splitter: &mut RecordSplitter,
) -> Result<(&'t str, Fields<'t>, u64), String> {
    let text = singer_core::record::utf8(line).ok_or("the line is not valid UTF-8")?;
    match splitter.split(text) {
        Ok((fields, shape)) => Ok((text.trim_ascii(), fields, shape)),
        // serde_json names what is wrong with a line that is not JSON at all.
        Err(not_an_object) => Err(match serde_json::from_str::<&RawValue>(text) {
            Err(e) => format!("invalid JSON: {e}"),
            Ok(_) if !text.trim_ascii_start().starts_with('{') => {
                "the line is not a JSON object (a record)".to_owned()
            }
            Ok(_) => not_an_object.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Read;

    #[test]
    fn encodings_other_than_json_lines_are_refused() {
        assert!(check_encoding(&json!({"format": "jsonl", "compression": "gzip"})).is_ok());
        assert!(check_encoding(&json!({"format": "jsonl", "compression": "none"})).is_ok());
        assert!(check_encoding(&json!({"format": "jsonl"})).is_ok());
        assert_eq!(
            check_encoding(&json!({"format": "parquet", "compression": "gzip"})),
            Err("format \"parquet\" is not supported (only \"jsonl\")".into())
        );
        assert_eq!(
            check_encoding(&json!({"format": "jsonl", "compression": "zstd"})),
            Err("compression \"zstd\" is not supported (only \"gzip\" or \"none\")".into())
        );
        assert!(check_encoding(&json!({})).is_err());
    }

    #[test]
    fn a_line_must_be_one_json_object() {
        let mut splitter = RecordSplitter::default();
        let mut parse = |line: &'static [u8]| parse_record(line, &mut splitter);
        let (text, fields, shape) = parse(b"{\"a\": 1.10}\n").unwrap();
        assert_eq!((text, fields.len()), ("{\"a\": 1.10}", 1));
        assert_eq!(
            parse(b"[1]\n").map(|(text, ..)| text),
            Err("the line is not a JSON object (a record)".into())
        );
        assert!(parse(b"{\"a\": 1} {}\n").is_err());
        // Lines with the same keys have the same shape, others another.
        assert_eq!(parse(b"{\"a\":2}\n").unwrap().2, shape);
        assert_ne!(parse(b"{\"b\": 1}\n").unwrap().2, shape);
        assert!(parse(b"{\"a\": \xff}\n").is_err());
    }

    #[test]
    fn lines_in_the_buffer_and_across_reads_come_out_whole() {
        // Lines shorter and longer than the reader's 8-byte buffer, blank ones, and an
        // unterminated last line.
        let text: String = (0..40)
            .map(|i| format!("{}\n", "x".repeat((i * 7) % 23)))
            .chain(["\n".to_owned(), "last".to_owned()])
            .collect();
        let input = std::io::BufReader::with_capacity(8, std::io::Cursor::new(text.clone()));
        let mut lines = Lines::new(Box::new(input));
        let mut read = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            read.push(String::from_utf8(line.to_vec()).unwrap());
        }
        let expected: Vec<&str> = text.split_inclusive('\n').collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn gzip_files_of_several_members_and_plain_files_read_the_same() {
        use flate2::write::GzEncoder;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.jsonl");
        std::fs::write(&plain, "{\"id\": 1}\n{\"id\": 2}\n").unwrap();
        let gz = dir.path().join("two-members.json.gz");
        let mut bytes = Vec::new();
        for member in ["{\"id\": 1}\n", "{\"id\": 2}\n"] {
            let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(member.as_bytes()).unwrap();
            bytes.extend(encoder.finish().unwrap());
        }
        std::fs::write(&gz, bytes).unwrap();
        for path in [plain, gz] {
            let mut text = String::new();
            open_lines(File::open(&path).unwrap())
                .unwrap()
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, "{\"id\": 1}\n{\"id\": 2}\n", "{path:?}");
        }
    }
}
