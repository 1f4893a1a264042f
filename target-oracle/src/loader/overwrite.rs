//! `load_method: overwrite` that survives a kill and a restart from the last STATE.
//!
//! Emptying the table at the first batch (the obvious way) loses what a killed run
//! committed: the restart empties it again, and the tap does not send those rows
//! again. Instead, nothing is deleted until the run ends:
//!
//! - every row carries `_SDC_LOAD_SEQUENCE` = load × 10^15 + input line, where the
//!   load is this run's start in microseconds;
//! - every STATE the target emits says, in the stream's bookmark under
//!   [`MARKER`], which rows of which loads it covers (`[{"load": L, "through_line": n}]`).
//!   Meltano stores that state and the tap carries the bookmark's keys forward on the
//!   restart (tap-oracle and Meltano SDK taps keep keys they do not know), so the
//!   restarted target learns which earlier rows belong to the load in progress;
//! - when the stream is complete (its ACTIVATE_VERSION after its records, else the
//!   successful end of the run), rows that neither this run nor a covered part of an
//!   earlier one wrote are deleted (the old contents, and what a killed run wrote
//!   after its last STATE, which the tap sent again), and later STATEs say `null` for
//!   the stream: the next run starts a fresh overwrite.
//!
//! Limits: a tap that drops unknown bookmark keys makes a restart replace the table
//! with only the rows sent after the restart, as before; a tap that, after a kill,
//! reads a stream again from its start although a STATE covering part of it was
//! emitted (no ACTIVATE_VERSION to say the stream was complete) leaves the killed
//! run's covered rows of a keyless stream twice (a keyed stream merges them).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde_json::value::RawValue;
use serde_json::{json, Map, Value as Json};

use db_boundary::{RowFilter, TableName, Value};

use super::Loader;
use crate::audit::BatchCounts;
use crate::error::TargetError;
use crate::stream::Meta;

/// The bookmark key carrying an unfinished overwrite through the tap's state.
pub(crate) const MARKER: &str = "target_oracle_overwrite";

/// Input lines per load in `_SDC_LOAD_SEQUENCE`.
const LINES_PER_LOAD: u128 = 1_000_000_000_000_000;

/// Rows of load `load` up to input line `through_line` belong to the overwrite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Covered {
    load: u64,
    through_line: u64,
}

/// The overwrites of one run.
#[derive(Debug)]
pub(crate) struct Overwrites {
    enabled: bool,
    /// This run's load: its start in microseconds.
    load: u64,
    /// Per stream, parts of earlier loads the tap's state says are covered.
    inherited: BTreeMap<String, BTreeSet<Covered>>,
    /// Streams this run loads, with their tables.
    current: BTreeMap<String, TableName>,
    /// Streams whose overwrite is complete (old rows deleted).
    finished: BTreeSet<String>,
    /// The newest STATE value read.
    last_state: Option<Box<RawValue>>,
    warned_unmarkable: bool,
}

impl Overwrites {
    pub(crate) fn new(enabled: bool, load: u64) -> Overwrites {
        Overwrites {
            enabled,
            load,
            inherited: BTreeMap::new(),
            current: BTreeMap::new(),
            finished: BTreeSet::new(),
            last_state: None,
            warned_unmarkable: false,
        }
    }

    /// `_SDC_LOAD_SEQUENCE` of a row read at input line `line`.
    pub(crate) fn sequence(&self, line: u64) -> Value {
        Value::number(&(u128::from(self.load) * LINES_PER_LOAD + u128::from(line)).to_string())
    }

    /// Stream `stream` is overwritten into `table` by this run.
    pub(crate) fn begin(&mut self, stream: &str, table: &TableName) {
        if self.enabled {
            self.current.insert(stream.to_owned(), table.clone());
        }
    }

    /// Learns the covered parts of earlier loads from a STATE the tap sent.
    pub(crate) fn learn(&mut self, state: &RawValue) {
        if !self.enabled {
            return;
        }
        self.last_state = Some(state.to_owned());
        let Ok(Json::Object(root)) = serde_json::from_str::<Json>(state.get()) else {
            return;
        };
        let Some(Json::Object(bookmarks)) = root.get("bookmarks") else {
            return;
        };
        for (stream, bookmark) in bookmarks {
            let Some(Json::Array(entries)) = bookmark.get(MARKER) else {
                continue;
            };
            for entry in entries {
                let (Some(load), Some(through_line)) = (
                    entry.get("load").and_then(Json::as_u64),
                    entry.get("through_line").and_then(Json::as_u64),
                ) else {
                    continue;
                };
                if load != self.load {
                    self.inherited
                        .entry(stream.clone())
                        .or_default()
                        .insert(Covered { load, through_line });
                }
            }
        }
    }

