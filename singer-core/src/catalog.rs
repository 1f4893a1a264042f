//! The Singer catalog: streams, their JSON Schema, metadata, and the selection rules.
//!
//! Entries keep every key they arrive with (Meltano and other tools add their own), so a
//! catalog read and written back loses nothing. Selection follows the Singer spec and
//! singer-python's `should_sync_field`, with the Meltano SDK's inheritance: a property
//! with `inclusion: automatic` is always selected, `unsupported` never, otherwise its
//! own `selected`, else its `selected-by-default`, else the stream's selection; nothing
//! in a deselected stream is selected. Meltano also writes selection and replication as
//! top-level stream keys (`selected`, `replication_method`, `replication_key`,
//! `key_properties`): metadata wins where both are present, the top-level key is the
//! fallback.

use std::path::Path;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value as Json};
use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CatalogError {
    #[error("cannot read catalog {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid catalog: {0}")]
    Invalid(String),
}

/// One `{breadcrumb, metadata}` pair.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataEntry {
    /// `[]` for the stream, `["properties", "<column>"]` for a property.
    pub breadcrumb: Vec<String>,
    pub metadata: Map<String, Json>,
}

/// One stream of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub tap_stream_id: String,
    pub stream: String,
    pub schema: Json,
    pub metadata: Vec<MetadataEntry>,
    /// Every other key, in arrival order.
    pub other: Map<String, Json>,
}

/// A whole catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Catalog {
    pub streams: Vec<CatalogEntry>,
}

impl Catalog {
    pub fn from_path(path: &Path) -> Result<Catalog, CatalogError> {
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Catalog::from_text(&text)
    }

    /// Reads a whole catalog (`{"streams": [...]}`) from any reader, e.g. stdin or a
    /// byte slice in tests.
    pub fn from_reader<R: std::io::Read>(mut reader: R) -> Result<Catalog, CatalogError> {
        let mut text = String::new();
        reader
            .read_to_string(&mut text)
            .map_err(|source| CatalogError::Read {
                path: "<reader>".into(),
                source,
            })?;
        Catalog::from_text(&text)
    }

    pub fn from_text(text: &str) -> Result<Catalog, CatalogError> {
        let value: Json =
            serde_json::from_str(text).map_err(|e| CatalogError::Invalid(e.to_string()))?;
        Catalog::from_json(value)
    }

    pub fn from_json(value: Json) -> Result<Catalog, CatalogError> {
        let Json::Object(mut root) = value else {
            return Err(CatalogError::Invalid(
                "the catalog must be an object".into(),
            ));
        };
        let streams = match root.remove("streams") {
            Some(Json::Array(items)) => items,
            _ => {
                return Err(CatalogError::Invalid(
                    "the catalog needs a \"streams\" array".into(),
                ))
            }
        };
        let streams = streams
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                CatalogEntry::from_json(item)
                    .map_err(|why| CatalogError::Invalid(format!("streams[{i}]: {why}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Catalog { streams })
    }

    /// The streams selected for sync, in catalog order.
    pub fn selected_streams(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.streams.iter().filter(|s| s.is_selected())
    }

    pub fn to_json(&self) -> Json {
        serde_json::json!({ "streams": self.streams })
    }
}

impl Serialize for Catalog {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        map.serialize_entry("streams", &self.streams)?;
        map.end()
    }
}

impl Serialize for MetadataEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(2))?;
        map.serialize_entry("breadcrumb", &self.breadcrumb)?;
        map.serialize_entry("metadata", &self.metadata)?;
        map.end()
    }
}

impl Serialize for CatalogEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4 + self.other.len()))?;
        map.serialize_entry("tap_stream_id", &self.tap_stream_id)?;
        map.serialize_entry("stream", &self.stream)?;
        for (k, v) in &self.other {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("schema", &self.schema)?;
        map.serialize_entry("metadata", &self.metadata)?;
        map.end()
    }
}

fn breadcrumb_of(property: Option<&str>) -> Vec<String> {
    match property {
        None => Vec::new(),
        Some(p) => vec!["properties".to_owned(), p.to_owned()],
    }
}

