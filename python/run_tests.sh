#!/usr/bin/env bash
# Builds the Python package into a fresh venv with `pip install ./python` and runs its
# pytest suite on the shared datasets, comparing with the genovec binary's answers.
#
#   python/run_tests.sh [pytest args...]
#
# GENOVEC_PYVENV  the venv (default target/pyvenv, recreated each run)
# GENOVEC_BIN     the CLI to compare with (default target/release/genovec; built if missing)
# GENOVEC_SHARED  the shared datasets' parent (default ../shared)
# PYTHON          the interpreter that creates the venv (default python3)
# MATURIN_PEP517_ARGS  extra arguments of maturin's build, e.g. "--features genovec/milvus":
#                 with the features target/release was built with, the extension links the
#                 genovec already compiled instead of compiling it again (.ci/run does this)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

venv="${GENOVEC_PYVENV:-$repo/target/pyvenv}"
export GENOVEC_BIN="${GENOVEC_BIN:-$repo/target/release/genovec}"
export GENOVEC_SHARED="${GENOVEC_SHARED:-$(cd "$repo/.." && pwd)/shared}"
# The extension is built in the workspace's target/ in release mode, so it reuses what
# `cargo build --release` compiled.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"

if [ ! -x "$GENOVEC_BIN" ]; then
    cargo build --release --locked --bin genovec
fi

rm -rf "$venv"
"${PYTHON:-python3}" -m venv "$venv"
# maturin's build backend runs the `maturin` command, so the venv's bin/ comes first.
export PATH="$venv/bin:$PATH"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "maturin>=1.9.4,<2" pytest pandas numpy pyarrow
# Without build isolation pip uses the maturin just installed instead of fetching it again.
start=$(date +%s)
"$venv/bin/python" -m pip install --no-build-isolation ./python
echo "pip install ./python: $(( $(date +%s) - start )) s"

# Run from python/tests, not the repository root, so `import genovec` is the installed
# package and not the source folder python/genovec (which lacks the native module).
cd "$repo/python/tests"
"$venv/bin/python" -m pytest -q "$@"
