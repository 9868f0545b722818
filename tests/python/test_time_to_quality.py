"""scripts/time_to_quality.py: what a pass's evaluation costs, and which evaluations may count as
reaching the target (only those of the pass that leaves out the deepest block, whose left-out
term barely moves; the shallow pass's left-out relu4_1 term does move)."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import time_to_quality as ttq  # noqa: E402

PER_BLOCK = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def test_pass_costs_are_the_convolutions_shares():
    # 9 (3·64 + 64·64 + (64·128 + 128·128)/4 + 128·256/16) multiply-adds per pixel up to relu3_1.
    assert ttq.conv_flops("vgg16", "relu3_1") == 9 * 12480
    assert ttq.conv_flops("vgg16", "relu3_1") / ttq.conv_flops("vgg16", "relu5_1") == \
        112320 / 287424
    assert abs(ttq.conv_flops("vgg16", "relu4_1") / ttq.conv_flops("vgg16", "relu5_1")
               - 0.7114) < 1e-4
    assert ttq.network_index("vgg16", "relu5_1") == 10
    assert ttq.network_index("vgg19", "relu5_1") == 12


def record(evaluations):
    return {"layers": PER_BLOCK, "settings": {"backbone": "vgg16"},
            "scales": [{"width": 64, "height": 64}, {"width": 128, "height": 128}],
            "evaluations": evaluations}


def evaluation(t, loss, n_losses, last=0.0, pass_=None, scale=1, full=11):
    losses = [0.0] * n_losses
    if n_losses == full:
        losses[-1] = last
    e = {"t": t, "loss": loss, "layer_losses": losses, "scale": scale}
    if pass_:
        e["pass"] = pass_
    return e


def test_only_the_pass_without_the_deepest_block_counts():
    r = record([
        evaluation(0, 100.0, 11, scale=0),              # coarse: never counts
        evaluation(1, 1.0, 5, pass_="relu3_1"),          # leaves relu4_1 out: never counts
        evaluation(2, 9.0, 8, pass_="relu4_1"),
        evaluation(3, 5.0, 8, pass_="relu4_1"),          # + relu5_1's 1.0 measured later = 6
        evaluation(4, 7.0, 11, last=1.0),
    ])
    assert ttq.with_passes(r, 6.0) == (3, 3)
    assert ttq.with_passes(r, 5.5) is None
    # Costs: coarse 1/4, relu3_1 pass 0.39, relu4_1 pass 0.71 each, full 1.
    costs = ttq.costs(r)
    assert abs(costs[-1] - (0.25 + 112320 / 287424 + 2 * 0.71142 + 1)) < 1e-3
    # Records from before the second pass mark the shallow pass with "shallow": true.
    assert ttq.pass_of({"shallow": True}) == "relu3_1"
    assert ttq.pass_of({"pass": "relu4_1"}) == "relu4_1"
    assert ttq.pass_of({}) is None


def test_records_with_one_loss_per_layer_matched():
    # Since the per-block models: relu1_1..relu3_1 in the shallow pass (3 columns), up to
    # relu4_1 (4), then the five chosen layers; relu5_1's term is the fifth column.
    r = record([
        evaluation(1, 1.0, 3, pass_="relu3_1", full=5),
        evaluation(2, 5.0, 4, pass_="relu4_1", full=5),   # + relu5_1's 1.0 measured later = 6
        evaluation(3, 7.0, 5, last=1.0, full=5),
    ])
    assert ttq.loss_columns(r, 5)["relu5_1"] == 4
    assert ttq.loss_columns(r, 11)["relu5_1"] == 10
    assert ttq.with_passes(r, 6.0) == (1, 2)
    assert ttq.with_passes(r, 5.5) is None
