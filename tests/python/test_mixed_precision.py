"""scripts/mixed_precision.py (the float16 experiment for the CUDA provider): the rewritten graph
reads float16 weights and computes its convolutions on float16 tensors, its loss and gradient
agree with the float32 graph's, and its loss scaling keeps every float16 tensor of the backward
pass inside float16's range (finite, far from the largest float16, far from zero) whether the
gradients are large or small. ONNX Runtime's CPU provider runs float16 nodes it lacks in float32,
so the rounding inside the backward chain itself was checked on a GPU (README, "GPU")."""

import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = os.path.join(ROOT, "models")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import mixed_precision  # noqa: E402

MODEL = "gram.grad.onnx"  # all 13 layers: gradients from ~1e-10 to ~1e2


def session(path):
    options = ort.SessionOptions()
    options.log_severity_level = 3
    # Without graph optimisation: they would remove the casts that the CPU provider puts around
    # the float16 nodes it lacks, and with them the rounding to float16 this test is about.
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def test_winograd_models_are_refused(tmp_path):
    with pytest.raises(SystemExit, match="--direct-conv"):
        mixed_precision.main(["--models", MODELS, "--out", str(tmp_path), "--only", MODEL,
                              "--no-copy-others"])


@pytest.fixture(scope="module")
def sessions(tmp_path_factory, direct_models):
    direct = direct_models
    out = tmp_path_factory.mktemp("fp16")
    mixed_precision.main([
        "--models", direct, "--out", str(out), "--only", MODEL, "--no-copy-others"])
    model = onnx.load(os.path.join(out, MODEL), load_external_data=False)
    half = [n for n in model.graph.node if n.op_type == "Conv"
            and any(i.endswith("_h") for i in n.input)]
    assert len(half) >= 4, "the convolutions should read float16 tensors"
    # expose the backward chain's float16 tensors: an overflow would show as inf
    chain = [n.output[0] for n in model.graph.node if n.name.startswith(("n_gsum_", "n_gin_"))]
    assert chain
    for name in chain:
        model.graph.output.append(onnx.helper.make_tensor_value_info(
            name, onnx.TensorProto.FLOAT16, None))
    onnx.save(model, os.path.join(out, "probe.onnx"))
    return session(os.path.join(direct, MODEL)), session(os.path.join(out, "probe.onnx"))


def feeds_for(sess, image, rng, weight):
    feeds = {"image": image}
    for i in sess.get_inputs():
        if i.name.startswith("target_"):
            n = i.shape[-1]
            a = rng.random((n, 2 * n), np.float32) * 20
            feeds[i.name] = (a @ a.T / (2 * n)).reshape(i.shape).astype(np.float32)
        elif i.name == "layer_weights":
            feeds[i.name] = np.full(i.shape, weight, np.float32)
        elif i.name == "norm_exponents":
            feeds[i.name] = np.zeros(i.shape, np.float32)
    return feeds


# Dark images and small layer weights make small gradients, large weights large ones: without
# the dynamic scale, weights of 1e4 overflow float16 and 1e-6 underflow it.
@pytest.mark.parametrize("brightness,weight", [(1.0, 1.0), (0.05, 1.0), (1.0, 1e4), (1.0, 1e-6)])
def test_float16_graph_matches_float32(sessions, brightness, weight):
    s32, s16 = sessions
    rng = np.random.default_rng(3)
    image = (rng.random((1, 3, 64, 64), np.float32) * brightness).astype(np.float32)
    feeds = feeds_for(s32, image, rng, weight)
    loss32, _, grad32 = s32.run(None, feeds)
    loss16, _, grad16, *chain = s16.run(None, feeds)
    largest = max(float(np.abs(c).max()) for c in chain)
    assert all(np.isfinite(c).all() for c in chain)
    assert 2.0**4 <= largest <= 2.0**12, largest  # the scale aims the feature gradients at 2^8
    g32, g16 = grad32.ravel(), grad16.ravel()
    assert np.isfinite(g16).all()
    assert abs(loss16[0] / loss32[0] - 1) < 1e-3, (loss16, loss32)
    assert np.linalg.norm(g32) > 0
    cosine = g32 @ g16 / np.linalg.norm(g32) / np.linalg.norm(g16)
    relative = np.linalg.norm(g16 - g32) / np.linalg.norm(g32)
    print(f"brightness {brightness}, weight {weight}: loss {loss32[0]:.4e} vs {loss16[0]:.4e}, "
          f"gradient cosine {cosine:.6f}, relative error {relative:.2e}, "
          f"largest float16 value in the backward pass {largest:.1f}")
    assert cosine > 0.999 and relative < 0.05
