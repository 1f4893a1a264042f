//! The Singer protocol, catalog and state, and Oracle introspection to a catalog: what
//! tap-oracle, target-oracle and both backends share. The CLI edge lives in `singer-cli`.
//!
//! - [`message`]: typed Singer messages (SCHEMA, RECORD, STATE, ACTIVATE_VERSION, BATCH).
//! - [`reader`]: a line reader for Singer input with line numbers in its errors.
//! - [`record`]: a RECORD's top-level fields, split and checked in one pass.
//! - [`writer`]: a buffered Singer writer for stdout that flushes at STATE.
//! - [`file_url`]: the `file://` URLs of BATCH manifests, both ways.
//! - [`catalog`]: catalog entries, metadata and the Singer selection rules.
//! - [`state`]: bookmarks and `currently_syncing`.
//! - [`metrics`]: Singer `METRIC:` lines.
//! - [`dictionary`]: Oracle data-dictionary rows as plain data.
//! - [`decimal`]: exact decimal numbers, the one canonical decimal text.
//! - [`canonical`]: canonical numbers read in one pass, checked as scaled integers.
//! - [`oracle_type`]: the one Oracle type grammar (parse and print).
//! - [`type_table`]: per Oracle type, its JSON Schema, JSON encoding, bind and fetch.
//! - [`discovery`]: dictionary rows to a Singer catalog.

pub mod canonical;
pub mod catalog;
pub mod decimal;
pub mod dictionary;
pub mod discovery;
pub mod file_url;
pub mod message;
pub mod metrics;
pub mod oracle_type;
pub mod reader;
pub mod record;
pub mod state;
pub mod type_table;
pub mod writer;
