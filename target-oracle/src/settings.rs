//! The target's settings: one declared table (`singer_cli::settings::Setting`, read by
//! `--about`, config validation and the README) and the typed [`TargetConfig`] built
//! from the checked [`Config`].
//!
//! Config files merge left to right; `TARGET_ORACLE_<SETTING>` environment variables
//! override them (Meltano's convention); singer-core collects every problem, and the
//! checks only this target knows are added to the same one error.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::LazyLock;

use serde_json::{Map, Value as Json};
use singer_cli::settings::{Config, ConfigError, Setting, SettingKind};

use crate::naming::StreamPrefix;

/// The prefix of the environment variables that set target settings.
pub const ENV_PREFIX: &str = "TARGET_ORACLE_";

/// Every setting target-oracle reads: the connection settings both binaries share, then
/// the target's own.
pub fn settings() -> &'static [Setting] {
    static ALL: LazyLock<Vec<Setting>> =
        LazyLock::new(|| [db_connect::CONNECTION_SETTINGS, TARGET_SETTINGS].concat());
    &ALL
}

/// The settings only the target reads.
const TARGET_SETTINGS: &[Setting] = &[
    Setting::new("default_target_schema", SettingKind::String, None,
        "Schema that receives the tables (default: the connecting user's schema)."),
    Setting::new("load_method", SettingKind::Choice(&["append-only", "upsert", "overwrite"]), None,
        "append-only, upsert (default when a stream has key_properties) or overwrite (the table ends with this run's rows only; a restart from the last STATE keeps what the killed run loaded)."),
    Setting::new("batch_size_rows", SettingKind::Integer { min: 1, max: 10_000_000 }, Some("10000"),
        "Rows buffered per stream before a batch is written and committed (sent in arrays of at most 32 MiB of driver buffers)."),
    Setting::new("batch_size_bytes", SettingKind::Integer { min: 1_024, max: 17_179_869_184 }, Some("67108864"),
        "Bytes of RECORD text buffered per stream before a batch is written."),
    Setting::new("max_line_bytes", SettingKind::Integer { min: 1_048_576, max: 17_179_869_184 }, Some("67108864"),
        "Longest input line (one message) in bytes, at least 1048576; a longer line stops the run with exit code 1. Memory stays within a few times this."),
    Setting::new("batch_wait_limit_seconds", SettingKind::Integer { min: 0, max: 86_400 }, Some("60"),
        "Longest time a record waits in a buffer before its batch is written."),
    Setting::new("max_state_lag_seconds", SettingKind::Integer { min: 0, max: 86_400 }, Some("30"),
        "Longest time a STATE waits for its records to be committed before every buffer is flushed."),
    Setting::new("validate_records", SettingKind::Boolean, Some("true"),
        "Validate records against the stream's JSON Schema."),
    Setting::new("add_record_metadata", SettingKind::Boolean, Some("false"),
        "Add the _sdc_ metadata columns (extracted_at, received_at, batched_at, deleted_at, sequence, table_version)."),
    Setting::new("hard_delete", SettingKind::Boolean, Some("false"),
        "A record whose _sdc_deleted_at is set deletes its key's row (streams merged on a key, by key) or is left out (other streams); rows of older versions are deleted at ACTIVATE_VERSION instead of marked."),
    Setting::new("freeze_schema", SettingKind::Boolean, Some("false"),
        "Never run DDL: reject records that do not fit the existing table."),
    Setting::new("on_bad_record", SettingKind::Choice(&["fail", "reject"]), Some("\"fail\""),
        "fail: stop with exit code 1 at the first bad record; reject: write it with its reason to reject_file and continue."),
    Setting::new("reject_file", SettingKind::String, Some("\"target-oracle-rejects.jsonl\""),
        "JSON Lines file receiving rejected records (on_bad_record = reject)."),
    Setting::new("uppercase_identifiers", SettingKind::Boolean, Some("true"),
        "Upper-case table and column names (Oracle's convention); false keeps their case."),
    Setting::new("max_identifier_bytes", SettingKind::Integer { min: 10, max: 128 }, None,
        "Identifier length limit (default: from the server, 128 when its release and COMPATIBLE are 12.2 or later, else 30)."),
    Setting::new("stream_prefix", SettingKind::Choice(&["table", "schema", "drop"]), Some("\"table\""),
        "What the `<PREFIX>-` of a stream name becomes: `table` keeps it in the table name (`HR-EMPLOYEES` -> `HR_EMPLOYEES`), `schema` makes it the table's schema (`HR`.`EMPLOYEES`, as Meltano SDK SQL targets do), `drop` drops it (`EMPLOYEES`)."),
    Setting::new("table_names", SettingKind::Object, None,
        "Explicit tables for some streams: `{\"<stream>\": \"TABLE\" or \"SCHEMA.TABLE\"}`; wins over the other naming rules."),
    Setting::new("base64_as_blob", SettingKind::Boolean, Some("false"),
        "Store strings with contentEncoding base64 decoded in BLOB columns."),
    Setting::new("audit_table", SettingKind::String, None,
        "Load audit table (e.g. `TARGET_ORACLE_AUDIT`, in `default_target_schema`): one row per stream per run with its counts, written in the same transactions as the data. Off when unset."),
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
    /// The longest input line accepted.
    pub max_line_bytes: usize,
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
    pub stream_prefix: StreamPrefix,
    /// `table_names`: stream -> `TABLE` or `SCHEMA.TABLE`.
    pub table_names: BTreeMap<String, String>,
    pub base64_as_blob: bool,
    /// The load audit table's name (unnormalised), when auditing is on.
    pub audit_table: Option<String>,
    /// The checked config, for the backend's own connection settings (its `Debug`
    /// hides secrets and unknown keys).
    pub raw: Config,
}

