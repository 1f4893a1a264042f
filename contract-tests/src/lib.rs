//! The contract suite of the database boundary lives in `tests/`: `tests/contract.rs`
//! holds every test once, written against `dyn db_boundary::Backend`, and
//! `tests/harness/` supplies the backends. Each test runs as `sim::<name>` against a
//! fresh simulated backend, and as `oracle::<name>` (ignored unless `--ignored`) against
//! real Oracle: `ORACLE_TEST_DSN` (with `ORACLE_TEST_USER`, `ORACLE_TEST_PASSWORD`) or a
//! `gvenzl/oracle-free:23-slim-faststart` container started once per test binary. With
//! neither Docker nor the variable, an `--ignored` run fails with that reason.
//!
//! This library is empty on purpose: the crate exists so the container dependencies
//! stay out of the default build.
