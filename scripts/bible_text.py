#!/usr/bin/env python3
"""Dumps a SWORD Bible module (read with diatheke) as one verse per line, markup removed.

Usage: bible_text.py MODULE OUT_DIR [--valid BOOK,...] [--test BOOK,...]
Writes OUT_DIR/train.txt, valid.txt and test.txt, split by whole books, and OUT_DIR/verses.tsv
(book, chapter:verse, text) for aligning versions by verse.
"""
import argparse
import os
import re
import subprocess
import sys

# The 66 books of the Protestant canon, in the names diatheke accepts.
BOOKS = """Genesis Exodus Leviticus Numbers Deuteronomy Joshua Judges Ruth 1Samuel 2Samuel 1Kings 2Kings
1Chronicles 2Chronicles Ezra Nehemiah Esther Job Psalms Proverbs Ecclesiastes Song_of_Solomon Isaiah Jeremiah
Lamentations Ezekiel Daniel Hosea Joel Amos Obadiah Jonah Micah Nahum Habakkuk Zephaniah Haggai Zechariah
Malachi Matthew Mark Luke John Acts Romans 1Corinthians 2Corinthians Galatians Ephesians Philippians Colossians
1Thessalonians 2Thessalonians 1Timothy 2Timothy Titus Philemon Hebrews James 1Peter 2Peter 1John 2John 3John
Jude Revelation""".split()

VERSE = re.compile(r"(?:^|\s)((?:[1-3] )?[A-Z][A-Za-z ]*?) (\d+):(\d+): (.*)$")
TAG = re.compile(r"<[^>]*>")


def clean(osis):
    text = re.sub(r"</w>\s*<w>", "</w> <w>", osis)
    text = re.sub(r"(\w)<w>", r"\1 <w>", text)
    text = re.sub(r"</w>(\w)", r"</w> \1", text)
    text = TAG.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


def book_verses(module, book):
    name = book.replace("_", " ")
    name = re.sub(r"^([1-3])", r"\1 ", name)
    out = subprocess.run(["diatheke", "-b", module, "-f", "osis", "-k", name],
                         capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        m = VERSE.search(line)
        if not m:
            continue
        text = clean(m.group(4))
        if text:
            yield f"{m.group(2)}:{m.group(3)}", text


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("module")
    parser.add_argument("out_dir")
    parser.add_argument("--valid", default="Ruth,Jonah,Philippians,1John")
    parser.add_argument("--test", default="Esther,Joel,Colossians,James")
    args = parser.parse_args()
    valid, test = set(args.valid.split(",")), set(args.test.split(","))
    os.makedirs(args.out_dir, exist_ok=True)
    tmp = {name: open(os.path.join(args.out_dir, name + ".tmp"), "w", encoding="utf-8")
           for name in ("train.txt", "valid.txt", "test.txt", "verses.tsv")}
    counts = {"train.txt": 0, "valid.txt": 0, "test.txt": 0}
    for book in BOOKS:
        split = "valid.txt" if book in valid else "test.txt" if book in test else "train.txt"
        for ref, text in book_verses(args.module, book):
            tmp[split].write(text + "\n")
            tmp["verses.tsv"].write(f"{book}\t{ref}\t{text}\n")
            counts[split] += 1
    for name, f in tmp.items():
        f.close()
        os.replace(os.path.join(args.out_dir, name + ".tmp"), os.path.join(args.out_dir, name))
    if counts["train.txt"] == 0:
        sys.exit(f"{args.module}: no verses read (is the module installed?)")
    print(f"{args.out_dir}: " + ", ".join(f"{k[:-4]} {v} verses" for k, v in counts.items()))


if __name__ == "__main__":
    main()
