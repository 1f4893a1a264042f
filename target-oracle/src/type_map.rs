//! JSON Schema property -> Oracle column type: the one pure function that decides what
//! column a Singer property becomes (issue 6, "Tables and types").
//!
//! | JSON Schema | Oracle |
//! |---|---|
//! | `integer` | `NUMBER(38)` |
//! | `number` | `NUMBER` (unconstrained, never a scale-0 DECIMAL) |
//! | string, format `singer.decimal` / `x-singer.decimal` | `NUMBER`, or `NUMBER(p,s)` with `precision`/`scale` |
//! | string, format `date-time` | `TIMESTAMP(6) WITH TIME ZONE` (a key property: UTC `TIMESTAMP(6)`, see `stream`) |
//! | string, format `date` | `DATE` |
//! | string, format `time` | `VARCHAR2(40 CHAR)` |
//! | string with `maxLength` n | `VARCHAR2(n CHAR)`, `CLOB` when n exceeds the server's string limit |
//! | string | `VARCHAR2(4000 CHAR)` |
//! | strings in a primary key that would not fit an index key | `VARCHAR2(n CHAR)` sharing its 6398 bytes ([`TypeRules::fit_primary_key`]) |
//! | string, `contentEncoding: base64` (when `base64_as_blob`) | `BLOB` |
//! | `boolean` | `BOOLEAN` on 23ai, else `NUMBER(1)` + check `IN (0,1)` |
//! | `object` / `array` | `JSON` on 21c+, else `CLOB` + check `IS JSON` |
//! | several types (`["integer","string"]`, `anyOf`) | the common type: `NUMBER` for numbers only, `JSON`/`CLOB` when an object or array is possible, else `VARCHAR2(4000 CHAR)` |
//! | `x-sql-datatype` | that type, as written |
//!
//! `"null"` in `type` (or a `{"type": "null"}` branch of `anyOf`) makes the column
//! nullable; otherwise it is NOT NULL. A property that allows only null becomes a
//! nullable `VARCHAR2(4000 CHAR)`.

use serde_json::Value as Json;
use singer_core::oracle_type::{LengthSemantics, OracleType, MAX_INDEX_KEY_BYTES};

use db_boundary::ColumnCheck;

/// What the server offers and what the user asked for, as far as types go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TypeRules {
    /// BOOLEAN columns exist (23ai).
    pub native_boolean: bool,
    /// The JSON type exists (21c).
    pub native_json: bool,
    /// 4000, or 32767 with MAX_STRING_SIZE = EXTENDED.
    pub max_string_bytes: u32,
    /// Store base64-encoded strings (`contentEncoding: base64`) decoded in BLOBs.
    pub base64_as_blob: bool,
}

/// The column a property becomes (its name is chosen by [`crate::naming`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MappedType {
    pub data_type: OracleType,
    pub nullable: bool,
    pub check: Option<ColumnCheck>,
}

/// Why a property's schema cannot become a column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct UnmappableSchema(pub String);

/// A string's width when the schema gives no `maxLength`.
pub(crate) const DEFAULT_VARCHAR_CHARS: u32 = 4000;
/// Room for `HH:MM:SS.ffffff+HH:MM` and then some.
const TIME_CHARS: u32 = 40;

/// The broad kinds a JSON Schema type list can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Number,
    String,
    Boolean,
    Object,
    Array,
}

/// The non-null alternatives of a property and whether null is allowed.
struct Alternatives<'s> {
    nullable: bool,
    /// (kind, the schema object that names it)
    branches: Vec<(Kind, &'s Json)>,
}

fn kind_of(name: &str) -> Option<Kind> {
    match name {
        "integer" => Some(Kind::Integer),
        "number" => Some(Kind::Number),
        "string" => Some(Kind::String),
        "boolean" => Some(Kind::Boolean),
        "object" => Some(Kind::Object),
        "array" => Some(Kind::Array),
        _ => None,
    }
}

