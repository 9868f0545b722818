#!/usr/bin/env python3
"""Plot a `neurotex bench --json` file: seconds per evaluation and GFLOP/s against size, per
layer set, with the yardstick conv's GFLOP/s as a line.

Usage: plot_bench.py benches/results/bench.json benches/results/bench.png
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    with open(sys.argv[1]) as f:
        bench = json.load(f)
    rows = [r for r in bench["rows"] if r["batch"] == 1]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for layer_set in dict.fromkeys(r["layer_set"] for r in rows):
        sel = [r for r in rows if r["layer_set"] == layer_set]
        sizes = [r["size"] for r in sel]
        a.plot(sizes, [r["seconds_per_evaluation"] for r in sel], "o-", label=layer_set)
        b.plot(sizes, [r["gflops"] for r in sel], "o-", label=layer_set)
    if bench.get("reference_conv_gflops"):
        b.axhline(bench["reference_conv_gflops"], color="grey", ls="--",
                  label="one 3x3 conv (yardstick)")
    a.set(xscale="log", yscale="log", xlabel="image side (px)", ylabel="s per evaluation",
          title="loss + gradient")
    b.set(xscale="log", xlabel="image side (px)", ylabel="conv GFLOP/s", ylim=(0, None),
          title=f"{bench['provider']}, {bench['cpus']} CPUs, ORT {bench['onnxruntime']}")
    for ax in (a, b):
        ax.legend()
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print(sys.argv[2])


if __name__ == "__main__":
    main()
