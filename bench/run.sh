#!/usr/bin/env bash
# `make bench`: lancesql against its peers, side by side in one run.
#   bash bench/run.sh [BUILD_DIR]      (default: build)
# Installs the benchmark's pinned packages (bench/requirements.txt) into .venv, generates and
# caches the TPC-H data under bench/data/ (once per scale factor), then runs bench/bench.py, which
# writes bench/results.md, bench/results.png and bench/out/results.json.
# Environment: BENCH_SF (default 1; 0.1 for a quick run), BENCH_RUNS (default 5), BENCH_TIMEOUT,
# BENCH_SECTIONS (scan,s3,columns,tpch,cold), BENCH_QUERIES (e.g. 1,6,14). See bench/bench.py.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
build=$(cd "${1:-build}" 2>/dev/null && pwd) || { echo "bench: build folder ${1:-build} not found (run make build)" >&2; exit 1; }
py=.venv/bin/python
[ -x "$py" ] || { echo "bench: $py missing (run make deps)" >&2; exit 1; }

# --- packages -----------------------------------------------------------------------------
stamp=.venv/.lsql-bench-requirements
if ! cmp -s bench/requirements.txt "$stamp" 2>/dev/null; then
  echo "bench: installing bench/requirements.txt into .venv" >&2
  .venv/bin/pip install -q --disable-pip-version-check -r bench/requirements.txt
  cp bench/requirements.txt "$stamp"
fi

# --- library ------------------------------------------------------------------------------
if [ ! -f "$build/liblancesql.so" ]; then
  echo "bench: $build/liblancesql.so not built; our system will be skipped" >&2
fi

mkdir -p bench/out
export LSQL_BUILD_DIR="$build"
exec "$py" bench/bench.py "$build"
