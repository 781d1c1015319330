#!/usr/bin/env bash
# Data at scale, side by side in one run: corpora of 16 MB, 256 MB, 1 GB and 4 GB built from the
# prepared Bible verses (shuffled, repeated), each prepared into token shards on 1 thread and on
# every thread; Python SentencePiece encoding the same text on one thread as the peer; then, with
# the shards present, `qkv train` on the quickstart model: seconds from start to its first
# finished step (median of 3 starts) and peak RSS at each size, and training tokens/s at the
# largest against the smallest. Prints a Markdown table and the machine.
#
#   scripts/bench_data.sh [--sizes 16,256,1024,4096] [--steps 200] [--spm-mb 256]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=16,256,1024,4096 steps=200 spm_mb=256
while [ $# -gt 0 ]; do
  case $1 in
    --sizes) sizes=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --spm-mb) spm_mb=$2; shift 2 ;;
    *) echo "bench_data.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
/usr/bin/python3 -c 'import sentencepiece' 2>/dev/null || scripts/setup.sh --bench
scripts/build.sh
scripts/prepare_data.sh
qkv=build/qkv
dir=data/bench
mkdir -p "$dir"
experiment=experiments/quickstart.yaml
[ -s data/web/spm-4k.model ] || "$qkv" prepare "$experiment" -q >/dev/null
common=(-q --set data.valid= --set data.test= --set "data.cache=$dir/cache")
results=$(mktemp)
trap 'rm -f "$results"' EXIT
field() { /usr/bin/python3 -c "import json,sys; print(json.loads(sys.stdin.readline())[sys.argv[1]])" "$1"; }
IFS=, read -ra list <<<"$sizes"
for mb in "${list[@]}"; do
  corpus=$dir/corpus-${mb}M.txt
  [ -s "$corpus" ] || /usr/bin/python3 scripts/bench_corpus.py build "$corpus" "$mb" data/web/train.txt data/kjv/train.txt
  sets=("${common[@]}" --set "data.train=$corpus")
  one=$("$qkv" prepare "$experiment" "${sets[@]}" --rebuild-data --set train.threads=1 | head -1 | field mb_per_s)
  all=$("$qkv" prepare "$experiment" "${sets[@]}" --rebuild-data --set train.threads=0 | head -1 | field mb_per_s)
  # The first step (train.steps 1: one step, then the run's checkpoint) and its peak RSS: the
  # median time and the largest RSS of 3 starts, after the fresh shards are written back.
  sync
  for run in 1 2 3; do
    rm -rf "$dir/run-$mb"
    /usr/bin/time -f "%e %M" -o "$dir/time-$mb-$run" "$qkv" train "$experiment" "${sets[@]}" --set train.steps=1 \
      --set train.warmup=0 --set train.eval_every=0 --set "output=$dir/run-$mb" >/dev/null
  done
  first=$(cat "$dir"/time-$mb-? | sort -n | sed -n 2p | cut -d' ' -f1)
  rss_kb=$(cat "$dir"/time-$mb-? | cut -d' ' -f2 | sort -n | tail -1)
  echo "$mb $one $all $first $rss_kb" >>"$results"
done
smallest=${list[0]} largest=${list[-1]}
for mb in "$smallest" "$largest"; do  # training throughput on the smallest and the largest corpus
  rm -rf "$dir/steps-$mb"
  "$qkv" train "$experiment" "${common[@]}" --set "data.train=$dir/corpus-${mb}M.txt" --set "train.steps=$steps" \
    --set train.warmup=10 --set train.eval_every=0 --set train.log_every="$steps" --set "output=$dir/steps-$mb" >/dev/null
  tail -1 "$dir/steps-$mb/metrics.jsonl" | field tokens_per_s >"$dir/rate-$mb"
done
spm=$(/usr/bin/python3 scripts/bench_corpus.py spm data/web/spm-4k.model "$dir/corpus-${largest}M.txt" "$spm_mb")
/usr/bin/python3 - "$results" "$spm" "$(cat "$dir/rate-$smallest")" "$(cat "$dir/rate-$largest")" "$smallest" "$largest" <<'PY'
import sys
rows = [line.split() for line in open(sys.argv[1])]
spm_rate = float(sys.argv[2].split()[0])
rate_small, rate_large = float(sys.argv[3]), float(sys.argv[4])
print("| corpus | prepare MB/s, 1 thread | all threads | ratio | 1 thread / Python SentencePiece | first step, s | peak RSS, MiB |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for mb, one, every, first, rss in rows:
    print(f"| {mb} MB | {float(one):.2f} | {float(every):.2f} | {float(every) / float(one):.2f} | "
          f"{float(one) / spm_rate:.2f} | {float(first):.2f} | {int(rss) / 1024:.0f} |")
small, large = rows[0], rows[-1]
print(f"\nPython SentencePiece, one thread: {spm_rate:.2f} MB/s")
print(f"first step {large[0]} MB / {small[0]} MB: {float(large[3]) / float(small[3]):.2f}; "
      f"peak RSS difference {(int(large[4]) - int(small[4])) / 1024:.1f} MiB")
print(f"training tokens/s {sys.argv[6]} MB / {sys.argv[5]} MB: {rate_large:.0f} / {rate_small:.0f} = {rate_large / rate_small:.3f}")
try:
    info = {}
    for line in open("/proc/cpuinfo"):
        key, _, value = line.partition(":")
        info.setdefault(key.strip(), value.strip())
        if not line.strip():
            break
    flags = info.get("flags", "").split()
    import os
    print(f"machine: {info.get('model name')}, family {info.get('cpu family')}, {os.cpu_count()} logical CPUs, "
          f"avx512_bf16 {'yes' if 'avx512_bf16' in flags else 'no'}, AMX {'yes' if 'amx_bf16' in flags else 'no'}")
except OSError:
    pass
PY
