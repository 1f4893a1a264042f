//! tap-oracle: a Singer tap for Oracle Database.
//!
//! - [`run`]: the command line and its modes (`--about`, `--test`, `--discover`, sync).
//! - [`settings`]: the declared settings table.
//! - [`discover`]: `--discover`, dictionary rows in scope to the catalog JSON.
//! - [`filter_hint`]: filters that admit no table, and the names they may have meant.
//! - [`sync`]: the sync engine (FULL_TABLE, INCREMENTAL, state, parallel streams).
//! - [`convert`]: database values to JSON text (the hot path).
//! - [`bookmark`]: bookmark values to and from STATE without loss.
//! - [`error`]: the one error type and its exit status.

pub mod bookmark;
pub mod convert;
pub mod discover;
pub mod error;
pub mod filter_hint;
pub mod run;
pub mod settings;
pub mod sync;
