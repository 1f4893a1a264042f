//! One stream's column plan: which column each property (and each `_sdc_` metadata
//! value) goes to, and the conversion of one raw RECORD into one row for it.

use chrono::{DateTime, FixedOffset};
use serde_json::Value as Json;
use singer_core::canonical::{Limits, ScaledRange};
use singer_core::oracle_type::OracleType;

use db_boundary::{ColumnDef, Value};

use crate::convert::{self, BadValue, Field, Known, ServerLimits, SpareTexts};
use crate::fast_hash::FastMap;
use crate::naming::{ColumnNamer, NamingRules};
use crate::rfc3339;
use crate::type_map::{MappedType, TypeRules};
use crate::validate::FlatSchema;
use singer_core::record::same_name;
use singer_core::record::Fields;

/// A metadata value the target adds itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Meta {
    ExtractedAt,
    ReceivedAt,
    BatchedAt,
    DeletedAt,
    Sequence,
    TableVersion,
    /// `load_method: overwrite`: which load (and input line) wrote the row.
    LoadSequence,
}

impl Meta {
    pub(crate) fn property(self) -> &'static str {
        match self {
            Meta::ExtractedAt => "_sdc_extracted_at",
            Meta::ReceivedAt => "_sdc_received_at",
            Meta::BatchedAt => "_sdc_batched_at",
            Meta::DeletedAt => "_sdc_deleted_at",
            Meta::Sequence => "_sdc_sequence",
            Meta::TableVersion => "_sdc_table_version",
            Meta::LoadSequence => "_sdc_load_sequence",
        }
    }

    fn data_type(self) -> OracleType {
        match self {
            Meta::Sequence | Meta::TableVersion | Meta::LoadSequence => OracleType::Number {
                precision: Some(38),
                scale: Some(0),
            },
            _ => OracleType::TimestampTz {
                fractional_precision: 6,
            },
        }
    }
}

/// Where a column's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SlotSource {
    Property(String),
    Meta(Meta),
}

/// One column of the stream's rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Slot {
    pub column: ColumnDef,
    pub source: SlotSource,
    /// A date-time key property: stored as a UTC TIMESTAMP, since Oracle refuses a
    /// TIMESTAMP WITH TIME ZONE in a primary key (ORA-02329).
    pub utc_key: bool,
}

impl Slot {
    /// `field` (the `key` property, checked, with what the check read) converted into
    /// `value` for this slot's column.
    fn fill(
        &self,
        key: &str,
        field: &Field<'_>,
        known: Option<Known<'_>>,
        limits: ServerLimits,
        value: &mut Value,
        spare: &mut SpareTexts,
    ) -> Result<(), RowError> {
        if self.utc_key {
            *value = convert::to_utc_timestamp(field, known, &self.column, limits)
                .map_err(|e| row_error(key, e))?;
        } else {
            convert::to_slot(field, known, &self.column, limits, value, spare)
                .map_err(|e| row_error(key, e))?;
        }
        Ok(())
    }
}

/// A record that cannot become a row: which field and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RowError {
    /// The property (empty when the record as a whole is wrong).
    pub field: String,
    pub reason: String,
}

/// Per-record facts from the RECORD envelope and the loader.
#[derive(Debug, Clone)]
pub(crate) struct RecordContext<'a> {
    pub time_extracted: Option<&'a str>,
    pub version: Option<i64>,
    pub received_at: DateTime<FixedOffset>,
    pub sequence: i64,
    /// `_sdc_load_sequence` (overwrite).
    pub load_sequence: Option<Value>,
    pub limits: ServerLimits,
    /// A property without a column is an error (`freeze_schema`), not ignored.
    pub reject_unknown: bool,
}

/// The columns of a stream and how to fill them.
#[derive(Debug, Clone)]
pub(crate) struct StreamPlan {
    pub slots: Vec<Slot>,
    /// Property name -> slot index.
    by_property: FastMap<String, usize>,
    /// Slot indices of the key columns, in key order.
    pub key_slots: Vec<usize>,
    meta_slots: Vec<(Meta, usize)>,
    /// The record shape whose keys are the slots' properties in slot order
    /// ([`StreamPlan::build_row`]).
    direct_shape: Option<u64>,
    /// What each position of the direct shape takes without the full check and
    /// conversion, worked out when the shape is found.
    direct_takes: Vec<DirectTake>,
    /// The NOT NULL property slots, which a direct shape's rows are checked for.
    direct_not_null: Vec<usize>,
}

/// The fields a direct shape's position takes straight into its slot: strings short
/// enough that no rule or column limit can refuse them, nulls that the rules and the
/// column allow, and date-times that fit a zoned TIMESTAMP column; and, once the rules
/// have read them, canonical numbers that fit a NUMBER column.
/// Anything else, refusals included, goes through the full check and conversion, which
/// the row builder's tests compare this with.
#[derive(Debug, Clone, Copy, Default)]
struct DirectTake {
    /// Strings of at most this many bytes.
    text_within: Option<usize>,
    null: bool,
    /// Canonical numbers within the rules' and the NUMBER column's limits, read and
    /// checked in one pass.
    number_within: Option<ScaledRange>,
    /// Other numbers the rules read as canonical (after their check, which reads each
    /// number once), checked against this NUMBER(precision, scale) column only.
    number: Option<(Option<u8>, Option<i16>)>,
    /// Date-times (the rules' `format`) read in the usual shape, checked against this
    /// zoned TIMESTAMP column's fractional precision and Oracle's years only.
    instant: Option<u8>,
}

/// The most columns an Oracle table has (ORA-01792 beyond; 23ai's MAX_COLUMNS =
/// EXTENDED raises it to 4096, which the target does not assume).
const MAX_COLUMNS: usize = 1000;

