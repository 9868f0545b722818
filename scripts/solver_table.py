#!/usr/bin/env python3
"""Markdown table of run records: per run, the best loss after 25%, 50% and 100% of the
evaluations, how many evaluations the L-BFGS run on the same exemplar and size needed to reach
that final loss, and the wall time.

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
    print("| exemplar | size | solver | loss @25% | loss @50% | final loss | L-BFGS evals to this loss | seconds | s/eval |")
    print("|---|---|---|---|---|---|---|---|---|")
    def running_best(r):
        losses = [e["loss"] for e in r["evaluations"]]
        return [min(losses[: i + 1]) for i in range(len(losses))]

    for (exemplar, size), rs in sorted(groups.items()):
        lbfgs = [running_best(r) for r in rs if r["optimizer"]["solver"]["name"] == "lbfgs"]
        for r in sorted(rs, key=lambda r: r["optimizer"]["solver"]["name"]):
            running = running_best(r)
            n = len(running)
            reach = next((i + 1 for i, v in enumerate(lbfgs[0]) if v <= running[-1]), None) if lbfgs else None
            print(f'| {exemplar} | {size}² | {r["optimizer"]["solver"]["name"]} '
                  f'| {running[n // 4 - 1]:.3e} | {running[n // 2 - 1]:.3e} | {running[-1]:.3e} '
                  f'| {reach if reach else "not reached"} | {r["optimize_seconds"]:.0f} '
                  f'| {r["mean_evaluation_seconds"]:.2f} |')


if __name__ == "__main__":
    main()
