#!/usr/bin/env bash
# Training throughput of every position scheme (and RoPE's extensions, randomized positions) side
# by side: rounds of `qkv bench` on random tokens, each round every configuration once, so that all
# see the same machine load; then the median tokens/s of each and its ratio to sinusoidal's, with
# the machine.
#   scripts/bench_schemes.sh [EXPERIMENT.yaml] [--rounds N] [--steps N] [--set key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=experiments/quickstart.yaml
rounds=3 steps=10 sets=()
if [ $# -gt 0 ] && [[ $1 != --* ]]; then experiment=$1; shift; fi
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "bench_schemes.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
scripts/build.sh
# Every registered scheme, in the registry's order.
mapfile -t configs < <(sed -n 's/^QKV_POSITION_SCHEME(\(.*\))$/\1/p' transformer/config/position_schemes.def)
configs+=("rope+yarn" "rope+dynamic" "rope+nope_every=4" "sinusoidal+randomize" "rope+randomize" "alibi+randomize")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
  for c in "${configs[@]}"; do
    extra=(--set model.position.scheme="${c%%+*}")
    case $c in
      rope+yarn) extra+=(--set model.position.scaling=yarn --set model.position.scale=4 --set model.position.original_len=128) ;;
      rope+dynamic) extra+=(--set model.position.scaling=dynamic --set model.position.original_len=64) ;;
      rope+nope_every=4) extra+=(--set model.position.nope_every=4) ;;
      *+randomize) extra+=(--set model.position.randomize=512) ;;
    esac
    build/qkv bench "$experiment" --synthetic 4000 --steps "$steps" "${extra[@]}" "${sets[@]}" 2>/dev/null |
      grep '^{' | sed "s/^/$c /" >>"$out"
  done
done
python3 - "$out" <<'PY'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, _, payload = line.partition(" ")
    j = json.loads(payload)
    runs.setdefault(name, []).append(j["tokens_per_s"])
    precision = j["precision"]
base = statistics.median(runs["sinusoidal"])
print(f"| scheme | training tokens/s (median of {len(runs['sinusoidal'])}, {precision}) | ratio to sinusoidal |")
print("| --- | --- | --- |")
for name, values in runs.items():
    m = statistics.median(values)
    print(f"| {name} | {m:,.0f} | {m / base:.2f} |")
PY
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /machine: /'
