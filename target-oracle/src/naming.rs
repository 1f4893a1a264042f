//! Oracle identifiers for streams and properties: case, allowed characters, the byte
//! limit of the server, collisions, and the stream -> table rule.
//!
//! Names are always double-quoted downstream, so reserved words are legal; the rules
//! here only keep names portable and predictable. The same source name always yields
//! the same identifier (no counters, no order dependence except between two names that
//! collide), so a table written yesterday keeps its columns today.

use std::collections::{BTreeMap, HashMap};

use db_boundary::TableName;

/// How source names become identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NamingRules {
    /// Upper-case names (Oracle's unquoted convention) instead of keeping their case.
    pub upper_case: bool,
    /// 30 before Oracle 12.2, 128 from 12.2 on.
    pub max_bytes: usize,
}

/// Characters that survive as they are; everything else becomes `_`.
fn is_kept(c: char, upper_case: bool) -> bool {
    c.is_ascii_digit()
        || c == '_'
        || c == '$'
        || c == '#'
        || if upper_case {
            c.is_ascii_uppercase()
        } else {
            c.is_ascii_alphabetic()
        }
}

/// FNV-1a over the source name: tiny, dependency-free and fixed forever (a change would
/// rename columns of existing tables, so never change it).
fn stable_hash(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Six hex digits of the source name's hash, used to tell names apart.
fn hash_suffix(source: &str) -> String {
    format!("_{:06X}", stable_hash(source) & 0xFF_FFFF)
}

impl NamingRules {
    /// The identifier for `source` on its own (no collision handling).
    pub(crate) fn identifier(&self, source: &str) -> String {
        let cased = if self.upper_case {
            source.to_uppercase()
        } else {
            source.to_owned()
        };
        let mut name: String = cased
            .chars()
            .map(|c| if is_kept(c, self.upper_case) { c } else { '_' })
            .collect();
        if name.is_empty() {
            name.push('_');
        }
        if name.len() > self.max_bytes {
            self.with_suffix(&name, source)
        } else {
            name
        }
    }

    /// `name` cut so that it ends with the source's hash suffix within the byte limit.
    fn with_suffix(&self, name: &str, source: &str) -> String {
        let suffix = hash_suffix(source);
        let keep = self.max_bytes.saturating_sub(suffix.len()).min(name.len());
        // Only ASCII survives `identifier`, so any byte index is a char boundary.
        format!("{}{suffix}", &name[..keep])
    }
}

/// Two source names that map to one identifier even with hash suffixes (practically
/// impossible, but silently merging two columns would lose data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("properties {first:?} and {second:?} both map to column {column:?}")]
pub(crate) struct NameCollision {
    pub first: String,
    pub second: String,
    pub column: String,
}

/// Assigns column names to the properties of one stream, detecting collisions.
///
/// When two properties map to the same identifier (`a-b` and `a_b` -> `A_B`), the one
/// named first (schema order) keeps it and the later one gets its hash suffix: the same
/// schema always yields the same columns.
#[derive(Debug, Clone)]
pub(crate) struct ColumnNamer {
    rules: NamingRules,
    by_column: HashMap<String, String>,
    by_source: HashMap<String, String>,
}

impl ColumnNamer {
    pub(crate) fn new(rules: NamingRules) -> ColumnNamer {
        ColumnNamer {
            rules,
            by_column: HashMap::new(),
            by_source: HashMap::new(),
        }
    }

    /// The column for `source`, the same one each time it is asked.
    pub(crate) fn column_for(&mut self, source: &str) -> Result<String, NameCollision> {
        if let Some(column) = self.by_source.get(source) {
            return Ok(column.clone());
        }
        let mut column = self.rules.identifier(source);
        if self.by_column.contains_key(&column) {
            let candidate = self.rules.with_suffix(&column, source);
            if let Some(other) = self.by_column.get(&candidate) {
                return Err(NameCollision {
                    first: other.clone(),
                    second: source.to_owned(),
                    column: candidate,
                });
            }
            column = candidate;
        }
        self.by_column.insert(column.clone(), source.to_owned());
        self.by_source.insert(source.to_owned(), column.clone());
        Ok(column)
    }
}

/// How the `<PREFIX>-` part of a stream name is used: tap-oracle names streams
/// `<OWNER>-<TABLE>`, Meltano SDK taps `<schema>-<table>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamPrefix {
    /// Part of the table name: `HR-EMPLOYEES` -> `HR_EMPLOYEES` (distinct streams stay
    /// distinct tables, all in one schema).
    Table,
    /// The table's schema: `HR-EMPLOYEES` -> `HR.EMPLOYEES` (Meltano SDK SQL targets'
    /// rule without `default_target_schema`; the schema must exist).
    Schema,
    /// Dropped: `HR-EMPLOYEES` -> `EMPLOYEES` (SDK targets' rule with
    /// `default_target_schema`; same-named tables of two owners collide and are refused).
    Drop,
}

