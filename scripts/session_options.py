#!/usr/bin/env python3
"""ONNX Runtime session options against the time of one evaluation (loss + input gradient).

Times models/<model> (default: gram.grad.onnx, all 13 VGG-16 layers) at --size with the same
ONNX Runtime library neurotex loads, one option changed at a time from neurotex's own settings
(src/runtime.rs: all graph optimisations, every core, arena on, memory pattern off, sequential).
Prints a Markdown table: median seconds over --repeats runs after a warm-up.

Usage: session_options.py [--model gram.grad.onnx] [--size 256] [--repeats 5]
"""

import argparse
import os
import statistics
import time

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def feeds_for(session, size, rng):
    feeds = {}
    for i in session.get_inputs():
        shape = [1, 3, size, size] if i.name == "image" else [
            d if isinstance(d, int) else 1 for d in i.shape]
        feeds[i.name] = rng.random(shape, dtype=np.float32)
    return feeds


def session_options(**opts):
    """neurotex's settings (src/runtime.rs), with the named ones changed."""
    so = ort.SessionOptions()
    so.graph_optimization_level = opts.get("level", ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    so.intra_op_num_threads = opts.get("threads", 0)
    so.enable_mem_pattern = opts.get("mem_pattern", False)
    so.enable_cpu_mem_arena = opts.get("arena", True)
    so.execution_mode = opts.get("mode", ort.ExecutionMode.ORT_SEQUENTIAL)
    return so


def time_config(path, size, repeats, **opts):
    so = session_options(**opts)
    t0 = time.perf_counter()
    session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    load = time.perf_counter() - t0
    feeds = feeds_for(session, size, np.random.default_rng(0))
    return median_run(session, feeds, repeats)[0], load


def median_run(session, feeds, repeats):
    """(median seconds of `repeats` runs after a warm-up run, the first output)."""
    out = session.run(None, feeds)[0]
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        session.run(None, feeds)
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", default="gram.grad.onnx")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    path = os.path.join(ROOT, "models", args.model)
    level = ort.GraphOptimizationLevel
    configs = [
        ("neurotex default (all optimisations, all cores)", {}),
        ("graph optimisation: disabled", {"level": level.ORT_DISABLE_ALL}),
        ("graph optimisation: basic", {"level": level.ORT_ENABLE_BASIC}),
        ("graph optimisation: extended", {"level": level.ORT_ENABLE_EXTENDED}),
        ("1 thread", {"threads": 1}),
        ("memory pattern on (ONNX Runtime's default; grows memory in long runs)",
         {"mem_pattern": True}),
        ("CPU memory arena off", {"arena": False}),
        ("parallel execution mode", {"mode": ort.ExecutionMode.ORT_PARALLEL}),
        ("neurotex default, again (drift check)", {}),
    ]
    print(f"{args.model} at {args.size}², ONNX Runtime {ort.__version__}, "
          f"{os.cpu_count()} CPUs, median of {args.repeats}\n")
    print("| session options | s/eval | vs default | session load (s) |")
    print("|---|---|---|---|")
    base = None
    for name, opts in configs:
        t, load = time_config(path, args.size, args.repeats, **opts)
        base = base or t
        print(f"| {name} | {t:.3f} | {t / base:.2f}x | {load:.2f} |", flush=True)


if __name__ == "__main__":
    main()
