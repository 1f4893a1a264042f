//! Oracle identifiers for streams and properties: case, allowed characters, the byte
//! limit of the server, collisions, and the stream -> table rule.
//!
//! Names are always double-quoted downstream, so reserved words are legal; the rules
//! here only keep names portable and predictable. The same source name always yields
//! the same identifier (no counters, no order dependence except between two names that
//! collide), so a table written yesterday keeps its columns today.

use std::collections::HashMap;

/// How source names become identifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamingRules {
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
    pub fn identifier(&self, source: &str) -> String {
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
pub struct NameCollision {
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
pub struct ColumnNamer {
    rules: NamingRules,
    by_column: HashMap<String, String>,
    by_source: HashMap<String, String>,
}

impl ColumnNamer {
    pub fn new(rules: NamingRules) -> ColumnNamer {
        ColumnNamer {
            rules,
            by_column: HashMap::new(),
            by_source: HashMap::new(),
        }
    }

    /// The column for `source`, the same one each time it is asked.
    pub fn column_for(&mut self, source: &str) -> Result<String, NameCollision> {
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

/// How a stream name becomes a table name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNaming {
    /// Keep the `<OWNER>-` prefix Oracle taps put in stream names (`HR-EMPLOYEES` ->
    /// `HR_EMPLOYEES`) instead of stripping it (`EMPLOYEES`).
    pub keep_stream_prefix: bool,
}

impl TableNaming {
    /// The table name (before identifier rules) for `stream`.
    pub fn table_source_name<'s>(&self, stream: &'s str) -> &'s str {
        if self.keep_stream_prefix {
            return stream;
        }
        match stream.split_once('-') {
            Some((owner, rest)) if !owner.is_empty() && !rest.is_empty() => rest,
            _ => stream,
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

    #[test]
    fn stream_prefix_is_stripped_or_kept() {
        let strip = TableNaming {
            keep_stream_prefix: false,
        };
        let keep = TableNaming {
            keep_stream_prefix: true,
        };
        assert_eq!(strip.table_source_name("HR-EMPLOYEES"), "EMPLOYEES");
        assert_eq!(strip.table_source_name("ORDERS"), "ORDERS");
        assert_eq!(strip.table_source_name("-X"), "-X");
        assert_eq!(keep.table_source_name("HR-EMPLOYEES"), "HR-EMPLOYEES");
        assert_eq!(
            rules(128).identifier(keep.table_source_name("HR-EMPLOYEES")),
            "HR_EMPLOYEES"
        );
    }
}
