//! Declared settings tables, and the config built from `--config` files and the
//! environment.
//!
//! Each binary declares one `&'static [Setting]` table; `--about`, validation and the
//! README's configuration table all read it. Files merge left to right (objects deep,
//! later wins), then `<PREFIX><SETTING>` environment variables override them, as Meltano
//! does (`TAP_ORACLE_HOST`). Every problem is collected into one error. Secret values
//! never appear in an error, a log line or `Debug` output.
//!
//! Every integer setting declares its range in the table ([`SettingKind::Integer`]);
//! validation refuses anything outside it (a negative number, 4294967296 for a count the
//! driver takes as 32 bits) naming the setting, and the typed readers
//! ([`Config::int`], [`Config::get_int`]) convert without truncation, so no binary
//! checks or casts a number of its own.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use thiserror::Error;

/// The JSON type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    String,
    /// A whole number from `min` to `max`, both included.
    Integer {
        min: i64,
        max: i64,
    },
    Boolean,
    /// A list of strings; from the environment as a JSON array or comma-separated.
    Array,
    Object,
    /// One of the listed words.
    Choice(&'static [&'static str]),
}

impl SettingKind {
    /// The JSON Schema type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            SettingKind::String | SettingKind::Choice(_) => "string",
            SettingKind::Integer { .. } => "integer",
            SettingKind::Boolean => "boolean",
            SettingKind::Array => "array",
            SettingKind::Object => "object",
        }
    }
}

/// One declared setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub kind: SettingKind,
    /// The default as JSON text (`"1521"`, `"true"`, `"\"oracle\""`); `None`: unset.
    pub default: Option<&'static str>,
    pub required: bool,
    pub secret: bool,
    pub description: &'static str,
}

impl Setting {
    /// A plain optional setting.
    pub const fn new(
        name: &'static str,
        kind: SettingKind,
        default: Option<&'static str>,
        description: &'static str,
    ) -> Setting {
        Setting {
            name,
            kind,
            default,
            required: false,
            secret: false,
            description,
        }
    }

    /// A secret-bearing string (password, wallet password, a connect string that may
    /// embed a password): its value is never logged or shown.
    pub const fn secret(name: &'static str, description: &'static str) -> Setting {
        Setting {
            name,
            kind: SettingKind::String,
            default: None,
            required: false,
            secret: true,
            description,
        }
    }

    /// The default parsed as JSON.
    pub fn default_value(&self) -> Option<Json> {
        self.default.map(|text| {
            serde_json::from_str(text).unwrap_or_else(|_| Json::String(text.to_owned()))
        })
    }

    /// The environment variable that sets it, e.g. `TAP_ORACLE_HOST`.
    pub fn env_var(&self, prefix: &str) -> String {
        format!("{prefix}{}", self.name.to_ascii_uppercase())
    }
}

/// Why the configuration cannot be used: every problem found, one per line.
#[derive(Debug, Error)]
#[error("invalid configuration:\n  - {}", problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

/// The merged, validated configuration.
#[derive(Clone, PartialEq)]
pub struct Config {
    values: Map<String, Json>,
    table: &'static [Setting],
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.redacted().iter()).finish()
    }
}

