#!/usr/bin/env bash
# LOG_BASED benchmark (not a timed test): the change-decoding path next to FULL_TABLE on
# the same 12-column ORDERS table (`sim-admin generate`) through the simulated backend,
# and the engine alone holding 1,000,000 changes in open transactions (peak RSS).
#
#   bench/log_based.sh            # 1,000,000 rows
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${N:-1000000}"
bench="$root/.bench"
mkdir -p "$bench"

cargo build -q --release -p tap-oracle --features sim --example bench_log_based
cargo build -q --release -p sim-backend --bin sim-admin
db="$bench/sim-orders-$n"
if [ ! -s "$db/sim.sqlite" ]; then
    rm -rf "$db"
    "$root/target/release/sim-admin" generate "$db" --rows "$n"
fi
echo "== FULL_TABLE rows/s, LOG_BASED changes/s (same table, same backend), engine alone"
"$root/target/release/examples/bench_log_based" "$db"
