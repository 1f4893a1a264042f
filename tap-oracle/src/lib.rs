//! tap-oracle: a Singer tap for Oracle Database.
//!
//! - [`run`]: the command line and its modes (`--about`, `--test`, `--discover`, sync).
//! - [`settings`]: the declared settings table.
//! - [`discover`]: `--discover`, dictionary rows in scope to the catalog JSON.
//! - [`filter_hint`]: filters that admit no table, and the names they may have meant.
//! - [`sync`]: the sync engine's entry: selected streams, parallel workers, one stdout.
//! - `plan`: a catalog entry to a stream plan (columns, replication plan and its keys).
//! - `stream`: one stream's FULL_TABLE pass or INCREMENTAL read and its STATE.
//! - `chunks`: a keyed FULL_TABLE pass in key ranges read by several sessions at once.
//! - `shard`: FULL_TABLE sharded across processes: the plan, a shard's pass, the
//!   final step's ACTIVATE_VERSION.
//! - `pipeline`: a scan's fetching and its row sink on two threads (`fetch_pipeline`).
//! - `rows`: the row sink turning scanned rows into RECORDs and periodic STATE.
//! - `batch_files`: `batch_config`: rows to JSON Lines files named by BATCH messages.
//! - [`convert`]: database values to JSON text (the hot path).
//! - [`bookmark`]: bookmark values to and from STATE without loss.
//! - [`error`]: the one error type and its exit status.
//! - [`log_based`]: LOG_BASED replication (LogMiner): positions, logs, the mining engine.

// Items are `pub(crate)` unless the binary, the examples or the tests need them.
#![warn(unreachable_pub)]

mod batch_files;
mod bookmark;
mod chunks;
pub mod convert;
mod discover;
mod error;
mod filter_hint;
pub mod log_based;
mod pipeline;
mod plan;
mod rows;
pub mod run;
pub mod settings;
mod shard;
mod stream;
mod sync;
