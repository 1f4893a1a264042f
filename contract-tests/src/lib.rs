//! Contract suite helpers.
