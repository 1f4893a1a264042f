//! Record validation against a stream's JSON Schema, with the `jsonschema` crate.
//!
//! Singer schemas are Draft 4 unless their `$schema` says otherwise. Oracle taps mix
//! dialects: draft-4 boolean `exclusiveMaximum`/`exclusiveMinimum` next to numeric
//! bounds, so before compiling, the schema is rewritten into the form of the draft it is
//! compiled with (a keyword the validator does not understand would be ignored silently).
//!
//! `multipleOf` is taken out of the schema and checked here on the exact decimal text:
//! checked on floats, `multipleOf: 0.01` rejects about a third of valid amounts.
//! Error messages are masked: they name the field and the rule, never the value.

use serde_json::{Map, Value as Json};

use crate::decimal::Decimal;

/// A schema that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the schema is not a valid JSON Schema: {0}")]
pub struct InvalidSchema(pub String);

/// The first rule a record breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field:?}: {reason}")]
pub struct InvalidRecord {
    /// The top-level property (or JSON pointer for nested ones); empty for the record.
    pub field: String,
    pub reason: String,
}

/// A compiled validator for one stream's schema.
pub struct RecordValidator {
    validator: jsonschema::Validator,
    /// `multipleOf` steps of top-level properties, checked exactly.
    steps: Vec<(String, Decimal)>,
}

impl std::fmt::Debug for RecordValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordValidator")
            .field("steps", &self.steps)
            .finish_non_exhaustive()
    }
}

fn draft_of(schema: &Json) -> jsonschema::Draft {
    match schema.get("$schema").and_then(Json::as_str) {
        Some(uri) => match jsonschema::Draft::from_schema_uri(uri) {
            jsonschema::Draft::Unknown => jsonschema::Draft::Draft4,
            known => known,
        },
        None => jsonschema::Draft::Draft4,
    }
}

