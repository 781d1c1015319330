#!/usr/bin/env bash
# Builds the corpora qkv's experiments use from Debian packages (no network at run time):
#   data/web/   World English Bible (sword-text-web), one verse per line, split by book into
#               train/valid/test (valid: Ruth, Jonah, Philippians, 1 John; test: Esther, Joel,
#               Colossians, James). Idempotent: corpora already built are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -s data/web/train.txt ] || [ ! -s data/web/valid.txt ] || [ ! -s data/web/test.txt ]; then
  python3 scripts/bible_text.py engWEB2015eb data/web
fi