fn collect<'s>(schema: &'s Json, out: &mut Alternatives<'s>) {
    let Some(object) = schema.as_object() else {
        // `true` / `{}`-like schemas accept anything: treat as JSON.
        out.nullable = true;
        out.branches.push((Kind::Object, schema));
        return;
    };
    let mut named_any = false;
    match object.get("type") {
        Some(Json::String(t)) => {
            named_any = true;
            if t == "null" {
                out.nullable = true;
            } else if let Some(kind) = kind_of(t) {
                out.branches.push((kind, schema));
            }
        }
        Some(Json::Array(types)) => {
            named_any = true;
            for t in types.iter().filter_map(Json::as_str) {
                if t == "null" {
                    out.nullable = true;
                } else if let Some(kind) = kind_of(t) {
                    out.branches.push((kind, schema));
                }
            }
        }
        _ => {}
    }
    for combinator in ["anyOf", "oneOf"] {
        if let Some(Json::Array(options)) = object.get(combinator) {
            named_any = true;
            for option in options {
                collect(option, out);
            }
        }
    }
    if !named_any {
        if object.contains_key("properties") {
            out.branches.push((Kind::Object, schema));
        } else if object.contains_key("items") {
            out.branches.push((Kind::Array, schema));
        } else {
            // No type at all: anything goes, JSON holds anything.
            out.nullable = true;
            out.branches.push((Kind::Object, schema));
        }
    }
}

fn format_of(schema: &Json) -> Option<&str> {
    schema.get("format").and_then(Json::as_str)
}

fn u64_of(schema: &Json, key: &str) -> Option<u64> {
    schema.get(key).and_then(|v| match v {
        Json::Number(n) => n.as_u64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    })
}

/// `maxLength` in characters; a length beyond `u32` (`4294967296`, `1e30`) saturates,
/// so it maps to CLOB like any length above the server's VARCHAR2 limit.
fn max_length(schema: &Json) -> Option<u32> {
    match schema.get("maxLength")? {
        Json::Number(n) => match n.as_u64() {
            Some(n) => Some(u32::try_from(n).unwrap_or(u32::MAX)),
            None => n.as_f64().filter(|f| *f >= 0.0).map(|f| {
                if f >= f64::from(u32::MAX) {
                    u32::MAX
                } else {
                    f.ceil() as u32
                }
            }),
        },
        Json::String(s) => s
            .parse::<u64>()
            .ok()
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        _ => None,
    }
}

fn i64_of(schema: &Json, key: &str) -> Option<i64> {
    schema.get(key).and_then(|v| match v {
        Json::Number(n) => n.as_i64(),
        Json::String(s) => s.parse().ok(),
        _ => None,
    })
}

fn is_decimal_format(format: Option<&str>) -> bool {
    matches!(format, Some("singer.decimal" | "x-singer.decimal"))
}

