#!/usr/bin/env python3
"""Markdown table of run records: per run, the loss after 25%, 50% and 100% of the evaluations,
the evaluations needed to get within 2x of the best final loss of any solver on the same
exemplar and size, and the wall time.

Usage: solver_table.py RUN.json [RUN.json ...]
"""
import json
import os
import sys
from collections import defaultdict


def main() -> None:
    runs = [json.load(open(p)) for p in sys.argv[1:]]
    if not runs:
        sys.exit(__doc__)
    groups = defaultdict(list)
    for r in runs:
        groups[(os.path.basename(r["exemplar"]), r["size"]["width"])].append(r)
    print("| exemplar | size | solver | loss @25% | loss @50% | final loss | evals to 2x best | seconds | s/eval |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (exemplar, size), rs in sorted(groups.items()):
        best = min(min(e["loss"] for e in r["evaluations"]) for r in rs)
        for r in sorted(rs, key=lambda r: r["optimizer"]["solver"]["name"]):
            losses = [e["loss"] for e in r["evaluations"]]
            running = [min(losses[: i + 1]) for i in range(len(losses))]
            n = len(running)
            reach = next((i + 1 for i, v in enumerate(running) if v <= 2 * best), None)
            print(f'| {exemplar} | {size}² | {r["optimizer"]["solver"]["name"]} '
                  f'| {running[n // 4 - 1]:.3e} | {running[n // 2 - 1]:.3e} | {running[-1]:.3e} '
                  f'| {reach if reach else "not reached"} | {r["optimize_seconds"]:.0f} '
                  f'| {r["mean_evaluation_seconds"]:.2f} |')


if __name__ == "__main__":
    main()