/// How stream names become tables (settings `stream_prefix`, `default_target_schema`,
/// `table_names`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableNaming {
    pub prefix: StreamPrefix,
    /// Where tables go when nothing else names a schema (`None`: the session's schema).
    pub default_schema: Option<String>,
    /// Explicit tables per stream: `TABLE` or `SCHEMA.TABLE`.
    pub overrides: BTreeMap<String, String>,
}

/// The `<PREFIX>` and the rest of a stream name, split at the first `-`.
fn split_prefix(stream: &str) -> Option<(&str, &str)> {
    stream
        .split_once('-')
        .filter(|(prefix, rest)| !prefix.is_empty() && !rest.is_empty())
}

impl TableNaming {
    /// The table that receives `stream` (names already made identifiers).
    pub(crate) fn table_for(&self, stream: &str, rules: &NamingRules) -> TableName {
        let in_default = |name: &str| TableName {
            schema: self.default_schema.as_deref().map(|s| rules.identifier(s)),
            name: rules.identifier(name),
        };
        if let Some(name) = self.overrides.get(stream) {
            return match name.split_once('.') {
                Some((schema, table)) => TableName {
                    schema: Some(rules.identifier(schema)),
                    name: rules.identifier(table),
                },
                None => in_default(name),
            };
        }
        match (self.prefix, split_prefix(stream)) {
            (StreamPrefix::Schema, Some((prefix, rest))) => TableName {
                schema: Some(rules.identifier(prefix)),
                name: rules.identifier(rest),
            },
            (StreamPrefix::Drop, Some((_, rest))) => in_default(rest),
            _ => in_default(stream),
        }
    }

    /// What to change so that streams `first` and `second` get tables of their own.
    pub(crate) fn collision_hint(&self, first: &str, second: &str, rules: &NamingRules) -> String {
        let mut ways = vec![format!(
            "give one of them its own table with table_names (e.g. {{{}: {}}})",
            serde_json::Value::String(second.to_owned()),
            serde_json::Value::String(format!("{}_2", rules.identifier(second)))
        )];
        let prefixes = (split_prefix(first), split_prefix(second));
        if let (StreamPrefix::Drop, (Some((a, _)), Some((b, _)))) = (self.prefix, prefixes) {
            if a != b {
                ways.push("set stream_prefix to \"table\" or \"schema\"".into());
            }
        }
        if rules.upper_case && first != second && first.to_uppercase() == second.to_uppercase() {
            ways.push("set uppercase_identifiers to false".into());
        }
        ways.join(", or ")
    }
}

/// Two streams that would share one table (silently merging, overwriting or deleting
/// each other's rows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("streams {first:?} and {second:?} both map to table {table}")]
pub(crate) struct TableCollision {
    pub first: String,
    pub second: String,
    /// `"SCHEMA"."TABLE"`.
    pub table: String,
}

/// Which stream each table of the run belongs to.
#[derive(Debug, Clone)]
pub(crate) struct TableClaims {
    /// The schema of tables named without one.
    current_schema: String,
    by_table: HashMap<(String, String), String>,
}

impl TableClaims {
    pub(crate) fn new(current_schema: &str) -> TableClaims {
        TableClaims {
            current_schema: current_schema.to_owned(),
            by_table: HashMap::new(),
        }
    }

