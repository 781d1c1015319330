#!/usr/bin/env python3
"""Builds a paraphrase task from two English Bible versions aligned by verse: the same verse in the
King James Version and the World English Bible is a paraphrase (1); a KJV verse against the WEB's
neighbouring verse of the same chapter is not (0). One pair per verse, positive or negative by a
stable hash, the two versions in either order; whole books held out as in data/web (valid: Ruth,
Jonah, Philippians, 1 John; test: Esther, Joel, Colossians, James).

Usage: paraphrase_pairs.py KJV_VERSES WEB_VERSES OUT_DIR [--negatives neighbour|distant]
With --negatives distant, a negative pairs the KJV verse with a WEB verse of another book of the
same split (chosen by a stable hash) instead of its neighbour: a topic-level contrast.
Reads the verses.tsv files bible_text.py writes (book, chapter:verse, text) and writes
OUT_DIR/train.tsv, dev.tsv and test.tsv in the layout of GLUE's MRPC files
(Quality, #1 ID, #2 ID, #1 String, #2 String), so that `data.format: glue/mrpc` reads them.
"""
import hashlib
import os
import sys

VALID = {"Ruth", "Jonah", "Philippians", "1John"}
TEST = {"Esther", "Joel", "Colossians", "James"}


def read_verses(path):
    verses = {}
    order = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            book, ref, text = line.rstrip("\n").split("\t", 2)
            verses[(book, ref)] = text
            order.append((book, ref))
    return verses, order


def stable(*parts):
    return int(hashlib.sha1("|".join(parts).encode()).hexdigest(), 16)


def main():
    args = sys.argv[1:]
    negatives = "neighbour"
    if len(args) == 5 and args[3] == "--negatives" and args[4] in ("neighbour", "distant"):
        negatives = args[4]
        args = args[:3]
    if len(args) != 3:
        sys.exit(__doc__)
    kjv, _ = read_verses(args[0])
    web, web_order = read_verses(args[1])
    out_dir = args[2]
    aligned = [key for key in web_order if key in kjv]
    split_of = lambda book: "dev.tsv" if book in VALID else "test.tsv" if book in TEST else "train.tsv"
    by_split = {}
    for key in aligned:
        by_split.setdefault(split_of(key[0]), []).append(key)
    rows = {"train.tsv": [], "dev.tsv": [], "test.tsv": []}
    for i, (book, ref) in enumerate(aligned):
        chapter = ref.split(":")[0]
        positive = stable("label", book, ref) % 2 == 0
        other = (book, ref)
        if not positive and negatives == "distant":  # a verse of another book of the same split
            pool = by_split[split_of(book)]
            other = pool[stable("distant", book, ref) % len(pool)]
            while other[0] == book:
                other = pool[(pool.index(other) + 997) % len(pool)]
        elif not positive:  # the next verse of the chapter, else the previous one
            neighbours = [aligned[j] for j in (i + 1, i - 1) if 0 <= j < len(aligned)]
            neighbours = [k for k in neighbours if k[0] == book and k[1].split(":")[0] == chapter]
            if not neighbours:
                continue
            other = neighbours[0]
        a = ("KJV", book, ref, kjv[(book, ref)])
        b = ("WEB", other[0], other[1], web[other])
        if stable("order", book, ref) % 2:
            a, b = b, a
        split = split_of(book)
        rows[split].append(f"{int(positive)}\t{a[0]}.{a[1]}.{a[2]}\t{b[0]}.{b[1]}.{b[2]}\t{a[3]}\t{b[3]}")
    os.makedirs(out_dir, exist_ok=True)
    for name, lines in rows.items():
        tmp = os.path.join(out_dir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n")
            f.writelines(line + "\n" for line in lines)
        os.replace(tmp, os.path.join(out_dir, name))
    counts = ", ".join(f"{n[:-4]} {len(r)} ({sum(x.startswith('1') for x in r)} paraphrases)" for n, r in rows.items())
    print(f"{out_dir}: {counts}")


if __name__ == "__main__":
    main()
