//! Oracle data-dictionary rows to a Singer catalog: the pure heart of `--discover`.
//!
//! The same function serves the real database, recorded fixtures and the simulated
//! backend, so every rule here is tested offline (`catalog-fixtures/`). The rules are
//! listed in `docs/catalog-rules.md` and the README.

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use crate::catalog::{Catalog, CatalogEntry, MetadataEntry};
use crate::dictionary::{ColumnRow, ConstraintRow, DictionaryRows, TableRow};
use crate::oracle_type::{LengthSemantics, OracleType};
use crate::type_table::JsonShape;

/// Settings that change the catalog.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DiscoveryOptions {
    /// Written as `database-name` on every stream.
    pub database_name: Option<String>,
    /// Declare non-integer NUMBERs and FLOATs as strings with `format:
    /// x-singer.decimal` (for consumers that parse JSON numbers as floats) instead of
    /// JSON numbers. `x-singer.decimal` is the name Meltano SDK targets read; the tap
    /// also honours the legacy `singer.decimal` in a catalog it is given.
    pub decimal_as_string: bool,
}

/// The catalog and what discovery had to say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct DiscoveryOutput {
    pub catalog: Catalog,
    /// One line per column the tap cannot extract, naming it and why.
    pub warnings: Vec<String>,
}

/// The stream id of a table: `<OWNER>-<TABLE_NAME>` in the dictionary's exact case.
pub fn stream_id(owner: &str, table: &str) -> String {
    format!("{owner}-{table}")
}

/// Builds the catalog for every table, view and materialized view in `rows`.
pub fn build_catalog(rows: &DictionaryRows, options: &DiscoveryOptions) -> DiscoveryOutput {
    let mut columns: HashMap<(&str, &str), Vec<&ColumnRow>> = HashMap::new();
    for c in &rows.columns {
        if !c.is_hidden() {
            columns
                .entry((c.owner.as_str(), c.table_name.as_str()))
                .or_default()
                .push(c);
        }
    }
    let mut constraints: HashMap<(&str, &str), Vec<&ConstraintRow>> = HashMap::new();
    for k in &rows.constraints {
        let enabled = k
            .status
            .as_deref()
            .is_none_or(|s| s.eq_ignore_ascii_case("ENABLED"));
        if enabled {
            constraints
                .entry((k.owner.as_str(), k.table_name.as_str()))
                .or_default()
                .push(k);
        }
    }
    let mut tables: Vec<&TableRow> = rows.tables.iter().filter(|t| is_extractable(t)).collect();
    tables.sort_by(|a, b| (&a.owner, &a.table_name).cmp(&(&b.owner, &b.table_name)));
    tables.dedup_by(|a, b| a.owner == b.owner && a.table_name == b.table_name);

    let mut warnings = Vec::new();
    let streams = tables
        .into_iter()
        .map(|table| {
            let key = (table.owner.as_str(), table.table_name.as_str());
            let mut table_columns = columns.remove(&key).unwrap_or_default();
            table_columns.sort_by_key(|c| c.column_id.unwrap_or(u32::MAX));
            let table_constraints = constraints.remove(&key).unwrap_or_default();
            build_entry(
                table,
                &table_columns,
                &table_constraints,
                options,
                &mut warnings,
            )
        })
        .collect();
    for warning in &warnings {
        tracing::warn!("{warning}");
    }
    DiscoveryOutput {
        catalog: Catalog { streams },
        warnings,
    }
}

/// IOT overflow and mapping segments and temporary tables are not data one extracts.
fn is_extractable(table: &TableRow) -> bool {
    let segment = matches!(
        table.iot_type.as_deref(),
        Some("IOT_OVERFLOW" | "IOT_MAPPING")
    );
    let temporary = table.temporary.as_deref() == Some("Y");
    !segment && !temporary
}

