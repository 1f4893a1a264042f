//! BATCH files (`batch_config`, as Meltano SDK taps have it): the rows a stream reads go
//! to JSON Lines files instead of RECORD messages, and a BATCH message naming each file
//! goes out where its RECORDs would have, followed by the STATE that covers them. A file
//! is finished and named only at a STATE (every `state_every_rows` rows, or every
//! `batch_size` rows if fewer) and at the end of each read, so no STATE ever covers rows
//! of a file not yet named, and a run killed mid-file leaves a file no message names
//! (the next run reads those rows again from the last STATE).
//!
//! The BATCH message also carries the records' `version` and `time_extracted`, which the
//! SDK's BATCH has no place for: target-oracle reads them, so a FULL_TABLE stream's
//! ACTIVATE_VERSION still retires the rows of older versions; SDK targets ignore them.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::write::GzEncoder;
use serde_json::Value as Json;

/// Rows per file when `batch_size` is not set: the SDK's default.
const DEFAULT_BATCH_SIZE: u64 = 10_000;

/// `batch_config`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchConfig {
    pub gzip: bool,
    /// The folder the files go to (`storage.root`, a `file://` URL).
    pub root: PathBuf,
    /// Put before every file's name (`storage.prefix`).
    pub prefix: String,
    /// Rows per file at most (`batch_size`).
    pub batch_size: u64,
}

impl BatchConfig {
    /// Reads the setting's object: `{"encoding": {"format": "jsonl", "compression":
    /// "gzip" | "none"}, "storage": {"root": "file:///abs/dir", "prefix": "..."},
    /// "batch_size": N}`. What it cannot honour is refused with the reason.
    pub(crate) fn from_setting(value: &Json) -> Result<BatchConfig, String> {
        let field = |path: &[&str]| {
            path.iter()
                .try_fold(value, |v, key| v.get(key))
                .filter(|v| !v.is_null())
        };
        match field(&["encoding", "format"]).map(|f| f.as_str()) {
            Some(Some("jsonl")) => {}
            Some(Some(other)) => {
                return Err(format!(
                    "encoding.format {other:?} is not supported (only \"jsonl\")"
                ))
            }
            _ => return Err("encoding.format is required (\"jsonl\")".into()),
        }
        let gzip = match field(&["encoding", "compression"]).map(|c| c.as_str()) {
            None | Some(Some("gzip")) => true,
            Some(Some("none")) => false,
            Some(_) => {
                return Err("encoding.compression must be \"gzip\" or \"none\"".into());
            }
        };
        let root = match field(&["storage", "root"]).map(|r| r.as_str()) {
            Some(Some(url)) => singer_core::file_url::to_path(url)
                .map_err(|reason| format!("storage.root {url:?} {reason}"))?,
            _ => return Err("storage.root is required (a file:// URL of a folder)".into()),
        };
        let prefix = match field(&["storage", "prefix"]) {
            None => String::new(),
            Some(Json::String(p)) if !p.contains('/') => p.clone(),
            Some(_) => return Err("storage.prefix must be a file name prefix (no /)".into()),
        };
        let batch_size = match field(&["batch_size"]) {
            None => DEFAULT_BATCH_SIZE,
            Some(n) => n
                .as_u64()
                .filter(|&n| n > 0)
                .ok_or("batch_size must be a whole number above 0")?,
        };
        Ok(BatchConfig {
            gzip,
            root,
            prefix,
            batch_size,
        })
    }

    /// The path of a new file for `stream`: prefix, the stream's name (characters a file
    /// name may not hold replaced), the run and a number no other file of this process
    /// has, so neither parallel streams and chunks nor later runs overwrite a file a
    /// target may not have loaded yet.
    pub(crate) fn new_path(&self, stream: &str, run_id: &str) -> PathBuf {
        static FILES: AtomicU64 = AtomicU64::new(0);
        let number = FILES.fetch_add(1, Ordering::Relaxed) + 1;
        let stream: String = stream
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || "-_.".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let extension = if self.gzip { "jsonl.gz" } else { "jsonl" };
        self.root.join(format!(
            "{}{stream}-{run_id}-{number:06}.{extension}",
            self.prefix
        ))
    }
}

/// One BATCH file being written.
pub(crate) struct BatchFile {
    out: Compressed,
    path: PathBuf,
    /// Records written.
    pub rows: u64,
}

enum Compressed {
    Gzip(Box<GzEncoder<BufWriter<File>>>),
    Plain(BufWriter<File>),
}