impl Config {
    /// Reads the `--config` files, applies the environment, the defaults, and validates.
    pub fn load(
        paths: &[PathBuf],
        env_prefix: &str,
        env: impl IntoIterator<Item = (String, String)>,
        table: &'static [Setting],
    ) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let mut merged = Map::new();
        for path in paths {
            match read_object(path) {
                Ok(object) => deep_merge(&mut merged, object),
                Err(problem) => problems.push(problem),
            }
        }
        Self::from_parts(merged, env_prefix, env, table, problems)
    }

    /// Like [`Config::load`] for an already merged object (tests, Meltano-less callers).
    pub fn from_map(
        values: Map<String, Json>,
        env_prefix: &str,
        env: impl IntoIterator<Item = (String, String)>,
        table: &'static [Setting],
    ) -> Result<Config, ConfigError> {
        Self::from_parts(values, env_prefix, env, table, Vec::new())
    }

    fn from_parts(
        mut values: Map<String, Json>,
        env_prefix: &str,
        env: impl IntoIterator<Item = (String, String)>,
        table: &'static [Setting],
        mut problems: Vec<String>,
    ) -> Result<Config, ConfigError> {
        for (key, text) in env {
            let Some(name) = key.strip_prefix(env_prefix) else {
                continue;
            };
            let Some(setting) = table.iter().find(|s| s.name.eq_ignore_ascii_case(name)) else {
                continue;
            };
            match parse_env(setting, &text) {
                Ok(value) => {
                    values.insert(setting.name.to_owned(), value);
                }
                Err(why) => problems.push(format!("{key}: {why}")),
            }
        }
        for key in values.keys() {
            if !table.iter().any(|s| s.name == key) {
                tracing::warn!(setting = %key, "ignoring an unknown setting");
            }
        }
        for setting in table {
            match values.get(setting.name) {
                None | Some(Json::Null) => {
                    if let Some(default) = setting.default_value() {
                        values.insert(setting.name.to_owned(), default);
                    } else if setting.required {
                        problems.push(format!("{}: required but not set", setting.name));
                    }
                }
                Some(value) => {
                    if let Err(why) = check_kind(setting, value) {
                        problems.push(format!("{}: {why}", setting.name));
                    }
                }
            }
        }
        if problems.is_empty() {
            Ok(Config { values, table })
        } else {
            Err(ConfigError { problems })
        }
    }

    /// Adds problems found by the binary's own checks to one error.
    pub fn error(problems: Vec<String>) -> ConfigError {
        ConfigError { problems }
    }

    pub fn get(&self, name: &str) -> Option<&Json> {
        self.values.get(name).filter(|v| !v.is_null())
    }

    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Json::as_str)
    }

    /// An integer setting that is always set (it has a default): its declared range
    /// keeps it inside `T`; a missing value or a range wider than `T` is an error naming
    /// the setting, never a silent fallback or truncation.
    pub fn int<T: TryFrom<i64>>(&self, name: &str) -> Result<T, ConfigError> {
        self.get_int(name)?.ok_or_else(|| ConfigError {
            problems: vec![format!("{name}: required but not set")],
        })
    }

    /// An optional integer setting as `T` (see [`Config::int`]).
    pub fn get_int<T: TryFrom<i64>>(&self, name: &str) -> Result<Option<T>, ConfigError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        value
            .as_i64()
            .and_then(|n| T::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| ConfigError {
                problems: vec![format!(
                    "{name}: out of range for {}",
                    std::any::type_name::<T>()
                )],
            })
    }

    pub fn get_bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Json::as_bool)
    }

    pub fn get_str_list(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Json::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The whole object, for `serde_json::from_value` into a binary's own struct.
    pub fn as_map(&self) -> &Map<String, Json> {
        &self.values
    }

    /// The values for logging: every secret, and every key the table does not declare
    /// (a misspelled `passwrod` holds a password too), replaced by `"***"`.
    pub fn redacted(&self) -> Map<String, Json> {
        let mut out = self.values.clone();
        for (key, value) in out.iter_mut() {
            let shown = self
                .table
                .iter()
                .any(|s| s.name == key.as_str() && !s.secret);
            if !shown && !value.is_null() {
                *value = Json::String("***".into());
            }
        }
        out
    }
}

fn read_object(path: &Path) -> Result<Map<String, Json>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_str::<Json>(&text) {
        Ok(Json::Object(object)) => Ok(object),
        Ok(_) => Err(format!("{}: must hold a JSON object", path.display())),
        // serde_json's message names line and column, never the values around them.
        Err(e) => Err(format!("{}: invalid JSON: {e}", path.display())),
    }
}

/// Objects merge key by key; anything else is replaced by the later value.
pub fn deep_merge(into: &mut Map<String, Json>, from: Map<String, Json>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Json::Object(old)), Json::Object(new)) => deep_merge(old, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn parse_env(setting: &Setting, text: &str) -> Result<Json, String> {
    let value = match setting.kind {
        SettingKind::String | SettingKind::Choice(_) => Json::String(text.to_owned()),
        SettingKind::Integer { .. } => text
            .trim()
            .parse::<i64>()
            .map(Json::from)
            .map_err(|_| "not an integer".to_owned())?,
        SettingKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Json::Bool(true),
            "false" | "0" | "no" | "off" | "" => Json::Bool(false),
            _ => return Err("not a boolean (true/false/1/0)".to_owned()),
        },
        SettingKind::Array => {
            let trimmed = text.trim();
            if trimmed.starts_with('[') {
                serde_json::from_str(trimmed).map_err(|_| "not a JSON array".to_owned())?
            } else {
                Json::Array(
                    trimmed
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(|s| Json::String(s.to_owned()))
                        .collect(),
                )
            }
        }
        SettingKind::Object => {
            serde_json::from_str(text).map_err(|_| "not a JSON object".to_owned())?
        }
    };
    check_kind(setting, &value)?;
    Ok(value)
}

