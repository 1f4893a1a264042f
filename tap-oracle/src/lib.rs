//! tap-oracle library.
