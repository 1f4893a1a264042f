//! What a LOG_BASED stream reads: the selected columns LogMiner can return (LOB, LONG,
//! object and virtual columns are excluded with a warning; a key among them refuses the
//! stream) and the `_sdc_` properties every change carries.

use serde_json::{json, Map, Value as Json};
use singer_core::catalog::CatalogEntry;
use singer_core::oracle_type::OracleType;

use crate::error::TapError;

/// `_sdc_commit_scn`: the commit SCN of a change (null for snapshot rows).
pub const COMMIT_SCN: &str = "_sdc_commit_scn";
/// `_sdc_commit_timestamp`: its commit time, UTC.
pub const COMMIT_TIMESTAMP: &str = "_sdc_commit_timestamp";
/// `_sdc_deleted_at`: the commit time of a delete, else null.
pub const DELETED_AT: &str = "_sdc_deleted_at";

/// Why LogMiner cannot return a column of this type, if it cannot.
pub fn unminable(data_type: &OracleType) -> Option<&'static str> {
    use OracleType as T;
    match data_type {
        T::Clob | T::NClob | T::Blob => Some("LOB columns are not returned by MINE_VALUE"),
        T::Long | T::LongRaw => Some("LONG columns are not returned by MINE_VALUE"),
        T::Bfile => Some("BFILE values are not in the redo"),
        T::Json | T::XmlType | T::Vector | T::Other { .. } => {
            Some("object, JSON, XMLTYPE and VECTOR columns are not returned by MINE_VALUE")
        }
        _ => None,
    }
}

/// The selected columns a LOG_BASED stream reads, with their types.
pub fn minable_columns(
    entry: &CatalogEntry,
    selected: Vec<String>,
) -> Result<Vec<String>, TapError> {
    let id = &entry.tap_stream_id;
    if entry.is_view() {
        return Err(TapError::stream(
            id,
            "a view has no redo: LOG_BASED needs a table; use FULL_TABLE or INCREMENTAL",
        ));
    }
    if entry.is_external() {
        return Err(TapError::stream(
            id,
            "an external table has no redo (its rows are in files) and no flashback snapshot: \
             LOG_BASED needs a table; use FULL_TABLE or INCREMENTAL",
        ));
    }
    let keys = entry.key_properties();
    let mut kept = Vec::with_capacity(selected.len());
    for column in selected {
        let data_type: Option<OracleType> =
            entry.sql_datatype(&column).and_then(|t| t.parse().ok());
        let is_virtual = entry
            .metadata_for(Some(&column))
            .and_then(|m| m.get("is-virtual"))
            .and_then(Json::as_bool)
            .unwrap_or(false);
        let reason = if is_virtual {
            Some("virtual columns are not in the redo")
        } else {
            data_type.as_ref().and_then(unminable)
        };
        match reason {
            Some(reason) if keys.contains(&column) => {
                return Err(TapError::stream(
                    id,
                    format!("key column {column} cannot be read by LOG_BASED: {reason}"),
                ))
            }
            Some(reason) => {
                tracing::warn!(stream = %id, column = %column, reason, "column excluded from the LOG_BASED stream");
            }
            None => kept.push(column),
        }
    }
    Ok(kept)
}

/// Adds the `_sdc_` change properties to a stream's schema properties.
pub fn add_change_properties(properties: &mut Map<String, Json>) {
    properties.insert(COMMIT_SCN.into(), json!({"type": ["null", "integer"]}));
    properties.insert(
        COMMIT_TIMESTAMP.into(),
        json!({"type": ["null", "string"], "format": "date-time"}),
    );
    properties.insert(
        DELETED_AT.into(),
        json!({"type": ["null", "string"], "format": "date-time"}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use singer_core::catalog::Catalog;

    fn entry(key: &str) -> CatalogEntry {
        let catalog = Catalog::from_json(json!({"streams": [{
            "tap_stream_id": "HR-DOCS", "stream": "HR-DOCS",
            "schema": {"type": "object", "properties": {
                "ID": {"type": ["integer"]}, "BODY": {"type": ["null", "string"]},
                "TOTAL": {"type": ["null", "number"]}, "NAME": {"type": ["null", "string"]}}},
            "metadata": [
                {"breadcrumb": [], "metadata": {"schema-name": "HR", "table-name": "DOCS",
                    "table-key-properties": [key], "selected": true}},
                {"breadcrumb": ["properties", "ID"], "metadata": {"sql-datatype": "NUMBER(10)", "inclusion": "automatic"}},
                {"breadcrumb": ["properties", "BODY"], "metadata": {"sql-datatype": "CLOB", "inclusion": "available"}},
                {"breadcrumb": ["properties", "TOTAL"], "metadata": {"sql-datatype": "NUMBER", "inclusion": "available", "is-virtual": true}},
                {"breadcrumb": ["properties", "NAME"], "metadata": {"sql-datatype": "VARCHAR2(10 BYTE)", "inclusion": "available"}}
            ]}]}))
        .unwrap();
        catalog.streams[0].clone()
    }

    #[test]
    fn lob_and_virtual_columns_are_excluded_and_a_lob_key_refuses_the_stream() {
        let e = entry("ID");
        let columns = minable_columns(&e, e.selected_properties()).unwrap();
        assert_eq!(columns, ["ID", "NAME"]);
        let e = entry("BODY");
        let error = minable_columns(&e, e.selected_properties()).unwrap_err();
        assert!(error.to_string().contains("key column BODY"), "{error}");
    }

    #[test]
    fn changes_carry_commit_scn_time_and_deletion() {
        let mut properties = Map::new();
        add_change_properties(&mut properties);
        assert_eq!(
            properties.keys().collect::<Vec<_>>(),
            [COMMIT_SCN, COMMIT_TIMESTAMP, DELETED_AT]
        );
    }
}
