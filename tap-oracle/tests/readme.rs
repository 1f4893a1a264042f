//! The README's configuration tables are the settings tables: this keeps them in sync
//! (a setting added without its README row fails here).

use singer_core::settings::settings_markdown_table;

fn section<'a>(readme: &'a str, name: &str) -> &'a str {
    let start_marker = format!("<!-- settings:{name}:start -->\n");
    let end_marker = format!("<!-- settings:{name}:end -->");
    let start = readme
        .find(&start_marker)
        .unwrap_or_else(|| panic!("README lacks {start_marker}"))
        + start_marker.len();
    let end = readme[start..].find(&end_marker).expect("end marker") + start;
    &readme[start..end]
}

#[test]
fn readme_configuration_tables_match_the_settings_tables() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    let tap = settings_markdown_table(
        tap_oracle::settings::SETTINGS,
        tap_oracle::settings::ENV_PREFIX,
    );
    assert_eq!(
        section(&readme, "tap-oracle"),
        tap,
        "README tap-oracle settings table is stale"
    );
    let target = settings_markdown_table(
        target_oracle::settings::SETTINGS,
        target_oracle::settings::ENV_PREFIX,
    );
    assert_eq!(
        section(&readme, "target-oracle"),
        target,
        "README target-oracle settings table is stale"
    );
}