/// Why a stream's schema cannot be planned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property {property:?}: {reason}")]
pub(crate) struct PlanError {
    pub property: String,
    pub reason: String,
}

/// What a plan needs besides the schema.
#[derive(Debug, Clone)]
pub(crate) struct PlanOptions<'r> {
    pub types: &'r TypeRules,
    pub naming: &'r NamingRules,
    pub add_record_metadata: bool,
    /// Add `_sdc_table_version` and `_sdc_deleted_at` even without the other metadata:
    /// the stream uses versions (ACTIVATE_VERSION).
    pub versioned: bool,
    /// Add `_sdc_load_sequence` (`load_method: overwrite`).
    pub overwrite: bool,
    /// The table gets a primary key over the key properties (`upsert`): their columns
    /// must fit an index key ([`TypeRules::fit_primary_key`]).
    pub primary_key: bool,
}

impl StreamPlan {
    /// Plans the columns for `schema` with `key_properties`.
    pub(crate) fn new(
        schema: &Json,
        key_properties: &[String],
        options: &PlanOptions<'_>,
    ) -> Result<StreamPlan, PlanError> {
        let mut namer = ColumnNamer::new(options.naming.clone());
        let mut slots = Vec::new();
        let empty = serde_json::Map::new();
        let properties = schema
            .get("properties")
            .and_then(Json::as_object)
            .unwrap_or(&empty);
        for (property, property_schema) in properties {
            let mapped = options
                .types
                .map_property(property_schema)
                .map_err(|e| PlanError {
                    property: property.clone(),
                    reason: e.0,
                })?;
            let name = namer.column_for(property).map_err(|e| PlanError {
                property: property.clone(),
                reason: e.to_string(),
            })?;
            let is_key = key_properties.contains(property);
            let utc_key = is_key && matches!(mapped.data_type, OracleType::TimestampTz { .. });
            let data_type = match mapped.data_type {
                OracleType::TimestampTz {
                    fractional_precision,
                } if utc_key => OracleType::Timestamp {
                    fractional_precision,
                },
                other => other,
            };
            slots.push(Slot {
                column: ColumnDef {
                    name,
                    data_type,
                    nullable: mapped.nullable && !is_key,
                    check: mapped.check,
                },
                source: SlotSource::Property(property.clone()),
                utc_key,
            });
        }
        let mut metas = Vec::new();
        if options.add_record_metadata {
            metas.extend([
                Meta::ExtractedAt,
                Meta::ReceivedAt,
                Meta::BatchedAt,
                Meta::DeletedAt,
                Meta::Sequence,
                Meta::TableVersion,
            ]);
        } else if options.versioned {
            metas.extend([Meta::DeletedAt, Meta::TableVersion]);
        }
        if options.overwrite {
            metas.push(Meta::LoadSequence);
        }
        let mut meta_slots = Vec::new();
        for meta in metas {
            if properties.contains_key(meta.property()) {
                // The tap sends it as a property: that column serves both purposes.
                continue;
            }
            let name = namer.column_for(meta.property()).map_err(|e| PlanError {
                property: meta.property().into(),
                reason: e.to_string(),
            })?;
            meta_slots.push((meta, slots.len()));
            slots.push(Slot {
                column: ColumnDef {
                    name,
                    data_type: meta.data_type(),
                    nullable: true,
                    check: None,
                },
                source: SlotSource::Meta(meta),
                utc_key: false,
            });
        }
        if let Some(first_over) = slots.get(MAX_COLUMNS) {
            return Err(PlanError {
                property: match &first_over.source {
                    SlotSource::Property(p) => p.clone(),
                    SlotSource::Meta(meta) => meta.property().to_owned(),
                },
                reason: format!(
                    "would be column {} of the table; an Oracle table holds at most \
                     {MAX_COLUMNS} (ORA-01792)",
                    MAX_COLUMNS + 1
                ),
            });
        }
        let by_property: FastMap<String, usize> = slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.source {
                SlotSource::Property(p) => Some((p.clone(), i)),
                SlotSource::Meta(_) => None,
            })
            .collect();
        let mut key_slots = Vec::with_capacity(key_properties.len());
        for key in key_properties {
            let slot = by_property.get(key).copied().ok_or_else(|| PlanError {
                property: key.clone(),
                reason: "is a key property but not in the schema's properties".into(),
            })?;
            key_slots.push(slot);
        }
        if options.primary_key {
            let mut keys: Vec<MappedType> = key_slots
                .iter()
                .map(|&i| MappedType {
                    data_type: slots[i].column.data_type.clone(),
                    nullable: false,
                    check: slots[i].column.check,
                })
                .collect();
            options
                .types
                .fit_primary_key(&mut keys)
                .map_err(|reason| PlanError {
                    property: key_properties.join(", "),
                    reason,
                })?;
            for (key, &i) in keys.into_iter().zip(&key_slots) {
                slots[i].column.data_type = key.data_type;
            }
        }
        Ok(StreamPlan {
            slots,
            by_property,
            key_slots,
            meta_slots,
            direct_shape: None,
            direct_takes: Vec::new(),
            direct_not_null: Vec::new(),
        })
    }

    /// The column names in slot order.
    #[cfg(test)]
    pub(crate) fn column_names(&self) -> Vec<String> {
        self.slots.iter().map(|s| s.column.name.clone()).collect()
    }

    /// The column definitions in slot order.
    pub(crate) fn columns(&self) -> Vec<ColumnDef> {
        self.slots.iter().map(|s| s.column.clone()).collect()
    }

    /// Replaces the column definitions with the table's actual ones (same order).
    pub(crate) fn adopt_columns(&mut self, columns: Vec<ColumnDef>) {
        for (slot, column) in self.slots.iter_mut().zip(columns) {
            slot.column = column;
        }
        self.direct_shape = None;
    }

    /// Keeps only the slots whose column exists in `table`, with the table's own
    /// definitions (`freeze_schema`: no DDL, so properties without a column have
    /// nowhere to go and values are checked against what the table really is).
    /// Returns the names of the dropped columns.
    pub(crate) fn restrict_to(&mut self, table: &db_boundary::TableDef) -> Vec<String> {
        let mut dropped = Vec::new();
        let old = std::mem::take(&mut self.slots);
        let old_keys: Vec<SlotSource> = self
            .key_slots
            .iter()
            .map(|&i| old[i].source.clone())
            .collect();
        for slot in old {
            match table.columns.iter().find(|c| c.name == slot.column.name) {
                Some(existing) => self.slots.push(Slot {
                    column: existing.clone(),
                    source: slot.source,
                    utc_key: slot.utc_key,
                }),
                None => dropped.push(slot.column.name),
            }
        }
        self.reindex(&old_keys);
        dropped
    }

    fn reindex(&mut self, keys: &[SlotSource]) {
        self.direct_shape = None;
        self.by_property = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match &s.source {
                SlotSource::Property(p) => Some((p.clone(), i)),
                SlotSource::Meta(_) => None,
            })
            .collect();
        self.meta_slots = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| match s.source {
                SlotSource::Meta(m) => Some((m, i)),
                SlotSource::Property(_) => None,
            })
            .collect();
        self.key_slots = keys
            .iter()
            .filter_map(|k| self.slots.iter().position(|s| &s.source == k))
            .collect();
    }

    /// The property (or `_sdc_` metadata name) column `column` holds, if the plan has it.
    pub(crate) fn field_for_column(&self, column: &str) -> Option<&str> {
        let slot = self.slots.iter().find(|s| s.column.name == column)?;
        Some(match &slot.source {
            SlotSource::Property(property) => property,
            SlotSource::Meta(meta) => meta.property(),
        })
    }

    /// The slot of a metadata value, if the plan has it.
    pub(crate) fn meta_slot(&self, meta: Meta) -> Option<usize> {
        self.meta_slots
            .iter()
            .find(|(m, _)| *m == meta)
            .map(|(_, i)| *i)
    }

    /// Whether the plan carries a column for this metadata value (as a property or not).
    pub(crate) fn meta_column(&self, meta: Meta) -> Option<&str> {
        self.meta_slot(meta)
            .or_else(|| self.by_property.get(meta.property()).copied())
            .map(|i| self.slots[i].column.name.as_str())
    }

    /// Converts one RECORD body into `row`, checking each field against `rules` (the
    /// stream's flat schema, if records are validated that way) as it goes: one pass,
    /// and a date-time read once. Properties without a column are ignored unless
    /// `reject_unknown` (frozen schema), where a non-null one is an error.
    ///
    /// `row` may be a recycled row of an earlier batch: its text values' buffers are
    /// reused, and every slot this record does not fill is set to null.
    ///
    /// `shape` identifies the record's keys in order (the reader's
    /// [`RecordMessage::shape`](singer_core::message::RecordMessage)): once a shape's
    /// keys are found to be the slots' and the rules' own, in their order, its next
    /// records skip matching names.
    pub(crate) fn build_row(
        &mut self,
        fields: &Fields<'_>,
        rules: Option<&FlatSchema>,
        context: &RecordContext<'_>,
        row: &mut Vec<Value>,
        spare: &mut SpareTexts,
        shape: Option<u64>,
    ) -> Result<(), RowError> {
        // A shape's keys are the slots' first properties: never more fields than slots.
        let direct = shape.is_some()
            && shape == self.direct_shape
            && fields.len() <= self.direct_takes.len();
        let (limits, reject_unknown) = (context.limits, context.reject_unknown);
        row.truncate(self.slots.len());
        row.resize_with(self.slots.len(), || Value::Null);
        let seen = if direct {
            self.fill_direct(fields, rules, limits, row, spare)?;
            SeenSet::first(fields.len(), self.slots.len())
        } else {
            self.fill_by_name(fields, rules, limits, reject_unknown, row, spare)?
        };
        if !seen.covers(row.len()) {
            for (index, value) in row.iter_mut().enumerate() {
                if !seen.contains(index) {
                    spare.set_null(value);
                }
            }
        }
        for &(meta, index) in &self.meta_slots {
            let value = match meta {
                Meta::ExtractedAt => match context.time_extracted {
                    Some(text) => {
                        Value::TimestampTz(convert::parse_instant(text).map_err(|e| RowError {
                            field: "time_extracted".into(),
                            reason: e.0,
                        })?)
                    }
                    None => Value::Null,
                },
                Meta::ReceivedAt => Value::TimestampTz(context.received_at),
                Meta::BatchedAt => Value::Null,
                Meta::DeletedAt => continue,
                Meta::Sequence if seen.contains(index) => continue,
                Meta::Sequence => Value::Number(context.sequence.into()),
                Meta::TableVersion => match context.version {
                    Some(v) => Value::Number(v.into()),
                    None => Value::Null,
                },
                Meta::LoadSequence => context.load_sequence.clone().unwrap_or(Value::Null),
            };
            row[index] = value;
        }
        let null_in_not_null = if direct {
            self.direct_not_null
                .iter()
                .copied()
                .find(|&i| row[i].is_null())
        } else {
            (0..self.slots.len()).find(|&i| {
                let slot = &self.slots[i];
                !slot.column.nullable
                    && matches!(slot.source, SlotSource::Property(_))
                    && row[i].is_null()
            })
        };
        if let Some(index) = null_in_not_null {
            if let SlotSource::Property(property) = &self.slots[index].source {
                return Err(RowError {
                    field: property.clone(),
                    reason: if seen.contains(index) {
                        "is null but the column is NOT NULL".into()
                    } else {
                        "is missing but the column is NOT NULL".into()
                    },
                });
            }
        }
        if !direct && shape.is_some() {
            self.direct_shape = shape.filter(|_| self.maps_directly(fields, rules));
            if self.direct_shape.is_some() {
                self.direct_takes = self.direct_takes(rules, limits);
                self.direct_not_null = (0..self.slots.len())
                    .filter(|&i| {
                        let slot = &self.slots[i];
                        !slot.column.nullable && matches!(slot.source, SlotSource::Property(_))
                    })
                    .collect();
            }
        }
        Ok(())
    }

    /// The fields of a record of the direct shape into `row`, position by position:
    /// what the position takes straight ([`DirectTake`]), else the full check and
    /// conversion ([`StreamPlan::take_checked`]).
    fn fill_direct(
        &self,
        fields: &Fields<'_>,
        rules: Option<&FlatSchema>,
        limits: ServerLimits,
        row: &mut [Value],
        spare: &mut SpareTexts,
    ) -> Result<(), RowError> {
        let positions = fields.iter().zip(&self.direct_takes).zip(row.iter_mut());
        for (position, (((key, field), take), slot)) in positions.enumerate() {
            let taken = match field {
                Field::String(text)
                    if take.text_within.is_some_and(|within| text.len() <= within) =>
                {
                    convert::reuse_text(slot, text, spare);
                    true
                }
                Field::String(text) => {
                    take.instant.is_some_and(|precision| {
                        match rfc3339::parse(text).map(|at| convert::zoned_value(at, precision)) {
                            Some(Ok(value)) => {
                                *slot = value;
                                true
                            }
                            _ => false,
                        }
                    })
                }
                Field::Null if take.null => {
                    spare.set_null(slot);
                    true
                }
                Field::Number(text) => match take.number_within.and_then(|range| range.admit(text))
                {
                    Some(number) => {
                        convert::number_into_slot(&number, slot, spare);
                        true
                    }
                    None => false,
                },
                _ => false,
            };
            if !taken {
                self.take_checked(position, key, field, take, rules, limits, slot, spare)?;
            }
        }
        Ok(())
    }

    /// A direct shape's field that its position does not take straight: checked against
    /// the position's rules, then converted for its column (a number the rules read as
    /// canonical needs only the column's check).
    // Out of line: the loop above stays small for the fields it takes.
    #[inline(never)]
    #[allow(clippy::too_many_arguments)]
    fn take_checked(
        &self,
        position: usize,
        key: &str,
        field: &Field<'_>,
        take: &DirectTake,
        rules: Option<&FlatSchema>,
        limits: ServerLimits,
        slot: &mut Value,
        spare: &mut SpareTexts,
    ) -> Result<(), RowError> {
        let known = match rules {
            Some(rules) => rules.check_at(position, field),
            None => Ok(None),
        }
        .map_err(|reason| RowError {
            field: key.to_string(),
            reason,
        })?;
        if let (Some(Known::Number(number)), Some((precision, scale))) = (known, take.number) {
            return convert::canonical_to_slot(&number, precision, scale, slot, spare)
                .map_err(|e| row_error(key, e));
        }
        self.slots[position].fill(key, field, known, limits, slot, spare)
    }

    /// The fields of a record into `row` by their names (the slot at the same position
    /// first, then the name's), each checked against its rules and converted; the slots
    /// filled.
    fn fill_by_name(
        &self,
        fields: &Fields<'_>,
        rules: Option<&FlatSchema>,
        limits: ServerLimits,
        reject_unknown: bool,
        row: &mut [Value],
        spare: &mut SpareTexts,
    ) -> Result<SeenSet, RowError> {
        let mut seen = SeenSet::new(self.slots.len());
        for (position, (key, field)) in fields.iter().enumerate() {
            let known = match rules {
                Some(rules) => rules.check_field(position, key, field),
                None => Ok(None),
            }
            .map_err(|reason| RowError {
                field: key.to_string(),
                reason,
            })?;
            // Taps write fields in schema order: try the slot at the same position
            // before hashing the name.
            let found = if self.slots.get(position).is_some_and(
                |slot| matches!(&slot.source, SlotSource::Property(p) if same_name(p, key)),
            ) {
                Some(position)
            } else {
                self.by_property.get(key.as_ref()).copied()
            };
            let index = match found {
                Some(i) => i,
                None => match self.meta_by_property(key) {
                    Some(i) => i,
                    None => {
                        // `_sdc_` fields the schema does not declare (taps and
                        // mappers add them) are ignored as in the default mode.
                        if reject_unknown && *field != Field::Null && !key.starts_with("_sdc_") {
                            return Err(RowError {
                                field: key.to_string(),
                                reason: "has no column and freeze_schema forbids adding one".into(),
                            });
                        }
                        continue;
                    }
                },
            };
            self.slots[index].fill(key, field, known, limits, &mut row[index], spare)?;
            seen.insert(index);
        }
        Ok(seen)
    }

    /// Whether the record's `position`-th key is the property of slot `position` and of
    /// the rules' `position`-th property, for every position.
    fn maps_directly(&self, fields: &Fields<'_>, rules: Option<&FlatSchema>) -> bool {
        fields.iter().enumerate().all(|(position, (key, _))| {
            matches!(
                self.slots.get(position),
                Some(Slot { source: SlotSource::Property(p), .. }) if p == key
            ) && rules.is_none_or(|rules| rules.names_at(position, key))
        })
    }

    /// Each slot's [`DirectTake`]: what passes `rules` (any string, null and number
    /// without them) and fits the column with no more than its own check. Key columns
    /// kept in UTC take nothing.
    fn direct_takes(&self, rules: Option<&FlatSchema>, limits: ServerLimits) -> Vec<DirectTake> {
        self.slots
            .iter()
            .enumerate()
            .map(|(position, slot)| {
                if slot.utc_key || !matches!(slot.source, SlotSource::Property(_)) {
                    return DirectTake::default();
                }
                let passes = rules.map_or(Some(usize::MAX), |r| r.strings_pass_within(position));
                let fits = convert::text_fits_within(&slot.column, limits);
                let number = match slot.column.data_type {
                    OracleType::Number { precision, scale } if slot.column.check.is_none() => {
                        Some((precision, scale))
                    }
                    _ => None,
                };
                let number_within = number.and_then(|(precision, scale)| {
                    let limits = match rules {
                        Some(rules) => rules.number_limits_at(position)?,
                        None => Limits::default(),
                    };
                    convert::limit_to_number_column(limits, precision, scale)?.range()
                });
                let instant = match slot.column.data_type {
                    OracleType::TimestampTz {
                        fractional_precision,
                    }
                    | OracleType::TimestampLtz {
                        fractional_precision,
                    } if rules.is_some_and(|r| r.takes_date_times(position)) => {
                        Some(fractional_precision)
                    }
                    _ => None,
                };
                DirectTake {
                    text_within: passes.zip(fits).map(|(a, b)| a.min(b)),
                    null: slot.column.nullable && rules.is_none_or(|r| r.null_passes(position)),
                    number_within,
                    number,
                    instant,
                }
            })
            .collect()
    }

    fn meta_by_property(&self, key: &str) -> Option<usize> {
        self.meta_slots
            .iter()
            .find(|(m, _)| m.property() == key && matches!(m, Meta::DeletedAt | Meta::Sequence))
            .map(|(_, i)| *i)
    }
}

