#!/usr/bin/env bash
# Importing, loading and exporting a GPT-2-sized (124M parameters, 498 MB) Hugging Face
# checkpoint: median wall time and peak resident memory of 3 runs each, against the same steps on
# a GPT-2 of width 12 (the process, LibTorch and GPT-2's tokenizer without the weights), with the
# machine. Writes about 1.5 GB under the system temp directory, removed at the end.
#   scripts/bench_import.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/prepare_data.sh
build/tests/qkv_tests "[bench-import]" | grep -E "checkpoint:|import:|load|model built|export:"
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /machine: /'