/// Primary key columns in POSITION order; else the first enabled unique key (by
/// constraint name) whose columns are all NOT NULL; else none.
fn choose_key(columns: &[&ColumnRow], constraints: &[&ConstraintRow]) -> Vec<String> {
    let ordered = |kind: &str| -> Vec<(String, Vec<&ConstraintRow>)> {
        let mut by_name: Vec<(String, Vec<&ConstraintRow>)> = Vec::new();
        for k in constraints.iter().filter(|k| k.constraint_type == kind) {
            match by_name.iter_mut().find(|(n, _)| *n == k.constraint_name) {
                Some((_, cols)) => cols.push(k),
                None => by_name.push((k.constraint_name.clone(), vec![k])),
            }
        }
        by_name.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, cols) in &mut by_name {
            cols.sort_by_key(|k| k.position);
        }
        by_name
    };
    let names = |cols: &[&ConstraintRow]| cols.iter().map(|k| k.column_name.clone()).collect();
    // A key over a column the catalog does not list (an INVISIBLE column is a hidden
    // one in ALL_TAB_COLS) would name a property no record carries: not usable.
    let visible = |name: &str| columns.iter().any(|c| c.column_name == name);
    let not_null = |name: &str| {
        columns
            .iter()
            .any(|c| c.column_name == name && !c.is_nullable())
    };
    if let Some((_, cols)) = ordered("P").first() {
        if cols.iter().all(|k| visible(&k.column_name)) {
            return names(cols);
        }
    }
    ordered("U")
        .into_iter()
        .find(|(_, cols)| cols.iter().all(|k| not_null(&k.column_name)))
        .map(|(_, cols)| names(&cols))
        .unwrap_or_default()
}

fn build_entry(
    table: &TableRow,
    columns: &[&ColumnRow],
    constraints: &[&ConstraintRow],
    options: &DiscoveryOptions,
    warnings: &mut Vec<String>,
) -> CatalogEntry {
    let id = stream_id(&table.owner, &table.table_name);
    let key = choose_key(columns, constraints);
    let mut properties = Map::new();
    let mut metadata = Vec::with_capacity(columns.len() + 1);
    let mut replication_keys = Vec::new();
    for column in columns {
        let oracle_type = OracleType::from_column(column);
        let supported = oracle_type.is_supported();
        if !supported {
            warnings.push(format!(
                "{}.{}.{}: type {} cannot be extracted; the column is marked unsupported",
                table.owner, table.table_name, column.column_name, oracle_type
            ));
        }
        if supported && oracle_type.is_orderable() {
            replication_keys.push(Json::String(column.column_name.clone()));
        }
        properties.insert(
            column.column_name.clone(),
            json_schema(&oracle_type, column.is_nullable(), options),
        );
        let inclusion = if !supported {
            "unsupported"
        } else if key.contains(&column.column_name) {
            "automatic"
        } else {
            "available"
        };
        let mut m = Map::new();
        m.insert("inclusion".into(), json!(inclusion));
        m.insert("selected-by-default".into(), json!(supported));
        m.insert("sql-datatype".into(), json!(oracle_type.to_string()));
        if column.is_virtual() {
            m.insert("is-virtual".into(), json!(true));
        }
        if column.is_identity() {
            m.insert("is-identity".into(), json!(true));
        }
        metadata.push(MetadataEntry {
            breadcrumb: vec!["properties".into(), column.column_name.clone()],
            metadata: m,
        });
    }
    metadata.insert(
        0,
        MetadataEntry {
            breadcrumb: Vec::new(),
            metadata: stream_metadata(table, &key, replication_keys, options),
        },
    );
    let mut other = Map::new();
    other.insert("table_name".into(), json!(table.table_name));
    CatalogEntry {
        tap_stream_id: id.clone(),
        stream: id,
        schema: json!({"type": "object", "properties": properties}),
        metadata,
        other,
    }
}

