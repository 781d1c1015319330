#!/usr/bin/env python3
"""Builds a Spanish-English parallel corpus from two Bible versions aligned by verse: the
Reina-Valera 1909 (sword-text-sparv) against the World English Bible (sword-text-web). Verses
missing or empty on either side are dropped, and so are pairs whose word counts differ so much
that the versions number those verses differently (more than 2.5 times plus 8 words, or over 150
words: psalm titles counted as verses in one version only, a glossary after the last verse); whole books are held out (valid: Ruth, Jonah,
Philippians, 1 John; test: Esther, Joel, Colossians, James). The Reina-Valera prints the first
word of each chapter in capitals ("EN el principio"); it is given ordinary case.

Usage: parallel_bible.py SOURCE_VERSES TARGET_VERSES OUT_DIR [SRC TGT]
Reads the verses.tsv files bible_text.py writes and writes OUT_DIR/{train,valid,test}.{SRC,TGT}
(default es, en), one verse per line, then prints pair counts and length statistics.
"""
import os
import re
import statistics
import sys

VALID = {"Ruth", "Jonah", "Philippians", "1John"}
TEST = {"Esther", "Joel", "Colossians", "James"}
CAPS = re.compile(r"^(\W*)([A-ZÁÉÍÓÚÑÜ]{2,})\b")


def read(path):
    verses, order = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            book, ref, text = line.rstrip("\n").split("\t", 2)
            verses[(book, ref)] = text.strip()
            order.append((book, ref))
    return verses, order


def ordinary_case(text):
    # "EN el principio" -> "En el principio"; "Y ACONTECIÓ" -> "Y aconteció" (first two words only).
    words = text.split(" ")
    for i in range(min(2, len(words))):
        m = CAPS.match(words[i])
        if m:
            word = m.group(2)
            fixed = word.capitalize() if i == 0 else word.lower()
            words[i] = m.group(1) + fixed + words[i][m.end():]
    return " ".join(words)


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit(__doc__)
    source, _ = read(sys.argv[1])
    target, order = read(sys.argv[2])
    out_dir = sys.argv[3]
    src, tgt = (sys.argv[4], sys.argv[5]) if len(sys.argv) == 6 else ("es", "en")
    splits = {"train": [], "valid": [], "test": []}
    dropped = misaligned = 0
    for key in order:
        s, t = source.get(key, ""), target.get(key, "")
        if not s or not t:
            dropped += 1
            continue
        m, n = len(s.split()), len(t.split())
        if m > 150 or n > 150 or m > 2.5 * n + 8 or n > 2.5 * m + 8:
            misaligned += 1
            continue
        book = key[0]
        split = "valid" if book in VALID else "test" if book in TEST else "train"
        splits[split].append((ordinary_case(s), t))
    os.makedirs(out_dir, exist_ok=True)
    for split, pairs in splits.items():
        for side, lang in ((0, src), (1, tgt)):
            path = os.path.join(out_dir, f"{split}.{lang}")
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.writelines(p[side] + "\n" for p in pairs)
            os.replace(path + ".tmp", path)
    print(f"{out_dir}: " + ", ".join(f"{k} {len(v)} pairs" for k, v in splits.items()) + f"; dropped {dropped} verses without a partner, {misaligned} misaligned")
    for side, lang in ((0, src), (1, tgt)):
        words = [len(p[side].split()) for p in splits["train"]]
        print(f"  train {lang}: {sum(words)} words, per verse mean {statistics.mean(words):.1f}, "
              f"median {statistics.median(words):.0f}, max {max(words)}")


if __name__ == "__main__":
    main()
