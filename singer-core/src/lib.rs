//! The Singer protocol and everything tap-oracle and target-oracle share.
//!
//! - [`message`]: typed Singer messages (SCHEMA, RECORD, STATE, ACTIVATE_VERSION, BATCH).
//! - [`reader`]: a line reader for Singer input with line numbers in its errors.
//! - [`writer`]: a buffered Singer writer for stdout that flushes at STATE.
//! - [`catalog`]: catalog entries, metadata and the Singer selection rules.
//! - [`state`]: bookmarks and `currently_syncing`.
//! - [`settings`]: declared settings tables, layered config files and env variables.
//! - [`about`]: `--about` output in JSON and Markdown.
//! - [`cli`]: the flags both binaries share.
//! - [`logging`]: tracing to stderr, text or Meltano's structured JSON.
//! - [`metrics`]: Singer `METRIC:` lines.
//! - [`exit`]: the exit-code table.
//! - [`dictionary`]: Oracle data-dictionary rows as plain data.
//! - [`oracle_type`]: Oracle column types, parsed and printed.
//! - [`discovery`]: dictionary rows to a Singer catalog.

pub mod about;
pub mod catalog;
pub mod cli;
pub mod dictionary;
pub mod discovery;
pub mod exit;
pub mod logging;
pub mod message;
pub mod metrics;
pub mod oracle_type;
pub mod reader;
pub mod settings;
pub mod state;
pub mod writer;
