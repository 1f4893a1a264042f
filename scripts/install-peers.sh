#!/usr/bin/env bash
# Installs the Python Singer peers the interop tests and the demo run, each alone in its
# own venv under .peers/ (gitignored), at pinned versions from PyPI. Idempotent: a venv
# that already holds its pinned version is left alone. Under CI=true any failure stops
# the run; elsewhere it warns and the interop tests then fail, saying what is missing.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
peers="$root/.peers"
mkdir -p "$peers"

# name | package spec | executable that proves it is installed
PEERS=(
    "meltano|meltano==4.4.1|meltano"
    "target-jsonl|target-jsonl==0.1.4|target-jsonl"
    "tap-jsonl|tap-jsonl==0.3.1|tap-jsonl"
    "target-csv|meltanolabs-target-csv==0.5.0|target-csv"
)

failed=0
for entry in "${PEERS[@]}"; do
    IFS='|' read -r name spec exe <<<"$entry"
    venv="$peers/$name"
    stamp="$venv/.installed-$spec"
    if [ -x "$venv/bin/$exe" ] && [ -f "$stamp" ]; then
        continue
    fi
    echo "install-peers: installing $spec into .peers/$name" >&2
    rm -rf "$venv"
    if python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "$spec"; then
        touch "$stamp"
    else
        echo "install-peers: could not install $spec" >&2
        failed=1
    fi
done

if [ "$failed" = 1 ]; then
    if [ "${CI:-}" = "true" ]; then
        exit 1
    fi
    echo "install-peers: some peers are missing; the interop tests will fail until they install" >&2
fi
echo "install-peers: peers ready in .peers/ (meltano 4.4.1, target-jsonl 0.1.4, tap-jsonl 0.3.1, target-csv 0.5.0)" >&2
