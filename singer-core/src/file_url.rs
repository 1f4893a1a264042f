//! `file://` URLs of BATCH manifests (Meltano SDK), both ways: a target reads the local
//! path a manifest entry names, a tap names the files it wrote. Percent-encoded as
//! Python's `Path.as_uri()` writes them, which SDK taps use.

use std::path::{Path, PathBuf};

/// The local path a `file:///abs/path` or `file://localhost/...` URL names,
/// percent-decoded. Anything else is refused with the reason.
pub fn to_path(url: &str) -> Result<PathBuf, String> {
    let Some(rest) = url.strip_prefix("file://") else {
        return Err(match url.split_once("://") {
            Some((scheme, _)) => format!(
                "storage {scheme}:// is not supported: only local file:// URLs can be loaded"
            ),
            None => "is not a file:// URL".to_owned(),
        });
    };
    let path = rest.strip_prefix("localhost").unwrap_or(rest);
    if !path.starts_with('/') {
        return Err("is not a file:// URL of an absolute local path".to_owned());
    }
    percent_decode(path).map(PathBuf::from)
}

/// The `file://` URL of absolute `path`: every byte but letters, digits, `-._~` and `/`
/// percent-encoded.
pub fn from_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let mut url = String::with_capacity(text.len() + 8);
    url.push_str("file://");
    for &byte in text.as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Decodes `%XX` escapes into bytes; the result must be UTF-8.
fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("has a bad %-escape at byte {i}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "decodes to a path that is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_urls_become_local_paths() {
        assert_eq!(
            to_path("file:///tmp/a%20b/batch-1.json.gz"),
            Ok(PathBuf::from("/tmp/a b/batch-1.json.gz"))
        );
        assert_eq!(
            to_path("file://localhost/x/%C3%A9.jsonl"),
            Ok(PathBuf::from("/x/é.jsonl"))
        );
        assert_eq!(
            to_path("s3://bucket/key.json.gz"),
            Err("storage s3:// is not supported: only local file:// URLs can be loaded".into())
        );
        assert_eq!(to_path("/tmp/plain"), Err("is not a file:// URL".into()));
        assert!(to_path("file://host/x").is_err());
        assert!(to_path("file:///x%2").is_err());
        assert!(to_path("file:///x%zz").is_err());
    }

    #[test]
    fn paths_become_urls_that_read_back() {
        for path in [
            "/tmp/a b/c%d#e?f.jsonl.gz",
            "/x/é 中/batch-1.jsonl",
            "/plain/p-1_2.~",
        ] {
            let url = from_path(Path::new(path));
            assert!(url.starts_with("file:///"), "{url}");
            assert!(!url.contains([' ', '#', '?']), "{url}");
            assert_eq!(to_path(&url), Ok(PathBuf::from(path)), "{url}");
        }
        assert_eq!(
            from_path(Path::new("/tmp/a b.jsonl")),
            "file:///tmp/a%20b.jsonl"
        );
    }
}
