//! What both binaries share at their edge, kept out of `singer-core` so that the
//! protocol, the database boundary and the backends never compile a CLI parser.
//!
//! - [`cli`]: the flags every Singer plugin accepts.
//! - [`settings`]: declared settings tables, layered config files and env variables.
//! - [`about`]: `--about` output in JSON and Markdown.
//! - [`logging`]: tracing to stderr, text or Meltano's structured JSON.
//! - [`exit`]: the exit-code table.

pub mod about;
pub mod cli;
pub mod exit;
pub mod logging;
pub mod settings;
