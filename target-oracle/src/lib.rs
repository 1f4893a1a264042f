//! target-oracle: loads a Singer stream into Oracle Database tables.
//!
//! Crate map:
//! - [`decimal`]: exact decimal text (NUMBER precision/scale, `multipleOf`).
//! - [`naming`]: stream and property names -> Oracle identifiers.
//! - [`type_map`]: JSON Schema property -> Oracle column type.

pub mod convert;
pub mod decimal;
pub mod evolve;
pub mod input;
pub mod naming;
pub mod settings;
pub mod type_map;
pub mod validate;
