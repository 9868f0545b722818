#!/usr/bin/env python3
"""Plot loss against evaluations and against wall time for neurotex run records: the best full
loss at full size so far (coarse-to-fine: from when all layers run at the last scale).

Usage: plot_runs.py [--title TEXT] OUT.png RUN.json [RUN.json ...]
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    args = sys.argv[1:]
    title = "neurotex: loss of texture synthesis"
    if args[:1] == ["--title"]:
        title, args = args[1], args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    out, runs = args[0], args[1:]
    fig, (by_eval, by_time) = plt.subplots(1, 2, figsize=(11, 4))
    for path in runs:
        rec = json.load(open(path))
        # The full loss at full size only: coarse scales' losses are against another exemplar
        # size, and a pass's (coarse-to-fine) leaves the deepest layers out. Evaluations are
        # still numbered, and timed, from the run's start.
        evals = rec["evaluations"]
        last = max(e.get("scale", 0) for e in evals)
        full = [(i + 1, e) for i, e in enumerate(evals)
                if e.get("scale", 0) == last and not (e.get("pass") or e.get("shallow"))]
        losses = [e["loss"] for _, e in full]
        # Best loss so far: what the written image would be if stopped there.
        best = [min(losses[: i + 1]) for i in range(len(losses))]
        numbers = [n for n, _ in full]
        times = [e["t"] for _, e in full]
        size = f'{rec["size"]["width"]}x{rec["size"]["height"]}'
        solver = rec["optimizer"]["solver"]["name"]
        label = f'{os.path.basename(rec["exemplar"])} {size} {solver} ({rec["settings"]["statistic"]}, {len(rec["layers"])} layers, {len(rec.get("scales") or [1])} scales)'
        by_eval.plot(numbers, best, label=label)
        by_time.plot(times, best, label=label)
    for ax, xlabel in ((by_eval, "evaluations (loss + gradient)"), (by_time, "seconds")):
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("best loss so far")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(out)


if __name__ == "__main__":
    main()
