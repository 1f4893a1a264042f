#!/usr/bin/env bash
# Tap benchmark (not a timed test): the release tap-oracle binary extracts the 12-column
# ORDERS table (bench/gen_orders.py's columns, made by `sim-admin generate`)
# through the simulated backend to /dev/null; the same run times the per-row work of a
# Python Oracle tap (bench/tap_peer.py with singer-python 6.8.0) and prints the ratio.
# The binary also reads the table in 2 key ranges at once (`max_parallel_chunks`).
# The in-process engine runs the simulated scan alone (`--scan-only`, the ceiling), then
# with `fetch_pipeline` off and on, alternating, PAIRS times;
# then the encode path alone (rows from memory, on one CPU), and the 200-column and
# 1 MB CLOB tables (`sim-admin generate --shape wide|clob`). Note `uptime` with figures.
#
#   bench/tap.sh                  # 1,000,000 rows (the peer gets PEER_N=200,000)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="${N:-1000000}"
peer_n="${PEER_N:-200000}"
pairs="${PAIRS:-3}"
bench="$root/.bench"
mkdir -p "$bench"

cargo build -q --release -p tap-oracle --features sim --bins --example bench_tap --example bench_encode
cargo build -q --release -p sim-backend --bin sim-admin
db="$bench/sim-orders-$n"
if [ ! -s "$db/sim.sqlite" ]; then
    rm -rf "$db"
    "$root/target/release/sim-admin" generate "$db" --rows "$n"
fi
cat > "$bench/tap-config.json" <<JSON
{"driver": "sim", "sim_path": "$db", "progress_interval_seconds": 3600}
JSON
"$root/target/release/tap-oracle" --config "$bench/tap-config.json" --discover > "$bench/tap-catalog.json"
python3 - "$bench/tap-catalog.json" <<'PY'
import json, sys
path = sys.argv[1]
catalog = json.load(open(path))
for stream in catalog["streams"]:
    stream["metadata"][0]["metadata"]["selected"] = True
json.dump(catalog, open(path, "w"))
PY

# One run of the release binary to /dev/null with config $1: rows/s, seconds, peak RSS.
time_tap() {
    python3 - "$root/target/release/tap-oracle" "$1" "$bench/tap-catalog.json" "$n" <<'PY'
import resource, subprocess, sys, time
tap, config, catalog, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
start = time.perf_counter()
subprocess.run([tap, "--config", config, "--catalog", catalog],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
secs = time.perf_counter() - start
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(f"records_per_second={n / secs:.0f}")
print(f"seconds={secs:.2f}")
print(f"peak_rss_mib={rss:.1f}")
PY
}
echo "== tap-oracle (release) extracting $n rows through the simulated backend to /dev/null"
time_tap "$bench/tap-config.json" > "$bench/tap-ours.txt"
cat "$bench/tap-ours.txt"
# Chunked FULL_TABLE (issue 14 item 3): the same binary reading the table as 1 range and
# as 2 key ranges on two sessions, all AS OF one SCN, alternating.
echo "== chunked FULL_TABLE: the binary with max_parallel_chunks 1 and 2, alternating x $pairs"
for c in 1 2; do
    sed "s/}\$/, \"max_parallel_chunks\": $c}/" "$bench/tap-config.json" > "$bench/tap-config-chunks-$c.json"
done
for _ in $(seq "$pairs"); do
    for c in 1 2; do
        echo "chunks=$c load=$(cut -d' ' -f1 /proc/loadavg) $(time_tap "$bench/tap-config-chunks-$c.json" | tr '\n' ' ')"
    done
done
echo "== tap-oracle sync engine in process (examples/bench_tap.rs, no pipe, no process start), the simulated scan alone (its ceiling) and fetch_pipeline off/on x $pairs"
one_line() { echo "$1 load=$(cut -d' ' -f1 /proc/loadavg) $(grep -E 'records_per|mega|rss' | tr '\n' ' ')"; }
for _ in $(seq "$pairs"); do
    "$root/target/release/examples/bench_tap" "$db" --scan-only 2>/dev/null | one_line "orders scan-only"
    for p in off on; do
        "$root/target/release/examples/bench_tap" "$db" --pipeline "$p" 2>/dev/null | one_line "orders $p"
    done
done
echo "== the encode path alone: the engine over rows held in memory, one CPU (examples/bench_encode.rs)"
pin=(); command -v taskset > /dev/null && pin=(taskset -c 0)
for _ in $(seq "$pairs"); do
    for p in off on; do
        "${pin[@]}" "$root/target/release/examples/bench_encode" "$db" --pipeline "$p" 2>/dev/null | one_line "encode $p"
    done
done
for shape in wide clob; do
    rows=20000; [ "$shape" = clob ] && rows=200
    sdb="$bench/sim-$shape"
    if [ ! -s "$sdb/sim.sqlite" ]; then
        rm -rf "$sdb"
        "$root/target/release/sim-admin" generate "$sdb" --rows "$rows" --shape "$shape"
    fi
    echo "== $shape table ($rows rows), fetch_pipeline off/on x $pairs"
    for _ in $(seq "$pairs"); do
        for p in off on; do
            "$root/target/release/examples/bench_tap" "$sdb" --pipeline "$p" 2>/dev/null | one_line "$shape $p"
        done
    done
done

venv="$bench/venv-tap"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import singer" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "singer-python==6.8.0"
fi
echo "== Python Oracle tap per-row work (singer-python 6.8.0) on $peer_n rows"
start=$(date +%s.%N)
"$venv/bin/python" "$root/bench/tap_peer.py" "$peer_n" > /dev/null
end=$(date +%s.%N)
peer=$(python3 -c "print(round($peer_n / ($end - $start)))")
echo "peer_records_per_second=$peer"
ours=$(sed -n 's/^records_per_second=//p' "$bench/tap-ours.txt")
python3 -c "print(f'ratio (tap-oracle / Python tap per-row work): {$ours / $peer:.1f}x')"
