#!/usr/bin/env bash
# RoPE context extension with no further training: a rope model trained at ORIGINAL_LEN tokens
# (default runs/quickstart, 128) evaluated at 128 to 2048 tokens, unextended and extended by
# position interpolation, NTK-aware scaling and YaRN at s = 4 and 8, and by dynamic NTK, weights
# unchanged. Prints a Markdown table of validation perplexity (non-overlapping windows) and
# writes it with the raw lines to OUT_DIR/zero-shot.{md,jsonl} (default runs/pe-extend).
#   scripts/pe_extend.sh [RUN_DIR] [ORIGINAL_LEN] [OUT_DIR]
# The continued-training half is `qkv sweep experiments/pe-extend.yaml`.
set -euo pipefail
cd "$(dirname "$0")/.."
run=${1:-runs/quickstart}
original=${2:-128}
lengths=128,256,512,1024,2048
out=${3:-runs/pe-extend}
mkdir -p "$out"
: > "$out/zero-shot.jsonl"
evaluate() {  # label, then --set arguments
  local label=$1; shift
  build/qkv eval "$run/config.yaml" --lengths "$lengths" "$@" 2>/dev/null |
    grep '^{' | sed "s/^{/{\"method\":\"$label\",/" >> "$out/zero-shot.jsonl"
}
evaluate "rope"
for s in 4 8; do
  for method in linear ntk yarn; do
    evaluate "$method s=$s" --set model.position.scaling=$method --set model.position.scale=$s \
      --set model.position.original_len="$original"
  done
done
evaluate "dynamic" --set model.position.scaling=dynamic --set model.position.original_len="$original"
python3 - "$out/zero-shot.jsonl" "$lengths" <<'PY' | tee "$out/zero-shot.md"
import json, sys
rows = {}
for line in open(sys.argv[1]):
    j = json.loads(line)
    rows.setdefault(j["method"], {})[j["length"]] = j.get("ppl")
lengths = [int(x) for x in sys.argv[2].split(",")]
print("| method | " + " | ".join(f"ppl @{n}" for n in lengths) + " |")
print("| --- |" + " --- |" * len(lengths))
for method, by in rows.items():
    print(f"| {method} | " + " | ".join("n/a" if by.get(n) is None else f"{by[n]:.2f}" for n in lengths) + " |")
PY
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /machine: /'
