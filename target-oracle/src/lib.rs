//! target-oracle: loads a Singer stream into Oracle Database tables.
//!
//! Crate map:
//! - [`naming`]: stream and property names -> Oracle identifiers.
//! - [`type_map`]: JSON Schema property -> Oracle column type.
//! - [`convert`]: one JSON field -> one database value, with column pre-checks.
//! - `rfc3339`: date-times in the shape taps write, read by position.
//! - [`validate`]: record validation with `jsonschema` (draft-4 bounds, exact `multipleOf`).
//! - [`evolve`]: existing table + wanted columns -> the DDL that reconciles them.
//! - [`fast_hash`]: FNV hashing for the per-record maps.
//! - [`input`]: input read on a thread, so quiet taps still get age-based flushes.
//! - [`settings`]: the declared settings table and the typed config.
//! - [`stream`]: a stream's column plan and record -> row.
//! - [`state`]: which STATE may be written (after commit) and writing it.
//! - [`audit`]: the load audit table (`audit_table`), written with the data.
//! - [`loader`]: the engine: buffers, DDL, batches, ACTIVATE_VERSION, bad records,
//!   fatal errors, restart-safe overwrite.
//! - `batch`: BATCH messages (SDK): records from `file://` JSON Lines files, gzip or not.
//! - [`error`]: the run's error type and its exit codes.
//! - [`about`]: `--about` as JSON or Markdown.
//! - [`cli`]: arguments, logging, and [`cli::run`].

// Items are `pub(crate)` unless the binary, the examples or the tests need them.
#![warn(unreachable_pub)]

mod about;
mod audit;
mod batch;
pub mod cli;
mod convert;
mod error;
mod evolve;
mod fast_hash;
pub mod input;
pub mod loader;
mod naming;
mod rfc3339;
pub mod settings;
mod state;
mod stream;
mod type_map;
mod validate;

#[cfg(test)]
mod loader_tests;
