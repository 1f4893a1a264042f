//! The target's settings: one declared table (read by `--about` and by validation) and
//! the typed [`TargetConfig`] built from the merged config object.
//!
//! Config files merge left to right; `TARGET_ORACLE_<SETTING>` environment variables
//! override them (Meltano's convention). Every problem is collected into one error.

use std::path::PathBuf;

use serde_json::{Map, Value as Json};

/// The JSON type of a setting's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingKind {
    String,
    Integer,
    Number,
    Boolean,
    /// One of the listed words.
    Choice(&'static [&'static str]),
}

impl SettingKind {
    pub fn name(&self) -> &'static str {
        match self {
            SettingKind::String | SettingKind::Choice(_) => "string",
            SettingKind::Integer => "integer",
            SettingKind::Number => "number",
            SettingKind::Boolean => "boolean",
        }
    }
}

/// One declared setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    pub name: &'static str,
    pub kind: SettingKind,
    /// The default as text (`None`: unset unless given).
    pub default: Option<&'static str>,
    pub secret: bool,
    pub description: &'static str,
}

const fn setting(
    name: &'static str,
    kind: SettingKind,
    default: Option<&'static str>,
    description: &'static str,
) -> Setting {
    Setting {
        name,
        kind,
        default,
        secret: false,
        description,
    }
}

const fn secret(name: &'static str, description: &'static str) -> Setting {
    Setting {
        name,
        kind: SettingKind::String,
        default: None,
        secret: true,
        description,
    }
}

/// Every setting target-oracle reads.
pub const SETTINGS: &[Setting] = &[
    setting("driver", SettingKind::Choice(&["oracle", "sim"]), Some("oracle"),
        "Database backend: `oracle`, or `sim` (the simulated backend, only in builds with the `sim` feature)."),
    setting("sim_path", SettingKind::String, None,
        "Directory of the simulated database (driver `sim`)."),
    setting("host", SettingKind::String, None, "Oracle listener host."),
    setting("port", SettingKind::Integer, Some("1521"), "Oracle listener port."),
    setting("service_name", SettingKind::String, None, "Service name to connect to."),
    setting("sid", SettingKind::String, None, "SID to connect to (instead of service_name)."),
    setting("dsn", SettingKind::String, None,
        "Full connect string or TNS alias (instead of host/port/service_name)."),
    setting("tns_admin", SettingKind::String, None, "Directory holding tnsnames.ora / sqlnet.ora."),
    setting("user", SettingKind::String, None, "Database user."),
    secret("password", "Database password."),
    setting("wallet_location", SettingKind::String, None, "Oracle wallet directory."),
    secret("wallet_password", "Oracle wallet password."),
    setting("connect_timeout", SettingKind::Integer, None, "Connect timeout in seconds."),
    setting("fetch_array_size", SettingKind::Integer, None, "Rows per fetch round trip."),
    setting("prefetch_rows", SettingKind::Integer, None, "Rows prefetched with a query's execute."),
    setting("max_connections", SettingKind::Integer, None, "Connection pool size."),
    setting("default_target_schema", SettingKind::String, None,
        "Schema that receives the tables (default: the connecting user's schema)."),
    setting("load_method", SettingKind::Choice(&["append-only", "upsert", "overwrite"]), None,
        "append-only, upsert (default when a stream has key_properties) or overwrite (replace the table's rows at the first batch of the run)."),
    setting("batch_size_rows", SettingKind::Integer, Some("10000"),
        "Rows buffered per stream before a batch is written."),
    setting("batch_size_bytes", SettingKind::Integer, Some("67108864"),
        "Bytes of RECORD text buffered per stream before a batch is written."),
    setting("batch_wait_limit_seconds", SettingKind::Number, Some("60"),
        "Longest time a record waits in a buffer before its batch is written."),
    setting("max_state_lag_seconds", SettingKind::Number, Some("30"),
        "Longest time a STATE waits for its records to be committed before every buffer is flushed."),
    setting("validate_records", SettingKind::Boolean, Some("true"),
        "Validate records against the stream's JSON Schema."),
    setting("add_record_metadata", SettingKind::Boolean, Some("false"),
        "Add the _sdc_ metadata columns (extracted_at, received_at, batched_at, deleted_at, sequence, table_version)."),
    setting("hard_delete", SettingKind::Boolean, Some("false"),
        "Delete rows whose _sdc_deleted_at is set, and rows of older versions at ACTIVATE_VERSION, instead of marking them."),
    setting("freeze_schema", SettingKind::Boolean, Some("false"),
        "Never run DDL: reject records that do not fit the existing table."),
    setting("on_bad_record", SettingKind::Choice(&["fail", "reject"]), Some("fail"),
        "fail: stop with exit code 1 at the first bad record; reject: write it with its reason to reject_file and continue."),
    setting("reject_file", SettingKind::String, Some("target-oracle-rejects.jsonl"),
        "JSON Lines file receiving rejected records (on_bad_record = reject)."),
    setting("uppercase_identifiers", SettingKind::Boolean, Some("true"),
        "Upper-case table and column names (Oracle's convention); false keeps their case."),
    setting("max_identifier_bytes", SettingKind::Integer, None,
        "Identifier length limit (default: from the server, 128 from 12.2 on, else 30)."),
    setting("keep_stream_prefix", SettingKind::Boolean, Some("false"),
        "Keep the `<OWNER>-` prefix of stream names in table names instead of stripping it."),
    setting("base64_as_blob", SettingKind::Boolean, Some("false"),
        "Store strings with contentEncoding base64 decoded in BLOB columns."),
];

