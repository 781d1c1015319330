#!/usr/bin/env python3
"""Builds the classical-poetry autocompletion corpus from Debian's fortunes-zh: tang300 (313 Tang
poems) and song100 (95 Song lyrics), each a fortune record of a title line, an author line and the
poem's lines, coloured with ANSI escapes (removed here). Every poem line that ends a sentence
(。？！) and has a clause mark inside (，、；：？！) becomes a pair: its first clause, mark
included, and the rest of the line, which the models learn to complete. Whole poems are held out:
every tenth poem (by position in the files) goes to test and the one after it to valid, so no
couplet is split between training and evaluation. With the package's third file, chinese (5,264
mixed records: poems, proverbs, classics, Debian documents), its lines shaped like regular verse
(two clauses of five or of seven Chinese characters, a comma between, a sentence end) join the training split, less
any whose line or first clause appears in valid or test (famous poems are in both files).

Usage: poetry_pairs.py TANG300 SONG100 OUT_DIR [CHINESE]
Writes OUT_DIR/{train,valid,test}.txt (the poem lines, one per line, for the GPT) and
OUT_DIR/{train,valid,test}.{first,next} (the pairs, line by line, for the encoder-decoder), each
file replaced atomically, and prints counts and lengths in characters.
"""
import os
import re
import statistics
import sys

ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
ENDS = "。？！"
MARKS = "，、；：？！"


def poems(path):
    with open(path, encoding="utf-8") as f:
        text = ESCAPE.sub("", f.read())
    for record in re.split(r"\n%\n", text):
        lines = [line.strip() for line in record.strip().splitlines()]
        body = [line for line in lines[2:] if line]  # after the title and the author
        if body:
            yield body


def pair(line):
    """(first clause with its mark, the rest) of a sentence-ending line, or None."""
    if len(line) < 4 or line[-1] not in ENDS:
        return None
    for i, ch in enumerate(line[:-1]):
        if ch in MARKS and 0 < i < len(line) - 2:
            return line[: i + 1], line[i + 1:]
    return None


VERSE = re.compile(r"([\u4e00-\u9fff]{5}，[\u4e00-\u9fff]{5}|[\u4e00-\u9fff]{7}，[\u4e00-\u9fff]{7})[。？！]")


def verse_lines(path, held_out):
    with open(path, encoding="utf-8") as f:
        text = ESCAPE.sub("", f.read())
    seen = set()
    for line in text.splitlines():
        line = line.strip()
        if VERSE.fullmatch(line) and line not in seen:
            seen.add(line)
            p = pair(line)
            if p and line not in held_out and p[0] not in held_out:
                yield line, p


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    out_dir = sys.argv[3]
    lines = {"train": [], "valid": [], "test": []}
    pairs = {"train": [], "valid": [], "test": []}
    index = 0
    for path in sys.argv[1:3]:
        for body in poems(path):
            split = "test" if index % 10 == 0 else "valid" if index % 10 == 1 else "train"
            index += 1
            for line in body:
                p = pair(line)
                if p:
                    lines[split].append(line)
                    pairs[split].append(p)
    added = 0
    if len(sys.argv) == 5:
        held_out = {x for split in ("valid", "test") for line, p in zip(lines[split], pairs[split]) for x in (line, p[0])}
        known = set(lines["train"])
        for line, p in verse_lines(sys.argv[4], held_out):
            if line not in known:
                lines["train"].append(line)
                pairs["train"].append(p)
                added += 1
    os.makedirs(out_dir, exist_ok=True)

    def write(name, rows):
        path = os.path.join(out_dir, name)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            f.writelines(row + "\n" for row in rows)
        os.replace(path + ".tmp", path)

    for split in lines:
        write(f"{split}.txt", lines[split])
        write(f"{split}.first", [p[0] for p in pairs[split]])
        write(f"{split}.next", [p[1] for p in pairs[split]])
    print(f"{out_dir}: {index} poems; " + ", ".join(f"{k} {len(v)} lines" for k, v in lines.items())
          + (f" ({added} verse lines from {sys.argv[4]})" if added else ""))
    firsts = [len(p[0]) for p in pairs["train"]]
    nexts = [len(p[1]) for p in pairs["train"]]
    chars = len(set("".join(lines["train"])))
    print(f"  train: first clause median {statistics.median(firsts):.0f} characters, completion median "
          f"{statistics.median(nexts):.0f}, max {max(nexts)}; {chars} distinct characters")


if __name__ == "__main__":
    main()
