//! A stream's bookmark in STATE, typed: which method wrote it, the FULL_TABLE pass in
//! progress (version, position, SCN) and the INCREMENTAL position. Every key is written
//! on every STATE, absent ones as explicit nulls: Meltano deep-merges the state it
//! stored with the one a run emits (also after `--full-refresh`), so a key left out
//! would survive from an older run.
//!
//! Key and replication-key values are saved exactly as the RECORD carried them and read
//! back into a value to bind without losing digits or zone ([`to_json`], [`from_json`]).

use base64::Engine;
use chrono::{DateTime, FixedOffset, NaiveDateTime};
use db_boundary::{Decimal, Value};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use singer_core::oracle_type::OracleType;

use crate::convert::{write_value, NumberStyle};

/// One stream's bookmark. Field order is the order of the keys in STATE.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct StreamBookmark {
    /// `FULL_TABLE` or `INCREMENTAL`: a change of method starts the stream over.
    #[serde(default)]
    pub last_replication_method: Option<String>,
    /// INCREMENTAL: the replication key and the last value read (inclusive next time).
    #[serde(default)]
    pub replication_key: Option<String>,
    #[serde(default)]
    pub replication_key_value: Option<Json>,
    /// FULL_TABLE: the table version of the pass (kept after the pass completes).
    #[serde(default)]
    pub version: Option<i64>,
    /// FULL_TABLE with a key: the key of the last row sent in an unfinished pass.
    #[serde(default)]
    pub last_pk_fetched: Option<Map<String, Json>>,
    /// FULL_TABLE without a key: the ROWID of the last row sent in an unfinished pass.
    #[serde(default)]
    pub last_rowid: Option<String>,
    /// FULL_TABLE with flashback: the SCN an unfinished pass reads as of.
    #[serde(default)]
    pub scn: Option<u64>,
    /// FULL_TABLE in chunks: each chunk's key range and progress (`max_parallel_chunks`).
    #[serde(default)]
    pub chunks: Option<Vec<ChunkBookmark>>,
    /// A sharded run (`shard_plan`): which plan and shard this pass is, and whether it
    /// is complete (the final step checks it, README "Sharded runs").
    #[serde(default)]
    pub shard: Option<ShardBookmark>,
    /// LOG_BASED: the snapshot's SCN and the low-water SCN of the transactions open at
    /// it, while the snapshot pass runs (docs/log-based.md).
    #[serde(default)]
    pub snapshot_scn: Option<u64>,
    #[serde(default)]
    pub snapshot_low_water: Option<u64>,
    /// LOG_BASED: the stream's place in the redo once its snapshot is done
    /// (`log_based::position::LogPosition`).
    #[serde(default)]
    pub log_position: Option<Json>,
    /// Keys this version does not know, kept as they were.
    #[serde(skip)]
    pub other: Map<String, Json>,
}

/// One chunk of a chunked FULL_TABLE pass: the rows after `after` and through
/// `through` (key values as RECORDs carry them; `None` is the table's start or end).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct ChunkBookmark {
    /// The chunk's lower bound at first, then the key of its last row sent.
    pub after: Option<Map<String, Json>>,
    pub through: Option<Map<String, Json>>,
    pub done: bool,
}

/// One shard's pass of a shard plan: the plan's SCN, this run's shard of how many,
/// and whether it read all its chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ShardBookmark {
    pub plan_scn: u64,
    pub index: usize,
    pub count: usize,
    pub complete: bool,
}

/// The keys [`StreamBookmark`] owns.
const KNOWN: &[&str] = &[
    "last_replication_method",
    "replication_key",
    "replication_key_value",
    "version",
    "last_pk_fetched",
    "last_rowid",
    "scn",
    "chunks",
    "shard",
    "snapshot_scn",
    "snapshot_low_water",
    "log_position",
];

