//! A selected catalog entry turned into everything its sync needs, checked before any
//! output: the table, the columns and how each number is written, and the replication
//! plan with its keys.

use serde_json::{json, Map, Value as Json};
use singer_core::catalog::CatalogEntry;
use singer_core::oracle_type::OracleType;

use db_boundary::ScanColumn;

use crate::convert::NumberStyle;
use crate::error::TapError;

/// A column the sync tracks its position by: its name, type and place in the columns.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyColumn {
    pub name: String,
    pub oracle_type: OracleType,
    /// Its index in [`StreamPlan::columns`].
    pub position: usize,
}

/// How a stream is replicated, carrying the keys that method reads by.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Replication {
    /// FULL_TABLE with a key: keyset passes ordered by these columns (never empty).
    FullTableByKey(Vec<KeyColumn>),
    /// FULL_TABLE of a table without a key: passes ordered by ROWID.
    FullTableByRowId,
    /// FULL_TABLE of a view without a key, or of an external table: one read in no
    /// order, no ROWID (refused on views that are not key-preserved, ORA-01445/01446,
    /// and on external tables, ORA-02031). An interrupted pass has no position to
    /// resume from: the next run reads the whole object again under a new version, and
    /// its ACTIVATE_VERSION retires the rows the interrupted pass sent.
    FullTableOnePass,
    /// INCREMENTAL by this replication key (`>=` the bookmark).
    Incremental(KeyColumn),
}

impl Replication {
    /// The method's Singer name, as `last_replication_method` stores it.
    pub(crate) fn method_name(&self) -> &'static str {
        match self {
            Replication::Incremental(_) => "INCREMENTAL",
            _ => "FULL_TABLE",
        }
    }
}

/// Everything one stream's sync needs.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    pub stream: String,
    pub owner: String,
    pub table: String,
    pub columns: Vec<String>,
    /// The same columns with their catalog types: a read's fetch plan and key binds
    /// follow from them.
    pub scan_columns: Vec<ScanColumn>,
    pub styles: Vec<NumberStyle>,
    pub schema: Json,
    pub key_properties: Vec<String>,
    /// For LOG_BASED, the snapshot pass's shape (keyset or ROWID).
    pub replication: Replication,
    /// LOG_BASED: every column's type (mined text is read back by type).
    pub log_based: Option<Vec<OracleType>>,
    /// An external table: never read `AS OF SCN` (ORA-08188), so a pass is one read of
    /// the files as they are.
    pub external: bool,
}

impl StreamPlan {
    /// The method's Singer name, as `last_replication_method` stores it.
    pub(crate) fn method_name(&self) -> &'static str {
        if self.log_based.is_some() {
            "LOG_BASED"
        } else {
            self.replication.method_name()
        }
    }
}

fn column_type(entry: &CatalogEntry, column: &str) -> Result<OracleType, TapError> {
    entry
        .sql_datatype(column)
        .ok_or_else(|| {
            TapError::stream(
                &entry.tap_stream_id,
                format!("column {column} has no sql-datatype in the catalog"),
            )
        })?
        .parse()
        .map_err(|e: singer_core::oracle_type::TypeParseError| {
            TapError::stream(&entry.tap_stream_id, e.to_string())
        })
}

/// The owner and table a stream reads: the catalog's `schema-name` and `table-name`,
/// else the stream id `OWNER-TABLE` when it holds exactly one `-` (quoted Oracle names
/// may contain `-`, so `A-B-C` could be `A`.`B-C` or `A-B`.`C`: refused, not guessed).
fn owner_and_table(entry: &CatalogEntry) -> Result<(String, String), TapError> {
    let id = &entry.tap_stream_id;
    if let (Some(o), Some(t)) = (entry.schema_name(), entry.table_name()) {
        return Ok((o.to_owned(), t.to_owned()));
    }
    let mut parts = id.split('-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(o), Some(t), None) if !o.is_empty() && !t.is_empty() => {
            Ok((o.to_owned(), t.to_owned()))
        }
        (_, Some(_), Some(_)) => Err(TapError::stream(
            id,
            "the stream id has more than one `-`, so its owner and table are ambiguous: \
             add `schema-name` and `table-name` to the stream's breadcrumb [] metadata \
             (tap-oracle --discover writes both)",
        )),
        _ => Err(TapError::stream(
            id,
            "the catalog names no schema-name and table-name, and the stream id is not OWNER-TABLE",
        )),
    }
}

/// The method the catalog (or the default) asks for, upper-cased and checked.
fn method(entry: &CatalogEntry, default_method: &str) -> Result<&'static str, TapError> {
    let id = &entry.tap_stream_id;
    let method = match entry
        .replication_method()
        .or_else(|| entry.forced_replication_method())
        .unwrap_or_else(|| default_method.to_owned())
        .to_ascii_uppercase()
        .as_str()
    {
        "FULL_TABLE" => "FULL_TABLE",
        "INCREMENTAL" => "INCREMENTAL",
        "LOG_BASED" => "LOG_BASED",
        other => {
            return Err(TapError::stream(
                id,
                format!("unknown replication method {other:?}"),
            ))
        }
    };
    if method == "INCREMENTAL" && entry.forced_replication_method().as_deref() == Some("FULL_TABLE")
    {
        return Err(TapError::stream(
            id,
            "INCREMENTAL is not possible here (no column can serve as replication key)",
        ));
    }
    Ok(method)
}