    /// Gives `table` to `stream`, unless another stream has it.
    pub(crate) fn claim(&mut self, stream: &str, table: &TableName) -> Result<(), TableCollision> {
        let schema = table
            .schema
            .clone()
            .unwrap_or_else(|| self.current_schema.clone());
        let key = (schema, table.name.clone());
        match self.by_table.get(&key) {
            Some(owner) if owner != stream => Err(TableCollision {
                first: owner.clone(),
                second: stream.to_owned(),
                table: format!("\"{}\".\"{}\"", key.0, key.1),
            }),
            Some(_) => Ok(()),
            None => {
                self.by_table.insert(key, stream.to_owned());
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(max_bytes: usize) -> NamingRules {
        NamingRules {
            upper_case: true,
            max_bytes,
        }
    }

    #[test]
    fn names_are_upper_cased_and_cleaned() {
        let r = rules(128);
        assert_eq!(r.identifier("order_id"), "ORDER_ID");
        assert_eq!(r.identifier("Order Date"), "ORDER_DATE");
        assert_eq!(r.identifier("price-€"), "PRICE__");
        assert_eq!(r.identifier("a$b#c"), "A$B#C");
        assert_eq!(r.identifier("select"), "SELECT");
        assert_eq!(r.identifier(""), "_");
        let keep = NamingRules {
            upper_case: false,
            max_bytes: 128,
        };
        assert_eq!(keep.identifier("camelCase-x"), "camelCase_x");
    }

    #[test]
    fn long_names_get_a_stable_hash_suffix_within_the_limit() {
        let r = rules(30);
        let long = "a_very_long_property_name_that_goes_on_and_on";
        let name = r.identifier(long);
        assert_eq!(name.len(), 30);
        assert!(name.starts_with("A_VERY_LONG_PROPERTY_NAME_"[..23].as_ref() as &str));
        assert_eq!(name, r.identifier(long), "same input, same name");
        let other = r.identifier("a_very_long_property_name_that_goes_on_and_off");
        assert_ne!(name, other, "different sources differ");
        insta::assert_snapshot!(format!("{name}\n{other}"), @r"
        A_VERY_LONG_PROPERTY_NA_28850F
        A_VERY_LONG_PROPERTY_NA_F15DF3
        ");
        assert_eq!(rules(128).identifier(long), long.to_uppercase());
    }

    #[test]
    fn colliding_properties_are_told_apart_deterministically() {
        let mut namer = ColumnNamer::new(rules(128));
        assert_eq!(namer.column_for("a_b").unwrap(), "A_B");
        let second = namer.column_for("a-b").unwrap();
        assert_ne!(second, "A_B");
        assert!(second.starts_with("A_B_"));
        assert_eq!(namer.column_for("a-b").unwrap(), second);
        let mut again = ColumnNamer::new(rules(128));
        again.column_for("a_b").unwrap();
        assert_eq!(
            again.column_for("a-b").unwrap(),
            second,
            "stable across runs"
        );
    }

    fn naming(prefix: StreamPrefix, default_schema: Option<&str>) -> TableNaming {
        TableNaming {
            prefix,
            default_schema: default_schema.map(str::to_owned),
            overrides: BTreeMap::from([
                ("x;".to_owned(), "x_semicolon".to_owned()),
                ("HR-JOBS".to_owned(), "archive.old_jobs".to_owned()),
            ]),
        }
    }

    #[test]
    fn streams_map_to_tables_by_the_prefix_rule() {
        let r = rules(128);
        let mut out = String::new();
        for (label, n) in [
            ("table", naming(StreamPrefix::Table, None)),
            (
                "table, default LOAD",
                naming(StreamPrefix::Table, Some("load")),
            ),
            ("schema", naming(StreamPrefix::Schema, None)),
            (
                "schema, default LOAD",
                naming(StreamPrefix::Schema, Some("load")),
            ),
            (
                "drop, default LOAD",
                naming(StreamPrefix::Drop, Some("load")),
            ),
        ] {
            for stream in [
                "HR-EMPLOYEES",
                "SALES-EMPLOYEES",
                "orders",
                "-X",
                "a-b-c",
                "x;",
                "HR-JOBS",
            ] {
                let t = n.table_for(stream, &r);
                out.push_str(&format!(
                    "{label:<22} {stream:<16} -> {}.{}\n",
                    t.schema.as_deref().unwrap_or("(session)"),
                    t.name
                ));
            }
        }
        insta::assert_snapshot!(out);
    }

    #[test]
    fn a_second_stream_on_a_claimed_table_is_refused_with_the_way_out() {
        let r = rules(128);
        let mut claims = TableClaims::new("SIM_USER");
        let drop = naming(StreamPrefix::Drop, None);
        let hr = drop.table_for("HR-EMP", &r);
        claims.claim("HR-EMP", &hr).unwrap();
        claims.claim("HR-EMP", &hr).unwrap();
        let clash = claims
            .claim("SALES-EMP", &drop.table_for("SALES-EMP", &r))
            .unwrap_err();
        assert_eq!(
            clash.to_string(),
            r#"streams "HR-EMP" and "SALES-EMP" both map to table "SIM_USER"."EMP""#
        );
        assert_eq!(
            drop.collision_hint("HR-EMP", "SALES-EMP", &r),
            r#"give one of them its own table with table_names (e.g. {"SALES-EMP": "SALES_EMP_2"}), or set stream_prefix to "table" or "schema""#
        );
        // The session's schema named or not is one schema.
        let explicit = TableName {
            schema: Some("SIM_USER".into()),
            name: "EMP".into(),
        };
        assert!(claims.claim("OTHER", &explicit).is_err());
        let table = naming(StreamPrefix::Table, None);
        for (a, b) in [("t", "T"), ("x;", "x'"), ("", "-")] {
            let mut claims = TableClaims::new("SIM_USER");
            let table = TableNaming {
                overrides: BTreeMap::new(),
                ..table.clone()
            };
            claims.claim(a, &table.table_for(a, &r)).unwrap();
            assert!(
                claims.claim(b, &table.table_for(b, &r)).is_err(),
                "{a:?} and {b:?} collide"
            );
        }
        assert!(table
            .collision_hint("t", "T", &r)
            .ends_with("or set uppercase_identifiers to false"));
    }
}
