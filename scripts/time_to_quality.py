#!/usr/bin/env python3
"""Time to a quality target, from run records of the same exemplar, seed and size.

The target is a loss at full size: the full-size noise start's loss divided by --reduction
(the single-scale record's first evaluation is that noise; coarse-to-fine runs are measured
against the same number). For each record: wall time, evaluations and cost (see `costs`) until
the first full-size evaluation at or below the target, the final loss, and the statistic
distance to the exemplar. A pass at the start of the last scale (src/passes.rs) leaves the
deepest layers out of its loss; the "with passes" column also counts the evaluations of the pass
that leaves out only the deepest block, adding that block's terms as the first full evaluation
after it measured them (an estimate, checked: pebbles' image at the estimated crossing has a
full loss of 1.4797e5, under the target 1.4868e5; relu5_1's term 15.3 there, 15.0 after).
Writes a Markdown table to stdout and, with --plot, the full-size loss against time.

Usage: time_to_quality.py out/c2f/pebbles_s1.json out/c2f/pebbles_s2.json ... [--plot x.png]
"""

import argparse
import json
import os


def load(path):
    with open(path) as f:
        return json.load(f)


def pass_of(e):
    """The deepest layer of the pass an evaluation belongs to (None: the full loss). Records
    from before the second pass mark the shallow pass with "shallow": true."""
    return e.get("pass") or ("relu3_1" if e.get("shallow") else None)


def full_size(record):
    """Evaluations of the full loss at full size (a pass's loss leaves layers out)."""
    last = max(e.get("scale", 0) for e in record["evaluations"])
    return [e for e in record["evaluations"]
            if e.get("scale", 0) == last and not pass_of(e)]


# Output channels of the 3x3 convolutions per block, and pooling between blocks.
CONVS = {"vgg16": [2, 2, 3, 3, 3], "vgg19": [2, 2, 4, 4, 4]}


MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models",
                        "manifest.json")


def conv_flops(backbone, layer, manifest=MANIFEST):
    """Forward 3x3-conv multiply-adds up to `layer`, per input pixel, as the exporter wrote
    them into the models' manifest (`conv_macs_per_pixel`)."""
    with open(manifest) as f:
        variants = json.load(f)["variants"]
    variant = next(v for v in variants.values() if v["backbone"] == backbone)
    return variant["conv_macs_per_pixel"][layer]


def costs(record):
    """Running cost after each evaluation, in full-size evaluations: a coarse one counts by its
    pixels relative to the full size (a 128² one as 1/4 of a 256² one), a pass's by the share of
    the convolutions its graph runs (up to relu3_1: 0.39 of a graph up to relu5_1; up to
    relu4_1: 0.71; close to the measured times). Unlike wall time it does not depend on how
    busy the machine was."""
    sizes = [s["width"] * s["height"] for s in record["scales"]]
    backbone = record["settings"]["backbone"]
    full = conv_flops(backbone, record["layers"][-1])
    total, out = 0.0, []
    for e in record["evaluations"]:
        end = pass_of(e)
        share = conv_flops(backbone, end) / full if end else 1.0
        total += sizes[e.get("scale", 0)] / sizes[-1] * share
        out.append(total)
    return out


def network_index(backbone, layer):
    """Position of relu<b>_<c> among the backbone's conv layers."""
    block, conv = (int(x) for x in layer[4:].split("_"))
    return sum(CONVS[backbone][:block - 1]) + conv - 1


def loss_columns(record, full_width):
    """Column of each of the record's layers in an evaluation's layer_losses. Records hold one
    column per layer matched (the record's layers, in order; a pass's are the first of them);
    records from before the per-block models held one per network layer up to the deepest, and
    had `full_width` (the columns of a full evaluation) larger than the layers chosen."""
    if full_width == len(record["layers"]):
        return {layer: i for i, layer in enumerate(record["layers"])}
    backbone = record["settings"]["backbone"]
    return {layer: network_index(backbone, layer) for layer in record["layers"]}


def with_passes(record, target):
    """(index, t) of the first evaluation of the last scale at or below target, counting those
    of a pass that leaves out only the deepest block's layers, with each left-out term taken
    from the first later evaluation that has it. Not the shallow pass's: the relu4_1 term it
    leaves out moves during it (grass: 1.08e5 at its end, far less once relu4_1 runs)."""
    evals = record["evaluations"]
    deepest_block = record["layers"][-1].split("_")[0]
    last = max(e.get("scale", 0) for e in evals)
    at_last = [(i, e) for i, e in enumerate(evals) if e.get("scale", 0) == last]
    full_width = max(len(e["layer_losses"]) for _, e in at_last)
    column = loss_columns(record, full_width)
    for k, (i, e) in enumerate(at_last):
        losses = e["layer_losses"]
        left_out_layers = [l for l in record["layers"] if column[l] >= len(losses)]
        if any(l.split("_")[0] != deepest_block for l in left_out_layers):
            continue
        later = [f["layer_losses"] for _, f in at_last[k + 1:]]
        left_out = sum(next(f[j] for f in later if len(f) > j)
                       for j in (column[l] for l in left_out_layers))
        if e["loss"] + left_out <= target:
            return i, e["t"]
    return None


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
          "with passes: time (cost) | final loss | final distance | total time (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    base = None
    for path, r in records:
        evals = r["evaluations"]
        scales = max(e.get("scale", 0) for e in evals) + 1
        hit = next(((i, e) for i, e in enumerate(evals)
                    if e.get("scale", 0) == scales - 1 and not pass_of(e)
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
        early = with_passes(r, target)
        p = f"{early[1]:.1f} ({costs(r)[early[0]]:.1f})" if early else "not reached"
        if early and base and scales > 1:
            p += f" {base / early[1]:.1f}x"
        print(f"| {os.path.basename(path)} | {scales} | {t} | {n} | {c} | {p} | "
              f"{r['best_loss']:.4e} | {r['final_distance']:.4f} | {r['optimize_seconds']:.1f} |")
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