impl TypeRules {
    /// Maps one property schema to its column type.
    pub(crate) fn map_property(&self, schema: &Json) -> Result<MappedType, UnmappableSchema> {
        if let Some(sql) = schema.get("x-sql-datatype").and_then(Json::as_str) {
            let data_type = parse_sql_type(sql).ok_or_else(|| {
                UnmappableSchema(format!("x-sql-datatype {sql:?} is not an Oracle type"))
            })?;
            let mut alternatives = Alternatives {
                nullable: false,
                branches: Vec::new(),
            };
            collect(schema, &mut alternatives);
            let check = match data_type {
                OracleType::Clob | OracleType::Varchar2 { .. }
                    if alternatives
                        .branches
                        .iter()
                        .any(|(k, _)| matches!(k, Kind::Object | Kind::Array)) =>
                {
                    Some(ColumnCheck::IsJson)
                }
                _ => None,
            };
            return Ok(MappedType {
                data_type,
                nullable: alternatives.nullable || alternatives.branches.is_empty(),
                check,
            });
        }
        let mut alternatives = Alternatives {
            nullable: false,
            branches: Vec::new(),
        };
        collect(schema, &mut alternatives);
        let nullable = alternatives.nullable;
        let mut kinds: Vec<Kind> = alternatives.branches.iter().map(|(k, _)| *k).collect();
        kinds.dedup();
        let (data_type, check) = match alternatives.branches.as_slice() {
            // Only null (a tap that could not tell the type): a column every value
            // fits, and what a later string type needs. The rows hold nulls meanwhile.
            [] => (self.varchar(DEFAULT_VARCHAR_CHARS), None),
            [(kind, branch)] => self.map_single(*kind, branch),
            many => {
                let only_numbers = many
                    .iter()
                    .all(|(k, _)| matches!(k, Kind::Integer | Kind::Number));
                let structured = many
                    .iter()
                    .any(|(k, _)| matches!(k, Kind::Object | Kind::Array));
                let all_same_string = many.iter().all(|(k, _)| *k == Kind::String);
                if only_numbers {
                    if many.iter().all(|(k, _)| *k == Kind::Integer) {
                        self.map_single(Kind::Integer, many[0].1)
                    } else {
                        self.map_single(Kind::Number, many[0].1)
                    }
                } else if structured {
                    self.json_type()
                } else if all_same_string {
                    // Several string branches (`anyOf` of formats): keep one type only
                    // when they agree, else plain text.
                    let mapped: Vec<_> = many.iter().map(|(k, b)| self.map_single(*k, b)).collect();
                    if mapped.windows(2).all(|w| w[0] == w[1]) {
                        mapped[0].clone()
                    } else {
                        (self.varchar(DEFAULT_VARCHAR_CHARS), None)
                    }
                } else {
                    (self.varchar(DEFAULT_VARCHAR_CHARS), None)
                }
            }
        };
        Ok(MappedType {
            data_type,
            nullable,
            check,
        })
    }

    fn json_type(&self) -> (OracleType, Option<ColumnCheck>) {
        if self.native_json {
            (OracleType::Json, None)
        } else {
            (OracleType::Clob, Some(ColumnCheck::IsJson))
        }
    }

    /// The key columns of a table with a primary key, their texts sized so the key fits
    /// an index (Oracle refuses a wider one with ORA-01450, see
    /// [`OracleType::key_bytes`]). Only when the declared widths do not fit: each
    /// VARCHAR2 (characters) or long-string CLOB key is given an equal share of the room
    /// the other key columns leave, a text narrower than its share keeping its width
    /// (and leaving the rest to the others). A value longer than its column is then
    /// refused as any too-long value is, naming its field.
    pub(crate) fn fit_primary_key(&self, keys: &mut [MappedType]) -> Result<(), String> {
        let max = self.max_string_bytes;
        let sizable = |t: &MappedType| match &t.data_type {
            OracleType::Varchar2 {
                semantics: LengthSemantics::Char,
                ..
            } => true,
            // A string longer than a VARCHAR2 (a JSON CLOB has its IS JSON check).
            OracleType::Clob => t.check.is_none(),
            _ => false,
        };
        // What each column takes in the key; a long-string CLOB cannot be in one at all.
        let width = |t: &MappedType| match (&t.data_type, sizable(t)) {
            (OracleType::Clob, true) => u64::MAX,
            (other, _) => u64::from(other.key_bytes(max).unwrap_or(0)) + 1,
        };
        let limit = u64::from(MAX_INDEX_KEY_BYTES);
        if keys.iter().map(width).fold(0u64, u64::saturating_add) <= limit {
            return Ok(());
        }
        let fixed: u64 = keys.iter().filter(|t| !sizable(t)).map(width).sum();
        // Texts narrowest first: each keeps its width while that is within its share.
        let mut texts: Vec<(u64, usize)> = keys
            .iter()
            .enumerate()
            .filter(|(_, t)| sizable(t))
            .map(|(i, t)| (width(t), i))
            .collect();
        texts.sort_unstable();
        let mut room = limit.saturating_sub(fixed);
        let mut left = texts.len() as u64;
        for (at, &(text_width, _)) in texts.iter().enumerate() {
            let share = room / left;
            if text_width > share {
                // This one and every wider one share what is left equally; a VARCHAR2
                // never takes more than the server's limit, whatever its characters.
                let bytes = share.saturating_sub(1);
                let chars = if bytes >= u64::from(max) {
                    u64::from(max)
                } else {
                    bytes / 4
                };
                if chars == 0 {
                    break;
                }
                for &(_, i) in &texts[at..] {
                    keys[i].data_type = self.varchar(chars as u32);
                }
                return Ok(());
            }
            room -= text_width;
            left -= 1;
        }
        Err(format!(
            "the key's columns need more than the {MAX_INDEX_KEY_BYTES} bytes an Oracle index \
             key holds (ORA-01450), even with its strings shortened: use fewer or narrower \
             key properties"
        ))
    }

