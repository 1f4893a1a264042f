#!/usr/bin/env bash
# Target benchmark (not a timed test): target-oracle's engine with a discard sink vs the
# Meltano SDK target (meltanolabs-target-csv, validating) on the same generated stream.
#
#   bench/target.sh            # 1,000,000 records for target-oracle, 100,000 for the peer
#   N=200000 PEER_N=20000 ROUNDS=9 bench/target.sh
#
# Files and the peer's venv live in .bench/ (gitignored). Prints records/s for both (ours:
# the median of ROUNDS runs, default 5) and the ratio. See bench/README.md for the data
# and the peers.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
gen="$root/bench/gen_orders.py"
n="${N:-1000000}"
peer_n="${PEER_N:-100000}"
bench="$root/.bench"
mkdir -p "$bench"

stream="$bench/gen_orders-$n.jsonl"
peer_stream="$bench/gen_orders-$peer_n.jsonl"
[ -s "$stream" ] || python3 "$gen" -n "$n" "$stream"
[ -s "$peer_stream" ] || python3 "$gen" -n "$peer_n" "$peer_stream"

# The engine's figure is the median of ROUNDS runs, validating and not in turn, both of
# its threads pinned to one CPU (the issue's "one core") when taskset is there: shared
# machines swing by up to 2x within minutes, so one run says little.
rounds="${ROUNDS:-5}"
pin=()
if command -v taskset > /dev/null && [ "$(nproc)" -gt 1 ]; then
    pin=(taskset -c "$(($(nproc) - 1))")
fi
echo "== target-oracle engine (release, discard sink) on $n records, $rounds rounds${pin:+, pinned: ${pin[*]}}"
cargo build -q --release -p target-oracle --example bench_target
with=() without=()
for _ in $(seq "$rounds"); do
    out="$("${pin[@]}" "$root/target/release/examples/bench_target" "$stream")"
    echo "$out" | sed -n 1p
    with+=("$(echo "$out" | sed -n 's/^records_per_second=//p')")
    out="$("${pin[@]}" "$root/target/release/examples/bench_target" "$stream" --no-validate)"
    echo "$out" | sed -n 1p
    without+=("$(echo "$out" | sed -n 's/^records_per_second=//p')")
done
# Median and range of the numbers given.
summary() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {m = NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "median %.0f (range %.0f-%.0f, %d rounds)", m, v[1], v[NR], NR}'; }
echo "target-oracle engine, validating: $(summary "${with[@]}")"
echo "target-oracle engine, not validating: $(summary "${without[@]}")"
ours="$(printf '%s\n' "${with[@]}" | sort -n | awk '{v[NR]=$1} END {print NR % 2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"

venv="$bench/venv-target-csv"
if [ ! -x "$venv/bin/target-csv" ]; then
    echo "== installing meltanolabs-target-csv==0.5.0 into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "meltanolabs-target-csv==0.5.0"
fi

echo "== Meltano SDK target-csv 0.5.0 (validating) on $peer_n records"
out_dir="$bench/target-csv-out"
rm -rf "$out_dir" && mkdir -p "$out_dir"
printf '{"output_path": "%s", "file_naming_scheme": "{stream_name}.csv"}\n' "$out_dir" > "$bench/target-csv.json"
start=$(date +%s.%N)
"$venv/bin/target-csv" --config "$bench/target-csv.json" < "$peer_stream" > /dev/null 2> "$bench/target-csv.log"
end=$(date +%s.%N)
peer="$(python3 -c "print(round($peer_n / ($end - $start)))")"
echo "target-csv: $peer_n records in $(python3 -c "print(round($end - $start, 2))") s = $peer records/s"

python3 -c "print(f'ratio: target-oracle engine is {float($ours) / $peer:.0f}x the Meltano SDK target ({float($ours):,.0f} vs {$peer:,} records/s)')"
