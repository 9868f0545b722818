#!/usr/bin/env python3
"""Winograd F(4x4, 3x3) against ONNX Runtime's own 3x3 Conv, per VGG layer shape: the
measurement behind export_models.WINOGRAD_MIN_CHANNELS (which convolutions the exported graphs
compute by Winograd). Both graphs are built by the exporter's own code, with random weights,
and timed in ONNX Runtime with neurotex's session options; the error column is the Winograd
output's largest difference from the Conv's, relative to the Conv output's largest value.

Usage: winograd_bench.py [--sizes 128,256,512] [--repeats 6]
"""

import argparse
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export_models as ex  # noqa: E402
from session_options import median_run, session_options  # noqa: E402

# (input channels, output channels, downsampling) of VGG-16's 3x3 convolutions, forward and
# adjoint (the adjoint of a Cin -> Cout conv is a Cout -> Cin conv at the same size).
SHAPES = [(64, 64, 1), (64, 128, 2), (128, 64, 2), (128, 128, 2), (128, 256, 4), (256, 128, 4),
          (256, 256, 4), (256, 512, 8), (512, 256, 8), (512, 512, 8), (512, 512, 16)]


def graph(cin: int, cout: int, winograd: bool, weights: np.ndarray, bias: np.ndarray):
    g = ex.Graph(None)
    w, b = g.const(weights, hint="w"), g.const(bias, hint="b")
    x = g.add_input("x", [1, cin, "h", "w"])
    if winograd:
        u = ex.winograd_kernel(g, w, "conv", (cin, cout))
        y = ex.winograd_conv3x3(g, x, u, [b], "conv", False, (cin, cout))
    else:
        y = ex.direct_conv3x3(g, x, [w, b], "conv", False)
    g.add_output(y, "y", [1, cout, "h", "w"])
    model = helper.make_model(helper.make_graph(g.nodes, "conv", g.inputs, g.outputs,
                                                initializer=list(g.inits.values())),
                              opset_imports=[helper.make_opsetid("", ex.OPSET)])
    model.ir_version = 9
    return ort.InferenceSession(model.SerializeToString(), session_options(),
                                providers=["CPUExecutionProvider"])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="128,256,512")
    ap.add_argument("--repeats", type=int, default=6)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"ONNX Runtime {ort.__version__}, {os.cpu_count()} CPUs; Winograd from "
          f"{ex.WINOGRAD_MIN_CHANNELS} input channels in the exported graphs\n")
    print("| image | conv | feature map | Conv ms | Winograd ms | speed-up | relative error |")
    print("|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        for cin, cout, down in SHAPES:
            side = size // down
            w = (rng.standard_normal((cout, cin, 3, 3)) * (2 / (9 * cin)) ** 0.5).astype(np.float32)
            b = rng.standard_normal(cout).astype(np.float32)
            feeds = {"x": rng.random((1, cin, side, side), dtype=np.float32)}
            t_conv, y_conv = median_run(graph(cin, cout, False, w, b), feeds, args.repeats)
            t_wino, y_wino = median_run(graph(cin, cout, True, w, b), feeds, args.repeats)
            error = np.abs(y_wino - y_conv).max() / np.abs(y_conv).max()
            print(f"| {size}² | {cin}->{cout} | {side}x{side} | {1e3 * t_conv:.1f} | "
                  f"{1e3 * t_wino:.1f} | {t_conv / t_wino:.2f}x | {error:.1e} |", flush=True)


if __name__ == "__main__":
    main()
