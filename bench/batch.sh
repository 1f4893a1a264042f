#!/usr/bin/env bash
# BATCH benchmark (not a timed test): target-oracle's engine (discard sink, validating)
# on the same records sent as RECORD messages and as Meltano SDK BATCH files (JSON
# Lines of 10,000 records, gzip and plain), all three figures from one process.
#
#   bench/batch.sh            # 1,000,000 records
#   N=200000 bench/batch.sh
#
# The generated stream lives in .bench/ (gitignored); the BATCH files are written to
# the temp folder before each timed run and removed after it.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
gen="$root/bench/gen_orders.py"
n="${N:-1000000}"
bench="$root/.bench"
mkdir -p "$bench"

stream="$bench/orders-$n.jsonl"
[ -s "$stream" ] || python3 "$gen" -n "$n" "$stream"

cargo build -q --release -p target-oracle --example bench_target
"$root/target/release/examples/bench_target" "$stream" --batch
