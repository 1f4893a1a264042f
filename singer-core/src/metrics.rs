//! Singer metric lines (`METRIC: {...}`) on stderr through tracing, in the shape Meltano
//! SDK users already read.

use serde_json::json;

/// A counter, e.g. `record_count` for a stream.
pub fn counter(metric: &str, value: u64, stream: &str) {
    let line =
        json!({"type": "counter", "metric": metric, "value": value, "tags": {"stream": stream}});
    tracing::info!(target: "singer_metrics", "METRIC: {line}");
}

/// A timer in seconds, e.g. `sync_duration` for a stream.
pub fn timer(metric: &str, seconds: f64, stream: &str, status: &str) {
    let line = json!({"type": "timer", "metric": metric, "value": seconds, "tags": {"stream": stream, "status": status}});
    tracing::info!(target: "singer_metrics", "METRIC: {line}");
}
