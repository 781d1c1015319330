#!/usr/bin/env python3
"""Checks the shape of transformer/: folders include only folders below them, util/ and config/
build without LibTorch, no file passes 400 lines and no function 80. Prints each breach as
FILE:LINE: what, and exits 1 when there is one (ctest runs it as the test `structure`).

    scripts/check_structure.py [--report]   # --report also prints the longest functions
"""
import os
import re
import sys

# Lowest first: a folder may include its own headers and those of folders before it.
LAYERS = ["util", "config", "kernels", "core", "io", "models", "analysis", "text", "data", "eval",
          "infer", "tasks", "train", "cli"]
TORCH_FREE = {"util", "config"}
TORCH_HEADER = re.compile(r'#include\s*<(torch|ATen|c10)/')
# The one LibTorch header util/ may read: version macros, no library.
TORCH_FREE_ALLOWED = {"torch/version.h"}
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80
CONTROL = re.compile(r'^\s*(if|for|while|switch|return|else|do|namespace|struct|class|enum|case|using|template|#)\b')


def code_only(line):
    """The line without string and character literals and // comments."""
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//")[0]


def functions(lines):
    """(first line, line count, signature) of each function body at namespace or class level."""
    found, i = [], 0
    while i < len(lines):
        text = code_only(lines[i])
        starts = re.match(r'^ {0,4}[A-Za-z_~].*\(', text) and not CONTROL.match(text) and not text.rstrip().endswith(";")
        if starts:
            opening = None
            for j in range(i, min(i + 8, len(lines))):
                part = code_only(lines[j])
                if "{" in part:
                    opening = j
                    break
                if part.rstrip().endswith(";"):
                    break
            if opening is not None:
                depth, k = 0, opening
                while k < len(lines):
                    part = code_only(lines[k])
                    depth += part.count("{") - part.count("}")
                    if depth <= 0:
                        break
                    k += 1
                found.append((i + 1, k - i + 1, lines[i].strip()))
                i = k
        i += 1
    return found


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "transformer")
    report = "--report" in sys.argv
    problems, longest = [], []
    for folder, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            if not name.endswith((".h", ".cpp", ".def")):
                continue
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, os.path.join(root, ".."))
            layer = os.path.relpath(path, root).split(os.sep)[0]
            if layer not in LAYERS:
                problems.append(f"{rel}:1: folder {layer}/ is not in the layer order of scripts/check_structure.py")
                continue
            with open(path, encoding="utf-8") as f:
                lines = f.read().split("\n")
            if len(lines) - 1 > MAX_FILE_LINES:
                problems.append(f"{rel}:1: {len(lines) - 1} lines, more than {MAX_FILE_LINES}: split it")
            for number, line in enumerate(lines, 1):
                included = re.match(r'#include\s*"transformer/([a-z_]+)/', line)
                if included and included.group(1) in LAYERS and LAYERS.index(included.group(1)) > LAYERS.index(layer):
                    problems.append(f"{rel}:{number}: {layer}/ includes {included.group(1)}/, which is above it "
                                    f"(order: {' < '.join(LAYERS)})")
                torch = TORCH_HEADER.search(line)
                if layer in TORCH_FREE and torch and line.split("<")[1].split(">")[0] not in TORCH_FREE_ALLOWED:
                    problems.append(f"{rel}:{number}: {layer}/ builds without LibTorch, but includes {line.strip()}")
            for first, count, signature in functions(lines):
                longest.append((count, f"{rel}:{first}", signature[:80]))
                if count > MAX_FUNCTION_LINES:
                    problems.append(f"{rel}:{first}: function of {count} lines, more than {MAX_FUNCTION_LINES}: {signature[:60]}")
    if report:
        for count, where, signature in sorted(longest, reverse=True)[:10]:
            print(f"{count:4d} {where} {signature}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