/// The stream's own metadata (breadcrumb `[]`): where it lives, its key, and how it
/// may be replicated.
fn stream_metadata(
    table: &TableRow,
    key: &[String],
    replication_keys: Vec<Json>,
    options: &DiscoveryOptions,
) -> Map<String, Json> {
    let mut stream_meta = Map::new();
    stream_meta.insert("schema-name".into(), json!(table.owner));
    stream_meta.insert("table-name".into(), json!(table.table_name));
    if let Some(db) = &options.database_name {
        stream_meta.insert("database-name".into(), json!(db));
    }
    stream_meta.insert("is-view".into(), json!(table.is_view()));
    if table.is_external() {
        // Present only when true, so catalogs of ordinary tables are unchanged.
        stream_meta.insert("is-external".into(), json!(true));
    }
    if let Some(rows) = table.num_rows {
        stream_meta.insert("row-count".into(), json!(rows));
    }
    stream_meta.insert("table-key-properties".into(), json!(key));
    if replication_keys.is_empty() {
        stream_meta.insert("forced-replication-method".into(), json!("FULL_TABLE"));
    }
    stream_meta.insert(
        "valid-replication-keys".into(),
        Json::Array(replication_keys),
    );
    stream_meta.insert("selected-by-default".into(), json!(false));
    stream_meta
}

fn typed(types: &str, nullable: bool) -> Json {
    if nullable {
        json!(["null", types])
    } else {
        json!([types])
    }
}

/// The JSON Schema of one column (README "Type mapping"), from the type's row of
/// [`crate::type_table`].
pub fn json_schema(oracle_type: &OracleType, nullable: bool, options: &DiscoveryOptions) -> Json {
    use OracleType as T;
    match oracle_type.row().json {
        JsonShape::Integer => json!({"type": typed("integer", nullable)}),
        JsonShape::Decimal if options.decimal_as_string => {
            let mut schema =
                json!({"type": typed("string", nullable), "format": "x-singer.decimal"});
            // FLOAT is a decimal NUMBER with up to 38 significant digits, so it needs the
            // string form as much as NUMBER(p,s) does; its scale is not fixed, so no hints.
            if let T::Number { precision, scale } = oracle_type {
                if let Some(p) = precision {
                    schema["precision"] = json!(p);
                }
                if let Some(s) = scale {
                    schema["scale"] = json!(s);
                }
            }
            schema
        }
        JsonShape::Decimal => json!({"type": typed("number", nullable)}),
        // A NaN or an infinity has no JSON number: the tap writes null (and warns), so
        // these columns always admit null.
        JsonShape::BinaryNumber => json!({"type": typed("number", true)}),
        JsonShape::Text => {
            let mut schema = json!({"type": typed("string", nullable)});
            match oracle_type {
                T::Char { length, semantics } | T::Varchar2 { length, semantics }
                    if *semantics == LengthSemantics::Char =>
                {
                    schema["maxLength"] = json!(length);
                }
                T::NChar { length } | T::NVarchar2 { length } => {
                    schema["maxLength"] = json!(length);
                }
                _ => {}
            }
            schema
        }
        JsonShape::DateTime => json!({"type": typed("string", nullable), "format": "date-time"}),
        JsonShape::Duration => json!({"type": typed("string", nullable), "format": "duration"}),
        JsonShape::Base64 => {
            json!({"type": typed("string", nullable), "contentEncoding": "base64"})
        }
        JsonShape::Boolean => json!({"type": typed("boolean", nullable)}),
        JsonShape::NumberArray => {
            json!({"type": typed("array", nullable), "items": {"type": "number"}})
        }
        // Any JSON value: no type restriction.
        JsonShape::AnyJson | JsonShape::Unsupported => json!({}),
    }
}

/// Which tables discovery admits: `filter_schemas` and `filter_tables` patterns.
///
/// A pattern is `OWNER.TABLE` in exact case with `*` (any run) and `?` (one character);
/// a pattern without a dot matches the table name in any schema; a leading `!`
/// excludes. With no include patterns every table of the admitted schemas is in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableFilter {
    pub schemas: Vec<String>,
    pub include: Vec<(String, String)>,
    pub exclude: Vec<(String, String)>,
}

