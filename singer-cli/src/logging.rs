//! Logging set-up: tracing to stderr only (stdout is Singer's), as text or as Meltano's
//! structured logging (one JSON object per line with `level, pid, logger_name, ts,
//! thread_name, app_name, message`).
//!
//! Level: `--log-level`, else `RUST_LOG`, else the root level of the JSON logging config
//! named by `SINGER_SDK_LOG_CONFIG`, else `info`.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// How a binary wants to log.
pub struct LogOptions<'a> {
    pub app_name: &'static str,
    pub level: Option<&'a str>,
    pub format: LogFormat,
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init_logging(options: &LogOptions<'_>) {
    let filter = match options.level {
        Some(level) => EnvFilter::new(level),
        None => match std::env::var("RUST_LOG") {
            Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
            _ => EnvFilter::new(sdk_log_config_level().unwrap_or_else(|| "info".to_owned())),
        },
    };
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a person at a terminal, never into Meltano's log files.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: the first subscriber stays.
    let _ = match options.format {
        LogFormat::Text => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .event_format(StructuredFormat {
                app_name: options.app_name,
            })
            .try_init(),
    };
}

/// The root level of `SINGER_SDK_LOG_CONFIG` when it names a JSON logging config
/// (`{"root": {"level": "DEBUG"}}`); YAML configs are not read.
fn sdk_log_config_level() -> Option<String> {
    let path = std::env::var_os("SINGER_SDK_LOG_CONFIG")?;
    let text = std::fs::read_to_string(path).ok()?;
    level_from_log_config(&text)
}

fn level_from_log_config(text: &str) -> Option<String> {
    let config: serde_json::Value = serde_json::from_str(text).ok()?;
    let level = config.get("root")?.get("level")?.as_str()?;
    Some(match level.to_ascii_uppercase().as_str() {
        "CRITICAL" | "FATAL" | "ERROR" => "error".to_owned(),
        "WARNING" | "WARN" => "warn".to_owned(),
        "DEBUG" => "debug".to_owned(),
        "NOTSET" | "TRACE" => "trace".to_owned(),
        _ => "info".to_owned(),
    })
}

/// Meltano's structured-logging line format.
pub struct StructuredFormat {
    pub app_name: &'static str,
}

#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: Vec<(String, String)>,
}

impl Visit for MessageVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        } else {
            self.fields
                .push((field.name().to_owned(), format!("{value:?}")));
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = value.to_owned();
        } else {
            self.fields
                .push((field.name().to_owned(), value.to_owned()));
        }
    }
}

impl StructuredFormat {
    fn line(&self, level: &str, target: &str, message: String) -> serde_json::Value {
        let thread = std::thread::current();
        serde_json::json!({
            "level": level,
            "pid": std::process::id(),
            "logger_name": target,
            "ts": chrono::Utc::now().timestamp_micros() as f64 / 1e6,
            "thread_name": thread.name().unwrap_or("main"),
            "app_name": self.app_name,
            "message": message,
        })
    }
}

impl<S, N> FormatEvent<S, N> for StructuredFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut visitor = MessageVisitor::default();
        event.record(&mut visitor);
        let mut message = visitor.message;
        for (name, value) in visitor.fields {
            message.push_str(&format!(" {name}={value}"));
        }
        let meta = event.metadata();
        let level = meta.level().as_str().to_ascii_lowercase();
        writeln!(writer, "{}", self.line(&level, meta.target(), message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn structured_lines_have_exactly_meltanos_keys() {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || sink.clone())
            .event_format(StructuredFormat {
                app_name: "tap-oracle",
            })
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(stream = "HR-EMP", "rows skipped");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        let mut keys: Vec<&str> = line
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "app_name",
                "level",
                "logger_name",
                "message",
                "pid",
                "thread_name",
                "ts"
            ]
        );
        assert_eq!(line["level"], "warn");
        assert_eq!(line["app_name"], "tap-oracle");
        assert_eq!(line["message"], "rows skipped stream=HR-EMP");
    }

    #[test]
    fn sdk_log_config_root_level_maps_to_a_filter() {
        assert_eq!(
            level_from_log_config(r#"{"version":1,"root":{"level":"DEBUG"}}"#).as_deref(),
            Some("debug")
        );
        assert_eq!(
            level_from_log_config(r#"{"root":{"level":"WARNING"}}"#).as_deref(),
            Some("warn")
        );
        assert_eq!(level_from_log_config("root: {level: DEBUG}"), None);
    }
}
