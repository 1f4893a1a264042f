//! The README's configuration tables are the settings tables: this keeps them in sync
//! (a setting added without its README row fails here). After changing a settings table,
//! run this test once with `UPDATE_README=1` to rewrite the two tables, then review the
//! diff; CI never sets it, so a stale table fails there.

use singer_cli::settings::settings_markdown_table;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");

/// The byte range of the table between `<!-- settings:NAME:start -->` and its end marker.
fn section(readme: &str, name: &str) -> std::ops::Range<usize> {
    let start_marker = format!("<!-- settings:{name}:start -->\n");
    let end_marker = format!("<!-- settings:{name}:end -->");
    let start = readme
        .find(&start_marker)
        .unwrap_or_else(|| panic!("README lacks {start_marker}"))
        + start_marker.len();
    let end = readme[start..].find(&end_marker).expect("end marker") + start;
    start..end
}

#[test]
fn readme_configuration_tables_match_the_settings_tables() {
    let mut readme = std::fs::read_to_string(README).unwrap();
    let tables = [
        (
            "tap-oracle",
            settings_markdown_table(
                tap_oracle::settings::settings(),
                tap_oracle::settings::ENV_PREFIX,
            ),
        ),
        (
            "target-oracle",
            settings_markdown_table(
                target_oracle::settings::settings(),
                target_oracle::settings::ENV_PREFIX,
            ),
        ),
    ];
    let update = std::env::var_os("UPDATE_README").is_some();
    for (name, table) in tables {
        let range = section(&readme, name);
        if update {
            readme.replace_range(range, &table);
        } else {
            assert_eq!(
                readme[range].to_owned(),
                table,
                "README {name} settings table is stale (UPDATE_README=1 rewrites it)"
            );
        }
    }
    if update {
        std::fs::write(README, readme).unwrap();
    }
}