/// Rewrites bounds into `draft`'s dialect and removes `multipleOf` everywhere.
fn rewrite(schema: &mut Json, draft4: bool) {
    match schema {
        Json::Object(object) => {
            object.remove("multipleOf");
            rewrite_bound(object, "maximum", "exclusiveMaximum", draft4);
            rewrite_bound(object, "minimum", "exclusiveMinimum", draft4);
            for (key, child) in object.iter_mut() {
                // `enum`/`const`/`default`/`examples` hold data, not schemas.
                if !matches!(key.as_str(), "enum" | "const" | "default" | "examples") {
                    rewrite(child, draft4);
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|item| rewrite(item, draft4)),
        _ => {}
    }
}

fn rewrite_bound(object: &mut Map<String, Json>, inclusive: &str, exclusive: &str, draft4: bool) {
    match object.get(exclusive).cloned() {
        Some(Json::Bool(is_exclusive)) => {
            // Draft-4 spelling.
            if draft4 {
                if !object.contains_key(inclusive) {
                    object.remove(exclusive);
                }
            } else {
                object.remove(exclusive);
                if is_exclusive {
                    if let Some(bound) = object.remove(inclusive) {
                        object.insert(exclusive.to_owned(), bound);
                    }
                }
            }
        }
        Some(bound @ Json::Number(_)) if draft4 => {
            // Draft-6 spelling under Draft 4: the tighter of the two bounds wins; a
            // numeric exclusive bound becomes `maximum` + `exclusiveMaximum: true`.
            let keep_inclusive = object.get(inclusive).is_some_and(|inclusive_bound| {
                tighter(inclusive_bound, &bound, inclusive == "maximum")
            });
            if keep_inclusive {
                object.remove(exclusive);
            } else {
                object.insert(inclusive.to_owned(), bound);
                object.insert(exclusive.to_owned(), Json::Bool(true));
            }
        }
        _ => {}
    }
}

/// Whether the inclusive bound `a` is strictly tighter than the exclusive bound `b`.
fn tighter(a: &Json, b: &Json, is_maximum: bool) -> bool {
    let (Some(a), Some(b)) = (number_decimal(a), number_decimal(b)) else {
        return false;
    };
    let order = a.cmp_value(&b);
    if is_maximum {
        order == std::cmp::Ordering::Less
    } else {
        order == std::cmp::Ordering::Greater
    }
}

fn number_decimal(value: &Json) -> Option<Decimal> {
    match value {
        Json::Number(n) => Decimal::parse(n.as_str()).ok(),
        _ => None,
    }
}

/// The `multipleOf` of a property, looking into its `anyOf`/`oneOf` branches.
fn step_of(property: &Json) -> Option<Decimal> {
    if let Some(step) = property.get("multipleOf").and_then(number_decimal) {
        return Some(step);
    }
    ["anyOf", "oneOf"].iter().find_map(|key| {
        property
            .get(*key)
            .and_then(Json::as_array)
            .and_then(|branches| branches.iter().find_map(step_of))
    })
}

impl RecordValidator {
    /// Compiles a stream's schema.
    pub fn compile(schema: &Json) -> Result<RecordValidator, InvalidSchema> {
        let draft = draft_of(schema);
        let draft4 = draft == jsonschema::Draft::Draft4;
        let steps = schema
            .get("properties")
            .and_then(Json::as_object)
            .map(|properties| {
                properties
                    .iter()
                    .filter_map(|(name, property)| step_of(property).map(|s| (name.clone(), s)))
                    .filter(|(_, step)| !step.is_zero())
                    .collect()
            })
            .unwrap_or_default();
        let mut rewritten = schema.clone();
        rewrite(&mut rewritten, draft4);
        if let Json::Object(object) = &mut rewritten {
            // The dialect is chosen above; a `$schema` naming an unknown URI would
            // otherwise make the compiler try to fetch it.
            object.remove("$schema");
        }
        let validator = jsonschema::options()
            .with_draft(draft)
            .build(&rewritten)
            .map_err(|e| InvalidSchema(e.masked().to_string()))?;
        Ok(RecordValidator { validator, steps })
    }

    /// Checks one record (a JSON object).
    pub fn validate(&self, record: &Json) -> Result<(), InvalidRecord> {
        if let Some(error) = self.validator.iter_errors(record).next() {
            let pointer = error.instance_path().as_str().to_owned();
            let field = pointer
                .strip_prefix('/')
                .map(|p| {
                    p.split('/')
                        .next()
                        .unwrap_or("")
                        .replace("~1", "/")
                        .replace("~0", "~")
                })
                .unwrap_or_default();
            let reason = error.masked().to_string();
            return Err(InvalidRecord { field, reason });
        }
        for (name, step) in &self.steps {
            let text = match record.get(name) {
                Some(Json::Number(n)) => n.as_str(),
                _ => continue,
            };
            let Ok(value) = Decimal::parse(text) else {
                continue;
            };
            if !value.is_multiple_of(step) {
                return Err(InvalidRecord {
                    field: name.clone(),
                    reason: format!("value is not a multiple of {step}"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(text: &str) -> Json {
        serde_json::from_str(text).unwrap()
    }

    fn amount_schema(draft4_bounds: bool) -> Json {
        let amount = if draft4_bounds {
            json!({"type": ["null", "number"], "maximum": 10000000000i64, "exclusiveMaximum": true,
                   "minimum": -10000000000i64, "exclusiveMinimum": true, "multipleOf": 0.01})
        } else {
            json!({"type": ["null", "number"], "exclusiveMaximum": 10000000000i64,
                   "exclusiveMinimum": -10000000000i64, "multipleOf": 0.01})
        };
        json!({"type": "object", "properties": {
            "AMOUNT": amount,
            "NAME": {"type": ["null", "string"], "maxLength": 3},
            "ID": {"type": "integer"}
        }, "required": ["ID"]})
    }

    #[test]
    fn two_decimal_amounts_pass_where_float_checks_fail() {
        for draft4 in [true, false] {
            let v = RecordValidator::compile(&amount_schema(draft4)).unwrap();
            for amount in ["0.07", "1.10", "1234567.89", "-0.29", "9999999999.99", "0"] {
                let record = parse(&format!(r#"{{"ID": 1, "AMOUNT": {amount}}}"#));
                assert_eq!(v.validate(&record), Ok(()), "{amount} draft4={draft4}");
            }
            let bad = v
                .validate(&parse(r#"{"ID": 1, "AMOUNT": 0.075}"#))
                .unwrap_err();
            assert_eq!(bad.field, "AMOUNT");
            assert_eq!(bad.reason, "value is not a multiple of 0.01");
        }
    }

    #[test]
    fn exclusive_bounds_hold_in_both_spellings() {
        for draft4 in [true, false] {
            let v = RecordValidator::compile(&amount_schema(draft4)).unwrap();
            let err = v
                .validate(&parse(r#"{"ID": 1, "AMOUNT": 10000000000}"#))
                .unwrap_err();
            assert_eq!(err.field, "AMOUNT", "draft4={draft4}");
            assert!(v
                .validate(&parse(r#"{"ID": 1, "AMOUNT": -10000000000}"#))
                .is_err());
        }
    }

    #[test]
    fn errors_name_the_field_and_hide_the_value() {
        let v = RecordValidator::compile(&amount_schema(false)).unwrap();
        let err = v
            .validate(&parse(r#"{"ID": 1, "NAME": "secret-value"}"#))
            .unwrap_err();
        assert_eq!(err.field, "NAME");
        assert!(!err.reason.contains("secret"), "{}", err.reason);
        let err = v.validate(&parse(r#"{"ID": "x"}"#)).unwrap_err();
        assert_eq!(err.field, "ID");
        let err = v.validate(&parse(r#"{"NAME": "a"}"#)).unwrap_err();
        assert_eq!(err.field, "");
        assert!(err.reason.contains("ID"), "{}", err.reason);
    }

    #[test]
    fn schema_dialect_follows_dollar_schema() {
        let schema = json!({"$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object", "properties": {"N": {"type": "number", "exclusiveMaximum": 5}}});
        let v = RecordValidator::compile(&schema).unwrap();
        assert!(v.validate(&json!({"N": 4})).is_ok());
        assert!(v.validate(&json!({"N": 5})).is_err());
    }

    #[test]
    fn unknown_formats_are_accepted() {
        let schema = json!({"type": "object", "properties": {
            "D": {"type": "string", "format": "singer.decimal"}}});
        let v = RecordValidator::compile(&schema).unwrap();
        assert!(v.validate(&json!({"D": "12.50"})).is_ok());
    }
}