impl CatalogEntry {
    fn from_json(value: Json) -> Result<CatalogEntry, String> {
        let Json::Object(mut other) = value else {
            return Err("a stream must be an object".into());
        };
        let take_string = |other: &mut Map<String, Json>, key: &str| match other.remove(key) {
            Some(Json::String(s)) => Ok(Some(s)),
            None | Some(Json::Null) => Ok(None),
            Some(_) => Err(format!("\"{key}\" must be a string")),
        };
        let tap_stream_id = take_string(&mut other, "tap_stream_id")?;
        let stream = take_string(&mut other, "stream")?;
        let (tap_stream_id, stream) = match (tap_stream_id, stream) {
            (Some(id), Some(s)) => (id, s),
            (Some(id), None) => (id.clone(), id),
            (None, Some(s)) => (s.clone(), s),
            (None, None) => return Err("a stream needs \"tap_stream_id\" or \"stream\"".into()),
        };
        let schema = other
            .remove("schema")
            .unwrap_or_else(|| serde_json::json!({"type": "object", "properties": {}}));
        let metadata = match other.remove("metadata") {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::Array(items)) => items
                .into_iter()
                .map(|item| {
                    let breadcrumb = item
                        .get("breadcrumb")
                        .and_then(Json::as_array)
                        .map(|b| {
                            b.iter()
                                .map(|p| p.as_str().map(str::to_owned).ok_or("breadcrumb"))
                                .collect::<Result<Vec<_>, _>>()
                        })
                        .transpose()
                        .map_err(|_| format!("{tap_stream_id}: a breadcrumb holds strings only"))?
                        .unwrap_or_default();
                    let metadata = item
                        .get("metadata")
                        .and_then(Json::as_object)
                        .cloned()
                        .unwrap_or_default();
                    Ok(MetadataEntry {
                        breadcrumb,
                        metadata,
                    })
                })
                .collect::<Result<_, String>>()?,
            Some(_) => return Err(format!("{tap_stream_id}: \"metadata\" must be an array")),
        };
        Ok(CatalogEntry {
            tap_stream_id,
            stream,
            schema,
            metadata,
            other,
        })
    }

    /// The metadata of the stream (`None`) or of one property.
    pub fn metadata_for(&self, property: Option<&str>) -> Option<&Map<String, Json>> {
        let crumb = breadcrumb_of(property);
        self.metadata
            .iter()
            .find(|m| m.breadcrumb == crumb)
            .map(|m| &m.metadata)
    }

    /// Sets one metadata key, creating the breadcrumb's entry when needed.
    pub fn set_metadata(&mut self, property: Option<&str>, key: &str, value: Json) {
        let crumb = breadcrumb_of(property);
        match self.metadata.iter_mut().find(|m| m.breadcrumb == crumb) {
            Some(entry) => {
                entry.metadata.insert(key.to_owned(), value);
            }
            None => {
                let mut metadata = Map::new();
                metadata.insert(key.to_owned(), value);
                self.metadata.push(MetadataEntry {
                    breadcrumb: crumb,
                    metadata,
                });
            }
        }
    }

    fn stream_meta(&self, key: &str) -> Option<&Json> {
        self.metadata_for(None)?.get(key).filter(|v| !v.is_null())
    }

    fn top_level(&self, key: &str) -> Option<&Json> {
        self.other.get(key).filter(|v| !v.is_null())
    }

    /// Whether the stream is selected: metadata `selected`, else Meltano's top-level
    /// `selected`, else the stream's `selected-by-default` (as the Meltano SDK reads
    /// it), else not. A catalog that says nothing selects nothing (singer-python).
    pub fn is_selected(&self) -> bool {
        self.stream_meta("selected")
            .or_else(|| self.top_level("selected"))
            .or_else(|| self.stream_meta("selected-by-default"))
            .and_then(Json::as_bool)
            .unwrap_or(false)
    }

    /// Property names in schema order.
    pub fn property_names(&self) -> Vec<String> {
        self.schema
            .get("properties")
            .and_then(Json::as_object)
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether one property is selected (rules in the module doc). Nothing in a
    /// deselected stream is, not even an `automatic` column (the Meltano SDK's rule).
    pub fn is_property_selected(&self, property: &str) -> bool {
        if !self.is_selected() {
            return false;
        }
        let meta = self.metadata_for(Some(property));
        let get = |key: &str| meta.and_then(|m| m.get(key)).filter(|v| !v.is_null());
        match get("inclusion").and_then(Json::as_str) {
            Some("automatic") => return true,
            Some("unsupported") => return false,
            _ => {}
        }
        if let Some(selected) = get("selected").and_then(Json::as_bool) {
            return selected;
        }
        if let Some(by_default) = get("selected-by-default").and_then(Json::as_bool) {
            return by_default;
        }
        true
    }

    /// The selected properties in schema order; key and replication-key columns are
    /// always included (unless unsupported).
    pub fn selected_properties(&self) -> Vec<String> {
        let keys = self.key_properties();
        let replication_key = self.replication_key();
        self.property_names()
            .into_iter()
            .filter(|p| {
                let unsupported = self
                    .metadata_for(Some(p))
                    .and_then(|m| m.get("inclusion"))
                    .and_then(Json::as_str)
                    == Some("unsupported");
                !unsupported
                    && (self.is_property_selected(p)
                        || keys.contains(p)
                        || replication_key.as_deref() == Some(p.as_str()))
            })
            .collect()
    }

    /// `replication-method` (metadata), else top-level `replication_method`.
    pub fn replication_method(&self) -> Option<String> {
        self.stream_meta("replication-method")
            .or_else(|| self.top_level("replication_method"))
            .and_then(Json::as_str)
            .map(str::to_owned)
    }

    /// `forced-replication-method`, set by discovery where only FULL_TABLE is possible.
    pub fn forced_replication_method(&self) -> Option<String> {
        self.stream_meta("forced-replication-method")
            .and_then(Json::as_str)
            .map(str::to_owned)
    }

    /// `replication-key` (metadata), else top-level `replication_key`.
    pub fn replication_key(&self) -> Option<String> {
        self.stream_meta("replication-key")
            .or_else(|| self.top_level("replication_key"))
            .and_then(Json::as_str)
            .map(str::to_owned)
    }

    /// `table-key-properties` (metadata), else top-level `key_properties`.
    pub fn key_properties(&self) -> Vec<String> {
        self.stream_meta("table-key-properties")
            .or_else(|| self.top_level("key_properties"))
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn schema_name(&self) -> Option<&str> {
        self.stream_meta("schema-name").and_then(Json::as_str)
    }

    /// The exact table name: metadata `table-name`, else top-level `table_name`.
    pub fn table_name(&self) -> Option<&str> {
        self.stream_meta("table-name")
            .or_else(|| self.top_level("table_name"))
            .and_then(Json::as_str)
    }

    pub fn is_view(&self) -> bool {
        self.stream_meta("is-view")
            .and_then(Json::as_bool)
            .unwrap_or(false)
    }

    /// An external table (metadata `is-external`): read without flashback and without
    /// ROWID, never LOG_BASED.
    pub fn is_external(&self) -> bool {
        self.stream_meta("is-external")
            .and_then(Json::as_bool)
            .unwrap_or(false)
    }

    /// The Oracle type of a property as discovery recorded it (`NUMBER(10,2)`).
    pub fn sql_datatype(&self, property: &str) -> Option<&str> {
        self.metadata_for(Some(property))?
            .get("sql-datatype")?
            .as_str()
    }

    /// The JSON Schema of one property.
    pub fn property_schema(&self, property: &str) -> Option<&Json> {
        self.schema.get("properties")?.get(property)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn catalog(stream_meta: Json, extra: Json) -> CatalogEntry {
        let mut entry = json!({
            "tap_stream_id": "HR-EMP",
            "stream": "HR-EMP",
            "schema": {"type": "object", "properties": {
                "ID": {"type": "integer"}, "NAME": {"type": ["null", "string"]},
                "GEOM": {}, "UPDATED": {"type": ["null", "string"]}, "NOTE": {"type": ["null", "string"]}
            }},
            "metadata": [
                {"breadcrumb": [], "metadata": stream_meta},
                {"breadcrumb": ["properties", "ID"], "metadata": {"inclusion": "automatic"}},
                {"breadcrumb": ["properties", "NAME"], "metadata": {"inclusion": "available", "selected": false}},
                {"breadcrumb": ["properties", "GEOM"], "metadata": {"inclusion": "unsupported", "selected": true}},
                {"breadcrumb": ["properties", "UPDATED"], "metadata": {"inclusion": "available", "selected-by-default": false}},
                {"breadcrumb": ["properties", "NOTE"], "metadata": {"inclusion": "available"}}
            ],
            "x-custom": {"kept": 1}
        });
        for (k, v) in extra.as_object().unwrap() {
            entry[k] = v.clone();
        }
        Catalog::from_json(json!({ "streams": [entry] }))
            .unwrap()
            .streams
            .remove(0)
    }

    #[test]
    fn selection_follows_the_singer_rules() {
        let entry = catalog(
            json!({"selected": true, "replication-method": "INCREMENTAL", "replication-key": "UPDATED", "table-key-properties": ["ID"]}),
            json!({}),
        );
        assert!(entry.is_selected());
        assert!(
            entry.is_property_selected("ID"),
            "automatic is always selected"
        );
        assert!(!entry.is_property_selected("NAME"), "explicit false");
        assert!(!entry.is_property_selected("GEOM"), "unsupported never");
        assert!(
            !entry.is_property_selected("UPDATED"),
            "selected-by-default false"
        );
        assert!(entry.is_property_selected("NOTE"), "inherits the stream");
        // The replication key is always included, the unsupported column never.
        assert_eq!(entry.selected_properties(), vec!["ID", "UPDATED", "NOTE"]);
    }

    #[test]
    fn top_level_keys_are_the_fallback_and_metadata_wins() {
        let entry = catalog(
            json!({}),
            json!({"selected": true, "replication_method": "FULL_TABLE", "replication_key": "X", "key_properties": ["ID"]}),
        );
        assert!(entry.is_selected());
        assert_eq!(entry.replication_method().as_deref(), Some("FULL_TABLE"));
        assert_eq!(entry.replication_key().as_deref(), Some("X"));
        assert_eq!(entry.key_properties(), vec!["ID"]);
        let entry = catalog(
            json!({"selected": false, "replication-method": "INCREMENTAL"}),
            json!({"selected": true, "replication_method": "FULL_TABLE"}),
        );
        assert!(!entry.is_selected());
        assert_eq!(entry.replication_method().as_deref(), Some("INCREMENTAL"));
    }

    #[test]
    fn unknown_keys_survive_a_round_trip() {
        let entry = catalog(json!({"selected": true}), json!({}));
        let text = serde_json::to_string(&Catalog {
            streams: vec![entry.clone()],
        })
        .unwrap();
        assert!(text.contains("\"x-custom\":{\"kept\":1}"));
        let back = Catalog::from_text(&text).unwrap();
        assert_eq!(back.streams[0], entry);
    }

    #[test]
    fn numbers_in_unknown_keys_and_metadata_keep_every_digit() {
        let text = r#"{"streams":[{"tap_stream_id":"HR-T","stream":"HR-T","x-big":12345678901234567890.123456789,"schema":{"type":"object","properties":{"ID":{"type":"integer","maximum":99999999999999999999999999999999999999}}},"metadata":[{"breadcrumb":[],"metadata":{"row-count":123456789012345678901234567890,"selected":true}}]}]}"#;
        let catalog = Catalog::from_reader(text.as_bytes()).unwrap();
        assert!(catalog.streams[0].is_selected());
        let written = serde_json::to_string(&catalog).unwrap();
        assert!(written.contains("\"x-big\":12345678901234567890.123456789"));
        assert!(written.contains("99999999999999999999999999999999999999"));
        assert!(written.contains("\"row-count\":123456789012345678901234567890"));
    }

    #[test]
    fn a_property_without_metadata_inherits_the_stream_selection() {
        let entry = catalog(json!({"selected": false}), json!({}));
        assert!(!entry.is_property_selected("NOTE"));
        assert!(
            !entry.is_property_selected("ID"),
            "automatic, but the stream is deselected"
        );
        // The stream's own selected-by-default applies when nothing says `selected`.
        assert!(catalog(json!({"selected-by-default": true}), json!({})).is_selected());
        assert!(!catalog(json!({"selected-by-default": false}), json!({})).is_selected());
        assert!(
            !catalog(json!({}), json!({})).is_selected(),
            "silence selects nothing"
        );
        // A property the metadata never mentions follows the stream too.
        let mut entry = catalog(json!({"selected": true}), json!({}));
        entry.metadata.retain(|m| m.breadcrumb.is_empty());
        assert!(entry.is_property_selected("NAME"));
        entry.set_metadata(Some("NAME"), "selected-by-default", json!(false));
        assert!(!entry.is_property_selected("NAME"));
        entry.set_metadata(Some("NAME"), "selected", json!(true));
        assert!(
            entry.is_property_selected("NAME"),
            "selected beats the default"
        );
    }

    #[test]
    fn malformed_catalogs_are_refused_with_a_reason() {
        assert!(Catalog::from_text("[]")
            .unwrap_err()
            .to_string()
            .contains("object"));
        assert!(Catalog::from_text("{}")
            .unwrap_err()
            .to_string()
            .contains("streams"));
        let err = Catalog::from_text(r#"{"streams":[{"schema":{}}]}"#).unwrap_err();
        assert!(err.to_string().contains("streams[0]"));
    }
}
