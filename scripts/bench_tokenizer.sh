#!/usr/bin/env bash
# GPT-2's byte-level BPE, side by side in one run: qkv's encoder (C++, one thread) and the
# JavaScript encoder of the npm package gpt-3-encoder, each the median of 5 passes over the English
# verses (data/web/train.txt) line by line, in MB/s, with the machine.
#   scripts/bench_tokenizer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
scripts/prepare_data.sh
build/tests/qkv_tests "[bench]" | grep "MB/s"
node -e '
const fs = require("fs");
const { encode } = require(process.cwd() + "/data/vocab/gpt-3-encoder/Encoder.js");
const lines = fs.readFileSync("data/web/train.txt", "utf-8").split("\n");
if (lines[lines.length - 1] === "") lines.pop();
const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);
const rates = [];
for (let pass = 0; pass < 5; pass++) {
  const start = process.hrtime.bigint();
  for (const l of lines) encode(l);
  rates.push(bytes / 1e6 / (Number(process.hrtime.bigint() - start) / 1e9));
}
rates.sort((a, b) => a - b);
console.log(`JavaScript gpt-3-encoder (node ${process.version}), one thread: ${rates[2].toFixed(2)} MB/s`);
'
grep -m1 "model name" /proc/cpuinfo | sed 's/.*: /machine: /'
