#!/usr/bin/env bash
# Protocol benchmark (not a timed test): singer-core's reader and writer on the ORDERS
# stream from bench/gen_orders.py, and, in the same run, the Python peer
# target-jsonl 0.1.4 (singer-python) on the same file. Prints records/s and the ratio.
#
#   bench/protocol.sh                 # 1,000,000 records (the peer gets PEER_N=100,000)
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

cargo build -q --release -p singer-core --example bench_protocol
echo "== singer-core reader/writer (release, one core) on $n records"
ours="$("$root/target/release/examples/bench_protocol" "$stream")"
echo "$ours"

venv="$bench/venv-jsonl"
if [ ! -x "$venv/bin/target-jsonl" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "target-jsonl==0.1.4"
fi
out_dir="$bench/jsonl-out"
rm -rf "$out_dir" && mkdir -p "$out_dir"
echo "{\"destination_path\": \"$out_dir\", \"do_timestamp_file\": false}" > "$bench/jsonl.json"
echo "== target-jsonl 0.1.4 (singer-python) on $peer_n records"
start=$(date +%s.%N)
"$venv/bin/target-jsonl" --config "$bench/jsonl.json" < "$peer_stream" > /dev/null
end=$(date +%s.%N)
peer=$(python3 -c "print(round($peer_n / ($end - $start)))")
echo "peer_records_per_second=$peer"
read_rate=$(echo "$ours" | sed -n 's/^read_records_per_second=//p')
python3 -c "print(f'ratio (our reader / target-jsonl): {$read_rate / $peer:.0f}x')"