/// Which backend to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Driver {
    Oracle,
    Sim(PathBuf),
}

/// How rows reach their table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadMethod {
    AppendOnly,
    Upsert,
    Overwrite,
}

/// What to do with a record that fails validation or conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBadRecord {
    Fail,
    Reject,
}

/// The typed configuration of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetConfig {
    pub driver: Driver,
    /// `None`: upsert for streams with keys, append-only otherwise.
    pub load_method: Option<LoadMethod>,
    pub default_target_schema: Option<String>,
    pub batch_size_rows: usize,
    pub batch_size_bytes: usize,
    pub batch_wait_limit_seconds: f64,
    pub max_state_lag_seconds: f64,
    pub validate_records: bool,
    pub add_record_metadata: bool,
    pub hard_delete: bool,
    pub freeze_schema: bool,
    pub on_bad_record: OnBadRecord,
    pub reject_file: PathBuf,
    pub uppercase_identifiers: bool,
    pub max_identifier_bytes: Option<u32>,
    pub keep_stream_prefix: bool,
    pub base64_as_blob: bool,
    /// The merged config object, for the backend's own connection settings.
    pub raw: Map<String, Json>,
}

/// Everything wrong with a configuration, listed at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .0.join("\n  - "))]
pub struct ConfigErrors(pub Vec<String>);

/// Merges config objects left to right, then applies `TARGET_ORACLE_<SETTING>` from
/// `env` (only declared settings, so unrelated variables never leak in).
pub fn merge(
    files: Vec<Map<String, Json>>,
    env: impl Iterator<Item = (String, String)>,
) -> Map<String, Json> {
    let mut merged = Map::new();
    for file in files {
        for (key, value) in file {
            merged.insert(key, value);
        }
    }
    for (key, value) in env {
        let Some(name) = key.strip_prefix("TARGET_ORACLE_") else {
            continue;
        };
        let name = name.to_ascii_lowercase();
        if SETTINGS.iter().any(|s| s.name == name) {
            merged.insert(name, Json::String(value));
        }
    }
    merged
}

fn lookup(map: &Map<String, Json>, setting: &Setting) -> Option<Json> {
    match map.get(setting.name) {
        Some(Json::Null) | None => setting.default.map(|d| Json::String(d.to_owned())),
        Some(value) => Some(value.clone()),
    }
}

struct Reader<'m> {
    map: &'m Map<String, Json>,
    errors: Vec<String>,
}

