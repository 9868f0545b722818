"""The region-Gram models (`gram.regions*`: Gram matrices of K weighted regions, for fill, expand
and guided synthesis) against the float64 numpy reference of test_models.py: their statistics,
their loss, and their input gradient by central finite differences, with soft, overlapping maps
and a region that is empty at the deepest layers. With one region of all ones they must be the
plain Gram models."""

import numpy as np
import pytest

from test_gradient_fd import assert_gradient_matches, session
from test_models import MODELS, reference_features

PADDING_TAGS = {"zero": "", "circular": ".tile", "reflect": ".reflect"}


def pooled(maps, depth_blocks):
    """[K,H,W] maps average-pooled 2x2 `depth_blocks` times, as the network pools."""
    for _ in range(depth_blocks):
        k, h, w = maps.shape
        maps = maps[:, :h // 2 * 2, :w // 2 * 2].reshape(k, h // 2, 2, w // 2, 2).mean(axis=(2, 4))
    return maps


def reference_region_grams(rgb, maps, padding):
    """{layer: [K,N,N]}: G_k = F D_k Fᵀ / Σ D_k, in float64."""
    out = {}
    for layer, f in reference_features(rgb, "vgg16", padding).items():
        block = int(layer[4])
        d = pooled(maps.astype(np.float64), block - 1).reshape(maps.shape[0], -1)
        out[layer] = np.stack([(f * dk) @ f.T / max(dk.sum(), 1e-6) for dk in d])
    return out


def reference_loss(rgb, maps, targets, weights, padding):
    total = 0.0
    for layer, grams in reference_region_grams(rgb, maps, padding).items():
        if layer in weights:
            n = grams.shape[1]
            total += weights[layer] / (4.0 * n * n) * np.sum((grams - targets[layer]) ** 2)
    return total


def soft_maps(h, w, rng):
    """Two overlapping soft regions, and a third that is empty from block 4 down (a 4x4 spot
    that pooling spreads thin, but not to nothing, then a corner pixel: 1/64 of a position)."""
    yy, xx = np.mgrid[0:h, 0:w]
    left = 1.0 / (1.0 + np.exp((xx - w / 2) / 3.0))
    noise = rng.random((h, w))
    spot = np.zeros((h, w))
    spot[:1, :1] = 1.0
    return np.stack([left, 0.3 + 0.7 * noise, spot]).astype(np.float32)


@pytest.mark.parametrize("padding", ["zero", "reflect"])
def test_region_stats_match_numpy(padding):
    rng = np.random.default_rng(3)
    image = rng.random((1, 3, 48, 32), dtype=np.float32)
    maps = soft_maps(48, 32, rng)
    key = "gram.regions" + PADDING_TAGS[padding]
    stats = session(MODELS, f"{key}.stats.onnx")
    got = dict(zip([o.name for o in stats.get_outputs()],
                   stats.run(None, {"image": image, "regions": maps[:, None]})))
    want = reference_region_grams(image[0], maps, padding)
    for layer, r in want.items():
        g = got[f"gram_{layer}"][0].astype(np.float64)
        assert g.shape == r.shape, (layer, g.shape, r.shape)
        rel = np.linalg.norm(g - r) / np.linalg.norm(r)
        assert rel < 1e-4, f"{layer}: relative error {rel}"


@pytest.mark.parametrize("padding", ["zero", "circular", "reflect"])
def test_one_region_of_ones_is_the_plain_gram(padding):
    rng = np.random.default_rng(4)
    image = rng.random((1, 3, 64, 48), dtype=np.float32)
    exemplar = rng.random((1, 3, 64, 48), dtype=np.float32)
    ones = np.ones((1, 1, 64, 48), np.float32)
    tag = PADDING_TAGS[padding]
    plain, region = f"gram{tag}", f"gram.regions{tag}"
    plain_targets = session(MODELS, f"{plain}.stats.onnx").run(None, {"image": exemplar})
    region_targets = session(MODELS, f"{region}.stats.onnx").run(
        None, {"image": exemplar, "regions": ones})
    for p, r in zip(plain_targets, region_targets):
        np.testing.assert_allclose(r[:, 0], p, rtol=1e-5, atol=1e-6 * np.abs(p).max())
    feeds = {"image": image, "norm_exponents": np.array([0.0, 2.0], np.float32)}
    grad_plain = session(MODELS, f"{plain}.grad.onnx")
    names = [i.name for i in grad_plain.get_inputs() if i.name.startswith("target_")]
    feeds["layer_weights"] = rng.uniform(0.5, 2.0, len(names)).astype(np.float32)
    stat_names = [o.name for o in session(MODELS, f"{plain}.stats.onnx").get_outputs()]
    by_layer = dict(zip(stat_names, plain_targets))
    plain_feeds = dict(feeds, **{n: by_layer[f"gram_{n[7:]}"] for n in names})
    region_feeds = dict(feeds, regions=ones, **{n: by_layer[f"gram_{n[7:]}"][:, None]
                                                 for n in names})
    loss_p, layers_p, grad_p = grad_plain.run(None, plain_feeds)
    loss_r, layers_r, grad_r = session(MODELS, f"{region}.grad.onnx").run(None, region_feeds)
    np.testing.assert_allclose(loss_r, loss_p, rtol=1e-5)
    np.testing.assert_allclose(layers_r, layers_p, rtol=1e-4)
    assert np.linalg.norm(grad_r - grad_p) / np.linalg.norm(grad_p) < 1e-5


@pytest.mark.parametrize("padding", ["zero", "reflect"])
def test_region_gradient_matches_finite_differences(padding):
    rng = np.random.default_rng(21)
    h, w = 32, 32
    image = rng.random((1, 3, h, w), dtype=np.float32)
    exemplar = rng.random((3, h, w))
    exemplar = (exemplar + np.roll(exemplar, 1, 1) + np.roll(exemplar, 1, 2)) / 3
    maps = soft_maps(h, w, rng)
    exemplar_maps = maps[::-1].copy()  # other regions of the exemplar, as guided synthesis has
    targets = {k: v.astype(np.float32)
               for k, v in reference_region_grams(exemplar, exemplar_maps, padding).items()}
    key = "gram.regions" + PADDING_TAGS[padding]
    sess = session(MODELS, f"{key}.grad.onnx")
    layers = [i.name[len("target_"):] for i in sess.get_inputs() if i.name.startswith("target_")]
    layer_weights = rng.uniform(0.5, 2.0, len(layers)).astype(np.float32)
    feeds = {"image": image, "layer_weights": layer_weights, "regions": maps[:, None],
             "norm_exponents": np.zeros(2, np.float32)}
    feeds.update({f"target_{k}": targets[k][None] for k in layers})
    out = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    grad = out["grad"][0].astype(np.float64)

    weights = {k: float(v) for k, v in zip(layers, layer_weights)}
    targets64 = {k: t.astype(np.float64) for k, t in targets.items()}
    x0 = image[0].astype(np.float64)
    loss0 = reference_loss(x0, maps, targets64, weights, padding)
    np.testing.assert_allclose(float(out["loss"][0]), loss0, rtol=1e-3)
    assert_gradient_matches(
        key, grad, lambda xp: reference_loss(xp, maps, targets64, weights, padding), x0, rng,
        interior=4)
