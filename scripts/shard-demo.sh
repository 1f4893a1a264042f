#!/usr/bin/env bash
# A sharded FULL_TABLE run on one machine (README "Sharded runs"), on the SIMULATED
# backend: a plan for N shards, N shard processes at once (each `tap-oracle | target-oracle`
# with its own state file, as N tasks of an orchestrator would run), a check that their
# union is the table with no row twice, and the final step's ACTIVATE_VERSION.
#
#   scripts/shard-demo.sh [SHARDS] [ROWS]        (default: 4 shards, 100000 rows)
#
# Uses the release binaries (built here the first time), or the ones in
# $ORACLE_SINGER_BIN (e.g. target/debug after `cargo test`). Needs python3 (checks only).
set -euo pipefail
shards="${1:-4}"
rows="${2:-100000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ -z "${ORACLE_SINGER_BIN:-}" ]; then
    echo "shard-demo: building the release binaries with the simulated backend"
    (cd "$root" && cargo build --release --features tap-oracle/sim,target-oracle/sim -p tap-oracle -p target-oracle \
        && cargo build --release -p sim-backend --bin sim-admin)
    ORACLE_SINGER_BIN="$root/target/release"
fi
bin="$ORACLE_SINGER_BIN"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"

echo "shard-demo: [1/5] a simulated source with BENCH.ORDERS, $rows rows (in $work)"
"$bin/sim-admin" generate source --rows "$rows" >&2
echo '{"driver": "sim", "sim_path": "source", "state_every_rows": 5000}' > tap.json
echo '{"driver": "sim", "sim_path": "target", "hard_delete": true}' > target.json
"$bin/tap-oracle" --config tap.json --discover > discovered.json 2> discover.log
python3 - <<'EOF'
import json
catalog = json.load(open("discovered.json"))
for stream in catalog["streams"]:
    stream["metadata"][0]["metadata"]["selected"] = True
json.dump(catalog, open("catalog.json", "w"))
EOF

echo "shard-demo: [2/5] the plan: one SCN, one table version, $shards key ranges"
"$bin/tap-oracle" --config tap.json --catalog catalog.json --plan-shards "$shards" > plan.json 2> plan.log
python3 -c "import json; p = json.load(open('plan.json')); print('shard-demo:   scn', p['scn'], 'streams', [(s['stream'], len(s['chunks'])) for s in p['streams']])"

echo "shard-demo: [3/5] $shards shard processes at once, each into target-oracle with its own state"
started=$SECONDS
pids=()
for ((i = 0; i < shards; i++)); do
    (
        export TAP_ORACLE_SHARD_PLAN="$work/plan.json" TAP_ORACLE_SHARD_INDEX="$i"
        "$bin/tap-oracle" --config tap.json --catalog catalog.json 2> "tap-$i.log" \
            | tee "shard-$i.jsonl" \
            | "$bin/target-oracle" --config target.json 2> "target-$i.log" > "states-$i.jsonl"
        tail -n 1 "states-$i.jsonl" > "state-$i.json"
    ) &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
echo "shard-demo:   every shard finished in $((SECONDS - started)) s"

echo "shard-demo: [4/5] the union of the shards' records is the table, each row once"
"$bin/sim-admin" dump source BENCH ORDERS > source-rows.jsonl
python3 - "$shards" <<'EOF'
import json, sys
shards = int(sys.argv[1])
source = sum(1 for _ in open("source-rows.jsonl"))
keys, activations = [], 0
for i in range(shards):
    records = 0
    for line in open(f"shard-{i}.jsonl"):
        message = json.loads(line)
        if message["type"] == "RECORD":
            keys.append(message["record"]["ORDER_ID"])
            records += 1
        activations += message["type"] == "ACTIVATE_VERSION"
    print(f"shard-demo:   shard {i}: {records} records")
assert activations == 0, "a shard emitted ACTIVATE_VERSION"
assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} rows read twice"
assert len(keys) == source, f"{len(keys)} records for {source} source rows"
print(f"shard-demo:   {len(keys)} records, {len(set(keys))} distinct keys, {source} source rows: OK")
EOF

echo "shard-demo: [5/5] the final step: ACTIVATE_VERSION once the shards' states show them complete"
states="$(python3 -c "import json, sys; print(json.dumps([f'$work/state-{i}.json' for i in range($shards)]))")"
TAP_ORACLE_SHARD_PLAN="$work/plan.json" TAP_ORACLE_SHARD_FINISH=true TAP_ORACLE_SHARD_STATES="$states" \
    "$bin/tap-oracle" --config tap.json --catalog catalog.json 2> finish.log \
    | "$bin/target-oracle" --config target.json 2>> finish.log > /dev/null
loaded="$("$bin/sim-admin" dump target SIM_USER BENCH_ORDERS | wc -l)"
echo "shard-demo:   target-oracle holds $loaded rows of BENCH.ORDERS (source: $(wc -l < source-rows.jsonl))"
[ "$loaded" -eq "$(wc -l < source-rows.jsonl)" ]
echo "shard-demo: done"
