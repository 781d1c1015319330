#!/usr/bin/env python3
"""Writes small sample files in the exact layouts of the nine GLUE tasks' TSV files as distributed
(header or none, column order, literal quotes, unlabelled test files), filled with verses of the
World English Bible and labels drawn from a stable hash. They let `data.format: glue/NAME` be
tried and tested without the GLUE download; the labels carry no meaning.

Usage: glue_samples.py WEB_VERSES OUT_DIR   (writes OUT_DIR/{CoLA,SST-2,MRPC,QQP,STS-B,MNLI,QNLI,RTE,WNLI}/)
"""
import hashlib
import os
import sys

ROWS = {"train": 48, "dev": 16, "test": 8}


def stable(*parts):
    return int(hashlib.sha1("|".join(map(str, parts)).encode()).hexdigest(), 16)


def write(path, header, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        if header:
            f.write("\t".join(header) + "\n")
        for row in rows:
            f.write("\t".join(str(c) for c in row) + "\n")
    os.replace(path + ".tmp", path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as f:
        verses = [line.rstrip("\n").split("\t", 2)[2] for line in f]
    # A straight double quote at the start of a field: GLUE's files are read without quoting.
    verses[5] = '"Behold," ' + verses[5]
    out = sys.argv[2]
    pick = lambda task, split, i, k=0: verses[5] if (i, k) == (0, 0) else verses[stable(task, split, i, k) % len(verses)]
    label = lambda task, split, i, n: stable("label", task, split, i) % n

    for split, n in ROWS.items():
        name = "test" if split == "test" else split
        if split == "test":
            write(f"{out}/CoLA/test.tsv", ["index", "sentence"], [(i, pick("cola", split, i)) for i in range(n)])
            write(f"{out}/SST-2/test.tsv", ["index", "sentence"], [(i, pick("sst", split, i)) for i in range(n)])
        else:
            write(f"{out}/CoLA/{name}.tsv", None,
                  [("gj04", l, "" if l else "*", pick("cola", split, i)) for i in range(n) for l in [label("cola", split, i, 2)]])
            write(f"{out}/SST-2/{name}.tsv", ["sentence", "label"], [(pick("sst", split, i), label("sst", split, i, 2)) for i in range(n)])

        two = lambda task, i: (pick(task, split, i, 0), pick(task, split, i, 1))
        labelled = split != "test"
        mrpc = ["Quality" if labelled else "index", "#1 ID", "#2 ID", "#1 String", "#2 String"]
        write(f"{out}/MRPC/{name}.tsv", mrpc,
              [((label("mrpc", split, i, 2) if labelled else i), 1000 + i, 2000 + i, *two("mrpc", i)) for i in range(n)])
        qqp = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"] if labelled else ["id", "question1", "question2"]
        write(f"{out}/QQP/{name}.tsv", qqp,
              [((i, 2 * i, 2 * i + 1, *two("qqp", i), label("qqp", split, i, 2)) if labelled else (i, *two("qqp", i))) for i in range(n)])
        sts = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"]
        write(f"{out}/STS-B/{name}.tsv", sts + (["score"] if labelled else []),
              [(i, "main-captions", "MSRvid", "2012test", i, "none", "none", *two("sts", i),
                *([f"{label('sts', split, i, 51) / 10:.3f}"] if labelled else [])) for i in range(n)])
        mnli = ["index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
                "sentence1_parse", "sentence2_parse", "sentence1", "sentence2"]
        classes = ["contradiction", "entailment", "neutral"]
        def mnli_row(i, annotators):
            s1, s2 = two("mnli", i)
            gold = classes[label("mnli", split, i, 3)]
            parses = (f"( {s1} )", f"( {s2} )", f"(ROOT {s1})", f"(ROOT {s2})")
            return (i, 100 + i, f"{100 + i}e", "fiction", *parses, s1, s2, *([gold] * annotators), *([gold] if annotators else []))
        if split == "train":
            write(f"{out}/MNLI/train.tsv", mnli + ["label1", "gold_label"], [mnli_row(i, 1) for i in range(n)])
        elif split == "dev":
            for which in ("matched", "mismatched"):
                write(f"{out}/MNLI/dev_{which}.tsv", mnli + [f"label{k}" for k in range(1, 6)] + ["gold_label"],
                      [mnli_row(i, 5) for i in range(n)])
        else:
            for which in ("matched", "mismatched"):
                write(f"{out}/MNLI/test_{which}.tsv", mnli, [mnli_row(i, 0) for i in range(n)])
        entail = ["entailment", "not_entailment"]
        write(f"{out}/QNLI/{name}.tsv", ["index", "question", "sentence"] + (["label"] if labelled else []),
              [(i, *two("qnli", i), *([entail[label("qnli", split, i, 2)]] if labelled else [])) for i in range(n)])
        write(f"{out}/RTE/{name}.tsv", ["index", "sentence1", "sentence2"] + (["label"] if labelled else []),
              [(i, *two("rte", i), *([entail[label("rte", split, i, 2)]] if labelled else [])) for i in range(n)])
        write(f"{out}/WNLI/{name}.tsv", ["index", "sentence1", "sentence2"] + (["label"] if labelled else []),
              [(i, *two("wnli", i), *([label("wnli", split, i, 2)] if labelled else [])) for i in range(n)])
    print(f"{out}: samples of the nine GLUE tasks")


if __name__ == "__main__":
    main()
