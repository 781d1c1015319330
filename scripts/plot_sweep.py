#!/usr/bin/python3
"""Plots of a qkv sweep directory (written by `qkv sweep`, which runs this script):

  valid_loss.png   validation loss against step, one line per setting (mean over seeds)
  ppl_length.png   perplexity against evaluation length, one line per setting (mean over seeds)

Usage: plot_sweep.py SWEEP_DIR. Reads SWEEP_DIR/results.csv and each point's metrics.jsonl.
Uses Debian's python3-matplotlib.
"""
import csv
import json
import os
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    sweep = sys.argv[1]
    with open(os.path.join(sweep, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit("results.csv is empty")
    metric_start = list(rows[0]).index("valid_loss")
    keys = [k for k in list(rows[0])[:metric_start] if k != "seed"]
    setting = lambda row: ", ".join(row[k] for k in keys) or "all"
    point_dir = lambda row: os.path.join(sweep, row["run"])

    curves = defaultdict(lambda: defaultdict(list))  # setting -> step -> losses
    for row in rows:
        path = os.path.join(point_dir(row), "metrics.jsonl")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            for line in f:
                entry = json.loads(line)
                if entry.get("split") == "valid" and "eval" not in entry:
                    curves[setting(row)][entry["step"]].append(entry["loss"])
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, by_step in curves.items():
        steps = sorted(by_step)
        ax.plot(steps, [statistics.mean(by_step[s]) for s in steps], marker="o", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss (nats per token)")
    ax.set_title(f"{os.path.basename(os.path.normpath(sweep))}: validation loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(sweep, "valid_loss.png"), dpi=120)

    lengths = sorted(int(k[4:]) for k in rows[0] if k.startswith("ppl@"))
    if lengths:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        by_setting = defaultdict(lambda: defaultdict(list))
        for row in rows:
            for n in lengths:
                value = row.get(f"ppl@{n}", "n/a")
                if value not in ("", "n/a"):
                    by_setting[setting(row)][n].append(float(value))
        for name, by_length in by_setting.items():
            xs = [n for n in lengths if by_length[n]]
            ax.plot(xs, [statistics.mean(by_length[n]) for n in xs], marker="o", label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("evaluation context length (tokens)")
        ax.set_ylabel("perplexity")
        ax.set_title("perplexity against evaluation length")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(sweep, "ppl_length.png"), dpi=120)
    print(os.path.join(sweep, "valid_loss.png"))


if __name__ == "__main__":
    main()