    /// The streams whose overwrite ends with this run: this run's and inherited ones.
    pub(crate) fn in_progress(&self) -> Vec<String> {
        let mut streams: BTreeSet<&String> = self.current.keys().collect();
        streams.extend(self.inherited.keys());
        streams.retain(|s| !self.finished.contains(*s));
        streams.into_iter().cloned().collect()
    }

    /// The table of stream `stream`, when this run loads it.
    pub(crate) fn table_of(&self, stream: &str) -> Option<&TableName> {
        self.current.get(stream)
    }

    /// The `_SDC_LOAD_SEQUENCE` ranges of the rows `stream` keeps at the end.
    pub(crate) fn kept_ranges(&self, stream: &str) -> Vec<(Value, Value)> {
        let range = |load: u64, last: u128| {
            let base = u128::from(load) * LINES_PER_LOAD;
            (
                Value::number(&base.to_string()),
                Value::number(&(base + last).to_string()),
            )
        };
        let mut ranges: Vec<(Value, Value)> = self
            .inherited
            .get(stream)
            .into_iter()
            .flatten()
            .map(|c| range(c.load, u128::from(c.through_line)))
            .collect();
        if self.current.contains_key(stream) {
            ranges.push(range(self.load, LINES_PER_LOAD - 1));
        }
        ranges
    }

    /// Stream `stream`'s table now holds only this overwrite's rows.
    pub(crate) fn finish(&mut self, stream: &str) {
        self.inherited.remove(stream);
        self.finished.insert(stream.to_owned());
    }

    /// Whether a stream finished and no STATE has told Meltano yet.
    pub(crate) fn has_finished(&self) -> bool {
        !self.finished.is_empty()
    }

    /// The newest STATE read, to be emitted again once overwrites finished.
    pub(crate) fn last_state(&self) -> Option<&RawValue> {
        self.last_state.as_deref()
    }

    /// The STATE read at input line `line` as the target emits it: each stream in
    /// progress gets what the state covers, each finished one `null`.
    pub(crate) fn stamp(&mut self, state: &RawValue, line: u64) -> Box<RawValue> {
        if !self.enabled || (self.in_progress().is_empty() && self.finished.is_empty()) {
            return state.to_owned();
        }
        let mut root = match serde_json::from_str::<Json>(state.get()) {
            Ok(Json::Object(root)) => root,
            _ => {
                if !self.warned_unmarkable {
                    self.warned_unmarkable = true;
                    tracing::warn!("the STATE value is not an object: a restart of this run cannot resume its overwrite");
                }
                return state.to_owned();
            }
        };
        let bookmarks = root
            .entry("bookmarks")
            .or_insert_with(|| Json::Object(Map::new()));
        if !bookmarks.is_object() {
            *bookmarks = Json::Object(Map::new());
        }
        let Json::Object(bookmarks) = bookmarks else {
            return state.to_owned();
        };
        for stream in self.in_progress() {
            let mut covered: Vec<Json> = self
                .inherited
                .get(&stream)
                .into_iter()
                .flatten()
                .map(|c| json!({"load": c.load, "through_line": c.through_line}))
                .collect();
            if self.current.contains_key(&stream) {
                covered.push(json!({"load": self.load, "through_line": line}));
            }
            bookmark(bookmarks, &stream).insert(MARKER.to_owned(), Json::Array(covered));
        }
        for stream in &self.finished {
            // An explicit null: Meltano deep-merges partial states.
            bookmark(bookmarks, stream).insert(MARKER.to_owned(), Json::Null);
        }
        RawValue::from_string(Json::Object(root).to_string()).unwrap_or_else(|_| state.to_owned())
    }
}

impl<W: Write> Loader<W> {
    /// Ends every overwrite in progress (the run is complete).
    pub(super) fn finish_overwrites(&mut self) -> Result<(), TargetError> {
        for stream in self.overwrites.in_progress() {
            self.finish_overwrite(&stream)?;
        }
        Ok(())
    }

