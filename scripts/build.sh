#!/usr/bin/env bash
# Configures (once) and builds qkv in Release into build/; prints only when something was built.
# QKV_TARGET=qkv builds the command alone (scripts/run.sh), not the test binary.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${QKV_BUILD_DIR:-build}
mkdir -p "$build_dir"
log="$build_dir/build.log"
start=$(date +%s)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release "$@" >"$log" 2>&1 || { cat "$log"; exit 1; }
fi
target=()
[ -n "${QKV_TARGET:-}" ] && target=(--target "$QKV_TARGET")
if ! cmake --build "$build_dir" -j "$(nproc)" "${target[@]}" >>"$log" 2>&1; then
  grep -E "error|Error" "$log" | head -40
  echo "build: failed; full log in $log"
  exit 1
fi
if grep -q "Building CXX\|Linking CXX" "$log"; then
  echo "build: $(grep -c 'Building CXX' "$log") files compiled in $(( $(date +%s) - start ))s"
fi
: >"$log"
