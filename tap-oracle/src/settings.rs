//! The tap's settings: one declared table, read by `--about`, by validation and by the
//! README's configuration table (a test keeps them in sync).

use std::sync::LazyLock;

use singer_cli::settings::{Setting, SettingKind};

/// Prefix of the environment variables that set each setting (Meltano's convention).
pub const ENV_PREFIX: &str = "TAP_ORACLE_";

const fn plain(
    name: &'static str,
    kind: SettingKind,
    default: Option<&'static str>,
    description: &'static str,
) -> Setting {
    Setting::new(name, kind, default, description)
}

/// Every setting tap-oracle reads: the connection settings both binaries share, then
/// the tap's own.
pub fn settings() -> &'static [Setting] {
    static ALL: LazyLock<Vec<Setting>> =
        LazyLock::new(|| [db_connect::CONNECTION_SETTINGS, TAP_SETTINGS].concat());
    &ALL
}

/// The settings only the tap reads.
const TAP_SETTINGS: &[Setting] = &[
    plain("fetch_array_size", SettingKind::Integer { min: 1, max: 1_000_000 }, Some("1000"), "Rows fetched per round trip, at most: fewer when the driver's buffers for that many rows would pass 32 MiB (wide VARCHAR2 columns)."),
    plain("fetch_pipeline", SettingKind::Choice(&["off", "on", "auto"]), Some("\"off\""), "Fetch rows on one thread and encode them on another, with a queue of a few hundred KiB of rows between them: `on`, `off`, or `auto` (on when the machine has two idle CPUs, by its load average, for each session reading at once, `max_parallel_streams` x `max_parallel_chunks`). Every value crosses between CPUs, so it pays only with idle CPUs and a slow fetch (README \"Benchmarks\")."),
    plain("prefetch_rows", SettingKind::Integer { min: 0, max: 1_000_000 }, Some("1000"), "Rows fetched with the query's execute call."),
    plain("filter_schemas", SettingKind::Array, None, "Schemas to discover, exact case (default: every schema Oracle does not maintain)."),
    plain("filter_tables", SettingKind::Array, None, "`OWNER.TABLE` patterns with `*` and `?`; a leading `!` excludes (`HR.*`, `!*.TMP_*`)."),
    plain("database_name", SettingKind::String, None, "Written as `database-name` in the catalog."),
    plain("decimal_as_string", SettingKind::Boolean, Some("false"), "Declare and write non-integer NUMBERs and FLOATs as strings (`x-singer.decimal`) for consumers that parse JSON numbers as floats."),
    plain("default_replication_method", SettingKind::Choice(&["FULL_TABLE", "INCREMENTAL", "LOG_BASED"]), Some("\"FULL_TABLE\""), "Replication method for streams whose catalog names none."),
    plain("batch_config", SettingKind::Object, None, "Write the rows streams read from their tables to JSON Lines files and emit BATCH messages naming them instead of RECORDs, as Meltano SDK taps do (LOG_BASED changes stay RECORDs): `{\"encoding\": {\"format\": \"jsonl\", \"compression\": \"gzip\"|\"none\"}, \"storage\": {\"root\": \"file:///folder\", \"prefix\": \"...\"}, \"batch_size\": 10000}`. A file closes at each STATE or every `batch_size` rows; the files stay for the target (README \"BATCH files\")."),
    plain("state_every_rows", SettingKind::Integer { min: 1, max: 1_000_000_000 }, Some("10000"), "Emit STATE at least every this many rows of a stream."),
    plain("activate_version", SettingKind::Boolean, Some("true"), "Emit ACTIVATE_VERSION for FULL_TABLE streams, so targets that honour it remove rows deleted at the source."),
    plain("source_timezone", SettingKind::String, Some("\"+00:00\""), "UTC offset (`+02:00`) of DATE and TIMESTAMP values, which carry no zone; written out in UTC."),
    plain("max_parallel_streams", SettingKind::Integer { min: 1, max: 1_024 }, Some("1"), "Streams synced at once, each on its own session."),
    plain("max_parallel_chunks", SettingKind::Integer { min: 1, max: 1_024 }, Some("1"), "Above 1, a keyed FULL_TABLE stream is split into this many key ranges (NTILE over the key), read by as many sessions at once, all AS OF one SCN (needs FLASHBACK on the table); each range's progress is kept in STATE."),
    plain("shard_plan", SettingKind::String, None, "Path of a shard plan (`tap-oracle --plan-shards N`): with `shard_index`, this run reads only its shard's key ranges of the plan's FULL_TABLE streams, AS OF the plan's SCN under the plan's table version, and emits no ACTIVATE_VERSION; with `shard_finish`, it is the final step (README \"Sharded runs\")."),
    plain("shard_index", SettingKind::Integer { min: 0, max: 1_023 }, None, "This run's shard of the plan, from 0 (a Kubernetes indexed job's `JOB_COMPLETION_INDEX`): it reads the plan's ranges `shard_index`, `shard_index + shard_count`, ..."),
    plain("shard_count", SettingKind::Integer { min: 1, max: 1_024 }, None, "How many shard runs share the plan (default: the N it was made for); `shard_index` must be below it."),
    plain("shard_finish", SettingKind::Boolean, Some("false"), "The final step of a sharded run (with `shard_plan`): reads no rows and emits each planned stream's SCHEMA and ACTIVATE_VERSION; run it once every shard has finished."),
    plain("shard_states", SettingKind::Array, None, "With `shard_finish`: the shards' final STATE files (a target's last state line, or `meltano state get`); the step refuses unless together they show every shard of the plan complete."),
    plain("full_table_page_rows", SettingKind::Integer { min: 1, max: 1_000_000_000 }, Some("100000"), "Rows per FULL_TABLE page: each page is one query that starts the key's index range at the last row read (`FETCH FIRST n ROWS ONLY`, Oracle 12c and later), so no pass holds one sorted cursor over the whole table."),
    plain("use_flashback", SettingKind::Boolean, Some("false"), "Read FULL_TABLE streams AS OF the SCN taken at the sync's start (needs the FLASHBACK privilege)."),
    plain("progress_interval_seconds", SettingKind::Integer { min: 1, max: 86_400 }, Some("5"), "Seconds between progress lines on stderr."),
    plain("log_window_bytes", SettingKind::Integer { min: 1_048_576, max: 1 << 40 }, Some("536870912"), "LOG_BASED: redo bytes mined per LogMiner session (windows follow log boundaries)."),
    plain("log_buffer_memory_bytes", SettingKind::Integer { min: 1_048_576, max: 1 << 36 }, Some("33554432"), "LOG_BASED: bytes of open-transaction changes kept in memory; past it they go to a temporary file."),
    plain("log_buffer_max_bytes", SettingKind::Integer { min: 1_048_576, max: 1 << 50 }, Some("17179869184"), "LOG_BASED: bytes of open-transaction changes at most; past it the run stops with an error."),
];