/// Which slots a record filled: bits for the usual table widths (a 64-bit word is
/// cheaper to shift than a 128-bit one), a vector beyond.
enum SeenSet {
    Bits(u64),
    WideBits(u128),
    Many(Vec<bool>),
}

impl SeenSet {
    fn new(len: usize) -> SeenSet {
        match len {
            0..=64 => SeenSet::Bits(0),
            65..=128 => SeenSet::WideBits(0),
            _ => SeenSet::Many(vec![false; len]),
        }
    }

    fn insert(&mut self, index: usize) {
        match self {
            SeenSet::Bits(bits) => *bits |= 1 << index,
            SeenSet::WideBits(bits) => *bits |= 1 << index,
            SeenSet::Many(flags) => flags[index] = true,
        }
    }

    /// A set of `len` slots holding the first `filled`.
    fn first(filled: usize, len: usize) -> SeenSet {
        let mut seen = SeenSet::new(len);
        match &mut seen {
            SeenSet::Bits(bits) => *bits = u64::MAX.checked_shr(64 - filled as u32).unwrap_or(0),
            SeenSet::WideBits(bits) => {
                *bits = u128::MAX.checked_shr(128 - filled as u32).unwrap_or(0)
            }
            SeenSet::Many(flags) => flags[..filled].fill(true),
        }
        seen
    }

