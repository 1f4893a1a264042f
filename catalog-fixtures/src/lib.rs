//! Catalog fixture tools.