impl TargetConfig {
    /// Reads `--config` files and the environment into a checked configuration;
    /// `sim_available` says whether this build has the simulated backend.
    pub fn load(
        paths: &[PathBuf],
        env: impl IntoIterator<Item = (String, String)>,
        sim_available: bool,
    ) -> Result<TargetConfig, ConfigError> {
        let config = Config::load(paths, ENV_PREFIX, env, settings())?;
        TargetConfig::from_config(&config, sim_available)
    }

    /// [`TargetConfig::load`] for an already merged object (tests, benchmarks).
    pub fn from_map(
        map: Map<String, Json>,
        sim_available: bool,
    ) -> Result<TargetConfig, ConfigError> {
        let config = Config::from_map(map, ENV_PREFIX, std::iter::empty(), settings())?;
        TargetConfig::from_config(&config, sim_available)
    }

    /// The typed view of a checked config, plus the checks only this target knows.
    pub fn from_config(config: &Config, sim_available: bool) -> Result<TargetConfig, ConfigError> {
        let mut problems = Vec::new();
        let string = |name: &str| {
            config
                .get_str(name)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let flag = |name: &str| config.get_bool(name).unwrap_or(false);
        // Every number is range-checked by its declaration in the settings table.
        let batch_size_rows: usize = config.int("batch_size_rows")?;
        let batch_size_bytes: usize = config.int("batch_size_bytes")?;
        let max_line_bytes: usize = config.int("max_line_bytes")?;
        let batch_wait_limit_seconds: u32 = config.int("batch_wait_limit_seconds")?;
        let max_state_lag_seconds: u32 = config.int("max_state_lag_seconds")?;
        let max_identifier_bytes: Option<u32> = config.get_int("max_identifier_bytes")?;
        let driver = match config.get_str("driver") {
            Some("sim") => {
                if !sim_available {
                    problems.push(
                        "driver: \"sim\" needs a target-oracle built with the `sim` feature \
                         (cargo build -p target-oracle --features sim)"
                            .into(),
                    );
                }
                match string("sim_path") {
                    Some(path) => Driver::Sim(PathBuf::from(path)),
                    None => {
                        problems.push("sim_path: required when driver is \"sim\"".into());
                        Driver::Sim(PathBuf::new())
                    }
                }
            }
            _ => Driver::Oracle,
        };
        let load_method = match config.get_str("load_method") {
            Some("append-only") => Some(LoadMethod::AppendOnly),
            Some("upsert") => Some(LoadMethod::Upsert),
            Some("overwrite") => Some(LoadMethod::Overwrite),
            _ => None,
        };
        let stream_prefix = match config.get_str("stream_prefix") {
            Some("schema") => StreamPrefix::Schema,
            Some("drop") => StreamPrefix::Drop,
            _ => StreamPrefix::Table,
        };
        let mut table_names = BTreeMap::new();
        for (stream, table) in config
            .get("table_names")
            .and_then(Json::as_object)
            .into_iter()
            .flatten()
        {
            match table.as_str().filter(|t| !t.is_empty() && t.split('.').count() <= 2) {
                Some(table) => {
                    table_names.insert(stream.clone(), table.to_owned());
                }
                None => problems.push(format!(
                    "table_names: stream {stream:?} needs a table name, \"TABLE\" or \"SCHEMA.TABLE\""
                )),
            }
        }
        let on_bad_record = match config.get_str("on_bad_record") {
            Some("reject") => OnBadRecord::Reject,
            _ => OnBadRecord::Fail,
        };
        let target = TargetConfig {
            driver,
            load_method,
            default_target_schema: string("default_target_schema"),
            batch_size_rows,
            batch_size_bytes,
            max_line_bytes,
            batch_wait_limit_seconds: f64::from(batch_wait_limit_seconds),
            max_state_lag_seconds: f64::from(max_state_lag_seconds),
            validate_records: config.get_bool("validate_records").unwrap_or(true),
            add_record_metadata: flag("add_record_metadata"),
            hard_delete: flag("hard_delete"),
            freeze_schema: flag("freeze_schema"),
            on_bad_record,
            reject_file: PathBuf::from(
                string("reject_file").unwrap_or_else(|| "target-oracle-rejects.jsonl".into()),
            ),
            uppercase_identifiers: config.get_bool("uppercase_identifiers").unwrap_or(true),
            max_identifier_bytes,
            stream_prefix,
            table_names,
            base64_as_blob: flag("base64_as_blob"),
            audit_table: string("audit_table"),
            raw: config.clone(),
        };
        if problems.is_empty() {
            Ok(target)
        } else {
            Err(Config::error(problems))
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
        assert_eq!(config.max_state_lag_seconds, 30.0);
    }

    #[test]
    fn files_merge_left_to_right_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.json");
        let b = dir.path().join("b.json");
        std::fs::write(&a, r#"{"batch_size_rows": 5, "user": "a"}"#).unwrap();
        std::fs::write(&b, r#"{"user": "b"}"#).unwrap();
        let config = TargetConfig::load(
            &[a, b],
            [
                (
                    "TARGET_ORACLE_VALIDATE_RECORDS".to_owned(),
                    "false".to_owned(),
                ),
                ("HOME".to_owned(), "/root".to_owned()),
            ],
            false,
        )
        .unwrap();
        assert_eq!(config.raw.get("user"), Some(&json!("b")));
        let debug = format!("{config:?}");
        assert!(debug.contains(r#""user": String("b")"#), "{debug}");
        assert_eq!(config.batch_size_rows, 5);
        assert!(!config.validate_records);
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        // Out of the declared ranges: negative, zero, past 32 bits, too small.
        let err = TargetConfig::from_map(
            obj(json!({"batch_size_rows": 0, "max_identifier_bytes": 5,
                "batch_wait_limit_seconds": -1, "max_state_lag_seconds": 4_294_967_296_u64,
                "port": -3})),
            false,
        )
        .unwrap_err();
        insta::assert_snapshot!(err.to_string(), @r#"
        invalid configuration:
          - port: must be an integer from 1 to 65535
          - batch_size_rows: must be an integer from 1 to 10000000
          - batch_wait_limit_seconds: must be an integer from 0 to 86400
          - max_state_lag_seconds: must be an integer from 0 to 86400
          - max_identifier_bytes: must be an integer from 10 to 128
        "#);
        // The checks only this target knows, together.
        let err = TargetConfig::from_map(obj(json!({"driver": "sim"})), false).unwrap_err();
        insta::assert_snapshot!(err.to_string(), @r#"
        invalid configuration:
          - driver: "sim" needs a target-oracle built with the `sim` feature (cargo build -p target-oracle --features sim)
          - sim_path: required when driver is "sim"
        "#);
        let err = TargetConfig::from_map(
            obj(json!({"load_method": "merge", "validate_records": "maybe"})),
            false,
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 2, "{err}");
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
        let mut names: Vec<_> = settings().iter().map(|s| s.name).collect();
        names.sort_unstable();
        let before = names.len();
        names.dedup();
        assert_eq!(before, names.len());
        for setting in settings() {
            if let (Some(default), SettingKind::Choice(words)) =
                (setting.default_value(), setting.kind)
            {
                assert!(
                    words.contains(&default.as_str().unwrap()),
                    "{}",
                    setting.name
                );
            }
        }
    }
}
