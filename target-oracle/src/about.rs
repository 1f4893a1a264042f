//! `--about`: name, description, version, capabilities and the settings table, as JSON
//! (what Meltano reads) or Markdown (what people read), rendered by singer-core from
//! [`crate::settings::SETTINGS`], so it cannot drift from what validation accepts.

use singer_cli::about::About;

use crate::settings::{settings, ENV_PREFIX};

/// What this target really supports, in Meltano's capability words.
pub(crate) const CAPABILITIES: &[&str] = &[
    "about",
    "activate-version",
    "hard-delete",
    "soft-delete",
    "structured-logging",
];

/// One sentence on what the target is.
pub(crate) const DESCRIPTION: &str = "Singer target for Oracle Database: typed tables, array DML, upserts, schema evolution, STATE only after commit";

/// The `--about` description of target-oracle.
pub(crate) fn about() -> About<'static> {
    About {
        name: "target-oracle",
        description: DESCRIPTION,
        version: env!("CARGO_PKG_VERSION"),
        capabilities: CAPABILITIES,
        settings: settings(),
        env_prefix: ENV_PREFIX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_lists_every_setting_with_typed_defaults() {
        let about = about().to_json();
        let properties = about["settings"]["properties"].as_object().unwrap();
        assert_eq!(properties.len(), settings().len());
        assert_eq!(properties["batch_size_rows"]["default"], json!(10000));
        assert_eq!(properties["password"]["secret"], json!(true));
        assert_eq!(properties["validate_records"]["default"], json!(true));
        assert_eq!(properties["driver"]["default"], json!("oracle"));
        assert_eq!(about["capabilities"][0], "about");
    }

    #[test]
    fn markdown_names_every_setting() {
        let md = about().to_markdown();
        for setting in settings() {
            assert!(md.contains(setting.name), "{}", setting.name);
        }
    }
}
