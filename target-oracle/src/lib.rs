//! target-oracle: loads a Singer stream into Oracle Database tables.
//!
//! Crate map:
//! - [`decimal`]: exact decimal text (NUMBER precision/scale, `multipleOf`).
//! - [`naming`]: stream and property names -> Oracle identifiers.
//! - [`type_map`]: JSON Schema property -> Oracle column type.

pub mod convert;
pub mod decimal;
pub mod error;
pub mod evolve;
pub mod input;
pub mod loader;
pub mod naming;
pub mod settings;
pub mod state;
pub mod stream;
pub mod type_map;
pub mod validate;

#[cfg(test)]
mod loader_tests;
#[cfg(test)]
mod memory_sink;
