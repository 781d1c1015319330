#!/usr/bin/env bash
# Scores the two classical-poetry completers on the held-out poems (data/poetry/test.*): the GPT of
# experiments/poetry-gpt.yaml continues each first clause (qkv generate, greedy, to the end of the
# line) and the encoder-decoder of experiments/poetry-seq2seq.yaml maps it to the rest of the line
# (qkv translate, greedy and beam 4). Writes runs/poetry-compare/{gpt,seq2seq-greedy,seq2seq-beam}.txt
# and report.md: exact match of the whole completion, characters right at their position, BLEU
# with sacreBLEU's zh tokenizer and chrF2 (qkv score), and the first samples. Train both first.
# Usage: scripts/poetry_compare.sh [QKV_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
qkv=${1:-build/qkv}
out=runs/poetry-compare
mkdir -p "$out"
"$qkv" generate experiments/poetry-gpt.yaml --greedy --max-new-tokens 40 <data/poetry/test.first >"$out/gpt.raw" 2>/dev/null
# generate prints "PROMPT CONTINUATION": keep the continuation.
paste -d '\t' data/poetry/test.first "$out/gpt.raw" |
  python3 -c 'import sys
for line in sys.stdin:
    prompt, full = line.rstrip("\n").split("\t", 1)
    print(full[len(prompt):].strip() if full.startswith(prompt) else full.strip())' >"$out/gpt.txt"
"$qkv" translate experiments/poetry-seq2seq.yaml --greedy --input data/poetry/test.first --output "$out/seq2seq-greedy.txt" 2>/dev/null
"$qkv" translate experiments/poetry-seq2seq.yaml --input data/poetry/test.first --output "$out/seq2seq-beam.txt" 2>/dev/null
{
  echo "# Poetry completion on the held-out poems ($(wc -l <data/poetry/test.first) lines)"
  echo
  echo "| model | exact match | characters in place | BLEU (zh) | chrF2 |"
  echo "| --- | --- | --- | --- | --- |"
  for name in gpt seq2seq-greedy seq2seq-beam; do
    scores=$("$qkv" score --hyp "$out/$name.txt" --ref data/poetry/test.next --tokenize zh)
    python3 - "$out/$name.txt" data/poetry/test.next "$name" "$scores" <<'PY'
import json, sys
hyp = [l.rstrip("\n").replace(" ", "") for l in open(sys.argv[1], encoding="utf-8")]
ref = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8")]
exact = sum(h == r for h, r in zip(hyp, ref)) / len(ref)
chars = sum(sum(a == b for a, b in zip(h, r)) for h, r in zip(hyp, ref)) / sum(len(r) for r in ref)
scores = {json.loads(l)["name"]: json.loads(l)["score"] for l in sys.argv[4].splitlines()}
print(f"| {sys.argv[3]} | {100 * exact:.1f}% | {100 * chars:.1f}% | {scores['BLEU']:.1f} | {scores['chrF2']:.1f} |")
PY
  done
  echo
  echo "| first clause | reference | gpt | seq2seq (beam 4) |"
  echo "| --- | --- | --- | --- |"
  paste -d '|' data/poetry/test.first data/poetry/test.next "$out/gpt.txt" "$out/seq2seq-beam.txt" | head -12 |
    sed 's/|/ | /g; s/^/| /; s/$/ |/'
} >"$out/report.md.tmp"
mv "$out/report.md.tmp" "$out/report.md"
cat "$out/report.md"
