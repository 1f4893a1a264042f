//! `--discover`: the dictionary rows in scope of `filter_schemas`/`filter_tables`
//! (pushed down to the database as LIKE patterns, then applied exactly in memory),
//! turned into the catalog by `singer_core::discovery` and written as JSON.

use std::io::Write;

use db_boundary::{Backend, DictionaryScope, TablePattern};
use singer_cli::settings::Config;
use singer_core::discovery::{build_catalog, glob_to_like, DiscoveryOptions, TableFilter};

use crate::error::TapError;

/// The dictionary scope for the database and the same filter applied in memory.
pub fn discovery_scope(config: &Config) -> (DictionaryScope, TableFilter) {
    let filter = TableFilter::new(
        &config.get_str_list("filter_schemas"),
        &config.get_str_list("filter_tables"),
    );
    let like = |(owner, table): &(String, String)| TablePattern {
        owner: glob_to_like(owner),
        table: glob_to_like(table),
    };
    let scope = DictionaryScope {
        schemas: filter.schemas.clone(),
        include: filter.include.iter().map(like).collect(),
        exclude: filter.exclude.iter().map(like).collect(),
    };
    (scope, filter)
}

pub(crate) fn discover<W: Write>(
    backend: &dyn Backend,
    config: &Config,
    mut out: W,
) -> Result<(), TapError> {
    let (scope, filter) = discovery_scope(config);
    let rows = backend.source()?.read_dictionary(&scope)?;
    let options = DiscoveryOptions {
        database_name: config.get_str("database_name").map(str::to_owned),
        decimal_as_string: config.get_bool("decimal_as_string").unwrap_or(false),
    };
    let output = build_catalog(&filter.apply(&rows), &options);
    tracing::info!(streams = output.catalog.streams.len(), "discovered");
    serde_json::to_writer_pretty(&mut out, &output.catalog)
        .map_err(|e| TapError::Write(e.into()))?;
    writeln!(out).map_err(|e| TapError::Write(e.into()))?;
    out.flush().map_err(|e| TapError::Write(e.into()))?;
    Ok(())
}
