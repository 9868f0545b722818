"""The grad models' input gradient against central finite differences of an independent float64
numpy loss (test_models.py's im2col forward pass, with np.pad's zero, wrap or reflect padding).

The pixels checked include the image's corners and edges and the pixels next to them: there the
padding's adjoint matters (with reflect padding, the gradient of the mirrored border rows and
columns is folded back onto rows and columns 1 and n-2; with circular padding, it wraps). The
32x32 images take the ONNX Conv branch of every conv (their maps are smaller than Winograd's
minimum side); the 64x64 one, with blocks 1-2 weighted 0, sends the gradient through Winograd's
adjoints of block 3 (16x16 maps), including reflect padding's "full" one. The reflect graphs are
also compared with their --direct-conv export at sizes where Winograd runs everywhere it can.
"""

import os

import numpy as np
import onnxruntime as ort
import pytest

from test_models import MODELS, reference_features

EPS = 1e-5  # in image units ([0, 1]); float64 central differences


def session(folder, name):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 2
    return ort.InferenceSession(os.path.join(folder, name), options,
                                providers=["CPUExecutionProvider"])


def variant_key(backbone, padding):
    return ("gram" + ("" if backbone == "vgg16" else f".{backbone}")
            + {"zero": "", "circular": ".tile", "reflect": ".reflect"}[padding])


def reference_loss(image, targets, weights, backbone, padding):
    """Σ_l w_l / (4 N²) Σ (F Fᵀ/M − Ĝ)²: the Gram loss with the "paper" normalisation."""
    total = 0.0
    for layer, f in reference_features(image, backbone, padding).items():
        if layer in weights:
            n, m = f.shape
            total += weights[layer] / (4.0 * n * n) * np.sum((f @ f.T / m - targets[layer]) ** 2)
    return total


def edge_pixels(h, w, rng, interior=2):
    """Corners, a pixel of each edge, the pixels diagonally next to the corners, a few inside."""
    pixels = [(0, 0), (0, w - 1), (h - 1, 0), (h - 1, w - 1),
              (0, int(rng.integers(2, w - 2))), (h - 1, int(rng.integers(2, w - 2))),
              (int(rng.integers(2, h - 2)), 0), (int(rng.integers(2, h - 2)), w - 1),
              (1, 1), (1, w - 2), (h - 2, 1), (h - 2, w - 2)]
    pixels += [(int(rng.integers(2, h - 2)), int(rng.integers(2, w - 2))) for _ in range(interior)]
    return pixels


def assert_gradient_matches(label, grad, loss_of, x0, rng, interior=2):
    """The graph's gradient `grad` [3,H,W] against central differences of `loss_of` (a float64
    image -> its loss) at `x0`, on corner, edge and `interior` inner pixels of random channels:
    |graph − fd| ≤ 1e-4 (rms gradient + |fd|) each."""
    _, h, w = x0.shape
    scale = np.sqrt(np.mean(grad ** 2))
    rows = []
    for y, x in edge_pixels(h, w, rng, interior):
        c = int(rng.integers(0, 3))
        fd = []
        for sign in (1.0, -1.0):
            xp = x0.copy()
            xp[c, y, x] += sign * EPS
            fd.append(loss_of(xp))
        rows.append((c, y, x, grad[c, y, x], (fd[0] - fd[1]) / (2 * EPS)))
    report = "\n".join(f"  c{c} ({y:2d},{x:2d}): graph {g:+.6e}  fd {d:+.6e}  "
                       f"error/rms {abs(g - d) / scale:.1e}" for c, y, x, g, d in rows)
    print(f"{label}: rms gradient {scale:.3e}\n{report}")
    for c, y, x, g, d in rows:
        assert abs(g - d) <= 1e-4 * (scale + abs(d)), \
            f"{label} c{c} ({y},{x}): graph {g:.6e} vs finite difference {d:.6e}\n{report}"


