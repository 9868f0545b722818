"""scripts/band_noise.py measures the band as `neurotex measure` does, on the same image."""

import json
import os
import subprocess
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "scripts"))
import band_noise  # noqa: E402

NEUROTEX = os.path.join(ROOT, "target", "release", "neurotex")


@pytest.mark.skipif(not os.path.exists(NEUROTEX), reason="needs `cargo build --release`")
@pytest.mark.parametrize("name", ["pebbles", "bark_tree"])
def test_band_ratios_match_neurotex_measure(name):
    photo = os.path.join(ROOT, "examples", "textures", f"{name}.png")
    report = json.loads(subprocess.run(
        [NEUROTEX, "measure", "--json", "-e", photo, photo],
        check=True, capture_output=True, text=True).stdout)
    border = report["images"][0]["measures"]["border"]
    rgb = mpimg.imread(photo)[..., :3].astype(np.float64)
    detail, saturation = band_ratios = band_noise.band_ratios(rgb)
    assert detail == pytest.approx(border["detail"], abs=1e-4), band_ratios
    assert saturation == pytest.approx(border["saturation"], abs=1e-4), band_ratios
    # Rolled, the band holds other pixels and reads otherwise (bark's edges are its own).
    assert band_noise.band_ratios(np.roll(rgb, (64, 64), axis=(0, 1))) != pytest.approx(
        band_ratios, abs=1e-3)