impl Reader<'_> {
    fn setting(&self, name: &str) -> &'static Setting {
        SETTINGS
            .iter()
            .find(|s| s.name == name)
            .unwrap_or(&SETTINGS[0])
    }

    fn string(&mut self, name: &str) -> Option<String> {
        let setting = self.setting(name);
        match lookup(self.map, setting)? {
            Json::String(s) if !s.is_empty() => Some(s),
            Json::String(_) => None,
            other => {
                self.errors.push(format!(
                    "{name}: expected a string, found {}",
                    json_kind(&other)
                ));
                None
            }
        }
    }

    fn choice(&mut self, name: &str) -> Option<String> {
        let setting = self.setting(name);
        let value = self.string(name)?;
        if let SettingKind::Choice(options) = setting.kind {
            if !options.contains(&value.as_str()) {
                self.errors.push(format!(
                    "{name}: {value:?} is not one of {}",
                    options.join(", ")
                ));
                return None;
            }
        }
        Some(value)
    }

    fn boolean(&mut self, name: &str) -> bool {
        let setting = self.setting(name);
        match lookup(self.map, setting) {
            Some(Json::Bool(b)) => b,
            Some(Json::String(s)) => match s.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                _ => {
                    self.errors.push(format!("{name}: {s:?} is not a boolean"));
                    false
                }
            },
            Some(other) => {
                self.errors.push(format!(
                    "{name}: expected a boolean, found {}",
                    json_kind(&other)
                ));
                false
            }
            None => false,
        }
    }

    fn number(&mut self, name: &str) -> Option<f64> {
        let setting = self.setting(name);
        let value = lookup(self.map, setting)?;
        let parsed = match &value {
            Json::Number(n) => n.as_f64(),
            Json::String(s) => s.trim().parse::<f64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n.is_finite() && n >= 0.0 => Some(n),
            _ => {
                self.errors
                    .push(format!("{name}: expected a non-negative number"));
                None
            }
        }
    }

    fn positive_integer(&mut self, name: &str) -> Option<u64> {
        let setting = self.setting(name);
        let value = lookup(self.map, setting)?;
        let parsed = match &value {
            Json::Number(n) => n.as_u64(),
            Json::String(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        match parsed {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.errors
                    .push(format!("{name}: expected a positive integer"));
                None
            }
        }
    }
}

fn json_kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

