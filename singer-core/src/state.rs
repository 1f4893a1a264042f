//! Singer state: `bookmarks` per tap_stream_id and `currently_syncing`.
//!
//! Read tolerantly (an empty file, `null` and `{}` are all "no state"; a state wrapped
//! in STATE messages is unwrapped with a warning); keys this project does not know are
//! kept. Clearing a bookmark key writes an explicit `null`:
//! Meltano deep-merges a partial state over the old one, so a dropped key would survive.

use std::path::Path;

use serde_json::{Map, Value as Json};
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("state file {path} is not a JSON object: {reason}")]
    Invalid { path: String, reason: String },
}

/// A tap's state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    root: Map<String, Json>,
}

impl State {
    pub fn from_path(path: &Path) -> Result<State, StateError> {
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.display().to_string(),
            source,
        })?;
        State::from_text(&text).map_err(|reason| StateError::Invalid {
            path: path.display().to_string(),
            reason,
        })
    }

    pub fn from_text(text: &str) -> Result<State, String> {
        if text.trim().is_empty() {
            return Ok(State::default());
        }
        match serde_json::from_str::<Json>(text).map_err(|e| e.to_string())? {
            Json::Null => Ok(State::default()),
            Json::Object(root) => {
                let (root, depth) = unwrap_state_messages(root);
                if depth > 0 {
                    tracing::warn!(
                        levels = depth,
                        "the state is wrapped in a STATE message (`{{\"type\":\"STATE\",\"value\":...}}`, as \
                         earlier target-oracle builds wrote it); reading the state value inside it"
                    );
                }
                Ok(State { root })
            }
            other => Err(format!("found {}", kind(&other))),
        }
    }

    /// The bookmark of one stream, if any.
    pub fn bookmark(&self, tap_stream_id: &str) -> Option<&Map<String, Json>> {
        self.root
            .get("bookmarks")?
            .as_object()?
            .get(tap_stream_id)?
            .as_object()
    }

    /// One key of a stream's bookmark; `None` for absent or null.
    pub fn bookmark_value(&self, tap_stream_id: &str, key: &str) -> Option<&Json> {
        self.bookmark(tap_stream_id)?
            .get(key)
            .filter(|v| !v.is_null())
    }

    fn bookmark_mut(&mut self, tap_stream_id: &str) -> &mut Map<String, Json> {
        let bookmarks = self
            .root
            .entry("bookmarks")
            .or_insert_with(|| Json::Object(Map::new()));
        if !bookmarks.is_object() {
            *bookmarks = Json::Object(Map::new());
        }
        let Json::Object(bookmarks) = bookmarks else {
            unreachable!("just made an object")
        };
        let entry = bookmarks
            .entry(tap_stream_id.to_owned())
            .or_insert_with(|| Json::Object(Map::new()));
        if !entry.is_object() {
            *entry = Json::Object(Map::new());
        }
        match entry {
            Json::Object(map) => map,
            _ => unreachable!("just made an object"),
        }
    }

    pub fn set_bookmark_value(&mut self, tap_stream_id: &str, key: &str, value: Json) {
        self.bookmark_mut(tap_stream_id)
            .insert(key.to_owned(), value);
    }

    /// Clears a key by writing an explicit null (see the module doc).
    pub fn clear_bookmark_value(&mut self, tap_stream_id: &str, key: &str) {
        self.bookmark_mut(tap_stream_id)
            .insert(key.to_owned(), Json::Null);
    }

    pub fn currently_syncing(&self) -> Option<&str> {
        self.root.get("currently_syncing").and_then(Json::as_str)
    }

    /// Sets or (with `None`) clears `currently_syncing`, always as an explicit value.
    pub fn set_currently_syncing(&mut self, tap_stream_id: Option<&str>) {
        self.root.insert(
            "currently_syncing".to_owned(),
            tap_stream_id.map_or(Json::Null, |s| Json::String(s.to_owned())),
        );
    }

    /// The state as the value of a STATE message.
    pub fn as_json(&self) -> &Map<String, Json> {
        &self.root
    }
}

