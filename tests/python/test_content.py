"""The content-term models (`gram.content*`, `sorted.content*`: style transfer) against the float64
numpy reference of test_models.py: the features their stats models output, the content term's
loss, and the input gradient of style and content terms together by central finite
differences. With every content weight zero they must be the plain models."""

import numpy as np
import pytest

from test_gradient_fd import assert_gradient_matches, reference_loss as reference_gram_loss, session
from test_models import MODELS, reference_features

PADDING_TAGS = {"zero": "", "circular": ".tile", "reflect": ".reflect"}


def reference_content_loss(rgb, content, weights, padding):
    """Σ_l c_l / (2 N M) Σ (F − P)², P the content image's features."""
    total = 0.0
    for layer, f in reference_features(rgb, "vgg16", padding).items():
        if weights.get(layer, 0.0):
            n, m = f.shape
            total += weights[layer] / (2.0 * n * m) * np.sum((f - content[layer]) ** 2)
    return total


@pytest.mark.parametrize("padding", ["zero", "reflect"])
def test_feature_outputs_match_numpy(padding):
    rng = np.random.default_rng(5)
    image = rng.random((1, 3, 32, 48), dtype=np.float32)
    stats = session(MODELS, f"gram.content{PADDING_TAGS[padding]}.stats.onnx")
    got = dict(zip([o.name for o in stats.get_outputs()], stats.run(None, {"image": image})))
    for layer, want in reference_features(image[0], "vgg16", padding).items():
        f = got[f"features_{layer}"][0].astype(np.float64).reshape(want.shape)
        rel = np.linalg.norm(f - want) / np.linalg.norm(want)
        assert rel < 1e-4, f"{layer}: relative error {rel}"


def zero_content_feeds(sess, depth):
    feeds = {"content_weights": np.zeros(depth, np.float32)}
    feeds.update({i.name: np.zeros((1, 1, 1, 1), np.float32)
                  for i in sess.get_inputs() if i.name.startswith("content_relu")})
    return feeds


@pytest.mark.parametrize("statistic,padding", [("gram", "zero"), ("gram", "circular"),
                                               ("sorted", "reflect")])
def test_zero_content_weights_give_the_plain_models(statistic, padding):
    rng = np.random.default_rng(6)
    image = rng.random((1, 3, 32, 32), dtype=np.float32)
    exemplar = rng.random((1, 3, 32, 32), dtype=np.float32)
    tag = PADDING_TAGS[padding]
    plain = session(MODELS, f"{statistic}{tag}.grad.upto_relu3_1.onnx")
    content = session(MODELS, f"{statistic}.content{tag}.grad.upto_relu3_1.onnx")
    stats = session(MODELS, f"{statistic}{tag}.stats.onnx")
    targets = dict(zip([o.name for o in stats.get_outputs()], stats.run(None, {"image": exemplar})))
    feeds = {"image": image}
    for i in plain.get_inputs():
        if i.name.startswith("target_"):
            feeds[i.name] = targets[f"{statistic}_{i.name[7:]}"]
    names = [i.name for i in plain.get_inputs() if i.name.startswith("target_")]
    feeds["layer_weights"] = rng.uniform(0.5, 2.0, len(names)).astype(np.float32)
    if statistic == "gram":
        feeds["norm_exponents"] = np.zeros(2, np.float32)
    loss_p, layers_p, grad_p = plain.run(["loss", "layer_losses", "grad"], feeds)
    feeds.update(zero_content_feeds(content, 5))
    loss_c, layers_c, grad_c, closs = content.run(
        ["loss", "layer_losses", "grad", "content_loss"], feeds)
    assert closs[0] == 0.0
    np.testing.assert_allclose(loss_c, loss_p, rtol=1e-6)
    np.testing.assert_allclose(layers_c, layers_p, rtol=1e-6)
    assert np.linalg.norm(grad_c - grad_p) / np.linalg.norm(grad_p) < 1e-6


@pytest.mark.parametrize("padding", ["zero", "reflect"])
def test_style_and_content_gradient_matches_finite_differences(padding):
    rng = np.random.default_rng(22)
    h, w = 32, 32
    image = rng.random((1, 3, h, w), dtype=np.float32)
    exemplar = rng.random((3, h, w))
    exemplar = (exemplar + np.roll(exemplar, 1, 1) + np.roll(exemplar, 1, 2)) / 3
    photo = rng.random((3, h, w))
    feats = reference_features(exemplar, "vgg16", padding)
    grams = {k: (f @ f.T / f.shape[1]).astype(np.float32) for k, f in feats.items()}
    content = {k: f.astype(np.float32) for k, f in reference_features(photo, "vgg16",
                                                                      padding).items()}
    key = "gram.content" + PADDING_TAGS[padding]
    # Style on relu1_1, relu2_1, relu3_1 (per-block's prefix); content at relu2_2 and relu3_1.
    sess = session(MODELS, f"{key}.grad.blocks_upto_relu3_1.onnx")
    layers = [i.name[len("target_"):] for i in sess.get_inputs() if i.name.startswith("target_")]
    assert layers == ["relu1_1", "relu2_1", "relu3_1"]
    forward = [i.name[len("content_"):] for i in sess.get_inputs()
               if i.name.startswith("content_relu")]
    layer_weights = rng.uniform(0.5, 2.0, len(layers)).astype(np.float32)
    content_weights = {"relu2_2": 1000.0, "relu3_1": 5000.0}
    feeds = {"image": image, "layer_weights": layer_weights,
             "norm_exponents": np.zeros(2, np.float32),
             "content_weights": np.array([content_weights.get(k, 0.0) for k in forward],
                                         np.float32)}
    feeds.update({f"target_{k}": grams[k][None] for k in layers})
    for k in forward:
        n = content[k].shape[0]
        side = h // 2 ** (int(k[4]) - 1)
        feeds[f"content_{k}"] = (content[k].reshape(1, n, side, side) if k in content_weights
                                 else np.zeros((1, 1, 1, 1), np.float32))
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    grad = out["grad"][0].astype(np.float64)

    weights = {k: float(v) for k, v in zip(layers, layer_weights)}
    grams64 = {k: g.astype(np.float64) for k, g in grams.items()}
    content64 = {k: c.astype(np.float64) for k, c in content.items()}

    def total(x):
        return (reference_gram_loss(x, grams64, weights, "vgg16", padding)
                + reference_content_loss(x, content64, content_weights, padding))

    x0 = image[0].astype(np.float64)
    closs = reference_content_loss(x0, content64, content_weights, padding)
    np.testing.assert_allclose(float(out["content_loss"][0]), closs, rtol=1e-3)
    np.testing.assert_allclose(float(out["loss"][0]), total(x0), rtol=1e-3)
    assert closs > 0.2 * float(out["loss"][0]), "the content term must weigh in the check"
    assert_gradient_matches(key, grad, total, x0, rng, interior=4)