impl StreamBookmark {
    /// Reads a stream's bookmark from STATE; nulls and absent keys are `None`.
    pub(crate) fn from_map(map: &Map<String, Json>) -> Result<StreamBookmark, String> {
        let (known, other): (Map<String, Json>, Map<String, Json>) = map
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .partition(|(k, _)| KNOWN.contains(&k.as_str()));
        // Each key on its own, so a number keeps its digits (no buffering through
        // serde's untyped content) and a bad key names itself.
        let mut bookmark = StreamBookmark {
            other,
            ..StreamBookmark::default()
        };
        let field = |key: &str| known.get(key).filter(|v| !v.is_null());
        let text = |key: &str| -> Result<Option<String>, String> {
            match field(key) {
                None => Ok(None),
                Some(Json::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(format!("bookmark key {key} is not a string: {other}")),
            }
        };
        bookmark.last_replication_method = text("last_replication_method")?;
        bookmark.replication_key = text("replication_key")?;
        bookmark.replication_key_value = field("replication_key_value").cloned();
        bookmark.version = field("version").and_then(Json::as_i64);
        bookmark.last_pk_fetched = match field("last_pk_fetched") {
            None => None,
            Some(Json::Object(m)) => Some(m.clone()),
            Some(other) => {
                return Err(format!(
                    "bookmark key last_pk_fetched is not an object: {other}"
                ))
            }
        };
        bookmark.last_rowid = text("last_rowid")?;
        bookmark.scn = field("scn").and_then(Json::as_u64);
        bookmark.snapshot_scn = field("snapshot_scn").and_then(Json::as_u64);
        bookmark.snapshot_low_water = field("snapshot_low_water").and_then(Json::as_u64);
        bookmark.log_position = field("log_position").cloned();
        bookmark.chunks = match field("chunks") {
            None => None,
            Some(chunks) => Some(
                serde_json::from_value(chunks.clone())
                    .map_err(|e| format!("bookmark key chunks: {e}"))?,
            ),
        };
        bookmark.shard = match field("shard") {
            None => None,
            Some(shard) => Some(
                serde_json::from_value(shard.clone())
                    .map_err(|e| format!("bookmark key shard: {e}"))?,
            ),
        };
        Ok(bookmark)
    }

    /// The bookmark as STATE holds it: every known key, absent ones as explicit nulls,
    /// then the unknown keys.
    pub(crate) fn to_map(&self) -> Map<String, Json> {
        let mut map = match serde_json::to_value(self) {
            Ok(Json::Object(map)) => map,
            _ => Map::new(),
        };
        for (k, v) in &self.other {
            map.entry(k.clone()).or_insert_with(|| v.clone());
        }
        map
    }

    /// Forgets an unfinished FULL_TABLE pass's position and SCN (the version stays).
    pub(crate) fn clear_pass(&mut self) {
        self.last_pk_fetched = None;
        self.last_rowid = None;
        self.scn = None;
        self.chunks = None;
    }

    /// Whether an unfinished FULL_TABLE pass is recorded.
    pub(crate) fn resuming(&self) -> bool {
        self.last_pk_fetched.is_some() || self.last_rowid.is_some() || self.chunks.is_some()
    }

    /// The bookmark a stream starts from under `method`: a different method than the
    /// last run's starts over, keeping only unknown keys.
    pub(crate) fn for_method(mut self, method: &str) -> StreamBookmark {
        if self
            .last_replication_method
            .as_deref()
            .is_some_and(|previous| previous != method)
        {
            tracing::info!(
                previous_method = self.last_replication_method.as_deref().unwrap_or_default(),
                method,
                "replication method changed: starting over"
            );
            self = StreamBookmark {
                other: std::mem::take(&mut self.other),
                ..StreamBookmark::default()
            };
        }
        self.last_replication_method = Some(method.to_owned());
        match method {
            "FULL_TABLE" => {
                self.replication_key = None;
                self.replication_key_value = None;
                self.clear_log();
            }
            // A snapshot pass like FULL_TABLE's, then the redo.
            "LOG_BASED" => {
                self.replication_key = None;
                self.replication_key_value = None;
            }
            _ => {
                self.version = None;
                self.shard = None;
                self.clear_pass();
                self.clear_log();
            }
        }
        self
    }

    /// Forgets a LOG_BASED stream's snapshot and log position.
    pub(crate) fn clear_log(&mut self) {
        self.snapshot_scn = None;
        self.snapshot_low_water = None;
        self.log_position = None;
    }
}

/// The JSON a bookmark stores for `value` (the same text a RECORD holds).
pub(crate) fn to_json(value: &Value, source_offset: FixedOffset) -> Json {
    let mut out = Vec::new();
    write_value(value, NumberStyle::Number, source_offset, &mut out);
    // The text is valid JSON by construction; a number keeps its digits through
    // serde_json's arbitrary precision.
    serde_json::from_slice(&out).unwrap_or(Json::Null)
}

/// A date-time as [`to_json`] writes it: RFC 3339, or, for years outside 1-9999, an ISO
/// 8601 expanded year in UTC (`-0044-03-15T00:00:00Z`), which RFC 3339 cannot hold.
fn parse_instant(text: &str) -> Result<DateTime<FixedOffset>, String> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|e| {
            text.strip_suffix('Z')
                .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").ok())
                .map(|utc| utc.and_utc().fixed_offset())
                .ok_or(e)
        })
        .map_err(|e| format!("bad date-time bookmark: {e}"))
}

