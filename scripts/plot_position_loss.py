#!/usr/bin/python3
"""Loss against position from `qkv eval --lengths` (RUN/eval/loss_by_position-SPLIT.csv): does
context pay? Prints, for each file and evaluated length, the mean loss of the 64 positions
ending at each power of two (positions 64-127 for "128", 960-1023 for "1024") and the drop from
128 to the longest, and plots the loss (averaged over bins of 16 positions) against position.

Usage: plot_position_loss.py OUT.png LABEL=CSV [LABEL=CSV ...]
Uses Debian's python3-matplotlib; the printed figures stand without it.
"""
import csv
import sys
from collections import defaultdict

BAND = 64
BIN = 16


def read(path):
    by_length = defaultdict(dict)  # length -> position -> loss
    with open(path) as f:
        for row in csv.DictReader(f):
            by_length[int(row["length"])][int(row["position"])] = float(row["loss"])
    return by_length


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
            print(f"{label} (length {length}): loss of the {BAND} positions ending at {figures}; "
                  f"{ends[0]} to {ends[-1]}: {drop:+.4f} nats lower")
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
        xs = [b + BIN / 2 for b in range(0, n - BIN + 1, BIN)]
        ys = [sum(losses[p] for p in range(b, b + BIN)) / BIN for b in range(0, n - BIN + 1, BIN)]
        ax.plot(xs, ys, label=label)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("position in the window (tokens of context before the target)")
    ax.set_ylabel(f"mean loss (nats), bins of {BIN} positions")
    ax.set_title("loss against position")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print(out)


if __name__ == "__main__":
    main()
