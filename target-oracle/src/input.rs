//! Singer input lines -> the messages the loader acts on, with the RECORD body kept as
//! raw JSON text borrowed from the line (no `serde_json::Value` per record, no float
//! ever touching a number).
//!
//! Lenient where the Singer spec is: message types in any case, unknown types and extra
//! fields ignored.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value as Json;

/// One Singer message, borrowing from its line.
#[derive(Debug)]
pub enum Message<'a> {
    Schema {
        stream: Cow<'a, str>,
        schema: Json,
        key_properties: Vec<String>,
    },
    Record {
        stream: Cow<'a, str>,
        record: &'a RawValue,
        version: Option<i64>,
        time_extracted: Option<Cow<'a, str>>,
    },
    State(&'a RawValue),
    ActivateVersion {
        stream: Cow<'a, str>,
        version: i64,
    },
    /// BATCH or an unknown type: reported once by the caller and skipped.
    Other(Cow<'a, str>),
}

/// A line that is not a usable Singer message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadMessage(pub String);

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    stream: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    record: Option<&'a RawValue>,
    #[serde(default)]
    schema: Option<Json>,
    #[serde(default)]
    key_properties: Option<Vec<String>>,
    #[serde(borrow, default)]
    version: Option<&'a RawValue>,
    #[serde(borrow, default)]
    time_extracted: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value: Option<&'a RawValue>,
}

fn version_of(raw: Option<&RawValue>) -> Result<Option<i64>, BadMessage> {
    match raw.map(RawValue::get) {
        None | Some("null") => Ok(None),
        Some(text) => text
            .parse::<i64>()
            .map(Some)
            .map_err(|_| BadMessage("\"version\" is not an integer".into())),
    }
}

/// Parses one non-blank line.
pub fn parse_line(line: &str) -> Result<Message<'_>, BadMessage> {
    let envelope: Envelope<'_> =
        serde_json::from_str(line).map_err(|e| BadMessage(format!("invalid JSON: {}", e)))?;
    let kind = envelope
        .kind
        .ok_or_else(|| BadMessage("the message has no \"type\"".into()))?;
    let stream = || {
        envelope
            .stream
            .clone()
            .ok_or_else(|| BadMessage(format!("a {kind} message has no \"stream\"")))
    };
    if kind.eq_ignore_ascii_case("RECORD") {
        let record = envelope
            .record
            .ok_or_else(|| BadMessage("a RECORD message has no \"record\"".into()))?;
        if !record.get().starts_with('{') {
            return Err(BadMessage("\"record\" is not a JSON object".into()));
        }
        return Ok(Message::Record {
            stream: stream()?,
            record,
            version: version_of(envelope.version)?,
            time_extracted: envelope.time_extracted,
        });
    }
    if kind.eq_ignore_ascii_case("SCHEMA") {
        let schema = envelope
            .schema
            .ok_or_else(|| BadMessage("a SCHEMA message has no \"schema\"".into()))?;
        if !schema.is_object() {
            return Err(BadMessage("\"schema\" is not a JSON object".into()));
        }
        return Ok(Message::Schema {
            stream: stream()?,
            schema,
            key_properties: envelope.key_properties.unwrap_or_default(),
        });
    }
    if kind.eq_ignore_ascii_case("STATE") {
        let value = envelope
            .value
            .ok_or_else(|| BadMessage("a STATE message has no \"value\"".into()))?;
        return Ok(Message::State(value));
    }
    if kind.eq_ignore_ascii_case("ACTIVATE_VERSION") {
        let version = version_of(envelope.version)?
            .ok_or_else(|| BadMessage("an ACTIVATE_VERSION message has no \"version\"".into()))?;
        return Ok(Message::ActivateVersion {
            stream: stream()?,
            version,
        });
    }
    Ok(Message::Other(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_bodies_stay_raw_and_exact() {
        let line = r#"{"type":"RECORD","stream":"S","record":{"N":12345678901234567890123456789012345678.5},"version":7,"time_extracted":"2024-01-01T00:00:00Z","extra":1}"#;
        match parse_line(line).unwrap() {
            Message::Record {
                stream,
                record,
                version,
                time_extracted,
            } => {
                assert_eq!(stream, "S");
                assert_eq!(
                    record.get(),
                    r#"{"N":12345678901234567890123456789012345678.5}"#
                );
                assert_eq!(version, Some(7));
                assert_eq!(time_extracted.as_deref(), Some("2024-01-01T00:00:00Z"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn types_are_case_insensitive_and_unknown_ones_pass_through() {
        assert!(matches!(
            parse_line(r#"{"type":"state","value":{"a":1}}"#).unwrap(),
            Message::State(v) if v.get() == r#"{"a":1}"#
        ));
        assert!(matches!(
            parse_line(r#"{"type":"BATCH","stream":"S"}"#).unwrap(),
            Message::Other(kind) if kind == "BATCH"
        ));
        assert!(matches!(
            parse_line(r#"{"type":"SCHEMA","stream":"S","schema":{"properties":{}}}"#).unwrap(),
            Message::Schema { key_properties, .. } if key_properties.is_empty()
        ));
    }

    #[test]
    fn malformed_messages_say_why() {
        for (line, reason) in [
            ("{", "invalid JSON"),
            (r#"{"stream":"S"}"#, "the message has no \"type\""),
            (
                r#"{"type":"RECORD","stream":"S","record":[1]}"#,
                "\"record\" is not a JSON object",
            ),
            (
                r#"{"type":"RECORD","record":{}}"#,
                "a RECORD message has no \"stream\"",
            ),
            (
                r#"{"type":"ACTIVATE_VERSION","stream":"S"}"#,
                "no \"version\"",
            ),
            (
                r#"{"type":"RECORD","stream":"S","record":{},"version":1.5}"#,
                "not an integer",
            ),
        ] {
            let err = parse_line(line).unwrap_err();
            assert!(err.0.contains(reason), "{line}: {err}");
        }
    }
}
