//! A stream's table: created from its plan, evolved to fit it (or, with
//! `freeze_schema`, the plan fitted to the table), and re-planned when the stream
//! starts carrying versions.

use std::io::Write;

use db_boundary::{TableDef, TableName};

use super::Loader;
use crate::error::TargetError;
use crate::evolve;
use crate::settings::LoadMethod;
use crate::stream::Meta;

impl<W: Write> Loader<W> {
    /// Switches a stream to carrying version columns (first versioned record or
    /// ACTIVATE_VERSION): flushes what it buffered without them and replans.
    pub(super) fn make_versioned(&mut self, line: u64, stream: &str) -> Result<(), TargetError> {
        self.flush_stream(stream)?;
        let (schema, keys, method) = {
            let s = &self.streams[stream];
            (s.schema.clone(), s.key_properties.clone(), s.method)
        };
        let plan =
            self.plan(&schema, &keys, true, method)
                .map_err(|reason| TargetError::Schema {
                    line,
                    stream: stream.to_owned(),
                    reason,
                })?;
        if let Some(s) = self.streams.get_mut(stream) {
            s.plan = plan;
            s.versioned = true;
            s.table_ready = false;
        }
        Ok(())
    }

    /// Creates or evolves the stream's table so its plan can be written.
    pub(super) fn ensure_table(&mut self, line: u64, stream: &str) -> Result<(), TargetError> {
        if self.streams.get(stream).is_none_or(|s| s.table_ready) {
            return Ok(());
        }
        self.name_session(stream)?;
        let freeze = self.config.freeze_schema;
        let naming = self.naming.clone();
        let Some(s) = self.streams.get_mut(stream) else {
            return Ok(());
        };
        let schema_error = |reason: String| TargetError::Schema {
            line,
            stream: stream.to_owned(),
            reason,
        };
        let existing = self
            .sink
            .describe_table(&s.table)
            .map_err(TargetError::db(format!(
                "describing table {:?}",
                s.table.name
            )))?;
        match existing {
            None if freeze => {
                return Err(schema_error(format!(
                    "table {:?} does not exist and freeze_schema forbids creating it",
                    s.table.name
                )))
            }
            None => {
                let primary_key = if s.method == LoadMethod::Upsert {
                    s.plan
                        .key_slots
                        .iter()
                        .map(|&i| s.plan.slots[i].column.name.clone())
                        .collect()
                } else {
                    Vec::new()
                };
                let def = TableDef {
                    name: s.table.clone(),
                    columns: s.plan.columns(),
                    primary_key,
                };
                tracing::info!(stream, table = %s.table.name, "creating table");
                self.sink.create_table(&def).map_err(|source| {
                    let mut context =
                        format!("creating table {} for stream {stream:?}", quoted(&s.table));
                    if source.ora_code() == Some(1918) {
                        // A schema is a user on Oracle: the target cannot make one.
                        context.push_str(
                            " (its schema must exist as a user: create it, or set \
                             default_target_schema, stream_prefix or table_names)",
                        );
                    }
                    TargetError::Database { context, source }
                })?;
            }
            Some(existing) if freeze => {
                let dropped = s.plan.restrict_to(&existing);
                if !dropped.is_empty() {
                    tracing::warn!(stream, columns = ?dropped, "freeze_schema: these properties have no column; non-null values are rejected");
                }
                if s.method == LoadMethod::Upsert
                    && s.plan.key_slots.len() != s.key_properties.len()
                {
                    return Err(schema_error(
                        "a key property has no column and freeze_schema forbids adding it".into(),
                    ));
                }
                if s.method == LoadMethod::Overwrite
                    && s.plan.meta_slot(Meta::LoadSequence).is_none()
                {
                    return Err(schema_error(format!(
                        "load_method overwrite needs the column {} (the load each row \
                         came from), and freeze_schema forbids adding it",
                        self.naming.identifier(Meta::LoadSequence.property())
                    )));
                }
            }
            Some(existing) => {
                let evolution = evolve::plan(&existing, &s.plan.columns(), &naming);
                for change in &evolution.changes {
                    tracing::info!(stream, table = %s.table.name, change = ?change, "evolving table");
                    self.sink
                        .alter_table(&s.table, change)
                        .map_err(TargetError::db(format!(
                            "altering table {:?}",
                            s.table.name
                        )))?;
                }
                s.plan.adopt_columns(evolution.columns);
            }
        }
        if let Some(audit) = &mut self.audit {
            audit
                .open_stream(
                    self.sink.as_mut(),
                    &naming,
                    freeze,
                    stream,
                    &s.table,
                    s.method,
                )
                .map_err(TargetError::db("writing the audit row"))?;
        }
        self.sink
            .commit()
            .map_err(TargetError::db("committing DDL"))?;
        s.table_ready = true;
        Ok(())
    }
}

/// `"SCHEMA"."TABLE"`, or `"TABLE"` in the session's schema, for messages.
pub(super) fn quoted(table: &TableName) -> String {
    match &table.schema {
        Some(schema) => format!("\"{schema}\".\"{}\"", table.name),
        None => format!("\"{}\"", table.name),
    }
}
