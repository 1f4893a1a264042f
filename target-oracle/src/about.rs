//! `--about`: name, description, version, capabilities and the settings table, as JSON
//! (what Meltano reads) or Markdown (what the README shows). Both are rendered from
//! [`crate::settings::SETTINGS`], so they cannot drift from what validation accepts.

use serde_json::{json, Value as Json};

use crate::settings::{SettingKind, SETTINGS};

/// What this target really supports, in Meltano's capability words.
pub const CAPABILITIES: &[&str] = &["about", "activate-version", "hard-delete", "soft-delete"];

const DESCRIPTION: &str = "Singer target for Oracle Database: typed tables, array DML, upserts, schema evolution, STATE only after commit";

/// The `--about --format json` document.
pub fn about_json() -> Json {
    let settings: Vec<Json> = SETTINGS
        .iter()
        .map(|s| {
            let mut entry = json!({
                "name": s.name,
                "type": s.kind.name(),
                "description": s.description,
                "secret": s.secret,
            });
            if let Some(default) = s.default {
                entry["default"] = typed_default(s.kind, default);
            }
            if let SettingKind::Choice(options) = s.kind {
                entry["allowed_values"] = json!(options);
            }
            entry
        })
        .collect();
    json!({
        "name": "target-oracle",
        "description": DESCRIPTION,
        "version": env!("CARGO_PKG_VERSION"),
        "capabilities": CAPABILITIES,
        "settings": settings,
    })
}

fn typed_default(kind: SettingKind, default: &str) -> Json {
    match kind {
        SettingKind::Boolean => Json::Bool(default == "true"),
        SettingKind::Integer | SettingKind::Number => {
            serde_json::from_str(default).unwrap_or_else(|_| Json::String(default.to_owned()))
        }
        _ => Json::String(default.to_owned()),
    }
}

/// The `--about --format markdown` document.
pub fn about_markdown() -> String {
    let mut out = format!(
        "# target-oracle {}\n\n{DESCRIPTION}.\n\nCapabilities: {}.\n\n## Settings\n\n\
         | setting | type | default | secret | description |\n|---|---|---|---|---|\n",
        env!("CARGO_PKG_VERSION"),
        CAPABILITIES.join(", ")
    );
    for s in SETTINGS {
        let kind = match s.kind {
            SettingKind::Choice(options) => options.join(" \\| "),
            other => other.name().to_owned(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            s.name,
            kind,
            s.default.map(|d| format!("`{d}`")).unwrap_or_default(),
            if s.secret { "yes" } else { "" },
            s.description.replace('|', "\\|"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lists_every_setting_with_typed_defaults() {
        let about = about_json();
        let settings = about["settings"].as_array().unwrap();
        assert_eq!(settings.len(), SETTINGS.len());
        let batch = settings
            .iter()
            .find(|s| s["name"] == "batch_size_rows")
            .unwrap();
        assert_eq!(batch["default"], json!(10000));
        let password = settings.iter().find(|s| s["name"] == "password").unwrap();
        assert_eq!(password["secret"], json!(true));
        let validate = settings
            .iter()
            .find(|s| s["name"] == "validate_records")
            .unwrap();
        assert_eq!(validate["default"], json!(true));
        assert_eq!(about["capabilities"][0], "about");
    }

    #[test]
    fn markdown_table_matches_the_settings() {
        let md = about_markdown();
        insta::assert_snapshot!(md.split_once("## Settings").unwrap().1);
    }
}
