#!/usr/bin/env bash
# The project's one test command (README "Run the tests"; .ci/run runs exactly this).
# Format, lints, the Python peers the interop tests need, then every test of the
# workspace. Real-Oracle contract tests are reported as ignored, with their reason,
# unless Docker or ORACLE_TEST_DSN is there (see README).
set -euo pipefail
cd "$(dirname "$0")/.."

# Snapshots are reviewed, never written by a test run: a missing or changed one fails.
export INSTA_UPDATE=no
unset INSTA_FORCE_PASS

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The driver boundary is a fact of the dependency graph: both binaries' libraries (the
# engines) build without the `oracle` feature, so without oracle-backend and the driver.
cargo check -q -p tap-oracle -p target-oracle --no-default-features --features sim --lib
scripts/install-peers.sh
cargo test --workspace --all-features
