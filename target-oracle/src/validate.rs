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

use singer_core::canonical::{Canonical, Edge, Limits, Scaled};
use singer_core::decimal::Decimal;

use crate::convert::{Field, Known};
use crate::rfc3339;
use singer_core::record::Fields;

/// A schema that cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the schema is not a valid JSON Schema: {0}")]
pub(crate) struct InvalidSchema(pub String);

/// The first rule a record breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field {field:?}: {reason}")]
pub(crate) struct InvalidRecord {
    /// The top-level property (or JSON pointer for nested ones); empty for the record.
    pub field: String,
    pub reason: String,
}

/// A compiled validator for one stream's schema.
pub(crate) struct RecordValidator {
    validator: jsonschema::Validator,
    /// `multipleOf` steps of top-level properties, checked exactly.
    steps: Vec<(String, Decimal)>,
    /// The same rules compiled for flat records, when the schema uses only keywords it
    /// implements (see [`FlatSchema`]); `None` sends every record through `jsonschema`.
    flat: Option<FlatSchema>,
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
    pub(crate) fn compile(schema: &Json) -> Result<RecordValidator, InvalidSchema> {
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
        let flat = FlatSchema::compile(schema, draft4);
        Ok(RecordValidator {
            validator,
            steps,
            flat,
        })
    }

    /// Whether records skip `jsonschema` (the schema is flat enough for [`FlatSchema`]).
    #[cfg(test)]
    pub(crate) fn is_flat(&self) -> bool {
        self.flat.is_some()
    }

    /// The flat rules, which the loader checks field by field as it converts; `None`
    /// when records go through `jsonschema` ([`RecordValidator::validate_fields`]).
    pub(crate) fn flat(&self) -> Option<&FlatSchema> {
        self.flat.as_ref()
    }

    /// Checks a record given both its raw text and its parsed top-level fields: flat
    /// schemas are checked on the fields directly, others through `jsonschema`.
    pub(crate) fn validate_fields(
        &self,
        record: &str,
        fields: &Fields<'_>,
    ) -> Result<(), InvalidRecord> {
        match &self.flat {
            Some(flat) => flat.validate(fields),
            None => {
                let parsed: Json = serde_json::from_str(record).map_err(|_| InvalidRecord {
                    field: String::new(),
                    reason: "the record is not valid JSON".into(),
                })?;
                self.validate(&parsed)
            }
        }
    }

