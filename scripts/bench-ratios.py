#!/usr/bin/env python3
"""Print criterion results of one run as ratios against the floor measured in the same run.

Usage: scripts/bench-ratios.py GROUP FLOOR_BENCH [TARGET_DIR]
Reads TARGET_DIR/criterion/GROUP/*/new/estimates.json (the last `cargo bench` run) and
prints each benchmark's mean, and its ratio to FLOOR_BENCH's mean.
"""
import json
import pathlib
import sys


def mean_ns(path: pathlib.Path) -> float:
    return json.loads(path.read_text())["mean"]["point_estimate"]


def fmt(ns: float) -> str:
    for unit, div in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= div:
            return f"{ns / div:.3g} {unit}"
    return f"{ns:.3g} ns"


def main() -> None:
    group, floor = sys.argv[1], sys.argv[2]
    target = pathlib.Path(sys.argv[3] if len(sys.argv) > 3 else "target")
    base = target / "criterion" / group
    results = {p.parent.parent.name: mean_ns(p) for p in base.glob("*/new/estimates.json")}
    if floor not in results:
        sys.exit(f"no floor {floor!r} in {base}: run the benchmark first")
    f = results[floor]
    print(f"| benchmark ({group}) | mean | ratio to {floor} |")
    print("|---|---|---|")
    for name, ns in sorted(results.items()):
        print(f"| {name} | {fmt(ns)} | {ns / f:.2f}x |")


if __name__ == "__main__":
    main()