impl TableFilter {
    pub fn new(schemas: &[String], patterns: &[String]) -> TableFilter {
        let mut filter = TableFilter {
            schemas: schemas.to_vec(),
            ..TableFilter::default()
        };
        for pattern in patterns {
            let (negated, body) = match pattern.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, pattern.as_str()),
            };
            let pair = match body.split_once('.') {
                Some((owner, table)) => (owner.to_owned(), table.to_owned()),
                None => ("*".to_owned(), body.to_owned()),
            };
            if negated {
                filter.exclude.push(pair);
            } else {
                filter.include.push(pair);
            }
        }
        filter
    }

    pub fn admits(&self, owner: &str, table: &str) -> bool {
        let pair_matches = |(o, t): &(String, String)| glob_match(o, owner) && glob_match(t, table);
        (self.schemas.is_empty() || self.schemas.iter().any(|s| s == owner))
            && (self.include.is_empty() || self.include.iter().any(pair_matches))
            && !self.exclude.iter().any(pair_matches)
    }

    /// Keeps only the admitted tables' rows.
    pub fn apply(&self, rows: &DictionaryRows) -> DictionaryRows {
        DictionaryRows {
            tables: rows
                .tables
                .iter()
                .filter(|t| self.admits(&t.owner, &t.table_name))
                .cloned()
                .collect(),
            columns: rows
                .columns
                .iter()
                .filter(|c| self.admits(&c.owner, &c.table_name))
                .cloned()
                .collect(),
            constraints: rows
                .constraints
                .iter()
                .filter(|k| self.admits(&k.owner, &k.table_name))
                .cloned()
                .collect(),
        }
    }
}

/// The glob pattern as a SQL LIKE pattern with `\` as the ESCAPE character, to bind.
pub fn glob_to_like(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    for c in pattern.chars() {
        match c {
            '\\' | '%' | '_' => {
                out.push('\\');
                out.push(c);
            }
            '*' => out.push('%'),
            '?' => out.push('_'),
            c => out.push(c),
        }
    }
    out
}