    /// Checks one record (a JSON object).
    pub(crate) fn validate(&self, record: &Json) -> Result<(), InvalidRecord> {
        // `is_valid` stops at the first failure without building errors: the common
        // case costs least.
        let first_error = if self.validator.is_valid(record) {
            None
        } else {
            self.validator.iter_errors(record).next()
        };
        if let Some(error) = first_error {
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

/// JSON types as a bit set.
const NULL: u8 = 1;
const BOOLEAN: u8 = 2;
const INTEGER: u8 = 4;
const NUMBER: u8 = 8;
const STRING: u8 = 16;
const OBJECT: u8 = 32;
const ARRAY: u8 = 64;

fn type_bit(name: &str) -> Option<u8> {
    Some(match name {
        "null" => NULL,
        "boolean" => BOOLEAN,
        "integer" => INTEGER,
        "number" => NUMBER,
        "string" => STRING,
        "object" => OBJECT,
        "array" => ARRAY,
        _ => return None,
    })
}

/// Formats the flat path checks itself; `jsonschema` ignores the decimal ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FlatFormat {
    DateTime,
    Date,
    /// Not checked (unknown to `jsonschema` as well).
    Ignored,
}

/// One bound: the value and whether it is exclusive.
#[derive(Debug, Clone)]
struct Bound {
    value: Limit,
    exclusive: bool,
}

/// A bound's or step's value, exact, and as a scaled integer when it fits (the fast
/// comparison for canonical record numbers).
#[derive(Debug, Clone)]
struct Limit {
    exact: Decimal,
    scaled: Option<Scaled>,
}

impl Limit {
    fn parse(text: &str) -> Option<Limit> {
        let exact = Decimal::parse(text).ok()?;
        let scaled = Scaled::of(&exact);
        Some(Limit { exact, scaled })
    }

    /// The order of `value` against this limit, by integers when both fit.
    fn order_of(&self, value: Number<'_>) -> std::cmp::Ordering {
        match (value, self.scaled) {
            (Number::Canonical(_, Some(v)), Some(limit)) => v.cmp_value(limit),
            _ => None,
        }
        .unwrap_or_else(|| value.exact().cmp_value(&self.exact))
    }

    /// Whether `value` is a multiple of this step, by integers when both fit.
    fn divides(&self, value: Number<'_>) -> bool {
        match (value, self.scaled) {
            (Number::Canonical(_, Some(v)), Some(step)) => v.is_multiple_of(step),
            _ => None,
        }
        .unwrap_or_else(|| value.exact().is_multiple_of(&self.exact))
    }
}

/// A record's number as validation read it: canonical text (the usual case) with its
/// value as a scaled integer when it fits, else the exact decimal of any other spelling
/// (`1.50`, `1e3`).
#[derive(Debug, Clone, Copy)]
enum Number<'f> {
    Canonical(Canonical<'f>, Option<Scaled>),
    Other(&'f Decimal),
}

impl<'f> Number<'f> {
    fn exact(self) -> Decimal<&'f str> {
        match self {
            Number::Canonical(c, _) => c.decimal(),
            Number::Other(d) => d.borrowed(),
        }
    }
}

/// The rules of one top-level property.
#[derive(Debug, Clone)]
struct FlatProperty {
    types: u8,
    max_length: Option<u64>,
    min_length: Option<u64>,
    maximum: Vec<Bound>,
    minimum: Vec<Bound>,
    multiple_of: Option<Limit>,
    format: Option<FlatFormat>,
}

/// The same validation `jsonschema` does, for the shape nearly every Singer tap emits:
/// an object of scalar properties with `type`, length, bound, `multipleOf` and
/// `date-time`/`date` rules. It reads the raw fields the loader already split, instead
/// of building a `serde_json::Value` per record (which costs more than everything else
/// the target does). Any keyword outside this list sends the whole schema to
/// `jsonschema`; `tests::flat_and_jsonschema_agree` checks the two agree.
#[derive(Debug, Clone)]
pub(crate) struct FlatSchema {
    /// In schema order, so a record written in that order is matched without hashing.
    properties: Vec<(String, FlatProperty)>,
    by_name: crate::fast_hash::FastMap<String, usize>,
    required: Vec<String>,
    /// Draft 4 counts `1.0` as a number but not an integer; later drafts count it as both.
    draft4: bool,
}

/// Keywords that never affect validation.
fn is_annotation(key: &str) -> bool {
    key.starts_with("x-")
        || matches!(
            key,
            "title"
                | "description"
                | "default"
                | "examples"
                | "$comment"
                | "readOnly"
                | "writeOnly"
                | "deprecated"
                | "precision"
                | "scale"
                | "contentEncoding"
                | "contentMediaType"
                | "inclusion"
                | "selected"
        )
}

fn bound_of(object: &Map<String, Json>, inclusive: &str, exclusive: &str) -> Option<Vec<Bound>> {
    let mut bounds = Vec::new();
    let exclusive_flag = match object.get(exclusive) {
        Some(Json::Bool(flag)) => *flag,
        Some(Json::Number(n)) => {
            bounds.push(Bound {
                value: Limit::parse(n.as_str())?,
                exclusive: true,
            });
            false
        }
        Some(_) => return None,
        None => false,
    };
    match object.get(inclusive) {
        Some(Json::Number(n)) => bounds.push(Bound {
            value: Limit::parse(n.as_str())?,
            exclusive: exclusive_flag,
        }),
        Some(_) => return None,
        None => {}
    }
    Some(bounds)
}

fn length_of(object: &Map<String, Json>, key: &str) -> Option<Option<u64>> {
    match object.get(key) {
        None => Some(None),
        Some(Json::Number(n)) => n.as_u64().map(Some),
        Some(_) => None,
    }
}

impl FlatProperty {
    fn compile(schema: &Json) -> Option<FlatProperty> {
        let object = schema.as_object()?;
        for key in object.keys() {
            let known = matches!(
                key.as_str(),
                "type"
                    | "maxLength"
                    | "minLength"
                    | "maximum"
                    | "minimum"
                    | "exclusiveMaximum"
                    | "exclusiveMinimum"
                    | "multipleOf"
                    | "format"
            );
            if !known && !is_annotation(key) {
                return None;
            }
        }
        let types = match object.get("type")? {
            Json::String(t) => type_bit(t)?,
            Json::Array(list) => {
                let mut bits = 0;
                for t in list {
                    bits |= type_bit(t.as_str()?)?;
                }
                bits
            }
            _ => return None,
        };
        let format = match object.get("format") {
            None => None,
            Some(Json::String(f)) => Some(match f.as_str() {
                "date-time" => FlatFormat::DateTime,
                "date" => FlatFormat::Date,
                "singer.decimal" | "x-singer.decimal" => FlatFormat::Ignored,
                _ => return None,
            }),
            Some(_) => return None,
        };
        let multiple_of = match object.get("multipleOf") {
            None => None,
            Some(Json::Number(n)) => Some(Limit::parse(n.as_str())?),
            Some(_) => return None,
        };
        Some(FlatProperty {
            types,
            max_length: length_of(object, "maxLength")?,
            min_length: length_of(object, "minLength")?,
            maximum: bound_of(object, "maximum", "exclusiveMaximum")?,
            minimum: bound_of(object, "minimum", "exclusiveMinimum")?,
            multiple_of,
            format,
        })
    }

    /// Checks one field; what it read on the way (a canonical number, a `date-time`
    /// string's instant) is returned so conversion need not read it again.
    fn check<'f>(&self, field: &Field<'f>, draft4: bool) -> Result<Option<Known<'f>>, String> {
        let actual = match field {
            Field::Null => NULL,
            Field::Bool(_) => BOOLEAN,
            Field::String(_) => STRING,
            Field::Structured(text) if text.starts_with('[') => ARRAY,
            Field::Structured(_) => OBJECT,
            Field::Number(text) => return self.check_number(text, draft4),
        };
        if self.types & actual == 0 {
            return Err(type_error(self.types));
        }
        match field {
            Field::String(text) => self.check_string(text).map(|at| at.map(Known::Instant)),
            _ => Ok(None),
        }
    }

