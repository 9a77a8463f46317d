#!/usr/bin/env bash
# Installs everything lancesql needs to build and test. Idempotent: a second run that finds
# everything in place does no network work.
#   - Debian -dev packages (apt)
#   - DuckDB 1.4.4 header and shared library (npm) into third_party/duckdb
#   - Python test packages (pip) into .venv
# Downloads are cached in ~/.cache/lancesql when that directory can be written.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

DUCKDB_VERSION=1.4.4
DUCKDB_BINDINGS_VERSION=1.4.4-r.4
CACHE=${LSQL_CACHE:-$HOME/.cache/lancesql}
APT_PKGS="libprotobuf-c-dev protobuf-c-compiler libzstd-dev liblz4-dev libcurl4-openssl-dev libssl-dev \
libroaring-dev libjansson-dev libreadline-dev pkg-config cmake make gcc"

log() { printf 'deps: %s\n' "$*" >&2; }

# --- apt ---------------------------------------------------------------------------------
missing=""
for p in $APT_PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  log "installing Debian packages:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# --- DuckDB via npm ------------------------------------------------------------------------
dd=third_party/duckdb
if [ ! -f "$dd/include/duckdb.h" ] || [ ! -f "$dd/lib/libduckdb.so" ] || \
   [ "$(cat "$dd/VERSION" 2>/dev/null)" != "$DUCKDB_VERSION" ]; then
  mkdir -p "$dd/include" "$dd/lib"
  cached="$CACHE/duckdb-$DUCKDB_VERSION"
  if [ ! -f "$cached/duckdb.h" ] || [ ! -f "$cached/libduckdb.so" ]; then
    log "fetching DuckDB $DUCKDB_VERSION from npm"
    tmp=$(mktemp -d)
    ( cd "$tmp" && npm pack --silent "duckdb@$DUCKDB_VERSION" \
        "@duckdb/node-bindings-linux-x64@$DUCKDB_BINDINGS_VERSION" >/dev/null )
    mkdir -p "$tmp/a" "$tmp/b"
    tar -xzf "$tmp"/duckdb-"$DUCKDB_VERSION".tgz -C "$tmp/a"
    tar -xzf "$tmp"/duckdb-node-bindings-linux-x64-*.tgz -C "$tmp/b"
    mkdir -p "$cached" 2>/dev/null || cached="$tmp/out"
    mkdir -p "$cached"
    cp "$tmp/a/package/src/duckdb/src/include/duckdb.h" "$cached/duckdb.h"
    cp "$tmp/b/package/libduckdb.so" "$cached/libduckdb.so"
    rm -rf "$tmp/a" "$tmp/b" "$tmp"/*.tgz
  fi
  cp "$cached/duckdb.h" "$dd/include/duckdb.h"
  cp "$cached/libduckdb.so" "$dd/lib/libduckdb.so"
  echo "$DUCKDB_VERSION" > "$dd/VERSION"
fi

# --- Python venv -----------------------------------------------------------------------------
req=tests/requirements.txt
stamp=.venv/.lsql-requirements
if [ ! -x .venv/bin/python ] || ! cmp -s "$req" "$stamp"; then
  log "creating the Python environment in .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  mkdir -p "$CACHE/pip" 2>/dev/null || true
  PIP_CACHE_DIR="$CACHE/pip" .venv/bin/pip install -q --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi
log "ok"
