//! `--about` output: JSON in the Meltano SDK's shape, or Markdown for people.

use serde_json::{json, Map, Value as Json};

use crate::settings::{Setting, SettingKind};

/// What a binary says about itself.
pub struct About<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub version: &'a str,
    pub capabilities: &'a [&'a str],
    pub settings: &'static [Setting],
    pub env_prefix: &'a str,
}

impl About<'_> {
    /// The JSON document: settings as a JSON Schema (`settings`) with secrets marked
    /// `secret` and `writeOnly`, and each integer's declared `minimum` and `maximum`.
    pub fn to_json(&self) -> Json {
        let mut properties = Map::new();
        let mut required = Vec::new();
        for s in self.settings {
            let mut property = Map::new();
            property.insert("type".into(), json!(s.kind.type_name()));
            if let SettingKind::Choice(words) = s.kind {
                property.insert("enum".into(), json!(words));
            }
            if let SettingKind::Integer { min, max } = s.kind {
                property.insert("minimum".into(), json!(min));
                property.insert("maximum".into(), json!(max));
            }
            if let SettingKind::Array = s.kind {
                property.insert("items".into(), json!({"type": "string"}));
            }
            property.insert("description".into(), json!(s.description));
            if let Some(default) = s.default_value() {
                property.insert("default".into(), default);
            }
            if s.secret {
                property.insert("secret".into(), json!(true));
                property.insert("writeOnly".into(), json!(true));
            }
            if s.required {
                required.push(s.name);
            }
            properties.insert(s.name.to_owned(), Json::Object(property));
        }
        json!({
            "name": self.name,
            "description": self.description,
            "version": self.version,
            "capabilities": self.capabilities,
            "settings": {
                "type": "object",
                "properties": properties,
                "required": required,
            },
        })
    }

    pub fn to_markdown(&self) -> String {
        let mut out = format!(
            "# {}\n\n{}\n\nVersion: {}\n\n## Capabilities\n\n",
            self.name, self.description, self.version
        );
        for c in self.capabilities {
            out.push_str(&format!("- `{c}`\n"));
        }
        out.push_str("\n## Settings\n\n");
        out.push_str(&crate::settings::settings_markdown_table(
            self.settings,
            self.env_prefix,
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Setting] = &[
        Setting {
            required: true,
            ..Setting::new("user", SettingKind::String, None, "Database user.")
        },
        Setting::secret("password", "Database password."),
        Setting::new(
            "mode",
            SettingKind::Choice(&["a", "b"]),
            Some("\"a\""),
            "Mode.",
        ),
        Setting::new("schemas", SettingKind::Array, None, "Schemas."),
        Setting::new(
            "port",
            SettingKind::Integer {
                min: 1,
                max: 65_535,
            },
            Some("1521"),
            "Port.",
        ),
    ];

    fn about() -> About<'static> {
        About {
            name: "tap-x",
            description: "A tap.",
            version: "1.0.0",
            capabilities: &["catalog", "discover"],
            settings: TABLE,
            env_prefix: "TAP_X_",
        }
    }

    #[test]
    fn json_about() {
        insta::assert_snapshot!(serde_json::to_string_pretty(&about().to_json()).unwrap());
    }

    #[test]
    fn markdown_about() {
        insta::assert_snapshot!(about().to_markdown());
    }
}
