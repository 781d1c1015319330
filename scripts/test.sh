#!/usr/bin/env bash
# Installs what is missing, builds, prepares the data and runs the test suite (ctest), leaving out
# tests labelled slow. Extra arguments go to ctest (for example -L core, or -L slow).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
scripts/prepare_data.sh
cd build
if [ $# -eq 0 ]; then
  ctest --output-on-failure -j "$(nproc)" -LE slow
else
  ctest --output-on-failure "$@"
fi
