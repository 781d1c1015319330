#!/usr/bin/env python3
"""Helpers of scripts/bench_data.sh.

    bench_corpus.py build OUT MB VERSES...   # shuffled verses, repeated, to MB megabytes
    bench_corpus.py spm MODEL TEXT [MB]      # Python SentencePiece on one thread, line by line: MB/s
"""
import random
import sys
import time


def build(out, megabytes, sources):
    verses = []
    for path in sources:
        with open(path, encoding="utf-8") as f:
            verses.extend(line for line in f if line.strip())
    rng = random.Random(1)
    target, written = int(megabytes * 1e6), 0
    with open(out, "w", encoding="utf-8") as f:
        while written < target:
            rng.shuffle(verses)
            for line in verses:
                f.write(line)
                written += len(line.encode("utf-8"))
                if written >= target:
                    break


def spm(model, text, limit_mb):
    import sentencepiece  # Debian's python3-sentencepiece
    sp = sentencepiece.SentencePieceProcessor(model_file=model)
    limit, done, tokens = float(limit_mb) * 1e6, 0, 0
    start = time.perf_counter()
    with open(text, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                tokens += len(sp.encode(line.rstrip("\n"))) + 1
            done += len(line.encode("utf-8"))
            if done >= limit:
                break
    seconds = time.perf_counter() - start
    print(f"{done / 1e6 / seconds:.2f} {tokens} {seconds:.2f}")


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(sys.argv[2], float(sys.argv[3]), sys.argv[4:])
    else:
        spm(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "1e12")
