#!/usr/bin/python3
"""Plots of a qkv sweep directory (written by `qkv sweep`, which runs this script):

  valid_loss.png      validation loss against step, one line per setting (mean over seeds)
  ppl_length.png      perplexity against evaluation length, one line per setting (mean over seeds);
                      a second panel with sliding windows when the sweep has sweep.stride; a
                      lower row with each setting's perplexity over its own at the shortest length
  exact_length.png    exact-match accuracy against length (copy, reverse, addition sweeps)
  attention_mass.png  attention mass against relative distance, one line per setting (mean over
                      seeds), at the training length and at the longest evaluation length

Usage: plot_sweep.py SWEEP_DIR. Reads SWEEP_DIR/results.csv, each point's metrics.jsonl and
attention/attention_mass.csv.
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


COLOURS = {}


def main():
    sweep = sys.argv[1]
    with open(os.path.join(sweep, "results.csv")) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        sys.exit("results.csv is empty")
    metric_start = next(i for i, k in enumerate(rows[0]) if k.startswith("valid_"))
    keys = [k for k in list(rows[0])[:metric_start] if k != "seed"]
    setting = lambda row: ", ".join(row[k] for k in keys) or "all"
    point_dir = lambda row: os.path.join(sweep, row["run"])
    # One colour per setting in every plot, even where a setting has no value (learned positions
    # past their table), so the panels read alike.
    names = list(dict.fromkeys(setting(row) for row in rows))
    for i, name in enumerate(names):
        COLOURS[name] = f"C{i % 10}" if len(names) <= 10 else plt.get_cmap("tab20")(i % 20)

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
        ax.plot(steps, [statistics.mean(by_step[s]) for s in steps], marker="o", label=name, color=COLOURS.get(name))
    ax.set_xlabel("step")
    ax.set_ylabel("validation loss (nats per token)")
    ax.set_title(f"{os.path.basename(os.path.normpath(sweep))}: validation loss")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(sweep, "valid_loss.png"), dpi=120)

    lengths = sorted(int(k[4:]) for k in rows[0] if k.startswith("ppl@"))
    if lengths:
        # Beside non-overlapping windows, sliding windows when the sweep has them (sweep.stride).
        panels = [("ppl@", "non-overlapping windows")]
        if any(k.startswith("sppl@") for k in rows[0]):
            panels.append(("sppl@", "sliding windows"))
        # Upper row: perplexity; lower row: perplexity over the setting's own at the shortest
        # length, where a scheme's drift past the training length reads directly.
        relative = len(lengths) > 1
        fig, axes = plt.subplots(1 + relative, len(panels), figsize=(7 * len(panels), 4.5 * (1 + relative)),
                                 sharey="row", squeeze=False)
        ranges = []
        for column, (prefix, title) in enumerate(panels):
            ax = axes[0][column]
            draw_against_length(ax, rows, setting, prefix, lengths)
            ax.set_yscale("log")  # one setting that blows up past the training length must not flatten the rest
            ax.set_title(f"perplexity against evaluation length: {title}")
            if relative:
                ranges.append(draw_relative(axes[1][column], rows, setting, prefix, lengths))
                axes[1][column].set_title(f"perplexity / perplexity at {lengths[0]} tokens: {title}")
            for ax in [row[column] for row in axes]:
                ax.set_xscale("log", base=2)
                ax.set_xlabel("evaluation context length (tokens)")
                ax.grid(alpha=0.3)
        axes[0][0].set_ylabel("perplexity (log scale)")
        axes[0][-1].legend(fontsize=8)
        if relative:
            bottom, top = min(r[0] for r in ranges), max(r[1] for r in ranges)
            margin = 0.05 * max(top - bottom, 0.01)
            axes[1][0].set_ylim(bottom - margin, top + margin)
            axes[1][0].set_ylabel(f"relative to {lengths[0]} tokens")
            axes[1][-1].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(os.path.join(sweep, "ppl_length.png"), dpi=120)
    plot_against_length(rows, setting, "valid_exact@", "exact-match accuracy", os.path.join(sweep, "exact_length.png"))
    plot_attention_mass(rows, setting, point_dir, os.path.join(sweep, "attention_mass.png"))
    print(os.path.join(sweep, "valid_loss.png"))


def means_by_length(rows, setting, prefix, lengths, relative=False):
    """setting -> [(length, mean over seeds of column PREFIX + length)] where it has values; with
    RELATIVE, each seed's value over its own at the shortest length (seeds without one left out)."""
    by_setting = defaultdict(lambda: defaultdict(list))
    for row in rows:
        first = row.get(f"{prefix}{lengths[0]}", "")
        if relative and (first in ("", "n/a") or float(first) <= 0):
            continue
        for n in lengths:
            value = row.get(f"{prefix}{n}", "")
            if value not in ("", "n/a"):
                by_setting[setting(row)][n].append(float(value) / (float(first) if relative else 1.0))
    return {name: [(n, statistics.mean(by_length[n])) for n in lengths if by_length[n]]
            for name, by_length in by_setting.items()}


