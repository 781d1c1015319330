#!/usr/bin/python3
"""The picture of a `qkv embeddings --map` output directory (qkv runs this script after writing
map.csv and map.json): map.png, every word placed at its 2-D coordinates and labelled. Labels in
Chinese, Japanese and Korean render through Debian's fonts-wqy-zenhei (scripts/plot_fonts.py).

Usage: plot_embeddings.py DIR. Uses Debian's python3-matplotlib.
"""
import csv
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_fonts  # noqa: E402


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    with open(os.path.join(out, "map.csv"), encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with open(os.path.join(out, "map.json"), encoding="utf-8") as f:
        meta = json.load(f)
    plt.rcParams["font.family"] = plot_fonts.families()
    xs, ys = [float(r["x"]) for r in rows], [float(r["y"]) for r in rows]
    size = 10 if len(rows) <= 400 else 14
    fig, ax = plt.subplots(figsize=(size, size))
    ax.scatter(xs, ys, s=4, color="#4477aa", alpha=0.6)
    label_size = 8 if len(rows) <= 150 else 6 if len(rows) <= 400 else 4
    for r, x, y in zip(rows, xs, ys):
        ax.annotate(r["word"], (x, y), fontsize=label_size, alpha=0.85, xytext=(2, 2), textcoords="offset points")
    method = meta["method"]
    detail = (f"perplexity {meta['perplexity']:g}, KL {meta['kl']:.3f}" if method == "tsne" else
              "axes hold " + " and ".join(f"{100 * v:.1f}%" for v in meta["explained"]) + " of the variance")
    ax.set_title(f"{meta['source']}\n{'t-SNE' if method == 'tsne' else 'PCA'} of {meta['points']} rows; {detail}",
                 fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    path = os.path.join(out, "map.png")
    fig.savefig(path + ".tmp.png", dpi=110)
    os.replace(path + ".tmp.png", path)
    plt.close(fig)
    print(path)


if __name__ == "__main__":
    main()