impl BatchFile {
    /// Creates the file (never over an existing one).
    pub(crate) fn create(path: PathBuf, gzip: bool) -> io::Result<BatchFile> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| in_file(&path, e))?;
        let raw = BufWriter::with_capacity(256 * 1024, file);
        let out = if gzip {
            Compressed::Gzip(Box::new(GzEncoder::new(raw, flate2::Compression::fast())))
        } else {
            Compressed::Plain(raw)
        };
        Ok(BatchFile { out, path, rows: 0 })
    }

    /// Appends one record line (the record object `line` holds, then a newline).
    pub(crate) fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let written = match &mut self.out {
            Compressed::Gzip(out) => out.write_all(line).and_then(|()| out.write_all(b"\n")),
            Compressed::Plain(out) => out.write_all(line).and_then(|()| out.write_all(b"\n")),
        };
        self.rows += 1;
        written.map_err(|e| in_file(&self.path, e))
    }

    /// Completes the file on disk (gzip trailer, flushed, synced) and answers its URL.
    pub(crate) fn finish(self) -> io::Result<String> {
        let raw = match self.out {
            Compressed::Gzip(out) => out.finish(),
            Compressed::Plain(out) => Ok(out),
        };
        raw.and_then(|raw| raw.into_inner().map_err(io::IntoInnerError::into_error))
            .and_then(|file| file.sync_all())
            .map_err(|e| in_file(&self.path, e))?;
        Ok(singer_core::file_url::from_path(&self.path))
    }
}

/// `e` naming the file it happened in.
fn in_file(path: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("BATCH file {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_setting_is_read_with_the_sdk_defaults_or_refused_with_the_reason() {
        let config = BatchConfig::from_setting(&json!({
            "encoding": {"format": "jsonl"},
            "storage": {"root": "file:///tmp/out%20dir"}
        }))
        .unwrap();
        assert_eq!(
            config,
            BatchConfig {
                gzip: true,
                root: PathBuf::from("/tmp/out dir"),
                prefix: String::new(),
                batch_size: DEFAULT_BATCH_SIZE,
            }
        );
        let refused = |value: Json| BatchConfig::from_setting(&value).unwrap_err();
        let root = json!({"root": "file:///tmp"});
        assert!(refused(json!({"storage": root})).contains("encoding.format is required"));
        assert!(
            refused(json!({"encoding": {"format": "parquet"}, "storage": root}))
                .contains("\"parquet\" is not supported")
        );
        assert!(refused(
            json!({"encoding": {"format": "jsonl", "compression": "zstd"},
                               "storage": root})
        )
        .contains("\"gzip\" or \"none\""));
        assert!(refused(json!({"encoding": {"format": "jsonl"},
                               "storage": {"root": "s3://bucket/x"}}))
        .contains("storage s3:// is not supported"));
        assert!(refused(json!({"encoding": {"format": "jsonl"}})).contains("storage.root"));
        assert!(refused(json!({"encoding": {"format": "jsonl"},
                               "storage": {"root": "file:///tmp", "prefix": "a/b"}}))
        .contains("prefix"));
        assert!(
            refused(json!({"encoding": {"format": "jsonl"}, "storage": root,
                               "batch_size": 0}))
            .contains("batch_size")
        );
    }

    #[test]
    fn each_file_gets_a_name_of_its_own_that_a_file_system_takes() {
        let config = BatchConfig {
            gzip: false,
            root: PathBuf::from("/out"),
            prefix: "p-".into(),
            batch_size: 1,
        };
        let a = config.new_path("HR-EMP/LOYEES \"x\"", "RUN1");
        let b = config.new_path("HR-EMP/LOYEES \"x\"", "RUN1");
        assert_ne!(a, b);
        let name = a.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("p-HR-EMP_LOYEES__x_-RUN1-"), "{name}");
        assert!(name.ends_with(".jsonl"), "{name}");
        assert_eq!(a.parent(), Some(std::path::Path::new("/out")));
    }

    #[test]
    fn files_hold_one_record_a_line_gzip_or_plain_and_are_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        for gzip in [true, false] {
            let path = dir.path().join(format!("f-{gzip}"));
            let mut file = BatchFile::create(path.clone(), gzip).unwrap();
            file.write_line(br#"{"a":1}"#).unwrap();
            file.write_line(br#"{"a":"\u00e9"}"#).unwrap();
            assert_eq!(file.rows, 2);
            let url = file.finish().unwrap();
            assert_eq!(singer_core::file_url::to_path(&url).unwrap(), path);
            let bytes = std::fs::read(&path).unwrap();
            let text = if gzip {
                let mut text = String::new();
                std::io::Read::read_to_string(
                    &mut flate2::read::GzDecoder::new(&bytes[..]),
                    &mut text,
                )
                .unwrap();
                text
            } else {
                String::from_utf8(bytes).unwrap()
            };
            assert_eq!(text, "{\"a\":1}\n{\"a\":\"\\u00e9\"}\n");
            let again = BatchFile::create(path, gzip).map(|_| ()).unwrap_err();
            assert!(again.to_string().contains("BATCH file"), "{again}");
        }
    }
}