/// The value to bind for a bookmark of a column of `oracle_type`.
pub(crate) fn from_json(
    json: &Json,
    oracle_type: &OracleType,
    source_offset: FixedOffset,
) -> Result<Value, String> {
    use OracleType as T;
    if json.is_null() {
        return Ok(Value::Null);
    }
    let text = || -> Result<String, String> {
        match json {
            Json::String(s) => Ok(s.clone()),
            Json::Number(n) => Ok(n.to_string()),
            other => Err(format!("unexpected bookmark value {other}")),
        }
    };
    let instant = || -> Result<DateTime<FixedOffset>, String> { parse_instant(&text()?) };
    Ok(match oracle_type {
        T::Number { .. } | T::Float { .. } => {
            Value::Number(Decimal::parse(&text()?).map_err(|_| "bad number bookmark".to_owned())?)
        }
        T::BinaryFloat => Value::BinaryFloat(text()?.parse().map_err(|_| "bad float bookmark")?),
        T::BinaryDouble => Value::BinaryDouble(text()?.parse().map_err(|_| "bad float bookmark")?),
        // Written in UTC from `source_timezone`: back to the source's wall clock.
        T::Date => Value::Date(instant()?.with_timezone(&source_offset).naive_local()),
        T::Timestamp { .. } => {
            Value::Timestamp(instant()?.with_timezone(&source_offset).naive_local())
        }
        T::TimestampTz { .. } | T::TimestampLtz { .. } => Value::TimestampTz(instant()?),
        T::Raw { .. } => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(text()?)
                .map_err(|e| format!("bad base64 bookmark: {e}"))?,
        ),
        _ => Value::Text(text()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::parse_offset;
    use chrono::NaiveDate;

    #[test]
    fn bookmarks_round_trip_exactly() {
        let offset = parse_offset("+02:00").unwrap();
        let t = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_nano_opt(3, 4, 5, 123_456_789)
            .unwrap();
        let cases = [
            (
                Value::number("12345678901234567890123456789012345678.5"),
                "NUMBER",
            ),
            (Value::Timestamp(t), "TIMESTAMP(9)"),
            (Value::Date(t.with_nanosecond(0).unwrap()), "DATE"),
            (
                Value::TimestampTz(
                    FixedOffset::east_opt(0)
                        .unwrap()
                        .from_local_datetime(&t)
                        .unwrap(),
                ),
                "TIMESTAMP(9) WITH TIME ZONE",
            ),
            (Value::Text("K-1".into()), "VARCHAR2(10 BYTE)"),
            // Years outside 1-9999 are written as ISO 8601 expanded years.
            (
                Value::Date(
                    NaiveDate::from_ymd_opt(-44, 3, 15)
                        .unwrap()
                        .and_hms_opt(12, 0, 0)
                        .unwrap(),
                ),
                "DATE",
            ),
            (
                Value::TimestampTz(
                    FixedOffset::east_opt(0)
                        .unwrap()
                        .from_local_datetime(
                            &NaiveDate::from_ymd_opt(10_000, 1, 1)
                                .unwrap()
                                .and_hms_nano_opt(0, 0, 0, 5)
                                .unwrap(),
                        )
                        .unwrap(),
                ),
                "TIMESTAMP(9) WITH TIME ZONE",
            ),
            (Value::Bytes(vec![1, 2, 3]), "RAW(16)"),
        ];
        for (value, sql_type) in cases {
            let json = to_json(&value, offset);
            let back = from_json(&json, &sql_type.parse().unwrap(), offset).unwrap();
            assert_eq!(back, value, "{sql_type}: {json}");
        }
        let json = to_json(
            &Value::number("12345678901234567890123456789012345678.5"),
            offset,
        );
        assert_eq!(
            serde_json::to_string(&json).unwrap(),
            "12345678901234567890123456789012345678.5"
        );
    }

    use chrono::{TimeZone, Timelike};

    #[test]
    fn a_bookmark_reads_and_writes_every_key_with_explicit_nulls() {
        let state: Json = serde_json::from_str(
            r#"{"last_replication_method":"FULL_TABLE","version":17,"last_pk_fetched":{"ID":12345678901234567890.5},"scn":9,"custom":1}"#,
        )
        .unwrap();
        let bookmark = StreamBookmark::from_map(state.as_object().unwrap()).unwrap();
        assert!(bookmark.resuming());
        assert_eq!(bookmark.scn, Some(9));
        assert_eq!(
            Json::Object(bookmark.to_map()).to_string(),
            r#"{"last_replication_method":"FULL_TABLE","replication_key":null,"replication_key_value":null,"version":17,"last_pk_fetched":{"ID":12345678901234567890.5},"last_rowid":null,"scn":9,"chunks":null,"shard":null,"snapshot_scn":null,"snapshot_low_water":null,"log_position":null,"custom":1}"#
        );
        let switched = bookmark.for_method("INCREMENTAL");
        assert_eq!(switched.version, None);
        assert!(!switched.resuming());
        assert_eq!(switched.other.get("custom"), Some(&serde_json::json!(1)));
        // LOG_BASED keeps its snapshot pass and log position; another method drops them.
        let log: Json = serde_json::from_str(
            r#"{"last_replication_method":"LOG_BASED","version":3,"snapshot_scn":40,"snapshot_low_water":31,"last_pk_fetched":{"ID":7},"log_position":{"scn":41}}"#,
        )
        .unwrap();
        let log = StreamBookmark::from_map(log.as_object().unwrap()).unwrap();
        let kept = log.clone().for_method("LOG_BASED");
        assert_eq!(
            (kept.snapshot_scn, kept.snapshot_low_water),
            (Some(40), Some(31))
        );
        assert!(kept.resuming() && kept.log_position.is_some());
        let dropped = log.for_method("FULL_TABLE");
        assert_eq!((dropped.snapshot_scn, dropped.log_position), (None, None));
        let bad: Json = serde_json::from_str(r#"{"last_pk_fetched":3}"#).unwrap();
        assert!(StreamBookmark::from_map(bad.as_object().unwrap()).is_err());
    }
}