    /// Ends the overwrite of `stream`: deletes the rows that neither this run nor a
    /// covered part of an earlier one wrote, in one transaction.
    pub(super) fn finish_overwrite(&mut self, stream: &str) -> Result<(), TargetError> {
        let current = self.overwrites.table_of(stream).cloned();
        let table = current
            .clone()
            .unwrap_or_else(|| self.table_naming.table_for(stream, &self.naming));
        let column = self
            .streams
            .get(stream)
            .and_then(|s| s.plan.meta_column(Meta::LoadSequence).map(str::to_owned))
            .unwrap_or_else(|| self.naming.identifier(Meta::LoadSequence.property()));
        let existing = self
            .sink
            .describe_table(&table)
            .map_err(TargetError::db(format!(
                "describing table {:?}",
                table.name
            )))?;
        let has_column = existing
            .as_ref()
            .is_some_and(|t| t.columns.iter().any(|c| c.name == column));
        let filter = match (&existing, has_column, &current) {
            (Some(_), true, _) => RowFilter::Outside {
                column,
                ranges: self.overwrites.kept_ranges(stream),
            },
            // This run wrote no row (the table never got the column): it is empty.
            (Some(_), false, Some(_)) => RowFilter::All,
            _ => {
                tracing::warn!(
                    stream,
                    table = %table.name,
                    "an earlier run's overwrite cannot be finished: its table or column is gone"
                );
                self.overwrites.finish(stream);
                return Ok(());
            }
        };
        let audit = &self.audit;
        let sink = &mut self.sink;
        let removed = sink
            .delete_rows(&table, &filter)
            .and_then(|removed| {
                let counts = BatchCounts {
                    deleted: removed,
                    ..BatchCounts::default()
                };
                if let Some(audit) = audit {
                    audit.stage(sink.as_mut(), stream, &counts)?;
                }
                sink.commit().map(|()| removed)
            })
            .map_err(|source| {
                let _ = self.sink.rollback();
                TargetError::Database {
                    context: format!("removing the rows of earlier loads from {:?}", table.name),
                    source,
                }
            })?;
        if let Some(audit) = &mut self.audit {
            let counts = BatchCounts {
                deleted: removed,
                ..BatchCounts::default()
            };
            audit.committed(stream, &counts);
        }
        tracing::info!(stream, table = %table.name, removed, "overwrite finished");
        self.overwrites.finish(stream);
        Ok(())
    }
}

/// The bookmark object of `stream`, made when missing.
fn bookmark<'a>(bookmarks: &'a mut Map<String, Json>, stream: &str) -> &'a mut Map<String, Json> {
    let entry = bookmarks
        .entry(stream.to_owned())
        .or_insert_with(|| Json::Object(Map::new()));
    if !entry.is_object() {
        *entry = Json::Object(Map::new());
    }
    match entry {
        Json::Object(map) => map,
        _ => unreachable!("just made an object"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    fn table() -> TableName {
        TableName {
            schema: None,
            name: "S".into(),
        }
    }

    #[test]
    fn states_carry_what_they_cover_and_a_restart_learns_it() {
        let mut first = Overwrites::new(true, 1_700_000_000_000_001);
        first.begin("S", &table());
        let stamped = first.stamp(&raw(r#"{"bookmarks":{"S":{"k":1}},"other":true}"#), 40);
        insta::assert_snapshot!(stamped.get(), @r#"{"bookmarks":{"S":{"k":1,"target_oracle_overwrite":[{"load":1700000000000001,"through_line":40}]}},"other":true}"#);
        // The restarted run reads it back from the tap (keys carried forward).
        let mut second = Overwrites::new(true, 1_700_000_000_000_999);
        second.learn(&stamped);
        second.begin("S", &table());
        let ranges = second.kept_ranges("S");
        assert_eq!(
            ranges,
            [
                (
                    Value::number("1700000000000001000000000000000"),
                    Value::number("1700000000000001000000000000040")
                ),
                (
                    Value::number("1700000000000999000000000000000"),
                    Value::number("1700000000000999999999999999999")
                ),
            ]
        );
        assert_eq!(
            second.sequence(7),
            Value::number("1700000000000999000000000000007")
        );
        let again = second.stamp(&stamped, 12);
        insta::assert_snapshot!(again.get(), @r#"{"bookmarks":{"S":{"k":1,"target_oracle_overwrite":[{"load":1700000000000001,"through_line":40},{"load":1700000000000999,"through_line":12}]}},"other":true}"#);
        second.finish("S");
        assert!(second.in_progress().is_empty());
        let done = second.stamp(&stamped, 99);
        insta::assert_snapshot!(done.get(), @r#"{"bookmarks":{"S":{"k":1,"target_oracle_overwrite":null}},"other":true}"#);
    }

    #[test]
    fn other_load_methods_pass_states_through_untouched() {
        let mut off = Overwrites::new(false, 5);
        off.begin("S", &table());
        let state =
            raw(r#"{"bookmarks":{"S":{"target_oracle_overwrite":[{"load":1,"through_line":2}]}}}"#);
        off.learn(&state);
        assert!(off.in_progress().is_empty());
        assert_eq!(off.stamp(&state, 3).get(), state.get());
        // A state that is not an object cannot carry a marker: it passes through.
        let mut on = Overwrites::new(true, 5);
        on.begin("S", &table());
        assert_eq!(on.stamp(&raw("[1]"), 3).get(), "[1]");
    }
}
