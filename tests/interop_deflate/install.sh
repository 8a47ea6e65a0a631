#!/bin/sh
# Installs the interop peers for tests/deflate_interop.rs under the cargo target directory:
# Python `websockets` in a venv, Node `ws` with npm.
set -eu
target="${CARGO_TARGET_DIR:-$(dirname "$0")/../../target}"
dir="$target/interop_deflate"
mkdir -p "$dir"
python3 -m venv "$dir/venv"
"$dir/venv/bin/pip" install --quiet 'websockets>=13,<16'
cd "$dir" && npm install --silent --no-audit --no-fund --prefix "$dir" ws@8
