#!/usr/bin/python3
"""Plots of a `qkv attention` output directory (qkv runs this script after writing the CSV files):

  attention.png       every layer (rows) and head (columns) over the --text tokens
  L{l}-H{h}.png       one heatmap per layer and head, tokens on both axes
  bias.png            the t5 or alibi bias of each head (when bias-H*.csv exist)
  attention_mass.png  attention mass against relative distance, per layer, per length (--mass)

Usage: plot_attention.py DIR. Uses Debian's python3-matplotlib.
"""
import csv
import glob
import math
import os
import re
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot_fonts  # noqa: E402

plt.rcParams["font.family"] = plot_fonts.families()  # tokens in any script


def read_matrix(path):
    with open(path) as f:
        return [[float(x) for x in row] for row in csv.reader(f)]


def label_axes(ax, tokens, n):
    if tokens and n <= 48:
        ax.set_xticks(range(n))
        ax.set_yticks(range(n))
        ax.set_xticklabels(tokens[:n], rotation=90, fontsize=6)
        ax.set_yticklabels(tokens[:n], fontsize=6)
    ax.set_xlabel("key")
    ax.set_ylabel("query")


def plot_maps(out):
    maps = {}
    for path in glob.glob(os.path.join(out, "L*-H*.csv")):
        m = re.match(r"L(\d+)-H(\d+)\.csv$", os.path.basename(path))
        if m:
            maps[int(m.group(1)), int(m.group(2))] = read_matrix(path)
    if not maps:
        return
    tokens_path = os.path.join(out, "tokens.txt")
    tokens = open(tokens_path).read().split("\n")[:-1] if os.path.exists(tokens_path) else []
    for (layer, head), matrix in maps.items():
        fig, ax = plt.subplots(figsize=(6, 5.5))
        image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0)
        label_axes(ax, tokens, len(matrix))
        ax.set_title(f"layer {layer}, head {head}")
        fig.colorbar(image, ax=ax, fraction=0.046)
        fig.tight_layout()
        fig.savefig(os.path.join(out, f"L{layer}-H{head}.png"), dpi=110)
        plt.close(fig)
    layers = max(l for l, _ in maps)
    heads = max(h for _, h in maps)
    fig, axes = plt.subplots(layers, heads, figsize=(2.2 * heads, 2.2 * layers), squeeze=False)
    for (layer, head), matrix in maps.items():
        ax = axes[layer - 1][head - 1]
        ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"L{layer} H{head}", fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "attention.png"), dpi=110)
    plt.close(fig)


def plot_bias(out):
    paths = sorted(glob.glob(os.path.join(out, "bias-H*.csv")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p))[0]))
    if not paths:
        return
    fig, axes = plt.subplots(1, len(paths), figsize=(2.6 * len(paths), 2.8), squeeze=False)
    for i, path in enumerate(paths):
        ax = axes[0][i]
        image = ax.imshow(read_matrix(path), cmap="magma")
        ax.set_title(f"head {i + 1}", fontsize=8)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(image, ax=ax, fraction=0.046)
    fig.suptitle("position bias added to the scores (query rows, key columns)", fontsize=9)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "bias.png"), dpi=110)
    plt.close(fig)


def plot_mass(out):
    path = os.path.join(out, "attention_mass.csv")
    if not os.path.exists(path):
        return
    curves = defaultdict(lambda: defaultdict(list))  # length -> layer -> [(distance, mass)]
    with open(path) as f:
        for row in csv.DictReader(f):
            d = int(row["distance"])
            if d >= 0:
                curves[int(row["length"])][row["layer"]].append((d, float(row["mass"])))
    if not curves:
        return
    lengths = sorted(curves)
    fig, axes = plt.subplots(1, len(lengths), figsize=(5 * len(lengths), 4), squeeze=False)
    for i, length in enumerate(lengths):
        ax = axes[0][i]
        for layer, points in sorted(curves[length].items(), key=lambda kv: (kv[0] != "all", kv[0])):
            xs = [d + 1 for d, m in points if m > 0]
            ys = [m for d, m in points if m > 0]
            ax.plot(xs, ys, label=f"layer {layer}" if layer != "all" else "all layers",
                    linewidth=2.0 if layer == "all" else 0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("distance back from the query + 1 (tokens)")
        ax.set_ylabel("mean attention probability")
        ax.set_title(f"context {length}")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(out, "attention_mass.png"), dpi=110)
    plt.close(fig)


def main():
    out = sys.argv[1]
    plot_maps(out)
    plot_bias(out)
    plot_mass(out)


if __name__ == "__main__":
    main()
