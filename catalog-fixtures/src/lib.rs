//! Recorded Oracle data-dictionary rows and the catalog `tap-oracle --discover` would
//! print for them.
//!
//! A fixture is a folder `catalog-fixtures/<case>/` holding `dictionary.json` (the rows
//! ALL_TABLES, ALL_TAB_COLS and ALL_CONSTRAINTS return) and optionally `config.json`
//! (the tap settings that change discovery: `filter_schemas`, `filter_tables`,
//! `decimal_as_string`, `database_name`).

use std::path::Path;

use anyhow::{Context, Result};
use singer_core::dictionary::DictionaryRows;
use singer_core::discovery::{build_catalog, DiscoveryOptions, DiscoveryOutput, TableFilter};

/// Discovery as the tap runs it, from rows and a config object.
pub fn discover(rows: &DictionaryRows, config: &serde_json::Value) -> DiscoveryOutput {
    let list = |key: &str| -> Vec<String> {
        config
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let filter = TableFilter::new(&list("filter_schemas"), &list("filter_tables"));
    let options = DiscoveryOptions {
        database_name: config
            .get("database_name")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        decimal_as_string: config
            .get("decimal_as_string")
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    };
    build_catalog(&filter.apply(rows), &options)
}

/// Reads a fixture folder and renders its catalog. `config` overrides the folder's
/// own `config.json`.
pub fn render_dir(dir: &Path, config: Option<&Path>) -> Result<DiscoveryOutput> {
    let rows_path = dir.join("dictionary.json");
    let rows: DictionaryRows = serde_json::from_str(
        &std::fs::read_to_string(&rows_path)
            .with_context(|| format!("reading {}", rows_path.display()))?,
    )
    .with_context(|| format!("parsing {}", rows_path.display()))?;
    let own_config = dir.join("config.json");
    let config_path = config
        .map(Path::to_path_buf)
        .or_else(|| own_config.exists().then_some(own_config));
    let config = match config_path {
        Some(path) => serde_json::from_str(
            &std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("parsing {}", path.display()))?,
        None => serde_json::json!({}),
    };
    Ok(discover(&rows, &config))
}