    /// Whether every index below `len` was inserted.
    fn covers(&self, len: usize) -> bool {
        match self {
            SeenSet::Bits(_) if len == 0 => true,
            SeenSet::Bits(bits) => *bits == u64::MAX >> (64 - len),
            SeenSet::WideBits(bits) => *bits == u128::MAX >> (128 - len),
            SeenSet::Many(flags) => flags[..len].iter().all(|&f| f),
        }
    }

    fn contains(&self, index: usize) -> bool {
        match self {
            SeenSet::Bits(bits) => *bits & (1 << index) != 0,
            SeenSet::WideBits(bits) => *bits & (1 << index) != 0,
            SeenSet::Many(flags) => flags[index],
        }
    }
}

fn row_error(key: &str, e: BadValue) -> RowError {
    RowError {
        field: key.to_owned(),
        reason: e.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every width around the word sizes remembers exactly the slots filled.
    #[test]
    fn a_seen_set_holds_exactly_the_slots_inserted() {
        for len in [1, 63, 64, 65, 127, 128, 129, 300] {
            for filled in [0, len / 2, len - 1] {
                let mut seen = SeenSet::new(len);
                seen.insert(filled);
                seen.insert(0);
                for index in 0..len {
                    assert_eq!(
                        seen.contains(index),
                        index == filled || index == 0,
                        "{len} {index}"
                    );
                }
                assert_eq!(seen.covers(len), len == 1, "{len}");
                for index in 0..len {
                    seen.insert(index);
                }
                assert!(seen.covers(len), "{len}");
                assert!(!SeenSet::new(len).covers(len), "{len}");
            }
        }
        assert!(SeenSet::new(0).covers(0));
        for len in [0, 1, 63, 64, 65, 127, 128, 129, 300] {
            for filled in [0, len / 2, len] {
                let first = SeenSet::first(filled, len);
                for index in 0..len {
                    assert_eq!(
                        first.contains(index),
                        index < filled,
                        "{len} {filled} {index}"
                    );
                }
                assert_eq!(first.covers(len), filled == len, "{len} {filled}");
            }
        }
    }
    use serde_json::json;
    use singer_core::record::split_record;

    const TYPES: TypeRules = TypeRules {
        native_boolean: false,
        native_json: false,
        max_string_bytes: 4000,
        base64_as_blob: false,
    };
    const NAMING: NamingRules = NamingRules {
        upper_case: true,
        max_bytes: 128,
    };
    const LIMITS: ServerLimits = ServerLimits {
        max_string_bytes: 4000,
    };

    fn schema() -> Json {
        json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "name": {"type": ["null", "string"], "maxLength": 5},
            "amount": {"type": ["null", "number"]},
            "flag": {"type": ["null", "boolean"]}
        }})
    }

    fn context() -> RecordContext<'static> {
        RecordContext {
            time_extracted: Some("2024-01-02T03:04:05Z"),
            version: Some(17),
            received_at: DateTime::parse_from_rfc3339("2024-01-02T03:04:06+00:00").unwrap(),
            sequence: 99,
            load_sequence: None,
            limits: LIMITS,
            reject_unknown: false,
        }
    }

    fn build(plan: &StreamPlan, text: &str, reject_unknown: bool) -> Result<Vec<Value>, RowError> {
        let mut row = Vec::new();
        let fields = split_record(text).unwrap();
        let context = RecordContext {
            reject_unknown,
            ..context()
        };
        plan.clone().build_row(
            &fields,
            None,
            &context,
            &mut row,
            &mut SpareTexts::default(),
            None,
        )?;
        Ok(row)
    }

    /// The plan options of these tests: upserts, with or without metadata columns.
    fn options(metadata: bool) -> PlanOptions<'static> {
        PlanOptions {
            types: &TYPES,
            naming: &NAMING,
            add_record_metadata: metadata,
            versioned: false,
            overwrite: false,
            primary_key: true,
        }
    }

    fn plan(metadata: bool) -> StreamPlan {
        StreamPlan::new(&schema(), &["id".to_owned()], &options(metadata)).unwrap()
    }

    #[test]
    fn columns_follow_schema_order_then_metadata() {
        let p = plan(true);
        assert_eq!(
            p.column_names(),
            [
                "ID",
                "NAME",
                "AMOUNT",
                "FLAG",
                "_SDC_EXTRACTED_AT",
                "_SDC_RECEIVED_AT",
                "_SDC_BATCHED_AT",
                "_SDC_DELETED_AT",
                "_SDC_SEQUENCE",
                "_SDC_TABLE_VERSION"
            ]
        );
        assert_eq!(p.key_slots, [0]);
        assert!(!p.slots[0].column.nullable, "key columns are NOT NULL");
        assert_eq!(
            p.meta_column(Meta::TableVersion),
            Some("_SDC_TABLE_VERSION")
        );
        assert_eq!(plan(false).meta_column(Meta::TableVersion), None);
    }

    #[test]
    fn a_record_becomes_a_row_with_metadata() {
        let row = build(&plan(true), r#"{"amount": 12.50, "id": 1, "unknown": 3, "flag": true, "_sdc_deleted_at": "2024-05-05T00:00:00Z"}"#, false)
            .unwrap();
        let instant = |t: &str| Value::TimestampTz(DateTime::parse_from_rfc3339(t).unwrap());
        assert_eq!(
            row,
            vec![
                Value::number("1"),
                Value::Null,
                Value::number("12.5"),
                Value::number("1"),
                instant("2024-01-02T03:04:05Z"),
                instant("2024-01-02T03:04:06Z"),
                Value::Null,
                instant("2024-05-05T00:00:00Z"),
                Value::number("99"),
                Value::number("17"),
            ]
        );
    }

    /// A row recycled from an earlier record holds none of that record's values: each
    /// slot is the new record's value or null, whatever kind it held before.
    #[test]
    fn a_recycled_row_keeps_nothing_of_its_last_record() {
        let base = plan(false);
        let mut p = base.clone();
        let fresh = |text: &str| build(&base, text, false).unwrap();
        let records = [
            r#"{"id": 1, "name": "abcde", "amount": 12.5, "flag": true}"#,
            r#"{"id": 22, "name": "x"}"#,
            r#"{"id": 3, "amount": 7, "name": null}"#,
            r#"{"name": "yz", "id": 4, "amount": 0.25}"#,
        ];
        let mut row = Vec::new();
        let mut spare = SpareTexts::default();
        for text in records.iter().chain(records.iter().rev()) {
            let fields = split_record(text).unwrap();
            p.build_row(&fields, None, &context(), &mut row, &mut spare, None)
                .unwrap();
            assert_eq!(row, fresh(text), "{text}");
        }
        // A failed record may leave the row half written; the next one starts clean.
        let fields = split_record(r#"{"id": 5, "name": "too long"}"#).unwrap();
        assert!(p
            .build_row(&fields, None, &context(), &mut row, &mut spare, None)
            .is_err());
        let fields = split_record(records[1]).unwrap();
        p.build_row(&fields, None, &context(), &mut row, &mut spare, None)
            .unwrap();
        assert_eq!(row, fresh(records[1]));
    }

    /// Records read one after another: a shape whose keys were matched once skips
    /// matching names, and gives the rows (and the errors) matching them gives, however
    /// keys change, repeat, are escaped or come from another stream in between.
    #[test]
    fn a_matched_shape_builds_what_matching_builds() {
        use singer_core::message::Message;
        use singer_core::reader::MessageReader;
        let schema = schema();
        let rules = FlatSchema::compile(&schema, true).expect("a flat schema");
        let schema_line = |stream: &str| {
            json!({"type": "SCHEMA", "stream": stream, "schema": schema, "key_properties": ["id"]})
                .to_string()
        };
        let records = [
            r#"{"id":1,"name":"abc","amount":1.5,"flag":true}"#,
            r#"{"id":2,"name":"de","amount":2,"flag":false}"#,
            r#"{"id":3,"name":"too long","amount":2,"flag":false}"#,
            r#"{"id":4,"name":"ok","amount":"x","flag":false}"#,
            r#"{"id":5,"name":"f","amount":3,"flag":null}"#,
            r#"{"name":"g","id":6,"amount":3,"flag":null}"#,
            r#"{"name":"h","id":7,"amount":3,"flag":null}"#,
            r#"{"id":8,"name":"i"}"#,
            r#"{"id":9,"name":"j"}"#,
            r#"{"id":10,"name":"k","amount":1,"flag":true,"extra":1}"#,
            r#"{"id":11,"name":"l","amount":1,"flag":true,"extra":1}"#,
            r#"{"i\u0064":12,"name":"m","amount":1,"flag":true}"#,
            r#"{"id":13,"name":"n","amount":1,"flag":true}"#,
            r#"{"id":14,"amount":1,"name":"o","flag":true}"#,
            r#"{"id":15,"amount":1,"name":"p","flag":true}"#,
            r#"{"id":null,"amount":1,"name":"q","flag":true}"#,
            r#"{"id":17,"amount":1,"name":"r","flag":true}"#,
            r#"{"id":18,"name":"s","amount":1,"flag":true}"#,
            r#"{"id":19,"name":"t","amount":1.25,"flag":false}"#,
        ];
        let mut lines = vec![schema_line("S"), schema_line("T")];
        for (i, record) in records.iter().enumerate() {
            for stream in ["S", "S", if i % 3 == 0 { "T" } else { "S" }] {
                lines.push(format!(
                    r#"{{"type":"RECORD","stream":"{stream}","record":{record}}}"#
                ));
            }
        }
        let input = lines.join("\n");
        let mut reader = MessageReader::new(input.as_bytes());
        let (mut matched, mut reused) = (plan(false), plan(false));
        let (mut row, mut spare) = (Vec::new(), SpareTexts::default());
        let mut records_seen = 0;
        while let Some(line) = reader.next_message().unwrap() {
            let Message::Record(message) = line.message else {
                continue;
            };
            if message.stream != "S" {
                continue;
            }
            records_seen += 1;
            let by_shape = reused.build_row(
                &message.fields,
                Some(&rules),
                &context(),
                &mut row,
                &mut spare,
                message.shape,
            );
            let mut fresh_row = Vec::new();
            let by_name = matched.build_row(
                &message.fields,
                Some(&rules),
                &context(),
                &mut fresh_row,
                &mut SpareTexts::default(),
                None,
            );
            assert_eq!(by_shape.is_ok(), by_name.is_ok(), "{}", message.record);
            match by_name {
                Ok(()) => assert_eq!(row, fresh_row, "{}", message.record),
                Err(e) => assert_eq!(by_shape.unwrap_err(), e, "{}", message.record),
            }
        }
        assert!(records_seen > records.len() * 2);
        assert!(reused.direct_shape.is_some(), "the last shape is matched");
    }

    mod direct_takes {
        use super::*;
        use proptest::prelude::*;

        fn string_schema() -> Json {
            json!({"type": "object", "properties": {
                "id": {"type": "integer"},
                "short": {"type": ["null", "string"], "maxLength": 3},
                "required": {"type": "string", "maxLength": 10},
                "free": {"type": ["null", "string"]},
                "at": {"type": ["null", "string"], "format": "date-time"},
                "between": {"type": ["null", "string"], "minLength": 2, "maxLength": 5},
                "count": {"type": ["null", "integer"], "minimum": -999, "maximum": 999},
                "amount": {"type": ["null", "number"], "multipleOf": 0.01, "exclusiveMaximum": 1000},
                "step": {"type": ["null", "number"], "multipleOf": 0.05, "maximum": 50},
                "ratio": {"type": ["null", "number"], "exclusiveMinimum": -0.5, "maximum": 12.25},
                "whole": {"type": ["null", "integer"], "exclusiveMinimum": 0, "exclusiveMaximum": 1500}
            }})
        }

        /// A string of 0 to `most` characters (some of several bytes), now and then a
        /// null or a number.
        fn text(most: usize) -> impl Strategy<Value = String> {
            prop_oneof![
                1 => Just("null".to_owned()),
                1 => Just("7".to_owned()),
                12 => proptest::collection::vec(prop::sample::select(vec!["a", "é", "€", "😀"]), 0..=most)
                    .prop_map(|chars| format!("\"{}\"", chars.concat())),
            ]
        }

        /// A number, canonical or not (`1.50`, `1e2`, `-0`), in or out of the rules and
        /// the columns; now and then a null or a string.
        fn number() -> impl Strategy<Value = String> {
            // Mostly small enough for the narrow columns too, so that records succeed and
            // the shape is taken by position before one does not fit.
            prop_oneof![
                6 => (-99i32..99).prop_map(|n| n.to_string()),
                2 => (-1500i32..1500).prop_map(|n| n.to_string()),
                4 => (-9_999i32..9_999, 1usize..4)
                    .prop_map(|(n, places)| format!("{:.*}", places, f64::from(n) / 100.0)),
                1 => prop::sample::select(vec!["1.50", "1e2", "-0", "0.001", "null", "\"5\""])
                    .prop_map(str::to_owned),
                // At and past the rules' bounds and steps, and past 18 digits.
                2 => prop::sample::select(vec![
                    "-0.5", "-0.49", "12.25", "12.26", "50", "50.05", "49.95", "0.05", "0.1",
                    "1500", "1499", "0", "1", "-1", "-0.4999", "999", "-999", "1000", "999.99",
                    "99.9", "0.9", "123456789012345678", "1234567890123456789", "0.123456789012345678",
                    "0.0012", "-0.0099", "0.0123", "0.00995", "0.0001", "-0.01",
                ])
                .prop_map(str::to_owned),
            ]
        }

        fn record() -> impl Strategy<Value = Vec<String>> {
            let at = prop_oneof![
                4 => Just("\"2024-01-02T03:04:05Z\"".to_owned()),
                1 => Just("null".to_owned()),
                1 => Just("\"soon\"".to_owned()),
                // More fraction digits than the column keeps; a UTC year before 1;
                // a negative offset under an hour; a space instead of `T`.
                1 => prop::sample::select(vec![
                    "\"2024-01-02T03:04:05.123456789+05:30\"",
                    "\"0001-01-01T00:30:00+01:00\"",
                    "\"2024-01-02T03:04:05.5-00:30\"",
                    "\"2024-01-02 03:04:05Z\"",
                ])
                .prop_map(str::to_owned),
            ];
            (
                (text(5), text(12), text(8), at, text(7)),
                (number(), number(), number(), number(), number()),
            )
                .prop_map(|((a, b, c, d, e), (f, g, h, i, j))| vec![a, b, c, d, e, f, g, h, i, j])
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(400))]
            /// Records of one shape, built by position (strings and nulls taken straight
            /// into their slots once the shape is known) and by matching names (the full
            /// check and conversion): the same rows and the same errors, with and
            /// without validation, and with text or number columns narrower than the
            /// schema's.
            #[test]
            fn taking_fields_straight_builds_what_the_full_path_builds(
                records in proptest::collection::vec(record(), 1..30),
                validate in any::<bool>(),
                narrow_texts in any::<bool>(),
                narrow_numbers in 0..3u8,
            ) {
                straight_and_full_agree(&records, validate, narrow_texts, narrow_numbers)?;
            }

            /// The same with every field null but for a number or two (mostly in range),
            /// so that records pass but for those numbers and each number's check is
            /// exercised wherever it falls.
            #[test]
            fn numbers_taken_straight_are_what_the_full_path_takes(
                probes in proptest::collection::vec(
                    proptest::collection::vec((5usize..10, number()), 1..3), 1..30),
                validate in any::<bool>(),
                narrow_numbers in 0..3u8,
            ) {
                let records: Vec<Vec<String>> = probes
                    .into_iter()
                    .map(|probe| {
                        let mut values = vec!["null".to_owned(); 10];
                        values[1] = "\"ab\"".to_owned();
                        for (position, number) in probe {
                            values[position] = number;
                        }
                        values
                    })
                    .collect();
                straight_and_full_agree(&records, validate, false, narrow_numbers)?;
            }
        }

        /// Builds each record (values of `string_schema`'s properties after `id`) by
        /// position once its shape is known, and by matching names with the full check
        /// and conversion: the same rows and the same errors.
        fn straight_and_full_agree(
            records: &[Vec<String>],
            validate: bool,
            narrow_texts: bool,
            narrow_numbers: u8,
        ) -> Result<(), TestCaseError> {
            let schema = string_schema();
            let rules = FlatSchema::compile(&schema, false).expect("a flat schema");
            let rules = validate.then_some(&rules);
            let mut by_shape =
                StreamPlan::new(&schema, &["id".to_owned()], &options(false)).unwrap();
            // The table as found: text columns of 2 bytes, one NOT NULL; numbers
            // narrower than the rules allow, or wider.
            let mut columns = by_shape.columns();
            if narrow_texts {
                for column in &mut columns[1..] {
                    if matches!(column.data_type, OracleType::Varchar2 { .. }) {
                        column.data_type = OracleType::Varchar2 {
                            length: 2,
                            semantics: singer_core::oracle_type::LengthSemantics::Byte,
                        };
                    }
                }
                columns[3].nullable = false;
            }
            let number = |precision, scale| OracleType::Number { precision, scale };
            match narrow_numbers {
                1 => {
                    columns[6].data_type = number(Some(2), Some(0));
                    columns[7].data_type = number(Some(4), Some(1));
                    columns[8].data_type = number(Some(3), Some(-1));
                    columns[9].data_type = number(Some(3), None);
                    columns[10].data_type = number(None, Some(2));
                }
                2 => {
                    columns[6].data_type = number(None, None);
                    columns[7].data_type = number(Some(5), Some(3));
                    columns[8].data_type = number(Some(6), Some(2));
                    // A scale above the precision: values below 0.01.
                    columns[9].data_type = number(Some(2), Some(4));
                    columns[10].data_type = number(Some(1), Some(0));
                }
                _ => {}
            }
            by_shape.adopt_columns(columns);
            let by_name = by_shape.clone();
            let (mut row, mut spare) = (Vec::new(), SpareTexts::default());
            for (i, values) in records.iter().enumerate() {
                let text = format!(
                    r#"{{"id":{i},"short":{},"required":{},"free":{},"at":{},"between":{},"count":{},"amount":{},"step":{},"ratio":{},"whole":{}}}"#,
                    values[0],
                    values[1],
                    values[2],
                    values[3],
                    values[4],
                    values[5],
                    values[6],
                    values[7],
                    values[8],
                    values[9]
                );
                let fields = split_record(&text).unwrap();
                let straight =
                    by_shape.build_row(&fields, rules, &context(), &mut row, &mut spare, Some(1));
                let mut fresh = Vec::new();
                let full = by_name.clone().build_row(
                    &fields,
                    rules,
                    &context(),
                    &mut fresh,
                    &mut SpareTexts::default(),
                    None,
                );
                prop_assert_eq!(&straight, &full, "{}", text);
                if full.is_ok() {
                    prop_assert_eq!(&row, &fresh, "{}", text);
                }
            }
            Ok(())
        }
    }

    #[test]
    fn bad_fields_are_named() {
        let p = plan(false);
        let err = build(&p, r#"{"id": 1, "name": "too long"}"#, false).unwrap_err();
        assert_eq!(err.field, "name");
        assert_eq!(err.reason, "is 8 characters long, the column holds 5");
        let err = build(&p, r#"{"name": "x"}"#, false).unwrap_err();
        assert_eq!(
            (err.field.as_str(), err.reason.as_str()),
            ("id", "is missing but the column is NOT NULL")
        );
        let err = build(&p, r#"{"id": 1, "extra": 2}"#, true).unwrap_err();
        assert_eq!(err.field, "extra");
    }

    #[test]
    fn key_properties_must_be_in_the_schema() {
        let err = StreamPlan::new(&schema(), &["nope".to_owned()], &options(false)).unwrap_err();
        assert_eq!(err.property, "nope");
    }
}
