#!/usr/bin/env bash
# The main job: installs what is missing, builds, prepares the data, then trains the experiment
# (default experiments/quickstart.yaml), reports validation perplexity and prints a sample.
# Running it again continues or reuses the finished run.
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=${1:-experiments/quickstart.yaml}
scripts/setup.sh
QKV_TARGET=qkv scripts/build.sh   # the command alone: the main job needs no test binary
scripts/prepare_data.sh
build/qkv train "$experiment" --resume
build/qkv eval "$experiment" --split valid
build/qkv generate "$experiment" --max-new-tokens 60
