"""The grad models' Winograd convolutions (blocks 3-5 from 16x16 maps, scripts/export_models.py)
against the same graphs with every conv as ONNX Conv: loss, every layer's loss and the image
gradient agree to float32 rounding, on sizes where the Winograd branch runs (including maps
that are not whole 4x4 tiles) and with both paddings. The Conv graphs themselves are checked
against finite differences (tests/gradient.rs, whose 32x32 images take the Conv branch) and
their forward pass against an independent numpy one (test_models.py)."""

import os

import numpy as np
import onnxruntime as ort
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models")


def session(folder, name):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(os.path.join(folder, name), options,
                                providers=["CPUExecutionProvider"])


def run(folder, variant, image, exemplar, deep_only):
    """(loss, layer losses, gradient) of `image` against the statistics of `exemplar`; with
    deep_only, blocks 1-2 weighted 0, so that the gradient comes through Winograd's adjoints."""
    stats = session(folder, f"{variant}.stats.onnx")
    targets = dict(zip([o.name for o in stats.get_outputs()], stats.run(None, {"image": exemplar})))
    grad = session(folder, f"{variant}.grad.onnx")
    feeds = {"image": image}
    for i in grad.get_inputs():
        if i.name.startswith("target_"):
            feeds[i.name] = targets[f"{variant.split('.')[0]}_{i.name[len('target_'):]}"]
        elif i.name == "layer_weights":
            feeds[i.name] = np.ones(i.shape, np.float32)
            if deep_only:
                feeds[i.name][..., :4] = 0.0
        elif i.name == "norm_exponents":
            feeds[i.name] = np.zeros(i.shape, np.float32)
    return grad.run(None, feeds)


# 144x208: block 3 at 36x52 and block 4 at 18x26 (Winograd; 18 and 26 are not whole tiles),
# block 5 at 9x13 (Conv). 256x256: blocks 3-5 all Winograd.
@pytest.mark.parametrize("variant", ["gram", "gram.tile"])
@pytest.mark.parametrize("height,width", [(144, 208), (256, 256)])
@pytest.mark.parametrize("deep_only", [False, True])
def test_winograd_graph_matches_conv_graph(direct_models, variant, height, width, deep_only):
    rng = np.random.default_rng(7)
    image = rng.random((1, 3, height, width), np.float32)
    # The exemplar: a smoothed image of the same size, so that G - Ĝ is far from G.
    exemplar = rng.random((1, 3, height, width), np.float32)
    exemplar = (exemplar + np.roll(exemplar, 1, 2) + np.roll(exemplar, 1, 3)) / 3
    loss_w, layers_w, grad_w = run(MODELS, variant, image, exemplar, deep_only)
    loss_c, layers_c, grad_c = run(direct_models, variant, image, exemplar, deep_only)
    assert abs(loss_w[0] / loss_c[0] - 1) < 1e-5, (loss_w, loss_c)
    np.testing.assert_allclose(layers_w, layers_c, rtol=1e-4)
    error = np.linalg.norm(grad_w - grad_c) / np.linalg.norm(grad_c)
    print(f"{variant} {height}x{width} deep_only={deep_only}: loss {loss_w[0]:.6e} vs {loss_c[0]:.6e}, "
          f"gradient relative error {error:.1e}")
    assert error < 1e-4
    assert error > 0, "identical bits: the Winograd branch did not run"
