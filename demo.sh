#!/usr/bin/env bash
# The main job on a fresh machine: build the binaries, install the pinned Python peers,
# and run `meltano run tap-oracle target-jsonl`.
#
# Without a Docker engine (this workplace) the pipeline runs on the simulated backend,
# seeded with the bundled sample HR schema (tests/sample), and says so first. With
# Docker and an Oracle Client, it starts Oracle Free, loads the same sample into it with
# target-oracle, and extracts from the real database.
set -euo pipefail
root="$(cd "$(dirname "$0")" && pwd)"
cd "$root"

if docker info >/dev/null 2>&1 && [ -n "${LD_LIBRARY_PATH:-}" ]; then
    mode=oracle
    echo "demo: Docker found: running against Oracle Free (gvenzl/oracle-free:23-slim-faststart)"
else
    mode=sim
    echo "demo: no Docker engine (or no Oracle Client): running on the SIMULATED backend with the bundled sample schema, not on Oracle"
fi

# Progress on stdout, one line per step; cargo's own progress (a bar at a terminal,
# "Compiling ..." lines otherwise) shows the build is moving.
started=$SECONDS
if [ -x target/release/tap-oracle ] && [ -x target/release/target-oracle ] && [ -x target/release/sim-admin ]; then
    echo "demo: [1/4] building the release binaries (already built: a few seconds unless the sources changed)"
else
    echo "demo: [1/4] building the release binaries: a first build compiles about 135 crates and takes 5 to 10 minutes on 2 cores (later runs take seconds)"
fi
cargo build --release --features tap-oracle/sim,target-oracle/sim -p tap-oracle -p target-oracle
cargo build --release -p sim-backend --bin sim-admin
echo "demo: built in $((SECONDS - started)) s"
echo "demo: [2/4] installing the pinned Python peers into .peers/ (Meltano 4.4.1, target-jsonl 0.1.4, tap-jsonl 0.3.1, target-csv 0.5.0; about a minute the first time)"
scripts/install-peers.sh
export ORACLE_SINGER_BIN="$root/target/release"
meltano="$root/.peers/meltano/bin/meltano"

# A fresh database and output each time; `--full-refresh` below ignores the state a
# previous demo left in .meltano (it would make this run incremental: one employee row).
# The state this run saves makes a following plain `meltano run` incremental.
echo "demo: [3/4] seeding the simulated database .meltano/sim-db with the sample HR schema (tests/sample)"
rm -rf .meltano/sim-db output
"$ORACLE_SINGER_BIN/sim-admin" seed .meltano/sim-db tests/sample >&2
echo "demo: [4/4] meltano run tap-oracle target-jsonl"

if [ "$mode" = oracle ]; then
    docker rm -f oracle-singer-demo >/dev/null 2>&1 || true
    docker run -d --name oracle-singer-demo -p 1521:1521 -e ORACLE_PASSWORD=demo \
        -e APP_USER=hr -e APP_USER_PASSWORD=hr gvenzl/oracle-free:23-slim-faststart >/dev/null
    until docker logs oracle-singer-demo 2>&1 | grep -q "DATABASE IS READY TO USE"; do sleep 5; done
    export TAP_ORACLE_HOST=localhost TAP_ORACLE_SERVICE_NAME=FREEPDB1 TAP_ORACLE_USER=hr TAP_ORACLE_PASSWORD=hr
    export TAP_ORACLE_FILTER_SCHEMAS='["HR"]'
    export TARGET_ORACLE_HOST=localhost TARGET_ORACLE_SERVICE_NAME=FREEPDB1 TARGET_ORACLE_USER=hr TARGET_ORACLE_PASSWORD=hr
    # Load the sample: the simulated tap piped into target-oracle on the real database.
    echo "{\"driver\":\"sim\",\"sim_path\":\".meltano/sim-db\"}" > .meltano/seed-tap.json
    "$ORACLE_SINGER_BIN/tap-oracle" --config .meltano/seed-tap.json --discover > .meltano/seed-catalog.json
    python3 -c "import json,sys; c=json.load(open('.meltano/seed-catalog.json')); [s['metadata'][0]['metadata'].update(selected=True) for s in c['streams']]; json.dump(c,open('.meltano/seed-catalog.json','w'))"
    "$ORACLE_SINGER_BIN/tap-oracle" --config .meltano/seed-tap.json --catalog .meltano/seed-catalog.json \
        | "$ORACLE_SINGER_BIN/target-oracle" --config /dev/null > /dev/null
    "$meltano" --environment oracle run --full-refresh tap-oracle target-jsonl
else
    "$meltano" --environment sim run --full-refresh tap-oracle target-jsonl
fi

echo
echo "demo: output is in $root/output/"
for f in output/*.jsonl; do
    printf '  %-28s %6d rows\n' "$(basename "$f" .jsonl)" "$(wc -l < "$f")"
done
