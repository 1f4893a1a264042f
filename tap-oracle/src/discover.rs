//! `--discover`: the dictionary rows in scope of `filter_schemas`/`filter_tables`
//! (pushed down to the database as LIKE patterns, then applied exactly in memory),
//! turned into the catalog by `singer_core::discovery` and written as JSON.

use std::io::Write;

use db_boundary::{Backend, DictionaryScope, SessionContext, SessionRole, Source, TablePattern};
use singer_cli::settings::Config;
use singer_core::dictionary::DictionaryRows;
use singer_core::discovery::{build_catalog, glob_to_like, DiscoveryOptions, TableFilter};

use crate::error::TapError;
use crate::filter_hint::unmatched_filters;

/// The dictionary scope for the database and the same filter applied in memory.
pub(crate) fn discovery_scope(config: &Config) -> (DictionaryScope, TableFilter) {
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
    run_id: &str,
    mut out: W,
) -> Result<(), TapError> {
    let (scope, filter) = discovery_scope(config);
    let mut source = backend.source()?;
    source.set_context(&SessionContext::new(SessionRole::Tap, "discover", run_id))?;
    let rows = source.read_dictionary(&scope)?;
    let admitted = filter.apply(&rows);
    warn_about_unmatched_filters(source.as_mut(), &scope, &filter, &rows, &admitted)?;
    let options = DiscoveryOptions {
        database_name: config.get_str("database_name").map(str::to_owned),
        decimal_as_string: config.get_bool("decimal_as_string").unwrap_or(false),
    };
    let output = build_catalog(&admitted, &options);
    tracing::info!(streams = output.catalog.streams.len(), "discovered");
    serde_json::to_writer_pretty(&mut out, &output.catalog)
        .map_err(|e| TapError::Write(e.into()))?;
    writeln!(out).map_err(|e| TapError::Write(e.into()))?;
    out.flush().map_err(|e| TapError::Write(e.into()))?;
    Ok(())
}

fn table_names(rows: &DictionaryRows) -> Vec<(String, String)> {
    rows.tables
        .iter()
        .map(|t| (t.owner.clone(), t.table_name.clone()))
        .collect()
}

/// Warns about each `filter_schemas` / `filter_tables` entry that admits no table,
/// naming its near misses among every table the user can see (read again, without the
/// filters, only when some entry matched nothing), and about a discovery that found
/// no table at all.
fn warn_about_unmatched_filters(
    source: &mut dyn Source,
    scope: &DictionaryScope,
    filter: &TableFilter,
    rows: &DictionaryRows,
    admitted: &DictionaryRows,
) -> Result<(), TapError> {
    let admitted = table_names(admitted);
    if unmatched_filters(filter, &admitted, &[]).is_empty() {
        if admitted.is_empty() {
            tracing::warn!("discovery found no table in any schema this user can see");
        }
        return Ok(());
    }
    let everything = DictionaryScope::default();
    let existing = if *scope == everything {
        table_names(rows)
    } else {
        table_names(&source.read_dictionary(&everything)?)
    };
    for unmatched in unmatched_filters(filter, &admitted, &existing) {
        tracing::warn!("{}", unmatched.message());
    }
    Ok(())
}
