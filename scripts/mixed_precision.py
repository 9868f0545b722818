#!/usr/bin/env python3
"""Rewrite neurotex's Gram grad models in mixed precision (float16 network, float32 statistic),
for the CUDA provider, which runs a graph in the types it is written in (TensorRT's fp16 mode
needs TensorRT, which our GPU machines lack). An experiment: on an H200 with ONNX Runtime
1.31.1 it was no faster than float32 (0.020 s per evaluation at 1024² either way; the float32
graph's convolutions already reach ~65 TFLOP/s, most likely on the tensor cores as TF32) and
reached the same quality, so the shipped models stay float32 (README, "GPU";
benches/results/gpu-h200-*mixed16*).

  float16: the VGG convolutions, ReLUs and pools, the ReLU masks and the conv adjoints;
  float32: the preprocessing, the Gram matrices, the loss, the last (64 -> 3) adjoint and the
           image gradient. Inputs and outputs keep their types, so neurotex runs the result
           unchanged: NEUROTEX_MODELS=<out> neurotex synth ... --provider cuda.

Forward features fit float16 (largest |activation| on real photos ~8e3 < 65504), the backward
pass does not: the feature gradients span ~1e-10 (relu5_3) to ~6e2 (relu1_1) at a noise start.
Two scales keep them inside float16's range:
  - per layer, a fixed power of two c_l that brings every stage of the backward chain to the same
    magnitude (calibrated here on a noise image); the ratios c_prev/c_l are folded into the
    adjoint kernels (weights, not activations) and c_l into the Gram gradient's N x N scale;
  - per evaluation, a power of two S (dynamic loss scaling) that puts the largest feature
    gradient at 2^8, leaving 256x headroom below float16's maximum as the optimisation moves.
The image gradient is divided by S * c_relu1_1 in float32.

Usage: mixed_precision.py --models models.direct --out models.fp16
(models.direct: scripts/export_models.py --direct-conv --out models.direct; the default models
compute their deep convolutions by Winograd, whose transforms lose too much in float16)
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import shutil

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

from export_models import sha256_file

TARGET_EXPONENT = 8  # the largest scaled feature gradient is 2^8
HALF_OPS = ("n_conv_", "n_relu", "n_pool", "n_pos_", "n_mask_", "n_gpre_", "n_gin_", "n_gup_",
            "n_gsum_")
# The last adjoint (64 -> 3) and its mask stay float32: its output is the largest value in the
# chain (~14x its input) and it is cheap.
FLOAT_OVERRIDES = ("n_gpre_relu1_1_", "n_mask_relu1_1_", "n_pos_relu1_1_")


def is_half(node: onnx.NodeProto) -> bool:
    return node.name.startswith(HALF_OPS) and not node.name.startswith(FLOAT_OVERRIDES)


def layer_of(name: str, prefix: str) -> str:
    """n_gin_relu4_2_570 -> relu4_2"""
    rest = name[len(prefix):]
    return rest.rsplit("_", 1)[0]


def calibrate(model: onnx.ModelProto) -> dict[str, int]:
    """Exponent k_l of c_l = 2^k_l per backward stage, from a float32 run on a noise image."""
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    gpre = {layer_of(n.name, "n_gpre_"): n.output[0] for n in m.graph.node
            if n.name.startswith("n_gpre_")}
    for t in gpre.values():
        m.graph.output.append(helper.make_empty_tensor_value_info(t))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in sess.get_inputs():
        if i.name == "image":
            feeds[i.name] = rng.random((1, 3, 128, 128), np.float32)
        elif i.name == "layer_weights":
            feeds[i.name] = np.ones(i.shape, np.float32)
        elif i.name == "norm_exponents":
            feeds[i.name] = np.zeros(i.shape, np.float32)
        else:  # a target Gram matrix: a random positive semi-definite one
            n = i.shape[-1]
            a = rng.random((n, 4 * n), np.float32) * 10
            feeds[i.name] = (a @ a.T / (4 * n)).reshape(i.shape).astype(np.float32)
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    top = max(np.abs(out[t]).max() for t in gpre.values())
    return {l: int(round(math.log2(top / max(np.abs(out[t]).max(), 1e-30))))
            for l, t in gpre.items()}


def convert(path: str, layers: list[str]) -> onnx.ModelProto:
    """The mixed-precision model; float32 weights stay external data in the same folder."""
    if any(n.name.startswith("n_wu_") for n in onnx.load(path, load_external_data=False).graph.node):
        raise SystemExit(f"{path} computes its deep convolutions by Winograd, whose transforms "
                         "lose too much in float16: export the models with direct convolutions "
                         "first (scripts/export_models.py --direct-conv --out models.direct) and "
                         "convert those (--models models.direct)")
    k = calibrate(onnx.load(path))
    base = os.path.dirname(path)
    model = onnx.load(path, load_external_data=False)
    order = [l for l in layers if l in k]
    model = shape_inference.infer_shapes(model)
    g = model.graph
    elem = {v.name: v.type.tensor_type.elem_type for v in
            list(g.value_info) + list(g.input) + list(g.output)}
    inits = {t.name: t for t in g.initializer}
    for t in g.initializer:
        elem[t.name] = t.data_type
    producer_half = {o: is_half(n) for n in g.node for o in n.output}
    nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    cast_cache: dict[tuple[str, int], str] = {}

    def cast(name: str, to: int) -> str:
        if (name, to) not in cast_cache:
            half = to == TensorProto.FLOAT16
            out = f"{name}_{'h' if half else 'f'}"
            if name in inits and half:
                arr = numpy_helper.to_array(inits[name], base).astype(np.float16)
                new_inits.append(numpy_helper.from_array(arr, out))
            else:
                nodes.append(helper.make_node("Cast", [name], [out], name=f"cast_{out}", to=to))
            cast_cache[(name, to)] = out
        return cast_cache[(name, to)]

    def const(value: float, name: str) -> str:
        new_inits.append(numpy_helper.from_array(np.array(value, np.float32), name))
        elem[name] = TensorProto.FLOAT
        return name

    def float_node(op: str, inputs: list[str], out: str) -> onnx.NodeProto:
        elem[out] = TensorProto.FLOAT
        producer_half[out] = False
        node = helper.make_node(op, inputs, [out], name=f"mp_{out}")
        nodes.append(node)
        return node

    renamed: dict[str, str] = {}  # a tensor replaced by its rescaled version
    absmax = []
    layer = None
    for n in g.node:
        half = is_half(n)
        for i, x in enumerate(n.input):
            n.input[i] = renamed.get(x, x)
        if n.name.startswith("n_w_relu"):
            layer = layer_of(n.name, "n_w_")
        if n.name.startswith("n_gin_"):
            # the adjoint kernel maps stage l (units c_l) to the stage before (units c_prev)
            l = layer_of(n.name, "n_gin_")
            prev = order[order.index(l) - 1]
            ratio = const(2.0 ** (k[prev] - k[l]), f"mp_ratio_{l}")
            n.input[1] = float_node("Mul", [n.input[1], ratio], f"{n.input[1]}_r").output[0]
        if n.name.startswith("n_mask_") and half:
            for a in n.attribute:
                if a.name == "to":
                    a.i = TensorProto.FLOAT16
        for i, x in enumerate(n.input):
            if x == "" or elem.get(x) not in (TensorProto.FLOAT, TensorProto.FLOAT16):
                continue
            if n.op_type == "Resize" and i > 0:
                continue
            src_half = producer_half.get(x, False)
            if half and not src_half:
                n.input[i] = cast(x, TensorProto.FLOAT16)
            elif not half and src_half:
                n.input[i] = cast(x, TensorProto.FLOAT)
        nodes.append(n)
        out = n.output[0]
        if n.name.startswith("n_gdiff_scaled_"):  # the Gram gradient in units of c_l
            c = const(2.0 ** k[layer], f"mp_c_{layer}")
            renamed[out] = float_node("Mul", [out, c], f"{out}_c").output[0]
        if n.name.startswith("n_dfeat_"):  # and of S * c_l
            a = float_node("Abs", [out], f"{out}_abs").output[0]
            absmax.append(float_node("ReduceMax", [a], f"{out}_max").output[0])
            nodes[-1].attribute.append(helper.make_attribute("keepdims", 0))
            renamed[out] = float_node("Mul", [out, "mp_scale"], f"{out}_s").output[0]
        if n.name.startswith("n_gbgr_"):  # back to the image gradient's units
            renamed[out] = float_node("Div", [out, "mp_scale_c11"], f"{out}_u").output[0]
    # S = 2^floor(log2(2^TARGET / max_l |dfeat_l|))
    float_node("Max", absmax + [const(1e-30, "mp_tiny")], "mp_gmax")
    float_node("Div", [const(2.0 ** TARGET_EXPONENT, "mp_target"), "mp_gmax"], "mp_ratio")
    float_node("Log", ["mp_ratio"], "mp_ln")
    float_node("Div", ["mp_ln", const(math.log(2.0), "mp_ln2")], "mp_log2")
    float_node("Floor", ["mp_log2"], "mp_exp")
    float_node("Pow", [const(2.0, "mp_two"), "mp_exp"], "mp_scale")
    float_node("Mul", ["mp_scale", const(2.0 ** k["relu1_1"], "mp_c11")], "mp_scale_c11")
    del g.node[:]
    g.node.extend(topological(nodes, {i.name for i in g.input} | set(inits) |
                              {t.name for t in new_inits}))
    g.initializer.extend(new_inits)
    used = {x for n in g.node for x in n.input}
    kept = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(kept)
    del g.value_info[:]
    return model


def topological(nodes: list[onnx.NodeProto], available: set[str]) -> list[onnx.NodeProto]:
    """Nodes in an order where each runs after its inputs' producers (stable otherwise)."""
    done, pending, ready = [], list(nodes), set(available) | {""}
    while pending:
        rest = []
        for n in pending:
            if all(x in ready for x in n.input):
                done.append(n)
                ready.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise ValueError(f"cycle or missing input at {rest[0].name}")
        pending = rest
    return done


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="models")
    ap.add_argument("--out", default="models.fp16")
    ap.add_argument("--only", nargs="*", help="grad model files to convert (default: all)")
    ap.add_argument("--no-copy-others", action="store_true",
                    help="write only the converted models and the weights they read")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    manifest = json.load(open(os.path.join(args.models, "manifest.json")))
    for f in glob.glob(os.path.join(args.models, "*")):
        name = os.path.basename(f)
        dst = os.path.join(args.out, name)
        if args.no_copy_others and name != manifest["backbones"]["vgg16"]["weights"]["file"]:
            continue
        if not os.path.exists(dst):  # a copy: ONNX Runtime refuses external data via links
            shutil.copy(f, dst)
    variant = manifest["variants"]["gram"]
    layers = variant["layers"]
    for grad in variant["grad"]:
        if args.only and grad["file"] not in args.only:
            continue
        src = os.path.join(args.models, grad["file"])
        model = convert(src, layers)
        dst = os.path.join(args.out, grad["file"])
        onnx.save(model, dst)
        grad["sha256"] = sha256_file(dst)
        print("wrote", dst)
    man = os.path.join(args.out, "manifest.json")
    json.dump(manifest, open(man, "w"), indent=1)


if __name__ == "__main__":
    main()