fn key_column(
    entry: &CatalogEntry,
    columns: &[String],
    name: &str,
) -> Result<Option<KeyColumn>, TapError> {
    let Some(position) = columns.iter().position(|c| c == name) else {
        return Ok(None);
    };
    Ok(Some(KeyColumn {
        name: name.to_owned(),
        oracle_type: column_type(entry, name)?,
        position,
    }))
}

fn incremental_key(entry: &CatalogEntry, columns: &[String]) -> Result<KeyColumn, TapError> {
    let id = &entry.tap_stream_id;
    let key = entry.replication_key().ok_or_else(|| {
        TapError::stream(id, "INCREMENTAL needs a replication-key in the catalog")
    })?;
    let column = key_column(entry, columns, &key)?
        .ok_or_else(|| TapError::stream(id, format!("replication key {key} is not a property")))?;
    if !column.oracle_type.is_orderable() {
        return Err(TapError::stream(
            id,
            format!(
                "replication key {key} of type {} cannot be ordered",
                column.oracle_type
            ),
        ));
    }
    Ok(column)
}

/// The selected properties' schemas and how each number is written.
fn schema_and_styles(entry: &CatalogEntry, columns: &[String]) -> (Json, Vec<NumberStyle>) {
    let mut properties = Map::new();
    let mut styles = Vec::with_capacity(columns.len());
    for c in columns {
        let schema = entry.property_schema(c).cloned().unwrap_or(json!({}));
        let decimal_string = matches!(
            schema.get("format").and_then(Json::as_str),
            Some("x-singer.decimal" | "singer.decimal")
        );
        styles.push(if decimal_string {
            NumberStyle::String
        } else {
            NumberStyle::Number
        });
        properties.insert(c.clone(), schema);
    }
    (json!({"type": "object", "properties": properties}), styles)
}

/// Plans one selected stream.
pub(crate) fn plan(entry: &CatalogEntry, default_method: &str) -> Result<StreamPlan, TapError> {
    let id = &entry.tap_stream_id;
    let (owner, table) = owner_and_table(entry)?;
    let method = method(entry, default_method)?;
    let mut columns = entry.selected_properties();
    if method == "LOG_BASED" {
        columns = crate::log_based::plan::minable_columns(entry, columns)?;
    }
    if columns.is_empty() {
        return Err(TapError::stream(id, "no property is selected"));
    }
    let (mut schema, styles) = schema_and_styles(entry, &columns);
    let scan_columns = columns
        .iter()
        .map(|c| Ok(ScanColumn::new(c.clone(), column_type(entry, c)?)))
        .collect::<Result<Vec<_>, TapError>>()?;
    let log_based = if method == "LOG_BASED" {
        if let Some(Json::Object(properties)) = schema.get_mut("properties") {
            crate::log_based::plan::add_change_properties(properties);
        }
        Some(scan_columns.iter().map(|c| c.data_type.clone()).collect())
    } else {
        None
    };
    let key_properties: Vec<String> = entry
        .key_properties()
        .into_iter()
        .filter(|k| columns.contains(k))
        .collect();
    let replication = if method == "INCREMENTAL" {
        Replication::Incremental(incremental_key(entry, &columns)?)
    } else {
        let keys = key_properties
            .iter()
            .filter_map(|k| key_column(entry, &columns, k).transpose())
            .collect::<Result<Vec<_>, _>>()?;
        // An external table is read whole: it has no ROWID, and without flashback
        // keyset pages would each scan the files again and see them change between pages.
        if entry.is_external() || (keys.is_empty() && entry.is_view()) {
            Replication::FullTableOnePass
        } else if keys.is_empty() {
            Replication::FullTableByRowId
        } else {
            Replication::FullTableByKey(keys)
        }
    };
    Ok(StreamPlan {
        stream: id.clone(),
        owner,
        table,
        schema,
        columns,
        scan_columns,
        styles,
        key_properties,
        replication,
        log_based,
        external: entry.is_external(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, metadata: Json) -> CatalogEntry {
        let catalog = singer_core::catalog::Catalog::from_json(json!({"streams": [{
            "tap_stream_id": id,
            "stream": id,
            "schema": {"type": "object", "properties": {}},
            "metadata": [{"breadcrumb": [], "metadata": metadata}],
        }]}))
        .unwrap();
        catalog.streams.into_iter().next().unwrap()
    }

    #[test]
    fn owner_and_table_come_from_metadata_else_an_unambiguous_stream_id() {
        let named = entry("A-B-C", json!({"schema-name": "A-B", "table-name": "C"}));
        assert_eq!(owner_and_table(&named).unwrap(), ("A-B".into(), "C".into()));
        let plain = entry("HR-EMPLOYEES", json!({}));
        assert_eq!(
            owner_and_table(&plain).unwrap(),
            ("HR".into(), "EMPLOYEES".into())
        );
        let ambiguous = owner_and_table(&entry("A-B-C", json!({}))).unwrap_err();
        assert!(ambiguous.to_string().contains("ambiguous"), "{ambiguous}");
        for bad in ["EMPLOYEES", "-EMPLOYEES", "HR-"] {
            assert!(owner_and_table(&entry(bad, json!({}))).is_err(), "{bad}");
        }
    }
}