    fn check_number<'f>(&self, text: &'f str, draft4: bool) -> Result<Option<Known<'f>>, String> {
        let read = Canonical::read_scaled(text);
        let canonical = read.map(|(c, _)| c);
        let parsed;
        let value = match read {
            Some((c, scaled)) => Number::Canonical(c, scaled),
            None => {
                parsed = Decimal::parse(text).map_err(|_| "value is not a number".to_owned())?;
                Number::Other(&parsed)
            }
        };
        // Canonical text has a point exactly when it has a fraction.
        let integral = match value {
            Number::Canonical(c, _) => c.is_integer(),
            Number::Other(d) => {
                d.is_integer()
                    && (!draft4 || !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')))
            }
        };
        let allowed = self.types & NUMBER != 0 || (integral && self.types & INTEGER != 0);
        if !allowed {
            return Err(type_error(self.types));
        }
        for bound in &self.maximum {
            let order = bound.value.order_of(value);
            if order.is_gt() || (bound.exclusive && order.is_eq()) {
                return Err(format!(
                    "value is greater than {}the maximum of {}",
                    if bound.exclusive { "or equal to " } else { "" },
                    bound.value.exact
                ));
            }
        }
        for bound in &self.minimum {
            let order = bound.value.order_of(value);
            if order.is_lt() || (bound.exclusive && order.is_eq()) {
                return Err(format!(
                    "value is less than {}the minimum of {}",
                    if bound.exclusive { "or equal to " } else { "" },
                    bound.value.exact
                ));
            }
        }
        if let Some(step) = &self.multiple_of {
            if !step.divides(value) {
                return Err(format!("value is not a multiple of {}", step.exact));
            }
        }
        Ok(canonical.map(Known::Number))
    }

    fn check_string(&self, text: &str) -> Result<Option<rfc3339::Instant>, String> {
        // Characters are counted only when the byte length could break a limit.
        let bytes = text.len() as u64;
        if let Some(max) = self.max_length {
            if bytes > max && text.chars().count() as u64 > max {
                return Err(format!("value is longer than {max} characters"));
            }
        }
        if let Some(min) = self.min_length {
            if min > 0 && bytes < min.saturating_mul(4) && (text.chars().count() as u64) < min {
                return Err(format!("value is shorter than {min} characters"));
            }
        }
        match self.format {
            Some(FlatFormat::DateTime) => match rfc3339::parse(text) {
                Some(instant) => Ok(Some(instant)),
                None => Err("value is not a \"date-time\"".into()),
            },
            Some(FlatFormat::Date)
                if text.len() != 10
                    || chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() =>
            {
                Err("value is not a \"date\"".into())
            }
            _ => Ok(None),
        }
    }
}