    /// VARCHAR2(n CHAR), or CLOB when `n` characters cannot fit the server's limit.
    pub(crate) fn varchar(&self, chars: u32) -> OracleType {
        if chars == 0 || chars > self.max_string_bytes {
            OracleType::Clob
        } else {
            OracleType::Varchar2 {
                length: chars,
                semantics: LengthSemantics::Char,
            }
        }
    }

    fn map_single(&self, kind: Kind, schema: &Json) -> (OracleType, Option<ColumnCheck>) {
        match kind {
            Kind::Integer => (
                OracleType::Number {
                    precision: Some(38),
                    scale: Some(0),
                },
                None,
            ),
            Kind::Number => (
                OracleType::Number {
                    precision: None,
                    scale: None,
                },
                None,
            ),
            Kind::Boolean => {
                if self.native_boolean {
                    (OracleType::Boolean, None)
                } else {
                    (
                        OracleType::Number {
                            precision: Some(1),
                            scale: Some(0),
                        },
                        Some(ColumnCheck::ZeroOrOne),
                    )
                }
            }
            Kind::Object | Kind::Array => self.json_type(),
            Kind::String => {
                let format = format_of(schema);
                if is_decimal_format(format) {
                    let precision = u64_of(schema, "precision")
                        .and_then(|p| u8::try_from(p).ok())
                        .filter(|p| (1..=38).contains(p));
                    let scale = i64_of(schema, "scale").and_then(|s| i16::try_from(s).ok());
                    let data_type = match precision {
                        Some(p) => OracleType::Number {
                            precision: Some(p),
                            scale: Some(scale.unwrap_or(0)),
                        },
                        None => OracleType::Number {
                            precision: None,
                            scale: None,
                        },
                    };
                    return (data_type, None);
                }
                match format {
                    Some("date-time") => {
                        return (
                            OracleType::TimestampTz {
                                fractional_precision: 6,
                            },
                            None,
                        )
                    }
                    Some("date") => return (OracleType::Date, None),
                    Some("time") => return (self.varchar(TIME_CHARS), None),
                    _ => {}
                }
                let base64 = schema.get("contentEncoding").and_then(Json::as_str) == Some("base64")
                    || format == Some("base64");
                if base64 && self.base64_as_blob {
                    return (OracleType::Blob, None);
                }
                let chars = max_length(schema).unwrap_or(DEFAULT_VARCHAR_CHARS);
                (self.varchar(chars), None)
            }
        }
    }
}