def draw_against_length(ax, rows, setting, prefix, lengths):
    """One line per setting: the mean over seeds of column PREFIX + length, where it has values."""
    for name, points in means_by_length(rows, setting, prefix, lengths).items():
        ax.plot(*zip(*points), marker="o", label=name, color=COLOURS.get(name))


def draw_relative(ax, rows, setting, prefix, lengths, off_scale=2.0):
    """One line per setting: the mean over seeds of each seed's PREFIX + length over its value at
    the shortest length. Settings past OFF_SCALE say so in the legend with their largest ratio;
    returns the range of the others, for the caller to set the axis."""
    curves = {name: points for name, points in means_by_length(rows, setting, prefix, lengths, relative=True).items()
              if len(points) > 1}
    within = [y for points in curves.values() if max(y for _, y in points) <= off_scale for _, y in points]
    top = max(within, default=off_scale)
    bottom = min(within, default=1.0)
    for name, points in curves.items():
        largest = max(y for _, y in points)
        label = name if largest <= off_scale else f"{name} (off scale, up to {largest:.1f}x)"
        ax.plot(*zip(*points), marker="o", label=label, color=COLOURS.get(name))
    ax.axhline(1.0, color="grey", linewidth=0.8)
    return bottom, top


def plot_against_length(rows, setting, prefix, label, path):
    lengths = sorted(int(k[len(prefix):]) for k in rows[0] if k.startswith(prefix))
    if not lengths:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    draw_against_length(ax, rows, setting, prefix, lengths)
    ax.set_xlabel("length")
    ax.set_ylabel(label)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"{label} against length")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_attention_mass(rows, setting, point_dir, path):
    # setting -> length -> distance -> [mass per seed], from the "all layers" rows
    curves = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in rows:
        mass_path = os.path.join(point_dir(row), "attention", "attention_mass.csv")
        if not os.path.exists(mass_path):
            continue
        with open(mass_path) as f:
            for entry in csv.DictReader(f):
                if entry["layer"] == "all" and int(entry["distance"]) >= 0:
                    curves[setting(row)][int(entry["length"])][int(entry["distance"])].append(float(entry["mass"]))
    if not curves:
        return
    lengths = sorted({n for by_length in curves.values() for n in by_length})
    fig, axes = plt.subplots(1, len(lengths), figsize=(6 * len(lengths), 4.5), squeeze=False)
    for i, length in enumerate(lengths):
        ax = axes[0][i]
        for name, by_length in curves.items():
            if length not in by_length:
                continue
            distances = sorted(by_length[length])
            points = [(d + 1, statistics.mean(by_length[length][d])) for d in distances]
            points = [(x, y) for x, y in points if y > 0]
            ax.plot([x for x, _ in points], [y for _, y in points], label=name, color=COLOURS.get(name), linewidth=1.2)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("distance back from the query + 1 (tokens)")
        ax.set_ylabel("mean attention probability (all layers and heads)")
        ax.set_title(f"attention mass against distance, context {length}")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    main()