impl TargetConfig {
    /// Reads and checks every setting; `sim_available` says whether this build has the
    /// simulated backend.
    pub fn from_map(
        map: Map<String, Json>,
        sim_available: bool,
    ) -> Result<TargetConfig, ConfigErrors> {
        let mut r = Reader {
            map: &map,
            errors: Vec::new(),
        };
        let driver = match r.choice("driver").as_deref() {
            Some("sim") => {
                if !sim_available {
                    r.errors.push(
                        "driver: \"sim\" needs a target-oracle built with the `sim` feature \
                         (cargo build -p target-oracle --features sim)"
                            .into(),
                    );
                }
                match r.string("sim_path") {
                    Some(path) => Driver::Sim(PathBuf::from(path)),
                    None => {
                        r.errors
                            .push("sim_path: required when driver is \"sim\"".into());
                        Driver::Sim(PathBuf::new())
                    }
                }
            }
            _ => Driver::Oracle,
        };
        for setting in SETTINGS {
            if matches!(setting.kind, SettingKind::Integer)
                && setting.default.is_none()
                && map.get(setting.name).is_some_and(|v| !v.is_null())
            {
                r.positive_integer(setting.name);
            }
        }
        let load_method = match r.choice("load_method").as_deref() {
            Some("append-only") => Some(LoadMethod::AppendOnly),
            Some("upsert") => Some(LoadMethod::Upsert),
            Some("overwrite") => Some(LoadMethod::Overwrite),
            _ => None,
        };
        let on_bad_record = match r.choice("on_bad_record").as_deref() {
            Some("reject") => OnBadRecord::Reject,
            _ => OnBadRecord::Fail,
        };
        let max_identifier_bytes = r
            .positive_integer("max_identifier_bytes")
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX));
        if let Some(n) = max_identifier_bytes {
            if !(10..=128).contains(&n) {
                r.errors
                    .push("max_identifier_bytes: must be between 10 and 128".into());
            }
        }
        let config = TargetConfig {
            driver,
            load_method,
            default_target_schema: r.string("default_target_schema"),
            batch_size_rows: r.positive_integer("batch_size_rows").unwrap_or(10_000) as usize,
            batch_size_bytes: r.positive_integer("batch_size_bytes").unwrap_or(64 << 20) as usize,
            batch_wait_limit_seconds: r.number("batch_wait_limit_seconds").unwrap_or(60.0),
            max_state_lag_seconds: r.number("max_state_lag_seconds").unwrap_or(30.0),
            validate_records: r.boolean("validate_records"),
            add_record_metadata: r.boolean("add_record_metadata"),
            hard_delete: r.boolean("hard_delete"),
            freeze_schema: r.boolean("freeze_schema"),
            on_bad_record,
            reject_file: PathBuf::from(
                r.string("reject_file")
                    .unwrap_or_else(|| "target-oracle-rejects.jsonl".into()),
            ),
            uppercase_identifiers: r.boolean("uppercase_identifiers"),
            max_identifier_bytes,
            keep_stream_prefix: r.boolean("keep_stream_prefix"),
            base64_as_blob: r.boolean("base64_as_blob"),
            raw: map.clone(),
        };
        if r.errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(r.errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(value: Json) -> Map<String, Json> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let config = TargetConfig::from_map(Map::new(), false).unwrap();
        assert_eq!(config.driver, Driver::Oracle);
        assert_eq!(config.batch_size_rows, 10_000);
        assert!(config.validate_records);
        assert!(config.uppercase_identifiers);
        assert!(!config.add_record_metadata);
        assert_eq!(config.load_method, None);
        assert_eq!(config.on_bad_record, OnBadRecord::Fail);
    }

    #[test]
    fn files_merge_left_to_right_and_env_wins() {
        let merged = merge(
            vec![
                obj(json!({"batch_size_rows": 5, "user": "a"})),
                obj(json!({"user": "b"})),
            ],
            [
                (
                    "TARGET_ORACLE_VALIDATE_RECORDS".to_owned(),
                    "false".to_owned(),
                ),
                ("TARGET_ORACLE_NOT_A_SETTING".to_owned(), "x".to_owned()),
                ("HOME".to_owned(), "/root".to_owned()),
            ]
            .into_iter(),
        );
        assert_eq!(merged.get("user"), Some(&json!("b")));
        assert!(!merged.contains_key("not_a_setting"));
        let config = TargetConfig::from_map(merged, false).unwrap();
        assert_eq!(config.batch_size_rows, 5);
        assert!(!config.validate_records);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let err = TargetConfig::from_map(
            obj(
                json!({"driver": "sim", "batch_size_rows": 0, "load_method": "merge",
                       "validate_records": "maybe"}),
            ),
            false,
        )
        .unwrap_err();
        insta::assert_snapshot!(err.to_string(), @r#"
        invalid configuration:
          - driver: "sim" needs a target-oracle built with the `sim` feature (cargo build -p target-oracle --features sim)
          - sim_path: required when driver is "sim"
          - load_method: "merge" is not one of append-only, upsert, overwrite
          - batch_size_rows: expected a positive integer
          - validate_records: "maybe" is not a boolean
        "#);
    }

    #[test]
    fn sim_driver_reads_its_path() {
        let config =
            TargetConfig::from_map(obj(json!({"driver": "sim", "sim_path": "/tmp/x"})), true)
                .unwrap();
        assert_eq!(config.driver, Driver::Sim(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn the_table_has_unique_names_and_valid_defaults() {
        let mut names: Vec<_> = SETTINGS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        let defaults: Map<String, Json> = SETTINGS
            .iter()
            .filter_map(|s| s.default.map(|d| (s.name.to_owned(), json!(d))))
            .collect();
        assert!(TargetConfig::from_map(defaults, false).is_ok());
    }
}
