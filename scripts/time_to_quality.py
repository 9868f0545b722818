#!/usr/bin/env python3
"""Time to a quality target, from run records of the same exemplar, seed and size.

The target is a loss at full size: the full-size noise start's loss divided by --reduction
(the single-scale record's first evaluation is that noise; coarse-to-fine runs are measured
against the same number). For each record: wall time, evaluations and cost (see `costs`) until
the first full-size evaluation at or below the target, the final loss, and the statistic
distance to the exemplar.
Writes a Markdown table to stdout and, with --plot, the full-size loss against time.

Usage: time_to_quality.py out/c2f/pebbles_s1.json out/c2f/pebbles_s2.json ... [--plot x.png]
"""

import argparse
import json
import os


def load(path):
    with open(path) as f:
        return json.load(f)


def full_size(record):
    """Evaluations of the full loss at full size (a shallow pass's loss leaves layers out)."""
    last = max(e.get("scale", 0) for e in record["evaluations"])
    return [e for e in record["evaluations"]
            if e.get("scale", 0) == last and not e.get("shallow")]


# What a shallow-pass evaluation costs against a full one (the graph that ends at relu3_1 has
# 14.6 of the 37.8 GFLOP of convolutions; measured ~0.4 of the time).
SHALLOW_COST = 0.4


def costs(record):
    """Running cost after each evaluation, in full-size evaluations: a coarse one counts by its
    pixels relative to the full size (a 128² one as 1/4 of a 256² one), a shallow one 0.4.
    Unlike wall time it does not depend on how busy the machine was."""
    sizes = [s["width"] * s["height"] for s in record["scales"]]
    total, out = 0.0, []
    for e in record["evaluations"]:
        total += sizes[e.get("scale", 0)] / sizes[-1] * (SHALLOW_COST if e.get("shallow") else 1)
        out.append(total)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("records", nargs="+")
    ap.add_argument("--reduction", type=float, default=1e4,
                    help="target = noise-start loss / this (default 1e4)")
    ap.add_argument("--plot", help="write a PNG of full-size loss against time")
    args = ap.parse_args()
    records = [(p, load(p)) for p in args.records]
    single = [r for _, r in records if max(e.get("scale", 0) for e in r["evaluations"]) == 0]
    if not single:
        raise SystemExit("error: give at least one single-scale record (--scales 1): its "
                         "first evaluation is the noise start the target is relative to")
    start = single[0]["evaluations"][0]["loss"]
    target = start / args.reduction
    print(f"target: loss <= {target:.4e} (noise start {start:.4e} / {args.reduction:g})\n")
    print("| run | scales | time to target (s) | evaluations to target | cost to target | "
          "final loss | final distance | total time (s) |")
    print("|---|---|---|---|---|---|---|---|")
    base = None
    for path, r in records:
        evals = r["evaluations"]
        scales = max(e.get("scale", 0) for e in evals) + 1
        hit = next(((i, e) for i, e in enumerate(evals)
                    if e.get("scale", 0) == scales - 1 and not e.get("shallow")
                    and e["loss"] <= target), None)
        if hit:
            t = f"{hit[1]['t']:.1f}"
            n = str(hit[0] + 1)
            c = f"{costs(r)[hit[0]]:.1f}"
            if base is None and scales == 1:
                base = hit[1]["t"]
            if base and scales > 1:
                t += f" ({base / hit[1]['t']:.1f}x faster)"
        else:
            t = n = c = "not reached"
        print(f"| {os.path.basename(path)} | {scales} | {t} | {n} | {c} | {r['best_loss']:.4e} | "
              f"{r['final_distance']:.4f} | {r['optimize_seconds']:.1f} |")
    if args.plot:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for path, r in records:
            evals = full_size(r)
            ax.plot([e["t"] for e in evals], [e["loss"] for e in evals],
                    label=os.path.basename(path))
        ax.axhline(target, color="grey", ls="--", lw=1, label=f"target (start / {args.reduction:g})")
        ax.set_yscale("log")
        ax.set_xlabel("wall time since the run started (s), coarse scales included")
        ax.set_ylabel("loss at full size")
        ax.set_title("coarse-to-fine vs single-scale")
        ax.legend()
        fig.tight_layout()
        fig.savefig(args.plot, dpi=110)
        print(f"\nplot: {args.plot}")


if __name__ == "__main__":
    main()