/// `*` matches any run of characters, `?` exactly one; everything else literally.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(table: &str, id: u32, name: &str, data_type: &str, nullable: bool) -> ColumnRow {
        ColumnRow {
            owner: "HR".into(),
            table_name: table.into(),
            column_id: Some(id),
            column_name: name.into(),
            data_type: data_type.into(),
            data_type_owner: None,
            data_length: Some(22),
            data_precision: None,
            data_scale: None,
            char_length: None,
            char_used: None,
            nullable: if nullable { "Y" } else { "N" }.into(),
            virtual_column: Some("NO".into()),
            hidden_column: Some("NO".into()),
            identity_column: Some("NO".into()),
        }
    }

    fn table(name: &str) -> TableRow {
        TableRow {
            owner: "HR".into(),
            table_name: name.into(),
            table_type: "TABLE".into(),
            iot_type: None,
            partitioned: Some("NO".into()),
            temporary: Some("N".into()),
            num_rows: Some(10),
        }
    }

    fn key(table: &str, name: &str, kind: &str, column: &str, position: u32) -> ConstraintRow {
        ConstraintRow {
            owner: "HR".into(),
            table_name: table.into(),
            constraint_name: name.into(),
            constraint_type: kind.into(),
            column_name: column.into(),
            position,
            status: Some("ENABLED".into()),
        }
    }

    fn stream_meta(entry: &CatalogEntry) -> &Map<String, Json> {
        entry.metadata_for(None).unwrap()
    }

    #[test]
    fn composite_primary_key_follows_position_not_column_order() {
        let rows = DictionaryRows {
            tables: vec![table("T")],
            columns: vec![
                column("T", 1, "A", "NUMBER", false),
                column("T", 2, "B", "NUMBER", false),
            ],
            constraints: vec![key("T", "PK", "P", "A", 2), key("T", "PK", "P", "B", 1)],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        let entry = &out.catalog.streams[0];
        assert_eq!(entry.tap_stream_id, "HR-T");
        assert_eq!(entry.key_properties(), vec!["B", "A"]);
        assert_eq!(
            entry.metadata_for(Some("A")).unwrap()["inclusion"],
            json!("automatic")
        );
    }

    #[test]
    fn unique_key_fallback_skips_keys_with_nullable_columns() {
        let rows = DictionaryRows {
            tables: vec![table("T")],
            columns: vec![
                column("T", 1, "A", "NUMBER", true),
                column("T", 2, "B", "VARCHAR2", false),
            ],
            constraints: vec![key("T", "UK_A", "U", "A", 1), key("T", "UK_B", "U", "B", 1)],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        assert_eq!(out.catalog.streams[0].key_properties(), vec!["B"]);
    }

    #[test]
    fn a_primary_key_over_an_invisible_column_falls_back_to_a_unique_key() {
        let mut invisible = column("T", 3, "SECRET_ID", "NUMBER", false);
        invisible.hidden_column = Some("YES".into());
        invisible.column_id = None;
        let rows = DictionaryRows {
            tables: vec![table("T")],
            columns: vec![column("T", 1, "CODE", "VARCHAR2", false), invisible],
            constraints: vec![
                key("T", "PK", "P", "SECRET_ID", 1),
                key("T", "UK_CODE", "U", "CODE", 1),
            ],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        assert_eq!(out.catalog.streams[0].property_names(), vec!["CODE"]);
        assert_eq!(out.catalog.streams[0].key_properties(), vec!["CODE"]);
    }

    #[test]
    fn disabled_keys_are_ignored_and_unique_keys_are_tried_by_name() {
        let mut disabled = key("T", "PK", "P", "A", 1);
        disabled.status = Some("DISABLED".into());
        let rows = DictionaryRows {
            tables: vec![table("T")],
            columns: vec![
                column("T", 1, "A", "NUMBER", false),
                column("T", 2, "B", "NUMBER", false),
            ],
            constraints: vec![
                disabled,
                key("T", "UK_2", "U", "A", 1),
                key("T", "UK_1", "U", "B", 1),
            ],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        assert_eq!(out.catalog.streams[0].key_properties(), vec!["B"]);
    }

    #[test]
    fn external_tables_are_marked_and_other_tables_are_not() {
        let mut external = table("X");
        external.table_type = "EXTERNAL TABLE".into();
        let rows = DictionaryRows {
            tables: vec![external, table("T")],
            columns: vec![
                column("X", 1, "A", "NUMBER", true),
                column("T", 1, "A", "NUMBER", true),
            ],
            constraints: vec![],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        let [t, x] = [&out.catalog.streams[0], &out.catalog.streams[1]];
        assert_eq!(x.tap_stream_id, "HR-X");
        assert!(x.is_external() && !x.is_view());
        assert_eq!(stream_meta(x)["is-external"], json!(true));
        assert!(!t.is_external());
        assert!(!stream_meta(t).contains_key("is-external"));
    }

    #[test]
    fn no_key_and_no_orderable_column_forces_full_table() {
        let rows = DictionaryRows {
            tables: vec![table("T")],
            columns: vec![column("T", 1, "DOC", "CLOB", true)],
            constraints: vec![],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        let meta = stream_meta(&out.catalog.streams[0]);
        assert_eq!(meta["table-key-properties"], json!([]));
        assert_eq!(meta["forced-replication-method"], json!("FULL_TABLE"));
    }

    #[test]
    fn types_map_to_json_schema_with_null_exactly_when_nullable() {
        let options = DiscoveryOptions::default();
        let int = OracleType::Number {
            precision: None,
            scale: Some(0),
        };
        assert_eq!(
            json_schema(&int, false, &options),
            json!({"type": ["integer"]})
        );
        assert_eq!(
            json_schema(&int, true, &options),
            json!({"type": ["null", "integer"]})
        );
        let dec = OracleType::Number {
            precision: Some(10),
            scale: Some(2),
        };
        assert_eq!(
            json_schema(&dec, false, &options),
            json!({"type": ["number"]})
        );
        let as_string = DiscoveryOptions {
            decimal_as_string: true,
            ..options.clone()
        };
        assert_eq!(
            json_schema(&dec, false, &as_string),
            json!({"type": ["string"], "format": "x-singer.decimal", "precision": 10, "scale": 2})
        );
        let negative_scale = OracleType::Number {
            precision: Some(5),
            scale: Some(-2),
        };
        assert_eq!(
            json_schema(&negative_scale, false, &as_string),
            json!({"type": ["integer"]})
        );
        let float = OracleType::Float {
            binary_precision: Some(126),
        };
        assert_eq!(
            json_schema(&float, true, &options),
            json!({"type": ["null", "number"]})
        );
        assert_eq!(
            json_schema(&float, true, &as_string),
            json!({"type": ["null", "string"], "format": "x-singer.decimal"})
        );
        let unconstrained = OracleType::Number {
            precision: None,
            scale: None,
        };
        assert_eq!(
            json_schema(&unconstrained, false, &as_string),
            json!({"type": ["string"], "format": "x-singer.decimal"})
        );
        // IEEE floats read back exactly from their shortest text: they stay numbers.
        assert_eq!(
            json_schema(&OracleType::BinaryDouble, false, &as_string),
            json!({"type": ["null", "number"]})
        );
        let tz = OracleType::TimestampTz {
            fractional_precision: 9,
        };
        assert_eq!(
            json_schema(&tz, true, &options),
            json!({"type": ["null", "string"], "format": "date-time"})
        );
    }

    #[test]
    fn unsupported_columns_are_marked_and_warned_about() {
        let mut geometry = column("T", 1, "SHAPE", "SDO_GEOMETRY", true);
        geometry.data_type_owner = Some("MDSYS".into());
        let rows = DictionaryRows {
            tables: vec![table("T")],
            columns: vec![geometry],
            constraints: vec![],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        assert_eq!(out.warnings.len(), 1);
        assert!(out.warnings[0].contains("HR.T.SHAPE"));
        assert_eq!(
            out.catalog.streams[0].metadata_for(Some("SHAPE")).unwrap()["inclusion"],
            json!("unsupported")
        );
    }

    #[test]
    fn hidden_columns_iot_overflow_and_temporary_tables_are_skipped() {
        let mut hidden = column("T", 2, "SYS_HIDDEN", "NUMBER", true);
        hidden.hidden_column = Some("YES".into());
        hidden.column_id = None;
        let mut overflow = table("SYS_IOT_OVER_1");
        overflow.iot_type = Some("IOT_OVERFLOW".into());
        let mut temp = table("GTT");
        temp.temporary = Some("Y".into());
        let rows = DictionaryRows {
            tables: vec![table("T"), overflow, temp],
            columns: vec![column("T", 1, "ID", "NUMBER", false), hidden],
            constraints: vec![],
        };
        let out = build_catalog(&rows, &DiscoveryOptions::default());
        assert_eq!(out.catalog.streams.len(), 1);
        assert_eq!(out.catalog.streams[0].property_names(), vec!["ID"]);
    }

    #[test]
    fn table_filters_glob_exclude_and_translate_to_like() {
        let filter = TableFilter::new(
            &[],
            &["HR.*".into(), "SALES.ORD?RS".into(), "!*.TMP_*".into()],
        );
        assert!(filter.admits("HR", "EMP"));
        assert!(filter.admits("SALES", "ORDERS"));
        assert!(!filter.admits("SALES", "ORDERS_X"));
        assert!(!filter.admits("HR", "TMP_LOAD"));
        assert!(!filter.admits("OE", "EMP"));
        let schemas_only = TableFilter::new(&["HR".into()], &[]);
        assert!(schemas_only.admits("HR", "X") && !schemas_only.admits("hr", "X"));
        assert_eq!(glob_to_like("TMP_*"), "TMP\\_%");
        assert_eq!(glob_to_like("A%B?"), "A\\%B_");
        assert_eq!(glob_to_like("C:\\X"), "C:\\\\X", "the escape char itself");
        assert_eq!(glob_to_like("Name With Space$#"), "Name With Space$#");
        // `?` is one character, also beyond ASCII; `*` may match nothing.
        assert!(glob_match("?ber", "Über") && glob_match("A*", "A"));
        // A pattern without a dot is a table name in any schema.
        let bare = TableFilter::new(&[], &["EMP*".into()]);
        assert!(bare.admits("HR", "EMPLOYEES") && bare.admits("SCOTT", "EMP"));
        assert!(!bare.admits("HR", "emp"), "exact case");
    }
}