def check_gradient(backbone, padding, size, deep_only, seed):
    rng = np.random.default_rng(seed)
    h, w = size
    image = rng.random((1, 3, h, w), dtype=np.float32)
    exemplar = rng.random((3, h, w))
    exemplar = (exemplar + np.roll(exemplar, 1, 1) + np.roll(exemplar, 1, 2)) / 3
    targets = {k: g.astype(np.float32) for k, g in
               ((k, f @ f.T / f.shape[1])
                for k, f in reference_features(exemplar, backbone, padding).items())}
    key = variant_key(backbone, padding)
    sess = session(MODELS, f"{key}.grad.onnx")
    layers = [i.name[len("target_"):] for i in sess.get_inputs() if i.name.startswith("target_")]
    layer_weights = rng.uniform(0.5, 2.0, len(layers)).astype(np.float32)
    if deep_only:
        layer_weights[:4] = 0.0  # blocks 1-2
    feeds = {"image": image, "layer_weights": layer_weights,
             "norm_exponents": np.zeros(2, np.float32)}
    feeds.update({f"target_{k}": targets[k][None] for k in layers})
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    grad = out["grad"][0].astype(np.float64)

    weights = {k: float(v) for k, v in zip(layers, layer_weights) if v != 0.0}
    targets64 = {k: t.astype(np.float64) for k, t in targets.items()}
    x0 = image[0].astype(np.float64)
    loss0 = reference_loss(x0, targets64, weights, backbone, padding)
    np.testing.assert_allclose(float(out["loss"][0]), loss0, rtol=1e-3)
    label = f"{key} {h}x{w}{' deep only' if deep_only else ''}"
    assert_gradient_matches(
        label, grad, lambda xp: reference_loss(xp, targets64, weights, backbone, padding), x0, rng)


@pytest.mark.parametrize("padding", ["zero", "circular", "reflect"])
def test_gram_gradient_matches_finite_differences(padding):
    check_gradient("vgg16", padding, (32, 32), deep_only=False, seed=11)


def test_gram_vgg19_reflect_gradient_matches_finite_differences():
    check_gradient("vgg19", "reflect", (32, 48), deep_only=False, seed=12)


def test_gram_reflect_gradient_through_winograd_matches_finite_differences():
    check_gradient("vgg16", "reflect", (64, 64), deep_only=True, seed=13)


def run_grad(folder, key, image, exemplar, deep_only):
    stats = session(folder, f"{key}.stats.onnx")
    targets = dict(zip([o.name for o in stats.get_outputs()], stats.run(None, {"image": exemplar})))
    grad = session(folder, f"{key}.grad.onnx")
    feeds = {"image": image, "norm_exponents": np.zeros(2, np.float32)}
    for i in grad.get_inputs():
        if i.name.startswith("target_"):
            feeds[i.name] = targets[f"gram_{i.name[len('target_'):]}"]
        elif i.name == "layer_weights":
            feeds[i.name] = np.ones(i.shape, np.float32)
            if deep_only:
                feeds[i.name][:4] = 0.0
    return grad.run(None, feeds)


# As test_winograd.py: 144x208 has maps that are not whole 4x4 tiles (block 4 at 18x26, whose
# reflect adjoint's "full" output is 20x28), 256x256 runs Winograd on blocks 3-5.
@pytest.mark.parametrize("height,width", [(144, 208), (256, 256)])
@pytest.mark.parametrize("deep_only", [False, True])
def test_reflect_winograd_graph_matches_conv_graph(direct_models, height, width, deep_only):
    rng = np.random.default_rng(7)
    image = rng.random((1, 3, height, width), np.float32)
    exemplar = rng.random((1, 3, height, width), np.float32)
    exemplar = (exemplar + np.roll(exemplar, 1, 2) + np.roll(exemplar, 1, 3)) / 3
    loss_w, layers_w, grad_w = run_grad(MODELS, "gram.reflect", image, exemplar, deep_only)
    loss_c, layers_c, grad_c = run_grad(direct_models, "gram.reflect", image, exemplar, deep_only)
    assert abs(loss_w[0] / loss_c[0] - 1) < 1e-5, (loss_w, loss_c)
    np.testing.assert_allclose(layers_w, layers_c, rtol=1e-4)
    error = np.linalg.norm(grad_w - grad_c) / np.linalg.norm(grad_c)
    print(f"gram.reflect {height}x{width} deep_only={deep_only}: "
          f"gradient relative error {error:.1e}")
    assert error < 1e-4
    assert error > 0, "identical bits: the Winograd branch did not run"
