#!/usr/bin/env bash
# Side-by-side training throughput of qkv and the PyTorch (Python) reference on one experiment,
# alternating the two so that both see the same machine load, then a table of medians and ratios.
#
#   scripts/bench.sh [EXPERIMENT.yaml] [--rounds N] [--steps N] [--vocab V] [--qkv PATH] [--set key=value ...]
#
# --qkv PATH times that qkv binary (a saved build, to compare builds) instead of building build/qkv.
# Uses random tokens (--synthetic V), so no data or tokenizer is needed. Needs build/qkv and
# Debian's python3-torch and python3-yaml (scripts/setup.sh --bench installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
experiment=experiments/quickstart.yaml
rounds=3 steps=10 vocab=4000 qkv= sets=()
if [ $# -gt 0 ] && [[ $1 != --* ]]; then experiment=$1; shift; fi
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --vocab) vocab=$2; shift 2 ;;
    --qkv) qkv=$2; shift 2 ;;
    --set) sets+=(--set "$2"); shift 2 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Installs only when something is missing (inside scripts/check_libtorch2.sh's root, whose
# packages setup.sh does not know, nothing is).
if [ -z "$qkv" ] || ! /usr/bin/python3 -c 'import torch, yaml' 2>/dev/null; then scripts/setup.sh --bench; fi
if [ -z "$qkv" ]; then
  scripts/build.sh
  qkv=build/qkv
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
  "$qkv" bench "$experiment" --synthetic "$vocab" --steps "$steps" "${sets[@]}" | sed 's/^/qkv /' >>"$out"
  /usr/bin/python3 scripts/bench_reference.py "$experiment" --synthetic "$vocab" --steps "$steps" "${sets[@]}" \
    | sed 's/^/ref /' >>"$out"
done
/usr/bin/python3 - "$out" "$experiment" "${sets[*]:-}" <<'PY'
import json, statistics, sys
rows = {"qkv": [], "ref": []}
for line in open(sys.argv[1]):
    who, _, payload = line.partition(" ")
    rows[who].append(json.loads(payload))
q, r = rows["qkv"], rows["ref"]
med = lambda xs, k: statistics.median(x[k] for x in xs)
print(f"{sys.argv[2]} {sys.argv[3]}".strip())
# The machine, since these shared machines are not always the same CPU.
try:
    cpu, cores = {}, 0
    for key, _, value in (l.partition(":") for l in open("/proc/cpuinfo")):
        key = key.strip()
        cores += key == "processor"
        cpu.setdefault(key, value.strip())  # the first CPU's fields
    flags = cpu.get("flags", "").split()
    extras = ", ".join(f for f in ("avx512_bf16", "amx_bf16") if f in flags) or "no bf16 extensions"
    print(f"machine: {cpu.get('model name', 'unknown CPU')} (family {cpu.get('cpu family', '?')}), "
          f"{cores} logical CPUs, {extras}")
except OSError:
    pass
print(f"precision {q[0]['precision']}, {q[0]['threads']} threads, {q[0]['parameters']} parameters, "
      f"{q[0]['batch_tokens']} tokens per step, position {q[0]['position']}")
print("| implementation | tokens/s per round | median tokens/s | median step ms | peak RSS MiB |")
print("| --- | --- | --- | --- | --- |")
for name, xs in (("qkv (C++)", q), ("PyTorch (Python)", r)):
    per_round = ", ".join("%.0f" % x["tokens_per_s"] for x in xs)
    print(f"| {name} | {per_round} | {med(xs, 'tokens_per_s'):.0f} | "
          f"{med(xs, 'step_ms'):.1f} | {max(x['peak_rss_mib'] for x in xs):.0f} |")
ratios = [a["tokens_per_s"] / b["tokens_per_s"] for a, b in zip(q, r)]
per_round = ", ".join("%.2f" % x for x in ratios)
print(f"qkv / reference tokens/s: per round {per_round}; median {statistics.median(ratios):.2f}; "
      f"qkv MFU {med(q, 'mfu'):.2f} of a measured {med(q, 'matmul_peak_gflops'):.0f} GFLOP/s matmul peak")
PY
