#!/usr/bin/python3
"""Loss against position from `qkv eval --lengths` (RUN/eval/loss_by_position-SPLIT.csv): does
context pay? Prints, for each file and evaluated length, the mean loss of the 64 positions
ending at each power of two (positions 64-127 for "128", 960-1023 for "1024") and the drop from
128 to the longest with its 95% interval, paired by block (from loss_by_block-SPLIT.csv beside
it), and plots the loss (averaged over 4 bins per doubling of the position) against position.

Usage: plot_position_loss.py OUT.png LABEL=CSV [LABEL=CSV ...]
Uses Debian's python3-matplotlib; the printed figures stand without it.
"""
import csv
import math
import os
import sys
from collections import defaultdict

BAND = 64
PER_OCTAVE = 4  # the plot's bins: 4 per doubling of the position


def read(path):
    by_length = defaultdict(dict)  # length -> position -> loss
    with open(path) as f:
        for row in csv.DictReader(f):
            by_length[int(row["length"])][int(row["position"])] = float(row["loss"])
    return by_length


def block_drops(path, length, first, last, through=False):
    """Per block, the band ending at `first` minus the band ending at `last` (loss_by_block); with
    `through`, minus the mean of every band from `first` to `last`."""
    blocks = os.path.join(os.path.dirname(path), os.path.basename(path).replace("loss_by_position", "loss_by_block"))
    if not os.path.exists(blocks):
        return []
    bands = defaultdict(dict)  # block -> first position -> loss
    with open(blocks) as f:
        for row in csv.DictReader(f):
            if int(row["length"]) == length:
                bands[int(row["block"])][int(row["first_position"])] = float(row["loss"])
    later = range(first, last, BAND) if through else [last - BAND]
    return [b[first - BAND] - sum(b[p] for p in later) / len(later)
            for b in bands.values() if first - BAND in b and all(p in b for p in later)]


def interval(values):
    n = len(values)
    if n < 2:
        return ""
    mean = sum(values) / n
    se = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1) / n)
    return f" (95% interval [{mean - 1.96 * se:+.4f}, {mean + 1.96 * se:+.4f}] over {n} blocks)"


def band(losses, end):
    values = [losses[p] for p in range(end - BAND, end) if p in losses]
    return sum(values) / len(values)


def main():
    if len(sys.argv) < 3 or any("=" not in a for a in sys.argv[2:]):
        sys.exit(__doc__)
    out, curves = sys.argv[1], []
    for arg in sys.argv[2:]:
        label, path = arg.split("=", 1)
        for length, losses in sorted(read(path).items()):
            ends = [p for p in (2 ** k for k in range(7, 17)) if p <= length]
            if not ends:
                continue
            figures = ", ".join(f"{p}: {band(losses, p):.4f}" for p in ends)
            drop = band(losses, ends[0]) - band(losses, ends[-1])
            paired = interval(block_drops(path, length, ends[0], ends[-1]))
            print(f"{label} (length {length}): loss of the {BAND} positions ending at {figures}; "
                  f"{ends[0]} to {ends[-1]}: {drop:+.4f} nats lower{paired}")
            through = block_drops(path, length, ends[0], ends[-1], through=True)
            if through:
                print(f"{label} (length {length}): positions {ends[0] - BAND}-{ends[0] - 1} against every position "
                      f"from {ends[0]} to {ends[-1] - 1}: {sum(through) / len(through):+.4f} nats lower{interval(through)}")
            curves.append((f"{label}, length {length}", losses))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("plot skipped: needs python3-matplotlib (scripts/setup.sh installs it)", file=sys.stderr)
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, losses in curves:
        n = max(losses) + 1
        edges = sorted({0, n} | {round(2 ** (k / PER_OCTAVE)) for k in range(1, int(PER_OCTAVE * math.log2(n)) + 1)})
        bins = [(a, b) for a, b in zip(edges, edges[1:]) if b > a]
        xs = [math.sqrt(max(a, 0.5) * b) for a, b in bins]
        ys = [sum(losses[p] for p in range(a, b)) / (b - a) for a, b in bins]
        ax.plot(xs, ys, marker=".", label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("position in the window (tokens of context before the target)")
    ax.set_ylabel(f"mean loss (nats), {PER_OCTAVE} bins per doubling")
    ax.set_title("loss against position")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main()
