//! Typed Singer messages: what the reader yields and what the writer writes.
//!
//! Reading borrows from the input line: a RECORD's `record` (with its fields split once)
//! and a STATE's `value` stay raw JSON text, so no `serde_json::Value` is built per
//! record on the hot path and numbers keep every digit. Spec: <https://github.com/singer-io/getting-started/blob/master/docs/SPEC.md>
//! and the Meltano SDK's BATCH message.

use std::borrow::Cow;
use std::fmt;

use serde_json::value::RawValue;

use crate::record::Fields;

/// The message types this project understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    Schema,
    Record,
    State,
    ActivateVersion,
    Batch,
}

impl MessageType {
    /// Parses a `type` value in any case (`record`, `RECORD`, `Record`), as lenient
    /// readers of the spec do.
    pub fn parse(text: &str) -> Option<MessageType> {
        const TYPES: [(&str, MessageType); 5] = [
            ("SCHEMA", MessageType::Schema),
            ("RECORD", MessageType::Record),
            ("STATE", MessageType::State),
            ("ACTIVATE_VERSION", MessageType::ActivateVersion),
            ("BATCH", MessageType::Batch),
        ];
        TYPES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(text))
            .map(|(_, t)| *t)
    }

    /// The standard upper-case spelling the writer emits.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Schema => "SCHEMA",
            MessageType::Record => "RECORD",
            MessageType::State => "STATE",
            MessageType::ActivateVersion => "ACTIVATE_VERSION",
            MessageType::Batch => "BATCH",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One Singer message, borrowing from the line it was read from.
#[derive(Debug, Clone)]
pub enum Message<'a> {
    Schema(SchemaMessage<'a>),
    Record(RecordMessage<'a>),
    State {
        /// The state object, raw, exactly as received.
        value: &'a RawValue,
    },
    ActivateVersion {
        stream: Cow<'a, str>,
        version: i64,
    },
    Batch(BatchMessage<'a>),
}

impl Message<'_> {
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Schema(_) => MessageType::Schema,
            Message::Record(_) => MessageType::Record,
            Message::State { .. } => MessageType::State,
            Message::ActivateVersion { .. } => MessageType::ActivateVersion,
            Message::Batch(_) => MessageType::Batch,
        }
    }

    /// The stream the message belongs to; STATE belongs to none.
    pub fn stream(&self) -> Option<&str> {
        match self {
            Message::Schema(m) => Some(&m.stream),
            Message::Record(m) => Some(&m.stream),
            Message::ActivateVersion { stream, .. } => Some(stream),
            Message::Batch(m) => Some(&m.stream),
            Message::State { .. } => None,
        }
    }
}

/// SCHEMA: the JSON Schema of a stream's records and its keys.
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaMessage<'a> {
    pub stream: Cow<'a, str>,
    /// Always an object with a `properties` object (the reader rejects anything else).
    pub schema: serde_json::Value,
    pub key_properties: Vec<String>,
    pub bookmark_properties: Vec<String>,
}

/// RECORD: one row, its body kept raw and split into its top-level fields.
#[derive(Debug, Clone)]
pub struct RecordMessage<'a> {
    pub stream: Cow<'a, str>,
    /// A JSON object (checked by the reader), raw text with every digit intact.
    pub record: &'a str,
    /// `record`'s top-level fields, borrowed from it (split once, by the reader).
    pub fields: Fields<'a>,
    pub version: Option<i64>,
    pub time_extracted: Option<Cow<'a, str>>,
    /// Which sequence of keys `fields` has: records read by the same reader with the
    /// same shape have the same keys in the same order, so a consumer that matched one
    /// record's keys to its columns can reuse the match (`None`: not known).
    pub shape: Option<u64>,
}

/// BATCH (Meltano SDK): records stored in files named by a manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchMessage<'a> {
    pub stream: Cow<'a, str>,
    /// `{"format": "jsonl", "compression": "gzip"}` and the like.
    pub encoding: serde_json::Value,
    pub manifest: Vec<String>,
    /// The records' table version and extraction time, as their RECORD messages would
    /// carry them: not in the SDK's BATCH, written by tap-oracle (`batch_config`).
    pub version: Option<i64>,
    pub time_extracted: Option<Cow<'a, str>>,
}