/// The type `x-sql-datatype` names, through the one grammar
/// ([`OracleType::parse`]); `None` for text that is not a type this project writes.
pub(crate) fn parse_sql_type(text: &str) -> Option<OracleType> {
    OracleType::parse(text)
        .ok()
        .filter(OracleType::is_supported)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::fmt::Write as _;

    fn rules(version: u32) -> TypeRules {
        TypeRules {
            native_boolean: version >= 23,
            native_json: version >= 21,
            max_string_bytes: 4000,
            base64_as_blob: true,
        }
    }

    fn cases() -> Vec<(&'static str, Json)> {
        vec![
            ("integer", json!({"type": "integer"})),
            ("nullable integer", json!({"type": ["null", "integer"]})),
            (
                "number",
                json!({"type": ["null", "number"], "multipleOf": 0.01}),
            ),
            (
                "singer.decimal",
                json!({"type": ["null", "string"], "format": "singer.decimal"}),
            ),
            (
                "x-singer.decimal p,s",
                json!({"type": "string", "format": "x-singer.decimal", "precision": 12, "scale": 2}),
            ),
            (
                "date-time",
                json!({"type": ["null", "string"], "format": "date-time"}),
            ),
            ("date", json!({"type": "string", "format": "date"})),
            ("time", json!({"type": "string", "format": "time"})),
            (
                "string maxLength 20",
                json!({"type": ["null", "string"], "maxLength": 20}),
            ),
            ("string", json!({"type": "string"})),
            (
                "string maxLength 5000",
                json!({"type": "string", "maxLength": 5000}),
            ),
            (
                "string maxLength 4294967296",
                json!({"type": "string", "maxLength": 4294967296u64}),
            ),
            (
                "string maxLength 1e30",
                json!({"type": "string", "maxLength": 1e30}),
            ),
            (
                "base64 string",
                json!({"type": "string", "contentEncoding": "base64"}),
            ),
            ("boolean", json!({"type": ["boolean", "null"]})),
            (
                "object",
                json!({"type": "object", "properties": {"a": {"type": "integer"}}}),
            ),
            (
                "array",
                json!({"type": ["null", "array"], "items": {"type": "string"}}),
            ),
            (
                "integer or number",
                json!({"type": ["null", "integer", "number"]}),
            ),
            ("integer or string", json!({"type": ["integer", "string"]})),
            (
                "anyOf date-time or null",
                json!({"anyOf": [{"type": "string", "format": "date-time"}, {"type": "null"}]}),
            ),
            (
                "anyOf string or object",
                json!({"anyOf": [{"type": "string"}, {"type": "object"}]}),
            ),
            ("no type", json!({})),
            (
                "x-sql-datatype",
                json!({"type": "string", "x-sql-datatype": "NVARCHAR2(30)"}),
            ),
            (
                "x-sql-datatype timestamp",
                json!({"type": "string", "x-sql-datatype": "TIMESTAMP(3) WITH LOCAL TIME ZONE"}),
            ),
        ]
    }

    fn render(rules: &TypeRules) -> String {
        let mut out = String::new();
        for (name, schema) in cases() {
            let mapped = rules.map_property(&schema).unwrap();
            let check = match mapped.check {
                Some(ColumnCheck::ZeroOrOne) => " CHECK IN (0,1)",
                Some(ColumnCheck::IsJson) => " CHECK IS JSON",
                None => "",
            };
            let null = if mapped.nullable { "" } else { " NOT NULL" };
            writeln!(out, "{name:<26} {}{null}{check}", mapped.data_type).unwrap();
        }
        out
    }

    #[test]
    fn mapping_on_23ai() {
        insta::assert_snapshot!(render(&rules(23)));
    }

    #[test]
    fn mapping_on_19c() {
        insta::assert_snapshot!(render(&rules(19)));
    }

    #[test]
    fn base64_stays_text_unless_asked() {
        let mut r = rules(23);
        r.base64_as_blob = false;
        let mapped = r
            .map_property(&json!({"type": "string", "contentEncoding": "base64"}))
            .unwrap();
        assert_eq!(mapped.data_type.to_string(), "VARCHAR2(4000 CHAR)");
    }

    #[test]
    fn extended_strings_raise_the_clob_threshold() {
        let mut r = rules(23);
        r.max_string_bytes = 32767;
        let mapped = r
            .map_property(&json!({"type": "string", "maxLength": 5000}))
            .unwrap();
        assert_eq!(mapped.data_type.to_string(), "VARCHAR2(5000 CHAR)");
    }

    #[test]
    fn a_null_only_property_is_a_nullable_text_column() {
        for schema in [
            json!({"type": "null"}),
            json!({"type": ["null"]}),
            json!({"anyOf": [{"type": "null"}]}),
        ] {
            let mapped = rules(23).map_property(&schema).unwrap();
            assert_eq!(
                mapped.data_type.to_string(),
                "VARCHAR2(4000 CHAR)",
                "{schema}"
            );
            assert!(mapped.nullable, "{schema}");
        }
    }

    #[test]
    fn bad_sql_types_are_errors() {
        assert!(rules(23)
            .map_property(&json!({"type": "string", "x-sql-datatype": "WIDGET(3)"}))
            .is_err());
    }

    #[test]
    fn sql_types_parse_as_written() {
        for (text, expected) in [
            ("number(10,2)", "NUMBER(10,2)"),
            ("NUMBER", "NUMBER"),
            ("NUMBER(38)", "NUMBER(38)"),
            ("VARCHAR2(50 BYTE)", "VARCHAR2(50 BYTE)"),
            ("VARCHAR2(50)", "VARCHAR2(50 CHAR)"),
            ("CLOB", "CLOB"),
            ("RAW(16)", "RAW(16)"),
            ("TIMESTAMP(9) WITH TIME ZONE", "TIMESTAMP(9) WITH TIME ZONE"),
            ("DATE", "DATE"),
            ("BINARY_DOUBLE", "BINARY_DOUBLE"),
        ] {
            assert_eq!(
                parse_sql_type(text).map(|t| t.to_string()).as_deref(),
                Some(expected),
                "{text}"
            );
        }
    }

    /// The key columns a primary key gets, as DDL text, from their properties' schemas.
    fn fitted(max_string_bytes: u32, keys: &[Json]) -> Result<Vec<String>, String> {
        let rules = TypeRules {
            max_string_bytes,
            ..rules(23)
        };
        let mut mapped: Vec<MappedType> = keys
            .iter()
            .map(|k| rules.map_property(k).unwrap())
            .collect();
        rules.fit_primary_key(&mut mapped)?;
        Ok(mapped.iter().map(|m| m.data_type.to_string()).collect())
    }

    #[test]
    fn key_strings_share_what_an_index_key_holds() {
        let text = json!({"type": "string"});
        let number = json!({"type": "integer"});
        let short = json!({"type": "string", "maxLength": 10});
        let long = json!({"type": "string", "maxLength": 10_000});
        let bytes = json!({"type": "string", "x-sql-datatype": "VARCHAR2(3000 BYTE)"});
        // (max_string_bytes, key schemas, the key's types or None: refused).
        type Case<'j> = (u32, Vec<&'j Json>, Option<Vec<&'static str>>);
        let cases: Vec<Case<'_>> = vec![
            // Fits as declared: unchanged (4000 characters are at most 4000 bytes).
            (
                4000,
                vec![&text, &number],
                Some(vec!["VARCHAR2(4000 CHAR)", "NUMBER(38)"]),
            ),
            // (6398 - 23 - 2) / 2 = 3186 bytes each: 796 characters.
            (
                4000,
                vec![&text, &text, &number],
                Some(vec![
                    "VARCHAR2(796 CHAR)",
                    "VARCHAR2(796 CHAR)",
                    "NUMBER(38)",
                ]),
            ),
            // MAX_STRING_SIZE = EXTENDED: one string alone is 16,000 bytes.
            (32767, vec![&text], Some(vec!["VARCHAR2(1599 CHAR)"])),
            // A narrow one keeps its width and leaves the rest to the other.
            (
                32767,
                vec![&short, &text],
                Some(vec!["VARCHAR2(10 CHAR)", "VARCHAR2(1589 CHAR)"]),
            ),
            // A string too long for a VARCHAR2 (a CLOB otherwise) becomes one that fits.
            (4000, vec![&long], Some(vec!["VARCHAR2(4000 CHAR)"])),
            (
                32767,
                vec![&long, &number],
                Some(vec!["VARCHAR2(1593 CHAR)", "NUMBER(38)"]),
            ),
            // An explicit type is the user's: only the others give way.
            (
                4000,
                vec![&bytes, &text],
                Some(vec!["VARCHAR2(3000 BYTE)", "VARCHAR2(849 CHAR)"]),
            ),
            (4000, vec![&bytes, &bytes, &bytes], None),
            (4000, vec![&number; 300], None),
        ];
        for (max, keys, expected) in cases {
            let keys: Vec<Json> = keys.into_iter().cloned().collect();
            let got = fitted(max, &keys);
            match expected {
                Some(types) => assert_eq!(
                    got,
                    Ok(types.iter().map(|t| t.to_string()).collect()),
                    "{max} {keys:?}"
                ),
                None => assert!(got.unwrap_err().contains("ORA-01450"), "{max} {keys:?}"),
            }
        }
    }
}
