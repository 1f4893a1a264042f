//! target-oracle library.