fn check_kind(setting: &Setting, value: &Json) -> Result<(), String> {
    let ok = match setting.kind {
        SettingKind::String => value.is_string(),
        SettingKind::Choice(words) => {
            return match value.as_str() {
                Some(s) if words.contains(&s) => Ok(()),
                // A secret would never be a choice, but never echo a value anyway.
                _ => Err(format!("must be one of {}", words.join(", "))),
            };
        }
        SettingKind::Integer { min, max } => {
            // Never echo the value: a password put in the wrong setting stays unseen.
            return match value.as_i64() {
                Some(n) if (min..=max).contains(&n) => Ok(()),
                _ => Err(format!("must be an integer from {min} to {max}")),
            };
        }
        SettingKind::Boolean => value.is_boolean(),
        SettingKind::Array => value
            .as_array()
            .is_some_and(|items| items.iter().all(Json::is_string)),
        SettingKind::Object => value.is_object(),
    };
    if ok {
        Ok(())
    } else {
        let expected = match setting.kind {
            SettingKind::Array => "an array of strings",
            other => other.type_name(),
        };
        Err(format!("must be {expected}"))
    }
}

/// The README configuration table for a settings table.
pub fn settings_markdown_table(table: &[Setting], env_prefix: &str) -> String {
    let mut out = String::from(
        "| setting | type | default | environment variable | description |\n|---|---|---|---|---|\n",
    );
    for s in table {
        let kind = match s.kind {
            SettingKind::Choice(words) => words.join(" \\| "),
            SettingKind::Integer { min, max } => format!("integer, {min} to {max}"),
            other => other.type_name().to_owned(),
        };
        let mut description = s.description.replace('|', "\\|");
        if s.secret {
            description.push_str(" Secret: never logged.");
        }
        if s.required {
            description.push_str(" Required.");
        }
        out.push_str(&format!(
            "| `{}` | {} | {} | `{}` | {} |\n",
            s.name,
            kind,
            s.default.map(|d| format!("`{d}`")).unwrap_or_default(),
            s.env_var(env_prefix),
            description
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const TABLE: &[Setting] = &[
        Setting {
            required: true,
            ..Setting::new("user", SettingKind::String, None, "Database user.")
        },
        Setting::secret("password", "Database password."),
        Setting::new(
            "port",
            SettingKind::Integer {
                min: 1,
                max: 65_535,
            },
            Some("1521"),
            "Port.",
        ),
        Setting::new(
            "rows",
            SettingKind::Integer {
                min: 0,
                max: 4_294_967_295,
            },
            None,
            "Rows.",
        ),
        Setting::new("validate", SettingKind::Boolean, Some("true"), "Validate."),
        Setting::new("schemas", SettingKind::Array, None, "Schemas."),
        Setting::new(
            "mode",
            SettingKind::Choice(&["a", "b"]),
            Some("\"a\""),
            "Mode.",
        ),
        Setting::new("extra", SettingKind::Object, None, "Extra."),
    ];

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn files_merge_left_to_right_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::fs::write(&a, r#"{"user":"A","port":1,"extra":{"x":1,"y":1}}"#).unwrap();
        std::fs::write(&b, r#"{"port":2,"extra":{"y":2}}"#).unwrap();
        let config = Config::load(
            &[a, b],
            "T_",
            env(&[("T_USER", "fromenv"), ("OTHER_USER", "no")]),
            TABLE,
        )
        .unwrap();
        assert_eq!(config.get_str("user"), Some("fromenv"));
        assert_eq!(config.int::<u16>("port").unwrap(), 2);
        assert_eq!(config.get("extra"), Some(&json!({"x": 1, "y": 2})));
        assert_eq!(config.get_bool("validate"), Some(true));
        assert_eq!(config.get_str("mode"), Some("a"));
    }

    #[test]
    fn env_values_are_parsed_per_kind() {
        let config = Config::from_map(
            Map::new(),
            "T_",
            env(&[
                ("T_USER", "u"),
                ("T_PORT", "1522"),
                ("T_VALIDATE", "0"),
                ("T_SCHEMAS", "HR, SALES"),
                ("T_EXTRA", r#"{"k":"v"}"#),
            ]),
            TABLE,
        )
        .unwrap();
        assert_eq!(config.int::<u16>("port").unwrap(), 1522);
        assert_eq!(config.get_bool("validate"), Some(false));
        assert_eq!(config.get_str_list("schemas"), vec!["HR", "SALES"]);
        let from_json = Config::from_map(
            Map::new(),
            "T_",
            env(&[("T_USER", "u"), ("T_SCHEMAS", r#"["a,b","c"]"#)]),
            TABLE,
        )
        .unwrap();
        assert_eq!(from_json.get_str_list("schemas"), vec!["a,b", "c"]);
    }

    #[test]
    fn one_error_lists_every_problem_without_secrets() {
        let values = json!({"password": 12345, "port": "x", "mode": "c", "schemas": [1]});
        let err = Config::from_map(
            values.as_object().unwrap().clone(),
            "T_",
            env(&[("T_VALIDATE", "maybe")]),
            TABLE,
        )
        .unwrap_err();
        let text = err.to_string();
        for expected in [
            "user: required",
            "password: must be string",
            "port: must be an integer from 1 to 65535",
            "mode: must be one of a, b",
            "schemas: must be an array of strings",
            "T_VALIDATE: not a boolean",
        ] {
            assert!(text.contains(expected), "{text} lacks {expected}");
        }
        assert!(!text.contains("12345"));
    }

    #[test]
    fn integers_outside_their_declared_range_are_refused_naming_the_setting() {
        let refused = |values: Json, env_pairs: &[(&str, &str)]| {
            let mut values = values;
            values["user"] = json!("u");
            Config::from_map(
                values.as_object().unwrap().clone(),
                "T_",
                env(env_pairs),
                TABLE,
            )
            .unwrap_err()
            .to_string()
        };
        for (port, rows) in [
            (json!(-1), json!(-3)),
            (json!(0), json!(4_294_967_296_u64)),
            (json!(65_536), json!(18_446_744_073_709_551_615_u64)),
            (json!(1.5), json!("7")),
        ] {
            let text = refused(json!({"port": port, "rows": rows}), &[]);
            assert!(
                text.contains("port: must be an integer from 1 to 65535")
                    && text.contains("rows: must be an integer from 0 to 4294967295"),
                "{port} {rows}: {text}"
            );
        }
        let huge: Json = serde_json::from_str(r#"{"rows": 1e400}"#).unwrap();
        assert!(refused(huge, &[]).contains("rows: must be an integer"));
        let text = refused(json!({}), &[("T_PORT", "-1"), ("T_ROWS", "99999999999")]);
        assert!(
            text.contains("T_PORT: must be an integer from 1 to 65535"),
            "{text}"
        );
        assert!(
            text.contains("T_ROWS: must be an integer from 0 to 4294967295"),
            "{text}"
        );
        // The bounds themselves are accepted, and read without truncation.
        let config = Config::from_map(
            json!({"user": "u", "port": 65_535, "rows": 4_294_967_295_u64})
                .as_object()
                .unwrap()
                .clone(),
            "T_",
            env(&[]),
            TABLE,
        )
        .unwrap();
        assert_eq!(config.int::<u16>("port").unwrap(), 65_535);
        assert_eq!(config.int::<u32>("rows").unwrap(), u32::MAX);
        // A reader asking for a narrower type than the range gets an error, not a wrap.
        let err = config.int::<u16>("rows").unwrap_err().to_string();
        assert!(err.contains("rows: out of range for u16"), "{err}");
        assert_eq!(
            config.get_int::<u8>("validate").unwrap_err().problems.len(),
            1
        );
    }

    #[test]
    fn secrets_and_unknown_keys_are_redacted_in_debug() {
        let values = json!({"user": "u", "password": "hunter2", "passwrod": "hunter3", "x": {"k": "hunter4"}});
        let config =
            Config::from_map(values.as_object().unwrap().clone(), "T_", env(&[]), TABLE).unwrap();
        assert_eq!(config.get_str("password"), Some("hunter2"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("hunter"), "{debug}");
        assert!(debug.contains(r#""passwrod": String("***")"#), "{debug}");
        assert!(debug.contains(r#""user": String("u")"#), "{debug}");
    }

    #[test]
    fn markdown_table_lists_every_setting() {
        let table = settings_markdown_table(TABLE, "T_");
        assert_eq!(table.lines().count(), 2 + TABLE.len());
        assert!(table.contains(
            "| `password` | string |  | `T_PASSWORD` | Database password. Secret: never logged. |"
        ));
        assert!(table.contains("| `mode` | a \\| b | `\"a\"` |"));
        assert!(table.contains("| `port` | integer, 1 to 65535 | `1521` | `T_PORT` | Port. |"));
    }
}
