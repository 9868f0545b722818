"""Faults during a run, injected through a real model: a grad model whose loss and gradient turn
NaN when the image's mean brightness falls below a threshold. Starting from noise (mean 0.5),
the synthesis of a darker exemplar (bark, mean 0.35) walks into that region; neurotex must
restart from the best image each time, never let a NaN into an image, and say so in the record.
"""

import hashlib
import json
import os
import shutil
import subprocess

import matplotlib.image as mi
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from test_models import MODELS, ROOT

BINARY = os.path.join(ROOT, "target", "release", "neurotex")
THRESHOLD = 0.47
FAULTY = "gram.grad.blocks_upto_relu5_1.onnx"  # the default per-block layers' model


def nan_below_mean(model: onnx.ModelProto, threshold: float) -> onnx.ModelProto:
    """loss, grad += 0 * log(mean(image) - threshold): unchanged above, NaN at or below."""
    g = model.graph
    renamed = {}
    for node in g.node:
        for i, out in enumerate(node.output):
            if out in ("loss", "grad"):
                node.output[i] = renamed[out] = f"{out}_clean"
    g.initializer.extend([helper.make_tensor("fault_t", TensorProto.FLOAT, [], [threshold]),
                          helper.make_tensor("fault_zero", TensorProto.FLOAT, [], [0.0])])
    g.node.extend([
        helper.make_node("ReduceMean", ["image"], ["fault_mean"], keepdims=0),
        helper.make_node("Sub", ["fault_mean", "fault_t"], ["fault_d"]),
        helper.make_node("Log", ["fault_d"], ["fault_log"]),
        helper.make_node("Mul", ["fault_log", "fault_zero"], ["fault_z"]),
        helper.make_node("Add", [renamed["loss"], "fault_z"], ["loss"]),
        helper.make_node("Add", [renamed["grad"], "fault_z"], ["grad"]),
    ])
    return model


@pytest.fixture(scope="module")
def faulty_models(tmp_path_factory):
    if not os.path.exists(BINARY):
        pytest.fail(f"{BINARY} missing: `cargo build --release` first (make test does)")
    d = tmp_path_factory.mktemp("faulty-models")
    for name in os.listdir(MODELS):
        if name.endswith(".weights.bin"):
            # A copy: ONNX Runtime resolves links and refuses external data outside the folder.
            shutil.copy(os.path.join(MODELS, name), d / name)
        elif name not in ("manifest.json", FAULTY):
            os.symlink(os.path.join(MODELS, name), d / name)
    model = onnx.load(os.path.join(MODELS, FAULTY), load_external_data=False)
    onnx.save(nan_below_mean(model, THRESHOLD), d / FAULTY)
    with open(os.path.join(MODELS, "manifest.json")) as f:
        manifest = json.load(f)
    digest = hashlib.sha256((d / FAULTY).read_bytes()).hexdigest()
    for entry in manifest["variants"]["gram"]["grad"]:
        if entry["file"] == FAULTY:
            entry["sha256"] = digest
    (d / "manifest.json").write_text(json.dumps(manifest))
    return d


def test_nan_restarts_from_the_best_image_and_never_reaches_the_output(faulty_models, tmp_path):
    out, record = tmp_path / "bark.png", tmp_path / "bark.json"
    run = subprocess.run(
        [BINARY, "synth", os.path.join(ROOT, "examples", "textures", "bark_tree.png"),
         "-o", str(out), "--record", str(record), "--size", "64", "--scales", "1",
         "--iters", "80", "--tolerance", "0", "--models", str(faulty_models),
         # The faulty model is the zero-padded one, and the run must start from white noise
         # (brighter than the threshold) to cross into the faulty region.
         "--padding", "zero", "--init", "noise"],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    rec = json.loads(record.read_text())
    faults = rec["non_finite_evaluations"]
    assert faults, "the run never reached the faulty region: the test proves nothing"
    losses = [e["loss"] for e in rec["evaluations"]]
    # NaN is written as null in JSON; every one is listed, and the run went on after the first.
    assert [i + 1 for i, v in enumerate(losses) if v is None] == faults
    assert len(losses) > faults[0]
    assert rec["best_loss"] < 0.1 * rec["initial_loss"]
    # The output is the best finite point: on the finite side of the fault.
    image = mi.imread(out)[..., :3]
    assert np.isfinite(image).all()
    assert image.mean() > THRESHOLD - 1 / 255, image.mean()
    print(f"non-finite at evaluations {faults}; loss {rec['initial_loss']:.3e} -> "
          f"{rec['best_loss']:.3e}; stop: {rec['stop']}")
