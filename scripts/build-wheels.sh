#!/usr/bin/env bash
# Builds the Python wheels of tap-oracle and target-oracle into dist/ (gitignored) with
# maturin (bindings = "bin": each wheel carries only the executable, as ruff and uv ship),
# so a meltano.yml entry can install a plugin with `pip_url`.
#
#   scripts/build-wheels.sh                 both wheels
#   scripts/build-wheels.sh tap-oracle      one of them
#
# maturin is installed pinned into .peers/maturin. The release build goes to its own
# target dir (target/wheels), so it never replaces the `sim` build of target/release
# that demo.sh and the Meltano project run. The wheels are built without the `sim`
# feature: they talk to Oracle only.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

maturin_spec="maturin==1.16.0"
venv="$root/.peers/maturin"
if [ ! -x "$venv/bin/maturin" ] || [ ! -f "$venv/.installed-$maturin_spec" ]; then
    echo "build-wheels: installing $maturin_spec into .peers/maturin" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check "$maturin_spec"
    touch "$venv/.installed-$maturin_spec"
fi

packages=("$@")
if [ "${#packages[@]}" = 0 ]; then
    packages=(tap-oracle target-oracle)
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target/wheels}"
mkdir -p dist
for package in "${packages[@]}"; do
    case "$package" in
        tap-oracle | target-oracle) ;;
        *) echo "build-wheels: unknown package $package (tap-oracle or target-oracle)" >&2; exit 2 ;;
    esac
    echo "build-wheels: building the $package wheel (release build)" >&2
    # --compatibility linux: no manylinux audit (the wheel is for this machine's libc;
    # ODPI-C loads the Oracle Client at run time, so nothing else is linked in).
    "$venv/bin/maturin" build --release --quiet \
        --manifest-path "$package/Cargo.toml" \
        --out dist \
        --compatibility linux
done
ls -1 dist/*.whl >&2
