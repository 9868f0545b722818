#!/usr/bin/env python3
"""Where the time of one evaluation goes: ONNX Runtime's own profiler on a grad model, per
operator type, against the yardstick (one 256->256 3x3 conv at 64x64) timed in the same run.

It answers "how far can this graph get towards the yardstick": the 3x3 convolutions are
compared with the yardstick's rate, and the rest (Gram products, ReLU masks, layout reorders,
upsampling) is what separates the whole evaluation from it. The Gram products are real work that
the conv-only FLOP count of `neurotex bench` leaves out (4 N² M per layer: G = F Fᵀ and (G − Ĝ) F).

Usage: profile_graph.py [--variant gram] [--model FILE] [--size 256] [--repeats 4] [--nodes N]
"""

import argparse
import collections
import json
import os
import statistics
import tempfile
import time

import numpy as np
import onnxruntime as ort

from session_options import feeds_for, session_options

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def options(profile_dir=None):
    so = session_options()
    if profile_dir:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(profile_dir, "profile")
    return so


def yardstick_gflops(manifest, repeats):
    ref = manifest["reference_conv"]
    session = ort.InferenceSession(os.path.join(ROOT, "models", ref["file"]), options(),
                                   providers=["CPUExecutionProvider"])
    x = {ref["input"]: np.random.default_rng(0).random(ref["shape"], dtype=np.float32)}
    session.run(None, x)
    times = []
    for _ in range(max(10, 5 * repeats)):
        t = time.perf_counter()
        session.run(None, x)
        times.append(time.perf_counter() - t)
    return ref["flops"] / statistics.median(times) / 1e9


def flops(variant, matched, size):
    """(3x3 conv FLOPs forward + input gradient, Gram FLOPs forward + backward of the matched
    layers) for every layer up to the deepest matched one."""
    conv = gram = 0
    cin = 3
    network = variant["layers"]
    for name in network[:network.index(matched[-1]) + 1]:
        n, down = variant["channels"][name], variant["scale"][name]
        m = (size // down) ** 2
        conv += 2 * (2 * 9 * cin * n * m)
        gram += 2 * (2 * n * n * m) if name in matched else 0
        cin = n
    return conv, gram


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--variant", default="gram")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=4)
    ap.add_argument("--model", help="a grad model of the variant (file name in models/); "
                    "default: the one with the most layers")
    ap.add_argument("--nodes", type=int, default=0, help="also list the N slowest nodes")
    args = ap.parse_args()
    manifest = json.load(open(os.path.join(ROOT, "models", "manifest.json")))
    variant = manifest["variants"][args.variant]
    if args.model:
        files = [g["file"] for g in variant["grad"]]
        if args.model not in files:
            ap.error(f"--model {args.model} is not a grad model of {args.variant}: "
                     f"choose one of {', '.join(files)}")
        model = variant["grad"][files.index(args.model)]
    else:
        model = max(variant["grad"], key=lambda g: len(g["layers"]))
    with tempfile.TemporaryDirectory() as tmp:
        session = ort.InferenceSession(os.path.join(ROOT, "models", model["file"]), options(tmp),
                                       providers=["CPUExecutionProvider"])
        feeds = feeds_for(session, args.size, np.random.default_rng(0))
        for _ in range(2 + args.repeats):
            session.run(None, feeds)
        events = json.load(open(session.end_profiling()))
    runs = [e for e in events if e.get("cat") == "Session" and e["name"] == "model_run"][2:]
    first = runs[0]["ts"]
    per_op = collections.defaultdict(float)
    per_node = collections.defaultdict(float)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time") and e["ts"] >= first:
            per_op[e["args"]["op_name"]] += e["dur"] / 1e6 / len(runs)
            per_node[(e["args"]["op_name"], e["name"][:-len("_kernel_time")])] += (
                e["dur"] / 1e6 / len(runs))
    run_s = statistics.median(e["dur"] / 1e6 for e in runs)
    yard = yardstick_gflops(manifest, args.repeats)
    conv_flops, gram_flops = flops(variant, model["layers"], args.size)
    kernels = sum(per_op.values())
    print(f"{model['file']} at {args.size}², ONNX Runtime {ort.__version__}, {os.cpu_count()} CPUs, "
          f"{len(runs)} profiled runs (median {run_s:.3f} s; the profiler adds a little)\n")
    print("| operator | s/eval | share |")
    print("|---|---|---|")
    for op, s in sorted(per_op.items(), key=lambda kv: -kv[1]):
        if s / kernels >= 0.002:
            print(f"| {op} | {s:.4f} | {100 * s / kernels:.1f}% |")
    if args.nodes:
        print(f"\n| slowest nodes | op | s/eval |\n|---|---|---|")
        for (op, node), s in sorted(per_node.items(), key=lambda kv: -kv[1])[:args.nodes]:
            print(f"| {node} | {op} | {s:.4f} |")
    conv_s = per_op.get("Conv", 0.0) + per_op.get("ConvTranspose", 0.0)
    gemm_s = per_op.get("MatMul", 0.0) + per_op.get("FusedMatMul", 0.0) + per_op.get("Gemm", 0.0)
    print(f"\nyardstick (same run): {yard:.1f} GFLOP/s")
    print(f"3x3 convolutions: {conv_flops / 1e9:.1f} GFLOP in {conv_s:.3f} s = "
          f"{conv_flops / conv_s / 1e9:.1f} GFLOP/s = {100 * conv_flops / conv_s / 1e9 / yard:.0f}% "
          f"of the yardstick")
    print(f"whole evaluation (sum of kernels): {kernels:.3f} s = "
          f"{100 * conv_flops / kernels / 1e9 / yard:.0f}% of the yardstick, counting conv FLOPs")
    if gemm_s:
        bound = conv_flops / (conv_flops + gram_flops)
        print(f"Gram products: {gram_flops / 1e9:.1f} GFLOP in {gemm_s:.3f} s = "
              f"{gram_flops / gemm_s / 1e9:.1f} GFLOP/s")
        print(f"bound with every other operator free and convs and Gram products at the "
              f"yardstick's rate: {100 * bound:.0f}% (conv FLOPs / all FLOPs)")


if __name__ == "__main__":
    main()