fn type_error(types: u8) -> String {
    let names: Vec<&str> = [
        (NULL, "null"),
        (BOOLEAN, "boolean"),
        (INTEGER, "integer"),
        (NUMBER, "number"),
        (STRING, "string"),
        (OBJECT, "object"),
        (ARRAY, "array"),
    ]
    .iter()
    .filter(|(bit, _)| types & bit != 0)
    .map(|(_, name)| *name)
    .collect();
    if names.len() == 1 {
        format!("value is not of type \"{}\"", names[0])
    } else {
        format!(
            "value is not of types {}",
            names
                .iter()
                .map(|n| format!("\"{n}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl FlatSchema {
    /// `None` when the schema uses anything the flat path does not implement.
    pub(crate) fn compile(schema: &Json, draft4: bool) -> Option<FlatSchema> {
        let object = schema.as_object()?;
        for (key, value) in object {
            match key.as_str() {
                "type" => {
                    let is_object = match value {
                        Json::String(t) => t == "object",
                        Json::Array(list) => list.iter().any(|t| t == "object"),
                        _ => false,
                    };
                    if !is_object {
                        return None;
                    }
                }
                "properties" | "required" | "$schema" => {}
                "additionalProperties" if value == &Json::Bool(true) => {}
                other if is_annotation(other) => {}
                _ => return None,
            }
        }
        let mut properties = Vec::new();
        if let Some(list) = object.get("properties") {
            for (name, property) in list.as_object()? {
                properties.push((name.clone(), FlatProperty::compile(property)?));
            }
        }
        let by_name = properties
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        let required = match object.get("required") {
            None => Vec::new(),
            Some(Json::Array(list)) => list
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
            Some(_) => return None,
        };
        Some(FlatSchema {
            properties,
            by_name,
            required,
            draft4,
        })
    }

    /// Checks the top-level fields of one record.
    pub(crate) fn validate(&self, fields: &Fields<'_>) -> Result<(), InvalidRecord> {
        self.check_required(fields)?;
        for (position, (key, field)) in fields.iter().enumerate() {
            self.check_field(position, key, field)
                .map_err(|reason| InvalidRecord {
                    field: key.to_string(),
                    reason,
                })?;
        }
        Ok(())
    }

    /// Checks that every `required` property is present.
    pub(crate) fn check_required(&self, fields: &Fields<'_>) -> Result<(), InvalidRecord> {
        for name in &self.required {
            if !fields.iter().any(|(key, _)| key == name) {
                return Err(InvalidRecord {
                    field: String::new(),
                    reason: format!("\"{name}\" is a required property"),
                });
            }
        }
        Ok(())
    }

    /// [`FlatSchema::check_field`] of a field known to be the `position`-th property.
    pub(crate) fn check_at<'f>(
        &self,
        position: usize,
        field: &Field<'f>,
    ) -> Result<Option<Known<'f>>, String> {
        match self.properties.get(position) {
            Some((_, rules)) => rules.check(field, self.draft4),
            None => Ok(None),
        }
    }

    /// The byte length up to which any string passes the `position`-th property's
    /// rules (a string of n bytes has at most n characters, so `maxLength` holds);
    /// `None` when strings need the full check (a format, a `minLength`) or are not
    /// allowed.
    pub(crate) fn strings_pass_within(&self, position: usize) -> Option<usize> {
        let (_, rules) = self.properties.get(position)?;
        let plain = rules.types & STRING != 0
            && matches!(rules.format, None | Some(FlatFormat::Ignored))
            && rules.min_length.is_none_or(|least| least == 0);
        plain.then(|| {
            rules.max_length.map_or(usize::MAX, |most| {
                usize::try_from(most).unwrap_or(usize::MAX)
            })
        })
    }

    /// Whether the `position`-th property takes any RFC 3339 date-time string and
    /// nothing else of a string: `format: date-time` with no length rules.
    pub(crate) fn takes_date_times(&self, position: usize) -> bool {
        self.properties.get(position).is_some_and(|(_, rules)| {
            rules.types & STRING != 0
                && rules.format == Some(FlatFormat::DateTime)
                && rules.max_length.is_none()
                && rules.min_length.is_none_or(|least| least == 0)
        })
    }

    /// The `position`-th property's rules on numbers as [`Limits`], when a canonical
    /// number passes them exactly when it is within those limits: numbers or integers
    /// allowed, a `multipleOf` that is a power of ten, bounds of at most 38 digits.
    /// `None` otherwise (each number is then checked the full way).
    pub(crate) fn number_limits_at(&self, position: usize) -> Option<Limits> {
        let (_, rules) = self.properties.get(position)?;
        let mut limits = Limits::default();
        if rules.types & NUMBER == 0 {
            if rules.types & INTEGER == 0 {
                return None;
            }
            // A canonical number is integral exactly when it has no decimals.
            limits.decimals_at_most(0);
        }
        if let Some(step) = &rules.multiple_of {
            // Canonical text ends in a nonzero decimal: a multiple of 10^-n exactly when
            // it has at most n decimals.
            let step = step.scaled.filter(|s| s.mantissa() == 1)?;
            limits.decimals_at_most(step.scale());
        }
        for (bounds, inclusive, exclusive) in [
            (&rules.maximum, Edge::AtMost, Edge::Below),
            (&rules.minimum, Edge::AtLeast, Edge::Above),
        ] {
            for bound in bounds {
                let edge = if bound.exclusive {
                    exclusive
                } else {
                    inclusive
                };
                limits.bound(bound.value.scaled?, edge);
            }
        }
        Some(limits)
    }

    /// Whether a null passes the `position`-th property's rules.
    pub(crate) fn null_passes(&self, position: usize) -> bool {
        self.properties
            .get(position)
            .is_some_and(|(_, rules)| rules.types & NULL != 0)
    }

    /// Whether `key` is the `position`-th property.
    pub(crate) fn names_at(&self, position: usize, key: &str) -> bool {
        self.properties
            .get(position)
            .is_some_and(|(name, _)| name == key)
    }

    /// Checks the field written `position`-th in its record (properties the schema does
    /// not name pass); what it read on the way is returned for the conversion. The error
    /// is the broken rule; the caller names the field (a small error keeps this hot
    /// function's result small).
    // Inlined into the row builder, so its result stays in registers instead of
    // making a round trip through memory for every field (a measurable stall).
    #[inline(always)]
    pub(crate) fn check_field<'f>(
        &self,
        position: usize,
        key: &str,
        field: &Field<'f>,
    ) -> Result<Option<Known<'f>>, String> {
        // Taps write fields in schema order: the same position first, then the name.
        let rules = match self.properties.get(position) {
            Some((name, rules)) if singer_core::record::same_name(name, key) => Some(rules),
            _ => self.by_name.get(key).map(|&i| &self.properties[i].1),
        };
        match rules {
            Some(rules) => rules.check(field, self.draft4),
            None => Ok(None),
        }
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

    mod differential {
        use super::*;
        use proptest::prelude::*;

        fn schema(draft4: bool) -> Json {
            let amount = if draft4 {
                json!({"type": ["null", "number"], "maximum": 1000, "exclusiveMaximum": true,
                       "minimum": -1000, "exclusiveMinimum": true, "multipleOf": 0.01})
            } else {
                json!({"type": ["null", "number"], "exclusiveMaximum": 1000,
                       "exclusiveMinimum": -1000, "multipleOf": 0.01})
            };
            json!({"type": "object", "required": ["ID"], "properties": {
                "ID": {"type": ["integer"], "minimum": -99, "maximum": 99},
                "AMOUNT": amount,
                "NAME": {"type": ["null", "string"], "maxLength": 3, "minLength": 1},
                "AT": {"type": ["null", "string"], "format": "date-time"},
                "DAY": {"type": "string", "format": "date"},
                "FLAG": {"type": ["null", "boolean"]},
                "D": {"type": ["null", "string"], "format": "singer.decimal"}
            }})
        }

        fn value() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("null".to_owned()),
                Just("true".to_owned()),
                (-1200i64..1200).prop_map(|n| n.to_string()),
                (-120_000i64..120_000, 0u32..4).prop_map(|(n, d)| {
                    let text = format!("{}.{:03}", n / 1000, (n % 1000).abs());
                    if d == 0 {
                        text
                    } else {
                        format!("{}{}", text, "0".repeat(d as usize))
                    }
                }),
                Just("99".to_owned()),
                Just("100".to_owned()),
                Just("1000".to_owned()),
                Just("999.99".to_owned()),
                Just("1e2".to_owned()),
                "[a-zé\"]{0,5}".prop_map(|s| serde_json::to_string(&s).unwrap()),
                prop_oneof![
                    Just("2024-01-01T00:00:00Z"),
                    Just("2024-02-29T23:59:59.123456+05:30"),
                    Just("2023-02-29T00:00:00Z"),
                    Just("2024-01-01"),
                    Just("2024-1-01"),
                    Just("not a date"),
                ]
                .prop_map(|s| format!("\"{s}\"")),
            ]
        }

        fn record() -> impl Strategy<Value = String> {
            let names = ["ID", "AMOUNT", "NAME", "AT", "DAY", "FLAG", "D", "OTHER"];
            proptest::collection::vec((0usize..names.len(), value()), 0..8).prop_map(
                move |fields| {
                    let mut seen = std::collections::HashSet::new();
                    let body: Vec<String> = fields
                        .into_iter()
                        .filter(|(i, _)| seen.insert(*i))
                        .map(|(i, v)| format!("\"{}\":{}", names[i], v))
                        .collect();
                    format!("{{{}}}", body.join(","))
                },
            )
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(3000))]
            #[test]
            fn flat_and_jsonschema_agree(text in record(), draft4 in any::<bool>()) {
                let validator = RecordValidator::compile(&schema(draft4)).unwrap();
                prop_assert!(validator.is_flat());
                let fields = singer_core::record::split_record(&text).unwrap();
                let flat = validator.validate_fields(&text, &fields);
                let full = validator.validate(&serde_json::from_str(&text).unwrap());
                prop_assert_eq!(flat.is_ok(), full.is_ok(), "{}: flat {:?} jsonschema {:?}", text, flat, full);
            }
        }

        #[test]
        fn nested_or_unusual_schemas_use_jsonschema() {
            for schema in [
                json!({"type": "object", "properties": {"A": {"type": "object", "properties": {}}}}),
                json!({"type": "object", "properties": {"A": {"anyOf": [{"type": "string"}]}}}),
                json!({"type": "object", "properties": {"A": {"type": "string", "pattern": "x"}}}),
                json!({"type": "object", "additionalProperties": false, "properties": {}}),
                json!({"type": "object", "properties": {"A": {"type": "string", "format": "email"}}}),
            ] {
                assert!(
                    !RecordValidator::compile(&schema).unwrap().is_flat(),
                    "{schema}"
                );
            }
        }
    }
}
