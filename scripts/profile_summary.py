#!/usr/bin/python3
"""Operator time table from a Chrome trace written by `qkv bench --profile FILE`.

Usage: profile_summary.py TRACE.json [--top N] [--steps S]

Sums the self time of each operator (its time minus that of the operators it called), divides by
the number of timed steps S (default: the bench's --steps, 10), and prints the top N by time.
"""
import argparse
import collections
import json


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    with open(args.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    spans = sorted(((e["ts"], e["ts"] + e.get("dur", 0), e["name"], e.get("tid")) for e in events
                    if e.get("ph") == "X"), key=lambda s: (s[3], s[0], -s[1]))
    self_us, calls = collections.Counter(), collections.Counter()
    stack = []  # (end, name) of open spans on the current thread
    thread = None
    for start, end, name, tid in spans:
        if tid != thread:
            stack, thread = [], tid
        while stack and stack[-1][0] <= start:
            stack.pop()
        if stack:
            self_us[stack[-1][1]] -= end - start
        self_us[name] += end - start
        calls[name] += 1
        stack.append((end, name))
    total = sum(self_us.values())
    print(f"{total / args.steps / 1000:.1f} ms per step in operators")
    print("| operator | ms per step | share | calls per step |")
    print("| --- | --- | --- | --- |")
    for name, us in self_us.most_common(args.top):
        print(f"| {name} | {us / args.steps / 1000:.1f} | {100 * us / total:.1f}% | {calls[name] / args.steps:.0f} |")


if __name__ == "__main__":
    main()