/// The state inside `{"type":"STATE","value":{...}}` wrappers, however deep, and how
/// many were removed. A target that wrote whole STATE messages made Meltano store them as
/// the state; a tap that kept the unknown `type`/`value` keys then added its own
/// `bookmarks` beside them, so a level with its own `bookmarks` is the newest state and
/// wins over the older value nested in it.
fn unwrap_state_messages(mut root: Map<String, Json>) -> (Map<String, Json>, usize) {
    let mut depth = 0;
    while root.get("type").and_then(Json::as_str) == Some("STATE")
        && root.get("value").is_some_and(Json::is_object)
    {
        depth += 1;
        if root.contains_key("bookmarks") {
            root.remove("type");
            root.remove("value");
            break;
        }
        let Some(Json::Object(inner)) = root.remove("value") else {
            unreachable!("checked to be an object")
        };
        root = inner;
    }
    (root, depth)
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_null_and_empty_object_are_no_state() {
        for text in ["", "  \n", "null", "{}"] {
            let state = State::from_text(text).unwrap();
            assert_eq!(state.bookmark("S"), None, "{text:?}");
            assert_eq!(state.currently_syncing(), None);
        }
        assert!(State::from_text("[1]").unwrap_err().contains("an array"));
    }

    #[test]
    fn a_state_wrapped_in_state_messages_at_any_depth_is_unwrapped() {
        let bare = r#"{"bookmarks":{"HR-EMP":{"replication_key_value":"5"}}}"#;
        let once = format!(r#"{{"type":"STATE","value":{bare}}}"#);
        let thrice = format!(r#"{{"type":"STATE","value":{{"type":"STATE","value":{once}}}}}"#);
        for text in [bare, &once, &thrice] {
            let state = State::from_text(text).unwrap();
            assert_eq!(
                state.bookmark_value("HR-EMP", "replication_key_value"),
                Some(&json!("5")),
                "{text}"
            );
            assert_eq!(
                Json::Object(state.as_json().clone()),
                json!({"bookmarks": {"HR-EMP": {"replication_key_value": "5"}}})
            );
        }
        // A tap kept the wrapper's keys and added newer bookmarks beside them: those win.
        let mixed = r#"{"type":"STATE","value":{"type":"STATE","value":{"bookmarks":{"S":{"k":1}}},"bookmarks":{"S":{"k":2}},"currently_syncing":null}}"#;
        let state = State::from_text(mixed).unwrap();
        assert_eq!(
            Json::Object(state.as_json().clone()),
            json!({"bookmarks": {"S": {"k": 2}}, "currently_syncing": null})
        );
        // A `type` key that is not a STATE wrapper is just an unknown key.
        let state = State::from_text(r#"{"type":"x","value":{"a":1}}"#).unwrap();
        assert_eq!(state.as_json().get("type"), Some(&json!("x")));
    }

    #[test]
    fn clearing_writes_explicit_nulls_and_keeps_unknown_keys() {
        let mut state = State::from_text(
            r#"{"bookmarks":{"HR-EMP":{"replication_key_value":"5","version":1}},"other":{"k":1}}"#,
        )
        .unwrap();
        assert_eq!(
            state.bookmark_value("HR-EMP", "replication_key_value"),
            Some(&json!("5"))
        );
        state.clear_bookmark_value("HR-EMP", "replication_key_value");
        state.set_bookmark_value("HR-DEPT", "version", json!(2));
        state.set_currently_syncing(None);
        assert_eq!(
            state.bookmark_value("HR-EMP", "replication_key_value"),
            None
        );
        assert_eq!(
            Json::Object(state.as_json().clone()),
            json!({
                "bookmarks": {
                    "HR-EMP": {"replication_key_value": null, "version": 1},
                    "HR-DEPT": {"version": 2}
                },
                "other": {"k": 1},
                "currently_syncing": null
            })
        );
    }
}
